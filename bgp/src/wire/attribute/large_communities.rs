//! LARGE_COMMUNITIES (type code 32, RFC 8092): a list of 12-octet values.
//!
//! ```text
//! +---------------------------------------------------------------+
//! | Global Administrator (4) | Local Data Part 1 (4) | Local Data Part 2 (4) |  × n
//! +---------------------------------------------------------------+
//! ```

use std::fmt;

use bytes::{BufMut, BytesMut};

use super::Malformed;
use crate::wire::notification::update_error;

/// One large community (RFC 8092 §3), written `global:local1:local2`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LargeCommunity {
    pub global: u32,
    pub local1: u32,
    pub local2: u32,
}

impl fmt::Display for LargeCommunity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.global, self.local1, self.local2)
    }
}

fn word(octets: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(octets.get(at..at + 4)?.try_into().ok()?))
}

/// Duplicates are kept as they came: RFC 8092 §6 says a receiver must not
/// treat them as an error.
pub(crate) fn decode(value: &[u8]) -> Result<Vec<LargeCommunity>, Malformed> {
    if value.is_empty() || !value.len().is_multiple_of(12) {
        // RFC 8092 §6: a length that is not a nonzero multiple of 12 is
        // treat-as-withdraw.
        return Err(Malformed::withdraw(
            update_error::ATTRIBUTE_LENGTH,
            "LARGE_COMMUNITIES length is not a nonzero multiple of 12 (RFC 8092 §6)",
        ));
    }
    Ok(value
        .chunks_exact(12)
        .filter_map(|c| {
            Some(LargeCommunity {
                global: word(c, 0)?,
                local1: word(c, 4)?,
                local2: word(c, 8)?,
            })
        })
        .collect())
}

pub(crate) fn encode(communities: &[LargeCommunity], out: &mut BytesMut) {
    for c in communities {
        out.put_u32(c.global);
        out.put_u32(c.local1);
        out.put_u32(c.local2);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::attribute::Verdict;

    #[test]
    fn large_communities_round_trip() {
        let value = [0xfa, 0x56, 0xea, 0x02, 0, 0, 0, 10, 0, 0, 0, 20];
        let c = decode(&value).unwrap();
        assert_eq!(c[0].to_string(), "4200000002:10:20");
        let mut out = BytesMut::new();
        encode(&c, &mut out);
        assert_eq!(&out[..], value);
    }

    #[test]
    fn bad_length_is_treat_as_withdraw() {
        // RFC 8092 §6.
        assert_eq!(decode(&[0; 13]).unwrap_err().verdict, Verdict::Withdraw);
        assert_eq!(decode(&[]).unwrap_err().verdict, Verdict::Withdraw);
    }
}
