//! The values an outcome report on a Payment Evaluation may carry, mapped from what the
//! orchestrator or Stripe's own objects say. Each set is the one of the evaluation object's
//! `outcome` and `events[]` (spec fixture `report_calls`, `enums`), which is smaller than, or named
//! differently from, the sets of the objects the words come from:
//!
//! | report field | its values | mapped from |
//! | --- | --- | --- |
//! | `rejected[card][reason]` | 13 reasons | a processor decline code ([`rejection_reason`]) |
//! | `events[0][dispute_opened][reason]` | 11 reasons (`account_not_available`, no bank-debit reasons) | the dispute object's `reason` ([`dispute_reason`]) |
//! | `events[0][early_fraud_warning_received][fraud_type]` | `made_with_lost_card made_with_stolen_card other unauthorized_use_of_card` (no `misc`) | the early fraud warning's `fraud_type` ([`fraud_type`]) |
//! | `events[0][refunded][reason]` | `duplicate fraudulent other requested_by_customer` | the refund object's `reason` ([`refund_reason`]) |
//!
//! A word with no counterpart becomes the set's catch-all (`other`, or `general` for disputes),
//! never a value the endpoint refuses.

/// `rejected[card][reason]` for a processor decline code (Stripe's decline codes and common
/// synonyms); anything else is `other`.
pub fn rejection_reason(decline_code: &str) -> &'static str {
    match decline_code {
        "insufficient_funds" | "card_velocity_exceeded" | "withdrawal_count_limit_exceeded" => {
            "insufficient_funds"
        }
        "do_not_honor"
        | "do_not_try_again"
        | "call_issuer"
        | "restricted_card"
        | "security_violation"
        | "transaction_not_allowed"
        | "not_permitted"
        | "revocation_of_authorization"
        | "revocation_of_all_authorizations"
        | "stop_payment_order"
        | "no_action_taken" => "do_not_honor",
        "expired_card" | "expired" => "expired",
        "incorrect_cvc" | "invalid_cvc" => "incorrect_cvc",
        "incorrect_number" | "invalid_number" => "incorrect_number",
        "incorrect_zip" | "incorrect_postal_code" => "incorrect_postal_code",
        "invalid_account" | "new_account_information_available" => "invalid_account",
        "lost_card" => "lost_card",
        "stolen_card" | "reported_stolen" | "pickup_card" => "reported_stolen",
        "processing_error" => "processing_error",
        "try_again_later" | "issuer_not_available" | "reenter_transaction" | "approve_with_id" => {
            "try_again_later"
        }
        "authentication_required"
        | "authentication_failed"
        | "offline_pin_required"
        | "online_or_offline_pin_required" => "authentication_failed",
        _ => "other",
    }
}

/// `dispute_opened.reason` for a dispute object's `reason`: the ten reasons both sets share pass
/// through; the bank-debit reasons the evaluation's set lacks (`bank_cannot_process`,
/// `check_returned`, `debit_not_authorized`, `incorrect_account_details`, `insufficient_funds`)
/// and an unknown or missing reason are `general` ("doesn't match any of the other reasons").
pub fn dispute_reason(reason: &str) -> &'static str {
    match reason {
        "credit_not_processed" => "credit_not_processed",
        "customer_initiated" => "customer_initiated",
        "duplicate" => "duplicate",
        "fraudulent" => "fraudulent",
        "noncompliant" => "noncompliant",
        "product_not_received" => "product_not_received",
        "product_unacceptable" => "product_unacceptable",
        "subscription_canceled" => "subscription_canceled",
        "unrecognized" => "unrecognized",
        "account_not_available" => "account_not_available",
        _ => "general",
    }
}

/// `early_fraud_warning_received.fraud_type` for an early fraud warning's `fraud_type`: lost,
/// stolen and unauthorized use pass through; `card_never_received`,
/// `fraudulent_card_application`, `made_with_counterfeit_card`, `misc` and an unknown or missing
/// type are `other`.
pub fn fraud_type(fraud_type: &str) -> &'static str {
    match fraud_type {
        "made_with_lost_card" => "made_with_lost_card",
        "made_with_stolen_card" => "made_with_stolen_card",
        "unauthorized_use_of_card" => "unauthorized_use_of_card",
        _ => "other",
    }
}

/// `refunded.reason` for a refund object's `reason`: `duplicate`, `fraudulent` and
/// `requested_by_customer` pass through; `expired_uncaptured_charge`, anything else and a missing
/// reason are `other`.
pub fn refund_reason(reason: &str) -> &'static str {
    match reason {
        "duplicate" => "duplicate",
        "fraudulent" => "fraudulent",
        "requested_by_customer" => "requested_by_customer",
        _ => "other",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decline_codes_map_to_rejection_reasons() {
        for (code, reason) in [
            ("stolen_card", "reported_stolen"),
            ("expired_card", "expired"),
            ("insufficient_funds", "insufficient_funds"),
            ("call_issuer", "do_not_honor"),
            ("generic_decline", "other"),
            ("", "other"),
        ] {
            assert_eq!(rejection_reason(code), reason, "{code}");
        }
    }

    #[test]
    fn object_words_map_onto_the_evaluations_smaller_sets() {
        assert_eq!(
            dispute_reason("product_not_received"),
            "product_not_received"
        );
        assert_eq!(dispute_reason("fraudulent"), "fraudulent");
        assert_eq!(dispute_reason("debit_not_authorized"), "general");
        assert_eq!(dispute_reason(""), "general");
        assert_eq!(fraud_type("made_with_stolen_card"), "made_with_stolen_card");
        assert_eq!(fraud_type("misc"), "other");
        assert_eq!(fraud_type("card_never_received"), "other");
        assert_eq!(
            refund_reason("requested_by_customer"),
            "requested_by_customer"
        );
        assert_eq!(refund_reason("expired_uncaptured_charge"), "other");
        assert_eq!(refund_reason(""), "other");
    }
}
