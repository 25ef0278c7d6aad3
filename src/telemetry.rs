//! Metric names and the Prometheus recorder. (The log subscriber is the `riskgate` command's: a
//! library does not install one.)
//!
//! Names follow Prometheus conventions (`riskgate_…_total`, base units); every label takes values from
//! a small fixed set (methods, gRPC codes, stages, actions) — never ids, emails or IPs.

use std::{sync::OnceLock, time::Duration};

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

/// gRPC calls by `method` and `code` (RED: rate and errors).
pub const GRPC_REQUESTS: &str = "riskgate_grpc_requests_total";
/// gRPC call duration by `method` (RED: duration), seconds, measured around the whole handler.
pub const GRPC_DURATION: &str = "riskgate_grpc_request_duration_seconds";
/// gRPC calls in flight.
pub const GRPC_IN_FLIGHT: &str = "riskgate_grpc_requests_in_flight";
/// Calls refused with RESOURCE_EXHAUSTED, by `reason` (`cpu`, `concurrency_limit`).
pub const LOAD_SHED: &str = "riskgate_load_shed_total";
/// Share of the last sampling interval (25 ms) the runtime's workers were busy, 0–1.
pub const RUNTIME_BUSY: &str = "riskgate_runtime_busy_ratio";
/// Share of riskgate calls admitted by the CPU governor, 0–1 (1 unless the CPU is saturated).
pub const ADMITTED_SHARE: &str = "riskgate_cpu_admitted_ratio";
/// Duration of each pipeline stage by `stage` (validate, enrich, attributes, score, decide), seconds.
pub const STAGE_DURATION: &str = "riskgate_stage_duration_seconds";
/// Decisions by `action`, `source` and `risk_level`.
pub const DECISIONS: &str = "riskgate_decisions_total";
/// Idempotency look-ups by `outcome`: `new`, `replay`, `conflict`.
pub const IDEMPOTENCY: &str = "riskgate_idempotency_requests_total";
/// Idempotency records dropped before their retention ended, for lack of room.
pub const IDEMPOTENCY_EVICTIONS: &str = "riskgate_idempotency_evictions_total";
/// Calls refused for a missing or wrong bearer token.
pub const AUTH_FAILURES: &str = "riskgate_auth_failures_total";
/// TLS certificate reloads by `outcome` (`success`, `error`).
pub const TLS_RELOADS: &str = "riskgate_tls_reloads_total";
/// TLS handshakes that failed or timed out.
pub const TLS_HANDSHAKE_FAILURES: &str = "riskgate_tls_handshake_failures_total";
/// Rules reloads by `trigger` (`signal`, `file`, `rpc`) and `outcome` (`ok`, `error`).
pub const RULES_RELOADS: &str = "riskgate_rules_reloads_total";
/// Rules in the rule set in use.
pub const RULES_LOADED: &str = "riskgate_rules_loaded";
/// Audit log lines dropped because the writer fell behind or failed.
pub const AUDIT_DROPPED: &str = "riskgate_audit_dropped_total";
/// Always 1; the `model` label names the loaded model's version (one series per process).
pub const MODEL_INFO: &str = "riskgate_model_info";
/// Radar Session look-ups by `outcome`: `hit`, `miss`.
pub const RADAR_SESSION_LOOKUPS: &str = "riskgate_radar_session_lookups_total";
/// Radar Sessions dropped by `cause`: `size` (over the entry cap) or `expired` (TTL).
pub const RADAR_SESSION_EVICTIONS: &str = "riskgate_radar_session_evictions_total";
/// Radar Sessions recorded with RecordRadarSession.
pub const RADAR_SESSIONS_RECORDED: &str = "riskgate_radar_sessions_recorded_total";
/// Velocity keys removed after being idle for `enrichment.velocity_idle_expiry_secs`.
pub const VELOCITY_KEYS_EXPIRED: &str = "riskgate_velocity_keys_expired_total";
/// Payment outcomes reported, by `outcome` and `result` (`recorded`, `duplicate`, `not_found`).
pub const PAYMENT_OUTCOMES: &str = "riskgate_payment_outcomes_total";
/// Enrichment steps that fell back because their state store failed, by `part`.
pub const ENRICHMENT_DEGRADED: &str = "riskgate_enrichment_degraded_total";
/// Always 1; labels carry the version and the model.
pub const BUILD_INFO: &str = "riskgate_build_info";

/// CPU time (user + system) of the process, seconds (standard Prometheus process metric; rendered by
/// [`process_metrics`] on each scrape, not through the recorder).
pub const PROCESS_CPU: &str = "process_cpu_seconds_total";
/// Resident memory of the process, bytes (standard Prometheus process metric, Linux only).
pub const PROCESS_RESIDENT_MEMORY: &str = "process_resident_memory_bytes";
/// Upstream (Stripe) calls by `upstream` and `outcome` (`ok`, or the failure kind).
pub const UPSTREAM_CALLS: &str = "riskgate_upstream_calls_total";
/// Upstream attempts that were retries, by `upstream`.
pub const UPSTREAM_RETRIES: &str = "riskgate_upstream_retries_total";
/// Upstream call duration (all attempts), seconds, by `upstream`.
pub const UPSTREAM_DURATION: &str = "riskgate_upstream_call_duration_seconds";
/// Circuit breaker state by `upstream`: 0 closed, 1 open, 2 half-open.
pub const UPSTREAM_BREAKER_STATE: &str = "riskgate_upstream_breaker_state";
/// Shadow comparisons by `agreement` (`agree`, `disagree`, `shadow_failed`): whether the shadow
/// scorer recommended the same action as the answer.
pub const SHADOW_COMPARISONS: &str = "riskgate_shadow_comparisons_total";
/// Absolute difference between the answering and the shadow risk score (0–100 points).
pub const SHADOW_SCORE_DIFFERENCE: &str = "riskgate_shadow_score_difference";
/// Evaluations nothing could score, answered by the fail policy (`policy`: open, closed, review).
pub const UNSCORED: &str = "riskgate_unscored_evaluations_total";
/// Stripe webhooks by `outcome` (`accepted`, `duplicate`, `bad_signature`, `bad_payload`) and
/// `event` (handled event types, else `other`).
pub const WEBHOOKS: &str = "riskgate_stripe_webhooks_total";
/// Values added to block lists by Stripe webhooks, by `list`.
pub const WEBHOOK_BLOCKED: &str = "riskgate_webhook_block_list_additions_total";
/// Outcomes forwarded to Stripe, by `result`: `ok`, `rejected` (Stripe refused it), `error`
/// (failed within the retry policy and budget), `breaker_open`, `dropped` (queue full).
pub const UPSTREAM_OUTCOME_REPORTS: &str = "riskgate_upstream_outcome_reports_total";
/// Stripe value list sync runs, by `outcome` (`ok`, `error`).
pub const LIST_SYNC_RUNS: &str = "riskgate_stripe_list_sync_runs_total";
/// Stripe value lists not mirrored, by `reason` (`alias_conflict`, `unsupported_type`,
/// `invalid_item`).
pub const LIST_SYNC_SKIPPED: &str = "riskgate_stripe_list_sync_skipped_total";
/// Unix time of the last successful Stripe value list sync, seconds.
pub const LIST_SYNC_LAST_SUCCESS: &str = "riskgate_stripe_list_sync_last_success_timestamp_seconds";
/// Stripe value lists mirrored now.
pub const LIST_SYNC_LISTS: &str = "riskgate_stripe_synced_lists";
/// Gauge: seconds since this replica's value lists were last known to match Redis (Redis mode).
pub const VALUE_LISTS_SYNC_AGE: &str = "riskgate_value_lists_sync_age_seconds";
/// Counter: value list snapshots loaded from Redis, by reason (`start`, `gap`, `reconnect`).
pub const VALUE_LISTS_SNAPSHOTS: &str = "riskgate_value_lists_snapshot_loads_total";

// === hardening (issue 18, harden-core): memory bounds of in-process state ===

/// Counter: entries of an in-process store dropped for room before they expired, by `store`
/// (`velocity`, `radar_sessions`, `payment_method_sessions`) and `cause` (`size`).
pub const STATE_EVICTIONS: &str = "riskgate_state_evictions_total";
/// Gauge: bytes of an in-process store (tables, queue and records), by `store` (`velocity`),
/// refreshed after evictions and by its sweep.
pub const STATE_BYTES: &str = "riskgate_state_bytes";
// === reviews (issue 19) ===
/// Gauge: open reviews (in Redis mode the shared queue, so every replica reports the same value:
/// aggregate with `max`).
pub const REVIEWS_OPEN: &str = "riskgate_reviews_open";
/// Gauge: age of the oldest open review, seconds (0 when none is open).
pub const REVIEWS_OLDEST_AGE: &str = "riskgate_reviews_oldest_open_age_seconds";
/// Gauge: open reviews older than `reviews.sla_secs`.
pub const REVIEWS_OVER_SLA: &str = "riskgate_reviews_over_sla";
/// Gauge: `reviews.sla_secs`, for dashboards.
pub const REVIEWS_SLA: &str = "riskgate_reviews_sla_seconds";
/// Reviews opened, by `reason` (`rule`, `model`, `manual`).
pub const REVIEWS_OPENED: &str = "riskgate_reviews_opened_total";
/// REVIEW decisions that opened no review, by `cause` (`queue_full`, `overloaded`,
/// `store_error`); the evaluation is answered all the same.
pub const REVIEWS_NOT_OPENED: &str = "riskgate_reviews_not_opened_total";
/// Reviews closed, by `reason` (`approved`, `refunded_as_fraud` …).
pub const REVIEWS_CLOSED: &str = "riskgate_reviews_closed_total";
/// How long a review waited before it closed, seconds.
pub const REVIEW_AGE_AT_CLOSE: &str = "riskgate_review_age_at_close_seconds";
/// What a verdict fed back, by `step` (`outcome`, `block_list`) and `result` (`recorded`,
/// `duplicate`, `not_found`, `error`).
pub const REVIEW_FEEDBACK: &str = "riskgate_review_feedback_total";

/// Buckets of the review age at close: a minute to a week (analysts work in minutes to hours;
/// an SLA is usually hours; a forgotten review takes days).
pub const REVIEW_AGE_BUCKETS: &[f64] = &[
    60.0, 300.0, 900.0, 1800.0, 3600.0, 7200.0, 14_400.0, 28_800.0, 86_400.0, 172_800.0, 604_800.0,
];

// === Outcome memory and Stripe webhook events (issue 15) ===
/// Labels learned by outcome memory, by `label` (`early_fraud_warning`, `fraudulent_dispute`, …,
/// `authorized`, `declined_*`) and `source` (`report`: ReportPaymentOutcome, `webhook`).
pub const OUTCOME_LABELS: &str = "riskgate_outcome_labels_total";
/// Entity labels outcome memory could not keep because it held `enrichment.outcome_max_entities`.
pub const OUTCOME_MEMORY_DROPPED: &str = "riskgate_outcome_memory_dropped_total";
/// Entities in the in-process outcome memory (after the last sweep).
pub const OUTCOME_MEMORY_ENTITIES: &str = "riskgate_outcome_memory_entities";
/// Webhook events handled off the request path, by `result`: `applied`, `already_applied` (the
/// warning's or dispute's label was learned from an earlier event), `no_charge` (Stripe has no
/// such charge), `failed` (given up), `retried` (a charge fetch or a store failed; tried again
/// later), `deferred` (out of tries: pending until the next start).
pub const WEBHOOK_EVENTS_PROCESSED: &str = "riskgate_webhook_events_processed_total";
/// Webhook events accepted and not yet applied.
pub const WEBHOOK_QUEUE_DEPTH: &str = "riskgate_webhook_queue_depth";

// === Stripe conformance (issue 16) ===
/// Stripe answers whose word riskgate does not know, by `field` (`recommended_action`,
/// `risk_level`): an unknown recommended action is decided by the fail policy, an unknown risk
/// level is shown as `unknown`.
pub const STRIPE_UNKNOWN_VALUES: &str = "riskgate_stripe_unknown_values_total";

/// Histogram buckets, seconds. An in-process decision takes microseconds and a gRPC round trip a
/// fraction of a millisecond, so the ladder starts at 25 µs; it ends at 1 s where a call has long
/// missed any payment deadline.
pub const LATENCY_BUCKETS: &[f64] = &[
    0.000_025, 0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1,
    0.25, 1.0,
];

/// Buckets of the shadow score difference, in score points (0–100).
pub const SCORE_DIFFERENCE_BUCKETS: &[f64] = &[1.0, 2.0, 5.0, 10.0, 20.0, 35.0, 50.0, 75.0, 100.0];

/// How often histogram storage is compacted.
const UPKEEP_INTERVAL: Duration = Duration::from_secs(5);

/// The process-wide Prometheus recorder, installed on first use (tests start several servers in one
/// process; they share it).
pub fn metrics_handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let handle = PrometheusBuilder::new()
                .set_buckets(LATENCY_BUCKETS)
                .expect("bucket list is not empty")
                .set_buckets_for_metric(
                    metrics_exporter_prometheus::Matcher::Full(SHADOW_SCORE_DIFFERENCE.into()),
                    SCORE_DIFFERENCE_BUCKETS,
                )
                .expect("bucket list is not empty")
                .set_buckets_for_metric(
                    metrics_exporter_prometheus::Matcher::Full(REVIEW_AGE_AT_CLOSE.into()),
                    REVIEW_AGE_BUCKETS,
                )
                .expect("bucket list is not empty")
                .install_recorder()
                .expect("no other metrics recorder is installed");
            describe();
            metrics::gauge!(BUILD_INFO, "version" => env!("CARGO_PKG_VERSION")).set(1.0);
            handle
        })
        .clone()
}

/// Compacts histograms periodically; runs until the runtime stops.
pub async fn run_upkeep(handle: PrometheusHandle) {
    let mut tick = tokio::time::interval(UPKEEP_INTERVAL);
    loop {
        tick.tick().await;
        handle.run_upkeep();
    }
}

fn describe() {
    use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
    describe_counter!(UPSTREAM_CALLS, "Stripe calls by upstream and outcome.");
    describe_counter!(UPSTREAM_RETRIES, "Stripe attempts that were retries.");
    describe_histogram!(
        UPSTREAM_DURATION,
        Unit::Seconds,
        "Stripe call duration, all attempts included."
    );
    describe_gauge!(
        UPSTREAM_BREAKER_STATE,
        "Circuit breaker per upstream: 0 closed, 1 open, 2 half-open."
    );
    describe_counter!(
        SHADOW_COMPARISONS,
        "Shadow comparisons: whether Stripe recommended the action answered."
    );
    describe_histogram!(
        SHADOW_SCORE_DIFFERENCE,
        "Absolute difference between the answered and the shadow risk score, in points."
    );
    describe_gauge!(
        VALUE_LISTS_SYNC_AGE,
        Unit::Seconds,
        "Seconds since the value lists were last known to match Redis."
    );
    describe_counter!(
        VALUE_LISTS_SNAPSHOTS,
        "Value list snapshots loaded from Redis, by reason."
    );
    describe_counter!(UNSCORED, "Evaluations nothing could score, by fail policy.");
    describe_counter!(WEBHOOKS, "Stripe webhooks by outcome and event type.");
    describe_counter!(
        WEBHOOK_BLOCKED,
        "Values added to block lists by Stripe webhooks."
    );
    describe_counter!(
        UPSTREAM_OUTCOME_REPORTS,
        "Payment outcomes forwarded to Stripe, by result."
    );
    describe_counter!(LIST_SYNC_RUNS, "Stripe value list sync runs, by outcome.");
    describe_counter!(
        LIST_SYNC_SKIPPED,
        "Stripe value lists or items not mirrored, by reason."
    );
    describe_gauge!(
        LIST_SYNC_LAST_SUCCESS,
        Unit::Seconds,
        "Unix time of the last successful Stripe value list sync."
    );
    describe_gauge!(LIST_SYNC_LISTS, "Stripe value lists mirrored now.");
    describe_counter!(GRPC_REQUESTS, "gRPC calls by method and status code.");
    describe_histogram!(
        GRPC_DURATION,
        Unit::Seconds,
        "gRPC call duration by method."
    );
    describe_gauge!(GRPC_IN_FLIGHT, "gRPC calls in flight.");
    describe_counter!(
        LOAD_SHED,
        "Calls refused with RESOURCE_EXHAUSTED, by reason: cpu, concurrency_limit."
    );
    describe_gauge!(
        RUNTIME_BUSY,
        "Share of the last 25 ms the runtime's workers were busy (wall clock)."
    );
    describe_gauge!(
        ADMITTED_SHARE,
        "Share of riskgate calls the CPU governor admits (1 unless the CPU is saturated)."
    );
    describe_histogram!(
        STAGE_DURATION,
        Unit::Seconds,
        "Evaluation pipeline stage duration."
    );
    describe_counter!(
        DECISIONS,
        "Decisions by action, score source and risk level."
    );
    describe_counter!(IDEMPOTENCY, "Idempotency-key look-ups by outcome.");
    describe_counter!(
        IDEMPOTENCY_EVICTIONS,
        "Idempotency records evicted before retention ended."
    );
    describe_counter!(
        AUTH_FAILURES,
        "Calls refused for a missing or wrong bearer token."
    );
    describe_counter!(TLS_RELOADS, "TLS certificate reloads by outcome.");
    describe_counter!(
        TLS_HANDSHAKE_FAILURES,
        "TLS handshakes that failed or timed out."
    );
    describe_counter!(RULES_RELOADS, "Rules reloads by trigger and outcome.");
    describe_gauge!(RULES_LOADED, "Rules in the rule set in use.");
    describe_counter!(
        AUDIT_DROPPED,
        "Audit log lines dropped because the writer fell behind or failed."
    );
    describe_counter!(RADAR_SESSION_LOOKUPS, "Radar Session look-ups by outcome.");
    describe_counter!(
        RADAR_SESSION_EVICTIONS,
        "Radar Sessions dropped by cause (size, expired)."
    );
    describe_counter!(RADAR_SESSIONS_RECORDED, "Radar Sessions recorded.");
    describe_counter!(VELOCITY_KEYS_EXPIRED, "Idle velocity keys removed.");
    describe_counter!(
        PAYMENT_OUTCOMES,
        "Payment outcomes reported, by outcome and result."
    );
    describe_counter!(
        ENRICHMENT_DEGRADED,
        "Enrichment steps that fell back because the state store failed."
    );
    describe_gauge!(BUILD_INFO, "Build information.");
    describe_gauge!(MODEL_INFO, "The loaded fraud model, by version.");
    // === hardening (issue 18, harden-core) ===
    describe_counter!(
        STATE_EVICTIONS,
        "In-process state entries dropped for room, by store and cause."
    );
    describe_gauge!(
        STATE_BYTES,
        Unit::Bytes,
        "Bytes of an in-process store (tables, queue and records), by store."
    );
    // === reviews (issue 19) ===
    describe_gauge!(REVIEWS_OPEN, "Open reviews.");
    describe_gauge!(
        REVIEWS_OLDEST_AGE,
        Unit::Seconds,
        "Age of the oldest open review."
    );
    describe_gauge!(
        REVIEWS_OVER_SLA,
        "Open reviews older than reviews.sla_secs."
    );
    describe_gauge!(REVIEWS_SLA, Unit::Seconds, "reviews.sla_secs.");
    describe_counter!(REVIEWS_OPENED, "Reviews opened, by reason.");
    describe_counter!(
        REVIEWS_NOT_OPENED,
        "REVIEW decisions that opened no review, by cause."
    );
    describe_counter!(REVIEWS_CLOSED, "Reviews closed, by reason.");
    describe_histogram!(
        REVIEW_AGE_AT_CLOSE,
        Unit::Seconds,
        "How long a review waited before it closed."
    );
    describe_counter!(
        REVIEW_FEEDBACK,
        "What review verdicts fed back, by step and result."
    );
    // Outcome memory and Stripe webhook events (issue 15).
    describe_counter!(
        OUTCOME_LABELS,
        "Labels learned by outcome memory, by label and source."
    );
    describe_counter!(
        OUTCOME_MEMORY_DROPPED,
        "Entity labels not kept because outcome memory was full."
    );
    describe_gauge!(
        OUTCOME_MEMORY_ENTITIES,
        "Entities in the in-process outcome memory."
    );
    describe_counter!(
        WEBHOOK_EVENTS_PROCESSED,
        "Webhook events handled off the request path, by result."
    );
    describe_gauge!(
        WEBHOOK_QUEUE_DEPTH,
        "Webhook events accepted and not yet applied."
    );
}

/// The standard process metrics in Prometheus text format, read at scrape time: CPU seconds from
/// `getrusage`, resident memory from `/proc/self/statm` (left out where that file does not exist).
pub fn process_metrics() -> String {
    use std::fmt::Write;
    let mut out = String::new();
    // SAFETY: getrusage only writes into the struct passed; an all-zero rusage is a valid value.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: RUSAGE_SELF with a valid pointer.
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) } == 0 {
        let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
        let cpu = secs(usage.ru_utime) + secs(usage.ru_stime);
        let _ = write!(
            out,
            "# HELP {PROCESS_CPU} Total user and system CPU time spent in seconds.\n\
             # TYPE {PROCESS_CPU} counter\n{PROCESS_CPU} {cpu}\n"
        );
    }
    let resident_pages = std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<u64>().ok());
    // SAFETY: sysconf has no preconditions.
    let page_size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if let (Some(pages), Ok(page_size @ 1..)) = (resident_pages, u64::try_from(page_size)) {
        let _ = write!(
            out,
            "# HELP {PROCESS_RESIDENT_MEMORY} Resident memory size in bytes.\n\
             # TYPE {PROCESS_RESIDENT_MEMORY} gauge\n{PROCESS_RESIDENT_MEMORY} {}\n",
            pages * page_size
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The value of the sample line `name value` in Prometheus text.
    fn sample(text: &str, name: &str) -> Option<f64> {
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
    }

    #[test]
    fn process_metrics_report_cpu_and_memory() {
        let mut x = 0u64;
        for i in 0..5_000_000u64 {
            x = x.wrapping_mul(31).wrapping_add(i);
        }
        std::hint::black_box(x);
        let text = process_metrics();
        assert!(
            text.contains("# TYPE process_cpu_seconds_total counter"),
            "{text}"
        );
        assert!(sample(&text, PROCESS_CPU).unwrap() > 0.0, "{text}");
        if cfg!(target_os = "linux") {
            assert!(
                sample(&text, PROCESS_RESIDENT_MEMORY).unwrap() > 1_000_000.0,
                "{text}"
            );
        }
    }
}
