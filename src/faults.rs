//! Fault injection points on the paths that depend on something outside the process: the state
//! store (Redis), the Stripe upstream, the lists journal on disk and the model file.
//!
//! They are [`fail`] points, compiled in only with the `failpoints` feature (tests always have it,
//! through a dev-dependency; release builds never do, and then every check here is `None` and
//! optimizes away). A test arms a point with `fail::cfg(NAME, ACTION)` inside a
//! `fail::FailScenario`:
//!
//! - `return` (or `return(any text)`): the call fails as that dependency would fail;
//! - `return(N)`, N a number: the call is held for N ms of *tokio* time first, then goes on
//!   (async points only; `fail`'s own `sleep(N)` / `delay(N)` would block a runtime thread, and a
//!   blocked thread cannot be timed out);
//! - `panic`, `N%…`, `N*…` as `fail` defines them.
//!
//! The names are listed in [`ALL`] and in the README ("Hardening").

use std::time::Duration;

/// The state store's `lookup_and_record` (the evaluation path), on the primary backend.
pub const STATE_LOOKUP: &str = "state.lookup";
/// The state store's writes after the decision: `count`, the set-up session, and the Stripe
/// reference of a Stripe-scored evaluation.
pub const STATE_FINISH: &str = "state.finish";
/// The state store's `report_outcome`, and the Stripe-reference read that forwarding needs.
pub const STATE_REPORT: &str = "state.report";
/// The state store's Radar Session reads and writes.
pub const STATE_SESSIONS: &str = "state.sessions";
/// One HTTP attempt to Stripe (evaluations, outcome reports, value list sync).
pub const STRIPE_SEND: &str = "stripe.send";
/// The lists journal: before the line is written.
pub const JOURNAL_APPEND: &str = "lists.journal.append";
/// The lists journal: after the line is written, before it is fsynced.
pub const JOURNAL_FSYNC: &str = "lists.journal.fsync";
/// The lists journal compaction: after the snapshot is written, before it replaces the journal.
pub const JOURNAL_COMPACT: &str = "lists.journal.compact";
/// A reload, after the new rules compiled, before the model file is loaded.
pub const MODEL_RELOAD: &str = "model.reload";

/// Every point, for documentation and tests.
pub const ALL: &[&str] = &[
    STATE_LOOKUP,
    STATE_FINISH,
    STATE_REPORT,
    STATE_SESSIONS,
    STRIPE_SEND,
    JOURNAL_APPEND,
    JOURNAL_FSYNC,
    JOURNAL_COMPACT,
    MODEL_RELOAD,
];

/// What an armed point asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Fail the call; the text says it was injected and where.
    Error(String),
    /// Hold the call this long, then let it go on.
    Delay(Duration),
}

/// The fault armed at `point`, if any (always `None` without the `failpoints` feature).
#[cfg_attr(not(feature = "failpoints"), allow(unused_variables))]
pub fn armed(point: &'static str) -> Option<Fault> {
    fail::fail_point!(point, |arg: Option<String>| Some(parse(point, arg)));
    None
}

#[cfg_attr(not(feature = "failpoints"), allow(dead_code))]
fn parse(point: &'static str, arg: Option<String>) -> Fault {
    match arg.as_deref().map(str::trim).map(str::parse::<u64>) {
        Some(Ok(ms)) => Fault::Delay(Duration::from_millis(ms)),
        _ => Fault::Error(format!("injected fault at {point}")),
    }
}

/// For a synchronous point: the injected error, if one is armed (a delay is not supported there
/// and is ignored).
pub fn error(point: &'static str) -> Option<String> {
    match armed(point)? {
        Fault::Error(e) => Some(e),
        Fault::Delay(_) => None,
    }
}

/// An error injected at a fault point (its armed message).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InjectedFault(pub String);

/// For an async point: waits out an armed delay, or returns the armed error.
pub async fn inject(point: &'static str) -> Result<(), InjectedFault> {
    match armed(point) {
        None => Ok(()),
        Some(Fault::Delay(d)) => {
            tokio::time::sleep(d).await;
            Ok(())
        }
        Some(Fault::Error(e)) => Err(InjectedFault(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_parse_to_errors_and_delays() {
        assert_eq!(
            parse(STRIPE_SEND, Some("250".into())),
            Fault::Delay(Duration::from_millis(250))
        );
        assert_eq!(
            parse(STRIPE_SEND, None),
            Fault::Error("injected fault at stripe.send".into())
        );
        assert!(matches!(
            parse(STRIPE_SEND, Some("boom".into())),
            Fault::Error(_)
        ));
        let mut names = ALL.to_vec();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), ALL.len(), "point names are unique");
    }
}
