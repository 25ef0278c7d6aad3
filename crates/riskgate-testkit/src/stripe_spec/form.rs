//! Requests against the spec: the endpoint, its `Stripe-Version`, and every form (or query) key
//! and value.

use serde_json::Value;

use super::{Channel, Endpoint, Spec, Violation};

/// A request as Stripe receives it.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    pub method: &'a str,
    /// Without the query.
    pub path: &'a str,
    pub stripe_version: Option<&'a str>,
    /// The decoded form body (POST) or query (GET).
    pub form: &'a [(String, String)],
    /// The account is in the Payment Evaluations private preview.
    pub private_preview: bool,
}

impl Spec {
    /// Checks `req` as Stripe would against its published description; the endpoint it went to,
    /// else the first violation, as Stripe would answer it.
    pub fn check_request(&self, req: &Request<'_>) -> Result<Endpoint, Violation> {
        let Some(endpoint) = self.endpoint(req.method, req.path) else {
            return Err(Violation {
                status: 404,
                code: None,
                param: None,
                message: format!("Unrecognized request URL ({}: {})", req.method, req.path),
            });
        };
        let version = req.stripe_version.unwrap_or_default();
        if !self.version_allowed(&endpoint, version, req.private_preview) {
            return Err(Violation {
                status: 400,
                code: None,
                param: None,
                message: format!(
                    "{} {} does not exist under Stripe-Version {version:?}",
                    req.method, req.path
                ),
            });
        }
        let (params, required_top) = self.params(&endpoint);
        let allowed_extra = match endpoint {
            Endpoint::CreateEvaluation => {
                let channel = Channel::of(version, req.private_preview);
                let extra = self
                    .evaluation_version(version, channel)
                    .map(|v| v.extra_params)
                    .unwrap_or_default();
                let versioned = self.versioned_params();
                Some((versioned, extra))
            }
            _ => None,
        };
        let known = |template: &str| -> Option<&Value> {
            let facts = params.get(template)?;
            if let Some((versioned, extra)) = &allowed_extra
                && versioned.iter().any(|p| p == template)
                && !extra.iter().any(|p| p == template)
            {
                return None;
            }
            Some(facts)
        };
        let mut present: Vec<(Vec<String>, Vec<String>)> = Vec::with_capacity(req.form.len());
        for (key, value) in req.form {
            let Some(segments) = segments(key) else {
                return Err(invalid(key, "is not bracket notation"));
            };
            let template = template(&segments, params);
            let Some(facts) = known(&template) else {
                return Err(Violation {
                    status: 400,
                    code: Some("parameter_unknown"),
                    param: Some(key.clone()),
                    message: format!("Received unknown parameter: {key}"),
                });
            };
            check_value(key, value, facts)?;
            present.push((segments, template_segments(&template)));
        }
        // Required hashes and keys: a key required all the way up must be there; a key required
        // within its parent must be there when anything else of that parent is.
        for name in required_top {
            if !present.iter().any(|(s, _)| s[0] == name) {
                return Err(missing(&name));
            }
        }
        if let Some(all) = params.as_object() {
            for (template, facts) in all {
                if known(template).is_none() || facts["required"] != true {
                    continue;
                }
                let wanted = template_segments(template);
                let parent = &wanted[..wanted.len() - 1];
                if facts["required_path"] == true && parent.is_empty() {
                    if !present.iter().any(|(_, t)| *t == wanted) {
                        return Err(missing(template));
                    }
                    continue;
                }
                // Every concrete parent present (e.g. each events[i]) needs the key.
                let mut parents: Vec<&[String]> = Vec::new();
                for (concrete, t) in &present {
                    if t.len() > parent.len() && t[..parent.len()] == *parent {
                        let p = &concrete[..parent.len()];
                        if !parents.contains(&p) {
                            parents.push(p);
                        }
                    }
                }
                for p in parents {
                    let leaf = &wanted[wanted.len() - 1];
                    if !present.iter().any(|(c, _)| {
                        c.len() == p.len() + 1 && c[..p.len()] == *p && c[p.len()] == *leaf
                    }) {
                        return Err(missing(&join(p, leaf)));
                    }
                }
            }
        }
        Ok(endpoint)
    }
}

impl Spec {
    /// The JSON object a form describes (`a[b]=1` → `{"a": {"b": 1}}`, `events[0][type]=x` →
    /// `{"events": [{"type": "x"}]}`), values typed as `endpoint`'s parameters are (integers as
    /// numbers). For a form [`Spec::check_request`] accepted.
    pub fn form_to_json(&self, endpoint: &Endpoint, form: &[(String, String)]) -> Value {
        let (params, _) = self.params(endpoint);
        let mut root = Value::Object(serde_json::Map::new());
        for (key, value) in form {
            let Some(segs) = segments(key) else { continue };
            let t = template(&segs, params);
            let typed = match params[&t]["type"].as_str() {
                Some("integer") => value
                    .parse::<i64>()
                    .map_or_else(|_| Value::String(value.clone()), Value::from),
                Some("boolean") => Value::Bool(value == "true"),
                _ => Value::String(value.clone()),
            };
            let mut node = &mut root;
            for (i, seg) in segs.iter().enumerate() {
                let last = i + 1 == segs.len();
                let index = seg.parse::<usize>().ok();
                match (index, node) {
                    (Some(n), Value::Array(items)) => {
                        while items.len() <= n {
                            items.push(Value::Object(serde_json::Map::new()));
                        }
                        node = &mut items[n];
                    }
                    (_, Value::Object(map)) => {
                        let next_is_index =
                            segs.get(i + 1).is_some_and(|s| s.parse::<usize>().is_ok());
                        let entry = map.entry(seg.clone()).or_insert_with(|| {
                            if last {
                                Value::Null
                            } else if next_is_index {
                                Value::Array(Vec::new())
                            } else {
                                Value::Object(serde_json::Map::new())
                            }
                        });
                        node = entry;
                    }
                    _ => break,
                }
                if last {
                    *node = typed.clone();
                }
            }
        }
        root
    }
}

/// `a[b][0][c]` → `["a", "b", "0", "c"]`; `None` when the brackets do not close.
fn segments(key: &str) -> Option<Vec<String>> {
    let (first, mut rest) = match key.find('[') {
        Some(i) => (&key[..i], &key[i..]),
        None => (key, ""),
    };
    if first.is_empty() {
        return None;
    }
    let mut out = vec![first.to_owned()];
    while !rest.is_empty() {
        let inner = rest.strip_prefix('[')?;
        let end = inner.find(']')?;
        out.push(inner[..end].to_owned());
        rest = &inner[end + 1..];
    }
    Some(out)
}

/// The spec's key for concrete `segments`: indices as `0`, a string map's keys as `*`.
fn template(segments: &[String], params: &Value) -> String {
    let mut out = segments[0].clone();
    for s in &segments[1..] {
        let map_key = format!("{out}[*]");
        if params.get(&map_key).is_some() {
            out = map_key;
        } else if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
            out.push_str("[0]");
        } else {
            out.push('[');
            out.push_str(s);
            out.push(']');
        }
    }
    out
}

fn template_segments(template: &str) -> Vec<String> {
    segments(template).unwrap_or_else(|| vec![template.to_owned()])
}

fn join(parent: &[String], leaf: &str) -> String {
    let Some((first, rest)) = parent.split_first() else {
        return leaf.to_owned();
    };
    let mut out = first.clone();
    for s in rest.iter().map(String::as_str).chain([leaf]) {
        out.push('[');
        out.push_str(s);
        out.push(']');
    }
    out
}

fn check_value(key: &str, value: &str, facts: &Value) -> Result<(), Violation> {
    match facts["type"].as_str().unwrap_or_default() {
        "integer" if value.parse::<i64>().is_err() => {
            return Err(Violation {
                status: 400,
                code: Some("parameter_invalid_integer"),
                param: Some(key.to_owned()),
                message: format!("Invalid integer: {value}"),
            });
        }
        "boolean" if value != "true" && value != "false" => {
            return Err(invalid(key, "must be true or false"));
        }
        _ => {}
    }
    if let Some(values) = facts["enum"].as_array()
        && !values.iter().any(|v| v == value)
    {
        let list: Vec<&str> = values.iter().filter_map(Value::as_str).collect();
        return Err(invalid(
            key,
            &format!("{value:?} is not one of: {}", list.join(", ")),
        ));
    }
    if let Some(max) = facts["max_length"].as_u64()
        && value.chars().count() as u64 > max
    {
        return Err(invalid(key, &format!("is longer than {max} characters")));
    }
    if facts["format"] == "currency"
        && !(value.len() == 3 && value.bytes().all(|b| b.is_ascii_lowercase()))
    {
        return Err(invalid(key, "is not a lower-case ISO currency code"));
    }
    Ok(())
}

fn invalid(key: &str, why: &str) -> Violation {
    Violation {
        status: 400,
        code: None,
        param: Some(key.to_owned()),
        message: format!("Invalid {key}: {why}"),
    }
}

fn missing(key: &str) -> Violation {
    Violation {
        status: 400,
        code: Some("parameter_missing"),
        param: Some(key.to_owned()),
        message: format!("Missing required param: {key}."),
    }
}

#[cfg(test)]
mod tests {
    use super::super::spec;
    use super::*;

    fn form(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn create(version: &str, private: bool, pairs: &[(&str, &str)]) -> Result<Endpoint, Violation> {
        spec().check_request(&Request {
            method: "POST",
            path: "/v1/radar/payment_evaluations",
            stripe_version: Some(version),
            form: &form(pairs),
            private_preview: private,
        })
    }

    const MINIMAL: &[(&str, &str)] = &[
        ("customer_details[email]", "a@example.com"),
        ("payment_details[amount]", "100"),
        ("payment_details[currency]", "usd"),
        (
            "payment_details[payment_method_details][payment_method]",
            "pm_1",
        ),
    ];

    #[test]
    fn the_create_request_follows_the_spec() {
        assert_eq!(
            create("2026-07-29.dahlia", false, MINIMAL),
            Ok(Endpoint::CreateEvaluation)
        );
        let err = create("2026-07-29.dahlia", false, &MINIMAL[1..]).unwrap_err();
        assert_eq!(
            (err.code, err.param.as_deref()),
            (Some("parameter_missing"), Some("customer_details"))
        );
        let mut pairs = MINIMAL.to_vec();
        pairs.push((
            "payment_details[money_movement_details][card][customer_presence]",
            "on_session",
        ));
        let err = create("2026-07-29.dahlia", false, &pairs).unwrap_err();
        assert_eq!(
            err.param.as_deref(),
            Some("payment_details[money_movement_details][money_movement_type]")
        );
        pairs.push((
            "payment_details[money_movement_details][money_movement_type]",
            "bank",
        ));
        assert!(create("2026-07-29.dahlia", false, &pairs).is_err());
        let mut pairs = MINIMAL.to_vec();
        pairs.push(("metadata[order id]", "1"));
        pairs.push(("payment_details[amount_in_usd]", "1"));
        let err = create("2026-07-29.dahlia", false, &pairs).unwrap_err();
        assert_eq!(err.code, Some("parameter_unknown"));
    }

    #[test]
    fn preview_parameters_need_their_version_and_channel() {
        let mut pairs = MINIMAL.to_vec();
        pairs.extend([
            ("client_device_metadata_details[radar_session]", "rse_1"),
            ("client_device_metadata_details[data][ip]", "203.0.113.9"),
            ("client_device_metadata_details[data][user_agent]", "UA"),
            (
                "client_device_metadata_details[data][pasted_fields][0]",
                "number",
            ),
        ]);
        assert!(create("2026-04-22.preview", true, &pairs).is_ok());
        for (version, private) in [
            ("2026-04-22.preview", false),
            ("2026-07-29.dahlia", true),
            ("2026-03-25.preview", true),
        ] {
            let err = create(version, private, &pairs).unwrap_err();
            assert_eq!(err.code, Some("parameter_unknown"), "{version}");
        }
        pairs[7] = (
            "client_device_metadata_details[data][pasted_fields][0]",
            "email",
        );
        assert!(create("2026-04-22.preview", true, &pairs).is_err());
        // ip and user_agent go together.
        let without_ua: Vec<_> = pairs
            .iter()
            .copied()
            .filter(|(k, _)| !k.ends_with("[user_agent]") && !k.contains("pasted"))
            .collect();
        let err = create("2026-04-22.preview", true, &without_ua).unwrap_err();
        assert_eq!(
            err.param.as_deref(),
            Some("client_device_metadata_details[data][user_agent]")
        );
    }

    #[test]
    fn versions_must_carry_the_endpoint() {
        let err = create("2025-12-15.clover", false, MINIMAL).unwrap_err();
        assert!(err.message.contains("does not exist"), "{err}");
        let lists = |version: &str| {
            spec().check_request(&Request {
                method: "GET",
                path: "/v1/radar/value_list_items",
                stripe_version: Some(version),
                form: &form(&[("value_list", "rsl_1"), ("limit", "100")]),
                private_preview: false,
            })
        };
        assert_eq!(lists("2026-07-29.dahlia"), Ok(Endpoint::ValueListItems));
        assert!(lists("2019-01-01").is_err());
    }

    #[test]
    fn forms_read_as_the_objects_they_describe() {
        let endpoint = Endpoint::ReportEvent {
            evaluation: "peval_1".into(),
        };
        let json = spec().form_to_json(
            &endpoint,
            &form(&[
                ("events[0][type]", "refunded"),
                ("events[0][occurred_at]", "7"),
                ("events[0][refunded][amount]", "100"),
                ("events[0][refunded][currency]", "usd"),
            ]),
        );
        assert_eq!(
            json,
            serde_json::json!({"events": [{"type": "refunded", "occurred_at": 7,
                "refunded": {"amount": 100, "currency": "usd"}}]})
        );
    }

    #[test]
    fn event_reports_check_each_event() {
        let report = |pairs: &[(&str, &str)]| {
            spec().check_request(&Request {
                method: "POST",
                path: "/v1/radar/payment_evaluations/peval_1/report",
                stripe_version: Some("2026-07-29.dahlia"),
                form: &form(pairs),
                private_preview: false,
            })
        };
        let ok = [
            ("events[0][type]", "early_fraud_warning_received"),
            ("events[0][occurred_at]", "7"),
            (
                "events[0][early_fraud_warning_received][fraud_type]",
                "other",
            ),
        ];
        assert!(report(&ok).is_ok());
        let mut misc = ok;
        misc[2].1 = "misc";
        assert!(report(&misc).is_err());
        let err = report(&[
            ("events[0][type]", "refunded"),
            ("events[0][occurred_at]", "7"),
            ("events[0][refunded][amount]", "100"),
        ])
        .unwrap_err();
        assert_eq!(err.code, Some("parameter_missing"));
    }
}
