//! ROUTE-REFRESH (RFC 2918 §3) with the message subtypes of enhanced route
//! refresh (RFC 7313 §3.2).
//!
//! ```text
//!  0       7      15      23      31
//! +-------+-------+-------+-------+
//! |      AFI      | Subtype| SAFI |
//! +-------+-------+-------+-------+
//! ```

use bytes::{BufMut, Bytes, BytesMut};

use crate::error::DecodeError;
use crate::family::{Afi, Family, Safi};
use crate::wire::header::{HEADER_LEN, bad_length};
use crate::wire::notification::{ErrorCode, Notification, route_refresh_error};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RouteRefresh {
    pub family: Family,
    pub subtype: RefreshSubtype,
}

/// RFC 7313 §3.2: the octet that RFC 2918 called reserved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RefreshSubtype {
    /// 0: a plain route refresh request.
    Request,
    /// 1: Beginning of Route Refresh.
    Begin,
    /// 2: End of Route Refresh.
    End,
    /// Any other value: RFC 7313 §5 says ignore the message.
    Reserved(u8),
}

impl RefreshSubtype {
    pub fn from_u8(value: u8) -> RefreshSubtype {
        match value {
            0 => RefreshSubtype::Request,
            1 => RefreshSubtype::Begin,
            2 => RefreshSubtype::End,
            other => RefreshSubtype::Reserved(other),
        }
    }

    pub fn to_u8(self) -> u8 {
        match self {
            RefreshSubtype::Request => 0,
            RefreshSubtype::Begin => 1,
            RefreshSubtype::End => 2,
            RefreshSubtype::Reserved(value) => value,
        }
    }
}

impl RouteRefresh {
    pub fn new(family: Family, subtype: RefreshSubtype) -> RouteRefresh {
        RouteRefresh { family, subtype }
    }

    /// Decode a ROUTE-REFRESH from the complete message, header included,
    /// since RFC 7313 §5 sends the whole message back in the NOTIFICATION.
    ///
    /// The body is 4 octets (RFC 2918 §3). When it is not:
    /// - a BoRR or EoRR is ROUTE-REFRESH Message Error/Invalid Message
    ///   Length with the message as data (RFC 7313 §5);
    /// - a reserved subtype is still decoded, from its first 4 octets, for
    ///   the state machine to ignore (RFC 7313 §5: ignore the message);
    /// - anything else is Message Header Error/Bad Message Length: this
    ///   speaker never advertises the Outbound Route Filtering capability
    ///   (RFC 5291 §4), so no ORF entries may follow a request.
    pub fn decode(message: &Bytes) -> Result<RouteRefresh, DecodeError> {
        let body = message.get(HEADER_LEN..).unwrap_or_default();
        let subtype = body.get(2).copied().map(RefreshSubtype::from_u8);
        match (body, subtype) {
            (&[afi_hi, afi_lo, subtype, safi], _) => {
                Ok(RouteRefresh::from_fields([afi_hi, afi_lo], subtype, safi))
            }
            (_, Some(RefreshSubtype::Begin | RefreshSubtype::End)) => Err(DecodeError::new(
                // RFC 7313 §5: data is the complete ROUTE-REFRESH message.
                Notification::new(
                    ErrorCode::ROUTE_REFRESH,
                    route_refresh_error::INVALID_MESSAGE_LENGTH,
                    message.clone(),
                ),
                "BoRR or EoRR body is not 4 octets",
            )),
            // RFC 7313 §5: a reserved subtype is ignored, whatever follows.
            (&[afi_hi, afi_lo, subtype, safi, ..], Some(RefreshSubtype::Reserved(_))) => {
                Ok(RouteRefresh::from_fields([afi_hi, afi_lo], subtype, safi))
            }
            _ => {
                let len_field = message
                    .get(16..18)
                    .and_then(|f| <[u8; 2]>::try_from(f).ok())
                    .unwrap_or_default();
                // RFC 2918 §3 fixes the length; RFC 4271 §6.1 names the error.
                Err(bad_length(len_field, "ROUTE-REFRESH body is not 4 octets"))
            }
        }
    }

    fn from_fields(afi: [u8; 2], subtype: u8, safi: u8) -> RouteRefresh {
        RouteRefresh {
            family: Family::new(Afi(u16::from_be_bytes(afi)), Safi(safi)),
            subtype: RefreshSubtype::from_u8(subtype),
        }
    }

    /// Append the 4-octet body (without the header) to `out`.
    pub fn encode_body(&self, out: &mut BytesMut) {
        out.put_u16(self.family.afi.0);
        out.put_u8(self.subtype.to_u8());
        out.put_u8(self.family.safi.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::header::MARKER;

    fn message(body: &[u8]) -> Bytes {
        let mut m = MARKER.to_vec();
        m.extend_from_slice(&((HEADER_LEN + body.len()) as u16).to_be_bytes());
        m.push(5);
        m.extend_from_slice(body);
        Bytes::from(m)
    }

    #[test]
    fn subtypes_decode_and_encode_byte_exact() {
        // RFC 2918 §3 request, RFC 7313 §3.2 BoRR and EoRR.
        for (subtype, octet) in [
            (RefreshSubtype::Request, 0),
            (RefreshSubtype::Begin, 1),
            (RefreshSubtype::End, 2),
            (RefreshSubtype::Reserved(255), 255),
        ] {
            let body = [0, 2, octet, 1];
            let rr = RouteRefresh::decode(&message(&body)).unwrap();
            assert_eq!(rr, RouteRefresh::new(Family::IPV6_UNICAST, subtype));
            let mut out = BytesMut::new();
            rr.encode_body(&mut out);
            assert_eq!(&out[..], &body);
        }
    }

    #[test]
    fn borr_or_eorr_of_the_wrong_length_returns_the_whole_message() {
        // RFC 7313 §5: ROUTE-REFRESH Message Error/Invalid Message Length,
        // data the complete message.
        for body in [&[0u8, 1, 1, 1, 0][..], &[0, 1, 2]] {
            let m = message(body);
            let e = RouteRefresh::decode(&m).unwrap_err();
            assert_eq!(e.notification.code, ErrorCode::ROUTE_REFRESH);
            assert_eq!(
                e.notification.subcode,
                route_refresh_error::INVALID_MESSAGE_LENGTH
            );
            assert_eq!(e.notification.data, m);
        }
    }

    #[test]
    fn reserved_subtype_is_decoded_to_be_ignored_whatever_its_length() {
        // RFC 7313 §5: a subtype other than 0, 1, 2 is ignored.
        let rr = RouteRefresh::decode(&message(&[0, 1, 9, 1, 0xde, 0xad])).unwrap();
        assert_eq!(rr.subtype, RefreshSubtype::Reserved(9));
    }

    #[test]
    fn request_of_the_wrong_length_is_bad_message_length() {
        // RFC 2918 §3 fixes the body at 4 octets; RFC 4271 §6.1 data is the
        // Length field. No ORF was advertised, so nothing may follow.
        for body in [&[0u8, 1, 0, 1, 0][..], &[0, 1, 0]] {
            let e = RouteRefresh::decode(&message(body)).unwrap_err();
            assert_eq!(e.notification.code, ErrorCode::MESSAGE_HEADER);
            assert_eq!(e.notification.subcode, 2);
            let len = (HEADER_LEN + body.len()) as u16;
            assert_eq!(&e.notification.data[..], &len.to_be_bytes());
        }
    }
}
