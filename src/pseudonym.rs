//! The pseudonym key: the secret under which riskgate turns emails, card fingerprints, customer
//! ids, IPs, devices, names and addresses into velocity and outcome keys
//! (`src/enrich/keys.rs`, keyed SipHash-2-4) and into audit-log pseudonyms (`src/record/audit.rs`,
//! HMAC-SHA256).
//!
//! Unkeyed hashes of such values are not pseudonyms: anyone with a list of candidate emails or
//! card fingerprints hashes them and matches. Under a secret key they are, and a caller can no
//! longer choose values whose keys fall into one shard of the in-process map (hash flooding).
//!
//! Where the key comes from (`pseudonym.key_file`, README "Pseudonym key"):
//! - the file, when configured: at least 32 characters (e.g. `openssl rand -hex 32`); every
//!   replica sharing a Redis must read the same key, or they count the same card under different
//!   keys, so with `redis.url` the file is required;
//! - otherwise, when riskgate keeps state on disk (the outcome journal, `enrichment.outcomes_path`),
//!   a key generated on first start and kept beside it (`pseudonym.key`, mode 0600): the journal
//!   holds outcome memory under those keys, and a new key at each start would lose it;
//! - otherwise a key generated for this process, with a warning: in-process velocity lives only as
//!   long as the process anyway, but audit-log pseudonyms then differ across restarts.
//!
//! Changing the key starts velocity history afresh (old keys are never seen again and expire) and
//! makes new audit pseudonyms unrelated to old ones; the audit log names the key by a fingerprint
//! (`pseudonym_key`) so lines under different keys are not compared by mistake.

use std::path::Path;

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Shortest key file content accepted, in bytes (32 hex digits = 128 bits).
pub const MIN_KEY_LEN: usize = 32;

/// Why the pseudonym key cannot be had.
#[derive(Debug, thiserror::Error)]
pub enum PseudonymKeyError {
    #[error("pseudonym.key_file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error(
        "pseudonym.key_file {path}: {len} bytes; the key must be at least {MIN_KEY_LEN} \
         characters (e.g. `openssl rand -hex 32 > {path}`)"
    )]
    TooShort { path: String, len: usize },
    #[error(
        "redis.url is set but pseudonym.key_file is not: every replica sharing Redis must hash \
         velocity keys under the same secret; create one (`openssl rand -hex 32`), mount it in \
         every replica and set pseudonym.key_file"
    )]
    RequiredWithRedis,
    #[error("cannot keep a generated pseudonym key in {path}: {source}")]
    Keep {
        path: String,
        source: std::io::Error,
    },
}

/// The derived keys. Never printed.
#[derive(Clone)]
pub struct PseudonymKey {
    sip: [u8; 16],
    audit: [u8; 32],
    fingerprint: String,
    generated: bool,
}

impl std::fmt::Debug for PseudonymKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PseudonymKey")
            .field("fingerprint", &self.fingerprint)
            .field("generated", &self.generated)
            .finish_non_exhaustive()
    }
}

/// HMAC-SHA256 of `label` under `secret`: one independent subkey per use.
fn derive(secret: &[u8], label: &[u8]) -> [u8; 32] {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(label);
    mac.finalize().into_bytes().into()
}

impl PseudonymKey {
    /// Keys derived from `secret` (the key file's content).
    pub fn from_secret(secret: &[u8]) -> Self {
        let sip = derive(secret, b"riskgate velocity keys v1");
        let id = derive(secret, b"riskgate pseudonym key id v1");
        Self {
            sip: sip[..16].try_into().expect("16 of 32 bytes"),
            audit: derive(secret, b"riskgate audit pseudonyms v1"),
            fingerprint: id[..4].iter().map(|b| format!("{b:02x}")).collect(),
            generated: false,
        }
    }

    /// A fresh random key for this process only (offline tools, tests, and serving without a
    /// configured key).
    pub fn generate() -> Self {
        Self {
            generated: true,
            ..Self::from_secret(&crate::ids::random_bytes::<32>())
        }
    }

    /// Reads the key file: its content without a trailing newline, at least [`MIN_KEY_LEN`]
    /// bytes.
    pub fn from_file(path: &Path) -> Result<Self, PseudonymKeyError> {
        let shown = path.display().to_string();
        let bytes = std::fs::read(path).map_err(|source| PseudonymKeyError::Read {
            path: shown.clone(),
            source,
        })?;
        let mut secret = bytes.as_slice();
        while let [rest @ .., b'\n' | b'\r'] = secret {
            secret = rest;
        }
        if secret.len() < MIN_KEY_LEN {
            return Err(PseudonymKeyError::TooShort {
                path: shown,
                len: secret.len(),
            });
        }
        Ok(Self::from_secret(secret))
    }

    /// The key for serving: from `key_file` if set; else, without Redis, a generated one (with a
    /// warning); with Redis, an error. Reads a file: call at start-up.
    pub fn configured(
        key_file: Option<&Path>,
        redis: bool,
        kept: Option<&Path>,
    ) -> Result<Self, PseudonymKeyError> {
        match (key_file, kept) {
            (Some(path), _) => Self::from_file(path),
            (None, _) if redis => Err(PseudonymKeyError::RequiredWithRedis),
            (None, Some(kept)) => Self::kept_at(kept),
            (None, None) => {
                tracing::warn!(
                    "pseudonym.key_file is not set: velocity keys and audit-log pseudonyms use a \
                     key generated for this process, so audit pseudonyms change at every restart; \
                     set pseudonym.key_file (README: Pseudonym key)"
                );
                Ok(Self::generate())
            }
        }
    }

    /// The key kept in `path`: read if it exists, else generated (64 hex digits from the OS
    /// CSPRNG), written with mode 0600 and fsynced, so every later start reads the same.
    pub fn kept_at(path: &Path) -> Result<Self, PseudonymKeyError> {
        use std::io::Write;
        let keep = |source| PseudonymKeyError::Keep {
            path: path.display().to_string(),
            source,
        };
        if path.exists() {
            return Self::from_file(path);
        }
        let secret: String = crate::ids::random_bytes::<32>()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = match options.open(path) {
            Ok(file) => file,
            // Another process made it first: use theirs.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                return Self::from_file(path);
            }
            Err(e) => return Err(keep(e)),
        };
        file.write_all(format!("{secret}\n").as_bytes())
            .and_then(|()| file.sync_all())
            .map_err(keep)?;
        tracing::info!(
            path = %path.display(),
            "generated the pseudonym key and kept it beside the outcome journal"
        );
        Ok(Self::from_secret(secret.as_bytes()))
    }

    /// The 128-bit SipHash key of velocity and outcome keys.
    pub fn sip_key(&self) -> &[u8; 16] {
        &self.sip
    }

    /// The HMAC-SHA256 key of audit-log pseudonyms.
    pub fn audit_key(&self) -> &[u8; 32] {
        &self.audit
    }

    /// A public fingerprint of the key (8 hex digits, from a separately derived subkey): tells
    /// which key made a pseudonym without revealing anything of it.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// Whether the key was generated for this process rather than configured.
    pub fn is_generated(&self) -> bool {
        self.generated
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_come_from_the_file_and_differ_per_use() {
        let dir = std::env::temp_dir().join(format!(
            "riskgate-pseudonym-{}-{}",
            std::process::id(),
            fastrand::u64(..)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("key");
        std::fs::write(&path, "0123456789abcdef0123456789abcdef\n").unwrap();
        let a = PseudonymKey::from_file(&path).unwrap();
        let b = PseudonymKey::from_secret(b"0123456789abcdef0123456789abcdef");
        assert_eq!((a.sip_key(), a.audit_key()), (b.sip_key(), b.audit_key()));
        assert_ne!(a.sip_key()[..], a.audit_key()[..16]);
        assert_eq!(a.fingerprint().len(), 8);
        assert!(!a.is_generated());
        assert!(!format!("{a:?}").contains(&format!("{:?}", a.sip_key())));

        std::fs::write(&path, "short\n").unwrap();
        let e = PseudonymKey::from_file(&path).unwrap_err().to_string();
        assert!(e.contains("at least 32"), "{e}");
        let e = PseudonymKey::configured(None, true, None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("pseudonym.key_file"), "{e}");
        let g = PseudonymKey::configured(None, false, None).unwrap();
        assert!(g.is_generated());
        assert_ne!(g.sip_key(), PseudonymKey::generate().sip_key());
        // Kept beside the outcome journal: generated once, the same at every later start.
        let kept = dir.join("pseudonym.key");
        let first = PseudonymKey::configured(None, false, Some(&kept)).unwrap();
        let again = PseudonymKey::configured(None, false, Some(&kept)).unwrap();
        assert_eq!(first.sip_key(), again.sip_key());
        assert!(!again.is_generated());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&kept).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
