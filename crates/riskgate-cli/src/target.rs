//! Where the client subcommands (`eval`, `probe`, `rules reload`) connect, and how: the
//! connection flags they share, the channel they open (TCP, TLS or a Unix domain socket) and the
//! bearer token they send.
//!
//! Tokens never come from command-line values (the process list shows those to every user): the
//! evaluation token from `--token-file` or `RISKGATE_TOKEN`; the admin token from
//! `--admin-token-file`, `RISKGATE_ADMIN_TOKEN`, the server's configuration (`admin_token_file`),
//! or else the token the server generated in its data directory on this machine.

use std::path::PathBuf;

use riskgate::{
    config::{Config, Overrides, Secret},
    stores::data_dir::files,
};
use tonic::transport::{Channel, Endpoint};

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
    pub fn token(&self) -> Result<Secret, String> {
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

impl Target {
    /// Opens a channel: over --uds if given, else with TLS if --tls-ca is given, else plain TCP.
    pub async fn connect(&self) -> Result<Channel, String> {
        let addr = self.addr.as_str();
        if let Some(path) = &self.uds {
            return riskgate::server::uds_channel(path)
                .await
                .map_err(|e| format!("cannot connect to {}: {e}", path.display()));
        }
        if let Some(ca) = &self.tls_ca {
            let host_port = addr
                .trim_start_matches("https://")
                .trim_start_matches("http://");
            let host = host_port.rsplit_once(':').map_or(host_port, |(h, _)| h);
            let tls = riskgate::server::tls::ClientTls {
                ca: ca.clone(),
                cert: self.tls_cert.clone(),
                key: self.tls_key.clone(),
            };
            let name = self
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

    /// Adds `authorization: Bearer TOKEN` to `call` when an evaluation token is set
    /// (`--token-file`, else `RISKGATE_TOKEN`).
    pub fn authorize<T>(&self, call: &mut tonic::Request<T>) -> Result<(), String> {
        let token = match &self.token_file {
            Some(path) => Some(Secret::from_file(path).map_err(|e| e.to_string())?),
            None => std::env::var(TOKEN_ENV)
                .ok()
                .filter(|t| !t.trim().is_empty())
                .map(Secret::new),
        };
        match token {
            Some(token) => bearer(call, &token),
            None => Ok(()),
        }
    }
}

/// Adds `authorization: Bearer TOKEN` to `call`.
pub fn bearer<T>(call: &mut tonic::Request<T>, token: &Secret) -> Result<(), String> {
    let value = format!("Bearer {}", token.expose())
        .parse()
        .map_err(|_| "the token has characters a header cannot carry")?;
    call.metadata_mut().insert("authorization", value);
    Ok(())
}
