//! `[host]` and `[plan]`: who this host is in BGP and in the address plan.

use std::net::Ipv4Addr;

use bgp::{Asn, RouterId};
use ipnet::IpNet;

use super::error::{Invalid, KeyPath};
use super::raw::{RawHost, RawPlan};
use crate::plan::{HostIndex, Plan, PlanError};

/// `[host]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HostConfig {
    pub asn: Asn,
    pub router_id: RouterId,
    /// This host's block in the plan.
    pub index: HostIndex,
}

/// An ASN a session can use, for `host.asn` and `neighbor[i].remote_as`.
pub(super) fn asn(value: u32, key: KeyPath) -> Result<Asn, Invalid> {
    match Asn(value) {
        // RFC 7607 §2: AS 0 is reserved and an OPEN carrying it is refused.
        Asn(0) => Err(Invalid::new(
            key,
            "0 is reserved (RFC 7607) and no BGP speaker accepts it; use the AS number assigned to this session",
        )),
        // RFC 6793 §9: AS_TRANS stands in for a 4-octet ASN on 2-octet
        // speakers; as a real ASN a peer could not tell it from the stand-in.
        Asn::TRANS => Err(Invalid::new(
            key,
            "23456 is AS_TRANS, reserved by RFC 6793 for 4-octet AS numbers seen by old speakers; use another AS number",
        )),
        asn => Ok(asn),
    }
}

fn router_id(text: &str, key: KeyPath) -> Result<RouterId, Invalid> {
    let addr: Ipv4Addr = text.parse().map_err(|_| {
        Invalid::new(
            key.clone(),
            format!("`{text}` is not a router id; write it like an IPv4 address, e.g. 192.0.2.1"),
        )
    })?;
    // RFC 6286 §2.1: the BGP Identifier is a non-zero 4-octet value.
    if addr.is_unspecified() {
        return Err(Invalid::new(
            key,
            "0.0.0.0 is not allowed: RFC 6286 requires a non-zero BGP Identifier; use an address of this host",
        ));
    }
    Ok(RouterId(addr))
}

pub(super) fn host(raw: &RawHost, plan: &Plan) -> Result<HostConfig, Invalid> {
    let key = KeyPath::root("host");
    let asn = asn(raw.asn, key.key("asn"))?;
    let router_id = router_id(&raw.router_id, key.key("router_id"))?;
    let index = plan.host_index(raw.index).ok_or_else(|| {
        Invalid::new(
            key.key("index"),
            format!(
                "{} does not fit in plan.host_bits = {}; it must be from 0 to {}",
                raw.index,
                plan.host_bits(),
                plan.max_host_index()
            ),
        )
    })?;
    Ok(HostConfig {
        asn,
        router_id,
        index,
    })
}

pub(super) fn plan(raw: &RawPlan) -> Result<Plan, Invalid> {
    let key = KeyPath::root("plan");
    let cidr = match raw.cidr.parse::<IpNet>() {
        Ok(IpNet::V4(cidr)) => cidr,
        Ok(IpNet::V6(cidr)) => {
            return Err(Invalid::new(
                key.key("cidr"),
                format!("{cidr} is IPv6; the address plan is IPv4 only, e.g. 10.0.0.0/8"),
            ));
        }
        Err(_) => {
            return Err(Invalid::new(
                key.key("cidr"),
                format!("`{}` is not a prefix; write it like 10.0.0.0/8", raw.cidr),
            ));
        }
    };
    Plan::new(cidr, raw.host_bits, raw.tenant_bits, raw.segment_bits).map_err(|e| {
        let at = match e {
            PlanError::NotANetwork { .. } => key.key("cidr"),
            PlanError::NoTenantBits => key.key("tenant_bits"),
            PlanError::NoSegmentBits => key.key("segment_bits"),
            PlanError::TooFewEndpointBits { .. } => key,
        };
        Invalid::new(at, e.to_string())
    })
}
