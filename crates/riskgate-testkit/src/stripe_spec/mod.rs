//! Stripe's published API description, as the spec fixture keeps it
//! (`fixtures/stripe_spec.json`, made by `scripts/stripe-spec-extract`), and the checks of requests
//! and objects against it that the contract tests and the fake Stripe share:
//!
//! - [`Spec::check_request`]: an outgoing request's method, path, `Stripe-Version` (one under
//!   which the endpoint exists), every form or query key (known to the spec for that version and
//!   release channel), every enum value, integer and length, and the required keys;
//! - [`Spec::check_object`]: a Stripe-shaped object against its schema (required fields, types,
//!   enum values — per API version for the evaluation —, no field the schema lacks);
//! - [`Spec::evaluation_version`]: what a version of Payment Evaluations answers and accepts.

mod form;
mod object;

use std::sync::OnceLock;

use serde_json::Value;

pub use form::Request;
pub use object::ObjectKind;

/// The fixture, compiled in (the fake Stripe of `riskgate fake-stripe` uses it too).
pub const FIXTURE: &str = include_str!("../../fixtures/stripe_spec.json");

/// Payment Evaluations, as the spec and the reports riskgate infers name them.
pub const EVALUATIONS_PATH: &str = "/v1/radar/payment_evaluations";

/// A release channel of Stripe's API versions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    /// `.clover`, `.dahlia`, …
    Ga,
    /// `.preview` for every account.
    PublicPreview,
    /// `.preview` for accounts in the private preview.
    PrivatePreview,
}

impl Channel {
    /// The channel of `version` for an account in the private preview or not.
    pub fn of(version: &str, private_preview: bool) -> Self {
        match (version.ends_with(".preview"), private_preview) {
            (false, _) => Channel::Ga,
            (true, false) => Channel::PublicPreview,
            (true, true) => Channel::PrivatePreview,
        }
    }

    fn label(self) -> &'static str {
        match self {
            Channel::Ga => "ga",
            Channel::PublicPreview => "public_preview",
            Channel::PrivatePreview => "private_preview",
        }
    }
}

/// What a version of Payment Evaluations answers and accepts (the fixture's entry in effect).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvaluationVersion {
    /// The fixture entry in effect (`2026-05-27.dahlia (ga)` for `2026-07-01.dahlia`).
    pub entry: String,
    /// `insights` or `signals`.
    pub answer_shape: String,
    /// `None` in the `insights` shape.
    pub risk_levels: Option<Vec<String>>,
    pub recommended_actions: Vec<String>,
    /// Create parameters this version accepts beyond the first version's.
    pub extra_params: Vec<String>,
}

/// Why a request breaks the spec, named as Stripe's error would name it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// The HTTP status Stripe answers (400, or 404 for an unknown URL).
    pub status: u16,
    /// Stripe's `error.code` (`parameter_missing`, `parameter_unknown`, …), when it has one.
    pub code: Option<&'static str>,
    /// The parameter at fault.
    pub param: Option<String>,
    pub message: String,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.message)?;
        if let Some(code) = self.code {
            write!(f, " ({code})")?;
        }
        Ok(())
    }
}

/// The endpoint a request went to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// `POST /v1/radar/payment_evaluations`.
    CreateEvaluation,
    /// Report an Outcome (`POST …/{id}/report_outcome`; the path is riskgate's inference, the
    /// parameters the fixture's `report_calls.outcome`).
    ReportOutcome { evaluation: String },
    /// Report an Event (`POST …/{id}/report`, likewise).
    ReportEvent { evaluation: String },
    /// `GET /v1/radar/value_lists`.
    ValueLists,
    /// `GET /v1/radar/value_list_items`.
    ValueListItems,
    /// `GET /v1/charges/{charge}`.
    RetrieveCharge { charge: String },
}

impl Endpoint {
    /// Whether a published description confirms the endpoint's path (the reports: no).
    pub fn confirmed(&self) -> bool {
        !matches!(
            self,
            Endpoint::ReportOutcome { .. } | Endpoint::ReportEvent { .. }
        )
    }

    /// The fixture's `api_versions` family.
    fn family(&self) -> &'static str {
        match self {
            Endpoint::CreateEvaluation
            | Endpoint::ReportOutcome { .. }
            | Endpoint::ReportEvent { .. } => "payment_evaluations",
            Endpoint::ValueLists => "value_lists",
            Endpoint::ValueListItems => "value_list_items",
            Endpoint::RetrieveCharge { .. } => "charges",
        }
    }
}

/// The fixture, parsed.
#[derive(Debug)]
pub struct Spec {
    doc: Value,
}

/// The fixture, parsed once.
pub fn spec() -> &'static Spec {
    static SPEC: OnceLock<Spec> = OnceLock::new();
    SPEC.get_or_init(|| Spec {
        doc: serde_json::from_str(FIXTURE).expect("the spec fixture is JSON"),
    })
}

impl Spec {
    /// The raw fixture.
    pub fn doc(&self) -> &Value {
        &self.doc
    }

    /// The spec commit the facts come from.
    pub fn commit(&self) -> &str {
        self.doc["source"]["commit"].as_str().unwrap_or_default()
    }

    /// The values of an enum of the fixture's summary (`enums`), e.g.
    /// `payment_evaluation.events[].early_fraud_warning_received.fraud_type`.
    pub fn enum_values(&self, name: &str) -> Vec<String> {
        strings(&self.doc["enums"][name]["values"])
    }

    /// The v1 error `type` values.
    pub fn error_types(&self) -> Vec<String> {
        strings(&self.doc["error"]["fields"]["type"]["enum"])
    }

    /// The v1 error `code` values.
    pub fn error_codes(&self) -> Vec<String> {
        strings(&self.doc["error"]["codes"])
    }

    /// Every `(version, channel)` entry of Payment Evaluations the fixture lists.
    pub fn evaluation_entries(&self) -> Vec<(String, Channel)> {
        let mut out = Vec::new();
        if let Some(versions) = self.doc["payment_evaluation_versions"]["versions"].as_object() {
            for key in versions.keys() {
                let Some((version, channel)) = key.split_once(" (") else {
                    continue;
                };
                let channel = match channel.trim_end_matches(')') {
                    "ga" => Channel::Ga,
                    "public_preview" => Channel::PublicPreview,
                    "private_preview" => Channel::PrivatePreview,
                    _ => continue,
                };
                out.push((version.to_owned(), channel));
            }
        }
        out
    }

    /// What Payment Evaluations are at `version` in `channel`: the newest entry of that channel
    /// at or before the version's date; `None` when the endpoint does not exist there.
    pub fn evaluation_version(&self, version: &str, channel: Channel) -> Option<EvaluationVersion> {
        let date = version.split('.').next()?;
        let versions = self.doc["payment_evaluation_versions"]["versions"].as_object()?;
        let suffix = format!(" ({})", channel.label());
        let (entry, facts) = versions
            .iter()
            .filter(|(k, _)| k.ends_with(&suffix))
            .filter(|(k, _)| k.split('.').next().is_some_and(|d| d <= date))
            .max_by(|(a, _), (b, _)| a.split('.').next().cmp(&b.split('.').next()))?;
        Some(EvaluationVersion {
            entry: entry.clone(),
            answer_shape: facts["answer_shape"].as_str()?.to_owned(),
            risk_levels: facts["risk_level_enum"]
                .as_array()
                .map(|_| strings(&facts["risk_level_enum"])),
            recommended_actions: strings(&facts["recommended_action_enum"]),
            extra_params: strings(&facts["create_params_beyond_first_version"]),
        })
    }

    /// Whether `endpoint` exists under `version` (for an account in the private preview or not):
    /// Payment Evaluations from their first version on, in a channel the fixture lists; the other
    /// endpoints under a version the fixture documents them for.
    pub fn version_allowed(&self, endpoint: &Endpoint, version: &str, private: bool) -> bool {
        match endpoint.family() {
            "payment_evaluations" => self
                .evaluation_version(version, Channel::of(version, private))
                .is_some(),
            family => strings(&self.doc["api_versions"][family]["documented"])
                .iter()
                .any(|v| v == version),
        }
    }

    /// The endpoint `method path` names, if the spec (or the report calls) has it.
    pub fn endpoint(&self, method: &str, path: &str) -> Option<Endpoint> {
        match (method, path) {
            ("POST", EVALUATIONS_PATH) => Some(Endpoint::CreateEvaluation),
            ("GET", "/v1/radar/value_lists") => Some(Endpoint::ValueLists),
            ("GET", "/v1/radar/value_list_items") => Some(Endpoint::ValueListItems),
            ("POST", p) => {
                let rest = p.strip_prefix(EVALUATIONS_PATH)?.strip_prefix('/')?;
                let (id, call) = rest.split_once('/')?;
                if id.is_empty() || id.contains('/') {
                    return None;
                }
                match call {
                    "report_outcome" => Some(Endpoint::ReportOutcome {
                        evaluation: id.to_owned(),
                    }),
                    "report" => Some(Endpoint::ReportEvent {
                        evaluation: id.to_owned(),
                    }),
                    _ => None,
                }
            }
            ("GET", p) => {
                let charge = p.strip_prefix("/v1/charges/")?;
                let retrieve = self.doc["operations"]["charge"]
                    .as_array()?
                    .iter()
                    .any(|o| o["name"] == "retrieve" && o["path"] == "/v1/charges/{charge}");
                (retrieve && !charge.is_empty() && !charge.contains('/')).then(|| {
                    Endpoint::RetrieveCharge {
                        charge: charge.to_owned(),
                    }
                })
            }
            _ => None,
        }
    }

    /// The fixture's description of an endpoint's parameters: the create endpoint's and the list
    /// endpoints' from `endpoints`, the reports' from `report_calls`.
    fn params(&self, endpoint: &Endpoint) -> (&Value, Vec<String>) {
        let find = |path: &str| {
            self.doc["endpoints"]
                .as_array()
                .and_then(|a| a.iter().find(|e| e["path"] == path))
        };
        static EMPTY: Value = Value::Null;
        match endpoint {
            Endpoint::CreateEvaluation => {
                let e = find(EVALUATIONS_PATH).expect("the fixture has the create endpoint");
                (&e["form_params"], strings(&e["required_top_level"]))
            }
            Endpoint::ValueLists | Endpoint::ValueListItems => {
                let path = if *endpoint == Endpoint::ValueLists {
                    "/v1/radar/value_lists"
                } else {
                    "/v1/radar/value_list_items"
                };
                let e = find(path).expect("the fixture has the list endpoints");
                (&e["query_params"], Vec::new())
            }
            Endpoint::ReportOutcome { .. } => {
                let r = &self.doc["report_calls"]["outcome"];
                (&r["form_params"], strings(&r["required_top_level"]))
            }
            Endpoint::ReportEvent { .. } => {
                let r = &self.doc["report_calls"]["event"];
                (&r["form_params"], strings(&r["required_top_level"]))
            }
            Endpoint::RetrieveCharge { .. } => (&EMPTY, Vec::new()),
        }
    }

    /// The create parameters only some versions accept (every entry's extras).
    fn versioned_params(&self) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(versions) = self.doc["payment_evaluation_versions"]["versions"].as_object() {
            for facts in versions.values() {
                for p in strings(&facts["create_params_beyond_first_version"]) {
                    if !out.contains(&p) {
                        out.push(p);
                    }
                }
            }
        }
        out
    }
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_resolve_to_their_entry() {
        let s = spec();
        let ga = s
            .evaluation_version("2026-07-29.dahlia", Channel::Ga)
            .unwrap();
        assert_eq!(ga.entry, "2026-07-29.dahlia (ga)");
        assert_eq!(ga.risk_levels.unwrap().len(), 6);
        let between = s
            .evaluation_version("2026-04-10.dahlia", Channel::Ga)
            .unwrap();
        assert_eq!(between.entry, "2026-03-25.dahlia (ga)");
        assert_eq!(between.risk_levels.unwrap().len(), 3);
        let insights = s
            .evaluation_version("2026-01-28.preview", Channel::PublicPreview)
            .unwrap();
        assert_eq!(insights.answer_shape, "insights");
        assert!(
            s.evaluation_version("2025-12-15.clover", Channel::Ga)
                .is_none()
        );
        let private = s
            .evaluation_version("2026-07-29.preview", Channel::PrivatePreview)
            .unwrap();
        assert!(
            private
                .extra_params
                .iter()
                .any(|p| p == "client_device_metadata_details[data][ip]")
        );
    }

    #[test]
    fn endpoints_are_named_by_method_and_path() {
        let s = spec();
        assert_eq!(
            s.endpoint("POST", EVALUATIONS_PATH),
            Some(Endpoint::CreateEvaluation)
        );
        let report = s
            .endpoint("POST", "/v1/radar/payment_evaluations/peval_1/report")
            .unwrap();
        assert!(!report.confirmed());
        assert_eq!(
            s.endpoint("GET", "/v1/charges/ch_1"),
            Some(Endpoint::RetrieveCharge {
                charge: "ch_1".into()
            })
        );
        assert_eq!(s.endpoint("GET", EVALUATIONS_PATH), None);
        assert_eq!(
            s.endpoint("POST", "/v1/radar/payment_evaluations/peval_1/refund"),
            None
        );
    }
}
