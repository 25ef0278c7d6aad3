//! Random ids and secrets from the operating system's CSPRNG (`getrandom`).
//!
//! Evaluation ids act as capabilities: whoever knows one may report its outcome, which changes the
//! velocity history of its card and email. List and item ids name what an admin may delete. So
//! every id is drawn from the kernel's cryptographic generator, never from a fast seeded PRNG whose
//! state can be recovered from a few outputs.

/// The base62 alphabet of Stripe-shaped ids.
const ALPHABET: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
/// Bytes below this map evenly onto [`ALPHABET`] (4 × 62); others are redrawn, so every character
/// is uniform.
const UNBIASED_BELOW: u8 = 248;

/// `n` bytes from the OS CSPRNG.
///
/// Panics if the kernel cannot provide randomness, which on Linux happens only before the entropy
/// pool is first initialised at boot: refusing to run then is safer than ids an attacker can guess.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut buf = [0u8; N];
    getrandom::fill(&mut buf).expect("the OS random number generator is available");
    buf
}

/// `prefix` followed by `len` uniformly random base62 characters (`len` = 24 gives ≈ 143 bits).
pub fn random_id(prefix: &str, len: usize) -> String {
    let mut id = String::with_capacity(prefix.len() + len);
    id.push_str(prefix);
    let mut pool = [0u8; 64];
    let mut used = pool.len();
    while id.len() < prefix.len() + len {
        if used == pool.len() {
            pool = random_bytes();
            used = 0;
        }
        let b = pool[used];
        used += 1;
        if b < UNBIASED_BELOW {
            id.push(char::from(ALPHABET[usize::from(b % 62)]));
        }
    }
    id
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn ids_are_prefixed_base62_and_distinct() {
        let ids: HashSet<String> = (0..1000).map(|_| random_id("peval_", 24)).collect();
        assert_eq!(ids.len(), 1000);
        for id in &ids {
            assert!(id.starts_with("peval_") && id.len() == 30, "{id}");
            assert!(id[6..].bytes().all(|b| b.is_ascii_alphanumeric()));
        }
        assert_ne!(random_bytes::<16>(), random_bytes::<16>());
    }

    #[test]
    fn characters_are_roughly_uniform() {
        let mut counts = [0u32; 62];
        for _ in 0..2000 {
            for b in random_id("", 31).bytes() {
                let i = ALPHABET.iter().position(|&a| a == b).unwrap();
                counts[i] += 1;
            }
        }
        // 62,000 draws: 1,000 expected per character; 6 σ ≈ 190.
        assert!(
            counts.iter().all(|&c| (800..1200).contains(&c)),
            "{counts:?}"
        );
    }
}
