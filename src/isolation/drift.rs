//! Whether the live table is the one the daemon rendered, judged on what a
//! hand edit or another program changes: a flushed or deleted table, rules
//! added, removed or replaced (each of the daemon's rules carries its own
//! comment), set elements added or removed, a base chain's hook or policy,
//! objects the daemon never makes. Read from
//! `nft -j list table inet romana`, whose JSON names every element the same
//! way whatever order the kernel keeps them in.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};

use super::ruleset::{ALLOWED, INTERFACES, Ruleset, SOURCES};

/// The parts of a table drift is judged on.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct Shape {
    chains: BTreeMap<String, ChainShape>,
    /// Sets and maps by name (they share one namespace in nft), each
    /// element as its JSON text.
    sets: BTreeMap<String, BTreeSet<String>>,
    /// Objects of kinds the daemon never makes (counters, flowtables, ...).
    others: Vec<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct ChainShape {
    /// Hook, numeric priority and policy of a base chain.
    base: Option<(String, i64, String)>,
    /// The comment of each rule, in order; empty for a rule without one.
    rules: Vec<String>,
}

impl Shape {
    /// What listing the table should show after `ruleset` was applied.
    pub(super) fn expected(ruleset: &Ruleset) -> Shape {
        let chains = ruleset
            .chains()
            .into_iter()
            .map(|chain| {
                let base = chain
                    .hook
                    .map(|h| (h.name.to_owned(), h.prio, "accept".to_owned()));
                let rules = chain.rules.into_iter().map(|r| r.comment).collect();
                let shape = ChainShape { base, rules };
                (chain.name.to_owned(), shape)
            })
            .collect();
        let interfaces = ruleset.interfaces().map(|i| json!(i.as_str()));
        let sources = ruleset
            .sources()
            .map(|(i, a)| json!({ "concat": [i.as_str(), a.to_string()] }));
        let allowed = ruleset.allowed().map(
            |(s, d)| json!([{ "concat": [s.to_string(), d.to_string()] }, { "accept": null }]),
        );
        let sets = BTreeMap::from([
            (INTERFACES.to_owned(), texts(interfaces)),
            (SOURCES.to_owned(), texts(sources)),
            (ALLOWED.to_owned(), texts(allowed)),
        ]);
        Shape {
            chains,
            sets,
            others: Vec::new(),
        }
    }

    /// Reads the output of `nft -j list table`.
    pub(super) fn listed(output: &str) -> Result<Shape, String> {
        let root: Value = serde_json::from_str(output).map_err(|e| format!("not JSON: {e}"))?;
        let items = root
            .get("nftables")
            .and_then(Value::as_array)
            .ok_or("no `nftables` array")?;
        let mut shape = Shape::default();
        for item in items {
            let Some((kind, body)) = item.as_object().and_then(|o| o.iter().next()) else {
                return Err(format!("an item is not an object with one key: {item}"));
            };
            match kind.as_str() {
                "metainfo" | "table" => {}
                "chain" => {
                    let name = text(body, "name")?;
                    let base = match body.get("hook") {
                        None => None,
                        Some(_) => Some((
                            text(body, "hook")?.to_owned(),
                            body.get("prio")
                                .and_then(Value::as_i64)
                                .ok_or_else(|| format!("chain {name} has no numeric `prio`"))?,
                            text(body, "policy")?.to_owned(),
                        )),
                    };
                    shape.chains.entry(name.to_owned()).or_default().base = base;
                }
                "rule" => {
                    let chain = text(body, "chain")?;
                    let comment = body.get("comment").and_then(Value::as_str).unwrap_or("");
                    let rules = &mut shape.chains.entry(chain.to_owned()).or_default().rules;
                    rules.push(comment.to_owned());
                }
                "set" | "map" => {
                    let name = text(body, "name")?;
                    let elements = match body.get("elem") {
                        None => BTreeSet::new(),
                        Some(Value::Array(elements)) => {
                            elements.iter().map(Value::to_string).collect()
                        }
                        Some(other) => return Err(format!("{kind} {name} has `elem` {other}")),
                    };
                    shape.sets.insert(name.to_owned(), elements);
                }
                _ => {
                    let name = body.get("name").and_then(Value::as_str).unwrap_or("");
                    shape
                        .others
                        .push(format!("{kind} {name}").trim_end().to_owned());
                }
            }
        }
        Ok(shape)
    }
}

fn texts(values: impl Iterator<Item = Value>) -> BTreeSet<String> {
    values.map(|v| v.to_string()).collect()
}

fn text<'a>(body: &'a Value, key: &str) -> Result<&'a str, String> {
    body.get(key)
        .and_then(Value::as_str)
        .ok_or_else(|| format!("no `{key}` text in {body}"))
}

/// The first way `found` differs from `expected`, in words for the log, or
/// `None` if they are the same.
pub(super) fn difference(expected: &Shape, found: &Shape) -> Option<String> {
    if let Some(other) = found.others.first() {
        return Some(format!(
            "the table holds {other}, which romana-bgp never makes"
        ));
    }
    for (name, want) in &expected.chains {
        let Some(have) = found.chains.get(name) else {
            return Some(format!("chain {name} is missing"));
        };
        if have.base != want.base {
            return Some(format!(
                "chain {name} hooks as {:?}, not {:?}",
                have.base, want.base
            ));
        }
        if have.rules.len() != want.rules.len() {
            return Some(format!(
                "chain {name} has {} rules instead of {}",
                have.rules.len(),
                want.rules.len()
            ));
        }
        let changed = have.rules.iter().zip(&want.rules).position(|(h, w)| h != w);
        if let Some(i) = changed {
            return Some(format!(
                "rule {} of chain {name} is not romana-bgp's (comment {:?})",
                i + 1,
                have.rules.get(i).map_or("", String::as_str)
            ));
        }
    }
    if let Some(name) = found
        .chains
        .keys()
        .find(|n| !expected.chains.contains_key(*n))
    {
        return Some(format!("chain {name} is not romana-bgp's"));
    }
    for (name, want) in &expected.sets {
        let Some(have) = found.sets.get(name) else {
            return Some(format!("set {name} is missing"));
        };
        let missing = want.difference(have).count();
        let unexpected = have.difference(want).count();
        if missing + unexpected > 0 {
            return Some(format!(
                "set {name} lacks {missing} elements and has {unexpected} it should not"
            ));
        }
    }
    if let Some(name) = found.sets.keys().find(|n| !expected.sets.contains_key(*n)) {
        return Some(format!("set {name} is not romana-bgp's"));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Outside;
    use crate::isolation::fixtures::Small;

    /// `nft -j list table inet romana` (nft 1.0.6) right after the small
    /// case was applied; the kernel lists the elements in its own order.
    const LISTED: &str = include_str!("testdata/small_table.json");

    fn expected(outside: Outside) -> Shape {
        Shape::expected(&Ruleset::new(&Small::new().input(outside)))
    }

    /// What `LISTED` would be after `edit`.
    fn edited(edit: impl FnOnce(&mut Vec<Value>)) -> Shape {
        let mut root: Value = serde_json::from_str(LISTED).unwrap();
        edit(root["nftables"].as_array_mut().unwrap());
        Shape::listed(&root.to_string()).unwrap()
    }

    fn named<'a>(items: &'a mut [Value], kind: &str, name: &str) -> &'a mut Value {
        items
            .iter_mut()
            .find(|i| i[kind]["name"] == name)
            .map(|i| &mut i[kind])
            .unwrap()
    }

    fn judged(found: &Shape) -> Option<String> {
        difference(&expected(Outside::Allow), found)
    }

    #[test]
    fn the_table_as_applied_is_current() {
        assert_eq!(judged(&Shape::listed(LISTED).unwrap()), None);
    }

    #[test]
    fn a_flushed_table_differs() {
        let found = edited(|items| items.retain(|i| i.get("rule").is_none()));
        assert_eq!(
            judged(&found).as_deref(),
            Some("chain between_endpoints has 0 rules instead of 2")
        );
        let emptied = edited(|items| items.truncate(2));
        assert_eq!(
            judged(&emptied).as_deref(),
            Some("chain between_endpoints is missing")
        );
    }

    #[test]
    fn a_rule_replaced_by_hand_differs() {
        let found = edited(|items| {
            let rule = items
                .iter_mut()
                .find(|i| i["rule"]["chain"] == "forward")
                .unwrap();
            rule["rule"].as_object_mut().unwrap().remove("comment");
        });
        assert_eq!(
            judged(&found).as_deref(),
            Some("rule 1 of chain forward is not romana-bgp's (comment \"\")")
        );
    }

    #[test]
    fn a_table_rendered_for_another_outside_setting_differs() {
        let found = Shape::listed(LISTED).unwrap();
        let reason = difference(&expected(Outside::Deny), &found).unwrap();
        assert!(
            reason.starts_with("rule 1 of chain to_endpoint"),
            "{reason}"
        );
    }

    #[test]
    fn an_element_removed_or_added_differs() {
        let removed = edited(|items| {
            let set = named(items, "set", "endpoint_sources");
            set["elem"].as_array_mut().unwrap().pop();
        });
        assert_eq!(
            judged(&removed).as_deref(),
            Some("set endpoint_sources lacks 1 elements and has 0 it should not")
        );
        let added = edited(|items| {
            let map = named(items, "map", "allowed");
            let pair = json!([{ "concat": ["0.0.18.0", "0.0.17.0"] }, { "accept": null }]);
            map["elem"].as_array_mut().unwrap().push(pair);
        });
        assert_eq!(
            judged(&added).as_deref(),
            Some("set allowed lacks 0 elements and has 1 it should not")
        );
    }

    #[test]
    fn a_base_chain_with_another_policy_differs() {
        let found = edited(|items| named(items, "chain", "input")["policy"] = json!("drop"));
        let reason = judged(&found).unwrap();
        assert!(reason.starts_with("chain input hooks as"), "{reason}");
    }

    #[test]
    fn objects_the_daemon_never_makes_differ() {
        let found = edited(|items| {
            items
                .push(json!({ "counter": { "family": "inet", "name": "spy", "table": "romana" } }));
        });
        assert_eq!(
            judged(&found).as_deref(),
            Some("the table holds counter spy, which romana-bgp never makes")
        );
        let chain = edited(|items| {
            items
                .push(json!({ "chain": { "family": "inet", "name": "extra", "table": "romana" } }));
        });
        assert_eq!(
            judged(&chain).as_deref(),
            Some("chain extra is not romana-bgp's")
        );
    }

    #[test]
    fn output_that_is_not_a_listing_is_refused() {
        assert!(Shape::listed("Error: nothing").is_err());
        assert!(Shape::listed("{}").is_err());
        assert!(Shape::listed(r#"{"nftables": [{"rule": {"family": "inet"}}]}"#).is_err());
        assert!(Shape::listed(r#"{"nftables": [{"set": {"name": "s", "elem": 1}}]}"#).is_err());
    }
}
