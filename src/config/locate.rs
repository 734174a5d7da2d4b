//! Between byte offsets in the TOML text and key paths: toml's errors carry
//! a span but not the key, and our own checks know the key but not the
//! line. Both walk the document as toml parsed it, with its spans.
//!
//! A table written as `[host]` or `[[neighbor]]` has the span of its header
//! only, not of its body, so the search below looks at every node rather
//! than descending into the one whose span contains the offset.

use std::ops::Range;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::error::{KeyPath, KeyStep};

/// The deepest key whose key or value contains `offset`; empty if none.
pub(super) fn key_at(text: &str, offset: usize) -> KeyPath {
    let Ok(doc) = DeTable::parse(text) else {
        return KeyPath::default();
    };
    let mut best = KeyPath::default();
    let mut path = KeyPath::default();
    search_table(doc.get_ref(), offset, &mut path, &mut best);
    best
}

fn search_table(table: &DeTable<'_>, offset: usize, path: &mut KeyPath, best: &mut KeyPath) {
    for (key, value) in table.iter() {
        let mut here = path.clone();
        here.push(KeyStep::Key(key.get_ref().to_string()));
        if key.span().contains(&offset) {
            keep_deeper(&here, best);
        }
        search_value(value, offset, &mut here, best);
    }
}

fn search_value(
    value: &Spanned<DeValue<'_>>,
    offset: usize,
    path: &mut KeyPath,
    best: &mut KeyPath,
) {
    if value.span().contains(&offset) {
        keep_deeper(path, best);
    }
    match value.get_ref() {
        DeValue::Table(t) => search_table(t, offset, path, best),
        DeValue::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let mut here = path.clone();
                here.push(KeyStep::Index(i));
                search_value(item, offset, &mut here, best);
            }
        }
        _ => {}
    }
}

fn keep_deeper(candidate: &KeyPath, best: &mut KeyPath) {
    if candidate.steps().len() > best.steps().len() {
        *best = candidate.clone();
    }
}

/// The span of the value at `key`, or of the deepest part of it that exists
/// (a default that was not written has no span, but its table has).
pub(super) fn span_of(text: &str, key: &KeyPath) -> Option<Range<usize>> {
    let doc = DeTable::parse(text).ok()?;
    let mut table = doc.get_ref();
    let mut current: Option<&Spanned<DeValue<'_>>> = None;
    let mut found = None;
    for step in key.steps() {
        let next = match (step, current.map(Spanned::get_ref)) {
            (KeyStep::Key(k), None) => table.get(k.as_str()),
            (KeyStep::Key(k), Some(DeValue::Table(t))) => {
                table = t;
                table.get(k.as_str())
            }
            (KeyStep::Index(i), Some(DeValue::Array(items))) => items.get(*i),
            _ => None,
        };
        match next {
            Some(value) => {
                found = Some(value.span());
                current = Some(value);
            }
            None => break,
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = r#"
[host]
asn = 65001

[[neighbor]]
address = "192.0.2.1"

[[neighbor]]
address = "192.0.2.2"
import = ["0.0.0.0/0", "10.0.0.0/8 le 24"]
"#;

    #[test]
    fn offset_inside_a_value_names_its_key() {
        let at = DOC.find("192.0.2.2").unwrap();
        assert_eq!(key_at(DOC, at).to_string(), "neighbor[1].address");
        let at = DOC.find("le 24").unwrap();
        assert_eq!(key_at(DOC, at).to_string(), "neighbor[1].import[1]");
        let at = DOC.find("asn").unwrap();
        assert_eq!(key_at(DOC, at).to_string(), "host.asn");
        assert!(key_at(DOC, 0).is_empty());
    }

    #[test]
    fn key_path_leads_back_to_its_text() {
        let key = KeyPath::root("neighbor").index(1).key("import").index(1);
        let span = span_of(DOC, &key).unwrap();
        assert_eq!(&DOC[span], "\"10.0.0.0/8 le 24\"");
        let unwritten = KeyPath::root("neighbor").index(0).key("hold_time");
        let span = span_of(DOC, &unwritten).unwrap();
        assert!(DOC[span].contains("[[neighbor]]"));
        assert_eq!(span_of(DOC, &KeyPath::root("api")), None);
    }
}
