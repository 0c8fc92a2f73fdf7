//! Per-key rate limits (per user, per IP) on governor's keyed token buckets.
//!
//! A limit is a sustained rate per minute with a burst; a rate of 0 turns
//! it off. Keys seen long ago are dropped now and then, so the map stays as
//! large as the set of recently active keys.

use std::hash::Hash;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

/// The process's one rate-limit clock. Making a clock probes the CPU
/// (`cpuid`, which traps to the hypervisor on a virtual machine): two per
/// connection cost more than the rest of its setup, so every limiter
/// shares this one.
pub fn shared_clock() -> DefaultClock {
    static CLOCK: std::sync::OnceLock<DefaultClock> = std::sync::OnceLock::new();
    CLOCK.get_or_init(DefaultClock::default).clone()
}

/// Checks between two sweeps of idle keys.
const SWEEP_EVERY: u64 = 4096;

/// A keyed token bucket: `per_minute` sustained, `burst` at once.
pub struct KeyedLimit<K: Hash + Eq + Clone> {
    limiter: Option<DefaultKeyedRateLimiter<K>>,
    clock: DefaultClock,
    checks: AtomicU64,
}

impl<K: Hash + Eq + Clone> std::fmt::Debug for KeyedLimit<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyedLimit")
            .field("on", &self.limiter.is_some())
            .finish()
    }
}

impl<K: Hash + Eq + Clone> KeyedLimit<K> {
    /// `per_minute` 0: no limit. `burst` 0 means `per_minute`.
    pub fn per_minute(per_minute: u32, burst: u32) -> Self {
        Self::with_period(per_minute, Duration::from_secs(60), burst)
    }

    /// `count` per `period`, refilled evenly; `burst` 0 means `count`.
    pub fn with_period(count: u32, period: Duration, burst: u32) -> Self {
        let limiter = NonZeroU32::new(count).and_then(|n| {
            let burst = NonZeroU32::new(burst).unwrap_or(n);
            Quota::with_period(period / n.get()).map(|q| RateLimiter::keyed(q.allow_burst(burst)))
        });
        KeyedLimit {
            limiter,
            clock: shared_clock(),
            checks: AtomicU64::new(0),
        }
    }

    /// Take one token for `key`; `Err(wait)` until one is available.
    pub fn check(&self, key: &K) -> Result<(), Duration> {
        let Some(limiter) = &self.limiter else {
            return Ok(());
        };
        if self.checks.fetch_add(1, Ordering::Relaxed) % SWEEP_EVERY == SWEEP_EVERY - 1 {
            limiter.retain_recent();
        }
        limiter
            .check_key(key)
            .map_err(|not_until| not_until.wait_time_from(self.clock.now()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_then_refusal_per_key_and_zero_is_off() {
        let limit = KeyedLimit::per_minute(2, 2);
        assert!(limit.check(&"a").is_ok());
        assert!(limit.check(&"a").is_ok());
        let wait = limit.check(&"a").unwrap_err();
        assert!(wait > Duration::ZERO && wait <= Duration::from_secs(30));
        assert!(limit.check(&"b").is_ok(), "another key has its own bucket");
        let off = KeyedLimit::per_minute(0, 0);
        for _ in 0..1000 {
            assert!(off.check(&"a").is_ok());
        }
    }
}
