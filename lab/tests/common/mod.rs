//! Helpers shared by the runner's integration tests. They need root (they
//! create network namespaces) and FRR from Debian (scripts/install-deps.sh).

#![allow(dead_code)] // each test binary uses its own part of this module

use std::path::{Path, PathBuf};
use std::time::Duration;

use romana_lab::{Lab, Role, wait_for};
use serde_json::Value;

/// Long enough for FRR sessions with connect-retry 5 s on a busy machine.
pub const CONVERGE: Duration = Duration::from_secs(60);

pub fn topology(file: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(file)
}

/// A lab prefix no other test, run or person uses at the same time.
pub fn unique_prefix(tag: &str) -> String {
    format!("rl{}-{tag}", std::process::id())
}

pub fn netns_exists(ns: &str) -> bool {
    Path::new("/run/netns").join(ns).exists()
}

pub fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| s.rsplit_once(')').map(|(_, r)| r.trim_start().to_owned()))
        .is_some_and(|rest| !rest.starts_with('Z'))
}

/// `show bgp summary json` of a router node, parsed.
pub fn bgp_summary(lab: &Lab, router: &str) -> Result<Value, String> {
    let text = lab
        .vtysh(router, "show bgp summary json")
        .map_err(|e| e.to_string())?;
    serde_json::from_str(&text).map_err(|e| format!("{router}: {e}: {text}"))
}

/// The router's IPv4 unicast peers: address -> (remote AS, state).
pub fn peers(lab: &Lab, router: &str) -> Result<Vec<(String, u64, String)>, String> {
    let summary = bgp_summary(lab, router)?;
    let peers = summary["ipv4Unicast"]["peers"]
        .as_object()
        .ok_or_else(|| format!("{router}: no peers in {summary}"))?;
    Ok(peers
        .iter()
        .map(|(addr, p)| {
            (
                addr.clone(),
                p["remoteAs"].as_u64().unwrap_or_default(),
                p["state"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect())
}

/// Waits until every BGP session between two router nodes is Established.
pub fn wait_router_sessions(lab: &Lab) {
    let routers: Vec<String> = lab
        .topology()
        .nodes()
        .filter(|n| n.role == Role::Router)
        .map(|n| n.name.clone())
        .collect();
    let router_as: Vec<u64> = routers
        .iter()
        .map(|r| {
            bgp_summary(lab, r).unwrap()["ipv4Unicast"]["as"]
                .as_u64()
                .unwrap()
        })
        .collect();
    for router in &routers {
        let result = wait_for(CONVERGE, || {
            let down: Vec<_> = peers(lab, router)?
                .into_iter()
                .filter(|(_, asn, state)| router_as.contains(asn) && state != "Established")
                .collect();
            if down.is_empty() {
                Ok(())
            } else {
                Err(format!("{router}: sessions not up: {down:?}"))
            }
        });
        result.unwrap();
    }
}

pub fn ping(lab: &Lab, node: &str, args: &[&str]) -> Result<(), String> {
    let mut cmd = vec!["ping", "-c", "1", "-W", "1"];
    cmd.extend(args);
    let out = lab.exec(node, &cmd).map_err(|e| e.to_string())?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{node}: {cmd:?}: {}",
            String::from_utf8_lossy(&out.stdout)
        ))
    }
}

/// The host configs and the router configs agree: for every `[[neighbor]]`
/// of every host node, the address answers a ping over the link and the
/// router with that AS has the host as a peer with the host's AS.
pub fn check_hosts_match_routers(lab: &Lab) {
    let routers: Vec<(String, u64)> = lab
        .topology()
        .nodes()
        .filter(|n| n.role == Role::Router)
        .map(|n| {
            let asn = bgp_summary(lab, &n.name).unwrap()["ipv4Unicast"]["as"]
                .as_u64()
                .unwrap();
            (n.name.clone(), asn)
        })
        .collect();
    let hosts: Vec<_> = lab
        .topology()
        .nodes()
        .filter(|n| n.role == Role::Host)
        .collect();
    assert!(!hosts.is_empty());
    for host in hosts {
        let config: toml::Table = std::fs::read_to_string(lab.host_config(&host.name))
            .unwrap()
            .parse()
            .unwrap();
        let host_as = config["host"]["asn"].as_integer().unwrap() as u64;
        let neighbors = config["neighbor"].as_array().unwrap();
        assert!(!neighbors.is_empty(), "{}: no [[neighbor]]", host.name);
        for neighbor in neighbors {
            let address = neighbor["address"].as_str().unwrap();
            let remote_as = neighbor["remote_as"].as_integer().unwrap() as u64;
            wait_for(CONVERGE, || ping(lab, &host.name, &[address])).unwrap();
            let (router, _) = routers
                .iter()
                .find(|(_, asn)| *asn == remote_as)
                .unwrap_or_else(|| panic!("{}: no router with AS {remote_as}", host.name));
            let addresses = lab.run(router, &["ip", "-br", "addr"]).unwrap();
            assert!(
                addresses.contains(&format!(" {address}/")),
                "{}: neighbor {address} is not an address of {router}: {addresses}",
                host.name
            );
            let known = peers(lab, router).unwrap();
            assert!(
                known.iter().any(|(_, asn, _)| *asn == host_as),
                "{router} has no peer with {}'s AS {host_as}: {known:?}",
                host.name
            );
        }
    }
}

/// Waits until `ip netns pids` lists the process in the namespace.
pub fn wait_until_in_netns(pid: u32, ns: &str) -> bool {
    romana_lab::wait_until(Duration::from_secs(5), || {
        std::process::Command::new("ip")
            .args(["netns", "pids", ns])
            .output()
            .map(|o| {
                String::from_utf8_lossy(&o.stdout)
                    .split_whitespace()
                    .any(|p| p == pid.to_string())
            })
            .unwrap_or(false)
    })
}
