//! Learned routes in the host's kernel, in the two-hosts lab: they carry
//! their own tag (202), one deleted by hand comes back at the daemon's
//! check of the learned routes, and what a killed daemon left of both its
//! tags is cleaned at the next start while others' routes stay. Needs root
//! and FRR.

mod common;

use std::path::Path;
use std::time::Duration;

use common::{BIN, LEARNED_PROTO, SESSION_UP, default_route, established, eventually, up};
use romana_lab::Lab;

const HOST: &str = "host1";
const LEAF_ADDRESS: &str = "192.168.11.0";

/// The learned routes are compared with the RIB after ten quiet seconds,
/// then every few seconds while they are few.
const CHECKED: Duration = Duration::from_secs(45);

fn learned_default(lab: &Lab) -> Result<(), String> {
    match default_route(lab, HOST)? {
        Some(r) if r["protocol"] == LEARNED_PROTO => Ok(()),
        other => Err(format!("{other:?}")),
    }
}

fn ip(lab: &Lab, args: &str) -> String {
    let args: Vec<&str> = args.split_whitespace().collect();
    lab.run(HOST, &args)
        .unwrap_or_else(|e| panic!("{HOST}: {args:?}: {e}"))
}

#[test]
fn learned_routes_are_repaired_and_leftovers_of_both_tags_cleaned() {
    let mut lab = up("two-hosts", "lr");
    established(&lab, HOST, LEAF_ADDRESS);
    eventually(&lab, SESSION_UP, "host1: learned default route", || {
        learned_default(&lab)
    });

    // Someone deletes it: the daemon puts it back.
    ip(&lab, "ip route del default proto 202");
    assert!(default_route(&lab, HOST).unwrap().is_none());
    eventually(&lab, CHECKED, "host1: default route back", || {
        learned_default(&lab)
    });

    // Killed, so nothing is cleaned at stop; meanwhile routes appear with
    // both of the daemon's tags, and one of someone else's.
    lab.kill_romana_bgp(HOST).expect("romana-bgp killed");
    ip(&lab, "ip route add 10.88.0.0/16 via 192.168.11.0 proto 202");
    ip(&lab, "ip route add 10.1.0.77/32 dev lo proto 201");
    ip(
        &lab,
        "ip route add 10.99.0.0/16 via 192.168.11.0 proto static",
    );
    lab.start_romana_bgp(HOST, Path::new(BIN))
        .expect("romana-bgp starts again");
    eventually(&lab, SESSION_UP, "host1: leftovers gone", || {
        let learned = ip(&lab, "ip route show 10.88.0.0/16");
        let host = ip(&lab, "ip route show 10.1.0.77/32");
        if learned.is_empty() && host.is_empty() {
            Ok(())
        } else {
            Err(format!("left: {learned} {host}"))
        }
    });
    assert!(ip(&lab, "ip route show 10.99.0.0/16").contains("proto static"));
    eventually(&lab, SESSION_UP, "host1: default route again", || {
        learned_default(&lab)
    });
}
