//! The endpoint side of the daemon: one task that owns the IPAM store, the
//! wiring thread and the isolation table, serialises every add and delete,
//! and reconciles the kernel with the persisted state.
//!
//! An add goes: target checked, address persisted, isolation table
//! replaced with the new endpoint in it, link wired (and only then up),
//! /32 route installed. Adds that arrive together are done as one batch:
//! one write to disk, one table, one route batch. The state leads and the
//! kernel follows: at start, every few seconds and after every change, what
//! is missing is wired again, links of endpoints that are gone are removed,
//! and a table that was flushed or edited is replaced.

use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::Duration;

use ipnet::{IpNet, Ipv4Net};
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;
use tracing::{debug, info, warn};

use crate::config::Config;
use crate::endpoint::{self, AddRequest, Endpoint, EndpointError, OwnedLink, Store, Wiring};
use crate::isolation::{InterfaceName, IsolationEndpoint, LiveTable, Membership};
use crate::kernel::{ApplyFailed, IfIndex, Route};
use crate::speaker::rib_task::RibCommand;

/// How often the kernel is compared with the state when nothing changes.
pub const RECONCILE_EVERY: Duration = Duration::from_secs(2);

/// What the control API asks of the endpoint task.
pub enum EndpointCommand {
    Add(AddRequest, oneshot::Sender<Result<Endpoint, String>>),
    Del(String, oneshot::Sender<Result<bool, String>>),
    List(oneshot::Sender<Vec<(Endpoint, bool)>>),
}

pub struct EndpointTask {
    store: Store,
    wiring: Wiring,
    isolation: LiveTable,
    rib: mpsc::UnboundedSender<RibCommand>,
    /// When the kernel's routes are compared next.
    routes_due: Instant,
}

impl EndpointTask {
    pub fn new(
        store: Store,
        wiring: Wiring,
        config: Arc<Config>,
        rib: mpsc::UnboundedSender<RibCommand>,
    ) -> EndpointTask {
        EndpointTask {
            store,
            wiring,
            isolation: LiveTable::new(config),
            rib,
            routes_due: Instant::now(),
        }
    }

    pub async fn run(mut self, mut rx: mpsc::Receiver<EndpointCommand>) {
        match self.wiring.enable_ip_forward().await {
            Ok(true) => info!("IPv4 forwarding turned on: the host routes for its endpoints"),
            Ok(false) => {}
            Err(e) => warn!("cannot turn on IPv4 forwarding: {e}"),
        }
        let mut next_reconcile = self.timed_reconcile().await;
        loop {
            tokio::select! {
                // Requests waiting go before a reconcile that is due.
                biased;
                cmd = rx.recv() => {
                    let Some(cmd) = cmd else { break };
                    let mut adds = Vec::new();
                    let mut next = Some(cmd);
                    // Adds queued together become one batch; anything else
                    // is done in its turn, after the adds before it.
                    while let Some(cmd) = next.take().or_else(|| rx.try_recv().ok()) {
                        match cmd {
                            EndpointCommand::Add(request, reply) => adds.push((request, reply)),
                            other => {
                                self.add_batch(std::mem::take(&mut adds)).await;
                                self.other(other).await;
                            }
                        }
                    }
                    self.add_batch(adds).await;
                }
                _ = tokio::time::sleep_until(next_reconcile) => {
                    next_reconcile = self.timed_reconcile().await;
                }
            }
        }
    }

    /// Reconcile, and say when the next one is due: every
    /// [`RECONCILE_EVERY`], or ten times as long as this one took, so that
    /// a host with thousands of endpoints is not kept busy comparing.
    async fn timed_reconcile(&mut self) -> Instant {
        let started = Instant::now();
        self.reconcile().await;
        Instant::now() + RECONCILE_EVERY.max(started.elapsed() * 10)
    }

    async fn other(&mut self, cmd: EndpointCommand) {
        match cmd {
            EndpointCommand::Add(request, reply) => self.add_batch(vec![(request, reply)]).await,
            EndpointCommand::Del(name, reply) => {
                let _ = reply.send(self.delete(&name).await.map_err(|e| e.to_string()));
            }
            EndpointCommand::List(reply) => {
                let _ = reply.send(self.list().await);
            }
        }
    }

    async fn add_batch(
        &mut self,
        adds: Vec<(AddRequest, oneshot::Sender<Result<Endpoint, String>>)>,
    ) {
        if adds.is_empty() {
            return;
        }
        let (requests, replies): (Vec<AddRequest>, Vec<_>) = adds.into_iter().unzip();
        let results = self.add_all(&requests).await;
        for (reply, result) in replies.into_iter().zip(results) {
            let _ = reply.send(result);
        }
    }

    /// One result per request, in order.
    async fn add_all(&mut self, requests: &[AddRequest]) -> Vec<Result<Endpoint, String>> {
        let EndpointTask {
            store,
            wiring,
            isolation,
            ..
        } = self;
        let added = endpoint::add_all(
            store,
            wiring,
            requests,
            async |store: &Store, new: &[Endpoint]| {
                isolation
                    .change(Membership::Add, &members(new), || members(store.list()))
                    .await
                    .map_err(|e| EndpointError::Isolation(e.to_string()))
            },
        )
        .await;
        let added = match added {
            Ok(added) => added,
            Err(e) => return requests.iter().map(|_| Err(e.to_string())).collect(),
        };
        let mut routes = Vec::new();
        let results = added
            .into_iter()
            .map(|outcome| {
                let added = outcome.map_err(|e| e.to_string())?;
                routes.push(endpoint_route(added.endpoint.address, added.ifindex)?);
                debug!(endpoint = %added.endpoint.name, address = %added.endpoint.address, created = added.created, "endpoint wired");
                Ok(added.endpoint)
            })
            .collect();
        if let Err(e) = self.set_routes(routes).await {
            // The links are up and the state has them: the next reconcile
            // installs what is missing.
            warn!("endpoint routes: {e}");
        }
        results
    }

    async fn delete(&mut self, name: &str) -> Result<bool, EndpointError> {
        let Some(address) = self.store.get(name).map(|e| e.address) else {
            return Ok(false);
        };
        if let Err(e) = self.remove_routes(vec![host_route(address)]).await {
            warn!(endpoint = %name, "removing its route: {e}");
        }
        let removed = endpoint::remove(&mut self.store, &self.wiring, name).await?;
        let store = &self.store;
        if let Err(e) = self
            .isolation
            .change(Membership::Remove, &members(&removed), || {
                members(store.list())
            })
            .await
        {
            warn!("isolation table after deleting {name}: {e}");
        }
        info!(endpoint = %name, %address, "endpoint deleted");
        Ok(true)
    }

    async fn list(&mut self) -> Vec<(Endpoint, bool)> {
        let endpoints: Vec<Endpoint> = self.store.list().cloned().collect();
        let wired = self
            .wiring
            .wired(endpoints.clone())
            .await
            .unwrap_or_else(|_| vec![None; endpoints.len()]);
        endpoints
            .into_iter()
            .zip(wired)
            .map(|(e, w)| (e, w.is_some()))
            .collect()
    }

    /// Make the kernel match the state: the table, links, routes.
    pub async fn reconcile(&mut self) {
        // The table first: no link below comes up before its endpoint is in
        // the table.
        let store = &self.store;
        if self.isolation.is_applied() {
            self.isolation.repair(|| members(store.list())).await;
        } else if let Err(e) = self.isolation.replace(members(store.list())).await {
            warn!("reconcile: isolation table: {e}");
        }
        let endpoints: Vec<Endpoint> = self.store.list().cloned().collect();
        let survey = match self.wiring.survey(endpoints.clone()).await {
            Ok(s) => s,
            Err(e) => {
                warn!("reconcile: cannot read links: {e}");
                return;
            }
        };
        let mut routes: Vec<Route> = Vec::new();
        let mut missing: Vec<Endpoint> = Vec::new();
        for (endpoint, ifindex) in endpoints.iter().zip(&survey.wired) {
            match ifindex {
                Some(ifindex) => {
                    if let Ok(route) = endpoint_route(endpoint.address, *ifindex) {
                        routes.push(route);
                    }
                }
                None => missing.push(endpoint.clone()),
            }
        }
        if !missing.is_empty() && !self.isolation.is_applied() {
            warn!(
                count = missing.len(),
                "reconcile: endpoints left unwired until the isolation table is in place"
            );
        } else if !missing.is_empty() {
            info!(
                count = missing.len(),
                "reconcile: wiring endpoints that are not wired"
            );
            match self.wiring.wire_all(missing.clone()).await {
                Ok(outcomes) => {
                    for (endpoint, outcome) in missing.iter().zip(outcomes) {
                        match outcome
                            .map_err(|e| e.to_string())
                            .and_then(|i| endpoint_route(endpoint.address, i))
                        {
                            Ok(route) => routes.push(route),
                            Err(e) => warn!(endpoint = %endpoint.name, "reconcile: {e}"),
                        }
                    }
                }
                Err(e) => warn!("reconcile: wiring: {e}"),
            }
        }
        if let Err(e) = self.set_routes(routes).await {
            warn!("reconcile: endpoint routes: {e}");
        }
        if Instant::now() >= self.routes_due {
            self.reconcile_routes().await;
        }
        self.remove_stale_links(&endpoints, survey.owned).await;
    }

    /// Compare every route of the daemon with the kernel's. That costs in
    /// proportion to the table: with a leaked full table accepted it takes
    /// seconds, so the next one waits twenty times as long as this one
    /// took, and the daemon stays idle between them.
    async fn reconcile_routes(&mut self) {
        let started = Instant::now();
        let (tx, rx) = oneshot::channel();
        if self.rib.send(RibCommand::Reconcile(tx)).is_ok() {
            match rx.await {
                Ok(Ok(report)) if report.added + report.replaced + report.deleted > 0 => info!(
                    added = report.added,
                    replaced = report.replaced,
                    removed = report.deleted,
                    "reconcile: kernel routes repaired"
                ),
                Ok(Ok(_)) => {}
                Ok(Err(e)) => warn!("reconcile: {e}"),
                Err(_) => {}
            }
        }
        self.routes_due = Instant::now() + RECONCILE_EVERY.max(started.elapsed() * 20);
    }

    async fn remove_stale_links(&mut self, endpoints: &[Endpoint], owned: Vec<OwnedLink>) {
        for link in owned {
            if endpoints.iter().any(|e| e.interface == link.name) {
                continue;
            }
            info!(link = %link.name, "reconcile: removing the link of an endpoint that is gone");
            if let Err(e) = self.wiring.remove_owned_link(&link.name).await {
                warn!(link = %link.name, "reconcile: {e}");
            }
        }
    }

    async fn set_routes(&self, routes: Vec<Route>) -> Result<(), String> {
        if routes.is_empty() {
            return Ok(());
        }
        self.ask_rib(|reply| RibCommand::SetLocal { routes, reply })
            .await
    }

    async fn remove_routes(&self, prefixes: Vec<IpNet>) -> Result<(), String> {
        self.ask_rib(|reply| RibCommand::RemoveLocal { prefixes, reply })
            .await
    }

    /// One route batch for the RIB task, and its answer.
    async fn ask_rib(
        &self,
        command: impl FnOnce(oneshot::Sender<Result<(), ApplyFailed>>) -> RibCommand,
    ) -> Result<(), String> {
        const STOPPED: &str = "the route task has stopped";
        let (reply, answer) = oneshot::channel();
        self.rib
            .send(command(reply))
            .map_err(|_| STOPPED.to_string())?;
        match answer.await {
            Ok(result) => result.map_err(|e| e.to_string()),
            Err(_) => Err(STOPPED.to_string()),
        }
    }
}

fn host_route(address: Ipv4Addr) -> IpNet {
    IpNet::V4(Ipv4Net::from(address))
}

/// The /32 that routes an endpoint's address to its host-side interface.
pub fn endpoint_route(address: Ipv4Addr, ifindex: IfIndex) -> Result<Route, String> {
    Route::interface(host_route(address), ifindex).map_err(|e| e.to_string())
}

/// What the isolation table needs of `endpoints`.
fn members<'a>(endpoints: impl IntoIterator<Item = &'a Endpoint>) -> Vec<IsolationEndpoint> {
    endpoints
        .into_iter()
        .filter_map(|e| match InterfaceName::new(&e.interface) {
            Ok(interface) => Some(IsolationEndpoint {
                address: e.address,
                interface,
            }),
            // The store refuses such names; one could only come from a
            // hand-edited state file.
            Err(err) => {
                warn!(endpoint = %e.name, "left out of the isolation table: {err}");
                None
            }
        })
        .collect()
}
