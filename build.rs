//! Generates the gRPC code and the reflection descriptor from `proto/` without a system `protoc`:
//! protox parses the files in pure Rust and tonic-prost-build generates from its descriptor set.

use std::{env, fs, path::PathBuf};

use prost::Message as _;

const PROTOS: &[&str] = &[
    "riskgate/v1/payment_evaluation.proto",
    "riskgate/v1/value_lists.proto",
    "riskgate/v1/admin.proto",
    "riskgate/v1/radar_sessions.proto",
    "riskgate/v1/reviews.proto",
];

/// Messages that read or write JSON (the `riskgate eval` command and example requests): request
/// messages read and reject unknown fields, so a typo in a hand-written request is an error, not a
/// silent default; answer messages are written only.
const JSON_MESSAGES: &[&str] = &[
    "CreatePaymentEvaluationRequest",
    "CustomerDetails",
    "PaymentDetails",
    "PaymentMethodDetails",
    "Address",
    "BillingDetails",
    "ShippingDetails",
    "CardDetails",
    "MoneyMovementDetails",
    "MoneyMovementCardDetails",
    "ClientDeviceMetadataDetails",
    // The Radar Session a labelled event (docs/events.md) records before its payment.
    "RadarSession",
    // Radar rules fidelity (issue 17): request facts Radar's rules read.
    "AccountDetails",
    "TransferData",
    "ThreeDSecureDetails",
    "CardChecks",
    "NetworkToken",
    "CreatePaymentEvaluationResponse",
    "PaymentEvaluation",
    "Insights",
    "FraudulentDispute",
    "Signals",
    "FraudulentPayment",
    "Decision",
    "MatchedRule",
    "Reason",
    // === reviews (issue 19): answers only, for `riskgate reviews --json` ===
    "Review",
    "ReviewEvidence",
    "ReviewCard",
    "ReviewDevice",
    "ReviewFact",
    "ReviewHistoryEntry",
    "RelatedReview",
    "ListReviewsResponse",
];

/// Enum-typed fields, written in JSON the way Stripe writes them (`"on_session"`), not as numbers.
const ENUM_FIELDS: &[(&str, &str)] = &[
    (
        "MoneyMovementDetails.money_movement_type",
        "money_movement_type",
    ),
    (
        "MoneyMovementCardDetails.customer_presence",
        "customer_presence",
    ),
    ("MoneyMovementCardDetails.payment_type", "payment_type"),
    ("Decision.action", "action"),
    ("Decision.risk_level", "risk_level"),
    ("Decision.score_source", "score_source"),
    ("MatchedRule.action", "action"),
];

/// Answer fields left out of JSON when unset, so the evaluation reads in exactly the shape
/// `api.evaluation_shape` chose (Stripe's current shape has no `insights`, the preview one no
/// `recommended_action` or `signals`).
const SKIPPED_WHEN_UNSET: &[(&str, &str)] = &[
    ("PaymentEvaluation.insights", "Option::is_none"),
    ("PaymentEvaluation.signals", "Option::is_none"),
    ("PaymentEvaluation.recommended_action", "String::is_empty"),
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    for p in PROTOS {
        println!("cargo:rerun-if-changed=proto/{p}");
    }
    let fds = protox::Compiler::new(["proto"])?
        .include_imports(true)
        .include_source_info(true)
        .open_files(PROTOS)?
        .file_descriptor_set();

    let out = PathBuf::from(env::var("OUT_DIR")?);
    fs::write(out.join("riskgate_descriptor.bin"), fds.encode_to_vec())?;

    let mut builder = tonic_prost_build::configure().btree_map(".");
    for m in JSON_MESSAGES {
        let request_side = !matches!(
            *m,
            "CreatePaymentEvaluationResponse"
                | "PaymentEvaluation"
                | "Insights"
                | "FraudulentDispute"
                | "Signals"
                | "FraudulentPayment"
                | "Decision"
                | "MatchedRule"
                | "Reason"
                | "Review"
                | "ReviewEvidence"
                | "ReviewCard"
                | "ReviewDevice"
                | "ReviewFact"
                | "ReviewHistoryEntry"
                | "RelatedReview"
                | "ListReviewsResponse"
        );
        let attribute = if request_side {
            "#[derive(serde::Serialize, serde::Deserialize)] #[serde(default, deny_unknown_fields)]"
        } else {
            "#[derive(serde::Serialize)]"
        };
        builder = builder.message_attribute(format!(".riskgate.v1.{m}"), attribute);
    }
    for (field, module) in ENUM_FIELDS {
        builder = builder.field_attribute(
            format!(".riskgate.v1.{field}"),
            format!("#[serde(with = \"crate::proto::json::{module}\")]"),
        );
    }
    for (field, unset) in SKIPPED_WHEN_UNSET {
        builder = builder.field_attribute(
            format!(".riskgate.v1.{field}"),
            format!("#[serde(skip_serializing_if = \"{unset}\")]"),
        );
    }
    builder.compile_fds(fds)?;
    Ok(())
}
