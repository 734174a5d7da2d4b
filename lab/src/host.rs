//! A host node: romana-bgp in the node's namespace.
//!
//! In a container the daemon's config, socket and state are the
//! container's own. In a namespace the file system is the machine's, so
//! the runner gives each host node its own copy of the config with the
//! paths moved into the node's directory:
//!
//! ```text
//! DIR/romana-bgp.toml   the bound config, with
//!                         [api] socket = "DIR/romana-bgp.sock"
//!                         [state] dir  = "DIR/state"
//! ip netns exec NS ROMANA_BGP run --config DIR/romana-bgp.toml
//!                       stdout and stderr appended to DIR/romana-bgp.log,
//!                       pid in DIR/romana-bgp.pid
//! ```
//!
//! Every other key is kept as written.

use std::fs::{self, OpenOptions};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::Duration;

use toml::{Table, Value};

use crate::error::{LabError, io_at};
use crate::netns;
use crate::topology::{HOST_CONF, Node};
use crate::wait::wait_for;

pub const CONFIG_FILE: &str = "romana-bgp.toml";
pub const SOCKET_FILE: &str = "romana-bgp.sock";
pub const PID_FILE: &str = "romana-bgp.pid";
pub const LOG_FILE: &str = "romana-bgp.log";
pub const STATE_DIR: &str = "state";

/// How long the daemon has to open its API socket after it is started.
const READY_TIMEOUT: Duration = Duration::from_secs(10);

/// Writes the node's copy of its config into `dir`; returns its path.
pub fn write_config(node: &Node, dir: &Path) -> Result<PathBuf, LabError> {
    let source = node.bind(HOST_CONF).ok_or_else(|| LabError::WrongRole {
        node: node.name.clone(),
        wanted: "host",
    })?;
    let text = fs::read_to_string(source).map_err(io_at(source))?;
    let copy = rewrite_config(&text, dir).map_err(|reason| LabError::HostConfig {
        path: source.to_owned(),
        reason,
    })?;
    let target = dir.join(CONFIG_FILE);
    let header = format!(
        "# Written by romana-lab for node {} from {}:\n\
         # [api] socket and [state] dir point into the node's directory.\n\n",
        node.name,
        source.display()
    );
    fs::write(&target, header + &copy).map_err(io_at(&target))?;
    Ok(target)
}

/// The config text with `[api] socket` and `[state] dir` set to paths in
/// `dir`, added if the file had none.
pub fn rewrite_config(text: &str, dir: &Path) -> Result<String, String> {
    let mut table: Table = text.parse().map_err(|e: toml::de::Error| e.to_string())?;
    set(&mut table, "api", "socket", &dir.join(SOCKET_FILE))?;
    set(&mut table, "state", "dir", &dir.join(STATE_DIR))?;
    Ok(table.to_string())
}

fn set(table: &mut Table, section: &str, key: &str, path: &Path) -> Result<(), String> {
    let path = path
        .to_str()
        .ok_or_else(|| format!("{} is not UTF-8", path.display()))?;
    let entry = table
        .entry(section)
        .or_insert_with(|| Value::Table(Table::new()));
    let Value::Table(section_table) = entry else {
        return Err(format!("`{section}` must be a table ([{section}])"));
    };
    section_table.insert(key.to_owned(), Value::String(path.to_owned()));
    Ok(())
}

/// Starts romana-bgp in the namespace with the node's config copy, and
/// waits until it has opened its API socket.
pub fn start(node: &Node, ns: &str, dir: &Path, binary: &Path) -> Result<Child, LabError> {
    let socket = dir.join(SOCKET_FILE);
    // A socket left by an earlier run would look like readiness.
    match fs::remove_file(&socket) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(io_at(&socket)(e)),
        _ => {}
    }
    let log_path = dir.join(LOG_FILE);
    let log = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)
        .map_err(io_at(&log_path))?;
    let log_err = log.try_clone().map_err(io_at(&log_path))?;
    let mut cmd = netns::command(ns, binary);
    cmd.arg("run")
        .arg("--config")
        .arg(dir.join(CONFIG_FILE))
        .envs(&node.env)
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log_err)
        // Its own process group: a terminal's ^C to the runner or a test
        // does not reach the daemon; `down` ends it.
        .process_group(0);
    let mut child = cmd.spawn().map_err(|source| LabError::Spawn {
        program: binary.display().to_string(),
        source,
    })?;
    let pid_path = dir.join(PID_FILE);
    fs::write(&pid_path, format!("{}\n", child.id())).map_err(io_at(&pid_path))?;

    let not_ready = |reason: String| LabError::DaemonNotReady {
        node: node.name.clone(),
        reason,
        log_tail: log_tail(&log_path),
    };
    let waited = wait_for(READY_TIMEOUT, || match child.try_wait() {
        Ok(Some(status)) => Ok(Err(format!(
            "exited ({status}) before opening its API socket"
        ))),
        Err(e) => Ok(Err(format!("cannot be watched: {e}"))),
        Ok(None) if socket.exists() => Ok(Ok(())),
        Ok(None) => Err(()),
    });
    let reason = match waited {
        Ok(Ok(())) => return Ok(child),
        Ok(Err(reason)) => reason,
        Err(()) => format!(
            "did not open its API socket {} within {} s",
            socket.display(),
            READY_TIMEOUT.as_secs()
        ),
    };
    // Not ready is not running: no half-started daemon stays behind.
    let _ = child.kill();
    let _ = child.wait();
    Err(not_ready(reason))
}

/// The last lines of the log, for an error message.
fn log_tail(path: &Path) -> String {
    const LINES: usize = 20;
    let text = fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(LINES)..].join("\n")
}

/// The pid recorded when the daemon was started, if there is one.
pub fn recorded_pid(dir: &Path) -> Result<Option<u32>, LabError> {
    let path = dir.join(PID_FILE);
    match fs::read_to_string(&path) {
        Ok(text) => Ok(text.trim().parse().ok()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io_at(path)(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPEC_EXAMPLE: &str = r#"
[host]
asn = 65001
router_id = "192.168.10.2"
index = 1

[[neighbor]]
address = "192.168.10.1"
remote_as = 65000

[api]
socket = "/run/romana-bgp/romana-bgp.sock"

[state]
dir = "/var/lib/romana-bgp"
"#;

    fn reparse(text: &str) -> Table {
        text.parse().unwrap()
    }

    #[test]
    fn socket_and_state_move_into_the_node_directory() {
        let dir = Path::new("/run/romana-lab/t1/host1");
        let copy = reparse(&rewrite_config(SPEC_EXAMPLE, dir).unwrap());
        assert_eq!(
            copy["api"]["socket"].as_str(),
            Some("/run/romana-lab/t1/host1/romana-bgp.sock")
        );
        assert_eq!(
            copy["state"]["dir"].as_str(),
            Some("/run/romana-lab/t1/host1/state")
        );
    }

    #[test]
    fn every_other_key_is_kept() {
        let dir = Path::new("/d");
        let copy = reparse(&rewrite_config(SPEC_EXAMPLE, dir).unwrap());
        let original = reparse(SPEC_EXAMPLE);
        assert_eq!(copy["host"], original["host"]);
        assert_eq!(copy["neighbor"], original["neighbor"]);
    }

    #[test]
    fn missing_sections_are_added() {
        let copy = reparse(&rewrite_config("[host]\nasn = 1\n", Path::new("/d")).unwrap());
        assert_eq!(copy["api"]["socket"].as_str(), Some("/d/romana-bgp.sock"));
        assert_eq!(copy["state"]["dir"].as_str(), Some("/d/state"));
    }

    #[test]
    fn a_section_that_is_not_a_table_is_an_error() {
        let err = rewrite_config("api = 5\n", Path::new("/d")).unwrap_err();
        assert!(err.contains("`api` must be a table"), "{err}");
    }

    #[test]
    fn invalid_toml_is_an_error() {
        assert!(rewrite_config("[host\n", Path::new("/d")).is_err());
    }
}
