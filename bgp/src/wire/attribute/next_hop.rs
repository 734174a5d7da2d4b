//! NEXT_HOP (type code 3, RFC 4271 §4.3 and §5.1.3), and the next hop types
//! MP_REACH_NLRI carries (RFC 4760 §3, RFC 2545 §3, RFC 8950 §3).
//!
//! ```text
//! +-------------------------------+
//! | IPv4 address (4 octets)       |
//! +-------------------------------+
//! ```

use std::net::{Ipv4Addr, Ipv6Addr};

use super::Malformed;
use crate::wire::notification::update_error;

/// An IPv6 next hop: a global address and, when the sender shares a link
/// with the receiver, its link-local address (RFC 2545 §3: 16 or 32 octets).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Ipv6NextHop {
    pub global: Ipv6Addr,
    /// Kept as received, even `::` (some speakers send 32 octets with an
    /// empty second address), so the attribute encodes back unchanged.
    pub link_local: Option<Ipv6Addr>,
}

impl Ipv6NextHop {
    pub(crate) fn decode(octets: &[u8]) -> Option<Ipv6NextHop> {
        match octets.len() {
            16 => Some(Ipv6NextHop {
                global: Ipv6Addr::from(<[u8; 16]>::try_from(octets).ok()?),
                link_local: None,
            }),
            32 => {
                let (global, link_local) = octets.split_at(16);
                Some(Ipv6NextHop {
                    global: Ipv6Addr::from(<[u8; 16]>::try_from(global).ok()?),
                    link_local: Some(Ipv6Addr::from(<[u8; 16]>::try_from(link_local).ok()?)),
                })
            }
            _ => None,
        }
    }

    pub(crate) fn wire_len(&self) -> usize {
        if self.link_local.is_some() { 32 } else { 16 }
    }

    pub(crate) fn encode(&self, out: &mut bytes::BytesMut) {
        out.extend_from_slice(&self.global.octets());
        if let Some(ll) = self.link_local {
            out.extend_from_slice(&ll.octets());
        }
    }
}

/// The address to forward to for a set of announced prefixes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum NextHop {
    V4(Ipv4Addr),
    /// For IPv6 routes, or for IPv4 routes with an IPv6 next hop (RFC 8950).
    V6(Ipv6NextHop),
}

/// RFC 4271 §6.3: the NEXT_HOP must be a valid host address. Unspecified,
/// limited broadcast and multicast addresses never are.
fn is_host_address(addr: Ipv4Addr) -> bool {
    !(addr.is_unspecified() || addr.is_broadcast() || addr.is_multicast())
}

/// Read the NEXT_HOP attribute. `has_nlri_field` says whether the UPDATE
/// announces prefixes in its NLRI field: without them the attribute means
/// nothing and a bad one is dropped, not acted on (RFC 4760 §3: "SHOULD
/// ignore this attribute").
pub(crate) fn decode(value: &[u8], has_nlri_field: bool) -> Result<Ipv4Addr, Malformed> {
    let fail = |subcode, with_nlri, without_nlri| {
        if has_nlri_field {
            Malformed::withdraw(subcode, with_nlri)
        } else {
            Malformed::discard(subcode, without_nlri)
        }
    };
    let Ok(octets) = <[u8; 4]>::try_from(value) else {
        // RFC 7606 §7.3: a length other than 4 is treat-as-withdraw.
        return Err(fail(
            update_error::ATTRIBUTE_LENGTH,
            "NEXT_HOP length is not 4 (RFC 7606 §7.3)",
            "NEXT_HOP length is not 4, in an UPDATE without NLRI field (RFC 4760 §3)",
        ));
    };
    let addr = Ipv4Addr::from(octets);
    if !is_host_address(addr) {
        // RFC 4271 §6.3: a semantically incorrect NEXT_HOP makes the route
        // ignored, without NOTIFICATION: treat-as-withdraw.
        return Err(fail(
            update_error::INVALID_NEXT_HOP,
            "NEXT_HOP is not a host address (RFC 4271 §6.3)",
            "NEXT_HOP is not a host address, in an UPDATE without NLRI field (RFC 4760 §3)",
        ));
    }
    Ok(addr)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::attribute::Verdict;

    #[test]
    fn four_octets_decode() {
        assert_eq!(decode(&[10, 0, 0, 1], true), Ok(Ipv4Addr::new(10, 0, 0, 1)));
    }

    #[test]
    fn bad_length_withdraws_only_when_it_matters() {
        // RFC 7606 §7.3; RFC 4760 §3 when there is no NLRI field.
        assert_eq!(
            decode(&[10, 0, 0], true).unwrap_err().verdict,
            Verdict::Withdraw
        );
        assert_eq!(
            decode(&[10, 0, 0], false).unwrap_err().verdict,
            Verdict::Discard
        );
    }

    #[test]
    fn non_host_addresses_withdraw() {
        // RFC 4271 §6.3 semantic check.
        for bad in [[0, 0, 0, 0], [224, 0, 0, 5], [255, 255, 255, 255]] {
            let err = decode(&bad, true).unwrap_err();
            assert_eq!(err.verdict, Verdict::Withdraw);
            assert_eq!(err.subcode, update_error::INVALID_NEXT_HOP);
        }
    }

    #[test]
    fn ipv6_next_hop_is_16_or_32_octets() {
        // RFC 2545 §3.
        let g: Ipv6Addr = "2001:db8::1".parse().unwrap();
        let ll: Ipv6Addr = "fe80::1".parse().unwrap();
        let mut both = g.octets().to_vec();
        both.extend(ll.octets());
        assert_eq!(
            Ipv6NextHop::decode(&both),
            Some(Ipv6NextHop {
                global: g,
                link_local: Some(ll)
            })
        );
        assert_eq!(Ipv6NextHop::decode(&g.octets()).unwrap().link_local, None);
        assert_eq!(Ipv6NextHop::decode(&both[..20]), None);
    }
}
