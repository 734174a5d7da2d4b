//! A leaf that fails under a running romana-bgp, in the two-hosts lab:
//! its bgpd crashes and comes back, or it goes silent. Needs root, FRR and
//! nftables.

mod common;

use std::fs;
use std::path::Path;
use std::time::{Duration, Instant};

use common::{
    LEARNED_PROTO, SESSION_UP, default_route, established, eventually, frr_routes, gateways,
    neighbor, up,
};
use romana_lab::{Lab, wait_until};

const HOST: &str = "host1";
const LEAF: &str = "leaf1";
const LEAF_ADDRESS: &str = "192.168.11.0";
const BLOCK: &str = "10.1.0.0/16";
/// What both sides configure (lab/two-hosts).
const HOLD_TIME: Duration = Duration::from_secs(9);

fn pid_in(file: &Path) -> u32 {
    let text = fs::read_to_string(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    text.trim()
        .parse()
        .unwrap_or_else(|e| panic!("{}: {e}: {text:?}", file.display()))
}

fn alive(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

/// The host's default route via the leaf, installed by romana-bgp.
fn has_default_via_leaf(lab: &Lab) -> Result<(), String> {
    match default_route(lab, HOST)? {
        Some(r) if r["protocol"] == LEARNED_PROTO && gateways(&r) == [LEAF_ADDRESS] => Ok(()),
        other => Err(format!("default route {other:?}")),
    }
}

/// The leaf's table has the host's block, from the host.
fn leaf_has_block(lab: &Lab) -> Result<(), String> {
    let table = frr_routes(lab, LEAF)?;
    match table.get(BLOCK).map(Vec::as_slice) {
        Some([path]) if path.peer == "192.168.11.1" => Ok(()),
        other => Err(format!("{BLOCK}: {other:?} in {table:?}")),
    }
}

fn session_and_routes_up(lab: &Lab) {
    established(lab, HOST, LEAF_ADDRESS);
    eventually(lab, SESSION_UP, "host1: default route", || {
        has_default_via_leaf(lab)
    });
    eventually(lab, SESSION_UP, "leaf1: host1's block", || {
        leaf_has_block(lab)
    });
}

/// Starts the leaf's bgpd as the lab runner does (lab/src/frr.rs) and has
/// vtysh apply the bgpd part of the node's frr.conf again, as FRR's own
/// watchfrr does after restarting a daemon.
fn start_bgpd(lab: &Lab) {
    let dir = lab.node_dir(LEAF);
    let file = |name: &str| dir.join(name).to_str().expect("UTF-8 path").to_owned();
    let log = format!("file:{}", file("bgpd.log"));
    let dir_text = dir.to_str().expect("UTF-8 path");
    lab.run(
        LEAF,
        &[
            "/usr/lib/frr/bgpd",
            "-d",
            "-P",
            "0",
            "-i",
            &file("bgpd.pid"),
            "-z",
            &file("zserv.api"),
            "--vty_socket",
            dir_text,
            "--log",
            &log,
        ],
    )
    .unwrap_or_else(|e| panic!("bgpd does not start again: {e}"));
    lab.run(LEAF, &["vtysh", "-b", "-d", "bgpd"])
        .unwrap_or_else(|e| panic!("bgpd's config is not applied again: {e}"));
}

#[test]
fn a_restarted_leaf_bgpd_brings_the_session_and_routes_back() {
    let lab = up("two-hosts", "fr");
    session_and_routes_up(&lab);
    let daemon = pid_in(&lab.node_dir(HOST).join("romana-bgp.pid"));

    // A crash: no NOTIFICATION, the kernel closes the connection.
    let bgpd = pid_in(&lab.node_dir(LEAF).join("bgpd.pid"));
    lab.run(LEAF, &["kill", "-KILL", &bgpd.to_string()])
        .unwrap_or_else(|e| panic!("cannot kill bgpd {bgpd}: {e}"));
    assert!(
        wait_until(Duration::from_secs(10), || !alive(bgpd)),
        "bgpd {bgpd} still alive"
    );

    eventually(
        &lab,
        SESSION_UP,
        "host1 notices the session is gone",
        || {
            let n = neighbor(&lab, HOST, LEAF_ADDRESS)?;
            if n.state != "Established" {
                Ok(())
            } else {
                Err(format!("{n:?}"))
            }
        },
    );
    eventually(
        &lab,
        Duration::from_secs(10),
        "host1's default route removed",
        || match default_route(&lab, HOST)? {
            None => Ok(()),
            Some(r) => Err(format!("{r}")),
        },
    );

    start_bgpd(&lab);
    // The daemon's back-off after the failed connects to a dead leaf may
    // have grown; the leaf's own connect retry (5 s) is the other way in.
    session_and_routes_up(&lab);
    let detail = common::show_text(&lab, HOST, &["neighbors", LEAF_ADDRESS]).unwrap();
    assert!(
        detail.contains("Connections established 2"),
        "one session before, one after:\n{detail}"
    );
    assert!(
        alive(daemon) && pid_in(&lab.node_dir(HOST).join("romana-bgp.pid")) == daemon,
        "romana-bgp {daemon} was restarted"
    );
}

#[test]
fn a_silent_leaf_is_noticed_within_the_hold_time() {
    let lab = up("two-hosts", "fs");
    session_and_routes_up(&lab);

    // Drop everything on the leaf's link to host1, both ways, at the leaf:
    // the link stays up and nothing is closed, the leaf just goes quiet.
    let nft = |args: &[&str]| {
        let mut argv = vec!["nft"];
        argv.extend_from_slice(args);
        lab.run(LEAF, &argv)
            .unwrap_or_else(|e| panic!("{argv:?}: {e}"));
    };
    nft(&["add", "table", "inet", "silence"]);
    nft(&[
        "add",
        "chain",
        "inet",
        "silence",
        "in",
        "{ type filter hook input priority -300; policy accept; }",
    ]);
    nft(&[
        "add",
        "chain",
        "inet",
        "silence",
        "out",
        "{ type filter hook output priority -300; policy accept; }",
    ]);
    let silenced = Instant::now();
    nft(&[
        "add", "rule", "inet", "silence", "in", "iifname", "eth1", "drop",
    ]);
    nft(&[
        "add", "rule", "inet", "silence", "out", "oifname", "eth1", "drop",
    ]);

    // RFC 4271 §6.5: the Hold Timer restarts at each KEEPALIVE, so the
    // session ends between hold - keepalive and hold after the silence.
    // The margin is for polling and a loaded machine.
    let limit = HOLD_TIME + Duration::from_secs(2);
    let down = eventually(&lab, limit, "host1 notices the silence", || {
        let n = neighbor(&lab, HOST, LEAF_ADDRESS)?;
        if n.state != "Established" {
            Ok(n)
        } else {
            Err(format!("{n:?}"))
        }
    });
    let noticed = silenced.elapsed();
    assert!(noticed <= limit, "noticed after {noticed:?}");
    let error = down.last_error.unwrap_or_default();
    assert!(
        error.contains("Hold Timer Expired"),
        "the hold timer ended it, after {noticed:?}: {error}"
    );

    eventually(
        &lab,
        Duration::from_secs(5),
        "host1's default route removed",
        || match default_route(&lab, HOST)? {
            None => Ok(()),
            Some(r) => Err(format!("{r}")),
        },
    );
    // host2's link is not silenced: its session and route stay.
    let n = neighbor(&lab, "host2", "192.168.11.2").unwrap();
    assert_eq!(n.state, "Established", "host2: {n:?}");
    assert!(
        default_route(&lab, "host2").unwrap().is_some(),
        "host2 lost its default route"
    );
}
