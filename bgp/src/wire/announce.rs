//! What a host speaker sends: its prefixes with next hop self, their
//! withdrawal, and End-of-RIB. Each builder returns as many UPDATEs as the
//! prefixes need to fit the session's message size (4096 octets, or 65535
//! with Extended Message, RFC 8654 §4), and each UPDATE carries one kind of
//! route change only (RFC 7606 §5.1: at most one of a non-empty Withdrawn
//! Routes field, a non-empty NLRI field, MP_REACH_NLRI or MP_UNREACH_NLRI).

use std::net::Ipv4Addr;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use ipnet::{Ipv4Net, Ipv6Net};

use crate::asn::Asn;
use crate::family::Family;
use crate::wire::DecodeContext;
use crate::wire::attribute::{AsPath, Attrs, BaseAttrs, Ipv6NextHop, MpReach, MpUnreach, Origin};
use crate::wire::nlri::{Nlri, PrefixFamily};
use crate::wire::update::{Update, max_body_len};

/// RFC 4271 §5.1.5: the degree of preference we give our own routes when we
/// tell internal peers (the customary default).
const LOCAL_PREF: u32 = 100;

/// Builds the UPDATEs of one session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Announcer {
    pub local_as: Asn,
    /// The session: `ibgp` picks the AS_PATH and whether LOCAL_PREF goes
    /// out; the rest the encoding and the message size.
    pub ctx: DecodeContext,
}

/// The End-of-RIB marker of `family` (RFC 4724 §2): an empty UPDATE for
/// IPv4 unicast, an empty MP_UNREACH_NLRI of the family otherwise.
pub fn end_of_rib(family: Family) -> Update {
    let mp_unreach = match family {
        Family::IPV4_UNICAST => None,
        Family::IPV6_UNICAST => Some(Box::new(MpUnreach::Ipv6(Nlri::empty()))),
        family => Some(Box::new(MpUnreach::Other {
            family,
            withdrawn: Bytes::new(),
        })),
    };
    Update {
        mp_unreach,
        ..Update::default()
    }
}

/// Split `prefixes` into runs of at most `budget` octets of wire form.
fn split<F: PrefixFamily>(prefixes: &[F::Net], budget: usize) -> Vec<Nlri<F>> {
    let mut runs = Vec::new();
    let mut start = 0;
    let mut used = 0;
    for (i, &net) in prefixes.iter().enumerate() {
        let len = F::wire_len(net);
        if used + len > budget && i > start {
            runs.push(Nlri::from_prefixes(
                prefixes.get(start..i).unwrap_or(&[]).iter().copied(),
            ));
            start = i;
            used = 0;
        }
        used += len;
    }
    if start < prefixes.len() {
        runs.push(Nlri::from_prefixes(
            prefixes.get(start..).unwrap_or(&[]).iter().copied(),
        ));
    }
    runs
}

impl Announcer {
    pub fn new(local_as: Asn, ctx: DecodeContext) -> Announcer {
        Announcer { local_as, ctx }
    }

    /// Body length of `update`, for the room left to prefixes.
    fn body_len(&self, update: &Update) -> usize {
        let mut out = BytesMut::new();
        update.encode_body(&self.ctx, &mut out);
        out.len()
    }

    /// Octets left for prefixes next to `template`. One more is kept back
    /// for an attribute header that grows to the extended form once its
    /// value passes 255 octets.
    fn budget(&self, template: &Update) -> usize {
        max_body_len(&self.ctx).saturating_sub(self.body_len(template) + 1)
    }

    /// ORIGIN IGP; AS_PATH with our ASN to an external peer and empty to an
    /// internal one (RFC 4271 §5.1.2); LOCAL_PREF to an internal peer (RFC
    /// 4271 §5.1.5); and AS4_PATH when our ASN does not fit a 2-octet
    /// session (RFC 6793 §4.2.2).
    fn path_attrs(&self, next_hop: Option<Ipv4Addr>) -> Arc<Attrs> {
        let internal = self.ctx.ibgp;
        let as_path = if internal {
            AsPath::default()
        } else {
            AsPath::sequence([self.local_as])
        };
        let as4_path =
            (!self.ctx.four_octet_as && as_path.needs_four_octets()).then(|| as_path.clone());
        Arc::new(Attrs {
            base: BaseAttrs {
                origin: Some(Origin::Igp),
                next_hop,
                as_path: Some(as_path),
                as4_path,
                local_pref: internal.then_some(LOCAL_PREF),
                ..BaseAttrs::default()
            },
            ..Attrs::default()
        })
    }

    /// Announce IPv4 unicast prefixes in the NLRI field with NEXT_HOP.
    pub fn announce_ipv4(&self, prefixes: &[Ipv4Net], next_hop: Ipv4Addr) -> Vec<Update> {
        let template = Update {
            attrs: self.path_attrs(Some(next_hop)),
            ..Update::default()
        };
        split(prefixes, self.budget(&template))
            .into_iter()
            .map(|nlri| Update {
                nlri,
                ..template.clone()
            })
            .collect()
    }

    /// Announce IPv6 unicast prefixes in MP_REACH_NLRI (RFC 4760 §3, RFC
    /// 2545 §3: a global next hop, and a link-local one when given).
    pub fn announce_ipv6(&self, prefixes: &[Ipv6Net], next_hop: Ipv6NextHop) -> Vec<Update> {
        let reach = |nlri| {
            Box::new(MpReach::Ipv6 {
                next_hop,
                reserved: 0,
                nlri,
            })
        };
        let template = Update {
            attrs: self.path_attrs(None),
            mp_reach: Some(reach(Nlri::empty())),
            ..Update::default()
        };
        split(prefixes, self.budget(&template))
            .into_iter()
            .map(|nlri| Update {
                mp_reach: Some(reach(nlri)),
                ..template.clone()
            })
            .collect()
    }

    /// Withdraw IPv4 unicast prefixes in the Withdrawn Routes field.
    pub fn withdraw_ipv4(&self, prefixes: &[Ipv4Net]) -> Vec<Update> {
        split(prefixes, self.budget(&Update::default()))
            .into_iter()
            .map(|withdrawn| Update {
                withdrawn,
                ..Update::default()
            })
            .collect()
    }

    /// Withdraw IPv6 unicast prefixes in MP_UNREACH_NLRI (RFC 4760 §4).
    pub fn withdraw_ipv6(&self, prefixes: &[Ipv6Net]) -> Vec<Update> {
        split(prefixes, self.budget(&end_of_rib(Family::IPV6_UNICAST)))
            .into_iter()
            .map(|nlri| Update {
                mp_unreach: Some(Box::new(MpUnreach::Ipv6(nlri))),
                ..Update::default()
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::attribute::{NextHop, type_code};

    fn ctx(four_octet_as: bool, extended_message: bool) -> DecodeContext {
        DecodeContext {
            four_octet_as,
            extended_message,
            ..DecodeContext::default()
        }
    }

    fn body(update: &Update, ctx: &DecodeContext) -> Bytes {
        let mut out = BytesMut::new();
        update.encode_body(ctx, &mut out);
        out.freeze()
    }

    fn v4_prefixes(n: u32) -> Vec<Ipv4Net> {
        (0..n)
            .map(|i| Ipv4Net::new(Ipv4Addr::from(0x0a00_0000 + (i << 8)), 24).unwrap())
            .collect()
    }

    #[test]
    fn host_aggregate_to_an_external_peer() {
        // RFC 4271 §5.1.1-3: ORIGIN IGP, AS_PATH [local AS], NEXT_HOP self.
        let c = ctx(true, false);
        let a = Announcer::new(Asn(65001), c);
        let updates = a.announce_ipv4(
            &["10.1.0.0/16".parse().unwrap()],
            Ipv4Addr::new(192, 168, 10, 2),
        );
        assert_eq!(updates.len(), 1);
        assert_eq!(
            &body(&updates[0], &c)[..],
            [
                0, 0, 0, 20, 0x40, 1, 1, 0, 0x40, 2, 6, 2, 1, 0, 0, 0xfd, 0xe9, 0x40, 3, 4, 192,
                168, 10, 2, 16, 10, 1
            ]
        );
    }

    #[test]
    fn internal_peer_gets_empty_path_and_local_pref() {
        // RFC 4271 §5.1.2 and §5.1.5.
        let c = DecodeContext {
            ibgp: true,
            ..ctx(true, false)
        };
        let updates = Announcer::new(Asn(65001), c).announce_ipv4(
            &["10.1.0.0/16".parse().unwrap()],
            Ipv4Addr::new(192, 168, 10, 2),
        );
        let back = Update::decode(body(&updates[0], &c), &c).unwrap();
        assert_eq!(back.as_path(), []);
        assert_eq!(back.attrs.base.local_pref, Some(100));
    }

    #[test]
    fn four_octet_asn_on_a_two_octet_session_adds_as4_path() {
        // RFC 6793 §4.2.2: AS_TRANS in AS_PATH, the real ASN in AS4_PATH.
        let c = ctx(false, false);
        let updates = Announcer::new(Asn(4_200_000_001), c).announce_ipv4(
            &["10.1.0.0/16".parse().unwrap()],
            Ipv4Addr::new(192, 168, 10, 2),
        );
        let back = Update::decode(body(&updates[0], &c), &c).unwrap();
        assert_eq!(
            back.attrs.base.as_path,
            Some(AsPath::sequence([Asn::TRANS]))
        );
        assert_eq!(back.as_path(), [Asn(4_200_000_001)]);
    }

    #[test]
    fn many_prefixes_split_to_fit_the_message_size() {
        // RFC 4271 §4.1 (4096) and RFC 8654 §4 (65535).
        let prefixes = v4_prefixes(3000);
        for (extended, max) in [(false, 4096), (true, 65535)] {
            let c = ctx(true, extended);
            let updates =
                Announcer::new(Asn(65001), c).announce_ipv4(&prefixes, Ipv4Addr::new(10, 0, 0, 1));
            let mut seen = Vec::new();
            for u in &updates {
                let b = body(u, &c);
                assert!(b.len() + 19 <= max, "{} octets", b.len() + 19);
                seen.extend(Update::decode(b, &c).unwrap().announced_v4());
            }
            assert_eq!(seen, prefixes);
        }
        let c = ctx(true, false);
        assert_eq!(
            Announcer::new(Asn(1), c)
                .announce_ipv4(&prefixes, Ipv4Addr::new(10, 0, 0, 1))
                .len(),
            3
        );
    }

    #[test]
    fn ipv6_announce_and_withdraw_split_and_round_trip() {
        let c = ctx(true, false);
        let a = Announcer::new(Asn(65001), c);
        let prefixes: Vec<Ipv6Net> = (0..1000u128)
            .map(|i| Ipv6Net::new((0x2001_0db8_0000_0000u128 << 64 | i << 64).into(), 64).unwrap())
            .collect();
        let next_hop = Ipv6NextHop {
            global: "2001:db8::2".parse().unwrap(),
            link_local: Some("fe80::2".parse().unwrap()),
        };
        let announce = a.announce_ipv6(&prefixes, next_hop);
        assert!(announce.len() > 1);
        let mut seen = Vec::new();
        for u in &announce {
            let b = body(u, &c);
            assert!(b.len() + 19 <= 4096);
            // RFC 7606 §5.1: MP_REACH_NLRI is the very first attribute.
            assert_eq!(b[5], type_code::MP_REACH_NLRI);
            let back = Update::decode(b, &c).unwrap();
            assert_eq!(
                back.next_hop(Family::IPV6_UNICAST),
                Some(NextHop::V6(next_hop))
            );
            seen.extend(back.announced_v6());
        }
        assert_eq!(seen, prefixes);
        let mut gone = Vec::new();
        for u in a.withdraw_ipv6(&prefixes) {
            gone.extend(Update::decode(body(&u, &c), &c).unwrap().withdrawn_v6());
        }
        assert_eq!(gone, prefixes);
    }

    #[test]
    fn ipv4_withdraw_uses_the_withdrawn_routes_field_only() {
        // RFC 7606 §5.1: one kind of route change per UPDATE.
        let c = ctx(true, false);
        let prefixes = v4_prefixes(2000);
        let updates = Announcer::new(Asn(65001), c).withdraw_ipv4(&prefixes);
        let mut gone = Vec::new();
        for u in &updates {
            assert!(u.attrs.is_empty() && u.nlri.is_empty());
            gone.extend(Update::decode(body(u, &c), &c).unwrap().withdrawn_v4());
        }
        assert_eq!(gone, prefixes);
        assert!(Announcer::new(Asn(65001), c).withdraw_ipv4(&[]).is_empty());
    }

    #[test]
    fn end_of_rib_markers_decode_as_end_of_rib() {
        // RFC 4724 §2.
        let c = ctx(true, false);
        for family in [Family::IPV4_UNICAST, Family::IPV6_UNICAST] {
            let back = Update::decode(body(&end_of_rib(family), &c), &c).unwrap();
            assert_eq!(back.end_of_rib(), Some(family));
        }
        assert_eq!(
            &body(&end_of_rib(Family::IPV4_UNICAST), &c)[..],
            [0, 0, 0, 0]
        );
        assert_eq!(
            &body(&end_of_rib(Family::IPV6_UNICAST), &c)[..],
            [0, 0, 0, 6, 0x80, 15, 3, 0, 2, 1]
        );
    }
}
