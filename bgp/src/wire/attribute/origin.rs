//! ORIGIN (type code 1, RFC 4271 §4.3 and §5.1.1): well-known mandatory.
//!
//! ```text
//! +---------------+
//! |  0 IGP, 1 EGP, 2 INCOMPLETE  (1 octet)
//! +---------------+
//! ```

use bytes::{BufMut, BytesMut};

use super::Malformed;
use crate::wire::notification::update_error;

/// Where the route came from, as its originator says.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Origin {
    Igp,
    Egp,
    Incomplete,
}

impl Origin {
    pub(crate) fn decode(value: &[u8]) -> Result<Origin, Malformed> {
        let &[code] = value else {
            // RFC 7606 §7.1: a length other than 1 is treat-as-withdraw.
            return Err(Malformed::withdraw(
                update_error::ATTRIBUTE_LENGTH,
                "ORIGIN length is not 1 (RFC 7606 §7.1)",
            ));
        };
        match code {
            0 => Ok(Origin::Igp),
            1 => Ok(Origin::Egp),
            2 => Ok(Origin::Incomplete),
            // RFC 7606 §7.1: an undefined value is treat-as-withdraw.
            _ => Err(Malformed::withdraw(
                update_error::INVALID_ORIGIN,
                "ORIGIN has an undefined value (RFC 7606 §7.1)",
            )),
        }
    }

    pub(crate) fn encode(self, out: &mut BytesMut) {
        out.put_u8(match self {
            Origin::Igp => 0,
            Origin::Egp => 1,
            Origin::Incomplete => 2,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::attribute::Verdict;

    #[test]
    fn defined_values_decode() {
        assert_eq!(Origin::decode(&[0]), Ok(Origin::Igp));
        assert_eq!(Origin::decode(&[1]), Ok(Origin::Egp));
        assert_eq!(Origin::decode(&[2]), Ok(Origin::Incomplete));
    }

    #[test]
    fn undefined_value_or_bad_length_is_treat_as_withdraw() {
        // RFC 7606 §7.1.
        for value in [&[3u8][..], &[], &[0, 0]] {
            let err = Origin::decode(value).unwrap_err();
            assert_eq!(err.verdict, Verdict::Withdraw, "{value:?}");
        }
        assert_eq!(
            Origin::decode(&[3]).unwrap_err().subcode,
            update_error::INVALID_ORIGIN
        );
    }
}
