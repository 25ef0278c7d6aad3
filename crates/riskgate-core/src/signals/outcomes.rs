//! Outcome memory: what riskgate learned about earlier payments after their decision (early fraud
//! warnings, disputes, refunds, an analyst's or the merchant's verdict, authorizations and
//! declines), remembered per entity (card, customer, email, device, IP, addresses) and read back,
//! as of the current payment, by the enrichment stage (`src/stores/state/outcomes.rs` keeps it).
//!
//! A fraud outcome on a payment marks **every** entity the payment carried, so a fraudster who comes
//! back with a new card but the same email, customer account or device is recognised by those.

use crate::signals::KeyKind;

/// What was learned about one payment, as remembered per entity. Fraud labels first; new labels
/// are added at the end (Redis keeps labels by index).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum OutcomeLabel {
    /// The issuer sent an early fraud warning (Stripe `radar.early_fraud_warning`).
    EarlyFraudWarning,
    /// A dispute with reason `fraudulent`.
    FraudulentDispute,
    /// Refunded with reason `fraudulent`.
    RefundedAsFraud,
    /// A fraud analyst rejected the payment as fraud.
    AnalystRejected,
    /// The merchant reported the payment as fraud (ReportPaymentOutcome `merchant_reported_fraud`).
    MerchantReportedFraud,
    /// A dispute about the goods or service: `product_not_received`, `product_unacceptable`,
    /// `credit_not_processed`, `subscription_canceled`, `duplicate`.
    ServiceDispute,
    /// A dispute with any other non-fraud reason (`general`, `unrecognized`, …).
    OtherDispute,
    /// Refunded for a reason other than fraud.
    Refunded,
    /// Authorized by the issuer.
    Authorized,
    /// Declined with a code that says fraud: `fraudulent`, `stolen_card`, `lost_card`,
    /// `pickup_card`, `restricted_card`, `security_violation`, `merchant_blacklist`.
    DeclinedFraudCode,
    /// Declined for funds or limits: `insufficient_funds`, `card_velocity_exceeded`,
    /// `withdrawal_count_limit_exceeded`.
    DeclinedFunds,
    /// Declined for wrong card details: `incorrect_number`, `incorrect_cvc`, `expired_card`, …
    DeclinedCardDetails,
    /// Declined with any other code (`do_not_honor`, `generic_decline`, none …).
    DeclinedOther,
    /// A fraud analyst reviewed the payment and approved it.
    AnalystApproved,
}

impl OutcomeLabel {
    pub const COUNT: usize = 14;
    pub const ALL: [OutcomeLabel; Self::COUNT] = [
        OutcomeLabel::EarlyFraudWarning,
        OutcomeLabel::FraudulentDispute,
        OutcomeLabel::RefundedAsFraud,
        OutcomeLabel::AnalystRejected,
        OutcomeLabel::MerchantReportedFraud,
        OutcomeLabel::ServiceDispute,
        OutcomeLabel::OtherDispute,
        OutcomeLabel::Refunded,
        OutcomeLabel::Authorized,
        OutcomeLabel::DeclinedFraudCode,
        OutcomeLabel::DeclinedFunds,
        OutcomeLabel::DeclinedCardDetails,
        OutcomeLabel::DeclinedOther,
        OutcomeLabel::AnalystApproved,
    ];

    /// The label with this index (`label as u8`), if any.
    pub fn from_index(i: u8) -> Option<Self> {
        Self::ALL.get(usize::from(i)).copied()
    }

    /// Whether this label says the payment was fraud.
    pub const fn is_fraud(self) -> bool {
        (self as u8) <= OutcomeLabel::MerchantReportedFraud as u8
    }

    /// Short stable name (metrics, journals, logs).
    pub const fn as_str(self) -> &'static str {
        match self {
            OutcomeLabel::EarlyFraudWarning => "early_fraud_warning",
            OutcomeLabel::FraudulentDispute => "fraudulent_dispute",
            OutcomeLabel::RefundedAsFraud => "refunded_as_fraud",
            OutcomeLabel::AnalystRejected => "analyst_rejected",
            OutcomeLabel::MerchantReportedFraud => "merchant_reported_fraud",
            OutcomeLabel::ServiceDispute => "service_dispute",
            OutcomeLabel::OtherDispute => "other_dispute",
            OutcomeLabel::Refunded => "refunded",
            OutcomeLabel::Authorized => "authorized",
            OutcomeLabel::DeclinedFraudCode => "declined_fraud_code",
            OutcomeLabel::DeclinedFunds => "declined_funds",
            OutcomeLabel::DeclinedCardDetails => "declined_card_details",
            OutcomeLabel::DeclinedOther => "declined_other",
            OutcomeLabel::AnalystApproved => "analyst_approved",
        }
    }

    /// The label named `name` ([`OutcomeLabel::as_str`]).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|l| l.as_str() == name)
    }

    /// The label of a dispute with Stripe's `reason` (only `fraudulent` is fraud).
    pub fn from_dispute_reason(reason: &str) -> Self {
        match reason {
            "fraudulent" => OutcomeLabel::FraudulentDispute,
            "product_not_received"
            | "product_unacceptable"
            | "credit_not_processed"
            | "subscription_canceled"
            | "duplicate" => OutcomeLabel::ServiceDispute,
            _ => OutcomeLabel::OtherDispute,
        }
    }

    /// The label of a refund with Stripe's `reason` (`fraudulent` is fraud).
    pub fn from_refund_reason(reason: &str) -> Self {
        if reason == "fraudulent" {
            OutcomeLabel::RefundedAsFraud
        } else {
            OutcomeLabel::Refunded
        }
    }

    /// The label of a decline with the issuer's decline code (empty: none given), by family.
    pub fn from_decline_code(code: &str) -> Self {
        match code {
            "fraudulent" | "stolen_card" | "lost_card" | "pickup_card" | "restricted_card"
            | "security_violation" | "merchant_blacklist" => OutcomeLabel::DeclinedFraudCode,
            "insufficient_funds" | "card_velocity_exceeded" | "withdrawal_count_limit_exceeded" => {
                OutcomeLabel::DeclinedFunds
            }
            "incorrect_number"
            | "invalid_number"
            | "incorrect_cvc"
            | "invalid_cvc"
            | "expired_card"
            | "incorrect_zip"
            | "invalid_expiry_month"
            | "invalid_expiry_year"
            | "incorrect_pin"
            | "invalid_pin"
            | "invalid_account" => OutcomeLabel::DeclinedCardDetails,
            _ => OutcomeLabel::DeclinedOther,
        }
    }

    /// The windowed series this label counts in (see [`OutcomeSeries`]).
    pub const fn series(self) -> &'static [OutcomeSeries] {
        match self {
            OutcomeLabel::EarlyFraudWarning => {
                &[OutcomeSeries::EarlyFraudWarning, OutcomeSeries::Fraud]
            }
            OutcomeLabel::FraudulentDispute => {
                &[OutcomeSeries::FraudulentDispute, OutcomeSeries::Fraud]
            }
            OutcomeLabel::RefundedAsFraud => &[OutcomeSeries::Refund, OutcomeSeries::Fraud],
            OutcomeLabel::AnalystRejected | OutcomeLabel::MerchantReportedFraud => {
                &[OutcomeSeries::Fraud]
            }
            OutcomeLabel::Refunded => &[OutcomeSeries::Refund],
            _ => &[],
        }
    }
}

/// Labels whose times are kept (the most recent [`OUTCOME_CAP`] per series and entity), so that
/// their counts are exact in every window up to the cap.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum OutcomeSeries {
    /// Early fraud warnings.
    EarlyFraudWarning,
    /// Disputes with reason `fraudulent` (what Radar's `dispute_count_on_*` count).
    FraudulentDispute,
    /// Refunds, whatever their reason.
    Refund,
    /// Every fraud label.
    Fraud,
}

impl OutcomeSeries {
    pub const COUNT: usize = 4;
    pub const ALL: [OutcomeSeries; Self::COUNT] = [
        OutcomeSeries::EarlyFraudWarning,
        OutcomeSeries::FraudulentDispute,
        OutcomeSeries::Refund,
        OutcomeSeries::Fraud,
    ];

    pub fn from_index(i: u8) -> Option<Self> {
        Self::ALL.get(usize::from(i)).copied()
    }
}

/// Windows of outcome memory, in the order of every `[_; OUTCOME_WINDOWS]` array.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum OutcomeWindow {
    Hourly,
    Daily,
    Weekly,
    /// The last 30 days.
    Recent,
    /// The last 365 days.
    Yearly,
    /// Everything retained (fraud labels are kept `enrichment.outcome_fraud_retention_secs`).
    AllTime,
}

/// How many outcome windows there are.
pub const OUTCOME_WINDOWS: usize = 6;
/// Length of each outcome window in seconds (`None` = all retained history).
pub const OUTCOME_WINDOW_SECS: [Option<i64>; OUTCOME_WINDOWS] = [
    Some(3600),
    Some(86_400),
    Some(7 * 86_400),
    Some(30 * 86_400),
    Some(365 * 86_400),
    None,
];
/// Windowed outcome counts stop here, as Radar's bounded counts do; it is also how many times per
/// series, and how many fraud customers, an entity keeps.
pub const OUTCOME_CAP: u8 = 25;

/// One entity's outcome history before this payment, as of its evaluation (expired labels left
/// out). `Default` = nothing learned yet.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OutcomeHistory {
    /// Labels counted per kind, over everything retained.
    pub counts: [u32; OutcomeLabel::COUNT],
    /// `windows[series][window]`, capped at [`OUTCOME_CAP`].
    pub windows: [[u8; OUTCOME_WINDOWS]; OutcomeSeries::COUNT],
    /// Distinct customer accounts on fraud-labelled payments that carried this entity, by when the
    /// fraud was learned, per window, capped at [`OUTCOME_CAP`].
    pub fraud_customers: [u8; OUTCOME_WINDOWS],
    /// When a fraud label on this entity was first and last learned (Unix seconds).
    pub first_fraud_at: Option<i64>,
    pub last_fraud_at: Option<i64>,
}

impl OutcomeHistory {
    /// The count of `series` in `window`.
    pub fn window(&self, series: OutcomeSeries, window: OutcomeWindow) -> u8 {
        self.windows[series as usize][window as usize]
    }

    /// Labels of `label`'s kind.
    pub fn count(&self, label: OutcomeLabel) -> u32 {
        self.counts[label as usize]
    }
}

/// The outcome history of every key this payment has (`None` = the payment has no such key, or
/// the state could not be read).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Outcomes {
    pub keys: [Option<OutcomeHistory>; KeyKind::COUNT],
}

impl Outcomes {
    /// Nothing known.
    pub const EMPTY: Outcomes = Outcomes {
        keys: [None; KeyKind::COUNT],
    };

    pub fn key(&self, kind: KeyKind) -> Option<&OutcomeHistory> {
        self.keys[kind as usize].as_ref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_index_and_families() {
        for (i, l) in OutcomeLabel::ALL.iter().enumerate() {
            assert_eq!(*l as usize, i);
            assert_eq!(OutcomeLabel::from_index(i as u8), Some(*l));
        }
        let fraud: Vec<_> = OutcomeLabel::ALL
            .iter()
            .filter(|l| l.is_fraud())
            .map(|l| l.as_str())
            .collect();
        assert_eq!(
            fraud,
            [
                "early_fraud_warning",
                "fraudulent_dispute",
                "refunded_as_fraud",
                "analyst_rejected",
                "merchant_reported_fraud"
            ]
        );
        // Every fraud label counts in the fraud series, and only they do.
        for l in OutcomeLabel::ALL {
            assert_eq!(l.series().contains(&OutcomeSeries::Fraud), l.is_fraud());
        }
        assert_eq!(
            OutcomeLabel::from_dispute_reason("fraudulent"),
            OutcomeLabel::FraudulentDispute
        );
        assert_eq!(
            OutcomeLabel::from_dispute_reason("product_not_received"),
            OutcomeLabel::ServiceDispute
        );
        assert_eq!(
            OutcomeLabel::from_dispute_reason("unrecognized"),
            OutcomeLabel::OtherDispute
        );
        assert_eq!(
            OutcomeLabel::from_refund_reason("fraudulent"),
            OutcomeLabel::RefundedAsFraud
        );
        assert_eq!(
            OutcomeLabel::from_refund_reason("requested_by_customer"),
            OutcomeLabel::Refunded
        );
        assert_eq!(
            OutcomeLabel::from_decline_code("stolen_card"),
            OutcomeLabel::DeclinedFraudCode
        );
        assert_eq!(
            OutcomeLabel::from_decline_code("insufficient_funds"),
            OutcomeLabel::DeclinedFunds
        );
        assert_eq!(
            OutcomeLabel::from_decline_code("incorrect_cvc"),
            OutcomeLabel::DeclinedCardDetails
        );
        assert_eq!(
            OutcomeLabel::from_decline_code(""),
            OutcomeLabel::DeclinedOther
        );
    }
}
