//! `riskgate eval`: one evaluation, read as JSON in Stripe's shape, sent to a running gateway; the
//! answer printed as JSON, or the failure with each field violation.

use std::{
    path::{Path, PathBuf},
    time::Duration,
};

use riskgate::proto::v1::{
    CreatePaymentEvaluationRequest,
    payment_evaluation_service_client::PaymentEvaluationServiceClient,
};
use tonic_types::StatusExt;

use crate::{runtime, target::Target};

/// Send one evaluation, written as JSON in Stripe's shape (see examples/evaluation.json), and
/// print the answer as JSON. Exits 1 when the call fails.
#[derive(clap::Args)]
pub struct EvalArgs {
    /// Request file; `-` reads standard input.
    file: PathBuf,
    #[command(flatten)]
    target: Target,
    /// Deadline sent as grpc-timeout.
    #[arg(long, default_value_t = 1000, value_name = "MS")]
    timeout_ms: u64,
    /// Ask for the evaluated attributes in the answer (adds "attributes" to expand).
    #[arg(long)]
    attributes: bool,
}

pub fn run(args: EvalArgs) -> Result<(), String> {
    let EvalArgs {
        file,
        target,
        timeout_ms,
        attributes,
    } = args;
    let mut request = read_request(&file)?;
    if attributes && !request.expand.iter().any(|e| e == "attributes") {
        request.expand.push("attributes".into());
    }
    runtime::multi_thread()?.block_on(async move {
        let mut client = PaymentEvaluationServiceClient::new(target.connect().await?);
        let mut call = tonic::Request::new(request);
        call.set_timeout(Duration::from_millis(timeout_ms));
        target.authorize(&mut call)?;
        match client.create_payment_evaluation(call).await {
            Ok(response) => {
                let json =
                    serde_json::to_string_pretty(response.get_ref()).map_err(|e| e.to_string())?;
                println!("{json}");
                Ok(())
            }
            Err(status) => {
                let mut message = format!("{:?}: {}", status.code(), status.message());
                if let Some(bad) = status.get_error_details().bad_request() {
                    for v in &bad.field_violations {
                        message.push_str(&format!("\n  {}: {}", v.field, v.description));
                    }
                }
                Err(message)
            }
        }
    })
}

/// The request in `file` (`-` = standard input).
fn read_request(file: &Path) -> Result<CreatePaymentEvaluationRequest, String> {
    let text = if file == Path::new("-") {
        std::io::read_to_string(std::io::stdin())
            .map_err(|e| format!("cannot read standard input: {e}"))?
    } else {
        std::fs::read_to_string(file).map_err(|e| format!("cannot read {}: {e}", file.display()))?
    };
    serde_json::from_str(&text).map_err(|e| format!("{}: {e}", file.display()))
}
