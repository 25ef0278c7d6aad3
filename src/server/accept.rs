//! Accept loops that survive resource exhaustion and slow clients (issue 18).
//!
//! When `accept` fails because the process or the system is out of something — file descriptors
//! (EMFILE, ENFILE), socket buffers (ENOBUFS) or memory (ENOMEM) — the pending connection stays
//! in the kernel's backlog, so trying again at once fails again at once: tonic's `TcpIncoming`
//! did that (6 CPU-seconds in 5 s under `ulimit -n 64`), and loops that log did so millions of
//! times. Every accept loop here instead waits before the next attempt, doubling the wait from
//! [`BACKOFF_MIN`] to [`BACKOFF_MAX`] while the errors last (reset by the next success), logs at
//! most one line per [`LOG_EVERY`] per listener (with how many it left out), and counts every
//! failure in `riskgate_accept_errors_total{listener,kind}`.
//!
//! The gRPC listeners also hand a connection to the server only once the client has sent its
//! first bytes, within [`FIRST_BYTES_TIMEOUT`]: a client that connects and says nothing costs a
//! descriptor for that long, not forever (TLS connections have the handshake timeout instead).

use std::{
    future::Future,
    io,
    time::{Duration, Instant},
};

use tokio::{
    net::{TcpListener, TcpStream, UnixListener, UnixStream},
    sync::mpsc,
};
use tokio_stream::wrappers::ReceiverStream;

use crate::telemetry;

/// The first wait after a resource error: short, since a descriptor may be freed at any moment.
pub const BACKOFF_MIN: Duration = Duration::from_millis(5);
/// The longest wait: a second without accepting is the most the loop adds to recovery.
pub const BACKOFF_MAX: Duration = Duration::from_secs(1);
/// At most one log line per listener this often while accept keeps failing.
pub const LOG_EVERY: Duration = Duration::from_secs(10);
/// A gRPC client must send its first bytes (the HTTP/2 preface) within this.
pub const FIRST_BYTES_TIMEOUT: Duration = Duration::from_secs(10);
/// Connections waiting for the server to pick them up.
const BACKLOG: usize = 128;

/// Whether `e` means the process or system ran out of a resource (accepting again at once would
/// fail again).
pub fn is_resource_error(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM)
    )
}

/// One listener's accept-error state: the current wait and the log's rate limit.
#[derive(Debug)]
pub struct Acceptor {
    listener: &'static str,
    delay: Duration,
    last_log: Option<Instant>,
    suppressed: u64,
}

impl Acceptor {
    /// `listener` names it in logs and in the metric's `listener` label (a fixed set).
    pub fn new(listener: &'static str) -> Self {
        Self {
            listener,
            delay: Duration::ZERO,
            last_log: None,
            suppressed: 0,
        }
    }

    /// A connection was accepted: the errors are over.
    pub fn accepted(&mut self) {
        self.delay = Duration::ZERO;
    }

    /// Counts and (rate-limited) logs a failed accept; returns how long to wait before the next.
    pub fn failed(&mut self, e: &io::Error) -> Duration {
        let resource = is_resource_error(e);
        let kind = if resource { "resource" } else { "other" };
        metrics::counter!(telemetry::ACCEPT_ERRORS, "listener" => self.listener, "kind" => kind)
            .increment(1);
        let now = Instant::now();
        if self
            .last_log
            .is_none_or(|last| now.duration_since(last) >= LOG_EVERY)
        {
            tracing::warn!(
                listener = self.listener,
                error = %e,
                suppressed = self.suppressed,
                "accept failed{}",
                if resource { "; backing off" } else { "" }
            );
            self.last_log = Some(now);
            self.suppressed = 0;
        } else {
            self.suppressed += 1;
        }
        if resource {
            self.delay = (self.delay * 2).clamp(BACKOFF_MIN, BACKOFF_MAX);
            self.delay
        } else {
            // A connection that went away before it was accepted (ECONNABORTED …): the next one
            // may be fine.
            Duration::ZERO
        }
    }
}

/// A listener the loops below can accept from.
pub trait Accept: Send + 'static {
    type Conn: Send + 'static;
    fn accept_one(&self) -> impl Future<Output = io::Result<Self::Conn>> + Send;
    /// Resolves when the connection has bytes to read (or was closed).
    fn first_bytes(conn: &Self::Conn) -> impl Future<Output = io::Result<()>> + Send;
}

impl Accept for TcpListener {
    type Conn = TcpStream;

    async fn accept_one(&self) -> io::Result<TcpStream> {
        let (stream, _) = self.accept().await?;
        let _ = stream.set_nodelay(true);
        Ok(stream)
    }

    async fn first_bytes(conn: &TcpStream) -> io::Result<()> {
        conn.readable().await
    }
}

impl Accept for UnixListener {
    type Conn = UnixStream;

    async fn accept_one(&self) -> io::Result<UnixStream> {
        self.accept().await.map(|(stream, _)| stream)
    }

    async fn first_bytes(conn: &UnixStream) -> io::Result<()> {
        conn.readable().await
    }
}

/// The connections of `listener` for tonic's `serve_with_incoming`: accepted with back-off on
/// errors (never yielded as errors, which tonic would retry at once), and each passed on once
/// its client has spoken. Stops when the server drops the stream.
pub fn incoming<L: Accept>(listener: L, name: &'static str) -> ReceiverStream<io::Result<L::Conn>> {
    let (tx, rx) = mpsc::channel(BACKLOG);
    tokio::spawn(async move {
        let mut acceptor = Acceptor::new(name);
        loop {
            let accepted = tokio::select! {
                accepted = listener.accept_one() => accepted,
                () = tx.closed() => return,
            };
            match accepted {
                Ok(conn) => {
                    acceptor.accepted();
                    let tx = tx.clone();
                    tokio::spawn(async move {
                        match tokio::time::timeout(FIRST_BYTES_TIMEOUT, L::first_bytes(&conn)).await
                        {
                            Ok(Ok(())) => {
                                let _ = tx.send(Ok(conn)).await;
                            }
                            Ok(Err(_)) => {}
                            Err(_) => {
                                metrics::counter!(telemetry::ACCEPT_ERRORS, "listener" => name, "kind" => "silent_client")
                                    .increment(1);
                                tracing::debug!(
                                    listener = name,
                                    "client sent nothing within {FIRST_BYTES_TIMEOUT:?}; closed"
                                );
                            }
                        }
                    });
                }
                Err(e) => {
                    let pause = acceptor.failed(&e);
                    if !pause.is_zero() {
                        tokio::select! {
                            () = tokio::time::sleep(pause) => {}
                            () = tx.closed() => return,
                        }
                    }
                }
            }
        }
    });
    ReceiverStream::new(rx)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn emfile() -> io::Error {
        io::Error::from_raw_os_error(libc::EMFILE)
    }

    #[test]
    fn resource_errors_back_off_and_successes_reset() {
        let mut a = Acceptor::new("test");
        assert_eq!(a.failed(&emfile()), BACKOFF_MIN);
        assert_eq!(a.failed(&emfile()), BACKOFF_MIN * 2);
        for _ in 0..20 {
            a.failed(&io::Error::from_raw_os_error(libc::ENFILE));
        }
        assert_eq!(a.failed(&emfile()), BACKOFF_MAX);
        a.accepted();
        assert_eq!(a.failed(&emfile()), BACKOFF_MIN);
        // A connection aborted before accept is no reason to wait.
        assert_eq!(
            a.failed(&io::Error::from_raw_os_error(libc::ECONNABORTED)),
            Duration::ZERO
        );
        assert!(is_resource_error(&io::Error::from_raw_os_error(
            libc::ENOBUFS
        )));
        assert!(is_resource_error(&io::Error::from_raw_os_error(
            libc::ENOMEM
        )));
        assert!(!is_resource_error(&io::Error::other("x")));
    }

    #[test]
    fn logs_are_rate_limited() {
        let mut a = Acceptor::new("test");
        for _ in 0..1000 {
            a.failed(&emfile());
        }
        assert_eq!(a.suppressed, 999);
    }
}
