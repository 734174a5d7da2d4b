//! `romana-bgp run`: brings the host up in order, runs until SIGTERM or
//! SIGINT, and takes down what it set up.
//!
//! Start: kernel (gateway address, unreachable aggregate, stale routes of a
//! previous run swept), then the RIB, the neighbors, their listeners and the
//! control socket. Stop: the control socket, then every session with a
//! Cease/Administrative Shutdown (RFC 9003 text), then the routes.

use std::collections::BTreeMap;
use std::collections::hash_map::RandomState;
use std::fmt;
use std::fs::{File, OpenOptions, TryLockError};
use std::hash::{BuildHasher, Hasher};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bgp::fsm::PeerConfig;
use ipnet::{IpNet, Ipv4Net};
use tokio::sync::{broadcast, mpsc, oneshot, watch};
use tokio::task::JoinSet;
use tracing::{Instrument, error, info, info_span, warn};

use crate::api::protocol::{
    EndpointAdd, EndpointList, EndpointView, NeighborDetails, Routes, SessionEvent, Summary,
};
use crate::api::server::{self, ApiError, Backend};
use crate::config::{self, Config};
use crate::endpoint::{AddRequest, Attachment, Endpoint, Store, Target, Wiring, netns_path};
use crate::kernel::{self, Netlink, OwnedRoutes, Route, Sweep, WantedRoutes, learned};
use crate::reconcile::{EndpointCommand, EndpointTask, endpoint_route};
use crate::speaker::neighbor::{Neighbor, NeighborChannels, NeighborCommand, NeighborSpec};
use crate::speaker::rib::NeighborIdx;
use crate::speaker::rib_task::{NeighborSlot, RibCommand, RibTask, UPDATE_QUEUE};
use crate::speaker::status::NeighborStatus;
use crate::speaker::transport::{Listener, Registration, SocketSecurity};

/// The text peers see when the daemon stops (RFC 9003).
const SHUTDOWN_COMMUNICATION: &str = "romana-bgp stopping";
/// How long sessions get to send their Cease before the routes go.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(3);
/// Endpoint requests waiting for the endpoint task; more wait in the socket.
const ENDPOINT_QUEUE: usize = 1024;
/// Events buffered for each `follow` client before it counts as lagging
/// (and is told how many it missed). The buffer is allocated whole at
/// start and stays resident: 1,024 events were 128 KB of an idle daemon's
/// RSS. Sessions change state a few events at a time; the bursts of
/// accepted-count events a leaked table causes can overrun it, which the
/// client is told.
const EVENT_BUFFER: usize = 128;

/// Why the daemon could not start or stop cleanly.
#[derive(Debug)]
pub enum DaemonError {
    Netlink(kernel::ConnectError),
    Kernel(String),
    Listen {
        port: u16,
        source: std::io::Error,
    },
    Api(ApiError),
    Signal(std::io::Error),
    Internal(String),
    State {
        path: PathBuf,
        source: std::io::Error,
    },
    Endpoints(String),
    AlreadyRunning {
        path: PathBuf,
    },
}

impl fmt::Display for DaemonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DaemonError::Netlink(e) => e.fmt(f),
            DaemonError::Kernel(e) => write!(f, "kernel: {e}"),
            DaemonError::Listen { port, source } => write!(
                f,
                "cannot listen for BGP on port {port}: {source} (is another BGP daemon running?)"
            ),
            DaemonError::Api(e) => write!(f, "control socket: {e}"),
            DaemonError::Signal(e) => write!(f, "cannot install signal handlers: {e}"),
            DaemonError::Internal(e) => f.write_str(e),
            DaemonError::State { path, source } => {
                write!(f, "state directory: {}: {source}", path.display())
            }
            DaemonError::Endpoints(e) => write!(f, "endpoints: {e}"),
            DaemonError::AlreadyRunning { path } => write!(
                f,
                "another romana-bgp is running with this state directory (it holds {})",
                path.display()
            ),
        }
    }
}

impl std::error::Error for DaemonError {}

/// Run the daemon until SIGTERM or SIGINT.
pub async fn run(config: Config) -> Result<(), DaemonError> {
    // One daemon per state directory: a second one must fail before it
    // touches the kernel, or its start-up sweep would take the running
    // daemon's routes away.
    let _lock = lock_state_dir(&config.state.dir)?;
    let netlink = Netlink::connect().map_err(DaemonError::Netlink)?;
    let aggregate = config.plan.host_block(config.host.index);
    let gateway = config.plan.gateway(config.host.index);
    info!(%aggregate, %gateway, asn = %config.host.asn, router_id = %config.host.router_id, "starting");

    let lo = netlink
        .ifindex("lo")
        .await
        .map_err(|e| DaemonError::Kernel(e.to_string()))?;
    let gateway_net = IpNet::V4(Ipv4Net::new(gateway, 32).expect("/32 is a valid length"));
    netlink
        .add_owned_address(lo, gateway_net)
        .await
        .map_err(|e| DaemonError::Kernel(e.to_string()))?;

    let store = Store::open(
        &config.state.dir,
        &config.plan,
        config.host.index,
        &config.tenants,
    )
    .map_err(|e| DaemonError::Endpoints(e.to_string()))?;
    let wiring = Wiring::start().map_err(|e| DaemonError::Endpoints(e.to_string()))?;

    // Packets for addresses of the block that no endpoint holds stop here
    // instead of following the default route back to the leaf.
    let mut wanted = WantedRoutes::new();
    wanted.insert(
        Route::unreachable(IpNet::V4(aggregate)).map_err(|e| DaemonError::Kernel(e.to_string()))?,
    );
    // The endpoints of the previous run keep their routes: the start-up
    // sweep must not cut them off; those not wired are wired by the
    // endpoint task's first reconcile.
    let endpoints: Vec<_> = store.list().cloned().collect();
    let wired = wiring
        .wired(endpoints.clone())
        .await
        .map_err(|e| DaemonError::Endpoints(e.to_string()))?;
    for (endpoint, ifindex) in endpoints.iter().zip(wired) {
        if let Some(ifindex) = ifindex
            && let Ok(route) = endpoint_route(endpoint.address, ifindex)
        {
            wanted.insert(route);
        }
    }
    // Learned routes of a previous run, however it ended, go: the sessions
    // bring them again.
    match learned::sweep(&netlink).await {
        Ok(report) => {
            for e in &report.errors {
                warn!("kernel: {e}");
            }
            if report.deleted > 0 {
                info!(
                    removed = report.deleted,
                    "learned routes of a previous run removed"
                );
            }
        }
        Err(e) => return Err(DaemonError::Kernel(e.to_string())),
    }
    let (routes, report) = OwnedRoutes::start(netlink.clone(), &wanted, Sweep::RemoveStale)
        .await
        .map_err(|e| DaemonError::Kernel(e.to_string()))?;
    for e in &report.errors {
        warn!("kernel: {e}");
    }
    info!(
        added = report.added,
        replaced = report.replaced,
        removed = report.deleted,
        "kernel routes reconciled"
    );

    let (events, _) = broadcast::channel(EVENT_BUFFER);
    // The host's requests and the control API's; neighbors' UPDATEs go on a
    // bounded queue of their own, which holds a fast peer back in TCP.
    let (rib_tx, rib_rx) = mpsc::unbounded_channel();
    let (update_tx, update_rx) = mpsc::channel(UPDATE_QUEUE);
    let mut slots = Vec::new();
    let mut statuses = Vec::new();
    let mut commands = Vec::new();
    let mut tasks = JoinSet::new();
    let mut listeners: BTreeMap<u16, Vec<Registration>> = BTreeMap::new();
    let aggregates = vec![IpNet::V4(aggregate)];

    for (i, n) in config.neighbors.iter().enumerate() {
        let idx = NeighborIdx(u16::try_from(i).unwrap_or(u16::MAX));
        let security = SocketSecurity {
            md5_key: n.password.as_ref().map(|p| p.as_bytes().to_vec()),
            ttl_security_hops: n.ttl_security_hops,
        };
        let (status_tx, status_rx) = watch::channel(NeighborStatus::new(
            n.address,
            n.port,
            n.passive,
            n.remote_as.0,
            config.host.asn.0,
            n.hold_time.seconds(),
        ));
        let (cmd_tx, cmd_rx) = mpsc::channel(8);
        let (in_tx, in_rx) = mpsc::channel(2);
        let accepted = Arc::new(AtomicU64::new(0));
        // No limit configured: none that a table could reach.
        let max_prefixes = n.max_prefixes.map_or(u32::MAX, |m| m.get());
        listeners.entry(n.port).or_default().push(Registration {
            peer: n.address,
            security: security.clone(),
            incoming: in_tx,
        });
        slots.push(NeighborSlot {
            address: n.address,
            max_prefixes,
            commands: cmd_tx.clone(),
            accepted: accepted.clone(),
        });
        statuses.push((status_rx, accepted));
        commands.push(cmd_tx);
        let spec = NeighborSpec {
            idx,
            address: n.address,
            port: n.port,
            local_address: n.local_address,
            security,
            session: peer_config(&config, n),
            import: n.import.clone(),
            max_prefixes,
            aggregates: aggregates.clone(),
        };
        let neighbor = Neighbor::new(
            spec,
            NeighborChannels {
                status: status_tx,
                events: events.clone(),
                rib: update_tx.clone(),
                incoming: in_rx,
                commands: cmd_rx,
            },
        );
        let span = info_span!("neighbor", peer = %n.address);
        tasks.spawn(neighbor.run().instrument(span));
    }

    for (port, registrations) in listeners {
        let listener = Listener::bind(port, registrations)
            .map_err(|source| DaemonError::Listen { port, source })?;
        tokio::spawn(listener.run());
    }

    // Only the neighbors hold the update queue: it closes when they end.
    drop(update_tx);
    let rib =
        tokio::spawn(RibTask::new(routes, wanted, slots, events.clone()).run(rib_rx, update_rx));
    let (endpoint_tx, endpoint_rx) = mpsc::channel(ENDPOINT_QUEUE);
    let endpoint_task = tokio::spawn(
        EndpointTask::new(store, wiring, Arc::new(config.clone()), rib_tx.clone())
            .run(endpoint_rx)
            .instrument(info_span!("endpoints")),
    );

    let backend = Arc::new(DaemonBackend {
        router_id: config.host.router_id.to_string(),
        local_as: config.host.asn.0,
        neighbors: statuses,
        rib: rib_tx,
        events,
        endpoints: endpoint_tx,
    });
    let (stop_api, api_stopped) = oneshot::channel::<()>();
    let socket = config.api.socket.clone();
    let mut api = tokio::spawn(async move {
        server::serve(&socket, backend, async {
            let _ = api_stopped.await;
        })
        .await
    });

    let result = tokio::select! {
        signal = wait_for_signal() => signal,
        api_result = &mut api => match api_result {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(DaemonError::Api(e)),
            Err(e) => Err(DaemonError::Internal(format!("control socket task failed: {e}"))),
        },
    };
    let _ = stop_api.send(());
    if !api.is_finished() {
        let _ = api.await;
    }

    info!("stopping: closing sessions");
    for c in &commands {
        let _ = c
            .send(NeighborCommand::Shutdown {
                communication: SHUTDOWN_COMMUNICATION.to_string(),
            })
            .await;
    }
    let drained = tokio::time::timeout(SHUTDOWN_GRACE, async {
        while tasks.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        warn!("sessions did not close in time; aborting them");
        tasks.shutdown().await;
    }
    drop(commands);

    if let Err(e) = endpoint_task.await {
        error!("endpoint task failed: {e}");
    }
    let routes = match rib.await {
        Ok(r) => r,
        Err(e) => {
            error!("RIB task failed: {e}");
            return result;
        }
    };
    // What BGP learned goes with the sessions. The host's own data plane
    // (gateway address, aggregate, endpoints' routes, links and isolation
    // table) stays, so endpoints keep talking until the next start takes
    // it over.
    match learned::sweep(routes.table()).await {
        Ok(report) => {
            for e in &report.errors {
                warn!("removing learned routes: {e}");
            }
            info!(removed = report.deleted, "learned routes removed");
        }
        Err(e) => warn!("removing learned routes: {e}"),
    }
    info!("stopped");
    result
}

/// Hold an exclusive lock on `DIR/romana-bgp.lock` for the daemon's life;
/// the kernel releases it when the process ends, however it ends.
fn lock_state_dir(dir: &Path) -> Result<File, DaemonError> {
    let path = dir.join("romana-bgp.lock");
    let locked = std::fs::create_dir_all(dir)
        .and_then(|()| {
            OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(&path)
        })
        .map_err(|source| DaemonError::State {
            path: path.clone(),
            source,
        })?;
    match locked.try_lock() {
        Ok(()) => Ok(locked),
        Err(TryLockError::WouldBlock) => Err(DaemonError::AlreadyRunning { path }),
        Err(TryLockError::Error(source)) => Err(DaemonError::State { path, source }),
    }
}

fn peer_config(config: &Config, n: &config::Neighbor) -> PeerConfig {
    let mut p = PeerConfig::new(config.host.asn, n.remote_as, config.host.router_id);
    p.hold_time = n.hold_time.seconds();
    p.connect_retry_time = n.connect_retry;
    p.passive = n.passive;
    p.idle_hold_time = n.idle_hold_time;
    p.idle_hold_max = n.idle_hold_max;
    p.jitter_seed = random_seed();
    p
}

/// A seed for the state machine's timer jitter (RFC 4271 §10): the standard
/// library's per-process random hasher keys, no extra dependency.
fn random_seed() -> u64 {
    RandomState::new().build_hasher().finish()
}

async fn wait_for_signal() -> Result<(), DaemonError> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).map_err(DaemonError::Signal)?;
    let mut int = signal(SignalKind::interrupt()).map_err(DaemonError::Signal)?;
    tokio::select! {
        _ = term.recv() => info!("SIGTERM"),
        _ = int.recv() => info!("SIGINT"),
    }
    Ok(())
}

/// What the control socket reads: status snapshots and questions to the RIB.
struct DaemonBackend {
    router_id: String,
    local_as: u32,
    neighbors: Vec<(watch::Receiver<NeighborStatus>, Arc<AtomicU64>)>,
    rib: mpsc::UnboundedSender<RibCommand>,
    events: broadcast::Sender<SessionEvent>,
    endpoints: mpsc::Sender<EndpointCommand>,
}

/// Said to a client whose request meets a daemon on its way out.
const STOPPING: &str = "romana-bgp is stopping";

fn endpoint_view(e: &Endpoint, wired: bool) -> EndpointView {
    EndpointView {
        name: e.name.clone(),
        tenant: e.tenant.clone(),
        segment: e.segment.clone(),
        address: e.address,
        gateway: e.gateway,
        interface: e.interface.clone(),
        netns: match &e.attachment {
            Attachment::Netns { path } => Some(path.display().to_string()),
            Attachment::Tap => None,
        },
        wired,
    }
}

impl DaemonBackend {
    fn status(
        &self,
        (rx, accepted): &(watch::Receiver<NeighborStatus>, Arc<AtomicU64>),
    ) -> NeighborStatus {
        let mut s = rx.borrow().clone();
        s.prefixes_accepted = accepted.load(Ordering::Relaxed);
        s
    }
}

impl Backend for DaemonBackend {
    fn summary(&self) -> Summary {
        Summary {
            router_id: self.router_id.clone(),
            local_as: self.local_as,
            neighbors: self
                .neighbors
                .iter()
                .map(|n| self.status(n).summary())
                .collect(),
        }
    }

    fn neighbors(&self, address: Option<IpAddr>) -> Result<NeighborDetails, String> {
        let neighbors: Vec<_> = self
            .neighbors
            .iter()
            .map(|n| self.status(n))
            .filter(|s| address.is_none_or(|a| a == s.address))
            .map(|s| s.detail())
            .collect();
        match address {
            Some(a) if neighbors.is_empty() => Err(format!("no neighbor {a} configured")),
            _ => Ok(NeighborDetails { neighbors }),
        }
    }

    async fn routes(&self) -> Routes {
        let (tx, rx) = oneshot::channel();
        let routes = match self.rib.send(RibCommand::Routes(tx)) {
            Ok(()) => rx.await.unwrap_or_default(),
            Err(_) => Vec::new(),
        };
        Routes { routes }
    }

    fn subscribe(&self) -> broadcast::Receiver<SessionEvent> {
        self.events.subscribe()
    }

    async fn endpoint_add(&self, add: EndpointAdd) -> Result<EndpointView, String> {
        let target = match (add.netns, add.iface) {
            (Some(netns), None) => Target::Netns(netns_path(&netns).map_err(|e| e.to_string())?),
            (None, Some(iface)) => Target::Tap(iface),
            _ => return Err("give exactly one of --netns and --iface".to_string()),
        };
        let request = AddRequest {
            name: add.name,
            tenant: add.tenant,
            segment: add.segment,
            target,
        };
        let (reply, answer) = oneshot::channel();
        self.endpoints
            .send(EndpointCommand::Add(request, reply))
            .await
            .map_err(|_| STOPPING.to_string())?;
        let endpoint = answer.await.map_err(|_| STOPPING.to_string())??;
        Ok(endpoint_view(&endpoint, true))
    }

    async fn endpoint_del(&self, name: String) -> Result<bool, String> {
        let (reply, answer) = oneshot::channel();
        self.endpoints
            .send(EndpointCommand::Del(name, reply))
            .await
            .map_err(|_| STOPPING.to_string())?;
        answer.await.map_err(|_| STOPPING.to_string())?
    }

    async fn endpoints(&self) -> EndpointList {
        let (reply, answer) = oneshot::channel();
        let endpoints = match self.endpoints.send(EndpointCommand::List(reply)).await {
            Ok(()) => answer.await.unwrap_or_default(),
            Err(_) => Vec::new(),
        };
        EndpointList {
            endpoints: endpoints
                .iter()
                .map(|(e, wired)| endpoint_view(e, *wired))
                .collect(),
        }
    }
}
