//! Attributes this crate does not recognize, kept as raw octets with their
//! flags.
//!
//! RFC 4271 §5: an unrecognized optional transitive attribute is passed on
//! with the Partial bit set; an unrecognized optional non-transitive one is
//! quietly ignored. This speaker passes nothing on, but keeps both kinds with
//! the flags they came with, so a decoded UPDATE encodes back unchanged.

use bytes::Bytes;

use super::{AttrFlags, Malformed};
use crate::wire::notification::update_error;

/// An attribute whose type code this crate does not decode.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RawAttribute {
    /// As received, Extended Length bit included.
    pub flags: AttrFlags,
    pub type_code: u8,
    pub value: Bytes,
}

impl RawAttribute {
    pub(crate) fn decode(
        flags: AttrFlags,
        type_code: u8,
        value: Bytes,
    ) -> Result<RawAttribute, Malformed> {
        if !flags.is_optional() {
            // RFC 4271 §6.3: an unrecognized well-known attribute resets the
            // session (RFC 7606 does not revise this rule).
            return Err(Malformed::reset(
                update_error::UNRECOGNIZED_WELL_KNOWN,
                "unrecognized well-known attribute (RFC 4271 §6.3)",
            ));
        }
        Ok(RawAttribute {
            flags,
            type_code,
            value,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::attribute::Verdict;

    #[test]
    fn unknown_optional_is_kept_and_unknown_well_known_resets() {
        let kept = RawAttribute::decode(AttrFlags(0xe0), 99, Bytes::from_static(b"x")).unwrap();
        assert_eq!(kept.flags, AttrFlags(0xe0));
        // RFC 4271 §6.3: Unrecognized Well-known Attribute.
        let err = RawAttribute::decode(AttrFlags(0x40), 99, Bytes::new()).unwrap_err();
        assert_eq!(err.verdict, Verdict::Reset);
        assert_eq!(err.subcode, update_error::UNRECOGNIZED_WELL_KNOWN);
    }
}
