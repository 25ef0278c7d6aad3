//! Rules files offline (`riskgate rules check|explain|attributes`, and the backtest's rules): the
//! same compiler and engine as the server, in-process; reports come back as text for the CLI to
//! print.

use std::{
    fmt::Write as _,
    path::{Path, PathBuf},
    sync::Arc,
};

use riskgate::{
    api::validate::{self, FieldViolation},
    config::Config,
    proto::v1::CreatePaymentEvaluationRequest,
};
use riskgate_core::{
    engine::Engine,
    lists::{ListLookup, OfflineLists},
    model::ModelError,
    reference::FxTable,
    rules::{RuleErrors, RuleSet, catalog},
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

/// `riskgate rules check FILE`.
pub fn rules_check(path: &Path) -> Result<String, RulesFileError> {
    let set = compile_file(path, &OfflineLists)?;
    Ok(format!("{}: ok ({} rules)", path.display(), set.len()))
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

/// `riskgate rules explain FILE REQUEST.json`: the decision, then every rule in evaluation order,
/// whether it matched, and each clause's truth with the values it read.
pub fn rules_explain(
    rules: &Path,
    request: &Path,
    config: &Config,
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
    let engine = engine(config, set.clone())?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let (attrs, verdict) = engine.evaluate(&input, now);

    let mut out = String::new();
    let _ = writeln!(
        out,
        "decision: {} (risk score {}, {})",
        verdict.action.as_str(),
        verdict.risk_score,
        verdict.risk_level.as_str()
    );
    match &verdict.matched_rule {
        Some(r) => {
            let _ = writeln!(out, "decided by: {} — {}", r.id, r.predicate);
        }
        None => {
            let _ = writeln!(out, "decided by: no rule matched (continue)");
        }
    }
    let _ = writeln!(
        out,
        "note: saved lists (@alias) are empty here; only the server knows their items\n"
    );
    for ex in set.explain(&attrs) {
        let status = match (ex.matched, ex.decides) {
            (true, true) => "MATCH — decides",
            (true, false) => "match (an earlier rule decided)",
            _ => "no match",
        };
        let _ = writeln!(
            out,
            "line {} [{}] {} → {status}",
            ex.line, ex.id, ex.predicate
        );
        for c in &ex.clauses {
            let values = if c.values.is_empty() {
                String::new()
            } else {
                format!("    ({})", c.values.join(", "))
            };
            let _ = writeln!(
                out,
                "    {:5}  {}{values}",
                if c.result { "true" } else { "false" },
                c.text
            );
        }
    }
    Ok(out)
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
        let err = rules_check(&file.0).unwrap_err();
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
        let err = rules_check(Path::new("/nonexistent/rules.txt")).unwrap_err();
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
        let err = rules_explain(&rules.0, &request.0, &Config::default()).unwrap_err();
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
