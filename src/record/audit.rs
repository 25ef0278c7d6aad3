//! The decision audit log: one NDJSON line per decision, written by a background thread so that no
//! request waits on the disk, rotated by size.
//!
//! Nothing sensitive is written in clear: emails, card fingerprints and customer ids become `hmac:`
//! pseudonyms — the first 16 hex digits of an HMAC-SHA256 under the secret pseudonym key
//! ([`crate::pseudonym`]): they let an analyst correlate lines, and nobody without the key can test
//! a guessed email or card against them (an unkeyed hash could be matched by hashing candidates).
//! Each line names the key by its fingerprint (`pseudonym_key`). IP addresses are masked to their
//! /24 (IPv4) or /48 (IPv6) network, and the card is its BIN and country only.
//!
//! If the writer falls behind (the queue holds [`QUEUE_LINES`] lines), lines are dropped and
//! counted in `riskgate_audit_dropped_total` rather than slowing payments down.

use std::{
    fs::{File, OpenOptions},
    io::{BufWriter, Write},
    net::IpAddr,
    path::{Path, PathBuf},
    sync::mpsc::{self, Receiver, SyncSender, TrySendError},
};

use hmac::{Hmac, Mac};
use serde::Serialize;
use sha2::Sha256;

use crate::{pseudonym::PseudonymKey, telemetry};
use riskgate_core::{
    attributes::{Attr, Attributes},
    engine::Verdict,
};

/// Lines queued for the writer before new ones are dropped.
pub const QUEUE_LINES: usize = 16 * 1024;

/// One decision, as written.
#[derive(Debug, Serialize)]
pub struct AuditRecord<'a> {
    pub ts: i64,
    pub id: &'a str,
    pub action: &'static str,
    pub risk_score: u8,
    pub risk_level: &'static str,
    pub rule: Option<&'a str>,
    pub model: &'a str,
    pub degraded: bool,
    pub amount: Option<f64>,
    pub currency: Option<&'a str>,
    pub amount_in_usd: Option<f64>,
    pub card_bin: Option<&'a str>,
    pub card_country: Option<&'a str>,
    pub card_fingerprint: Option<String>,
    pub customer: Option<String>,
    pub email: Option<String>,
    pub email_domain: Option<&'a str>,
    pub ip_network: Option<String>,
    /// The fingerprint of the key the pseudonyms were made with.
    pub pseudonym_key: &'a str,
}

/// Makes the log's pseudonyms under the pseudonym key.
#[derive(Clone)]
pub struct Pseudonyms {
    mac: Hmac<Sha256>,
    fingerprint: String,
}

impl std::fmt::Debug for Pseudonyms {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pseudonyms")
            .field("fingerprint", &self.fingerprint)
            .finish_non_exhaustive()
    }
}

impl Pseudonyms {
    pub fn new(key: &PseudonymKey) -> Self {
        Self {
            mac: Hmac::<Sha256>::new_from_slice(key.audit_key()).expect("HMAC takes any key"),
            fingerprint: key.fingerprint().to_owned(),
        }
    }

    /// A pseudonym: `hmac:` and the first 16 hex digits (64 bits) of HMAC-SHA256 of the value.
    pub fn of(&self, value: &str) -> String {
        let mut mac = self.mac.clone();
        mac.update(value.as_bytes());
        let digest = mac.finalize().into_bytes();
        let mut out = String::with_capacity(21);
        out.push_str("hmac:");
        for b in &digest[..8] {
            out.push_str(&format!("{b:02x}"));
        }
        out
    }

    /// The key's fingerprint.
    pub fn key_fingerprint(&self) -> &str {
        &self.fingerprint
    }
}

/// The network of an address: /24 for IPv4, /48 for IPv6.
pub fn mask_ip(ip: &str) -> Option<String> {
    Some(match ip.parse::<IpAddr>().ok()? {
        IpAddr::V4(a) => {
            let o = a.octets();
            format!("{}.{}.{}.0/24", o[0], o[1], o[2])
        }
        IpAddr::V6(a) => {
            let s = a.segments();
            format!("{:x}:{:x}:{:x}::/48", s[0], s[1], s[2])
        }
    })
}

impl<'a> AuditRecord<'a> {
    /// The record of one decision.
    pub fn new(
        ts: i64,
        id: &'a str,
        verdict: &'a Verdict,
        attrs: &'a Attributes<'_>,
        model: &'a str,
        pseudonyms: &'a Pseudonyms,
    ) -> Self {
        let pseudonym = |attr| attrs.text(attr).map(|v| pseudonyms.of(v));
        Self {
            ts,
            id,
            action: verdict.action.as_str(),
            risk_score: verdict.risk_score,
            risk_level: verdict.risk_level.as_str(),
            rule: verdict.matched_rule.as_ref().map(|r| r.id.as_ref()),
            model,
            degraded: verdict.degraded,
            amount: attrs.number(Attr::Amount),
            currency: attrs.text(Attr::Currency),
            amount_in_usd: attrs.number(Attr::AmountInUsd),
            card_bin: attrs.text(Attr::CardBin),
            card_country: attrs.text(Attr::CardCountry),
            card_fingerprint: pseudonym(Attr::CardFingerprint),
            customer: pseudonym(Attr::Customer),
            email: pseudonym(Attr::Email),
            email_domain: attrs.text(Attr::EmailDomain),
            ip_network: attrs.text(Attr::IpAddress).and_then(mask_ip),
            pseudonym_key: pseudonyms.key_fingerprint(),
        }
    }
}

enum Msg {
    Line(Vec<u8>),
    Flush(mpsc::Sender<()>),
}

/// The audit log writer.
#[derive(Clone)]
pub struct AuditLog {
    tx: SyncSender<Msg>,
    pseudonyms: Pseudonyms,
}

impl std::fmt::Debug for AuditLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditLog").finish_non_exhaustive()
    }
}

impl AuditLog {
    /// Opens (appends to) `path` and starts the writer thread; pseudonyms are made under `key`.
    pub fn open(
        path: &Path,
        max_bytes: u64,
        max_files: u32,
        key: &PseudonymKey,
    ) -> std::io::Result<Self> {
        if let Some(dir) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        let size = file.metadata()?.len();
        let (tx, rx) = mpsc::sync_channel(QUEUE_LINES);
        let writer = Writer {
            path: path.to_owned(),
            out: BufWriter::new(file),
            size,
            max_bytes,
            max_files,
        };
        std::thread::Builder::new()
            .name("riskgate-audit".into())
            .spawn(move || writer.run(rx))?;
        Ok(Self {
            tx,
            pseudonyms: Pseudonyms::new(key),
        })
    }

    /// What records of this log make their pseudonyms with.
    pub fn pseudonyms(&self) -> &Pseudonyms {
        &self.pseudonyms
    }

    /// Queues one record; never blocks.
    pub fn record(&self, record: &AuditRecord<'_>) {
        self.record_json(record);
    }

    /// Queues one line of another audited record (a review change); never blocks.
    pub fn record_json<T: Serialize>(&self, record: &T) {
        let mut line = serde_json::to_vec(record).expect("audit records serialize");
        line.push(b'\n');
        match self.tx.try_send(Msg::Line(line)) {
            Ok(()) => {}
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => {
                metrics::counter!(telemetry::AUDIT_DROPPED).increment(1);
            }
        }
    }

    /// Waits until every queued line is written and flushed (tests, shutdown).
    pub fn flush(&self) {
        let (ack, done) = mpsc::channel();
        if self.tx.send(Msg::Flush(ack)).is_ok() {
            let _ = done.recv();
        }
    }
}

struct Writer {
    path: PathBuf,
    out: BufWriter<File>,
    size: u64,
    max_bytes: u64,
    max_files: u32,
}

impl Writer {
    fn run(mut self, rx: Receiver<Msg>) {
        while let Ok(msg) = rx.recv() {
            self.handle(msg);
            // Drain what is queued, then flush once.
            while let Ok(msg) = rx.try_recv() {
                self.handle(msg);
            }
            if let Err(e) = self.out.flush() {
                tracing::error!(error = %e, "audit log flush failed");
            }
        }
    }

    fn handle(&mut self, msg: Msg) {
        match msg {
            Msg::Line(line) => {
                if self.size + line.len() as u64 > self.max_bytes
                    && self.size > 0
                    && let Err(e) = self.rotate()
                {
                    tracing::error!(error = %e, "audit log rotation failed");
                }
                match self.out.write_all(&line) {
                    Ok(()) => self.size += line.len() as u64,
                    Err(e) => {
                        metrics::counter!(telemetry::AUDIT_DROPPED).increment(1);
                        tracing::error!(error = %e, "audit log write failed");
                    }
                }
            }
            Msg::Flush(ack) => {
                let _ = self.out.flush();
                let _ = ack.send(());
            }
        }
    }

    /// `path` → `path.1`, `path.1` → `path.2` …; the oldest beyond `max_files` is removed.
    fn rotate(&mut self) -> std::io::Result<()> {
        self.out.flush()?;
        let numbered = |n: u32| PathBuf::from(format!("{}.{n}", self.path.display()));
        if self.max_files == 0 {
            std::fs::remove_file(&self.path)?;
        } else {
            let _ = std::fs::remove_file(numbered(self.max_files));
            for n in (1..self.max_files).rev() {
                let from = numbered(n);
                if from.exists() {
                    std::fs::rename(&from, numbered(n + 1))?;
                }
            }
            std::fs::rename(&self.path, numbered(1))?;
        }
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)?;
        self.out = BufWriter::new(file);
        self.size = 0;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use super::*;
    use riskgate_core::{
        attributes::Value,
        decision::{Action, RiskLevel},
        engine::ScoreSource,
    };

    fn verdict() -> Verdict {
        Verdict {
            action: Action::Block,
            risk_score: 80,
            risk_level: RiskLevel::Highest,
            source: ScoreSource::LocalModel,
            matched_rule: None,
            reasons: vec![],
            degraded: false,
        }
    }

    #[test]
    fn records_hide_personal_data() {
        let mut a = Attributes::default();
        a.set(Attr::Email, Value::Text(Cow::Borrowed("jenny@example.com")));
        a.set(Attr::IpAddress, Value::Text(Cow::Borrowed("203.0.113.77")));
        a.set(
            Attr::CardFingerprint,
            Value::Text(Cow::Borrowed("Xt5EWLLDS7FJjR1c")),
        );
        let v = verdict();
        let key = PseudonymKey::from_secret(b"a test key of at least 32 characters");
        let p = Pseudonyms::new(&key);
        let line = serde_json::to_string(&AuditRecord::new(1, "peval_1", &v, &a, "m", &p)).unwrap();
        assert!(
            !line.contains("jenny") && !line.contains("203.0.113.77"),
            "{line}"
        );
        assert!(!line.contains("Xt5EWLLDS7FJjR1c"), "{line}");
        assert!(line.contains("\"ip_network\":\"203.0.113.0/24\""), "{line}");
        assert!(line.contains(&p.of("jenny@example.com")));
        assert!(line.contains(&format!("\"pseudonym_key\":\"{}\"", key.fingerprint())));
        assert_eq!(mask_ip("2001:db8:1:2::1").unwrap(), "2001:db8:1::/48");
        assert_eq!(p.of("a").len(), 21);
        // Keyed: another key gives another pseudonym, and the unkeyed hash is not there.
        let other = Pseudonyms::new(&PseudonymKey::generate());
        assert_ne!(other.of("jenny@example.com"), p.of("jenny@example.com"));
        assert!(!line.contains(&unkeyed("jenny@example.com")), "{line}");
    }

    /// What versions before keyed pseudonyms wrote: SHA-256 over a fixed tag and the value.
    fn unkeyed(value: &str) -> String {
        use sha2::Digest;
        let mut h = Sha256::new();
        h.update(b"riskgate-audit-v1\0");
        h.update(value.as_bytes());
        h.finalize()[..8]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    #[test]
    fn rotates_by_size_and_keeps_max_files() {
        let dir = std::env::temp_dir().join(format!(
            "riskgate-audit-{}-{}",
            std::process::id(),
            fastrand::u64(..)
        ));
        let path = dir.join("audit.ndjson");
        let log = AuditLog::open(&path, 4096, 2, &PseudonymKey::generate()).unwrap();
        let v = verdict();
        let a = Attributes::default();
        for i in 0..200 {
            let id = format!("peval_{i}");
            log.record(&AuditRecord::new(i, &id, &v, &a, "m", log.pseudonyms()));
        }
        log.flush();
        let count = |p: &Path| std::fs::read_to_string(p).map_or(0, |t| t.lines().count());
        let numbered = |n: u32| PathBuf::from(format!("{}.{n}", path.display()));
        assert!(std::fs::metadata(&path).unwrap().len() <= 4096);
        assert!(count(&numbered(1)) > 0 && count(&numbered(2)) > 0);
        assert!(!numbered(3).exists());
        // Every line is whole JSON.
        for p in [path.clone(), numbered(1), numbered(2)] {
            for l in std::fs::read_to_string(&p).unwrap().lines() {
                serde_json::from_str::<serde_json::Value>(l).unwrap();
            }
        }
        let last = std::fs::read_to_string(&path).unwrap();
        assert!(last.lines().last().unwrap().contains("peval_199"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
