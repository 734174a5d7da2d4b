//! Signalling processes the lab started and telling whether they are gone.

use std::fs;
use std::process::Command;

use crate::command::{ip, output};
use crate::error::LabError;

/// Sends `signal` (`TERM`, `KILL`) to `pids`. A process that exits in
/// between is not an error, so kill's status is not looked at; callers check
/// what is left.
pub fn signal_pids(signal: &str, pids: &[u32]) -> Result<(), LabError> {
    let mut cmd = Command::new("kill");
    cmd.args(["-s", signal])
        .args(pids.iter().map(u32::to_string));
    output(&mut cmd).map(drop)
}

/// Whether the process runs; a zombie (exited, not yet reaped) does not.
pub fn alive(pid: u32) -> bool {
    let Ok(stat) = fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    // `pid (comm) STATE ...`; comm may contain spaces and parentheses.
    let state = stat
        .rsplit_once(')')
        .and_then(|(_, rest)| rest.trim_start().chars().next());
    !matches!(state, None | Some('Z' | 'X'))
}

/// Whether the process lives in the named network namespace, so that a
/// stale pid file never gets an unrelated process killed.
pub fn in_netns(pid: u32, ns: &str) -> bool {
    ip(["netns", "identify", &pid.to_string()])
        .map(|name| name.lines().any(|l| l.trim() == ns))
        .unwrap_or(false)
}

/// The process's name, as `ps` shows it.
pub fn name(pid: u32) -> String {
    fs::read_to_string(format!("/proc/{pid}/comm"))
        .map(|c| c.trim().to_owned())
        .unwrap_or_else(|_| "?".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_is_alive_and_a_reaped_one_is_not() {
        assert!(alive(std::process::id()));
        let mut child = Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        assert!(!alive(pid));
    }

    #[test]
    fn an_exited_unreaped_child_counts_as_gone() {
        let mut child = Command::new("true").spawn().unwrap();
        let pid = child.id();
        assert!(crate::wait::wait_until(
            std::time::Duration::from_secs(5),
            || !alive(pid)
        ));
        child.wait().unwrap();
    }

    #[test]
    fn a_process_outside_the_namespace_is_not_in_it() {
        assert!(!in_netns(
            std::process::id(),
            "romana-lab-no-such-namespace"
        ));
    }
}
