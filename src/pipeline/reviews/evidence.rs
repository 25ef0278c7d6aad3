//! The review a REVIEW decision opens: the evidence an analyst needs, taken from the request, the
//! evaluated attributes and the verdict. Runs on the request path for REVIEW decisions only: a few
//! dozen short strings copied, no I/O.

use crate::stores::reviews::types::{
    CardFacts, DeviceFacts, Evidence, Fact, HistoryEntry, OpenedReason, ReasonRef, Review, RuleRef,
    link, new_review_id,
};
use riskgate_core::{
    attributes::{Attr, Attributes, Value},
    engine::Verdict,
    input::PaymentInput,
};

/// Who opens reviews for REVIEW decisions, in history entries.
pub const GATEWAY_ACTOR: &str = "riskgate";
/// Most velocity facts kept as evidence (the busiest windows come first in the catalog).
const MAX_VELOCITY_FACTS: usize = 40;
/// Most outcome facts kept as evidence.
const MAX_OUTCOME_FACTS: usize = 40;

/// The open review of the evaluation `evaluation_id`, answered REVIEW at `now`.
pub fn review_of(
    evaluation_id: &str,
    now: i64,
    input: &PaymentInput<'_>,
    attrs: &Attributes<'_>,
    verdict: &Verdict,
) -> Review {
    let text = |a: Attr| attrs.text(a).map(str::to_owned);
    let card = input.card.as_ref();
    let evidence = Evidence {
        amount: input.amount,
        currency: input.currency.code.to_owned(),
        amount_in_usd: attrs.number(Attr::AmountInUsd),
        card: CardFacts {
            brand: text(Attr::CardBrand),
            bin: text(Attr::CardBin),
            last4: card.and_then(|c| c.last4).map(str::to_owned),
            country: text(Attr::CardCountry),
            funding: text(Attr::CardFunding),
            fingerprint: text(Attr::CardFingerprint),
            wallet: text(Attr::DigitalWallet),
            exp_month: card.and_then(|c| c.exp_month),
            exp_year: card.and_then(|c| c.exp_year),
        },
        payment_method: Some(input.payment_method.to_owned()).filter(|p| !p.is_empty()),
        customer: text(Attr::Customer),
        email: text(Attr::Email),
        billing_country: text(Attr::BillingAddressCountry),
        billing_zip: text(Attr::BillingAddressPostalCode),
        shipping_country: text(Attr::ShippingAddressCountry),
        device: DeviceFacts {
            ip_address: text(Attr::IpAddress),
            ip_country: text(Attr::IpCountry),
            user_agent: text(Attr::UserAgent),
            browser: text(Attr::Browser),
            operating_system: text(Attr::OperatingSystem),
            device_id: text(Attr::DeviceId),
            radar_session: input.device.radar_session.map(str::to_owned),
        },
        risk_score: verdict.risk_score,
        risk_level: verdict.risk_level.as_str().to_owned(),
        score_source: verdict.source.as_str().to_owned(),
        matched_rule: verdict.matched_rule.as_ref().map(|r| RuleRef {
            id: r.id.to_string(),
            action: r.action.as_str().to_owned(),
            predicate: r.predicate.to_string(),
        }),
        reasons: verdict
            .reasons
            .iter()
            .map(|r| ReasonRef {
                code: r.code.to_string(),
                message: r.message.clone(),
            })
            .collect(),
        velocity: facts(
            attrs,
            |n| is_velocity(n) && !is_outcome(n),
            MAX_VELOCITY_FACTS,
        ),
        outcomes: facts(attrs, is_outcome, MAX_OUTCOME_FACTS),
        metadata: input.metadata.clone(),
        degraded: verdict.degraded,
    };
    let links = [
        ("card_fingerprint", &evidence.card.fingerprint),
        ("email", &evidence.email),
        ("customer", &evidence.customer),
    ]
    .into_iter()
    .filter_map(|(kind, v)| v.as_deref().map(|v| link(kind, v)))
    .collect();
    Review {
        id: new_review_id(),
        created: now,
        open: true,
        opened_reason: opened_reason(verdict),
        closed_reason: None,
        closed_at: None,
        closed_by: None,
        fraud_type: None,
        payment_evaluation: evaluation_id.to_owned(),
        evidence,
        history: vec![HistoryEntry {
            at: now,
            actor: GATEWAY_ACTOR.to_owned(),
            action: "opened".to_owned(),
            note: None,
            fraud_type: None,
        }],
        links,
    }
}

/// `model` when the score decided (a rule on `:risk_level:` / `:risk_score:` alone, or no rule:
/// the fail policy), else `rule`.
pub fn opened_reason(verdict: &Verdict) -> OpenedReason {
    let Some(rule) = &verdict.matched_rule else {
        return OpenedReason::Model;
    };
    let condition = rule
        .predicate
        .split_once(" if ")
        .map_or(rule.predicate.as_ref(), |(_, c)| c);
    let rest = condition
        .replace(":risk_level:", "")
        .replace(":risk_score:", "");
    let score_only = rest.len() < condition.len() && !rest.contains(':') && !rest.contains('@');
    if score_only {
        OpenedReason::Model
    } else {
        OpenedReason::Rule
    }
}

/// Windowed counts, distinct counts, amounts and first-seen times.
fn is_velocity(name: &str) -> bool {
    name.contains("_charges_per_")
        || name.contains("_count_for_")
        || name.starts_with("total_customers_for_")
        || name.contains("_usd_amount_")
        || name.starts_with("hours_since_")
}

/// What became of earlier payments: disputes, early fraud warnings, refunds, blocks, declines,
/// and any fraud outcome count (the outcome memory's attributes are named so).
fn is_outcome(name: &str) -> bool {
    name.contains("dispute_count")
        || name.contains("efw_count")
        || name.contains("refund_count")
        || name.contains("fraud")
        || name.starts_with("blocked_charges_per_")
        || name.starts_with("declined_charges_per_")
}

/// The non-zero numeric attributes whose name `wanted` picks, at most `max`. (An outcome is not
/// velocity, even when its name reads like a count per key: the caller says so.)
fn facts(attrs: &Attributes<'_>, wanted: impl Fn(&str) -> bool, max: usize) -> Vec<Fact> {
    attrs
        .iter()
        .filter(|(attr, _)| wanted(attr.name()))
        .filter_map(|(attr, value)| match value {
            Value::Number(n) if *n != 0.0 && n.is_finite() => Some(Fact {
                name: attr.name().to_owned(),
                value: number(*n),
            }),
            Value::Bool(true) => Some(Fact {
                name: attr.name().to_owned(),
                value: "true".to_owned(),
            }),
            _ => None,
        })
        .take(max)
        .collect()
}

fn number(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        format!("{n:.2}")
    }
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use super::*;
    use riskgate_core::{
        decision::{Action, RiskLevel},
        engine::{MatchedRule, ScoreSource},
    };

    fn verdict(rule: Option<&'static str>) -> Verdict {
        Verdict {
            action: Action::Review,
            risk_score: 42,
            risk_level: RiskLevel::Elevated,
            source: ScoreSource::LocalModel,
            matched_rule: rule.map(|p| MatchedRule {
                id: Cow::Borrowed("r1"),
                action: Action::Review,
                predicate: Cow::Borrowed(p),
            }),
            reasons: vec![],
            degraded: false,
        }
    }

    #[test]
    fn the_score_or_a_rule_opened_it() {
        assert_eq!(opened_reason(&verdict(None)), OpenedReason::Model);
        for score in [
            "Review if :risk_level: = 'elevated'",
            "Review if :risk_score: > 50 AND :risk_level: != 'normal'",
        ] {
            assert_eq!(
                opened_reason(&verdict(Some(score))),
                OpenedReason::Model,
                "{score}"
            );
        }
        for rule in [
            "Review if :risk_level: = 'elevated' AND :amount_in_usd: > 1000",
            "Review if :email: IN @watch",
            "Review if ::order_type:: = 'gift_card'",
            "Review if :card_funding: = 'prepaid'",
        ] {
            assert_eq!(
                opened_reason(&verdict(Some(rule))),
                OpenedReason::Rule,
                "{rule}"
            );
        }
    }

    #[test]
    fn velocity_and_outcomes_keep_non_zero_facts_apart() {
        let mut a = Attributes::default();
        a.set(Attr::TotalChargesPerDeviceIdDaily, Value::Number(3.0));
        a.set(Attr::TotalChargesPerDeviceIdHourly, Value::Number(0.0));
        a.set(Attr::Email, Value::Text(Cow::Borrowed("j@example.com")));
        let v = facts(&a, |n| is_velocity(n) && !is_outcome(n), 10);
        assert_eq!(v.len(), 1);
        assert_eq!(
            (v[0].name.as_str(), v[0].value.as_str()),
            ("total_charges_per_device_id_daily", "3")
        );
        assert!(facts(&a, is_outcome, 10).is_empty());
        assert!(is_outcome("blocked_charges_per_card_number_daily"));
        assert_eq!(number(2.5), "2.50");
    }
}
