//! [`Gen`]: the one seeded generator every draw of a simulation comes from, and its random helpers.
//! Everything is drawn from it in a fixed order; reordering any draw changes the output.

/// The simulation's state: one seeded random number generator, the first day, and the email
/// addresses handed out so far.
pub(super) struct Gen {
    pub(super) rng: fastrand::Rng,
    /// Unix time of the first day's midnight (UTC).
    pub(super) start: i64,
    /// Every email address drawn so far: a mailbox belongs to one person, as at a real provider
    /// (a name already taken gets digits), so outcome memory on an email never links strangers.
    pub(super) emails: std::collections::HashSet<String>,
}

impl Gen {
    pub(super) fn new(seed: u64, start: i64) -> Self {
        Self {
            rng: fastrand::Rng::with_seed(seed),
            start,
            emails: Default::default(),
        }
    }

    pub(super) fn chance(&mut self, p: f64) -> bool {
        self.rng.f64() < p
    }

    pub(super) fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.rng.usize(..items.len())]
    }

    pub(super) fn weighted<'a, T>(&mut self, items: &'a [T], weight: impl Fn(&T) -> f64) -> &'a T {
        let total: f64 = items.iter().map(&weight).sum();
        let mut x = self.rng.f64() * total;
        for item in items {
            x -= weight(item);
            if x < 0.0 {
                return item;
            }
        }
        &items[items.len() - 1]
    }

    fn normal(&mut self) -> f64 {
        let u1 = self.rng.f64().max(1e-12);
        let u2 = self.rng.f64();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }

    pub(super) fn lognormal(&mut self, median: f64, sigma: f64) -> f64 {
        median * (sigma * self.normal()).exp()
    }

    pub(super) fn poisson(&mut self, lambda: f64) -> u32 {
        let limit = (-lambda).exp();
        let (mut k, mut p) = (0, self.rng.f64());
        while p > limit {
            k += 1;
            p *= self.rng.f64();
        }
        k
    }

    /// The first second of the simulated day holding `t`.
    pub(super) fn day_start(&self, t: i64) -> i64 {
        self.start + (t - self.start).div_euclid(super::DAY) * super::DAY
    }

    /// Seconds into a day, weighted to waking hours.
    pub(super) fn daytime(&mut self) -> i64 {
        let hour = (14.0 + 4.0 * self.normal()).clamp(0.0, 23.99);
        (hour * 3600.0) as i64
    }

    pub(super) fn token(&mut self, len: usize) -> String {
        const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
        (0..len)
            .map(|_| char::from(ALPHABET[self.rng.usize(..ALPHABET.len())]))
            .collect()
    }

    pub(super) fn digits(&mut self, len: usize) -> String {
        (0..len)
            .map(|_| char::from(b'0' + self.rng.u8(0..10)))
            .collect()
    }
}
