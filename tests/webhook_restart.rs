//! Durable by default (issue 18): a Stripe event acted on before a restart is still a duplicate
//! after it, so a redelivery is not applied twice. Its id is in the data directory
//! (`webhook-events`) before Stripe hears 200.

use riskgate_testkit as common;

use std::time::Duration;

use riskgate::config::Secret;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use common::{TempDir, start, test_config};

const WHSEC: &str = "whsec_restart_test";

/// Posts `body`, signed, to the webhook endpoint; the whole answer.
async fn deliver(admin: std::net::SocketAddr, body: &str) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let signature = riskgate::stripe::signature::sign_header(WHSEC, now, body.as_bytes());
    let mut s = tokio::net::TcpStream::connect(admin).await.unwrap();
    let request = format!(
        "POST /webhooks/stripe HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\
         Content-Type: application/json\r\nStripe-Signature: {signature}\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    );
    s.write_all(request.as_bytes()).await.unwrap();
    let mut answer = String::new();
    s.read_to_string(&mut answer).await.unwrap();
    answer
}

#[tokio::test]
async fn an_event_acted_on_before_a_restart_is_a_duplicate_after_it() {
    let dir = TempDir::new("webhook-restart");
    let config = || {
        let mut c = test_config();
        c.state.data_dir = Some(dir.path().to_owned());
        c.webhooks.secret = Some(Secret::new(WHSEC));
        c
    };
    let event = serde_json::json!({
        "id": "evt_restart_1", "object": "event", "type": "radar.early_fraud_warning.created",
        "data": {"object": {
            "id": "issfr_1", "object": "radar.early_fraud_warning",
            "fraud_type": "made_with_stolen_card",
            "charge": {"id": "ch_1", "object": "charge",
                       "billing_details": {"email": "thief@example.com"}},
        }},
    })
    .to_string();

    let first = start(config()).await;
    let answer = deliver(first.admin_addr, &event).await;
    assert!(
        answer.starts_with("HTTP/1.1 200") && answer.contains("handled"),
        "{answer}"
    );
    first.shutdown(Duration::from_secs(5)).await.unwrap();

    let second = start(config()).await;
    let answer = deliver(second.admin_addr, &event).await;
    assert!(
        answer.starts_with("HTTP/1.1 200") && answer.contains("duplicate event"),
        "{answer}"
    );
    second.shutdown(Duration::from_secs(5)).await.unwrap();
    let kept = std::fs::read_to_string(dir.path().join("webhook-events")).unwrap();
    assert_eq!(kept, "evt_restart_1\n");
}
