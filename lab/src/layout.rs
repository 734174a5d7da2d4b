//! Where a lab keeps its state on the machine:
//!
//! ```text
//! /run/romana-lab/<prefix>/topology          the topology file's absolute path
//! /run/romana-lab/<prefix>/<node>/           one directory per node:
//!   router: frr.conf vtysh.conf daemons  (copies)  zserv.api  <daemon>.vty
//!           <daemon>.pid  <daemon>.log
//!   host:   romana-bgp.toml (the rewritten copy)  romana-bgp.sock
//!           romana-bgp.pid  romana-bgp.log  state/
//! ```
//!
//! `/run` is a tmpfs: a reboot forgets every lab, as it forgets namespaces.

use std::path::{Path, PathBuf};

use crate::error::LabError;
use crate::names::{check_name, netns};

/// The root of every lab's state.
pub const RUN_DIR: &str = "/run/romana-lab";

/// The paths of one lab.
#[derive(Clone, Debug)]
pub struct Layout {
    prefix: String,
    dir: PathBuf,
}

impl Layout {
    pub fn new(prefix: &str) -> Result<Layout, LabError> {
        check_name("lab prefix", prefix)?;
        Ok(Layout {
            prefix: prefix.to_owned(),
            dir: Path::new(RUN_DIR).join(prefix),
        })
    }

    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The lab's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The file recording which topology the lab was made from.
    pub fn topology_record(&self) -> PathBuf {
        self.dir.join("topology")
    }

    pub fn node_dir(&self, node: &str) -> PathBuf {
        self.dir.join(node)
    }

    pub fn netns(&self, node: &str) -> String {
        netns(&self.prefix, node)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_state_lives_under_the_prefix() {
        let layout = Layout::new("t1").unwrap();
        assert_eq!(
            layout.node_dir("leaf1"),
            Path::new("/run/romana-lab/t1/leaf1")
        );
        assert_eq!(layout.netns("leaf1"), "t1-leaf1");
        assert_eq!(
            layout.topology_record(),
            Path::new("/run/romana-lab/t1/topology")
        );
    }

    /// `names::MAX_NAME` is chosen so that every socket a daemon creates in
    /// a node directory fits `sun_path` (108 bytes with the NUL).
    #[test]
    fn longest_names_still_fit_a_socket_path() {
        let name = "n".repeat(crate::names::MAX_NAME);
        let layout = Layout::new(&name).unwrap();
        let longest_socket = "romana-bgp.sock";
        let path = layout.node_dir(&name).join(longest_socket);
        assert!(path.as_os_str().len() <= 107, "{}", path.display());
    }

    #[test]
    fn a_prefix_that_is_a_path_is_refused() {
        assert!(Layout::new("../etc").is_err());
    }
}
