//! Binding the listeners (TCP, the sidecar's Unix socket) and serving a router on them: plaintext,
//! TLS, or the plaintext health-only port.

use std::{net::SocketAddr, path::PathBuf, sync::Arc, time::Duration};

use tokio::{net::TcpListener, sync::watch, task::JoinHandle};
use tonic::transport::server::Router;
use tonic_health::pb::health_server::{Health, HealthServer};

use super::{ServeError, accept, coalesce::coalesced, layer, tls};
use crate::{config::Config, shutdown::stopped};

/// The serving tasks and where they listen.
pub(super) struct Served {
    pub tasks: Vec<JoinHandle<Result<(), tonic::transport::Error>>>,
    pub uds_path: Option<PathBuf>,
    pub health_addr: Option<SocketAddr>,
}

/// Serves `router` on the gRPC listener (TLS when configured) and the Unix socket, and `health`
/// alone on the plaintext health port, until `shutdown`.
pub(super) async fn serve<H: Health>(
    config: &Config,
    router: Router<tower_layer::Stack<layer::ObserveLayer, tower_layer::Identity>>,
    grpc_listener: TcpListener,
    health: HealthServer<H>,
    shutdown: watch::Receiver<bool>,
) -> Result<Served, ServeError> {
    let mut tasks = Vec::new();
    let uds_path = config.grpc.uds_path.clone();
    if let Some(path) = &uds_path {
        let listener = bind_uds(path)?;
        let incoming = coalesced(accept::incoming(listener, "grpc_uds"));
        tasks.push(tokio::spawn(
            router
                .clone()
                .serve_with_incoming_shutdown(incoming, stopped(shutdown.clone())),
        ));
    }
    let mut health_addr = None;
    if let Some(addr) = config.health.addr {
        let listener = bind_tcp("gRPC health", addr).await?;
        health_addr = Some(local_addr("gRPC health", &listener, addr)?);
        let incoming = accept::incoming(listener, "health");
        tasks.push(tokio::spawn(
            tonic::transport::Server::builder()
                .http2_max_header_list_size(config.grpc.max_header_list_bytes)
                .add_service(health)
                .serve_with_incoming_shutdown(incoming, stopped(shutdown.clone())),
        ));
    }
    let tls = match (&config.tls.cert_path, &config.tls.key_path) {
        (Some(cert), Some(key)) => {
            let config_error = |e: tls::TlsError| ServeError::Config(e.to_string());
            let server_tls = Arc::new(
                tls::ServerTls::load(cert, key, config.tls.client_ca_path.as_deref())
                    .map_err(config_error)?,
            );
            let interval = Duration::from_secs(config.tls.reload_interval_secs);
            tokio::spawn(server_tls.clone().watch(interval, shutdown.clone()));
            Some(server_tls)
        }
        _ => None,
    };
    tasks.push(match tls {
        Some(server_tls) => tokio::spawn(router.serve_with_incoming_shutdown(
            coalesced(tls::incoming(grpc_listener, server_tls)),
            stopped(shutdown),
        )),
        None => tokio::spawn(router.serve_with_incoming_shutdown(
            coalesced(accept::incoming(grpc_listener, "grpc")),
            stopped(shutdown),
        )),
    });
    Ok(Served {
        tasks,
        uds_path,
        health_addr,
    })
}

pub(super) async fn bind_tcp(
    what: &'static str,
    addr: SocketAddr,
) -> Result<TcpListener, ServeError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| ServeError::Bind {
            what,
            addr: addr.to_string(),
            source,
        })
}

pub(super) fn local_addr(
    what: &'static str,
    l: &TcpListener,
    addr: SocketAddr,
) -> Result<SocketAddr, ServeError> {
    l.local_addr().map_err(|source| ServeError::Bind {
        what,
        addr: addr.to_string(),
        source,
    })
}

pub(super) fn bind_uds(path: &std::path::Path) -> Result<tokio::net::UnixListener, ServeError> {
    let err = |source| ServeError::Bind {
        what: "gRPC Unix socket",
        addr: path.display().to_string(),
        source,
    };
    // A socket file left by a previous run would make bind fail; anything else at the path is kept.
    if let Ok(meta) = std::fs::symlink_metadata(path) {
        use std::os::unix::fs::FileTypeExt;
        if meta.file_type().is_socket() {
            std::fs::remove_file(path).map_err(err)?;
        }
    }
    let listener = tokio::net::UnixListener::bind(path).map_err(err)?;
    // Connecting needs write permission on the socket: its owner and group (the sidecar's pod
    // shares the group), never other users, whatever the umask (the socket needs no token).
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o660)).map_err(err)?;
    }
    Ok(listener)
}

/// A gRPC channel over a Unix domain socket (for clients and tests of the sidecar listener).
pub async fn uds_channel(
    path: &std::path::Path,
) -> Result<tonic::transport::Channel, tonic::transport::Error> {
    let path = Arc::new(path.to_owned());
    // The URI is required by the API but unused: every connection goes to the socket.
    tonic::transport::Endpoint::from_static("http://localhost")
        .connect_with_connector(tls::tower_fn(move || {
            let path = path.clone();
            async move {
                tokio::net::UnixStream::connect(path.as_path())
                    .await
                    .map(hyper_util::rt::TokioIo::new)
            }
        }))
        .await
}
