//! The traffic: requests from the simulator or a labelled events file, encoded once up front.

use std::path::Path;

use bytes::Bytes;
use prost::Message;
use riskgate::proto::v1::CreatePaymentEvaluationRequest;

use crate::LoadError;

/// Encodes `requests` for sending, without idempotency keys (so every call is evaluated, not
/// replayed from the idempotency store).
pub fn encode(requests: impl IntoIterator<Item = CreatePaymentEvaluationRequest>) -> Vec<Bytes> {
    requests
        .into_iter()
        .map(|mut r| {
            r.idempotency_key.clear();
            Bytes::from(r.encode_to_vec())
        })
        .collect()
}

/// Traffic from the simulator: `days` of a seeded world (customers, cards, IPs, fraud bursts), in
/// time order.
pub fn simulated(seed: u64, days: u32) -> Vec<Bytes> {
    let config = riskgate_tools::sim::SimConfig {
        seed,
        days,
        ..Default::default()
    };
    encode(
        riskgate_tools::sim::simulate(&config)
            .into_iter()
            .map(|e| e.request),
    )
}

/// Traffic from a labelled NDJSON event file (docs/events.md), in file order.
pub fn from_events_file(path: &Path) -> Result<Vec<Bytes>, LoadError> {
    let text = std::fs::read_to_string(path).map_err(|source| LoadError::ReadEvents {
        path: path.to_owned(),
        source,
    })?;
    let mut requests = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let event: riskgate_tools::sim::Event =
            serde_json::from_str(line).map_err(|source| LoadError::BadEvent {
                path: path.to_owned(),
                line: n + 1,
                source,
            })?;
        requests.push(event.request);
    }
    if requests.is_empty() {
        return Err(LoadError::NoEvents {
            path: path.to_owned(),
        });
    }
    Ok(encode(requests))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn simulated_traffic_has_many_distinct_requests_without_idempotency_keys() {
        let requests = simulated(7, 2);
        assert!(requests.len() > 100, "{}", requests.len());
        let distinct: std::collections::HashSet<&Bytes> = requests.iter().collect();
        assert!(distinct.len() * 10 > requests.len() * 9);
        for body in requests.iter().take(50) {
            let r = CreatePaymentEvaluationRequest::decode(body.clone()).unwrap();
            assert!(r.idempotency_key.is_empty());
        }
    }
}
