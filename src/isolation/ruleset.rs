//! The table built from the state, and the nft script that puts it in place
//! of the live one in a single transaction.

use std::collections::BTreeSet;
use std::fmt::{self, Write as _};
use std::net::Ipv4Addr;

use ipnet::Ipv4Net;

use super::{InterfaceName, IsolationEndpoint, IsolationInput};
use crate::config::{EndpointGroup, Outside, Tenant};
use crate::plan::Plan;

pub const TABLE_FAMILY: &str = "inet";
pub const TABLE_NAME: &str = "romana";

/// Set of every endpoint interface on this host (`ifname`).
pub(super) const INTERFACES: &str = "endpoint_interfaces";
/// Set of `ifname . ipv4_addr`: each endpoint interface with its address.
pub(super) const SOURCES: &str = "endpoint_sources";
/// Map `tenant+segment bits of saddr . of daddr : accept`.
pub(super) const ALLOWED: &str = "allowed";

const TO_HOST: &str = "endpoint_to_host";
const TO_ENDPOINT: &str = "to_endpoint";
const BETWEEN: &str = "between_endpoints";

const COMMENT: &str =
    "owned by romana-bgp and replaced whole from its state: edits here are undone";

/// Deletes the table whether or not it is there: declaring it first makes
/// a missing one, so the delete never fails. The start of every script, and
/// the whole of [`super::remove`]'s.
pub(super) const DROP_TABLE: &str = "table inet romana {}\ndelete table inet romana\n";

/// Where a base chain hooks into netfilter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Hook {
    pub name: &'static str,
    /// nft's name for the priority, as written in the script.
    pub priority: &'static str,
    /// The same priority as a number, as `nft -j` lists it.
    pub prio: i64,
}

const PREROUTING: Hook = Hook {
    name: "prerouting",
    priority: "raw",
    prio: -300,
};
const INPUT: Hook = Hook {
    name: "input",
    priority: "filter",
    prio: 0,
};
const FORWARD: Hook = Hook {
    name: "forward",
    priority: "filter",
    prio: 0,
};

#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Chain {
    pub name: &'static str,
    /// `None` for a chain reached only by `jump`. Base chains accept what
    /// they do not drop: the table filters endpoints, not the host.
    pub hook: Option<Hook>,
    pub rules: Vec<Rule>,
}

/// A rule and what it is for. The comment shows in `nft list`, and also
/// marks the rule as the daemon's: a rule replaced or inserted by hand has
/// another comment or none, which [`super::check`] sees.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Rule {
    pub statement: String,
    pub comment: String,
}

impl Rule {
    fn new(statement: impl Into<String>, comment: impl Into<String>) -> Rule {
        Rule {
            statement: statement.into(),
            comment: comment.into(),
        }
    }
}

/// The whole table, ready to be written as a script or compared with the
/// live one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ruleset {
    cidr: Ipv4Net,
    mask: Ipv4Addr,
    outside: Outside,
    interfaces: BTreeSet<InterfaceName>,
    sources: BTreeSet<(InterfaceName, Ipv4Addr)>,
    /// Pairs of `address & mask` (initiator, responder).
    allowed: BTreeSet<(Ipv4Addr, Ipv4Addr)>,
}

/// The nft script that replaces the live table with the one `input` calls
/// for.
pub fn render(input: &IsolationInput<'_>) -> String {
    Ruleset::new(input).script()
}

impl Ruleset {
    pub fn new(input: &IsolationInput<'_>) -> Ruleset {
        let plan = input.plan;
        let mut allowed = BTreeSet::new();
        for tenant in input.tenants {
            for segment in &tenant.segments {
                let key = plan.tenant_segment_key(tenant.id, segment.id);
                allowed.insert((key, key));
            }
        }
        for policy in input.policies {
            let to = group_keys(policy.to, plan, input.tenants);
            for from in group_keys(policy.from, plan, input.tenants) {
                allowed.extend(to.iter().map(|&to| (from, to)));
            }
        }
        Ruleset {
            cidr: plan.cidr(),
            mask: plan.tenant_segment_mask(),
            outside: input.outside,
            interfaces: input
                .endpoints
                .iter()
                .map(|e| e.interface.clone())
                .collect(),
            sources: input
                .endpoints
                .iter()
                .map(|e| (e.interface.clone(), e.address))
                .collect(),
            allowed,
        }
    }

    /// The nft script: the table dropped and made again, in one transaction,
    /// so packets meet either the old table or the new one, and a script nft
    /// refuses leaves the old one in place.
    pub fn script(&self) -> String {
        let mut out = String::with_capacity(2048 + 48 * self.sources.len());
        out.push_str(DROP_TABLE);
        // Writing into a String cannot fail.
        let _ = self.write_table(&mut out);
        out
    }

    /// Whether `endpoint` is in the endpoint sets.
    pub fn contains(&self, endpoint: &IsolationEndpoint) -> bool {
        self.sources
            .contains(&(endpoint.interface.clone(), endpoint.address))
    }

    /// Puts `endpoint` into the endpoint sets, as a set-element change the
    /// live table got; the rules do not change.
    pub fn insert(&mut self, endpoint: &IsolationEndpoint) {
        self.interfaces.insert(endpoint.interface.clone());
        self.sources
            .insert((endpoint.interface.clone(), endpoint.address));
    }

    /// Takes `endpoint` out of the endpoint sets.
    pub fn remove(&mut self, endpoint: &IsolationEndpoint) {
        self.interfaces.remove(&endpoint.interface);
        self.sources
            .remove(&(endpoint.interface.clone(), endpoint.address));
    }

    pub(super) fn interfaces(&self) -> impl Iterator<Item = &InterfaceName> {
        self.interfaces.iter()
    }

    pub(super) fn sources(&self) -> impl Iterator<Item = &(InterfaceName, Ipv4Addr)> {
        self.sources.iter()
    }

    pub(super) fn allowed(&self) -> impl Iterator<Item = &(Ipv4Addr, Ipv4Addr)> {
        self.allowed.iter()
    }

    /// Every chain with its rules. None of them depends on the endpoints:
    /// those are only in the sets.
    pub(super) fn chains(&self) -> Vec<Chain> {
        let (cidr, mask) = (self.cidr, self.mask);
        let outside = match self.outside {
            Outside::Allow => "accept",
            Outside::Deny => "drop",
        };
        vec![
            Chain {
                name: "prerouting",
                hook: Some(PREROUTING),
                rules: vec![
                    Rule::new(
                        format!("iifname @{INTERFACES} meta nfproto ipv6 drop"),
                        "endpoints are IPv4 only",
                    ),
                    Rule::new(
                        format!("iifname @{INTERFACES} iifname . ip saddr != @{SOURCES} drop"),
                        "an endpoint sends from its own address only",
                    ),
                ],
            },
            Chain {
                name: "input",
                hook: Some(INPUT),
                rules: vec![Rule::new(
                    format!("iifname @{INTERFACES} jump {TO_HOST}"),
                    "from an endpoint to this host",
                )],
            },
            Chain {
                name: TO_HOST,
                hook: None,
                rules: vec![
                    Rule::new("ct state established,related accept", "replies"),
                    Rule::new("meta l4proto icmp accept", "ICMP"),
                    Rule::new("drop", "nothing else"),
                ],
            },
            Chain {
                name: "forward",
                hook: Some(FORWARD),
                rules: vec![
                    Rule::new("ct state established,related accept", "replies"),
                    Rule::new(
                        format!("oifname @{INTERFACES} jump {TO_ENDPOINT}"),
                        "to an endpoint of this host",
                    ),
                    Rule::new(
                        format!("iifname @{INTERFACES} ip daddr {cidr} jump {BETWEEN}"),
                        "from an endpoint to another host of the plan",
                    ),
                ],
            },
            Chain {
                name: TO_ENDPOINT,
                hook: None,
                rules: vec![
                    // Before the map: an address outside the plan can have
                    // the same bits under the mask as a segment.
                    Rule::new(
                        format!("ip saddr != {cidr} {outside}"),
                        format!("from outside the plan: {outside} (isolation.outside)"),
                    ),
                    Rule::new(format!("jump {BETWEEN}"), "from inside the plan"),
                ],
            },
            Chain {
                name: BETWEEN,
                hook: None,
                rules: vec![
                    Rule::new(
                        format!("ip saddr & {mask} . ip daddr & {mask} vmap @{ALLOWED}"),
                        format!("tenant and segment ({mask}) of source and destination"),
                    ),
                    Rule::new("drop", "no policy allows this pair"),
                ],
            },
        ]
    }

    fn write_table(&self, out: &mut String) -> fmt::Result {
        writeln!(out, "table {TABLE_FAMILY} {TABLE_NAME} {{")?;
        writeln!(out, "\tcomment \"{COMMENT}\"")?;
        write_set(
            out,
            "set",
            INTERFACES,
            "ifname",
            self.interfaces.iter().map(|i| format!("\"{i}\"")),
        )?;
        write_set(
            out,
            "set",
            SOURCES,
            "ifname . ipv4_addr",
            self.sources.iter().map(|(i, a)| format!("\"{i}\" . {a}")),
        )?;
        write_set(
            out,
            "map",
            ALLOWED,
            "ipv4_addr . ipv4_addr : verdict",
            self.allowed
                .iter()
                .map(|(s, d)| format!("{s} . {d} : accept")),
        )?;
        for chain in self.chains() {
            writeln!(out, "\n\tchain {} {{", chain.name)?;
            if let Some(hook) = chain.hook {
                writeln!(
                    out,
                    "\t\ttype filter hook {} priority {}; policy accept;",
                    hook.name, hook.priority
                )?;
            }
            for rule in &chain.rules {
                writeln!(out, "\t\t{} comment \"{}\"", rule.statement, rule.comment)?;
            }
            writeln!(out, "\t}}")?;
        }
        writeln!(out, "}}")
    }
}

/// A named set or map, one element a line; an empty one has no `elements`
/// line, which nft would refuse.
fn write_set(
    out: &mut String,
    kind: &str,
    name: &str,
    type_: &str,
    elements: impl Iterator<Item = String>,
) -> fmt::Result {
    writeln!(out, "\n\t{kind} {name} {{")?;
    writeln!(out, "\t\ttype {type_}")?;
    let mut elements = elements.peekable();
    if elements.peek().is_some() {
        writeln!(out, "\t\telements = {{")?;
        while let Some(element) = elements.next() {
            let comma = if elements.peek().is_some() { "," } else { "" };
            writeln!(out, "\t\t\t{element}{comma}")?;
        }
        writeln!(out, "\t\t}}")?;
    }
    writeln!(out, "\t}}")
}

/// The `address & mask` values of a policy's side: a segment is one, a
/// tenant every segment the config gives it.
fn group_keys(group: EndpointGroup, plan: &Plan, tenants: &[Tenant]) -> Vec<Ipv4Addr> {
    match group {
        EndpointGroup::Segment(tenant, segment) => {
            vec![plan.tenant_segment_key(tenant, segment)]
        }
        EndpointGroup::Tenant(id) => tenants
            .iter()
            .filter(|t| t.id == id)
            .flat_map(|t| t.segments.iter())
            .map(|s| plan.tenant_segment_key(id, s.id))
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::isolation::IsolationEndpoint;
    use crate::isolation::fixtures::{Small, endpoint};

    /// `count` endpoints on host 1 from 10.1.17.1 up, named like the veths.
    fn endpoints(count: u16) -> Vec<IsolationEndpoint> {
        (0..count)
            .map(|i| {
                let address = Ipv4Addr::from(0x0a01_1101 + u32::from(i));
                endpoint(address, &format!("rb{:08x}", u32::from(address)))
            })
            .collect()
    }

    const EXPECTED: &str = r#"table inet romana {}
delete table inet romana
table inet romana {
	comment "owned by romana-bgp and replaced whole from its state: edits here are undone"

	set endpoint_interfaces {
		type ifname
		elements = {
			"rb0a011105",
			"vnet0"
		}
	}

	set endpoint_sources {
		type ifname . ipv4_addr
		elements = {
			"rb0a011105" . 10.1.17.5,
			"vnet0" . 10.1.18.6
		}
	}

	map allowed {
		type ipv4_addr . ipv4_addr : verdict
		elements = {
			0.0.17.0 . 0.0.17.0 : accept,
			0.0.17.0 . 0.0.18.0 : accept,
			0.0.18.0 . 0.0.18.0 : accept,
			0.0.33.0 . 0.0.17.0 : accept,
			0.0.33.0 . 0.0.33.0 : accept
		}
	}

	chain prerouting {
		type filter hook prerouting priority raw; policy accept;
		iifname @endpoint_interfaces meta nfproto ipv6 drop comment "endpoints are IPv4 only"
		iifname @endpoint_interfaces iifname . ip saddr != @endpoint_sources drop comment "an endpoint sends from its own address only"
	}

	chain input {
		type filter hook input priority filter; policy accept;
		iifname @endpoint_interfaces jump endpoint_to_host comment "from an endpoint to this host"
	}

	chain endpoint_to_host {
		ct state established,related accept comment "replies"
		meta l4proto icmp accept comment "ICMP"
		drop comment "nothing else"
	}

	chain forward {
		type filter hook forward priority filter; policy accept;
		ct state established,related accept comment "replies"
		oifname @endpoint_interfaces jump to_endpoint comment "to an endpoint of this host"
		iifname @endpoint_interfaces ip daddr 10.0.0.0/8 jump between_endpoints comment "from an endpoint to another host of the plan"
	}

	chain to_endpoint {
		ip saddr != 10.0.0.0/8 accept comment "from outside the plan: accept (isolation.outside)"
		jump between_endpoints comment "from inside the plan"
	}

	chain between_endpoints {
		ip saddr & 0.0.255.0 . ip daddr & 0.0.255.0 vmap @allowed comment "tenant and segment (0.0.255.0) of source and destination"
		drop comment "no policy allows this pair"
	}
}
"#;

    #[test]
    fn small_table_renders_exactly() {
        let mut small = Small::new();
        // Endpoints come in any order, and one twice: the script is the same.
        small
            .endpoints
            .push(endpoint(Ipv4Addr::new(10, 1, 18, 6), "vnet0"));
        assert_eq!(render(&small.input(Outside::Allow)), EXPECTED);
    }

    #[test]
    fn set_changes_give_the_table_rendered_with_the_endpoints() {
        let small = Small::new();
        let full = Ruleset::new(&small.input(Outside::Allow));
        let mut fewer = small;
        let last = fewer.endpoints.pop().unwrap();
        let mut grown = Ruleset::new(&fewer.input(Outside::Allow));
        assert!(!grown.contains(&last));
        grown.insert(&last);
        assert!(grown.contains(&last));
        assert_eq!(grown, full);
        grown.remove(&last);
        assert_eq!(grown, Ruleset::new(&fewer.input(Outside::Allow)));
    }

    #[test]
    fn outside_deny_drops_sources_outside_the_plan() {
        let script = render(&Small::new().input(Outside::Deny));
        let allow = "\t\tip saddr != 10.0.0.0/8 accept comment \"from outside the plan: accept (isolation.outside)\"\n";
        let deny = allow.replace("accept", "drop");
        assert_eq!(script, EXPECTED.replace(allow, &deny));
    }

    #[test]
    fn empty_sets_have_no_elements_line() {
        let mut small = Small::new();
        small.tenants.clear();
        small.policies.clear();
        small.endpoints.clear();
        let script = render(&small.input(Outside::Allow));
        assert!(!script.contains("elements"));
        assert!(
            script.contains("\tmap allowed {\n\t\ttype ipv4_addr . ipv4_addr : verdict\n\t}\n")
        );
    }

    #[test]
    fn policy_is_one_way_and_tenant_means_its_configured_segments() {
        let small = Small::new();
        let plan = &small.plan;
        let ruleset = Ruleset::new(&small.input(Outside::Allow));
        let allowed: Vec<(Ipv4Addr, Ipv4Addr)> = ruleset.allowed().copied().collect();
        let key =
            |t, s| plan.tenant_segment_key(plan.tenant_id(t).unwrap(), plan.segment_id(s).unwrap());
        assert!(allowed.contains(&(key(1, 1), key(1, 2))));
        assert!(
            !allowed.contains(&(key(1, 2), key(1, 1))),
            "replies need no entry"
        );
        assert!(allowed.contains(&(key(2, 1), key(1, 1))));
        assert!(!allowed.contains(&(key(1, 1), key(2, 1))));
        // red has no segment 2 in the config, so the tenant does not stand for it.
        assert!(!allowed.contains(&(key(2, 2), key(1, 1))));
        assert!(!allowed.contains(&(key(1, 1), key(2, 2))));
        assert_eq!(allowed.len(), 5);
    }

    /// Lines inside chains that are rules (not the base chain's hook line).
    fn rule_count(script: &str) -> usize {
        let mut in_chain = false;
        let mut rules = 0;
        for line in script.lines() {
            let line = line.trim();
            if line.starts_with("chain ") {
                in_chain = true;
            } else if line == "}" {
                in_chain = false;
            } else if in_chain && !line.starts_with("type filter hook") {
                rules += 1;
            }
        }
        rules
    }

    proptest::proptest! {
        #[test]
        fn rule_count_does_not_depend_on_endpoints(count in 0u16..3000) {
            let mut small = Small::new();
            small.endpoints = endpoints(count);
            let many = render(&small.input(Outside::Allow));
            small.endpoints.clear();
            let none = render(&small.input(Outside::Allow));
            proptest::prop_assert_eq!(rule_count(&many), 13);
            proptest::prop_assert_eq!(rule_count(&none), 13);
            // The endpoints are there, in the sets: one line each in two sets.
            proptest::prop_assert_eq!(
                many.lines().count(),
                none.lines().count() + 2 * usize::from(count) + if count > 0 { 4 } else { 0 }
            );
        }
    }
}
