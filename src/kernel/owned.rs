//! The host's own routes (aggregate, endpoints) and the receipt of what it
//! installed: the one writer of routes tagged [`RTPROT_ROMANA`], so that
//! every change is an add where nothing of the daemon's is, a replace where
//! something is, and a delete only of its own. Learned routes have a tag and
//! a writer of their own ([`super::learned`]).

use std::collections::{HashMap, HashSet};

use ipnet::IpNet;

use super::RTPROT_ROMANA;
use super::error::{Action, ApplyFailed, DumpError, Failure, RouteError, RouteFailure};
use super::plan::{PresentRoute, RouteChange, RouteKey, Sweep, WantedRoutes, plan_except};
use super::route::{Route, RouteTarget};
use super::table::RouteTable;

/// What a reconcile did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReconcileReport {
    pub added: usize,
    pub replaced: usize,
    pub deleted: usize,
    /// The daemon's routes left in place by `Sweep::KeepStale`.
    pub kept_stale: usize,
    /// Changes not made, conflicts with others' routes included.
    pub errors: Vec<RouteError>,
}

/// The host's routes in one routing table.
#[derive(Debug)]
pub struct OwnedRoutes<T> {
    table: T,
    /// The daemon's routes in the kernel under their own key, as last dumped
    /// or installed; `None` for a route with the daemon's tag in a shape it
    /// never installs (someone else added it with that tag).
    installed: HashMap<IpNet, Option<RouteTarget>>,
}

impl<T: RouteTable + Sync> OwnedRoutes<T> {
    /// Reads the whole table and makes it match `wanted`; routes of a
    /// previous run are taken over, and those not wanted are deleted or
    /// kept as `sweep` says; a wanted prefix another's route holds is a
    /// conflict in the report. Only a failed dump is fatal; failed changes
    /// are in the report.
    pub async fn start(
        table: T,
        wanted: &WantedRoutes,
        sweep: Sweep,
    ) -> Result<(Self, ReconcileReport), DumpError> {
        let mut owned = Self {
            table,
            installed: HashMap::new(),
        };
        let present = owned.table.dump(None).await?;
        let report = owned.repair(wanted, &present, sweep, &HashSet::new()).await;
        Ok((owned, report))
    }

    /// Reads the host's routes again (only those: the kernel filters the
    /// dump by their tag, so a full table of learned routes costs nothing
    /// here) and repairs any drift from `wanted`; with `Sweep::RemoveStale`,
    /// this is also the sweep that ends a graceful restart. A wanted route
    /// whose key another's route holds fails to be added (`EEXIST`).
    pub async fn reconcile(
        &mut self,
        wanted: &WantedRoutes,
        sweep: Sweep,
    ) -> Result<ReconcileReport, DumpError> {
        let present = self.table.dump(Some(RTPROT_ROMANA)).await?;
        Ok(self.repair(wanted, &present, sweep, &HashSet::new()).await)
    }

    /// The repair of [`OwnedRoutes::reconcile`], from a dump of the host's
    /// routes taken meanwhile (`present`); the prefixes of `except`,
    /// changed since that dump began, are left as they are.
    pub async fn repair(
        &mut self,
        wanted: &WantedRoutes,
        present: &[PresentRoute],
        sweep: Sweep,
        except: &HashSet<IpNet>,
    ) -> ReconcileReport {
        let plan = plan_except(wanted, present, sweep, except);
        // Sized as the last receipt, which it nearly always matches.
        let mut installed = HashMap::with_capacity(self.installed.len());
        installed.extend(
            present
                .iter()
                .filter(|p| p.is_owned() && p.key == RouteKey::owned(p.key.prefix))
                .filter(|p| except.is_empty() || !except.contains(&p.key.prefix))
                .map(|p| (p.key.prefix, p.target.clone())),
        );
        // What the daemon did to those after the dump is the receipt.
        for prefix in except {
            if let Some(target) = self.installed.get(prefix) {
                installed.insert(*prefix, target.clone());
            }
        }
        self.installed = installed;

        let mut report = ReconcileReport {
            kept_stale: plan.kept_stale.len(),
            errors: plan
                .conflicts
                .iter()
                .map(|c| RouteError {
                    action: Action::Add,
                    prefix: c.prefix,
                    cause: RouteFailure::Conflict {
                        protocol: c.protocol,
                    },
                })
                .collect(),
            ..ReconcileReport::default()
        };
        let results = self.table.apply(RTPROT_ROMANA, &plan.changes).await;
        for (change, result) in plan.changes.into_iter().zip(results) {
            match result {
                Err(e) => report.errors.push(e),
                Ok(()) => {
                    match change {
                        RouteChange::Add(_) => report.added += 1,
                        RouteChange::Replace(_) => report.replaced += 1,
                        RouteChange::Delete(_) => report.deleted += 1,
                    }
                    self.record(change);
                }
            }
        }
        report
    }

    /// Installs or updates one route (a learned prefix's new next-hop set,
    /// the aggregate, an endpoint).
    pub async fn set(&mut self, route: Route) -> Result<(), RouteError> {
        match self.change_for(route) {
            Some(change) => self.apply_one(change).await,
            None => Ok(()),
        }
    }

    /// Installs or updates many routes in batches; the routes not named in
    /// the error were installed. For the same prefix twice, the later wins.
    pub async fn set_many(
        &mut self,
        routes: impl IntoIterator<Item = Route>,
    ) -> Result<(), ApplyFailed> {
        let mut order = Vec::new();
        let mut latest: HashMap<IpNet, Route> = HashMap::new();
        for route in routes {
            let prefix = route.prefix();
            if latest.insert(prefix, route).is_none() {
                order.push(prefix);
            }
        }
        let changes = order
            .into_iter()
            .filter_map(|prefix| latest.remove(&prefix))
            .filter_map(|route| self.change_for(route))
            .collect();
        self.apply(changes).await
    }

    /// Removes the daemon's route for `prefix` (a withdraw); nothing to do
    /// if it has none.
    pub async fn remove(&mut self, prefix: IpNet) -> Result<(), RouteError> {
        if !self.installed.contains_key(&prefix) {
            return Ok(());
        }
        self.apply_one(RouteChange::Delete(RouteKey::owned(prefix)))
            .await
    }

    /// Removes many routes in batches (a session lost).
    pub async fn remove_many(
        &mut self,
        prefixes: impl IntoIterator<Item = IpNet>,
    ) -> Result<(), ApplyFailed> {
        let mut seen = HashSet::new();
        let changes = prefixes
            .into_iter()
            .filter(|prefix| self.installed.contains_key(prefix) && seen.insert(*prefix))
            .map(|prefix| RouteChange::Delete(RouteKey::owned(prefix)))
            .collect();
        self.apply(changes).await
    }

    /// The installed route for `prefix`, if the daemon has one of a shape
    /// it installs.
    pub fn get(&self, prefix: &IpNet) -> Option<&RouteTarget> {
        self.installed.get(prefix).and_then(Option::as_ref)
    }

    /// Whether a route for `prefix` with the daemon's tag is installed.
    pub fn contains(&self, prefix: &IpNet) -> bool {
        self.installed.contains_key(prefix)
    }

    pub fn len(&self) -> usize {
        self.installed.len()
    }

    pub fn is_empty(&self) -> bool {
        self.installed.is_empty()
    }

    pub fn table(&self) -> &T {
        &self.table
    }

    fn change_for(&self, route: Route) -> Option<RouteChange> {
        match self.installed.get(&route.prefix()) {
            Some(Some(installed)) if route.target().satisfied_by(installed) => None,
            Some(_) => Some(RouteChange::Replace(route)),
            None => Some(RouteChange::Add(route)),
        }
    }

    async fn apply_one(&mut self, change: RouteChange) -> Result<(), RouteError> {
        let mut results = self
            .table
            .apply(RTPROT_ROMANA, std::slice::from_ref(&change))
            .await;
        let result = results.pop().unwrap_or_else(|| {
            Err(RouteError {
                action: Action::of(&change),
                prefix: change.prefix(),
                cause: RouteFailure::Netlink(Failure::NoAnswer),
            })
        });
        if result.is_ok() {
            self.record(change);
        }
        result
    }

    async fn apply(&mut self, changes: Vec<RouteChange>) -> Result<(), ApplyFailed> {
        if changes.is_empty() {
            return Ok(());
        }
        let results = self.table.apply(RTPROT_ROMANA, &changes).await;
        let mut errors = Vec::new();
        for (change, result) in changes.into_iter().zip(results) {
            match result {
                Ok(()) => self.record(change),
                Err(e) => errors.push(e),
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(ApplyFailed { errors })
        }
    }

    fn record(&mut self, change: RouteChange) {
        match change {
            RouteChange::Add(route) | RouteChange::Replace(route) => {
                let (prefix, target) = route.into_parts();
                self.installed.insert(prefix, Some(target));
            }
            RouteChange::Delete(key) => {
                if key == RouteKey::owned(key.prefix) {
                    self.installed.remove(&key.prefix);
                }
            }
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;
    use crate::kernel::RTPROT_ROMANA;
    use crate::kernel::error::{Errno, Failure};
    use crate::kernel::plan::PresentRoute;
    use crate::kernel::route::{IfIndex, NextHop};

    const STATIC: u8 = 4;

    /// A main table with the kernel's rules: routes keyed by (prefix,
    /// metric), add exclusive, replace whatever has the key, delete only
    /// with a matching protocol, dumps filtered by protocol.
    /// Clones share the table, as clones of the netlink connection do.
    #[derive(Clone, Default)]
    pub(crate) struct FakeTable {
        routes: Arc<Mutex<Vec<PresentRoute>>>,
        requests: Arc<Mutex<Vec<RouteChange>>>,
        /// How many dumps were asked for, by protocol filter.
        pub(crate) dumps: Arc<Mutex<Vec<Option<u8>>>>,
        /// While set, a dump reads the routes and then waits for this
        /// before it hands them over: a dump the daemon's own changes
        /// overtake.
        pub(crate) dump_gate: Arc<Mutex<Option<Arc<tokio::sync::Notify>>>>,
    }

    impl FakeTable {
        pub(crate) fn with(routes: Vec<PresentRoute>) -> Self {
            Self {
                routes: Arc::new(Mutex::new(routes)),
                ..Self::default()
            }
        }

        pub(crate) fn routes(&self) -> Vec<PresentRoute> {
            self.routes.lock().expect("lock").clone()
        }

        /// Takes a route away behind the daemon's back, as `ip route del`.
        pub(crate) fn remove_by_hand(&self, prefix: IpNet) {
            self.routes
                .lock()
                .expect("lock")
                .retain(|r| r.key.prefix != prefix);
        }

        pub(crate) fn requests(&self) -> Vec<RouteChange> {
            std::mem::take(&mut *self.requests.lock().expect("lock"))
        }

        fn change(&self, protocol: u8, change: &RouteChange) -> Result<(), RouteError> {
            let mut routes = self.routes.lock().expect("lock");
            let fail = |errno| RouteError {
                action: Action::of(change),
                prefix: change.prefix(),
                cause: RouteFailure::Netlink(Failure::Kernel {
                    errno,
                    message: None,
                }),
            };
            match change {
                RouteChange::Add(route) | RouteChange::Replace(route) => {
                    let key = RouteKey::owned(route.prefix());
                    let new = PresentRoute {
                        key,
                        protocol,
                        target: Some(route.target().clone()),
                    };
                    match routes.iter_mut().find(|r| r.key == key) {
                        Some(_) if matches!(change, RouteChange::Add(_)) => {
                            return Err(fail(Errno::EEXIST));
                        }
                        Some(existing) => *existing = new,
                        None => routes.push(new),
                    }
                }
                RouteChange::Delete(key) => {
                    let before = routes.len();
                    routes.retain(|r| !(r.key == *key && r.protocol == protocol));
                    if routes.len() == before {
                        return Err(fail(Errno::ESRCH));
                    }
                }
            }
            Ok(())
        }
    }

    impl RouteTable for FakeTable {
        async fn dump_each(
            &self,
            protocol: Option<u8>,
            mut each: impl FnMut(PresentRoute) + Send,
        ) -> Result<bool, DumpError> {
            self.dumps.lock().expect("lock").push(protocol);
            let routes = self.routes();
            let gate = self.dump_gate.lock().expect("lock").clone();
            if let Some(gate) = gate {
                gate.notified().await;
            }
            for route in routes {
                if protocol.is_none_or(|p| p == route.protocol) {
                    each(route);
                }
            }
            Ok(false)
        }

        async fn apply(
            &self,
            protocol: u8,
            changes: &[RouteChange],
        ) -> Vec<Result<(), RouteError>> {
            self.requests
                .lock()
                .expect("lock")
                .extend_from_slice(changes);
            changes
                .iter()
                .map(|c| {
                    self.change(protocol, c).or_else(|e| match (c, &e.cause) {
                        // As the netlink table: deleting what is gone is done.
                        (
                            RouteChange::Delete(_),
                            RouteFailure::Netlink(Failure::Kernel { errno, .. }),
                        ) if *errno == Errno::ESRCH => Ok(()),
                        _ => Err(e),
                    })
                })
                .collect()
        }
    }

    pub(crate) fn net(s: &str) -> IpNet {
        s.parse().expect("test prefix")
    }

    pub(crate) fn via(prefix: &str, gateways: &[&str]) -> Route {
        let hops = gateways
            .iter()
            .map(|g| NextHop {
                gateway: g.parse().expect("test address"),
                ifindex: None,
            })
            .collect();
        Route::via(net(prefix), hops).expect("valid route")
    }

    fn endpoint(prefix: &str) -> Route {
        Route::interface(net(prefix), IfIndex::new(7).expect("nonzero")).expect("valid route")
    }

    pub(crate) fn present(route: &Route, protocol: u8) -> PresentRoute {
        PresentRoute {
            key: RouteKey::owned(route.prefix()),
            protocol,
            target: Some(route.target().clone()),
        }
    }

    async fn start(
        table: FakeTable,
        wanted: &[Route],
        sweep: Sweep,
    ) -> (OwnedRoutes<FakeTable>, ReconcileReport) {
        let wanted: WantedRoutes = wanted.iter().cloned().collect();
        OwnedRoutes::start(table, &wanted, sweep)
            .await
            .expect("dump")
    }

    #[tokio::test]
    async fn start_installs_wanted_sweeps_stale_and_keeps_foreign() {
        let aggregate = Route::unreachable(net("10.1.0.0/16")).expect("valid");
        let stale = endpoint("10.1.0.9/32");
        let foreign = via("192.168.0.0/16", &["192.0.2.1"]);
        let table = FakeTable::with(vec![
            present(&stale, RTPROT_ROMANA),
            present(&foreign, STATIC),
        ]);
        let (owned, report) =
            start(table, std::slice::from_ref(&aggregate), Sweep::RemoveStale).await;
        assert_eq!((report.added, report.deleted), (1, 1));
        assert!(report.errors.is_empty());
        assert_eq!(
            owned.table().routes(),
            vec![
                present(&foreign, STATIC),
                present(&aggregate, RTPROT_ROMANA)
            ]
        );
        assert_eq!(owned.get(&aggregate.prefix()), Some(aggregate.target()));
        assert!(!owned.contains(&stale.prefix()));
    }

    #[tokio::test]
    async fn wanted_prefix_held_by_another_protocol_is_a_conflict() {
        let theirs = via("0.0.0.0/0", &["198.51.100.1"]);
        let ours = via("0.0.0.0/0", &["192.0.2.1"]);
        let table = FakeTable::with(vec![present(&theirs, STATIC)]);
        let (owned, report) = start(table, &[ours], Sweep::RemoveStale).await;
        assert_eq!(
            report.errors,
            vec![RouteError {
                action: Action::Add,
                prefix: net("0.0.0.0/0"),
                cause: RouteFailure::Conflict { protocol: STATIC },
            }]
        );
        assert_eq!(owned.table().routes(), vec![present(&theirs, STATIC)]);
        assert!(owned.table().requests().is_empty());
    }

    #[tokio::test]
    async fn graceful_restart_keeps_stale_routes_until_the_sweep() {
        let learned = via("0.0.0.0/0", &["192.0.2.1", "198.51.100.1"]);
        let table = FakeTable::with(vec![present(&learned, RTPROT_ROMANA)]);
        let (mut owned, report) = start(table, &[], Sweep::KeepStale).await;
        assert_eq!((report.kept_stale, report.deleted), (1, 0));
        assert_eq!(owned.table().routes().len(), 1);

        let report = owned
            .reconcile(&WantedRoutes::new(), Sweep::RemoveStale)
            .await
            .expect("dump");
        assert_eq!(report.deleted, 1);
        assert!(owned.table().routes().is_empty());
        assert!(owned.is_empty());
    }

    #[tokio::test]
    async fn route_of_a_previous_run_is_replaced_not_added() {
        let before = via("0.0.0.0/0", &["192.0.2.1", "198.51.100.1"]);
        let after = via("0.0.0.0/0", &["192.0.2.1"]);
        let table = FakeTable::with(vec![present(&before, RTPROT_ROMANA)]);
        let (mut owned, _) = start(table, &[], Sweep::KeepStale).await;
        owned.set(after.clone()).await.expect("replace");
        assert_eq!(
            owned.table().requests(),
            vec![RouteChange::Replace(after.clone())]
        );
        assert_eq!(owned.table().routes(), vec![present(&after, RTPROT_ROMANA)]);
    }

    #[tokio::test]
    async fn route_of_a_previous_run_that_matches_is_not_touched() {
        // The kernel reports the interface it resolved each gateway to.
        let dumped = Route::via(
            net("0.0.0.0/0"),
            vec![NextHop {
                gateway: "192.0.2.1".parse().expect("address"),
                ifindex: IfIndex::new(3),
            }],
        )
        .expect("valid");
        let table = FakeTable::with(vec![present(&dumped, RTPROT_ROMANA)]);
        let (mut owned, _) = start(table, &[], Sweep::KeepStale).await;
        owned
            .set(via("0.0.0.0/0", &["192.0.2.1"]))
            .await
            .expect("no change");
        assert!(owned.table().requests().is_empty());
    }

    #[tokio::test]
    async fn set_adds_then_skips_then_replaces() {
        let (mut owned, _) = start(FakeTable::default(), &[], Sweep::RemoveStale).await;
        let two = via("10.2.0.0/16", &["192.0.2.1", "198.51.100.1"]);
        let one = via("10.2.0.0/16", &["198.51.100.1"]);
        owned.set(two.clone()).await.expect("add");
        owned.set(two.clone()).await.expect("no change");
        owned.set(one.clone()).await.expect("replace");
        assert_eq!(
            owned.table().requests(),
            vec![RouteChange::Add(two), RouteChange::Replace(one.clone())]
        );
        assert_eq!(owned.get(&one.prefix()), Some(one.target()));
    }

    #[tokio::test]
    async fn set_on_a_prefix_someone_else_holds_fails_and_leaves_it() {
        let theirs = via("10.3.0.0/16", &["198.51.100.1"]);
        let (mut owned, _) = start(
            FakeTable::with(vec![present(&theirs, STATIC)]),
            &[],
            Sweep::RemoveStale,
        )
        .await;
        let err = owned
            .set(via("10.3.0.0/16", &["192.0.2.1"]))
            .await
            .expect_err("conflict");
        assert_eq!(err.action, Action::Add);
        assert_eq!(
            err.cause.clone(),
            RouteFailure::Netlink(Failure::Kernel {
                errno: Errno::EEXIST,
                message: None
            })
        );
        assert_eq!(owned.table().routes(), vec![present(&theirs, STATIC)]);
        assert!(!owned.contains(&net("10.3.0.0/16")));
    }

    #[tokio::test]
    async fn remove_deletes_only_what_was_installed() {
        let theirs = via("10.4.0.0/16", &["198.51.100.1"]);
        let ours = via("10.5.0.0/16", &["192.0.2.1"]);
        let (mut owned, _) = start(
            FakeTable::with(vec![present(&theirs, STATIC)]),
            &[],
            Sweep::RemoveStale,
        )
        .await;
        owned.set(ours.clone()).await.expect("add");
        owned.table().requests();
        owned.remove(theirs.prefix()).await.expect("nothing to do");
        assert!(owned.table().requests().is_empty());
        owned.remove(ours.prefix()).await.expect("delete");
        assert_eq!(
            owned.table().requests(),
            vec![RouteChange::Delete(RouteKey::owned(ours.prefix()))]
        );
        assert_eq!(owned.table().routes(), vec![present(&theirs, STATIC)]);
    }

    #[tokio::test]
    async fn set_many_sends_one_change_per_prefix_and_the_later_wins() {
        let (mut owned, _) = start(FakeTable::default(), &[], Sweep::RemoveStale).await;
        let first = endpoint("10.1.0.2/32");
        let later =
            Route::interface(net("10.1.0.2/32"), IfIndex::new(8).expect("nonzero")).expect("valid");
        owned
            .set_many([first, endpoint("10.1.0.3/32"), later.clone()])
            .await
            .expect("batch");
        assert_eq!(
            owned.table().requests(),
            vec![
                RouteChange::Add(later.clone()),
                RouteChange::Add(endpoint("10.1.0.3/32"))
            ]
        );
        owned
            .set_many([endpoint("10.1.0.2/32"), later.clone()])
            .await
            .expect("batch");
        assert!(
            owned.table().requests().is_empty(),
            "back to what is installed"
        );
        owned
            .remove_many([net("10.1.0.2/32"), net("10.1.0.3/32"), net("10.1.0.2/32")])
            .await
            .expect("batch");
        assert_eq!(owned.table().requests().len(), 2);
        assert!(owned.is_empty());
    }
}
