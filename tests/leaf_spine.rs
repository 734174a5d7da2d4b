//! romana-bgp in the leaf-spine lab: two FRR spines, two FRR leaves, four
//! hosts each dual-homed to both leaves. Needs root and FRR.
//!
//! Every host's block must reach every other host through the fabric, and
//! every host must spread its traffic over both leaves (ECMP).

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use common::{LEARNED_PROTO, SESSION_UP, default_route, established, eventually, gateways, up};

/// Host N's gateway address, the first address of its block 10.N.0.0/16.
fn gateway(host: u8) -> String {
    format!("10.{host}.0.1")
}

/// Host N's two leaves: leaf1 on eth1, leaf2 on eth2.
fn leaves(host: u8) -> [String; 2] {
    let low = 2 * host - 2;
    [format!("192.168.11.{low}"), format!("192.168.12.{low}")]
}

const HOSTS: [u8; 4] = [1, 2, 3, 4];

#[test]
fn every_host_reaches_every_other_over_both_leaves() {
    let lab = up("leaf-spine", "ls");

    for h in HOSTS {
        let host = format!("host{h}");
        for leaf in leaves(h) {
            established(&lab, &host, &leaf);
        }
        let wanted: BTreeSet<String> = leaves(h).into_iter().collect();
        let route = eventually(
            &lab,
            SESSION_UP,
            &format!("{host}: default route over both leaves"),
            || match default_route(&lab, &host)? {
                Some(r) if r["protocol"] == LEARNED_PROTO && r["nexthops"].is_array() => {
                    let found: BTreeSet<String> = gateways(&r).into_iter().collect();
                    if found == wanted {
                        Ok(r)
                    } else {
                        Err(format!("{r}"))
                    }
                }
                other => Err(format!("{other:?}")),
            },
        );
        let hops = route["nexthops"].as_array().map_or(0, Vec::len);
        assert_eq!(hops, 2, "{host}: {route}");
    }

    // Each pair, from gateway address to gateway address: the packet goes
    // host, leaf, (spine, leaf,) host and back, so it proves both blocks
    // are in the fabric and both default routes work. Pairs that answered
    // are not asked again.
    let mut pending: Vec<(u8, u8)> = HOSTS
        .iter()
        .flat_map(|&a| HOSTS.iter().filter(move |&&b| b != a).map(move |&b| (a, b)))
        .collect();
    eventually(
        &lab,
        Duration::from_secs(60),
        "every gateway answers every other",
        || {
            pending.retain(|&(a, b)| {
                let (from, to) = (gateway(a), gateway(b));
                let ping = lab.exec(
                    &format!("host{a}"),
                    &["ping", "-c1", "-W2", "-I", &from, &to],
                );
                !ping.is_ok_and(|o| o.status.success())
            });
            if pending.is_empty() {
                Ok(())
            } else {
                Err(format!("no answer for (from host, to host) {pending:?}"))
            }
        },
    );
}
