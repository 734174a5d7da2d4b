//! What labs are up on this machine, read from their directories and
//! namespaces.

use std::fs;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use crate::error::{LabError, io_at};
use crate::layout::{Layout, RUN_DIR};
use crate::netns;
use crate::process;

#[derive(Clone, Debug)]
pub struct LabStatus {
    pub prefix: String,
    /// The topology file the lab was made from, if it was recorded.
    pub topology: Option<PathBuf>,
    pub nodes: Vec<NodeStatus>,
}

#[derive(Clone, Debug)]
pub struct NodeStatus {
    pub node: String,
    pub netns: String,
    /// Whether the namespace exists; a half-down lab has nodes without one.
    pub netns_present: bool,
    /// The processes inside the namespace: pid and name.
    pub processes: Vec<(u32, String)>,
}

/// Every lab under `/run/romana-lab`, in prefix order.
pub fn status() -> Result<Vec<LabStatus>, LabError> {
    let entries = match fs::read_dir(RUN_DIR) {
        Ok(entries) => entries,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io_at(RUN_DIR)(e)),
    };
    let mut labs = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if let Ok(layout) = Layout::new(&name) {
            labs.push(lab_status(&layout)?);
        }
    }
    labs.sort_by(|a, b| a.prefix.cmp(&b.prefix));
    Ok(labs)
}

/// The lab with this prefix; an error if it has no directory.
pub fn lab_status(layout: &Layout) -> Result<LabStatus, LabError> {
    let topology = fs::read_to_string(layout.topology_record())
        .ok()
        .map(PathBuf::from);
    let mut nodes = Vec::new();
    for entry in fs::read_dir(layout.dir())
        .map_err(io_at(layout.dir()))?
        .flatten()
    {
        if !entry.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        let node = entry.file_name().to_string_lossy().into_owned();
        nodes.push(node_status(layout, &node));
    }
    nodes.sort_by(|a, b| a.node.cmp(&b.node));
    Ok(LabStatus {
        prefix: layout.prefix().to_owned(),
        topology,
        nodes,
    })
}

fn node_status(layout: &Layout, node: &str) -> NodeStatus {
    let ns = layout.netns(node);
    let present = netns::exists(&ns);
    let processes = if present {
        netns::pids(&ns)
            .unwrap_or_default()
            .into_iter()
            .map(|pid| (pid, process::name(pid)))
            .collect()
    } else {
        Vec::new()
    };
    NodeStatus {
        node: node.to_owned(),
        netns: ns,
        netns_present: present,
        processes,
    }
}

/// The status as a table for people.
pub fn render(labs: &[LabStatus]) -> String {
    if labs.is_empty() {
        return "no lab is up\n".to_owned();
    }
    let mut out = String::new();
    for lab in labs {
        let file = lab
            .topology
            .as_deref()
            .map_or_else(|| "(topology not recorded)".into(), Path::to_string_lossy);
        out.push_str(&format!("lab {}  {file}\n", lab.prefix));
        let width = lab.nodes.iter().map(|n| n.node.len()).max().unwrap_or(0);
        let ns_width = lab.nodes.iter().map(|n| n.netns.len()).max().unwrap_or(0);
        for node in &lab.nodes {
            let what = if !node.netns_present {
                "namespace missing".to_owned()
            } else if node.processes.is_empty() {
                "no process".to_owned()
            } else {
                node.processes
                    .iter()
                    .map(|(pid, name)| format!("{name}[{pid}]"))
                    .collect::<Vec<_>>()
                    .join(" ")
            };
            out.push_str(&format!(
                "  {:width$}  {:ns_width$}  {what}\n",
                node.node, node.netns
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_shows_each_node_with_its_processes() {
        let labs = [LabStatus {
            prefix: "t1".into(),
            topology: Some("/lab/two-hosts.clab.yml".into()),
            nodes: vec![
                NodeStatus {
                    node: "host1".into(),
                    netns: "t1-host1".into(),
                    netns_present: false,
                    processes: vec![],
                },
                NodeStatus {
                    node: "leaf1".into(),
                    netns: "t1-leaf1".into(),
                    netns_present: true,
                    processes: vec![(10, "zebra".into()), (12, "bgpd".into())],
                },
            ],
        }];
        assert_eq!(
            render(&labs),
            "lab t1  /lab/two-hosts.clab.yml\n\
             \x20 host1  t1-host1  namespace missing\n\
             \x20 leaf1  t1-leaf1  zebra[10] bgpd[12]\n"
        );
        assert_eq!(render(&[]), "no lab is up\n");
    }
}
