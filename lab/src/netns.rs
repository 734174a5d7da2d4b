//! Network namespaces and veth pairs, through iproute2.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::command::ip;
use crate::error::LabError;
use crate::process::signal_pids;
use crate::wait::wait_until;

/// How long processes get to exit on SIGTERM before SIGKILL.
const TERM_GRACE: Duration = Duration::from_secs(5);
/// How long SIGKILL may take to be seen.
const KILL_GRACE: Duration = Duration::from_secs(2);

/// Whether `ip netns` knows the namespace.
pub fn exists(ns: &str) -> bool {
    Path::new("/run/netns").join(ns).exists()
}

/// Creates the namespace with its loopback up.
pub fn add(ns: &str) -> Result<(), LabError> {
    ip(["netns", "add", ns])?;
    ip(["-n", ns, "link", "set", "lo", "up"])?;
    Ok(())
}

/// Creates a veth pair whose ends are born in their namespaces, so their
/// names never meet the machine's own interfaces, and brings both up.
pub fn veth(a_ns: &str, a_if: &str, b_ns: &str, b_if: &str) -> Result<(), LabError> {
    ip([
        "link", "add", a_if, "netns", a_ns, "type", "veth", "peer", "name", b_if, "netns", b_ns,
    ])?;
    ip(["-n", a_ns, "link", "set", a_if, "up"])?;
    ip(["-n", b_ns, "link", "set", b_if, "up"])?;
    Ok(())
}

/// A command that runs `program` inside the namespace (`ip netns exec`
/// enters it and then execs the program, so the pid is the program's).
pub fn command(ns: &str, program: impl AsRef<std::ffi::OsStr>) -> Command {
    let mut cmd = Command::new("ip");
    cmd.args(["netns", "exec", ns]).arg(program);
    cmd
}

/// Every live process inside the namespace.
pub fn pids(ns: &str) -> Result<Vec<u32>, LabError> {
    let listed = ip(["netns", "pids", ns])?;
    Ok(listed
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect())
}

/// Ends every process inside the namespace: SIGTERM, then SIGKILL for what
/// is left after a grace period. Only processes in this namespace are
/// touched, so nothing outside the lab can be hit by a stale pid.
pub fn stop_all(ns: &str) -> Result<(), LabError> {
    let gone = || pids(ns).map(|p| p.is_empty()).unwrap_or(false);
    for (signal, grace) in [("TERM", TERM_GRACE), ("KILL", KILL_GRACE)] {
        let alive = pids(ns)?;
        if alive.is_empty() {
            return Ok(());
        }
        signal_pids(signal, &alive)?;
        if wait_until(grace, gone) {
            return Ok(());
        }
    }
    Err(LabError::Leftovers {
        prefix: ns.to_owned(),
        items: vec![format!(
            "processes {:?} in namespace {ns} survived SIGKILL",
            pids(ns)?
        )],
    })
}

/// Deletes the namespace, and with it the veth ends inside it.
pub fn delete(ns: &str) -> Result<(), LabError> {
    ip(["netns", "delete", ns]).map(drop)
}
