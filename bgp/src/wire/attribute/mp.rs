//! MP_REACH_NLRI (type code 14) and MP_UNREACH_NLRI (type code 15), RFC 4760
//! §3 and §4: the routes of families other than IPv4 unicast in the NLRI
//! field, and their next hop.
//!
//! ```text
//! MP_REACH_NLRI:                         MP_UNREACH_NLRI:
//! +------------------------------+       +------------------------------+
//! | AFI (2) | SAFI (1)           |       | AFI (2) | SAFI (1)           |
//! +------------------------------+       +------------------------------+
//! | Length of Next Hop (1)       |       | Withdrawn Routes (variable)  |
//! +------------------------------+       +------------------------------+
//! | Next Hop (variable)          |
//! +------------------------------+
//! | Reserved (1)                 |
//! +------------------------------+
//! | NLRI (variable)              |
//! +------------------------------+
//! ```
//!
//! Every error in these two attributes resets the session with UPDATE
//! Message Error / Optional Attribute Error (RFC 4760 §7): treat-as-withdraw
//! needs their NLRI parsed (RFC 7606 §3 (j), §7.11, §7.12). Families other
//! than IPv4 and IPv6 unicast are kept as opaque octets once their framing
//! is checked: this crate never negotiates them, so their routes are never
//! used, which is the "AFI/SAFI disable" of RFC 7606 §2 and RFC 4760 §7
//! without having to parse NLRI it does not know.

use std::net::Ipv4Addr;

use bytes::{BufMut, Bytes, BytesMut};

use super::Malformed;
use super::next_hop::{Ipv6NextHop, NextHop};
use crate::family::{Afi, Family, Safi};
use crate::wire::DecodeContext;
use crate::wire::nlri::{Ipv4Nlri, Ipv6Nlri};
use crate::wire::notification::update_error;

fn reset(reason: &'static str) -> Malformed {
    Malformed::reset(update_error::OPTIONAL_ATTRIBUTE, reason)
}

fn read_family(value: &[u8]) -> Option<(Family, &[u8])> {
    let [afi_hi, afi_lo, safi, rest @ ..] = value else {
        return None;
    };
    let family = Family::new(Afi(u16::from_be_bytes([*afi_hi, *afi_lo])), Safi(*safi));
    Some((family, rest))
}

fn put_family(family: Family, out: &mut BytesMut) {
    out.put_u16(family.afi.0);
    out.put_u8(family.safi.0);
}

/// MP_REACH_NLRI: prefixes announced with their next hop.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MpReach {
    /// IPv4 unicast; the next hop is IPv6 only with RFC 8950.
    Ipv4 {
        next_hop: NextHop,
        /// RFC 4760 §3: zero when sent, ignored on receipt; kept so the
        /// attribute encodes back unchanged.
        reserved: u8,
        nlri: Ipv4Nlri,
    },
    /// IPv6 unicast (RFC 2545).
    Ipv6 {
        next_hop: Ipv6NextHop,
        reserved: u8,
        nlri: Ipv6Nlri,
    },
    /// Any other family: everything after AFI and SAFI, unread.
    Other { family: Family, value: Bytes },
}

impl MpReach {
    pub fn family(&self) -> Family {
        match self {
            MpReach::Ipv4 { .. } => Family::IPV4_UNICAST,
            MpReach::Ipv6 { .. } => Family::IPV6_UNICAST,
            MpReach::Other { family, .. } => *family,
        }
    }

    /// Whether the attribute announces at least one prefix.
    pub fn has_nlri(&self) -> bool {
        match self {
            MpReach::Ipv4 { nlri, .. } => !nlri.is_empty(),
            MpReach::Ipv6 { nlri, .. } => !nlri.is_empty(),
            MpReach::Other { value, .. } => match value.first() {
                Some(&nh_len) => value.len() > 2 + usize::from(nh_len),
                None => false,
            },
        }
    }

    pub(crate) fn decode(value: &Bytes, ctx: &DecodeContext) -> Result<MpReach, Malformed> {
        let (family, rest) = read_family(value).ok_or(reset(
            "MP_REACH_NLRI shorter than AFI and SAFI (RFC 4760 §7)",
        ))?;
        let (&nh_len, rest) = rest
            .split_first()
            .ok_or(reset("MP_REACH_NLRI without next hop length (RFC 4760 §7)"))?;
        let (nh, rest) = rest.split_at_checked(usize::from(nh_len)).ok_or(reset(
            "MP_REACH_NLRI next hop overruns the attribute (RFC 4760 §7)",
        ))?;
        let &reserved = rest
            .first()
            .ok_or(reset("MP_REACH_NLRI without reserved octet (RFC 4760 §7)"))?;
        let nlri = value.slice(value.len() - (rest.len() - 1)..);
        match family {
            Family::IPV4_UNICAST => {
                let next_hop = if let Ok(v4) = <[u8; 4]>::try_from(nh) {
                    NextHop::V4(Ipv4Addr::from(v4))
                } else if ctx.extended_next_hop_ipv4
                    && let Some(v6) = Ipv6NextHop::decode(nh)
                {
                    // RFC 8950 §3: an IPv6 next hop (16 or 32 octets) for
                    // IPv4 NLRI, once Extended Next Hop was exchanged.
                    NextHop::V6(v6)
                } else {
                    // RFC 7606 §7.11: a next hop length that does not fit the
                    // family resets the session.
                    return Err(reset(
                        "MP_REACH_NLRI next hop length does not fit IPv4 unicast (RFC 7606 §7.11)",
                    ));
                };
                let nlri = Ipv4Nlri::validate(nlri).ok_or(reset(
                    "MP_REACH_NLRI IPv4 prefixes are syntactically incorrect (RFC 7606 §5.3)",
                ))?;
                Ok(MpReach::Ipv4 {
                    next_hop,
                    reserved,
                    nlri,
                })
            }
            Family::IPV6_UNICAST => {
                // RFC 2545 §3 and RFC 7606 §7.11: 16 or 32 octets, or reset.
                let next_hop = Ipv6NextHop::decode(nh).ok_or(reset(
                    "MP_REACH_NLRI next hop length is not 16 or 32 for IPv6 (RFC 7606 §7.11)",
                ))?;
                let nlri = Ipv6Nlri::validate(nlri).ok_or(reset(
                    "MP_REACH_NLRI IPv6 prefixes are syntactically incorrect (RFC 7606 §5.3)",
                ))?;
                Ok(MpReach::Ipv6 {
                    next_hop,
                    reserved,
                    nlri,
                })
            }
            family => Ok(MpReach::Other {
                family,
                value: value.slice(3..),
            }),
        }
    }

    pub(crate) fn encoded_len(&self) -> usize {
        3 + match self {
            MpReach::Ipv4 { next_hop, nlri, .. } => {
                let nh = match next_hop {
                    NextHop::V4(_) => 4,
                    NextHop::V6(v6) => v6.wire_len(),
                };
                2 + nh + nlri.wire_len()
            }
            MpReach::Ipv6 { next_hop, nlri, .. } => 2 + next_hop.wire_len() + nlri.wire_len(),
            MpReach::Other { value, .. } => value.len(),
        }
    }

    pub(crate) fn encode(&self, out: &mut BytesMut) {
        put_family(self.family(), out);
        match self {
            MpReach::Ipv4 {
                next_hop,
                reserved,
                nlri,
            } => {
                match next_hop {
                    NextHop::V4(addr) => {
                        out.put_u8(4);
                        out.put_slice(&addr.octets());
                    }
                    NextHop::V6(v6) => {
                        out.put_u8(v6.wire_len() as u8);
                        v6.encode(out);
                    }
                }
                out.put_u8(*reserved);
                out.put_slice(nlri.as_bytes());
            }
            MpReach::Ipv6 {
                next_hop,
                reserved,
                nlri,
            } => {
                out.put_u8(next_hop.wire_len() as u8);
                next_hop.encode(out);
                out.put_u8(*reserved);
                out.put_slice(nlri.as_bytes());
            }
            MpReach::Other { value, .. } => out.put_slice(value),
        }
    }
}

/// MP_UNREACH_NLRI: prefixes withdrawn.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MpUnreach {
    Ipv4(Ipv4Nlri),
    Ipv6(Ipv6Nlri),
    /// Any other family: its withdrawn routes, unread.
    Other {
        family: Family,
        withdrawn: Bytes,
    },
}

impl MpUnreach {
    pub fn family(&self) -> Family {
        match self {
            MpUnreach::Ipv4(_) => Family::IPV4_UNICAST,
            MpUnreach::Ipv6(_) => Family::IPV6_UNICAST,
            MpUnreach::Other { family, .. } => *family,
        }
    }

    /// Whether no prefix is withdrawn (the End-of-RIB of RFC 4724 §2).
    pub fn is_empty(&self) -> bool {
        match self {
            MpUnreach::Ipv4(nlri) => nlri.is_empty(),
            MpUnreach::Ipv6(nlri) => nlri.is_empty(),
            MpUnreach::Other { withdrawn, .. } => withdrawn.is_empty(),
        }
    }

    pub(crate) fn decode(value: &Bytes) -> Result<MpUnreach, Malformed> {
        let (family, _) = read_family(value).ok_or(reset(
            "MP_UNREACH_NLRI shorter than AFI and SAFI (RFC 4760 §7)",
        ))?;
        let withdrawn = value.slice(3..);
        let syntax = "MP_UNREACH_NLRI prefixes are syntactically incorrect (RFC 7606 §5.3)";
        match family {
            Family::IPV4_UNICAST => Ok(MpUnreach::Ipv4(
                Ipv4Nlri::validate(withdrawn).ok_or(reset(syntax))?,
            )),
            Family::IPV6_UNICAST => Ok(MpUnreach::Ipv6(
                Ipv6Nlri::validate(withdrawn).ok_or(reset(syntax))?,
            )),
            family => Ok(MpUnreach::Other { family, withdrawn }),
        }
    }

    fn withdrawn_bytes(&self) -> &[u8] {
        match self {
            MpUnreach::Ipv4(nlri) => nlri.as_bytes(),
            MpUnreach::Ipv6(nlri) => nlri.as_bytes(),
            MpUnreach::Other { withdrawn, .. } => withdrawn,
        }
    }

    pub(crate) fn encoded_len(&self) -> usize {
        3 + self.withdrawn_bytes().len()
    }

    pub(crate) fn encode(&self, out: &mut BytesMut) {
        put_family(self.family(), out);
        out.put_slice(self.withdrawn_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::attribute::Verdict;

    fn ctx() -> DecodeContext {
        DecodeContext::default()
    }

    #[test]
    fn ipv6_reach_with_link_local_round_trips() {
        // Captured from BIRD 2.0.12 (global + link-local next hop, /48).
        let value = Bytes::from_static(&[
            0, 2, 1, 32, 0xfd, 0x99, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0xfe, 0x80, 0, 0, 0,
            0, 0, 0, 0xec, 0x72, 0x1a, 0xff, 0xfe, 0x8b, 0x61, 0x1a, 0, 48, 0x20, 0x01, 0x0d, 0xb8,
            0xaa, 0xaa,
        ]);
        let reach = MpReach::decode(&value, &ctx()).unwrap();
        let MpReach::Ipv6 { next_hop, nlri, .. } = &reach else {
            panic!("{reach:?}")
        };
        assert!(next_hop.link_local.is_some());
        assert_eq!(
            nlri.iter().next(),
            Some("2001:db8:aaaa::/48".parse().unwrap())
        );
        let mut out = BytesMut::new();
        reach.encode(&mut out);
        assert_eq!(out.len(), reach.encoded_len());
        assert_eq!(&out[..], &value[..]);
    }

    #[test]
    fn next_hop_length_that_does_not_fit_resets() {
        // RFC 7606 §7.11: session reset, Optional Attribute Error (RFC 4760 §7).
        let v6_with_4 = Bytes::from_static(&[0, 2, 1, 4, 10, 0, 0, 1, 0]);
        let err = MpReach::decode(&v6_with_4, &ctx()).unwrap_err();
        assert_eq!(err.verdict, Verdict::Reset);
        assert_eq!(err.subcode, update_error::OPTIONAL_ATTRIBUTE);
        let mut v4_with_16 = vec![0, 1, 1, 16];
        v4_with_16.extend([0u8; 16]);
        v4_with_16.extend([0, 24, 10, 0, 0]);
        let v4_with_16 = Bytes::from(v4_with_16);
        assert_eq!(
            MpReach::decode(&v4_with_16, &ctx()).unwrap_err().verdict,
            Verdict::Reset
        );
        // RFC 8950 §3: allowed once Extended Next Hop is negotiated.
        let ext = DecodeContext {
            extended_next_hop_ipv4: true,
            ..ctx()
        };
        let reach = MpReach::decode(&v4_with_16, &ext).unwrap();
        assert!(matches!(
            reach,
            MpReach::Ipv4 {
                next_hop: NextHop::V6(_),
                ..
            }
        ));
    }

    #[test]
    fn bad_framing_or_prefixes_reset() {
        // RFC 4760 §7, RFC 7606 §5.3 and §3 (j).
        for value in [
            &[0, 2][..],
            &[0, 2, 1],
            &[0, 2, 1, 16, 0],
            &[0, 1, 1, 4, 10, 0, 0, 1],
            &[0, 1, 1, 4, 10, 0, 0, 1, 0, 33, 1, 1, 1, 1, 1],
        ] {
            let err = MpReach::decode(&Bytes::copy_from_slice(value), &ctx()).unwrap_err();
            assert_eq!(err.verdict, Verdict::Reset, "{value:?}");
        }
        for value in [&[0, 2][..], &[0, 2, 1, 129]] {
            let err = MpUnreach::decode(&Bytes::copy_from_slice(value)).unwrap_err();
            assert_eq!(err.verdict, Verdict::Reset, "{value:?}");
        }
    }

    #[test]
    fn other_families_are_kept_opaque() {
        // AFI 1 SAFI 128 (VPNv4): framing checked, content kept as is.
        let value = Bytes::from_static(&[0, 1, 128, 12, 0, 0, 0, 0, 0, 0, 0, 0, 10, 0, 0, 1, 0]);
        let reach = MpReach::decode(&value, &ctx()).unwrap();
        assert_eq!(reach.family(), Family::new(Afi::IPV4, Safi(128)));
        assert!(!reach.has_nlri());
        let mut out = BytesMut::new();
        reach.encode(&mut out);
        assert_eq!(&out[..], &value[..]);
        let unreach = MpUnreach::decode(&Bytes::from_static(&[0, 25, 70])).unwrap();
        assert!(unreach.is_empty());
        assert_eq!(unreach.family(), Family::new(Afi(25), Safi(70)));
    }
}
