//! Every header, OPEN and ROUTE-REFRESH error rule the codec implements,
//! one row each: the bytes, the NOTIFICATION they must draw, and the rule.
//! Then OPENs captured from FRR and BIRD, decoded and encoded byte-exact.

use std::net::Ipv4Addr;

use bgp::wire::capability::{ExtendedNextHop, GracefulRestart};
use bgp::wire::{
    Capability, CapabilityCode, DecodeContext, Message, OptionalParameter, RefreshSubtype,
    decode_message, encode_message,
};
use bgp::{Afi, Asn, Family, RouterId};
use bytes::{Bytes, BytesMut};

const OPEN: u8 = 1;
const UPDATE: u8 = 2;
const NOTIFICATION: u8 = 3;
const KEEPALIVE: u8 = 4;
const ROUTE_REFRESH: u8 = 5;

/// A message with the Length field set to `len`, whatever the body.
fn with_len(kind: u8, len: u16, body: &[u8]) -> Vec<u8> {
    let mut m = vec![0xff; 16];
    m.extend_from_slice(&len.to_be_bytes());
    m.push(kind);
    m.extend_from_slice(body);
    m
}

/// A well-framed message.
fn msg(kind: u8, body: &[u8]) -> Vec<u8> {
    with_len(kind, (19 + body.len()) as u16, body)
}

/// An OPEN with fixed fields (version 4, AS 65001, hold 90, 192.0.2.1)
/// followed by `rest`, which starts at the Opt Parm Len octet.
fn open(rest: &[u8]) -> Vec<u8> {
    let mut body = vec![4, 0xfd, 0xe9, 0, 90, 192, 0, 2, 1];
    body.extend_from_slice(rest);
    msg(OPEN, &body)
}

/// An OPEN with one Capabilities parameter holding `capabilities`.
fn open_with_capabilities(capabilities: &[u8]) -> Vec<u8> {
    let len = capabilities.len() as u8;
    let mut rest = vec![len + 2, 2, len];
    rest.extend_from_slice(capabilities);
    open(&rest)
}

fn extended() -> DecodeContext {
    DecodeContext {
        extended_message: true,
        ..DecodeContext::default()
    }
}

/// What the NOTIFICATION's data must be.
enum Data {
    /// The RFC fixes the data.
    Exact(Vec<u8>),
    /// RFC 7313 §5: the complete message that was received.
    WholeMessage,
    /// The RFC says nothing about the data.
    Unspecified,
}

struct Row {
    rule: &'static str,
    wire: Vec<u8>,
    ctx: DecodeContext,
    code: u8,
    subcode: u8,
    data: Data,
    /// The error is in the header, so it must show before any body arrives.
    header_only: bool,
}

fn row(rule: &'static str, wire: Vec<u8>, code: u8, subcode: u8, data: Data) -> Row {
    Row {
        rule,
        wire,
        ctx: DecodeContext::default(),
        code,
        subcode,
        data,
        header_only: false,
    }
}

fn header_row(rule: &'static str, wire: Vec<u8>, code: u8, subcode: u8, data: Data) -> Row {
    Row {
        header_only: true,
        ..row(rule, wire, code, subcode, data)
    }
}

fn rows() -> Vec<Row> {
    use Data::*;
    let mut bad_marker = msg(KEEPALIVE, &[]);
    bad_marker[3] = 0x7f;
    let extended_rows = [
        (
            "RFC 8654 §4: OPEN stays within 4096 octets with Extended Message",
            with_len(OPEN, 4097, &[]),
            1,
            2,
            Exact(vec![0x10, 0x01]),
        ),
        (
            "RFC 8654 §4: KEEPALIVE is not extended by Extended Message",
            with_len(KEEPALIVE, 4097, &[]),
            1,
            2,
            Exact(vec![0x10, 0x01]),
        ),
        (
            "RFC 8654 §4 with RFC 4271 §6.1: a long unknown type is Bad Message Type",
            with_len(9, 5000, &[]),
            1,
            3,
            Exact(vec![9]),
        ),
    ]
    .into_iter()
    .map(|(rule, wire, code, subcode, data)| Row {
        ctx: extended(),
        ..header_row(rule, wire, code, subcode, data)
    });

    let mut rows = vec![
        header_row(
            "RFC 4271 §6.1: marker not all ones is Connection Not Synchronized",
            bad_marker,
            1,
            1,
            Unspecified,
        ),
        header_row(
            "RFC 4271 §6.1: Length below 19 is Bad Message Length",
            with_len(KEEPALIVE, 18, &[]),
            1,
            2,
            Exact(vec![0, 18]),
        ),
        header_row(
            "RFC 4271 §6.1: Length 0 is Bad Message Length",
            with_len(UPDATE, 0, &[]),
            1,
            2,
            Exact(vec![0, 0]),
        ),
        header_row(
            "RFC 4271 §6.1, RFC 8654 §4: above 4096 without Extended Message",
            with_len(UPDATE, 4097, &[]),
            1,
            2,
            Exact(vec![0x10, 0x01]),
        ),
        header_row(
            "RFC 4271 §6.1: type 0 is Bad Message Type, data the type",
            msg(0, &[]),
            1,
            3,
            Exact(vec![0]),
        ),
        header_row(
            "RFC 4271 §6.1: type 6 is Bad Message Type, data the type",
            msg(6, &[]),
            1,
            3,
            Exact(vec![6]),
        ),
        header_row(
            "RFC 4271 §6.1: OPEN below 29 octets",
            with_len(OPEN, 28, &[]),
            1,
            2,
            Exact(vec![0, 28]),
        ),
        header_row(
            "RFC 4271 §6.1: UPDATE below 23 octets",
            with_len(UPDATE, 22, &[]),
            1,
            2,
            Exact(vec![0, 22]),
        ),
        header_row(
            "RFC 4271 §6.1: KEEPALIVE other than 19 octets",
            with_len(KEEPALIVE, 20, &[]),
            1,
            2,
            Exact(vec![0, 20]),
        ),
        header_row(
            "RFC 4271 §6.1: NOTIFICATION below 21 octets",
            with_len(NOTIFICATION, 20, &[]),
            1,
            2,
            Exact(vec![0, 20]),
        ),
        header_row(
            "RFC 2918 §3 with RFC 4271 §6.1: ROUTE-REFRESH too short for AFI and subtype",
            with_len(ROUTE_REFRESH, 21, &[]),
            1,
            2,
            Exact(vec![0, 21]),
        ),
        row(
            "RFC 2918 §3 with RFC 4271 §6.1: a request is exactly 23 octets (no ORF advertised)",
            msg(ROUTE_REFRESH, &[0, 1, 0, 1, 0]),
            1,
            2,
            Exact(vec![0, 24]),
        ),
        row(
            "RFC 7313 §5: BoRR body not 4 octets is ROUTE-REFRESH Error/Invalid Message Length",
            msg(ROUTE_REFRESH, &[0, 1, 1, 1, 0]),
            7,
            1,
            WholeMessage,
        ),
        row(
            "RFC 7313 §5: EoRR body not 4 octets is ROUTE-REFRESH Error/Invalid Message Length",
            msg(ROUTE_REFRESH, &[0, 2, 2]),
            7,
            1,
            WholeMessage,
        ),
        row(
            "RFC 4271 §6.2: Opt Parm Len beyond the message is malformed (Unspecific)",
            open(&[4, 2, 0]),
            2,
            0,
            Unspecified,
        ),
        row(
            "RFC 4271 §6.2: Opt Parm Len short of the message is malformed (Unspecific)",
            open(&[2, 2, 0, 2, 0]),
            2,
            0,
            Unspecified,
        ),
        row(
            "RFC 4271 §6.2: an optional parameter overrunning the others (Unspecific)",
            open(&[4, 2, 3, 2, 0]),
            2,
            0,
            Unspecified,
        ),
        row(
            "RFC 5492 §4, RFC 4271 §6.2: a capability overrunning its parameter",
            open(&[4, 2, 2, 65, 4]),
            2,
            0,
            Unspecified,
        ),
        row(
            "RFC 5492 §4, RFC 4271 §6.2: a capability cut inside its header",
            open(&[5, 2, 3, 2, 0, 70]),
            2,
            0,
            Unspecified,
        ),
        row(
            "RFC 4760 §8, RFC 4271 §6.2: Multiprotocol capability length not 4",
            open_with_capabilities(&[1, 5, 0, 1, 0, 1, 0]),
            2,
            0,
            Unspecified,
        ),
        row(
            "RFC 2918 §2, RFC 4271 §6.2: Route Refresh capability length not 0",
            open_with_capabilities(&[2, 1, 0]),
            2,
            0,
            Unspecified,
        ),
        row(
            "RFC 7313 §3, RFC 4271 §6.2: Enhanced Route Refresh capability length not 0",
            open_with_capabilities(&[70, 1, 0]),
            2,
            0,
            Unspecified,
        ),
        row(
            "RFC 8654 §3, RFC 4271 §6.2: Extended Message capability length not 0",
            open_with_capabilities(&[6, 1, 0]),
            2,
            0,
            Unspecified,
        ),
        row(
            "RFC 6793 §3, RFC 4271 §6.2: 4-octet AS capability length not 4",
            open_with_capabilities(&[65, 2, 0xfd, 0xe9]),
            2,
            0,
            Unspecified,
        ),
        row(
            "RFC 4724 §3, RFC 4271 §6.2: Graceful Restart capability length not 2 + 4n",
            open_with_capabilities(&[64, 4, 0, 120, 0, 1]),
            2,
            0,
            Unspecified,
        ),
        row(
            "RFC 8950 §3, RFC 4271 §6.2: Extended Next Hop capability length not 6n",
            open_with_capabilities(&[5, 4, 0, 1, 0, 1]),
            2,
            0,
            Unspecified,
        ),
        row(
            "RFC 9072 §2, RFC 4271 §6.2: extended parameters length disagrees with the message",
            open(&[255, 255, 0, 9, 2, 0, 2, 2, 0]),
            2,
            0,
            Unspecified,
        ),
        row(
            "RFC 9072 §2, RFC 4271 §6.2: extended parameters length cut short",
            open(&[255, 255, 0]),
            2,
            0,
            Unspecified,
        ),
    ];
    rows.extend(extended_rows);
    rows
}

#[test]
fn every_rule_draws_its_notification() {
    let rows = rows();
    assert!(rows.len() >= 15);
    for r in rows {
        let mut buf = BytesMut::from(&r.wire[..]);
        let e = decode_message(&mut buf, &r.ctx).expect_err(r.rule);
        let n = &e.notification;
        assert_eq!((n.code.0, n.subcode), (r.code, r.subcode), "{}", r.rule);
        match &r.data {
            Data::Exact(data) => assert_eq!(&n.data[..], &data[..], "{}", r.rule),
            Data::WholeMessage => assert_eq!(&n.data[..], &r.wire[..], "{}", r.rule),
            Data::Unspecified => {}
        }
        if r.header_only {
            let mut header = BytesMut::from(&r.wire[..19]);
            let early = decode_message(&mut header, &r.ctx).expect_err(r.rule);
            assert_eq!(early, e, "{}: must not wait for the body", r.rule);
        }
    }
}

fn decode_one(wire: &[u8], ctx: &DecodeContext) -> Message {
    let mut buf = BytesMut::from(wire);
    let m = decode_message(&mut buf, ctx)
        .expect("well formed")
        .expect("complete");
    assert!(buf.is_empty());
    m
}

#[test]
fn what_the_decoder_lets_through_for_others_to_judge() {
    let ctx = DecodeContext::default();
    // RFC 5492 §3: an unknown capability is ignored, kept raw.
    let Message::Open(o) = decode_one(&open_with_capabilities(&[99, 2, 1, 2]), &ctx) else {
        panic!("OPEN expected")
    };
    assert_eq!(
        o.capabilities().collect::<Vec<_>>(),
        [&Capability::Unknown {
            code: 99,
            value: Bytes::from_static(&[1, 2]),
        }]
    );
    // RFC 4271 §6.2: Unsupported Optional Parameter is the state machine's.
    let Message::Open(o) = decode_one(&open(&[3, 7, 1, 0]), &ctx) else {
        panic!("OPEN expected")
    };
    assert_eq!(
        o.params,
        [OptionalParameter::Unknown {
            kind: 7,
            value: Bytes::from_static(&[0]),
        }]
    );
    // RFC 9072 §2: the extended layout is accepted for short parameters too.
    let Message::Open(o) = decode_one(&open(&[255, 255, 0, 3, 2, 0, 0]), &ctx) else {
        panic!("OPEN expected")
    };
    assert_eq!(o.params, [OptionalParameter::Capabilities(vec![])]);
    // RFC 7313 §5: a reserved subtype is decoded, for the FSM to ignore.
    let Message::RouteRefresh(rr) = decode_one(&msg(ROUTE_REFRESH, &[0, 1, 3, 1, 0]), &ctx) else {
        panic!("ROUTE-REFRESH expected")
    };
    assert_eq!(rr.subtype, RefreshSubtype::Reserved(3));
    // RFC 8654 §4: with Extended Message a NOTIFICATION may exceed 4096.
    let big = msg(NOTIFICATION, &vec![6; 5000]);
    assert!(matches!(
        decode_one(&big, &extended()),
        Message::Notification(_)
    ));
}

/// The four OPENs below were captured for this test on 2026-11-22 with
/// tcpdump on a veth pair between two network namespaces, one running FRR
/// 8.4.4 `bgpd` and the other BIRD 2.0.12 (Debian packages), peering with
/// each other: first over IPv4 (FRR AS 65000 with `bgp graceful-restart`
/// and hostname leaf1; BIRD AS 4200000001 with `graceful restart on` and
/// `extended next hop` on IPv4), then over IPv6 (FRR AS 4200000002 with
/// `capability extended-nexthop` and hostname spine7; BIRD AS 65002 with
/// `hold time 90`, `enable extended messages` and `long lived graceful
/// restart`).
const FRR_IPV4: &str = "ffffffffffffffffffffffffffffffff007c0104fde800b4c00002015f0206010400010001\
                        0206010400020001020280000202020002024600020641040000fde80202060002\
                        0a4508000101010002010102094907056c6561663100020c400ac0780001010000\
                        0201000210470e0001018000000000020180000000";
const BIRD_IPV4: &str = "ffffffffffffffffffffffffffffffff004b01045ba000f0c00002022e022c010400010001\
                         01040002000102000506000100010002400a00780001010000020100\
                         4104fa56ea0146004700";
const FRR_IPV6: &str = "ffffffffffffffffffffffffffffffff007f01045ba000b4c00002076202060104000100\
                        0102080506000100010002020601040002000102028000020202000202460002\
                        064104fa56ea0202020600020a45080001010100020101020a4908067370696e\
                        65370002044002c0780210470e0001018000000000020180000000";
const BIRD_IPV6: &str = "ffffffffffffffffffffffffffffffff00530104fdea005ac00002083602340104000100\
                         010104000200010200050600010001000206004002007841040000fdea460047\
                         0e00010100000e1000020100000e10";

fn unhex(hex: &str) -> Vec<u8> {
    let digits: Vec<u8> = hex.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    digits
        .chunks(2)
        .map(|pair| u8::from_str_radix(std::str::from_utf8(pair).unwrap(), 16).unwrap())
        .collect()
}

fn decode_and_reencode(hex: &str) -> bgp::wire::Open {
    let wire = unhex(hex);
    let ctx = DecodeContext::default();
    let Message::Open(o) = decode_one(&wire, &ctx) else {
        panic!("OPEN expected")
    };
    let mut out = BytesMut::new();
    encode_message(&Message::Open(o.clone()), &ctx, &mut out).unwrap();
    assert_eq!(&out[..], &wire[..], "re-encoding must be byte-exact");
    o
}

fn unknown_codes(o: &bgp::wire::Open) -> Vec<u8> {
    o.capabilities()
        .filter_map(|c| match c {
            Capability::Unknown { code, .. } => Some(*code),
            _ => None,
        })
        .collect()
}

#[test]
fn frr_puts_one_capability_in_each_parameter() {
    let o = decode_and_reencode(FRR_IPV4);
    assert_eq!(o.params.len(), 11);
    assert!(o.params.iter().all(|p| matches!(
        p,
        OptionalParameter::Capabilities(c) if c.len() == 1
    )));
    assert_eq!((o.version, o.my_as, o.hold_time), (4, 65000, 180));
    assert_eq!(o.router_id, RouterId(Ipv4Addr::new(192, 0, 2, 1)));
    assert_eq!(o.asn(), Asn(65000));
    assert_eq!(
        o.families().collect::<Vec<_>>(),
        [Family::IPV4_UNICAST, Family::IPV6_UNICAST]
    );
    let gr = o.graceful_restart().expect("graceful restart");
    assert_eq!(
        gr.flags,
        GracefulRestart::RESTARTING | GracefulRestart::NOTIFICATION
    );
    assert_eq!(gr.restart_time, 120);
    assert_eq!(gr.families.len(), 2);
    for code in [
        CapabilityCode::ROUTE_REFRESH,
        CapabilityCode::ENHANCED_ROUTE_REFRESH,
        CapabilityCode::EXTENDED_MESSAGE,
    ] {
        assert!(o.has(code), "{code:?}");
    }
    // Cisco route refresh, ADD-PATH, FQDN, long-lived graceful restart.
    assert_eq!(unknown_codes(&o), [128, 69, 73, 71]);
}

#[test]
fn bird_puts_every_capability_in_one_parameter() {
    let o = decode_and_reencode(BIRD_IPV4);
    assert_eq!(o.params.len(), 1);
    // RFC 6793 §4.1: AS_TRANS in the 2-octet field, the ASN in the capability.
    assert_eq!(o.my_as, 23456);
    assert_eq!(o.asn(), Asn(4_200_000_001));
    assert_eq!(o.hold_time, 240);
    assert_eq!(o.router_id, RouterId(Ipv4Addr::new(192, 0, 2, 2)));
    assert_eq!(
        o.extended_next_hops().collect::<Vec<_>>(),
        [&ExtendedNextHop {
            nlri_afi: Afi::IPV4,
            nlri_safi: 1,
            next_hop_afi: Afi::IPV6,
        }]
    );
    let gr = o.graceful_restart().expect("graceful restart");
    assert_eq!((gr.flags, gr.restart_time, gr.families.len()), (0, 120, 2));
    assert!(o.has(CapabilityCode::ENHANCED_ROUTE_REFRESH));
    assert!(!o.has(CapabilityCode::EXTENDED_MESSAGE));
    assert_eq!(unknown_codes(&o), [71]);
}

#[test]
fn frr_with_a_four_octet_asn_over_ipv6() {
    let o = decode_and_reencode(FRR_IPV6);
    assert_eq!(o.my_as, 23456);
    assert_eq!(o.asn(), Asn(4_200_000_002));
    assert_eq!(o.router_id, RouterId(Ipv4Addr::new(192, 0, 2, 7)));
    assert_eq!(o.extended_next_hops().count(), 1);
    // Helper mode: no family keeps state across a restart.
    let gr = o.graceful_restart().expect("graceful restart");
    assert!(gr.families.is_empty());
}

#[test]
fn bird_with_extended_messages_over_ipv6() {
    let o = decode_and_reencode(BIRD_IPV6);
    assert_eq!((o.my_as, o.hold_time), (65002, 90));
    assert_eq!(o.asn(), Asn(65002));
    assert!(o.has(CapabilityCode::EXTENDED_MESSAGE));
    assert_eq!(o.router_id, RouterId(Ipv4Addr::new(192, 0, 2, 8)));
    assert_eq!(unknown_codes(&o), [71]);
}
