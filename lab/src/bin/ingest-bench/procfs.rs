//! What `/proc` says about a speaker: its memory, its CPU time, and how
//! many routes the kernel of its namespace holds.

use std::process::Command;

/// Resident memory, in kB.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Memory {
    /// VmRSS: resident now.
    pub rss_kb: u64,
    /// VmHWM: the most it was ever resident.
    pub hwm_kb: u64,
}

pub fn memory(pid: u32) -> Result<Memory, String> {
    let path = format!("/proc/{pid}/status");
    let status = std::fs::read_to_string(&path).map_err(|e| format!("{path}: {e}"))?;
    parse_memory(&status).ok_or_else(|| format!("{path}: no VmRSS/VmHWM"))
}

fn parse_memory(status: &str) -> Option<Memory> {
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|kb| kb.parse().ok())
    };
    Some(Memory {
        rss_kb: field("VmRSS:")?,
        hwm_kb: field("VmHWM:")?,
    })
}

/// CPU time (user and system) the process has used, in clock ticks.
pub fn cpu_ticks(pid: u32) -> Result<u64, String> {
    let path = format!("/proc/{pid}/stat");
    let stat = std::fs::read_to_string(&path).map_err(|e| format!("{path}: {e}"))?;
    parse_cpu_ticks(&stat).ok_or_else(|| format!("{path}: cannot read utime/stime"))
}

fn parse_cpu_ticks(stat: &str) -> Option<u64> {
    // `pid (comm) state ...`: comm may hold spaces, so count from its end.
    // utime and stime are fields 14 and 15, the 12th and 13th after comm.
    let (_, rest) = stat.rsplit_once(')')?;
    let mut fields = rest.split_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(utime + stime)
}

/// Clock ticks a second (`getconf CLK_TCK`), 100 if it cannot be asked.
pub fn ticks_per_second() -> u64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .filter(|&t| t > 0)
        .unwrap_or(100)
}

/// The one-minute load average.
pub fn load_average() -> Result<f64, String> {
    let text =
        std::fs::read_to_string("/proc/loadavg").map_err(|e| format!("/proc/loadavg: {e}"))?;
    text.split_whitespace()
        .next()
        .and_then(|l| l.parse().ok())
        .ok_or_else(|| format!("/proc/loadavg: cannot read {text:?}"))
}

/// IPv4 prefixes in the FIB of the namespace `pid` lives in, from the
/// kernel's trie statistics: cheap next to a route dump, which a million
/// routes would make slow enough to disturb the run.
pub fn fib_prefixes(pid: u32) -> Result<u64, String> {
    let path = format!("/proc/{pid}/net/fib_triestat");
    let stat = std::fs::read_to_string(&path).map_err(|e| format!("{path}: {e}"))?;
    parse_fib_prefixes(&stat).ok_or_else(|| format!("{path}: no Prefixes line under Main"))
}

fn parse_fib_prefixes(stat: &str) -> Option<u64> {
    let (_, main) = stat.split_once("Main:")?;
    main.lines()
        .find_map(|l| l.trim().strip_prefix("Prefixes:"))
        .and_then(|n| n.trim().parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_comes_from_vmrss_and_vmhwm() {
        let status = "Name:\tbird\nVmPeak:\t  99616 kB\nVmHWM:\t   96572 kB\nVmRSS:\t   5844 kB\n";
        assert_eq!(
            parse_memory(status),
            Some(Memory {
                rss_kb: 5844,
                hwm_kb: 96572
            })
        );
        assert_eq!(parse_memory("Name:\tkthreadd\n"), None);
    }

    #[test]
    fn cpu_ticks_survive_a_name_with_spaces_and_parentheses() {
        let stat = "42 (a (b) c) S 1 42 42 0 -1 4194560 100 0 0 0 7 5 0 0 20 0 1 0 9 0 0";
        assert_eq!(parse_cpu_ticks(stat), Some(12));
        assert!(cpu_ticks(std::process::id()).is_ok());
    }

    #[test]
    fn fib_prefixes_are_main_tables() {
        let stat = "Basic info: size of leaf: 48 bytes, size of tnode: 40 bytes.\n\
                    Main:\n\tAver depth:     2.99\n\tPrefixes:       200005\n\
                    Local:\n\tPrefixes:       7\n";
        assert_eq!(parse_fib_prefixes(stat), Some(200005));
        assert!(fib_prefixes(std::process::id()).is_ok());
        assert!(load_average().unwrap() >= 0.0);
    }
}
