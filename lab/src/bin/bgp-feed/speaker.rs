//! One BGP session over a blocking socket, run by the project's own state
//! machine (`bgp::fsm`) on a thread of its own: it connects, answers OPEN
//! and KEEPALIVE, keeps the timers, and reads (and drops) what the peer
//! sends. The table itself is written by the caller on the shared write
//! half, outside the state machine.

use std::collections::{BTreeMap, VecDeque};
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::mpsc::{Receiver, Sender, TryRecvError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bgp::fsm::{Action, Event, Origin, PeerConfig, Session, State, Timer};
use bgp::wire::DecodeContext;
use bgp::wire::message::{Message, decode_message, encode_message};
use bytes::BytesMut;

/// How long one connect attempt may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// The longest the thread sleeps in a read, so a stop is seen soon.
const MAX_WAIT: Duration = Duration::from_millis(100);
/// What the Cease tells the peer (RFC 9003).
const GOODBYE: &str = "bgp-feed done";

/// The socket's write half, shared with whoever writes the table.
pub type Writer = Arc<Mutex<TcpStream>>;

/// What the session tells the rest of the feeder.
pub enum Report {
    Established {
        writer: Writer,
        ctx: DecodeContext,
        local: SocketAddr,
        hold_time: u16,
    },
    /// The session went down, or could not come up; the text says why.
    Down(String),
    /// The session closed after a stop, as asked.
    Stopped,
}

/// Orders for the session thread.
pub enum Control {
    /// Send Cease/Administrative Shutdown and close.
    Stop,
}

pub struct Speaker {
    session: Session,
    peer: SocketAddr,
    read: Option<TcpStream>,
    writer: Option<Writer>,
    rbuf: BytesMut,
    ctx: DecodeContext,
    deadlines: BTreeMap<Timer, Instant>,
    events: VecDeque<Event>,
    actions: Vec<Action>,
    stopping: bool,
    report: Box<dyn Fn(Report) + Send>,
}

impl Speaker {
    pub fn new(
        config: PeerConfig,
        peer: SocketAddr,
        report: Box<dyn Fn(Report) + Send>,
    ) -> Speaker {
        Speaker {
            session: Session::new(config),
            peer,
            read: None,
            writer: None,
            rbuf: BytesMut::with_capacity(64 * 1024),
            ctx: DecodeContext::default(),
            deadlines: BTreeMap::new(),
            events: VecDeque::new(),
            actions: Vec::new(),
            stopping: false,
            report,
        }
    }

    /// Run the session until it is stopped or goes down.
    pub fn run(mut self, control: Receiver<Control>) {
        self.feed(Event::ManualStart);
        let mut chunk = vec![0u8; 64 * 1024];
        loop {
            match control.try_recv() {
                Ok(Control::Stop) | Err(TryRecvError::Disconnected) if !self.stopping => {
                    self.stopping = true;
                    self.feed(Event::ManualStop {
                        communication: Some(GOODBYE.into()),
                    });
                }
                _ => {}
            }
            if self.stopping && self.session.state() == State::Idle {
                (self.report)(Report::Stopped);
                return;
            }
            let wait = self.wait();
            match self.read.as_mut() {
                Some(stream) => {
                    let got = stream
                        .set_read_timeout(Some(wait))
                        .and_then(|()| stream.read(&mut chunk));
                    match got {
                        Ok(0) => self.feed(Event::TcpClosed),
                        Ok(n) => {
                            self.rbuf.extend_from_slice(chunk.get(..n).unwrap_or(&[]));
                            self.drain();
                        }
                        Err(e)
                            if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                        Err(e) if e.kind() == ErrorKind::Interrupted => {}
                        Err(_) => self.feed(Event::TcpClosed),
                    }
                }
                None => std::thread::sleep(wait),
            }
            self.expire_timers();
        }
    }

    /// Until the next timer, at most [`MAX_WAIT`] and at least a millisecond
    /// (a zero read timeout means "block forever").
    fn wait(&self) -> Duration {
        let now = Instant::now();
        self.deadlines
            .values()
            .min()
            .map_or(MAX_WAIT, |&at| at.saturating_duration_since(now))
            .clamp(Duration::from_millis(1), MAX_WAIT)
    }

    fn expire_timers(&mut self) {
        let now = Instant::now();
        let due: Vec<Timer> = self
            .deadlines
            .iter()
            .filter(|&(_, &at)| at <= now)
            .map(|(&t, _)| t)
            .collect();
        for t in due {
            self.deadlines.remove(&t);
            self.feed(Event::TimerExpired(t));
        }
    }

    /// Hand every complete message in the buffer to the session.
    fn drain(&mut self) {
        loop {
            match decode_message(&mut self.rbuf, &self.ctx) {
                Ok(Some(msg)) => self.feed(Event::MessageReceived(msg)),
                Ok(None) => return,
                Err(e) => {
                    self.feed(Event::DecodeFailed(e));
                    return;
                }
            }
        }
    }

    /// Give the session an event, and the events its actions cause, in order.
    fn feed(&mut self, event: Event) {
        self.events.push_back(event);
        while let Some(event) = self.events.pop_front() {
            let mut actions = std::mem::take(&mut self.actions);
            self.session.handle(event, &mut actions);
            for action in actions.drain(..) {
                self.act(action);
            }
            self.actions = actions;
        }
    }

    fn act(&mut self, action: Action) {
        match action {
            Action::Connect => self.connect(),
            Action::Disconnect => {
                self.read = None;
                self.writer = None;
            }
            Action::Send(msg) => self.send(&msg),
            Action::StartTimer(t, d) => {
                self.deadlines.insert(t, Instant::now() + d);
            }
            Action::StopTimer(t) => {
                self.deadlines.remove(&t);
            }
            Action::StateChanged { from, to } => eprintln!("bgp-feed: {from} -> {to}"),
            Action::Established(n) => {
                self.ctx = n.decode_context();
                let local = self.read.as_ref().and_then(|s| s.local_addr().ok());
                if let (Some(writer), Some(local)) = (self.writer.clone(), local) {
                    (self.report)(Report::Established {
                        writer,
                        ctx: self.ctx,
                        local,
                        hold_time: n.hold_time,
                    });
                }
            }
            Action::Error { notification, sent } => {
                let way = if sent { "sent" } else { "received" };
                eprintln!("bgp-feed: NOTIFICATION {way}: {notification}");
                if !self.stopping {
                    (self.report)(Report::Down(format!("NOTIFICATION {way}: {notification}")));
                }
            }
            Action::SessionDown { .. } if !self.stopping => {
                (self.report)(Report::Down("the session left Established".into()));
            }
            // What the peer announces, and its refresh requests, do not
            // matter to a feeder.
            Action::SessionDown { .. }
            | Action::Deliver(_)
            | Action::RouteRefreshRequested(_)
            | Action::RouteRefreshBegin(_)
            | Action::RouteRefreshEnd(_) => {}
        }
    }

    fn connect(&mut self) {
        let stream = TcpStream::connect_timeout(&self.peer, CONNECT_TIMEOUT)
            .and_then(|s| s.set_nodelay(true).map(|()| s))
            .and_then(|s| s.try_clone().map(|w| (s, w)));
        match stream {
            Ok((read, write)) => {
                self.read = Some(read);
                self.writer = Some(Arc::new(Mutex::new(write)));
                self.rbuf.clear();
                self.ctx = DecodeContext::default();
                self.events.push_back(Event::TcpConnected(Origin::Local));
            }
            Err(e) => {
                eprintln!("bgp-feed: connect to {}: {e}", self.peer);
                self.events.push_back(Event::TcpConnectFailed);
            }
        }
    }

    fn send(&mut self, msg: &Message) {
        let Some(writer) = &self.writer else { return };
        let mut out = BytesMut::new();
        if let Err(e) = encode_message(msg, &self.ctx, &mut out) {
            eprintln!("bgp-feed: message not sent: {e}");
            return;
        }
        let written = match writer.lock() {
            Ok(mut w) => w.write_all(&out),
            Err(_) => Err(ErrorKind::BrokenPipe.into()),
        };
        self.events.push_back(match written {
            // RFC 9687 §4.3: a whole message written restarts SendHold.
            Ok(()) => Event::MessagesSent,
            Err(_) => Event::TcpClosed,
        });
    }
}

/// A report callback that sends into a channel, wrapped by `wrap`.
pub fn reporter<T: Send + 'static>(
    tx: Sender<T>,
    wrap: fn(Report) -> T,
) -> Box<dyn Fn(Report) + Send> {
    // The main thread only stops listening when it exits.
    Box::new(move |r| drop(tx.send(wrap(r))))
}
