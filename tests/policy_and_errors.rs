//! What a host does with what a real leaf sends it, in the two-hosts lab:
//! prefixes its import policy refuses, an OPEN with the wrong AS, and a
//! shutdown with an RFC 9003 message. Needs root and FRR.

mod common;

use std::time::Duration;

use common::{
    SESSION_UP, default_route, established, eventually, neighbor, owned_routes, routes, show_text,
    start_hosts, up, up_routers, vtysh_config,
};

const LEAF: &str = "leaf1";
const LEAF_AS: u32 = 65000;
/// Prefixes the leaf leaks; none is a default route.
const LEAKED: u64 = 1000;

/// The `i`th leaked prefix: a /24 of 172.16.0.0/12.
fn leaked(i: u64) -> String {
    format!("172.{}.{}.0/24", 16 + i / 256, i % 256)
}

#[test]
fn leaked_prefixes_the_policy_refuses_are_counted_and_dropped() {
    let lab = up("two-hosts", "pl");
    let (host, leaf) = ("host1", "192.168.11.0");
    established(&lab, host, leaf);
    eventually(&lab, SESSION_UP, "host1 has the default route", || {
        default_route(&lab, host)?.ok_or("none yet".to_owned())
    });

    // Let the leaf send them (its outbound list allowed the default only),
    // then announce them without a route in its RIB.
    let mut lines = vec![
        "ip prefix-list DEFAULT-ONLY seq 20 permit 172.16.0.0/12 le 24".to_owned(),
        format!("router bgp {LEAF_AS}"),
        "no bgp network import-check".to_owned(),
        "address-family ipv4 unicast".to_owned(),
    ];
    lines.extend((0..LEAKED).map(|i| format!("network {}", leaked(i))));
    vtysh_config(&lab, LEAF, &lines);

    let n = eventually(
        &lab,
        Duration::from_secs(60),
        "host1 received the leak",
        || {
            let n = neighbor(&lab, host, leaf)?;
            if n.prefixes_received > LEAKED {
                Ok(n)
            } else {
                Err(format!("{n:?}"))
            }
        },
    );
    assert_eq!(
        n.state, "Established",
        "a leak is no reason to drop the session: {n:?}"
    );
    assert_eq!(n.prefixes_accepted, 1, "{n:?}");

    let accepted = routes(&lab, host).unwrap();
    let prefixes: Vec<&str> = accepted.iter().map(|r| r.prefix.as_str()).collect();
    assert_eq!(
        prefixes,
        ["0.0.0.0/0"],
        "only the default is kept: {accepted:?}"
    );
    assert!(accepted[0].installed, "{accepted:?}");

    let owned = owned_routes(&lab, host).unwrap();
    assert_eq!(
        owned,
        ["unicast default", "unreachable 10.1.0.0/16"],
        "nothing of the leak is in the kernel"
    );
    let all = common::kernel_routes(&lab, host, &["table", "all"]).unwrap();
    let leak_in_kernel: Vec<_> = all
        .iter()
        .filter(|r| r["dst"].as_str().is_some_and(|d| d.starts_with("172.")))
        .collect();
    assert!(leak_in_kernel.is_empty(), "{leak_in_kernel:?}");
}

#[test]
fn a_wrong_peer_as_is_reported_by_its_notification_name() {
    let mut lab = up_routers("two-hosts", "pa");
    // host1 expects AS 65099 of the leaf: it refuses the leaf's OPEN.
    common::edit_host_config(&lab, "host1", "remote_as = 65000\n", "remote_as = 65099\n");
    // The leaf expects AS 65098 of host2: it refuses host2's OPEN.
    vtysh_config(
        &lab,
        LEAF,
        &[
            format!("router bgp {LEAF_AS}"),
            "neighbor 192.168.11.3 remote-as 65098".to_owned(),
        ],
    );
    start_hosts(&mut lab);

    for (host, leaf, direction) in [
        ("host1", "192.168.11.0", "sent"),
        ("host2", "192.168.11.2", "received"),
    ] {
        let wanted = format!("{direction} OPEN Message Error/Bad Peer AS (2/2)");
        let n = eventually(&lab, SESSION_UP, &format!("{host}: {wanted}"), || {
            let n = neighbor(&lab, host, leaf)?;
            match &n.last_error {
                Some(e) if e.contains(&wanted) => Ok(n),
                _ => Err(format!("{n:?}")),
            }
        });
        assert_ne!(n.state, "Established", "{host}: {n:?}");

        let summary = show_text(&lab, host, &[]).unwrap();
        assert!(summary.contains(&wanted), "{host}: show:\n{summary}");
        let detail = show_text(&lab, host, &["neighbors", leaf]).unwrap();
        let line = format!("Last NOTIFICATION {direction}: ");
        let recorded = detail
            .lines()
            .find_map(|l| l.trim().strip_prefix(line.as_str()))
            .unwrap_or_else(|| panic!("{host}: no `{line}` line:\n{detail}"));
        assert!(
            recorded.ends_with("OPEN Message Error/Bad Peer AS (2/2)"),
            "{host}: {recorded}"
        );
    }
}

#[test]
fn a_leaf_shutdown_is_reported_with_its_message() {
    let lab = up("two-hosts", "ps");
    let (host, leaf) = ("host1", "192.168.11.0");
    established(&lab, host, leaf);
    eventually(&lab, SESSION_UP, "host1 has the default route", || {
        default_route(&lab, host)?.ok_or("none yet".to_owned())
    });

    vtysh_config(
        &lab,
        LEAF,
        &[
            format!("router bgp {LEAF_AS}"),
            format!("neighbor {} shutdown message maintenance", "192.168.11.1"),
        ],
    );

    let wanted = "received Cease/Administrative Shutdown (6/2)";
    let n = eventually(&lab, SESSION_UP, "host1 reports the shutdown", || {
        let n = neighbor(&lab, host, leaf)?;
        match &n.last_error {
            Some(e) if e.contains(wanted) => Ok(n),
            _ => Err(format!("{n:?}")),
        }
    });
    assert_ne!(n.state, "Established", "{n:?}");
    let error = n.last_error.unwrap_or_default();
    assert!(
        error.contains("maintenance"),
        "RFC 9003 text missing: {error}"
    );

    let summary = show_text(&lab, host, &[]).unwrap();
    assert!(
        summary.contains(wanted) && summary.contains("maintenance"),
        "show:\n{summary}"
    );
    let detail = show_text(&lab, host, &["neighbors", leaf]).unwrap();
    assert!(
        detail.lines().any(|l| {
            l.contains("Last NOTIFICATION received:")
                && l.contains("Cease/Administrative Shutdown (6/2)")
                && l.contains("\"maintenance\"")
        }),
        "show neighbors:\n{detail}"
    );

    eventually(
        &lab,
        Duration::from_secs(10),
        "host1's default route removed",
        || match default_route(&lab, host)? {
            None => Ok(()),
            Some(r) => Err(format!("{r}")),
        },
    );
    let accepted = routes(&lab, host).unwrap();
    assert!(accepted.is_empty(), "{accepted:?}");
}
