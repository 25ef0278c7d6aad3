//! Writes one `CreatePaymentEvaluation` request as a gRPC message frame (the 5-byte length prefix,
//! then the protobuf), for HTTP/2 load generators that post a file, such as h2load:
//!
//! ```text
//! riskgate-frame examples/evaluation.json target/evaluation.grpc
//! h2load -d target/evaluation.grpc -H 'content-type: application/grpc' -H 'te: trailers' \
//!   http://127.0.0.1:50051/riskgate.v1.PaymentEvaluationService/CreatePaymentEvaluation
//! ```
//!
//! The request is read as `riskgate eval` and the echo baseline read it (JSON in Stripe's shape),
//! without its idempotency key, so every posted call is a new evaluation.

use std::process::ExitCode;

use prost::Message;
use riskgate::proto::v1::CreatePaymentEvaluationRequest;

const USAGE: &str = "usage: riskgate-frame REQUEST.json OUT.grpc";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [input, output] = args.as_slice() else {
        eprintln!("{USAGE}");
        return ExitCode::FAILURE;
    };
    match write_frame(input, output) {
        Ok(len) => {
            eprintln!(
                "riskgate-frame: {output}: {len}-byte message, {} bytes framed",
                len + 5
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("riskgate-frame: {e}");
            ExitCode::FAILURE
        }
    }
}

fn write_frame(input: &str, output: &str) -> Result<usize, String> {
    let text = std::fs::read_to_string(input).map_err(|e| format!("cannot read {input}: {e}"))?;
    let mut request: CreatePaymentEvaluationRequest =
        serde_json::from_str(&text).map_err(|e| format!("{input}: {e}"))?;
    request.idempotency_key.clear();
    let message = request.encode_to_vec();
    let len = u32::try_from(message.len()).map_err(|_| "the request is over 4 GiB".to_owned())?;
    // gRPC framing: a compressed flag (0: not compressed) and the big-endian length.
    let mut frame = Vec::with_capacity(message.len() + 5);
    frame.push(0);
    frame.extend_from_slice(&len.to_be_bytes());
    frame.extend_from_slice(&message);
    std::fs::write(output, frame).map_err(|e| format!("cannot write {output}: {e}"))?;
    Ok(message.len())
}
