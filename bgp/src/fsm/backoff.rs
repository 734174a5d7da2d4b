//! Timer jitter (RFC 4271 §10) and the exponential IdleHold of peer
//! oscillation damping (RFC 4271 §8.1.1).
//!
//! The crate takes no randomness from the system: the daemon gives each
//! session a seed, so a replayed sequence of events yields the same actions.

use std::time::Duration;

/// A small deterministic generator (SplitMix64) for timer jitter. It needs
/// to spread timers apart, not to be unpredictable.
#[derive(Clone, Debug)]
pub struct Jitter {
    state: u64,
}

impl Jitter {
    pub fn new(seed: u64) -> Jitter {
        Jitter { state: seed }
    }

    fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// RFC 4271 §10: the duration multiplied by a random factor uniformly
    /// distributed between 0.75 and 1.0 (in steps of one millionth).
    pub fn apply(&mut self, duration: Duration) -> Duration {
        let millionths = 750_000 + u128::from(self.next_u64() % 250_001);
        let nanos = duration.as_nanos() * millionths / 1_000_000;
        // Never more than the input, so the seconds fit in a u64.
        let secs = u64::try_from(nanos / 1_000_000_000).unwrap_or(u64::MAX);
        let subsec = (nanos % 1_000_000_000) as u32;
        Duration::new(secs, subsec)
    }
}

/// RFC 4271 §8.1.1: the IdleHold before the session may start again after
/// its `errors`-th consecutive error: `base`, doubled for every error after
/// the first, never more than `max`. Not yet jittered.
pub fn idle_hold(base: Duration, max: Duration, errors: u32) -> Duration {
    let doublings = errors.saturating_sub(1);
    let factor = 1u32.checked_shl(doublings);
    factor
        .and_then(|f| base.checked_mul(f))
        .map_or(max, |d| d.min(max))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jitter_stays_between_three_quarters_and_all_of_the_duration() {
        // RFC 4271 §10: factor uniformly in [0.75, 1.0].
        let mut j = Jitter::new(7);
        let d = Duration::from_secs(120);
        let mut lowest = d;
        let mut highest = Duration::ZERO;
        for _ in 0..10_000 {
            let x = j.apply(d);
            assert!(x >= Duration::from_secs(90) && x <= d, "{x:?}");
            lowest = lowest.min(x);
            highest = highest.max(x);
        }
        // The whole range is used, not one corner of it.
        assert!(lowest < Duration::from_secs(91), "{lowest:?}");
        assert!(highest > Duration::from_secs(119), "{highest:?}");
    }

    #[test]
    fn jitter_is_deterministic_per_seed() {
        let d = Duration::from_secs(30);
        let a: Vec<_> = {
            let mut j = Jitter::new(42);
            (0..8).map(|_| j.apply(d)).collect()
        };
        let b: Vec<_> = {
            let mut j = Jitter::new(42);
            (0..8).map(|_| j.apply(d)).collect()
        };
        let c: Vec<_> = {
            let mut j = Jitter::new(43);
            (0..8).map(|_| j.apply(d)).collect()
        };
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn jitter_of_huge_durations_does_not_overflow() {
        let mut j = Jitter::new(1);
        assert!(j.apply(Duration::MAX) <= Duration::MAX);
        assert_eq!(j.apply(Duration::ZERO), Duration::ZERO);
    }

    #[test]
    fn idle_hold_doubles_per_consecutive_error_up_to_the_max() {
        // RFC 4271 §8.1.1: the IdleHoldTime grows with consecutive oscillations.
        let base = Duration::from_secs(5);
        let max = Duration::from_secs(60);
        let got: Vec<u64> = (1..=7).map(|n| idle_hold(base, max, n).as_secs()).collect();
        assert_eq!(got, [5, 10, 20, 40, 60, 60, 60]);
        assert_eq!(idle_hold(base, max, 0), base);
        assert_eq!(idle_hold(base, max, u32::MAX), max);
        assert_eq!(idle_hold(Duration::MAX, Duration::MAX, 3), Duration::MAX);
    }
}
