//! Whether the generator, not the server, limited a run: its own CPU time over the window
//! (getrusage) against the cores it may use, slots it could not send, and how late calls left.

use crate::{GeneratorCpu, LoadConfig, Percentiles};

/// Share of the available cores above which the generator counts as saturated.
pub const SATURATION: f64 = 0.9;

/// CPU seconds (user + system) this process has used so far.
pub fn process_cpu_seconds() -> f64 {
    // SAFETY: getrusage only writes into the struct we pass; a zeroed rusage is a valid value.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: RUSAGE_SELF with a valid pointer cannot fail.
    let rc = unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    if rc != 0 {
        return 0.0;
    }
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    secs(usage.ru_utime) + secs(usage.ru_stime)
}

/// The generator's CPU use: `cpu_seconds` over `wall` seconds, against the cores it may run on.
pub(crate) fn generator_cpu(cpu_seconds: f64, wall: f64) -> GeneratorCpu {
    let cores_available = std::thread::available_parallelism().map_or(1, |n| n.get());
    let cores_used = cpu_seconds / wall.max(1e-9);
    let saturated = cores_used >= SATURATION * cores_available as f64;
    GeneratorCpu {
        cpu_seconds,
        cores_used,
        cores_available,
        saturated,
    }
}

/// A run is valid when the generator was not saturated and sent every slot of its schedule.
pub(crate) fn is_valid(generator: &GeneratorCpu, not_sent: u64) -> bool {
    !generator.saturated && not_sent == 0
}

/// What may have distorted the run, for a person reading the summary.
pub(crate) fn warnings(
    config: &LoadConfig,
    generator: &GeneratorCpu,
    not_sent: u64,
    send_lag: Option<&Percentiles>,
) -> Vec<String> {
    let (cores_used, cores_available) = (generator.cores_used, generator.cores_available);
    let mut warnings = Vec::new();
    if generator.saturated {
        warnings.push(format!(
            "the generator used {cores_used:.2} of {cores_available} core(s) (≥ {:.0} %): it, not the server, may have been the limit",
            SATURATION * 100.0
        ));
    }
    if not_sent > 0 {
        warnings.push(format!(
            "{not_sent} scheduled calls were not sent: {} calls were already in flight",
            config.max_in_flight
        ));
    }
    if let Some(lag) = send_lag
        && lag.p99 > 1_000
    {
        warnings.push(format!(
            "calls left up to {} µs late at p99: the generator fell behind its schedule (latency includes it)",
            lag.p99
        ));
    }
    warnings
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_time_is_measured() {
        let before = process_cpu_seconds();
        let mut x = 0u64;
        for i in 0..20_000_000u64 {
            x = x.wrapping_mul(31).wrapping_add(i);
        }
        std::hint::black_box(x);
        assert!(process_cpu_seconds() > before);
    }
}
