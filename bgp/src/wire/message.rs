//! The message framing (RFC 4271 §4.1) and the message enum.
//!
//! [`decode_message`] is on the path of every UPDATE: it checks the header
//! once, splits the message off the receive buffer without copying, and
//! allocates nothing unless the message is malformed.

use bytes::{Bytes, BytesMut};

use crate::error::{DecodeError, EncodeError};
use crate::wire::DecodeContext;
use crate::wire::header::{HEADER_LEN, Header, MessageType, bad_length, patch_len, put_header};
use crate::wire::notification::Notification;
use crate::wire::open::Open;
use crate::wire::route_refresh::RouteRefresh;
use crate::wire::update::Update;

/// Any BGP message.
///
/// UPDATE is by far the largest variant and by far the most common message:
/// it stays inline, since boxing it would cost an allocation per UPDATE to
/// save stack space on the rare others.
#[allow(
    clippy::large_enum_variant,
    reason = "UPDATE, the common case, is kept unboxed"
)]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Message {
    Open(Open),
    Update(Update),
    Notification(Notification),
    Keepalive,
    RouteRefresh(RouteRefresh),
}

impl Message {
    pub fn kind(&self) -> MessageType {
        match self {
            Message::Open(_) => MessageType::Open,
            Message::Update(_) => MessageType::Update,
            Message::Notification(_) => MessageType::Notification,
            Message::Keepalive => MessageType::Keepalive,
            Message::RouteRefresh(_) => MessageType::RouteRefresh,
        }
    }

    /// Decode one whole message, header included. A frame whose length is
    /// not the one its header states is Bad Message Length (RFC 4271 §6.1).
    pub fn decode(frame: Bytes, ctx: &DecodeContext) -> Result<Message, DecodeError> {
        let Some(head) = frame.first_chunk::<HEADER_LEN>() else {
            let len_field = frame
                .get(16..18)
                .and_then(|f| <[u8; 2]>::try_from(f).ok())
                .unwrap_or_default();
            return Err(bad_length(len_field, "frame shorter than a message header"));
        };
        let header = Header::decode(head, ctx)?;
        if usize::from(header.len) != frame.len() {
            return Err(bad_length(
                header.len.to_be_bytes(),
                "frame length differs from its header's",
            ));
        }
        decode_frame(header, frame, ctx)
    }
}

/// Split one complete message off the front of `buf` and decode it.
///
/// `Ok(None)` means more bytes are needed; `buf` is left as it was. The
/// header is checked as soon as its 19 octets are in, so a bad length or
/// type is reported without waiting for a body that may never come.
pub fn decode_message(
    buf: &mut BytesMut,
    ctx: &DecodeContext,
) -> Result<Option<Message>, DecodeError> {
    let Some(head) = buf.first_chunk::<HEADER_LEN>() else {
        return Ok(None);
    };
    let header = Header::decode(head, ctx)?;
    let len = usize::from(header.len);
    if buf.len() < len {
        return Ok(None);
    }
    let frame = buf.split_to(len).freeze();
    decode_frame(header, frame, ctx).map(Some)
}

/// Decode a frame whose header has been checked and whose length matches.
fn decode_frame(header: Header, frame: Bytes, ctx: &DecodeContext) -> Result<Message, DecodeError> {
    let body = frame.slice(HEADER_LEN..);
    match header.kind {
        MessageType::Update => Update::decode(body, ctx).map(Message::Update),
        MessageType::Open => Open::decode_body(body).map(Message::Open),
        // The header check guarantees code and subcode are present.
        MessageType::Notification => Notification::decode_body(body)
            .map(Message::Notification)
            .ok_or_else(|| bad_length(header.len.to_be_bytes(), "NOTIFICATION too short")),
        // RFC 4271 §4.4: the header check made it exactly 19 octets.
        MessageType::Keepalive => Ok(Message::Keepalive),
        MessageType::RouteRefresh => RouteRefresh::decode(&frame).map(Message::RouteRefresh),
    }
}

/// Append `msg` to `out`, header included. On error `out` is left as it was.
///
/// A message longer than the session allows (4096 octets, or 65535 for
/// types other than OPEN and KEEPALIVE with Extended Message, RFC 8654 §4)
/// is `EncodeError::TooLong`.
pub fn encode_message(
    msg: &Message,
    ctx: &DecodeContext,
    out: &mut BytesMut,
) -> Result<(), EncodeError> {
    let start = out.len();
    let kind = msg.kind();
    put_header(kind, out);
    let written = match msg {
        Message::Open(open) => open.encode_body(out),
        Message::Update(update) => {
            update.encode_body(ctx, out);
            Ok(())
        }
        Message::Notification(notification) => {
            notification.encode_body(out);
            Ok(())
        }
        Message::Keepalive => Ok(()),
        Message::RouteRefresh(refresh) => {
            refresh.encode_body(out);
            Ok(())
        }
    };
    let len = out.len() - start;
    let max = kind.max_len(ctx);
    let checked = written.and_then(|()| {
        u16::try_from(len)
            .ok()
            .filter(|_| len <= max)
            .ok_or(EncodeError::TooLong { len, max })
    });
    match checked {
        Ok(len) => {
            patch_len(out, start, len);
            Ok(())
        }
        Err(e) => {
            out.truncate(start);
            Err(e)
        }
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;
    use crate::asn::Asn;
    use crate::family::Family;
    use crate::router_id::RouterId;
    use crate::wire::capability::Capability;
    use crate::wire::header::MARKER;
    use crate::wire::notification::ErrorCode;
    use crate::wire::route_refresh::RefreshSubtype;

    fn frame(kind: u8, body: &[u8]) -> Vec<u8> {
        let mut m = MARKER.to_vec();
        m.extend_from_slice(&((HEADER_LEN + body.len()) as u16).to_be_bytes());
        m.push(kind);
        m.extend_from_slice(body);
        m
    }

    fn encoded(msg: &Message, ctx: &DecodeContext) -> Vec<u8> {
        let mut out = BytesMut::new();
        encode_message(msg, ctx, &mut out).unwrap();
        out.to_vec()
    }

    fn extended() -> DecodeContext {
        DecodeContext {
            extended_message: true,
            ..DecodeContext::default()
        }
    }

    #[test]
    fn keepalive_is_the_header_alone() {
        // RFC 4271 §4.4.
        let ctx = DecodeContext::default();
        assert_eq!(encoded(&Message::Keepalive, &ctx), frame(4, &[]));
        let mut buf = BytesMut::from(&frame(4, &[])[..]);
        assert_eq!(decode_message(&mut buf, &ctx), Ok(Some(Message::Keepalive)));
        assert!(buf.is_empty());
    }

    #[test]
    fn messages_are_split_off_one_at_a_time() {
        let ctx = DecodeContext::default();
        let notification = Notification::new(ErrorCode::CEASE, 2, Bytes::new());
        let refresh = RouteRefresh::new(Family::IPV4_UNICAST, RefreshSubtype::Request);
        let mut wire = frame(4, &[]);
        wire.extend(frame(3, &[6, 2]));
        wire.extend(frame(5, &[0, 1, 0, 1]));
        wire.extend(&frame(4, &[])[..10]);
        let mut buf = BytesMut::from(&wire[..]);
        assert_eq!(decode_message(&mut buf, &ctx), Ok(Some(Message::Keepalive)));
        assert_eq!(
            decode_message(&mut buf, &ctx),
            Ok(Some(Message::Notification(notification)))
        );
        assert_eq!(
            decode_message(&mut buf, &ctx),
            Ok(Some(Message::RouteRefresh(refresh)))
        );
        assert_eq!(decode_message(&mut buf, &ctx), Ok(None));
        assert_eq!(buf.len(), 10, "an incomplete message stays in the buffer");
    }

    #[test]
    fn waits_for_the_body_once_the_header_is_good() {
        let ctx = DecodeContext::default();
        let wire = frame(3, &[6, 2, 1, 2, 3]);
        for cut in 0..wire.len() {
            let mut buf = BytesMut::from(&wire[..cut]);
            assert_eq!(decode_message(&mut buf, &ctx), Ok(None), "{cut} octets");
            assert_eq!(buf.len(), cut);
        }
    }

    #[test]
    fn a_bad_header_is_reported_before_the_body_arrives() {
        // RFC 4271 §6.1: the length is known wrong from the header alone.
        let ctx = DecodeContext::default();
        let mut header = frame(2, &[]);
        header[16..18].copy_from_slice(&5000u16.to_be_bytes());
        let mut buf = BytesMut::from(&header[..]);
        let e = decode_message(&mut buf, &ctx).unwrap_err();
        assert_eq!((e.notification.code.0, e.notification.subcode), (1, 2));
        assert_eq!(&e.notification.data[..], &5000u16.to_be_bytes());
    }

    #[test]
    fn decoding_does_not_copy_the_body() {
        let ctx = DecodeContext::default();
        let open = Open::new(
            Asn(65001),
            90,
            RouterId(Ipv4Addr::new(192, 0, 2, 1)),
            vec![Capability::Unknown {
                code: 73,
                value: Bytes::from_static(b"leaf1"),
            }],
        );
        let mut buf = BytesMut::from(&encoded(&Message::Open(open.clone()), &ctx)[..]);
        let range = buf.as_ptr_range();
        let Ok(Some(Message::Open(decoded))) = decode_message(&mut buf, &ctx) else {
            panic!("OPEN expected");
        };
        assert_eq!(decoded, open);
        let Some(Capability::Unknown { value, .. }) = decoded.capabilities().next() else {
            panic!("unknown capability expected");
        };
        assert!(range.contains(&value.as_ptr()));
    }

    #[test]
    fn a_whole_frame_must_match_its_length_field() {
        // RFC 4271 §6.1: Bad Message Length, data the Length field.
        let ctx = DecodeContext::default();
        let mut wire = frame(4, &[]);
        assert_eq!(
            Message::decode(Bytes::from(wire.clone()), &ctx),
            Ok(Message::Keepalive)
        );
        wire.push(0);
        let e = Message::decode(Bytes::from(wire), &ctx).unwrap_err();
        assert_eq!((e.notification.code.0, e.notification.subcode), (1, 2));
        assert_eq!(&e.notification.data[..], &[0, 19]);
        let e = Message::decode(Bytes::from_static(&[0xff; 18]), &ctx).unwrap_err();
        assert_eq!((e.notification.code.0, e.notification.subcode), (1, 2));
    }

    #[test]
    fn encode_patches_the_length_after_the_body() {
        let ctx = DecodeContext::default();
        let n = Message::Notification(Notification::new(ErrorCode::CEASE, 4, &b"\x02hi"[..]));
        let mut out = BytesMut::from(&b"prefix"[..]);
        encode_message(&n, &ctx, &mut out).unwrap();
        assert_eq!(&out[..6], b"prefix");
        assert_eq!(&out[6..], &frame(3, &[6, 4, 2, b'h', b'i'])[..]);
    }

    #[test]
    fn too_long_is_refused_and_leaves_the_buffer_as_it_was() {
        // RFC 4271 §4.1: 4096 octets.
        let ctx = DecodeContext::default();
        let data = Bytes::from(vec![0; 4096 - 21 + 1]);
        let n = Message::Notification(Notification::new(ErrorCode::CEASE, 0, data));
        let mut out = BytesMut::from(&b"prefix"[..]);
        assert_eq!(
            encode_message(&n, &ctx, &mut out),
            Err(EncodeError::TooLong {
                len: 4097,
                max: 4096
            })
        );
        assert_eq!(&out[..], b"prefix");
        // RFC 8654 §4: with Extended Message the same NOTIFICATION fits.
        encode_message(&n, &extended(), &mut out).unwrap();
        assert_eq!(out.len(), 6 + 4097);
    }

    #[test]
    fn open_stays_within_4096_even_with_extended_message() {
        // RFC 8654 §4: OPEN is not covered by Extended Message.
        let caps = (0..700).map(|i| Capability::FourOctetAs(Asn(i))).collect();
        let open = Message::Open(Open::new(
            Asn(65001),
            90,
            RouterId(Ipv4Addr::new(192, 0, 2, 1)),
            caps,
        ));
        let mut out = BytesMut::new();
        assert!(matches!(
            encode_message(&open, &extended(), &mut out),
            Err(EncodeError::TooLong { max: 4096, .. })
        ));
        assert!(out.is_empty());
    }

    #[test]
    fn encoded_messages_decode_to_themselves() {
        let ctx = DecodeContext::default();
        let messages = [
            Message::Keepalive,
            Message::Notification(Notification::new(ErrorCode::FSM, 1, Bytes::new())),
            Message::RouteRefresh(RouteRefresh::new(Family::IPV6_UNICAST, RefreshSubtype::End)),
            Message::Open(Open::new(
                Asn(65001),
                90,
                RouterId(Ipv4Addr::new(192, 0, 2, 1)),
                vec![Capability::RouteRefresh],
            )),
        ];
        for m in messages {
            let wire = Bytes::from(encoded(&m, &ctx));
            assert_eq!(Message::decode(wire, &ctx), Ok(m));
        }
    }
}
