//! The task that owns the RIB and the kernel's routes: every neighbor sends
//! it the prefixes it accepted, over a bounded queue (so a peer that sends
//! faster than the kernel takes routes waits in TCP, and a leaked table is
//! never parsed and queued whole), the control API and the endpoint task
//! send it the host's own routes, and it alone writes routes, a batch at a
//! time.

use std::collections::HashSet;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use ipnet::IpNet;
use tokio::sync::{broadcast, mpsc, oneshot};
use tokio::time::Instant;
use tracing::{debug, info, warn};

use super::neighbor::NeighborCommand;
use super::rib::{Claim, NeighborIdx, Path, PathAttrs, Rib};
use crate::api::protocol::{EventKind, RouteEntry, SessionEvent};
use crate::api::time::now_ms;
use crate::kernel::{
    ApplyFailed, DumpError, IfIndex, NextHop, OwnedRoutes, PresentRoute, RTPROT_ROMANA,
    ReconcileReport, Route, RouteChange, RouteError, RouteKey, RouteTable, Sweep, WantedRoutes,
    learned,
};
use std::sync::Arc;

/// Neighbors' commands (UPDATEs, sessions down) waiting for the RIB task,
/// all neighbors together. An UPDATE carries up to about a thousand
/// prefixes, so this bounds what is parsed and not yet in the RIB to tens
/// of thousands of prefixes.
pub const UPDATE_QUEUE: usize = 64;

/// A check of the learned routes in the kernel waits this many times as
/// long as the last one took: with a leaked full table one costs about a
/// second and a half, and the daemon must stay idle between them.
const CHECK_BACKOFF: u32 = 200;

/// ... at least this long ...
const CHECK_EVERY: Duration = Duration::from_secs(2);

/// ... and for learned routes left alone this long: a table that is coming
/// in is not compared while it comes.
const CHECK_QUIET: Duration = Duration::from_secs(10);

#[derive(Debug)]
pub enum RibCommand {
    /// What one UPDATE changed for a neighbor, after its import policy.
    Update {
        neighbor: NeighborIdx,
        withdraw: Vec<IpNet>,
        announce: Vec<IpNet>,
        /// The attributes shared by the announced IPv4 and IPv6 prefixes;
        /// a family without a next hop has none, and its prefixes are not
        /// taken.
        attrs_v4: Option<Arc<PathAttrs>>,
        attrs_v6: Option<Arc<PathAttrs>>,
    },
    /// The neighbor's session left Established: its paths go.
    NeighborDown(NeighborIdx),
    /// `show routes`.
    Routes(oneshot::Sender<Vec<RouteEntry>>),
    /// Install routes of the host's own (endpoints' /32s), kept through
    /// every reconcile until removed; one batch for all of them.
    SetLocal {
        routes: Vec<Route>,
        reply: oneshot::Sender<Result<(), ApplyFailed>>,
    },
    RemoveLocal {
        prefixes: Vec<IpNet>,
        reply: oneshot::Sender<Result<(), ApplyFailed>>,
    },
    /// Read the kernel's table of the host's routes and repair any drift
    /// from what is wanted. Learned routes are checked after it, and only
    /// every so often (see [`CHECK_BACKOFF`]).
    Reconcile(oneshot::Sender<Result<ReconcileReport, DumpError>>),
}

/// What the RIB task knows of each neighbor.
pub struct NeighborSlot {
    pub address: std::net::IpAddr,
    pub max_prefixes: u32,
    pub commands: mpsc::Sender<NeighborCommand>,
    /// The accepted count, read by the control API.
    pub accepted: Arc<std::sync::atomic::AtomicU64>,
}

pub struct RibTask<T> {
    rib: Rib,
    /// The host's own routes in the kernel; its table also takes the
    /// learned routes, whose receipt is the RIB.
    routes: OwnedRoutes<T>,
    /// The host's own routes: the aggregate and the endpoints.
    local: WantedRoutes,
    neighbors: Vec<NeighborSlot>,
    events: broadcast::Sender<SessionEvent>,
    /// When the learned routes in the kernel are compared with the RIB next.
    check_due: Instant,
    /// When learned routes were last written.
    last_write: Instant,
    /// The check of the host's routes under way, if one is.
    routes_check: Option<RoutesCheck>,
}

/// A check of the host's routes: its dump runs while the task serves
/// requests (at ten thousand endpoints the kernel takes 15 ms to dump their
/// routes, and an endpoint add waiting that long for its route would miss
/// its 5 ms), and the prefixes the task changes meanwhile are left out of
/// the comparison, the dump being out of date for them. Any other dump of
/// the task's must wait for it to end (see `check_learned`).
struct RoutesCheck {
    dump: Pin<Box<dyn Future<Output = Result<Vec<PresentRoute>, DumpError>> + Send>>,
    changed: HashSet<IpNet>,
    replies: Vec<oneshot::Sender<Result<ReconcileReport, DumpError>>>,
}

impl<T: RouteTable + Clone + Send + Sync + 'static> RibTask<T> {
    pub fn new(
        routes: OwnedRoutes<T>,
        local: WantedRoutes,
        neighbors: Vec<NeighborSlot>,
        events: broadcast::Sender<SessionEvent>,
    ) -> Self {
        let now = Instant::now();
        RibTask {
            rib: Rib::default(),
            routes,
            local,
            neighbors,
            events,
            check_due: now,
            last_write: now,
            routes_check: None,
        }
    }

    /// Run until every sender is gone; then hand back the host's routes in
    /// the kernel, whose table the daemon's shutdown clears of learned
    /// routes. The host's requests (`commands`) go before the neighbors'
    /// (`updates`).
    pub async fn run(
        mut self,
        mut commands: mpsc::UnboundedReceiver<RibCommand>,
        mut updates: mpsc::Receiver<RibCommand>,
    ) -> OwnedRoutes<T> {
        let mut touched = Vec::new();
        loop {
            let cmd = tokio::select! {
                biased;
                Some(cmd) = commands.recv() => cmd,
                present = async {
                    self.routes_check.as_mut().map(|c| c.dump.as_mut()).expect("guarded").await
                }, if self.routes_check.is_some() => {
                    self.finish_routes_check(present).await;
                    continue;
                }
                Some(cmd) = updates.recv() => cmd,
                else => break,
            };
            self.handle(cmd, &mut touched).await;
            // Take what is queued before writing to the kernel, so a burst
            // of UPDATEs costs batches, not a write each; no more than the
            // queue held, or a fast peer would keep the kernel waiting.
            while let Ok(cmd) = commands.try_recv() {
                self.handle(cmd, &mut touched).await;
            }
            for _ in 0..UPDATE_QUEUE {
                let Ok(cmd) = updates.try_recv() else { break };
                self.handle(cmd, &mut touched).await;
            }
            self.report_counts(&touched);
            touched.clear();
            self.write_kernel(&mut commands, &mut touched).await;
            let now = Instant::now();
            if now >= self.check_due && now >= self.last_write + CHECK_QUIET {
                self.check_learned().await;
                self.write_kernel(&mut commands, &mut touched).await;
            }
        }
        self.routes
    }

    async fn handle(&mut self, cmd: RibCommand, touched: &mut Vec<NeighborIdx>) {
        match cmd {
            RibCommand::Update {
                neighbor,
                withdraw,
                announce,
                attrs_v4,
                attrs_v6,
            } => {
                for prefix in withdraw {
                    self.rib.withdraw(prefix, neighbor);
                }
                for prefix in announce {
                    let attrs = match prefix {
                        IpNet::V4(_) => &attrs_v4,
                        IpNet::V6(_) => &attrs_v6,
                    };
                    if let Some(attrs) = attrs {
                        let path = Path {
                            neighbor,
                            attrs: attrs.clone(),
                        };
                        self.rib.announce(prefix, path);
                    }
                }
                touched.push(neighbor);
            }
            RibCommand::NeighborDown(neighbor) => {
                self.rib.drop_neighbor(neighbor);
                touched.push(neighbor);
            }
            RibCommand::Routes(reply) => {
                let _ = reply.send(self.routes_view());
            }
            RibCommand::SetLocal { routes, reply } => {
                self.give_way(routes.iter().map(Route::prefix)).await;
                self.changed_during_check(routes.iter().map(Route::prefix));
                for route in &routes {
                    self.local.insert(route.clone());
                }
                let _ = reply.send(self.routes.set_many(routes).await);
            }
            RibCommand::RemoveLocal { prefixes, reply } => {
                self.changed_during_check(prefixes.iter().copied());
                for prefix in &prefixes {
                    self.local.remove(prefix);
                }
                let result = self.routes.remove_many(prefixes.iter().copied()).await;
                // A learned route may take the prefix back.
                for prefix in prefixes {
                    self.rib.requeue(prefix);
                }
                let _ = reply.send(result);
            }
            RibCommand::Reconcile(reply) => match &mut self.routes_check {
                Some(check) => check.replies.push(reply),
                None => {
                    let table = self.routes.table().clone();
                    self.routes_check = Some(RoutesCheck {
                        dump: Box::pin(async move { table.dump(Some(RTPROT_ROMANA)).await }),
                        changed: HashSet::new(),
                        replies: vec![reply],
                    });
                }
            },
        }
    }

    fn changed_during_check(&mut self, prefixes: impl Iterator<Item = IpNet>) {
        if let Some(check) = &mut self.routes_check {
            check.changed.extend(prefixes);
        }
    }

    /// Repairs the drift the check's dump shows, and answers those who
    /// asked for the check.
    async fn finish_routes_check(&mut self, present: Result<Vec<PresentRoute>, DumpError>) {
        let Some(check) = self.routes_check.take() else {
            return;
        };
        let report = match present {
            Ok(present) => Ok(self
                .routes
                .repair(&self.local, &present, Sweep::RemoveStale, &check.changed)
                .await),
            Err(e) => Err(e),
        };
        for reply in check.replies {
            let _ = reply.send(report.clone());
        }
    }

    /// The host's own routes are never replaced by what a leaf sends back:
    /// a learned route under a prefix the host takes goes first (the host's
    /// add would fail over it).
    async fn give_way(&mut self, prefixes: impl Iterator<Item = IpNet>) {
        let deletes: Vec<RouteChange> = prefixes
            .filter(|prefix| self.rib.is_installed(prefix))
            .map(|prefix| RouteChange::Delete(RouteKey::owned(prefix)))
            .collect();
        if deletes.is_empty() {
            return;
        }
        let results = learned::apply(self.routes.table(), &deletes).await;
        for (change, result) in deletes.iter().zip(results) {
            if let Err(e) = result {
                warn!("learned route under a host route: {e}");
            }
            self.rib.uninstalled(&change.prefix());
        }
    }

    /// Publish accepted counts, tell a neighbor over its limit (RFC 4486
    /// Cease/Maximum Number of Prefixes Reached), and emit count events.
    fn report_counts(&mut self, touched: &[NeighborIdx]) {
        let mut seen = Vec::with_capacity(touched.len());
        for &n in touched {
            if seen.contains(&n) {
                continue;
            }
            seen.push(n);
            let Some(slot) = self.neighbors.get(usize::from(n.0)) else {
                continue;
            };
            let count = self.rib.accepted(n);
            let before = slot
                .accepted
                .swap(count, std::sync::atomic::Ordering::Relaxed);
            if before == count {
                continue;
            }
            if count > u64::from(slot.max_prefixes) && before <= u64::from(slot.max_prefixes) {
                let _ = slot.commands.try_send(NeighborCommand::MaxPrefixesReached);
            }
            let _ = self.events.send(SessionEvent {
                at_ms: now_ms(),
                neighbor: slot.address,
                kind: EventKind::PrefixesAccepted { count },
            });
        }
    }

    /// Write the RIB's pending changes to the kernel, a batch at a time:
    /// only one batch of routes and requests exists at any moment, and the
    /// host's requests are served between batches, so an endpoint does not
    /// wait for a whole table.
    async fn write_kernel(
        &mut self,
        commands: &mut mpsc::UnboundedReceiver<RibCommand>,
        touched: &mut Vec<NeighborIdx>,
    ) {
        let limit = self.routes.table().batch_limit().max(1);
        let mut failed = 0usize;
        let mut first_error: Option<RouteError> = None;
        loop {
            let batch = self.rib.take_pending(limit);
            if batch.is_empty() {
                break;
            }
            let changes = self.changes(batch);
            self.last_write = Instant::now();
            let results = learned::apply(self.routes.table(), &changes).await;
            for (change, result) in changes.iter().zip(results) {
                let installed = match (change, &result) {
                    (RouteChange::Delete(_), _) => false,
                    (_, Ok(())) => true,
                    // A failed replace leaves the route that was there.
                    (RouteChange::Replace(_), Err(_)) => true,
                    (RouteChange::Add(_), Err(_)) => false,
                };
                self.rib.set_installed(&change.prefix(), installed);
                if let Err(e) = result {
                    failed += 1;
                    first_error.get_or_insert(e);
                }
            }
            while let Ok(cmd) = commands.try_recv() {
                self.handle(cmd, touched).await;
            }
        }
        if let Some(e) = first_error {
            warn!(failed, "learned routes not installed; the first: {e}");
        }
        debug!(prefixes = self.rib.len(), "kernel updated");
    }

    /// The kernel changes for a batch of pending prefixes: an add where the
    /// RIB has installed nothing, a replace where it has, a delete where no
    /// path is left. A prefix without a change is answered at once.
    fn changes(&mut self, batch: Vec<IpNet>) -> Vec<RouteChange> {
        let mut changes = Vec::with_capacity(batch.len());
        for prefix in batch {
            let installed = self.rib.is_installed(&prefix);
            let hops = self.rib.next_hops(&prefix);
            // The host's own routes (its block, its endpoints) are never
            // replaced by what a leaf sends back.
            let route = if hops.is_empty() || self.local.get(&prefix).is_some() {
                None
            } else {
                Route::via(prefix, hops.iter().map(kernel_next_hop).collect())
                    .inspect_err(|e| warn!(%prefix, error = %e, "route not installable"))
                    .ok()
            };
            match (route, installed) {
                (Some(route), false) => changes.push(RouteChange::Add(route)),
                (Some(route), true) => changes.push(RouteChange::Replace(route)),
                (None, true) => changes.push(RouteChange::Delete(RouteKey::owned(prefix))),
                (None, false) => self.rib.set_installed(&prefix, false),
            }
        }
        changes
    }

    /// Compare the learned routes in the kernel with the RIB's receipt:
    /// put back what was deleted behind the daemon's back, correct what was
    /// changed, delete learned routes no path wants. The dump is filtered by
    /// the learned tag and read as it comes, never held whole.
    async fn check_learned(&mut self) {
        // Dumps share one socket, each holding it to its end, and the
        // host check's dump goes on only when this task polls it: it must
        // end before this one can begin.
        if let Some(check) = &mut self.routes_check {
            let present = check.dump.as_mut().await;
            self.finish_routes_check(present).await;
        }
        let started = Instant::now();
        let (rib, local) = (&mut self.rib, &self.local);
        let mut stale = Vec::new();
        let mut wrong = Vec::new();
        let dumped = learned::each(self.routes.table(), |present| {
            let prefix = present.key.prefix;
            if present.key != RouteKey::owned(prefix) || local.get(&prefix).is_some() {
                stale.push(RouteChange::Delete(present.key));
                return;
            }
            match rib.claim(&prefix) {
                Claim::Unwanted => stale.push(RouteChange::Delete(present.key)),
                Claim::Wanted { .. } => {
                    let hops = rib.next_hops(&prefix);
                    let right = Route::via(prefix, hops.iter().map(kernel_next_hop).collect())
                        .ok()
                        .zip(present.target.as_ref())
                        .is_some_and(|(wanted, present)| wanted.target().satisfied_by(present));
                    if !right {
                        wrong.push(prefix);
                    }
                }
            }
        })
        .await;
        let complete = match dumped {
            Ok(interrupted) => !interrupted,
            Err(e) => {
                warn!("checking learned routes: {e}");
                false
            }
        };
        let lost = self.rib.end_check(complete);
        if complete {
            for prefix in &wrong {
                self.rib.requeue(*prefix);
            }
            let limit = self.routes.table().batch_limit().max(1);
            for batch in stale.chunks(limit) {
                for result in learned::apply(self.routes.table(), batch).await {
                    if let Err(e) = result {
                        warn!("removing a stale learned route: {e}");
                    }
                }
            }
            if lost + wrong.len() + stale.len() > 0 {
                info!(
                    lost,
                    changed = wrong.len(),
                    stale = stale.len(),
                    "learned routes in the kernel repaired"
                );
            }
        }
        self.check_due = Instant::now() + CHECK_EVERY.max(started.elapsed() * CHECK_BACKOFF);
    }

    fn routes_view(&self) -> Vec<RouteEntry> {
        let mut out: Vec<RouteEntry> = self
            .rib
            .iter()
            .filter_map(|(prefix, path, installed)| {
                let slot = self.neighbors.get(usize::from(path.neighbor.0))?;
                Some(RouteEntry {
                    prefix: prefix.to_string(),
                    neighbor: slot.address,
                    next_hop: path.attrs.next_hop,
                    as_path: path.attrs.as_path.iter().map(|a| a.0).collect(),
                    installed,
                })
            })
            .collect();
        out.sort_by(|a, b| (&a.prefix, a.neighbor).cmp(&(&b.prefix, b.neighbor)));
        out
    }
}

fn kernel_next_hop(h: &super::rib::NextHop) -> NextHop {
    NextHop {
        gateway: h.address,
        ifindex: h.ifindex.and_then(IfIndex::new),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::owned::tests::{FakeTable, net, present, via};
    use crate::kernel::{PresentRoute, RTPROT_ROMANA, RTPROT_ROMANA_LEARNED};

    const STATIC: u8 = 4;

    /// A learned route as the kernel reports it.
    fn learned_route(prefix: &str, gateway: &str) -> PresentRoute {
        present(&via(prefix, &[gateway]), RTPROT_ROMANA_LEARNED)
    }

    /// Polls the check's dump once, as the task's loop does at once;
    /// whether it is still going on.
    async fn poll_dump_once<T>(task: &mut RibTask<T>) -> bool {
        let check = task.routes_check.as_mut().expect("a check under way");
        std::future::poll_fn(|cx| std::task::Poll::Ready(check.dump.as_mut().poll(cx).is_pending()))
            .await
    }

    struct Harness {
        task: RibTask<FakeTable>,
        commands: mpsc::UnboundedReceiver<RibCommand>,
        touched: Vec<NeighborIdx>,
    }

    impl Harness {
        async fn new(routes: Vec<PresentRoute>) -> Self {
            let (owned, _) = OwnedRoutes::start(
                FakeTable::with(routes),
                &WantedRoutes::new(),
                Sweep::RemoveStale,
            )
            .await
            .expect("dump");
            let (events, _) = broadcast::channel(8);
            let (_, commands) = mpsc::unbounded_channel();
            Harness {
                task: RibTask::new(owned, WantedRoutes::new(), Vec::new(), events),
                commands,
                touched: Vec::new(),
            }
        }

        fn table(&self) -> &FakeTable {
            self.task.routes.table()
        }

        async fn command(&mut self, cmd: RibCommand) {
            self.task.handle(cmd, &mut self.touched).await;
            self.task
                .write_kernel(&mut self.commands, &mut self.touched)
                .await;
        }

        async fn announce(&mut self, prefix: &str, next_hop: &str) {
            let attrs = Arc::new(PathAttrs {
                next_hop: next_hop.parse().expect("address"),
                next_hop_ifindex: None,
                as_path: Vec::new(),
                origin: 0,
            });
            self.command(RibCommand::Update {
                neighbor: NeighborIdx(0),
                withdraw: Vec::new(),
                announce: vec![net(prefix)],
                attrs_v4: Some(attrs.clone()),
                attrs_v6: Some(attrs),
            })
            .await;
        }

        async fn check(&mut self) {
            self.task.check_learned().await;
            self.task
                .write_kernel(&mut self.commands, &mut self.touched)
                .await;
        }

        /// Asks for a check of the host's routes; the check is under way
        /// until [`Harness::finish_check`].
        async fn start_check(&mut self) -> oneshot::Receiver<Result<ReconcileReport, DumpError>> {
            let (reply, answer) = oneshot::channel();
            self.command(RibCommand::Reconcile(reply)).await;
            answer
        }

        /// Lets the check's dump read the table, as the task's loop does
        /// at once.
        async fn begin_dump(&mut self) {
            poll_dump_once(&mut self.task).await;
        }

        /// Lets the check's dump end, as the task's loop does.
        async fn finish_check(&mut self) {
            let check = self.task.routes_check.as_mut().expect("a check under way");
            let present = check.dump.as_mut().await;
            self.task.finish_routes_check(present).await;
        }

        async fn reconcile(&mut self) -> ReconcileReport {
            let answer = self.start_check().await;
            self.finish_check().await;
            answer.await.expect("answer").expect("dump")
        }

        async fn set_local(&mut self, route: Route) {
            let (reply, answer) = oneshot::channel();
            self.command(RibCommand::SetLocal {
                routes: vec![route],
                reply,
            })
            .await;
            answer.await.expect("answer").expect("installed");
        }
    }

    #[tokio::test]
    async fn learned_routes_carry_their_own_tag_and_the_rib_is_their_receipt() {
        let mut h = Harness::new(Vec::new()).await;
        h.announce("10.9.0.0/16", "192.0.2.1").await;
        assert_eq!(
            h.table().routes(),
            vec![learned_route("10.9.0.0/16", "192.0.2.1")]
        );
        assert!(h.task.rib.is_installed(&net("10.9.0.0/16")));
        // The host's receipt knows nothing of it.
        assert!(!h.task.routes.contains(&net("10.9.0.0/16")));
        h.announce("10.9.0.0/16", "192.0.2.7").await;
        assert_eq!(
            h.table().requests().last(),
            Some(&RouteChange::Replace(via("10.9.0.0/16", &["192.0.2.7"])))
        );
    }

    #[tokio::test]
    async fn a_learned_route_deleted_by_hand_comes_back_at_the_check() {
        let mut h = Harness::new(Vec::new()).await;
        h.announce("10.9.0.0/16", "192.0.2.1").await;
        h.table().remove_by_hand(net("10.9.0.0/16"));
        assert!(h.table().routes().is_empty());
        h.check().await;
        assert_eq!(
            h.table().routes(),
            vec![learned_route("10.9.0.0/16", "192.0.2.1")]
        );
        assert!(h.task.rib.is_installed(&net("10.9.0.0/16")));
    }

    #[tokio::test]
    async fn the_check_removes_learned_routes_no_path_wants_and_nothing_else() {
        let stray = present(&via("10.8.0.0/16", &["192.0.2.1"]), RTPROT_ROMANA_LEARNED);
        let foreign = present(&via("10.7.0.0/16", &["192.0.2.1"]), STATIC);
        let mut h = Harness::new(vec![stray, foreign.clone()]).await;
        h.check().await;
        assert_eq!(h.table().routes(), vec![foreign]);
    }

    #[tokio::test]
    async fn a_foreign_route_with_the_same_prefix_is_left_alone() {
        let foreign = present(&via("10.7.0.0/16", &["198.51.100.1"]), STATIC);
        let mut h = Harness::new(vec![foreign.clone()]).await;
        h.announce("10.7.0.0/16", "192.0.2.1").await;
        assert_eq!(h.table().routes(), vec![foreign.clone()]);
        assert!(!h.task.rib.is_installed(&net("10.7.0.0/16")));
        h.check().await;
        h.command(RibCommand::NeighborDown(NeighborIdx(0))).await;
        assert_eq!(h.table().routes(), vec![foreign]);
    }

    #[tokio::test]
    async fn the_periodic_reconcile_reads_only_the_hosts_routes() {
        let mut h = Harness::new(Vec::new()).await;
        h.announce("10.9.0.0/16", "192.0.2.1").await;
        h.table().dumps.lock().expect("lock").clear();
        let report = h.reconcile().await;
        assert_eq!((report.added, report.deleted), (0, 0));
        assert_eq!(
            *h.table().dumps.lock().expect("lock"),
            vec![Some(RTPROT_ROMANA)]
        );
        assert_eq!(h.table().routes().len(), 1);
    }

    #[tokio::test]
    async fn a_host_route_takes_a_learned_prefix_and_gives_it_back() {
        let mut h = Harness::new(Vec::new()).await;
        h.announce("10.1.0.5/32", "192.0.2.1").await;
        let endpoint =
            Route::interface(net("10.1.0.5/32"), IfIndex::new(7).expect("nonzero")).expect("valid");
        h.set_local(endpoint.clone()).await;
        assert_eq!(h.table().routes(), vec![present(&endpoint, RTPROT_ROMANA)]);
        assert!(!h.task.rib.is_installed(&net("10.1.0.5/32")));
        // A leaf sending it again does not take it from the host.
        h.announce("10.1.0.5/32", "192.0.2.9").await;
        assert_eq!(h.table().routes(), vec![present(&endpoint, RTPROT_ROMANA)]);

        let (reply, answer) = oneshot::channel();
        h.command(RibCommand::RemoveLocal {
            prefixes: vec![net("10.1.0.5/32")],
            reply,
        })
        .await;
        answer.await.expect("answer").expect("removed");
        assert_eq!(
            h.table().routes(),
            vec![present(
                &via("10.1.0.5/32", &["192.0.2.9"]),
                RTPROT_ROMANA_LEARNED
            )]
        );
    }
    #[tokio::test]
    async fn host_routes_changed_while_the_check_dumps_are_left_as_they_are() {
        let route = |prefix: &str, index: u32| {
            Route::interface(net(prefix), IfIndex::new(index).expect("nonzero")).expect("valid")
        };
        let (added, removed, lost) = (
            route("10.1.0.5/32", 7),
            route("10.1.0.6/32", 8),
            route("10.1.0.7/32", 9),
        );
        let mut h = Harness::new(Vec::new()).await;
        h.set_local(removed.clone()).await;
        h.set_local(lost.clone()).await;
        h.table().remove_by_hand(lost.prefix());
        let gate = Arc::new(tokio::sync::Notify::new());
        *h.table().dump_gate.lock().expect("lock") = Some(gate.clone());

        let answer = h.start_check().await;
        h.begin_dump().await;
        // The task serves the host while the dump it read goes on.
        h.set_local(added.clone()).await;
        let (reply, removal) = oneshot::channel();
        h.command(RibCommand::RemoveLocal {
            prefixes: vec![removed.prefix()],
            reply,
        })
        .await;
        removal.await.expect("answer").expect("removed");
        gate.notify_one();
        h.finish_check().await;

        let report = answer.await.expect("answer").expect("dump");
        // The route lost by hand is back; the dump's view of the other two
        // was out of date and is not acted on.
        assert_eq!((report.added, report.replaced, report.deleted), (1, 0, 0));
        assert!(report.errors.is_empty(), "{:?}", report.errors);
        let mut routes = h.table().routes();
        routes.sort_by_key(|r| r.key.prefix);
        assert_eq!(
            routes,
            vec![
                present(&added, RTPROT_ROMANA),
                present(&lost, RTPROT_ROMANA)
            ]
        );
        assert!(h.task.routes.contains(&added.prefix()));
        assert!(!h.task.routes.contains(&removed.prefix()));
    }
    /// With the kernel's table, whose dumps share one socket: a check of
    /// the learned routes, due while the host check's dump holds that
    /// socket (its first part read), waits that dump out instead of
    /// waiting forever for the socket.
    #[test]
    fn a_learned_check_lets_the_host_check_under_way_end_first() {
        crate::kernel::in_own_netns(|| {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async {
                let netlink = crate::kernel::Netlink::connect().expect("netlink");
                // Enough routes for a dump of several parts.
                let wanted: WantedRoutes = (0..2000u32)
                    .map(|i| {
                        let address = std::net::Ipv4Addr::from(0x0a00_0000 | i);
                        Route::unreachable(IpNet::V4(address.into())).expect("valid")
                    })
                    .collect();
                let (owned, report) = OwnedRoutes::start(netlink, &wanted, Sweep::RemoveStale)
                    .await
                    .expect("dump");
                assert_eq!(report.added, 2000);
                let (events, _) = broadcast::channel(8);
                let mut task = RibTask::new(owned, wanted, Vec::new(), events);
                let (reply, answer) = oneshot::channel();
                task.handle(RibCommand::Reconcile(reply), &mut Vec::new())
                    .await;
                let first_part = poll_dump_once(&mut task).await;
                assert!(first_part, "the dump is read a part at a time");

                tokio::time::timeout(Duration::from_secs(10), task.check_learned())
                    .await
                    .expect("the learned check ends");
                let report = answer.await.expect("answer").expect("dump");
                assert_eq!((report.added, report.deleted), (0, 0));
                assert!(report.errors.is_empty());
            });
        });
    }
}
