//! Rules files offline (`riskgate rules check|explain|attributes`, and the backtest's rules): the
//! same compiler and engine as the server, in-process; reports come back as text for the CLI to
//! print.

use std::{fmt::Write as _, path::Path, sync::Arc};

use riskgate::{api::validate, config::Config, proto::v1::CreatePaymentEvaluationRequest};
use riskgate_core::{
    engine::Engine,
    lists::{ListLookup, OfflineLists},
    reference::FxTable,
    rules::{RuleSet, catalog},
};

/// Reads a file, naming it in the error.
pub fn read(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

/// Compiles a rules file; the error lists every mistake as `FILE:line:column: message` with the
/// line and a caret.
pub fn compile_file(path: &Path, lists: &dyn ListLookup) -> Result<RuleSet, String> {
    compile_file_with_fx(path, lists, &FxTable::default())
}

/// [`compile_file`] with the configuration's FX rates (for `:amount_in_<currency>:`).
pub fn compile_file_with_fx(
    path: &Path,
    lists: &dyn ListLookup,
    fx: &FxTable,
) -> Result<RuleSet, String> {
    let text = read(path)?;
    RuleSet::compile_with_fx(&text, lists, fx).map_err(|errors| {
        errors
            .0
            .iter()
            .map(|e| format!("{}:{e}", path.display()))
            .collect::<Vec<_>>()
            .join("\n")
    })
}

/// `riskgate rules check FILE`.
pub fn rules_check(path: &Path) -> Result<String, String> {
    let set = compile_file(path, &OfflineLists)?;
    Ok(format!("{}: ok ({} rules)", path.display(), set.len()))
}

/// `riskgate rules attributes`.
pub fn rules_attributes() -> String {
    catalog::attributes_markdown()
}

/// The FX table a configuration describes.
pub fn fx(config: &Config) -> Result<FxTable, String> {
    FxTable::new(config.fx.iter().map(|(k, v)| (k.as_str(), *v)))
}

/// The engine a configuration describes (its model, as the server loads it), with `rules`.
pub fn engine(config: &Config, rules: Arc<RuleSet>) -> Result<Engine, String> {
    let fx = fx(config)?;
    let scorer = riskgate::scoring::configured_scorer(&config.model).map_err(|e| e.to_string())?;
    Ok(Engine::new(scorer, config.risk, config.actions, fx).with_rules(rules))
}

/// `riskgate rules explain FILE REQUEST.json`: the decision, then every rule in evaluation order,
/// whether it matched, and each clause's truth with the values it read.
pub fn rules_explain(rules: &Path, request: &Path, config: &Config) -> Result<String, String> {
    let set = Arc::new(compile_file_with_fx(rules, &OfflineLists, &fx(config)?)?);
    let text = read(request)?;
    let req: CreatePaymentEvaluationRequest =
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", request.display()))?;
    let input = validate::payment_evaluation(&req).map_err(|violations| {
        let mut m = format!("{}: invalid request", request.display());
        for v in violations {
            let _ = write!(m, "\n  {}: {}", v.field, v.description);
        }
        m
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
                c.result.as_str(),
                c.text
            );
        }
    }
    Ok(out)
}
