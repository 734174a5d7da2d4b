//! Prefixes as they travel in the Withdrawn Routes and NLRI fields of an
//! UPDATE (RFC 4271 §4.3) and in MP_REACH_NLRI / MP_UNREACH_NLRI (RFC 4760
//! §5): a length in bits, then just enough octets to hold that many bits.
//!
//! ```text
//! +---------------------------+
//! |   Length (1 octet)        |
//! +---------------------------+
//! |   Prefix (variable)       |
//! +---------------------------+
//! ```
//!
//! A field is checked once, when the UPDATE is decoded, and then kept as the
//! `Bytes` slice it arrived in. Walking it yields one `Ipv4Net` or `Ipv6Net`
//! per prefix and allocates nothing.

use std::fmt;
use std::marker::PhantomData;
use std::net::{Ipv4Addr, Ipv6Addr};

use bytes::{BufMut, Bytes, BytesMut};
use ipnet::{Ipv4Net, Ipv6Net};

/// An address family whose prefixes this module can read and write.
pub trait PrefixFamily {
    /// The prefix type handed out.
    type Net: Copy + fmt::Debug + PartialEq;
    /// The longest valid prefix length, in bits.
    const MAX_LEN: u8;

    /// Read the prefix at the start of `buf` (which a validation already
    /// accepted) and return it with the rest of the buffer.
    fn take(buf: &[u8]) -> Option<(Self::Net, &[u8])>;

    /// Append the wire form of `net`, host bits cleared.
    fn put(net: Self::Net, out: &mut BytesMut);

    /// Octets `net` takes on the wire, length octet included.
    fn wire_len(net: Self::Net) -> usize;
}

/// IPv4 prefixes (RFC 4271 §4.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct V4;

/// IPv6 prefixes (RFC 2545 §2, RFC 4760 §5).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct V6;

/// Octets that hold `bits` bits.
fn octets_for(bits: u8) -> usize {
    usize::from(bits).div_ceil(8)
}

/// Split off the length octet and the address octets of the prefix at the
/// start of `buf`, into an array of `N` octets. The octets past the prefix
/// may hold what follows it in the field: callers mask them off. Reading a
/// whole `N` octets when they are there, instead of copying a variable
/// length, is what keeps the walk at a few nanoseconds per prefix.
#[inline]
fn split_prefix<const N: usize>(buf: &[u8]) -> Option<(u8, [u8; N], &[u8])> {
    let (&len, rest) = buf.split_first()?;
    let n = octets_for(len);
    let octets = match rest.first_chunk::<N>() {
        Some(octets) => *octets,
        None => {
            let mut octets = [0u8; N];
            let addr = rest.get(..n)?;
            octets.get_mut(..n)?.copy_from_slice(addr);
            octets
        }
    };
    let rest = rest.get(n..)?;
    Some((len, octets, rest))
}

impl PrefixFamily for V4 {
    type Net = Ipv4Net;
    const MAX_LEN: u8 = 32;

    #[inline]
    fn take(buf: &[u8]) -> Option<(Ipv4Net, &[u8])> {
        let (len, octets, rest) = split_prefix::<4>(buf)?;
        // RFC 4271 §4.3: bits past the prefix length are irrelevant; clear
        // them so equal routes compare equal.
        let mask = u32::MAX
            .checked_shl(32u32.saturating_sub(u32::from(len)))
            .unwrap_or(0);
        let addr = Ipv4Addr::from(u32::from_be_bytes(octets) & mask);
        Some((Ipv4Net::new(addr, len).ok()?, rest))
    }

    fn put(net: Ipv4Net, out: &mut BytesMut) {
        let len = net.prefix_len();
        out.put_u8(len);
        let octets = net.network().octets();
        out.put_slice(octets.get(..octets_for(len)).unwrap_or(&octets));
    }

    fn wire_len(net: Ipv4Net) -> usize {
        1 + octets_for(net.prefix_len())
    }
}

impl PrefixFamily for V6 {
    type Net = Ipv6Net;
    const MAX_LEN: u8 = 128;

    #[inline]
    fn take(buf: &[u8]) -> Option<(Ipv6Net, &[u8])> {
        let (len, octets, rest) = split_prefix::<16>(buf)?;
        // RFC 4271 §4.3 (and RFC 4760 §5 for IPv6): trailing bits cleared.
        let mask = u128::MAX
            .checked_shl(128u32.saturating_sub(u32::from(len)))
            .unwrap_or(0);
        let addr = Ipv6Addr::from(u128::from_be_bytes(octets) & mask);
        Some((Ipv6Net::new(addr, len).ok()?, rest))
    }

    fn put(net: Ipv6Net, out: &mut BytesMut) {
        let len = net.prefix_len();
        out.put_u8(len);
        let octets = net.network().octets();
        out.put_slice(octets.get(..octets_for(len)).unwrap_or(&octets));
    }

    fn wire_len(net: Ipv6Net) -> usize {
        1 + octets_for(net.prefix_len())
    }
}

/// Whether `buf` is a syntactically correct run of prefixes of at most
/// `max_len` bits (RFC 7606 §5.3): no length above the family's maximum, and
/// the last prefix does not overrun the field.
fn is_well_formed(buf: &[u8], max_len: u8) -> bool {
    let mut pos = 0usize;
    while let Some(&len) = buf.get(pos) {
        if len > max_len {
            return false;
        }
        pos += 1 + octets_for(len);
    }
    pos == buf.len()
}

/// A validated run of prefixes of one family, kept in its wire form.
#[derive(Clone, PartialEq, Eq)]
pub struct Nlri<F> {
    bytes: Bytes,
    family: PhantomData<F>,
}

/// IPv4 prefixes: the Withdrawn Routes and NLRI fields, or an IPv4 unicast
/// MP_REACH_NLRI / MP_UNREACH_NLRI.
pub type Ipv4Nlri = Nlri<V4>;
/// IPv6 prefixes of an IPv6 unicast MP_REACH_NLRI / MP_UNREACH_NLRI.
pub type Ipv6Nlri = Nlri<V6>;

impl<F: PrefixFamily> Nlri<F> {
    /// No prefix at all.
    pub fn empty() -> Nlri<F> {
        Nlri {
            bytes: Bytes::new(),
            family: PhantomData,
        }
    }

    /// Take `bytes` if they are a syntactically correct run of prefixes of
    /// this family (RFC 7606 §5.3); `None` otherwise.
    pub fn validate(bytes: Bytes) -> Option<Nlri<F>> {
        is_well_formed(&bytes, F::MAX_LEN).then_some(Nlri {
            bytes,
            family: PhantomData,
        })
    }

    /// The wire form of these prefixes, in this order, host bits cleared.
    pub fn from_prefixes(prefixes: impl IntoIterator<Item = F::Net>) -> Nlri<F> {
        let mut out = BytesMut::new();
        for net in prefixes {
            F::put(net, &mut out);
        }
        Nlri {
            bytes: out.freeze(),
            family: PhantomData,
        }
    }

    /// Walk the prefixes in wire order.
    pub fn iter(&self) -> Prefixes<'_, F> {
        Prefixes::new([&self.bytes, &[], &[], &[]])
    }

    /// The field as it is on the wire.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The field as it is on the wire, shared.
    pub fn to_bytes(&self) -> Bytes {
        self.bytes.clone()
    }

    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// Octets on the wire.
    pub fn wire_len(&self) -> usize {
        self.bytes.len()
    }
}

impl<F: PrefixFamily> Default for Nlri<F> {
    fn default() -> Nlri<F> {
        Nlri::empty()
    }
}

impl<F: PrefixFamily> fmt::Debug for Nlri<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl<'a, F: PrefixFamily> IntoIterator for &'a Nlri<F> {
    type Item = F::Net;
    type IntoIter = Prefixes<'a, F>;

    fn into_iter(self) -> Prefixes<'a, F> {
        self.iter()
    }
}

/// The prefixes of up to four validated fields, one after the other, without
/// allocation. Four covers the most an UPDATE has for one family: Withdrawn
/// Routes, MP_UNREACH_NLRI, and (when the UPDATE is treated as withdraw) NLRI
/// and MP_REACH_NLRI.
#[derive(Clone, Debug)]
pub struct Prefixes<'a, F> {
    current: &'a [u8],
    queued: [&'a [u8]; 3],
    next_queued: usize,
    family: PhantomData<F>,
}

impl<'a, F: PrefixFamily> Prefixes<'a, F> {
    pub(crate) fn new(parts: [&'a [u8]; 4]) -> Prefixes<'a, F> {
        let [current, a, b, c] = parts;
        Prefixes {
            current,
            queued: [a, b, c],
            next_queued: 0,
            family: PhantomData,
        }
    }
}

impl<F: PrefixFamily> Iterator for Prefixes<'_, F> {
    type Item = F::Net;

    #[inline]
    fn next(&mut self) -> Option<F::Net> {
        loop {
            if !self.current.is_empty() {
                // Every part was validated at decode, so `take` succeeds; if
                // it did not, stop rather than loop.
                let (net, rest) = F::take(self.current)?;
                self.current = rest;
                return Some(net);
            }
            self.current = self.queued.get(self.next_queued)?;
            self.next_queued += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v4(s: &str) -> Ipv4Net {
        s.parse().unwrap()
    }

    #[test]
    fn ipv4_prefixes_use_minimal_octets() {
        // RFC 4271 §4.3: a /24 takes 3 octets, a /0 none, a /25 four.
        let nlri =
            Ipv4Nlri::from_prefixes([v4("10.1.2.0/24"), v4("0.0.0.0/0"), v4("10.0.0.128/25")]);
        assert_eq!(nlri.as_bytes(), [24, 10, 1, 2, 0, 25, 10, 0, 0, 128]);
        let back: Vec<_> = nlri.iter().collect();
        assert_eq!(
            back,
            [v4("10.1.2.0/24"), v4("0.0.0.0/0"), v4("10.0.0.128/25")]
        );
    }

    #[test]
    fn trailing_bits_are_cleared_when_read_and_written() {
        // RFC 4271 §4.3: bits past the prefix length are irrelevant.
        let nlri = Ipv4Nlri::validate(Bytes::from_static(&[20, 10, 1, 0xff])).unwrap();
        assert_eq!(nlri.iter().next(), Some(v4("10.1.240.0/20")));
        // Followed by another prefix: the octets read past it are masked.
        let two = Ipv4Nlri::validate(Bytes::from_static(&[20, 10, 1, 0xff, 8, 10])).unwrap();
        assert_eq!(
            two.iter().collect::<Vec<_>>(),
            [v4("10.1.240.0/20"), v4("10.0.0.0/8")]
        );
        let built = Ipv4Nlri::from_prefixes([v4("10.1.255.255/20")]);
        assert_eq!(built.as_bytes(), [20, 10, 1, 0xf0]);
        let v6 = Ipv6Nlri::validate(Bytes::from_static(&[9, 0x20, 0x7f])).unwrap();
        assert_eq!(v6.iter().next(), Some("2000::/9".parse().unwrap()));
    }

    #[test]
    fn too_long_prefix_lengths_are_syntax_errors() {
        // RFC 7606 §5.3: a length above 32 (IPv4) or 128 (IPv6).
        assert!(Ipv4Nlri::validate(Bytes::from_static(&[33, 1, 2, 3, 4, 5])).is_none());
        let mut v6 = vec![129u8];
        v6.extend([0u8; 17]);
        assert!(Ipv6Nlri::validate(Bytes::from(v6)).is_none());
        assert!(Ipv4Nlri::validate(Bytes::from_static(&[32, 1, 2, 3, 4])).is_some());
    }

    #[test]
    fn overrunning_prefix_is_a_syntax_error() {
        // RFC 7606 §5.3: the last prefix must not overrun the field.
        assert!(Ipv4Nlri::validate(Bytes::from_static(&[24, 10, 1])).is_none());
        assert!(Ipv4Nlri::validate(Bytes::from_static(&[8, 10, 24])).is_none());
        assert!(Ipv4Nlri::validate(Bytes::new()).is_some());
    }

    #[test]
    fn prefixes_walk_several_parts_in_order() {
        let a = Ipv4Nlri::from_prefixes([v4("10.0.0.0/8")]);
        let b = Ipv4Nlri::from_prefixes([v4("192.168.0.0/16"), v4("172.16.0.0/12")]);
        let all: Vec<_> = Prefixes::<V4>::new([a.as_bytes(), &[], b.as_bytes(), &[]]).collect();
        assert_eq!(
            all,
            [v4("10.0.0.0/8"), v4("192.168.0.0/16"), v4("172.16.0.0/12")]
        );
    }
}
