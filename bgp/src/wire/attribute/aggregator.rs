//! ATOMIC_AGGREGATE (type code 6, RFC 4271 §5.1.6), AGGREGATOR (type code 7,
//! RFC 4271 §5.1.7) and AS4_AGGREGATOR (type code 18, RFC 6793 §3).
//!
//! ```text
//! AGGREGATOR:     | ASN (2 octets, or 4 on a 4-octet AS session) | IPv4 address (4) |
//! AS4_AGGREGATOR: | ASN (4 octets)                               | IPv4 address (4) |
//! ATOMIC_AGGREGATE: no value
//! ```

use std::net::Ipv4Addr;

use bytes::BytesMut;

use super::Malformed;
use super::as_path::AsWidth;
use crate::asn::Asn;
use crate::wire::notification::update_error;

/// The speaker that formed an aggregate route.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Aggregator {
    pub asn: Asn,
    pub address: Ipv4Addr,
}

impl Aggregator {
    fn read(value: &[u8], width: AsWidth) -> Option<Aggregator> {
        if value.len() != width.octets() + 4 {
            return None;
        }
        let (asn, address) = value.split_at(width.octets());
        Some(Aggregator {
            asn: width.read(asn)?,
            address: Ipv4Addr::from(<[u8; 4]>::try_from(address).ok()?),
        })
    }

    pub(crate) fn decode(value: &[u8], width: AsWidth) -> Result<Aggregator, Malformed> {
        // RFC 7606 §7.7: a length other than 6 (or 8 on a 4-octet AS
        // session) is attribute discard.
        let aggregator = Aggregator::read(value, width).ok_or(Malformed::discard(
            update_error::ATTRIBUTE_LENGTH,
            "AGGREGATOR length is not 6, or 8 with 4-octet ASNs (RFC 7606 §7.7)",
        ))?;
        if aggregator.asn == Asn(0) {
            // RFC 7607 §2: AS 0 makes AGGREGATOR malformed (RFC 7606 §7.7).
            return Err(Malformed::discard(
                update_error::OPTIONAL_ATTRIBUTE,
                "AGGREGATOR with AS number 0 (RFC 7607 §2)",
            ));
        }
        Ok(aggregator)
    }

    /// Only called on a 2-octet AS session: on a 4-octet one AS4_AGGREGATOR
    /// is discarded before it is read (RFC 6793 §6).
    pub(crate) fn decode_as4(value: &[u8]) -> Result<Aggregator, Malformed> {
        // RFC 6793 §6: a malformed AS4_AGGREGATOR is discarded.
        match Aggregator::read(value, AsWidth::Four) {
            Some(a) if a.asn != Asn(0) => Ok(a),
            _ => Err(Malformed::discard(
                update_error::OPTIONAL_ATTRIBUTE,
                "AS4_AGGREGATOR is not 8 octets with a nonzero ASN (RFC 6793 §6)",
            )),
        }
    }

    pub(crate) fn encoded_len(width: AsWidth) -> usize {
        width.octets() + 4
    }

    pub(crate) fn encode(&self, width: AsWidth, out: &mut BytesMut) {
        width.put(self.asn, out);
        out.extend_from_slice(&self.address.octets());
    }
}

pub(crate) fn decode_atomic_aggregate(value: &[u8]) -> Result<(), Malformed> {
    if value.is_empty() {
        Ok(())
    } else {
        // RFC 7606 §7.6: a length other than 0 is attribute discard.
        Err(Malformed::discard(
            update_error::ATTRIBUTE_LENGTH,
            "ATOMIC_AGGREGATE length is not 0 (RFC 7606 §7.6)",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::attribute::Verdict;

    #[test]
    fn aggregator_width_follows_the_session() {
        let two = [0xfd, 0xe9, 10, 0, 0, 1];
        let four = [0, 0, 0xfd, 0xe9, 10, 0, 0, 1];
        let want = Aggregator {
            asn: Asn(65001),
            address: Ipv4Addr::new(10, 0, 0, 1),
        };
        assert_eq!(Aggregator::decode(&two, AsWidth::Two), Ok(want));
        assert_eq!(Aggregator::decode(&four, AsWidth::Four), Ok(want));
        // RFC 7606 §7.7: the wrong width for the session is discarded.
        assert_eq!(
            Aggregator::decode(&two, AsWidth::Four).unwrap_err().verdict,
            Verdict::Discard
        );
    }

    #[test]
    fn aggregator_with_as_zero_is_discarded() {
        // RFC 7607 §2.
        let err = Aggregator::decode(&[0, 0, 10, 0, 0, 1], AsWidth::Two).unwrap_err();
        assert_eq!(err.verdict, Verdict::Discard);
        assert!(Aggregator::decode_as4(&[0, 0, 0, 0, 10, 0, 0, 1]).is_err());
    }

    #[test]
    fn atomic_aggregate_with_a_value_is_discarded() {
        // RFC 7606 §7.6.
        assert_eq!(decode_atomic_aggregate(&[]), Ok(()));
        assert_eq!(
            decode_atomic_aggregate(&[1]).unwrap_err().verdict,
            Verdict::Discard
        );
    }
}
