//! What can go wrong while realising a lab, each case saying what to do.

use std::fmt;
use std::io;
use std::path::PathBuf;
use std::process::ExitStatus;

#[derive(Debug)]
pub enum LabError {
    /// A file the lab needs could not be read or written.
    Io { path: PathBuf, source: io::Error },
    /// The topology file is not YAML of the containerlab shape.
    Yaml { path: PathBuf, message: String },
    /// The topology file parses but cannot be realised as written.
    Topology { path: PathBuf, reason: String },
    /// A host node's romana-bgp config could not be rewritten.
    HostConfig { path: PathBuf, reason: String },
    /// A name (prefix, node, interface) that the kernel or the file system
    /// would refuse or misread.
    BadName {
        what: &'static str,
        name: String,
        reason: String,
    },
    /// A program could not be started at all.
    Spawn { program: String, source: io::Error },
    /// A program ran and failed.
    Command {
        command: String,
        status: ExitStatus,
        output: String,
    },
    /// `up` found the namespaces or the state of a lab with this prefix.
    AlreadyUp { prefix: String, found: String },
    /// The lab (or this node of it) is not running.
    NotUp { prefix: String, found: String },
    /// A node name that the topology does not have.
    UnknownNode { node: String, topology: String },
    /// A node exists but is not of the role the request needs.
    WrongRole { node: String, wanted: &'static str },
    /// The romana-bgp binary for host nodes was not found.
    RomanaBgpNotFound { looked: String },
    /// A host node's daemon exited or never opened its API socket. The
    /// log's last lines are kept here: a failed `up` removes the log.
    DaemonNotReady {
        node: String,
        reason: String,
        log_tail: String,
    },
    /// `start_romana_bgp` on a node whose daemon still runs.
    DaemonRunning { node: String, pid: u32 },
    /// `down` could not remove everything; each line is one leftover.
    Leftovers { prefix: String, items: Vec<String> },
}

impl fmt::Display for LabError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LabError::Io { path, source } => write!(f, "{}: {source}", path.display()),
            LabError::Yaml { path, message } => write!(
                f,
                "{}: not a containerlab topology: {message}",
                path.display()
            ),
            LabError::Topology { path, reason } => write!(f, "{}: {reason}", path.display()),
            LabError::HostConfig { path, reason } => write!(
                f,
                "{}: cannot make the node's copy of this romana-bgp config: {reason}",
                path.display()
            ),
            LabError::BadName { what, name, reason } => {
                write!(f, "{what} name {name:?}: {reason}")
            }
            LabError::Spawn { program, source } => write!(
                f,
                "cannot start {program}: {source} (is it installed? run scripts/install-deps.sh)"
            ),
            LabError::Command {
                command,
                status,
                output,
            } => {
                write!(f, "`{command}` failed ({status})")?;
                let output = output.trim();
                if !output.is_empty() {
                    write!(f, ":\n{output}")?;
                }
                Ok(())
            }
            LabError::AlreadyUp { prefix, found } => write!(
                f,
                "a lab with prefix {prefix:?} is already up ({found}): \
                 take it down with `romana-lab down FILE --prefix {prefix}` or choose another prefix"
            ),
            LabError::NotUp { prefix, found } => write!(
                f,
                "the lab with prefix {prefix:?} is not up ({found}): \
                 start it with `romana-lab up FILE --prefix {prefix}`"
            ),
            LabError::UnknownNode { node, topology } => {
                write!(f, "topology {topology:?} has no node {node:?}")
            }
            LabError::WrongRole { node, wanted } => {
                write!(f, "node {node:?} is not a {wanted} node")
            }
            LabError::RomanaBgpNotFound { looked } => write!(
                f,
                "no romana-bgp binary for the host nodes (looked at {looked}): \
                 build it with `cargo build -p romana-bgp`, pass --romana-bgp PATH or set \
                 ROMANA_BGP_BIN, or start the lab with --no-romana-bgp"
            ),
            LabError::DaemonNotReady {
                node,
                reason,
                log_tail,
            } => {
                write!(f, "romana-bgp on node {node:?} {reason}")?;
                if log_tail.trim().is_empty() {
                    write!(f, "; it logged nothing")
                } else {
                    write!(f, "; its log ends with:\n{}", log_tail.trim_end())
                }
            }
            LabError::DaemonRunning { node, pid } => write!(
                f,
                "romana-bgp already runs on node {node:?} (pid {pid}): stop it first"
            ),
            LabError::Leftovers { prefix, items } => write!(
                f,
                "lab {prefix:?} is not fully down; still there: {}",
                items.join("; ")
            ),
        }
    }
}

impl std::error::Error for LabError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            LabError::Io { source, .. } | LabError::Spawn { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// Attaches the path to an I/O error.
pub(crate) fn io_at(path: impl Into<PathBuf>) -> impl FnOnce(io::Error) -> LabError {
    let path = path.into();
    move |source| LabError::Io { path, source }
}
