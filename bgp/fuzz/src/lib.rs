//! What the fuzz targets check about every message the codec accepts.
//!
//! "Does not panic" is the least of it. A message that decodes must encode
//! again, the encoding must decode back to the same message, and encoding
//! must be a fixpoint: what we would forward or send is what we read.
//!
//! Two things are equal by design rather than byte for byte. An OPEN in the
//! RFC 9072 extended layout re-encodes in the RFC 4271 layout when that can
//! hold its parameters, and a ROUTE-REFRESH with a reserved subtype drops
//! what followed its 4 octets (RFC 7313 §5): both decode equal all the same,
//! which is what is asserted. An UPDATE taken with malformed attributes (RFC
//! 7606) re-encodes without them, since they were never decoded: its
//! prefixes and the attributes it kept must come back; its errors need
//! not.

use bgp::AttributeAction;
use bgp::wire::attribute::{MpReach, MpUnreach};
use bgp::wire::message::{decode_message, encode_message};
use bgp::wire::nlri::{Nlri, PrefixFamily};
use bgp::wire::{DecodeContext, Message, Update};
use bytes::BytesMut;

/// The session a fuzz input is decoded in, from its first octet: bit 0
/// four-octet AS, bit 1 Extended Message, bit 2 extended next hop for IPv4,
/// bit 3 internal peer. The other bits are ignored, so the sixteen
/// sessions are equally likely.
pub fn context(octet: u8) -> DecodeContext {
    DecodeContext {
        four_octet_as: octet & 1 != 0,
        extended_message: octet & 2 != 0,
        extended_next_hop_ipv4: octet & 4 != 0,
        ibgp: octet & 8 != 0,
    }
}

/// The first octet of an input that selects `ctx`; the inverse of
/// [`context`], for writing seeds.
pub fn context_octet(ctx: &DecodeContext) -> u8 {
    u8::from(ctx.four_octet_as)
        | u8::from(ctx.extended_message) << 1
        | u8::from(ctx.extended_next_hop_ipv4) << 2
        | u8::from(ctx.ibgp) << 3
}

/// Decode every message `stream` holds, as a receive buffer would, and
/// check each one. Stops where the codec does: at an incomplete message or
/// at the first error, which would reset the session. Answers how many
/// messages were decoded.
pub fn decode_stream(stream: &[u8], ctx: &DecodeContext) -> usize {
    let mut buf = BytesMut::from(stream);
    let mut decoded = 0;
    while let Ok(Some(message)) = decode_message(&mut buf, ctx) {
        check_message(&message, ctx);
        decoded += 1;
    }
    decoded
}

/// Encode `message`, decode the encoding, and compare.
pub fn check_message(message: &Message, ctx: &DecodeContext) {
    if let Message::Update(update) = message {
        check_prefix_walks(update);
    }
    let wire = encode(message, ctx);
    let mut buf = BytesMut::from(&wire[..]);
    let again = match decode_message(&mut buf, ctx) {
        Ok(Some(again)) => again,
        other => panic!("the encoding of a decoded message must decode: {other:?}\n{message:?}"),
    };
    assert!(
        buf.is_empty(),
        "the encoding must be exactly one message, {} octets left",
        buf.len()
    );
    match (message, &again) {
        (Message::Update(first), Message::Update(second)) => check_update_again(first, second),
        _ => assert_eq!(&again, message, "a decoded message must decode back equal"),
    }
    assert_eq!(
        encode(&again, ctx),
        wire,
        "encoding must be a fixpoint: decode(encode(m)) encodes to the same octets"
    );
}

/// The UPDATE-body counterpart of [`check_message`], for bodies decoded
/// with `Update::decode` directly: no header, so no message size limit.
pub fn check_update(update: &Update, ctx: &DecodeContext) {
    check_prefix_walks(update);
    let body = encode_body(update, ctx);
    let again = Update::decode(body.clone().freeze(), ctx).unwrap_or_else(|e| {
        panic!("the encoding of a decoded UPDATE must decode: {e}\n{update:?}")
    });
    check_update_again(update, &again);
    assert_eq!(
        encode_body(&again, ctx),
        body,
        "encoding must be a fixpoint: decode(encode(u)) encodes to the same octets"
    );
}

fn encode(message: &Message, ctx: &DecodeContext) -> BytesMut {
    let mut out = BytesMut::new();
    if let Err(e) = encode_message(message, ctx, &mut out) {
        panic!("a decoded message must encode again: {e}\n{message:?}");
    }
    out
}

fn encode_body(update: &Update, ctx: &DecodeContext) -> BytesMut {
    let mut out = BytesMut::new();
    update.encode_body(ctx, &mut out);
    out
}

/// `second` is `first` encoded and decoded again.
fn check_update_again(first: &Update, second: &Update) {
    if first.attribute_errors.is_empty() {
        assert_eq!(second, first, "a decoded UPDATE must decode back equal");
        return;
    }
    // The malformed attributes were not decoded, so they are not encoded:
    // the rest must survive unchanged.
    assert_eq!(
        second.withdrawn, first.withdrawn,
        "Withdrawn Routes changed"
    );
    assert_eq!(second.nlri, first.nlri, "NLRI changed");
    assert_eq!(second.mp_reach, first.mp_reach, "MP_REACH_NLRI changed");
    assert_eq!(
        second.mp_unreach, first.mp_unreach,
        "MP_UNREACH_NLRI changed"
    );
    assert_eq!(second.attrs, first.attrs, "path attributes changed");
    let only_discards = first
        .attribute_errors
        .iter()
        .all(|e| e.action == AttributeAction::Discard);
    if only_discards {
        // RFC 7606 §2: a discarded attribute leaves the routes as they are,
        // so dropping it on the way out must not make them withdrawn.
        assert_eq!(
            second.attribute_errors,
            [],
            "an UPDATE whose errors were all discards re-encodes without errors"
        );
    }
}

/// Every prefix field walks to its end: the walk that validation accepted
/// yields prefixes whose wire lengths add up to the field's. A walk that
/// stopped early would drop routes without a word.
fn check_prefix_walks(update: &Update) {
    walks_whole(&update.withdrawn, "Withdrawn Routes");
    walks_whole(&update.nlri, "NLRI");
    match update.mp_reach.as_deref() {
        Some(MpReach::Ipv4 { nlri, .. }) => walks_whole(nlri, "MP_REACH_NLRI IPv4"),
        Some(MpReach::Ipv6 { nlri, .. }) => walks_whole(nlri, "MP_REACH_NLRI IPv6"),
        Some(MpReach::Other { .. }) | None => {}
    }
    match update.mp_unreach.as_deref() {
        Some(MpUnreach::Ipv4(nlri)) => walks_whole(nlri, "MP_UNREACH_NLRI IPv4"),
        Some(MpUnreach::Ipv6(nlri)) => walks_whole(nlri, "MP_UNREACH_NLRI IPv6"),
        Some(MpUnreach::Other { .. }) | None => {}
    }
    // RFC 7606 §2: treat-as-withdraw moves every announced prefix over to
    // the withdrawn ones; none may be lost or counted twice.
    let (reach_v4, reach_v6) = match update.mp_reach.as_deref() {
        Some(MpReach::Ipv4 { nlri, .. }) => (nlri.iter().count(), 0),
        Some(MpReach::Ipv6 { nlri, .. }) => (0, nlri.iter().count()),
        Some(MpReach::Other { .. }) | None => (0, 0),
    };
    let (unreach_v4, unreach_v6) = match update.mp_unreach.as_deref() {
        Some(MpUnreach::Ipv4(nlri)) => (nlri.iter().count(), 0),
        Some(MpUnreach::Ipv6(nlri)) => (0, nlri.iter().count()),
        Some(MpUnreach::Other { .. }) | None => (0, 0),
    };
    let announced = [update.nlri.iter().count() + reach_v4, reach_v6];
    let withdrawn = [update.withdrawn.iter().count() + unreach_v4, unreach_v6];
    let (shown, moved) = if update.treat_as_withdraw() {
        ([0, 0], announced)
    } else {
        (announced, [0, 0])
    };
    assert_eq!(
        [update.announced_v4().count(), update.announced_v6().count()],
        shown,
        "prefixes announced, IPv4 and IPv6"
    );
    assert_eq!(
        [update.withdrawn_v4().count(), update.withdrawn_v6().count()],
        [withdrawn[0] + moved[0], withdrawn[1] + moved[1]],
        "prefixes withdrawn, IPv4 and IPv6"
    );
}

fn walks_whole<F: PrefixFamily>(nlri: &Nlri<F>, field: &str) {
    let walked: usize = nlri.iter().map(F::wire_len).sum();
    assert_eq!(
        walked,
        nlri.wire_len(),
        "{field}: the prefix walk stopped before the end of the field"
    );
}

#[cfg(test)]
mod tests {
    use std::fs;
    use std::path::Path;
    use std::sync::Arc;

    use bgp::Asn;
    use bgp::error::AttributeError;
    use bgp::wire::attribute::{AsPath, Attrs, BaseAttrs, type_code};
    use bgp::wire::nlri::V4;
    use bytes::Bytes;

    use super::*;

    fn seeds(target: &str) -> Vec<(String, Vec<u8>)> {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("seeds")
            .join(target);
        let mut seeds: Vec<_> = fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|entry| {
                let path = entry.unwrap().path();
                let name = path.file_name().unwrap().to_string_lossy().into_owned();
                (name, fs::read(&path).unwrap())
            })
            .collect();
        seeds.sort();
        seeds
    }

    #[test]
    fn the_context_octet_round_trips_through_all_sixteen_sessions() {
        for octet in 0..16u8 {
            assert_eq!(context_octet(&context(octet)), octet);
            assert_eq!(context(octet | 0xf0), context(octet));
        }
    }

    #[test]
    fn every_message_seed_decodes_and_passes_the_checks() {
        let seeds = seeds("decode_message");
        assert!(seeds.len() > 100, "{} seeds", seeds.len());
        for (name, data) in seeds {
            let (&session, stream) = data.split_first().unwrap();
            let decoded = decode_stream(stream, &context(session));
            assert!(decoded > 0, "{name}: no message decoded");
        }
    }

    #[test]
    fn every_update_seed_decodes_and_passes_the_checks() {
        for (name, data) in seeds("decode_update") {
            let (&session, body) = data.split_first().unwrap();
            let ctx = context(session);
            let update = Update::decode(Bytes::copy_from_slice(body), &ctx)
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            check_update(&update, &ctx);
        }
    }

    #[test]
    #[should_panic(expected = "path attributes changed")]
    fn an_attribute_lost_on_the_way_back_is_caught() {
        // RFC 6793 §6: between four-octet speakers AS4_PATH is discarded on
        // receipt, so an UPDATE holding one cannot come back equal.
        let ctx = context(1);
        let update = Update {
            nlri: Nlri::<V4>::from_prefixes(["10.0.0.0/8".parse().unwrap()]),
            attrs: Arc::new(Attrs {
                base: BaseAttrs {
                    as4_path: Some(AsPath::sequence([Asn(65001)])),
                    ..BaseAttrs::default()
                },
                ..Attrs::default()
            }),
            attribute_errors: vec![AttributeError {
                type_code: type_code::ORIGIN,
                action: AttributeAction::TreatAsWithdraw,
                reason: "test",
            }],
            ..Update::default()
        };
        check_update(&update, &ctx);
    }
}
