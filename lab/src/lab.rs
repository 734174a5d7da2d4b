//! A lab: the namespaces, links and daemons one topology file describes,
//! under one prefix.

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::{OsStr, OsString};
use std::fs;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output};
use std::time::Duration;

use crate::command::{output, run};
use crate::error::{LabError, io_at};
use crate::layout::{Layout, RUN_DIR};
use crate::options::Options;
use crate::process::{alive, in_netns, signal_pids};
use crate::topology::{Role, Topology};
use crate::wait::wait_until;
use crate::{frr, host, netns};

/// How long romana-bgp gets to exit on SIGTERM before SIGKILL.
const DAEMON_STOP_GRACE: Duration = Duration::from_secs(5);

/// A running lab. Dropping a lab made by [`Lab::up`] takes it down, so a
/// failing test still cleans up; [`Lab::leave_running`] keeps it.
#[derive(Debug)]
pub struct Lab {
    topology: Topology,
    layout: Layout,
    /// romana-bgp processes this process started, kept to reap them.
    daemons: BTreeMap<String, Child>,
    owned: bool,
}

impl Lab {
    /// Realises the topology file under `prefix`: namespaces
    /// `<prefix>-<node>`, the links, every node's `exec` lines, FRR on
    /// router nodes, the config copy and (with `options.romana_bgp`) the
    /// daemon on host nodes. Returns once every daemon is started and
    /// configured; sessions come up after, so wait for them with
    /// [`crate::wait_until`]. On error, everything made so far is removed.
    pub fn up(path: impl AsRef<Path>, prefix: &str, options: &Options) -> Result<Lab, LabError> {
        let topology = Topology::load(path)?;
        let layout = Layout::new(prefix)?;
        for node in topology.nodes() {
            let ns = layout.netns(&node.name);
            if netns::exists(&ns) {
                return Err(LabError::AlreadyUp {
                    prefix: prefix.to_owned(),
                    found: format!("namespace {ns} exists"),
                });
            }
        }
        fs::create_dir_all(RUN_DIR).map_err(io_at(RUN_DIR))?;
        // Creating the lab's directory is the lock against a second `up`.
        match fs::create_dir(layout.dir()) {
            Err(e) if e.kind() == ErrorKind::AlreadyExists => {
                return Err(LabError::AlreadyUp {
                    prefix: prefix.to_owned(),
                    found: format!("{} exists", layout.dir().display()),
                });
            }
            other => other.map_err(io_at(layout.dir()))?,
        }
        let mut lab = Lab {
            topology,
            layout,
            daemons: BTreeMap::new(),
            owned: true,
        };
        // From here on an error drops `lab`, which takes down the half.
        lab.build(options)?;
        Ok(lab)
    }

    fn build(&mut self, options: &Options) -> Result<(), LabError> {
        let record = self.layout.topology_record();
        let path = self.topology.path().as_os_str().as_encoded_bytes();
        fs::write(&record, path).map_err(io_at(&record))?;
        for node in self.topology.nodes() {
            let dir = self.layout.node_dir(&node.name);
            fs::create_dir(&dir).map_err(io_at(&dir))?;
            netns::add(&self.layout.netns(&node.name))?;
        }
        for link in self.topology.links() {
            netns::veth(
                &self.layout.netns(&link.a.node),
                &link.a.interface,
                &self.layout.netns(&link.b.node),
                &link.b.interface,
            )?;
        }
        for node in self.topology.nodes() {
            for line in &node.exec {
                let mut cmd = netns::command(&self.layout.netns(&node.name), "sh");
                run(cmd.arg("-c").arg(line).envs(&node.env))?;
            }
        }
        for node in self.topology.nodes() {
            let ns = self.layout.netns(&node.name);
            let dir = self.layout.node_dir(&node.name);
            match node.role {
                Role::Router => frr::start(node, &ns, &dir)?,
                Role::Host => {
                    host::write_config(node, &dir)?;
                }
            }
        }
        if let Some(binary) = &options.romana_bgp {
            let hosts: Vec<String> = self
                .topology
                .nodes()
                .filter(|n| n.role == Role::Host)
                .map(|n| n.name.clone())
                .collect();
            for node in hosts {
                self.start_romana_bgp(&node, binary)?;
            }
        }
        Ok(())
    }

    /// A handle on a lab that is already up (made by `romana-lab up` or
    /// another process). Dropping it leaves the lab running.
    pub fn attach(path: impl AsRef<Path>, prefix: &str) -> Result<Lab, LabError> {
        let topology = Topology::load(path)?;
        let layout = Layout::new(prefix)?;
        if !layout.dir().is_dir() {
            return Err(LabError::NotUp {
                prefix: prefix.to_owned(),
                found: format!("no {}", layout.dir().display()),
            });
        }
        Ok(Lab {
            topology,
            layout,
            daemons: BTreeMap::new(),
            owned: false,
        })
    }

    /// Takes the lab down now and says whether anything was left.
    pub fn down(mut self) -> Result<(), LabError> {
        self.owned = false;
        self.teardown()
    }

    /// Lets the lab outlive this value (the CLI's `up`).
    pub fn leave_running(mut self) {
        self.owned = false;
    }

    fn teardown(&mut self) -> Result<(), LabError> {
        let result = down(&self.layout, Some(&self.topology));
        // `down` ended them all; collect their exit status.
        for (_, mut child) in std::mem::take(&mut self.daemons) {
            if let Ok(None) = child.try_wait() {
                let _ = child.kill();
            }
            let _ = child.wait();
        }
        result
    }

    pub fn topology(&self) -> &Topology {
        &self.topology
    }

    pub fn prefix(&self) -> &str {
        self.layout.prefix()
    }

    /// The node's namespace, for `ip -n` or `ip netns exec`.
    pub fn netns(&self, node: &str) -> String {
        self.layout.netns(node)
    }

    /// The node's directory: FRR's sockets, pid files and logs, or
    /// romana-bgp's config copy, socket, pid file, log and state.
    pub fn node_dir(&self, node: &str) -> PathBuf {
        self.layout.node_dir(node)
    }

    /// The control socket of a host node's romana-bgp.
    pub fn api_socket(&self, node: &str) -> PathBuf {
        self.node_dir(node).join(host::SOCKET_FILE)
    }

    /// The config copy a host node's romana-bgp runs with.
    pub fn host_config(&self, node: &str) -> PathBuf {
        self.node_dir(node).join(host::CONFIG_FILE)
    }

    /// A command that runs `args` inside the node's namespace, with the
    /// node's `env`. On a router node, `vtysh ...` is pointed at the node's
    /// own daemons.
    pub fn command<S: AsRef<OsStr>>(&self, node: &str, args: &[S]) -> Result<Command, LabError> {
        let found = self.topology.node(node)?;
        let ns = self.layout.netns(node);
        if !netns::exists(&ns) {
            return Err(LabError::NotUp {
                prefix: self.prefix().to_owned(),
                found: format!("no namespace {ns}"),
            });
        }
        let mut args: Vec<OsString> = args.iter().map(|a| a.as_ref().to_owned()).collect();
        if found.role == Role::Router {
            args = frr::rewrite_vtysh(&self.node_dir(node), &args);
        }
        let Some((program, rest)) = args.split_first() else {
            return Err(LabError::BadName {
                what: "command",
                name: String::new(),
                reason: "is empty: give the program to run in the node".into(),
            });
        };
        let mut cmd = netns::command(&ns, program);
        cmd.args(rest).envs(&found.env);
        Ok(cmd)
    }

    /// Runs `args` in the node to completion and returns what it did; a
    /// failing command is an `Output`, not an error.
    pub fn exec<S: AsRef<OsStr>>(&self, node: &str, args: &[S]) -> Result<Output, LabError> {
        output(&mut self.command(node, args)?)
    }

    /// Runs `args` in the node, requires success, returns stdout.
    pub fn run<S: AsRef<OsStr>>(&self, node: &str, args: &[S]) -> Result<String, LabError> {
        run(&mut self.command(node, args)?)
    }

    /// One vtysh command on a router node (`show bgp summary json`).
    pub fn vtysh(&self, node: &str, command: &str) -> Result<String, LabError> {
        if self.topology.node(node)?.role != Role::Router {
            return Err(LabError::WrongRole {
                node: node.to_owned(),
                wanted: "router",
            });
        }
        self.run(node, &["vtysh", "-c", command])
    }

    /// Starts romana-bgp on a host node and waits until its API socket
    /// exists: `ip netns exec NS BINARY run --config DIR/romana-bgp.toml`,
    /// output appended to `DIR/romana-bgp.log`, pid in `DIR/romana-bgp.pid`.
    pub fn start_romana_bgp(&mut self, node: &str, binary: &Path) -> Result<(), LabError> {
        let found = self.topology.node(node)?;
        if found.role != Role::Host {
            return Err(LabError::WrongRole {
                node: node.to_owned(),
                wanted: "host",
            });
        }
        let dir = self.layout.node_dir(node);
        let ns = self.layout.netns(node);
        let running = match self.daemons.get_mut(node) {
            Some(child) => matches!(child.try_wait(), Ok(None)).then(|| child.id()),
            None => host::recorded_pid(&dir)?.filter(|&p| alive(p) && in_netns(p, &ns)),
        };
        if let Some(pid) = running {
            return Err(LabError::DaemonRunning {
                node: node.to_owned(),
                pid,
            });
        }
        let child = host::start(found, &ns, &dir, binary)?;
        if let Some(mut old) = self.daemons.insert(node.to_owned(), child) {
            old.wait().map_err(io_at(&dir))?;
        }
        Ok(())
    }

    /// Stops a host node's romana-bgp: SIGTERM, then SIGKILL after a grace
    /// period. Nothing happens if it is not running.
    pub fn stop_romana_bgp(&mut self, node: &str) -> Result<(), LabError> {
        self.end_romana_bgp(node, &["TERM", "KILL"])
    }

    /// Kills a host node's romana-bgp with SIGKILL, as a crash or the OOM
    /// killer would: it gets no chance to clean up or finish a write.
    /// Returns once it is gone. Nothing happens if it is not running.
    pub fn kill_romana_bgp(&mut self, node: &str) -> Result<(), LabError> {
        self.end_romana_bgp(node, &["KILL"])
    }

    /// Sends the signals in turn, each with a grace period, until the
    /// daemon is gone; then reaps it and removes its pid file.
    fn end_romana_bgp(&mut self, node: &str, signals: &[&str]) -> Result<(), LabError> {
        self.topology.node(node)?;
        let dir = self.node_dir(node);
        let ns = self.netns(node);
        let mut child = self.daemons.remove(node);
        let pid = match (&child, host::recorded_pid(&dir)?) {
            (Some(child), _) => Some(child.id()),
            (None, recorded) => recorded,
        };
        if let Some(pid) = pid.filter(|&p| alive(p) && in_netns(p, &ns)) {
            for signal in signals {
                signal_pids(signal, &[pid])?;
                if wait_until(DAEMON_STOP_GRACE, || !alive(pid)) {
                    break;
                }
            }
        }
        if let Some(child) = child.as_mut() {
            child.wait().map_err(io_at(&dir))?;
        }
        let pid_file = dir.join(host::PID_FILE);
        match fs::remove_file(&pid_file) {
            Err(e) if e.kind() != ErrorKind::NotFound => Err(io_at(pid_file)(e)),
            _ => Ok(()),
        }
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        if self.owned
            && let Err(e) = self.teardown()
        {
            eprintln!("romana-lab: {e}");
        }
    }
}

/// Takes down the lab with this prefix, whole or half made: ends every
/// process in its namespaces, deletes the namespaces (and with them the
/// veths), removes its directory. The nodes are those of `topology` and
/// those with a directory under the lab's, so a lab whose file changed or
/// is gone is still found. Nothing there is not an error.
pub fn down(layout: &Layout, topology: Option<&Topology>) -> Result<(), LabError> {
    let mut nodes: BTreeSet<String> = topology
        .map(|t| t.nodes().map(|n| n.name.clone()).collect())
        .unwrap_or_default();
    match fs::read_dir(layout.dir()) {
        Ok(entries) => {
            for entry in entries.flatten() {
                if entry.file_type().is_ok_and(|t| t.is_dir()) {
                    nodes.insert(entry.file_name().to_string_lossy().into_owned());
                }
            }
        }
        Err(e) if e.kind() == ErrorKind::NotFound => {}
        Err(e) => return Err(io_at(layout.dir())(e)),
    }
    let mut leftovers = Vec::new();
    for node in &nodes {
        let ns = layout.netns(node);
        if !netns::exists(&ns) {
            continue;
        }
        if let Err(e) = netns::stop_all(&ns).and_then(|()| netns::delete(&ns)) {
            leftovers.push(format!("namespace {ns}: {e}"));
        }
    }
    // Keep the directory while a namespace is left: it is how the next
    // `down` finds the nodes.
    if leftovers.is_empty() {
        match fs::remove_dir_all(layout.dir()) {
            Err(e) if e.kind() != ErrorKind::NotFound => {
                leftovers.push(format!("{}: {e}", layout.dir().display()));
            }
            _ => {}
        }
    }
    if leftovers.is_empty() {
        Ok(())
    } else {
        Err(LabError::Leftovers {
            prefix: layout.prefix().to_owned(),
            items: leftovers,
        })
    }
}
