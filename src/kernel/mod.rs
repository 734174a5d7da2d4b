//! Everything romana-bgp does to the kernel's routing table and addresses,
//! through rtnetlink.
//!
//! The daemon owns exactly what carries its mark: the host's own routes
//! (aggregate, endpoints) with the routing protocol id [`RTPROT_ROMANA`],
//! routes learned over BGP with [`RTPROT_ROMANA_LEARNED`], addresses with
//! [`RTPROT_ROMANA`] as `IFA_PROTO`. Everything else belongs to someone
//! else and is never changed or deleted; a wanted route whose key another's
//! route holds is a conflict, reported.
//!
//! Deciding is separate from doing: [`plan::plan`] diffs the wanted routes
//! against a dump without I/O, [`RouteTable`] is the dump/apply boundary,
//! [`Netlink`] the real table behind it, [`OwnedRoutes`] the single writer
//! of the host's routes that keeps the receipt of what is installed, and
//! [`learned`] the writer of learned routes, whose receipt is the RIB's.

pub mod addr;
mod changes;
pub mod error;
pub mod learned;
pub mod link;
mod message;
pub mod netlink;
pub mod owned;
pub mod plan;
pub mod route;
mod route_bytes;
mod route_dump;
pub mod table;

pub use addr::AddressChange;
pub use error::{
    Action, AddressError, ApplyFailed, ConnectError, DumpError, Errno, Failure, LinkError,
    RouteError, RouteFailure,
};
pub use netlink::Netlink;
pub use owned::{OwnedRoutes, ReconcileReport};
pub use plan::{Conflict, Plan, PresentRoute, RouteChange, RouteKey, Sweep, WantedRoutes};
pub use route::{IfIndex, InvalidRoute, NextHop, NextHops, Route, RouteTarget};
pub use table::RouteTable;

/// The routing protocol id (`rtm_protocol`) of the daemon's routes.
///
/// Values up to 4 mean something to the kernel; above that, daemons pick
/// their own. Taken elsewhere: 8 to 18, 42 and 99 (`/etc/iproute2/rt_protos`:
/// gated, zebra, bird, dhcp, keepalived, babel, openr), 80 (Calico's Felix),
/// 186 to 198 (FRR's daemons, `rt_protos.d/frr.conf`: bgp ... openfabric,
/// srte). 201 is free in all of them, so `ip route show proto 201` lists
/// exactly the daemon's routes.
pub const RTPROT_ROMANA: u8 = 201;

/// The routing protocol id of the routes the daemon learned over BGP.
///
/// Kept apart from [`RTPROT_ROMANA`] so that the periodic check of the
/// host's own routes asks the kernel for those alone (a dump filtered by
/// protocol) and does not walk a leaked full table every few seconds. 186
/// (`RTPROT_BGP`) is FRR's bgpd, whose zebra takes routes with its ids as
/// its own; 202 is free in the lists above.
pub const RTPROT_ROMANA_LEARNED: u8 = 202;

/// Runs `body` on a thread in a network namespace of its own, which goes
/// when the thread ends, also when it panics.
#[cfg(test)]
pub(crate) fn in_own_netns<T: Send>(body: impl FnOnce() -> T + Send) -> T {
    use nix::sched::{CloneFlags, unshare};
    std::thread::scope(|s| {
        s.spawn(|| {
            unshare(CloneFlags::CLONE_NEWNET).expect("a network namespace (needs root)");
            body()
        })
        .join()
        .expect("namespace thread")
    })
}
