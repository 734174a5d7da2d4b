//! The UPDATE error rules of RFC 4271 §6.3 as revised by RFC 7606 (and the
//! RFCs that define each attribute), one row per rule: the section, an
//! UPDATE body that breaks it, and the reaction it must get.

use bgp::AttributeAction;
use bgp::wire::{DecodeContext, Update};
use bytes::Bytes;

/// What decoding the row's UPDATE must give.
#[derive(Debug)]
enum Expect {
    /// Taken as is, no attribute error.
    Ok,
    /// RFC 7606 §2 treat-as-withdraw: no route announced, all withdrawn.
    Withdraw,
    /// RFC 7606 §2 attribute discard of this type code; routes kept.
    Discard(u8),
    /// Session reset with this NOTIFICATION code and subcode.
    Reset(u8, u8),
}
use Expect::*;

/// Which session the row's UPDATE arrives on.
#[derive(Clone, Copy, Debug)]
enum Session {
    /// External peer, 4-octet AS numbers: the usual host-to-leaf session.
    Ebgp,
    /// Internal peer, 4-octet AS numbers.
    Ibgp,
    /// External peer that did not announce 4-octet AS numbers.
    Ebgp2,
}

impl Session {
    fn ctx(self) -> DecodeContext {
        DecodeContext {
            four_octet_as: !matches!(self, Session::Ebgp2),
            ibgp: matches!(self, Session::Ibgp),
            ..DecodeContext::default()
        }
    }
}

struct Row {
    name: &'static str,
    section: &'static str,
    session: Session,
    body: Vec<u8>,
    expect: Expect,
}

const WELL_KNOWN: u8 = 0x40;
const OPTIONAL: u8 = 0x80;
const OPTIONAL_TRANSITIVE: u8 = 0xc0;
const EXTENDED: u8 = 0x10;

/// One attribute: flags, type code, length (two octets if `flags` asks),
/// value.
fn attr(flags: u8, code: u8, value: &[u8]) -> Vec<u8> {
    let mut out = vec![flags, code];
    if flags & EXTENDED != 0 {
        out.extend((value.len() as u16).to_be_bytes());
    } else {
        out.push(value.len() as u8);
    }
    out.extend(value);
    out
}

fn origin(value: u8) -> Vec<u8> {
    attr(WELL_KNOWN, 1, &[value])
}

/// AS_PATH of one AS_SEQUENCE of 4-octet ASNs.
fn as_path(asns: &[u32]) -> Vec<u8> {
    let mut value = vec![2, asns.len() as u8];
    for asn in asns {
        value.extend(asn.to_be_bytes());
    }
    attr(WELL_KNOWN, 2, &value)
}

fn next_hop(addr: [u8; 4]) -> Vec<u8> {
    attr(WELL_KNOWN, 3, &addr)
}

/// The three attributes an IPv4 announcement needs.
fn mandatory() -> Vec<Vec<u8>> {
    vec![origin(0), as_path(&[65001]), next_hop([192, 0, 2, 1])]
}

fn with(mut attrs: Vec<Vec<u8>>, more: Vec<u8>) -> Vec<Vec<u8>> {
    attrs.push(more);
    attrs
}

/// One IPv4 prefix, 198.51.100.0/24.
const NLRI: &[u8] = &[24, 198, 51, 100];

/// An UPDATE body from its three fields.
fn body(withdrawn: &[u8], attrs: &[Vec<u8>], nlri: &[u8]) -> Vec<u8> {
    let attrs: Vec<u8> = attrs.concat();
    let mut out = (withdrawn.len() as u16).to_be_bytes().to_vec();
    out.extend(withdrawn);
    out.extend((attrs.len() as u16).to_be_bytes());
    out.extend(attrs);
    out.extend(nlri);
    out
}

fn announce(attrs: Vec<Vec<u8>>) -> Vec<u8> {
    body(&[], &attrs, NLRI)
}

/// MP_REACH_NLRI for IPv6 unicast with a next hop of `nh_len` octets and
/// one prefix of `len` bits.
fn mp_reach_v6(nh_len: usize, len: u8) -> Vec<u8> {
    let mut value = vec![0, 2, 1, nh_len as u8];
    value.extend(std::iter::repeat_n(0x20, nh_len));
    value.push(0);
    value.push(len);
    value.extend(std::iter::repeat_n(0x20, usize::from(len).div_ceil(8)));
    attr(OPTIONAL, 14, &value)
}

fn rows() -> Vec<Row> {
    let row = |name, section, session, body, expect| Row {
        name,
        section,
        session,
        body,
        expect,
    };
    use Session::*;
    vec![
        row(
            "well-formed announcement",
            "RFC 4271 §4.3",
            Ebgp,
            announce(mandatory()),
            Ok,
        ),
        row(
            "empty UPDATE is the IPv4 End-of-RIB",
            "RFC 4724 §2",
            Ebgp,
            body(&[], &[], &[]),
            Ok,
        ),
        row(
            "body shorter than four octets",
            "RFC 4271 §6.1",
            Ebgp,
            vec![0, 0],
            Reset(1, 2),
        ),
        row(
            "Withdrawn Routes Length past the end",
            "RFC 7606 §3 (b)",
            Ebgp,
            vec![0, 9, 24, 10, 0, 0, 0, 0],
            Reset(3, 1),
        ),
        row(
            "Total Path Attribute Length past the end",
            "RFC 7606 §3 (b)",
            Ebgp,
            vec![0, 0, 0, 30, 0x40, 1, 1, 0],
            Reset(3, 1),
        ),
        row(
            "withdrawn prefix longer than 32 bits",
            "RFC 7606 §5.3",
            Ebgp,
            body(&[33, 10, 0, 0, 0, 0], &[], &[]),
            Reset(3, 10),
        ),
        row(
            "NLRI prefix overruns the field",
            "RFC 7606 §5.3",
            Ebgp,
            body(&[], &mandatory(), &[24, 10, 0]),
            Reset(3, 10),
        ),
        row(
            "NLRI prefix longer than 32 bits",
            "RFC 7606 §5.3, RFC 4271 §6.3",
            Ebgp,
            body(&[], &mandatory(), &[40, 1, 2, 3, 4, 5]),
            Reset(3, 10),
        ),
        row(
            "ORIGIN marked optional",
            "RFC 7606 §3 (c)",
            Ebgp,
            announce(vec![
                attr(OPTIONAL_TRANSITIVE, 1, &[0]),
                as_path(&[65001]),
                next_hop([192, 0, 2, 1]),
            ]),
            Withdraw,
        ),
        row(
            "MULTI_EXIT_DISC marked transitive",
            "RFC 7606 §3 (c)",
            Ebgp,
            announce(with(
                mandatory(),
                attr(OPTIONAL_TRANSITIVE, 4, &[0, 0, 0, 1]),
            )),
            Withdraw,
        ),
        row(
            "Partial bit on a well-known attribute is not a flags error",
            "RFC 7606 §3 (c)",
            Ebgp,
            announce(vec![
                attr(WELL_KNOWN | 0x20, 1, &[0]),
                as_path(&[65001]),
                next_hop([192, 0, 2, 1]),
            ]),
            Ok,
        ),
        row(
            "ORIGIN missing",
            "RFC 7606 §3 (d)",
            Ebgp,
            announce(vec![as_path(&[65001]), next_hop([192, 0, 2, 1])]),
            Withdraw,
        ),
        row(
            "AS_PATH missing",
            "RFC 7606 §3 (d)",
            Ebgp,
            announce(vec![origin(0), next_hop([192, 0, 2, 1])]),
            Withdraw,
        ),
        row(
            "NEXT_HOP missing with an NLRI field",
            "RFC 7606 §3 (d)",
            Ebgp,
            announce(vec![origin(0), as_path(&[65001])]),
            Withdraw,
        ),
        row(
            "NEXT_HOP not needed for MP_REACH_NLRI alone",
            "RFC 7606 §3 (d), RFC 4760 §3",
            Ebgp,
            body(
                &[],
                &[mp_reach_v6(16, 48), origin(0), as_path(&[65001])],
                &[],
            ),
            Ok,
        ),
        row(
            "NLRI field without any path attribute",
            "RFC 7606 §3 (d)",
            Ebgp,
            announce(vec![]),
            Withdraw,
        ),
        row(
            "ORIGIN twice: the first stands, the second is discarded",
            "RFC 7606 §3 (g)",
            Ebgp,
            announce(with(mandatory(), origin(2))),
            Discard(1),
        ),
        row(
            "MP_UNREACH_NLRI twice",
            "RFC 7606 §3 (g)",
            Ebgp,
            body(
                &[],
                &[
                    attr(OPTIONAL, 15, &[0, 2, 1]),
                    attr(OPTIONAL, 15, &[0, 2, 1]),
                ],
                &[],
            ),
            Reset(3, 1),
        ),
        row(
            "discard and treat-as-withdraw together: the stronger wins",
            "RFC 7606 §3 (h)",
            Ebgp,
            announce(with(
                with(mandatory(), attr(WELL_KNOWN, 6, &[1])),
                attr(OPTIONAL, 4, &[1]),
            )),
            Withdraw,
        ),
        row(
            "MP_REACH_NLRI overruns the path attributes",
            "RFC 7606 §3 (j)",
            Ebgp,
            body(&[], &[vec![OPTIONAL, 14, 40, 0, 2, 1, 16]], &[]),
            Reset(3, 9),
        ),
        row(
            "last attribute overruns the path attributes",
            "RFC 7606 §4",
            Ebgp,
            announce(with(mandatory(), vec![OPTIONAL, 4, 9, 0, 0, 0, 1])),
            Withdraw,
        ),
        row(
            "fewer octets left than an attribute header",
            "RFC 7606 §4",
            Ebgp,
            announce(with(mandatory(), vec![OPTIONAL, 4])),
            Withdraw,
        ),
        row(
            "treat-as-withdraw error in an UPDATE without reachable NLRI",
            "RFC 7606 §5.2",
            Ebgp,
            body(&[8, 10], &[origin(7)], &[]),
            Reset(3, 6),
        ),
        row(
            "discard error in an UPDATE without reachable NLRI",
            "RFC 7606 §5.2",
            Ebgp,
            body(&[8, 10], &[attr(WELL_KNOWN, 6, &[1])], &[]),
            Discard(6),
        ),
        row(
            "NLRI field and MP_REACH_NLRI in one UPDATE are accepted",
            "RFC 7606 §5.1",
            Ebgp,
            announce(with(mandatory(), mp_reach_v6(32, 64))),
            Ok,
        ),
        row(
            "ORIGIN with an undefined value",
            "RFC 7606 §7.1",
            Ebgp,
            announce(vec![origin(3), as_path(&[65001]), next_hop([192, 0, 2, 1])]),
            Withdraw,
        ),
        row(
            "ORIGIN of two octets",
            "RFC 7606 §7.1",
            Ebgp,
            announce(vec![
                attr(WELL_KNOWN, 1, &[0, 0]),
                as_path(&[65001]),
                next_hop([192, 0, 2, 1]),
            ]),
            Withdraw,
        ),
        row(
            "AS_PATH segment of length zero",
            "RFC 7606 §7.2",
            Ebgp,
            announce(vec![
                origin(0),
                attr(WELL_KNOWN, 2, &[2, 0]),
                next_hop([192, 0, 2, 1]),
            ]),
            Withdraw,
        ),
        row(
            "AS_PATH unrecognized segment type",
            "RFC 7606 §7.2",
            Ebgp,
            announce(vec![
                origin(0),
                attr(WELL_KNOWN, 2, &[9, 1, 0, 0, 0, 1]),
                next_hop([192, 0, 2, 1]),
            ]),
            Withdraw,
        ),
        row(
            "AS_PATH segment overruns the attribute",
            "RFC 7606 §7.2",
            Ebgp,
            announce(vec![
                origin(0),
                attr(WELL_KNOWN, 2, &[2, 2, 0, 0, 0, 1]),
                next_hop([192, 0, 2, 1]),
            ]),
            Withdraw,
        ),
        row(
            "AS_PATH with one octet after the last segment",
            "RFC 7606 §7.2",
            Ebgp,
            announce(vec![
                origin(0),
                attr(WELL_KNOWN, 2, &[2, 1, 0, 0, 0, 1, 2]),
                next_hop([192, 0, 2, 1]),
            ]),
            Withdraw,
        ),
        row(
            "AS_PATH confederation segment from an external peer",
            "RFC 7606 §7.2, RFC 5065 §5",
            Ebgp,
            announce(vec![
                origin(0),
                attr(WELL_KNOWN, 2, &[3, 1, 0, 0, 0, 1]),
                next_hop([192, 0, 2, 1]),
            ]),
            Withdraw,
        ),
        row(
            "AS_PATH with AS 0",
            "RFC 7607 §2",
            Ebgp,
            announce(vec![origin(0), as_path(&[0]), next_hop([192, 0, 2, 1])]),
            Withdraw,
        ),
        row(
            "AS4_PATH between two 4-octet AS speakers",
            "RFC 6793 §6",
            Ebgp,
            announce(with(
                mandatory(),
                attr(OPTIONAL_TRANSITIVE, 17, &[2, 1, 0, 0, 0, 1]),
            )),
            Discard(17),
        ),
        row(
            "malformed AS4_PATH from a 2-octet AS speaker",
            "RFC 6793 §6",
            Ebgp2,
            announce(vec![
                origin(0),
                attr(WELL_KNOWN, 2, &[2, 1, 0x5b, 0xa0]),
                next_hop([192, 0, 2, 1]),
                attr(OPTIONAL_TRANSITIVE, 17, &[2, 0]),
            ]),
            Discard(17),
        ),
        row(
            "AS4_AGGREGATOR of seven octets from a 2-octet AS speaker",
            "RFC 6793 §6",
            Ebgp2,
            announce(vec![
                origin(0),
                attr(WELL_KNOWN, 2, &[2, 1, 0xfd, 0xe9]),
                next_hop([192, 0, 2, 1]),
                attr(OPTIONAL_TRANSITIVE, 18, &[0, 0, 1, 10, 0, 0, 1]),
            ]),
            Discard(18),
        ),
        row(
            "NEXT_HOP of five octets",
            "RFC 7606 §7.3",
            Ebgp,
            announce(vec![
                origin(0),
                as_path(&[65001]),
                attr(WELL_KNOWN, 3, &[192, 0, 2, 1, 0]),
            ]),
            Withdraw,
        ),
        row(
            "NEXT_HOP that is not a host address",
            "RFC 4271 §6.3",
            Ebgp,
            announce(vec![origin(0), as_path(&[65001]), next_hop([224, 0, 0, 1])]),
            Withdraw,
        ),
        row(
            "MULTI_EXIT_DISC of three octets",
            "RFC 7606 §7.4",
            Ebgp,
            announce(with(mandatory(), attr(OPTIONAL, 4, &[0, 0, 1]))),
            Withdraw,
        ),
        row(
            "LOCAL_PREF from an external peer",
            "RFC 7606 §7.5",
            Ebgp,
            announce(with(mandatory(), attr(WELL_KNOWN, 5, &[0, 0, 0, 100]))),
            Discard(5),
        ),
        row(
            "LOCAL_PREF of three octets from an internal peer",
            "RFC 7606 §7.5",
            Ibgp,
            announce(with(mandatory(), attr(WELL_KNOWN, 5, &[0, 0, 100]))),
            Withdraw,
        ),
        row(
            "ATOMIC_AGGREGATE with a value",
            "RFC 7606 §7.6",
            Ebgp,
            announce(with(mandatory(), attr(WELL_KNOWN, 6, &[1]))),
            Discard(6),
        ),
        row(
            "AGGREGATOR of six octets on a 4-octet AS session",
            "RFC 7606 §7.7",
            Ebgp,
            announce(with(
                mandatory(),
                attr(OPTIONAL_TRANSITIVE, 7, &[0xfd, 0xe9, 10, 0, 0, 1]),
            )),
            Discard(7),
        ),
        row(
            "AGGREGATOR with AS 0",
            "RFC 7607 §2, RFC 7606 §7.7",
            Ebgp,
            announce(with(
                mandatory(),
                attr(OPTIONAL_TRANSITIVE, 7, &[0, 0, 0, 0, 10, 0, 0, 1]),
            )),
            Discard(7),
        ),
        row(
            "COMMUNITIES of five octets",
            "RFC 7606 §7.8",
            Ebgp,
            announce(with(
                mandatory(),
                attr(OPTIONAL_TRANSITIVE, 8, &[0, 1, 0, 2, 3]),
            )),
            Withdraw,
        ),
        row(
            "ORIGINATOR_ID from an external peer",
            "RFC 7606 §7.9",
            Ebgp,
            announce(with(mandatory(), attr(OPTIONAL, 9, &[10, 0, 0, 9]))),
            Discard(9),
        ),
        row(
            "ORIGINATOR_ID of three octets from an internal peer",
            "RFC 7606 §7.9",
            Ibgp,
            announce(with(mandatory(), attr(OPTIONAL, 9, &[10, 0, 0]))),
            Withdraw,
        ),
        row(
            "CLUSTER_LIST of six octets from an internal peer",
            "RFC 7606 §7.10",
            Ibgp,
            announce(with(mandatory(), attr(OPTIONAL, 10, &[0, 0, 0, 1, 0, 0]))),
            Withdraw,
        ),
        row(
            "CLUSTER_LIST from an external peer",
            "RFC 7606 §7.10",
            Ebgp,
            announce(with(mandatory(), attr(OPTIONAL, 10, &[0, 0, 0, 1]))),
            Discard(10),
        ),
        row(
            "MP_REACH_NLRI IPv6 next hop of four octets",
            "RFC 7606 §7.11, RFC 4760 §7",
            Ebgp,
            body(
                &[],
                &[mp_reach_v6(4, 48), origin(0), as_path(&[65001])],
                &[],
            ),
            Reset(3, 9),
        ),
        row(
            "MP_REACH_NLRI IPv6 prefix of 129 bits",
            "RFC 7606 §5.3, RFC 4760 §7",
            Ebgp,
            body(
                &[],
                &[mp_reach_v6(16, 129), origin(0), as_path(&[65001])],
                &[],
            ),
            Reset(3, 9),
        ),
        row(
            "MP_UNREACH_NLRI shorter than AFI and SAFI",
            "RFC 7606 §7.12, RFC 4760 §7",
            Ebgp,
            body(&[], &[attr(OPTIONAL, 15, &[0, 2])], &[]),
            Reset(3, 9),
        ),
        row(
            "MP_REACH_NLRI marked transitive: parsed, then withdrawn",
            "RFC 7606 §3 (c), §3 (j)",
            Ebgp,
            body(
                &[],
                &[
                    vec![OPTIONAL_TRANSITIVE, 14],
                    mp_reach_v6(16, 48)[2..].to_vec(),
                    origin(0),
                    as_path(&[1]),
                ],
                &[],
            ),
            Withdraw,
        ),
        row(
            "LARGE_COMMUNITIES of thirteen octets",
            "RFC 8092 §6",
            Ebgp,
            announce(with(mandatory(), attr(OPTIONAL_TRANSITIVE, 32, &[0; 13]))),
            Withdraw,
        ),
        row(
            "unrecognized well-known attribute",
            "RFC 4271 §6.3",
            Ebgp,
            announce(with(mandatory(), attr(WELL_KNOWN, 99, &[1]))),
            Reset(3, 2),
        ),
        row(
            "unrecognized optional attribute is kept",
            "RFC 4271 §5",
            Ebgp,
            announce(with(
                mandatory(),
                attr(OPTIONAL_TRANSITIVE | EXTENDED, 99, &[1, 2, 3]),
            )),
            Ok,
        ),
    ]
}

#[test]
fn every_rule_gets_its_reaction() {
    let rows = rows();
    assert!(rows.len() >= 30);
    let mut failures = Vec::new();
    for row in &rows {
        let got = Update::decode(Bytes::from(row.body.clone()), &row.session.ctx());
        let ok = match (&row.expect, &got) {
            (Ok, Result::Ok(u)) => u.attribute_errors.is_empty(),
            (Withdraw, Result::Ok(u)) => {
                u.treat_as_withdraw() && u.announced().count() == 0 && u.withdrawn().count() > 0
            }
            (Discard(code), Result::Ok(u)) => {
                !u.treat_as_withdraw()
                    && u.discarded().any(|e| e.type_code == *code)
                    && u.discarded().all(|e| e.action == AttributeAction::Discard)
            }
            (Reset(code, subcode), Err(e)) => {
                e.notification.code.0 == *code && e.notification.subcode == *subcode
            }
            _ => false,
        };
        if !ok {
            failures.push(format!(
                "{} [{}]: expected {:?}, got {:?}",
                row.name, row.section, row.expect, got
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn reset_notifications_carry_the_data_rfc_4271_asks_for() {
    // RFC 4271 §6.3: Unrecognized Well-known Attribute carries the attribute.
    let bad = attr(WELL_KNOWN, 99, &[1]);
    let got = Update::decode(
        Bytes::from(announce(with(mandatory(), bad.clone()))),
        &Session::Ebgp.ctx(),
    );
    assert_eq!(&got.unwrap_err().notification.data[..], &bad[..]);
    // Malformed Attribute List carries nothing.
    let got = Update::decode(
        Bytes::from(vec![0, 9, 24, 10, 0, 0, 0, 0]),
        &Session::Ebgp.ctx(),
    );
    assert!(got.unwrap_err().notification.data.is_empty());
}
