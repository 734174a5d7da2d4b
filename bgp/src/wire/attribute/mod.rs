//! Path attributes (RFC 4271 §4.3 and §5): the typed set, the decode loop
//! that gives every malformed attribute its RFC 7606 outcome, and the
//! encoder.
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |O|T|P|E| unused|   Type Code   | Length (1 octet, 2 if E)      |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                       Value (Length octets)                   |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//!
//! Each attribute has one field in [`Attrs`], so a duplicate cannot exist
//! once decoded. The order and flags the sender used are kept apart in a
//! [`Layout`], so a decoded UPDATE encodes back to the octets received;
//! attributes without a layout entry go out in canonical order with minimal
//! flags.

pub mod aggregator;
pub mod as_path;
pub mod communities;
pub mod large_communities;
pub mod med_local_pref;
pub mod mp;
pub mod next_hop;
pub mod origin;
pub mod reflection;
pub mod unknown;

use std::borrow::Cow;
use std::net::Ipv4Addr;

use bytes::{BufMut, Bytes, BytesMut};

pub use aggregator::Aggregator;
pub use as_path::{AsPath, AsWidth, Segment, SegmentKind};
pub use communities::Community;
pub use large_communities::LargeCommunity;
pub use mp::{MpReach, MpUnreach};
pub use next_hop::{Ipv6NextHop, NextHop};
pub use origin::Origin;
pub use reflection::ClusterId;
pub use unknown::RawAttribute;

use crate::asn::Asn;
use crate::error::{AttributeAction, AttributeError, DecodeError};
use crate::router_id::RouterId;
use crate::wire::DecodeContext;
use crate::wire::notification::{ErrorCode, Notification, update_error};

/// Attribute type codes (IANA "BGP Path Attributes").
pub mod type_code {
    pub const ORIGIN: u8 = 1;
    pub const AS_PATH: u8 = 2;
    pub const NEXT_HOP: u8 = 3;
    pub const MULTI_EXIT_DISC: u8 = 4;
    pub const LOCAL_PREF: u8 = 5;
    pub const ATOMIC_AGGREGATE: u8 = 6;
    pub const AGGREGATOR: u8 = 7;
    pub const COMMUNITIES: u8 = 8;
    pub const ORIGINATOR_ID: u8 = 9;
    pub const CLUSTER_LIST: u8 = 10;
    pub const MP_REACH_NLRI: u8 = 14;
    pub const MP_UNREACH_NLRI: u8 = 15;
    pub const AS4_PATH: u8 = 17;
    pub const AS4_AGGREGATOR: u8 = 18;
    pub const LARGE_COMMUNITIES: u8 = 32;
}

use type_code::*;

/// The Attribute Flags octet (RFC 4271 §4.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct AttrFlags(pub u8);

impl AttrFlags {
    pub const OPTIONAL: u8 = 0x80;
    pub const TRANSITIVE: u8 = 0x40;
    pub const PARTIAL: u8 = 0x20;
    pub const EXTENDED_LENGTH: u8 = 0x10;

    pub fn is_optional(self) -> bool {
        self.0 & AttrFlags::OPTIONAL != 0
    }

    pub fn is_extended_length(self) -> bool {
        self.0 & AttrFlags::EXTENDED_LENGTH != 0
    }

    fn with_extended_length(self, on: bool) -> AttrFlags {
        if on {
            AttrFlags(self.0 | AttrFlags::EXTENDED_LENGTH)
        } else {
            AttrFlags(self.0 & !AttrFlags::EXTENDED_LENGTH)
        }
    }
}

/// The Optional and Transitive bits each recognized attribute is defined
/// with (RFC 4271 §5, RFC 4456 §8, RFC 4760 §3-4, RFC 6793 §3, RFC 8092 §3).
fn defined_flags(code: u8) -> Option<u8> {
    const WELL_KNOWN: u8 = AttrFlags::TRANSITIVE;
    const OPTIONAL: u8 = AttrFlags::OPTIONAL;
    const OPTIONAL_TRANSITIVE: u8 = AttrFlags::OPTIONAL | AttrFlags::TRANSITIVE;
    match code {
        ORIGIN | AS_PATH | NEXT_HOP | LOCAL_PREF | ATOMIC_AGGREGATE => Some(WELL_KNOWN),
        MULTI_EXIT_DISC | ORIGINATOR_ID | CLUSTER_LIST | MP_REACH_NLRI | MP_UNREACH_NLRI => {
            Some(OPTIONAL)
        }
        AGGREGATOR | COMMUNITIES | AS4_PATH | AS4_AGGREGATOR | LARGE_COMMUNITIES => {
            Some(OPTIONAL_TRANSITIVE)
        }
        _ => None,
    }
}

/// The attributes every route of an UPDATE shares, one field per type.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct BaseAttrs {
    pub origin: Option<Origin>,
    pub as_path: Option<AsPath>,
    /// Only from a 2-octet AS speaker (RFC 6793 §4.2.3); see
    /// [`Attrs::effective_as_path`].
    pub as4_path: Option<AsPath>,
    /// The IPv4 next hop of the prefixes in the NLRI field.
    pub next_hop: Option<Ipv4Addr>,
    pub med: Option<u32>,
    /// Only from an internal peer (RFC 7606 §7.5).
    pub local_pref: Option<u32>,
    pub atomic_aggregate: bool,
    pub aggregator: Option<Aggregator>,
    pub as4_aggregator: Option<Aggregator>,
    /// Only from an internal peer (RFC 7606 §7.9).
    pub originator_id: Option<RouterId>,
}

/// The path attributes of an UPDATE, MP_REACH_NLRI and MP_UNREACH_NLRI
/// aside (they carry prefixes, and live in the `Update`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Attrs {
    pub base: BaseAttrs,
    /// Empty when absent: an empty COMMUNITIES is malformed (RFC 7606 §7.8).
    pub communities: Vec<Community>,
    /// Empty when absent (RFC 8092 §6).
    pub large_communities: Vec<LargeCommunity>,
    /// Empty when absent; only from an internal peer (RFC 7606 §7.10).
    pub cluster_list: Vec<ClusterId>,
    /// Attributes not recognized, in wire order.
    pub unknown: Vec<RawAttribute>,
}

impl Attrs {
    pub fn is_empty(&self) -> bool {
        *self == Attrs::default()
    }

    /// The AS path of the route: AS_PATH, merged with AS4_PATH when a
    /// 2-octet AS speaker sent one (RFC 6793 §4.2.3). An AGGREGATOR whose ASN
    /// is not AS_TRANS means AS4_PATH is ignored (RFC 6793 §4.2.3).
    pub fn effective_as_path(&self) -> Option<Cow<'_, AsPath>> {
        let path = self.base.as_path.as_ref()?;
        let as4 = self
            .base
            .as4_path
            .as_ref()
            .filter(|_| self.base.aggregator.is_none_or(|a| a.asn == Asn::TRANS));
        Some(match as4 {
            Some(as4) => Cow::Owned(path.merge_as4(as4)),
            None => Cow::Borrowed(path),
        })
    }

    /// The aggregating speaker: AS4_AGGREGATOR replaces an AGGREGATOR that
    /// holds AS_TRANS, and is ignored otherwise (RFC 6793 §4.2.3).
    pub fn effective_aggregator(&self) -> Option<Aggregator> {
        let aggregator = self.base.aggregator?;
        match self.base.as4_aggregator {
            Some(as4) if aggregator.asn == Asn::TRANS => Some(as4),
            _ => Some(aggregator),
        }
    }
}

/// The order and flags of the attributes as they came on the wire. Empty for
/// an UPDATE built here: then the canonical order and flags apply.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Layout {
    entries: Vec<(u8, AttrFlags)>,
}

impl Layout {
    /// (type code, flags) of each attribute kept, in wire order.
    pub fn entries(&self) -> &[(u8, AttrFlags)] {
        &self.entries
    }
}

/// How bad one malformed attribute is (RFC 7606 §2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    Discard,
    Withdraw,
    Reset,
}

/// What an attribute decoder says about a malformed attribute: the RFC 7606
/// reaction, the RFC 4271 §6.3 subcode the NOTIFICATION carries if it comes
/// to a reset, and why, citing the rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Malformed {
    pub verdict: Verdict,
    pub subcode: u8,
    pub reason: &'static str,
}

impl Malformed {
    pub(crate) fn discard(subcode: u8, reason: &'static str) -> Malformed {
        Malformed {
            verdict: Verdict::Discard,
            subcode,
            reason,
        }
    }

    pub(crate) fn withdraw(subcode: u8, reason: &'static str) -> Malformed {
        Malformed {
            verdict: Verdict::Withdraw,
            subcode,
            reason,
        }
    }

    pub(crate) fn reset(subcode: u8, reason: &'static str) -> Malformed {
        Malformed {
            verdict: Verdict::Reset,
            subcode,
            reason,
        }
    }
}

/// RFC 4271 §6.3: the Data field of an UPDATE Message Error NOTIFICATION.
/// Most subcodes carry the attribute (type, length and value); Missing
/// Well-known Attribute carries the type code; the others nothing.
fn notification(subcode: u8, code: u8, attribute: &Bytes) -> Notification {
    let data = match subcode {
        update_error::UNRECOGNIZED_WELL_KNOWN
        | update_error::ATTRIBUTE_FLAGS
        | update_error::ATTRIBUTE_LENGTH
        | update_error::INVALID_ORIGIN
        | update_error::INVALID_NEXT_HOP
        | update_error::OPTIONAL_ATTRIBUTE => attribute.clone(),
        update_error::MISSING_WELL_KNOWN => Bytes::copy_from_slice(&[code]),
        _ => Bytes::new(),
    };
    Notification::new(ErrorCode::UPDATE, subcode, data)
}

/// A set of type codes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct CodeSet([u64; 4]);

impl CodeSet {
    pub(crate) fn contains(&self, code: u8) -> bool {
        let word = self.0.get(usize::from(code >> 6)).copied().unwrap_or(0);
        word & (1 << (code & 63)) != 0
    }

    fn insert(&mut self, code: u8) {
        if let Some(word) = self.0.get_mut(usize::from(code >> 6)) {
            *word |= 1 << (code & 63);
        }
    }
}

/// Everything the attribute section of an UPDATE gave.
#[derive(Debug, Default)]
pub(crate) struct Decoded {
    pub attrs: Attrs,
    pub mp_reach: Option<MpReach>,
    pub mp_unreach: Option<MpUnreach>,
    pub layout: Layout,
    pub errors: Vec<AttributeError>,
    /// Type codes met, malformed or not.
    pub seen: CodeSet,
    /// The NOTIFICATION of the first treat-as-withdraw error, for when RFC
    /// 7606 §5.2 turns it into a reset.
    pub withdraw_notification: Option<Notification>,
}

/// Read the path attributes. `has_nlri_field` says whether the UPDATE's NLRI
/// field announces prefixes (NEXT_HOP only matters then, RFC 4760 §3).
pub(crate) fn decode(
    data: &Bytes,
    ctx: &DecodeContext,
    has_nlri_field: bool,
) -> Result<Decoded, DecodeError> {
    let mut d = Decoded {
        layout: Layout {
            entries: Vec::with_capacity(8),
        },
        ..Decoded::default()
    };
    let mut pos = 0usize;
    while let Some(rest) = data.get(pos..).filter(|r| !r.is_empty()) {
        let header = match rest {
            [flags, code, hi, lo, ..] if flags & AttrFlags::EXTENDED_LENGTH != 0 => Some((
                *flags,
                *code,
                4,
                usize::from(u16::from_be_bytes([*hi, *lo])),
            )),
            [flags, code, len, ..] if flags & AttrFlags::EXTENDED_LENGTH == 0 => {
                Some((*flags, *code, 3, usize::from(*len)))
            }
            _ => None,
        };
        let code = rest.get(1).copied();
        let Some((flags, code, header_len, value_len)) =
            header.filter(|&(_, _, h, v)| h + v <= rest.len())
        else {
            d.framing_error(code)?;
            break;
        };
        let end = pos + header_len + value_len;
        let attribute = data.slice(pos..end);
        let value = data.slice(pos + header_len..end);
        pos = end;
        d.take(
            AttrFlags(flags),
            code,
            &attribute,
            &value,
            ctx,
            has_nlri_field,
        )?;
    }
    Ok(d)
}

impl Decoded {
    /// RFC 7606 §4: the attributes cannot be framed any further (fewer
    /// octets than a header are left, or an attribute overruns the section).
    /// Treat-as-withdraw; the Total Path Attribute Length still locates the
    /// NLRI field. An MP_REACH_NLRI or MP_UNREACH_NLRI cut short cannot be
    /// withdrawn around, so it resets (RFC 7606 §3 (j), RFC 4760 §7).
    fn framing_error(&mut self, code: Option<u8>) -> Result<(), DecodeError> {
        if let Some(code @ (MP_REACH_NLRI | MP_UNREACH_NLRI)) = code {
            return Err(DecodeError::new(
                Notification::new(
                    ErrorCode::UPDATE,
                    update_error::OPTIONAL_ATTRIBUTE,
                    Bytes::new(),
                ),
                if code == MP_REACH_NLRI {
                    "MP_REACH_NLRI overruns the path attributes (RFC 7606 §3 (j))"
                } else {
                    "MP_UNREACH_NLRI overruns the path attributes (RFC 7606 §3 (j))"
                },
            ));
        }
        self.record(
            code.unwrap_or(0),
            Malformed::withdraw(
                update_error::MALFORMED_ATTRIBUTE_LIST,
                "attribute overruns the path attributes (RFC 7606 §4)",
            ),
            &Bytes::new(),
        )
    }

    fn record(&mut self, code: u8, m: Malformed, attribute: &Bytes) -> Result<(), DecodeError> {
        let action = match m.verdict {
            Verdict::Reset => {
                return Err(DecodeError::new(
                    notification(m.subcode, code, attribute),
                    m.reason,
                ));
            }
            Verdict::Withdraw => {
                if self.withdraw_notification.is_none() {
                    self.withdraw_notification = Some(notification(m.subcode, code, attribute));
                }
                AttributeAction::TreatAsWithdraw
            }
            Verdict::Discard => AttributeAction::Discard,
        };
        self.errors.push(AttributeError {
            type_code: code,
            action,
            reason: m.reason,
        });
        Ok(())
    }

    fn take(
        &mut self,
        flags: AttrFlags,
        code: u8,
        attribute: &Bytes,
        value: &Bytes,
        ctx: &DecodeContext,
        has_nlri_field: bool,
    ) -> Result<(), DecodeError> {
        if self.seen.contains(code) {
            if matches!(code, MP_REACH_NLRI | MP_UNREACH_NLRI) {
                // RFC 7606 §3 (g): a repeated MP_REACH_NLRI or
                // MP_UNREACH_NLRI is Malformed Attribute List.
                return Err(DecodeError::new(
                    Notification::new(
                        ErrorCode::UPDATE,
                        update_error::MALFORMED_ATTRIBUTE_LIST,
                        Bytes::new(),
                    ),
                    "MP_REACH_NLRI or MP_UNREACH_NLRI appears twice (RFC 7606 §3 (g))",
                ));
            }
            // RFC 7606 §3 (g): every other repeat is discarded; the first
            // occurrence stands, whatever became of it.
            return self.record(
                code,
                Malformed::discard(
                    update_error::MALFORMED_ATTRIBUTE_LIST,
                    "attribute repeated; all but the first discarded (RFC 7606 §3 (g))",
                ),
                attribute,
            );
        }
        self.seen.insert(code);
        match self.take_value(flags, code, value, ctx, has_nlri_field) {
            Ok(()) => {
                self.layout.entries.push((code, flags));
                Ok(())
            }
            Err(m) => self.record(code, m, attribute),
        }
    }

    fn take_value(
        &mut self,
        flags: AttrFlags,
        code: u8,
        value: &Bytes,
        ctx: &DecodeContext,
        has_nlri_field: bool,
    ) -> Result<(), Malformed> {
        let external = !ctx.ibgp;
        let width = if ctx.four_octet_as {
            AsWidth::Four
        } else {
            AsWidth::Two
        };
        let ignored = |reason| Malformed::discard(update_error::OPTIONAL_ATTRIBUTE, reason);
        match code {
            // RFC 7606 §7.5, §7.9, §7.10: meaningless from an external peer,
            // discarded unread.
            LOCAL_PREF if external => {
                return Err(ignored("LOCAL_PREF from an external peer (RFC 7606 §7.5)"));
            }
            ORIGINATOR_ID if external => {
                return Err(ignored(
                    "ORIGINATOR_ID from an external peer (RFC 7606 §7.9)",
                ));
            }
            CLUSTER_LIST if external => {
                return Err(ignored(
                    "CLUSTER_LIST from an external peer (RFC 7606 §7.10)",
                ));
            }
            // RFC 6793 §6: AS4_PATH and AS4_AGGREGATOR between two 4-octet AS
            // speakers are discarded.
            AS4_PATH if ctx.four_octet_as => {
                return Err(ignored("AS4_PATH from a 4-octet AS speaker (RFC 6793 §6)"));
            }
            AS4_AGGREGATOR if ctx.four_octet_as => {
                return Err(ignored(
                    "AS4_AGGREGATOR from a 4-octet AS speaker (RFC 6793 §6)",
                ));
            }
            _ => {}
        }
        // RFC 7606 §3 (c): Optional or Transitive bits that conflict with
        // the attribute's definition are treat-as-withdraw. MP_REACH_NLRI and
        // MP_UNREACH_NLRI are read first all the same, as treat-as-withdraw
        // needs their prefixes (RFC 7606 §3 (j)).
        let flags_conflict = defined_flags(code).is_some_and(|defined| {
            (flags.0 ^ defined) & (AttrFlags::OPTIONAL | AttrFlags::TRANSITIVE) != 0
        });
        let conflict = Malformed::withdraw(
            update_error::ATTRIBUTE_FLAGS,
            "Optional or Transitive flag conflicts with the type code (RFC 7606 §3 (c))",
        );
        if flags_conflict && !matches!(code, MP_REACH_NLRI | MP_UNREACH_NLRI) {
            return Err(conflict);
        }
        let base = &mut self.attrs.base;
        match code {
            ORIGIN => base.origin = Some(Origin::decode(value)?),
            AS_PATH => {
                // RFC 7606 §7.2: a malformed AS_PATH is treat-as-withdraw.
                let path = AsPath::decode(value, width).map_err(|reason| {
                    Malformed::withdraw(update_error::MALFORMED_AS_PATH, reason)
                })?;
                if external && path.contains_confed() {
                    // RFC 5065 §5 and RFC 7606 §7.2: confederation segments
                    // from outside the confederation.
                    return Err(Malformed::withdraw(
                        update_error::MALFORMED_AS_PATH,
                        "AS_CONFED segment from an external peer (RFC 5065 §5, RFC 7606 §7.2)",
                    ));
                }
                base.as_path = Some(path);
            }
            NEXT_HOP => base.next_hop = Some(next_hop::decode(value, has_nlri_field)?),
            MULTI_EXIT_DISC => base.med = Some(med_local_pref::decode_med(value)?),
            LOCAL_PREF => base.local_pref = Some(med_local_pref::decode_local_pref(value)?),
            ATOMIC_AGGREGATE => {
                aggregator::decode_atomic_aggregate(value)?;
                base.atomic_aggregate = true;
            }
            AGGREGATOR => base.aggregator = Some(Aggregator::decode(value, width)?),
            COMMUNITIES => self.attrs.communities = communities::decode(value)?,
            ORIGINATOR_ID => base.originator_id = Some(reflection::decode_originator_id(value)?),
            CLUSTER_LIST => self.attrs.cluster_list = reflection::decode_cluster_list(value)?,
            MP_REACH_NLRI => self.mp_reach = Some(MpReach::decode(value, ctx)?),
            MP_UNREACH_NLRI => self.mp_unreach = Some(MpUnreach::decode(value)?),
            AS4_PATH => {
                // RFC 6793 §6: a malformed AS4_PATH is discarded.
                let path = AsPath::decode(value, AsWidth::Four).map_err(|_| {
                    Malformed::discard(
                        update_error::OPTIONAL_ATTRIBUTE,
                        "AS4_PATH is malformed (RFC 6793 §6)",
                    )
                })?;
                if path.contains_confed() {
                    // RFC 6793 §6: confederation segments are dropped from
                    // AS4_PATH, the rest is used.
                    self.errors.push(AttributeError {
                        type_code: AS4_PATH,
                        action: AttributeAction::Discard,
                        reason: "AS_CONFED segments dropped from AS4_PATH (RFC 6793 §6)",
                    });
                }
                self.attrs.base.as4_path = Some(path.without_confed());
            }
            AS4_AGGREGATOR => base.as4_aggregator = Some(Aggregator::decode_as4(value)?),
            LARGE_COMMUNITIES => self.attrs.large_communities = large_communities::decode(value)?,
            _ => self
                .attrs
                .unknown
                .push(RawAttribute::decode(flags, code, value.clone())?),
        }
        if flags_conflict {
            return Err(conflict);
        }
        Ok(())
    }
}

/// One attribute value ready to be written.
enum Value<'a> {
    Origin(Origin),
    AsPath(&'a AsPath, AsWidth),
    Ipv4(Ipv4Addr),
    U32(u32),
    Empty,
    Aggregator(&'a Aggregator, AsWidth),
    Communities(&'a [Community]),
    ClusterList(&'a [ClusterId]),
    LargeCommunities(&'a [LargeCommunity]),
    MpReach(&'a MpReach),
    MpUnreach(&'a MpUnreach),
    Raw(&'a [u8]),
}

impl Value<'_> {
    fn len(&self) -> usize {
        match self {
            Value::Origin(_) => 1,
            Value::AsPath(path, width) => path.encoded_len(*width),
            Value::Ipv4(_) | Value::U32(_) => 4,
            Value::Empty => 0,
            Value::Aggregator(_, width) => Aggregator::encoded_len(*width),
            Value::Communities(c) => c.len() * 4,
            Value::ClusterList(c) => c.len() * 4,
            Value::LargeCommunities(c) => c.len() * 12,
            Value::MpReach(r) => r.encoded_len(),
            Value::MpUnreach(u) => u.encoded_len(),
            Value::Raw(v) => v.len(),
        }
    }

    fn write(&self, out: &mut BytesMut) {
        match self {
            Value::Origin(o) => o.encode(out),
            Value::AsPath(path, width) => path.encode(*width, out),
            Value::Ipv4(addr) => out.put_slice(&addr.octets()),
            Value::U32(v) => out.put_u32(*v),
            Value::Empty => {}
            Value::Aggregator(a, width) => a.encode(*width, out),
            Value::Communities(c) => communities::encode(c, out),
            Value::ClusterList(c) => reflection::encode_cluster_list(c, out),
            Value::LargeCommunities(c) => large_communities::encode(c, out),
            Value::MpReach(r) => r.encode(out),
            Value::MpUnreach(u) => u.encode(out),
            Value::Raw(v) => out.put_slice(v),
        }
    }
}

/// The attributes of one UPDATE, as the encoder sees them.
pub(crate) struct Section<'a> {
    pub attrs: &'a Attrs,
    pub mp_reach: Option<&'a MpReach>,
    pub mp_unreach: Option<&'a MpUnreach>,
    pub layout: &'a Layout,
}

impl<'a> Section<'a> {
    /// The value of attribute `code` and its canonical flags, if present.
    fn value(&self, code: u8, ctx: &DecodeContext) -> Option<(Value<'a>, AttrFlags)> {
        let width = if ctx.four_octet_as {
            AsWidth::Four
        } else {
            AsWidth::Two
        };
        let attrs: &'a Attrs = self.attrs;
        let base = &attrs.base;
        let value = match code {
            ORIGIN => Value::Origin(base.origin?),
            AS_PATH => Value::AsPath(base.as_path.as_ref()?, width),
            NEXT_HOP => Value::Ipv4(base.next_hop?),
            MULTI_EXIT_DISC => Value::U32(base.med?),
            LOCAL_PREF => Value::U32(base.local_pref?),
            ATOMIC_AGGREGATE => base.atomic_aggregate.then_some(Value::Empty)?,
            AGGREGATOR => Value::Aggregator(base.aggregator.as_ref()?, width),
            COMMUNITIES => Some(&attrs.communities[..])
                .filter(|c| !c.is_empty())
                .map(Value::Communities)?,
            ORIGINATOR_ID => Value::Ipv4(base.originator_id?.0),
            CLUSTER_LIST => Some(&attrs.cluster_list[..])
                .filter(|c| !c.is_empty())
                .map(Value::ClusterList)?,
            MP_REACH_NLRI => Value::MpReach(self.mp_reach?),
            MP_UNREACH_NLRI => Value::MpUnreach(self.mp_unreach?),
            AS4_PATH => Value::AsPath(base.as4_path.as_ref()?, AsWidth::Four),
            AS4_AGGREGATOR => Value::Aggregator(base.as4_aggregator.as_ref()?, AsWidth::Four),
            LARGE_COMMUNITIES => Some(&attrs.large_communities[..])
                .filter(|c| !c.is_empty())
                .map(Value::LargeCommunities)?,
            _ => {
                let raw = attrs.unknown.iter().find(|a| a.type_code == code)?;
                return Some((
                    Value::Raw(&raw.value),
                    raw.flags.with_extended_length(false),
                ));
            }
        };
        Some((
            value,
            AttrFlags(defined_flags(code).unwrap_or(AttrFlags::OPTIONAL)),
        ))
    }

    /// Append every attribute: those of the layout in its order and with its
    /// flags, then the rest in canonical order. Canonical is MP_REACH_NLRI
    /// and MP_UNREACH_NLRI first (RFC 7606 §5.1), then ascending type code
    /// (RFC 4271 §5), with the Extended Length bit only when the value needs
    /// it.
    pub(crate) fn encode(&self, ctx: &DecodeContext, out: &mut BytesMut) {
        let mut written = CodeSet::default();
        for &(code, flags) in &self.layout.entries {
            if !written.contains(code)
                && let Some((value, _)) = self.value(code, ctx)
            {
                put(code, flags, &value, out);
                written.insert(code);
            }
        }
        let canonical = [MP_REACH_NLRI, MP_UNREACH_NLRI]
            .into_iter()
            .chain((0..=u8::MAX).filter(|c| !matches!(*c, MP_REACH_NLRI | MP_UNREACH_NLRI)));
        for code in canonical {
            if !written.contains(code)
                && let Some((value, flags)) = self.value(code, ctx)
            {
                put(code, flags, &value, out);
                written.insert(code);
            }
        }
    }
}

fn put(code: u8, flags: AttrFlags, value: &Value<'_>, out: &mut BytesMut) {
    let len = value.len();
    // A sender's Extended Length bit is kept even where one octet would do;
    // it is added when the value needs two.
    let flags =
        flags.with_extended_length(flags.is_extended_length() || len > usize::from(u8::MAX));
    out.put_u8(flags.0);
    out.put_u8(code);
    if flags.is_extended_length() {
        out.put_u16(u16::try_from(len).unwrap_or(u16::MAX));
    } else {
        out.put_u8(len as u8);
    }
    value.write(out);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> DecodeContext {
        DecodeContext {
            four_octet_as: true,
            ..DecodeContext::default()
        }
    }

    fn decode_hex(attrs: &[u8], ctx: &DecodeContext) -> Result<Decoded, DecodeError> {
        decode(&Bytes::copy_from_slice(attrs), ctx, true)
    }

    #[test]
    fn wire_order_and_flags_survive_a_round_trip() {
        // FRR 8.4 puts AS_PATH in extended form (0x50) even when short.
        let wire = [
            0x40, 1, 1, 0, 0x50, 2, 0, 6, 2, 1, 0, 0, 0xfd, 0xe9, 0x40, 3, 4, 10, 99, 0, 1, 0x80,
            4, 4, 0, 0, 0, 0,
        ];
        let d = decode_hex(&wire, &ctx()).unwrap();
        assert!(d.errors.is_empty());
        let mut out = BytesMut::new();
        Section {
            attrs: &d.attrs,
            mp_reach: None,
            mp_unreach: None,
            layout: &d.layout,
        }
        .encode(&ctx(), &mut out);
        assert_eq!(&out[..], wire);
    }

    #[test]
    fn fresh_attributes_use_canonical_order_and_minimal_flags() {
        let attrs = Attrs {
            base: BaseAttrs {
                med: Some(5),
                origin: Some(Origin::Igp),
                as_path: Some(AsPath::sequence([Asn(65001)])),
                ..BaseAttrs::default()
            },
            ..Attrs::default()
        };
        let mut out = BytesMut::new();
        Section {
            attrs: &attrs,
            mp_reach: None,
            mp_unreach: None,
            layout: &Layout::default(),
        }
        .encode(&ctx(), &mut out);
        assert_eq!(
            &out[..],
            [
                0x40, 1, 1, 0, 0x40, 2, 6, 2, 1, 0, 0, 0xfd, 0xe9, 0x80, 4, 4, 0, 0, 0, 5
            ]
        );
    }

    #[test]
    fn flags_conflict_is_treat_as_withdraw() {
        // RFC 7606 §3 (c): ORIGIN marked optional.
        let d = decode_hex(&[0xc0, 1, 1, 0], &ctx()).unwrap();
        assert_eq!(d.errors[0].action, AttributeAction::TreatAsWithdraw);
        assert_eq!(d.attrs.base.origin, None);
        // The Partial bit is not a conflict (RFC 7606 §3 (c) names only O and T).
        let d = decode_hex(&[0x60, 1, 1, 0], &ctx()).unwrap();
        assert!(d.errors.is_empty());
    }

    #[test]
    fn duplicates_keep_the_first_and_mp_duplicates_reset() {
        // RFC 7606 §3 (g).
        let d = decode_hex(&[0x40, 1, 1, 0, 0x40, 1, 1, 2], &ctx()).unwrap();
        assert_eq!(d.attrs.base.origin, Some(Origin::Igp));
        assert_eq!(d.errors[0].action, AttributeAction::Discard);
        let unreach = [0x80, 15, 3, 0, 2, 1];
        let twice: Vec<u8> = unreach.iter().chain(unreach.iter()).copied().collect();
        let err = decode_hex(&twice, &ctx()).unwrap_err();
        assert_eq!(
            err.notification.subcode,
            update_error::MALFORMED_ATTRIBUTE_LIST
        );
    }

    #[test]
    fn framing_errors_withdraw_unless_mp() {
        // RFC 7606 §4: overrun and a header cut short.
        let d = decode_hex(&[0x40, 1, 5, 0], &ctx()).unwrap();
        assert_eq!(d.errors[0].action, AttributeAction::TreatAsWithdraw);
        let d = decode_hex(&[0x40, 1, 1, 0, 0x40], &ctx()).unwrap();
        assert_eq!(d.attrs.base.origin, Some(Origin::Igp));
        assert_eq!(d.errors[0].action, AttributeAction::TreatAsWithdraw);
        // RFC 7606 §3 (j): an MP attribute cut short resets.
        assert!(decode_hex(&[0x80, 14, 40, 0, 2, 1], &ctx()).is_err());
        assert!(decode_hex(&[0x90, 15, 0], &ctx()).is_err());
    }

    #[test]
    fn external_only_and_as4_attributes_are_discarded() {
        // RFC 7606 §7.5: LOCAL_PREF from an external peer.
        let d = decode_hex(&[0x40, 5, 4, 0, 0, 0, 100], &ctx()).unwrap();
        assert_eq!(d.attrs.base.local_pref, None);
        assert_eq!(d.errors[0].action, AttributeAction::Discard);
        let ibgp = DecodeContext {
            ibgp: true,
            ..ctx()
        };
        let d = decode_hex(&[0x40, 5, 4, 0, 0, 0, 100], &ibgp).unwrap();
        assert_eq!(d.attrs.base.local_pref, Some(100));
        // RFC 6793 §6: AS4_PATH between 4-octet speakers.
        let d = decode_hex(&[0xc0, 17, 6, 2, 1, 0, 0, 0, 1], &ctx()).unwrap();
        assert_eq!(d.attrs.base.as4_path, None);
        assert_eq!(d.errors[0].action, AttributeAction::Discard);
    }

    #[test]
    fn as4_path_confed_segments_are_dropped() {
        // RFC 6793 §6: the rest of AS4_PATH is used.
        let two = DecodeContext::default();
        let d = decode_hex(&[0xc0, 17, 12, 3, 1, 0, 0, 0, 9, 2, 1, 0, 0, 0, 7], &two).unwrap();
        assert_eq!(d.attrs.base.as4_path, Some(AsPath::sequence([Asn(7)])));
        assert_eq!(d.errors[0].action, AttributeAction::Discard);
    }

    #[test]
    fn effective_path_and_aggregator_follow_rfc_6793() {
        let mut attrs = Attrs::default();
        attrs.base.as_path = Some(AsPath::sequence([Asn(65001), Asn::TRANS]));
        attrs.base.as4_path = Some(AsPath::sequence([Asn(4_200_000_001)]));
        let path: Vec<Asn> = attrs.effective_as_path().unwrap().asns().collect();
        assert_eq!(path, [Asn(65001), Asn(4_200_000_001)]);
        // RFC 6793 §4.2.3: an AGGREGATOR that is not AS_TRANS voids AS4_PATH.
        let addr = Ipv4Addr::new(10, 0, 0, 1);
        attrs.base.aggregator = Some(Aggregator {
            asn: Asn(65001),
            address: addr,
        });
        attrs.base.as4_aggregator = Some(Aggregator {
            asn: Asn(4_200_000_001),
            address: addr,
        });
        let path: Vec<Asn> = attrs.effective_as_path().unwrap().asns().collect();
        assert_eq!(path, [Asn(65001), Asn::TRANS]);
        assert_eq!(attrs.effective_aggregator().unwrap().asn, Asn(65001));
        attrs.base.aggregator = Some(Aggregator {
            asn: Asn::TRANS,
            address: addr,
        });
        assert_eq!(
            attrs.effective_aggregator().unwrap().asn,
            Asn(4_200_000_001)
        );
    }

    #[test]
    fn unknown_optional_attributes_are_kept() {
        let d = decode_hex(&[0xe0, 99, 2, 7, 7], &ctx()).unwrap();
        assert_eq!(d.attrs.unknown[0].type_code, 99);
        assert_eq!(d.attrs.unknown[0].flags, AttrFlags(0xe0));
        // RFC 4271 §6.3: unrecognized well-known resets, attribute as data.
        let err = decode_hex(&[0x40, 99, 1, 7], &ctx()).unwrap_err();
        assert_eq!(
            err.notification.subcode,
            update_error::UNRECOGNIZED_WELL_KNOWN
        );
        assert_eq!(&err.notification.data[..], [0x40, 99, 1, 7]);
    }
}
