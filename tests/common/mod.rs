//! What the lab tests share: labs under a prefix of their own, the host's
//! `romana-bgp show` as the operator sees it (through the real binary,
//! inside the host's namespace), the leaf's BGP table through vtysh, and the
//! host's kernel routes through `ip -j route`.
//!
//! Everything is polled, never slept on (FRR topotests style): `eventually`
//! asks again until the answer is right or the time is up, and then fails
//! with the last answer seen and the tail of every host's log.

// Each test file uses its own part of this module.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use romana_lab::{Lab, Options, Role, wait_for};
use serde::Deserialize;
use serde_json::Value;

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_romana-bgp");

/// The protocol number romana-bgp tags the host's own kernel routes with
/// (aggregate, endpoints).
pub const PROTO: &str = "201";

/// The protocol number romana-bgp tags the routes it learned with.
pub const LEARNED_PROTO: &str = "202";

/// A session comes up in 1-5 s; FRR retries connecting every 5 s and the
/// host may wait out an idle hold after an error first.
pub const SESSION_UP: Duration = Duration::from_secs(45);

/// The keys SPEC §3 promises on every element of `show -o json`'s
/// `neighbors`.
const SUMMARY_KEYS: [&str; 11] = [
    "address",
    "remote_as",
    "local_as",
    "state",
    "uptime_secs",
    "prefixes_received",
    "prefixes_accepted",
    "prefixes_advertised",
    "messages_received",
    "messages_sent",
    "last_error",
];

/// The keys SPEC §3 promises on every element of `show routes -o json`'s
/// `routes`.
const ROUTE_KEYS: [&str; 5] = ["prefix", "neighbor", "next_hop", "as_path", "installed"];

/// A lab topology file of the repository, by name (`two-hosts`).
pub fn topology(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("lab")
        .join(format!("{name}.clab.yml"))
}

/// A lab prefix unique to the test (`tag`) and the process, short enough
/// for namespace names: tests run side by side under nextest, and a
/// leftover of an earlier run does not collide.
pub fn prefix(tag: &str) -> String {
    format!("{tag}{}", std::process::id() % 10000)
}

/// Brings the topology up with its routers only, and waits until every
/// router has loaded its config and left Idle for every neighbor, i.e. a
/// leaf accepts a host's connection. Host nodes have their namespace, links
/// and config copy; start their daemons with [`start_hosts`].
pub fn up_routers(name: &str, tag: &str) -> Lab {
    let lab = Lab::up(topology(name), &prefix(tag), &Options::without_romana_bgp())
        .unwrap_or_else(|e| panic!("lab {name} does not come up: {e}"));
    for router in nodes(&lab, Role::Router) {
        eventually(&lab, SESSION_UP, &format!("{router} ready"), || {
            let states = frr_neighbor_states(&lab, &router)?;
            if !states.is_empty() && states.values().all(|s| s != "Idle") {
                Ok(())
            } else {
                Err(format!("neighbor states {states:?}"))
            }
        });
    }
    lab
}

/// Starts romana-bgp on every host node of the lab.
pub fn start_hosts(lab: &mut Lab) {
    for host in nodes(lab, Role::Host) {
        lab.start_romana_bgp(&host, Path::new(BIN))
            .unwrap_or_else(|e| panic!("romana-bgp does not start on {host}: {e}"));
    }
}

/// The lab with its routers ready, then romana-bgp on every host: no
/// session attempt meets a leaf that has not loaded its config yet.
pub fn up(name: &str, tag: &str) -> Lab {
    let mut lab = up_routers(name, tag);
    start_hosts(&mut lab);
    lab
}

/// The names of the lab's nodes of one role.
pub fn nodes(lab: &Lab, role: Role) -> Vec<String> {
    lab.topology()
        .nodes()
        .filter(|n| n.role == role)
        .map(|n| n.name.clone())
        .collect()
}

/// Polls `attempt` until it succeeds; after `timeout`, fails the test with
/// what was seen last and the end of every host's romana-bgp log.
pub fn eventually<T>(
    lab: &Lab,
    timeout: Duration,
    what: &str,
    attempt: impl FnMut() -> Result<T, String>,
) -> T {
    match wait_for(timeout, attempt) {
        Ok(value) => value,
        Err(seen) => panic!(
            "{what}: not so within {} s\nlast seen: {seen}\n{}",
            timeout.as_secs(),
            host_logs(lab)
        ),
    }
}

/// The last lines of every host's romana-bgp log, for a failure message.
pub fn host_logs(lab: &Lab) -> String {
    const LINES: usize = 25;
    let mut out = String::new();
    for host in nodes(lab, Role::Host) {
        let text = fs::read_to_string(lab.node_dir(&host).join("romana-bgp.log"))
            .unwrap_or_else(|e| format!("(no log: {e})"));
        let lines: Vec<&str> = text.lines().collect();
        let tail = lines[lines.len().saturating_sub(LINES)..].join("\n");
        out.push_str(&format!("--- {host} romana-bgp.log (tail)\n{tail}\n"));
    }
    out
}

// ---- romana-bgp on a host, through its CLI ----

/// Runs `romana-bgp ARGS --socket SOCKET` inside the host's namespace.
pub fn romana(lab: &Lab, host: &str, args: &[&str]) -> Output {
    let socket = lab.api_socket(host);
    let socket = socket.to_str().expect("lab paths are UTF-8");
    let mut argv = vec![BIN];
    argv.extend_from_slice(args);
    argv.extend_from_slice(&["--socket", socket]);
    lab.exec(host, &argv)
        .unwrap_or_else(|e| panic!("cannot run romana-bgp in {host}: {e}"))
}

/// The stdout of a `romana-bgp` client command that must succeed.
fn romana_ok(lab: &Lab, host: &str, args: &[&str]) -> Result<String, String> {
    let out = romana(lab, host, args);
    if out.status.success() {
        String::from_utf8(out.stdout).map_err(|e| format!("romana-bgp {args:?}: {e}"))
    } else {
        Err(format!(
            "romana-bgp {args:?} in {host}: {}: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// `romana-bgp show` (text), or why it could not be had.
pub fn show_text(lab: &Lab, host: &str, args: &[&str]) -> Result<String, String> {
    let mut argv = vec!["show"];
    argv.extend_from_slice(args);
    romana_ok(lab, host, &argv)
}

/// One neighbor of `show -o json`, with the SPEC §3 field names.
#[derive(Clone, Debug, Deserialize)]
pub struct Neighbor {
    pub address: String,
    pub remote_as: u32,
    pub local_as: u32,
    pub state: String,
    pub uptime_secs: u64,
    pub prefixes_received: u64,
    pub prefixes_accepted: u64,
    pub prefixes_advertised: u64,
    pub messages_received: u64,
    pub messages_sent: u64,
    pub last_error: Option<String>,
}

/// One route of `show routes -o json`, with the SPEC §3 field names.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct Route {
    pub prefix: String,
    pub neighbor: String,
    pub next_hop: String,
    pub as_path: Vec<u32>,
    pub installed: bool,
}

/// Parses `-o json` output and checks that every element of `array` has
/// every key the SPEC promises, `null` included (serde alone would read a
/// missing `last_error` as null).
fn spec_array<T: for<'de> Deserialize<'de>>(
    text: &str,
    array: &str,
    keys: &[&str],
) -> Result<Vec<T>, String> {
    let value: Value = serde_json::from_str(text).map_err(|e| format!("{e}: {text}"))?;
    let items = value[array]
        .as_array()
        .ok_or_else(|| format!("no `{array}` array in {text}"))?;
    for item in items {
        if let Some(missing) = keys.iter().find(|k| item.get(**k).is_none()) {
            return Err(format!("`{missing}` missing from {item}"));
        }
    }
    items
        .iter()
        .map(|item| T::deserialize(item).map_err(|e| format!("{e}: {item}")))
        .collect()
}

/// `romana-bgp show -o json`: the host's neighbors.
pub fn neighbors(lab: &Lab, host: &str) -> Result<Vec<Neighbor>, String> {
    let text = romana_ok(lab, host, &["show", "-o", "json"])?;
    spec_array(&text, "neighbors", &SUMMARY_KEYS)
}

/// The host's one neighbor with this address.
pub fn neighbor(lab: &Lab, host: &str, address: &str) -> Result<Neighbor, String> {
    let all = neighbors(lab, host)?;
    all.iter()
        .find(|n| n.address == address)
        .cloned()
        .ok_or_else(|| format!("no neighbor {address} in {all:?}"))
}

/// `romana-bgp show routes -o json`: the routes the import policy accepted.
pub fn routes(lab: &Lab, host: &str) -> Result<Vec<Route>, String> {
    let text = romana_ok(lab, host, &["show", "routes", "-o", "json"])?;
    spec_array(&text, "routes", &ROUTE_KEYS)
}

/// Waits until the host's session to `address` is Established and returns
/// it.
pub fn established(lab: &Lab, host: &str, address: &str) -> Neighbor {
    eventually(
        lab,
        SESSION_UP,
        &format!("{host}: session to {address} Established"),
        || {
            let n = neighbor(lab, host, address)?;
            if n.state == "Established" {
                Ok(n)
            } else {
                Err(format!("{n:?}"))
            }
        },
    )
}

// ---- FRR on a router, through vtysh ----

/// Parsed JSON of one vtysh command on a router.
pub fn vtysh_json(lab: &Lab, router: &str, command: &str) -> Result<Value, String> {
    let text = lab
        .vtysh(router, command)
        .map_err(|e| format!("{router}: vtysh -c '{command}': {e}"))?;
    serde_json::from_str(&text).map_err(|e| format!("{router}: '{command}': {e}: {text}"))
}

/// Runs configuration commands on a router in one vtysh session, so that
/// each line is read in the node the previous one entered (`configure`,
/// `router bgp 65000`, `address-family ipv4 unicast`, ...).
pub fn vtysh_config(lab: &Lab, router: &str, lines: &[String]) {
    let mut argv: Vec<&str> = vec!["vtysh", "-c", "configure terminal"];
    for line in lines {
        argv.push("-c");
        argv.push(line);
    }
    let out = lab
        .exec(router, &argv)
        .unwrap_or_else(|e| panic!("{router}: vtysh: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    // vtysh exits 0 on some refused lines; a refusal is printed with `%`.
    assert!(
        out.status.success() && !stdout.contains('%') && !stderr.contains('%'),
        "{router}: vtysh refused the config ({}):\n{stdout}{stderr}",
        out.status
    );
}

/// Every BGP neighbor of a router and its FRR state (`Idle`, `Active`,
/// `Established`, ...).
pub fn frr_neighbor_states(lab: &Lab, router: &str) -> Result<BTreeMap<String, String>, String> {
    let json = vtysh_json(lab, router, "show bgp neighbors json")?;
    let peers = json
        .as_object()
        .ok_or_else(|| format!("{router}: neighbors are not an object: {json}"))?;
    Ok(peers
        .iter()
        .filter_map(|(address, peer)| {
            let state = peer.get("bgpState")?.as_str()?;
            Some((address.clone(), state.to_owned()))
        })
        .collect())
}

/// One path of a prefix in a router's BGP table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FrrPath {
    /// The neighbor the path came from.
    pub peer: String,
    /// The AS path as FRR prints it (`65001`).
    pub as_path: String,
    pub next_hops: Vec<String>,
}

/// A router's IPv4 unicast BGP table: every prefix with its paths.
pub fn frr_routes(lab: &Lab, router: &str) -> Result<BTreeMap<String, Vec<FrrPath>>, String> {
    let json = vtysh_json(lab, router, "show bgp ipv4 unicast json")?;
    let Some(routes) = json["routes"].as_object() else {
        return Ok(BTreeMap::new());
    };
    let mut table = BTreeMap::new();
    for (prefix, paths) in routes {
        let paths = paths
            .as_array()
            .ok_or_else(|| format!("{router}: paths of {prefix} are not an array: {paths}"))?;
        let paths = paths
            .iter()
            .map(|p| FrrPath {
                peer: p["peerId"].as_str().unwrap_or_default().to_owned(),
                as_path: p["path"].as_str().unwrap_or_default().to_owned(),
                next_hops: p["nexthops"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|h| h["ip"].as_str().map(str::to_owned))
                    .collect(),
            })
            .collect();
        table.insert(prefix.clone(), paths);
    }
    Ok(table)
}

// ---- the kernel of a node ----

/// `ip -j route show SELECTOR...` in the node's namespace (main table).
pub fn kernel_routes(lab: &Lab, node: &str, selector: &[&str]) -> Result<Vec<Value>, String> {
    let mut argv = vec!["ip", "-j", "route", "show"];
    argv.extend_from_slice(selector);
    let out = lab
        .exec(node, &argv)
        .map_err(|e| format!("{node}: ip route: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "{node}: {argv:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    // `ip -j` prints nothing at all for an empty answer on some versions.
    if text.trim().is_empty() {
        return Ok(Vec::new());
    }
    serde_json::from_str(&text).map_err(|e| format!("{node}: {e}: {text}"))
}

/// The node's default route, if it has one.
pub fn default_route(lab: &Lab, node: &str) -> Result<Option<Value>, String> {
    Ok(kernel_routes(lab, node, &["default"])?.into_iter().next())
}

/// The gateways of a kernel route: one for a plain route, one per next
/// hop for a multipath route.
pub fn gateways(route: &Value) -> Vec<String> {
    match route["nexthops"].as_array() {
        Some(hops) => hops
            .iter()
            .filter_map(|h| h["gateway"].as_str().map(str::to_owned))
            .collect(),
        None => route["gateway"]
            .as_str()
            .map(str::to_owned)
            .into_iter()
            .collect(),
    }
}

/// The routes romana-bgp owns in the node's kernel, its own and learned
/// ones, as `TYPE DST` (`unicast default`, `unreachable 10.1.0.0/16`),
/// sorted.
pub fn owned_routes(lab: &Lab, node: &str) -> Result<Vec<String>, String> {
    let mut routes = kernel_routes(lab, node, &["proto", PROTO])?;
    routes.extend(kernel_routes(lab, node, &["proto", LEARNED_PROTO])?);
    let mut owned: Vec<String> = routes
        .iter()
        .map(|r| {
            format!(
                "{} {}",
                r["type"].as_str().unwrap_or("unicast"),
                r["dst"].as_str().unwrap_or("?")
            )
        })
        .collect();
    owned.sort();
    Ok(owned)
}

// ---- changes to a lab ----

/// Replaces the one occurrence of `from` in the host's config copy (the
/// file its romana-bgp is started with) by `to`.
pub fn edit_host_config(lab: &Lab, host: &str, from: &str, to: &str) {
    let path = lab.host_config(host);
    let text = fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(
        text.matches(from).count(),
        1,
        "{}: `{from}` is not there exactly once:\n{text}",
        path.display()
    );
    fs::write(&path, text.replace(from, to)).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
}

// ---- endpoints (issue 4) ----

/// The keys SPEC §3 promises on every endpoint of `endpoint list -o json`
/// and `endpoint add -o json`.
const ENDPOINT_KEYS: [&str; 6] = [
    "name",
    "tenant",
    "segment",
    "address",
    "gateway",
    "interface",
];

/// The isolation model of the two-hosts lab's config, written out without
/// the daemon: a (tenant, segment) reaches itself, and blue/web opens
/// connections to blue/db (its one `[[policy]]`); nothing else.
pub fn lab_policy_allows(from: (&str, &str), to: (&str, &str)) -> bool {
    from == to || (from == ("blue", "web") && to == ("blue", "db"))
}

/// Every (tenant, segment) of the two-hosts lab's config.
pub const LAB_SEGMENTS: [(&str, &str); 4] = [
    ("blue", "web"),
    ("blue", "db"),
    ("red", "web"),
    ("red", "db"),
];

/// Network namespaces a test made to stand for containers, deleted when
/// this is dropped, also when the test fails. Deleting one deletes the
/// container end of its veth, and with it the host end.
#[derive(Default)]
pub struct Containers {
    names: Vec<String>,
}

impl Containers {
    pub fn new() -> Containers {
        Containers::default()
    }

    /// Creates the namespace `name` with its loopback up. A leftover of an
    /// earlier run of the same name is deleted first.
    pub fn add(&mut self, name: &str) -> String {
        let _ = ip(&["netns", "delete", name]);
        self.names.push(name.to_owned());
        ip(&["netns", "add", name]).unwrap_or_else(|e| panic!("{e}"));
        ip(&["-n", name, "link", "set", "lo", "up"]).unwrap_or_else(|e| panic!("{e}"));
        name.to_owned()
    }

    pub fn names(&self) -> &[String] {
        &self.names
    }
}

impl Drop for Containers {
    fn drop(&mut self) {
        for name in &self.names {
            let _ = ip(&["netns", "delete", name]);
        }
    }
}

/// `ip ARGS` in the test's own namespace; stdout, or why it failed.
pub fn ip(args: &[&str]) -> Result<String, String> {
    let out = std::process::Command::new("ip")
        .args(args)
        .output()
        .map_err(|e| format!("ip {args:?}: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(format!(
            "ip {args:?}: {}: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// `romana-bgp endpoint add ARGS -o json` on the host; the endpoint, or
/// the daemon's refusal as the CLI printed it.
pub fn endpoint_add(
    lab: &Lab,
    host: &str,
    args: &[&str],
) -> Result<romana_bgp::api::protocol::EndpointView, String> {
    let mut argv = vec!["endpoint", "add"];
    argv.extend_from_slice(args);
    argv.extend_from_slice(&["-o", "json"]);
    let text = romana_ok(lab, host, &argv)?;
    let value: Value = serde_json::from_str(&text).map_err(|e| format!("{e}: {text}"))?;
    if let Some(missing) = ENDPOINT_KEYS.iter().find(|k| value.get(**k).is_none()) {
        return Err(format!("`{missing}` missing from {value}"));
    }
    serde_json::from_value(value).map_err(|e| format!("{e}: {text}"))
}

/// Adds a container endpoint in `netns` and requires success.
pub fn add_container(
    lab: &Lab,
    host: &str,
    (tenant, segment): (&str, &str),
    netns: &str,
) -> romana_bgp::api::protocol::EndpointView {
    endpoint_add(
        lab,
        host,
        &[
            "--tenant",
            tenant,
            "--segment",
            segment,
            "--netns",
            netns,
            "--name",
            netns,
        ],
    )
    .unwrap_or_else(|e| panic!("{host}: endpoint add {netns}: {e}\n{}", host_logs(lab)))
}

/// `romana-bgp endpoint list -o json` on the host.
pub fn endpoint_list(
    lab: &Lab,
    host: &str,
) -> Result<Vec<romana_bgp::api::protocol::EndpointView>, String> {
    let text = romana_ok(lab, host, &["endpoint", "list", "-o", "json"])?;
    spec_array(&text, "endpoints", &ENDPOINT_KEYS)
}

/// Whether one ping from the namespace `from` to `to` is answered within
/// a second.
pub fn ping(from: &str, to: std::net::Ipv4Addr) -> bool {
    std::process::Command::new("ip")
        .args(["netns", "exec", from, "ping", "-c1", "-W1", "-q"])
        .arg(to.to_string())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Runs `work` on `threads` threads over `items`, each item once; the
/// results in the order of `items`.
pub fn in_parallel<T: Sync, R: Send>(
    items: &[T],
    threads: usize,
    work: impl Fn(&T) -> R + Sync,
) -> Vec<R> {
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<R>>> = Mutex::new(items.iter().map(|_| None).collect());
    std::thread::scope(|scope| {
        for _ in 0..threads.min(items.len()) {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(item) = items.get(i) else { break };
                    let result = work(item);
                    results.lock().unwrap()[i] = Some(result);
                }
            });
        }
    });
    results
        .into_inner()
        .unwrap()
        .into_iter()
        .map(|r| r.expect("every item was worked on"))
        .collect()
}

/// Waits until every host has its session to the leaf and the leaf's
/// default route in its kernel: endpoints on different hosts reach each
/// other through it.
pub fn fabric_ready(lab: &Lab, hosts: &[(&str, &str)]) {
    for (host, leaf) in hosts {
        established(lab, host, leaf);
        eventually(
            lab,
            SESSION_UP,
            &format!("{host}: default route"),
            || match default_route(lab, host)? {
                Some(r) if r["protocol"] == LEARNED_PROTO => Ok(()),
                other => Err(format!("{other:?}")),
            },
        );
    }
}

/// The host-side links of the daemon's veth pairs (`rb` and 8 hex
/// digits) in the node's namespace.
pub fn rb_links(lab: &Lab, node: &str) -> Result<BTreeMap<String, Value>, String> {
    let out = lab
        .run(node, &["ip", "-j", "-d", "link", "show"])
        .map_err(|e| format!("{node}: ip link: {e}"))?;
    let links: Vec<Value> = serde_json::from_str(&out).map_err(|e| format!("{e}: {out}"))?;
    Ok(links
        .into_iter()
        .filter_map(|l| {
            let name = l["ifname"].as_str()?.to_owned();
            let hex = name.strip_prefix("rb")?;
            let ours = hex.len() == 8 && hex.bytes().all(|b| b.is_ascii_hexdigit());
            ours.then_some((name, l))
        })
        .collect())
}

/// The node's /32 routes of romana-bgp's protocol: address to device.
pub fn endpoint_routes(lab: &Lab, node: &str) -> Result<BTreeMap<String, String>, String> {
    Ok(kernel_routes(lab, node, &["proto", PROTO])?
        .iter()
        .filter(|r| r["type"].as_str().unwrap_or("unicast") == "unicast")
        .filter_map(|r| {
            let dst = r["dst"].as_str()?;
            let dst = dst.strip_suffix("/32").unwrap_or(dst);
            dst.parse::<std::net::Ipv4Addr>().ok()?;
            Some((dst.to_owned(), r["dev"].as_str().unwrap_or("?").to_owned()))
        })
        .collect())
}

/// The IPv4 addresses (`A/LEN`) on `eth0` in a container's namespace;
/// empty if it has no eth0.
pub fn container_addresses(netns: &str) -> Vec<String> {
    let Ok(out) = ip(&["-j", "-n", netns, "-4", "addr", "show", "dev", "eth0"]) else {
        return Vec::new();
    };
    let links: Vec<Value> = serde_json::from_str(&out).unwrap_or_default();
    links
        .iter()
        .flat_map(|l| l["addr_info"].as_array().cloned().unwrap_or_default())
        .filter_map(|a| Some(format!("{}/{}", a["local"].as_str()?, a["prefixlen"])))
        .collect()
}

/// `nft -j list table inet romana` in the node: the table's objects, or
/// `None` if there is no such table.
pub fn isolation_table(lab: &Lab, node: &str) -> Result<Option<Vec<Value>>, String> {
    let out = lab
        .exec(node, &["nft", "-j", "list", "table", "inet", "romana"])
        .map_err(|e| format!("{node}: nft: {e}"))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        return if err.contains("No such file or directory") {
            Ok(None)
        } else {
            Err(format!("{node}: nft list table: {err}"))
        };
    }
    let json: Value =
        serde_json::from_slice(&out.stdout).map_err(|e| format!("{node}: nft -j: {e}"))?;
    Ok(json["nftables"].as_array().cloned())
}

/// How many rules the table has, and how many elements its named set
/// `set` holds.
pub fn rules_and_elements(objects: &[Value], set: &str) -> (usize, usize) {
    let rules = objects.iter().filter(|o| o.get("rule").is_some()).count();
    let elements = objects
        .iter()
        .filter_map(|o| o.get("set"))
        .filter(|s| s["name"] == set)
        .map(|s| s["elem"].as_array().map_or(0, Vec::len))
        .sum();
    (rules, elements)
}

/// The table's objects without what changes when the same table is loaded
/// again (handles) and without nft's own metainfo: equal when the table
/// holds the same sets, chains and rules.
pub fn table_content(objects: &[Value]) -> Vec<Value> {
    fn strip(value: &mut Value) {
        match value {
            Value::Object(map) => {
                map.remove("handle");
                map.values_mut().for_each(strip);
            }
            Value::Array(items) => items.iter_mut().for_each(strip),
            _ => {}
        }
    }
    objects
        .iter()
        .filter(|o| o.get("metainfo").is_none())
        .cloned()
        .map(|mut o| {
            strip(&mut o);
            o
        })
        .collect()
}
