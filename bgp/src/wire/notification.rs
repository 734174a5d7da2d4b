//! NOTIFICATION (RFC 4271 §4.5) and the shutdown communication (RFC 9003).
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! | Error code    | Error subcode |   Data (variable)             |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```

use std::fmt;

use bytes::{BufMut, Bytes, BytesMut};

/// A NOTIFICATION error code (RFC 4271 §4.5, IANA "BGP Error (Notification)
/// Codes").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ErrorCode(pub u8);

impl ErrorCode {
    pub const MESSAGE_HEADER: ErrorCode = ErrorCode(1);
    pub const OPEN: ErrorCode = ErrorCode(2);
    pub const UPDATE: ErrorCode = ErrorCode(3);
    pub const HOLD_TIMER_EXPIRED: ErrorCode = ErrorCode(4);
    pub const FSM: ErrorCode = ErrorCode(5);
    pub const CEASE: ErrorCode = ErrorCode(6);
    /// RFC 7313 §5.
    pub const ROUTE_REFRESH: ErrorCode = ErrorCode(7);
    /// RFC 9687 §3.
    pub const SEND_HOLD_TIMER_EXPIRED: ErrorCode = ErrorCode(8);

    pub fn name(self) -> &'static str {
        match self.0 {
            1 => "Message Header Error",
            2 => "OPEN Message Error",
            3 => "UPDATE Message Error",
            4 => "Hold Timer Expired",
            5 => "Finite State Machine Error",
            6 => "Cease",
            7 => "ROUTE-REFRESH Message Error",
            8 => "Send Hold Timer Expired",
            _ => "Unknown Error",
        }
    }
}

/// Subcodes of Message Header Error (RFC 4271 §4.5).
pub mod header_error {
    pub const CONNECTION_NOT_SYNCHRONIZED: u8 = 1;
    pub const BAD_MESSAGE_LENGTH: u8 = 2;
    pub const BAD_MESSAGE_TYPE: u8 = 3;
}

/// Subcodes of OPEN Message Error (RFC 4271 §4.5, RFC 5492 §5).
pub mod open_error {
    /// RFC 4271 §6.2: a recognised optional parameter that is malformed.
    pub const UNSPECIFIC: u8 = 0;
    pub const UNSUPPORTED_VERSION: u8 = 1;
    pub const BAD_PEER_AS: u8 = 2;
    pub const BAD_BGP_IDENTIFIER: u8 = 3;
    pub const UNSUPPORTED_OPTIONAL_PARAMETER: u8 = 4;
    pub const UNACCEPTABLE_HOLD_TIME: u8 = 6;
    pub const UNSUPPORTED_CAPABILITY: u8 = 7;
}

/// Subcodes of UPDATE Message Error (RFC 4271 §4.5).
pub mod update_error {
    pub const MALFORMED_ATTRIBUTE_LIST: u8 = 1;
    pub const UNRECOGNIZED_WELL_KNOWN: u8 = 2;
    pub const MISSING_WELL_KNOWN: u8 = 3;
    pub const ATTRIBUTE_FLAGS: u8 = 4;
    pub const ATTRIBUTE_LENGTH: u8 = 5;
    pub const INVALID_ORIGIN: u8 = 6;
    pub const INVALID_NEXT_HOP: u8 = 8;
    pub const OPTIONAL_ATTRIBUTE: u8 = 9;
    pub const INVALID_NETWORK_FIELD: u8 = 10;
    pub const MALFORMED_AS_PATH: u8 = 11;
}

/// Subcodes of Finite State Machine Error (RFC 6608 §4).
pub mod fsm_error {
    pub const UNSPECIFIED: u8 = 0;
    pub const UNEXPECTED_IN_OPENSENT: u8 = 1;
    pub const UNEXPECTED_IN_OPENCONFIRM: u8 = 2;
    pub const UNEXPECTED_IN_ESTABLISHED: u8 = 3;
}

/// Subcodes of Cease (RFC 4486 §4, RFC 8538 §3).
pub mod cease {
    pub const MAX_PREFIXES: u8 = 1;
    pub const ADMINISTRATIVE_SHUTDOWN: u8 = 2;
    pub const PEER_DECONFIGURED: u8 = 3;
    pub const ADMINISTRATIVE_RESET: u8 = 4;
    pub const CONNECTION_REJECTED: u8 = 5;
    pub const OTHER_CONFIGURATION_CHANGE: u8 = 6;
    pub const CONNECTION_COLLISION: u8 = 7;
    pub const OUT_OF_RESOURCES: u8 = 8;
    pub const HARD_RESET: u8 = 9;
}

/// Subcodes of ROUTE-REFRESH Message Error (RFC 7313 §5).
pub mod route_refresh_error {
    pub const INVALID_MESSAGE_LENGTH: u8 = 1;
}

fn subcode_name(code: ErrorCode, subcode: u8) -> Option<&'static str> {
    let name = match (code.0, subcode) {
        (1, 1) => "Connection Not Synchronized",
        (1, 2) => "Bad Message Length",
        (1, 3) => "Bad Message Type",
        (2, 0) => "Unspecific",
        (2, 1) => "Unsupported Version Number",
        (2, 2) => "Bad Peer AS",
        (2, 3) => "Bad BGP Identifier",
        (2, 4) => "Unsupported Optional Parameter",
        (2, 6) => "Unacceptable Hold Time",
        (2, 7) => "Unsupported Capability",
        (2, 11) => "Role Mismatch",
        (3, 1) => "Malformed Attribute List",
        (3, 2) => "Unrecognized Well-known Attribute",
        (3, 3) => "Missing Well-known Attribute",
        (3, 4) => "Attribute Flags Error",
        (3, 5) => "Attribute Length Error",
        (3, 6) => "Invalid ORIGIN Attribute",
        (3, 8) => "Invalid NEXT_HOP Attribute",
        (3, 9) => "Optional Attribute Error",
        (3, 10) => "Invalid Network Field",
        (3, 11) => "Malformed AS_PATH",
        (5, 0) => "Unspecified Error",
        (5, 1) => "Receive Unexpected Message in OpenSent State",
        (5, 2) => "Receive Unexpected Message in OpenConfirm State",
        (5, 3) => "Receive Unexpected Message in Established State",
        (6, 1) => "Maximum Number of Prefixes Reached",
        (6, 2) => "Administrative Shutdown",
        (6, 3) => "Peer De-configured",
        (6, 4) => "Administrative Reset",
        (6, 5) => "Connection Rejected",
        (6, 6) => "Other Configuration Change",
        (6, 7) => "Connection Collision Resolution",
        (6, 8) => "Out of Resources",
        (6, 9) => "Hard Reset",
        (6, 10) => "BFD Down",
        (7, 1) => "Invalid Message Length",
        _ => return None,
    };
    Some(name)
}

/// RFC 9003 §2: a shutdown communication is at most 255 octets of UTF-8.
pub const MAX_SHUTDOWN_COMMUNICATION: usize = 255;

/// A NOTIFICATION message: the reason a session is being closed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notification {
    pub code: ErrorCode,
    pub subcode: u8,
    pub data: Bytes,
}

impl Notification {
    pub fn new(code: ErrorCode, subcode: u8, data: impl Into<Bytes>) -> Notification {
        Notification {
            code,
            subcode,
            data: data.into(),
        }
    }

    /// Cease with a shutdown communication (RFC 9003 §2), for subcodes 2
    /// (Administrative Shutdown) and 4 (Administrative Reset). The text is cut
    /// at a character boundary to fit 255 octets.
    pub fn cease_with_message(subcode: u8, message: &str) -> Notification {
        let mut end = message.len().min(MAX_SHUTDOWN_COMMUNICATION);
        while !message.is_char_boundary(end) {
            end -= 1;
        }
        let text = &message.as_bytes()[..end];
        let mut data = BytesMut::with_capacity(1 + text.len());
        data.put_u8(text.len() as u8);
        data.put_slice(text);
        Notification::new(ErrorCode::CEASE, subcode, data.freeze())
    }

    /// The RFC 9003 shutdown communication, for Cease subcodes 2 and 4 whose
    /// data is a well-formed length and UTF-8 text. Anything else yields
    /// `None`: RFC 9003 §2 says a malformed one is logged, never acted on.
    pub fn shutdown_communication(&self) -> Option<&str> {
        if self.code != ErrorCode::CEASE
            || !matches!(
                self.subcode,
                cease::ADMINISTRATIVE_SHUTDOWN | cease::ADMINISTRATIVE_RESET
            )
        {
            return None;
        }
        let (&len, rest) = self.data.split_first()?;
        let text = rest.get(..usize::from(len))?;
        std::str::from_utf8(text).ok().filter(|t| !t.is_empty())
    }

    /// "Code name/Subcode name", for logs and `show`.
    pub fn name(&self) -> String {
        match subcode_name(self.code, self.subcode) {
            Some(sub) => format!("{}/{}", self.code.name(), sub),
            // RFC 4271 §4.5: codes without subcodes carry 0.
            None if self.subcode == 0 => self.code.name().to_string(),
            None => format!("{}/subcode {}", self.code.name(), self.subcode),
        }
    }

    /// Body after the common header: code, subcode, data.
    pub fn decode_body(body: Bytes) -> Option<Notification> {
        if body.len() < 2 {
            return None;
        }
        Some(Notification {
            code: ErrorCode(body[0]),
            subcode: body[1],
            data: body.slice(2..),
        })
    }

    pub fn encode_body(&self, out: &mut BytesMut) {
        out.put_u8(self.code.0);
        out.put_u8(self.subcode);
        out.put_slice(&self.data);
    }

    pub fn body_len(&self) -> usize {
        2 + self.data.len()
    }
}

impl fmt::Display for Notification {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({}/{})", self.name(), self.code.0, self.subcode)?;
        if let Some(text) = self.shutdown_communication() {
            write!(f, ": \"{}\"", text.escape_debug())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shutdown_communication_round_trips() {
        // RFC 9003 §2: length octet then UTF-8 text, for Cease 2 and 4.
        let n = Notification::cease_with_message(cease::ADMINISTRATIVE_SHUTDOWN, "maintenance");
        assert_eq!(&n.data[..], b"\x0bmaintenance");
        assert_eq!(n.shutdown_communication(), Some("maintenance"));
        assert_eq!(
            n.to_string(),
            "Cease/Administrative Shutdown (6/2): \"maintenance\""
        );
    }

    #[test]
    fn shutdown_communication_is_cut_to_255_octets_on_a_char_boundary() {
        // RFC 9003 §2: at most 255 octets; never split a UTF-8 sequence.
        let long = "é".repeat(200);
        let n = Notification::cease_with_message(cease::ADMINISTRATIVE_RESET, &long);
        assert_eq!(n.data[0], 254);
        assert_eq!(n.shutdown_communication().map(str::len), Some(254));
    }

    #[test]
    fn malformed_shutdown_communication_is_ignored() {
        // RFC 9003 §2: a bad length or bad UTF-8 is not a communication.
        let bad_len = Notification::new(ErrorCode::CEASE, 2, &b"\x09abc"[..]);
        assert_eq!(bad_len.shutdown_communication(), None);
        let bad_utf8 = Notification::new(ErrorCode::CEASE, 4, &b"\x02\xff\xfe"[..]);
        assert_eq!(bad_utf8.shutdown_communication(), None);
        let other_subcode = Notification::new(ErrorCode::CEASE, 3, &b"\x02hi"[..]);
        assert_eq!(other_subcode.shutdown_communication(), None);
    }

    #[test]
    fn names_are_decoded() {
        let n = Notification::new(ErrorCode::OPEN, open_error::BAD_PEER_AS, Bytes::new());
        assert_eq!(n.to_string(), "OPEN Message Error/Bad Peer AS (2/2)");
        let n = Notification::new(ErrorCode::OPEN, open_error::UNSPECIFIC, Bytes::new());
        assert_eq!(n.name(), "OPEN Message Error/Unspecific");
        let n = Notification::new(ErrorCode::HOLD_TIMER_EXPIRED, 0, Bytes::new());
        assert_eq!(n.to_string(), "Hold Timer Expired (4/0)");
        let n = Notification::new(ErrorCode(42), 9, Bytes::new());
        assert_eq!(n.name(), "Unknown Error/subcode 9");
    }
}
