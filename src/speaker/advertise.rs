//! What a host tells a leaf: its aggregates with next hop self, and nothing
//! else, ever (a host is never transit).

use std::net::IpAddr;

use bgp::Family;
use bgp::fsm::{Negotiated, PeerConfig};
use bgp::wire::announce::{Announcer, end_of_rib};
use bgp::wire::attribute::Ipv6NextHop;
use bgp::wire::route_refresh::{RefreshSubtype, RouteRefresh};
use bgp::wire::{Message, Update};
use ipnet::IpNet;

pub struct Advertisement {
    pub messages: Vec<Message>,
    /// Prefixes announced.
    pub advertised: u64,
    /// Aggregates this session cannot carry: no next hop of their family.
    pub skipped: Vec<IpNet>,
}

/// The messages that announce `aggregates` on a session, for every
/// negotiated family or just `refresh` when answering a route refresh.
pub fn plan(
    aggregates: &[IpNet],
    n: &Negotiated,
    config: &PeerConfig,
    local: IpAddr,
    refresh: Option<Family>,
) -> Advertisement {
    let announcer = Announcer::new(config.local_asn, n.decode_context());
    let mut out = Advertisement {
        messages: Vec::new(),
        advertised: 0,
        skipped: Vec::new(),
    };
    let families: Vec<Family> = match refresh {
        Some(f) => vec![f],
        None => n.families.clone(),
    };
    for family in families {
        let wanted: Vec<IpNet> = aggregates
            .iter()
            .copied()
            .filter(|p| family_of(p) == family)
            .collect();
        // RFC 7313 §4: a refresh answered with enhanced route refresh is
        // framed by Beginning and End of Route Refresh.
        let enhanced = refresh.is_some() && n.enhanced_route_refresh;
        if enhanced {
            out.messages
                .push(refresh_marker(family, RefreshSubtype::Begin));
        }
        let updates: Vec<Update> = match (family, local) {
            (Family::IPV4_UNICAST, IpAddr::V4(nh)) => {
                let v4: Vec<_> = wanted
                    .iter()
                    .filter_map(|p| match p {
                        IpNet::V4(p) => Some(*p),
                        IpNet::V6(_) => None,
                    })
                    .collect();
                out.advertised += v4.len() as u64;
                if v4.is_empty() {
                    Vec::new()
                } else {
                    announcer.announce_ipv4(&v4, nh)
                }
            }
            (Family::IPV6_UNICAST, IpAddr::V6(nh)) => {
                let v6: Vec<_> = wanted
                    .iter()
                    .filter_map(|p| match p {
                        IpNet::V6(p) => Some(*p),
                        IpNet::V4(_) => None,
                    })
                    .collect();
                out.advertised += v6.len() as u64;
                let next_hop = Ipv6NextHop {
                    global: nh,
                    link_local: None,
                };
                if v6.is_empty() {
                    Vec::new()
                } else {
                    announcer.announce_ipv6(&v6, next_hop)
                }
            }
            _ => {
                out.skipped.extend(wanted);
                Vec::new()
            }
        };
        out.messages
            .extend(updates.into_iter().map(Message::Update));
        if enhanced {
            out.messages
                .push(refresh_marker(family, RefreshSubtype::End));
        } else if refresh.is_none() {
            // RFC 4724 §2: End-of-RIB after the initial update of a family.
            out.messages.push(Message::Update(end_of_rib(family)));
        }
    }
    out
}

fn refresh_marker(family: Family, subtype: RefreshSubtype) -> Message {
    Message::RouteRefresh(RouteRefresh { family, subtype })
}

fn family_of(p: &IpNet) -> Family {
    match p {
        IpNet::V4(_) => Family::IPV4_UNICAST,
        IpNet::V6(_) => Family::IPV6_UNICAST,
    }
}

/// The negotiated capabilities by name, for `show neighbors`.
pub fn capability_names(n: &Negotiated) -> Vec<String> {
    let mut names: Vec<String> = n.families.iter().map(ToString::to_string).collect();
    let flags = [
        (n.four_octet_as, "4-octet-as"),
        (n.route_refresh, "route-refresh"),
        (n.enhanced_route_refresh, "enhanced-route-refresh"),
        (n.graceful_restart.is_some(), "graceful-restart"),
        (n.extended_next_hop_ipv4, "extended-next-hop"),
        (n.extended_message, "extended-message"),
    ];
    names.extend(
        flags
            .iter()
            .filter(|(on, _)| *on)
            .map(|(_, name)| name.to_string()),
    );
    names
}
