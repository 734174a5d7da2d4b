//! The timers a session asks the daemon to run.
//!
//! The state machine keeps no clock. It says `StartTimer(timer, duration)`
//! and `StopTimer(timer)`; the daemon keeps one deadline per timer and feeds
//! `TimerExpired(timer)` back when it passes. Starting a timer that runs
//! already replaces its deadline.

/// One of the session's timers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Timer {
    /// RFC 4271 §8: retry the outgoing connection.
    ConnectRetry,
    /// RFC 4271 §4.2, §6.5: the peer has been silent too long.
    Hold,
    /// RFC 4271 §4.4: time to send a KEEPALIVE.
    Keepalive,
    /// RFC 4271 §8.1.1 (DampPeerOscillations): how long the session stays
    /// Idle before it starts again by itself.
    IdleHold,
    /// RFC 9687: the peer has not taken a message from us for too long.
    SendHold,
    /// The session has been Established long enough that its earlier errors
    /// no longer lengthen the next IdleHold (the damping of RFC 4271 §8.1.1
    /// decays).
    ErrorReset,
}

impl Timer {
    /// Every timer, in the order the session stops them.
    pub const ALL: [Timer; 6] = [
        Timer::ConnectRetry,
        Timer::Hold,
        Timer::Keepalive,
        Timer::IdleHold,
        Timer::SendHold,
        Timer::ErrorReset,
    ];

    fn bit(self) -> u8 {
        match self {
            Timer::ConnectRetry => 1,
            Timer::Hold => 1 << 1,
            Timer::Keepalive => 1 << 2,
            Timer::IdleHold => 1 << 3,
            Timer::SendHold => 1 << 4,
            Timer::ErrorReset => 1 << 5,
        }
    }
}

/// The timers the session has asked to run, so that a late expiry of a
/// stopped timer (the daemon raced the `StopTimer`) is recognised and dropped.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct TimerSet(u8);

impl TimerSet {
    pub(crate) fn contains(self, timer: Timer) -> bool {
        self.0 & timer.bit() != 0
    }

    pub(crate) fn insert(&mut self, timer: Timer) {
        self.0 |= timer.bit();
    }

    pub(crate) fn remove(&mut self, timer: Timer) {
        self.0 &= !timer.bit();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_timer_has_its_own_bit() {
        let mut set = TimerSet::default();
        for (i, t) in Timer::ALL.iter().enumerate() {
            assert!(!set.contains(*t));
            set.insert(*t);
            assert!(set.contains(*t));
            assert_eq!(set.0.count_ones() as usize, i + 1);
        }
        set.remove(Timer::Hold);
        assert!(!set.contains(Timer::Hold));
        assert!(set.contains(Timer::Keepalive));
    }
}
