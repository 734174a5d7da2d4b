//! How fast the codec reads a full IPv4 table off the wire.
//!
//! One receive buffer holds the UPDATEs of 1,000,000 distinct /24s, about
//! 900 to a message, as a leaf's spine would send them after the session
//! comes up. The timed part is what the speaker does per read: split each
//! message off the buffer with `decode_message`, decode its attributes, and
//! walk every announced prefix. Building the stream and copying it into the
//! buffer are not timed.
//!
//! `cargo bench -p bgp --bench decode_full_table` runs it (release profile,
//! eleven passes). Under `cargo test` it makes one pass, to check the counts.

use std::hint::black_box;
use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bgp::Asn;
use bgp::wire::attribute::{AsPath, Attrs, BaseAttrs, Community, Origin};
use bgp::wire::message::{decode_message, encode_message};
use bgp::wire::nlri::Ipv4Nlri;
use bgp::wire::{DecodeContext, Message, Update};
use bytes::BytesMut;
use ipnet::Ipv4Net;

const PREFIXES: u32 = 1_000_000;
const PER_UPDATE: usize = 900;
/// Odd, so the median is one of them.
const PASSES: usize = 11;
/// The spine the table comes from.
const SPINE_AS: Asn = Asn(65001);
const SPINE_ADDRESS: Ipv4Addr = Ipv4Addr::new(192, 168, 10, 1);

/// The attributes of the `n`th UPDATE: the routes of one origin behind one
/// upstream, so consecutive UPDATEs differ as a real table's do.
fn attributes(n: u32) -> Attrs {
    let upstream = Asn(64600 + n % 8);
    // Two UPDATEs in three come from a 4-octet origin AS behind the
    // upstream; the third is the upstream's own.
    let path = if n.is_multiple_of(3) {
        AsPath::sequence([SPINE_AS, upstream])
    } else {
        AsPath::sequence([SPINE_AS, upstream, Asn(4_200_000_000 + n)])
    };
    Attrs {
        base: BaseAttrs {
            origin: Some(Origin::Igp),
            as_path: Some(path),
            next_hop: Some(SPINE_ADDRESS),
            med: Some(n % 100),
            ..BaseAttrs::default()
        },
        communities: vec![
            Community::new(65001, 100),
            Community::new(65001, 200 + (n % 50) as u16),
        ],
        ..Attrs::default()
    }
}

/// The wire form of the whole table, and how many UPDATEs it holds.
fn full_table(ctx: &DecodeContext) -> (BytesMut, usize) {
    let prefixes: Vec<Ipv4Net> = (0..PREFIXES)
        .map(|i| Ipv4Net::new(Ipv4Addr::from(0x0100_0000 + (i << 8)), 24))
        .collect::<Result<_, _>>()
        .expect("a /24 is a valid prefix length");
    let mut wire = BytesMut::new();
    let mut updates = 0;
    for (n, chunk) in (0u32..).zip(prefixes.chunks(PER_UPDATE)) {
        let update = Update {
            attrs: Arc::new(attributes(n)),
            nlri: Ipv4Nlri::from_prefixes(chunk.iter().copied()),
            ..Update::default()
        };
        encode_message(&Message::Update(update), ctx, &mut wire)
            .expect("900 /24s and their attributes fit in 4096 octets");
        updates += 1;
    }
    (wire, updates)
}

/// What one pass saw, folded so the walk cannot be optimised away.
struct Pass {
    elapsed: Duration,
    messages: usize,
    prefixes: usize,
    fold: u64,
}

fn decode_all(stream: &[u8], ctx: &DecodeContext) -> Pass {
    let mut buf = BytesMut::from(stream);
    let mut messages = 0;
    let mut prefixes = 0;
    let mut fold = 0u64;
    let start = Instant::now();
    while let Some(message) = decode_message(&mut buf, ctx).expect("the table decodes") {
        messages += 1;
        if let Message::Update(update) = message {
            for net in update.announced_v4() {
                prefixes += 1;
                fold = fold
                    .rotate_left(5)
                    .wrapping_add(u64::from(u32::from(net.network())))
                    .wrapping_add(u64::from(net.prefix_len()));
            }
        }
    }
    let elapsed = start.elapsed();
    assert!(buf.is_empty(), "{} octets left undecoded", buf.len());
    Pass {
        elapsed,
        messages,
        prefixes,
        fold: black_box(fold),
    }
}

/// Millions per second.
fn rate(count: usize, elapsed: Duration) -> f64 {
    count as f64 / elapsed.as_secs_f64() / 1e6
}

fn main() {
    // `cargo bench` passes --bench; `cargo test` runs this binary without it.
    let benching = std::env::args().any(|arg| arg == "--bench");
    let passes = if benching { PASSES } else { 1 };
    let ctx = DecodeContext {
        four_octet_as: true,
        ..DecodeContext::default()
    };
    let (stream, updates) = full_table(&ctx);
    println!(
        "full table: {PREFIXES} distinct IPv4 /24s in {updates} UPDATEs of up to {PER_UPDATE} \
         prefixes, {} octets ({:.0} per UPDATE), four-octet AS session",
        stream.len(),
        stream.len() as f64 / updates as f64
    );
    println!(
        "attributes of UPDATE n: ORIGIN IGP; AS_PATH {SPINE_AS} (64600 + n % 8) and, for n % 3 \
         != 0, (4200000000 + n); NEXT_HOP {SPINE_ADDRESS}; MED n % 100; COMMUNITIES 65001:100 \
         65001:(200 + n % 50)"
    );

    let mut runs: Vec<Pass> = (0..passes).map(|_| decode_all(&stream, &ctx)).collect();
    let fold = runs.first().map(|p| p.fold);
    for pass in &runs {
        assert_eq!(
            pass.prefixes, PREFIXES as usize,
            "every prefix decoded once"
        );
        assert_eq!(pass.messages, updates, "every UPDATE decoded once");
        assert_eq!(Some(pass.fold), fold, "every pass saw the same prefixes");
    }
    println!(
        "passes: {passes}, each decoding {updates} messages and walking {PREFIXES} prefixes \
         (fold {:#018x})",
        fold.unwrap_or_default()
    );
    if !benching {
        // An unoptimised test build: the counts are checked, the times mean
        // nothing.
        return;
    }
    runs.sort_by_key(|p| p.elapsed);
    let (Some(fastest), Some(median)) = (runs.first(), runs.get(runs.len() / 2)) else {
        return;
    };
    for (label, pass) in [("fastest", fastest), ("median", median)] {
        println!(
            "{label:>8}: {:>8.2} ms  {:>7.1} M prefixes/s  {:>6.3} M messages/s  {:>6.0} MB/s",
            pass.elapsed.as_secs_f64() * 1e3,
            rate(pass.prefixes, pass.elapsed),
            rate(pass.messages, pass.elapsed),
            stream.len() as f64 / pass.elapsed.as_secs_f64() / 1e6,
        );
    }
}
