//! The routes the daemon owns, as values: what a prefix should point at.
//! Constructors validate, so a `Route` always describes something the
//! kernel can install.

use std::fmt;
use std::net::IpAddr;
use std::num::NonZeroU32;

use ipnet::IpNet;

/// A network interface, by its kernel index (never 0).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IfIndex(NonZeroU32);

impl IfIndex {
    /// `None` for 0, which the kernel uses for "no interface".
    pub fn new(index: u32) -> Option<Self> {
        NonZeroU32::new(index).map(Self)
    }

    pub fn get(self) -> u32 {
        self.0.get()
    }
}

impl fmt::Display for IfIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ifindex {}", self.0)
    }
}

/// One next hop of a learned route. The interface is needed only for an
/// IPv6 link-local gateway, which is ambiguous without it; for any other
/// gateway the kernel finds the interface itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NextHop {
    pub gateway: IpAddr,
    pub ifindex: Option<IfIndex>,
}

impl NextHop {
    /// Whether the kernel's view of a next hop (which always names the
    /// interface it resolved) is this one.
    fn satisfied_by(&self, present: &NextHop) -> bool {
        self.gateway == present.gateway
            && (self.ifindex.is_none() || self.ifindex == present.ifindex)
    }
}

/// The next hops of one route: at least one, sorted, no duplicates, so two
/// sets compare equal whatever order the leaves sent them in.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct NextHops(Vec<NextHop>);

impl NextHops {
    /// `None` when `hops` is empty.
    pub(super) fn from_unsorted(mut hops: Vec<NextHop>) -> Option<Self> {
        hops.sort_unstable();
        hops.dedup();
        if hops.is_empty() {
            None
        } else {
            Some(Self(hops))
        }
    }

    pub fn as_slice(&self) -> &[NextHop] {
        &self.0
    }

    fn satisfied_by(&self, present: &NextHops) -> bool {
        self.0.len() == present.0.len()
            && self
                .0
                .iter()
                .zip(&present.0)
                .all(|(w, p)| w.satisfied_by(p))
    }
}

/// What a prefix points at.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum RouteTarget {
    /// A learned route: forward to these gateways, ECMP when several
    /// leaves sent the same prefix.
    Gateways(NextHops),
    /// The host's aggregate: addresses of the block that no endpoint holds
    /// are answered with ICMP unreachable here instead of going back to the
    /// leaf, which would send them straight back (a loop until TTL expiry).
    Unreachable,
    /// An endpoint: the address is on the other end of this interface
    /// (scope link, no gateway).
    Interface(IfIndex),
}

impl RouteTarget {
    /// Whether the kernel's copy of a route (`present`) already does what
    /// this target asks for, so no change is needed.
    pub fn satisfied_by(&self, present: &RouteTarget) -> bool {
        match (self, present) {
            (Self::Gateways(w), Self::Gateways(p)) => w.satisfied_by(p),
            (Self::Unreachable, Self::Unreachable) => true,
            (Self::Interface(w), Self::Interface(p)) => w == p,
            _ => false,
        }
    }
}

/// A route the daemon installs: one per prefix, in the main table, with the
/// daemon's protocol tag and the kernel's default metric.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Route {
    prefix: IpNet,
    target: RouteTarget,
}

impl Route {
    /// A learned route via one or more gateways.
    pub fn via(prefix: IpNet, next_hops: Vec<NextHop>) -> Result<Self, InvalidRoute> {
        check_prefix(prefix)?;
        for hop in &next_hops {
            check_next_hop(prefix, hop)?;
        }
        let hops = NextHops::from_unsorted(next_hops).ok_or(InvalidRoute::NoNextHop { prefix })?;
        Ok(Self {
            prefix,
            target: RouteTarget::Gateways(hops),
        })
    }

    /// The host aggregate, answered locally with "unreachable".
    pub fn unreachable(prefix: IpNet) -> Result<Self, InvalidRoute> {
        check_prefix(prefix)?;
        Ok(Self {
            prefix,
            target: RouteTarget::Unreachable,
        })
    }

    /// An endpoint's address (usually a /32 or /128) on an interface.
    pub fn interface(prefix: IpNet, ifindex: IfIndex) -> Result<Self, InvalidRoute> {
        check_prefix(prefix)?;
        Ok(Self {
            prefix,
            target: RouteTarget::Interface(ifindex),
        })
    }

    pub fn prefix(&self) -> IpNet {
        self.prefix
    }

    pub fn target(&self) -> &RouteTarget {
        &self.target
    }

    pub(super) fn into_parts(self) -> (IpNet, RouteTarget) {
        (self.prefix, self.target)
    }

    /// Reassembles what `into_parts` took apart (so no check is needed).
    pub(super) fn from_parts(prefix: IpNet, target: RouteTarget) -> Self {
        Self { prefix, target }
    }
}

/// The metric of the daemon's routes: the one the kernel gives a route
/// added without one, 0 for IPv4 and 1024 for IPv6 (`IP6_RT_PRIO_USER`).
/// The kernel identifies a route by (prefix, metric), so a static or DHCP
/// default route with a higher metric does not stand in the way.
pub fn kernel_metric(prefix: IpNet) -> u32 {
    match prefix {
        IpNet::V4(_) => 0,
        IpNet::V6(_) => 1024,
    }
}

impl fmt::Display for Route {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.prefix)?;
        match &self.target {
            RouteTarget::Unreachable => write!(f, " unreachable"),
            RouteTarget::Interface(i) => write!(f, " dev {i}"),
            RouteTarget::Gateways(hops) => {
                for hop in hops.as_slice() {
                    write!(f, " via {}", hop.gateway)?;
                    if let Some(i) = hop.ifindex {
                        write!(f, " dev {i}")?;
                    }
                }
                Ok(())
            }
        }
    }
}

fn check_prefix(prefix: IpNet) -> Result<(), InvalidRoute> {
    // The kernel rejects an IPv4 prefix with host bits set (EINVAL) and
    // silently clears them for IPv6; refuse both instead of installing a
    // route other than the one asked for.
    if prefix.trunc() != prefix {
        return Err(InvalidRoute::HostBitsSet { prefix });
    }
    Ok(())
}

fn check_next_hop(prefix: IpNet, hop: &NextHop) -> Result<(), InvalidRoute> {
    match (prefix, hop.gateway) {
        // An IPv4 prefix via an IPv6 gateway is fine (RFC 8950, RTA_VIA);
        // the reverse has no meaning.
        (IpNet::V6(_), IpAddr::V4(_)) => Err(InvalidRoute::FamilyMismatch {
            prefix,
            gateway: hop.gateway,
        }),
        (_, IpAddr::V6(g)) if g.is_unicast_link_local() && hop.ifindex.is_none() => {
            Err(InvalidRoute::LinkLocalWithoutInterface {
                prefix,
                gateway: hop.gateway,
            })
        }
        _ => Ok(()),
    }
}

/// A route that cannot be installed as asked; nothing was sent to the kernel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InvalidRoute {
    HostBitsSet { prefix: IpNet },
    NoNextHop { prefix: IpNet },
    FamilyMismatch { prefix: IpNet, gateway: IpAddr },
    LinkLocalWithoutInterface { prefix: IpNet, gateway: IpAddr },
}

impl fmt::Display for InvalidRoute {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::HostBitsSet { prefix } => write!(
                f,
                "route {prefix} has host bits set; use the network address {}",
                prefix.trunc()
            ),
            Self::NoNextHop { prefix } => write!(
                f,
                "route {prefix} has no next hop; withdraw it instead of installing it"
            ),
            Self::FamilyMismatch { prefix, gateway } => write!(
                f,
                "route {prefix} cannot go via the IPv4 gateway {gateway}; an IPv6 prefix needs an IPv6 next hop"
            ),
            Self::LinkLocalWithoutInterface { prefix, gateway } => write!(
                f,
                "route {prefix} via the link-local gateway {gateway} needs the interface the gateway is on"
            ),
        }
    }
}

impl std::error::Error for InvalidRoute {}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(s: &str) -> IpNet {
        s.parse().expect("test prefix")
    }

    fn hop(g: &str, ifindex: Option<u32>) -> NextHop {
        NextHop {
            gateway: g.parse().expect("test address"),
            ifindex: ifindex.and_then(IfIndex::new),
        }
    }

    #[test]
    fn next_hops_compare_equal_in_any_order() {
        let a = Route::via(
            net("10.0.0.0/8"),
            vec![hop("192.0.2.1", None), hop("192.0.2.2", None)],
        );
        let b = Route::via(
            net("10.0.0.0/8"),
            vec![hop("192.0.2.2", None), hop("192.0.2.1", None)],
        );
        assert_eq!(a, b);
    }

    #[test]
    fn duplicate_next_hops_collapse() {
        let r = Route::via(
            net("10.0.0.0/8"),
            vec![hop("192.0.2.1", None), hop("192.0.2.1", None)],
        )
        .expect("valid route");
        let RouteTarget::Gateways(hops) = r.target() else {
            panic!("gateways expected");
        };
        assert_eq!(hops.as_slice().len(), 1);
    }

    #[test]
    fn empty_next_hops_rejected() {
        assert_eq!(
            Route::via(net("10.0.0.0/8"), vec![]),
            Err(InvalidRoute::NoNextHop {
                prefix: net("10.0.0.0/8")
            })
        );
    }

    #[test]
    fn host_bits_rejected() {
        assert_eq!(
            Route::unreachable(net("10.1.2.3/16")),
            Err(InvalidRoute::HostBitsSet {
                prefix: net("10.1.2.3/16")
            })
        );
    }

    #[test]
    fn ipv6_prefix_via_ipv4_gateway_rejected() {
        assert!(matches!(
            Route::via(net("2001:db8::/32"), vec![hop("192.0.2.1", None)]),
            Err(InvalidRoute::FamilyMismatch { .. })
        ));
    }

    #[test]
    fn ipv4_prefix_via_ipv6_gateway_accepted() {
        assert!(Route::via(net("10.0.0.0/8"), vec![hop("2001:db8::1", None)]).is_ok());
    }

    #[test]
    fn link_local_gateway_needs_interface() {
        assert!(matches!(
            Route::via(net("2001:db8::/32"), vec![hop("fe80::1", None)]),
            Err(InvalidRoute::LinkLocalWithoutInterface { .. })
        ));
        assert!(Route::via(net("2001:db8::/32"), vec![hop("fe80::1", Some(3))]).is_ok());
    }

    #[test]
    fn gateway_without_interface_matches_kernel_resolved_interface() {
        let wanted = Route::via(net("10.0.0.0/8"), vec![hop("192.0.2.1", None)]).expect("valid");
        let present =
            Route::via(net("10.0.0.0/8"), vec![hop("192.0.2.1", Some(7))]).expect("valid");
        assert!(wanted.target().satisfied_by(present.target()));
        let pinned = Route::via(net("10.0.0.0/8"), vec![hop("192.0.2.1", Some(8))]).expect("valid");
        assert!(!pinned.target().satisfied_by(present.target()));
    }

    #[test]
    fn different_next_hop_count_is_a_change() {
        let one = Route::via(net("10.0.0.0/8"), vec![hop("192.0.2.1", None)]).expect("valid");
        let two = Route::via(
            net("10.0.0.0/8"),
            vec![hop("192.0.2.1", None), hop("192.0.2.2", None)],
        )
        .expect("valid");
        assert!(!one.target().satisfied_by(two.target()));
        assert!(!two.target().satisfied_by(one.target()));
    }

    #[test]
    fn if_index_zero_is_no_interface() {
        assert_eq!(IfIndex::new(0), None);
        assert_eq!(IfIndex::new(4).map(IfIndex::get), Some(4));
    }
}
