//! Property tests of the framing and the non-UPDATE messages: whatever is
//! encoded decodes to itself, and no input makes the decoder panic.

use std::net::Ipv4Addr;

use bgp::wire::capability::{ExtendedNextHop, GracefulRestart, GracefulRestartFamily};
use bgp::wire::notification::ErrorCode;
use bgp::wire::{
    Capability, DecodeContext, Message, Notification, Open, OptionalParameter, RefreshSubtype,
    RouteRefresh, decode_message, encode_message,
};
use bgp::{Afi, Asn, Family, RouterId, Safi};
use bytes::{Bytes, BytesMut};
use proptest::collection::vec;
use proptest::prelude::*;

/// Codes this crate decodes into typed capabilities.
const TYPED_CODES: [u8; 7] = [1, 2, 5, 6, 64, 65, 70];

/// RFC 5492 §4: the parameter type that holds capabilities.
const CAPABILITIES_PARAMETER: u8 = 2;

fn family() -> impl Strategy<Value = Family> {
    (any::<u16>(), any::<u8>()).prop_map(|(afi, safi)| Family::new(Afi(afi), Safi(safi)))
}

fn graceful_restart() -> impl Strategy<Value = GracefulRestart> {
    (
        0u8..16,
        0..=GracefulRestart::MAX_RESTART_TIME,
        vec(
            (family(), any::<u8>())
                .prop_map(|(family, flags)| GracefulRestartFamily { family, flags }),
            0..8,
        ),
    )
        .prop_map(|(flags, restart_time, families)| GracefulRestart {
            flags,
            restart_time,
            families,
        })
}

fn extended_next_hop() -> impl Strategy<Value = ExtendedNextHop> {
    (any::<u16>(), any::<u16>(), any::<u16>()).prop_map(|(nlri_afi, nlri_safi, nh_afi)| {
        ExtendedNextHop {
            nlri_afi: Afi(nlri_afi),
            nlri_safi,
            next_hop_afi: Afi(nh_afi),
        }
    })
}

fn raw(max: usize) -> impl Strategy<Value = Bytes> {
    vec(any::<u8>(), 0..=max).prop_map(Bytes::from)
}

fn capability() -> impl Strategy<Value = Capability> {
    prop_oneof![
        (family(), any::<u8>())
            .prop_map(|(family, reserved)| Capability::Multiprotocol { family, reserved }),
        Just(Capability::RouteRefresh),
        Just(Capability::EnhancedRouteRefresh),
        Just(Capability::ExtendedMessage),
        any::<u32>().prop_map(|asn| Capability::FourOctetAs(Asn(asn))),
        graceful_restart().prop_map(Capability::GracefulRestart),
        vec(extended_next_hop(), 0..8).prop_map(Capability::ExtendedNextHop),
        // A typed code would decode as the typed capability, not as Unknown.
        (
            any::<u8>().prop_filter("not a typed code", |c| !TYPED_CODES.contains(c)),
            raw(40)
        )
            .prop_map(|(code, value)| Capability::Unknown { code, value }),
    ]
}

fn optional_parameter() -> impl Strategy<Value = OptionalParameter> {
    prop_oneof![
        3 => vec(capability(), 0..6).prop_map(OptionalParameter::Capabilities),
        1 => (
            any::<u8>().prop_filter("not Capabilities", |k| *k != CAPABILITIES_PARAMETER),
            raw(300),
        )
            .prop_map(|(kind, value)| OptionalParameter::Unknown { kind, value }),
    ]
}

fn open() -> impl Strategy<Value = Open> {
    (
        any::<u8>(),
        any::<u16>(),
        any::<u16>(),
        any::<u32>(),
        vec(optional_parameter(), 0..5),
    )
        .prop_map(|(version, my_as, hold_time, id, params)| Open {
            version,
            my_as,
            hold_time,
            router_id: RouterId(Ipv4Addr::from(id)),
            params,
        })
}

fn notification() -> impl Strategy<Value = Notification> {
    (any::<u8>(), any::<u8>(), raw(200))
        .prop_map(|(code, subcode, data)| Notification::new(ErrorCode(code), subcode, data))
}

fn route_refresh() -> impl Strategy<Value = RouteRefresh> {
    // Reserved(0..=2) would be the named subtypes on the wire.
    let subtype = any::<u8>().prop_map(|v| match v {
        0 => RefreshSubtype::Request,
        1 => RefreshSubtype::Begin,
        2 => RefreshSubtype::End,
        other => RefreshSubtype::Reserved(other),
    });
    (family(), subtype).prop_map(|(family, subtype)| RouteRefresh::new(family, subtype))
}

fn message() -> impl Strategy<Value = Message> {
    prop_oneof![
        open().prop_map(Message::Open),
        notification().prop_map(Message::Notification),
        route_refresh().prop_map(Message::RouteRefresh),
        Just(Message::Keepalive),
    ]
}

fn context() -> impl Strategy<Value = DecodeContext> {
    (any::<bool>(), any::<bool>(), any::<bool>()).prop_map(|(four, ext, enh)| DecodeContext {
        four_octet_as: four,
        extended_message: ext,
        extended_next_hop_ipv4: enh,
        ..DecodeContext::default()
    })
}

/// Random bytes behind a valid marker, so the decoder gets past it, with a
/// Length field that is right for them most of the time.
fn framed_noise() -> impl Strategy<Value = Vec<u8>> {
    (
        0u8..8,
        vec(any::<u8>(), 0..600),
        any::<bool>(),
        any::<u16>(),
    )
        .prop_map(|(kind, body, honest, len)| {
            let len = if honest {
                (19 + body.len()) as u16
            } else {
                len
            };
            let mut m = vec![0xff; 16];
            m.extend_from_slice(&len.to_be_bytes());
            m.push(kind);
            m.extend(body);
            m
        })
}

/// Random optional parameters behind a well-formed OPEN header.
fn open_noise() -> impl Strategy<Value = Vec<u8>> {
    vec(any::<u8>(), 0..400).prop_map(|params| {
        let mut body = vec![4, 0xfd, 0xe9, 0, 90, 192, 0, 2, 1];
        body.push(params.len().min(255) as u8);
        body.extend(params);
        let mut m = vec![0xff; 16];
        m.extend_from_slice(&((19 + body.len()) as u16).to_be_bytes());
        m.push(1);
        m.extend(body);
        m
    })
}

/// Decode until the buffer runs dry or an error stops the session.
fn drain(bytes: &[u8], ctx: &DecodeContext) {
    let mut buf = BytesMut::from(bytes);
    while let Ok(Some(_)) = decode_message(&mut buf, ctx) {}
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn encode_then_decode_is_the_identity(msg in message(), ctx in context()) {
        let mut out = BytesMut::new();
        prop_assert_eq!(encode_message(&msg, &ctx, &mut out), Ok(()));
        let mut buf = out.clone();
        prop_assert_eq!(decode_message(&mut buf, &ctx), Ok(Some(msg.clone())));
        prop_assert!(buf.is_empty());
        prop_assert_eq!(Message::decode(out.freeze(), &ctx), Ok(msg));
    }

    #[test]
    fn decoded_opens_encode_to_the_same_bytes(open in open()) {
        let ctx = DecodeContext::default();
        let mut first = BytesMut::new();
        prop_assert_eq!(encode_message(&Message::Open(open), &ctx, &mut first), Ok(()));
        let decoded = decode_message(&mut first.clone(), &ctx);
        let Ok(Some(decoded)) = decoded else {
            return Err(TestCaseError::fail(format!("{decoded:?}")));
        };
        let mut second = BytesMut::new();
        prop_assert_eq!(encode_message(&decoded, &ctx, &mut second), Ok(()));
        prop_assert_eq!(first, second);
    }

    #[test]
    fn decode_never_panics_on_random_bytes(bytes in vec(any::<u8>(), 0..200), ctx in context()) {
        drain(&bytes, &ctx);
    }

    #[test]
    fn decode_never_panics_on_framed_noise(
        frames in vec(framed_noise(), 1..4),
        ctx in context(),
    ) {
        drain(&frames.concat(), &ctx);
    }

    #[test]
    fn decode_never_panics_on_open_noise(bytes in open_noise(), ctx in context()) {
        drain(&bytes, &ctx);
    }
}
