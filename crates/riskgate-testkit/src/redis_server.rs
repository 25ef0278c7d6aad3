//! A real `redis-server` for tests, on a free loopback port, killed on drop. `scripts/test` installs
//! redis-server when it is missing; without it these tests fail (never skip), as CI requires.

use std::{
    net::TcpListener,
    process::{Child, Command, Stdio},
    time::Duration,
};

pub struct RedisServer {
    pub port: u16,
    child: Option<Child>,
    /// Extra `redis-server` arguments (`--requirepass`, `--tls-*`), kept for [`Self::restart`].
    extra: Vec<String>,
    /// Serves TLS only (`--tls-port`, `--port 0`): [`Self::url`] is `rediss://`.
    tls: bool,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl RedisServer {
    /// Starts a server with no persistence and waits until it answers.
    pub async fn start() -> Self {
        Self::start_with(Vec::new(), false).await
    }

    /// Starts a server with `extra` arguments, e.g. `--requirepass`; with `tls`, it listens for
    /// TLS only (the caller passes `--tls-cert-file`, `--tls-key-file`, `--tls-ca-cert-file`).
    pub async fn start_with(extra: Vec<String>, tls: bool) -> Self {
        let mut server = Self {
            port: free_port(),
            child: None,
            extra,
            tls,
        };
        server.spawn().await;
        server
    }

    pub fn url(&self) -> String {
        let scheme = if self.tls { "rediss" } else { "redis" };
        format!("{scheme}://127.0.0.1:{}", self.port)
    }

    async fn spawn(&mut self) {
        let port = self.port.to_string();
        let listen: &[&str] = if self.tls {
            &["--port", "0", "--tls-port", &port]
        } else {
            &["--port", &port]
        };
        let child = Command::new("redis-server")
            .args(listen)
            .args(["--bind", "127.0.0.1"])
            .args(&self.extra)
            .args(["--save", "", "--appendonly", "no", "--protected-mode", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start redis-server ({e}); scripts/test installs it when missing")
            });
        self.child = Some(child);
        // Wait for the port to accept connections (bounded; not a timing assertion).
        for _ in 0..400 {
            if tokio::net::TcpStream::connect(("127.0.0.1", self.port))
                .await
                .is_ok()
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("redis-server did not start on port {}", self.port);
    }

    /// Kills the server (abruptly, as a crash would).
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again on the same port (empty).
    pub async fn restart(&mut self) {
        self.kill();
        self.spawn().await;
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
    }
}
