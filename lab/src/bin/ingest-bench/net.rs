//! The benchmark's network: a pair of namespaces per run (the speaker under
//! test and the leaf) joined by one veth, and the processes started in them.
//! Everything is removed when its value is dropped, also on a panic; a
//! watchdog shell removes what is left if the runner itself is killed
//! (Ctrl-C, SIGKILL), because it sees its standard input close.

use std::path::Path;
use std::process::{Child, Command, Stdio};

use romana_lab::Watchdog;

/// The leaf's and the speaker's addresses on the link (RFC 5737
/// documentation space, a /31 as on a point-to-point link, RFC 3021).
pub const LEAF_ADDR: &str = "192.0.2.0";
pub const DUT_ADDR: &str = "192.0.2.1";
const LINK_LEN: &str = "31";

/// Runs `ip ARGS`, failing with what it printed.
pub fn ip(args: &[&str]) -> Result<String, String> {
    let out = Command::new("ip")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run ip (install iproute2): {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(format!(
            "`ip {}` failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// Two namespaces, `<name>-dut` and `<name>-leaf`, and the veth between.
pub struct Pair {
    pub dut: String,
    pub leaf: String,
    created: Vec<String>,
}

impl Pair {
    pub fn up(name: &str, watchdog: &mut Watchdog) -> Result<Pair, String> {
        let mut pair = Pair {
            dut: format!("{name}-dut"),
            leaf: format!("{name}-leaf"),
            created: Vec::new(),
        };
        for ns in [pair.dut.clone(), pair.leaf.clone()] {
            watchdog.watch(&ns)?;
            ip(&["netns", "add", &ns])?;
            pair.created.push(ns.clone());
            ip(&["-n", &ns, "link", "set", "lo", "up"])?;
        }
        // Both ends are born in their namespaces: no name ever meets the
        // machine's own interfaces.
        ip(&[
            "link", "add", "dut0", "netns", &pair.dut, "type", "veth", "peer", "name", "leaf0",
            "netns", &pair.leaf,
        ])?;
        for (ns, dev, addr) in [
            (&pair.dut, "dut0", DUT_ADDR),
            (&pair.leaf, "leaf0", LEAF_ADDR),
        ] {
            ip(&[
                "-n",
                ns,
                "addr",
                "add",
                &format!("{addr}/{LINK_LEN}"),
                "dev",
                dev,
            ])?;
            ip(&["-n", ns, "link", "set", dev, "up"])?;
        }
        Ok(pair)
    }

    /// A command that runs `program` inside namespace `ns` (`ip netns exec`
    /// execs it, so the child's pid is the program's).
    pub fn command(ns: &str, program: &Path) -> Command {
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", ns]).arg(program);
        cmd
    }
}

impl Drop for Pair {
    fn drop(&mut self) {
        for ns in self.created.drain(..) {
            if let Ok(pids) = ip(&["netns", "pids", &ns]) {
                for pid in pids.split_whitespace() {
                    let _ = Command::new("kill").args(["-9", pid]).status();
                }
            }
            if let Err(e) = ip(&["netns", "delete", &ns]) {
                eprintln!("ingest-bench: {e}");
            }
        }
    }
}

/// A process the runner started; killed (SIGKILL) and reaped on drop. The
/// benchmark measures nothing at shutdown, and a speaker that withdraws a
/// million routes on its way out would only slow the next run down.
pub struct Proc {
    pub child: Child,
}

impl Proc {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Whether it has exited; its status if so.
    pub fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().ok().flatten()
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
