//! TLS for the gRPC port (rustls with ring): server certificates and the client CA (mTLS) that
//! reload from disk without a restart ([`ServerTls`]), and a TLS client connector for
//! `riskgate eval`/`probe` and tests.
//!
//! Handshakes run in their own tasks, bounded by [`HANDSHAKE_TIMEOUT`], so a slow or hostile client
//! never holds up accepting others.

use std::{
    path::{Path, PathBuf},
    pin::Pin,
    sync::{Arc, RwLock},
    task::{Context, Poll},
    time::{Duration, SystemTime},
};

use rustls::{
    RootCertStore, ServerConfig,
    server::{ClientHello, ResolvesServerCert, WebPkiClientVerifier},
    sign::CertifiedKey,
};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName, pem::PemObject};
use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    net::{TcpListener, TcpStream},
    sync::{mpsc, watch},
};
use tonic::transport::server::{Connected, TcpConnectInfo};

use crate::telemetry;

/// A client that has not finished its handshake by then is dropped.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Accepted connections waiting for the server to pick them up.
const ACCEPT_BACKLOG: usize = 128;

/// A certificate or key that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read {path}: {message}")]
    Read { path: PathBuf, message: String },
    #[error("{path}: no {what} found in PEM file")]
    Empty { path: PathBuf, what: &'static str },
    #[error("TLS configuration: {0}")]
    Rustls(#[from] rustls::Error),
    #[error("client CA: {0}")]
    Verifier(#[from] rustls::server::VerifierBuilderError),
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn read_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let certs = CertificateDer::pem_file_iter(path)
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .map_err(|e| TlsError::Read {
            path: path.into(),
            message: e.to_string(),
        })?;
    if certs.is_empty() {
        return Err(TlsError::Empty {
            path: path.into(),
            what: "certificate",
        });
    }
    Ok(certs)
}

fn read_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    PrivateKeyDer::from_pem_file(path).map_err(|e| TlsError::Read {
        path: path.into(),
        message: e.to_string(),
    })
}

fn load_certified_key(cert: &Path, key: &Path) -> Result<Arc<CertifiedKey>, TlsError> {
    let certs = read_certs(cert)?;
    let key = read_key(key)?;
    let signing = rustls::crypto::ring::sign::any_supported_type(&key)?;
    let certified = CertifiedKey::new(certs, signing);
    certified.keys_match().map_err(TlsError::Rustls)?;
    Ok(Arc::new(certified))
}

fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// The server certificate, swapped in place when its files change.
#[derive(Debug)]
pub struct ReloadingCert {
    cert_path: PathBuf,
    key_path: PathBuf,
    current: RwLock<(Arc<CertifiedKey>, Option<SystemTime>, Option<SystemTime>)>,
}

impl ReloadingCert {
    /// Loads the certificate chain and key; fails if they are unusable or do not match.
    pub fn load(cert_path: &Path, key_path: &Path) -> Result<Self, TlsError> {
        let key = load_certified_key(cert_path, key_path)?;
        Ok(Self {
            cert_path: cert_path.into(),
            key_path: key_path.into(),
            current: RwLock::new((key, modified(cert_path), modified(key_path))),
        })
    }

    /// Reloads when either file changed since the last load. A pair that fails to load (say, the
    /// certificate was written but not yet the key) keeps the old one serving and is retried on the
    /// next check. Returns whether a new certificate is now in use.
    pub fn reload_if_changed(&self) -> Result<bool, TlsError> {
        let (cert_m, key_m) = (modified(&self.cert_path), modified(&self.key_path));
        {
            let current = self.current.read().expect("lock poisoned");
            if current.1 == cert_m && current.2 == key_m {
                return Ok(false);
            }
        }
        let key = load_certified_key(&self.cert_path, &self.key_path)?;
        *self.current.write().expect("lock poisoned") = (key, cert_m, key_m);
        Ok(true)
    }
}

impl ResolvesServerCert for ReloadingCert {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.current.read().expect("lock poisoned").0.clone())
    }
}

/// A rustls server configuration for gRPC (ALPN `h2`), requiring client certificates signed by
/// `client_ca` when given.
pub fn server_config(
    cert: Arc<ReloadingCert>,
    client_ca: Option<&Path>,
) -> Result<Arc<ServerConfig>, TlsError> {
    let builder =
        ServerConfig::builder_with_provider(provider()).with_safe_default_protocol_versions()?;
    let builder = match client_ca {
        Some(path) => {
            let mut roots = RootCertStore::empty();
            for ca in read_certs(path)? {
                roots.add(ca)?;
            }
            let verifier =
                WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider()).build()?;
            builder.with_client_cert_verifier(verifier)
        }
        None => builder.with_no_client_auth(),
    };
    let mut config = builder.with_cert_resolver(cert);
    config.alpn_protocols = vec![b"h2".to_vec()];
    Ok(Arc::new(config))
}

/// The TLS side of the gRPC port: the server certificate ([`ReloadingCert`]) and the client CA of
/// mTLS, both reloaded when their files change. A new client CA takes a new rustls
/// [`ServerConfig`] (its verifier is fixed at build), so each connection takes the configuration
/// current when it is accepted; connections already open keep theirs.
#[derive(Debug)]
pub struct ServerTls {
    cert: Arc<ReloadingCert>,
    client_ca: Option<PathBuf>,
    /// The configuration in use and the client CA file's modification time it was built from.
    current: RwLock<(Arc<ServerConfig>, Option<SystemTime>)>,
}

impl ServerTls {
    /// Loads the certificate, key and (for mTLS) client CA; fails if any is unusable.
    pub fn load(cert: &Path, key: &Path, client_ca: Option<&Path>) -> Result<Self, TlsError> {
        let cert = Arc::new(ReloadingCert::load(cert, key)?);
        let ca_modified = client_ca.and_then(modified);
        let config = server_config(cert.clone(), client_ca)?;
        Ok(Self {
            cert,
            client_ca: client_ca.map(Path::to_path_buf),
            current: RwLock::new((config, ca_modified)),
        })
    }

    /// The configuration for a connection accepted now.
    pub fn config(&self) -> Arc<ServerConfig> {
        self.current.read().expect("lock poisoned").0.clone()
    }

    /// Reloads what changed: the certificate pair, the client CA. What fails to load keeps the
    /// previous one in use (and is retried on the next check). Returns what was reloaded.
    pub fn reload_if_changed(&self) -> Result<Reloaded, TlsError> {
        let cert = self.cert.reload_if_changed();
        let client_ca = self.reload_client_ca();
        Ok(Reloaded {
            cert: cert?,
            client_ca: client_ca?,
        })
    }

    fn reload_client_ca(&self) -> Result<bool, TlsError> {
        let Some(path) = &self.client_ca else {
            return Ok(false);
        };
        let m = modified(path);
        if self.current.read().expect("lock poisoned").1 == m {
            return Ok(false);
        }
        let config = server_config(self.cert.clone(), Some(path))?;
        *self.current.write().expect("lock poisoned") = (config, m);
        Ok(true)
    }

    /// Checks the files every `interval` until `shutdown`, reading them on the blocking pool.
    pub async fn watch(self: Arc<Self>, interval: Duration, mut shutdown: watch::Receiver<bool>) {
        let mut tick = tokio::time::interval(interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = shutdown.wait_for(|s| *s) => return,
            }
            let tls = self.clone();
            let Ok(result) = tokio::task::spawn_blocking(move || tls.reload_if_changed()).await
            else {
                continue;
            };
            match result {
                Ok(Reloaded { cert, client_ca }) => {
                    for (what, done) in [("certificate", cert), ("client CA", client_ca)] {
                        if done {
                            metrics::counter!(telemetry::TLS_RELOADS, "outcome" => "success")
                                .increment(1);
                            tracing::info!("TLS {what} reloaded");
                        }
                    }
                }
                Err(e) => {
                    metrics::counter!(telemetry::TLS_RELOADS, "outcome" => "error").increment(1);
                    tracing::warn!(error = %e, "TLS reload failed; the previous files stay in use");
                }
            }
        }
    }
}

/// What [`ServerTls::reload_if_changed`] swapped in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Reloaded {
    pub cert: bool,
    pub client_ca: bool,
}

/// A TLS connection, as tonic's server takes it.
pub struct TlsConn(tokio_rustls::server::TlsStream<TcpStream>);

impl Connected for TlsConn {
    type ConnectInfo = TcpConnectInfo;

    fn connect_info(&self) -> TcpConnectInfo {
        self.0.get_ref().0.connect_info()
    }
}

impl AsyncRead for TlsConn {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl AsyncWrite for TlsConn {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.0).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.0.is_write_vectored()
    }
}

/// Accepts TCP connections and completes their handshakes concurrently; the stream ends when the
/// server drops it (at shutdown).
pub fn incoming(
    listener: TcpListener,
    tls: Arc<ServerTls>,
) -> tokio_stream::wrappers::ReceiverStream<Result<TlsConn, std::io::Error>> {
    let (tx, rx) = mpsc::channel(ACCEPT_BACKLOG);
    tokio::spawn(async move {
        let mut accept_errors = super::accept::Acceptor::new("grpc_tls");
        loop {
            let (tcp, peer) = tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok(conn) => {
                        accept_errors.accepted();
                        conn
                    }
                    Err(e) => {
                        // Out of descriptors (or the like): wait, do not spin.
                        let pause = accept_errors.failed(&e);
                        tokio::select! {
                            () = tokio::time::sleep(pause) => {}
                            () = tx.closed() => return,
                        }
                        continue;
                    }
                },
                () = tx.closed() => return,
            };
            let _ = tcp.set_nodelay(true);
            let (acceptor, tx) = (tokio_rustls::TlsAcceptor::from(tls.config()), tx.clone());
            tokio::spawn(async move {
                match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                    Ok(Ok(stream)) => {
                        let _ = tx.send(Ok(TlsConn(stream))).await;
                    }
                    Ok(Err(e)) => {
                        metrics::counter!(telemetry::TLS_HANDSHAKE_FAILURES).increment(1);
                        tracing::debug!(%peer, error = %e, "TLS handshake failed");
                    }
                    Err(_) => {
                        metrics::counter!(telemetry::TLS_HANDSHAKE_FAILURES).increment(1);
                        tracing::debug!(%peer, "TLS handshake timed out");
                    }
                }
            });
        }
    });
    tokio_stream::wrappers::ReceiverStream::new(rx)
}

/// What a TLS client needs: the CA that signed the server, and a client certificate for mTLS.
#[derive(Debug, Clone, Default)]
pub struct ClientTls {
    pub ca: PathBuf,
    pub cert: Option<PathBuf>,
    pub key: Option<PathBuf>,
}

/// A gRPC channel over TLS to `addr` (`host:port`); `server_name` is checked against the server's
/// certificate.
pub async fn client_channel(
    addr: &str,
    server_name: &str,
    tls: &ClientTls,
) -> Result<tonic::transport::Channel, Box<dyn std::error::Error + Send + Sync>> {
    let mut roots = RootCertStore::empty();
    for ca in read_certs(&tls.ca)? {
        roots.add(ca)?;
    }
    let builder = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots);
    let mut config = match (&tls.cert, &tls.key) {
        (Some(cert), Some(key)) => {
            builder.with_client_auth_cert(read_certs(cert)?, read_key(key)?)?
        }
        _ => builder.with_no_client_auth(),
    };
    config.alpn_protocols = vec![b"h2".to_vec()];
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let name = ServerName::try_from(server_name.to_owned())?;
    let addr = addr.to_owned();
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))?
        .connect_with_connector(tower_fn(move || {
            let (connector, name, addr) = (connector.clone(), name.clone(), addr.clone());
            async move {
                let tcp = TcpStream::connect(&addr).await?;
                tcp.set_nodelay(true)?;
                let tls = connector.connect(name, tcp).await?;
                Ok::<_, std::io::Error>(hyper_util::rt::TokioIo::new(tls))
            }
        }))
        .await?;
    Ok(channel)
}

/// A connector service from a closure (each call makes a new connection).
pub(crate) fn tower_fn<F, Fut, T>(f: F) -> ConnectFn<F>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Result<T, std::io::Error>>,
{
    ConnectFn(f)
}

#[derive(Clone)]
pub(crate) struct ConnectFn<F>(F);

impl<F, Fut, T> tower_service::Service<http::Uri> for ConnectFn<F>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Result<T, std::io::Error>> + Send + 'static,
{
    type Response = T;
    type Error = std::io::Error;
    type Future = Pin<Box<dyn std::future::Future<Output = Result<T, std::io::Error>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _: http::Uri) -> Self::Future {
        Box::pin((self.0)())
    }
}
