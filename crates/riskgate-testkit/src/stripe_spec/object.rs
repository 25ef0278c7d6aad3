//! Objects against the spec: required fields, types, enum values, and no field the schema lacks.

use serde_json::{Map, Value};

use super::{Channel, Spec};

/// Which schema an object is checked against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ObjectKind {
    /// `radar.payment_evaluation` as Stripe answers it at `version` in `channel` (its shape, its
    /// `risk_level` and `recommended_action` values).
    Evaluation { version: String, channel: Channel },
    /// A list page (`object: "list"`) of `radar.value_list`.
    ValueListPage,
    /// A list page of `radar.value_list_item`.
    ValueListItemPage,
    /// Stripe's error answer, `{"error": {…}}`.
    Error,
    /// Any other schema of the fixture by name (`radar.early_fraud_warning`, `dispute`, …).
    Schema(String),
}

impl Spec {
    /// Every way `value` breaks the schema of `kind` (empty: it conforms).
    pub fn check_object(&self, kind: &ObjectKind, value: &Value) -> Vec<String> {
        let mut out = Vec::new();
        match kind {
            ObjectKind::Evaluation { version, channel } => {
                let Some(v) = self.evaluation_version(version, *channel) else {
                    return vec![format!("no Payment Evaluations at {version}")];
                };
                let (schema, overrides) = if v.answer_shape == "insights" {
                    let name = self.doc["schemas"]
                        .as_object()
                        .and_then(|s| {
                            s.keys()
                                .find(|k| k.starts_with("radar.payment_evaluation@"))
                        })
                        .cloned()
                        .unwrap_or_default();
                    (name, Vec::new())
                } else {
                    let documented = super::strings(
                        &self.doc["schemas"]["radar.payment_evaluation"]["fields"]["recommended_action"]
                            ["description_values"],
                    );
                    let mut actions = v.recommended_actions.clone();
                    actions.extend(documented);
                    (
                        "radar.payment_evaluation".to_owned(),
                        vec![
                            ("recommended_action", actions),
                            (
                                "signals.fraudulent_payment.risk_level",
                                v.risk_levels.unwrap_or_default(),
                            ),
                        ],
                    )
                };
                self.check_schema(&schema, value, &overrides, &mut out);
            }
            ObjectKind::ValueListPage | ObjectKind::ValueListItemPage => {
                let items = if *kind == ObjectKind::ValueListPage {
                    "radar.value_list"
                } else {
                    "radar.value_list_item"
                };
                self.check_page(items, value, &mut out);
            }
            ObjectKind::Error => {
                let fields = &self.doc["error"]["fields"];
                match value.get("error") {
                    Some(e) => walk(fields, "", e, &[], "error", &mut out),
                    None => out.push("no `error` object".into()),
                }
                if let Some(o) = value.as_object() {
                    out.extend(
                        o.keys()
                            .filter(|k| *k != "error")
                            .map(|k| format!("`{k}`: not a field of an error answer")),
                    );
                }
            }
            ObjectKind::Schema(name) => self.check_schema(name, value, &[], &mut out),
        }
        out
    }

    fn check_schema(
        &self,
        name: &str,
        value: &Value,
        overrides: &[(&str, Vec<String>)],
        out: &mut Vec<String>,
    ) {
        let fields = &self.doc["schemas"][name]["fields"];
        if !fields.is_object() {
            out.push(format!("no schema {name} in the fixture"));
            return;
        }
        walk(fields, "", value, overrides, name, out);
    }

    fn check_page(&self, items: &str, value: &Value, out: &mut Vec<String>) {
        let Some(page) = value.as_object() else {
            out.push("a list page is an object".into());
            return;
        };
        if page.get("object").and_then(Value::as_str) != Some("list") {
            out.push("`object` of a list page is \"list\"".into());
        }
        let endpoint = self.doc["endpoints"].as_array().and_then(|e| {
            e.iter()
                .find(|e| e["response_list"]["data_items"].as_str() == Some(items))
        });
        let wanted = endpoint
            .map(|e| super::strings(&e["response_list"]["fields"]))
            .unwrap_or_default();
        for f in &wanted {
            if !page.contains_key(f) {
                out.push(format!("list page: missing `{f}`"));
            }
        }
        for k in page.keys() {
            if !wanted.contains(k) {
                out.push(format!("list page: `{k}` is not a field"));
            }
        }
        if page.get("has_more").is_some_and(|v| !v.is_boolean()) {
            out.push("list page: `has_more` is a boolean".into());
        }
        if let Some(pattern) = endpoint.and_then(|e| e["response_list"]["url_pattern"].as_str())
            && let Some(url) = page.get("url").and_then(Value::as_str)
            && !url.starts_with(pattern.trim_start_matches('^'))
        {
            out.push(format!("list page: url {url:?} does not match {pattern}"));
        }
        match page.get("data").and_then(Value::as_array) {
            Some(data) => {
                for (i, item) in data.iter().enumerate() {
                    let mut item_out = Vec::new();
                    self.check_schema(items, item, &[], &mut item_out);
                    out.extend(item_out.into_iter().map(|e| format!("data[{i}]: {e}")));
                }
            }
            None => out.push("list page: `data` is an array".into()),
        }
    }
}

/// Checks the object `value` found at `path` (`""` for the root, `events[]` for an event) against
/// the flat `fields` map (`a.b.c`, `events[].type`).
fn walk(
    fields: &Value,
    path: &str,
    value: &Value,
    overrides: &[(&str, Vec<String>)],
    schema: &str,
    out: &mut Vec<String>,
) {
    let Some(all) = fields.as_object() else {
        return;
    };
    let Some(object) = value.as_object() else {
        out.push(format!("{schema} {}: not an object", shown(path)));
        return;
    };
    let children: Vec<(&str, &str, &Value)> = all
        .iter()
        .filter(|(k, _)| !k.ends_with("[]"))
        .filter_map(|(k, facts)| {
            let (parent, name) = k.rsplit_once('.').unwrap_or(("", k));
            (parent == path).then_some((k.as_str(), name, facts))
        })
        .collect();
    for (key, name, facts) in &children {
        let here = format!("{schema} {key}");
        match object.get(*name) {
            None => {
                if facts["required"] == true {
                    out.push(format!("{here}: required"));
                }
            }
            Some(Value::Null) => {
                if facts["nullable"] != true {
                    out.push(format!("{here}: not nullable"));
                }
            }
            Some(v) => {
                check_type(&here, v, facts, out);
                let allowed = overrides
                    .iter()
                    .find(|(k, _)| k == key)
                    .map(|(_, values)| values.clone())
                    .or_else(|| enum_values(facts));
                if let Some(allowed) = allowed
                    && let Some(s) = v.as_str()
                    && !allowed.iter().any(|a| a == s)
                {
                    out.push(format!(
                        "{here}: {s:?} is not one of {}",
                        allowed.join(", ")
                    ));
                }
                match v {
                    Value::Object(_) if has_children(all, key) => {
                        walk(fields, key, v, overrides, schema, out);
                    }
                    Value::Array(items) => {
                        let item_path = format!("{key}[]");
                        for item in items {
                            if item.is_object() && has_children(all, &item_path) {
                                walk(fields, &item_path, item, overrides, schema, out);
                            } else if let (Some(allowed), Some(s)) =
                                (enum_values(&facts["items"]), item.as_str())
                                && !allowed.iter().any(|a| a == s)
                            {
                                out.push(format!(
                                    "{here}[]: {s:?} is not one of {}",
                                    allowed.join(", ")
                                ));
                            }
                        }
                    }
                    _ => {}
                }
            }
        }
    }
    for k in object.keys() {
        if !children.iter().any(|(_, name, _)| name == k) {
            out.push(format!(
                "{schema} {}: not a field of the schema",
                join(path, k)
            ));
        }
    }
}

fn check_type(here: &str, v: &Value, facts: &Value, out: &mut Vec<String>) {
    let t = facts["type"].as_str().unwrap_or_default();
    let ok = match t {
        "string" => v.is_string(),
        "integer" => v.is_i64() || v.is_u64(),
        "number" => v.is_number(),
        "boolean" => v.is_boolean(),
        "array" => v.is_array(),
        "map" => v
            .as_object()
            .is_some_and(|m: &Map<String, Value>| m.values().all(|x| x.is_string())),
        "object" => v.is_object(),
        _ if t.starts_with("ref:") => v.is_object(),
        _ if t.starts_with("expandable:") => v.is_string() || v.is_object(),
        _ => true,
    };
    if !ok {
        out.push(format!("{here}: not of type {t}"));
    }
    if let (Some(max), Some(s)) = (facts["max_length"].as_u64(), v.as_str())
        && s.chars().count() as u64 > max
    {
        out.push(format!("{here}: longer than {max}"));
    }
}

/// The values a field may take: its enum and the values its description documents beside it.
fn enum_values(facts: &Value) -> Option<Vec<String>> {
    let mut values = super::strings(&facts["enum"]);
    if values.is_empty() {
        return None;
    }
    values.extend(super::strings(&facts["description_values"]));
    Some(values)
}

fn has_children(all: &Map<String, Value>, path: &str) -> bool {
    let prefix = format!("{path}.");
    all.keys().any(|k| k.starts_with(&prefix))
}

fn join(path: &str, name: &str) -> String {
    if path.is_empty() {
        name.to_owned()
    } else {
        format!("{path}.{name}")
    }
}

fn shown(path: &str) -> &str {
    if path.is_empty() { "(root)" } else { path }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::spec;
    use super::*;

    fn evaluation(version: &str) -> ObjectKind {
        ObjectKind::Evaluation {
            version: version.into(),
            channel: Channel::of(version, false),
        }
    }

    fn current(level: &str, action: &str) -> Value {
        json!({"id": "peval_1", "object": "radar.payment_evaluation", "created_at": 1,
            "livemode": false, "metadata": {}, "recommended_action": action,
            "signals": {"fraudulent_payment": {"score": 12.5, "risk_level": level, "evaluated_at": 1}}})
    }

    #[test]
    fn evaluations_follow_their_version() {
        let s = spec();
        assert_eq!(
            s.check_object(&evaluation("2026-07-29.dahlia"), &current("low", "block")),
            Vec::<String>::new()
        );
        // `low` is not a level before 2026-04-22; `review` never a recommendation.
        assert_eq!(
            s.check_object(
                &evaluation("2026-03-25.dahlia"),
                &current("low", "continue")
            )
            .len(),
            1
        );
        assert_eq!(
            s.check_object(
                &evaluation("2026-07-29.dahlia"),
                &current("normal", "review")
            )
            .len(),
            1
        );
        let mut v = current("normal", "request_three_d_secure");
        assert!(
            s.check_object(&evaluation("2026-07-29.dahlia"), &v)
                .is_empty()
        );
        v["signals"]["fraudulent_payment"]
            .as_object_mut()
            .unwrap()
            .remove("evaluated_at");
        v["extra"] = json!(1);
        assert_eq!(
            s.check_object(&evaluation("2026-07-29.dahlia"), &v).len(),
            2
        );
        let preview = json!({"id": "peval_1", "object": "radar.payment_evaluation",
            "created_at": 1, "livemode": false, "metadata": {},
            "insights": {"evaluated_at": 1,
                "fraudulent_dispute": {"recommended_action": "continue", "risk_score": 12}}});
        assert!(
            s.check_object(&evaluation("2026-01-28.preview"), &preview)
                .is_empty()
        );
        assert!(
            !s.check_object(&evaluation("2026-07-29.dahlia"), &preview)
                .is_empty()
        );
    }

    #[test]
    fn errors_and_pages_have_their_shape() {
        let s = spec();
        let e = json!({"error": {"type": "invalid_request_error", "code": "parameter_missing",
            "param": "x", "message": "m"}});
        assert!(s.check_object(&ObjectKind::Error, &e).is_empty());
        let e = json!({"error": {"type": "rate_limit_error", "message": "m"}});
        assert_eq!(s.check_object(&ObjectKind::Error, &e).len(), 1);
        let page = json!({"object": "list", "url": "/v1/radar/value_list_items", "has_more": false,
            "data": [{"id": "rsli_1", "object": "radar.value_list_item", "value": "a@b.c",
                "value_list": "rsl_1", "livemode": false, "created": 1, "created_by": "x"}]});
        assert!(
            s.check_object(&ObjectKind::ValueListItemPage, &page)
                .is_empty()
        );
        let page = json!({"object": "list", "url": "/v1/radar/value_list_items", "has_more": false,
            "data": [{"id": "rsli_1", "object": "radar.value_list_item", "value": "a@b.c"}]});
        assert_eq!(
            s.check_object(&ObjectKind::ValueListItemPage, &page).len(),
            4
        );
    }
}
