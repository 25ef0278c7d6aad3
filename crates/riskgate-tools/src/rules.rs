//! Rules files offline (`riskgate rules check|explain|attributes`, and the backtest's rules): the
//! same compiler and engine as the server, in-process; reports come back as text for the CLI to
//! print.

use std::{
    fmt::Write as _,
    path::{Path, PathBuf},
    sync::Arc,
};

use riskgate::enrich::ipfacts::IpFactsDatabases;
use riskgate::{
    api::validate::{self, FieldViolation},
    config::Config,
    proto::v1::CreatePaymentEvaluationRequest,
};
use riskgate_core::{
    attributes::{Attr, Value},
    decision::Action,
    engine::{Engine, MatchedRule, ScoreSource},
    lists::{ListLookup, OfflineLists},
    model::ModelError,
    reference::FxTable,
    rules::{RuleErrors, RuleSet, catalog},
    signals::Signals,
};

/// Why a rules file (or the request explained against it) could not be used.
#[derive(Debug, thiserror::Error)]
pub enum RulesFileError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// Every mistake in the file: `FILE:line:column: message`, then the line and a caret.
    #[error("{}", compile_report(.path, .errors))]
    Compile { path: PathBuf, errors: RuleErrors },
    /// The request file is not a request's JSON.
    #[error("{path}: {source}")]
    Request {
        path: PathBuf,
        source: serde_json::Error,
    },
    /// The request fails validation, one `field: description` a line.
    #[error("{path}: invalid request{}", violation_lines(.violations))]
    InvalidRequest {
        path: PathBuf,
        violations: Vec<FieldViolation>,
    },
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// A `--set NAME=VALUE` that names no attribute or gives a value of the wrong type.
    #[error("--set {0}")]
    Assumption(String),
}

/// Why the configuration's engine could not be built.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// An FX rate of the configuration.
    #[error("{0}")]
    Fx(String),
    /// The configured model.
    #[error(transparent)]
    Model(#[from] ModelError),
    /// A configured GeoIP database.
    #[error("{0}")]
    GeoIp(String),
}

fn compile_report(path: &Path, errors: &RuleErrors) -> String {
    errors
        .0
        .iter()
        .map(|e| format!("{}:{e}", path.display()))
        .collect::<Vec<_>>()
        .join("\n")
}

fn violation_lines(violations: &[FieldViolation]) -> String {
    let mut m = String::new();
    for v in violations {
        let _ = write!(m, "\n  {}: {}", v.field, v.description);
    }
    m
}

/// Reads a file, naming it in the error.
pub fn read(path: &Path) -> Result<String, RulesFileError> {
    std::fs::read_to_string(path).map_err(|source| RulesFileError::Read {
        path: path.to_owned(),
        source,
    })
}

/// Compiles a rules file; the error lists every mistake as `FILE:line:column: message` with the
/// line and a caret.
pub fn compile_file(path: &Path, lists: &dyn ListLookup) -> Result<RuleSet, RulesFileError> {
    compile_file_with_fx(path, lists, &FxTable::default())
}

/// [`compile_file`] with the configuration's FX rates (for `:amount_in_<currency>:`).
pub fn compile_file_with_fx(
    path: &Path,
    lists: &dyn ListLookup,
    fx: &FxTable,
) -> Result<RuleSet, RulesFileError> {
    let text = read(path)?;
    RuleSet::compile_with_fx(&text, lists, fx).map_err(|errors| RulesFileError::Compile {
        path: path.to_owned(),
        errors,
    })
}

/// `riskgate rules check FILE [--config FILE]`: the rules compile (with the configuration's FX
/// rates), then the warnings of rules that load but cannot mean what they say, then notes on the
/// attributes the rules read that this configuration or the request may not provide (a GeoIP
/// database that is not configured, a request field the orchestrator must send).
pub fn rules_check(path: &Path, config: &Config) -> Result<String, RulesFileError> {
    let set = compile_file_with_fx(path, &OfflineLists, &fx(config)?)?;
    let mut out = format!("{}: ok ({} rules)", path.display(), set.len());
    for w in set.warnings() {
        let _ = write!(out, "\n{}:{}", path.display(), warning(w));
    }
    for note in super::rules_notes::notes(&set, config) {
        let _ = write!(out, "\n{}: note: {note}", path.display());
    }
    Ok(out)
}

/// A warning as `line:column: warning: message`, the line and a caret.
fn warning(w: &riskgate_core::rules::RuleWarning) -> String {
    let mut w = w.clone();
    w.message = format!("warning: {}", w.message);
    w.to_string()
}

/// `riskgate rules attributes`.
pub fn rules_attributes() -> String {
    catalog::attributes_markdown()
}

/// The FX table a configuration describes.
pub fn fx(config: &Config) -> Result<FxTable, EngineError> {
    FxTable::new(config.fx.iter().map(|(k, v)| (k.as_str(), *v))).map_err(EngineError::Fx)
}

/// The engine a configuration describes (its model, as the server loads it), with `rules`.
pub fn engine(config: &Config, rules: Arc<RuleSet>) -> Result<Engine, EngineError> {
    let fx = fx(config)?;
    let scorer = riskgate::scoring::configured_scorer(&config.model)?;
    Ok(Engine::new(scorer, config.risk, config.actions, fx).with_rules(rules))
}

/// The engine a configuration describes when it names no rules file: its model and the default
/// rules, as the server builds it.
pub fn default_engine(config: &Config) -> Result<Engine, EngineError> {
    let fx = fx(config)?;
    let scorer = riskgate::scoring::configured_scorer(&config.model)?;
    Ok(Engine::new(scorer, config.risk, config.actions, fx))
}

/// `riskgate rules explain FILE REQUEST.json [--set NAME=VALUE …]`: the decision, then every rule
/// in evaluation order with the value of its condition (true, false or missing) and what the match
/// means, and each clause's value with the values it read. `assume` sets attributes the offline
/// evaluation cannot know (velocity, GeoIP, the score: `risk_level=highest`) after scoring.
pub fn rules_explain(
    rules: &Path,
    request: &Path,
    config: &Config,
    assume: &[String],
) -> Result<String, RulesFileError> {
    let set = Arc::new(compile_file_with_fx(rules, &OfflineLists, &fx(config)?)?);
    let text = read(request)?;
    let req: CreatePaymentEvaluationRequest =
        serde_json::from_str(&text).map_err(|source| RulesFileError::Request {
            path: request.to_owned(),
            source,
        })?;
    let input = validate::payment_evaluation(&req).map_err(|violations| {
        RulesFileError::InvalidRequest {
            path: request.to_owned(),
            violations,
        }
    })?;
    let assumed = super::rules_notes::assumptions(assume)?;
    let engine = engine(config, set.clone())?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    // What the configured GeoIP databases know of the request's IP address (riskgate's state is
    // not read offline).
    let signals = geoip_signals(config, input.device.ip)?;
    let mut attrs = engine.attributes(&input, &signals, now);
    let score = engine.score(&attrs);
    let mut verdict = engine.decide(&mut attrs, score, ScoreSource::LocalModel);
    if !assumed.is_empty() {
        for (attr, value) in &assumed {
            attrs.set(*attr, value.clone());
        }
        // The decision again, with the assumed values (the score's too).
        let rule = set.evaluate(&attrs);
        verdict.action = rule.map_or(Action::Continue, |r| r.action);
        verdict.matched_rule = rule.map(|r| MatchedRule::new(&set, r));
    }

    let mut out = String::new();
    let score = match (attrs.number(Attr::RiskScore), attrs.text(Attr::RiskLevel)) {
        (Some(s), Some(l)) => format!("risk score {s}, {l}"),
        _ => format!(
            "risk score {}, {}",
            verdict.risk_score,
            verdict.risk_level.as_str()
        ),
    };
    let _ = writeln!(out, "decision: {} ({score})", verdict.action.as_str());
    match &verdict.matched_rule {
        Some(r) => {
            let _ = writeln!(out, "decided by: {} — {}", r.id(), r.predicate());
        }
        None => {
            let _ = writeln!(out, "decided by: no rule matched (continue)");
        }
    }
    for (attr, value) in &assumed {
        let _ = writeln!(out, "assumed: :{}: = {}", attr.name(), show(value));
    }
    let _ = writeln!(
        out,
        "note: saved lists (@alias) are empty here, and so is riskgate's state (velocity, outcomes); \
         only the server knows them\n"
    );
    for ex in set.explain(&attrs) {
        let _ = writeln!(
            out,
            "line {} [{}] {} → {}: {}",
            ex.line, ex.id, ex.predicate, ex.result, ex.note
        );
        for c in &ex.clauses {
            let values = if c.values.is_empty() {
                String::new()
            } else {
                format!("    ({})", c.values.join(", "))
            };
            let _ = writeln!(out, "    {:7}  {}{values}", c.result.as_str(), c.text);
        }
    }
    Ok(out)
}

/// The IP facts of the configured GeoIP databases for `ip`.
fn geoip_signals(config: &Config, ip: Option<std::net::IpAddr>) -> Result<Signals, EngineError> {
    let e = &config.enrichment;
    let country_db = riskgate::enrich::geo_from_config(e)
        .map_err(|err| EngineError::GeoIp(format!("enrichment.geoip_mmdb_path: {err}")))?;
    let facts =
        IpFactsDatabases::from_config(e).map_err(|err| EngineError::GeoIp(err.to_string()))?;
    Ok(Signals {
        ip_country: ip.and_then(|ip| match &country_db {
            Some(db) => db.country(ip),
            None => facts.country(ip),
        }),
        geo: facts.facts(ip),
        ..Signals::default()
    })
}

fn show(v: &Value<'_>) -> String {
    match v {
        Value::Number(n) => n.to_string(),
        Value::Text(t) => format!("'{t}'"),
        Value::Bool(b) => b.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A file under the temp directory, removed on drop.
    struct Temp(PathBuf);

    impl Temp {
        fn new(name: &str, text: &str) -> Self {
            let path = std::env::temp_dir().join(format!(
                "riskgate-tools-rules-{}-{}-{name}",
                std::process::id(),
                fastrand::u64(..)
            ));
            std::fs::write(&path, text).unwrap();
            Self(path)
        }
    }

    impl Drop for Temp {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }

    #[test]
    fn compile_errors_name_the_file_line_and_column_of_each_mistake() {
        let file = Temp::new("bad.txt", "block if :amount: >\nreview if :nope: = 1\n");
        let err = rules_check(&file.0, &Config::default()).unwrap_err();
        let RulesFileError::Compile { errors, .. } = &err else {
            panic!("{err:?}");
        };
        assert_eq!(errors.0.len(), 2);
        let text = err.to_string();
        let path = file.0.display();
        assert!(text.starts_with(&format!("{path}:1:20: ")), "{text}");
        assert!(text.contains(&format!("\n{path}:2:11: ")), "{text}");
    }

    #[test]
    fn a_missing_file_is_a_read_error() {
        let err = rules_check(Path::new("/nonexistent/rules.txt"), &Config::default()).unwrap_err();
        assert!(matches!(err, RulesFileError::Read { .. }), "{err:?}");
        assert!(
            err.to_string()
                .starts_with("cannot read /nonexistent/rules.txt: "),
            "{err}"
        );
    }

    #[test]
    fn an_invalid_request_lists_each_violation_on_its_own_line() {
        let rules = Temp::new("rules.txt", "block if :amount: > 100\n");
        let request = Temp::new("request.json", r#"{"payment_details": {"amount": 100}}"#);
        let err = rules_explain(&rules.0, &request.0, &Config::default(), &[]).unwrap_err();
        let RulesFileError::InvalidRequest { violations, .. } = &err else {
            panic!("{err:?}");
        };
        let text = err.to_string();
        let mut lines = text.lines();
        assert_eq!(
            lines.next(),
            Some(format!("{}: invalid request", request.0.display()).as_str())
        );
        assert_eq!(lines.count(), violations.len());
    }
}
