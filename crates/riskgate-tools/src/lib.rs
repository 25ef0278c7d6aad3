//! riskgate's offline tools, kept out of the gateway library: none of this runs while serving.
//!
//! - [`sim`]: labelled, realistic payment traffic (legitimate customers and fraud patterns);
//! - [`replay`]: events replayed in time order through a fresh in-process enrichment state;
//! - [`features`]: the training table, through the same validation, enrichment and feature code
//!   that serves;
//! - [`predict`]: a model's raw margins over a CSV of features;
//! - [`rules`]: rules files checked and explained offline;
//! - [`decisions`]: labelled events replayed through the whole gateway (enrichment, model, rules);
//! - [`backtest`]: a rules file replayed over labelled events, with per-rule precision and recall;
//! - [`evaluate`]: the whole gateway's decision quality on labelled events, per pattern.

pub mod backtest;
pub mod decisions;
pub mod evaluate;
pub mod features;
pub mod predict;
pub mod replay;
pub mod rules;
pub mod rules_notes;
pub mod sim;
