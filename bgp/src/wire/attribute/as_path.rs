//! AS_PATH (type code 2, RFC 4271 §4.3 and §5.1.2) and AS4_PATH (type code
//! 17, RFC 6793 §3): a list of path segments.
//!
//! ```text
//! +------------------+-------------------+---------------------------+
//! | segment type (1) | segment length (1) | ASNs (length × 2 or 4)   |
//! +------------------+-------------------+---------------------------+
//! ```
//!
//! AS_PATH carries 2-octet ASNs unless both speakers announced the 4-octet
//! AS capability (RFC 6793 §4.1); AS4_PATH always carries 4-octet ASNs.

use bytes::{BufMut, BytesMut};

use crate::asn::Asn;

/// The kind of a path segment (RFC 4271 §4.3, RFC 5065 §3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SegmentKind {
    /// Unordered ASNs of an aggregate.
    Set,
    /// ASNs in the order the route traversed them.
    Sequence,
    /// RFC 5065 §3: a sequence of member ASNs inside a confederation.
    ConfedSequence,
    /// RFC 5065 §3: a set of member ASNs inside a confederation.
    ConfedSet,
}

impl SegmentKind {
    fn from_code(code: u8) -> Option<SegmentKind> {
        match code {
            1 => Some(SegmentKind::Set),
            2 => Some(SegmentKind::Sequence),
            3 => Some(SegmentKind::ConfedSequence),
            4 => Some(SegmentKind::ConfedSet),
            _ => None,
        }
    }

    fn code(self) -> u8 {
        match self {
            SegmentKind::Set => 1,
            SegmentKind::Sequence => 2,
            SegmentKind::ConfedSequence => 3,
            SegmentKind::ConfedSet => 4,
        }
    }

    pub fn is_confed(self) -> bool {
        matches!(self, SegmentKind::ConfedSequence | SegmentKind::ConfedSet)
    }
}

/// One path segment.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Segment {
    pub kind: SegmentKind,
    /// 1 to 255 ASNs: the segment length is one octet (RFC 4271 §4.3).
    pub asns: Vec<Asn>,
}

impl Segment {
    /// Its weight in the path length (RFC 4271 §9.1.2.2 (a): a set counts as
    /// one; RFC 5065 §5.3: confederation segments do not count).
    fn path_len(&self) -> usize {
        match self.kind {
            SegmentKind::Sequence => self.asns.len(),
            SegmentKind::Set => 1,
            SegmentKind::ConfedSequence | SegmentKind::ConfedSet => 0,
        }
    }
}

/// How many octets an ASN takes in AS_PATH or AGGREGATOR on this session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AsWidth {
    Two,
    Four,
}

impl AsWidth {
    pub(crate) fn octets(self) -> usize {
        match self {
            AsWidth::Two => 2,
            AsWidth::Four => 4,
        }
    }

    pub(crate) fn put(self, asn: Asn, out: &mut BytesMut) {
        match self {
            // RFC 6793 §4.2.2: an ASN that does not fit goes out as AS_TRANS.
            AsWidth::Two => out.put_u16(asn.as_u16_or_trans()),
            AsWidth::Four => out.put_u32(asn.0),
        }
    }

    pub(crate) fn read(self, octets: &[u8]) -> Option<Asn> {
        match self {
            AsWidth::Two => Some(Asn(u32::from(u16::from_be_bytes(octets.try_into().ok()?)))),
            AsWidth::Four => Some(Asn(u32::from_be_bytes(octets.try_into().ok()?))),
        }
    }
}

/// An AS_PATH or AS4_PATH: the segments in wire order. Adjacent segments of
/// one kind stay separate, so a decoded path encodes to the octets it came
/// from.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct AsPath {
    pub segments: Vec<Segment>,
}

impl AsPath {
    /// A path of one AS_SEQUENCE (empty ASNs give the empty path).
    pub fn sequence(asns: impl IntoIterator<Item = Asn>) -> AsPath {
        let asns: Vec<Asn> = asns.into_iter().collect();
        let segments = asns
            .chunks(usize::from(u8::MAX))
            .map(|chunk| Segment {
                kind: SegmentKind::Sequence,
                asns: chunk.to_vec(),
            })
            .collect();
        AsPath { segments }
    }

    /// Every ASN in wire order, sets and confederation segments included.
    pub fn asns(&self) -> impl Iterator<Item = Asn> + '_ {
        self.segments.iter().flat_map(|s| s.asns.iter().copied())
    }

    /// The path length that route selection compares (RFC 4271 §9.1.2.2 (a),
    /// RFC 5065 §5.3).
    pub fn path_len(&self) -> usize {
        self.segments.iter().map(Segment::path_len).sum()
    }

    /// The leftmost ASN, if the path starts with an AS_SEQUENCE: what RFC 4271
    /// §6.3 lets a speaker compare with an external peer's ASN (a mismatch is
    /// treat-as-withdraw, RFC 7606 §7.2).
    pub fn first_asn(&self) -> Option<Asn> {
        let first = self.segments.first()?;
        (first.kind == SegmentKind::Sequence)
            .then(|| first.asns.first().copied())
            .flatten()
    }

    pub fn contains_confed(&self) -> bool {
        self.segments.iter().any(|s| s.kind.is_confed())
    }

    /// Whether some ASN does not fit in 2 octets (RFC 6793 §4.2.2: then a
    /// 2-octet session also needs AS4_PATH).
    pub fn needs_four_octets(&self) -> bool {
        self.asns().any(Asn::is_four_octet)
    }

    /// Read a path of `width`-octet ASNs. The error names the RFC 7606 §7.2
    /// (or RFC 7607 §2) malformation found.
    pub(crate) fn decode(mut value: &[u8], width: AsWidth) -> Result<AsPath, &'static str> {
        let mut segments = Vec::new();
        while !value.is_empty() {
            let [code, count, rest @ ..] = value else {
                return Err("one octet left after the last segment (RFC 7606 §7.2)");
            };
            let kind =
                SegmentKind::from_code(*code).ok_or("unrecognized segment type (RFC 7606 §7.2)")?;
            if *count == 0 {
                return Err("segment of length zero (RFC 7606 §7.2)");
            }
            let (asns, rest) = rest
                .split_at_checked(usize::from(*count) * width.octets())
                .ok_or("segment overruns the attribute (RFC 7606 §7.2)")?;
            let asns: Vec<Asn> = asns
                .chunks_exact(width.octets())
                .filter_map(|octets| width.read(octets))
                .collect();
            if asns.contains(&Asn(0)) {
                return Err("AS number 0 in the path (RFC 7607 §2)");
            }
            segments.push(Segment { kind, asns });
            value = rest;
        }
        Ok(AsPath { segments })
    }

    pub(crate) fn encoded_len(&self, width: AsWidth) -> usize {
        self.segments
            .iter()
            .map(|s| 2 + s.asns.len() * width.octets())
            .sum()
    }

    pub(crate) fn encode(&self, width: AsWidth, out: &mut BytesMut) {
        for segment in &self.segments {
            out.put_u8(segment.kind.code());
            out.put_u8(u8::try_from(segment.asns.len()).unwrap_or(u8::MAX));
            for &asn in segment.asns.iter().take(usize::from(u8::MAX)) {
                width.put(asn, out);
            }
        }
    }

    /// This path without its confederation segments (RFC 6793 §6: they are
    /// not allowed in AS4_PATH and are dropped from it).
    pub(crate) fn without_confed(mut self) -> AsPath {
        self.segments.retain(|s| !s.kind.is_confed());
        self
    }

    /// RFC 6793 §4.2.3: the path of a route received from a 2-octet speaker,
    /// rebuilt from its AS_PATH (`self`) and AS4_PATH. If AS_PATH is the
    /// shorter one, AS4_PATH is ignored; otherwise the leading ASNs of
    /// AS_PATH that AS4_PATH lacks are put in front of AS4_PATH.
    pub fn merge_as4(&self, as4_path: &AsPath) -> AsPath {
        let own = self.path_len();
        let theirs = as4_path.path_len();
        if own < theirs {
            return self.clone();
        }
        let mut missing = own - theirs;
        let mut segments = Vec::with_capacity(self.segments.len() + as4_path.segments.len());
        for segment in &self.segments {
            if missing == 0 {
                break;
            }
            match segment.kind {
                SegmentKind::Sequence => {
                    let take = missing.min(segment.asns.len());
                    segments.push(Segment {
                        kind: SegmentKind::Sequence,
                        asns: segment.asns.iter().take(take).copied().collect(),
                    });
                    missing -= take;
                }
                SegmentKind::Set => {
                    segments.push(segment.clone());
                    missing -= 1;
                }
                SegmentKind::ConfedSequence | SegmentKind::ConfedSet => {
                    segments.push(segment.clone());
                }
            }
        }
        segments.extend(as4_path.segments.iter().cloned());
        AsPath { segments }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seq(asns: &[u32]) -> Segment {
        Segment {
            kind: SegmentKind::Sequence,
            asns: asns.iter().map(|&a| Asn(a)).collect(),
        }
    }

    #[test]
    fn two_and_four_octet_forms_decode_to_the_same_path() {
        let two = [2, 2, 0xfd, 0xe9, 0x5b, 0xa0];
        let four = [2, 2, 0, 0, 0xfd, 0xe9, 0, 0, 0x5b, 0xa0];
        let a = AsPath::decode(&two, AsWidth::Two).unwrap();
        let b = AsPath::decode(&four, AsWidth::Four).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.asns().collect::<Vec<_>>(), [Asn(65001), Asn(23456)]);
        let mut out = BytesMut::new();
        a.encode(AsWidth::Two, &mut out);
        assert_eq!(&out[..], two);
    }

    #[test]
    fn malformed_segments_are_named() {
        // RFC 7606 §7.2: unknown type, zero length, overrun, lone octet.
        assert!(AsPath::decode(&[5, 1, 0, 1], AsWidth::Two).is_err());
        assert!(AsPath::decode(&[2, 0], AsWidth::Two).is_err());
        assert!(AsPath::decode(&[2, 2, 0, 1], AsWidth::Two).is_err());
        assert!(AsPath::decode(&[2, 1, 0, 1, 2], AsWidth::Two).is_err());
        // RFC 7607 §2: AS 0 makes the path malformed.
        assert!(AsPath::decode(&[2, 1, 0, 0], AsWidth::Two).is_err());
        assert!(
            AsPath::decode(&[], AsWidth::Two)
                .unwrap()
                .segments
                .is_empty()
        );
    }

    #[test]
    fn path_length_counts_a_set_as_one_and_confed_as_none() {
        // RFC 4271 §9.1.2.2 (a), RFC 5065 §5.3.
        let path = AsPath {
            segments: vec![
                Segment {
                    kind: SegmentKind::ConfedSequence,
                    asns: vec![Asn(1), Asn(2)],
                },
                seq(&[10, 20]),
                Segment {
                    kind: SegmentKind::Set,
                    asns: vec![Asn(30), Asn(40)],
                },
            ],
        };
        assert_eq!(path.path_len(), 3);
        assert_eq!(path.first_asn(), None);
        assert_eq!(AsPath::sequence([Asn(7), Asn(8)]).first_asn(), Some(Asn(7)));
    }

    #[test]
    fn as4_path_replaces_the_trans_tail() {
        // RFC 6793 §4.2.3: AS_PATH 65001 23456 23456 with AS4_PATH
        // 4200000001 4200000002 gives 65001 4200000001 4200000002.
        let as_path = AsPath {
            segments: vec![seq(&[65001, 23456, 23456])],
        };
        let as4 = AsPath {
            segments: vec![seq(&[4_200_000_001, 4_200_000_002])],
        };
        let merged = as_path.merge_as4(&as4);
        assert_eq!(
            merged.asns().collect::<Vec<_>>(),
            [Asn(65001), Asn(4_200_000_001), Asn(4_200_000_002)]
        );
    }

    #[test]
    fn longer_as4_path_is_ignored() {
        // RFC 6793 §4.2.3: AS4_PATH longer than AS_PATH is ignored.
        let as_path = AsPath {
            segments: vec![seq(&[65001])],
        };
        let as4 = AsPath {
            segments: vec![seq(&[1, 2])],
        };
        assert_eq!(as_path.merge_as4(&as4), as_path);
    }

    #[test]
    fn long_sequences_split_at_255() {
        let path = AsPath::sequence((1..=300).map(Asn));
        assert_eq!(path.segments.len(), 2);
        assert_eq!(path.segments[0].asns.len(), 255);
        assert_eq!(path.path_len(), 300);
    }
}
