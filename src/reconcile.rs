//! The endpoint side of the daemon: one task that owns the IPAM store, the
//! wiring thread and the isolation table, serialises every add and delete,
//! and reconciles the kernel with the persisted state.
//!
//! An add goes: target checked, address persisted, endpoint put into the
//! isolation table's sets, link wired (and only then up), /32 route
//! installed. Adds that arrive together are done as one batch: one write to
//! disk, one set change, one route batch. The state leads and the kernel
//! follows: at start, every few seconds, and as soon as a link event says an
//! endpoint's interface was deleted or made again, what is missing is wired again,
//! links of endpoints that are gone are removed, and a table that was
//! flushed or edited is replaced. The links are read for that on a second
//! wiring thread while adds and deletes go on, and the RIB task's check of
//! the kernel's routes goes on while they do too.

use std::collections::{HashMap, HashSet};
use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::Duration;

use ipnet::{IpNet, Ipv4Net};
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;
use tracing::{debug, info, warn};

use crate::config::Config;
use crate::endpoint::{
    self, AddRequest, Endpoint, EndpointError, LinkEvent, OwnedLink, Store, Survey, Wiring,
};
use crate::isolation::{InterfaceName, IsolationEndpoint, LiveTable, Membership};
use crate::kernel::{ApplyFailed, DumpError, IfIndex, ReconcileReport, Route};
use crate::speaker::rib_task::RibCommand;

/// How often the kernel is compared with the state when nothing changes.
pub const RECONCILE_EVERY: Duration = Duration::from_secs(2);

/// How long a burst of link events is let settle before the reconcile
/// they call for.
const EVENT_SETTLE: Duration = Duration::from_millis(100);

/// The next link event, or never without a listener.
async fn next_event(events: &mut Option<mpsc::UnboundedReceiver<LinkEvent>>) -> Option<LinkEvent> {
    match events {
        Some(events) => events.recv().await,
        None => std::future::pending().await,
    }
}

/// The links of a reconcile's endpoints, being read on the surveyor.
type SurveyAnswer = tokio::task::JoinHandle<Result<Survey, EndpointError>>;

/// What the RIB task says of its check of the kernel's routes.
type RoutesCheckAnswer = Result<Result<ReconcileReport, DumpError>, oneshot::error::RecvError>;

/// A check of the kernel's routes asked of the RIB task: when, and its
/// answer to come.
type RoutesCheck = (
    Instant,
    oneshot::Receiver<Result<ReconcileReport, DumpError>>,
);

/// When the next reconcile is due, after one that began at `started`:
/// every [`RECONCILE_EVERY`], or ten times as long as it took, so that a
/// host with thousands of endpoints is not kept busy comparing.
fn next_after(started: Instant) -> Instant {
    Instant::now() + RECONCILE_EVERY.max(started.elapsed() * 10)
}

/// What the control API asks of the endpoint task.
pub enum EndpointCommand {
    Add(AddRequest, oneshot::Sender<Result<Endpoint, String>>),
    Del(String, oneshot::Sender<Result<bool, String>>),
    List(oneshot::Sender<Vec<(Endpoint, bool)>>),
}

pub struct EndpointTask {
    store: Store,
    wiring: Wiring,
    /// A second wiring thread that reads the links for the reconcile, so
    /// adds and deletes go on while it does.
    surveyor: Wiring,
    /// Names of endpoints added or deleted since the survey in flight
    /// began: what it saw of them is out of date. `None` with no survey.
    changed_since_survey: Option<HashSet<String>>,
    /// `None` if the kernel's link events cannot be had: then only the
    /// periodic reconcile notices a link that went.
    link_events: Option<mpsc::UnboundedReceiver<LinkEvent>>,
    /// Each wired endpoint interface with the index it was wired at: an
    /// event for that name with another index, or its deletion, means the
    /// wiring is gone. An entry also says the RIB task holds the
    /// endpoint's route to that index, so a reconcile does not send it
    /// again: whatever removes the route removes the entry.
    wired_links: HashMap<String, u32>,
    /// Interfaces of endpoints the last reconcile could not wire (a VM's
    /// tap not there yet): their link appearing calls for a reconcile.
    unwired: HashSet<String>,
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
        let surveyor = wiring.another().unwrap_or_else(|e| {
            warn!("{e}; the reconcile reads links on the wiring thread");
            wiring.clone()
        });
        EndpointTask {
            store,
            wiring,
            surveyor,
            changed_since_survey: None,
            link_events: endpoint::listen_for_link_events()
                .inspect_err(|e| warn!("{e}; links are checked every few seconds only"))
                .ok(),
            wired_links: HashMap::new(),
            unwired: HashSet::new(),
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
        let started = Instant::now();
        let endpoints = self.begin_reconcile().await;
        let survey = self.surveyor.survey(endpoints.clone()).await;
        self.finish_reconcile(&endpoints, survey).await;
        // The RIB task's check of the kernel's routes, under way: it goes
        // on while requests are served here, as the survey does.
        let mut routes_check = self.check_routes_if_due();
        let mut next_reconcile = next_after(started);
        let mut reconcile_started = started;
        let mut survey: Option<(Arc<[Endpoint]>, SurveyAnswer)> = None;
        // A link event came while a survey was in flight: another one as
        // soon as it is done.
        let mut again = false;
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
                answer = async { survey.as_mut().map(|(_, answer)| answer).expect("guarded").await },
                    if survey.is_some() =>
                {
                    let endpoints = survey.take().map(|(e, _)| e).unwrap_or_default();
                    let answer = answer.unwrap_or(Err(EndpointError::WiringStopped));
                    self.finish_reconcile(&endpoints, answer).await;
                    if routes_check.is_none() {
                        routes_check = self.check_routes_if_due();
                    }
                    next_reconcile = if std::mem::take(&mut again) {
                        Instant::now() + EVENT_SETTLE
                    } else {
                        next_after(reconcile_started)
                    };
                }
                report = async { routes_check.as_mut().map(|(_, answer)| answer).expect("guarded").await },
                    if routes_check.is_some() =>
                {
                    let asked = routes_check.take().map_or_else(Instant::now, |(asked, _)| asked);
                    self.routes_checked(asked, report);
                }
                Some(event) = next_event(&mut self.link_events) => {
                    if self.calls_for_reconcile(event) {
                        if survey.is_some() {
                            again = true;
                        } else {
                            next_reconcile = next_reconcile.min(Instant::now() + EVENT_SETTLE);
                        }
                    }
                }
                _ = tokio::time::sleep_until(next_reconcile), if survey.is_none() => {
                    reconcile_started = Instant::now();
                    let endpoints = self.begin_reconcile().await;
                    let surveyor = self.surveyor.clone();
                    let asked = endpoints.clone();
                    let answer = tokio::spawn(async move { surveyor.survey(asked).await });
                    survey = Some((endpoints, answer));
                }
            }
        }
    }

    /// Whether a link event means an endpoint's wiring is gone, or an
    /// endpoint's missing interface has come.
    fn calls_for_reconcile(&mut self, event: LinkEvent) -> bool {
        match event {
            LinkEvent::Lost => true,
            LinkEvent::Gone { name, index } => {
                let ours = self.wired_links.get(&name) == Some(&index);
                if ours {
                    info!(link = %name, "an endpoint's interface was deleted; reconciling");
                    self.wired_links.remove(&name);
                }
                ours
            }
            LinkEvent::Present { name, index } => match self.wired_links.get(&name) {
                Some(&wired) if wired != index => {
                    info!(link = %name, "an endpoint's interface was made again; reconciling");
                    true
                }
                Some(_) => false,
                None => self.unwired.contains(&name),
            },
        }
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
            rib,
            ..
        } = self;
        let mut offered = Vec::new();
        let added = endpoint::add_all(
            store,
            wiring,
            requests,
            async |store: &Store, new: &[Endpoint]| {
                offered = new.to_vec();
                isolation
                    .change(Membership::Add, &members(new), || members(store.list()))
                    .await
                    .map_err(|e| EndpointError::Isolation(e.to_string()))
            },
            // A tap that is up takes its route at once: the route goes in
            // while the wiring thread finishes the tap, not after it.
            async |up: &[(Endpoint, IfIndex)]| {
                let routes = up
                    .iter()
                    .filter_map(|(e, index)| endpoint_route(e.address, *index).ok())
                    .collect();
                // Whatever did not go in is set again below.
                if let Err(e) = set_routes(rib, routes).await {
                    debug!("endpoint routes ahead of their wiring: {e}");
                }
            },
        )
        .await;
        // Those that failed after joining the sets and were given back
        // leave them, and lose the route they may have got alongside the
        // wiring (every endpoint routed then was offered first): an
        // address given out again must not be allowed from, or routed to,
        // the failed endpoint's interface.
        let given_back: Vec<&Endpoint> = offered
            .iter()
            .filter(|e| store.get(&e.name) != Some(*e))
            .collect();
        if !given_back.is_empty() {
            let prefixes = given_back.iter().map(|e| host_route(e.address)).collect();
            if let Err(e) = remove_routes(rib, prefixes).await {
                warn!("endpoint routes after a failed add: {e}");
            }
            if let Err(e) = isolation
                .change(Membership::Remove, &members(given_back), || {
                    members(store.list())
                })
                .await
            {
                warn!("isolation table after a failed add: {e}");
            }
        }
        let added = match added {
            Ok(added) => added,
            Err(e) => return requests.iter().map(|_| Err(e.to_string())).collect(),
        };
        let mut routes = Vec::new();
        let results = added
            .into_iter()
            .map(|outcome| {
                let added = outcome.map_err(|e| e.to_string())?;
                if let Some(changed) = &mut self.changed_since_survey {
                    changed.insert(added.endpoint.name.clone());
                }
                self.wired_links
                    .insert(added.endpoint.interface.clone(), added.ifindex.get());
                routes.push(endpoint_route(added.endpoint.address, added.ifindex)?);
                debug!(endpoint = %added.endpoint.name, address = %added.endpoint.address, created = added.created, "endpoint wired");
                Ok(added.endpoint)
            })
            .collect();
        // Routes put in during the wiring are left as they are by the RIB
        // task; this adds the others, and moves one whose tap was replaced
        // meanwhile to the new index.
        if let Err(e) = set_routes(&self.rib, routes).await {
            // The links are up and the state has them: the next reconcile
            // installs what is missing.
            warn!("endpoint routes: {e}");
        }
        results
    }

    async fn delete(&mut self, name: &str) -> Result<bool, EndpointError> {
        let Some((address, interface)) = self
            .store
            .get(name)
            .map(|e| (e.address, e.interface.clone()))
        else {
            return Ok(false);
        };
        if let Err(e) = remove_routes(&self.rib, vec![host_route(address)]).await {
            warn!(endpoint = %name, "removing its route: {e}");
        }
        // Forgotten with the route: if the removal fails below, the
        // endpoint stays, and the next reconcile finds it wired at an
        // index it has no record of and routes it again.
        self.wired_links.remove(&interface);
        if let Some(changed) = &mut self.changed_since_survey {
            changed.insert(name.to_owned());
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

    /// The first half of a reconcile: the table put right (before any
    /// link comes up below), and the endpoints whose links are to be
    /// surveyed.
    async fn begin_reconcile(&mut self) -> Arc<[Endpoint]> {
        let store = &self.store;
        if self.isolation.is_applied() {
            self.isolation.repair(|| members(store.list())).await;
        } else if let Err(e) = self.isolation.replace(members(store.list())).await {
            warn!("reconcile: isolation table: {e}");
        }
        self.changed_since_survey = Some(HashSet::new());
        self.store.list().cloned().collect()
    }

    /// The second half, with what the survey of `endpoints` found: links
    /// wired again, routes restored, links of endpoints that are gone
    /// removed. Endpoints added or deleted meanwhile are left to the next
    /// reconcile.
    async fn finish_reconcile(
        &mut self,
        endpoints: &[Endpoint],
        survey: Result<Survey, EndpointError>,
    ) {
        let changed = self.changed_since_survey.take().unwrap_or_default();
        let survey = match survey {
            Ok(s) => s,
            Err(e) => {
                warn!("reconcile: cannot read links: {e}");
                return;
            }
        };
        let mut routes: Vec<Route> = Vec::new();
        let mut missing: Vec<Endpoint> = Vec::new();
        for (endpoint, ifindex) in endpoints.iter().zip(&survey.wired) {
            if changed.contains(&endpoint.name) {
                continue;
            }
            match ifindex {
                // The RIB task keeps the route of an endpoint routed at
                // this index before (its own reconcile puts the kernel's
                // copy right): only a new or moved one goes.
                Some(ifindex)
                    if self.wired_links.get(&endpoint.interface) != Some(&ifindex.get()) =>
                {
                    self.wired_links
                        .insert(endpoint.interface.clone(), ifindex.get());
                    if let Ok(route) = endpoint_route(endpoint.address, *ifindex) {
                        routes.push(route);
                    }
                }
                Some(_) => {}
                None => {
                    self.wired_links.remove(&endpoint.interface);
                    missing.push(endpoint.clone());
                }
            }
        }
        self.unwired.clear();
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
                        match outcome {
                            Ok(ifindex) => {
                                self.wired_links
                                    .insert(endpoint.interface.clone(), ifindex.get());
                                match endpoint_route(endpoint.address, ifindex) {
                                    Ok(route) => routes.push(route),
                                    Err(e) => warn!(endpoint = %endpoint.name, "reconcile: {e}"),
                                }
                            }
                            Err(e) => {
                                self.unwired.insert(endpoint.interface.clone());
                                warn!(endpoint = %endpoint.name, "reconcile: {e}");
                            }
                        }
                    }
                }
                Err(e) => warn!("reconcile: wiring: {e}"),
            }
        }
        if let Err(e) = set_routes(&self.rib, routes).await {
            warn!("reconcile: endpoint routes: {e}");
        }
        self.remove_stale_links(survey.owned).await;
    }

    /// Asks the RIB task to compare every route of the daemon with the
    /// kernel's, if that is due; the answer comes to
    /// [`EndpointTask::routes_checked`].
    fn check_routes_if_due(&mut self) -> Option<RoutesCheck> {
        if Instant::now() < self.routes_due {
            return None;
        }
        let (reply, answer) = oneshot::channel();
        self.rib.send(RibCommand::Reconcile(reply)).ok()?;
        Some((Instant::now(), answer))
    }

    /// A check costs in proportion to the table: with a leaked full table
    /// accepted it takes seconds, so the next one waits twenty times as
    /// long as this one took, and the daemon stays idle between them.
    fn routes_checked(&mut self, asked: Instant, report: RoutesCheckAnswer) {
        match report {
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
        self.routes_due = Instant::now() + RECONCILE_EVERY.max(asked.elapsed() * 20);
    }

    /// Judged against the endpoints now, not those surveyed: a veth made
    /// during the survey belongs to an endpoint that is in the store.
    async fn remove_stale_links(&mut self, owned: Vec<OwnedLink>) {
        let stale: Vec<OwnedLink> = owned
            .into_iter()
            .filter(|link| !self.store.has_interface(&link.name))
            .collect();
        for link in stale {
            info!(link = %link.name, "reconcile: removing the link of an endpoint that is gone");
            if let Err(e) = self.wiring.remove_owned_link(&link.name).await {
                warn!(link = %link.name, "reconcile: {e}");
            }
        }
    }
}

async fn remove_routes(
    rib: &mpsc::UnboundedSender<RibCommand>,
    prefixes: Vec<IpNet>,
) -> Result<(), String> {
    ask_rib(rib, |reply| RibCommand::RemoveLocal { prefixes, reply }).await
}

async fn set_routes(
    rib: &mpsc::UnboundedSender<RibCommand>,
    routes: Vec<Route>,
) -> Result<(), String> {
    if routes.is_empty() {
        return Ok(());
    }
    ask_rib(rib, |reply| RibCommand::SetLocal { routes, reply }).await
}

/// One route batch for the RIB task, and its answer.
async fn ask_rib(
    rib: &mpsc::UnboundedSender<RibCommand>,
    command: impl FnOnce(oneshot::Sender<Result<(), ApplyFailed>>) -> RibCommand,
) -> Result<(), String> {
    const STOPPED: &str = "the route task has stopped";
    let (reply, answer) = oneshot::channel();
    rib.send(command(reply)).map_err(|_| STOPPED.to_string())?;
    match answer.await {
        Ok(result) => result.map_err(|e| e.to_string()),
        Err(_) => Err(STOPPED.to_string()),
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

#[cfg(test)]
mod tests {
    use std::path::PathBuf;
    use std::process::Command;
    use std::sync::Mutex;

    use super::*;
    use crate::endpoint::Target;
    use crate::kernel::in_own_netns;

    const CONFIG: &str = r#"
[host]
asn = 65001
router_id = "192.0.2.1"
index = 1

[plan]
cidr = "10.0.0.0/8"
host_bits = 4
tenant_bits = 2
segment_bits = 2

[[tenant]]
name = "blue"
id = 1
segments = [ { name = "web", id = 1 } ]
"#;

    /// A state directory of the test's own, removed when dropped.
    struct StateDir(PathBuf);

    impl Drop for StateDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn run(program: &str, args: &[&str]) -> String {
        let out = Command::new(program).args(args).output().expect(program);
        assert!(out.status.success(), "{program} {args:?}: {out:?}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn index_of(link: &str) -> IfIndex {
        let text = run("ip", &["-o", "link", "show", link]);
        let index = text.split(':').next().and_then(|i| i.trim().parse().ok());
        index.and_then(IfIndex::new).expect("an interface index")
    }

    /// A tap as libvirt leaves it: up.
    fn make_tap(name: &str) {
        run("ip", &["tuntap", "add", name, "mode", "tap"]);
        run("ip", &["link", "set", name, "up"]);
    }

    async fn reconcile(task: &mut EndpointTask) {
        let endpoints = task.begin_reconcile().await;
        let survey = task.surveyor.survey(endpoints.clone()).await;
        task.finish_reconcile(&endpoints, survey).await;
    }

    /// The routes a reconcile hands the RIB task: none for an endpoint it
    /// routed before at the same index, one for an endpoint whose tap was
    /// made again (a VM restarted) and is found wired at a new index.
    #[test]
    fn a_reconcile_hands_over_only_routes_that_are_new_or_moved() {
        let dir = StateDir(
            std::env::temp_dir().join(format!("romana-reconcile-test-{}", std::process::id())),
        );
        in_own_netns(|| {
            run("ip", &["link", "set", "lo", "up"]);
            make_tap("tapa");
            let config = Config::parse(CONFIG, "test").expect("config");
            let store = Store::open(&dir.0, &config.plan, config.host.index, &config.tenants)
                .expect("store");
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async {
                let (rib, mut commands) = mpsc::unbounded_channel();
                let handed: Arc<Mutex<Vec<Route>>> = Arc::default();
                let recorder = handed.clone();
                tokio::spawn(async move {
                    while let Some(command) = commands.recv().await {
                        match command {
                            RibCommand::SetLocal { routes, reply } => {
                                recorder.lock().expect("lock").extend(routes);
                                let _ = reply.send(Ok(()));
                            }
                            RibCommand::RemoveLocal { reply, .. } => {
                                let _ = reply.send(Ok(()));
                            }
                            RibCommand::Reconcile(reply) => {
                                let _ = reply.send(Ok(ReconcileReport::default()));
                            }
                            _ => {}
                        }
                    }
                });
                let wiring = Wiring::start().expect("wiring thread");
                let mut task = EndpointTask::new(store, wiring, Arc::new(config), rib);
                let added = task
                    .add_all(&[AddRequest {
                        name: Some("vm1".into()),
                        tenant: "blue".into(),
                        segment: "web".into(),
                        target: Target::Tap("tapa".into()),
                    }])
                    .await;
                let address = added[0].as_ref().expect("added").address;
                let first = endpoint_route(address, index_of("tapa")).expect("route");
                assert!(handed.lock().expect("lock").contains(&first));

                handed.lock().expect("lock").clear();
                reconcile(&mut task).await;
                assert_eq!(*handed.lock().expect("lock"), [], "routed before");

                // The VM restarted: its tap made again, wired (up, proxy
                // ARP on) before the daemon looks.
                run("ip", &["link", "del", "tapa"]);
                make_tap("tapa");
                run("sysctl", &["-qw", "net.ipv4.conf.tapa.proxy_arp=1"]);
                let moved = endpoint_route(address, index_of("tapa")).expect("route");
                assert_ne!(moved, first);
                reconcile(&mut task).await;
                assert_eq!(*handed.lock().expect("lock"), [moved], "moved");

                handed.lock().expect("lock").clear();
                reconcile(&mut task).await;
                assert_eq!(*handed.lock().expect("lock"), [], "routed before");
            });
        });
    }
}
