//! `riskgate fake-stripe`: the test kit's fake Stripe as a standalone server, for demos and for
//! pointing a gateway's `--stripe-base-url` at.

use std::{net::SocketAddr, time::Duration};

use riskgate_testkit::fake_stripe::{FakeList, FakeStripe, Fault, charge};

use crate::runtime;

/// Run a fake Stripe (Payment Evaluations, their outcome/event reports, Radar value lists) for
/// demos and tests: it checks form encoding, basic auth and headers like Stripe, and every request
/// against Stripe's published API description (the spec fixture); answers in the shape of the
/// request's Stripe-Version after --delay-ms, or with a fault, and prints one line per request.
#[derive(clap::Args)]
pub struct FakeStripeArgs {
    #[arg(long, default_value = "127.0.0.1:12111")]
    addr: SocketAddr,
    /// The secret key clients must use.
    #[arg(long, env = "STRIPE_SECRET_KEY", hide_env_values = true)]
    secret_key: String,
    /// Delay before each answer, milliseconds.
    #[arg(long, default_value_t = 20)]
    delay_ms: u64,
    /// Score answered (0–100, or -1: not assessed) when the request has no metadata[fake_score].
    #[arg(long, default_value_t = 12.0, allow_negative_numbers = true)]
    score: f64,
    /// The account is in Stripe's private preview of Payment Evaluations: `.preview` versions
    /// accept inline device data and card facts.
    #[arg(long)]
    private_preview: bool,
    /// none, 500, 429, 429-retry, 409, 503-no-retry, 500-retry, malformed, reset or stall.
    #[arg(long, default_value = "none")]
    fault: String,
    /// A Radar value list to serve, `ALIAS=ITEM_TYPE:VALUE,VALUE…` (repeatable), e.g.
    /// `blocked_emails=email:fraud@example.com`.
    #[arg(long = "value-list", value_name = "ALIAS=TYPE:VALUES")]
    value_lists: Vec<String>,
    /// A card charge served by `GET /v1/charges/{id}` (what webhook events name),
    /// `ID=FINGERPRINT[:CUSTOMER[:EMAIL]]` (repeatable), e.g. `ch_demo1=fpDemo1:cus_demo:a@b.com`.
    #[arg(long = "charge", value_name = "ID=FINGERPRINT:CUSTOMER:EMAIL")]
    charges: Vec<String>,
}

/// Sets the fake up from the flags, serves it until SIGTERM or SIGINT.
pub fn run(args: FakeStripeArgs) -> Result<(), String> {
    let FakeStripeArgs {
        addr,
        secret_key,
        delay_ms,
        score,
        private_preview,
        fault,
        value_lists,
        charges,
    } = args;
    let fake = FakeStripe::new(&secret_key);
    fake.set_log_requests(true);
    let lists = value_lists
        .iter()
        .enumerate()
        .map(|(n, spec)| value_list(n, spec))
        .collect::<Result<_, _>>()?;
    fake.set_value_lists(lists);
    for spec in &charges {
        fake.insert_charge(card_charge(spec)?);
    }
    fake.set_delay(Duration::from_millis(delay_ms));
    if !(0.0..=100.0).contains(&score) && score != -1.0 {
        return Err(format!(
            "--score {score}: must be 0–100, or -1 (not assessed)"
        ));
    }
    fake.set_score(score);
    fake.set_private_preview(private_preview);
    fake.set_fault(Fault::parse(&fault).ok_or_else(|| {
        format!(
            "--fault {fault:?}: expected none, an HTTP status (500, 429, 409, …) optionally \
             followed by -retry or -no-retry, malformed, reset or stall"
        )
    })?);
    runtime::multi_thread()?.block_on(async move {
        let (local, _task) = fake
            .bind(addr, None)
            .await
            .map_err(|e| format!("cannot bind {addr}: {e}"))?;
        eprintln!("fake Stripe listening on http://{local} (fault {fault}, delay {delay_ms} ms)");
        let signal = runtime::shutdown_signal().await?;
        eprintln!("{signal}: stopping");
        Ok(())
    })
}

/// The `n`th `--value-list ALIAS=ITEM_TYPE:VALUE,VALUE…` (empty values are left out).
fn value_list(n: usize, spec: &str) -> Result<FakeList, String> {
    let parsed = spec
        .split_once('=')
        .and_then(|(alias, rest)| rest.split_once(':').map(|(t, v)| (alias, t, v)));
    let Some((alias, item_type, values)) = parsed else {
        return Err(format!(
            "--value-list {spec:?}: expected ALIAS=ITEM_TYPE:VALUE,VALUE…"
        ));
    };
    let values: Vec<&str> = values.split(',').filter(|v| !v.is_empty()).collect();
    Ok(FakeList::new(
        &format!("rsl_fake{n}"),
        alias,
        item_type,
        &values,
    ))
}

/// A `--charge ID=FINGERPRINT[:CUSTOMER[:EMAIL]]` (empty parts are left out).
fn card_charge(spec: &str) -> Result<serde_json::Value, String> {
    let bad = || format!("--charge {spec:?}: expected ID=FINGERPRINT[:CUSTOMER[:EMAIL]]");
    let (id, rest) = spec.split_once('=').ok_or_else(bad)?;
    let mut parts = rest.splitn(3, ':');
    let fingerprint = parts.next().filter(|f| !f.is_empty()).ok_or_else(bad)?;
    if !id.starts_with("ch_") {
        return Err(bad());
    }
    let customer = parts.next().filter(|c| !c.is_empty());
    let email = parts.next().filter(|e| !e.is_empty());
    Ok(charge(id, fingerprint, customer, email))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charges_parse_from_the_flag() {
        let c = card_charge("ch_1=fpA:cus_9:a@example.com").unwrap();
        assert_eq!(c["payment_method_details"]["card"]["fingerprint"], "fpA");
        assert_eq!(c["customer"], "cus_9");
        assert_eq!(c["billing_details"]["email"], "a@example.com");
        let c = card_charge("ch_2=fpB").unwrap();
        assert!(c["customer"].is_null() && c["receipt_email"].is_null());
        assert!(card_charge("ch_3").is_err());
        assert!(card_charge("py_4=fpC").is_err());
    }
}
