//! The riskgate load generator as a library: traffic, the open- and closed-loop drivers, and the
//! summary. `src/main.rs` is the command line around [`run()`].
//!
//! **Open loop** (`Mode::Open`): a pacing thread emits request slots on a fixed schedule (optionally
//! ramping the rate up linearly first) whatever the server does; each slot becomes one call, and its
//! latency is measured from the slot's *scheduled* time, so a stalled server or a late generator shows
//! up in the percentiles instead of hiding (no coordinated omission). With
//! `LoadConfig::pacing_slack` the pacing thread may wake that much late, sending the slots due by
//! then together (fewer, fuller writes; their lateness counts in their latency). **Closed loop**
//! (`Mode::Closed`): `concurrency` callers each send their next call as soon as the previous one is
//! answered — the way to find the maximum throughput; latency there is from the actual send. A
//! caller refused with RESOURCE_EXHAUSTED first waits the RetryInfo delay, as the orchestrator would.
//!
//! Requests are encoded once up front and sent as raw protobuf bytes; answers are not decoded (only
//! their gRPC status is checked, except for the first call, which must decode as a
//! `CreatePaymentEvaluationResponse`), so the generator spends as little CPU per call as possible.
//! **Step down** (`LoadConfig::step_down`, open loop): the rate changes once inside the window, e.g.
//! from 2× the gateway's maximum to half of it — the overload scenario. The summary then has each
//! phase's figures (share refused with RESOURCE_EXHAUSTED, p99 of the admitted calls) and the time
//! to recover: the first whole second after the step with no errors and p99 within the budget.
//! Every run also has a per-second timeline of the window (by scheduled time).
//!
//! The generator measures its own CPU time (getrusage) over the measured window; a generator that
//! used ≥ 90 % of the cores it may run on was the bottleneck, and the run is marked invalid.

mod closed_loop;
mod config;
mod error;
mod open_loop;
mod progress;
mod record;
mod report;
mod run;
mod schedule;
mod summary;
mod traffic;
mod transport;
mod validity;

pub use config::{LoadConfig, Mode, StepDown, Target};
pub use error::LoadError;
pub use run::run;
pub use schedule::{slot_offset, stepped_slot_offset};
pub use summary::{GeneratorCpu, Percentiles, Phase, SecondStats, StepDownSummary, Summary};
pub use traffic::{encode, from_events_file, simulated};
pub use transport::{METHOD, code_name};
pub use validity::{SATURATION, process_cpu_seconds};
