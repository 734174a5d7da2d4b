//! The isolation table against real traffic. Two hosts (network namespaces)
//! joined by an uplink and routing each other's block, each with one
//! endpoint namespace per (tenant, segment) wired the way the daemon wires
//! containers (a veth whose host end is `rb` + the address in hex, a /32
//! route to it, proxy ARP, the gateway address on the host's `lo`), and an
//! "outside" namespace behind host 1. The table is applied with the
//! library's own `apply`, run from a thread inside each host's namespace.
//!
//! Every check is first made without the table and must pass there, so
//! what the table stops is stopped by the table and not by the wiring.
//! Needs root.

use std::fs::File;
use std::io::{ErrorKind, Write};
use std::net::{Ipv4Addr, SocketAddrV4, TcpListener, TcpStream, UdpSocket};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use nix::sched::{CloneFlags, setns};
use romana_bgp::config::{Config, Outside};
use romana_bgp::isolation::{
    self, InterfaceName, IsolationEndpoint, IsolationInput, LiveTable, Membership, Ruleset,
    TableState,
};
use serde_json::Value;

const CONFIG: &str = r#"
[host]
asn = 65001
router_id = "192.0.2.1"
index = 1

[plan]
cidr = "10.0.0.0/8"
host_bits = 8
tenant_bits = 4
segment_bits = 4

[[tenant]]
name = "blue"
id = 1
segments = [ { name = "web", id = 1 }, { name = "db", id = 2 } ]

[[tenant]]
name = "red"
id = 2
segments = [ { name = "web", id = 1 }, { name = "db", id = 2 } ]

[[policy]]
from = "blue/web"
to = "blue/db"

[[policy]]
from = "red/db"
to = "blue"
"#;

const SEGMENTS: [(&str, &str); 4] = [
    ("blue", "web"),
    ("blue", "db"),
    ("red", "web"),
    ("red", "db"),
];

/// The model the table must implement, written out from `CONFIG` without
/// the library: a segment reaches itself, and what a policy names.
fn allowed(from: (&str, &str), to: (&str, &str)) -> bool {
    from == to
        || (from == ("blue", "web") && to == ("blue", "db"))
        || (from == ("red", "db") && to.0 == "blue")
}

/// Outside: 192.168.17.0/24, whose third octet is also blue/web's tenant
/// and segment bits (0x11), so only the order of the rules keeps it apart.
const OUTSIDE_HOST: Ipv4Addr = Ipv4Addr::new(192, 168, 17, 1);
const OUTSIDE: Ipv4Addr = Ipv4Addr::new(192, 168, 17, 5);

struct Endpoint {
    ns: String,
    host: u32,
    group: (&'static str, &'static str),
    address: Ipv4Addr,
    interface: String,
}

/// The namespaces of one test; all removed on drop, also when it fails.
struct Lab {
    prefix: String,
    namespaces: Vec<String>,
    config: Config,
    endpoints: Vec<Endpoint>,
}

impl Drop for Lab {
    fn drop(&mut self) {
        for ns in &self.namespaces {
            let _ = Command::new("ip").args(["netns", "del", ns]).status();
        }
    }
}

impl Lab {
    /// An empty lab; namespaces come with [`Lab::namespace`].
    fn empty(test: &str) -> Lab {
        Lab {
            prefix: format!("rbi{}-{test}", std::process::id()),
            namespaces: Vec::new(),
            config: Config::parse(CONFIG, "test config").expect("test config"),
            endpoints: Vec::new(),
        }
    }

    fn namespace(&mut self, role: &str) -> String {
        let ns = format!("{}-{role}", self.prefix);
        run("ip", &["netns", "add", &ns], None);
        self.namespaces.push(ns.clone());
        ns
    }

    fn host(&self, index: u32) -> String {
        format!("{}-h{index}", self.prefix)
    }

    /// The two hosts, their endpoints and the outside.
    fn new(test: &str) -> Lab {
        let mut lab = Lab::empty(test);
        let plan = lab.config.plan;
        for index in [1, 2] {
            let host = lab.namespace(&format!("h{index}"));
            // rp_filter off: the anti-spoofing under test must be the table's.
            sysctl(
                &host,
                &[
                    "net.ipv4.ip_forward=1",
                    "net.ipv4.conf.all.rp_filter=0",
                    "net.ipv4.conf.default.rp_filter=0",
                    "net.ipv4.conf.default.proxy_arp=1",
                ],
            );
            let gateway = plan.gateway(plan.host_index(index).unwrap());
            ip_batch(
                &host,
                &[
                    "link set lo up".to_owned(),
                    format!("address add {gateway}/32 dev lo"),
                ],
            );
        }
        let (h1, h2) = (lab.host(1), lab.host(2));
        ip_batch(
            &h1,
            &[
                format!("link add uplink type veth peer name uplink netns {h2}"),
                "link set uplink up".to_owned(),
                "address add 192.0.2.1/30 dev uplink".to_owned(),
                "route add 10.2.0.0/16 via 192.0.2.2".to_owned(),
            ],
        );
        ip_batch(
            &h2,
            &[
                "link set uplink up".to_owned(),
                "address add 192.0.2.2/30 dev uplink".to_owned(),
                "route add 10.1.0.0/16 via 192.0.2.1".to_owned(),
            ],
        );
        let outside = lab.namespace("out");
        ip_batch(
            &h1,
            &[
                format!("link add ot type veth peer name eth0 netns {outside}"),
                "link set ot up".to_owned(),
                format!("address add {OUTSIDE_HOST}/24 dev ot"),
            ],
        );
        ip_batch(
            &outside,
            &[
                "link set lo up".to_owned(),
                "link set eth0 up".to_owned(),
                format!("address add {OUTSIDE}/24 dev eth0"),
                format!("route add default via {OUTSIDE_HOST}"),
            ],
        );
        for index in [1, 2] {
            for (tenant, segment) in SEGMENTS {
                lab.endpoint(index, tenant, segment);
            }
        }
        lab
    }

    /// Endpoint 5 of (tenant, segment) on host `index`, wired like a
    /// container.
    fn endpoint(&mut self, index: u32, tenant: &'static str, segment: &'static str) {
        let plan = self.config.plan;
        let t = self.config.tenant(tenant).unwrap();
        let s = t.segment(segment).unwrap();
        let host_index = plan.host_index(index).unwrap();
        let address = plan.endpoint_address(host_index, t.id, s.id, plan.endpoint_id(5).unwrap());
        let gateway = plan.gateway(host_index);
        let interface = format!("rb{:08x}", u32::from(address));
        let ns = self.namespace(&format!("h{index}-{tenant}-{segment}"));
        ip_batch(
            &self.host(index),
            &[
                format!("link add {interface} type veth peer name eth0 netns {ns}"),
                format!("link set {interface} up"),
                format!("route add {address}/32 dev {interface}"),
            ],
        );
        ip_batch(
            &ns,
            &[
                "link set lo up".to_owned(),
                "link set eth0 up".to_owned(),
                format!("address add {address}/32 dev eth0"),
                format!("route add {gateway}/32 dev eth0"),
                format!("route add default via {gateway} dev eth0"),
            ],
        );
        self.endpoints.push(Endpoint {
            ns,
            host: index,
            group: (tenant, segment),
            address,
            interface,
        });
    }

    fn ep(&self, host: u32, tenant: &str, segment: &str) -> &Endpoint {
        self.endpoints
            .iter()
            .find(|e| e.host == host && e.group == (tenant, segment))
            .unwrap()
    }

    /// Applies host `index`'s table, with `outside` in place of the
    /// config's.
    fn apply(&self, index: u32, outside: Outside) {
        let endpoints: Vec<IsolationEndpoint> = self
            .endpoints
            .iter()
            .filter(|e| e.host == index)
            .map(|e| IsolationEndpoint {
                address: e.address,
                interface: InterfaceName::new(&e.interface).unwrap(),
            })
            .collect();
        let mut config = self.config.clone();
        config.isolation.outside = outside;
        let ruleset = Ruleset::new(&IsolationInput::new(&config, &endpoints));
        in_netns(&self.host(index), || isolation::apply(&ruleset)).expect("apply");
    }

    fn apply_both(&self, outside: Outside) {
        self.apply(1, outside);
        self.apply(2, outside);
    }
}

fn run(program: &str, args: &[&str], stdin: Option<&str>) -> String {
    let mut child = Command::new(program)
        .args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{program}: {e}"));
    if let (Some(text), Some(mut pipe)) = (stdin, child.stdin.take()) {
        pipe.write_all(text.as_bytes()).unwrap();
    }
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{program} {args:?}: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn ip_batch(ns: &str, lines: &[String]) {
    run(
        "ip",
        &["netns", "exec", ns, "ip", "-batch", "-"],
        Some(&(lines.join("\n") + "\n")),
    );
}

fn sysctl(ns: &str, settings: &[&str]) {
    let mut args = vec!["netns", "exec", ns, "sysctl", "-q", "-w"];
    args.extend(settings);
    run("ip", &args, None);
}

fn nft(ns: &str, script: &str) {
    run("ip", &["netns", "exec", ns, "nft", "-f", "-"], Some(script));
}

/// Runs `body` on a thread inside `ns`: sockets it opens and processes it
/// starts belong to that namespace.
fn in_netns<T: Send>(ns: &str, body: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|scope| {
        let thread = scope.spawn(|| {
            let file = File::open(format!("/run/netns/{ns}")).expect("namespace file");
            setns(&file, CloneFlags::CLONE_NEWNET).expect("setns");
            body()
        });
        thread
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}

/// `f` of every item, all at once.
fn parallel<I: Sync, T: Send>(items: &[I], f: impl Fn(&I) -> T + Sync) -> Vec<T> {
    std::thread::scope(|scope| {
        let threads: Vec<_> = items.iter().map(|i| scope.spawn(|| f(i))).collect();
        threads
            .into_iter()
            .map(|t| t.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    })
}

/// Whether `ping OPTIONS to`, run in `ns`, gets an answer.
fn ping_as(ns: &str, options: &[&str], to: &str) -> bool {
    Command::new("ip")
        .args(["netns", "exec", ns, "ping", "-n", "-q"])
        .args(options)
        .arg(to)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap()
        .success()
}

/// Two echo requests 0.2 s apart, each given a second for its reply.
fn ping(ns: &str, to: Ipv4Addr) -> bool {
    ping_as(
        ns,
        &["-4", "-c", "2", "-i", "0.2", "-W", "1"],
        &to.to_string(),
    )
}

/// IPv6 takes a few seconds to start on fresh links (duplicate address
/// detection of the link-local addresses, then neighbour discovery), so
/// this waits for a reply up to 4 s.
fn ping6(ns: &str, to: &str) -> bool {
    ping_as(ns, &["-6", "-c", "1", "-w", "4"], to)
}

/// Every ordered pair of endpoints whose answer is not `expected`.
fn pairs_against(lab: &Lab, expected: impl Fn(&Endpoint, &Endpoint) -> bool) -> Vec<String> {
    let pairs: Vec<(&Endpoint, &Endpoint)> = lab
        .endpoints
        .iter()
        .flat_map(|a| lab.endpoints.iter().map(move |b| (a, b)))
        .filter(|(a, b)| a.address != b.address)
        .collect();
    let answers = parallel(&pairs, |(a, b)| ping(&a.ns, b.address));
    pairs
        .iter()
        .zip(answers)
        .filter(|((a, b), answer)| *answer != expected(a, b))
        .map(|((a, b), answer)| {
            let got = if answer { "got through" } else { "was dropped" };
            format!("{} -> {}: {got}", a.ns, b.ns)
        })
        .collect()
}

#[test]
fn exactly_the_pairs_the_model_allows_get_through() {
    let lab = Lab::new("pairs");
    let wrong = pairs_against(&lab, |_, _| true);
    assert!(wrong.is_empty(), "without the table: {wrong:#?}");
    lab.apply_both(Outside::Allow);
    let wrong = pairs_against(&lab, |a, b| allowed(a.group, b.group));
    assert!(wrong.is_empty(), "with the table: {wrong:#?}");
}

/// Whether a TCP connection from `ns` to `to` opens within a second.
fn connects(ns: &str, to: SocketAddrV4) -> bool {
    in_netns(ns, || {
        TcpStream::connect_timeout(&to.into(), Duration::from_secs(1)).is_ok()
    })
}

fn listen(ns: &str) -> (TcpListener, u16) {
    let listener = in_netns(ns, || TcpListener::bind((Ipv4Addr::UNSPECIFIED, 0))).unwrap();
    let port = listener.local_addr().unwrap().port();
    (listener, port)
}

#[test]
fn policy_opens_one_way_across_hosts_and_replies_come_back() {
    let lab = Lab::new("policy");
    let web = lab.ep(1, "blue", "web");
    let db = lab.ep(2, "blue", "db");
    let (_db_listener, db_port) = listen(&db.ns);
    let (_web_listener, web_port) = listen(&web.ns);
    let to_db = SocketAddrV4::new(db.address, db_port);
    let to_web = SocketAddrV4::new(web.address, web_port);
    assert!(
        connects(&web.ns, to_db) && connects(&db.ns, to_web),
        "without the table"
    );
    lab.apply_both(Outside::Allow);
    let [web_to_db, db_to_web] =
        [(&web.ns, to_db), (&db.ns, to_web)].map(|(ns, to)| connects(ns, to));
    assert!(
        web_to_db,
        "blue/web opens to blue/db (policy), and the SYN-ACK comes back"
    );
    assert!(!db_to_web, "blue/db must not open to blue/web");
}

/// Whether a datagram sent from `ns` with source `from` reaches a socket in
/// `to_ns` at `to`; three are sent.
fn datagram_arrives(ns: &str, from: Ipv4Addr, to_ns: &str, to: Ipv4Addr) -> bool {
    let receiver = in_netns(to_ns, || UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0))).unwrap();
    receiver
        .set_read_timeout(Some(Duration::from_secs(1)))
        .unwrap();
    let port = receiver.local_addr().unwrap().port();
    in_netns(ns, || {
        let sender = UdpSocket::bind((from, 0)).expect("bind the source address");
        for _ in 0..3 {
            sender.send_to(b"spoof", (to, port)).unwrap();
            std::thread::sleep(Duration::from_millis(20));
        }
    });
    let mut buffer = [0u8; 16];
    match receiver.recv_from(&mut buffer) {
        Ok(_) => true,
        Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => false,
        Err(e) => panic!("recv: {e}"),
    }
}

#[test]
fn an_endpoint_sending_with_another_source_gets_nothing_through() {
    let lab = Lab::new("spoof");
    let attacker = lab.ep(1, "red", "web");
    let victim = lab.ep(1, "blue", "web");
    let remote = lab.ep(2, "blue", "web");
    // blue/web opens to blue/db; the victim's address is the attacker's
    // own now, so the same-host target is blue/db.
    let local = lab.ep(1, "blue", "db");
    // Sources the table would otherwise let through to blue/web and
    // blue/db: blue/web's own address, a free one of blue/web, and one
    // outside the plan with blue/web's bits under the mask.
    let free = Ipv4Addr::new(10, 1, 17, 9);
    let outsider = Ipv4Addr::new(192, 168, 17, 9);
    let spoofed = [victim.address, free, outsider];
    let mut lines: Vec<String> = spoofed
        .iter()
        .map(|a| format!("address add {a}/32 dev eth0"))
        .collect();
    // IPv6, which the plan does not give endpoints, forwarded by host 1 to
    // the outside: no source of it is an endpoint's.
    lines.push("address add fd00::5/64 dev eth0 nodad".to_owned());
    lines.push("route add default via fd00::1".to_owned());
    ip_batch(&attacker.ns, &lines);
    sysctl(&lab.host(1), &["net.ipv6.conf.all.forwarding=1"]);
    ip_batch(
        &lab.host(1),
        &[
            format!("address add fd00::1/64 dev {} nodad", attacker.interface),
            "address add fd01::1/64 dev ot nodad".to_owned(),
        ],
    );
    let outside = format!("{}-out", lab.prefix);
    ip_batch(
        &outside,
        &[
            "address add fd01::5/64 dev eth0 nodad".to_owned(),
            "route add default via fd01::1".to_owned(),
        ],
    );
    let cases: Vec<(Ipv4Addr, &Endpoint)> = vec![
        (victim.address, remote),
        (victim.address, local),
        (free, remote),
        (free, local),
        (outsider, remote),
        (outsider, local),
    ];
    let send = |(from, to): &(Ipv4Addr, &Endpoint)| {
        datagram_arrives(&attacker.ns, *from, &to.ns, to.address)
    };
    assert_eq!(
        parallel(&cases, send),
        vec![true; cases.len()],
        "without the table"
    );
    assert!(
        ping6(&attacker.ns, "fd01::5"),
        "IPv6 through the host without the table"
    );

    lab.apply_both(Outside::Allow);
    assert_eq!(
        parallel(&cases, send),
        vec![false; cases.len()],
        "with the table"
    );
    assert!(!ping6(&attacker.ns, "fd01::5"), "endpoints are IPv4 only");
    // The same endpoint from its own address still reaches its segment.
    let own = lab.ep(1, "red", "web").address;
    let peer = lab.ep(2, "red", "web");
    assert!(datagram_arrives(&attacker.ns, own, &peer.ns, peer.address));
}

#[test]
fn endpoints_reach_the_host_only_for_icmp_and_replies() {
    let lab = Lab::new("host");
    let host = lab.host(1);
    let endpoint = lab.ep(1, "blue", "web");
    let gateway = Ipv4Addr::new(10, 1, 0, 1);
    let (_host_listener, host_port) = listen(&host);
    let (_endpoint_listener, endpoint_port) = listen(&endpoint.ns);
    let service = SocketAddrV4::new(gateway, host_port);
    let on_endpoint = SocketAddrV4::new(endpoint.address, endpoint_port);
    let outside = format!("{}-out", lab.prefix);
    let check = || {
        [
            ping(&endpoint.ns, gateway),
            connects(&endpoint.ns, service),
            connects(&host, on_endpoint),
            connects(&outside, SocketAddrV4::new(OUTSIDE_HOST, host_port)),
        ]
    };
    assert_eq!(check(), [true; 4], "without the table");
    lab.apply(1, Outside::Allow);
    let [icmp, tcp_to_host, host_to_endpoint, outside_to_host] = check();
    assert!(icmp, "an endpoint pings its gateway");
    assert!(
        !tcp_to_host,
        "an endpoint opens no TCP connection to the host"
    );
    assert!(
        host_to_endpoint,
        "the host's own connections get their replies"
    );
    assert!(outside_to_host, "the table filters endpoints, not the host");
}

#[test]
fn outside_the_plan_is_allowed_or_denied_by_the_config() {
    let lab = Lab::new("outside");
    let outside = format!("{}-out", lab.prefix);
    let web = lab.ep(1, "blue", "web");
    let red = lab.ep(1, "red", "db");
    let check = || {
        let jobs = [
            (outside.as_str(), web.address),
            (outside.as_str(), red.address),
            (web.ns.as_str(), OUTSIDE),
        ];
        parallel(&jobs, |(ns, to)| ping(ns, *to))
    };
    assert_eq!(check(), [true; 3], "without the table");
    lab.apply(1, Outside::Allow);
    assert_eq!(check(), [true; 3], "outside = allow");
    lab.apply(1, Outside::Deny);
    // 192.168.17.5 has blue/web's bits under the mask: the map alone
    // would let it in.
    assert_eq!(
        check(),
        [false, false, true],
        "outside = deny: nothing comes in, endpoints still go out"
    );
    let peer = lab.ep(1, "blue", "db");
    assert!(ping(&web.ns, peer.address), "policy traffic is unaffected");
}

/// `count` endpoints of host 1 from 10.1.17.1 up, named like the veths.
/// The interfaces need not exist for the table.
fn many_endpoints(count: u32) -> Vec<IsolationEndpoint> {
    (0..count)
        .map(|i| {
            let address = Ipv4Addr::from(0x0a01_1101 + i);
            let name = format!("rb{:08x}", u32::from(address));
            IsolationEndpoint {
                address,
                interface: InterfaceName::new(&name).unwrap(),
            }
        })
        .collect()
}

/// (rules, set and map elements) of the live table.
fn counted(ns: &str) -> (usize, usize) {
    let listing = run(
        "ip",
        &[
            "netns", "exec", ns, "nft", "-j", "list", "table", "inet", "romana",
        ],
        None,
    );
    let root: Value = serde_json::from_str(&listing).unwrap();
    let items = root["nftables"].as_array().unwrap();
    let rules = items.iter().filter(|i| i.get("rule").is_some()).count();
    let elements = items
        .iter()
        .filter_map(|i| i.get("set").or_else(|| i.get("map")))
        .filter_map(|s| s.get("elem").and_then(Value::as_array))
        .map(Vec::len)
        .sum();
    (rules, elements)
}

#[test]
fn the_rule_count_is_the_same_with_10_and_1000_endpoints() {
    let mut lab = Lab::empty("count");
    let ns = lab.namespace("h");
    let config = lab.config.clone();
    let mut seen = Vec::new();
    for count in [10, 1000, 10_000] {
        let endpoints = many_endpoints(count);
        let ruleset = Ruleset::new(&IsolationInput::new(&config, &endpoints));
        let started = Instant::now();
        in_netns(&ns, || isolation::apply(&ruleset)).expect("apply");
        let took = started.elapsed();
        eprintln!("{count} endpoints applied in {took:?}");
        if count == 1000 {
            assert!(
                took < Duration::from_secs(1),
                "1,000 endpoints took {took:?}"
            );
        }
        let (rules, elements) = counted(&ns);
        // Two elements per endpoint (its interface, its interface and
        // address), the rest are the map's.
        assert_eq!(elements, 2 * count as usize + MAP_ELEMENTS);
        seen.push(rules);
        let started = Instant::now();
        let state = in_netns(&ns, || isolation::check(&ruleset)).unwrap();
        eprintln!("{count} endpoints checked in {:?}", started.elapsed());
        assert_eq!(state, TableState::Current);
    }
    assert_eq!(seen, vec![13, 13, 13]);
}

/// Map elements for `CONFIG`: 4 segments to themselves, blue/web to
/// blue/db, red/db to blue's two segments.
const MAP_ELEMENTS: usize = 4 + 1 + 2;

#[test]
fn drift_is_seen_and_undone_by_applying_again() {
    let mut lab = Lab::empty("drift");
    let ns = lab.namespace("h");
    let endpoints = many_endpoints(3);
    let ruleset = Ruleset::new(&IsolationInput::new(&lab.config, &endpoints));
    let check = || in_netns(&ns, || isolation::check(&ruleset)).unwrap();
    let present = || in_netns(&ns, isolation::present).unwrap();
    let apply = || in_netns(&ns, || isolation::apply(&ruleset)).unwrap();

    assert_eq!(check(), TableState::Missing);
    assert!(!present());
    apply();
    assert_eq!(check(), TableState::Current);
    apply();
    assert_eq!(
        check(),
        TableState::Current,
        "applying twice is the same table"
    );

    let edits = [
        "flush table inet romana",
        "delete element inet romana endpoint_sources { \"rb0a011101\" . 10.1.17.1 }",
        "add element inet romana endpoint_sources { \"rb0a011101\" . 10.1.17.200 }",
        "insert rule inet romana forward accept",
        "flush chain inet romana between_endpoints",
    ];
    for edit in edits {
        nft(&ns, edit);
        assert!(
            matches!(check(), TableState::Changed(_)),
            "after `{edit}`: {:?}",
            check()
        );
        apply();
        assert_eq!(check(), TableState::Current, "re-applied after `{edit}`");
    }

    nft(&ns, "delete table inet romana");
    assert_eq!(check(), TableState::Missing);
    apply();
    nft(&ns, "flush ruleset");
    assert_eq!(check(), TableState::Missing);

    apply();
    in_netns(&ns, isolation::remove).unwrap();
    assert!(!present());
    in_netns(&ns, isolation::remove).expect("removing a missing table is not an error");

    // Another program's table of the same family is left alone.
    nft(
        &ns,
        "table inet other {\n chain c {\n type filter hook input priority 0; policy accept;\n }\n}\n",
    );
    apply();
    in_netns(&ns, isolation::remove).unwrap();
    let tables = run("ip", &["netns", "exec", &ns, "nft", "list", "tables"], None);
    assert_eq!(tables.trim(), "table inet other");
}

/// The live table as the daemon drives it: whole at first, then endpoints
/// in and out of the sets over netlink, each time the table listed equal to
/// the one rendered for the endpoints present; a table deleted by hand makes
/// the next change replace it whole; elements added by hand are seen (the
/// generation moved) and the table is put back.
#[test]
fn endpoints_join_and_leave_the_sets_and_drift_is_still_repaired() {
    let mut lab = Lab::empty("live");
    let ns = lab.namespace("h");
    let config = std::sync::Arc::new(lab.config.clone());
    let all = many_endpoints(5);
    let rendered =
        |endpoints: &[IsolationEndpoint]| Ruleset::new(&IsolationInput::new(&config, endpoints));
    let state = |endpoints: &[IsolationEndpoint]| {
        in_netns(&ns, || isolation::check(&rendered(endpoints))).expect("check")
    };
    in_netns(&ns, || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let replaced = std::cell::Cell::new(0);
        let whole = |endpoints: &[IsolationEndpoint]| {
            replaced.set(replaced.get() + 1);
            endpoints.to_vec()
        };
        let mut table = LiveTable::new(config.clone());
        runtime.block_on(async {
            table.replace(all[..2].to_vec()).await.unwrap();
            assert_eq!(state(&all[..2]), TableState::Current);

            let add = table.change(Membership::Add, &all[2..], || whole(&all));
            add.await.unwrap();
            assert_eq!(replaced.get(), 0, "an add goes over netlink");
            assert_eq!(state(&all), TableState::Current);

            let remove = table.change(Membership::Remove, &all[3..], || whole(&all[..3]));
            remove.await.unwrap();
            assert_eq!(replaced.get(), 0, "a delete goes over netlink");
            assert_eq!(state(&all[..3]), TableState::Current);

            run("nft", &["delete", "table", "inet", "romana"], None);
            let add = table.change(Membership::Add, &all[3..4], || whole(&all[..4]));
            add.await.unwrap();
            assert_eq!(replaced.get(), 1, "a refused change replaces the table");
            assert_eq!(state(&all[..4]), TableState::Current);

            let edit = "add element inet romana endpoint_sources { \"rbintruder\" . 10.1.99.1 }";
            run("nft", &["-f", "-"], Some(edit));
            assert!(matches!(state(&all[..4]), TableState::Changed(_)));
            table.repair(|| whole(&all[..4])).await;
            assert_eq!(replaced.get(), 2, "the hand edit is undone");
            assert_eq!(state(&all[..4]), TableState::Current);
        });
    });
}
