//! Autonomous system numbers.

use std::fmt;

/// An autonomous system number, always held in its 4-octet form (RFC 6793).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Asn(pub u32);

impl Asn {
    /// RFC 6793 §9: the reserved 2-octet ASN a 4-octet speaker puts in 2-octet
    /// fields when its real ASN does not fit.
    pub const TRANS: Asn = Asn(23456);

    /// The value to put in a 2-octet AS field (OPEN "My Autonomous System",
    /// 2-octet AS_PATH): the ASN itself if it fits, AS_TRANS otherwise
    /// (RFC 6793 §4.1, §4.2.2).
    pub fn as_u16_or_trans(self) -> u16 {
        u16::try_from(self.0).unwrap_or(Asn::TRANS.0 as u16)
    }

    /// Whether this ASN needs 4 octets on the wire.
    pub fn is_four_octet(self) -> bool {
        self.0 > u32::from(u16::MAX)
    }
}

impl fmt::Display for Asn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl From<u32> for Asn {
    fn from(v: u32) -> Self {
        Asn(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn four_octet_asn_goes_out_as_trans_in_two_octet_fields() {
        // RFC 6793 §4.1: AS_TRANS in "My Autonomous System" for a large ASN.
        assert_eq!(Asn(4_200_000_000).as_u16_or_trans(), 23456);
        assert_eq!(Asn(65001).as_u16_or_trans(), 65001);
        assert!(Asn(65536).is_four_octet());
        assert!(!Asn(65535).is_four_octet());
    }
}
