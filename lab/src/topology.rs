//! The containerlab topology file, read and checked before anything is
//! created.
//!
//! The runner reads this subset of containerlab's format:
//!
//! ```yaml
//! name: two-hosts
//! topology:
//!   nodes:
//!     leaf1:
//!       kind: linux                      # the only kind the runner realises
//!       image: frrouting/frr:v8.4.1
//!       labels: { romana.role: router }  # router | host; else guessed from the image
//!       binds: [ "two-hosts/leaf1/frr.conf:/etc/frr/frr.conf" ]
//!       exec: [ "ip addr add 192.168.11.1/31 dev eth1" ]
//!       env: { RUST_LOG: info }
//!   links:
//!     - endpoints: ["leaf1:eth1", "host1:eth1"]
//! ```
//!
//! Other node fields (`cmd`, `ports`, `mgmt-ipv4`, ...) only matter to Docker
//! and are ignored. `defaults`, `kinds` and `groups` would change what a node
//! is, so a file using them is refused rather than realised differently.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde::de::IgnoredAny;

use crate::error::{LabError, io_at};
use crate::names::{check_interface, check_name};

/// The label that names a node's role.
pub const ROLE_LABEL: &str = "romana.role";
/// Where the FRR image reads its integrated config.
pub const FRR_CONF: &str = "/etc/frr/frr.conf";
/// Where the FRR image reads which daemons to start.
pub const FRR_DAEMONS: &str = "/etc/frr/daemons";
/// Where the romana-bgp image reads the daemon's config.
pub const HOST_CONF: &str = "/etc/romana-bgp/romana-bgp.toml";

#[derive(Deserialize)]
struct RawFile {
    name: String,
    topology: RawTopology,
}

#[derive(Deserialize)]
struct RawTopology {
    #[serde(default)]
    nodes: BTreeMap<String, RawNode>,
    #[serde(default)]
    links: Vec<RawLink>,
    defaults: Option<IgnoredAny>,
    kinds: Option<IgnoredAny>,
    groups: Option<IgnoredAny>,
}

#[derive(Deserialize)]
struct RawNode {
    kind: Option<String>,
    image: Option<String>,
    #[serde(default)]
    binds: Vec<String>,
    #[serde(default)]
    exec: Vec<String>,
    #[serde(default)]
    env: BTreeMap<String, String>,
    #[serde(default)]
    labels: BTreeMap<String, String>,
}

#[derive(Deserialize)]
struct RawLink {
    endpoints: Vec<String>,
}

/// What a node runs in the lab.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// FRR: zebra plus the daemons its `daemons` file enables.
    Router,
    /// romana-bgp.
    Host,
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Role::Router => "router",
            Role::Host => "host",
        })
    }
}

/// A file of the machine mounted into the node's container.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bind {
    /// Resolved against the topology file's directory, as containerlab does.
    pub source: PathBuf,
    pub target: String,
}

#[derive(Clone, Debug)]
pub struct Node {
    pub name: String,
    pub role: Role,
    pub image: String,
    pub binds: Vec<Bind>,
    /// Shell lines run inside the node's namespace once its links exist.
    pub exec: Vec<String>,
    /// Environment of every process the runner starts in the node.
    pub env: BTreeMap<String, String>,
}

impl Node {
    /// The machine's file mounted at `target` in the container.
    pub fn bind(&self, target: &str) -> Option<&Path> {
        self.binds
            .iter()
            .find(|b| b.target == target)
            .map(|b| b.source.as_path())
    }
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Endpoint {
    pub node: String,
    pub interface: String,
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.node, self.interface)
    }
}

/// A veth pair between two nodes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Link {
    pub a: Endpoint,
    pub b: Endpoint,
}

#[derive(Clone, Debug)]
pub struct Topology {
    name: String,
    path: PathBuf,
    nodes: BTreeMap<String, Node>,
    links: Vec<Link>,
}

impl Topology {
    /// Reads and checks a topology file; nothing is created.
    pub fn load(path: impl AsRef<Path>) -> Result<Topology, LabError> {
        let given = path.as_ref();
        let path = std::path::absolute(given).map_err(io_at(given))?;
        let text = std::fs::read_to_string(&path).map_err(io_at(&path))?;
        let topology = Topology::parse(&text, &path)?;
        topology.check_binds_exist()?;
        Ok(topology)
    }

    /// Checks `text` as if it were the file at `path`; bind sources are
    /// resolved against `path`'s directory but not looked at.
    pub fn parse(text: &str, path: &Path) -> Result<Topology, LabError> {
        let raw: RawFile = serde_saphyr::from_str(text).map_err(|e| LabError::Yaml {
            path: path.to_owned(),
            message: e.to_string(),
        })?;
        let refuse = |reason: String| LabError::Topology {
            path: path.to_owned(),
            reason,
        };
        check_name("topology", &raw.name)?;
        for (key, present) in [
            ("defaults", raw.topology.defaults.is_some()),
            ("kinds", raw.topology.kinds.is_some()),
            ("groups", raw.topology.groups.is_some()),
        ] {
            if present {
                return Err(refuse(format!(
                    "topology.{key} is not supported by the runner: \
                     write image, labels and binds on each node"
                )));
            }
        }
        let dir = path.parent().unwrap_or(Path::new("/"));
        let mut nodes = BTreeMap::new();
        for (name, raw_node) in raw.topology.nodes {
            let node =
                Node::from_raw(&name, raw_node, dir).map_err(|reason| LabError::Topology {
                    path: path.to_owned(),
                    reason: format!("node {name}: {reason}"),
                })?;
            nodes.insert(name, node);
        }
        if nodes.is_empty() {
            return Err(refuse("topology.nodes is empty".into()));
        }
        let mut links = Vec::with_capacity(raw.topology.links.len());
        let mut used = BTreeSet::new();
        for (i, raw_link) in raw.topology.links.iter().enumerate() {
            let link = link_from_raw(raw_link, &nodes)
                .map_err(|reason| refuse(format!("topology.links[{i}]: {reason}")))?;
            for end in [&link.a, &link.b] {
                if !used.insert(end.clone()) {
                    return Err(refuse(format!(
                        "topology.links[{i}]: interface {end} is already used by another link"
                    )));
                }
            }
            links.push(link);
        }
        Ok(Topology {
            name: raw.name,
            path: path.to_owned(),
            nodes,
            links,
        })
    }

    fn check_binds_exist(&self) -> Result<(), LabError> {
        for node in self.nodes.values() {
            for bind in &node.binds {
                if !bind.source.exists() {
                    return Err(LabError::Topology {
                        path: self.path.clone(),
                        reason: format!(
                            "node {}: bind source {} does not exist",
                            node.name,
                            bind.source.display()
                        ),
                    });
                }
            }
        }
        Ok(())
    }

    /// The topology's `name`, the default lab prefix.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The file, as an absolute path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Nodes in name order.
    pub fn nodes(&self) -> impl Iterator<Item = &Node> {
        self.nodes.values()
    }

    pub fn node(&self, name: &str) -> Result<&Node, LabError> {
        self.nodes.get(name).ok_or_else(|| LabError::UnknownNode {
            node: name.to_owned(),
            topology: self.name.clone(),
        })
    }

    /// Links in file order.
    pub fn links(&self) -> &[Link] {
        &self.links
    }
}

impl Node {
    fn from_raw(name: &str, raw: RawNode, dir: &Path) -> Result<Node, String> {
        check_name("node", name).map_err(|e| e.to_string())?;
        if let Some(kind) = raw.kind.as_deref().filter(|k| *k != "linux") {
            return Err(format!(
                "kind {kind:?}: the runner realises only kind linux"
            ));
        }
        let image = raw.image.unwrap_or_default();
        let role = role_of(&raw.labels, &image)?;
        let binds = raw
            .binds
            .iter()
            .map(|b| parse_bind(b, dir))
            .collect::<Result<Vec<_>, _>>()?;
        let node = Node {
            name: name.to_owned(),
            role,
            image,
            binds,
            exec: raw.exec,
            env: raw.env,
        };
        let needed = match role {
            Role::Router => FRR_CONF,
            Role::Host => HOST_CONF,
        };
        if node.bind(needed).is_none() {
            return Err(format!(
                "a {role} node needs a bind onto {needed} (its config)"
            ));
        }
        Ok(node)
    }
}

/// The label decides; without it, the image's name does: `.../frr:TAG` is a
/// router, `.../romana-bgp:TAG` a host.
fn role_of(labels: &BTreeMap<String, String>, image: &str) -> Result<Role, String> {
    if let Some(role) = labels.get(ROLE_LABEL) {
        return match role.as_str() {
            "router" => Ok(Role::Router),
            "host" => Ok(Role::Host),
            other => Err(format!(
                "label {ROLE_LABEL}: {other:?} is neither router nor host"
            )),
        };
    }
    match image_name(image) {
        "frr" => Ok(Role::Router),
        "romana-bgp" => Ok(Role::Host),
        _ => Err(format!(
            "cannot tell its role from image {image:?}: add `labels: {{{ROLE_LABEL}: router}}` \
             (FRR) or `{{{ROLE_LABEL}: host}}` (romana-bgp)"
        )),
    }
}

/// `frrouting/frr:v8.4.1` -> `frr`.
fn image_name(image: &str) -> &str {
    let last = image.rsplit('/').next().unwrap_or(image);
    let last = last.split('@').next().unwrap_or(last);
    last.split(':').next().unwrap_or(last)
}

/// `source:target[:mode]`, the source relative to the topology's directory.
fn parse_bind(bind: &str, dir: &Path) -> Result<Bind, String> {
    let mut parts = bind.split(':');
    match (parts.next(), parts.next()) {
        (Some(source), Some(target)) if !source.is_empty() && target.starts_with('/') => Ok(Bind {
            source: dir.join(source),
            target: target.to_owned(),
        }),
        _ => Err(format!(
            "bind {bind:?}: expected SOURCE:/ABSOLUTE/TARGET[:MODE]"
        )),
    }
}

fn link_from_raw(raw: &RawLink, nodes: &BTreeMap<String, Node>) -> Result<Link, String> {
    let [a, b] = raw.endpoints.as_slice() else {
        return Err(format!(
            "a link has exactly two endpoints, this one has {}",
            raw.endpoints.len()
        ));
    };
    let a = endpoint(a, nodes)?;
    let b = endpoint(b, nodes)?;
    Ok(Link { a, b })
}

fn endpoint(text: &str, nodes: &BTreeMap<String, Node>) -> Result<Endpoint, String> {
    let Some((node, interface)) = text.split_once(':') else {
        return Err(format!("endpoint {text:?}: expected NODE:INTERFACE"));
    };
    if !nodes.contains_key(node) {
        return Err(format!(
            "endpoint {text:?}: no node {node:?} in topology.nodes \
             (the runner has no `host` or `mgmt-net` endpoints)"
        ));
    }
    check_interface(interface).map_err(|e| format!("endpoint {text:?}: {e}"))?;
    Ok(Endpoint {
        node: node.to_owned(),
        interface: interface.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const TWO: &str = r#"
name: t
topology:
  nodes:
    leaf1:
      kind: linux
      image: frrouting/frr:v8.4.1
      binds: [ "t/leaf1/frr.conf:/etc/frr/frr.conf", "t/daemons:/etc/frr/daemons:ro" ]
    host1:
      kind: linux
      image: romana-bgp:latest
      binds: [ "t/host1.toml:/etc/romana-bgp/romana-bgp.toml" ]
      exec: [ "ip addr add 192.168.11.1/31 dev eth1" ]
      env: { RUST_LOG: debug }
    box:
      image: alpine:3
      labels: { romana.role: host }
      binds: [ "/abs/box.toml:/etc/romana-bgp/romana-bgp.toml" ]
  links:
    - endpoints: ["leaf1:eth1", "host1:eth1"]
    - endpoints: ["leaf1:eth2", "box:eth1"]
"#;

    fn parse(text: &str) -> Result<Topology, LabError> {
        Topology::parse(text, Path::new("/lab/t.clab.yml"))
    }

    fn refusal(text: &str) -> String {
        parse(text).unwrap_err().to_string()
    }

    #[test]
    fn nodes_links_binds_and_roles_are_read() {
        let t = parse(TWO).unwrap();
        assert_eq!(t.name(), "t");
        let leaf = t.node("leaf1").unwrap();
        assert_eq!(leaf.role, Role::Router);
        assert_eq!(
            leaf.bind(FRR_CONF),
            Some(Path::new("/lab/t/leaf1/frr.conf"))
        );
        assert_eq!(leaf.bind(FRR_DAEMONS), Some(Path::new("/lab/t/daemons")));
        let host = t.node("host1").unwrap();
        assert_eq!(host.role, Role::Host);
        assert_eq!(host.exec, ["ip addr add 192.168.11.1/31 dev eth1"]);
        assert_eq!(host.env.get("RUST_LOG").map(String::as_str), Some("debug"));
        let labelled = t.node("box").unwrap();
        assert_eq!(labelled.role, Role::Host);
        assert_eq!(labelled.bind(HOST_CONF), Some(Path::new("/abs/box.toml")));
        assert_eq!(t.links().len(), 2);
        assert_eq!(t.links()[1].b.to_string(), "box:eth1");
    }

    #[test]
    fn the_label_wins_over_the_image() {
        let text = TWO.replace(
            "image: romana-bgp:latest",
            "image: romana-bgp:latest\n      labels: { romana.role: router }",
        );
        assert!(refusal(&text).contains("a router node needs a bind onto /etc/frr/frr.conf"));
    }

    #[test]
    fn image_names_ignore_registry_tag_and_digest() {
        assert_eq!(image_name("frrouting/frr:v8.4.1"), "frr");
        assert_eq!(image_name("quay.io/frrouting/frr:10.2.1"), "frr");
        assert_eq!(image_name("localhost:5000/romana-bgp:dev"), "romana-bgp");
        assert_eq!(image_name("frr@sha256:abc"), "frr");
        assert_eq!(image_name("romana-bgp"), "romana-bgp");
    }

    #[test]
    fn a_node_of_unknown_role_is_refused_with_the_fix() {
        let text = TWO.replace("image: romana-bgp:latest", "image: alpine:3");
        assert!(refusal(&text).contains("labels: {romana.role: router}"));
    }

    #[test]
    fn other_kinds_are_refused() {
        let text = TWO.replacen("kind: linux", "kind: nokia_srlinux", 1);
        assert!(refusal(&text).contains("only kind linux"));
    }

    #[test]
    fn inheritance_sections_are_refused() {
        let text = TWO.replace(
            "topology:\n",
            "topology:\n  kinds: { linux: { image: x } }\n",
        );
        assert!(refusal(&text).contains("topology.kinds is not supported"));
    }

    #[test]
    fn links_must_name_known_nodes_and_short_interfaces() {
        let unknown = TWO.replace("\"box:eth1\"", "\"host:veth0\"");
        assert!(refusal(&unknown).contains("no node \"host\""));
        let long = TWO.replace("\"box:eth1\"", "\"box:a234567890123456\"");
        assert!(refusal(&long).contains("longer than 15"));
        let three = TWO.replace("\"box:eth1\"]", "\"box:eth1\", \"host1:eth2\"]");
        assert!(refusal(&three).contains("exactly two endpoints"));
        let missing_colon = TWO.replace("\"box:eth1\"", "\"box\"");
        assert!(refusal(&missing_colon).contains("NODE:INTERFACE"));
    }

    #[test]
    fn an_interface_is_used_by_one_link_only() {
        let text = TWO.replace("\"leaf1:eth2\"", "\"leaf1:eth1\"");
        assert!(refusal(&text).contains("leaf1:eth1 is already used"));
    }

    #[test]
    fn binds_need_an_absolute_target() {
        let text = TWO.replace("t/daemons:/etc/frr/daemons:ro", "t/daemons");
        assert!(refusal(&text).contains("SOURCE:/ABSOLUTE/TARGET"));
    }

    #[test]
    fn yaml_errors_name_the_file() {
        let e = refusal("name: [unclosed");
        assert!(
            e.starts_with("/lab/t.clab.yml: not a containerlab topology"),
            "{e}"
        );
    }

    #[test]
    fn node_names_must_be_plain() {
        let text = TWO.replace("    box:", "    \"bad/name\":");
        assert!(refusal(&text).contains("node name \"bad/name\""));
    }
}
