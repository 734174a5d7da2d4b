//! The message header (RFC 4271 §4.1) and the checks made on it before a
//! body is read (RFC 4271 §6.1, RFC 8654 §4).
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                                                               |
//! +                                                               +
//! |                                                               |
//! +                                                               +
//! |                           Marker                              |
//! +                                                               +
//! |                                                               |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |          Length               |      Type     |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```

use bytes::{BufMut, Bytes, BytesMut};

use crate::error::DecodeError;
use crate::wire::DecodeContext;
use crate::wire::notification::{ErrorCode, Notification, header_error};

/// Octets in the header, and so in the shortest message.
pub const HEADER_LEN: usize = 19;

/// RFC 4271 §4.1: the marker is all ones.
pub const MARKER: [u8; 16] = [0xff; 16];

/// RFC 4271 §4.1: the largest message without Extended Message.
pub const MAX_MESSAGE_LEN: usize = 4096;

/// RFC 8654 §4: the largest message once Extended Message is negotiated.
pub const MAX_EXTENDED_MESSAGE_LEN: usize = 65535;

/// The message types this crate knows (RFC 4271 §4.1, RFC 2918 §3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MessageType {
    Open,
    Update,
    Notification,
    Keepalive,
    RouteRefresh,
}

impl MessageType {
    pub fn from_u8(value: u8) -> Option<MessageType> {
        match value {
            1 => Some(MessageType::Open),
            2 => Some(MessageType::Update),
            3 => Some(MessageType::Notification),
            4 => Some(MessageType::Keepalive),
            5 => Some(MessageType::RouteRefresh),
            _ => None,
        }
    }

    pub fn to_u8(self) -> u8 {
        match self {
            MessageType::Open => 1,
            MessageType::Update => 2,
            MessageType::Notification => 3,
            MessageType::Keepalive => 4,
            MessageType::RouteRefresh => 5,
        }
    }

    /// The shortest message of this type, header included.
    pub fn min_len(self) -> usize {
        match self {
            // RFC 4271 §4.2: 10 octets of fixed fields.
            MessageType::Open => 29,
            // RFC 4271 §4.3: the two 2-octet length fields.
            MessageType::Update => 23,
            // RFC 4271 §4.5: error code and subcode.
            MessageType::Notification => 21,
            // RFC 4271 §4.4: the header alone.
            MessageType::Keepalive => HEADER_LEN,
            // RFC 2918 §3 fixes the body at 4 octets, but RFC 7313 §5 gives a
            // BoRR or EoRR of the wrong length its own error, and that needs
            // the subtype octet: a body of AFI and subtype is let through to
            // the body decoder, which tells the two cases apart.
            MessageType::RouteRefresh => HEADER_LEN + 3,
        }
    }

    /// The longest message of this type on a session with `ctx`.
    pub fn max_len(self, ctx: &DecodeContext) -> usize {
        match self {
            // RFC 4271 §4.4: a KEEPALIVE is exactly the header.
            MessageType::Keepalive => HEADER_LEN,
            // RFC 8654 §4: OPEN stays within 4096 octets even with Extended
            // Message, as it is sent before the capability is known.
            MessageType::Open => MAX_MESSAGE_LEN,
            _ => session_max_len(ctx),
        }
    }
}

/// RFC 4271 §4.1, RFC 8654 §4: the largest message of any type.
pub fn session_max_len(ctx: &DecodeContext) -> usize {
    if ctx.extended_message {
        MAX_EXTENDED_MESSAGE_LEN
    } else {
        MAX_MESSAGE_LEN
    }
}

/// A header that passed every RFC 4271 §6.1 check.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// Octets in the whole message, header included.
    pub len: u16,
    pub kind: MessageType,
}

impl Header {
    /// Check the 19 header octets. The body need not have arrived: a bad
    /// length is reported as soon as the header is in.
    pub fn decode(octets: &[u8; HEADER_LEN], ctx: &DecodeContext) -> Result<Header, DecodeError> {
        let [marker @ .., len_hi, len_lo, kind] = octets;
        if *marker != MARKER {
            // RFC 4271 §6.1: a marker not all ones is Connection Not Synchronized.
            return Err(DecodeError::new(
                Notification::new(
                    ErrorCode::MESSAGE_HEADER,
                    header_error::CONNECTION_NOT_SYNCHRONIZED,
                    Bytes::new(),
                ),
                "message header marker is not all ones",
            ));
        }
        let len_field = [*len_hi, *len_lo];
        let len = u16::from_be_bytes(len_field);
        let octets_len = usize::from(len);
        // RFC 4271 §6.1: shorter than a header or longer than the maximum
        // (4096, or 65535 after RFC 8654 §4) is Bad Message Length.
        if octets_len < HEADER_LEN || octets_len > session_max_len(ctx) {
            return Err(bad_length(len_field, "message length outside 19..maximum"));
        }
        let Some(kind) = MessageType::from_u8(*kind) else {
            // RFC 4271 §6.1: an unknown type is Bad Message Type, data the type.
            return Err(DecodeError::new(
                Notification::new(
                    ErrorCode::MESSAGE_HEADER,
                    header_error::BAD_MESSAGE_TYPE,
                    Bytes::copy_from_slice(&[*kind]),
                ),
                "unknown message type",
            ));
        };
        // RFC 4271 §6.1, RFC 8654 §4: too short or too long for its type is
        // Bad Message Length.
        if octets_len < kind.min_len() || octets_len > kind.max_len(ctx) {
            return Err(bad_length(len_field, "message length wrong for its type"));
        }
        Ok(Header { len, kind })
    }
}

/// RFC 4271 §6.1: Bad Message Length, with the erroneous Length field as data.
pub(crate) fn bad_length(len_field: [u8; 2], reason: &'static str) -> DecodeError {
    DecodeError::new(
        Notification::new(
            ErrorCode::MESSAGE_HEADER,
            header_error::BAD_MESSAGE_LENGTH,
            Bytes::copy_from_slice(&len_field),
        ),
        reason,
    )
}

/// Start a message: marker, a length to be patched by [`patch_len`], type.
pub(crate) fn put_header(kind: MessageType, out: &mut BytesMut) {
    out.put_slice(&MARKER);
    out.put_u16(0);
    out.put_u8(kind.to_u8());
}

/// Write the length of the message that starts at `start` into its header.
pub(crate) fn patch_len(out: &mut BytesMut, start: usize, len: u16) {
    if let Some(field) = out.get_mut(start + 16..start + 18) {
        field.copy_from_slice(&len.to_be_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(len: u16, kind: u8) -> [u8; HEADER_LEN] {
        let mut h = [0xff; HEADER_LEN];
        h[16..18].copy_from_slice(&len.to_be_bytes());
        h[18] = kind;
        h
    }

    fn code_subcode_data(e: DecodeError) -> (u8, u8, Vec<u8>) {
        let n = e.notification;
        (n.code.0, n.subcode, n.data.to_vec())
    }

    #[test]
    fn marker_must_be_all_ones() {
        // RFC 4271 §6.1: Connection Not Synchronized.
        let mut h = header(19, 4);
        h[7] = 0xfe;
        let e = Header::decode(&h, &DecodeContext::default()).unwrap_err();
        assert_eq!(code_subcode_data(e), (1, 1, vec![]));
    }

    #[test]
    fn length_bounds_without_extended_message() {
        // RFC 4271 §6.1: 19..4096, data is the length field.
        let ctx = DecodeContext::default();
        let e = Header::decode(&header(18, 4), &ctx).unwrap_err();
        assert_eq!(code_subcode_data(e), (1, 2, vec![0, 18]));
        let e = Header::decode(&header(4097, 2), &ctx).unwrap_err();
        assert_eq!(code_subcode_data(e), (1, 2, vec![0x10, 0x01]));
        assert!(Header::decode(&header(4096, 2), &ctx).is_ok());
    }

    #[test]
    fn extended_message_lifts_the_limit_except_for_open_and_keepalive() {
        // RFC 8654 §4: UPDATE may reach 65535; OPEN and KEEPALIVE may not.
        let ctx = DecodeContext {
            extended_message: true,
            ..DecodeContext::default()
        };
        let h = Header::decode(&header(65535, 2), &ctx).unwrap();
        assert_eq!(
            h,
            Header {
                len: 65535,
                kind: MessageType::Update
            }
        );
        assert!(Header::decode(&header(5000, 3), &ctx).is_ok());
        assert!(Header::decode(&header(5000, 5), &ctx).is_ok());
        let e = Header::decode(&header(4097, 1), &ctx).unwrap_err();
        assert_eq!(code_subcode_data(e), (1, 2, vec![0x10, 0x01]));
        let e = Header::decode(&header(4097, 4), &ctx).unwrap_err();
        assert_eq!(code_subcode_data(e), (1, 2, vec![0x10, 0x01]));
    }

    #[test]
    fn unknown_type_is_bad_message_type_with_the_type_as_data() {
        // RFC 4271 §6.1.
        let ctx = DecodeContext::default();
        for kind in [0u8, 6, 255] {
            let e = Header::decode(&header(19, kind), &ctx).unwrap_err();
            assert_eq!(code_subcode_data(e), (1, 3, vec![kind]));
        }
    }

    #[test]
    fn per_type_minimum_lengths() {
        // RFC 4271 §6.1 minimums; RFC 4271 §4.4 KEEPALIVE is exactly 19.
        let ctx = DecodeContext::default();
        for (kind, min) in [(1u8, 29u16), (2, 23), (3, 21), (5, 22)] {
            assert!(Header::decode(&header(min, kind), &ctx).is_ok());
            let e = Header::decode(&header(min - 1, kind), &ctx).unwrap_err();
            assert_eq!(
                code_subcode_data(e),
                (1, 2, (min - 1).to_be_bytes().to_vec())
            );
        }
        assert!(Header::decode(&header(19, 4), &ctx).is_ok());
        let e = Header::decode(&header(20, 4), &ctx).unwrap_err();
        assert_eq!(code_subcode_data(e), (1, 2, vec![0, 20]));
    }

    #[test]
    fn type_numbers_round_trip() {
        for v in 0..=255u8 {
            if let Some(t) = MessageType::from_u8(v) {
                assert_eq!(t.to_u8(), v);
            }
        }
        assert_eq!(MessageType::from_u8(5), Some(MessageType::RouteRefresh));
    }
}
