//! Capabilities advertised in OPEN (RFC 5492 §4).
//!
//! ```text
//! +------------------------------+
//! | Capability Code (1 octet)    |
//! +------------------------------+
//! | Capability Length (1 octet)  |
//! +------------------------------+
//! | Capability Value (variable)  |
//! +------------------------------+
//! ```

use bytes::Bytes;

use crate::asn::Asn;
use crate::family::{Afi, Family};

/// One capability. Those this crate acts on are typed; any other is kept as
/// raw bytes so it is neither lost nor misread (RFC 5492 §3: a speaker
/// ignores capabilities it does not understand).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Capability {
    /// Code 1, RFC 4760 §8. The reserved octet between AFI and SAFI is kept
    /// so that what was received re-encodes byte-exact.
    Multiprotocol { family: Family, reserved: u8 },
    /// Code 2, RFC 2918 §2.
    RouteRefresh,
    /// Code 70, RFC 7313 §3.
    EnhancedRouteRefresh,
    /// Code 65, RFC 6793 §3: the sender's real ASN.
    FourOctetAs(Asn),
    /// Code 64, RFC 4724 §3.
    GracefulRestart(GracefulRestart),
    /// Code 5, RFC 8950 §3: NLRI families that may carry a next hop of
    /// another address family.
    ExtendedNextHop(Vec<ExtendedNextHop>),
    /// Code 6, RFC 8654 §3.
    ExtendedMessage,
    /// Anything else, kept whole.
    Unknown { code: u8, value: Bytes },
}

/// The Graceful Restart capability (RFC 4724 §3).
///
/// ```text
/// +--------------------------------------------------+
/// | Restart Flags (4 bits)                           |
/// +--------------------------------------------------+
/// | Restart Time in seconds (12 bits)                |
/// +--------------------------------------------------+
/// | Address Family Identifier (16 bits)              |
/// +--------------------------------------------------+
/// | Subsequent Address Family Identifier (8 bits)    |
/// +--------------------------------------------------+
/// | Flags for Address Family (8 bits)                |
/// +--------------------------------------------------+
/// | ...                                              |
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GracefulRestart {
    /// The 4 flag bits: R (restarting, 0x8) and N (notification, 0x4,
    /// RFC 8538 §2).
    pub flags: u8,
    /// Seconds, 12 bits.
    pub restart_time: u16,
    pub families: Vec<GracefulRestartFamily>,
}

impl GracefulRestart {
    /// RFC 4724 §3: the Restart State bit.
    pub const RESTARTING: u8 = 0x8;
    /// RFC 8538 §2: the N bit, graceful restart also for NOTIFICATIONs.
    pub const NOTIFICATION: u8 = 0x4;
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GracefulRestartFamily {
    pub family: Family,
    /// RFC 4724 §3: bit 0x80 says forwarding state was preserved.
    pub flags: u8,
}

impl GracefulRestartFamily {
    pub const FORWARDING_PRESERVED: u8 = 0x80;
}

/// One tuple of the Extended Next Hop capability (RFC 8950 §3). The NLRI SAFI
/// is 16 bits on the wire there, unlike everywhere else.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExtendedNextHop {
    pub nlri_afi: Afi,
    pub nlri_safi: u16,
    pub next_hop_afi: Afi,
}
