//! The two-hosts lab without romana-bgp: namespaces, links, addresses from
//! the `exec` lines, FRR on the leaf, vtysh, and that down removes it all.

mod common;

use std::fs;

use common::{CONVERGE, alive, check_hosts_match_routers, netns_exists, peers, ping};
use romana_lab::{Lab, Options, wait_for};

#[test]
fn up_exec_and_down() {
    let prefix = common::unique_prefix("two");
    let lab = Lab::up(
        common::topology("two-hosts.clab.yml"),
        &prefix,
        &Options::without_romana_bgp(),
    )
    .unwrap();

    for node in ["leaf1", "host1", "host2"] {
        assert!(netns_exists(&format!("{prefix}-{node}")), "{node}");
        assert_eq!(lab.netns(node), format!("{prefix}-{node}"));
    }
    let addr = lab
        .run("host1", &["ip", "-br", "addr", "show", "eth1"])
        .unwrap();
    assert!(addr.contains("192.168.11.1/31"), "{addr}");
    wait_for(CONVERGE, || ping(&lab, "host1", &["192.168.11.0"])).unwrap();

    // vtysh reaches this leaf's own bgpd, configured from its frr.conf.
    let summary = lab.vtysh("leaf1", "show bgp summary").unwrap();
    assert!(summary.contains("local AS number 65000"), "{summary}");
    let mut neighbors = peers(&lab, "leaf1").unwrap();
    neighbors.sort();
    let expected = [("192.168.11.1", 65001), ("192.168.11.3", 65002)];
    let got: Vec<_> = neighbors
        .iter()
        .map(|(a, asn, _)| (a.as_str(), *asn))
        .collect();
    assert_eq!(got, expected);
    check_hosts_match_routers(&lab);

    // The host configs are copied with socket and state in the node dir.
    let copy = fs::read_to_string(lab.host_config("host2")).unwrap();
    let dir = lab.node_dir("host2");
    assert!(copy.contains(&format!("socket = \"{}/romana-bgp.sock\"", dir.display())));
    assert!(copy.contains(&format!("dir = \"{}/state\"", dir.display())));
    assert_eq!(lab.api_socket("host2"), dir.join("romana-bgp.sock"));

    let frr_pids: Vec<u32> = ["zebra", "bgpd"]
        .iter()
        .map(|d| {
            let pid = fs::read_to_string(lab.node_dir("leaf1").join(format!("{d}.pid"))).unwrap();
            pid.trim().parse().unwrap()
        })
        .collect();
    assert!(frr_pids.iter().all(|&p| alive(p)));

    let lab_dir = lab.node_dir("leaf1").parent().unwrap().to_owned();
    lab.down().unwrap();
    for node in ["leaf1", "host1", "host2"] {
        assert!(!netns_exists(&format!("{prefix}-{node}")), "{node}");
    }
    assert!(frr_pids.iter().all(|&p| !alive(p)), "FRR survived down");
    assert!(!lab_dir.exists());
}

#[test]
fn exec_runs_in_the_node_and_reports_failure_as_output() {
    let prefix = common::unique_prefix("exec");
    let lab = Lab::up(
        common::topology("two-hosts.clab.yml"),
        &prefix,
        &Options::without_romana_bgp(),
    )
    .unwrap();
    let ns = lab.run("host2", &["ip", "netns", "identify"]).unwrap();
    assert_eq!(ns.trim(), format!("{prefix}-host2"));
    let failed = lab.exec("host1", &["sh", "-c", "exit 3"]).unwrap();
    assert_eq!(failed.status.code(), Some(3));
    assert!(lab.run("host1", &["false"]).is_err());
    assert!(lab.exec("nosuchnode", &["true"]).is_err());
    let empty: [&str; 0] = [];
    assert!(lab.exec("host1", &empty).is_err());
    // vtysh is only for router nodes.
    assert!(lab.vtysh("host1", "show version").is_err());
}
