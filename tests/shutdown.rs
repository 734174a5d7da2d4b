//! A clean stop of romana-bgp in the two-hosts lab: SIGTERM closes the
//! session with Cease/Administrative Shutdown and its RFC 9003 text, the
//! leaf drops the host's block, and the routes learned over BGP leave the
//! host's kernel while the host's own (its block, its gateway) stay for the
//! next start. Needs root and FRR.

mod common;

use common::{SESSION_UP, default_route, established, eventually, frr_routes, owned_routes, up};

const HOST: &str = "host1";
const LEAF: &str = "leaf1";
const LEAF_ADDRESS: &str = "192.168.11.0";
const HOST_ADDRESS: &str = "192.168.11.1";
const BLOCK: &str = "10.1.0.0/16";

#[test]
fn sigterm_sends_a_cease_with_its_text_and_removes_learned_routes() {
    let mut lab = up("two-hosts", "sd");
    established(&lab, HOST, LEAF_ADDRESS);
    eventually(
        &lab,
        SESSION_UP,
        "host1: default route",
        || match default_route(&lab, HOST)? {
            Some(_) => Ok(()),
            None => Err("no default route".into()),
        },
    );

    lab.stop_romana_bgp(HOST).expect("romana-bgp stops");

    let neighbor = eventually(&lab, SESSION_UP, "leaf1: the Cease from host1", || {
        let v = common::vtysh_json(
            &lab,
            LEAF,
            &format!("show bgp neighbors {HOST_ADDRESS} json"),
        )?;
        let n = &v[HOST_ADDRESS];
        let reset = n["lastResetDueTo"].as_str().unwrap_or_default().to_string();
        let note = n["lastNotificationReason"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let text = n["lastShutdownDescription"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        if reset.contains("Notification received") {
            Ok((reset, note, text))
        } else {
            Err(format!("{n}"))
        }
    });
    let (reset, note, text) = neighbor;
    assert!(
        note.contains("Cease/Administrative Shutdown") || reset.contains("Administrative Shutdown"),
        "reset: {reset}; notification: {note}"
    );
    assert_eq!(
        text, "romana-bgp stopping",
        "reset: {reset}; notification: {note}"
    );

    eventually(
        &lab,
        SESSION_UP,
        "leaf1: host1's block withdrawn",
        || match frr_routes(&lab, LEAF)?.get(BLOCK) {
            None => Ok(()),
            Some(paths) => Err(format!("{BLOCK} still there: {paths:?}")),
        },
    );
    let left = owned_routes(&lab, HOST).expect("host1's routes");
    assert!(
        !left.iter().any(|r| r.ends_with(" default")),
        "the learned default route outlived the daemon: {left:?}"
    );
    assert!(
        left.iter().any(|r| r.contains(BLOCK)),
        "the host's own block route was removed: {left:?}"
    );
}
