//! The pure diff between the routes the daemon wants and the routes the
//! kernel has: which to add, replace and delete, and which prefixes are held
//! by someone else. No I/O, so it is tested without privileges.

use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};

use ipnet::IpNet;

use super::RTPROT_ROMANA;
use super::route::{Route, RouteTarget, kernel_metric};

/// The kernel identifies a route of the main table by prefix and metric.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RouteKey {
    pub prefix: IpNet,
    pub metric: u32,
}

impl RouteKey {
    /// The key the daemon installs `prefix` under.
    pub fn owned(prefix: IpNet) -> Self {
        Self {
            prefix,
            metric: kernel_metric(prefix),
        }
    }
}

/// A route of the main table as the kernel reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PresentRoute {
    pub key: RouteKey,
    /// The routing protocol tag (`rtm_protocol`).
    pub protocol: u8,
    /// `None` for shapes the daemon never installs (blackhole, prohibit,
    /// multipath without gateways, ...).
    pub target: Option<RouteTarget>,
}

impl PresentRoute {
    pub fn is_owned(&self) -> bool {
        self.protocol == RTPROT_ROMANA
    }
}

/// One request to the kernel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RouteChange {
    /// Create; fails with EEXIST if any route has the key, which is how a
    /// route that appeared since the dump is left alone.
    Add(Route),
    /// Overwrite the daemon's own route for the prefix in one step
    /// (NLM_F_REPLACE), so traffic never sees the prefix missing.
    Replace(Route),
    /// Delete the daemon's route with this key; the kernel matches the
    /// protocol tag too, so another's route is never deleted.
    Delete(RouteKey),
}

impl RouteChange {
    pub fn prefix(&self) -> IpNet {
        match self {
            Self::Add(r) | Self::Replace(r) => r.prefix(),
            Self::Delete(k) => k.prefix,
        }
    }
}

/// What to do with routes tagged as the daemon's that are no longer wanted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sweep {
    /// Delete them: the normal case, and the end of a graceful restart.
    RemoveStale,
    /// Keep them: while restarting gracefully (RFC 4724 §4.2), learned
    /// routes of the previous run keep forwarding until the sessions are
    /// back and have sent their routes again; then sweep with
    /// `RemoveStale`.
    KeepStale,
}

/// The routes the daemon wants, one per prefix.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WantedRoutes(HashMap<IpNet, RouteTarget>);

impl WantedRoutes {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds or overwrites the route for its prefix; returns what it
    /// replaced.
    pub fn insert(&mut self, route: Route) -> Option<RouteTarget> {
        let (prefix, target) = route.into_parts();
        self.0.insert(prefix, target)
    }

    pub fn remove(&mut self, prefix: &IpNet) -> Option<RouteTarget> {
        self.0.remove(prefix)
    }

    pub fn get(&self, prefix: &IpNet) -> Option<&RouteTarget> {
        self.0.get(prefix)
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&IpNet, &RouteTarget)> {
        self.0.iter()
    }
}

impl FromIterator<Route> for WantedRoutes {
    /// A later route for the same prefix wins.
    fn from_iter<I: IntoIterator<Item = Route>>(routes: I) -> Self {
        let mut wanted = Self::new();
        for route in routes {
            wanted.insert(route);
        }
        wanted
    }
}

/// A wanted prefix that another protocol's route holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Conflict {
    pub prefix: IpNet,
    pub protocol: u8,
}

/// The changes that make the kernel match the wanted routes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Plan {
    pub changes: Vec<RouteChange>,
    /// Wanted routes not installed because another's route has their key.
    pub conflicts: Vec<Conflict>,
    /// Routes of the daemon kept although not wanted (`Sweep::KeepStale`).
    pub kept_stale: Vec<RouteKey>,
}

/// Compares the wanted routes with a dump of the main table. Only the
/// daemon's own routes are ever changed or deleted; a route of another
/// protocol under a wanted key makes a conflict and no change.
pub fn plan(wanted: &WantedRoutes, present: &[PresentRoute], sweep: Sweep) -> Plan {
    plan_except(wanted, present, sweep, &HashSet::new())
}

/// [`plan`], leaving the prefixes of `except` as they are: those the
/// daemon changed after the dump began, whose state in the dump is out of
/// date.
pub fn plan_except(
    wanted: &WantedRoutes,
    present: &[PresentRoute],
    sweep: Sweep,
    except: &HashSet<IpNet>,
) -> Plan {
    let left_alone = |prefix: &IpNet| !except.is_empty() && except.contains(prefix);
    // Sized once: at ten thousand endpoints, growing it was a tenth of the
    // compare.
    let mut owned: HashMap<RouteKey, Option<&RouteTarget>> =
        HashMap::with_capacity(present.iter().filter(|r| r.is_owned()).count());
    let mut foreign: HashMap<RouteKey, u8> = HashMap::new();
    for route in present {
        if left_alone(&route.key.prefix) {
            continue;
        }
        if route.is_owned() {
            owned.insert(route.key, route.target.as_ref());
        } else if let Entry::Vacant(slot) = foreign.entry(route.key) {
            slot.insert(route.protocol);
        }
    }

    let mut result = Plan::default();
    for (prefix, target) in wanted.iter().filter(|(prefix, _)| !left_alone(prefix)) {
        let key = RouteKey::owned(*prefix);
        let route = || Route::from_parts(*prefix, target.clone());
        // What is left in `owned` after this loop, no wanted route holds.
        let installed = owned.remove(&key);
        if let Some(&protocol) = foreign.get(&key) {
            result.conflicts.push(Conflict {
                prefix: *prefix,
                protocol,
            });
            continue;
        }
        match installed {
            None => result.changes.push(RouteChange::Add(route())),
            Some(Some(present)) if target.satisfied_by(present) => {}
            Some(_) => result.changes.push(RouteChange::Replace(route())),
        }
    }
    // Deterministic order: easier to read in logs and to test.
    result.changes.sort_unstable_by_key(RouteChange::prefix);
    result.conflicts.sort_unstable_by_key(|c| c.prefix);

    let mut stale: Vec<RouteKey> = owned.into_keys().collect();
    stale.sort_unstable_by_key(|k| (k.prefix, k.metric));
    match sweep {
        Sweep::RemoveStale => result
            .changes
            .extend(stale.into_iter().map(RouteChange::Delete)),
        Sweep::KeepStale => result.kept_stale = stale,
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::route::{IfIndex, NextHop};

    const STATIC: u8 = 4;

    fn net(s: &str) -> IpNet {
        s.parse().expect("test prefix")
    }

    fn via(prefix: &str, gateways: &[&str]) -> Route {
        let hops = gateways
            .iter()
            .map(|g| NextHop {
                gateway: g.parse().expect("test address"),
                ifindex: None,
            })
            .collect();
        Route::via(net(prefix), hops).expect("valid route")
    }

    fn present(route: &Route, protocol: u8) -> PresentRoute {
        PresentRoute {
            key: RouteKey::owned(route.prefix()),
            protocol,
            target: Some(route.target().clone()),
        }
    }

    fn wanted(routes: &[Route]) -> WantedRoutes {
        routes.iter().cloned().collect()
    }

    #[test]
    fn prefixes_changed_since_the_dump_are_left_alone() {
        let (added, kept, stale) = (
            via("10.1.0.0/16", &["192.0.2.1"]),
            via("10.2.0.0/16", &["192.0.2.1"]),
            via("10.3.0.0/16", &["192.0.2.1"]),
        );
        let present = [present(&stale, RTPROT_ROMANA)];
        let changed = HashSet::from([added.prefix(), stale.prefix()]);
        let p = plan_except(
            &wanted(&[added, kept.clone()]),
            &present,
            Sweep::RemoveStale,
            &changed,
        );
        assert_eq!(p.changes, vec![RouteChange::Add(kept)]);
    }

    #[test]
    fn missing_route_is_added() {
        let r = via("10.0.0.0/8", &["192.0.2.1"]);
        let p = plan(&wanted(std::slice::from_ref(&r)), &[], Sweep::RemoveStale);
        assert_eq!(p.changes, vec![RouteChange::Add(r)]);
    }

    #[test]
    fn identical_route_needs_no_change() {
        let r = via("10.0.0.0/8", &["192.0.2.1", "192.0.2.2"]);
        let p = plan(
            &wanted(std::slice::from_ref(&r)),
            &[present(&r, RTPROT_ROMANA)],
            Sweep::RemoveStale,
        );
        assert_eq!(p, Plan::default());
    }

    #[test]
    fn changed_next_hops_are_replaced() {
        let old = via("10.0.0.0/8", &["192.0.2.1", "192.0.2.2"]);
        let new = via("10.0.0.0/8", &["192.0.2.1"]);
        let p = plan(
            &wanted(std::slice::from_ref(&new)),
            &[present(&old, RTPROT_ROMANA)],
            Sweep::RemoveStale,
        );
        assert_eq!(p.changes, vec![RouteChange::Replace(new)]);
    }

    #[test]
    fn unknown_shape_of_own_route_is_replaced() {
        let r = Route::unreachable(net("10.1.0.0/16")).expect("valid");
        let mut odd = present(&r, RTPROT_ROMANA);
        odd.target = None;
        let p = plan(
            &wanted(std::slice::from_ref(&r)),
            &[odd],
            Sweep::RemoveStale,
        );
        assert_eq!(p.changes, vec![RouteChange::Replace(r)]);
    }

    #[test]
    fn foreign_route_with_same_key_is_a_conflict_and_untouched() {
        let r = via("0.0.0.0/0", &["192.0.2.1"]);
        let theirs = via("0.0.0.0/0", &["198.51.100.1"]);
        let p = plan(
            &wanted(std::slice::from_ref(&r)),
            &[present(&theirs, STATIC)],
            Sweep::RemoveStale,
        );
        assert!(p.changes.is_empty());
        assert_eq!(
            p.conflicts,
            vec![Conflict {
                prefix: net("0.0.0.0/0"),
                protocol: STATIC
            }]
        );
    }

    #[test]
    fn foreign_route_with_other_metric_does_not_conflict() {
        let r = via("0.0.0.0/0", &["192.0.2.1"]);
        let mut theirs = present(&via("0.0.0.0/0", &["198.51.100.1"]), 16);
        theirs.key.metric = 100;
        let p = plan(
            &wanted(std::slice::from_ref(&r)),
            &[theirs],
            Sweep::RemoveStale,
        );
        assert_eq!(p.changes, vec![RouteChange::Add(r)]);
        assert!(p.conflicts.is_empty());
    }

    #[test]
    fn foreign_routes_are_never_deleted() {
        let theirs = via("10.0.0.0/8", &["192.0.2.1"]);
        let p = plan(
            &WantedRoutes::new(),
            &[present(&theirs, STATIC)],
            Sweep::RemoveStale,
        );
        assert_eq!(p, Plan::default());
    }

    #[test]
    fn stale_own_routes_are_deleted_when_sweeping() {
        let stale =
            Route::interface(net("10.1.2.3/32"), IfIndex::new(5).expect("nonzero")).expect("valid");
        let p = plan(
            &WantedRoutes::new(),
            &[present(&stale, RTPROT_ROMANA)],
            Sweep::RemoveStale,
        );
        assert_eq!(
            p.changes,
            vec![RouteChange::Delete(RouteKey::owned(net("10.1.2.3/32")))]
        );
    }

    #[test]
    fn stale_own_routes_are_kept_for_graceful_restart() {
        let stale = via("10.0.0.0/8", &["192.0.2.1"]);
        let p = plan(
            &WantedRoutes::new(),
            &[present(&stale, RTPROT_ROMANA)],
            Sweep::KeepStale,
        );
        assert!(p.changes.is_empty());
        assert_eq!(p.kept_stale, vec![RouteKey::owned(net("10.0.0.0/8"))]);
    }

    #[test]
    fn own_route_under_another_metric_is_swept_and_ours_added() {
        let r = via("10.0.0.0/8", &["192.0.2.1"]);
        let mut odd = present(&r, RTPROT_ROMANA);
        odd.key.metric = 50;
        let p = plan(
            &wanted(std::slice::from_ref(&r)),
            &[odd],
            Sweep::RemoveStale,
        );
        assert_eq!(
            p.changes,
            vec![
                RouteChange::Add(r),
                RouteChange::Delete(RouteKey {
                    prefix: net("10.0.0.0/8"),
                    metric: 50
                })
            ]
        );
    }

    #[test]
    fn ipv6_routes_live_under_metric_1024() {
        let r = Route::unreachable(net("2001:db8::/48")).expect("valid");
        let mut p6 = present(&r, RTPROT_ROMANA);
        assert_eq!(p6.key.metric, 1024);
        let p = plan(
            &wanted(std::slice::from_ref(&r)),
            std::slice::from_ref(&p6),
            Sweep::RemoveStale,
        );
        assert_eq!(p, Plan::default());
        p6.key.metric = 0;
        let p = plan(&wanted(std::slice::from_ref(&r)), &[p6], Sweep::RemoveStale);
        assert_eq!(p.changes.len(), 2);
    }
}
