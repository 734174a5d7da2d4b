//! The BGP Identifier.

use std::fmt;
use std::net::Ipv4Addr;

/// A BGP Identifier (RFC 4271 §4.2, RFC 6286): a 4-octet value, written like
/// an IPv4 address, unique within the AS. Compared as an unsigned integer for
/// collision resolution (RFC 4271 §6.8).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RouterId(pub Ipv4Addr);

impl RouterId {
    pub fn to_u32(self) -> u32 {
        u32::from(self.0)
    }
}

impl fmt::Display for RouterId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl From<Ipv4Addr> for RouterId {
    fn from(a: Ipv4Addr) -> Self {
        RouterId(a)
    }
}
