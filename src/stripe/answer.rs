//! Stripe's answers, in both shapes, whatever `Stripe-Version` was sent (an account or a proxy
//! may pin another one):
//! - `insights` (2026-01-28 to 2026-03-04): `insights.fraudulent_dispute{recommended_action,
//!   risk_score}`, an integer score and no risk level;
//! - `signals` (2026-03-25 and later): top-level `recommended_action` and
//!   `signals.fraudulent_payment{score, risk_level, evaluated_at}`, a number with two decimals,
//!   where `score = -1` means not assessed.
//!
//! Words (`recommended_action`, `risk_level`) are kept as Stripe wrote them, so values a newer
//! version adds reach the caller, which decides what an unknown one means. Unknown fields are
//! ignored, so new Stripe versions do not break parsing.

use serde::Deserialize;

use crate::{scoring::remote::StripeError, stripe::version::AnswerShape};

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Evaluation {
    id: Option<String>,
    object: Option<String>,
    recommended_action: Option<String>,
    signals: Option<Signals>,
    insights: Option<Insights>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Signals {
    fraudulent_payment: Option<FraudulentPayment>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct FraudulentPayment {
    score: Option<f64>,
    risk_level: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Insights {
    fraudulent_dispute: Option<FraudulentDispute>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct FraudulentDispute {
    recommended_action: Option<String>,
    risk_score: Option<f64>,
}

/// A parsed successful answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Parsed {
    pub id: Option<String>,
    /// 0–100; `None` when Stripe did not assess the payment.
    pub score: Option<f64>,
    pub recommended_action: Option<String>,
    /// `None` in the `insights` shape.
    pub risk_level: Option<String>,
    /// The shape the answer came in.
    pub shape: AnswerShape,
}

/// Why an answer could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("not JSON: {0}")]
    Json(String),
    #[error("object is {0:?}, not radar.payment_evaluation")]
    WrongObject(String),
    #[error("no score in either answer shape")]
    NoScore,
    #[error("score {0} outside 0–100")]
    OutOfRange(String),
}

/// Parses a 200 answer.
pub fn parse(body: &[u8]) -> Result<Parsed, ParseError> {
    let e: Evaluation =
        serde_json::from_slice(body).map_err(|err| ParseError::Json(err.to_string()))?;
    if let Some(object) = &e.object
        && object != "radar.payment_evaluation"
    {
        return Err(ParseError::WrongObject(object.clone()));
    }
    // A negative score (Stripe documents -1) is "not assessed".
    let assessed = |s: f64| (s >= 0.0).then_some(s);
    let (score, risk_level, recommended_action, shape) =
        match (e.signals.and_then(|s| s.fraudulent_payment), e.insights) {
            (Some(fp), _) if fp.score.is_some() => (
                fp.score.and_then(assessed),
                fp.risk_level,
                e.recommended_action,
                AnswerShape::Signals,
            ),
            (
                _,
                Some(Insights {
                    fraudulent_dispute: Some(fd),
                }),
            ) if fd.risk_score.is_some() => (
                fd.risk_score.and_then(assessed),
                None,
                fd.recommended_action.or(e.recommended_action),
                AnswerShape::Insights,
            ),
            _ => return Err(ParseError::NoScore),
        };
    if let Some(s) = score
        && !(0.0..=100.0).contains(&s)
    {
        return Err(ParseError::OutOfRange(s.to_string()));
    }
    Ok(Parsed {
        id: e.id,
        score,
        recommended_action,
        risk_level,
        shape,
    })
}

#[derive(Deserialize)]
struct ObjectOnly {
    object: Option<String>,
}

/// Checks that a 2xx answer is JSON naming `object` (when it names one at all).
pub fn parse_object(body: &[u8], object: &str) -> Result<(), ParseError> {
    let o: ObjectOnly =
        serde_json::from_slice(body).map_err(|e| ParseError::Json(e.to_string()))?;
    match o.object {
        Some(got) if got != object => Err(ParseError::WrongObject(got)),
        _ => Ok(()),
    }
}

#[derive(Deserialize)]
struct ErrorEnvelope {
    error: StripeError,
}

/// Stripe's `error` object from an error answer, if the body holds one.
pub fn parse_error(body: &[u8]) -> Option<StripeError> {
    serde_json::from_slice::<ErrorEnvelope>(body)
        .ok()
        .map(|e| e.error)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preview_shape() {
        let body = br#"{"id":"peval_1","object":"radar.payment_evaluation","created_at":1,
            "insights":{"evaluated_at":1,"fraudulent_dispute":{"recommended_action":"continue","risk_score":17}},
            "new_field":{"x":[1,2]}}"#;
        let p = parse(body).unwrap();
        assert_eq!(p.score, Some(17.0));
        assert_eq!(p.recommended_action.as_deref(), Some("continue"));
        assert_eq!(p.id.as_deref(), Some("peval_1"));
        assert_eq!((p.risk_level, p.shape), (None, AnswerShape::Insights));
    }

    #[test]
    fn dahlia_shape() {
        let body = br#"{"id":"peval_2","object":"radar.payment_evaluation","recommended_action":"block",
            "signals":{"fraudulent_payment":{"score":81.5,"risk_level":"highest","evaluated_at":2}}}"#;
        let p = parse(body).unwrap();
        assert_eq!(p.score, Some(81.5));
        assert_eq!(p.risk_level.as_deref(), Some("highest"));
        assert_eq!(p.recommended_action.as_deref(), Some("block"));
    }

    #[test]
    fn not_assessed_and_bad_answers() {
        let body = br#"{"recommended_action":"continue",
            "signals":{"fraudulent_payment":{"score":-1,"risk_level":"not_assessed"}}}"#;
        let p = parse(body).unwrap();
        assert_eq!(p.score, None);
        assert_eq!(p.risk_level.as_deref(), Some("not_assessed"));
        // Words a newer version adds are kept as written.
        let body = br#"{"recommended_action":"hold",
            "signals":{"fraudulent_payment":{"score":12.25,"risk_level":"guarded"}}}"#;
        let p = parse(body).unwrap();
        assert_eq!(
            (p.recommended_action.as_deref(), p.risk_level.as_deref()),
            (Some("hold"), Some("guarded"))
        );
        assert!(matches!(parse(b"{not json"), Err(ParseError::Json(_))));
        assert_eq!(parse(b"{}"), Err(ParseError::NoScore));
        assert!(matches!(
            parse(br#"{"object":"charge","insights":{"fraudulent_dispute":{"risk_score":1}}}"#),
            Err(ParseError::WrongObject(_))
        ));
        assert!(matches!(
            parse(br#"{"signals":{"fraudulent_payment":{"score":250}}}"#),
            Err(ParseError::OutOfRange(_))
        ));
    }

    #[test]
    fn stripe_errors_keep_their_fields() {
        let e = parse_error(
            br#"{"error":{"type":"invalid_request_error","code":"parameter_missing",
                "param":"payment_details[amount]","message":"Missing","doc_url":"x"}}"#,
        )
        .unwrap();
        assert_eq!(e.kind, "invalid_request_error");
        assert_eq!(e.code.as_deref(), Some("parameter_missing"));
        assert_eq!(e.param.as_deref(), Some("payment_details[amount]"));
        assert_eq!(e.message.as_deref(), Some("Missing"));
        assert_eq!(parse_error(b"oops"), None);
    }
}
