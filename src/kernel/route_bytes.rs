//! A dumped route as the kernel sends it (`RTM_NEWROUTE`: `struct rtmsg`
//! and its attributes), read for what a [`PresentRoute`] has and nothing
//! else. The periodic check of the host's own routes reads every one of
//! them (11,400 on a host with that many endpoints) every few seconds;
//! decoding each whole (cache info, metrics, preferences) into owned
//! values was most of that check's time, and it holds the RIB task.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::IpNet;

use crate::netlink_bytes::{Malformed, attributes, u32_of};

use super::plan::{PresentRoute, RouteKey};
use super::route::{IfIndex, NextHop, NextHops, RouteTarget};

/// `struct rtmsg`: family, destination and source lengths, TOS, table,
/// protocol, scope, type, flags.
const HEADER: usize = 12;
/// `struct rtnexthop`: length, flags, hops, interface index.
const NEXT_HOP_HEADER: usize = 8;

/// Address families (linux/socket.h).
const AF_INET: u8 = 2;
const AF_INET6: u8 = 10;
/// `RT_TABLE_MAIN`, `RTN_UNICAST`, `RTN_UNREACHABLE`, `RTM_F_CLONED`
/// (linux/rtnetlink.h).
const RT_TABLE_MAIN: u32 = 254;
const RTN_UNICAST: u8 = 1;
const RTN_UNREACHABLE: u8 = 7;
const RTM_F_CLONED: u32 = 0x200;

/// Route attributes (linux/rtnetlink.h).
const RTA_DST: u16 = 1;
const RTA_OIF: u16 = 4;
const RTA_GATEWAY: u16 = 5;
const RTA_PRIORITY: u16 = 6;
const RTA_MULTIPATH: u16 = 9;
const RTA_TABLE: u16 = 15;
const RTA_VIA: u16 = 18;

/// The route in `payload`, the part of an `RTM_NEWROUTE` message after
/// its netlink header; `None` for other tables than main, cached clones,
/// and families other than IPv4 and IPv6.
pub(super) fn present_route(payload: &[u8]) -> Result<Option<PresentRoute>, Malformed> {
    let header = payload
        .get(..HEADER)
        .ok_or(Malformed("shorter than struct rtmsg"))?;
    let (family, prefix_length, protocol, kind) = (header[0], header[1], header[5], header[7]);
    let flags = u32_of(&header[8..])?;
    let unspecified = match family {
        AF_INET => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        AF_INET6 => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
        _ => return Ok(None),
    };
    if flags & RTM_F_CLONED != 0 {
        return Ok(None);
    }
    let mut table = u32::from(header[4]);
    let mut destination = None;
    let mut metric = 0;
    let mut gateway = None;
    let mut oif = None;
    let mut multipath = None;
    for attribute in attributes(&payload[HEADER..]) {
        let (code, value) = attribute?;
        match code {
            RTA_TABLE => table = u32_of(value)?,
            RTA_DST => destination = Some(address(family, value)?),
            RTA_PRIORITY => metric = u32_of(value)?,
            RTA_GATEWAY => gateway = Some(address(family, value)?),
            RTA_VIA => gateway = via(value)?.or(gateway),
            RTA_OIF => oif = IfIndex::new(u32_of(value)?),
            RTA_MULTIPATH => multipath = Some(value),
            _ => {}
        }
    }
    if table != RT_TABLE_MAIN {
        return Ok(None);
    }
    let Ok(prefix) = IpNet::new(destination.unwrap_or(unspecified), prefix_length) else {
        return Err(Malformed(
            "a route's prefix length is longer than its address",
        ));
    };
    let target = match (kind, multipath, gateway, oif) {
        (RTN_UNREACHABLE, ..) => Some(RouteTarget::Unreachable),
        (RTN_UNICAST, Some(hops), ..) => multipath_target(family, hops)?,
        (RTN_UNICAST, None, Some(gateway), ifindex) => {
            NextHops::from_unsorted(vec![NextHop { gateway, ifindex }]).map(RouteTarget::Gateways)
        }
        (RTN_UNICAST, None, None, Some(ifindex)) => Some(RouteTarget::Interface(ifindex)),
        _ => None,
    };
    Ok(Some(PresentRoute {
        key: RouteKey { prefix, metric },
        protocol,
        target,
    }))
}

/// The next hops of `RTA_MULTIPATH`; `None` if any has no gateway: the
/// daemon never installs that.
fn multipath_target(family: u8, mut data: &[u8]) -> Result<Option<RouteTarget>, Malformed> {
    let mut next_hops = Vec::new();
    let mut complete = true;
    while !data.is_empty() {
        let header = data
            .get(..NEXT_HOP_HEADER)
            .ok_or(Malformed("a next hop shorter than struct rtnexthop"))?;
        let length = usize::from(u16::from_ne_bytes([header[0], header[1]]));
        let ifindex = IfIndex::new(u32_of(&header[4..])?);
        let hop_attributes = data
            .get(NEXT_HOP_HEADER..length)
            .ok_or(Malformed("a next hop runs past its route"))?;
        let mut gateway = None;
        for attribute in attributes(hop_attributes) {
            match attribute? {
                (RTA_GATEWAY, value) => gateway = Some(address(family, value)?),
                (RTA_VIA, value) => gateway = via(value)?.or(gateway),
                _ => {}
            }
        }
        match gateway {
            Some(gateway) => next_hops.push(NextHop { gateway, ifindex }),
            None => complete = false,
        }
        data = data.get(length.next_multiple_of(4)..).unwrap_or_default();
    }
    Ok(complete
        .then(|| NextHops::from_unsorted(next_hops).map(RouteTarget::Gateways))
        .flatten())
}

/// An address of the route's own family.
fn address(family: u8, value: &[u8]) -> Result<IpAddr, Malformed> {
    let wrong = |_| Malformed("an address of the wrong length for its family");
    match family {
        AF_INET => <[u8; 4]>::try_from(value).map(IpAddr::from).map_err(wrong),
        AF_INET6 => <[u8; 16]>::try_from(value).map(IpAddr::from).map_err(wrong),
        _ => Err(Malformed("an address of a family other than IPv4 and IPv6")),
    }
}

/// `RTA_VIA` (`struct rtvia`: a 16-bit family, then the address): an IPv6
/// gateway of an IPv4 route (RFC 5549); other families are not gateways
/// the daemon installs.
fn via(value: &[u8]) -> Result<Option<IpAddr>, Malformed> {
    let family = value
        .get(..2)
        .ok_or(Malformed("RTA_VIA without its family"))?;
    if u16::from_ne_bytes([family[0], family[1]]) != u16::from(AF_INET6) {
        return Ok(None);
    }
    address(AF_INET6, &value[2..]).map(Some)
}

#[cfg(test)]
mod tests {
    use rtnetlink::packet_core::{NetlinkMessage, NetlinkPayload};
    use rtnetlink::packet_route::route::{
        RouteAddress, RouteAttribute, RouteFlags, RouteHeader, RouteMessage, RouteNextHop,
        RouteType, RouteVia,
    };
    use rtnetlink::packet_route::{AddressFamily, RouteNetlinkMessage};

    use super::*;

    /// The route as netlink-packet-route's whole decoding has it: the
    /// reference [`present_route`] is held to (the daemon read dumps this
    /// way before).
    fn fully_decoded(message: &RouteMessage) -> Option<PresentRoute> {
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
                RouteAttribute::Destination(a) => destination = decoded_ip(a),
                RouteAttribute::Priority(m) => metric = *m,
                RouteAttribute::Gateway(a) => gateway = decoded_ip(a),
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
            (RouteType::Unicast, Some(hops), ..) => decoded_multipath(hops),
            (RouteType::Unicast, None, Some(gateway), ifindex) => {
                NextHops::from_unsorted(vec![NextHop { gateway, ifindex }])
                    .map(RouteTarget::Gateways)
            }
            (RouteType::Unicast, None, None, Some(ifindex)) => {
                Some(RouteTarget::Interface(ifindex))
            }
            _ => None,
        };
        Some(PresentRoute {
            key: RouteKey { prefix, metric },
            protocol: u8::from(header.protocol),
            target,
        })
    }

    /// `None` if any next hop has no gateway: the daemon never installs that.
    fn decoded_multipath(hops: &[RouteNextHop]) -> Option<RouteTarget> {
        let next_hops = hops
            .iter()
            .map(|hop| {
                let gateway = hop.attributes.iter().find_map(|a| match a {
                    RouteAttribute::Gateway(g) => decoded_ip(g),
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

    fn decoded_ip(address: &RouteAddress) -> Option<IpAddr> {
        match address {
            RouteAddress::Inet(v4) => Some(IpAddr::V4(*v4)),
            RouteAddress::Inet6(v6) => Some(IpAddr::V6(*v6)),
            _ => None,
        }
    }

    /// A dump of every IPv4 and IPv6 route of a namespace, all tables, as
    /// the kernel (6.18) sent it: an interface route, a gateway route with
    /// a metric, a multipath route, unreachable and blackhole routes, an
    /// IPv4 route via an IPv6 gateway, a route in table 100, a default
    /// route, the kernel's connected and local routes, and IPv6 gateway,
    /// multipath, unreachable and interface routes. The `RTM_NEWROUTE`
    /// messages only, each padded to 4 octets; made by
    /// `testdata/capture_routes.sh`.
    const DUMP: &[u8] = include_bytes!("testdata/routes.bin");

    /// Each message of [`DUMP`], whole (with its netlink header).
    fn messages() -> Vec<&'static [u8]> {
        crate::netlink_bytes::messages(DUMP)
            .map(|m| m.unwrap().bytes)
            .collect()
    }

    fn read(message: &[u8]) -> Option<PresentRoute> {
        present_route(&message[16..]).unwrap()
    }

    fn as_fully_decoded(message: &[u8]) -> Option<PresentRoute> {
        match NetlinkMessage::<RouteNetlinkMessage>::deserialize(message)
            .unwrap()
            .payload
        {
            NetlinkPayload::InnerMessage(RouteNetlinkMessage::NewRoute(route)) => {
                fully_decoded(&route)
            }
            other => panic!("not a route: {other:?}"),
        }
    }

    #[test]
    fn every_route_reads_as_the_full_decoder_reads_it() {
        let messages = messages();
        assert_eq!(messages.len(), 30);
        for message in messages {
            assert_eq!(read(message), as_fully_decoded(message));
        }
    }

    fn find(prefix: &str) -> PresentRoute {
        let prefix: IpNet = prefix.parse().unwrap();
        messages()
            .into_iter()
            .filter_map(read)
            .find(|r| r.key.prefix == prefix)
            .unwrap_or_else(|| panic!("no {prefix} in the main table"))
    }

    fn gateways(route: &PresentRoute) -> Vec<IpAddr> {
        match &route.target {
            Some(RouteTarget::Gateways(hops)) => {
                hops.as_slice().iter().map(|h| h.gateway).collect()
            }
            other => panic!("not a gateway route: {other:?}"),
        }
    }

    #[test]
    fn the_shapes_the_daemon_installs_are_read() {
        let endpoint = find("10.1.0.2/32");
        assert_eq!(endpoint.protocol, 201);
        assert!(matches!(endpoint.target, Some(RouteTarget::Interface(_))));

        let learned = find("10.2.0.0/16");
        assert_eq!((learned.protocol, learned.key.metric), (202, 20));
        assert_eq!(gateways(&learned), ["192.0.2.2".parse::<IpAddr>().unwrap()]);

        assert_eq!(gateways(&find("10.3.0.0/16")).len(), 2);
        assert_eq!(find("10.4.0.0/16").target, Some(RouteTarget::Unreachable));
        assert_eq!(find("10.5.0.0/16").target, None, "blackhole");
        assert_eq!(
            gateways(&find("10.6.0.0/16")),
            ["2001:db8:1::2".parse::<IpAddr>().unwrap()]
        );
        assert_eq!(gateways(&find("0.0.0.0/0")).len(), 1);

        let v6 = find("2001:db8:11::/48");
        assert_eq!((v6.key.metric, gateways(&v6).len()), (1024, 2));
        assert_eq!(
            find("2001:db8:12::/48").target,
            Some(RouteTarget::Unreachable)
        );
    }

    #[test]
    fn other_tables_are_left_out() {
        let all: Vec<PresentRoute> = messages().into_iter().filter_map(read).collect();
        let in_table_100: IpNet = "10.7.0.0/16".parse().unwrap();
        assert!(all.iter().all(|r| r.key.prefix != in_table_100));
        let local: IpNet = "127.0.0.1/32".parse().unwrap();
        assert!(all.iter().all(|r| r.key.prefix != local), "table local");
    }

    #[test]
    fn a_cached_clone_is_left_out() {
        let mut message = messages()
            .into_iter()
            .find(|m| read(m).is_some_and(|r| r.key.prefix == "10.1.0.2/32".parse().unwrap()))
            .unwrap()
            .to_vec();
        let flags = u32_of(&message[16 + 8..]).unwrap() | RTM_F_CLONED;
        message[16 + 8..16 + 12].copy_from_slice(&flags.to_ne_bytes());
        assert_eq!(read(&message), None);
    }

    #[test]
    fn a_cut_message_is_an_error_not_a_panic() {
        for message in messages() {
            let payload = &message[16..];
            for end in 0..payload.len() {
                let _ = present_route(&payload[..end]);
            }
            assert!(present_route(&payload[..HEADER - 1]).is_err());
        }
    }
}
