//! The rtnetlink requests of the wiring, and what it reads back from
//! links. Pure translation, tested without a kernel.

use std::net::Ipv4Addr;
use std::os::fd::RawFd;

use rtnetlink::packet_route::address::{AddressAttribute, AddressMessage};
use rtnetlink::packet_route::link::{
    InfoData, InfoKind, InfoVeth, LinkAttribute, LinkExtentMask, LinkFlags, LinkInfo, LinkMessage,
};
use rtnetlink::packet_route::nsid::{NsidAttribute, NsidMessage};
use rtnetlink::packet_route::route::{
    RouteAddress, RouteAttribute, RouteFlags, RouteHeader, RouteMessage, RouteProtocol, RouteScope,
    RouteType,
};
use rtnetlink::packet_route::{AddressFamily, RouteNetlinkMessage};

use crate::kernel::RTPROT_ROMANA;

/// What the wiring needs to know about a link.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Link {
    pub(super) index: u32,
    pub(super) name: String,
    pub(super) up: bool,
    /// `IFF_LOWER_UP`: for a veth, both ends are up.
    pub(super) carrier: bool,
    /// `veth`, `tun`, ...; `None` for a physical device.
    pub(super) kind: Option<String>,
    pub(super) proxy_arp: Option<bool>,
    /// For a veth: the namespace of its peer, as this namespace numbers
    /// it; `None` when the peer is in the same namespace.
    pub(super) peer_netnsid: Option<i32>,
    /// The bridge (or bond) the link is a port of.
    pub(super) controller: Option<u32>,
}

impl Link {
    pub(super) fn is_veth(&self) -> bool {
        self.kind.as_deref() == Some("veth")
    }
}

/// The link named `name`, without statistics.
pub(super) fn get_link(name: &str) -> RouteNetlinkMessage {
    let mut message = LinkMessage::default();
    message.attributes.push(LinkAttribute::IfName(name.into()));
    message
        .attributes
        .push(LinkAttribute::ExtMask(vec![LinkExtentMask::SkipStats]));
    RouteNetlinkMessage::GetLink(message)
}

/// Every link, without statistics.
pub(super) fn dump_links() -> RouteNetlinkMessage {
    let mut message = LinkMessage::default();
    message
        .attributes
        .push(LinkAttribute::ExtMask(vec![LinkExtentMask::SkipStats]));
    RouteNetlinkMessage::GetLink(message)
}

/// A veth pair: `host` here, `peer` created directly in the namespace
/// open as `netns`, so it never appears on the host. Both ends stay down:
/// the peer is set up from inside once configured (the kernel would refuse
/// to open it before the pair is joined anyway, `ENOTCONN`), and the host
/// end last of all, so that its carrier says the whole pair is ready.
///
/// One queue each way on each end: without XDP a veth uses no more (it
/// transmits without a queue lock and receives on the sender's CPU). The
/// kernel's default, one per possible CPU, costs a pair a sysfs directory
/// per queue, and the veth driver then trims the queues in use to one,
/// which waits for an RCU grace period (`netif_set_real_num_tx_queues`,
/// seen sleeping in `perf record -e sched:sched_switch -g`; not with one
/// queue). On a 2-CPU machine `RTM_NEWLINK` took 0.55-0.59 ms a pair
/// against 0.69-0.73 ms (`strace -T`, median of 30); more CPUs, more
/// queues.
pub(super) fn create_veth(host: &str, peer: &str, netns: RawFd) -> RouteNetlinkMessage {
    let mut peer_message = LinkMessage::default();
    peer_message
        .attributes
        .push(LinkAttribute::IfName(peer.into()));
    peer_message.attributes.push(LinkAttribute::NetNsFd(netns));
    peer_message.attributes.extend(one_queue_each_way());
    let mut message = LinkMessage::default();
    message.attributes.push(LinkAttribute::IfName(host.into()));
    message.attributes.extend(one_queue_each_way());
    message.attributes.push(LinkAttribute::LinkInfo(vec![
        LinkInfo::Kind(InfoKind::Veth),
        LinkInfo::Data(InfoData::Veth(InfoVeth::Peer(peer_message))),
    ]));
    RouteNetlinkMessage::NewLink(message)
}

fn one_queue_each_way() -> [LinkAttribute; 2] {
    [LinkAttribute::NumTxQueues(1), LinkAttribute::NumRxQueues(1)]
}

/// Sets the link up, leaving everything else of it as it is.
pub(super) fn up(index: u32) -> RouteNetlinkMessage {
    let mut message = LinkMessage::default();
    message.header.index = index;
    set_up(&mut message);
    RouteNetlinkMessage::SetLink(message)
}

/// Sets the link named `name` up.
pub(super) fn up_by_name(name: &str) -> RouteNetlinkMessage {
    let mut message = LinkMessage::default();
    set_up(&mut message);
    message.attributes.push(LinkAttribute::IfName(name.into()));
    RouteNetlinkMessage::SetLink(message)
}

pub(super) fn delete_link(index: u32) -> RouteNetlinkMessage {
    let mut message = LinkMessage::default();
    message.header.index = index;
    RouteNetlinkMessage::DelLink(message)
}

/// The id this namespace gives the namespace open as `netns`.
pub(super) fn get_netnsid(netns: RawFd) -> RouteNetlinkMessage {
    let mut message = NsidMessage::default();
    // A valid descriptor is never negative.
    let fd = u32::try_from(netns).unwrap_or(u32::MAX);
    message.attributes.push(NsidAttribute::Fd(fd));
    RouteNetlinkMessage::GetNsId(message)
}

pub(super) fn netnsid(message: &RouteNetlinkMessage) -> Option<i32> {
    match message {
        RouteNetlinkMessage::NewNsId(m) => m.attributes.iter().find_map(|a| match a {
            NsidAttribute::Id(id) if *id >= 0 => Some(*id),
            _ => None,
        }),
        _ => None,
    }
}

fn set_up(message: &mut LinkMessage) {
    message.header.flags |= LinkFlags::Up;
    message.header.change_mask |= LinkFlags::Up;
}

/// The endpoint's own address, `address/32`.
pub(super) fn add_address(index: u32, address: Ipv4Addr) -> RouteNetlinkMessage {
    let mut message = AddressMessage::default();
    message.header.family = AddressFamily::Inet;
    message.header.prefix_len = 32;
    message.header.index = index;
    message
        .attributes
        .push(AddressAttribute::Local(address.into()));
    message
        .attributes
        .push(AddressAttribute::Address(address.into()));
    RouteNetlinkMessage::NewAddress(message)
}

/// `GATEWAY/32 dev IF scope link`: the gateway is on the link.
pub(super) fn route_to_gateway(index: u32, gateway: Ipv4Addr) -> RouteNetlinkMessage {
    let mut message = route(gateway, 32, RouteScope::Link);
    message.attributes.push(RouteAttribute::Oif(index));
    RouteNetlinkMessage::NewRoute(message)
}

/// `default via GATEWAY dev IF onlink`.
pub(super) fn default_route(index: u32, gateway: Ipv4Addr) -> RouteNetlinkMessage {
    let mut message = route(Ipv4Addr::UNSPECIFIED, 0, RouteScope::Universe);
    message.header.flags |= RouteFlags::Onlink;
    message
        .attributes
        .push(RouteAttribute::Gateway(RouteAddress::Inet(gateway)));
    message.attributes.push(RouteAttribute::Oif(index));
    RouteNetlinkMessage::NewRoute(message)
}

fn route(destination: Ipv4Addr, length: u8, scope: RouteScope) -> RouteMessage {
    let mut message = RouteMessage::default();
    message.header.address_family = AddressFamily::Inet;
    message.header.destination_prefix_length = length;
    message.header.table = RouteHeader::RT_TABLE_MAIN;
    message.header.protocol = RouteProtocol::from(RTPROT_ROMANA);
    message.header.scope = scope;
    message.header.kind = RouteType::Unicast;
    if length > 0 {
        message
            .attributes
            .push(RouteAttribute::Destination(RouteAddress::Inet(destination)));
    }
    message
}

#[cfg(test)]
mod tests {
    use rtnetlink::packet_core::{Emitable, NetlinkMessage, NetlinkPayload};

    use super::*;

    fn round_trip(message: RouteNetlinkMessage) -> RouteNetlinkMessage {
        let mut netlink = NetlinkMessage::from(message);
        netlink.finalize();
        let mut bytes = vec![0; netlink.buffer_len()];
        netlink.serialize(&mut bytes);
        match NetlinkMessage::<RouteNetlinkMessage>::deserialize(&bytes)
            .unwrap()
            .payload
        {
            NetlinkPayload::InnerMessage(inner) => inner,
            other => panic!("not a route message: {other:?}"),
        }
    }

    #[test]
    fn veth_peer_is_created_in_the_namespace() {
        let RouteNetlinkMessage::NewLink(link) = round_trip(create_veth("rb0a011105", "eth0", 9))
        else {
            panic!("not a new link");
        };
        assert!(
            link.header.change_mask.is_empty(),
            "the host end comes up last"
        );
        assert!(
            link.attributes
                .contains(&LinkAttribute::IfName("rb0a011105".into()))
        );
        let infos = link
            .attributes
            .iter()
            .find_map(|a| match a {
                LinkAttribute::LinkInfo(infos) => Some(infos),
                _ => None,
            })
            .expect("IFLA_LINKINFO");
        assert!(infos.contains(&LinkInfo::Kind(InfoKind::Veth)));
        let peer = infos
            .iter()
            .find_map(|i| match i {
                LinkInfo::Data(InfoData::Veth(InfoVeth::Peer(peer))) => Some(peer),
                _ => None,
            })
            .expect("the peer");
        assert!(
            peer.header.change_mask.is_empty(),
            "the peer's state is left alone"
        );
        assert!(
            peer.attributes
                .contains(&LinkAttribute::IfName("eth0".into()))
        );
        assert!(peer.attributes.contains(&LinkAttribute::NetNsFd(9)));
    }

    #[test]
    fn default_route_is_onlink_via_the_gateway() {
        let gateway = Ipv4Addr::new(10, 1, 0, 1);
        let RouteNetlinkMessage::NewRoute(route) = round_trip(default_route(4, gateway)) else {
            panic!("not a route");
        };
        assert_eq!(route.header.destination_prefix_length, 0);
        assert!(route.header.flags.contains(RouteFlags::Onlink));
        assert_eq!(route.header.protocol, RouteProtocol::from(RTPROT_ROMANA));
        assert!(
            route
                .attributes
                .contains(&RouteAttribute::Gateway(RouteAddress::Inet(gateway)))
        );
        assert!(route.attributes.contains(&RouteAttribute::Oif(4)));
        let RouteNetlinkMessage::NewRoute(link) = round_trip(route_to_gateway(4, gateway)) else {
            panic!("not a route");
        };
        assert_eq!(link.header.scope, RouteScope::Link);
        assert_eq!(link.header.destination_prefix_length, 32);
        assert!(
            link.attributes
                .contains(&RouteAttribute::Destination(RouteAddress::Inet(gateway)))
        );
    }

    #[test]
    fn link_reads_name_state_carrier_kind_and_more() {
        let mut message = LinkMessage::default();
        message.header.index = 12;
        message.header.flags |= LinkFlags::Up | LinkFlags::LowerUp;
        message
            .attributes
            .push(LinkAttribute::IfName("tap3".into()));
        message
            .attributes
            .push(LinkAttribute::LinkInfo(vec![LinkInfo::Kind(InfoKind::Tun)]));
        message.attributes.push(LinkAttribute::LinkNetNsId(4));
        message.attributes.push(LinkAttribute::Controller(3));
        let mut bytes = vec![0; message.buffer_len()];
        message.emit(&mut bytes);
        let link = super::super::link_bytes::decode(&bytes).unwrap();
        assert_eq!(
            link,
            Link {
                index: 12,
                name: "tap3".into(),
                up: true,
                carrier: true,
                kind: Some("tun".into()),
                proxy_arp: None,
                peer_netnsid: Some(4),
                controller: Some(3),
            }
        );
        assert!(!link.is_veth());
    }
}
