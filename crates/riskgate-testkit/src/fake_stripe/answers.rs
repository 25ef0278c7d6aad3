//! The fake's answers, in the shapes Stripe publishes: the evaluation as the request's
//! `Stripe-Version` has it, value list pages, and error objects.

use serde_json::{Value, json};

use crate::stripe_spec::EvaluationVersion;

/// The fake's recommendation for `score`: block from 75, 3D Secure from 50 (the current shape
/// documents `request_three_d_secure`; the preview enum has only `block | continue`), else
/// continue.
fn action(score: f64, signals: bool) -> &'static str {
    if score >= 75.0 {
        "block"
    } else if score >= 50.0 && signals {
        "request_three_d_secure"
    } else {
        "continue"
    }
}

/// The fake's level for `score` among the levels `levels` the version has.
fn level(score: f64, levels: &[String]) -> &'static str {
    let six = levels.iter().any(|l| l == "low");
    match score {
        s if s < 0.0 && six => "not_assessed",
        s if s < 5.0 && six => "low",
        s if s < 20.0 => "normal",
        s if s < 65.0 => "elevated",
        _ => "highest",
    }
}

/// A new evaluation `id` scored `score` (-1: not assessed), as `version` shows it, echoing the
/// request's `metadata`.
pub fn evaluation(
    id: &str,
    version: &EvaluationVersion,
    score: f64,
    metadata: Value,
    now: u64,
) -> Value {
    if version.answer_shape == "insights" {
        json!({
            "id": id, "object": "radar.payment_evaluation", "created_at": now, "livemode": false,
            "metadata": metadata,
            "insights": {"evaluated_at": now, "fraudulent_dispute": {
                "recommended_action": action(score, false),
                "risk_score": if score < 0.0 { -1 } else { score.round() as i64 },
            }},
        })
    } else {
        let levels = version.risk_levels.clone().unwrap_or_default();
        json!({
            "id": id, "object": "radar.payment_evaluation", "created_at": now, "livemode": false,
            "metadata": metadata, "recommended_action": action(score, true),
            "signals": {"fraudulent_payment": {
                "score": if score < 0.0 { -1.0 } else { (score * 100.0).round() / 100.0 },
                "risk_level": level(score, &levels),
                "evaluated_at": now,
            }},
            "outcome": null,
        })
    }
}

/// Applies a report (the form as JSON) to a stored evaluation: an outcome call sets `outcome`,
/// an event call appends to `events`. The preview shape has neither field; it is left as it is.
pub fn apply_report(evaluation: &mut Value, report: Value, outcome_call: bool) {
    if evaluation.get("signals").is_none() {
        return;
    }
    let Value::Object(mut report) = report else {
        return;
    };
    let events = report.remove("events");
    if outcome_call {
        report.remove("payment_evaluation");
        report.remove("occurred_at");
        evaluation["outcome"] = Value::Object(report);
    }
    if let Some(Value::Array(events)) = events {
        match evaluation.get_mut("events") {
            Some(Value::Array(existing)) => existing.extend(events),
            _ => evaluation["events"] = Value::Array(events),
        }
    }
}

/// A Radar value list as Stripe shows it.
pub fn value_list(id: &str, alias: &str, item_type: &str, has_items: bool) -> Value {
    json!({
        "id": id, "object": "radar.value_list", "alias": alias, "name": alias,
        "item_type": item_type, "created": 1_700_000_000, "created_by": "fake",
        "livemode": false, "metadata": {},
        "list_items": {"object": "list", "data": [], "has_more": has_items,
            "url": format!("/v1/radar/value_list_items?value_list={id}")},
    })
}

/// A Radar value list item as Stripe shows it.
pub fn value_list_item(id: &str, value: &str, list: &str) -> Value {
    json!({
        "id": id, "object": "radar.value_list_item", "value": value, "value_list": list,
        "created": 1_700_000_000, "created_by": "fake", "livemode": false,
    })
}

/// Stripe's error answer.
pub fn error(kind: &str, code: Option<&str>, param: Option<&str>, message: &str) -> Value {
    let mut e = json!({"type": kind, "message": message});
    if let Some(code) = code {
        e["code"] = json!(code);
    }
    if let Some(param) = param {
        e["param"] = json!(param);
    }
    json!({ "error": e })
}

/// The error answer of a scripted status fault: `api_error` for 5xx, a `rate_limit` code on 429,
/// `idempotency_key_in_use` on 409 (v1 types and codes only).
pub fn fault_error(code: u16) -> Value {
    match code {
        429 => error(
            "invalid_request_error",
            Some("rate_limit"),
            None,
            "fake fault: too many requests",
        ),
        409 => error(
            "invalid_request_error",
            Some("idempotency_key_in_use"),
            None,
            "fake fault: a request with this idempotency key is in progress",
        ),
        c if c >= 500 => error("api_error", None, None, "fake fault"),
        _ => error("invalid_request_error", None, None, "fake fault"),
    }
}
