//! The client commands: `eval`, `probe` and `rules reload` — where they connect, with which
//! credential.
//!
//! Tokens never come from command-line values (the process list shows those to every user): the
//! evaluation token from `--token-file` or `RISKGATE_TOKEN`; the admin token from
//! `--admin-token-file`, `RISKGATE_ADMIN_TOKEN`, the server's configuration (`admin_token_file`),
//! or else the token the server generated in its data directory on this machine.

use std::{
    path::{Path, PathBuf},
    time::Duration,
};

use riskgate::{
    config::{Config, Overrides, Secret},
    proto::v1::{
        CreatePaymentEvaluationRequest, ReloadRulesRequest,
        admin_service_client::AdminServiceClient,
        payment_evaluation_service_client::PaymentEvaluationServiceClient,
    },
    stores::data_dir::files,
};
use tonic::transport::{Channel, Endpoint};
use tonic_types::StatusExt;

use crate::runtime;

/// Environment variable holding the evaluation token for client commands.
const TOKEN_ENV: &str = "RISKGATE_TOKEN";

/// Where a client command connects, and how.
#[derive(clap::Args)]
pub struct Target {
    /// Server address: `http://HOST:PORT`, or `https://HOST:PORT` with --tls-ca.
    #[arg(long, default_value = "http://127.0.0.1:50051", value_name = "URL")]
    addr: String,
    /// Connect over this Unix domain socket instead of --addr.
    #[arg(long, value_name = "PATH", conflicts_with = "addr")]
    uds: Option<PathBuf>,
    /// PEM CA that signed the server's certificate: connect with TLS.
    #[arg(long, value_name = "FILE")]
    tls_ca: Option<PathBuf>,
    /// Client certificate for mTLS (with --tls-key).
    #[arg(long, value_name = "FILE", requires = "tls_key", requires = "tls_ca")]
    tls_cert: Option<PathBuf>,
    /// Client key for mTLS.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Name to check the server certificate against [default: the host of --addr].
    #[arg(long, value_name = "NAME")]
    server_name: Option<String>,
    /// File holding the evaluation token to send (`authorization: Bearer …`; trailing newline
    /// ignored). Default: the RISKGATE_TOKEN environment variable, if set.
    #[arg(long, value_name = "FILE")]
    token_file: Option<PathBuf>,
}

/// How an admin command finds the admin token.
#[derive(clap::Args)]
pub struct AdminCredential {
    /// File holding the admin token. Default: RISKGATE_ADMIN_TOKEN, else the server's
    /// admin_token_file (from --config / RISKGATE_CONFIG), else the token the server generated in
    /// its data directory on this machine.
    #[arg(long, value_name = "FILE")]
    admin_token_file: Option<PathBuf>,
    /// The server's configuration file, to find its admin token or data directory.
    #[arg(long, env = "RISKGATE_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,
    /// The server's data directory, to find the admin token it generated.
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
}

impl AdminCredential {
    /// The admin token, from the first place that has one.
    fn token(&self) -> Result<Secret, String> {
        if let Some(path) = &self.admin_token_file {
            return Secret::from_file(path).map_err(|e| e.to_string());
        }
        let overrides = Overrides {
            data_dir: self.data_dir.clone(),
            ..Overrides::default()
        };
        let config = Config::load(self.config.as_deref(), std::env::vars(), overrides)
            .map_err(|e| e.to_string())?;
        if let Some(token) = config.admin_token().map_err(|e| e.to_string())? {
            return Ok(token);
        }
        let Some(dir) = config.state.data_dir() else {
            return Err("no admin token: pass --admin-token-file FILE or set \
                        RISKGATE_ADMIN_TOKEN (the server has no data directory to generate one in)"
                .into());
        };
        let path = dir.join(files::ADMIN_TOKEN);
        Secret::from_file(&path).map_err(|e| {
            format!(
                "no admin token: {e}; pass --admin-token-file FILE, set RISKGATE_ADMIN_TOKEN, or \
                 run this as the user the server runs as (its data directory is {})",
                dir.display()
            )
        })
    }
}

/// `riskgate eval`.
pub fn eval(
    file: &Path,
    target: &Target,
    timeout: Duration,
    attributes: bool,
) -> Result<(), String> {
    let text = if file == Path::new("-") {
        std::io::read_to_string(std::io::stdin())
            .map_err(|e| format!("cannot read standard input: {e}"))?
    } else {
        std::fs::read_to_string(file).map_err(|e| format!("cannot read {}: {e}", file.display()))?
    };
    let mut request: CreatePaymentEvaluationRequest =
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", file.display()))?;
    if attributes && !request.expand.iter().any(|e| e == "attributes") {
        request.expand.push("attributes".into());
    }
    let token = target.token()?;
    runtime()?.block_on(async move {
        let mut client = PaymentEvaluationServiceClient::new(connect(target).await?);
        let mut call = tonic::Request::new(request);
        call.set_timeout(timeout);
        authorize(&mut call, token.as_ref())?;
        match client.create_payment_evaluation(call).await {
            Ok(response) => {
                let json =
                    serde_json::to_string_pretty(response.get_ref()).map_err(|e| e.to_string())?;
                println!("{json}");
                Ok(())
            }
            Err(status) => Err(describe(&status)),
        }
    })
}

/// `riskgate probe`.
pub fn probe(target: &Target, service: String, timeout: Duration) -> Result<(), String> {
    use tonic_health::pb::{
        HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
    };
    runtime()?.block_on(async move {
        let check = async {
            let mut client = HealthClient::new(connect(target).await?);
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

/// `riskgate rules reload`: the ReloadRules RPC, with the admin token.
pub fn reload_rules(target: &Target, admin: &AdminCredential) -> Result<(), String> {
    let token = admin.token()?;
    runtime()?.block_on(async move {
        let mut client = AdminServiceClient::new(connect(target).await?);
        let mut call = tonic::Request::new(ReloadRulesRequest {});
        call.set_timeout(Duration::from_secs(10));
        authorize(&mut call, Some(&token))?;
        let reply = client.reload_rules(call).await.map_err(|s| describe(&s))?;
        let reply = reply.into_inner();
        println!(
            "reloaded {}: {} rules (generation {})",
            reply.path, reply.rules, reply.generation
        );
        Ok(())
    })
}

impl Target {
    /// The evaluation token: `--token-file`, else `RISKGATE_TOKEN`.
    fn token(&self) -> Result<Option<Secret>, String> {
        if let Some(path) = &self.token_file {
            return Secret::from_file(path).map(Some).map_err(|e| e.to_string());
        }
        Ok(std::env::var(TOKEN_ENV)
            .ok()
            .filter(|t| !t.trim().is_empty())
            .map(Secret::new))
    }
}

/// A failed call's code, message and field violations.
fn describe(status: &tonic::Status) -> String {
    let mut message = format!("{:?}: {}", status.code(), status.message());
    if let Some(bad) = status.get_error_details().bad_request() {
        for v in &bad.field_violations {
            message.push_str(&format!("\n  {}: {}", v.field, v.description));
        }
    }
    message
}

fn authorize<T>(call: &mut tonic::Request<T>, token: Option<&Secret>) -> Result<(), String> {
    if let Some(token) = token {
        let value = format!("Bearer {}", token.expose())
            .parse()
            .map_err(|_| "the token has characters a header cannot carry")?;
        call.metadata_mut().insert("authorization", value);
    }
    Ok(())
}

async fn connect(target: &Target) -> Result<Channel, String> {
    let addr = target.addr.as_str();
    if let Some(path) = &target.uds {
        return riskgate::server::uds_channel(path)
            .await
            .map_err(|e| format!("cannot connect to {}: {e}", path.display()));
    }
    if let Some(ca) = &target.tls_ca {
        let host_port = addr
            .trim_start_matches("https://")
            .trim_start_matches("http://");
        let host = host_port.rsplit_once(':').map_or(host_port, |(h, _)| h);
        let tls = riskgate::server::tls::ClientTls {
            ca: ca.clone(),
            cert: target.tls_cert.clone(),
            key: target.tls_key.clone(),
        };
        let name = target
            .server_name
            .as_deref()
            .unwrap_or(host.trim_matches(['[', ']']));
        return riskgate::server::tls::client_channel(host_port, name, &tls)
            .await
            .map_err(|e| format!("cannot connect to {addr} with TLS: {e}"));
    }
    Endpoint::from_shared(addr.to_owned())
        .map_err(|e| format!("bad address {addr}: {e}"))?
        .connect()
        .await
        .map_err(|e| format!("cannot connect to {addr}: {e}"))
}
