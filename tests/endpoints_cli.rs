//! `romana-bgp endpoint add | del | list` and `show endpoints` through the
//! real CLI on host1 of the two-hosts lab: bad input gets a clear error and
//! changes nothing (not the daemon's list, the state on disk, the links,
//! the routes or the table), an add with a name that exists gives back that
//! endpoint, and a delete gives its address back. Needs root and FRR.

mod common;

use std::fs;

use common::{
    Containers, add_container, endpoint_add, endpoint_list, endpoint_routes, isolation_table,
    rb_links, romana, show_text, table_content, up,
};
use romana_lab::Lab;
use serde_json::Value;

const HOST: &str = "host1";

/// Everything an add or a delete could change on the host.
struct Everything {
    list: Vec<romana_bgp::api::protocol::EndpointView>,
    state: Vec<(String, Vec<u8>)>,
    veths: Vec<String>,
    routes: Vec<(String, String)>,
    table: Vec<Value>,
}

fn everything(lab: &Lab) -> Everything {
    let dir = lab.node_dir(HOST).join("state");
    let mut state: Vec<(String, Vec<u8>)> = fs::read_dir(&dir)
        .unwrap()
        .map(|f| {
            let f = f.unwrap();
            (
                f.file_name().to_string_lossy().into_owned(),
                fs::read(f.path()).unwrap(),
            )
        })
        .collect();
    state.sort();
    let table = isolation_table(lab, HOST)
        .unwrap()
        .expect("the table is there");
    Everything {
        list: endpoint_list(lab, HOST).unwrap(),
        state,
        veths: rb_links(lab, HOST).unwrap().into_keys().collect(),
        routes: endpoint_routes(lab, HOST).unwrap().into_iter().collect(),
        table: table_content(&table),
    }
}

/// Fails naming the part that differs, not with two screens of JSON.
fn assert_unchanged(before: &Everything, after: &Everything, what: &str) {
    assert_eq!(after.list, before.list, "{what}: endpoint list");
    assert!(
        after.state == before.state,
        "{what}: the state on disk changed"
    );
    assert_eq!(after.veths, before.veths, "{what}: veths");
    assert_eq!(after.routes, before.routes, "{what}: endpoint routes");
    assert!(
        after.table == before.table,
        "{what}: the isolation table changed"
    );
}

/// Runs `endpoint add ARGS` and requires exit status `code` and every
/// piece of `wanted` on stderr; returns stderr.
fn refused(lab: &Lab, args: &[&str], code: i32, wanted: &[&str]) -> String {
    let mut argv = vec!["endpoint", "add"];
    argv.extend_from_slice(args);
    let out = romana(lab, HOST, &argv);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(
        out.status.code(),
        Some(code),
        "{args:?}: {}\nstdout: {}\nstderr: {stderr}",
        out.status,
        String::from_utf8_lossy(&out.stdout)
    );
    for piece in wanted {
        assert!(
            stderr.contains(piece),
            "{args:?}: `{piece}` not in: {stderr}"
        );
    }
    stderr
}

#[test]
fn bad_input_is_refused_clearly_and_changes_nothing() {
    let lab = up("two-hosts", "ecli");
    let mut containers = Containers::new();
    let c1 = containers.add(&format!("{}-c1", lab.prefix()));
    let c2 = containers.add(&format!("{}-c2", lab.prefix()));
    let missing = format!("{}-none", lab.prefix());
    add_container(&lab, HOST, ("blue", "web"), &c1);
    lab.run(HOST, &["ip", "tuntap", "add", "vm0", "mode", "tap"])
        .unwrap();
    endpoint_add(
        &lab,
        HOST,
        &[
            "--tenant",
            "blue",
            "--segment",
            "web",
            "--iface",
            "vm0",
            "--name",
            "vm0",
        ],
    )
    .unwrap();
    let before = everything(&lab);
    assert_eq!(before.list.len(), 2);

    // Refused by the daemon: exit status 1, one line saying what is wrong
    // and what is there instead.
    let cases: [(&[&str], &[&str]); 9] = [
        (
            &["--tenant", "green", "--segment", "web", "--netns", &c2],
            &["no tenant \"green\"", "blue, red"],
        ),
        (
            &["--tenant", "blue", "--segment", "app", "--netns", &c2],
            &["no segment \"app\"", "web, db"],
        ),
        (
            &["--tenant", "blue", "--segment", "web", "--netns", &missing],
            &["cannot open network namespace", &missing],
        ),
        (
            &["--tenant", "blue", "--segment", "web", "--iface", "vmnone"],
            &["no interface named \"vmnone\"", "must exist"],
        ),
        (
            &[
                "--tenant",
                "blue",
                "--segment",
                "web",
                "--iface",
                "vm0",
                "--name",
                "vm0b",
            ],
            &["\"vm0\"", "already endpoint \"vm0\"'s"],
        ),
        (
            &[
                "--tenant",
                "blue",
                "--segment",
                "web",
                "--netns",
                &c1,
                "--name",
                "c1b",
            ],
            &["already holds endpoint"],
        ),
        (
            &[
                "--tenant",
                "red",
                "--segment",
                "web",
                "--netns",
                &c2,
                "--name",
                &c1,
            ],
            &["already exists in blue/web", "choose another name"],
        ),
        (
            &[
                "--tenant",
                "blue",
                "--segment",
                "db",
                "--iface",
                "vm0",
                "--name",
                "vm0",
            ],
            &["already exists in blue/web"],
        ),
        (
            &[
                "--tenant",
                "blue",
                "--segment",
                "web",
                "--netns",
                &c2,
                "--name",
                "10.1.17.9",
            ],
            &["10.1.17.9"],
        ),
    ];
    for (args, wanted) in cases {
        let stderr = refused(&lab, args, 1, wanted);
        assert_eq!(stderr.trim().lines().count(), 1, "{args:?}: {stderr}");
        assert_unchanged(&before, &everything(&lab), &format!("{args:?}"));
    }
    // Refused by the CLI before it asks: exactly one of --netns, --iface.
    for args in [
        [
            "--tenant",
            "blue",
            "--segment",
            "web",
            "--netns",
            &c2,
            "--iface",
            "vm0",
        ]
        .as_slice(),
        &["--tenant", "blue", "--segment", "web"],
    ] {
        refused(&lab, args, 2, &["--netns", "--iface"]);
        assert_unchanged(&before, &everything(&lab), &format!("{args:?}"));
    }
    assert!(container_untouched(&c2), "{c2} was wired");

    // A namespace with an eth0 of its own is found out only by the wiring,
    // after the address was written and put in the isolation table's sets:
    // the address is given back and leaves the sets again.
    let c3 = containers.add(&format!("{}-c3", lab.prefix()));
    common::ip(&[
        "-n", &c3, "link", "add", "eth0", "type", "veth", "peer", "name", "other",
    ])
    .unwrap();
    refused(
        &lab,
        &["--tenant", "blue", "--segment", "web", "--netns", &c3],
        1,
        &["already has an interface named eth0"],
    );
    let after = everything(&lab);
    assert_eq!(after.list, before.list, "endpoint list");
    assert_eq!(after.veths, before.veths, "veths");
    assert_eq!(after.routes, before.routes, "endpoint routes");
    for set in ["endpoint_interfaces", "endpoint_sources"] {
        assert_eq!(
            set_elements(&after.table, set),
            set_elements(&before.table, set),
            "{set}"
        );
    }
}

/// The elements of a set of the listed table, in a stable order.
fn set_elements(table: &[Value], name: &str) -> Vec<String> {
    let mut elements: Vec<String> = table
        .iter()
        .filter_map(|o| o.get("set"))
        .filter(|set| set["name"] == name)
        .flat_map(|set| set["elem"].as_array().cloned().unwrap_or_default())
        .map(|e| e.to_string())
        .collect();
    elements.sort();
    elements
}

/// A namespace the daemon never wired has no eth0.
fn container_untouched(netns: &str) -> bool {
    common::ip(&["-n", netns, "-o", "link", "show", "eth0"]).is_err()
}

#[test]
fn add_again_gives_the_endpoint_back_and_del_frees_its_address() {
    let lab = up("two-hosts", "eidem");
    let mut containers = Containers::new();
    let c1 = containers.add(&format!("{}-c1", lab.prefix()));
    let c2 = containers.add(&format!("{}-c2", lab.prefix()));
    let args = [
        "--tenant",
        "blue",
        "--segment",
        "web",
        "--netns",
        &c1,
        "--name",
        "web-1",
    ];
    let first = endpoint_add(&lab, HOST, &args).unwrap();
    assert_eq!(first.name, "web-1");
    assert_eq!(
        (first.tenant.as_str(), first.segment.as_str()),
        ("blue", "web")
    );
    // Host 1, tenant 1, segment 1, the lowest endpoint id: 10.1.0x11.1.
    assert_eq!(first.address.to_string(), "10.1.17.1");
    assert_eq!(first.gateway.to_string(), "10.1.0.1");
    assert_eq!(first.interface, "rb0a011101");
    assert_eq!(
        first.netns.as_deref(),
        Some(format!("/run/netns/{c1}").as_str())
    );
    assert!(first.wired);
    let before = everything(&lab);

    // A CNI ADD retried: the same endpoint, nothing new.
    let again = endpoint_add(&lab, HOST, &args).unwrap();
    assert_eq!(again, first);
    assert_unchanged(&before, &everything(&lab), "add again");

    let text = show_text(&lab, HOST, &["endpoints"]).unwrap();
    let header = text.lines().next().unwrap_or_default();
    for column in ["Name", "Tenant", "Segment", "Address", "Interface", "Wired"] {
        assert!(header.contains(column), "{column} missing: {text}");
    }
    assert!(
        text.lines()
            .any(|l| l.starts_with("web-1") && l.contains("10.1.17.1") && l.ends_with("yes")),
        "{text}"
    );

    let del = |name: &str| {
        let out = romana(&lab, HOST, &["endpoint", "del", name, "-o", "json"]);
        assert!(out.status.success(), "del {name}: {out:?}");
        let reply: Value = serde_json::from_slice(&out.stdout).unwrap();
        reply["existed"].as_bool().unwrap()
    };
    assert!(del("web-1"));
    assert!(!del("web-1"), "a second delete finds nothing, and succeeds");
    assert!(endpoint_list(&lab, HOST).unwrap().is_empty());
    assert!(rb_links(&lab, HOST).unwrap().is_empty());
    assert!(endpoint_routes(&lab, HOST).unwrap().is_empty());
    assert!(container_untouched(&c1), "{c1} still has eth0");

    // The lowest free id again: the address web-1 had.
    let next = add_container(&lab, HOST, ("blue", "web"), &c2);
    assert_eq!(next.address, first.address);
}
