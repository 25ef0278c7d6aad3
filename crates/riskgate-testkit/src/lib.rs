//! Test-only code for riskgate, kept out of the product library (a dev-dependency of the gateway and
//! its command):
//!
//! - [`server`]: the real server on `127.0.0.1:0`, and clients for it;
//! - [`requests`]: the bundled example request, the smallest valid one, reading answers;
//! - [`http`]: the admin HTTP server from a test, and Prometheus samples;
//! - [`gate`]: a scorer the test can hold inside `score`;
//! - [`process`]: the `riskgate` binary as a child process;
//! - [`fake_stripe`]: a fake Stripe over loopback (also `riskgate fake-stripe`, for demos), which
//!   accepts and answers only what [`stripe_spec`] (Stripe's published description) allows;
//! - [`stripe_spec`]: the spec fixture and the checks of requests and objects against it;
//! - [`redis_server`]: real `redis-server` processes on free ports;
//! - [`redis_cluster`]: a real local Redis Cluster (3 primaries, 3 replicas);
//! - [`mmdb`]: MaxMind DB files for GeoIP tests;
//! - [`conformance`]: the Radar rules conformance suite's cases (`tests/conformance/`);
//! - [`tempdir`]: temporary directories;
//! - [`reviews`]: the review queue's configuration, requests and client helpers;
//! - [`browser`]: a headless Chromium through chromedriver.
//!
//! The most used helpers are re-exported at the top, so a test reads `testkit::start(config)`.

pub mod alloc;
pub mod browser;
pub mod conformance;
pub mod fake_stripe;
pub mod gate;
pub mod http;
pub mod mmdb;
pub mod process;
pub mod redis_cluster;
pub mod redis_server;
pub mod requests;
pub mod reviews;
pub mod server;
pub mod stripe_spec;
pub mod tempdir;

pub use gate::{Gate, GatedScorer};
pub use http::{http_get, http_request, post_stripe_webhook, post_webhook, sample};
pub use process::ServerProcess;
pub use requests::{
    card_payment, decided, example_request, example_request_of, minimal_request,
    minimal_stripe_request, number,
};
pub use server::{channel, client, evaluate, start, start_with, test_config, use_redis};
pub use tempdir::TempDir;
