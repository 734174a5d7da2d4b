//! romana-lab realises containerlab topology files without Docker: one
//! network namespace per node, veth pairs for the links, FRR from the
//! Debian package on router nodes and romana-bgp on host nodes.
//!
//! ```no_run
//! use std::time::Duration;
//! use romana_lab::{Lab, Options, wait_until};
//!
//! let lab = Lab::up("lab/two-hosts.clab.yml", "t1", &Options::without_romana_bgp())?;
//! assert!(wait_until(Duration::from_secs(30), || {
//!     lab.vtysh("leaf1", "show bgp summary json").is_ok()
//! }));
//! let ping = lab.exec("host1", &["ping", "-c1", "192.168.11.0"])?;
//! assert!(ping.status.success());
//! # Ok::<(), romana_lab::LabError>(())
//! ```
//!
//! Dropping the `Lab` takes it down. See `lab/README.md` for the CLI and the
//! files.

mod command;
mod error;
mod frr;
mod host;
mod lab;
mod layout;
mod names;
mod netns;
mod options;
mod process;
mod status;
mod topology;
mod wait;
mod watchdog;

pub use error::LabError;
pub use lab::Lab;
pub use layout::{Layout, RUN_DIR};
pub use options::{Options, ROMANA_BGP_ENV, locate_romana_bgp};
pub use status::{LabStatus, NodeStatus, lab_status, render as render_status, status};
pub use topology::{Bind, Endpoint, Link, Node, ROLE_LABEL, Role, Topology};
pub use wait::{wait_for, wait_until};
pub use watchdog::Watchdog;

/// Takes down the lab with this prefix, whole or half made; see
/// [`lab::down`]. `topology` adds the nodes of the file to those found in
/// the lab's directory. Taking down a lab that is not there succeeds.
pub fn down(prefix: &str, topology: Option<&Topology>) -> Result<(), LabError> {
    lab::down(&Layout::new(prefix)?, topology)
}
