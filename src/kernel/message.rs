//! Route changes as rtnetlink messages. Pure translation, tested without a
//! kernel, and against the reading of dumped routes ([`super::route_bytes`]).

use std::net::IpAddr;

use ipnet::IpNet;
use rtnetlink::packet_core::{NLM_F_CREATE, NLM_F_EXCL, NLM_F_REPLACE};
use rtnetlink::packet_route::AddressFamily;
use rtnetlink::packet_route::RouteNetlinkMessage;
use rtnetlink::packet_route::route::{
    RouteAttribute, RouteHeader, RouteMessage, RouteNextHop, RouteProtocol, RouteScope, RouteType,
    RouteVia,
};

use super::plan::{RouteChange, RouteKey};
use super::route::{IfIndex, Route, RouteTarget, kernel_metric};

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

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use rtnetlink::packet_core::Emitable;
    use rtnetlink::packet_route::route::{RouteAddress, RouteFlags};

    use super::*;
    use crate::kernel::plan::PresentRoute;
    use crate::kernel::route::NextHop;
    use crate::kernel::route_bytes;
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

    /// `message` as the daemon reads it from the kernel's bytes.
    fn present_route(message: &RouteMessage) -> Option<PresentRoute> {
        let mut bytes = vec![0; message.buffer_len()];
        message.emit(&mut bytes);
        route_bytes::present_route(&bytes).expect("readable")
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
