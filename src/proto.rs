//! Generated gRPC types for `riskgate.v1`, the encoded descriptor set that server reflection serves,
//! and the JSON conventions of `riskgate eval` (Stripe's field names, enums written as Stripe writes them).

#![allow(clippy::all, missing_docs)]

pub mod v1 {
    tonic::include_proto!("riskgate.v1");
}

/// The descriptor set of every riskgate proto, for server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("riskgate_descriptor");

/// Serde adapters for enum fields: JSON says `"on_session"`, the wire says `CUSTOMER_PRESENCE_ON_SESSION`.
///
/// Deserializing accepts Stripe's lower-case word, the full proto name, or the number; serializing
/// writes Stripe's word (the zero value is written as `"unspecified"`).
pub mod json {
    macro_rules! stripe_enum {
        ($module:ident, $ty:ty, $prefix:literal) => {
            pub mod $module {
                use serde::{Deserialize, Deserializer, Serializer, de::Error};

                pub fn serialize<S: Serializer>(value: &i32, s: S) -> Result<S::Ok, S::Error> {
                    match <$ty>::try_from(*value) {
                        Ok(v) => s.serialize_str(
                            &v.as_str_name()
                                .trim_start_matches(concat!($prefix, "_"))
                                .to_ascii_lowercase(),
                        ),
                        Err(_) => s.serialize_i32(*value),
                    }
                }

                pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<i32, D::Error> {
                    #[derive(Deserialize)]
                    #[serde(untagged)]
                    enum Raw {
                        Word(String),
                        Number(i32),
                    }
                    match Raw::deserialize(d)? {
                        Raw::Number(n) => Ok(n),
                        Raw::Word(w) => {
                            let upper = w.to_ascii_uppercase();
                            let full = if upper.starts_with(concat!($prefix, "_")) {
                                upper
                            } else {
                                format!(concat!($prefix, "_{}"), upper)
                            };
                            <$ty>::from_str_name(&full)
                                .map(|v| v as i32)
                                .ok_or_else(|| {
                                    D::Error::custom(format!(
                                        concat!("unknown ", stringify!($module), " {:?}"),
                                        w
                                    ))
                                })
                        }
                    }
                }
            }
        };
    }

    stripe_enum!(
        money_movement_type,
        super::super::v1::MoneyMovementType,
        "MONEY_MOVEMENT_TYPE"
    );
    stripe_enum!(
        customer_presence,
        super::super::v1::CustomerPresence,
        "CUSTOMER_PRESENCE"
    );
    stripe_enum!(payment_type, super::super::v1::PaymentType, "PAYMENT_TYPE");
    stripe_enum!(action, super::super::v1::Action, "ACTION");
    stripe_enum!(risk_level, super::super::v1::RiskLevel, "RISK_LEVEL");
    stripe_enum!(score_source, super::super::v1::ScoreSource, "SCORE_SOURCE");

    impl serde::Serialize for super::v1::AttributeValue {
        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            use super::v1::attribute_value::Kind;
            match &self.kind {
                Some(Kind::Number(n)) => s.serialize_f64(*n),
                Some(Kind::Text(t)) => s.serialize_str(t),
                Some(Kind::Flag(b)) => s.serialize_bool(*b),
                None => s.serialize_none(),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::v1::*;

    #[test]
    fn request_json_uses_stripe_words_and_rejects_unknown_fields() {
        let req: CreatePaymentEvaluationRequest = serde_json::from_str(
            r#"{"payment_details": {"amount": 100, "currency": "usd",
                "money_movement_details": {"money_movement_type": "card",
                  "card": {"customer_presence": "off_session", "payment_type": "PAYMENT_TYPE_RECURRING"}}}}"#,
        )
        .unwrap();
        let card = req
            .payment_details
            .unwrap()
            .money_movement_details
            .unwrap()
            .card
            .unwrap();
        assert_eq!(card.customer_presence(), CustomerPresence::OffSession);
        assert_eq!(card.payment_type(), PaymentType::Recurring);

        let err =
            serde_json::from_str::<CreatePaymentEvaluationRequest>(r#"{"amount": 1}"#).unwrap_err();
        assert!(err.to_string().contains("unknown field `amount`"), "{err}");
        let err =
            serde_json::from_str::<MoneyMovementCardDetails>(r#"{"payment_type": "sometimes"}"#)
                .unwrap_err();
        assert!(
            err.to_string()
                .contains("unknown payment_type \"sometimes\""),
            "{err}"
        );
    }

    #[test]
    fn response_json_writes_enum_words() {
        let d = Decision {
            action: Action::RequestThreeDSecure as i32,
            risk_level: RiskLevel::Elevated as i32,
            ..Default::default()
        };
        let v = serde_json::to_value(&d).unwrap();
        assert_eq!(v["action"], "request_three_d_secure");
        assert_eq!(v["risk_level"], "elevated");
        assert_eq!(v["score_source"], "unspecified");
    }
}
