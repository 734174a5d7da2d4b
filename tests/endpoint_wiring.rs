//! The endpoint module against a real kernel. Every test makes its own
//! network namespaces: one plays the host (the wiring thread runs inside
//! it, so the real host's links are never touched), others are containers.
//! Results are checked with `ip`, and a ping proves the wiring end to end.
//! Needs root.

use std::fs;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::Command;

use romana_bgp::config::{Segment, Tenant};
use romana_bgp::endpoint::{
    self, AddRequest, Attachment, Endpoint, EndpointError, Store, Target, Wiring,
};
use romana_bgp::plan::{HostIndex, Plan};
use serde_json::Value;

/// A network namespace that exists as long as this value, also when the
/// test panics.
struct Netns {
    name: String,
}

impl Netns {
    fn new(test: &str, role: &str) -> Netns {
        let name = format!("rbe-{test}-{role}-{}", std::process::id());
        // A namespace left by an earlier run that was killed.
        let _ = Command::new("ip").args(["netns", "del", &name]).output();
        run("ip", &["netns", "add", &name]);
        let ns = Netns { name };
        ns.ip("link set lo up");
        ns
    }

    fn path(&self) -> PathBuf {
        Path::new("/run/netns").join(&self.name)
    }

    /// `ip -n NS ARGS`; panics unless it succeeds.
    fn ip(&self, args: &str) -> String {
        let mut all = vec!["-n", &self.name];
        all.extend(args.split_whitespace());
        run("ip", &all)
    }

    /// `ip -n NS -j ARGS`, parsed.
    fn ip_json(&self, args: &str) -> Value {
        let text = self.ip(&format!("-j {args}"));
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("ip -j {args}: {e}: {text}"))
    }

    fn exec(&self, program: &[&str]) -> std::process::Output {
        Command::new("ip")
            .args(["netns", "exec", &self.name])
            .args(program)
            .output()
            .expect("ip netns exec")
    }

    fn sysctl(&self, key: &str) -> String {
        let path = format!("/proc/sys/{}", key.replace('.', "/"));
        let out = self.exec(&["cat", &path]);
        assert!(out.status.success(), "cat {path}: {out:?}");
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    fn has_link(&self, name: &str) -> bool {
        Command::new("ip")
            .args(["-n", &self.name, "link", "show", "dev", name])
            .output()
            .expect("ip link show")
            .status
            .success()
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .output();
    }
}

/// A state directory removed when the test ends.
struct StateDir(PathBuf);

impl StateDir {
    fn new(test: &str) -> StateDir {
        let dir = std::env::temp_dir().join(format!("rbe-{test}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        StateDir(dir)
    }
}

impl Drop for StateDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn run(program: &str, args: &[&str]) -> String {
    let out = Command::new(program)
        .args(args)
        .output()
        .expect("run command");
    assert!(
        out.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// 10.0.0.0/8, host 1 (gateway 10.1.0.1), tenant blue (1) with segments
/// web (1) and db (2); 8 endpoint bits.
fn plan() -> (Plan, HostIndex, Vec<Tenant>) {
    plan_with_bits(4, 4)
}

fn plan_with_bits(tenant_bits: u8, segment_bits: u8) -> (Plan, HostIndex, Vec<Tenant>) {
    let plan = Plan::new("10.0.0.0/8".parse().unwrap(), 8, tenant_bits, segment_bits).unwrap();
    let tenants = vec![Tenant {
        name: "blue".into(),
        id: plan.tenant_id(1).unwrap(),
        segments: vec![
            Segment {
                name: "web".into(),
                id: plan.segment_id(1).unwrap(),
            },
            Segment {
                name: "db".into(),
                id: plan.segment_id(2).unwrap(),
            },
        ],
    }];
    (plan, plan.host_index(1).unwrap(), tenants)
}

fn open_store(dir: &StateDir) -> Store {
    let (plan, host, tenants) = plan();
    Store::open(&dir.0, &plan, host, &tenants).expect("open the store")
}

fn request(name: &str, target: Target) -> AddRequest {
    AddRequest {
        name: Some(name.into()),
        tenant: "blue".into(),
        segment: "web".into(),
        target,
    }
}

fn allocate(store: &mut Store, name: &str, target: Target) -> Endpoint {
    store.allocate(&request(name, target)).expect("allocate").0
}

fn ifindex_of(ns: &Netns, name: &str) -> u32 {
    let links = ns.ip_json(&format!("link show dev {name}"));
    links[0]["ifindex"].as_u64().expect("ifindex") as u32
}

/// The host's side of routing to an endpoint, as the daemon sets it up:
/// the gateway on lo, the /32 route to the endpoint's interface.
fn route_like_the_daemon(host: &Netns, endpoint: &Endpoint) {
    host.ip(&format!("address add {}/32 dev lo", endpoint.gateway));
    host.ip(&format!(
        "route add {}/32 dev {}",
        endpoint.address, endpoint.interface
    ));
}

/// A host namespace with its wiring thread, a container namespace, and
/// endpoint `c1` allocated for it in a store of the test's own (the
/// `StateDir`, to be kept), not wired.
fn one_container(test: &str) -> (Netns, Netns, StateDir, Wiring, Endpoint) {
    let host = Netns::new(test, "host");
    let container = Netns::new(test, "c");
    let state = StateDir::new(test);
    let wiring = Wiring::start_in(&host.path()).expect("wiring thread");
    let endpoint = allocate(
        &mut open_store(&state),
        "c1",
        Target::Netns(container.path()),
    );
    (host, container, state, wiring, endpoint)
}

#[tokio::test]
async fn container_is_wired_into_its_namespace_and_reaches_the_gateway() {
    let (host, container, _state, wiring, endpoint) = one_container("cont");
    assert_eq!(endpoint.address, Ipv4Addr::new(10, 1, 17, 1));
    assert_eq!(endpoint.interface, "rb0a011101");

    let ifindex = wiring.wire(&endpoint).await.expect("wire");

    // Inside: eth0 up with the /32, the gateway on the link, default via it.
    let eth0 = container.ip_json("address show dev eth0");
    let addresses: Vec<String> = eth0[0]["addr_info"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["family"] == "inet")
        .map(|a| format!("{}/{}", a["local"].as_str().unwrap(), a["prefixlen"]))
        .collect();
    assert_eq!(addresses, ["10.1.17.1/32"]);
    assert!(
        eth0[0]["flags"]
            .as_array()
            .unwrap()
            .contains(&Value::from("UP"))
    );
    let default = container.ip_json("route show default");
    assert_eq!(default[0]["gateway"], "10.1.0.1", "{default}");
    assert_eq!(default[0]["dev"], "eth0");
    assert!(
        default[0]["flags"]
            .as_array()
            .unwrap()
            .contains(&Value::from("onlink")),
        "{default}"
    );
    let to_gateway = container.ip_json("route show 10.1.0.1/32");
    assert_eq!(to_gateway[0]["scope"], "link", "{to_gateway}");
    assert_eq!(to_gateway[0]["dev"], "eth0");

    // On the host: the veth, up, proxy ARP on, the index returned.
    assert_eq!(ifindex.get(), ifindex_of(&host, "rb0a011101"));
    let link = host.ip_json("-d link show dev rb0a011101");
    assert_eq!(link[0]["linkinfo"]["info_kind"], "veth");
    // One queue each way, on both ends.
    let eth0 = container.ip_json("-d link show dev eth0");
    for end in [&link[0], &eth0[0]] {
        assert_eq!(end["num_tx_queues"], 1, "{end}");
        assert_eq!(end["num_rx_queues"], 1, "{end}");
    }
    assert!(
        link[0]["flags"]
            .as_array()
            .unwrap()
            .contains(&Value::from("UP"))
    );
    assert_eq!(host.sysctl("net.ipv4.conf.rb0a011101.proxy_arp"), "1");
    // IPv4 only: no IPv6 on the host end, so no link-local address, no
    // duplicate address detection, no IPv6 routes for it.
    assert_eq!(host.sysctl("net.ipv6.conf.rb0a011101.disable_ipv6"), "1");
    assert_eq!(
        host.ip_json("-6 address show dev rb0a011101"),
        Value::Array(Vec::new())
    );

    route_like_the_daemon(&host, &endpoint);
    let ping = container.exec(&["ping", "-c", "1", "-W", "3", "10.1.0.1"]);
    assert!(ping.status.success(), "ping the gateway: {ping:?}");

    assert!(wiring.is_wired(&endpoint).await.unwrap());
    assert_eq!(
        wiring.wired(vec![endpoint.clone()]).await.unwrap(),
        [Some(ifindex)]
    );
    let owned = wiring.owned_links().await.unwrap();
    assert_eq!(owned.len(), 1);
    assert_eq!(owned[0].name, "rb0a011101");
    assert_eq!(owned[0].ifindex, ifindex);

    // Wiring again changes nothing and repairs what is missing.
    container.ip("route del default");
    assert_eq!(wiring.wire(&endpoint).await.unwrap(), ifindex);
    assert_eq!(
        container
            .ip_json("route show default")
            .as_array()
            .unwrap()
            .len(),
        1
    );

    // What a crash in the middle of the wiring can leave: eth0 down and
    // unconfigured, or the host end still down. Neither is wired, and
    // wiring again completes it.
    container.ip("link set eth0 down");
    container.ip("address flush dev eth0");
    assert!(!wiring.is_wired(&endpoint).await.unwrap());
    assert_eq!(wiring.wired(vec![endpoint.clone()]).await.unwrap(), [None]);
    assert_eq!(wiring.wire(&endpoint).await.unwrap(), ifindex);
    assert!(wiring.is_wired(&endpoint).await.unwrap());
    host.ip("link set rb0a011101 down");
    assert!(!wiring.is_wired(&endpoint).await.unwrap());
    assert_eq!(wiring.wire(&endpoint).await.unwrap(), ifindex);
    assert!(wiring.is_wired(&endpoint).await.unwrap());
    // The kernel took the /32 route away with the link; the daemon's
    // reconciler puts it back.
    host.ip(&format!(
        "route replace {}/32 dev {}",
        endpoint.address, endpoint.interface
    ));
    let ping = container.exec(&["ping", "-c", "1", "-W", "3", "10.1.0.1"]);
    assert!(ping.status.success(), "ping after the repair: {ping:?}");

    wiring.unwire(&endpoint).await.expect("unwire");
    assert!(!host.has_link("rb0a011101"));
    assert!(!container.has_link("eth0"), "the peer goes with the pair");
    assert!(!wiring.is_wired(&endpoint).await.unwrap());
    assert!(wiring.owned_links().await.unwrap().is_empty());
    wiring
        .unwire(&endpoint)
        .await
        .expect("unwire is idempotent");
}

/// An add makes the pair while the endpoint is written to disk: prepared,
/// it is configured inside but its host end is down, so nothing reaches the
/// endpoint and it does not count as wired until it is finished.
#[tokio::test]
async fn a_prepared_container_is_down_until_finished() {
    let (host, container, _state, wiring, endpoint) = one_container("prep");

    let prepared = wiring
        .prepare(vec![endpoint.clone()])
        .expect("sent")
        .wait()
        .await
        .expect("answered");
    let [Ok(Some(prepared))] = prepared.as_slice() else {
        panic!("one prepared container expected: {prepared:?}");
    };
    let eth0 = container.ip_json("address show dev eth0");
    assert_eq!(eth0[0]["addr_info"][0]["local"], "10.1.17.1", "{eth0}");
    let link = host.ip_json("link show dev rb0a011101");
    assert!(
        !link[0]["flags"]
            .as_array()
            .unwrap()
            .contains(&Value::from("UP")),
        "{link}"
    );
    assert_eq!(host.sysctl("net.ipv4.conf.rb0a011101.proxy_arp"), "0");
    assert!(!wiring.is_wired(&endpoint).await.unwrap());

    let wired = wiring
        .finish_all(vec![(endpoint.clone(), Some(*prepared))])
        .await
        .expect("answered");
    let ifindex = wired[0].as_ref().expect("finished");
    assert_eq!(ifindex.get(), ifindex_of(&host, "rb0a011101"));
    assert!(wiring.is_wired(&endpoint).await.unwrap());
}

#[tokio::test]
async fn tap_is_set_up_with_proxy_arp_and_left_in_place() {
    let host = Netns::new("tap", "host");
    let state = StateDir::new("tap");
    host.ip("tuntap add tapvm1 mode tap");
    let wiring = Wiring::start_in(&host.path()).expect("wiring thread");
    let mut store = open_store(&state);
    let endpoint = allocate(&mut store, "vm1", Target::Tap("tapvm1".into()));
    assert_eq!(endpoint.attachment, Attachment::Tap);
    assert_eq!(endpoint.interface, "tapvm1");
    assert!(!wiring.is_wired(&endpoint).await.unwrap());

    let ifindex = wiring.wire(&endpoint).await.expect("wire");
    assert_eq!(ifindex.get(), ifindex_of(&host, "tapvm1"));
    let link = host.ip_json("link show dev tapvm1");
    assert!(
        link[0]["flags"]
            .as_array()
            .unwrap()
            .contains(&Value::from("UP"))
    );
    assert_eq!(host.sysctl("net.ipv4.conf.tapvm1.proxy_arp"), "1");
    assert!(wiring.is_wired(&endpoint).await.unwrap());
    assert!(
        wiring.owned_links().await.unwrap().is_empty(),
        "a tap is the VM's"
    );

    wiring.unwire(&endpoint).await.expect("unwire");
    assert!(host.has_link("tapvm1"), "the tap stays");
    assert_eq!(host.sysctl("net.ipv4.conf.tapvm1.proxy_arp"), "0");
    assert!(!wiring.is_wired(&endpoint).await.unwrap());

    // A tap replaced between the check and the wiring (which trusts what
    // the check found) is wired under its new index.
    wiring
        .check(&Target::Tap("tapvm1".into()))
        .await
        .expect("check");
    host.ip("tuntap del tapvm1 mode tap");
    host.ip("tuntap add tapvm1 mode tap");
    let new_index = wiring.wire(&endpoint).await.expect("wire the new tap");
    assert_ne!(new_index, ifindex);
    assert_eq!(new_index.get(), ifindex_of(&host, "tapvm1"));
    assert_eq!(host.sysctl("net.ipv4.conf.tapvm1.proxy_arp"), "1");
}

#[tokio::test]
async fn many_taps_are_wired_in_one_call() {
    // More than one datagram of requests, and more answers than one
    // receive buffer holds.
    const TAPS: usize = 2000;
    let host = Netns::new("bulk", "host");
    let state = StateDir::new("bulk");
    let batch: String = (0..TAPS)
        .map(|i| format!("tuntap add tb{i} mode tap\n"))
        .collect();
    let file = state.0.with_extension("batch");
    fs::write(&file, batch).unwrap();
    host.ip(&format!("-batch {}", file.display()));
    fs::remove_file(&file).unwrap();
    let wiring = Wiring::start_in(&host.path()).expect("wiring thread");
    // 12 endpoint bits: 4094 endpoints per segment.
    let (plan, index, tenants) = plan_with_bits(2, 2);
    let mut store = Store::open(&state.0, &plan, index, &tenants).expect("open the store");
    let mut requests: Vec<AddRequest> = (0..TAPS)
        .map(|i| request(&format!("vm{i}"), Target::Tap(format!("tb{i}"))))
        .collect();
    requests.push(request("ghost", Target::Tap("tbmissing".into())));

    let results = endpoint::add_all(
        &mut store,
        &wiring,
        &requests,
        async |_, _| Ok(()),
        async |_| {},
    )
    .await
    .expect("add_all");
    assert_eq!(results.len(), TAPS + 1);
    for (i, result) in results.iter().take(TAPS).enumerate() {
        let added = result.as_ref().unwrap_or_else(|e| panic!("tb{i}: {e}"));
        assert!(added.created);
        assert_eq!(added.ifindex.get(), ifindex_of(&host, &format!("tb{i}")));
    }
    assert!(matches!(
        results[TAPS],
        Err(EndpointError::MissingInterface { .. })
    ));
    assert_eq!(store.len(), TAPS, "the failed request allocated nothing");
    for i in [0, TAPS / 2, TAPS - 1] {
        assert_eq!(host.sysctl(&format!("net.ipv4.conf.tb{i}.proxy_arp")), "1");
    }
    let endpoints: Vec<Endpoint> = store.list().cloned().collect();
    let wired = wiring.wired(endpoints).await.unwrap();
    assert!(wired.iter().all(Option::is_some));
}

/// The taps a check found up are handed to `while_wiring` with their
/// index, alongside the wiring (the daemon routes them then); a tap that
/// is down is not (the kernel refuses a route through it). One that goes
/// between the check and the wiring fails and is given back: the daemon
/// undoes what its hooks did for the endpoints the store no longer has.
#[tokio::test]
async fn taps_found_up_are_handed_over_while_wired() {
    let host = Netns::new("early", "host");
    let state = StateDir::new("early");
    for tap in ["tup1", "tup2", "tgone"] {
        host.ip(&format!("tuntap add {tap} mode tap"));
        host.ip(&format!("link set {tap} up"));
    }
    host.ip("tuntap add tdown mode tap");
    let wiring = Wiring::start_in(&host.path()).expect("wiring thread");
    let mut store = open_store(&state);
    let requests: Vec<AddRequest> = ["tup1", "tup2", "tgone", "tdown"]
        .iter()
        .map(|tap| request(tap, Target::Tap((*tap).into())))
        .collect();
    let mut handed = Vec::new();

    let results = endpoint::add_all(
        &mut store,
        &wiring,
        &requests,
        async |_, _| {
            host.ip("link del tgone");
            Ok(())
        },
        async |up| handed = up.to_vec(),
    )
    .await
    .expect("add_all");

    let handed: Vec<(&str, u32)> = handed
        .iter()
        .map(|(e, index)| (e.name.as_str(), index.get()))
        .collect();
    assert_eq!(handed.len(), 3, "{handed:?}");
    for tap in ["tup1", "tup2"] {
        assert!(
            handed.contains(&(tap, ifindex_of(&host, tap))),
            "{tap}: {handed:?}"
        );
    }
    assert!(handed.iter().any(|(name, _)| *name == "tgone"));
    for (i, tap) in ["tup1", "tup2"].iter().enumerate() {
        let added = results[i].as_ref().unwrap_or_else(|e| panic!("{tap}: {e}"));
        assert_eq!(added.ifindex.get(), ifindex_of(&host, tap));
    }
    assert!(
        matches!(results[2], Err(EndpointError::MissingInterface { .. })),
        "{:?}",
        results[2]
    );
    assert!(
        store.get("tgone").is_none(),
        "the gone tap's endpoint was given back"
    );
    assert!(
        results[3].is_ok(),
        "the down tap is wired: {:?}",
        results[3]
    );
    assert_eq!(store.len(), 3);
}

#[tokio::test]
async fn missing_targets_are_refused_before_anything_changes() {
    let host = Netns::new("missing", "host");
    let state = StateDir::new("missing");
    let wiring = Wiring::start_in(&host.path()).expect("wiring thread");
    let mut store = open_store(&state);

    let absent = Path::new("/run/netns/rbe-does-not-exist").to_path_buf();
    let err = endpoint::add(&mut store, &wiring, &request("c1", Target::Netns(absent)))
        .await
        .unwrap_err();
    assert!(
        matches!(err, EndpointError::MissingNamespace { .. }),
        "{err}"
    );
    assert!(err.to_string().contains("rbe-does-not-exist"), "{err}");

    let plain_file = state.0.with_extension("not-a-netns");
    fs::write(&plain_file, b"").unwrap();
    let err = endpoint::add(
        &mut store,
        &wiring,
        &request("c2", Target::Netns(plain_file.clone())),
    )
    .await
    .unwrap_err();
    fs::remove_file(&plain_file).unwrap();
    assert!(matches!(err, EndpointError::NotANamespace { .. }), "{err}");

    let err = endpoint::add(
        &mut store,
        &wiring,
        &request("vm", Target::Tap("tapnone".into())),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(err, EndpointError::MissingInterface { .. }),
        "{err}"
    );
    assert!(err.to_string().contains("tapnone"), "{err}");

    assert!(store.is_empty());
    assert!(wiring.owned_links().await.unwrap().is_empty());
    // The wiring itself refuses too, for an endpoint whose target vanished.
    let other_state = StateDir::new("missing-other");
    let mut other = open_store(&other_state);
    let endpoint = allocate(&mut other, "vm", Target::Tap("tapnone".into()));
    assert!(matches!(
        wiring.wire(&endpoint).await,
        Err(EndpointError::MissingInterface { .. })
    ));
}

#[tokio::test]
async fn add_and_remove_keep_store_and_kernel_together() {
    let host = Netns::new("life", "host");
    let container = Netns::new("life", "c");
    let state = StateDir::new("life");
    let wiring = Wiring::start_in(&host.path()).expect("wiring thread");
    let mut store = open_store(&state);
    let add = request("c1", Target::Netns(container.path()));

    let added = endpoint::add(&mut store, &wiring, &add).await.expect("add");
    assert!(added.created);
    assert!(host.has_link(&added.endpoint.interface));
    let again = endpoint::add(&mut store, &wiring, &add)
        .await
        .expect("retry");
    assert!(!again.created, "a retried add returns the endpoint");
    assert_eq!(again.endpoint, added.endpoint);
    assert_eq!(again.ifindex, added.ifindex);
    assert_eq!(store.len(), 1);

    // eth0 already in a second namespace: the add fails and gives the
    // address back.
    let crowded = Netns::new("life", "c2");
    crowded.ip("link add eth0 type veth peer name other");
    let err = endpoint::add(
        &mut store,
        &wiring,
        &request("c2", Target::Netns(crowded.path())),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(err, EndpointError::ContainerInterfaceExists { .. }),
        "{err}"
    );
    assert_eq!(store.len(), 1);
    assert_eq!(wiring.owned_links().await.unwrap().len(), 1);

    let removed = endpoint::remove(&mut store, &wiring, "c1")
        .await
        .expect("remove")
        .expect("it existed");
    assert_eq!(removed, added.endpoint);
    assert!(store.is_empty());
    assert!(!host.has_link(&added.endpoint.interface));
    assert_eq!(
        endpoint::remove(&mut store, &wiring, "c1").await.unwrap(),
        None
    );
    drop(store);
    assert!(open_store(&state).is_empty(), "the removal is persisted");
}

#[tokio::test]
async fn a_stale_veth_of_the_address_is_replaced() {
    let host = Netns::new("stale", "host");
    let first = Netns::new("stale", "c1");
    let second = Netns::new("stale", "c2");
    let state = StateDir::new("stale");
    let wiring = Wiring::start_in(&host.path()).expect("wiring thread");
    let mut store = open_store(&state);
    let old = allocate(&mut store, "old", Target::Netns(first.path()));
    wiring.wire(&old).await.expect("wire");
    // The endpoint is released but its link stays (a crash before the
    // unwire); the address goes to a container in another namespace.
    store.release("old").unwrap();
    let new = allocate(&mut store, "new", Target::Netns(second.path()));
    assert_eq!(new.interface, old.interface);
    assert!(
        !wiring.is_wired(&new).await.unwrap(),
        "the peer is elsewhere"
    );

    wiring.wire(&new).await.expect("wire over the stale link");
    assert!(wiring.is_wired(&new).await.unwrap());
    assert!(second.has_link("eth0"));
    assert!(!first.has_link("eth0"), "the stale pair is gone");
}

#[tokio::test]
async fn interfaces_that_are_not_ours_are_not_touched() {
    let (host, _container, _state, wiring, endpoint) = one_container("foreign");
    // Someone's tap with the name the endpoint's veth would have.
    host.ip(&format!("tuntap add {} mode tap", endpoint.interface));
    let err = wiring.wire(&endpoint).await.unwrap_err();
    assert!(
        matches!(&err, EndpointError::InterfaceConflict { kind, .. } if kind == "tun"),
        "{err}"
    );
    wiring.unwire(&endpoint).await.expect("unwire");
    assert!(host.has_link(&endpoint.interface), "not ours: not deleted");
    assert!(wiring.owned_links().await.unwrap().is_empty());

    // A tap that is a bridge port is refused with the way out.
    host.ip("tuntap add tapbr mode tap");
    host.ip("link add br0 type bridge");
    host.ip("link set tapbr master br0");
    let err = wiring
        .check(&Target::Tap("tapbr".into()))
        .await
        .unwrap_err();
    assert!(matches!(err, EndpointError::TapInBridge { .. }), "{err}");
    assert!(err.to_string().contains("nomaster"), "{err}");
}

#[tokio::test]
async fn ip_forward_is_turned_on_in_the_hosts_namespace() {
    let host = Netns::new("fwd", "host");
    let wiring = Wiring::start_in(&host.path()).expect("wiring thread");
    assert_eq!(host.sysctl("net.ipv4.ip_forward"), "0", "a new namespace");
    assert!(!wiring.ip_forward().await.unwrap());
    assert!(wiring.enable_ip_forward().await.unwrap(), "it was off");
    assert_eq!(host.sysctl("net.ipv4.ip_forward"), "1");
    assert!(wiring.ip_forward().await.unwrap());
    assert!(!wiring.enable_ip_forward().await.unwrap(), "already on");
}

#[tokio::test]
async fn store_survives_a_crash_in_the_middle_of_a_write() {
    let host = Netns::new("crash", "host");
    let state = StateDir::new("crash");
    for tap in ["tapa", "tapb", "tapc"] {
        host.ip(&format!("tuntap add {tap} mode tap"));
    }
    let wiring = Wiring::start_in(&host.path()).expect("wiring thread");
    let mut store = open_store(&state);
    let a = endpoint::add(
        &mut store,
        &wiring,
        &request("a", Target::Tap("tapa".into())),
    )
    .await
    .expect("add a");
    let b = endpoint::add(
        &mut store,
        &wiring,
        &request("b", Target::Tap("tapb".into())),
    )
    .await
    .expect("add b");
    drop(store);
    // A crash while c's add was being appended: its line is cut short.
    let mut journal = fs::OpenOptions::new()
        .append(true)
        .open(state.0.join("endpoints.log"))
        .unwrap();
    std::io::Write::write_all(&mut journal, b"{\"add\":{\"name\":\"c\",\"tenant\":\"bl").unwrap();
    drop(journal);
    // And one while a compaction wrote its snapshot, before the rename.
    fs::write(
        state.0.join("endpoints.json.tmp"),
        "{\"version\":1,\"generation\":999,\"endpoints\":[]}",
    )
    .unwrap();

    let mut store = open_store(&state);
    assert!(!state.0.join("endpoints.json.tmp").exists());
    let kept: Vec<&Endpoint> = store.list().collect();
    assert_eq!(kept, [&a.endpoint, &b.endpoint], "c was never acknowledged");
    let c = endpoint::add(
        &mut store,
        &wiring,
        &request("c", Target::Tap("tapc".into())),
    )
    .await
    .expect("add c");
    let addresses: Vec<Ipv4Addr> = store.list().map(|e| e.address).collect();
    assert_eq!(addresses.len(), 3);
    assert!(
        !addresses[..2].contains(&c.endpoint.address),
        "{addresses:?}"
    );
    drop(store);
    assert_eq!(open_store(&state).len(), 3);
}
