//! Hot reload: the rules file and the model file (`model.path`) are re-read on SIGHUP, when either
//! one's modification time or size changes, or on the ReloadRules RPC.
//!
//! A reload compiles the new rules aside and builds a whole new [`Engine`]; only then is it swapped
//! in, atomically ([`arc_swap`]). Requests in flight finish with the engine they started with; no
//! request fails or waits. A file that does not compile is refused: the error is logged, counted
//! (`riskgate_rules_reloads_total{outcome="error"}`) and returned to the RPC caller, and the rules
//! in use keep serving.

use std::{
    path::PathBuf,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, SystemTime},
};

use tokio::sync::watch;

use crate::{
    api::admin::{ReloadError, Reloaded, RulesReloader},
    config::ModelConfig,
    pipeline::EngineHandle,
    telemetry,
};
use riskgate_core::{
    decision::{LevelActions, RiskThresholds},
    engine::Engine,
    lists::ListLookup,
    model::Scorer,
    reference::FxTable,
    rules::RuleSet,
};

/// Everything an [`Engine`] is built from.
#[derive(Clone)]
pub struct EngineParts {
    pub scorer: Arc<dyn Scorer>,
    pub thresholds: RiskThresholds,
    pub actions: LevelActions,
    pub fx: FxTable,
}

impl EngineParts {
    /// A new engine with `rules` (the default rules from `[actions]` when `None`).
    pub fn build(&self, rules: Option<RuleSet>) -> Engine {
        let engine = Engine::new(
            self.scorer.clone(),
            self.thresholds,
            self.actions,
            self.fx.clone(),
        );
        match rules {
            Some(r) => engine.with_rules(Arc::new(r)),
            None => engine,
        }
    }
}

/// Modification time and length: a change of either is a change of the file.
type Stamp = (Option<SystemTime>, u64);

fn stamp(path: &std::path::Path) -> Option<Stamp> {
    let m = std::fs::metadata(path).ok()?;
    Some((m.modified().ok(), m.len()))
}

/// What the last reload read; behind the reload lock.
struct Loaded {
    parts: EngineParts,
    rules: Option<Stamp>,
    model: Option<Stamp>,
}

/// Rebuilds and swaps the engine.
pub struct Reloader {
    handle: EngineHandle,
    path: Option<PathBuf>,
    /// The model to re-read on reload, when it comes from a file.
    model: Option<ModelConfig>,
    lists: Arc<dyn ListLookup + Send + Sync>,
    generation: AtomicU64,
    /// One reload at a time; also what was read last.
    last: Mutex<Loaded>,
    /// Changed stamps seen by the last poll and not read yet ([`Reloader::settled`]).
    pending: Mutex<Option<(Option<Stamp>, Option<Stamp>)>>,
}

impl Reloader {
    /// Loads the rules file (if any) for the first time. Errors are start-up errors.
    pub fn start(
        parts: EngineParts,
        path: Option<PathBuf>,
        model: Option<ModelConfig>,
        lists: Arc<dyn ListLookup + Send + Sync>,
    ) -> Result<(Self, EngineHandle), ReloadError> {
        let model = model.filter(|m| m.path.is_some());
        let model_stamp = model.as_ref().and_then(|m| stamp(m.path.as_ref()?));
        let (rules, st) = match &path {
            Some(p) => {
                let st = stamp(p);
                (Some(compile(p, &*lists, &parts.fx)?), st)
            }
            None => (None, None),
        };
        let engine = parts.build(rules);
        metrics::gauge!(telemetry::RULES_LOADED).set(engine.rules().len() as f64);
        let handle: EngineHandle = Arc::new(arc_swap::ArcSwap::from_pointee(engine));
        Ok((
            Self {
                handle: handle.clone(),
                path,
                model,
                lists,
                generation: AtomicU64::new(0),
                last: Mutex::new(Loaded {
                    parts,
                    rules: st,
                    model: model_stamp,
                }),
                pending: Mutex::new(None),
            },
            handle,
        ))
    }

    /// Reloads if the rules or the model file changed since they were last read, and the change
    /// has settled ([`Reloader::settled`]).
    pub fn reload_if_changed(&self) -> Option<Result<Reloaded, ReloadError>> {
        let rules_now = self.path.as_deref().and_then(stamp);
        let model_now = self.model_path().and_then(stamp);
        let changed = {
            let last = self.last.lock().unwrap_or_else(|p| p.into_inner());
            (rules_now.is_some() && rules_now != last.rules)
                || (model_now.is_some() && model_now != last.model)
        };
        (changed && self.settled((rules_now, model_now))).then(|| self.reload("file"))
    }

    /// Whether changed files look the same as at the previous poll. A file being written in place
    /// (truncated, then filled) is not read half-written — an empty or cut rules file can compile
    /// and would replace the rules in use — but once it has stopped changing for one poll
    /// interval. Renaming a finished file into place is still the safe way to update it.
    fn settled(&self, now: (Option<Stamp>, Option<Stamp>)) -> bool {
        let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        if *pending == Some(now) {
            *pending = None;
            true
        } else {
            *pending = Some(now);
            false
        }
    }

    fn model_path(&self) -> Option<&std::path::Path> {
        self.model.as_ref()?.path.as_deref()
    }

    /// Polls the file every `interval` until shutdown.
    pub async fn watch(self: Arc<Self>, interval: Duration, mut stop: watch::Receiver<bool>) {
        let mut tick = tokio::time::interval(interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = stop.wait_for(|s| *s) => return,
            }
            let me = self.clone();
            let _ = tokio::task::spawn_blocking(move || me.reload_if_changed()).await;
        }
    }

    /// Reloads on every SIGHUP until shutdown.
    pub async fn on_sighup(self: Arc<Self>, mut stop: watch::Receiver<bool>) {
        use tokio::signal::unix::{SignalKind, signal};
        let mut hup = match signal(SignalKind::hangup()) {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGHUP; reload by file change or RPC");
                return;
            }
        };
        loop {
            tokio::select! {
                got = hup.recv() => if got.is_none() { return },
                _ = stop.wait_for(|s| *s) => return,
            }
            let me = self.clone();
            let _ = tokio::task::spawn_blocking(move || me.reload("signal")).await;
        }
    }
}

fn compile(
    path: &std::path::Path,
    lists: &dyn ListLookup,
    fx: &FxTable,
) -> Result<RuleSet, ReloadError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| ReloadError::Read(format!("cannot read {}: {e}", path.display())))?;
    let set = RuleSet::compile_with_fx(&text, lists, fx).map_err(|errors| {
        ReloadError::Compile(
            errors
                .0
                .iter()
                .map(|e| format!("{}:{e}", path.display()))
                .collect::<Vec<_>>()
                .join("\n"),
        )
    })?;
    for w in set.warnings() {
        tracing::warn!(
            file = %path.display(),
            line = w.line,
            column = w.column,
            "rule loads with a warning: {}",
            w.message
        );
    }
    for cell in set.lists() {
        if cell.item_type().is_none() {
            tracing::warn!(
                list = cell.alias(),
                "rules use a list that does not exist yet; they match once it is created"
            );
        }
    }
    Ok(set)
}

impl RulesReloader for Reloader {
    fn reload(&self, trigger: &'static str) -> Result<Reloaded, ReloadError> {
        let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
        if self.path.is_none() && self.model.is_none() {
            return Err(ReloadError::NoRulesFile);
        }
        let rules_stamp = self.path.as_deref().and_then(stamp);
        let model_stamp = self.model_path().and_then(stamp);
        // Everything is loaded aside first; nothing is swapped unless all of it loads.
        let result = (|| {
            let rules = match &self.path {
                Some(path) => Some(compile(path, &*self.lists, &last.parts.fx)?),
                None => None,
            };
            let scorer = match &self.model {
                Some(model) => Some(
                    match crate::faults::error(crate::faults::MODEL_RELOAD) {
                        Some(injected) => Err(injected),
                        None => crate::scoring::configured_scorer(model).map_err(|e| e.to_string()),
                    }
                    .map_err(ReloadError::Model)?,
                ),
                None => None,
            };
            Ok::<_, ReloadError>((rules, scorer))
        })()
        .map(|(rules, scorer)| {
            if let Some(scorer) = scorer {
                let old = last.parts.scorer.version().to_owned();
                if old != scorer.version() {
                    metrics::gauge!(telemetry::MODEL_INFO, "model" => old).set(0.0);
                }
                metrics::gauge!(telemetry::MODEL_INFO, "model" => scorer.version().to_owned())
                    .set(1.0);
                last.parts.scorer = scorer;
            }
            let n = rules.as_ref().map_or(0, RuleSet::len);
            let engine = last.parts.build(rules);
            let n = if self.path.is_some() {
                n
            } else {
                engine.rules().len()
            };
            // The swap itself is one atomic pointer store.
            self.handle.store(Arc::new(engine));
            n
        });
        // Remember the files as read even when they failed, so a broken file is reported once per
        // change rather than on every poll.
        last.rules = rules_stamp;
        last.model = model_stamp;
        drop(last);
        let outcome = if result.is_ok() { "ok" } else { "error" };
        metrics::counter!(telemetry::RULES_RELOADS, "trigger" => trigger, "outcome" => outcome)
            .increment(1);
        let path = self
            .path
            .as_deref()
            .or(self.model_path())
            .expect("checked above");
        match result {
            Ok(rules) => {
                let generation = self.generation.fetch_add(1, Ordering::Relaxed) + 1;
                metrics::gauge!(telemetry::RULES_LOADED).set(rules as f64);
                tracing::info!(trigger, rules, generation, path = %path.display(), "rules reloaded");
                Ok(Reloaded {
                    path: path.display().to_string(),
                    rules,
                    generation,
                })
            }
            Err(e) => {
                tracing::error!(trigger, error = %e, "rules reload refused; the rules in use keep serving");
                Err(e)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use riskgate_core::{lists::OfflineLists, model::default_scorer};

    #[test]
    fn a_file_being_written_is_read_once_it_has_settled() {
        let dir = std::env::temp_dir().join(format!(
            "riskgate-reload-{}-{}",
            std::process::id(),
            fastrand::u64(..)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("rules.txt");
        std::fs::write(&path, "Block if :risk_level: = 'highest'\n").unwrap();
        let parts = EngineParts {
            scorer: default_scorer(),
            thresholds: RiskThresholds::default(),
            actions: LevelActions::default(),
            fx: FxTable::default(),
        };
        let (reloader, handle) =
            Reloader::start(parts, Some(path.clone()), None, Arc::new(OfflineLists)).unwrap();
        assert!(reloader.reload_if_changed().is_none(), "nothing changed");
        // Truncated mid-write: seen once, not read.
        std::fs::write(&path, "").unwrap();
        assert!(reloader.reload_if_changed().is_none());
        assert_eq!(handle.load().rules().len(), 1);
        // Still changing at the next poll: still not read.
        std::fs::write(&path, "Review if :amount_in_usd: > 1\n").unwrap();
        assert!(reloader.reload_if_changed().is_none());
        // Unchanged for a poll: read.
        let reloaded = reloader.reload_if_changed().unwrap().unwrap();
        assert_eq!(reloaded.rules, 1);
        assert!(reloader.reload_if_changed().is_none());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
