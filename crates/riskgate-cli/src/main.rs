//! The `riskgate` command: serve the gateway, check configuration, send an evaluation.
//!
//! This file is the top level only: the subcommands and where each goes. Every subcommand lives in
//! its own module, its flags beside its code.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod backtest;
mod config;
mod eval;
mod fake_stripe;
mod logging;
mod model;
mod output;
mod probe;
mod reviews;
mod rules;
mod runtime;
mod serve;
mod simulate;
mod target;

/// mimalloc instead of glibc's malloc: the request path makes dozens of small, short-lived
/// allocations (decoded strings, the answer), which a thread-caching allocator serves faster.
/// Measured in BENCHMARKS.md's tuning log.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// riskgate — pre-authorization fraud gateway for card payments.
///
/// Your payment orchestrator calls riskgate over gRPC before sending a payment for authorization;
/// riskgate scores it and answers continue, review, request 3D Secure or block.
///
/// Start with `riskgate serve` (embedded defaults: local model, in-memory state) and send
/// `riskgate eval examples/evaluation.json`.
#[derive(Parser)]
#[command(name = "riskgate", version, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// The subcommands, in the order `--help` lists them; each one's help is on its arguments' type.
#[derive(Subcommand)]
enum Command {
    Serve(serve::ServeArgs),
    FakeStripe(fake_stripe::FakeStripeArgs),
    Backtest(backtest::BacktestArgs),
    Rules(rules::RulesArgs),
    Model(model::ModelArgs),
    Simulate(simulate::SimulateArgs),
    Config(config::ConfigArgs),
    Eval(eval::EvalArgs),
    Probe(probe::ProbeArgs),
    Reviews(reviews::ReviewsArgs),
}

/// Runs the command; a failure is printed as `riskgate: MESSAGE` and exits 1.
fn main() -> ExitCode {
    let result = match Cli::parse().command {
        Command::Serve(args) => serve::run(args),
        Command::FakeStripe(args) => fake_stripe::run(args),
        Command::Backtest(args) => backtest::run(args),
        Command::Rules(args) => rules::run(args),
        Command::Model(args) => model::run(args),
        Command::Simulate(args) => simulate::run(args),
        Command::Config(args) => config::run(args),
        Command::Eval(args) => eval::run(args),
        Command::Probe(args) => probe::run(args),
        Command::Reviews(args) => reviews::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("riskgate: {message}");
            ExitCode::FAILURE
        }
    }
}
