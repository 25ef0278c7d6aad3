//! Where the client subcommands (`eval`, `probe`) connect, and how: the connection flags they
//! share, the channel they open (TCP, TLS or a Unix domain socket) and the bearer token they send.

use std::path::PathBuf;

use tonic::transport::{Channel, Endpoint};

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
    /// Bearer token to send (`authorization: Bearer …`).
    #[arg(
        long,
        env = "RISKGATE_TOKEN",
        hide_env_values = true,
        value_name = "TOKEN"
    )]
    token: Option<String>,
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

    /// Adds `authorization: Bearer TOKEN` to `call` when a token is set.
    pub fn authorize<T>(&self, call: &mut tonic::Request<T>) -> Result<(), String> {
        if let Some(token) = &self.token {
            let value = format!("Bearer {token}")
                .parse()
                .map_err(|_| "the token has characters a header cannot carry")?;
            call.metadata_mut().insert("authorization", value);
        }
        Ok(())
    }
}
