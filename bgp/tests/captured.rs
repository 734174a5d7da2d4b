//! Real BGP messages, as FRR, BIRD, GoBGP and ExaBGP sent them to each
//! other (`tests/data/captures/`, made by `tests/data/capture.sh`), decode
//! and encode back to the same bytes.
//!
//! Each capture file is one direction of one session: a `# context:` line
//! with what the session negotiated, an `# expect:` line with what the
//! capture script's own parser found in it, then one message per line in
//! hex. Failures are collected over the whole corpus and reported together,
//! each with its file, line, bytes and error, so one run shows every
//! message the codec gets wrong.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

use bgp::wire::DecodeContext;
use bgp::wire::attribute::NextHop;
use bgp::wire::message::{Message, decode_message, encode_message};
use bgp::wire::route_refresh::RefreshSubtype;
use bgp::wire::update::Update;
use bgp::{Asn, Family};
use bytes::BytesMut;

/// One captured message: where it is and its bytes.
struct Captured {
    line: usize,
    bytes: Vec<u8>,
}

/// One `.hex` file.
struct Capture {
    name: String,
    ctx: DecodeContext,
    expect: BTreeSet<String>,
    messages: Vec<Captured>,
}

fn captures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/captures")
}

fn parse_hex(text: &str) -> Result<Vec<u8>, String> {
    if !text.len().is_multiple_of(2) {
        return Err(format!("odd number of hex digits: {}", text.len()));
    }
    (0..text.len())
        .step_by(2)
        .map(|i| {
            text.get(i..i + 2)
                .and_then(|pair| u8::from_str_radix(pair, 16).ok())
                .ok_or_else(|| format!("not hex at offset {i}"))
        })
        .collect()
}

fn parse_context(value: &str) -> Result<DecodeContext, String> {
    let mut ctx = DecodeContext::default();
    for pair in value.split_whitespace() {
        let (key, flag) = pair
            .split_once('=')
            .ok_or_else(|| format!("`{pair}` is not key=value"))?;
        let flag = match flag {
            "true" => true,
            "false" => false,
            other => return Err(format!("`{key}` must be true or false, not `{other}`")),
        };
        match key {
            "four_octet_as" => ctx.four_octet_as = flag,
            "extended_message" => ctx.extended_message = flag,
            "extended_next_hop_ipv4" => ctx.extended_next_hop_ipv4 = flag,
            "ibgp" => ctx.ibgp = flag,
            other => return Err(format!("unknown context key `{other}`")),
        }
    }
    Ok(ctx)
}

fn parse_capture(name: String, text: &str) -> Result<Capture, String> {
    let mut ctx = None;
    let mut expect = None;
    let mut messages = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        let line = index + 1;
        let at = |e: String| format!("{name}:{line}: {e}");
        if let Some(comment) = raw.strip_prefix('#') {
            let comment = comment.trim();
            if let Some(value) = comment.strip_prefix("context:") {
                ctx = Some(parse_context(value).map_err(at)?);
            } else if let Some(value) = comment.strip_prefix("expect:") {
                expect = Some(value.split_whitespace().map(str::to_owned).collect());
            }
            continue;
        }
        let hex = raw.split('#').next().unwrap_or_default().trim();
        if hex.is_empty() {
            continue;
        }
        messages.push(Captured {
            line,
            bytes: parse_hex(hex).map_err(at)?,
        });
    }
    Ok(Capture {
        ctx: ctx.ok_or_else(|| format!("{name}: no `# context:` line"))?,
        expect: expect.ok_or_else(|| format!("{name}: no `# expect:` line"))?,
        messages,
        name,
    })
}

fn load() -> Vec<Capture> {
    let dir = captures_dir();
    let mut paths: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.expect("readable directory entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "hex"))
        .collect();
    paths.sort();
    assert!(!paths.is_empty(), "no .hex file in {}", dir.display());
    paths
        .iter()
        .map(|path| {
            let text =
                fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            parse_capture(name, &text).unwrap_or_else(|e| panic!("{e}"))
        })
        .collect()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// Decode one captured message; `Err` says what went wrong, with the bytes.
fn decode_exactly(message: &Captured, ctx: &DecodeContext) -> Result<Message, String> {
    let mut buf = BytesMut::from(&message.bytes[..]);
    let decoded = match decode_message(&mut buf, ctx) {
        Ok(Some(decoded)) => decoded,
        Ok(None) => return Err("decode_message wants more bytes".to_owned()),
        Err(e) => return Err(format!("decode_message failed: {e:?}")),
    };
    if !buf.is_empty() {
        return Err(format!("decode_message left {} octets", buf.len()));
    }
    Ok(decoded)
}

/// Decode, check, encode and compare one message.
fn round_trip(message: &Captured, ctx: &DecodeContext) -> Result<(), String> {
    let decoded = decode_exactly(message, ctx)?;
    if let Message::Update(update) = &decoded {
        // A real speaker's UPDATE is well formed: any RFC 7606 outcome here
        // is the codec misreading it.
        if !update.attribute_errors.is_empty() {
            return Err(format!(
                "UPDATE decoded with attribute errors: {:?}",
                update.attribute_errors
            ));
        }
    }
    let mut out = BytesMut::new();
    encode_message(&decoded, ctx, &mut out).map_err(|e| format!("encode_message failed: {e:?}"))?;
    if out[..] != message.bytes[..] {
        return Err(format!("re-encoded differently:\n    got  {}", hex(&out)));
    }
    Ok(())
}

#[test]
fn every_captured_message_decodes_and_encodes_back_byte_exact() {
    let captures = load();
    let mut failures = Vec::new();
    let mut total = 0;
    for capture in &captures {
        for message in &capture.messages {
            total += 1;
            if let Err(e) = round_trip(message, &capture.ctx) {
                failures.push(format!(
                    "{}:{} ({:?})\n    sent {}\n    {e}",
                    capture.name,
                    message.line,
                    capture.ctx,
                    hex(&message.bytes)
                ));
            }
        }
    }
    assert!(total > 0, "the corpus holds no message");
    assert!(
        failures.is_empty(),
        "{} of {total} captured messages do not round-trip:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// The tags of the capture script's `# expect:` line that `message` shows,
/// read through the codec's own API.
fn tags(message: &Message) -> Vec<&'static str> {
    match message {
        Message::Open(_) => vec!["open"],
        Message::Keepalive => vec!["keepalive"],
        Message::RouteRefresh(_) => vec!["route-refresh"],
        Message::Notification(n) => {
            if n.shutdown_communication().is_some() {
                vec!["notification", "shutdown-communication"]
            } else {
                vec!["notification"]
            }
        }
        Message::Update(u) => {
            let mut tags = vec!["update"];
            if u.end_of_rib().is_some() {
                tags.push("end-of-rib");
            }
            if u.withdrawn().next().is_some() {
                tags.push("withdrawal");
            }
            tags
        }
    }
}

#[test]
fn each_capture_holds_what_the_capture_script_found_in_it() {
    let mut mismatches = Vec::new();
    for capture in load() {
        let found: BTreeSet<String> = capture
            .messages
            .iter()
            .filter_map(|m| decode_exactly(m, &capture.ctx).ok())
            .flat_map(|m| tags(&m))
            .map(str::to_owned)
            .collect();
        if found != capture.expect {
            mismatches.push(format!(
                "{}: the script found {:?}, the codec {:?}",
                capture.name, capture.expect, found
            ));
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

/// What the corpus must show the codec handling, checked through the
/// decoded values, not only the bytes.
fn features(update: &Update, ctx: &DecodeContext) -> Vec<&'static str> {
    let mut seen = Vec::new();
    let base = &update.attrs.base;
    if let Some(family) = update.end_of_rib() {
        if family == Family::IPV4_UNICAST {
            seen.push("End-of-RIB IPv4 unicast");
        }
        if family == Family::IPV6_UNICAST {
            seen.push("End-of-RIB IPv6 unicast");
        }
    }
    if update.withdrawn_v4().next().is_some() {
        seen.push("IPv4 withdrawal");
    }
    if update.withdrawn_v6().next().is_some() {
        seen.push("IPv6 withdrawal (MP_UNREACH_NLRI)");
    }
    if update.announced_v4().next().is_some() {
        match update.next_hop(Family::IPV4_UNICAST) {
            Some(NextHop::V4(_)) => seen.push("IPv4 unicast with an IPv4 NEXT_HOP"),
            Some(NextHop::V6(_)) => seen.push("IPv4 unicast with an IPv6 next hop (RFC 8950)"),
            None => {}
        }
    }
    if update.announced_v6().next().is_some() {
        match update.next_hop(Family::IPV6_UNICAST) {
            Some(NextHop::V6(nh)) if nh.link_local.is_some() => {
                seen.push("IPv6 next hop global and link-local");
            }
            Some(NextHop::V6(_)) => seen.push("IPv6 next hop global only"),
            _ => {}
        }
    }
    let path = update.as_path();
    if ctx.four_octet_as && path.iter().any(|asn| asn.is_four_octet()) {
        seen.push("4-octet ASN in a 4-octet AS_PATH");
    }
    let trans_in_as_path = base
        .as_path
        .as_ref()
        .is_some_and(|p| p.asns().any(|asn| asn == Asn::TRANS));
    if !ctx.four_octet_as
        && trans_in_as_path
        && base.as4_path.is_some()
        && path.iter().any(|asn| asn.is_four_octet())
    {
        seen.push("AS4_PATH merged over AS_TRANS (RFC 6793)");
    }
    if base
        .aggregator
        .is_some_and(|a| a.asn == Asn::TRANS && !ctx.four_octet_as)
        && update
            .attrs
            .effective_aggregator()
            .is_some_and(|a| a.asn.is_four_octet())
    {
        seen.push("AS4_AGGREGATOR over AS_TRANS");
    }
    if base.med.is_some() {
        seen.push("MULTI_EXIT_DISC");
    }
    if base.local_pref.is_some() {
        seen.push("LOCAL_PREF");
    }
    if base.atomic_aggregate {
        seen.push("ATOMIC_AGGREGATE");
    }
    if base.aggregator.is_some() {
        seen.push("AGGREGATOR");
    }
    if base.originator_id.is_some() {
        seen.push("ORIGINATOR_ID");
    }
    if !update.attrs.cluster_list.is_empty() {
        seen.push("CLUSTER_LIST");
    }
    if !update.attrs.communities.is_empty() {
        seen.push("COMMUNITIES");
    }
    if !update.attrs.large_communities.is_empty() {
        seen.push("LARGE_COMMUNITIES");
    }
    if !update.attrs.unknown.is_empty() {
        seen.push("an attribute kept as raw bytes (EXTENDED_COMMUNITIES)");
    }
    seen
}

#[test]
fn the_corpus_covers_what_the_codec_must_handle() {
    let required = [
        "OPEN",
        "KEEPALIVE",
        "ROUTE-REFRESH request",
        "ROUTE-REFRESH BoRR (RFC 7313)",
        "ROUTE-REFRESH EoRR (RFC 7313)",
        "NOTIFICATION with a shutdown communication (RFC 9003)",
        "NOTIFICATION without one",
        "End-of-RIB IPv4 unicast",
        "End-of-RIB IPv6 unicast",
        "IPv4 withdrawal",
        "IPv6 withdrawal (MP_UNREACH_NLRI)",
        "IPv4 unicast with an IPv4 NEXT_HOP",
        "IPv4 unicast with an IPv6 next hop (RFC 8950)",
        "IPv6 next hop global and link-local",
        "IPv6 next hop global only",
        "4-octet ASN in a 4-octet AS_PATH",
        "AS4_PATH merged over AS_TRANS (RFC 6793)",
        "AS4_AGGREGATOR over AS_TRANS",
        "MULTI_EXIT_DISC",
        "LOCAL_PREF",
        "ATOMIC_AGGREGATE",
        "AGGREGATOR",
        "ORIGINATOR_ID",
        "CLUSTER_LIST",
        "COMMUNITIES",
        "LARGE_COMMUNITIES",
        "an attribute kept as raw bytes (EXTENDED_COMMUNITIES)",
    ];
    let mut seen = BTreeSet::new();
    let mut shutdown_texts = BTreeSet::new();
    for capture in load() {
        for message in &capture.messages {
            let Ok(decoded) = decode_exactly(message, &capture.ctx) else {
                continue;
            };
            match &decoded {
                Message::Open(_) => {
                    seen.insert("OPEN");
                }
                Message::Keepalive => {
                    seen.insert("KEEPALIVE");
                }
                Message::RouteRefresh(r) => {
                    seen.insert(match r.subtype {
                        RefreshSubtype::Request => "ROUTE-REFRESH request",
                        RefreshSubtype::Begin => "ROUTE-REFRESH BoRR (RFC 7313)",
                        RefreshSubtype::End => "ROUTE-REFRESH EoRR (RFC 7313)",
                        RefreshSubtype::Reserved(_) => "ROUTE-REFRESH reserved subtype",
                    });
                }
                Message::Notification(n) => match n.shutdown_communication() {
                    Some(text) => {
                        seen.insert("NOTIFICATION with a shutdown communication (RFC 9003)");
                        shutdown_texts.insert(text.to_owned());
                    }
                    None => {
                        seen.insert("NOTIFICATION without one");
                    }
                },
                Message::Update(u) => seen.extend(features(u, &capture.ctx)),
            }
        }
    }
    let missing: Vec<_> = required.iter().filter(|r| !seen.contains(*r)).collect();
    assert!(
        missing.is_empty(),
        "the corpus decodes without showing: {missing:?}"
    );
    // The texts the capture script had the daemons send (capture.sh).
    for text in [
        "planned maintenance: moving to new rack",
        "gobgp: draining for upgrade",
        "bird: shutting down for maintenance",
        "bird: administrative reset",
        "frr: ibgp peer retired",
    ] {
        assert!(
            shutdown_texts.contains(text),
            "shutdown communication {text:?} not decoded; got {shutdown_texts:?}"
        );
    }
}

#[test]
fn the_capture_format_is_read_strictly() {
    // A file the test cannot read must fail loudly, not test nothing.
    assert!(parse_context(" four_octet_as=yes").is_err());
    assert!(parse_context(" add_path=true").is_err());
    assert_eq!(
        parse_context(" four_octet_as=true extended_message=false"),
        Ok(DecodeContext {
            four_octet_as: true,
            ..DecodeContext::default()
        })
    );
    assert!(parse_hex("fff").is_err());
    assert!(parse_hex("zz").is_err());
    let no_context = "# expect: keepalive\nffffffffffffffffffffffffffffffff001304\n";
    assert!(parse_capture("x.hex".to_owned(), no_context).is_err());
    let ok = "# context: four_octet_as=false\n# expect: keepalive\n\
              ffffffffffffffffffffffffffffffff001304  # KEEPALIVE\n";
    let capture = parse_capture("x.hex".to_owned(), ok).expect("a valid capture");
    assert_eq!(capture.messages.len(), 1);
    assert_eq!(capture.messages[0].line, 3);
    assert_eq!(capture.messages[0].bytes.len(), 19);
}
