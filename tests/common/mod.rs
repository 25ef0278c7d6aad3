//! Test harness: starts the real server on `127.0.0.1:0` and talks to it with real clients.

#![allow(dead_code)]

pub mod redis_server;

use std::{
    net::SocketAddr,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
        mpsc,
    },
};

use riskgate::{
    config::Config,
    proto::v1::{
        self as pb, CreatePaymentEvaluationRequest,
        payment_evaluation_service_client::PaymentEvaluationServiceClient,
    },
    server::{Running, Server},
};
use riskgate_core::{
    attributes::Attributes,
    model::{LogisticModel, ModelScore, Scorer},
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tonic::transport::Channel;

/// A configuration that binds ephemeral loopback ports.
pub fn test_config() -> Config {
    let mut c = Config::default();
    c.grpc.addr = "127.0.0.1:0".parse().unwrap();
    c.admin.addr = "127.0.0.1:0".parse().unwrap();
    // Off: a test's own client shares the runtime and can saturate it for a moment, and then the
    // governor would refuse calls the test expects answered. Tests that want it turn it on.
    c.grpc.cpu_target_percent = 0;
    c
}

/// Starts a server with the default model.
pub async fn start(config: Config) -> Running {
    Server::new(config).start().await.expect("server starts")
}

/// Starts a server with `scorer`.
pub async fn start_with(config: Config, scorer: Arc<dyn Scorer>) -> Running {
    Server::new(config)
        .with_scorer(scorer)
        .start()
        .await
        .expect("server starts")
}

pub async fn channel(addr: SocketAddr) -> Channel {
    Channel::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await
        .unwrap()
}

pub async fn client(addr: SocketAddr) -> PaymentEvaluationServiceClient<Channel> {
    PaymentEvaluationServiceClient::new(channel(addr).await)
}

/// The bundled example request (examples/evaluation.json), without its idempotency key.
pub fn example_request() -> CreatePaymentEvaluationRequest {
    let text = include_str!("../../examples/evaluation.json");
    let mut req: CreatePaymentEvaluationRequest = serde_json::from_str(text).unwrap();
    req.idempotency_key.clear();
    req
}

/// The smallest valid request.
pub fn minimal_request() -> CreatePaymentEvaluationRequest {
    CreatePaymentEvaluationRequest {
        customer_details: Some(pb::CustomerDetails::default()),
        payment_details: Some(pb::PaymentDetails {
            amount: 2000,
            currency: "usd".into(),
            payment_method_details: Some(pb::PaymentMethodDetails {
                payment_method: "pm_123".into(),
                ..Default::default()
            }),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// GET `path` from the admin server: (status code, body).
pub async fn http_get(addr: SocketAddr, path: &str) -> (u16, String) {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(
        format!("GET {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n").as_bytes(),
    )
    .await
    .unwrap();
    let mut raw = String::new();
    s.read_to_string(&mut raw).await.unwrap();
    let status = raw[9..12].parse().unwrap();
    let body = raw
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

/// The value of one sample line of a Prometheus text exposition, e.g.
/// `riskgate_grpc_requests_total{method="…",code="OK"}`.
pub fn sample(metrics: &str, series: &str) -> Option<f64> {
    metrics.lines().find_map(|l| {
        l.strip_prefix(series)?
            .strip_prefix(' ')?
            .trim()
            .parse()
            .ok()
    })
}

/// A scorer that, once armed, stops inside `score` until the test releases it: makes "a call is in
/// flight" a fact the test controls, without sleeps.
pub struct GatedScorer {
    inner: LogisticModel,
    armed: AtomicBool,
    entered: Mutex<mpsc::Sender<()>>,
    release: Mutex<mpsc::Receiver<()>>,
}

/// The test's side of a [`GatedScorer`].
pub struct Gate {
    entered: Mutex<mpsc::Receiver<()>>,
    release: mpsc::Sender<()>,
}

impl GatedScorer {
    pub fn new() -> (Arc<Self>, Arc<Gate>) {
        let (entered_tx, entered_rx) = mpsc::channel();
        let (release_tx, release_rx) = mpsc::channel();
        (
            Arc::new(Self {
                inner: LogisticModel::default(),
                armed: AtomicBool::new(false),
                entered: Mutex::new(entered_tx),
                release: Mutex::new(release_rx),
            }),
            Arc::new(Gate {
                entered: Mutex::new(entered_rx),
                release: release_tx,
            }),
        )
    }

    /// From now on every score waits for a release.
    pub fn arm(&self) {
        self.armed.store(true, Ordering::SeqCst);
    }
}

impl Scorer for GatedScorer {
    fn version(&self) -> &str {
        "gated-test"
    }

    fn score(&self, attrs: &Attributes<'_>) -> ModelScore {
        if self.armed.load(Ordering::SeqCst) {
            self.entered.lock().unwrap().send(()).unwrap();
            self.release.lock().unwrap().recv().unwrap();
        }
        self.inner.score(attrs)
    }
}

impl Gate {
    /// Waits until a call is inside the scorer.
    pub async fn entered(self: &Arc<Self>) {
        let gate = self.clone();
        tokio::task::spawn_blocking(move || gate.entered.lock().unwrap().recv().unwrap())
            .await
            .unwrap();
    }

    /// Lets one waiting call finish.
    pub fn release(&self) {
        self.release.send(()).unwrap();
    }
}

/// The `riskgate` binary running as a child process; killed if the test ends without
/// [`ServerProcess::terminate`].
pub struct ServerProcess {
    child: Option<std::process::Child>,
    log: Option<std::thread::JoinHandle<String>>,
    /// `host:port` of the gRPC listener, read from the "riskgate serving" log line.
    pub grpc_addr: String,
}

impl ServerProcess {
    /// Starts `riskgate serve` on ephemeral loopback ports with `RUST_LOG=log_level`, and waits
    /// until it serves. The log is read continuously, so the server never blocks on a full pipe.
    pub fn spawn(extra_args: &[&str], log_level: &str) -> Self {
        use std::io::BufRead;
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_riskgate"))
            .args([
                "serve",
                "--grpc-addr",
                "127.0.0.1:0",
                "--admin-addr",
                "127.0.0.1:0",
            ])
            .args(extra_args)
            .env("RUST_LOG", log_level)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("riskgate starts");
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = mpsc::channel();
        let log = std::thread::spawn(move || {
            let mut log = String::new();
            for line in std::io::BufReader::new(stderr)
                .lines()
                .map_while(Result::ok)
            {
                if line.contains("riskgate serving") {
                    let addr = line
                        .split_whitespace()
                        .find_map(|w| w.strip_prefix("grpc_addr="));
                    let _ = tx.send(addr.map(str::to_owned));
                }
                log.push_str(&line);
                log.push('\n');
            }
            log
        });
        let grpc_addr = match rx.recv_timeout(std::time::Duration::from_secs(60)) {
            Ok(Some(addr)) => addr,
            other => {
                let _ = child.kill();
                panic!(
                    "riskgate did not start serving ({other:?}): {}",
                    log.join().unwrap()
                );
            }
        };
        Self {
            child: Some(child),
            log: Some(log),
            grpc_addr,
        }
    }

    /// Runs a `riskgate` client command (`eval`, `probe` …) against this server.
    pub fn run(&self, args: &[&str]) -> std::process::Output {
        std::process::Command::new(env!("CARGO_BIN_EXE_riskgate"))
            .args(args)
            .args(["--addr", &format!("http://{}", self.grpc_addr)])
            .output()
            .unwrap()
    }

    /// Sends SIGTERM; returns the exit status and the whole log.
    pub fn terminate(mut self) -> (std::process::ExitStatus, String) {
        let mut child = self.child.take().unwrap();
        let kill = std::process::Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(kill.success());
        let status = child.wait().unwrap();
        (status, self.log.take().unwrap().join().unwrap())
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        if let Some(child) = &mut self.child {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A temporary directory, removed on drop.
pub struct TempDir(pub std::path::PathBuf);

impl TempDir {
    pub fn new(name: &str) -> Self {
        let p = std::env::temp_dir().join(format!(
            "riskgate-{name}-{}-{}",
            std::process::id(),
            fastrand::u64(..)
        ));
        std::fs::create_dir_all(&p).unwrap();
        Self(p)
    }

    /// Writes `text` to `name` in the directory and returns its path.
    pub fn file(&self, name: &str, text: &str) -> std::path::PathBuf {
        let p = self.0.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    pub fn path(&self) -> &std::path::Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A numeric attribute of an answer (requested with `expand: ["attributes"]`).
pub fn number(answer: &pb::CreatePaymentEvaluationResponse, name: &str) -> Option<f64> {
    match answer.attributes.get(name)?.kind.as_ref()? {
        pb::attribute_value::Kind::Number(n) => Some(*n),
        _ => None,
    }
}
