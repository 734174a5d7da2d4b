//! Drift, in the two-hosts lab: what an operator or another program
//! changes by hand in host1's kernel is put back by romana-bgp's reconciler
//! within a few reconcile intervals (every 2 s; 6 s allowed), and what is
//! not romana-bgp's is left alone. Needs root and FRR.

mod common;

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use common::{
    Containers, add_container, endpoint_add, endpoint_routes, eventually, host_logs,
    isolation_table, ping, table_content, up,
};
use romana_lab::Lab;
use serde_json::Value;

const HOST: &str = "host1";
/// Three reconcile intervals.
const REPAIRED_WITHIN: Duration = Duration::from_secs(6);

fn table_shape(lab: &Lab) -> Result<Vec<Value>, String> {
    match isolation_table(lab, HOST)? {
        Some(objects) => Ok(table_content(&objects)),
        None => Err("no table inet romana".to_owned()),
    }
}

/// Runs the command in host1 (it must succeed, so it did change what it
/// names) and waits until `repaired` holds again; returns how long that
/// took.
fn break_and_wait(
    lab: &Lab,
    command: &[&str],
    what: &str,
    mut repaired: impl FnMut() -> Result<(), String>,
) -> Duration {
    let out = lab.exec(HOST, command).unwrap();
    assert!(
        out.status.success(),
        "{command:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let start = Instant::now();
    eventually(lab, REPAIRED_WITHIN, what, &mut repaired);
    let took = start.elapsed();
    eprintln!("{what}: {:.2} s", took.as_secs_f64());
    took
}

/// On host1: two containers of blue/web, one of blue/db, and a VM's tap
/// in blue/web.
struct Setup {
    _containers: Containers,
    web1: Placed,
    web2: Placed,
    db: Placed,
    vm: Placed,
}

struct Placed {
    netns: String,
    address: Ipv4Addr,
    interface: String,
    gateway: Ipv4Addr,
}

fn setup(lab: &Lab) -> Setup {
    let mut containers = Containers::new();
    let mut container = |name: &str, group| {
        let netns = containers.add(&format!("{}-{name}", lab.prefix()));
        let e = add_container(lab, HOST, group, &netns);
        Placed {
            netns,
            address: e.address,
            interface: e.interface,
            gateway: e.gateway,
        }
    };
    let web1 = container("web1", ("blue", "web"));
    let web2 = container("web2", ("blue", "web"));
    let db = container("db", ("blue", "db"));
    lab.run(HOST, &["ip", "tuntap", "add", "vm0", "mode", "tap"])
        .unwrap();
    let vm = endpoint_add(
        lab,
        HOST,
        &[
            "--tenant",
            "blue",
            "--segment",
            "web",
            "--iface",
            "vm0",
            "--name",
            "vm0",
        ],
    )
    .unwrap();
    let vm = Placed {
        netns: String::new(),
        address: vm.address,
        interface: vm.interface,
        gateway: vm.gateway,
    };
    Setup {
        _containers: containers,
        web1,
        web2,
        db,
        vm,
    }
}

/// The table isolates: blue/web reaches blue/db, not the other way.
fn isolates(s: &Setup) {
    assert!(ping(&s.web1.netns, s.db.address), "web1 cannot reach db");
    assert!(!ping(&s.db.netns, s.web1.address), "db reaches web1");
}

#[test]
fn a_route_deleted_by_hand_comes_back() {
    let lab = up("two-hosts", "droute");
    let s = setup(&lab);
    let before = endpoint_routes(&lab, HOST).unwrap();
    assert_eq!(before.len(), 4, "{before:?}");

    for e in [&s.web2, &s.vm] {
        let prefix = format!("{}/32", e.address);
        break_and_wait(
            &lab,
            &["ip", "route", "del", &prefix],
            &format!("route {prefix} back"),
            || {
                let routes = endpoint_routes(&lab, HOST)?;
                match routes.get(&e.address.to_string()) {
                    Some(dev) if *dev == e.interface => Ok(()),
                    other => Err(format!("{prefix}: {other:?}")),
                }
            },
        );
    }
    assert_eq!(endpoint_routes(&lab, HOST).unwrap(), before);
    assert!(
        ping(&s.web1.netns, s.web2.address),
        "web1 cannot reach web2"
    );
}

#[test]
fn a_table_flushed_or_deleted_by_hand_comes_back() {
    let lab = up("two-hosts", "dtable");
    let s = setup(&lab);
    let before = table_shape(&lab).unwrap();
    isolates(&s);

    for command in [
        ["nft", "flush", "table", "inet", "romana"],
        ["nft", "delete", "table", "inet", "romana"],
    ] {
        break_and_wait(
            &lab,
            &command,
            &format!("the table back after `{}`", command.join(" ")),
            || {
                let now = table_shape(&lab)?;
                if now == before {
                    Ok(())
                } else {
                    Err(format!("{} objects, {} before", now.len(), before.len()))
                }
            },
        );
        isolates(&s);
    }
    assert!(
        ping(&s.web1.netns, s.web1.gateway),
        "web1 cannot reach its gateway"
    );
}

/// A VM restarted: libvirt deletes its tap and makes one of the same name,
/// down, without proxy ARP, its /32 gone with the old one. The link events
/// bring the wiring back at once, well inside one periodic reconcile
/// interval (2 s), and the log says why.
#[test]
fn a_tap_made_again_is_wired_again_at_once() {
    let lab = up("two-hosts", "dtap");
    let s = setup(&lab);
    let prefix = format!("{}/32", s.vm.address);
    for _ in 0..3 {
        let took = break_and_wait(
            &lab,
            &["sh", "-c", "ip link del vm0 && ip tuntap add vm0 mode tap"],
            &format!("vm0 wired again with {prefix}"),
            || {
                let routes = endpoint_routes(&lab, HOST)?;
                let up = lab
                    .exec(HOST, &["ip", "-o", "link", "show", "dev", "vm0", "up"])
                    .map_err(|e| e.to_string())?;
                match routes.get(&s.vm.address.to_string()) {
                    Some(dev) if dev == "vm0" && !up.stdout.is_empty() => Ok(()),
                    other => Err(format!(
                        "{prefix}: {other:?}, vm0 up: {}",
                        !up.stdout.is_empty()
                    )),
                }
            },
        );
        assert!(
            took < Duration::from_secs(1),
            "vm0 took {took:?} to be wired again"
        );
    }
    let log = host_logs(&lab);
    assert!(
        log.contains("an endpoint's interface was deleted; reconciling")
            || log.contains("an endpoint's interface was made again; reconciling"),
        "no link event in the log:\n{log}"
    );
}

/// Whether host1 has the link.
fn has_link(lab: &Lab, name: &str) -> bool {
    lab.exec(HOST, &["ip", "link", "show", "dev", name])
        .is_ok_and(|o| o.status.success())
}

/// What looks like the daemon's but has no endpoint goes (a veth of its
/// name, a /32 of its protocol); what is not its own stays, even in the
/// host's block: a tap with a veth's name, a veth of another name,
/// a /32 of another protocol, another nftables table.
#[test]
fn leftovers_of_ours_go_and_what_is_not_ours_stays() {
    let lab = up("two-hosts", "dleft");
    let s = setup(&lab);
    let run = |args: &[&str]| {
        let out = lab.exec(HOST, args).unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    run(&[
        "ip",
        "link",
        "add",
        "rb0a0111f0",
        "type",
        "veth",
        "peer",
        "name",
        "left0",
    ]);
    run(&[
        "ip",
        "route",
        "add",
        "10.1.99.2/32",
        "dev",
        "lo",
        "proto",
        common::PROTO,
    ]);
    run(&["ip", "tuntap", "add", "rb0a0111f1", "mode", "tap"]);
    run(&[
        "ip", "link", "add", "rbmine", "type", "veth", "peer", "name", "rbmine-p",
    ]);
    run(&[
        "ip",
        "route",
        "add",
        "10.1.99.1/32",
        "dev",
        "lo",
        "proto",
        "static",
    ]);
    run(&["nft", "add", "table", "inet", "other"]);
    run(&[
        "nft",
        "add",
        "chain",
        "inet",
        "other",
        "input",
        "{ type filter hook input priority 10; }",
    ]);
    run(&["nft", "add", "rule", "inet", "other", "input", "counter"]);

    eventually(&lab, REPAIRED_WITHIN, "leftovers removed", || {
        let routes = endpoint_routes(&lab, HOST)?;
        let veth = has_link(&lab, "rb0a0111f0");
        if !veth && !routes.contains_key("10.1.99.2") {
            Ok(())
        } else {
            Err(format!("veth there: {veth}; routes {routes:?}"))
        }
    });
    for link in ["rb0a0111f1", "rbmine", "rbmine-p"] {
        assert!(has_link(&lab, link), "{link} was removed");
    }
    let statics = lab
        .run(
            HOST,
            &["ip", "route", "show", "10.1.99.1/32", "proto", "static"],
        )
        .unwrap();
    assert!(!statics.trim().is_empty(), "the static route was removed");
    let other = lab
        .run(HOST, &["nft", "list", "table", "inet", "other"])
        .unwrap();
    assert!(other.contains("counter"), "{other}");
    // The endpoints themselves are untouched.
    let routes = endpoint_routes(&lab, HOST).unwrap();
    for e in [&s.web1, &s.web2, &s.db, &s.vm] {
        assert_eq!(routes.get(&e.address.to_string()), Some(&e.interface));
    }
}
