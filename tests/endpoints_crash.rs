//! Crash safety of the endpoint state, in the two-hosts lab: while client
//! threads add and delete endpoints on host1 (containers and VM taps),
//! romana-bgp is killed with SIGKILL and started again, twice. Clients
//! retry what got no answer, as CNI does. Needs root and FRR.
//!
//! After each kill the state on disk is read as the daemon reads it at
//! start: no address in it twice, and every add that was acknowledged is
//! in it with the address it was given. At the end the daemon, the disk
//! and the kernel agree: every endpoint of the state is wired (host link
//! up, its /32 route of romana-bgp's protocol, the address on eth0 in its
//! namespace), and nothing is wired that is not in the state (no `rb`
//! veth, /32 route or eth0 of an endpoint that is gone).

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use common::{
    BIN, Containers, container_addresses, endpoint_list, endpoint_routes, eventually, ip, rb_links,
    up,
};
use romana_bgp::api::client::{Client, ClientError};
use romana_bgp::api::protocol::EndpointAdd;
use romana_lab::Lab;
use serde_json::Value;

const HOST: &str = "host1";
/// Client threads, each adding its share of the endpoints in turn.
const CLIENTS: usize = 4;
const ENDPOINTS: usize = 60;
/// How long a client retries one request while the daemon is away.
const RETRY_FOR: Duration = Duration::from_secs(60);
/// The daemon is killed once this many changes were acknowledged, and
/// again at the second figure.
const KILL_AT: [usize; 2] = [20, 55];

/// One endpoint the clients add: a container or a VM tap, in one of two
/// segments so that concurrent adds contend for the same ids. Every third
/// one is deleted again right after its add.
struct Planned {
    name: String,
    group: (&'static str, &'static str),
    container: bool,
    deleted: bool,
}

fn plan(prefix: &str) -> Vec<Planned> {
    (0..ENDPOINTS)
        .map(|i| Planned {
            name: format!("{prefix}-{i:02}"),
            group: if i % 2 == 0 {
                ("blue", "web")
            } else {
                ("red", "db")
            },
            container: i % 4 != 3,
            deleted: i % 3 == 2,
        })
        .collect()
}

/// A tap name of the test (host side, in host1's namespace).
fn tap(i: usize) -> String {
    format!("vm{i:02}")
}

/// Whether an error means the daemon was away (killed, restarting), so
/// the request is sent again; any other error is a refusal.
fn daemon_away(error: &ClientError) -> bool {
    !matches!(
        error,
        ClientError::Daemon { .. } | ClientError::Malformed { .. } | ClientError::Unexpected { .. }
    )
}

/// Sends the request until the daemon answers it, as a CNI plugin retries;
/// gives up when the test failed.
fn until_answered<T>(
    socket: &Path,
    what: &str,
    seen: &Seen,
    mut request: impl FnMut(&mut Client) -> Result<T, ClientError>,
) -> Result<T, String> {
    let deadline = Instant::now() + RETRY_FOR;
    loop {
        match Client::connect(socket).and_then(|mut c| request(&mut c)) {
            Ok(answer) => return Ok(answer),
            Err(e)
                if daemon_away(&e)
                    && Instant::now() < deadline
                    && !seen.abort.load(Ordering::SeqCst) =>
            {
                seen.retries.fetch_add(1, Ordering::SeqCst);
                thread::sleep(Duration::from_millis(20));
            }
            Err(e) => return Err(format!("{what}: {e}")),
        }
    }
}

/// The endpoints the state directory holds, read the way the daemon reads
/// it at start (src/endpoint/state_file.rs): the snapshot `endpoints.json`,
/// then the journal `endpoints.log` if its header has the snapshot's
/// generation, one change a line; a last line without its newline was cut
/// short by a crash and never acknowledged. By name.
fn persisted(dir: &Path) -> Result<BTreeMap<String, Value>, String> {
    let read = |name: &str| match fs::read_to_string(dir.join(name)) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(format!("{name}: {e}")),
    };
    let mut endpoints = BTreeMap::new();
    let mut generation = 0;
    if let Some(text) = read("endpoints.json")? {
        let snapshot: Value =
            serde_json::from_str(&text).map_err(|e| format!("endpoints.json: {e}: {text}"))?;
        generation = snapshot["generation"].as_u64().unwrap_or(0);
        for endpoint in snapshot["endpoints"].as_array().into_iter().flatten() {
            let name = endpoint["name"].as_str().unwrap_or_default().to_owned();
            if endpoints.insert(name.clone(), endpoint.clone()).is_some() {
                return Err(format!("endpoints.json has {name} twice"));
            }
        }
    }
    let Some(journal) = read("endpoints.log")? else {
        return Ok(endpoints);
    };
    let whole = journal.rfind('\n').map_or("", |end| &journal[..=end]);
    let mut lines = whole.lines();
    let Some(header) = lines.next() else {
        return Ok(endpoints);
    };
    let header: Value =
        serde_json::from_str(header).map_err(|e| format!("endpoints.log header: {e}"))?;
    if header["generation"].as_u64().unwrap_or(0) != generation {
        return Ok(endpoints);
    }
    for line in lines {
        let change: Value =
            serde_json::from_str(line).map_err(|e| format!("endpoints.log: {e}: {line}"))?;
        if let Some(endpoint) = change.get("add") {
            let name = endpoint["name"].as_str().unwrap_or_default().to_owned();
            if endpoints.insert(name.clone(), endpoint.clone()).is_some() {
                return Err(format!("endpoints.log adds {name} while it exists"));
            }
        } else if let Some(name) = change["remove"].as_str() {
            if endpoints.remove(name).is_none() {
                return Err(format!("endpoints.log removes {name}, which is not there"));
            }
        } else {
            return Err(format!("endpoints.log: unknown change {line}"));
        }
    }
    Ok(endpoints)
}

fn address(endpoint: &Value) -> Ipv4Addr {
    endpoint["address"]
        .as_str()
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| panic!("no address in {endpoint}"))
}

/// No address twice, and every acknowledged add is there with its
/// address, unless its delete was sent since (and may have been done).
fn check_persisted(state: &BTreeMap<String, Value>, acked: &BTreeMap<String, Acked>, when: &str) {
    let mut owners: BTreeMap<Ipv4Addr, &str> = BTreeMap::new();
    for (name, endpoint) in state {
        if let Some(other) = owners.insert(address(endpoint), name) {
            panic!(
                "{when}: {} is allocated to {other} and to {name}",
                address(endpoint)
            );
        }
    }
    for (name, acked) in acked {
        let kept = state.get(name).map(address);
        if kept.is_none() && acked.deleting {
            continue;
        }
        assert_eq!(
            kept,
            Some(acked.address),
            "{when}: acknowledged add of {name} ({}) is not in the state as given",
            acked.address
        );
    }
}

/// An add the daemon answered.
#[derive(Clone, Copy, Debug)]
struct Acked {
    address: Ipv4Addr,
    /// Its delete was sent and not answered yet.
    deleting: bool,
}

/// What the clients saw: every address an add answered, and the changes
/// answered so far.
#[derive(Default)]
struct Seen {
    added: Mutex<BTreeMap<String, Vec<Ipv4Addr>>>,
    /// Answered adds whose delete is not answered.
    live: Mutex<BTreeMap<String, Acked>>,
    changes: AtomicUsize,
    errors: Mutex<Vec<String>>,
    /// Requests sent again because the daemon was away.
    retries: AtomicUsize,
    /// Set when the test fails, so that clients stop retrying.
    abort: AtomicBool,
}

/// Sets `abort` if the test panics while clients run.
struct AbortOnPanic<'a>(&'a AtomicBool);

impl Drop for AbortOnPanic<'_> {
    fn drop(&mut self) {
        if thread::panicking() {
            self.0.store(true, Ordering::SeqCst);
        }
    }
}

fn client(socket: &Path, planned: &[&Planned], targets: &BTreeMap<String, String>, seen: &Seen) {
    for p in planned {
        let target = &targets[&p.name];
        let add = EndpointAdd {
            name: Some(p.name.clone()),
            tenant: p.group.0.to_owned(),
            segment: p.group.1.to_owned(),
            netns: p.container.then(|| target.clone()),
            iface: (!p.container).then(|| target.clone()),
        };
        let added = until_answered(socket, &format!("add {}", p.name), seen, |c| {
            c.endpoint_add(add.clone())
        });
        let endpoint = match added {
            Ok(e) => e,
            Err(e) => {
                seen.errors.lock().unwrap().push(e);
                continue;
            }
        };
        // The answer to a retried add must be the endpoint of the first.
        seen.added
            .lock()
            .unwrap()
            .entry(p.name.clone())
            .or_default()
            .push(endpoint.address);
        let acked = Acked {
            address: endpoint.address,
            deleting: p.deleted,
        };
        seen.live.lock().unwrap().insert(p.name.clone(), acked);
        seen.changes.fetch_add(1, Ordering::SeqCst);
        if p.deleted {
            match until_answered(socket, &format!("del {}", p.name), seen, |c| {
                c.endpoint_del(&p.name)
            }) {
                Ok(_) => {
                    seen.live.lock().unwrap().remove(&p.name);
                    seen.changes.fetch_add(1, Ordering::SeqCst);
                }
                Err(e) => seen.errors.lock().unwrap().push(e),
            }
        }
    }
}

fn state_dir(lab: &Lab) -> PathBuf {
    lab.node_dir(HOST).join("state")
}

#[test]
fn sigkill_during_adds_loses_nothing_and_leaves_nothing() {
    let mut lab = up("two-hosts", "ecrash");
    let prefix = lab.prefix().to_owned();
    let planned = plan(&prefix);
    let mut containers = Containers::new();
    let mut targets = BTreeMap::new();
    for (i, p) in planned.iter().enumerate() {
        let target = if p.container {
            containers.add(&p.name)
        } else {
            let name = tap(i);
            lab.run(HOST, &["ip", "tuntap", "add", &name, "mode", "tap"])
                .unwrap();
            name
        };
        targets.insert(p.name.clone(), target);
    }
    let socket = lab.api_socket(HOST);
    let seen = Seen::default();

    thread::scope(|scope| {
        for k in 0..CLIENTS {
            let share: Vec<&Planned> = planned.iter().skip(k).step_by(CLIENTS).collect();
            let (socket, targets, seen) = (&socket, &targets, &seen);
            scope.spawn(move || client(socket, &share, targets, seen));
        }
        let _abort = AbortOnPanic(&seen.abort);
        for at in KILL_AT {
            eventually(
                &lab,
                RETRY_FOR,
                &format!("{at} changes acknowledged"),
                || match seen.changes.load(Ordering::SeqCst) {
                    n if n >= at => Ok(()),
                    n => Err(format!("{n} changes")),
                },
            );
            lab.kill_romana_bgp(HOST).unwrap();
            let acked = seen.live.lock().unwrap().clone();
            let state = persisted(&state_dir(&lab)).unwrap();
            check_persisted(&state, &acked, &format!("killed after {at} changes"));
            lab.start_romana_bgp(HOST, Path::new(BIN)).unwrap();
        }
    });
    // The kills met requests: some had to be sent again.
    assert!(
        seen.retries.load(Ordering::SeqCst) > 0,
        "no request met a kill"
    );
    let errors = seen.errors.into_inner().unwrap();
    assert!(errors.is_empty(), "refused: {errors:#?}");

    let wanted: BTreeSet<&str> = planned
        .iter()
        .filter(|p| !p.deleted)
        .map(|p| p.name.as_str())
        .collect();
    let added = seen.added.into_inner().unwrap();
    for (name, answers) in &added {
        assert!(
            answers.iter().all(|a| *a == answers[0]),
            "{name} was answered with different addresses: {answers:?}"
        );
    }
    let listed = endpoint_list(&lab, HOST).unwrap();
    let names: BTreeSet<&str> = listed.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, wanted, "endpoint list");
    let live = seen.live.into_inner().unwrap();
    let state = persisted(&state_dir(&lab)).unwrap();
    check_persisted(&state, &live, "at the end");
    assert_eq!(
        state.keys().map(String::as_str).collect::<BTreeSet<_>>(),
        wanted,
        "the state on disk"
    );
    for e in &listed {
        assert_eq!(
            Some(e.address),
            live.get(&e.name).map(|a| a.address),
            "{e:?}"
        );
        assert_eq!(address(&state[&e.name]), e.address, "{e:?}");
    }

    // The kernel follows the state: at start, and at the latest on the
    // reconcile after it.
    eventually(
        &lab,
        Duration::from_secs(10),
        "kernel matches the state",
        || kernel_matches(&lab, &planned, &targets),
    );
    let listed = endpoint_list(&lab, HOST).unwrap();
    assert!(listed.iter().all(|e| e.wired), "{listed:?}");
}

/// Every endpoint of the state wired, nothing else: compared with the
/// daemon's own list.
fn kernel_matches(
    lab: &Lab,
    planned: &[Planned],
    targets: &BTreeMap<String, String>,
) -> Result<(), String> {
    let listed = endpoint_list(lab, HOST)?;
    let links = rb_links(lab, HOST)?;
    let routes = endpoint_routes(lab, HOST)?;
    let mut problems = Vec::new();
    let mut veths = BTreeSet::new();
    for e in &listed {
        let address = e.address.to_string();
        if routes.get(&address) != Some(&e.interface) {
            problems.push(format!(
                "{}: route {address} is {:?}, not dev {}",
                e.name,
                routes.get(&address),
                e.interface
            ));
        }
        match &e.netns {
            Some(netns) => {
                veths.insert(e.interface.clone());
                match links.get(&e.interface) {
                    Some(l) if l["operstate"] == "UP" => {}
                    other => problems.push(format!("{}: host link {other:?}", e.name)),
                }
                let netns = Path::new(netns)
                    .file_name()
                    .and_then(|n| n.to_str())
                    .unwrap_or_default();
                let on_eth0 = container_addresses(netns);
                if on_eth0 != [format!("{address}/32")] {
                    problems.push(format!("{}: eth0 has {on_eth0:?}", e.name));
                }
            }
            None => {
                if !proxy_arp(lab, &e.interface)? {
                    problems.push(format!("{}: tap without proxy ARP", e.name));
                }
            }
        }
    }
    let addresses: BTreeSet<String> = listed.iter().map(|e| e.address.to_string()).collect();
    for (route, dev) in &routes {
        if !addresses.contains(route) {
            problems.push(format!("route {route} dev {dev}: no endpoint has it"));
        }
    }
    for link in links.keys() {
        if !veths.contains(link) {
            problems.push(format!("veth {link}: no endpoint has it"));
        }
    }
    let in_state: BTreeSet<&str> = listed.iter().map(|e| e.name.as_str()).collect();
    for p in planned
        .iter()
        .filter(|p| !in_state.contains(p.name.as_str()))
    {
        let target = &targets[&p.name];
        if p.container {
            let left = ip(&["-n", target, "-o", "link", "show", "eth0"]).unwrap_or_default();
            if !left.is_empty() {
                problems.push(format!("{}: deleted, but its eth0 is there", p.name));
            }
        } else if proxy_arp(lab, target)? {
            problems.push(format!(
                "{}: deleted, but its tap {target} has proxy ARP",
                p.name
            ));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("\n"))
    }
}

/// Whether proxy ARP is on for a host interface.
fn proxy_arp(lab: &Lab, interface: &str) -> Result<bool, String> {
    let key = format!("net.ipv4.conf.{interface}.proxy_arp");
    let value = lab
        .run(HOST, &["sysctl", "-n", &key])
        .map_err(|e| format!("{key}: {e}"))?;
    Ok(value.trim() == "1")
}

/// A container whose host end is up with proxy ARP but whose eth0 was
/// never configured (down, no address, no routes): what a crash between
/// the two steps left when the host end came up first (before 093ca64),
/// and what any half-done wiring of the container side looks like from the
/// host. The test makes that state exactly, by killing the daemon after an
/// add and undoing eth0's configuration while it is away (a real kill lands
/// in such a moment too rarely to test); once started again, the daemon
/// must configure eth0, and not count the endpoint as wired before.
#[test]
fn a_container_a_crash_left_unconfigured_is_wired_at_restart() {
    let mut lab = up("two-hosts", "eunconf");
    let mut containers = Containers::new();
    let netns = containers.add(&format!("{}-c", lab.prefix()));
    let endpoint = common::add_container(&lab, HOST, ("blue", "web"), &netns);
    lab.kill_romana_bgp(HOST).unwrap();
    for args in [
        ["-n", &netns, "link", "set", "eth0", "down"].as_slice(),
        &["-n", &netns, "addr", "flush", "dev", "eth0"],
        &["-n", &netns, "route", "flush", "table", "main"],
    ] {
        ip(args).unwrap();
    }
    lab.start_romana_bgp(HOST, Path::new(BIN)).unwrap();

    let want = [format!("{}/32", endpoint.address)];
    eventually(
        &lab,
        Duration::from_secs(6),
        "eth0 configured again",
        || {
            let on_eth0 = container_addresses(&netns);
            let default = ip(&["-n", &netns, "route", "show", "default"])?;
            if on_eth0 == want && default.contains(&format!("via {}", endpoint.gateway)) {
                Ok(())
            } else {
                let listed = endpoint_list(&lab, HOST)?;
                Err(format!(
                    "eth0 has {on_eth0:?}, default route {default:?}; endpoint list says {listed:?}"
                ))
            }
        },
    );
    assert!(
        common::ping(&netns, endpoint.gateway),
        "gateway unreachable"
    );
}
