//! `riskgate probe`: asks a running gateway's gRPC health service, for container health checks.

use std::time::Duration;

use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};

use crate::{runtime, target::Target};

/// Ask a running gateway's gRPC health service; exits 0 when SERVING, 1 otherwise. Made for
/// container health checks (the runtime image has no shell or curl).
#[derive(clap::Args)]
pub struct ProbeArgs {
    #[command(flatten)]
    target: Target,
    /// The health entry to ask about ("" is the whole server).
    #[arg(long, default_value = "")]
    service: String,
    /// Give up after this long.
    #[arg(long, default_value_t = 1000, value_name = "MS")]
    timeout_ms: u64,
}

pub fn run(args: ProbeArgs) -> Result<(), String> {
    let ProbeArgs {
        target,
        service,
        timeout_ms,
    } = args;
    let timeout = Duration::from_millis(timeout_ms);
    runtime::multi_thread()?.block_on(async move {
        let check = async {
            let mut client = HealthClient::new(target.connect().await?);
            let reply = client
                .check(HealthCheckRequest {
                    service: service.clone(),
                })
                .await
                .map_err(|s| format!("health check failed: {:?}: {}", s.code(), s.message()))?;
            match reply.into_inner().status() {
                ServingStatus::Serving => {
                    println!("SERVING");
                    Ok(())
                }
                other => Err(format!("{service:?} is {}", other.as_str_name())),
            }
        };
        tokio::time::timeout(timeout, check)
            .await
            .map_err(|_| format!("no answer within {timeout:?}"))?
    })
}
