//! A link as the kernel sends it (`RTM_NEWLINK`, `RTM_DELLINK`: `struct
//! ifinfomsg` and its attributes), read for the few fields [`Link`] keeps
//! and nothing else: in the reconcile's survey, which reads every link of
//! the host every few seconds, in the lookups of an add, and in link
//! events. Decoding each link whole (its IPv6 settings, queues, XDP, ...)
//! into owned values only to drop them was half of the survey's work.

use crate::netlink_bytes::{Malformed, attributes, u32_of};

use super::messages::Link;

/// `struct ifinfomsg`: family, pad, type, index, flags, change mask.
const HEADER: usize = 16;

/// `IFF_UP` and `IFF_LOWER_UP` (linux/if.h).
const IFF_UP: u32 = 1;
const IFF_LOWER_UP: u32 = 1 << 16;

/// Link attributes (linux/if_link.h).
const IFLA_IFNAME: u16 = 3;
const IFLA_MASTER: u16 = 10;
const IFLA_LINKINFO: u16 = 18;
const IFLA_AF_SPEC: u16 = 26;
const IFLA_LINK_NETNSID: u16 = 37;
/// In `IFLA_LINKINFO`.
const IFLA_INFO_KIND: u16 = 1;
/// The family of a link's own messages, and of a bridge port's.
const AF_UNSPEC: u8 = 0;
pub(super) const AF_BRIDGE: u8 = 7;
/// In `IFLA_AF_SPEC`, per family; in `AF_INET`, the settings as an array
/// of 32-bit values, `IPV4_DEVCONF_*` - 1 their index (linux/ip.h).
const AF_INET: u16 = 2;
const IFLA_INET_CONF: u16 = 1;
const IPV4_DEVCONF_PROXY_ARP: usize = 3;

/// The link in `payload`, the part of an `RTM_NEWLINK` message after its
/// netlink header.
pub(super) fn decode(payload: &[u8]) -> Result<Link, Malformed> {
    let header = payload
        .get(..HEADER)
        .ok_or(Malformed("shorter than struct ifinfomsg"))?;
    let family = header[0];
    let flags = u32_at(header, 8);
    let mut link = Link {
        index: u32_at(header, 4),
        name: String::new(),
        up: flags & IFF_UP != 0,
        carrier: flags & IFF_LOWER_UP != 0,
        kind: None,
        proxy_arp: None,
        peer_netnsid: None,
        controller: None,
    };
    for attribute in attributes(payload.get(HEADER..).unwrap_or_default()) {
        let (kind, value) = attribute?;
        match kind {
            IFLA_IFNAME => link.name = text(value),
            IFLA_MASTER => link.controller = Some(u32_of(value)?).filter(|&index| index != 0),
            IFLA_LINK_NETNSID => link.peer_netnsid = Some(u32_of(value)?.cast_signed()),
            IFLA_LINKINFO => {
                for info in attributes(value) {
                    if let (IFLA_INFO_KIND, kind) = info? {
                        link.kind = Some(text(kind));
                    }
                }
            }
            // Per address family only in a link's own message; a bridge
            // port's (`AF_BRIDGE`) holds its VLANs there instead.
            IFLA_AF_SPEC if family == AF_UNSPEC => link.proxy_arp = proxy_arp(value)?,
            _ => {}
        }
    }
    Ok(link)
}

/// From `IFLA_AF_SPEC`: `None` for a link without IPv4.
fn proxy_arp(af_spec: &[u8]) -> Result<Option<bool>, Malformed> {
    for family in attributes(af_spec) {
        let (AF_INET, inet) = family? else { continue };
        for setting in attributes(inet) {
            let (IFLA_INET_CONF, conf) = setting? else {
                continue;
            };
            let at = (IPV4_DEVCONF_PROXY_ARP - 1) * 4;
            let value = conf
                .get(at..at + 4)
                .ok_or(Malformed("IPv4 settings without proxy_arp"))?;
            return Ok(Some(u32_of(value)? != 0));
        }
    }
    Ok(None)
}

fn u32_at(data: &[u8], at: usize) -> u32 {
    let mut word = [0; 4];
    word.copy_from_slice(&data[at..at + 4]);
    u32::from_ne_bytes(word)
}

/// A NUL-terminated string attribute. A name that is not UTF-8 (the
/// kernel allows it) is kept with replacement characters: no endpoint's
/// interface is such a name, and one odd link must not make the host's
/// whole list unreadable.
fn text(value: &[u8]) -> String {
    let end = value.iter().position(|&b| b == 0).unwrap_or(value.len());
    String::from_utf8_lossy(&value[..end]).into_owned()
}

#[cfg(test)]
pub(super) mod tests {
    use rtnetlink::packet_core::{NetlinkMessage, NetlinkPayload};
    use rtnetlink::packet_route::RouteNetlinkMessage;
    use rtnetlink::packet_route::link::{
        AfSpecInet, AfSpecUnspec, LinkAttribute, LinkFlags, LinkInfo, LinkMessage,
    };

    use super::*;

    /// The same fields as netlink-packet-route's whole decoding has them:
    /// the reference [`decode`] is held to.
    fn as_fully_decoded(message: &LinkMessage) -> Link {
        let mut link = Link {
            index: message.header.index,
            name: String::new(),
            up: message.header.flags.contains(LinkFlags::Up),
            carrier: message.header.flags.contains(LinkFlags::LowerUp),
            kind: None,
            proxy_arp: None,
            peer_netnsid: None,
            controller: None,
        };
        for attribute in &message.attributes {
            match attribute {
                LinkAttribute::IfName(name) => link.name.clone_from(name),
                LinkAttribute::LinkNetNsId(id) => link.peer_netnsid = Some(*id),
                LinkAttribute::Controller(index) if *index != 0 => link.controller = Some(*index),
                LinkAttribute::LinkInfo(infos) => {
                    for info in infos {
                        if let LinkInfo::Kind(kind) = info {
                            link.kind = Some(kind.to_string());
                        }
                    }
                }
                LinkAttribute::AfSpecUnspec(specs) => {
                    for spec in specs {
                        if let AfSpecUnspec::Inet(inet) = spec {
                            for value in inet {
                                if let AfSpecInet::DevConf(conf) = value {
                                    link.proxy_arp = Some(conf.proxy_arp != 0);
                                }
                            }
                        }
                    }
                }
                _ => {}
            }
        }
        link
    }

    /// A dump of the links of a namespace, as the kernel (6.18) sent it to
    /// a request that skips statistics: `lo`; `tapvm1` up with proxy ARP;
    /// `tapdown`; `br0`; `tapbr`, a port of `br0`; `rb0a010002` up with
    /// proxy ARP, a veth whose peer `eth0` is in another namespace, up.
    /// The `RTM_NEWLINK` messages only, each padded to 4 octets.
    const DUMP: &[u8] = include_bytes!("testdata/links.bin");

    /// Each message of [`DUMP`], whole (with its netlink header).
    fn messages() -> Vec<&'static [u8]> {
        let mut data = DUMP;
        let mut all = Vec::new();
        while !data.is_empty() {
            let length = u32_at(data, 0) as usize;
            all.push(&data[..length]);
            data = &data[length.next_multiple_of(4)..];
        }
        all
    }

    fn payload(message: &[u8]) -> &[u8] {
        &message[16..]
    }

    fn by_name(name: &str) -> Link {
        messages()
            .into_iter()
            .map(|m| decode(payload(m)).unwrap())
            .find(|l| l.name == name)
            .unwrap_or_else(|| panic!("no {name} in the dump"))
    }

    #[test]
    fn every_link_reads_as_the_full_decoder_reads_it() {
        let messages = messages();
        assert_eq!(messages.len(), 6);
        for message in messages {
            let full = match NetlinkMessage::<RouteNetlinkMessage>::deserialize(message)
                .unwrap()
                .payload
            {
                NetlinkPayload::InnerMessage(RouteNetlinkMessage::NewLink(link)) => {
                    as_fully_decoded(&link)
                }
                other => panic!("not a link: {other:?}"),
            };
            assert_eq!(decode(payload(message)).unwrap(), full);
        }
    }

    #[test]
    fn the_fields_the_wiring_uses_are_read() {
        let tap = by_name("tapvm1");
        assert!(tap.up && !tap.carrier, "{tap:?}");
        assert_eq!(tap.kind.as_deref(), Some("tun"));
        assert_eq!(tap.proxy_arp, Some(true));
        assert_eq!((tap.controller, tap.peer_netnsid), (None, None));

        let down = by_name("tapdown");
        assert!(!down.up);
        assert_eq!(down.proxy_arp, Some(false));

        let port = by_name("tapbr");
        assert_eq!(port.controller, Some(by_name("br0").index));

        let veth = by_name("rb0a010002");
        assert!(veth.is_veth() && veth.up && veth.carrier, "{veth:?}");
        assert_eq!(veth.proxy_arp, Some(true));
        assert!(veth.peer_netnsid.is_some());

        assert_eq!(by_name("lo").kind, None);
    }

    /// A bridge port's message as `br_ifinfo_notify` sends it: family
    /// `AF_BRIDGE`, and in `IFLA_AF_SPEC` its VLAN (`IFLA_BRIDGE_VLAN_INFO`,
    /// type 2 like `AF_INET`: flags PVID | untagged, VLAN 1). Made by hand:
    /// the kernel here is built without bridge VLAN filtering.
    pub(in crate::endpoint) fn bridge_port_message(kind: u16) -> Vec<u8> {
        let mut payload = vec![AF_BRIDGE, 0, 1, 0];
        payload.extend(7u32.to_ne_bytes());
        payload.extend((IFF_UP | IFF_LOWER_UP).to_ne_bytes());
        payload.extend(0u32.to_ne_bytes());
        payload.extend(10u16.to_ne_bytes());
        payload.extend(IFLA_IFNAME.to_ne_bytes());
        payload.extend(b"tapbr\0\0\0");
        payload.extend(12u16.to_ne_bytes());
        payload.extend((IFLA_AF_SPEC | 0x8000).to_ne_bytes());
        payload.extend(8u16.to_ne_bytes());
        payload.extend(2u16.to_ne_bytes());
        payload.extend(6u16.to_ne_bytes());
        payload.extend(1u16.to_ne_bytes());
        let mut message = u32::try_from(16 + payload.len())
            .unwrap()
            .to_ne_bytes()
            .to_vec();
        message.extend(kind.to_ne_bytes());
        message.extend([0; 10]);
        message.extend(payload);
        message
    }

    #[test]
    fn a_bridge_ports_vlans_are_not_read_as_ipv4_settings() {
        let message = bridge_port_message(16);
        let link = decode(&message[16..]).expect("a bridge port's message reads");
        assert_eq!((link.name.as_str(), link.index), ("tapbr", 7));
        assert_eq!(link.proxy_arp, None);
    }

    #[test]
    fn a_name_that_is_not_utf8_does_not_stop_the_reading() {
        assert_eq!(text(b"ta\xffp\0"), "ta\u{fffd}p");
    }

    #[test]
    fn a_cut_message_is_an_error_not_a_panic() {
        for message in messages() {
            let payload = payload(message);
            for end in 0..payload.len() {
                let _ = decode(&payload[..end]);
            }
            // A cut between attributes or inside an attribute's header
            // reads as a shorter link; one inside a value is refused.
            assert!(decode(&payload[..HEADER - 1]).is_err());
            assert!(decode(&payload[..HEADER + 2]).is_ok());
            assert!(decode(&payload[..HEADER + 6]).is_err(), "inside the first");
        }
    }
}
