//! The leaf-spine lab's fabric: FRR to FRR sessions, ECMP over both spines
//! in a leaf's kernel, pings across the fabric, and host configs that match
//! the leaves.

mod common;

use common::{CONVERGE, check_hosts_match_routers, ping, wait_router_sessions};
use romana_lab::{Lab, Options, wait_for};
use serde_json::Value;

/// The next hops of the kernel's route to `dst` in the node.
fn kernel_nexthops(lab: &Lab, node: &str, dst: &str) -> Result<Vec<String>, String> {
    let text = lab
        .run(node, &["ip", "-j", "route", "show", dst])
        .map_err(|e| e.to_string())?;
    let routes: Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
    let route = routes
        .get(0)
        .ok_or_else(|| format!("{node}: no route to {dst}"))?;
    let hops = match route["nexthops"].as_array() {
        Some(hops) => hops.iter().map(|h| h["gateway"].to_string()).collect(),
        None => vec![route["gateway"].to_string()],
    };
    Ok(hops)
}

#[test]
fn the_fabric_converges_with_ecmp_over_both_spines() {
    let prefix = common::unique_prefix("ls");
    let lab = Lab::up(
        common::topology("leaf-spine.clab.yml"),
        &prefix,
        &Options::without_romana_bgp(),
    )
    .unwrap();
    wait_router_sessions(&lab);

    // Each leaf reaches the other's loopback over both spines.
    for (leaf, other) in [("leaf1", "192.168.0.12/32"), ("leaf2", "192.168.0.11/32")] {
        let hops = wait_for(CONVERGE, || {
            let hops = kernel_nexthops(&lab, leaf, other)?;
            if hops.len() == 2 {
                Ok(hops)
            } else {
                Err(format!("{leaf}: {other} via {hops:?}, want both spines"))
            }
        })
        .unwrap();
        assert_eq!(hops.len(), 2);
    }
    ping(&lab, "leaf1", &["-I", "192.168.0.11", "192.168.0.12"]).unwrap();
    ping(&lab, "spine1", &["-I", "192.168.0.1", "192.168.0.12"]).unwrap();
    // The spines share an AS (RFC 7938 section 5.2.1), so no path runs
    // spine-leaf-spine: spine1 has no route to spine2's loopback.
    let spine2 = lab.run("spine1", &["ip", "route", "show", "192.168.0.2/32"]);
    assert_eq!(spine2.unwrap(), "");

    check_hosts_match_routers(&lab);
    lab.down().unwrap();
}
