//! `metadata`: the merchant's own key-value pairs; also the customer's, the destination's and the
//! connected account's metadata maps (`radar.rs`), which follow the same limits.

use std::collections::BTreeMap;

use super::check::{Checker, Path, text_problem};

/// Stripe's limits, in keys and characters.
const MAX_METADATA_KEYS: usize = 50;
const MAX_METADATA_KEY: usize = 40;
const MAX_METADATA_VALUE: usize = 500;

impl Checker {
    pub(super) fn metadata(&mut self, metadata: &BTreeMap<String, String>) {
        self.metadata_map("metadata", metadata);
    }

    /// Checks a metadata map at `map` (its field path) against Stripe's limits.
    pub(super) fn metadata_map(&mut self, map: &str, metadata: &BTreeMap<String, String>) {
        if metadata.len() > MAX_METADATA_KEYS {
            self.violation(
                Path::Field("", map),
                format!(
                    "must have at most {MAX_METADATA_KEYS} keys (got {})",
                    metadata.len()
                ),
            );
        }
        for (key, value) in metadata {
            let path = Path::MapKey(map, key);
            let key_problem = if key.is_empty() {
                Some(format!(
                    "keys must be 1 to {MAX_METADATA_KEY} characters (got an empty key)"
                ))
            } else if let Some(problem) = text_problem(key, MAX_METADATA_KEY) {
                Some(format!("the key {problem}"))
            } else if key.contains(['[', ']']) {
                Some("the key must not contain [ or ]".into())
            } else {
                None
            };
            if let Some(problem) = key_problem {
                self.violation(path, problem);
            }
            self.text(path, value, MAX_METADATA_VALUE);
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::api::validate::{fixtures::*, payment_evaluation};

    #[test]
    fn metadata_limits() {
        let mut req = valid();
        req.metadata = (0..51).map(|i| (format!("k{i}"), "v".into())).collect();
        assert_eq!(only(&req, "metadata"), "must have at most 50 keys (got 51)");

        let mut req = valid();
        let key = "k".repeat(41);
        req.metadata.insert(key.clone(), "v".into());
        assert_eq!(
            only(&req, &format!("metadata[{key}]")),
            "the key must be at most 40 characters (got 41)"
        );

        let mut req = valid();
        req.metadata.insert("order_id".into(), "v".repeat(501));
        assert_eq!(
            only(&req, "metadata[order_id]"),
            "must be at most 500 characters (got 501)"
        );
        req.metadata.insert("order_id".into(), "é".repeat(500));
        assert!(payment_evaluation(&req).is_ok(), "characters, not bytes");

        let mut req = valid();
        req.metadata.insert("items[0]".into(), "v".into());
        req.metadata.insert(String::new(), "v".into());
        assert_eq!(fields(&req), ["metadata[]", "metadata[items[0]]"]);

        let mut req = valid();
        req.metadata.insert("k".repeat(101), "v".into());
        assert_eq!(fields(&req), ["metadata"]);
    }
}
