//! Route changes as rtnetlink messages, and dumped rtnetlink messages as
//! present routes. Pure translation, so both directions are tested without
//! a kernel.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::IpNet;
use rtnetlink::packet_core::{NLM_F_CREATE, NLM_F_EXCL, NLM_F_REPLACE};
use rtnetlink::packet_route::AddressFamily;
use rtnetlink::packet_route::RouteNetlinkMessage;
use rtnetlink::packet_route::route::{
    RouteAddress, RouteAttribute, RouteFlags, RouteHeader, RouteMessage, RouteNextHop,
    RouteProtocol, RouteScope, RouteType, RouteVia,
};

use super::plan::{PresentRoute, RouteChange, RouteKey};
use super::route::{IfIndex, NextHop, NextHops, Route, RouteTarget, kernel_metric};

/// The request for one change to a route tagged `protocol`, with its
/// `NLM_F_*` flags.
pub(super) fn change_request(change: &RouteChange, protocol: u8) -> (RouteNetlinkMessage, u16) {
    match change {
        RouteChange::Add(route) => (
            RouteNetlinkMessage::NewRoute(route_message(route, protocol)),
            NLM_F_CREATE | NLM_F_EXCL,
        ),
        RouteChange::Replace(route) => (
            RouteNetlinkMessage::NewRoute(route_message(route, protocol)),
            NLM_F_CREATE | NLM_F_REPLACE,
        ),
        RouteChange::Delete(key) => (
            RouteNetlinkMessage::DelRoute(delete_message(key, protocol)),
            0,
        ),
    }
}

/// The request for a dump of one family's routes of the main table, of one
/// protocol or all. The kernel applies the filter only on a socket with
/// `NETLINK_GET_STRICT_CHK` (Linux 4.20); elsewhere it sends everything and
/// the reader filters.
pub(super) fn dump_request(family: AddressFamily, protocol: Option<u8>) -> RouteNetlinkMessage {
    let mut message = RouteMessage::default();
    message.header.address_family = family;
    if let Some(protocol) = protocol {
        message.header.table = RouteHeader::RT_TABLE_MAIN;
        message.header.protocol = RouteProtocol::from(protocol);
    }
    RouteNetlinkMessage::GetRoute(message)
}

fn header(prefix: IpNet, protocol: u8) -> RouteHeader {
    RouteHeader {
        address_family: match prefix {
            IpNet::V4(_) => AddressFamily::Inet,
            IpNet::V6(_) => AddressFamily::Inet6,
        },
        destination_prefix_length: prefix.prefix_len(),
        table: RouteHeader::RT_TABLE_MAIN,
        protocol: RouteProtocol::from(protocol),
        ..RouteHeader::default()
    }
}

fn route_message(route: &Route, protocol: u8) -> RouteMessage {
    let prefix = route.prefix();
    let mut message = RouteMessage::default();
    message.header = header(prefix, protocol);
    message.header.scope = RouteScope::Universe;
    message.header.kind = RouteType::Unicast;
    message
        .attributes
        .push(RouteAttribute::Destination(prefix.network().into()));
    push_metric(&mut message, kernel_metric(prefix));
    match route.target() {
        RouteTarget::Unreachable => message.header.kind = RouteType::Unreachable,
        RouteTarget::Interface(ifindex) => {
            message.header.scope = RouteScope::Link;
            message.attributes.push(RouteAttribute::Oif(ifindex.get()));
        }
        RouteTarget::Gateways(hops) => match hops.as_slice() {
            [hop] => {
                message
                    .attributes
                    .push(gateway_attribute(prefix, hop.gateway));
                if let Some(ifindex) = hop.ifindex {
                    message.attributes.push(RouteAttribute::Oif(ifindex.get()));
                }
            }
            many => {
                let hops = many
                    .iter()
                    .map(|hop| {
                        let mut nh = RouteNextHop::default();
                        nh.interface_index = hop.ifindex.map_or(0, IfIndex::get);
                        nh.attributes.push(gateway_attribute(prefix, hop.gateway));
                        nh
                    })
                    .collect();
                message.attributes.push(RouteAttribute::MultiPath(hops));
            }
        },
    }
    message
}

fn gateway_attribute(prefix: IpNet, gateway: IpAddr) -> RouteAttribute {
    match (prefix, gateway) {
        // RFC 8950: an IPv4 route via an IPv6 next hop is an RTA_VIA.
        (IpNet::V4(_), IpAddr::V6(v6)) => RouteAttribute::Via(RouteVia::Inet6(v6)),
        _ => RouteAttribute::Gateway(gateway.into()),
    }
}

fn delete_message(key: &RouteKey, protocol: u8) -> RouteMessage {
    let mut message = RouteMessage::default();
    message.header = header(key.prefix, protocol);
    // Any scope and any type: the key and the protocol tag select the route.
    message.header.scope = RouteScope::NoWhere;
    message.header.kind = RouteType::Unspec;
    message
        .attributes
        .push(RouteAttribute::Destination(key.prefix.network().into()));
    push_metric(&mut message, key.metric);
    message
}

/// Metric 0 is the absence of the attribute (and, in a delete, "any").
fn push_metric(message: &mut RouteMessage, metric: u32) {
    if metric != 0 {
        message.attributes.push(RouteAttribute::Priority(metric));
    }
}

/// A dumped route of the main table; `None` for other tables, cached
/// clones, and families other than IPv4 and IPv6.
pub(super) fn present_route(message: &RouteMessage) -> Option<PresentRoute> {
    let header = &message.header;
    if header.flags.contains(RouteFlags::Cloned) {
        return None;
    }
    let mut table = u32::from(header.table);
    let mut destination = None;
    let mut metric = 0;
    let mut gateway = None;
    let mut oif = None;
    let mut multipath = None;
    for attribute in &message.attributes {
        match attribute {
            RouteAttribute::Table(t) => table = *t,
            RouteAttribute::Destination(a) => destination = ip(a),
            RouteAttribute::Priority(m) => metric = *m,
            RouteAttribute::Gateway(a) => gateway = ip(a),
            RouteAttribute::Via(RouteVia::Inet6(v6)) => gateway = Some(IpAddr::V6(*v6)),
            RouteAttribute::Oif(i) => oif = IfIndex::new(*i),
            RouteAttribute::MultiPath(hops) => multipath = Some(hops),
            _ => {}
        }
    }
    if table != u32::from(RouteHeader::RT_TABLE_MAIN) {
        return None;
    }
    let unspecified = match header.address_family {
        AddressFamily::Inet => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        AddressFamily::Inet6 => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
        _ => return None,
    };
    let prefix = IpNet::new(
        destination.unwrap_or(unspecified),
        header.destination_prefix_length,
    )
    .ok()?;
    let target = match (header.kind, multipath, gateway, oif) {
        (RouteType::Unreachable, ..) => Some(RouteTarget::Unreachable),
        (RouteType::Unicast, Some(hops), ..) => multipath_target(hops),
        (RouteType::Unicast, None, Some(gateway), ifindex) => {
            NextHops::from_unsorted(vec![NextHop { gateway, ifindex }]).map(RouteTarget::Gateways)
        }
        (RouteType::Unicast, None, None, Some(ifindex)) => Some(RouteTarget::Interface(ifindex)),
        _ => None,
    };
    Some(PresentRoute {
        key: RouteKey { prefix, metric },
        protocol: u8::from(header.protocol),
        target,
    })
}

/// `None` if any next hop has no gateway: the daemon never installs that.
fn multipath_target(hops: &[RouteNextHop]) -> Option<RouteTarget> {
    let next_hops = hops
        .iter()
        .map(|hop| {
            let gateway = hop.attributes.iter().find_map(|a| match a {
                RouteAttribute::Gateway(g) => ip(g),
                RouteAttribute::Via(RouteVia::Inet6(v6)) => Some(IpAddr::V6(*v6)),
                _ => None,
            })?;
            Some(NextHop {
                gateway,
                ifindex: IfIndex::new(hop.interface_index),
            })
        })
        .collect::<Option<Vec<_>>>()?;
    NextHops::from_unsorted(next_hops).map(RouteTarget::Gateways)
}

fn ip(address: &RouteAddress) -> Option<IpAddr> {
    match address {
        RouteAddress::Inet(v4) => Some(IpAddr::V4(*v4)),
        RouteAddress::Inet6(v6) => Some(IpAddr::V6(*v6)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::{RTPROT_ROMANA, RTPROT_ROMANA_LEARNED};

    fn net(s: &str) -> IpNet {
        s.parse().expect("test prefix")
    }

    fn hop(g: &str, ifindex: Option<u32>) -> NextHop {
        NextHop {
            gateway: g.parse().expect("test address"),
            ifindex: ifindex.and_then(IfIndex::new),
        }
    }

    /// What the kernel would dump after accepting `route`.
    fn as_dumped(route: &Route) -> RouteMessage {
        match change_request(&RouteChange::Add(route.clone()), RTPROT_ROMANA).0 {
            RouteNetlinkMessage::NewRoute(m) => m,
            other => panic!("unexpected request {other:?}"),
        }
    }

    fn round_trip(route: Route) {
        let present = present_route(&as_dumped(&route)).expect("main table route");
        assert_eq!(present.key, RouteKey::owned(route.prefix()));
        assert_eq!(present.protocol, RTPROT_ROMANA);
        assert_eq!(present.target.as_ref(), Some(route.target()), "{route}");
    }

    #[test]
    fn every_route_shape_survives_a_round_trip() {
        round_trip(Route::via(net("10.0.0.0/8"), vec![hop("192.0.2.1", None)]).expect("valid"));
        round_trip(
            Route::via(
                net("0.0.0.0/0"),
                vec![hop("192.0.2.1", Some(3)), hop("198.51.100.1", Some(4))],
            )
            .expect("valid"),
        );
        round_trip(
            Route::via(
                net("2001:db8::/32"),
                vec![hop("fe80::1", Some(3)), hop("fe80::2", Some(4))],
            )
            .expect("valid"),
        );
        round_trip(
            Route::via(net("10.0.0.0/8"), vec![hop("2001:db8::1", Some(3))]).expect("valid"),
        );
        round_trip(Route::unreachable(net("10.1.0.0/16")).expect("valid"));
        round_trip(Route::unreachable(net("2001:db8:1::/48")).expect("valid"));
        round_trip(
            Route::interface(net("10.1.0.5/32"), IfIndex::new(9).expect("nonzero")).expect("valid"),
        );
    }

    #[test]
    fn add_is_exclusive_and_replace_replaces() {
        let r = Route::unreachable(net("10.1.0.0/16")).expect("valid");
        let (_, add) = change_request(&RouteChange::Add(r.clone()), RTPROT_ROMANA);
        assert_eq!(add & NLM_F_EXCL, NLM_F_EXCL);
        assert_eq!(add & NLM_F_REPLACE, 0);
        let (_, replace) = change_request(&RouteChange::Replace(r), RTPROT_ROMANA);
        assert_eq!(replace & NLM_F_REPLACE, NLM_F_REPLACE);
        assert_eq!(replace & NLM_F_EXCL, 0);
    }

    #[test]
    fn delete_carries_the_protocol_tag() {
        for protocol in [RTPROT_ROMANA, RTPROT_ROMANA_LEARNED] {
            let delete = RouteChange::Delete(RouteKey::owned(net("2001:db8::/32")));
            let (message, _) = change_request(&delete, protocol);
            let RouteNetlinkMessage::DelRoute(m) = message else {
                panic!("delete expected");
            };
            assert_eq!(u8::from(m.header.protocol), protocol);
            assert!(m.attributes.contains(&RouteAttribute::Priority(1024)));
        }
    }

    #[test]
    fn learned_routes_carry_their_own_tag() {
        let r = Route::via(net("10.0.0.0/8"), vec![hop("192.0.2.1", None)]).expect("valid");
        let (RouteNetlinkMessage::NewRoute(m), _) =
            change_request(&RouteChange::Add(r), RTPROT_ROMANA_LEARNED)
        else {
            panic!("new route expected");
        };
        assert_eq!(u8::from(m.header.protocol), RTPROT_ROMANA_LEARNED);
    }

    #[test]
    fn a_filtered_dump_names_the_main_table_and_the_protocol() {
        // With NETLINK_GET_STRICT_CHK the kernel sends only what these
        // header fields select; everything else must stay zero, or the
        // kernel refuses the dump.
        let RouteNetlinkMessage::GetRoute(m) =
            dump_request(AddressFamily::Inet, Some(RTPROT_ROMANA))
        else {
            panic!("route dump expected");
        };
        assert_eq!(m.header.table, RouteHeader::RT_TABLE_MAIN);
        assert_eq!(u8::from(m.header.protocol), RTPROT_ROMANA);
        assert_eq!(m.header.destination_prefix_length, 0);
        assert!(m.attributes.is_empty());
        let RouteNetlinkMessage::GetRoute(all) = dump_request(AddressFamily::Inet6, None) else {
            panic!("route dump expected");
        };
        assert_eq!(u8::from(all.header.protocol), 0);
        assert_eq!(all.header.table, 0);
    }

    #[test]
    fn endpoint_route_is_scope_link() {
        let r =
            Route::interface(net("10.1.0.5/32"), IfIndex::new(9).expect("nonzero")).expect("valid");
        assert_eq!(as_dumped(&r).header.scope, RouteScope::Link);
    }

    #[test]
    fn other_tables_and_clones_are_not_reported() {
        let r = Route::unreachable(net("10.1.0.0/16")).expect("valid");
        let mut local = as_dumped(&r);
        local.header.table = 255;
        assert_eq!(present_route(&local), None);
        let mut big_table = as_dumped(&r);
        big_table.attributes.push(RouteAttribute::Table(1000));
        assert_eq!(present_route(&big_table), None);
        let mut clone = as_dumped(&r);
        clone.header.flags.insert(RouteFlags::Cloned);
        assert_eq!(present_route(&clone), None);
    }

    #[test]
    fn default_route_without_destination_attribute() {
        let mut m = RouteMessage::default();
        m.header.address_family = AddressFamily::Inet;
        m.header.table = RouteHeader::RT_TABLE_MAIN;
        m.header.kind = RouteType::Unicast;
        m.header.protocol = RouteProtocol::Dhcp;
        m.attributes
            .push(RouteAttribute::Gateway(RouteAddress::Inet(Ipv4Addr::new(
                192, 0, 2, 1,
            ))));
        m.attributes.push(RouteAttribute::Priority(100));
        let p = present_route(&m).expect("main table route");
        assert_eq!(
            p.key,
            RouteKey {
                prefix: net("0.0.0.0/0"),
                metric: 100
            }
        );
        assert!(!p.is_owned());
    }

    #[test]
    fn blackhole_is_a_shape_the_daemon_does_not_install() {
        let mut m = as_dumped(&Route::unreachable(net("10.1.0.0/16")).expect("valid"));
        m.header.kind = RouteType::BlackHole;
        assert_eq!(present_route(&m).map(|p| p.target), Some(None));
    }
}
