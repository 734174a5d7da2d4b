//! The wire codec: every BGP message, byte-exact in both directions.
//!
//! Decoding is zero-copy where it matters: a message body is a `Bytes` slice
//! of the receive buffer, and NLRI stay as validated byte ranges that are
//! walked on demand, so an UPDATE with a thousand prefixes allocates nothing
//! per prefix.

pub mod notification;

pub use notification::{ErrorCode, Notification};

/// What the session negotiated that changes how bytes are read and written.
/// Before the OPEN exchange completes, `DecodeContext::default()` applies.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DecodeContext {
    /// RFC 6793: AS numbers in AS_PATH and AGGREGATOR are 4 octets.
    pub four_octet_as: bool,
    /// RFC 8654: messages other than OPEN and KEEPALIVE may be up to 65535
    /// octets.
    pub extended_message: bool,
    /// RFC 8950: IPv4 NLRI may carry an IPv6 next hop in MP_REACH_NLRI.
    pub extended_next_hop_ipv4: bool,
}
