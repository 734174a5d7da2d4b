//! The deadlines of one session's timers. The state machine says when a
//! timer starts and stops; this only remembers the deadline and says which
//! one is due next.

use std::time::Duration;

use bgp::fsm::Timer;
use tokio::time::Instant;

#[derive(Default, Debug)]
pub struct Timers {
    deadlines: Vec<(Timer, Instant)>,
}

impl Timers {
    pub fn start(&mut self, timer: Timer, after: Duration) {
        self.stop(timer);
        self.deadlines.push((timer, Instant::now() + after));
    }

    pub fn stop(&mut self, timer: Timer) {
        self.deadlines.retain(|(t, _)| *t != timer);
    }

    pub fn clear(&mut self) {
        self.deadlines.clear();
    }

    /// The timer due first, with its deadline.
    pub fn next(&self) -> Option<(Timer, Instant)> {
        self.deadlines.iter().copied().min_by_key(|(_, at)| *at)
    }

    /// Sleep until the first deadline and disarm that timer; pending forever
    /// when no timer runs.
    pub async fn expired(&mut self) -> Timer {
        match self.next() {
            Some((timer, at)) => {
                tokio::time::sleep_until(at).await;
                self.stop(timer);
                timer
            }
            None => std::future::pending().await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn the_earliest_deadline_fires_first_and_restart_replaces() {
        let mut t = Timers::default();
        t.start(Timer::Hold, Duration::from_secs(9));
        t.start(Timer::Keepalive, Duration::from_secs(3));
        t.start(Timer::Keepalive, Duration::from_secs(12));
        assert_eq!(t.expired().await, Timer::Hold);
        assert_eq!(t.expired().await, Timer::Keepalive);
        assert!(t.next().is_none());
    }
}
