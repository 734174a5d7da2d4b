//! Isolation between endpoints: one nftables table, `inet romana`, owned by
//! the daemon, rendered from the config and the endpoints in the state and
//! replaced whole in one `nft -f` transaction; its rules are never patched
//! in place. Endpoints coming and going change only the elements of its
//! two endpoint sets, each change one nf_tables transaction over netlink
//! (see [`LiveTable`]).
//!
//! Every hook of the table (see [`Ruleset`] for the rules themselves):
//!
//! - **prerouting**, at raw priority so that nothing reaches conntrack
//!   first: a packet from an endpoint interface must carry that endpoint's
//!   address (`iifname . ip saddr` in the set of valid pairs), and IPv6 from
//!   an endpoint is dropped, since the plan is IPv4 only and so no IPv6
//!   source is an endpoint's. Every later check can therefore trust the
//!   source address of a packet that came from an endpoint.
//! - **input**: from an endpoint interface, the host answers ICMP and
//!   replies on connections it opened; nothing else.
//! - **forward**: replies (`ct state established,related`) pass first. A
//!   new packet *into* an endpoint interface passes if its source is outside
//!   the plan and `isolation.outside` is `allow`, or if the verdict map
//!   `allowed` holds `saddr & M . daddr & M` (M: the plan's tenant and
//!   segment bits). A new packet *from* an endpoint towards another host's
//!   block is checked against the same map; towards an address outside the
//!   plan it passes.
//!
//! Which host enforces what: the destination host always decides, in its
//! forward hook into the endpoint interface; that alone isolates endpoints,
//! since every host holds the same map and an address's tenant and segment
//! are its bits, whichever host it lives on. The source host checks the
//! same map before the packet leaves (defence in depth: a host whose table
//! was flushed by hand still does not receive what its peers refuse to send,
//! and the fabric does not carry it). Same-host traffic meets the
//! destination check once. Replies are accepted by the conntrack of each
//! host on the path, which saw the first packet pass.
//!
//! The map holds every configured segment to itself and each `[[policy]]`
//! expanded to segment pairs (a tenant in a policy stands for its configured
//! segments); direction is from the initiator, replies need no entry.
//! Addresses of the plan that no map entry names (the hosts' own, tenant 0)
//! are neither endpoints nor outside: traffic between them and endpoints is
//! dropped in forward. `isolation.outside = "deny"` refuses connections
//! opened from outside the plan; endpoints still open connections out.
//!
//! The number of rules is fixed; endpoints only add set elements.
//!
//! How the daemon uses it, through [`LiveTable`]: [`Ruleset::new`] from the
//! config and this host's endpoints, then [`apply`] at start
//! (unconditionally: the table left by a previous run may come from another
//! config); set-element changes for each add and delete; every few seconds
//! [`check`] if nf_tables' generation moved, and [`apply`] again unless the
//! answer is [`TableState::Current`]. Interface names need
//! not exist yet, so a new endpoint's table can go in before its link comes
//! up, and no packet of it passes unfiltered. Connections already open when
//! a table is replaced keep flowing (conntrack), even if the new table would
//! not let them open. [`remove`] deletes the table; a restart need not call
//! it, since the table left in place keeps the endpoints isolated while the
//! daemon is away.

mod drift;
mod error;
mod interface;
mod live;
mod nfnl;
mod nft;
mod ruleset;

#[cfg(test)]
mod fixtures;

use std::net::Ipv4Addr;

pub use error::NftError;
pub use interface::{InterfaceName, InvalidInterfaceName, MAX_INTERFACE_LEN};
pub use live::LiveTable;
pub use nfnl::Membership;
pub use nft::{TableState, apply, check, present, remove};
pub use ruleset::{Ruleset, TABLE_FAMILY, TABLE_NAME, render};

use crate::config::{Config, IsolationPolicy, Outside, Tenant};
use crate::plan::Plan;

/// What the table needs to know of one endpoint on this host.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IsolationEndpoint {
    pub address: Ipv4Addr,
    /// The host side: the veth end of a container, or a VM's tap.
    pub interface: InterfaceName,
}

/// Everything the table is rendered from.
#[derive(Clone, Copy, Debug)]
pub struct IsolationInput<'a> {
    pub plan: &'a Plan,
    pub tenants: &'a [Tenant],
    pub policies: &'a [IsolationPolicy],
    pub outside: Outside,
    /// This host's endpoints.
    pub endpoints: &'a [IsolationEndpoint],
}

impl<'a> IsolationInput<'a> {
    pub fn new(config: &'a Config, endpoints: &'a [IsolationEndpoint]) -> IsolationInput<'a> {
        IsolationInput {
            plan: &config.plan,
            tenants: &config.tenants,
            policies: &config.policies,
            outside: config.isolation.outside,
            endpoints,
        }
    }
}
