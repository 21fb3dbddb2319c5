//! How the sources wait between attempts: exponential backoff with jitter, cut short by
//! shutdown.

use std::hash::{BuildHasher, Hasher};
use std::time::Duration;

use emrex_runtime::shutdown::Shutdown;

/// Exponential backoff with ±20 % jitter.
#[derive(Debug)]
pub(super) struct Backoff {
    initial: Duration,
    max: Duration,
    current: Duration,
}

impl Backoff {
    pub(super) fn new(initial: Duration, max: Duration) -> Self {
        let max = max.max(initial);
        Self {
            initial,
            max,
            current: initial,
        }
    }

    /// The next delay (jittered), doubling the one after it up to the maximum.
    pub(super) fn next_delay(&mut self) -> Duration {
        let delay = jitter(self.current);
        self.current = (self.current * 2).min(self.max);
        delay
    }

    /// Back to the initial delay (after a success).
    pub(super) fn reset(&mut self) {
        self.current = self.initial;
    }
}

/// `d` scaled by a random factor in [0.8, 1.2] (so replicas do not retry in lockstep).
fn jitter(d: Duration) -> Duration {
    let random = std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish();
    d.mul_f64(0.8 + (random % 401) as f64 / 1000.0)
}

/// Sleeps `delay`; false when shutdown came first.
pub(super) async fn sleep_or_shutdown(delay: Duration, shutdown: &Shutdown) -> bool {
    tokio::select! {
        () = tokio::time::sleep(delay) => true,
        () = shutdown.triggered() => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_up_to_the_maximum_within_the_jitter_and_reset() {
        let mut b = Backoff::new(Duration::from_millis(100), Duration::from_millis(350));
        let within = |d: Duration, nominal_ms: u64| {
            let nominal = Duration::from_millis(nominal_ms);
            d >= nominal.mul_f64(0.8) && d <= nominal.mul_f64(1.2)
        };
        for nominal in [100, 200, 350, 350] {
            let d = b.next_delay();
            assert!(within(d, nominal), "{d:?} vs {nominal} ms");
        }
        b.reset();
        assert!(within(b.next_delay(), 100));
    }

    #[test]
    fn a_maximum_below_the_initial_delay_is_raised_to_it() {
        let mut b = Backoff::new(Duration::from_secs(2), Duration::from_secs(1));
        for _ in 0..3 {
            let d = b.next_delay();
            assert!(d >= Duration::from_millis(1600) && d <= Duration::from_millis(2400));
        }
    }
}
