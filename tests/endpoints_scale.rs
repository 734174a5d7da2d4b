//! The isolation table does not grow rules with endpoints: host1 of the
//! two-hosts lab with 10 and then 1,000 VM endpoints (taps made in its
//! namespace, spread over the four segments of the lab's config) has the
//! same rules and chains; only the sets hold more. Needs root and FRR.

mod common;

use std::fs;
use std::time::Instant;

use common::{LAB_SEGMENTS, endpoint_list, in_parallel, isolation_table, rules_and_elements, up};
use romana_bgp::api::client::Client;
use romana_bgp::api::protocol::EndpointAdd;
use romana_lab::Lab;
use serde_json::Value;

const HOST: &str = "host1";

fn tap(i: usize) -> String {
    format!("vm{i}")
}

/// Adds the VM endpoints on taps `range` concurrently, through the
/// library's client, as many CNI or Nova calls would.
fn add_vms(lab: &Lab, range: std::ops::Range<usize>) {
    let socket = lab.api_socket(HOST);
    let items: Vec<usize> = range.collect();
    let results = in_parallel(&items, 32, |&i| {
        let (tenant, segment) = LAB_SEGMENTS[i % LAB_SEGMENTS.len()];
        Client::connect(&socket)
            .and_then(|mut c| {
                c.endpoint_add(EndpointAdd {
                    name: Some(tap(i)),
                    tenant: tenant.to_owned(),
                    segment: segment.to_owned(),
                    netns: None,
                    iface: Some(tap(i)),
                })
            })
            .map_err(|e| format!("{}: {e}", tap(i)))
    });
    let failed: Vec<String> = results.into_iter().filter_map(Result::err).collect();
    assert!(failed.is_empty(), "{failed:#?}");
}

/// Rules, chains, and the elements of the two endpoint sets.
fn counts(lab: &Lab) -> (usize, usize, usize, usize) {
    let table = isolation_table(lab, HOST).unwrap().expect("the table");
    let (rules, interfaces) = rules_and_elements(&table, "endpoint_interfaces");
    let (_, sources) = rules_and_elements(&table, "endpoint_sources");
    let chains = table
        .iter()
        .filter(|o: &&Value| o.get("chain").is_some())
        .count();
    (rules, chains, interfaces, sources)
}

#[test]
fn a_thousand_endpoints_have_the_rules_of_ten() {
    let lab = up("two-hosts", "escale");
    let batch = lab.node_dir(HOST).join("taps.batch");
    let lines: String = (0..1000)
        .map(|i| format!("tuntap add {} mode tap\n", tap(i)))
        .collect();
    fs::write(&batch, lines).unwrap();
    lab.run(HOST, &["ip", "-batch", batch.to_str().unwrap()])
        .unwrap();

    add_vms(&lab, 0..10);
    let (rules, chains, interfaces, sources) = counts(&lab);
    assert_eq!((interfaces, sources), (10, 10));
    assert!(rules > 0 && chains > 0);

    let start = Instant::now();
    add_vms(&lab, 10..1000);
    eprintln!(
        "990 VM endpoints added in {:.2} s; {rules} rules in {chains} chains",
        start.elapsed().as_secs_f64()
    );
    assert_eq!(endpoint_list(&lab, HOST).unwrap().len(), 1000);
    let at_1000 = counts(&lab);
    assert_eq!(
        at_1000,
        (rules, chains, 1000, 1000),
        "rules, chains, set elements"
    );
}
