//! The admin HTTP server from a test: a raw GET, a signed Stripe webhook, and samples of the
//! Prometheus exposition.

use std::net::SocketAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// GET `path` from the admin server: (status code, body).
pub async fn http_get(addr: SocketAddr, path: &str) -> (u16, String) {
    let head = format!("GET {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n");
    exchange(addr, head.as_bytes(), b"").await
}

/// POSTs `body` to the admin server's `/webhooks/stripe` with the `Stripe-Signature` header
/// `signature`: (status code, body).
pub async fn post_webhook(addr: SocketAddr, signature: &str, body: &[u8]) -> (u16, String) {
    let head = format!(
        "POST /webhooks/stripe HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\
         Content-Type: application/json\r\nStripe-Signature: {signature}\r\n\
         Content-Length: {}\r\n\r\n",
        body.len()
    );
    exchange(addr, head.as_bytes(), body).await
}

/// POSTs `event` to the admin server's `/webhooks/stripe`, signed now with `secret` as Stripe
/// signs it: (status code, body).
pub async fn post_stripe_webhook(addr: SocketAddr, secret: &str, event: &str) -> (u16, String) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs() as i64;
    let signature = riskgate::stripe::webhook::sign_header(secret, now, event.as_bytes());
    post_webhook(addr, &signature, event.as_bytes()).await
}

/// Sends one HTTP/1.1 request (`head`, then `body`) on a new connection: (status code, body).
async fn exchange(addr: SocketAddr, head: &[u8], body: &[u8]) -> (u16, String) {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(head).await.unwrap();
    s.write_all(body).await.unwrap();
    let mut raw = String::new();
    s.read_to_string(&mut raw).await.unwrap();
    let status = raw[9..12].parse().unwrap();
    let body = raw
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

/// One HTTP/1.1 request to the admin server with `headers` and `body`: (status code, response
/// headers lower-cased as `name: value` lines, body).
pub async fn http_request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, String, String) {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
    s.write_all(req.as_bytes()).await.unwrap();
    let mut raw = String::new();
    s.read_to_string(&mut raw).await.unwrap();
    let status = raw[9..12].parse().unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
    let head = head
        .lines()
        .skip(1)
        .map(|l| match l.split_once(':') {
            Some((k, v)) => format!("{}: {}", k.to_ascii_lowercase(), v.trim()),
            None => l.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("\n");
    (status, head, body.to_owned())
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
