//! romana-bgp peers with a real leaf: the two-hosts lab (one FRR leaf, two
//! hosts), run by the netns lab runner. Needs root and FRR.
//!
//! The leaf must learn exactly one route per host, the host's block of the
//! plan, and each host must learn the leaf's default route into its kernel
//! and report the session with the SPEC §3 fields.

mod common;

use common::{
    LEARNED_PROTO, SESSION_UP, default_route, edit_host_config, established, eventually,
    frr_routes, gateways, neighbor, owned_routes, routes, show_text, start_hosts, up, up_routers,
};
use romana_lab::Lab;

/// Each host of the lab: name, leaf address, own address, AS, block.
const HOSTS: [(&str, &str, &str, u32, &str); 2] = [
    (
        "host1",
        "192.168.11.0",
        "192.168.11.1",
        65001,
        "10.1.0.0/16",
    ),
    (
        "host2",
        "192.168.11.2",
        "192.168.11.3",
        65002,
        "10.2.0.0/16",
    ),
];
const LEAF: &str = "leaf1";
const LEAF_AS: u32 = 65000;

/// The leaf's table holds exactly the host blocks, one path each, from the
/// host that owns it, with the host's AS as the whole path.
fn leaf_holds_one_route_per_host(lab: &Lab, hosts: &[(&str, &str, &str, u32, &str)]) {
    eventually(lab, SESSION_UP, "leaf1 holds one route per host", || {
        let table = frr_routes(lab, LEAF)?;
        let prefixes: Vec<&String> = table.keys().collect();
        let wanted: Vec<&str> = hosts.iter().map(|h| h.4).collect();
        if prefixes != wanted {
            return Err(format!(
                "prefixes {prefixes:?}, wanted {wanted:?}: {table:?}"
            ));
        }
        for (_, _, address, asn, block) in hosts {
            let paths = &table[*block];
            let [path] = paths.as_slice() else {
                return Err(format!("{block} has {} paths: {paths:?}", paths.len()));
            };
            if path.peer != *address
                || path.as_path != asn.to_string()
                || path.next_hops != [address.to_string()]
            {
                return Err(format!("{block}: {path:?}"));
            }
        }
        Ok(())
    });
}

#[test]
fn hosts_announce_their_block_and_install_the_leafs_default_route() {
    let lab = up("two-hosts", "th");
    leaf_holds_one_route_per_host(&lab, &HOSTS);

    for (host, leaf, _, asn, block) in HOSTS {
        established(&lab, host, leaf);

        let route =
            eventually(
                &lab,
                SESSION_UP,
                &format!("{host}: default route"),
                || match default_route(&lab, host)? {
                    Some(r) if r["protocol"] == LEARNED_PROTO && gateways(&r) == [leaf] => Ok(r),
                    other => Err(format!("{other:?}")),
                },
            );
        assert!(
            route.get("nexthops").is_none(),
            "{host}: one leaf, one next hop: {route}"
        );
        // Exactly the default route and the block's unreachable route are
        // the daemon's, nothing else.
        let owned = owned_routes(&lab, host).unwrap();
        assert_eq!(
            owned,
            ["unicast default".to_owned(), format!("unreachable {block}")],
            "{host}"
        );

        // The counters settle once the leaf's UPDATE and End-of-RIB are in.
        let n = eventually(&lab, SESSION_UP, &format!("{host}: counters"), || {
            let n = neighbor(&lab, host, leaf)?;
            let settled = n.state == "Established"
                && n.prefixes_received == 1
                && n.prefixes_accepted == 1
                && n.prefixes_advertised == 1;
            if settled {
                Ok(n)
            } else {
                Err(format!("{n:?}"))
            }
        });
        assert_eq!(n.remote_as, LEAF_AS, "{host}: {n:?}");
        assert_eq!(n.local_as, asn, "{host}: {n:?}");
        assert!(
            n.messages_received > 0 && n.messages_sent > 0,
            "{host}: {n:?}"
        );
        assert_eq!(
            n.last_error, None,
            "{host}: a clean start has no error: {n:?}"
        );

        let accepted = routes(&lab, host).unwrap();
        assert_eq!(accepted.len(), 1, "{host}: {accepted:?}");
        let default = &accepted[0];
        assert_eq!(default.prefix, "0.0.0.0/0", "{host}: {default:?}");
        assert_eq!(default.neighbor, leaf, "{host}: {default:?}");
        assert_eq!(default.next_hop, leaf, "{host}: {default:?}");
        assert_eq!(default.as_path, [LEAF_AS], "{host}: {default:?}");
        assert!(default.installed, "{host}: {default:?}");
    }
}

#[test]
fn show_neighbors_reports_the_negotiated_session() {
    let lab = up("two-hosts", "tn");
    let (host, leaf, ..) = HOSTS[0];
    established(&lab, host, leaf);
    let text = eventually(&lab, SESSION_UP, "show neighbors after negotiation", || {
        let text = show_text(&lab, host, &["neighbors", leaf])?;
        if text.contains("Hold time 9 s") {
            Ok(text)
        } else {
            Err(text)
        }
    });
    for wanted in [
        "BGP neighbor is 192.168.11.0, remote AS 65000, local AS 65001",
        "BGP state = Established",
        // FRR's router id, learned from its OPEN.
        "Neighbor router ID 192.168.0.11",
        // Both sides configured 9 s; keepalives every third of it.
        "Hold time 9 s, keepalive 3 s (configured hold time 9 s)",
        "Connections established 1",
    ] {
        assert!(text.contains(wanted), "`{wanted}` missing:\n{text}");
    }
    let capabilities = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("Capabilities: "))
        .unwrap_or_else(|| panic!("no capabilities line:\n{text}"));
    let capabilities: Vec<&str> = capabilities.split(", ").collect();
    // What FRR 8.4 and romana-bgp both offer.
    for wanted in ["ipv4-unicast", "4-octet-as", "route-refresh"] {
        assert!(
            capabilities.contains(&wanted),
            "{wanted} not negotiated: {capabilities:?}"
        );
    }
}

/// A passive host never connects: its session runs on the connection the
/// leaf opened, and the host must announce its block on it all the same.
#[test]
fn a_passive_host_announces_its_block_on_the_leafs_connection() {
    let mut lab = up_routers("two-hosts", "tp");
    for (host, ..) in HOSTS {
        edit_host_config(
            &lab,
            host,
            "remote_as = 65000\n",
            "remote_as = 65000\npassive = true\n",
        );
    }
    start_hosts(&mut lab);
    for (host, leaf, ..) in HOSTS {
        established(&lab, host, leaf);
    }
    leaf_holds_one_route_per_host(&lab, &HOSTS);
    for (host, leaf, ..) in HOSTS {
        let n = neighbor(&lab, host, leaf).unwrap();
        assert_eq!(n.prefixes_advertised, 1, "{host}: {n:?}");
    }
}
