//! Random ids and secrets from the operating system's CSPRNG (`getrandom`; ids from a per-thread
//! pool of its bytes, so that an evaluation does not cost a system call).
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

/// Bytes drawn from the OS CSPRNG at a time for ids, per thread.
const ID_POOL: usize = 1024;

/// Kernel randomness not yet used for ids, per thread. One `getrandom` call serves about 40
/// evaluation ids instead of one (it was a system call on every evaluation, issue 20); each byte
/// is still the kernel's and used once. A process that can read this memory could read the ids
/// themselves.
struct IdPool {
    bytes: [u8; ID_POOL],
    used: usize,
}

impl IdPool {
    fn next(&mut self) -> u8 {
        if self.used == ID_POOL {
            getrandom::fill(&mut self.bytes).expect("the OS random number generator is available");
            self.used = 0;
        }
        let b = self.bytes[self.used];
        // Used bytes are not kept.
        self.bytes[self.used] = 0;
        self.used += 1;
        b
    }
}

thread_local! {
    static ID_BYTES: std::cell::RefCell<IdPool> = const {
        std::cell::RefCell::new(IdPool { bytes: [0; ID_POOL], used: ID_POOL })
    };
}

/// `prefix` followed by `len` uniformly random base62 characters (`len` = 24 gives ≈ 143 bits),
/// from the OS CSPRNG.
pub fn random_id(prefix: &str, len: usize) -> String {
    let mut id = String::with_capacity(prefix.len() + len);
    id.push_str(prefix);
    ID_BYTES.with_borrow_mut(|pool| {
        while id.len() < prefix.len() + len {
            let b = pool.next();
            if b < UNBIASED_BELOW {
                id.push(char::from(ALPHABET[usize::from(b % 62)]));
            }
        }
    });
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
