//! The import side of a session: a delivered UPDATE, walked prefix by prefix
//! against the neighbor's import policy, becomes one RIB command.
//!
//! Rejected prefixes are counted and forgotten, so a leaf that leaks a full
//! table costs the host the walk and nothing else.

use std::net::IpAddr;
use std::sync::Arc;

use bgp::Family;
use bgp::wire::Update;
use bgp::wire::attribute::{NextHop, Origin};
use ipnet::IpNet;
use tracing::debug;

use super::rib::{NeighborIdx, PathAttrs};
use super::rib_task::RibCommand;
use crate::policy::ImportPolicy;

pub struct Importer {
    neighbor: NeighborIdx,
    policy: ImportPolicy,
}

pub struct ImportOutcome {
    /// Prefixes announced in the UPDATE, accepted or not.
    pub received: u64,
    pub command: Option<RibCommand>,
}

impl Importer {
    pub fn new(neighbor: NeighborIdx, policy: ImportPolicy) -> Importer {
        Importer { neighbor, policy }
    }

    pub fn import(&self, update: &Update) -> ImportOutcome {
        for e in update.discarded() {
            debug!(
                attribute = e.type_code,
                "attribute discarded (RFC 7606): {}", e.reason
            );
        }
        // Only a prefix the policy accepts can be in the RIB; a withdrawal of
        // any other is moot. RFC 7606 §2: treat-as-withdraw puts the
        // announced prefixes here too.
        let withdraw: Vec<IpNet> = update
            .withdrawn()
            .filter(|p| self.policy.accepts(p))
            .collect();
        let mut received = 0u64;
        let mut announce = Vec::new();
        for prefix in update.announced() {
            received += 1;
            if self.policy.accepts(&prefix) {
                announce.push(prefix);
            }
        }
        if update.treat_as_withdraw() {
            debug!("UPDATE treated as withdraw (RFC 7606)");
        }
        let (attrs_v4, attrs_v6) = if announce.is_empty() {
            (None, None)
        } else {
            let as_path = update.as_path();
            let origin = match update.attrs.base.origin {
                Some(Origin::Egp) => 1,
                Some(Origin::Incomplete) => 2,
                Some(Origin::Igp) | None => 0,
            };
            let attrs = |family| {
                update.next_hop(family).map(|nh| {
                    Arc::new(PathAttrs {
                        next_hop: next_hop_address(nh),
                        next_hop_ifindex: None,
                        as_path: as_path.clone(),
                        origin,
                    })
                })
            };
            (attrs(Family::IPV4_UNICAST), attrs(Family::IPV6_UNICAST))
        };
        let command =
            (!withdraw.is_empty() || !announce.is_empty()).then_some(RibCommand::Update {
                neighbor: self.neighbor,
                withdraw,
                announce,
                attrs_v4,
                attrs_v6,
            });
        ImportOutcome { received, command }
    }
}

/// The address to route through. RFC 2545 §3: with a global and a
/// link-local IPv6 next hop, the global one is usable from anywhere.
fn next_hop_address(nh: NextHop) -> IpAddr {
    match nh {
        NextHop::V4(a) => IpAddr::V4(a),
        NextHop::V6(v6) => match v6.link_local {
            Some(ll) if v6.global.is_unspecified() => IpAddr::V6(ll),
            _ => IpAddr::V6(v6.global),
        },
    }
}
