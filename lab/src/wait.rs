//! Polling instead of sleeping, as FRR's topotests do: ask the daemons again
//! and again until they say what is expected or the time is up. A test that
//! sleeps a fixed time is slow when things are fast and flaky when they are
//! slow.

use std::thread::sleep;
use std::time::{Duration, Instant};

/// How long to wait between two looks.
const POLL: Duration = Duration::from_millis(200);

/// Asks `ready` until it answers true; false if `timeout` passed first.
/// `ready` is asked at least once, and once more at the deadline.
pub fn wait_until(timeout: Duration, mut ready: impl FnMut() -> bool) -> bool {
    wait_for(timeout, || if ready() { Ok(()) } else { Err(()) }).is_ok()
}

/// Calls `attempt` until it succeeds and returns its value; after `timeout`,
/// returns the last error, which should say what was seen instead of what
/// was expected.
pub fn wait_for<T, E>(
    timeout: Duration,
    mut attempt: impl FnMut() -> Result<T, E>,
) -> Result<T, E> {
    let deadline = Instant::now() + timeout;
    loop {
        let result = attempt();
        let now = Instant::now();
        if result.is_ok() || now >= deadline {
            return result;
        }
        sleep(POLL.min(deadline - now));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn returns_as_soon_as_the_condition_holds() {
        let start = Instant::now();
        let mut calls = 0;
        assert!(wait_until(Duration::from_secs(10), || {
            calls += 1;
            calls == 3
        }));
        assert_eq!(calls, 3);
        assert!(start.elapsed() < Duration::from_secs(2));
    }

    #[test]
    fn gives_up_at_the_deadline_with_the_last_error() {
        let start = Instant::now();
        let mut calls = 0;
        let result: Result<(), String> = wait_for(Duration::from_millis(500), || {
            calls += 1;
            Err(format!("look {calls}"))
        });
        let elapsed = start.elapsed();
        assert!(elapsed >= Duration::from_millis(500), "{elapsed:?}");
        assert!(elapsed < Duration::from_secs(2), "{elapsed:?}");
        assert_eq!(result, Err(format!("look {calls}")));
        assert!(calls >= 2);
    }

    #[test]
    fn a_zero_timeout_still_looks_once() {
        let mut calls = 0;
        assert!(!wait_until(Duration::ZERO, || {
            calls += 1;
            false
        }));
        assert_eq!(calls, 1);
    }
}
