//! The task that owns the RIB and the kernel's routes: every neighbor sends
//! it the prefixes it accepted, and it alone writes routes, in batches.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::sync::Arc;

use ipnet::IpNet;
use tokio::sync::{broadcast, mpsc, oneshot};
use tracing::{debug, warn};

use super::neighbor::NeighborCommand;
use super::rib::{KernelChange, NeighborIdx, Path, PathAttrs, Rib};
use crate::api::protocol::{EventKind, RouteEntry, SessionEvent};
use crate::api::time::now_ms;
use crate::kernel::{
    ApplyFailed, DumpError, IfIndex, NextHop, OwnedRoutes, ReconcileReport, Route, RouteTable,
    Sweep, WantedRoutes,
};

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
    /// Read the kernel's table and repair any drift from what is wanted:
    /// the host's routes and the learned ones.
    Reconcile(oneshot::Sender<Result<ReconcileReport, DumpError>>),
}

/// What the RIB task knows of each neighbor.
pub struct NeighborSlot {
    pub address: IpAddr,
    pub max_prefixes: u32,
    pub commands: mpsc::Sender<NeighborCommand>,
    /// The accepted count, read by the control API.
    pub accepted: Arc<std::sync::atomic::AtomicU64>,
}

pub struct RibTask<T> {
    rib: Rib,
    routes: OwnedRoutes<T>,
    /// The host's own routes: the aggregate and the endpoints.
    local: WantedRoutes,
    neighbors: Vec<NeighborSlot>,
    events: broadcast::Sender<SessionEvent>,
}

impl<T: RouteTable> RibTask<T> {
    pub fn new(
        routes: OwnedRoutes<T>,
        local: WantedRoutes,
        neighbors: Vec<NeighborSlot>,
        events: broadcast::Sender<SessionEvent>,
    ) -> Self {
        RibTask {
            rib: Rib::default(),
            routes,
            local,
            neighbors,
            events,
        }
    }

    /// Run until every sender is gone; then hand back the kernel routes and
    /// the host's own wanted ones, so the daemon can remove the rest.
    pub async fn run(
        mut self,
        mut rx: mpsc::UnboundedReceiver<RibCommand>,
    ) -> (OwnedRoutes<T>, WantedRoutes) {
        let mut pending: HashMap<IpNet, Vec<super::rib::NextHop>> = HashMap::new();
        while let Some(cmd) = rx.recv().await {
            let mut touched = Vec::new();
            let mut next = Some(cmd);
            // Take everything already queued before writing to the kernel,
            // so a burst of UPDATEs costs one batch, not one write each.
            while let Some(cmd) = next.take().or_else(|| rx.try_recv().ok()) {
                self.handle(cmd, &mut pending, &mut touched).await;
            }
            self.report_counts(&touched);
            if !pending.is_empty() {
                self.write_kernel(std::mem::take(&mut pending)).await;
            }
        }
        (self.routes, self.local)
    }

    async fn handle(
        &mut self,
        cmd: RibCommand,
        pending: &mut HashMap<IpNet, Vec<super::rib::NextHop>>,
        touched: &mut Vec<NeighborIdx>,
    ) {
        let mut note = |c: Option<KernelChange>| {
            if let Some(c) = c {
                pending.insert(c.prefix, c.next_hops);
            }
        };
        match cmd {
            RibCommand::Update {
                neighbor,
                withdraw,
                announce,
                attrs_v4,
                attrs_v6,
            } => {
                for prefix in withdraw {
                    note(self.rib.withdraw(prefix, neighbor));
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
                        note(self.rib.announce(prefix, path));
                    }
                }
                touched.push(neighbor);
            }
            RibCommand::NeighborDown(neighbor) => {
                for c in self.rib.drop_neighbor(neighbor) {
                    note(Some(c));
                }
                touched.push(neighbor);
            }
            RibCommand::Routes(reply) => {
                let _ = reply.send(self.routes_view());
            }
            RibCommand::SetLocal { routes, reply } => {
                for route in &routes {
                    self.local.insert(route.clone());
                }
                let _ = reply.send(self.routes.set_many(routes).await);
            }
            RibCommand::RemoveLocal { prefixes, reply } => {
                for prefix in &prefixes {
                    self.local.remove(prefix);
                }
                let _ = reply.send(self.routes.remove_many(prefixes).await);
            }
            RibCommand::Reconcile(reply) => {
                let wanted = self.wanted();
                let _ = reply.send(self.routes.reconcile(&wanted, Sweep::RemoveStale).await);
            }
        }
    }

    /// Every route the kernel should hold: the host's own, and the learned
    /// ones with their multipath next hops. A learned prefix never shadows
    /// a local one (the host's own block always stays the host's).
    fn wanted(&self) -> WantedRoutes {
        let mut wanted = self.local.clone();
        for prefix in self.rib.prefixes() {
            if wanted.get(prefix).is_some() {
                continue;
            }
            let hops = self
                .rib
                .next_hops(prefix)
                .iter()
                .map(kernel_next_hop)
                .collect();
            if let Ok(route) = Route::via(*prefix, hops) {
                wanted.insert(route);
            }
        }
        wanted
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

    async fn write_kernel(&mut self, pending: HashMap<IpNet, Vec<super::rib::NextHop>>) {
        let mut set = Vec::new();
        let mut remove = Vec::new();
        for (prefix, hops) in pending {
            // The host's own routes (its block, its endpoints) are never
            // replaced by what a leaf sends back.
            if self.local.get(&prefix).is_some() {
                continue;
            }
            if hops.is_empty() {
                remove.push(prefix);
                continue;
            }
            let hops = hops.iter().map(kernel_next_hop).collect();
            match Route::via(prefix, hops) {
                Ok(route) => set.push(route),
                Err(e) => warn!(%prefix, error = %e, "route not installable"),
            }
        }
        if !remove.is_empty()
            && let Err(e) = self.routes.remove_many(remove).await
        {
            warn!(error = %e, "removing learned routes");
        }
        let prefixes: Vec<IpNet> = set.iter().map(Route::prefix).collect();
        let failed: HashSet<IpNet> = match self.routes.set_many(set).await {
            Ok(()) => HashSet::new(),
            Err(e) => {
                warn!(error = %e, "installing learned routes");
                e.errors.iter().map(|r| r.prefix).collect()
            }
        };
        for prefix in prefixes {
            let ok = !failed.contains(&prefix);
            self.rib.set_installed(&prefix, ok);
        }
        debug!(routes = self.rib.len(), "kernel updated");
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
                    installed: installed && self.routes.contains(prefix),
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
