//! MULTI_EXIT_DISC (type code 4, RFC 4271 §5.1.4) and LOCAL_PREF (type code
//! 5, RFC 4271 §5.1.5): one 4-octet unsigned integer each.
//!
//! ```text
//! +-------------------------------+
//! | value (4 octets)              |
//! +-------------------------------+
//! ```

use super::Malformed;
use crate::wire::notification::update_error;

fn read_u32(value: &[u8]) -> Option<u32> {
    Some(u32::from_be_bytes(value.try_into().ok()?))
}

pub(crate) fn decode_med(value: &[u8]) -> Result<u32, Malformed> {
    // RFC 7606 §7.4: a length other than 4 is treat-as-withdraw.
    read_u32(value).ok_or(Malformed::withdraw(
        update_error::ATTRIBUTE_LENGTH,
        "MULTI_EXIT_DISC length is not 4 (RFC 7606 §7.4)",
    ))
}

/// Only called for internal peers: from an external one the attribute is
/// discarded before it is read (RFC 7606 §7.5).
pub(crate) fn decode_local_pref(value: &[u8]) -> Result<u32, Malformed> {
    // RFC 7606 §7.5: a length other than 4 is treat-as-withdraw.
    read_u32(value).ok_or(Malformed::withdraw(
        update_error::ATTRIBUTE_LENGTH,
        "LOCAL_PREF length is not 4 (RFC 7606 §7.5)",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::attribute::Verdict;

    #[test]
    fn four_octets_decode_and_others_withdraw() {
        // RFC 7606 §7.4 and §7.5.
        assert_eq!(decode_med(&[0, 0, 1, 0]), Ok(256));
        assert_eq!(decode_local_pref(&[0, 0, 0, 100]), Ok(100));
        assert_eq!(
            decode_med(&[0, 0, 1]).unwrap_err().verdict,
            Verdict::Withdraw
        );
        assert_eq!(
            decode_local_pref(&[0, 0, 0, 0, 100]).unwrap_err().verdict,
            Verdict::Withdraw
        );
    }
}
