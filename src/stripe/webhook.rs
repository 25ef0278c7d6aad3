//! Stripe webhooks: `Stripe-Signature` verification and the events riskgate acts on.
//!
//! The signature header is `t=<unix>,v1=<hex>[,v1=<hex>…]`; a request is genuine when any `v1` is
//! the HMAC-SHA256 of `"{t}.{raw body}"` under the endpoint's secret (compared in constant time) and
//! `t` is within the tolerance of now. The check, bounded before any HMAC, is in
//! [`super::signature`].
//!
//! Handled events: `radar.early_fraud_warning.created|updated` and `charge.dispute.created`. Each
//! counts, and — when the event carries them (an expanded `charge`) — adds the card fingerprint and
//! the email to the configured block lists (disputes only when their reason is `fraudulent`), and
//! appends a fraud label to the labels file. Redeliveries are recognised by event id.

use std::{
    collections::{HashSet, VecDeque},
    io::Write,
    path::Path,
    sync::{Arc, Mutex},
    time::Duration,
};

use serde_json::Value;

use crate::{config::WebhooksConfig, stores::lists::backend::ValueListStore, telemetry};

/// Event types riskgate acts on.
pub const HANDLED_EVENTS: &[&str] = &[
    "radar.early_fraud_warning.created",
    "radar.early_fraud_warning.updated",
    "charge.dispute.created",
];

// The signature check lives in `signature.rs` (bounded before any HMAC, issue 18); re-exported
// here, where callers have always found it.
pub use super::signature::{SignatureError, sign_header, signature, verify};

/// What became of a genuine webhook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Handled {
    /// A handled event; how many values were added to block lists.
    Accepted { event: String, blocked: usize },
    /// Seen before (Stripe redelivers); nothing done again.
    Duplicate,
    /// A genuine event of a type riskgate does not act on.
    Ignored,
}

/// Why a webhook was refused.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    #[error(transparent)]
    Signature(#[from] SignatureError),
    #[error("payload: {0}")]
    Payload(String),
    #[error("cannot record the label: {0}")]
    Labels(std::io::Error),
    /// The shared list store (Redis) did not answer: Stripe redelivers the event.
    #[error("block lists: {0}")]
    Lists(String),
}

/// Event ids seen recently, bounded (oldest forgotten first).
#[derive(Debug, Default)]
struct Seen {
    ids: HashSet<String>,
    order: VecDeque<String>,
}

/// Verifies and handles Stripe webhooks.
pub struct WebhookHandler {
    secret: crate::config::Secret,
    config: WebhooksConfig,
    lists: Arc<dyn ValueListStore>,
    seen: Mutex<Seen>,
    /// The ids of the events acted on, on disk (the data directory), when there is one.
    seen_file: Option<Mutex<super::webhook_seen::SeenFile>>,
    labels: Option<Mutex<std::fs::File>>,
}

impl std::fmt::Debug for WebhookHandler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookHandler").finish_non_exhaustive()
    }
}

impl WebhookHandler {
    pub fn new(
        secret: crate::config::Secret,
        config: WebhooksConfig,
        lists: Arc<dyn ValueListStore>,
    ) -> std::io::Result<Self> {
        let labels = match &config.labels_path {
            Some(path) => Some(Mutex::new(open_append(path)?)),
            None => None,
        };
        Ok(Self {
            secret,
            config,
            lists,
            seen: Mutex::new(Seen::default()),
            seen_file: None,
            labels,
        })
    }

    /// Keeps the ids of the events acted on in the file at `path` too (and starts from those it
    /// holds), so that a redelivery after a restart is still a duplicate. Blocking.
    pub fn with_seen_file(mut self, path: &Path) -> std::io::Result<Self> {
        let (file, ids) = super::webhook_seen::SeenFile::open(path, self.config.dedupe_capacity)?;
        for id in ids {
            self.remember(&id);
        }
        self.seen_file = Some(Mutex::new(file));
        Ok(self)
    }

    /// How far a signature's timestamp may be from now (`webhooks.tolerance_secs`).
    pub fn tolerance(&self) -> Duration {
        Duration::from_secs(self.config.tolerance_secs)
    }

    /// Verifies and handles one delivery. Blocking (list journal and labels file are fsynced):
    /// call it from a blocking thread.
    pub fn handle(
        &self,
        signature_header: Option<&str>,
        body: &[u8],
        now_unix: i64,
    ) -> Result<Handled, WebhookError> {
        let verified = verify(
            signature_header,
            body,
            self.secret.expose(),
            Duration::from_secs(self.config.tolerance_secs),
            now_unix,
        );
        if let Err(e) = verified {
            metrics::counter!(telemetry::WEBHOOKS, "outcome" => "bad_signature", "event" => "unknown")
                .increment(1);
            return Err(e.into());
        }
        let event: Value = serde_json::from_slice(body).map_err(|e| {
            metrics::counter!(telemetry::WEBHOOKS, "outcome" => "bad_payload", "event" => "unknown")
                .increment(1);
            WebhookError::Payload(e.to_string())
        })?;
        let id = event["id"].as_str().unwrap_or_default().to_owned();
        let kind = event["type"].as_str().unwrap_or_default();
        if id.is_empty() || kind.is_empty() {
            metrics::counter!(telemetry::WEBHOOKS, "outcome" => "bad_payload", "event" => "unknown")
                .increment(1);
            return Err(WebhookError::Payload(
                "an event needs `id` and `type`".into(),
            ));
        }
        let label = HANDLED_EVENTS
            .iter()
            .copied()
            .find(|e| *e == kind)
            .unwrap_or("other");
        if !self.remember(&id) {
            metrics::counter!(telemetry::WEBHOOKS, "outcome" => "duplicate", "event" => label)
                .increment(1);
            return Ok(Handled::Duplicate);
        }
        if label == "other" {
            metrics::counter!(telemetry::WEBHOOKS, "outcome" => "ignored", "event" => label)
                .increment(1);
            return Ok(Handled::Ignored);
        }
        let result = self.act(kind, &event, now_unix);
        if result.is_err() {
            // Let Stripe's redelivery try again.
            self.forget(&id);
        }
        let blocked = result?;
        if let Some(file) = &self.seen_file {
            let newest = || {
                let seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
                seen.order.iter().cloned().collect()
            };
            let mut file = file.lock().unwrap_or_else(|e| e.into_inner());
            if let Err(e) = file.append(&id, newest) {
                // Acted on and answered; only a redelivery after a restart would act again (the
                // list changes it makes are idempotent).
                tracing::warn!(event = %id, error = %e, "webhook event id not kept on disk");
            }
        }
        metrics::counter!(telemetry::WEBHOOKS, "outcome" => "accepted", "event" => label)
            .increment(1);
        tracing::info!(event = %id, kind, blocked, "stripe webhook handled");
        Ok(Handled::Accepted {
            event: kind.to_owned(),
            blocked,
        })
    }

    fn act(&self, kind: &str, event: &Value, now_unix: i64) -> Result<usize, WebhookError> {
        let object = &event["data"]["object"];
        let charge = &object["charge"];
        let fingerprint = charge["payment_method_details"]["card"]["fingerprint"].as_str();
        let email = charge["billing_details"]["email"]
            .as_str()
            .or_else(|| charge["receipt_email"].as_str())
            .or_else(|| object["evidence"]["customer_email_address"].as_str())
            .filter(|e| !e.is_empty());
        let (outcome_kind, reason, fraud) = if kind == "charge.dispute.created" {
            let reason = object["reason"].as_str().unwrap_or("unknown");
            ("disputed", reason, reason == "fraudulent")
        } else {
            let reason = object["fraud_type"].as_str().unwrap_or("unknown");
            ("early_fraud_warning", reason, true)
        };
        let mut blocked = 0;
        if self.config.block && fraud {
            for (list, value) in [
                (&self.config.card_fingerprint_list, fingerprint),
                (&self.config.email_list, email),
            ] {
                let Some(value) = value else { continue };
                match self
                    .lists
                    .create_item_blocking(list, value, now_unix, "stripe_webhook")
                {
                    Ok(_) => {
                        blocked += 1;
                        metrics::counter!(telemetry::WEBHOOK_BLOCKED, "list" => list.clone())
                            .increment(1);
                    }
                    Err(crate::stores::StoreError::AlreadyExists { .. }) => {}
                    Err(crate::stores::StoreError::Unavailable(m)) => {
                        return Err(WebhookError::Lists(m));
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, list, "webhook could not add to a block list");
                    }
                }
            }
        }
        if let Some(labels) = &self.labels {
            let charge_id = charge
                .as_str()
                .or_else(|| charge["id"].as_str())
                .unwrap_or_default();
            let occurred_at = object["created"].as_i64().unwrap_or(now_unix);
            let line = serde_json::json!({
                "occurred_at": occurred_at,
                "label": {"fraud": fraud},
                "outcome": {"kind": outcome_kind, "reason": reason, "occurred_at": occurred_at},
                "stripe": {
                    "event": event["id"], "charge": charge_id,
                    "payment_intent": object["payment_intent"],
                },
            });
            let mut file = labels.lock().unwrap_or_else(|e| e.into_inner());
            let mut text = line.to_string();
            text.push('\n');
            file.write_all(text.as_bytes())
                .and_then(|()| file.sync_data())
                .map_err(WebhookError::Labels)?;
        }
        Ok(blocked)
    }

    /// Records `id`; false when it was already there.
    fn remember(&self, id: &str) -> bool {
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        if !seen.ids.insert(id.to_owned()) {
            return false;
        }
        seen.order.push_back(id.to_owned());
        while seen.order.len() > self.config.dedupe_capacity {
            if let Some(old) = seen.order.pop_front() {
                seen.ids.remove(&old);
            }
        }
        true
    }

    fn forget(&self, id: &str) {
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        seen.ids.remove(id);
        seen.order.retain(|i| i != id);
    }
}

fn open_append(path: &Path) -> std::io::Result<std::fs::File> {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stores::lists::{backend::JournalLists, journal::ListStore};

    const SECRET: &str = "whsec_test_secret";
    const NOW: i64 = 1_795_000_000;

    fn efw(id: &str, fingerprint: &str) -> Vec<u8> {
        serde_json::json!({
            "id": id, "object": "event", "type": "radar.early_fraud_warning.created",
            "data": {"object": {
                "id": "issfr_1", "object": "radar.early_fraud_warning", "actionable": true,
                "fraud_type": "made_with_stolen_card", "created": NOW,
                "charge": {"id": "ch_1", "object": "charge",
                    "billing_details": {"email": "Thief@Example.com"},
                    "payment_method_details": {"card": {"fingerprint": fingerprint}}},
            }},
        })
        .to_string()
        .into_bytes()
    }

    #[test]
    fn early_fraud_warning_blocks_card_and_email_once() {
        let dir = std::env::temp_dir().join(format!("riskgate-webhook-{}", fastrand::u64(..)));
        std::fs::create_dir_all(&dir).unwrap();
        let labels = dir.join("labels.ndjson");
        let lists = Arc::new(JournalLists::new(Arc::new(ListStore::in_memory(NOW))));
        let config = WebhooksConfig {
            labels_path: Some(labels.clone()),
            ..Default::default()
        };
        let h = WebhookHandler::new(SECRET.into(), config, lists.clone()).unwrap();
        let body = efw("evt_efw_1", "fpAbC123");
        let sig = sign_header(SECRET, NOW, &body);
        assert_eq!(
            h.handle(Some(&sig), &body, NOW).unwrap(),
            Handled::Accepted {
                event: "radar.early_fraud_warning.created".into(),
                blocked: 2
            }
        );
        use riskgate_core::lists::ListLookup;
        assert!(
            lists
                .lookup("block_list_card_fingerprint")
                .unwrap()
                .contains("fpAbC123")
        );
        assert!(
            lists
                .lookup("block_list_email")
                .unwrap()
                .contains("thief@example.com")
        );
        assert_eq!(
            h.handle(Some(&sig), &body, NOW).unwrap(),
            Handled::Duplicate
        );
        let text = std::fs::read_to_string(&labels).unwrap();
        assert_eq!(text.lines().count(), 1);
        let line: Value = serde_json::from_str(text.trim()).unwrap();
        assert_eq!(line["outcome"]["kind"], "early_fraud_warning");
        assert_eq!(line["label"]["fraud"], true);
        assert_eq!(line["stripe"]["charge"], "ch_1");
        assert!(!text.contains("Thief"), "no email in the labels");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn non_fraud_disputes_count_but_block_nothing_and_dedupe_is_bounded() {
        let lists = Arc::new(JournalLists::new(Arc::new(ListStore::in_memory(NOW))));
        let config = WebhooksConfig {
            dedupe_capacity: 1,
            ..Default::default()
        };
        let h = WebhookHandler::new(SECRET.into(), config, lists).unwrap();
        let dispute = |id: &str| {
            serde_json::json!({"id": id, "type": "charge.dispute.created",
                "data": {"object": {"reason": "product_not_received",
                    "charge": {"payment_method_details": {"card": {"fingerprint": "fp1"}}}}}})
            .to_string()
        };
        let send = |body: String| {
            let sig = sign_header(SECRET, NOW, body.as_bytes());
            h.handle(Some(&sig), body.as_bytes(), NOW).unwrap()
        };
        assert!(matches!(
            send(dispute("evt_a")),
            Handled::Accepted { blocked: 0, .. }
        ));
        assert!(matches!(send(dispute("evt_b")), Handled::Accepted { .. }));
        // evt_a was forgotten when evt_b came (capacity 1).
        assert!(matches!(send(dispute("evt_a")), Handled::Accepted { .. }));
        let other = r#"{"id":"evt_c","type":"charge.succeeded","data":{"object":{}}}"#;
        assert_eq!(send(other.into()), Handled::Ignored);
    }
}
