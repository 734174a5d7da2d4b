//! UPDATE (RFC 4271 §4.3).
//!
//! ```text
//! +-----------------------------------------------------+
//! |   Withdrawn Routes Length (2 octets)                |
//! +-----------------------------------------------------+
//! |   Withdrawn Routes (variable)                       |
//! +-----------------------------------------------------+
//! |   Total Path Attribute Length (2 octets)            |
//! +-----------------------------------------------------+
//! |   Path Attributes (variable)                        |
//! +-----------------------------------------------------+
//! |   Network Layer Reachability Information (variable) |
//! +-----------------------------------------------------+
//! ```
//!
//! A decoded UPDATE tells what to do with its routes, RFC 7606 applied: the
//! malformed attributes it was taken with are in `attribute_errors`, and when
//! one of them makes it treat-as-withdraw, the accessors already report its
//! announced prefixes as withdrawn.

use std::borrow::Cow;
use std::sync::Arc;

use bytes::{BufMut, Bytes, BytesMut};
use ipnet::IpNet;

use crate::asn::Asn;
use crate::error::{AttributeAction, AttributeError, DecodeError};
use crate::family::Family;
use crate::wire::DecodeContext;
use crate::wire::attribute::{
    self, AsPath, Attrs, Layout, MpReach, MpUnreach, NextHop, Section, type_code,
};
use crate::wire::nlri::{Ipv4Nlri, Prefixes, V4, V6};
use crate::wire::notification::{ErrorCode, Notification, header_error, update_error};

/// The common message header in front of every body (RFC 4271 §4.1).
const HEADER_LEN: usize = 19;

/// The largest UPDATE body this session may send or receive: 4096 octets
/// per message (RFC 4271 §4.1), or 65535 with Extended Message (RFC 8654
/// §4), less the header.
pub fn max_body_len(ctx: &DecodeContext) -> usize {
    let max = if ctx.extended_message { 65535 } else { 4096 };
    max - HEADER_LEN
}

/// An UPDATE message.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Update {
    /// The Withdrawn Routes field: IPv4 unicast prefixes withdrawn.
    pub withdrawn: Ipv4Nlri,
    /// Shared, so every route of the UPDATE can hold them without a copy.
    pub attrs: Arc<Attrs>,
    /// Boxed, as most UPDATEs carry none and a message stays small.
    pub mp_reach: Option<Box<MpReach>>,
    pub mp_unreach: Option<Box<MpUnreach>>,
    /// The NLRI field: IPv4 unicast prefixes announced.
    pub nlri: Ipv4Nlri,
    /// Attribute order and flags as received; empty for a built UPDATE.
    pub layout: Layout,
    /// The malformed attributes this UPDATE was taken with (RFC 7606 §2).
    pub attribute_errors: Vec<AttributeError>,
}

fn reset(code: ErrorCode, subcode: u8, data: Bytes, reason: &'static str) -> DecodeError {
    DecodeError::new(Notification::new(code, subcode, data), reason)
}

fn read_u16(body: &[u8], at: usize) -> Option<usize> {
    let octets = body.get(at..at.checked_add(2)?)?;
    Some(usize::from(u16::from_be_bytes(octets.try_into().ok()?)))
}

impl Update {
    /// Decode the body of an UPDATE (everything after the 19-octet header).
    /// `Err` means the session must be reset with its NOTIFICATION; every
    /// lesser reaction of RFC 7606 is reported in `attribute_errors`.
    pub fn decode(body: Bytes, ctx: &DecodeContext) -> Result<Update, DecodeError> {
        let Some(withdrawn_len) = read_u16(&body, 0).filter(|_| body.len() >= 4) else {
            // RFC 4271 §6.1: shorter than the 23 octets of an empty UPDATE.
            let len = u16::try_from(body.len() + HEADER_LEN).unwrap_or(u16::MAX);
            return Err(reset(
                ErrorCode::MESSAGE_HEADER,
                header_error::BAD_MESSAGE_LENGTH,
                Bytes::copy_from_slice(&len.to_be_bytes()),
                "UPDATE shorter than 23 octets (RFC 4271 §6.1)",
            ));
        };
        let too_large = || {
            // RFC 7606 §3 (b) keeps RFC 4271 §6.3: Withdrawn Routes Length or
            // Total Attribute Length too large is Malformed Attribute List.
            reset(
                ErrorCode::UPDATE,
                update_error::MALFORMED_ATTRIBUTE_LIST,
                Bytes::new(),
                "Withdrawn Routes or Total Attribute Length too large (RFC 7606 §3 (b))",
            )
        };
        let attrs_len = read_u16(&body, 2 + withdrawn_len).ok_or_else(too_large)?;
        let attrs_start = 4 + withdrawn_len;
        let nlri_start = attrs_start + attrs_len;
        if nlri_start > body.len() {
            return Err(too_large());
        }
        let invalid_network = |reason| {
            reset(
                ErrorCode::UPDATE,
                update_error::INVALID_NETWORK_FIELD,
                Bytes::new(),
                reason,
            )
        };
        // RFC 7606 §5.3 (and §3 for Withdrawn Routes): syntactically
        // incorrect prefixes reset the session, Invalid Network Field
        // (RFC 4271 §6.3).
        let withdrawn = Ipv4Nlri::validate(body.slice(2..2 + withdrawn_len)).ok_or_else(|| {
            invalid_network("Withdrawn Routes syntactically incorrect (RFC 7606 §5.3)")
        })?;
        let nlri = Ipv4Nlri::validate(body.slice(nlri_start..))
            .ok_or_else(|| invalid_network("NLRI syntactically incorrect (RFC 7606 §5.3)"))?;
        let attrs = body.slice(attrs_start..nlri_start);
        let mut d = attribute::decode(&attrs, ctx, !nlri.is_empty())?;

        let announces = !nlri.is_empty() || d.mp_reach.as_ref().is_some_and(MpReach::has_nlri);
        if announces {
            // RFC 7606 §3 (d): a missing well-known mandatory attribute is
            // treat-as-withdraw. NEXT_HOP is only needed for the NLRI field
            // (RFC 4760 §3).
            let mandatory = [
                (type_code::ORIGIN, true, "ORIGIN missing (RFC 7606 §3 (d))"),
                (
                    type_code::AS_PATH,
                    true,
                    "AS_PATH missing (RFC 7606 §3 (d))",
                ),
                (
                    type_code::NEXT_HOP,
                    !nlri.is_empty(),
                    "NEXT_HOP missing (RFC 7606 §3 (d))",
                ),
            ];
            for (code, needed, reason) in mandatory {
                if needed && !d.seen.contains(code) {
                    d.errors.push(AttributeError {
                        type_code: code,
                        action: AttributeAction::TreatAsWithdraw,
                        reason,
                    });
                }
            }
        } else if let Some(notification) = d.withdraw_notification.take() {
            // RFC 7606 §5.2: an UPDATE with path attributes but no reachable
            // NLRI cannot be treated as withdraw; anything worse than a
            // discard resets the session.
            return Err(DecodeError::new(
                notification,
                "malformed attribute in an UPDATE without reachable NLRI (RFC 7606 §5.2)",
            ));
        }
        Ok(Update {
            withdrawn,
            attrs: Arc::new(d.attrs),
            mp_reach: d.mp_reach.map(Box::new),
            mp_unreach: d.mp_unreach.map(Box::new),
            nlri,
            layout: d.layout,
            attribute_errors: d.errors,
        })
    }

    /// Append the body of this UPDATE (without the header) to `out`.
    pub fn encode_body(&self, ctx: &DecodeContext, out: &mut BytesMut) {
        out.put_u16(u16::try_from(self.withdrawn.wire_len()).unwrap_or(u16::MAX));
        out.put_slice(self.withdrawn.as_bytes());
        let len_at = out.len();
        out.put_u16(0);
        Section {
            attrs: &self.attrs,
            mp_reach: self.mp_reach.as_deref(),
            mp_unreach: self.mp_unreach.as_deref(),
            layout: &self.layout,
        }
        .encode(ctx, out);
        let attrs_len = u16::try_from(out.len() - len_at - 2).unwrap_or(u16::MAX);
        if let Some(slot) = out.get_mut(len_at..len_at + 2) {
            slot.copy_from_slice(&attrs_len.to_be_bytes());
        }
        out.put_slice(self.nlri.as_bytes());
    }

    /// Whether every route of this UPDATE is to be withdrawn because of a
    /// malformed attribute (RFC 7606 §2 "treat-as-withdraw"; §3 (h): the
    /// strongest reaction of several wins).
    pub fn treat_as_withdraw(&self) -> bool {
        self.attribute_errors
            .iter()
            .any(|e| e.action == AttributeAction::TreatAsWithdraw)
    }

    /// The attributes discarded, for the log (RFC 7606 §6).
    pub fn discarded(&self) -> impl Iterator<Item = &AttributeError> {
        self.attribute_errors
            .iter()
            .filter(|e| e.action == AttributeAction::Discard)
    }

    fn reach_v4(&self) -> &[u8] {
        match self.mp_reach.as_deref() {
            Some(MpReach::Ipv4 { nlri, .. }) => nlri.as_bytes(),
            _ => &[],
        }
    }

    fn reach_v6(&self) -> &[u8] {
        match self.mp_reach.as_deref() {
            Some(MpReach::Ipv6 { nlri, .. }) => nlri.as_bytes(),
            _ => &[],
        }
    }

    /// IPv4 unicast prefixes announced (NLRI field, then MP_REACH_NLRI).
    /// None when the UPDATE is treated as withdraw.
    pub fn announced_v4(&self) -> Prefixes<'_, V4> {
        if self.treat_as_withdraw() {
            return Prefixes::new([&[]; 4]);
        }
        Prefixes::new([self.nlri.as_bytes(), self.reach_v4(), &[], &[]])
    }

    /// IPv6 unicast prefixes announced (MP_REACH_NLRI). None when the
    /// UPDATE is treated as withdraw.
    pub fn announced_v6(&self) -> Prefixes<'_, V6> {
        if self.treat_as_withdraw() {
            return Prefixes::new([&[]; 4]);
        }
        Prefixes::new([self.reach_v6(), &[], &[], &[]])
    }

    /// IPv4 unicast prefixes withdrawn (Withdrawn Routes, MP_UNREACH_NLRI)
    /// and, when the UPDATE is treated as withdraw, the announced ones too,
    /// "as if they had been listed in the Withdrawn Routes field" (RFC 7606
    /// §2).
    pub fn withdrawn_v4(&self) -> Prefixes<'_, V4> {
        let unreach = match self.mp_unreach.as_deref() {
            Some(MpUnreach::Ipv4(nlri)) => nlri.as_bytes(),
            _ => &[],
        };
        let (nlri, reach): (&[u8], &[u8]) = if self.treat_as_withdraw() {
            (self.nlri.as_bytes(), self.reach_v4())
        } else {
            (&[], &[])
        };
        Prefixes::new([self.withdrawn.as_bytes(), unreach, nlri, reach])
    }

    /// IPv6 unicast prefixes withdrawn (MP_UNREACH_NLRI) and, when the
    /// UPDATE is treated as withdraw, the announced ones (RFC 7606 §2).
    pub fn withdrawn_v6(&self) -> Prefixes<'_, V6> {
        let unreach = match self.mp_unreach.as_deref() {
            Some(MpUnreach::Ipv6(nlri)) => nlri.as_bytes(),
            _ => &[],
        };
        let reach = if self.treat_as_withdraw() {
            self.reach_v6()
        } else {
            &[]
        };
        Prefixes::new([unreach, reach, &[], &[]])
    }

    /// Every unicast prefix announced, IPv4 first.
    pub fn announced(&self) -> impl Iterator<Item = IpNet> + '_ {
        self.announced_v4()
            .map(IpNet::V4)
            .chain(self.announced_v6().map(IpNet::V6))
    }

    /// Every unicast prefix withdrawn, IPv4 first.
    pub fn withdrawn(&self) -> impl Iterator<Item = IpNet> + '_ {
        self.withdrawn_v4()
            .map(IpNet::V4)
            .chain(self.withdrawn_v6().map(IpNet::V6))
    }

    /// The next hop of the prefixes announced for `family`: MP_REACH_NLRI's
    /// for IPv6 (and for IPv4 when it carries them), NEXT_HOP for the IPv4
    /// NLRI field.
    pub fn next_hop(&self, family: Family) -> Option<NextHop> {
        match (self.mp_reach.as_deref(), family) {
            (Some(MpReach::Ipv4 { next_hop, .. }), Family::IPV4_UNICAST) => Some(*next_hop),
            (Some(MpReach::Ipv6 { next_hop, .. }), Family::IPV6_UNICAST) => {
                Some(NextHop::V6(*next_hop))
            }
            (_, Family::IPV4_UNICAST) => self.attrs.base.next_hop.map(NextHop::V4),
            _ => None,
        }
    }

    /// The AS path of the announced routes, AS4_PATH merged in (RFC 6793
    /// §4.2.3), as a list of ASNs; empty without AS_PATH.
    pub fn as_path(&self) -> Vec<Asn> {
        self.attrs
            .effective_as_path()
            .map(|p| p.asns().collect())
            .unwrap_or_default()
    }

    /// The effective AS path with its segments (RFC 6793 §4.2.3).
    pub fn effective_as_path(&self) -> Option<Cow<'_, AsPath>> {
        self.attrs.effective_as_path()
    }

    /// The family this UPDATE marks the End-of-RIB of (RFC 4724 §2): an
    /// empty UPDATE for IPv4 unicast, and for any other family an UPDATE
    /// with nothing but an empty MP_UNREACH_NLRI of that family.
    pub fn end_of_rib(&self) -> Option<Family> {
        if !self.withdrawn.is_empty()
            || !self.nlri.is_empty()
            || self.mp_reach.is_some()
            || !self.attrs.is_empty()
            || !self.attribute_errors.is_empty()
        {
            return None;
        }
        match self.mp_unreach.as_deref() {
            None => Some(Family::IPV4_UNICAST),
            Some(unreach) if unreach.is_empty() => Some(unreach.family()),
            Some(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn ctx() -> DecodeContext {
        DecodeContext {
            four_octet_as: true,
            ..DecodeContext::default()
        }
    }

    fn hex(s: &str) -> Bytes {
        Bytes::from(
            (0..s.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
                .collect::<Vec<u8>>(),
        )
    }

    #[test]
    fn frr_ipv4_update_decodes_and_encodes_back() {
        // Captured from FRR 8.4 (AS 65001) to BIRD: ORIGIN, AS_PATH in
        // extended-length form, NEXT_HOP, MED and three /16, /25, /25.
        let body = hex(
            "0000001c400101005002000602010000fde94003040a63000180040400000000100a0119cb00718019cb007100",
        );
        let u = Update::decode(body.clone(), &ctx()).unwrap();
        assert!(u.attribute_errors.is_empty());
        assert_eq!(u.as_path(), [Asn(65001)]);
        assert_eq!(
            u.next_hop(Family::IPV4_UNICAST),
            Some(NextHop::V4(Ipv4Addr::new(10, 99, 0, 1)))
        );
        let prefixes: Vec<_> = u.announced().map(|p| p.to_string()).collect();
        assert_eq!(
            prefixes,
            ["10.1.0.0/16", "203.0.113.128/25", "203.0.113.0/25"]
        );
        let mut out = BytesMut::new();
        u.encode_body(&ctx(), &mut out);
        assert_eq!(&out[..], &body[..]);
    }

    #[test]
    fn end_of_rib_is_recognized_per_family() {
        // RFC 4724 §2.
        let v4 = Update::decode(hex("00000000"), &ctx()).unwrap();
        assert_eq!(v4.end_of_rib(), Some(Family::IPV4_UNICAST));
        // Captured from FRR 8.4: MP_UNREACH_NLRI AFI 2 SAFI 1, empty.
        let v6 = Update::decode(hex("00000006800f03000201"), &ctx()).unwrap();
        assert_eq!(v6.end_of_rib(), Some(Family::IPV6_UNICAST));
        let w = Update::decode(hex("0002080a00000000"), &ctx()).unwrap();
        assert_eq!(w.end_of_rib(), None);
    }

    #[test]
    fn treat_as_withdraw_reports_announced_prefixes_as_withdrawn() {
        // RFC 7606 §2 and §7.1: ORIGIN 5 is undefined.
        let body = hex("00000014400101054002060201000000014003040a00000118c0a801");
        let u = Update::decode(body, &ctx()).unwrap();
        assert!(u.treat_as_withdraw());
        assert_eq!(u.announced().count(), 0);
        let gone: Vec<_> = u.withdrawn().map(|p| p.to_string()).collect();
        assert_eq!(gone, ["192.168.1.0/24"]);
    }

    #[test]
    fn withdraw_only_update_with_a_withdraw_error_resets() {
        // RFC 7606 §5.2: no reachable NLRI, so the ORIGIN error resets.
        let body = hex("0002080a000440010105");
        let err = Update::decode(body, &ctx()).unwrap_err();
        assert_eq!(err.notification.code, ErrorCode::UPDATE);
        assert_eq!(err.notification.subcode, update_error::INVALID_ORIGIN);
        assert_eq!(&err.notification.data[..], [0x40, 1, 1, 5]);
    }

    #[test]
    fn short_body_is_bad_message_length() {
        // RFC 4271 §6.1.
        let err = Update::decode(hex("0000"), &ctx()).unwrap_err();
        assert_eq!(err.notification.code, ErrorCode::MESSAGE_HEADER);
        assert_eq!(&err.notification.data[..], [0, 21]);
    }
}
