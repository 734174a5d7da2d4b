//! Endpoints in the two-hosts lab, with real traffic through the real FRR
//! leaf: containers (network namespaces the test makes) on both hosts, in
//! every tenant and segment of the lab's config (blue and red, web and db
//! each, and one `[[policy]]`: blue/web opens connections to blue/db),
//! wired by romana-bgp and isolated by its table. Needs root and FRR.

mod common;

use std::collections::BTreeSet;
use std::fs::File;
use std::net::{Ipv4Addr, SocketAddrV4, UdpSocket};
use std::time::{Duration, Instant};

use common::{
    Containers, LAB_SEGMENTS, add_container, endpoint_list, eventually, fabric_ready, frr_routes,
    host_logs, in_parallel, ip, lab_policy_allows, neighbor, ping, up, vtysh_json,
};
use nix::sched::{CloneFlags, setns};
use romana_lab::Lab;
use serde_json::Value;

/// Each host with its leaf's address.
const HOSTS: [(&str, &str); 2] = [("host1", "192.168.11.0"), ("host2", "192.168.11.2")];
const LEAF: &str = "leaf1";

/// One container endpoint placed by a test.
struct Placed {
    netns: String,
    host: &'static str,
    group: (&'static str, &'static str),
    address: Ipv4Addr,
}

/// `per` containers on each host for each (tenant, segment), named
/// `PREFIX-hHgGnN`, added one by one through the CLI.
fn place(lab: &Lab, containers: &mut Containers, per: usize) -> Vec<Placed> {
    let mut placed = Vec::new();
    for (h, (host, _)) in HOSTS.iter().enumerate() {
        for (g, group) in LAB_SEGMENTS.iter().enumerate() {
            for n in 0..per {
                let netns = containers.add(&format!("{}-h{h}g{g}n{n}", lab.prefix()));
                let endpoint = add_container(lab, host, *group, &netns);
                placed.push(Placed {
                    netns,
                    host,
                    group: *group,
                    address: endpoint.address,
                });
            }
        }
    }
    placed
}

fn describe(e: &Placed) -> String {
    format!(
        "{} {}/{} on {} ({})",
        e.netns, e.group.0, e.group.1, e.host, e.address
    )
}

/// Every ordered pair of 16 endpoints (two per host and segment), 240 in
/// all, pinged in parallel: exactly the 64 the model allows are answered
/// (each endpoint with the 3 others of its segment on the same and the
/// other host, and blue/web to blue/db but not back).
#[test]
fn exactly_the_pairs_the_model_allows_get_through() {
    let lab = up("two-hosts", "epair");
    let mut containers = Containers::new();
    let endpoints = place(&lab, &mut containers, 2);
    fabric_ready(&lab, &HOSTS);

    let pairs: Vec<(usize, usize)> = (0..endpoints.len())
        .flat_map(|i| (0..endpoints.len()).map(move |j| (i, j)))
        .filter(|(i, j)| i != j)
        .collect();
    let started = Instant::now();
    let mut through = in_parallel(&pairs, 48, |&(i, j)| {
        ping(&endpoints[i].netns, endpoints[j].address)
    });
    // A reply lost on a busy machine is not isolation: the silent pairs
    // are tried once more, and a pair counts as dropped only if both
    // tries went unanswered.
    let silent: Vec<(usize, usize)> = pairs
        .iter()
        .zip(&through)
        .filter(|(_, t)| !**t)
        .map(|(p, _)| *p)
        .collect();
    let again = in_parallel(&silent, 48, |&(i, j)| {
        ping(&endpoints[i].netns, endpoints[j].address)
    });
    for (pair, answered) in silent.iter().zip(again) {
        if answered {
            let k = pairs.iter().position(|p| p == pair).unwrap();
            through[k] = true;
        }
    }
    eprintln!(
        "{} pairs pinged in {:.1} s",
        pairs.len(),
        started.elapsed().as_secs_f64()
    );

    let mut wrong = Vec::new();
    let mut allowed = 0;
    for (&(i, j), &got_through) in pairs.iter().zip(&through) {
        let (from, to) = (&endpoints[i], &endpoints[j]);
        let model = lab_policy_allows(from.group, to.group);
        allowed += usize::from(model);
        if got_through != model {
            wrong.push(format!(
                "{} -> {}: {}, the model says {}",
                describe(from),
                describe(to),
                if got_through { "answered" } else { "dropped" },
                if model { "allowed" } else { "dropped" },
            ));
        }
    }
    assert_eq!(pairs.len(), 240);
    assert_eq!(allowed, 64, "the model as the test counts it");
    assert!(
        wrong.is_empty(),
        "{} of {} pairs disagree with the model:\n{}\n{}",
        wrong.len(),
        pairs.len(),
        wrong.join("\n"),
        host_logs(&lab)
    );
}

/// A neighbor of a router, as `show bgp neighbors ADDR json` has it.
fn frr_neighbor(lab: &Lab, address: &str) -> Result<Value, String> {
    let json = vtysh_json(lab, LEAF, &format!("show bgp neighbors {address} json"))?;
    json.get(address)
        .cloned()
        .ok_or_else(|| format!("no neighbor {address}: {json}"))
}

fn counter(neighbor: &Value, key: &str) -> Result<u64, String> {
    neighbor["messageStats"][key]
        .as_u64()
        .ok_or_else(|| format!("no messageStats.{key}: {neighbor}"))
}

/// The prefixes the leaf received from a host before its inbound prefix
/// list (the leaf keeps them: `soft-reconfiguration inbound`).
fn received_before_policy(lab: &Lab, address: &str) -> Result<Vec<String>, String> {
    let json = vtysh_json(
        lab,
        LEAF,
        &format!("show bgp ipv4 unicast neighbors {address} received-routes json"),
    )?;
    Ok(json["receivedRoutes"]
        .as_object()
        .map(|r| r.keys().cloned().collect())
        .unwrap_or_default())
}

/// With endpoints on both hosts the leaf still learns one route per host,
/// the host's block, and receives nothing else: the leaf's prefix lists
/// would hide a /32 from its table, so what it received before them is
/// checked too, once it has read a keepalive the host sent a whole
/// keepalive interval after the last endpoint was added.
#[test]
fn the_leaf_still_learns_one_route_per_host() {
    let lab = up("two-hosts", "eleaf");
    fabric_ready(&lab, &HOSTS);
    let peers = [("host1", "192.168.11.1"), ("host2", "192.168.11.3")];
    let before: Vec<(u64, u64)> = peers
        .iter()
        .map(|(_, address)| {
            let n = frr_neighbor(&lab, address).unwrap();
            (
                counter(&n, "updatesRecv").unwrap(),
                counter(&n, "keepalivesRecv").unwrap(),
            )
        })
        .collect();

    let mut containers = Containers::new();
    let endpoints = place(&lab, &mut containers, 1);
    for (host, _) in HOSTS {
        let listed = endpoint_list(&lab, host).unwrap();
        assert_eq!(listed.len(), 4, "{host}: {listed:?}");
        assert!(listed.iter().all(|e| e.wired), "{host}: {listed:?}");
    }
    assert_eq!(endpoints.len(), 8);

    // Keepalives every 3 s: two more received means one was sent at least
    // 3 s after the adds, behind anything the adds made the host send.
    for ((_, address), (updates, keepalives)) in peers.iter().zip(&before) {
        eventually(
            &lab,
            Duration::from_secs(15),
            &format!("{LEAF} reads two more keepalives from {address}"),
            || {
                let n = frr_neighbor(&lab, address)?;
                let now = counter(&n, "keepalivesRecv")?;
                if now >= keepalives + 2 {
                    Ok(())
                } else {
                    Err(format!("{now} keepalives, {keepalives} before the adds"))
                }
            },
        );
        let n = frr_neighbor(&lab, address).unwrap();
        assert_eq!(
            counter(&n, "updatesRecv").unwrap(),
            *updates,
            "{address} sent UPDATEs after its endpoints were added"
        );
    }
    for ((_, address), block) in peers.iter().zip(["10.1.0.0/16", "10.2.0.0/16"]) {
        assert_eq!(
            received_before_policy(&lab, address).unwrap(),
            [block],
            "what {LEAF} received from {address}"
        );
    }
    let table = frr_routes(&lab, LEAF).unwrap();
    let prefixes: Vec<&str> = table.keys().map(String::as_str).collect();
    assert_eq!(prefixes, ["10.1.0.0/16", "10.2.0.0/16"], "{table:?}");
    for (block, paths) in &table {
        assert_eq!(paths.len(), 1, "{block}: {paths:?}");
    }
    for (host, leaf) in HOSTS {
        let n = neighbor(&lab, host, leaf).unwrap();
        assert_eq!(n.prefixes_advertised, 1, "{host}: {n:?}");
    }
}

/// Runs `work` on a thread inside the named network namespace; sockets it
/// makes stay in that namespace after the thread ends.
fn in_netns<R: Send>(netns: &str, work: impl FnOnce() -> R + Send) -> R {
    let path = format!("/run/netns/{netns}");
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                let file = File::open(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
                setns(&file, CloneFlags::CLONE_NEWNET).unwrap_or_else(|e| panic!("{path}: {e}"));
                work()
            })
            .join()
            .unwrap()
    })
}

const PORT: u16 = 5353;

/// A UDP socket in the namespace bound to `source`, which the container
/// first takes as a second address of its eth0: the kernel sends only from
/// local addresses (binding a non-local one is allowed, but sending from
/// it is not without IP_TRANSPARENT).
fn sender(netns: &str, source: Ipv4Addr) -> UdpSocket {
    let address = format!("{source}/32");
    ip(&["-n", netns, "addr", "replace", &address, "dev", "eth0"])
        .unwrap_or_else(|e| panic!("{e}"));
    in_netns(netns, || {
        UdpSocket::bind(SocketAddrV4::new(source, 0)).unwrap_or_else(|e| panic!("{source}: {e}"))
    })
}

/// What a receiver got: every payload, once the `last` one is in and
/// nothing more comes for half a second.
fn received(socket: &UdpSocket, last: &str) -> BTreeSet<String> {
    let mut got = BTreeSet::new();
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut buf = [0u8; 256];
    loop {
        let quiet = if got.contains(last) {
            Duration::from_millis(500)
        } else {
            deadline.saturating_duration_since(Instant::now())
        };
        if quiet.is_zero() {
            return got;
        }
        socket.set_read_timeout(Some(quiet)).unwrap();
        match socket.recv(&mut buf) {
            Ok(n) => {
                got.insert(String::from_utf8_lossy(&buf[..n]).into_owned());
            }
            Err(_) => return got,
        }
    }
}

/// An endpoint that sends with any source but its own gets nothing
/// through, even a source the destination would accept: another
/// endpoint's of the destination's segment, on the same host or the
/// other, an unallocated one of that segment, or one outside the plan
/// (which `isolation.outside = "allow"` lets in). The host's reverse path
/// filter is off, so nothing but the table stops them; datagrams with the
/// sender's own address, sent after them on the same paths, arrive.
#[test]
fn a_spoofed_source_gets_nothing_through() {
    let lab = up("two-hosts", "espoof");
    let mut containers = Containers::new();
    let mut add = |host: &str, group: (&str, &str), name: &str| {
        let netns = containers.add(&format!("{}-{name}", lab.prefix()));
        (
            netns.clone(),
            add_container(&lab, host, group, &netns).address,
        )
    };
    let blue_web = ("blue", "web");
    let red_web = ("red", "web");
    let (a1_ns, a1) = add("host1", blue_web, "a1");
    let (_, a2) = add("host1", blue_web, "a2");
    let (s_ns, s) = add("host1", blue_web, "s");
    let (m_ns, m) = add("host1", red_web, "m");
    let (_, v) = add("host2", blue_web, "v");
    let (_, r) = add("host2", red_web, "r");
    fabric_ready(&lab, &HOSTS);
    for host in ["host1", "host2"] {
        let rp = lab
            .run(host, &["sysctl", "-n", "net.ipv4.conf.all.rp_filter"])
            .unwrap();
        assert_eq!(rp.trim(), "0", "{host}: the reverse path filter is on");
    }
    let a2_prefix = format!("{}-a2", lab.prefix());
    let v_prefix = format!("{}-v", lab.prefix());
    let r_prefix = format!("{}-r", lab.prefix());
    let listen = |netns: &str| {
        in_netns(netns, || {
            UdpSocket::bind(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, PORT)).unwrap()
        })
    };
    let at_a2 = listen(&a2_prefix);
    let at_v = listen(&v_prefix);
    let at_r = listen(&r_prefix);

    let unallocated = Ipv4Addr::new(10, 1, 17, 200);
    let outside = Ipv4Addr::new(192, 0, 2, 7);
    // (sender namespace, source, destination, label)
    let spoofs = [
        (&m_ns, a1, a2, "red m as blue a1 to a2 (same host)"),
        (&m_ns, a1, v, "red m as blue a1 to v (other host)"),
        (&m_ns, v, a2, "red m as blue v of host2 to a2"),
        (
            &m_ns,
            unallocated,
            v,
            "red m as an unallocated blue/web address to v",
        ),
        (
            &m_ns,
            outside,
            a2,
            "red m as an address outside the plan to a2",
        ),
        (&s_ns, a1, v, "blue s as its neighbour a1 to v"),
    ];
    for (netns, source, to, label) in spoofs {
        let socket = sender(netns, source);
        for _ in 0..3 {
            socket
                .send_to(label.as_bytes(), SocketAddrV4::new(to, PORT))
                .unwrap();
        }
    }
    let controls = [
        (&a1_ns, a1, a2, "a1 to a2"),
        (&a1_ns, a1, v, "a1 to v"),
        (&m_ns, m, r, "m to r"),
        (&s_ns, s, v, "s to v"),
    ];
    for (netns, source, to, label) in controls {
        let socket = in_netns(netns, || {
            UdpSocket::bind(SocketAddrV4::new(source, 0)).unwrap()
        });
        socket
            .send_to(label.as_bytes(), SocketAddrV4::new(to, PORT))
            .unwrap();
    }

    let at_a2 = received(&at_a2, "a1 to a2");
    let at_v = received(&at_v, "s to v");
    let at_r = received(&at_r, "m to r");
    let logs = host_logs(&lab);
    assert_eq!(at_a2, BTreeSet::from(["a1 to a2".to_owned()]), "{logs}");
    assert_eq!(
        at_v,
        BTreeSet::from(["a1 to v".to_owned(), "s to v".to_owned()]),
        "{logs}"
    );
    assert_eq!(at_r, BTreeSet::from(["m to r".to_owned()]), "{logs}");
}
