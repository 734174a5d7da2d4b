//! The gateway address endpoints use, put on an interface (`lo` by default)
//! and taken off again. The address carries the daemon's protocol tag
//! (`IFA_PROTO`, Linux 6.1 and later), so an address someone else added is
//! never removed, even when it is the same address.

use std::net::IpAddr;

use ipnet::IpNet;
use rtnetlink::packet_core::{NLM_F_CREATE, NLM_F_EXCL};
use rtnetlink::packet_route::address::{AddressAttribute, AddressMessage, AddressProtocol};
use rtnetlink::packet_route::{AddressFamily, RouteNetlinkMessage};

use super::RTPROT_ROMANA;
use super::error::{AddressError, Errno, Failure};
use super::netlink::Netlink;
use super::route::IfIndex;

/// What adding or removing an address did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AddressChange {
    Added,
    Removed,
    /// Already as asked: the daemon's address present (add) or no such
    /// address (remove).
    Unchanged,
    /// The address is on the interface but was not added by the daemon: it
    /// serves as the gateway all the same, and is never removed.
    NotOwned,
}

/// An address on an interface, as the kernel reports it.
struct PresentAddress {
    address: IpNet,
    protocol: Option<u8>,
}

impl Netlink {
    /// Puts `address` (e.g. 10.1.0.1/32) on the interface, tagged as the
    /// daemon's. Idempotent.
    pub async fn add_owned_address(
        &self,
        ifindex: IfIndex,
        address: IpNet,
    ) -> Result<AddressChange, AddressError> {
        let error = |failure| AddressError {
            address,
            ifindex,
            failure,
        };
        let present = self.addresses(ifindex, address).await.map_err(error)?;
        if let Some(p) = present.iter().find(|p| p.address == address) {
            return Ok(if is_owned(p) {
                AddressChange::Unchanged
            } else {
                AddressChange::NotOwned
            });
        }
        let mut message = address_message(ifindex, address);
        message
            .attributes
            .push(AddressAttribute::Protocol(AddressProtocol::from(
                RTPROT_ROMANA,
            )));
        let request = RouteNetlinkMessage::NewAddress(message);
        match self.acknowledged(request, NLM_F_CREATE | NLM_F_EXCL) {
            Ok(()) => Ok(AddressChange::Added),
            // IPv6 keys an address without its prefix length, so the same
            // address with another length, not ours, is in the way.
            Err(f) if f.errno() == Some(Errno::EEXIST) => Ok(AddressChange::NotOwned),
            Err(f) => Err(error(f)),
        }
    }

    /// Takes `address` off the interface if the daemon put it there.
    /// Idempotent; an address the daemon did not add stays.
    pub async fn remove_owned_address(
        &self,
        ifindex: IfIndex,
        address: IpNet,
    ) -> Result<AddressChange, AddressError> {
        let error = |failure| AddressError {
            address,
            ifindex,
            failure,
        };
        let present = self.addresses(ifindex, address).await.map_err(error)?;
        let Some(found) = present.iter().find(|p| p.address == address) else {
            return Ok(AddressChange::Unchanged);
        };
        if !is_owned(found) {
            return Ok(AddressChange::NotOwned);
        }
        let request = RouteNetlinkMessage::DelAddress(address_message(ifindex, address));
        match self.acknowledged(request, 0) {
            Ok(()) => Ok(AddressChange::Removed),
            // Gone since the dump: what was asked for.
            Err(f) if f.errno() == Some(Errno::EADDRNOTAVAIL) => Ok(AddressChange::Unchanged),
            Err(f) => Err(error(f)),
        }
    }

    /// The addresses of `address`'s family on the interface.
    async fn addresses(
        &self,
        ifindex: IfIndex,
        address: IpNet,
    ) -> Result<Vec<PresentAddress>, Failure> {
        let mut request = AddressMessage::default();
        request.header.family = family(address);
        let messages = self
            .dump_objects(RouteNetlinkMessage::GetAddress(request))
            .await?;
        Ok(messages
            .iter()
            .filter_map(|m| match m {
                RouteNetlinkMessage::NewAddress(a) if a.header.index == ifindex.get() => {
                    present_address(a)
                }
                _ => None,
            })
            .collect())
    }
}

fn is_owned(present: &PresentAddress) -> bool {
    present.protocol == Some(RTPROT_ROMANA)
}

fn family(address: IpNet) -> AddressFamily {
    match address {
        IpNet::V4(_) => AddressFamily::Inet,
        IpNet::V6(_) => AddressFamily::Inet6,
    }
}

fn address_message(ifindex: IfIndex, address: IpNet) -> AddressMessage {
    let mut message = AddressMessage::default();
    message.header.family = family(address);
    message.header.prefix_len = address.prefix_len();
    message.header.index = ifindex.get();
    // IFA_LOCAL is the interface's own address; IFA_ADDRESS is the peer on
    // point-to-point links and the same address elsewhere (as `ip` sends).
    message
        .attributes
        .push(AddressAttribute::Local(address.addr()));
    message
        .attributes
        .push(AddressAttribute::Address(address.addr()));
    message
}

fn present_address(message: &AddressMessage) -> Option<PresentAddress> {
    let mut local = None;
    let mut peer = None;
    let mut protocol = None;
    for attribute in &message.attributes {
        match attribute {
            AddressAttribute::Local(a) => local = Some(*a),
            AddressAttribute::Address(a) => peer = Some(*a),
            AddressAttribute::Protocol(p) => protocol = Some(u8::from(*p)),
            _ => {}
        }
    }
    let ip: IpAddr = local.or(peer)?;
    Some(PresentAddress {
        address: IpNet::new(ip, message.header.prefix_len).ok()?,
        protocol,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dumped_address_keeps_its_protocol_tag() {
        let ifindex = IfIndex::new(1).expect("nonzero");
        let address: IpNet = "10.1.0.1/32".parse().expect("test address");
        let mut message = address_message(ifindex, address);
        message
            .attributes
            .push(AddressAttribute::Protocol(AddressProtocol::from(
                RTPROT_ROMANA,
            )));
        let present = present_address(&message).expect("address");
        assert_eq!(present.address, address);
        assert!(is_owned(&present));
    }

    #[test]
    fn address_without_tag_is_not_owned() {
        let ifindex = IfIndex::new(1).expect("nonzero");
        let address: IpNet = "2001:db8::1/128".parse().expect("test address");
        let present = present_address(&address_message(ifindex, address)).expect("address");
        assert!(!is_owned(&present));
    }
}
