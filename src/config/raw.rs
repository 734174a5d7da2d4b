//! The file's shape, as serde reads it: every table refuses keys it does not
//! know, and values keep the form they were written in (addresses and
//! prefixes as strings) so the checks in the sibling modules can say what
//! is wrong with them in the operator's words.

use std::path::PathBuf;

use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawConfig {
    pub host: RawHost,
    pub plan: RawPlan,
    #[serde(default)]
    pub tenant: Vec<RawTenant>,
    #[serde(default)]
    pub neighbor: Vec<RawNeighbor>,
    #[serde(default)]
    pub policy: Vec<RawPolicy>,
    #[serde(default)]
    pub isolation: RawIsolation,
    #[serde(default)]
    pub api: RawApi,
    #[serde(default)]
    pub state: RawState,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawHost {
    pub asn: u32,
    pub router_id: String,
    pub index: u32,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPlan {
    pub cidr: String,
    pub host_bits: u8,
    pub tenant_bits: u8,
    pub segment_bits: u8,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTenant {
    pub name: String,
    pub id: u32,
    pub segments: Vec<RawSegment>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSegment {
    pub name: String,
    pub id: u32,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawNeighbor {
    pub address: String,
    pub remote_as: u32,
    pub port: Option<u16>,
    pub passive: Option<bool>,
    pub hold_time: Option<u16>,
    pub password: Option<String>,
    pub ttl_security: Option<bool>,
    pub graceful_restart: Option<bool>,
    pub max_prefixes: Option<u32>,
    pub idle_hold_time: Option<u32>,
    pub idle_hold_max: Option<u32>,
    pub connect_retry: Option<u32>,
    pub import: Option<Vec<String>>,
    pub local_address: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPolicy {
    pub from: String,
    pub to: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawIsolation {
    #[serde(default)]
    pub outside: super::Outside,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawApi {
    pub socket: Option<PathBuf>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawState {
    pub dir: Option<PathBuf>,
}
