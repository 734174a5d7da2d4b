//! The wire codec: every BGP message, byte-exact in both directions.
//!
//! Decoding is zero-copy where it matters: a message body is a `Bytes` slice
//! of the receive buffer, and NLRI stay as validated byte ranges that are
//! walked on demand, so an UPDATE with a thousand prefixes allocates nothing
//! per prefix.

pub mod announce;
pub mod attribute;
pub mod capability;
pub mod header;
pub mod message;
pub mod nlri;
pub mod notification;
pub mod open;
pub mod route_refresh;
pub mod update;

pub use capability::Capability;
pub use capability::CapabilityCode;
pub use header::{Header, MessageType};
pub use message::Message;
pub use message::{decode_message, encode_message};
pub use notification::{ErrorCode, Notification};
pub use open::{Open, OptionalParameter};
pub use route_refresh::RefreshSubtype;
pub use route_refresh::RouteRefresh;
pub use update::Update;

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
    /// The peer is in our AS (RFC 4271 §3: internal). LOCAL_PREF,
    /// ORIGINATOR_ID and CLUSTER_LIST are only taken from internal peers
    /// (RFC 7606 §7.5, §7.9, §7.10); AS_PATH confederation segments only
    /// from them (RFC 5065 §5); and an announcement to them carries an empty
    /// AS_PATH and a LOCAL_PREF (RFC 4271 §5.1.2, §5.1.5).
    pub ibgp: bool,
}
