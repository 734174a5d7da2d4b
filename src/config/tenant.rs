//! `[[tenant]]` with their segments, and `[[policy]]`, the exceptions to
//! isolation between them.
//!
//! Endpoints of the same tenant and segment reach each other; everything
//! else between endpoints is dropped unless a policy allows it:
//!
//! ```toml
//! [[policy]]
//! from = "blue/web"   # a segment, or "blue": every segment of the tenant
//! to = "blue/db"
//! ```
//!
//! A policy lets endpoints of `from` open connections to endpoints of `to`;
//! replies come back on those connections, nothing else does.

use std::fmt;

use super::error::{Invalid, KeyPath};
use super::raw::{RawPolicy, RawSegment, RawTenant};
use crate::plan::{Plan, SegmentId, TenantId};

/// Longest tenant or segment name.
pub const MAX_NAME_LEN: usize = 32;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tenant {
    pub name: String,
    pub id: TenantId,
    pub segments: Vec<Segment>,
}

impl Tenant {
    pub fn segment(&self, name: &str) -> Option<&Segment> {
        self.segments.iter().find(|s| s.name == name)
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Segment {
    pub name: String,
    pub id: SegmentId,
}

/// The endpoints a policy names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EndpointGroup {
    /// Every segment of the tenant.
    Tenant(TenantId),
    Segment(TenantId, SegmentId),
}

/// `[[policy]]`: endpoints of `from` may open connections to endpoints of
/// `to`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct IsolationPolicy {
    pub from: EndpointGroup,
    pub to: EndpointGroup,
}

/// A name is what the CLI's `--tenant` and `--segment` take: letters,
/// digits, `-` and `_`, starting with a letter so it is never mistaken for
/// an id, and without the `/` that joins tenant and segment in a policy.
fn name(text: &str, key: KeyPath) -> Result<String, Invalid> {
    let starts_with_letter = text.chars().next().is_some_and(|c| c.is_ascii_alphabetic());
    let allowed = text
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !starts_with_letter || !allowed || text.len() > MAX_NAME_LEN {
        return Err(Invalid::new(
            key,
            format!(
                "`{text}` is not a name: use 1 to {MAX_NAME_LEN} letters, digits, `-` or `_`, starting with a letter"
            ),
        ));
    }
    Ok(text.to_owned())
}

fn segment(raw: &RawSegment, key: &KeyPath, plan: &Plan) -> Result<Segment, Invalid> {
    let name = name(&raw.name, key.key("name"))?;
    let id = plan.segment_id(raw.id).ok_or_else(|| {
        Invalid::new(
            key.key("id"),
            format!(
                "{} is out of range: segment ids go from 1 to {} (plan.segment_bits = {}; 0 is the host's own)",
                raw.id,
                plan.max_segment_id(),
                plan.segment_bits()
            ),
        )
    })?;
    Ok(Segment { name, id })
}

fn tenant(raw: &RawTenant, key: &KeyPath, plan: &Plan) -> Result<Tenant, Invalid> {
    let name = name(&raw.name, key.key("name"))?;
    let id = plan.tenant_id(raw.id).ok_or_else(|| {
        Invalid::new(
            key.key("id"),
            format!(
                "{} is out of range: tenant ids go from 1 to {} (plan.tenant_bits = {}; 0 is the host's own)",
                raw.id,
                plan.max_tenant_id(),
                plan.tenant_bits()
            ),
        )
    })?;
    if raw.segments.is_empty() {
        return Err(Invalid::new(
            key.key("segments"),
            "is empty; an endpoint joins a segment, so a tenant needs at least one, e.g. segments = [ { name = \"web\", id = 1 } ]",
        ));
    }
    let mut segments: Vec<Segment> = Vec::with_capacity(raw.segments.len());
    for (i, raw_segment) in raw.segments.iter().enumerate() {
        let at = key.key("segments").index(i);
        let s = segment(raw_segment, &at, plan)?;
        if let Some(j) = segments.iter().position(|o| o.name == s.name) {
            return Err(duplicate(
                at.key("name"),
                &s.name,
                "name",
                &key.key("segments").index(j),
            ));
        }
        if let Some(j) = segments.iter().position(|o| o.id == s.id) {
            return Err(duplicate(
                at.key("id"),
                &s.id,
                "id",
                &key.key("segments").index(j),
            ));
        }
        segments.push(s);
    }
    Ok(Tenant { name, id, segments })
}

fn duplicate(key: KeyPath, value: &dyn fmt::Display, what: &str, first: &KeyPath) -> Invalid {
    Invalid::new(
        key,
        format!("{value} is already the {what} of {first}; each must be unique"),
    )
}

pub(super) fn tenants(raw: &[RawTenant], plan: &Plan) -> Result<Vec<Tenant>, Invalid> {
    let mut tenants: Vec<Tenant> = Vec::with_capacity(raw.len());
    for (i, raw_tenant) in raw.iter().enumerate() {
        let at = KeyPath::root("tenant").index(i);
        let t = tenant(raw_tenant, &at, plan)?;
        if let Some(j) = tenants.iter().position(|o| o.name == t.name) {
            return Err(duplicate(
                at.key("name"),
                &t.name,
                "name",
                &KeyPath::root("tenant").index(j),
            ));
        }
        if let Some(j) = tenants.iter().position(|o| o.id == t.id) {
            return Err(duplicate(
                at.key("id"),
                &t.id,
                "id",
                &KeyPath::root("tenant").index(j),
            ));
        }
        tenants.push(t);
    }
    Ok(tenants)
}

fn names<'a>(names: impl Iterator<Item = &'a str>) -> String {
    let list: Vec<&str> = names.collect();
    if list.is_empty() {
        "none".to_owned()
    } else {
        list.join(", ")
    }
}

/// `"tenant"` or `"tenant/segment"`, naming declared ones.
fn group(text: &str, key: KeyPath, tenants: &[Tenant]) -> Result<EndpointGroup, Invalid> {
    let (tenant_name, segment_name) = match text.split_once('/') {
        Some((t, s)) => (t, Some(s)),
        None => (text, None),
    };
    let tenant = tenants.iter().find(|t| t.name == tenant_name).ok_or_else(|| {
        Invalid::new(
            key.clone(),
            format!(
                "no tenant is named `{tenant_name}` (tenants: {}); write \"TENANT\" or \"TENANT/SEGMENT\"",
                names(tenants.iter().map(|t| t.name.as_str()))
            ),
        )
    })?;
    let Some(segment_name) = segment_name else {
        return Ok(EndpointGroup::Tenant(tenant.id));
    };
    let segment = tenant.segment(segment_name).ok_or_else(|| {
        Invalid::new(
            key,
            format!(
                "tenant `{}` has no segment `{segment_name}` (its segments: {})",
                tenant.name,
                names(tenant.segments.iter().map(|s| s.name.as_str()))
            ),
        )
    })?;
    Ok(EndpointGroup::Segment(tenant.id, segment.id))
}

pub(super) fn policies(
    raw: &[RawPolicy],
    tenants: &[Tenant],
) -> Result<Vec<IsolationPolicy>, Invalid> {
    raw.iter()
        .enumerate()
        .map(|(i, p)| {
            let at = KeyPath::root("policy").index(i);
            Ok(IsolationPolicy {
                from: group(&p.from, at.key("from"), tenants)?,
                to: group(&p.to, at.key("to"), tenants)?,
            })
        })
        .collect()
}
