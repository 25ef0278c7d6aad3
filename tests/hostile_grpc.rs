//! Issue 18, hostile HTTP/2 on the gRPC port, through a real server on loopback: each case is
//! sent the way an attacker would (raw frames where a well-behaved client library would refuse to
//! misbehave) and asserts the precise refusal, the bound on CPU, and that the server still answers
//! a genuine call afterwards.
//!
//! - more streams than `grpc.max_concurrent_streams`: each extra one RST_STREAM REFUSED_STREAM;
//! - rapid reset (CVE-2023-44487): GOAWAY ENHANCE_YOUR_CALM;
//! - CONTINUATION flood (CVE-2024-27316 family): GOAWAY ENHANCE_YOUR_CALM after a few frames;
//! - a request body trickled or never finished: DEADLINE_EXCEEDED after `grpc.max_call_secs`;
//! - a content-type other than `application/grpc`: HTTP 415, no service reached.
//! - a client that leaves mid-request (connection closed, stream reset): counted CANCELLED, not
//!   UNKNOWN.
//!
//! Header lists over the limit are in `hostile_edge.rs`.

use riskgate_testkit as common;

use std::{
    net::SocketAddr,
    time::{Duration, Instant},
};

use bytes::Bytes;
use http_body_util::{BodyExt, Empty, StreamBody};
use hyper::body::Frame;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

use common::{http_get, minimal_request, sample, start, test_config};

const EVALUATE: &str = "/riskgate.v1.PaymentEvaluationService/CreatePaymentEvaluation";

// HTTP/2 frame types, flags and error codes (RFC 9113).
const DATA: u8 = 0x0;
const HEADERS: u8 = 0x1;
const RST_STREAM: u8 = 0x3;
const SETTINGS: u8 = 0x4;
const PING: u8 = 0x6;
const GOAWAY: u8 = 0x7;
const CONTINUATION: u8 = 0x9;
const END_STREAM: u8 = 0x1;
const ACK: u8 = 0x1;
const END_HEADERS: u8 = 0x4;
const CANCEL: u32 = 0x8;
const REFUSED_STREAM: u32 = 0x7;
const ENHANCE_YOUR_CALM: u32 = 0xb;

/// CPU seconds (user + system) this process (which holds the server) has used.
fn cpu_seconds() -> f64 {
    // SAFETY: getrusage writes into the struct we pass; RUSAGE_SELF is always valid.
    let usage = unsafe {
        let mut u = std::mem::zeroed::<libc::rusage>();
        libc::getrusage(libc::RUSAGE_SELF, &mut u);
        u
    };
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    secs(usage.ru_utime) + secs(usage.ru_stime)
}

fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let len = payload.len() as u32;
    let mut f = vec![(len >> 16) as u8, (len >> 8) as u8, len as u8, kind, flags];
    f.extend_from_slice(&stream.to_be_bytes());
    f.extend_from_slice(payload);
    f
}

/// One HPACK "literal header field without indexing — new name" (names and values < 127 bytes).
fn literal(name: &str, value: &str) -> Vec<u8> {
    assert!(name.len() < 127 && value.len() < 127);
    let mut b = vec![0x00, name.len() as u8];
    b.extend_from_slice(name.as_bytes());
    b.push(value.len() as u8);
    b.extend_from_slice(value.as_bytes());
    b
}

/// The header block of a gRPC call to `path`.
fn call_headers(path: &str) -> Vec<u8> {
    [
        literal(":method", "POST"),
        literal(":scheme", "http"),
        literal(":path", path),
        literal(":authority", "localhost"),
        literal("content-type", "application/grpc"),
        literal("te", "trailers"),
    ]
    .concat()
}

struct Frame2 {
    kind: u8,
    flags: u8,
    stream: u32,
    payload: Vec<u8>,
}

impl Frame2 {
    /// The error code of a RST_STREAM or GOAWAY frame.
    fn error_code(&self) -> u32 {
        let at = if self.kind == GOAWAY { 4 } else { 0 };
        u32::from_be_bytes(self.payload[at..at + 4].try_into().unwrap())
    }
}

/// A raw HTTP/2 connection, past the preface and the SETTINGS exchange (both sides acknowledged),
/// so that the server's limits are in force.
struct Raw {
    s: TcpStream,
}

impl Raw {
    async fn connect(addr: SocketAddr) -> Self {
        let mut s = TcpStream::connect(addr).await.unwrap();
        s.write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
            .await
            .unwrap();
        s.write_all(&frame(SETTINGS, 0, 0, &[])).await.unwrap();
        let mut raw = Self { s };
        let (mut theirs, mut ours_acked) = (false, false);
        while !(theirs && ours_acked) {
            let f = raw.next(Duration::from_secs(10)).await.expect("SETTINGS");
            if f.kind == SETTINGS && f.flags & ACK != 0 {
                ours_acked = true;
            } else if f.kind == SETTINGS {
                theirs = true;
                raw.s
                    .write_all(&frame(SETTINGS, ACK, 0, &[]))
                    .await
                    .unwrap();
            }
        }
        raw
    }

    /// The next frame, or `None` when the server closed the connection or `wait` passed.
    async fn next(&mut self, wait: Duration) -> Option<Frame2> {
        let read = async {
            let mut head = [0u8; 9];
            self.s.read_exact(&mut head).await.ok()?;
            let len =
                (usize::from(head[0]) << 16) | (usize::from(head[1]) << 8) | usize::from(head[2]);
            let mut payload = vec![0u8; len];
            self.s.read_exact(&mut payload).await.ok()?;
            Some(Frame2 {
                kind: head[3],
                flags: head[4],
                stream: u32::from_be_bytes(head[5..9].try_into().unwrap()) & 0x7fff_ffff,
                payload,
            })
        };
        tokio::time::timeout(wait, read).await.ok().flatten()
    }

    /// Frames until the server closes the connection or is quiet for `quiet`.
    async fn drain(&mut self, quiet: Duration) -> Vec<Frame2> {
        let mut frames = Vec::new();
        while let Some(f) = self.next(quiet).await {
            frames.push(f);
        }
        frames
    }
}

/// Whether the server still answers a genuine evaluation on a fresh connection.
async fn still_serves(addr: SocketAddr) {
    common::client(addr)
        .await
        .create_payment_evaluation(minimal_request())
        .await
        .expect("the server still answers a genuine call");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streams_beyond_the_limit_are_refused_one_by_one() {
    let mut config = test_config();
    config.grpc.max_concurrent_streams = 8;
    let server = start(config).await;
    let mut raw = Raw::connect(server.grpc_addr).await;

    // 20 calls opened at once, none finishing its body: 8 are admitted, 12 refused.
    let streams: Vec<u32> = (0..20).map(|i| 1 + 2 * i).collect();
    let mut burst = Vec::new();
    for &id in &streams {
        burst.extend(frame(HEADERS, END_HEADERS, id, &call_headers(EVALUATE)));
    }
    raw.s.write_all(&burst).await.unwrap();
    let frames = raw.drain(Duration::from_secs(2)).await;
    let refused: Vec<u32> = frames
        .iter()
        .filter(|f| f.kind == RST_STREAM && f.error_code() == REFUSED_STREAM)
        .map(|f| f.stream)
        .collect();
    assert_eq!(
        refused,
        streams[8..],
        "RST_STREAM REFUSED_STREAM for the 12 extra streams"
    );
    assert!(
        frames.iter().all(|f| f.kind != GOAWAY),
        "the connection itself is kept"
    );
    // The connection still takes frames: finishing one admitted stream is not an error.
    raw.s
        .write_all(&frame(DATA, END_STREAM, streams[0], &[0, 0, 0, 0, 0]))
        .await
        .unwrap();
    assert!(
        raw.drain(Duration::from_secs(2))
            .await
            .iter()
            .all(|f| f.kind != GOAWAY)
    );
    still_serves(server.grpc_addr).await;
    // The 7 streams still open would hold the drain until grpc.max_call_secs: close them.
    drop(raw);
    server.shutdown(Duration::from_secs(5)).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rapid_reset_flood_is_answered_goaway_enhance_your_calm() {
    let server = start(test_config()).await;
    let mut raw = Raw::connect(server.grpc_addr).await;
    let cpu = cpu_seconds();
    // 5,000 calls, each opened and cancelled at once, in one write.
    let mut flood = Vec::new();
    for i in 0..5000u32 {
        let id = 1 + 2 * i;
        flood.extend(frame(HEADERS, END_HEADERS, id, &call_headers(EVALUATE)));
        flood.extend(frame(RST_STREAM, 0, id, &CANCEL.to_be_bytes()));
    }
    // The server may close before it has read everything.
    let _ = raw.s.write_all(&flood).await;
    let frames = raw.drain(Duration::from_secs(5)).await;
    let goaway = frames.iter().find(|f| f.kind == GOAWAY).expect("GOAWAY");
    assert_eq!(goaway.error_code(), ENHANCE_YOUR_CALM);
    let cpu = cpu_seconds() - cpu;
    eprintln!("rapid reset: {cpu:.3} s CPU");
    assert!(cpu < 2.0, "{cpu} s of CPU for one flood");
    still_serves(server.grpc_addr).await;
    server.shutdown(Duration::from_secs(5)).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_continuation_flood_is_cut_after_a_few_frames() {
    let server = start(test_config()).await;
    let mut raw = Raw::connect(server.grpc_addr).await;
    // A header block that never ends: 10,000 CONTINUATION frames of 1 KiB (10 MiB).
    let mut flood = frame(HEADERS, 0, 1, &call_headers(EVALUATE));
    let pad = literal("x-pad", &"p".repeat(100)).repeat(9);
    for _ in 0..10_000 {
        flood.extend(frame(CONTINUATION, 0, 1, &pad));
    }
    let started = Instant::now();
    let _ = raw.s.write_all(&flood).await;
    let frames = raw.drain(Duration::from_secs(5)).await;
    let goaway = frames.iter().find(|f| f.kind == GOAWAY).expect("GOAWAY");
    assert_eq!(goaway.error_code(), ENHANCE_YOUR_CALM);
    assert!(
        String::from_utf8_lossy(&goaway.payload[8..]).contains("too_many_continuations"),
        "{:?}",
        String::from_utf8_lossy(&goaway.payload[8..])
    );
    assert!(started.elapsed() < Duration::from_secs(10));
    still_serves(server.grpc_addr).await;
    server.shutdown(Duration::from_secs(5)).await.unwrap();
}

/// An HTTP/2 client (hyper's) for requests no gRPC library sends.
async fn h2(
    addr: SocketAddr,
) -> hyper::client::conn::http2::SendRequest<
    http_body_util::combinators::BoxBody<Bytes, std::convert::Infallible>,
> {
    let tcp = TcpStream::connect(addr).await.unwrap();
    let (send, conn) = hyper::client::conn::http2::handshake(
        hyper_util::rt::TokioExecutor::new(),
        hyper_util::rt::TokioIo::new(tcp),
    )
    .await
    .unwrap();
    tokio::spawn(conn);
    send
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trickled_or_unfinished_body_ends_deadline_exceeded_after_max_call() {
    let mut config = test_config();
    config.grpc.max_call_secs = 2;
    let server = start(config).await;
    let mut send = h2(server.grpc_addr).await;

    // A gRPC message that announces 1,000 bytes, then sends one every 300 ms, and a call that
    // sends its headers and no body at all; one with a longer grpc-timeout than the bound.
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Frame<Bytes>, std::convert::Infallible>>(4);
    tokio::spawn(async move {
        let _ = tx
            .send(Ok(Frame::data(Bytes::from_static(&[0, 0, 0, 3, 232]))))
            .await;
        loop {
            tokio::time::sleep(Duration::from_millis(300)).await;
            if tx
                .send(Ok(Frame::data(Bytes::from_static(b"x"))))
                .await
                .is_err()
            {
                return;
            }
        }
    });
    let trickled = StreamBody::new(tokio_stream::wrappers::ReceiverStream::new(rx)).boxed();
    let (never_tx, never_rx) =
        tokio::sync::mpsc::channel::<Result<Frame<Bytes>, std::convert::Infallible>>(1);
    let unfinished = StreamBody::new(tokio_stream::wrappers::ReceiverStream::new(never_rx)).boxed();
    for (name, body, timeout) in [
        ("trickled", trickled, None),
        ("unfinished", unfinished, Some("1H")),
    ] {
        let mut req = http::Request::post(format!("http://localhost{EVALUATE}"))
            .header("content-type", "application/grpc")
            .header("te", "trailers");
        if let Some(t) = timeout {
            req = req.header("grpc-timeout", t);
        }
        let started = Instant::now();
        let answer = tokio::time::timeout(
            Duration::from_secs(20),
            send.send_request(req.body(body).unwrap()),
        )
        .await
        .unwrap_or_else(|_| panic!("{name}: no answer in 20 s"))
        .unwrap();
        let took = started.elapsed();
        assert_eq!(answer.status(), 200, "{name}");
        assert_eq!(
            answer
                .headers()
                .get("grpc-status")
                .map(|v| v.to_str().unwrap()),
            Some("4"),
            "{name}: DEADLINE_EXCEEDED"
        );
        assert!(
            took >= Duration::from_millis(1500) && took < Duration::from_secs(8),
            "{name}: answered after {took:?}"
        );
    }
    drop(never_tx);
    still_serves(server.grpc_addr).await;
    server.shutdown(Duration::from_secs(5)).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_that_are_not_grpc_are_answered_415() {
    let server = start(test_config()).await;
    let mut send = h2(server.grpc_addr).await;
    for content_type in [Some("application/json"), Some("text/plain"), None] {
        let mut req = http::Request::post(format!("http://localhost{EVALUATE}"));
        if let Some(c) = content_type {
            req = req.header("content-type", c);
        }
        let answer = send
            .send_request(req.body(Empty::new().boxed()).unwrap())
            .await
            .unwrap();
        assert_eq!(answer.status(), 415, "{content_type:?}");
        assert!(answer.headers().get("grpc-status").is_none());
    }
    let (_, metrics) = http_get(server.admin_addr, "/metrics").await;
    assert_eq!(
        sample(&metrics, "riskgate_grpc_non_grpc_requests_total"),
        Some(3.0)
    );
    still_serves(server.grpc_addr).await;
    server.shutdown(Duration::from_secs(5)).await.unwrap();
}

/// The count of `method` calls answered `code`, as `/metrics` shows it.
async fn calls_with_code(admin: SocketAddr, method: &str, code: &str) -> f64 {
    let (_, metrics) = http_get(admin, "/metrics").await;
    let series = format!(
        "riskgate_grpc_requests_total{{method=\"{}\",code=\"{code}\"}}",
        method.trim_start_matches('/')
    );
    sample(&metrics, &series).unwrap_or(0.0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_leaves_mid_request_is_counted_cancelled_not_unknown() {
    // A method no other test here calls: the metrics are the process's, shared by the tests
    // that run beside this one.
    const METHOD: &str = "/riskgate.v1.RadarSessionService/GetRadarSession";
    let server = start(test_config()).await;
    // Half a gRPC message (it announces 100 bytes), then the client goes: once by closing the
    // connection (as a load generator does at the end of its run, or a crashed client), once by
    // resetting the stream with CANCEL (as a client library does when its caller gives up).
    for reset in [false, true] {
        let mut raw = Raw::connect(server.grpc_addr).await;
        raw.s
            .write_all(&frame(HEADERS, END_HEADERS, 1, &call_headers(METHOD)))
            .await
            .unwrap();
        raw.s
            .write_all(&frame(
                DATA,
                0,
                1,
                &[0, 0, 0, 0, 100, 10, 3, b'r', b's', b'e'],
            ))
            .await
            .unwrap();
        // The server answers a PING after it has read the frames before it, so the call has
        // reached the service (it waits for the rest of the message).
        raw.s
            .write_all(&frame(PING, 0, 0, b"leaving!"))
            .await
            .unwrap();
        loop {
            let f = raw.next(Duration::from_secs(10)).await.expect("PING ACK");
            if f.kind == PING && f.flags & ACK != 0 {
                break;
            }
        }
        if reset {
            raw.s
                .write_all(&frame(RST_STREAM, 0, 1, &CANCEL.to_be_bytes()))
                .await
                .unwrap();
            raw.drain(Duration::from_millis(300)).await;
        }
        drop(raw);
        let want = if reset { 2.0 } else { 1.0 };
        let deadline = Instant::now() + Duration::from_secs(10);
        while calls_with_code(server.admin_addr, METHOD, "CANCELLED").await < want {
            assert!(
                Instant::now() < deadline,
                "the call was not counted CANCELLED (reset {reset}): UNKNOWN {}",
                calls_with_code(server.admin_addr, METHOD, "UNKNOWN").await
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    assert_eq!(
        calls_with_code(server.admin_addr, METHOD, "UNKNOWN").await,
        0.0
    );
    assert_eq!(
        calls_with_code(server.admin_addr, METHOD, "CANCELLED").await,
        2.0
    );
    still_serves(server.grpc_addr).await;
    server.shutdown(Duration::from_secs(5)).await.unwrap();
}
