//! The task of one configured neighbor: connects and accepts, feeds the
//! state machine, carries out its actions, and keeps the neighbor's status.

use std::collections::VecDeque;
use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::time::{Duration, Instant};

use bgp::fsm::{
    Action, Event, Loser, Negotiated, Origin, PeerConfig, State, Timer, collision_loser,
};
use bgp::wire::message::{decode_message, encode_message};
use bgp::wire::{Message, Notification};
use ipnet::IpNet;
use tokio::net::TcpStream;
use tokio::sync::mpsc::error::TrySendError;
use tokio::sync::{broadcast, mpsc, watch};
use tracing::{debug, info, warn};

use super::advertise;
use super::import::Importer;
use super::peer::{Conn, Io, Peer, next_io_of};
use super::rib::NeighborIdx;
use super::rib_task::RibCommand;
use super::status::{NeighborStatus, record};
use super::transport::{self, SocketSecurity};
use crate::api::protocol::{EventKind, SessionEvent};
use crate::api::time::now_ms;
use crate::policy::ImportPolicy;

/// Everything a neighbor task needs to know from the configuration.
#[derive(Clone, Debug)]
pub struct NeighborSpec {
    pub idx: NeighborIdx,
    pub address: IpAddr,
    pub port: u16,
    pub local_address: Option<IpAddr>,
    pub security: SocketSecurity,
    pub session: PeerConfig,
    pub import: ImportPolicy,
    pub max_prefixes: u32,
    /// The host's aggregates, announced with next hop self.
    pub aggregates: Vec<IpNet>,
}

/// Orders from the rest of the daemon.
#[derive(Debug)]
pub enum NeighborCommand {
    /// Close with Cease/Administrative Shutdown and this RFC 9003 text, and
    /// end the task.
    Shutdown { communication: String },
    /// The RIB counted more accepted prefixes than `max_prefixes`.
    MaxPrefixesReached,
}

/// The channels a neighbor task talks on.
pub struct NeighborChannels {
    pub status: watch::Sender<NeighborStatus>,
    pub events: broadcast::Sender<SessionEvent>,
    /// The RIB task's bounded queue of neighbors' commands.
    pub rib: mpsc::Sender<RibCommand>,
    pub incoming: mpsc::Receiver<TcpStream>,
    pub commands: mpsc::Receiver<NeighborCommand>,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Which {
    First,
    Second,
}

type Connecting = Pin<Box<dyn Future<Output = io::Result<TcpStream>> + Send>>;

pub struct Neighbor {
    spec: NeighborSpec,
    first: Peer,
    second: Option<Peer>,
    connecting: Option<Connecting>,
    actions: Vec<Action>,
    importer: Importer,
    ch: NeighborChannels,
    /// Counters gathered while handling one batch of input, published once.
    stats: Batch,
    stopping: bool,
    /// Commands for the RIB task that its full queue has not taken yet, in
    /// order. While any wait, nothing more is read from the peer, which
    /// then waits in TCP: a leaked table goes at the pace of the kernel.
    rib_backlog: VecDeque<RibCommand>,
}

#[derive(Default)]
struct Batch {
    received: u64,
    sent: u64,
    prefixes_received: u64,
}

/// How long one outgoing connect may take before it counts as failed.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

impl Neighbor {
    pub fn new(spec: NeighborSpec, ch: NeighborChannels) -> Neighbor {
        let importer = Importer::new(spec.idx, spec.import.clone());
        Neighbor {
            first: Peer::new(spec.session.clone()),
            second: None,
            connecting: None,
            actions: Vec::with_capacity(16),
            importer,
            spec,
            ch,
            stats: Batch::default(),
            stopping: false,
            rib_backlog: VecDeque::new(),
        }
    }

    /// Run until shut down.
    pub async fn run(mut self) {
        self.feed(Which::First, Event::ManualStart);
        while !self.finished() {
            if self.rib_backlog.is_empty() {
                tokio::select! {
                    io = self.first.next_io() => self.on_io(Which::First, io),
                    io = next_io_of(&mut self.second) => self.on_io(Which::Second, io),
                    r = connect_of(&mut self.connecting) => {
                        self.connecting = None;
                        self.on_connected(r);
                    }
                    Some(stream) = self.ch.incoming.recv() => self.on_incoming(stream),
                    Some(cmd) = self.ch.commands.recv() => self.on_command(cmd),
                }
            } else {
                // Waiting for room in the RIB's queue: no reading, but the
                // timers run (KEEPALIVEs go out) and orders are obeyed.
                let rib = self.ch.rib.clone();
                tokio::select! {
                    room = rib.reserve_owned() => self.on_rib_room(room.ok()),
                    t = self.first.timers.expired() => self.on_timer_held(Which::First, t),
                    t = timers_of(&mut self.second) => self.on_timer_held(Which::Second, t),
                    Some(stream) = self.ch.incoming.recv() => self.on_incoming(stream),
                    Some(cmd) = self.ch.commands.recv() => self.on_command(cmd),
                }
            }
            self.publish();
        }
        // The last word of a session (its routes withdrawn) must reach the
        // RIB even when its queue was full at the end.
        while let Some(cmd) = self.rib_backlog.pop_front() {
            if self.ch.rib.send(cmd).await.is_err() {
                break;
            }
        }
        self.publish();
    }

    /// Hand a command to the RIB task, or keep it, in order, while its
    /// queue is full.
    fn send_rib(&mut self, cmd: RibCommand) {
        if !self.rib_backlog.is_empty() {
            self.rib_backlog.push_back(cmd);
            return;
        }
        match self.ch.rib.try_send(cmd) {
            Ok(()) => {}
            Err(TrySendError::Full(cmd)) => self.rib_backlog.push_back(cmd),
            // The RIB task only stops at shutdown; losing an update then is
            // harmless, at any other time it is a bug.
            Err(TrySendError::Closed(_)) => warn!("RIB queue closed; update dropped"),
        }
    }

    /// The RIB's queue has room: send what waits, then read on.
    fn on_rib_room(&mut self, room: Option<mpsc::OwnedPermit<RibCommand>>) {
        let Some(room) = room else {
            warn!("RIB queue closed; updates dropped");
            self.rib_backlog.clear();
            return;
        };
        if let Some(cmd) = self.rib_backlog.pop_front() {
            room.send(cmd);
        }
        while let Some(cmd) = self.rib_backlog.pop_front() {
            if let Err(TrySendError::Full(cmd) | TrySendError::Closed(cmd)) =
                self.ch.rib.try_send(cmd)
            {
                self.rib_backlog.push_front(cmd);
                return;
            }
        }
        // Messages already read wait in the buffer; no read would wake us.
        self.drain_messages(Which::First);
        self.drain_messages(Which::Second);
    }

    /// A timer while nothing is read. RFC 4271 §4.4: the hold timer runs
    /// between messages received; the peer's messages now wait unread in
    /// the socket because of the daemon, so the timer starts again rather
    /// than end a session that is alive. KEEPALIVEs due go out at once.
    fn on_timer_held(&mut self, which: Which, timer: Timer) {
        if timer == Timer::Hold
            && let Some(p) = self.peer(which)
            && let Some(hold) = p.session.negotiated().map(|n| n.hold_time)
        {
            p.timers
                .start(Timer::Hold, Duration::from_secs(u64::from(hold)));
            return;
        }
        self.feed(which, Event::TimerExpired(timer));
        if let Some(conn) = self.peer(which).and_then(|p| p.conn.as_mut()) {
            conn.flush_now();
        }
    }

    fn finished(&self) -> bool {
        self.stopping && self.first.conn.is_none() && self.second.is_none()
    }

    fn peer(&mut self, which: Which) -> Option<&mut Peer> {
        match which {
            Which::First => Some(&mut self.first),
            Which::Second => self.second.as_mut(),
        }
    }

    /// Give one event to a session and carry out what it asks.
    fn feed(&mut self, which: Which, event: Event) {
        let mut actions = std::mem::take(&mut self.actions);
        match self.peer(which) {
            Some(p) => p.session.handle(event, &mut actions),
            None => return,
        }
        for action in actions.drain(..) {
            self.act(which, action);
        }
        self.actions = actions;
        self.resolve_collision();
    }

    fn act(&mut self, which: Which, action: Action) {
        match action {
            Action::Connect => self.start_connect(),
            Action::Disconnect => {
                if let Some(p) = self.peer(which)
                    && let Some(mut conn) = p.conn.take()
                {
                    conn.flush_now();
                }
                if which == Which::First {
                    self.connecting = None;
                }
            }
            Action::Send(msg) => self.send(which, &msg),
            Action::StartTimer(t, d) => {
                if let Some(p) = self.peer(which) {
                    p.timers.start(t, d);
                }
            }
            Action::StopTimer(t) => {
                if let Some(p) = self.peer(which) {
                    p.timers.stop(t);
                }
            }
            Action::StateChanged { from, to } => self.on_state(which, from, to),
            Action::Established(n) => self.on_established(which, n),
            Action::Deliver(update) => {
                let outcome = self.importer.import(&update);
                self.stats.prefixes_received += outcome.received;
                if let Some(cmd) = outcome.command {
                    self.send_rib(cmd);
                }
            }
            Action::RouteRefreshRequested(family) => {
                debug!(%family, "route refresh requested; re-advertising");
                self.advertise(which, Some(family));
            }
            Action::RouteRefreshBegin(_) | Action::RouteRefreshEnd(_) => {}
            // A NOTIFICATION on the losing connection of a collision says
            // nothing about the session: only the neighbor's own counts.
            Action::Error { notification, sent } if which == Which::First => {
                self.on_error(&notification, sent)
            }
            Action::Error { notification, .. } => {
                debug!("second connection: {notification}");
            }
            Action::SessionDown { .. } => {
                self.send_rib(RibCommand::NeighborDown(self.spec.idx));
            }
        }
    }

    fn send(&mut self, which: Which, msg: &Message) {
        let Some(p) = self.peer(which) else { return };
        let ctx = p.ctx;
        let Some(conn) = p.conn.as_mut() else { return };
        match encode_message(msg, &ctx, &mut conn.wbuf) {
            Ok(()) => self.stats.sent += 1,
            Err(e) => warn!(error = %e, "message not sent"),
        }
    }

    fn start_connect(&mut self) {
        let peer = SocketAddr::new(self.spec.address, self.spec.port);
        let local = self.spec.local_address;
        let security = self.spec.security.clone();
        self.connecting = Some(Box::pin(async move {
            transport::connect(peer, local, &security, CONNECT_TIMEOUT).await
        }));
    }

    fn on_connected(&mut self, r: io::Result<TcpStream>) {
        match r {
            Ok(stream) if self.first.conn.is_none() => {
                self.attach(Which::First, stream, Origin::Local)
            }
            // The peer's connection won the race and is already in use.
            Ok(_) => {}
            Err(e) => {
                debug!(error = %e, "connect failed");
                self.set_error(format!("connect: {e}"));
                self.feed(Which::First, Event::TcpConnectFailed);
            }
        }
    }

    /// RFC 4271 §6.8 / `bgp::fsm` docs: a connection from the peer becomes
    /// the first session's when it has none, else a second session's.
    fn on_incoming(&mut self, stream: TcpStream) {
        if self.stopping {
            return;
        }
        match self.first.session.state() {
            State::Idle => debug!("connection from peer refused in Idle"),
            State::Connect | State::Active if self.first.conn.is_none() => {
                self.connecting = None;
                self.attach(Which::First, stream, Origin::Remote);
            }
            _ if self.second.is_none() => {
                self.second = Some(Peer::new(self.spec.session.clone()));
                self.feed(Which::Second, Event::AutomaticStartPassive);
                self.attach(Which::Second, stream, Origin::Remote);
            }
            _ => debug!("third connection from peer refused"),
        }
    }

    fn attach(&mut self, which: Which, stream: TcpStream, origin: Origin) {
        let conn = match Conn::new(stream) {
            Ok(c) => c,
            Err(e) => {
                warn!(error = %e, "connection unusable");
                return;
            }
        };
        debug!(local = %conn.local, remote = %conn.remote, ?origin, "connected");
        if let Some(p) = self.peer(which) {
            p.conn = Some(conn);
            p.ctx = Default::default();
        }
        self.feed(which, Event::TcpConnected(origin));
    }

    fn resolve_collision(&mut self) {
        let Some(second) = &self.second else { return };
        if second.session.state() == State::Idle {
            self.second = None;
            return;
        }
        match collision_loser(&self.first.session, &second.session) {
            Some(Loser::First) => {
                info!("connection collision: keeping the peer's connection");
                self.feed(Which::First, Event::CollisionDump);
                if let Some(winner) = self.second.take() {
                    self.first = winner;
                }
            }
            Some(Loser::Second) => {
                info!("connection collision: keeping our connection");
                self.feed(Which::Second, Event::CollisionDump);
                self.second = None;
            }
            None => {}
        }
    }

    fn on_io(&mut self, which: Which, io: Io) {
        match io {
            Io::Read(Ok(0)) => self.closed(which, "connection closed by peer"),
            Io::Read(Ok(_)) => self.drain_messages(which),
            Io::Read(Err(e)) | Io::Wrote(Err(e)) => self.closed(which, &e.to_string()),
            // RFC 9687 §4.3 counts whole messages: only a drained queue
            // proves the peer took them, a trickle of bytes does not.
            Io::Wrote(Ok(_)) => {
                if self
                    .peer(which)
                    .and_then(|p| p.conn.as_ref())
                    .is_some_and(|c| c.wbuf.is_empty())
                {
                    self.feed(which, Event::MessagesSent);
                }
            }
            Io::Timer(t) => self.feed(which, Event::TimerExpired(t)),
        }
    }

    fn closed(&mut self, which: Which, why: &str) {
        if let Some(p) = self.peer(which) {
            p.conn = None;
        }
        if which == Which::First && self.first.session.state() != State::Idle {
            self.set_error(format!("transport: {why}"));
        }
        self.feed(which, Event::TcpClosed);
    }

    /// Parse and handle every complete message in the receive buffer, or
    /// until the RIB's queue is full.
    fn drain_messages(&mut self, which: Which) {
        while self.rib_backlog.is_empty() {
            let Some(p) = self.peer(which) else { return };
            let ctx = p.ctx;
            let Some(conn) = p.conn.as_mut() else { return };
            match decode_message(&mut conn.rbuf, &ctx) {
                Ok(Some(msg)) => {
                    self.stats.received += 1;
                    self.feed(which, Event::MessageReceived(msg));
                }
                Ok(None) => return,
                Err(e) => {
                    warn!(reason = e.reason, "malformed message: {}", e.notification);
                    self.feed(which, Event::DecodeFailed(e));
                    return;
                }
            }
        }
    }

    fn on_command(&mut self, cmd: NeighborCommand) {
        match cmd {
            NeighborCommand::Shutdown { communication } => {
                self.stopping = true;
                self.feed(
                    Which::First,
                    Event::ManualStop {
                        communication: Some(communication.clone()),
                    },
                );
                if self.second.is_some() {
                    self.feed(
                        Which::Second,
                        Event::ManualStop {
                            communication: Some(communication),
                        },
                    );
                    self.second = None;
                }
                self.connecting = None;
            }
            NeighborCommand::MaxPrefixesReached => {
                let family = bgp::Family::IPV4_UNICAST;
                let limit = self.spec.max_prefixes;
                warn!(limit, "maximum number of prefixes reached");
                self.feed(Which::First, Event::MaxPrefixesReached { family, limit });
            }
        }
    }

    fn on_state(&mut self, which: Which, from: State, to: State) {
        if which == Which::Second && to != State::Established {
            return;
        }
        info!(%from, %to, "state changed");
        let established = from == State::Established || to == State::Established;
        self.ch.status.send_modify(|s| {
            s.state = to.name();
            if established {
                s.up_down_since = Some(Instant::now());
            }
            if to == State::Established {
                s.established_transitions += 1;
                // Like FRR's PfxRcd: what this session received.
                s.prefixes_received = 0;
            }
            if from == State::Established {
                s.prefixes_advertised = 0;
                s.hold_time = None;
                s.keepalive_time = None;
                s.capabilities.clear();
            }
        });
        self.event(EventKind::StateChanged {
            from: from.name().into(),
            to: to.name().into(),
        });
    }

    fn on_established(&mut self, which: Which, n: Negotiated) {
        if let Some(p) = self.peer(which) {
            p.ctx = n.decode_context();
        }
        self.ch.status.send_modify(|s| {
            s.peer_router_id = Some(n.peer_router_id.to_string());
            s.hold_time = Some(n.hold_time);
            s.keepalive_time = n.keepalive_time.map(|d| d.as_secs() as u16);
            s.capabilities = advertise::capability_names(&n);
        });
        self.advertise(which, None);
    }

    /// Announce the host aggregates with next hop self, then End-of-RIB for
    /// every negotiated family (RFC 4724 §2).
    fn advertise(&mut self, which: Which, only: Option<bgp::Family>) {
        let p = match which {
            Which::First => &self.first,
            Which::Second => match &self.second {
                Some(p) => p,
                None => return,
            },
        };
        let Some(conn) = p.conn.as_ref() else { return };
        let Some(n) = p.session.negotiated() else {
            return;
        };
        let plan = advertise::plan(
            &self.spec.aggregates,
            n,
            &self.spec.session,
            conn.local.ip(),
            only,
        );
        for skipped in &plan.skipped {
            warn!(prefix = %skipped, "not advertised: no next hop of its family on this session");
        }
        let count = plan.advertised;
        for msg in plan.messages {
            self.send(which, &msg);
        }
        self.ch
            .status
            .send_modify(|s| s.prefixes_advertised = count);
    }

    fn on_error(&mut self, n: &Notification, sent: bool) {
        let rec = record(n);
        let text = format!("{} {}", if sent { "sent" } else { "received" }, n);
        if sent {
            warn!("NOTIFICATION sent: {n}");
        } else {
            warn!("NOTIFICATION received: {n}");
        }
        self.ch.status.send_modify(|s| {
            s.last_error = Some(text);
            if sent {
                s.last_notification_sent = Some(rec.clone());
            } else {
                s.last_notification_received = Some(rec.clone());
            }
        });
        self.event(if sent {
            EventKind::NotificationSent { notification: rec }
        } else {
            EventKind::NotificationReceived { notification: rec }
        });
    }

    /// A failure without a NOTIFICATION: an event and `show neighbors`, but
    /// not `last_error`, which SPEC §3 keeps for NOTIFICATIONs.
    fn set_error(&mut self, text: String) {
        self.event(EventKind::TransportError {
            message: text.clone(),
        });
        self.ch
            .status
            .send_modify(|s| s.last_transport_error = Some(text));
    }

    fn event(&self, kind: EventKind) {
        // No subscriber is normal: nobody follows.
        let _ = self.ch.events.send(SessionEvent {
            at_ms: now_ms(),
            neighbor: self.spec.address,
            kind,
        });
    }

    /// Publish the counters of the batch just handled, once.
    fn publish(&mut self) {
        let batch = std::mem::take(&mut self.stats);
        if batch.received == 0 && batch.sent == 0 {
            return;
        }
        self.ch.status.send_modify(|s| {
            s.messages_received += batch.received;
            s.messages_sent += batch.sent;
            s.prefixes_received += batch.prefixes_received;
        });
    }
}

/// The next timer of a session that may not exist: pending when absent.
async fn timers_of(peer: &mut Option<Peer>) -> Timer {
    match peer {
        Some(p) => p.timers.expired().await,
        None => std::future::pending().await,
    }
}

async fn connect_of(c: &mut Option<Connecting>) -> io::Result<TcpStream> {
    match c {
        Some(f) => f.await,
        None => std::future::pending().await,
    }
}
