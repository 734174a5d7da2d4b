//! COMMUNITIES (type code 8, RFC 1997): a list of 4-octet values.
//!
//! ```text
//! +-------------------------------+-------------------------------+
//! | ASN (2 octets)                | value (2 octets)              |  × n
//! +-------------------------------+-------------------------------+
//! ```

use std::fmt;

use bytes::{BufMut, BytesMut};

use super::Malformed;
use crate::wire::notification::update_error;

/// One community (RFC 1997), written `ASN:value`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Community(pub u32);

impl Community {
    pub fn new(asn: u16, value: u16) -> Community {
        Community((u32::from(asn) << 16) | u32::from(value))
    }
}

impl fmt::Display for Community {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.0 >> 16, self.0 & 0xffff)
    }
}

pub(crate) fn decode(value: &[u8]) -> Result<Vec<Community>, Malformed> {
    if value.is_empty() || !value.len().is_multiple_of(4) {
        // RFC 7606 §7.8: a length that is not a nonzero multiple of 4 is
        // treat-as-withdraw.
        return Err(Malformed::withdraw(
            update_error::ATTRIBUTE_LENGTH,
            "COMMUNITIES length is not a nonzero multiple of 4 (RFC 7606 §7.8)",
        ));
    }
    Ok(value
        .chunks_exact(4)
        .filter_map(|c| Some(Community(u32::from_be_bytes(c.try_into().ok()?))))
        .collect())
}

pub(crate) fn encode(communities: &[Community], out: &mut BytesMut) {
    for c in communities {
        out.put_u32(c.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::attribute::Verdict;

    #[test]
    fn communities_keep_order_and_duplicates() {
        let value = [0xfd, 0xea, 0, 7, 0xff, 0xff, 0xff, 0x01, 0xfd, 0xea, 0, 7];
        let c = decode(&value).unwrap();
        assert_eq!(
            c,
            [
                Community::new(65002, 7),
                Community(0xffff_ff01),
                Community::new(65002, 7)
            ]
        );
        assert_eq!(c[0].to_string(), "65002:7");
        let mut out = BytesMut::new();
        encode(&c, &mut out);
        assert_eq!(&out[..], value);
    }

    #[test]
    fn bad_length_is_treat_as_withdraw() {
        // RFC 7606 §7.8: not a nonzero multiple of 4.
        assert_eq!(decode(&[1, 2, 3]).unwrap_err().verdict, Verdict::Withdraw);
        assert_eq!(decode(&[]).unwrap_err().verdict, Verdict::Withdraw);
    }
}
