use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use super::*;

const BASE: &str = r#"
[host]
asn = 65001
router_id = "192.168.10.2"
index = 1

[plan]
cidr = "10.0.0.0/8"
host_bits = 8
tenant_bits = 4
segment_bits = 4

[[tenant]]
name = "blue"
id = 1
segments = [ { name = "web", id = 1 }, { name = "db", id = 2 } ]

[[tenant]]
name = "green"
id = 2
segments = [ { name = "web", id = 1 } ]

[[neighbor]]
address = "192.168.10.1"
remote_as = 65000

[[neighbor]]
address = "2001:db8::1"
remote_as = 65000

[[policy]]
from = "blue/web"
to = "blue/db"
"#;

fn fixture(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/config")
        .join(name)
}

/// BASE with one piece of text replaced; the piece must be there.
fn base_with(from: &str, to: &str) -> String {
    assert!(BASE.contains(from), "{from:?} is not in BASE");
    BASE.replacen(from, to, 1)
}

/// BASE with lines added to the first neighbor.
fn neighbor0(lines: &str) -> String {
    base_with(
        "address = \"192.168.10.1\"\n",
        &format!("address = \"192.168.10.1\"\n{lines}\n"),
    )
}

/// The key and the whole message of the error `text` gives.
fn error(text: &str) -> (String, String) {
    let e = Config::parse(text, "/etc/romana-bgp/config.toml").unwrap_err();
    let key = e.key().map(ToString::to_string).unwrap_or_default();
    (key, e.to_string())
}

#[track_caller]
fn assert_refused(text: &str, key: &str, reason: &str) {
    let (found, message) = error(text);
    assert_eq!(found, key, "{message}");
    assert!(
        message.contains(reason),
        "{message:?} does not say {reason:?}"
    );
    assert!(
        message.starts_with("/etc/romana-bgp/config.toml:"),
        "{message}"
    );
}

#[test]
fn spec_example_gives_typed_values_and_defaults() {
    let c = Config::load(fixture("spec-example.toml")).unwrap();
    assert_eq!(c.host.asn, bgp::Asn(65001));
    assert_eq!(
        c.host.router_id,
        bgp::RouterId(Ipv4Addr::new(192, 168, 10, 2))
    );
    assert_eq!(
        c.plan.host_block(c.host.index),
        "10.1.0.0/16".parse().unwrap()
    );
    assert_eq!(c.plan.gateway(c.host.index), Ipv4Addr::new(10, 1, 0, 1));

    let blue = c.tenant("blue").unwrap();
    assert_eq!(blue.id.get(), 1);
    let db = blue.segment("db").unwrap();
    assert_eq!(db.id.get(), 2);
    assert_eq!(
        c.plan.segment_cidr(c.host.index, blue.id, db.id),
        "10.1.18.0/24".parse().unwrap()
    );
    assert!(c.tenant("red").is_none());

    let [n] = c.neighbors.as_slice() else {
        panic!("one neighbor expected: {:?}", c.neighbors)
    };
    assert_eq!(n.address, IpAddr::V4(Ipv4Addr::new(192, 168, 10, 1)));
    assert_eq!(n.remote_as, bgp::Asn(65000));
    assert_eq!(n.port, 179);
    assert!(!n.passive);
    assert_eq!(n.hold_time.seconds(), 9);
    assert_eq!(n.password, None);
    assert_eq!(n.ttl_security_hops, None);
    assert!(n.graceful_restart);
    assert_eq!(n.max_prefixes, None);
    assert_eq!(n.idle_hold_time, Duration::from_secs(1));
    assert_eq!(n.idle_hold_max, Duration::from_secs(60));
    assert_eq!(n.connect_retry, Duration::from_secs(5));
    assert_eq!(n.import, crate::policy::ImportPolicy::default());
    assert_eq!(n.local_address, None);

    assert!(c.policies.is_empty());
    assert_eq!(c.isolation.outside, Outside::Allow);
    assert_eq!(c.api.socket, Path::new(DEFAULT_SOCKET));
    assert_eq!(c.state.dir, Path::new(DEFAULT_STATE_DIR));
}

#[test]
fn every_key_is_read() {
    let c = Config::load(fixture("every-key.toml")).unwrap();
    assert_eq!(c.host.asn, bgp::Asn(4_200_000_001));
    assert_eq!(c.host.index.get(), 0);
    assert_eq!(c.plan.endpoint_bits(), 8);
    let n = &c.neighbors[0];
    assert_eq!(n.port, 1179);
    assert!(n.passive);
    assert_eq!(n.hold_time.seconds(), 0);
    assert_eq!(
        n.password.as_ref().map(Password::as_bytes),
        Some(&b"s3cret"[..])
    );
    assert!(
        !format!("{n:?}").contains("s3cret"),
        "Debug must not show the key"
    );
    assert_eq!(n.ttl_security_hops, Some(1));
    assert!(!n.graceful_restart);
    assert_eq!(n.max_prefixes.map(|m| m.get()), Some(10));
    assert_eq!(n.idle_hold_time, Duration::from_secs(2));
    assert_eq!(n.idle_hold_max, Duration::from_secs(30));
    assert_eq!(n.connect_retry, Duration::from_secs(1));
    assert_eq!(
        n.import.to_string(),
        "0.0.0.0/0, 10.0.0.0/8 le 24, 192.0.2.0/24 ge 32, 2001:db8::/32 ge 48 le 64"
    );
    assert_eq!(n.local_address, Some("192.0.2.2".parse().unwrap()));
    assert!(c.neighbors[1].import.rules().is_empty());

    let blue = c.tenant("blue").unwrap();
    let green = c.tenant("green-2").unwrap();
    assert_eq!(
        c.policies,
        vec![
            IsolationPolicy {
                from: EndpointGroup::Segment(blue.id, blue.segment("web").unwrap().id),
                to: EndpointGroup::Segment(blue.id, blue.segment("db").unwrap().id),
            },
            IsolationPolicy {
                from: EndpointGroup::Tenant(green.id),
                to: EndpointGroup::Tenant(blue.id),
            },
        ]
    );
    assert_eq!(c.isolation.outside, Outside::Deny);
    assert_eq!(c.api.socket, Path::new("/tmp/romana-bgp-test.sock"));
    assert_eq!(c.state.dir, Path::new("state"));
}

#[test]
fn base_and_minimal_configs_are_valid() {
    Config::parse(BASE, "base").unwrap();
    // No tenant, no neighbor: a standalone host.
    let minimal = "[host]\nasn = 65001\nrouter_id = \"192.0.2.1\"\nindex = 0\n\
                   [plan]\ncidr = \"10.0.0.0/8\"\nhost_bits = 8\ntenant_bits = 4\nsegment_bits = 4\n";
    let c = Config::parse(minimal, "minimal").unwrap();
    assert!(c.neighbors.is_empty() && c.tenants.is_empty());
}

#[test]
fn asns_reserved_by_rfcs_are_refused() {
    assert_refused(&base_with("asn = 65001", "asn = 0"), "host.asn", "RFC 7607");
    assert_refused(
        &base_with("asn = 65001", "asn = 23456"),
        "host.asn",
        "AS_TRANS",
    );
    assert_refused(
        &base_with("remote_as = 65000", "remote_as = 0"),
        "neighbor[0].remote_as",
        "RFC 7607",
    );
    assert_refused(
        &base_with(
            "\"2001:db8::1\"\nremote_as = 65000",
            "\"2001:db8::1\"\nremote_as = 23456",
        ),
        "neighbor[1].remote_as",
        "AS_TRANS",
    );
    // 4-octet ASNs are fine.
    Config::parse(&base_with("asn = 65001", "asn = 4294967294"), "t").unwrap();
}

#[test]
fn router_id_must_be_a_nonzero_ipv4_address() {
    let key = "host.router_id";
    assert_refused(
        &base_with("\"192.168.10.2\"", "\"0.0.0.0\""),
        key,
        "RFC 6286",
    );
    assert_refused(
        &base_with("\"192.168.10.2\"", "\"host-1\""),
        key,
        "not a router id",
    );
    assert_refused(
        &base_with("\"192.168.10.2\"", "\"2001:db8::2\""),
        key,
        "not a router id",
    );
}

#[test]
fn plan_errors_name_the_key_at_fault() {
    assert_refused(
        &base_with("\"10.0.0.0/8\"", "\"2001:db8::/32\""),
        "plan.cidr",
        "IPv4 only",
    );
    assert_refused(
        &base_with("\"10.0.0.0/8\"", "\"10.0.0.0\""),
        "plan.cidr",
        "not a prefix",
    );
    assert_refused(
        &base_with("\"10.0.0.0/8\"", "\"10.1.0.0/8\""),
        "plan.cidr",
        "the network is 10.0.0.0/8",
    );
    assert_refused(
        &base_with("segment_bits = 4", "segment_bits = 11"),
        "plan",
        "= 31 bits, which leaves 1 for endpoints; at least 2 are needed",
    );
    assert_refused(
        &base_with("tenant_bits = 4", "tenant_bits = 0"),
        "plan.tenant_bits",
        "tenant 0",
    );
    assert_refused(
        &base_with("segment_bits = 4", "segment_bits = 0"),
        "plan.segment_bits",
        "segment 0",
    );
    assert_refused(
        &base_with("index = 1", "index = 256"),
        "host.index",
        "from 0 to 255",
    );
}

#[test]
fn tenant_and_segment_ids_fit_their_bits_and_skip_zero() {
    assert_refused(
        &base_with("id = 1\nsegments", "id = 0\nsegments"),
        "tenant[0].id",
        "from 1 to 15",
    );
    assert_refused(
        &base_with("id = 1\nsegments", "id = 16\nsegments"),
        "tenant[0].id",
        "from 1 to 15",
    );
    assert_refused(
        &base_with("{ name = \"db\", id = 2 }", "{ name = \"db\", id = 16 }"),
        "tenant[0].segments[1].id",
        "from 1 to 15",
    );
    assert_refused(
        &base_with("{ name = \"db\", id = 2 }", "{ name = \"db\", id = 0 }"),
        "tenant[0].segments[1].id",
        "0 is the host's own",
    );
}

#[test]
fn names_and_ids_are_unique() {
    assert_refused(
        &base_with("name = \"green\"", "name = \"blue\""),
        "tenant[1].name",
        "blue is already the name of tenant[0]",
    );
    assert_refused(
        &base_with("id = 2\nsegments", "id = 1\nsegments"),
        "tenant[1].id",
        "tenant[0]",
    );
    assert_refused(
        &base_with("{ name = \"db\", id = 2 }", "{ name = \"web\", id = 2 }"),
        "tenant[0].segments[1].name",
        "already the name of tenant[0].segments[0]",
    );
    assert_refused(
        &base_with("{ name = \"db\", id = 2 }", "{ name = \"db\", id = 1 }"),
        "tenant[0].segments[1].id",
        "already the id of tenant[0].segments[0]",
    );
    // The same segment name in two tenants is fine.
    assert!(BASE.matches("name = \"web\"").count() == 2);
}

#[test]
fn names_are_words_and_tenants_have_segments() {
    for bad in [
        "\"blue team\"",
        "\"blue/web\"",
        "\"\"",
        "\"1blue\"",
        &format!("\"{}\"", "b".repeat(33)),
    ] {
        assert_refused(&base_with("\"blue\"", bad), "tenant[0].name", "not a name");
    }
    assert_refused(
        &base_with("segments = [ { name = \"web\", id = 1 } ]", "segments = []"),
        "tenant[1].segments",
        "at least one",
    );
}

#[test]
fn neighbor_addresses_are_unicast_and_unique() {
    let key = "neighbor[0].address";
    for (addr, reason) in [
        ("bogus", "not an IPv4 or IPv6 address"),
        ("0.0.0.0", "unspecified"),
        ("::", "unspecified"),
        ("224.0.0.5", "multicast"),
        ("255.255.255.255", "broadcast"),
        ("fe80::1", "link-local"),
    ] {
        assert_refused(
            &base_with("\"192.168.10.1\"", &format!("\"{addr}\"")),
            key,
            reason,
        );
    }
    assert_refused(
        &base_with("\"2001:db8::1\"", "\"192.168.10.1\""),
        "neighbor[1].address",
        "192.168.10.1 is already configured as neighbor[0]",
    );
    // The IPv4-mapped form is the same neighbor.
    assert_refused(
        &base_with("\"2001:db8::1\"", "\"::ffff:192.168.10.1\""),
        "neighbor[1].address",
        "already configured as neighbor[0]",
    );
}

#[test]
fn hold_time_is_zero_or_at_least_three() {
    for bad in [1, 2] {
        assert_refused(
            &neighbor0(&format!("hold_time = {bad}")),
            "neighbor[0].hold_time",
            "RFC 4271 §4.2 allows 0 (no keepalives) or at least 3 seconds",
        );
    }
    for good in [0, 3, 65535] {
        let c = Config::parse(&neighbor0(&format!("hold_time = {good}")), "t").unwrap();
        assert_eq!(c.neighbors[0].hold_time.seconds(), good);
    }
    assert_refused(
        &neighbor0("hold_time = 65536"),
        "neighbor[0].hold_time",
        "u16",
    );
}

#[test]
fn password_fits_the_kernel() {
    let ok = format!("password = \"{}\"", "k".repeat(80));
    Config::parse(&neighbor0(&ok), "t").unwrap();
    let long = format!("password = \"{}\"", "k".repeat(81));
    assert_refused(
        &neighbor0(&long),
        "neighbor[0].password",
        "81 octets; a TCP MD5 key is at most 80",
    );
    assert_refused(
        &neighbor0("password = \"\""),
        "neighbor[0].password",
        "empty",
    );
}

#[test]
fn timers_and_limits_refuse_zero_and_inverted_ranges() {
    assert_refused(&neighbor0("port = 0"), "neighbor[0].port", "default is 179");
    assert_refused(
        &neighbor0("max_prefixes = 0"),
        "neighbor[0].max_prefixes",
        "no limit",
    );
    assert_refused(
        &neighbor0("connect_retry = 0"),
        "neighbor[0].connect_retry",
        "at least 1 second",
    );
    assert_refused(
        &neighbor0("idle_hold_time = 0"),
        "neighbor[0].idle_hold_time",
        "never grows",
    );
    assert_refused(
        &neighbor0("idle_hold_max = 0"),
        "neighbor[0].idle_hold_max",
        "at least 1 second",
    );
    assert_refused(
        &neighbor0("idle_hold_time = 120"),
        "neighbor[0].idle_hold_time",
        "120 s is longer than idle_hold_max (60 s, the default)",
    );
    assert_refused(
        &neighbor0("idle_hold_time = 40\nidle_hold_max = 30"),
        "neighbor[0].idle_hold_max",
        "30 s is shorter than idle_hold_time (40 s)",
    );
    Config::parse(&neighbor0("idle_hold_time = 30\nidle_hold_max = 30"), "t").unwrap();
}

#[test]
fn import_entries_are_checked_one_by_one() {
    assert_refused(
        &neighbor0("import = [\"0.0.0.0/0\", \"10.0.0.0/8 le 33\"]"),
        "neighbor[0].import[1]",
        "le 33 is out of range for 10.0.0.0/8: it must be from 8 to 32",
    );
    assert_refused(
        &neighbor0("import = [\"10.0.0.0/16 le 8\"]"),
        "neighbor[0].import[0]",
        "from 16 to 32",
    );
    assert_refused(
        &neighbor0("import = [\"default\"]"),
        "neighbor[0].import[0]",
        "not a prefix",
    );
    assert_refused(
        &neighbor0("import = \"0.0.0.0/0\""),
        "neighbor[0].import",
        "expected an array",
    );
    let c = Config::parse(&neighbor0("import = [\"0.0.0.0/0 le 32\"]"), "t").unwrap();
    assert!(
        c.neighbors[0]
            .import
            .accepts(&"192.0.2.0/24".parse().unwrap())
    );
}

#[test]
fn local_address_is_of_the_neighbor_family() {
    assert_refused(
        &neighbor0("local_address = \"2001:db8::2\""),
        "neighbor[0].local_address",
        "2001:db8::2 is IPv6 but the neighbor 192.168.10.1 is IPv4",
    );
    assert_refused(
        &neighbor0("local_address = \"x\""),
        "neighbor[0].local_address",
        "not an IPv4",
    );
}

#[test]
fn policies_name_declared_tenants_and_segments() {
    assert_refused(
        &base_with("from = \"blue/web\"", "from = \"red\""),
        "policy[0].from",
        "no tenant is named `red` (tenants: blue, green)",
    );
    assert_refused(
        &base_with("to = \"blue/db\"", "to = \"green/db\""),
        "policy[0].to",
        "tenant `green` has no segment `db` (its segments: web)",
    );
}

#[test]
fn unknown_keys_are_refused_in_every_table() {
    for (anchor, key) in [
        ("[host]\n", "host.colour"),
        ("[plan]\n", "plan.colour"),
        ("name = \"blue\"\n", "tenant[0].colour"),
        ("address = \"192.168.10.1\"\n", "neighbor[0].colour"),
        ("from = \"blue/web\"\n", "policy[0].colour"),
    ] {
        let text = base_with(anchor, &format!("{anchor}colour = 1\n"));
        assert_refused(&text, key, "unknown key `colour`");
    }
    assert_refused(
        &base_with(
            "{ name = \"db\", id = 2 }",
            "{ name = \"db\", id = 2, colour = 1 }",
        ),
        "tenant[0].segments[1].colour",
        "unknown key",
    );
    for table in ["api", "state", "isolation"] {
        let text = format!("{BASE}\n[{table}]\ncolour = 1\n");
        assert_refused(&text, &format!("{table}.colour"), "unknown key `colour`");
    }
    assert_refused(
        &format!("neighbours = []\n{BASE}"),
        "neighbours",
        "expected one of",
    );
}

#[test]
fn wrong_types_and_missing_keys_name_the_key() {
    assert_refused(
        &base_with("asn = 65001", "asn = \"65001\""),
        "host.asn",
        "invalid type",
    );
    assert_refused(
        &base_with("asn = 65001", "asn = -1"),
        "host.asn",
        "expected u32",
    );
    assert_refused(
        &neighbor0("passive = \"yes\""),
        "neighbor[0].passive",
        "expected a boolean",
    );
    assert_refused(&base_with("index = 1\n", ""), "host", "missing key `index`");
    assert_refused(
        &base_with("remote_as = 65000\n\n[[policy]]", "\n[[policy]]"),
        "neighbor[1]",
        "missing key `remote_as`",
    );
    assert_refused(
        &format!("{BASE}\n[isolation]\noutside = \"maybe\"\n"),
        "isolation.outside",
        "expected `allow` or `deny`",
    );
    let no_plan = &BASE[..BASE.find("[plan]").unwrap()];
    let (key, message) = error(no_plan);
    assert_eq!(key, "");
    assert_eq!(message, "/etc/romana-bgp/config.toml: missing key `plan`");
}

#[test]
fn paths_must_fit_their_use() {
    let long = format!("{BASE}\n[api]\nsocket = \"/run/{}\"\n", "s".repeat(103));
    assert_refused(&long, "api.socket", "at most 107");
    assert_refused(
        &format!("{BASE}\n[api]\nsocket = \"\"\n"),
        "api.socket",
        "empty",
    );
    assert_refused(
        &format!("{BASE}\n[state]\ndir = \"\"\n"),
        "state.dir",
        "empty",
    );
}

#[test]
fn errors_point_at_the_line() {
    let text = base_with("\"2001:db8::1\"", "\"192.168.10.1\"");
    let line = text
        .lines()
        .position(|l| l.contains("\"192.168.10.1\""))
        .unwrap();
    let second = text
        .lines()
        .skip(line + 1)
        .position(|l| l.contains("\"192.168.10.1\""))
        .unwrap();
    let e = Config::parse(&text, "c.toml").unwrap_err();
    let expected_line = line + 1 + second + 1;
    assert_eq!(e.position().map(|p| p.line), Some(expected_line));
    assert!(
        e.to_string()
            .starts_with(&format!("c.toml:{expected_line}:11: neighbor[1].address: "))
    );

    let e = Config::parse("[host]\nasn = \n", "c.toml").unwrap_err();
    assert!(matches!(e.kind(), ConfigErrorKind::Syntax { .. }), "{e:?}");
    assert!(e.to_string().starts_with("c.toml:2:"), "{e}");
    assert!(e.to_string().contains("not valid TOML"), "{e}");
}

#[test]
fn unreadable_file_names_the_path() {
    let path = fixture("no-such-file.toml");
    let e = Config::load(&path).unwrap_err();
    assert!(matches!(e.kind(), ConfigErrorKind::Read(_)));
    assert_eq!(e.origin(), path.display().to_string());
    assert!(
        e.to_string()
            .contains("no-such-file.toml: cannot read the configuration"),
        "{e}"
    );
}
