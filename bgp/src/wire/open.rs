//! OPEN (RFC 4271 §4.2) and its optional parameters (RFC 5492 §4).
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+
//! |    Version    |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |     My Autonomous System      |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |           Hold Time           |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                         BGP Identifier                        |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! | Opt Parm Len  |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |             Optional Parameters (variable)                    |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```

use bytes::Bytes;

use crate::router_id::RouterId;
use crate::wire::capability::Capability;

/// An OPEN message, as it is on the wire: the optional parameters keep their
/// order and grouping, so a decoded OPEN encodes back to the same bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Open {
    /// RFC 4271 §4.2: always 4 for what we send; kept as received so the FSM
    /// can refuse another (OPEN Message Error/Unsupported Version Number).
    pub version: u8,
    /// The 2-octet "My Autonomous System" field: the sender's ASN, or
    /// AS_TRANS when it needs 4 octets (RFC 6793 §4.1).
    pub my_as: u16,
    /// Seconds; 0 or at least 3 (RFC 4271 §4.2).
    pub hold_time: u16,
    pub router_id: RouterId,
    pub params: Vec<OptionalParameter>,
}

/// One optional parameter of an OPEN.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OptionalParameter {
    /// Parameter type 2 (RFC 5492 §4): one or more capabilities. FRR sends one
    /// capability per parameter, BIRD all of them in one; both are kept.
    Capabilities(Vec<Capability>),
    /// Any other parameter type, kept raw. Receiving one is an error (OPEN
    /// Message Error/Unsupported Optional Parameter, RFC 4271 §6.2), which
    /// the state machine decides, not the decoder.
    Unknown { kind: u8, value: Bytes },
}
