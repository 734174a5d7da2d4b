//! The routing table the feeder sends, encoded once into one buffer before
//! the clock starts, so that writing it costs the feeder nothing but the
//! copy into the socket.
//!
//! The table is the default route followed by consecutive /24s from
//! 1.0.0.0: distinct prefixes, in UPDATEs of a fixed number of prefixes.
//! Each UPDATE has its own attribute set, shaped like a transit table's
//! (an AS path of four, communities, a MED on some), so that the receiver
//! cannot share one set across the whole table.

use std::fmt;
use std::net::Ipv4Addr;
use std::sync::Arc;

use bgp::wire::DecodeContext;
use bgp::wire::announce::end_of_rib;
use bgp::wire::attribute::{AsPath, Attrs, BaseAttrs, Community, Origin};
use bgp::wire::message::{Message, encode_message};
use bgp::wire::nlri::Nlri;
use bgp::wire::update::Update;
use bgp::{Asn, EncodeError, Family};
use bytes::{Bytes, BytesMut};
use ipnet::Ipv4Net;

/// The first /24 of the table.
const FIRST_SUBNET: Ipv4Addr = Ipv4Addr::new(1, 0, 0, 0);
/// The /24s stop before 127.0.0.0/8, which no one routes.
const LAST_SUBNET: Ipv4Addr = Ipv4Addr::new(126, 255, 255, 0);
/// Transit and origin ASes of the made-up paths (private and
/// documentation ranges, RFC 6996 and RFC 5398).
const TRANSIT_AS: u32 = 65100;
const REGIONAL_AS: u32 = 65200;
const ORIGIN_AS: u32 = 4_200_000_000;

/// What to send.
#[derive(Clone, Copy, Debug)]
pub struct TableSpec {
    /// Prefixes in all, the default route included.
    pub prefixes: u32,
    /// Prefixes per UPDATE.
    pub per_update: usize,
    pub next_hop: Ipv4Addr,
    /// Our AS: first on every path (RFC 4271 §5.1.2, eBGP).
    pub leaf_as: Asn,
}

/// The encoded table: the UPDATEs, then the IPv4 End-of-RIB (RFC 4724 §2).
pub struct Table {
    pub bytes: Bytes,
    pub updates: usize,
    pub prefixes: u32,
}

#[derive(Debug)]
pub enum TableError {
    /// More prefixes than fit between 1.0.0.0 and 126.255.255.0 as /24s.
    TooManyPrefixes {
        asked: u32,
        max: u32,
    },
    ZeroPerUpdate,
    /// An UPDATE came out larger than the session allows.
    Encode(EncodeError),
}

impl fmt::Display for TableError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TableError::TooManyPrefixes { asked, max } => {
                write!(f, "--prefixes {asked} is too many: at most {max}")
            }
            TableError::ZeroPerUpdate => f.write_str("--per-update must be at least 1"),
            TableError::Encode(e) => write!(f, "{e}: lower --per-update"),
        }
    }
}

/// The most prefixes a table can have: the default route and every /24
/// from [`FIRST_SUBNET`] to [`LAST_SUBNET`].
pub fn max_prefixes() -> u32 {
    1 + ((LAST_SUBNET.to_bits() - FIRST_SUBNET.to_bits()) >> 8) + 1
}

/// The table's prefixes, in the order they are sent.
pub fn prefixes(count: u32) -> impl Iterator<Item = Ipv4Net> {
    let default = Ipv4Net::new(Ipv4Addr::UNSPECIFIED, 0).expect("/0 is a valid length");
    let subnets = (0..count.saturating_sub(1)).map(|i| {
        let addr = Ipv4Addr::from_bits(FIRST_SUBNET.to_bits() + (i << 8));
        Ipv4Net::new(addr, 24).expect("/24 is a valid length")
    });
    std::iter::once(default).chain(subnets).take(count as usize)
}

/// The attributes of the `i`th UPDATE.
fn attrs(spec: &TableSpec, ctx: &DecodeContext, i: u32) -> Attrs {
    let as_path = AsPath::sequence([
        spec.leaf_as,
        Asn(TRANSIT_AS + i % 4),
        Asn(REGIONAL_AS + i % 50),
        Asn(ORIGIN_AS + i),
    ]);
    // RFC 6793 §4.2.2: a 2-octet session carries the real path in AS4_PATH.
    let as4_path = (!ctx.four_octet_as).then(|| as_path.clone());
    let leaf = u16::try_from(spec.leaf_as.0).unwrap_or(u16::MAX);
    Attrs {
        base: BaseAttrs {
            origin: Some(if i.is_multiple_of(5) {
                Origin::Incomplete
            } else {
                Origin::Igp
            }),
            as_path: Some(as_path),
            as4_path,
            next_hop: Some(spec.next_hop),
            med: i.is_multiple_of(3).then_some(10 * (i % 7)),
            ..BaseAttrs::default()
        },
        communities: vec![
            Community::new(leaf, 100),
            Community::new(leaf, (i % 1000) as u16),
        ],
        ..Attrs::default()
    }
}

/// Encode the whole table for a session with `ctx`.
pub fn build(spec: &TableSpec, ctx: &DecodeContext) -> Result<Table, TableError> {
    let max = max_prefixes();
    if spec.prefixes > max {
        return Err(TableError::TooManyPrefixes {
            asked: spec.prefixes,
            max,
        });
    }
    if spec.per_update == 0 {
        return Err(TableError::ZeroPerUpdate);
    }
    let all: Vec<Ipv4Net> = prefixes(spec.prefixes).collect();
    // About four octets a prefix and sixty of header and attributes.
    let mut out = BytesMut::with_capacity(all.len() * 4 + all.len() / spec.per_update * 64 + 64);
    let mut updates = 0;
    for (i, chunk) in (0u32..).zip(all.chunks(spec.per_update)) {
        let update = Update {
            attrs: Arc::new(attrs(spec, ctx, i)),
            nlri: Nlri::from_prefixes(chunk.iter().copied()),
            ..Update::default()
        };
        encode_message(&Message::Update(update), ctx, &mut out).map_err(TableError::Encode)?;
        updates += 1;
    }
    let eor = Message::Update(end_of_rib(Family::IPV4_UNICAST));
    encode_message(&eor, ctx, &mut out).map_err(TableError::Encode)?;
    Ok(Table {
        bytes: out.freeze(),
        updates,
        prefixes: spec.prefixes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use bgp::wire::message::decode_message;

    fn spec(prefixes: u32, per_update: usize) -> TableSpec {
        TableSpec {
            prefixes,
            per_update,
            next_hop: Ipv4Addr::new(192, 0, 2, 0),
            leaf_as: Asn(65000),
        }
    }

    fn ctx(four_octet_as: bool) -> DecodeContext {
        DecodeContext {
            four_octet_as,
            ..DecodeContext::default()
        }
    }

    /// Every UPDATE of the table, decoded back with the project's codec.
    fn decode_all(table: &Table, ctx: &DecodeContext) -> Vec<Update> {
        let mut buf = BytesMut::from(&table.bytes[..]);
        let mut out = Vec::new();
        while let Some(msg) = decode_message(&mut buf, ctx).unwrap() {
            match msg {
                Message::Update(u) => out.push(u),
                other => panic!("not an UPDATE: {other:?}"),
            }
        }
        assert!(buf.is_empty(), "{} octets left over", buf.len());
        out
    }

    #[test]
    fn the_table_decodes_to_the_default_route_and_distinct_24s_then_end_of_rib() {
        let c = ctx(true);
        let table = build(&spec(2000, 900), &c).unwrap();
        assert_eq!(table.updates, 3);
        let updates = decode_all(&table, &c);
        assert_eq!(updates.len(), 4);
        let (eor, routes) = updates.split_last().unwrap();
        assert_eq!(eor.end_of_rib(), Some(Family::IPV4_UNICAST));
        let sent: Vec<Ipv4Net> = routes.iter().flat_map(|u| u.announced_v4()).collect();
        assert_eq!(sent, prefixes(2000).collect::<Vec<_>>());
        assert_eq!(sent[0], "0.0.0.0/0".parse::<Ipv4Net>().unwrap());
        assert_eq!(sent[1], "1.0.0.0/24".parse::<Ipv4Net>().unwrap());
        assert_eq!(sent[1999], "1.7.206.0/24".parse::<Ipv4Net>().unwrap());
        let mut distinct = sent.clone();
        distinct.sort();
        distinct.dedup();
        assert_eq!(distinct.len(), 2000);
        for u in routes {
            assert!(u.discarded().next().is_none());
            assert_eq!(u.attrs.base.next_hop, Some(Ipv4Addr::new(192, 0, 2, 0)));
            assert_eq!(u.as_path().first(), Some(&Asn(65000)));
            assert_eq!(u.as_path().len(), 4);
        }
        assert_ne!(routes[0].attrs, routes[1].attrs);
    }

    #[test]
    fn a_million_prefixes_fit_900_to_a_standard_message() {
        let c = ctx(true);
        let table = build(&spec(1_000_000, 900), &c).unwrap();
        assert_eq!(table.updates, 1112);
        // RFC 4271 §4.1: no message above 4096 octets without RFC 8654.
        let mut buf = BytesMut::from(&table.bytes[..]);
        let mut count = 0u32;
        while let Some(Message::Update(u)) = decode_message(&mut buf, &c).unwrap() {
            count += u.announced_v4().count() as u32;
        }
        assert_eq!(count, 1_000_000);
    }

    #[test]
    fn a_two_octet_session_gets_as_trans_and_the_real_path_in_as4_path() {
        let c = ctx(false);
        let updates = decode_all(&build(&spec(10, 900), &c).unwrap(), &c);
        let path = updates[0].attrs.base.as_path.as_ref().unwrap();
        assert_eq!(path.asns().last(), Some(Asn::TRANS));
        assert_eq!(updates[0].as_path().last(), Some(&Asn(ORIGIN_AS)));
    }

    #[test]
    fn too_many_prefixes_or_too_many_per_update_are_refused() {
        let c = ctx(true);
        assert!(matches!(
            build(&spec(max_prefixes() + 1, 900), &c),
            Err(TableError::TooManyPrefixes { .. })
        ));
        assert!(matches!(
            build(&spec(10, 0), &c),
            Err(TableError::ZeroPerUpdate)
        ));
        assert!(matches!(
            build(&spec(2000, 1100), &c),
            Err(TableError::Encode(_))
        ));
        let last = prefixes(max_prefixes()).last().unwrap();
        assert_eq!(last, "126.255.255.0/24".parse::<Ipv4Net>().unwrap());
    }
}
