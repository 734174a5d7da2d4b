//! The state machine of one BGP session (RFC 4271 §8.2.2), sans I/O.

use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};

use crate::error::DecodeError;
use crate::family::Family;
use crate::fsm::action::Action;
use crate::fsm::backoff::{Jitter, idle_hold};
use crate::fsm::config::PeerConfig;
use crate::fsm::event::{Event, Origin};
use crate::fsm::negotiate::{Negotiated, negotiate};
use crate::fsm::state::State;
use crate::fsm::timer::{Timer, TimerSet};
use crate::wire::message::Message;
use crate::wire::notification::{ErrorCode, Notification, cease, fsm_error};
use crate::wire::open::Open;
use crate::wire::route_refresh::{RefreshSubtype, RouteRefresh};

/// RFC 4271 §8.2.2: the HoldTimer in OpenSent is "a large value"; 4 minutes
/// is the suggested one.
pub const OPEN_SENT_HOLD: Duration = Duration::from_secs(240);

/// RFC 4271 §4.4: KEEPALIVEs are never sent more often than once a second.
const MIN_KEEPALIVE: Duration = Duration::from_secs(1);

/// How a session reaches Idle, which decides what happens next.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Close {
    /// An error or a lost connection: count it and start the IdleHold.
    Error,
    /// The operator stopped the session: stay Idle until ManualStart.
    Stop,
    /// Lost a collision: this session is finished.
    Dump,
}

/// One BGP session: feed it events, carry out the actions it pushes.
#[derive(Clone, Debug)]
pub struct Session {
    config: PeerConfig,
    open: Open,
    state: State,
    timers: TimerSet,
    jitter: Jitter,
    /// Consecutive errors, for the IdleHold backoff (RFC 4271 §8.1.1).
    errors: u32,
    /// Stopped by the operator or by a lost collision: no automatic start.
    stopped: bool,
    /// Who opened the connection, while there is one.
    origin: Option<Origin>,
    /// Set when the peer's OPEN is accepted, cleared in Idle.
    negotiated: Option<Negotiated>,
}

impl Session {
    /// A session in Idle. Nothing happens until `ManualStart` or
    /// `AutomaticStart`.
    pub fn new(config: PeerConfig) -> Session {
        Session {
            open: config.open(),
            jitter: Jitter::new(config.jitter_seed),
            config,
            state: State::Idle,
            timers: TimerSet::default(),
            errors: 0,
            stopped: false,
            origin: None,
            negotiated: None,
        }
    }

    pub fn state(&self) -> State {
        self.state
    }

    pub fn config(&self) -> &PeerConfig {
        &self.config
    }

    /// What the OPENs agreed, in OpenConfirm and Established.
    pub fn negotiated(&self) -> Option<&Negotiated> {
        self.negotiated.as_ref()
    }

    /// Who opened the session's connection, from OpenSent on.
    pub fn origin(&self) -> Option<Origin> {
        self.origin
    }

    /// Errors since the session last stayed Established for `idle_hold_max`
    /// (or since the operator last started or stopped it).
    pub fn consecutive_errors(&self) -> u32 {
        self.errors
    }

    /// Take one event and push the actions it causes onto `out`, in the
    /// order they are to be carried out. `out` is not cleared.
    pub fn handle(&mut self, event: Event, out: &mut Vec<Action>) {
        match event {
            Event::ManualStart => self.manual_start(out),
            Event::ManualStop { communication } => self.manual_stop(communication, out),
            Event::AutomaticStart => self.automatic_start(self.config.passive, out),
            Event::AutomaticStartPassive => self.automatic_start(true, out),
            Event::TcpConnected(origin) => self.tcp_connected(origin, out),
            Event::TcpConnectFailed => {
                // RFC 4271 §8.2.2 Connect, event 18 without DelayOpen: Idle.
                // In any other state there is no attempt that could fail.
                if self.state == State::Connect {
                    self.close(Close::Error, out);
                }
            }
            Event::TcpClosed => self.tcp_closed(out),
            Event::MessageReceived(message) => self.message(message, out),
            Event::DecodeFailed(error) => self.decode_failed(error, out),
            Event::TimerExpired(timer) => self.timer_expired(timer, out),
            Event::MessagesSent => {
                // RFC 9687 §4.3: each message sent restarts the SendHoldTimer.
                if self.state == State::Established && self.timers.contains(Timer::SendHold) {
                    self.restart_send_hold(out);
                }
            }
            Event::CollisionDump => self.collision_dump(out),
            Event::MaxPrefixesReached { family, limit } => {
                if self.state == State::Established {
                    self.send_notification(max_prefixes(family, limit), out);
                    self.close(Close::Error, out);
                }
            }
        }
    }

    fn manual_start(&mut self, out: &mut Vec<Action>) {
        // RFC 4271 §8.2.2: ManualStart is ignored outside Idle.
        if self.state != State::Idle {
            return;
        }
        self.stopped = false;
        self.errors = 0;
        self.stop_timer(Timer::IdleHold, out);
        self.start(self.config.passive, out);
    }

    fn automatic_start(&mut self, passive: bool, out: &mut Vec<Action>) {
        // RFC 4271 §8.1.1: the IdleHoldTimer holds the session in Idle.
        if self.state != State::Idle || self.stopped || self.timers.contains(Timer::IdleHold) {
            return;
        }
        self.start(passive, out);
    }

    /// RFC 4271 §8.2.2 Idle, events 1/3 (Connect) and 4/5 (Active).
    fn start(&mut self, passive: bool, out: &mut Vec<Action>) {
        if passive {
            // PassiveTcpEstablishment: we never connect out, so there is no
            // ConnectRetryTimer to run in Active.
            self.set_state(State::Active, out);
        } else {
            out.push(Action::Connect);
            self.start_connect_retry(out);
            self.set_state(State::Connect, out);
        }
    }

    fn manual_stop(&mut self, communication: Option<String>, out: &mut Vec<Action>) {
        match self.state {
            State::Idle => {
                // RFC 4271 ignores ManualStop in Idle; here it also cancels
                // the automatic start a running IdleHold would make.
                self.stop_timer(Timer::IdleHold, out);
                self.stopped = true;
                self.errors = 0;
            }
            // RFC 4271 §8.2.2 Connect, Active: no BGP connection to notify.
            State::Connect | State::Active => self.close(Close::Stop, out),
            State::OpenSent | State::OpenConfirm | State::Established => {
                // RFC 4271 §8.2.2: Cease; RFC 9003 §2: with the operator's text.
                let notification = match communication {
                    Some(text) => {
                        Notification::cease_with_message(cease::ADMINISTRATIVE_SHUTDOWN, &text)
                    }
                    None => Notification::new(
                        ErrorCode::CEASE,
                        cease::ADMINISTRATIVE_SHUTDOWN,
                        Bytes::new(),
                    ),
                };
                self.send_notification(notification, out);
                self.close(Close::Stop, out);
            }
        }
    }

    fn tcp_connected(&mut self, origin: Origin, out: &mut Vec<Action>) {
        match self.state {
            // RFC 4271 §8.2.2 Connect and Active, events 16/17 without
            // DelayOpen: OPEN, a large HoldTimer, OpenSent.
            State::Connect | State::Active => {
                self.stop_timer(Timer::ConnectRetry, out);
                self.origin = Some(origin);
                out.push(Action::Send(Message::Open(self.open.clone())));
                self.start_timer(Timer::Hold, OPEN_SENT_HOLD, out);
                self.set_state(State::OpenSent, out);
            }
            // RFC 4271 §8.2.2 Idle: incoming connections are refused.
            State::Idle => out.push(Action::Disconnect),
            // A second connection is another session's (RFC 4271 §6.8; see
            // the module documentation), never this one's.
            State::OpenSent | State::OpenConfirm | State::Established => {}
        }
    }

    fn tcp_closed(&mut self, out: &mut Vec<Action>) {
        match self.state {
            // RFC 4271 §8.2.2 OpenSent, event 18: close, listen, Active.
            State::OpenSent => {
                out.push(Action::Disconnect);
                self.stop_timer(Timer::Hold, out);
                self.origin = None;
                if !self.config.passive {
                    self.start_connect_retry(out);
                }
                self.set_state(State::Active, out);
            }
            // RFC 4271 §8.2.2 OpenConfirm, Established, event 18: Idle.
            State::OpenConfirm | State::Established => self.close(Close::Error, out),
            // No connection to lose.
            State::Idle | State::Connect | State::Active => {}
        }
    }

    fn message(&mut self, message: Message, out: &mut Vec<Action>) {
        match (self.state, message) {
            // Without a connection, a message is a leftover of an old one.
            (State::Idle | State::Connect | State::Active, _) => {}
            // RFC 4271 §4.5: the peer closes right after its NOTIFICATION,
            // so it is not answered (not even with the FSM error the
            // OpenSent table lists for event 25); RFC 4271 §8.2.2: Idle.
            (_, Message::Notification(notification)) => {
                out.push(Action::Error {
                    notification,
                    sent: false,
                });
                self.close(Close::Error, out);
            }
            (State::OpenSent, Message::Open(open)) => self.open_received(&open, out),
            // RFC 4271 §8.2.2 OpenConfirm, event 26.
            (State::OpenConfirm, Message::Keepalive) => self.established(out),
            // RFC 4271 §8.2.2 Established, event 26.
            (State::Established, Message::Keepalive) => self.restart_hold(out),
            // RFC 4271 §8.2.2 Established, event 27.
            (State::Established, Message::Update(update)) => {
                self.restart_hold(out);
                out.push(Action::Deliver(update));
            }
            (State::Established, Message::RouteRefresh(refresh)) => {
                self.route_refresh(refresh, out)
            }
            // RFC 4271 §8.2.2 "any other event", with the subcode of the
            // state (RFC 6608 §4).
            _ => self.fsm_error(out),
        }
    }

    /// RFC 4271 §8.2.2 OpenSent, event 19: check it, answer with KEEPALIVE.
    fn open_received(&mut self, open: &Open, out: &mut Vec<Action>) {
        let negotiated = match negotiate(&self.config, open) {
            Ok(n) => n,
            Err(notification) => {
                // RFC 4271 §6.2, event 22.
                self.send_notification(notification, out);
                self.close(Close::Error, out);
                return;
            }
        };
        out.push(Action::Send(Message::Keepalive));
        match (negotiated.hold_duration(), negotiated.keepalive_time) {
            (Some(hold), Some(keepalive)) => {
                self.start_timer(Timer::Hold, hold, out);
                let keepalive = self.jittered_keepalive(keepalive);
                self.start_timer(Timer::Keepalive, keepalive, out);
            }
            // RFC 4271 §8.2.2: a negotiated hold time of zero starts neither
            // the HoldTimer nor the KeepaliveTimer.
            _ => self.stop_timer(Timer::Hold, out),
        }
        self.negotiated = Some(negotiated);
        self.set_state(State::OpenConfirm, out);
    }

    fn established(&mut self, out: &mut Vec<Action>) {
        let Some(negotiated) = self.negotiated.clone() else {
            return;
        };
        // RFC 4271 §8.2.2 OpenConfirm, event 26: restart the HoldTimer.
        if let (Some(hold), Some(send_hold)) =
            (negotiated.hold_duration(), negotiated.send_hold_duration())
        {
            self.start_timer(Timer::Hold, hold, out);
            // RFC 9687 §4.3: start the SendHoldTimer on entering Established.
            self.start_timer(Timer::SendHold, send_hold, out);
        }
        if self.errors > 0 {
            // Earlier errors are forgiven once the session stays up as long as
            // the longest IdleHold (RFC 4271 §8.1.1 damping decays); resetting
            // on Established alone would let a session that is torn down right
            // after coming up flap at the shortest IdleHold forever.
            self.start_timer(Timer::ErrorReset, self.config.idle_hold_max, out);
        }
        self.set_state(State::Established, out);
        out.push(Action::Established(negotiated));
    }

    fn route_refresh(&mut self, refresh: RouteRefresh, out: &mut Vec<Action>) {
        let Some(negotiated) = &self.negotiated else {
            return;
        };
        // RFC 2918 §4: a family not exchanged on this session is ignored, and
        // so is a refresh the capabilities did not allow.
        if !negotiated.families.contains(&refresh.family) {
            return;
        }
        let action = match refresh.subtype {
            RefreshSubtype::Request if negotiated.route_refresh => {
                Action::RouteRefreshRequested(refresh.family)
            }
            // RFC 7313 §4: the demarcations of a re-advertisement.
            RefreshSubtype::Begin if negotiated.enhanced_route_refresh => {
                Action::RouteRefreshBegin(refresh.family)
            }
            RefreshSubtype::End if negotiated.enhanced_route_refresh => {
                Action::RouteRefreshEnd(refresh.family)
            }
            // RFC 7313 §5: a reserved subtype is ignored.
            _ => return,
        };
        out.push(action);
    }

    fn decode_failed(&mut self, error: DecodeError, out: &mut Vec<Action>) {
        let unexpected = match (self.state, error.notification.code) {
            (State::Idle | State::Connect | State::Active, _) => return,
            // An UPDATE or ROUTE-REFRESH before Established is unexpected
            // whether or not it decodes (RFC 4271 §8.2.2 event 28, RFC 6608).
            (State::OpenSent | State::OpenConfirm, ErrorCode::UPDATE | ErrorCode::ROUTE_REFRESH)
            // So is an OPEN in Established (RFC 6608 §4).
            | (State::Established, ErrorCode::OPEN) => true,
            // RFC 4271 §6.1-§6.3, RFC 7606: the codec's own NOTIFICATION.
            _ => false,
        };
        if unexpected {
            self.fsm_error(out);
        } else {
            self.send_notification(error.notification, out);
            self.close(Close::Error, out);
        }
    }

    fn timer_expired(&mut self, timer: Timer, out: &mut Vec<Action>) {
        // An expiry of a timer we stopped crossed the StopTimer: drop it.
        if !self.timers.contains(timer) {
            return;
        }
        self.timers.remove(timer);
        match (timer, self.state) {
            // RFC 4271 §8.2.2 Connect, event 9: drop the attempt, try again.
            (Timer::ConnectRetry, State::Connect) => {
                out.push(Action::Disconnect);
                out.push(Action::Connect);
                self.start_connect_retry(out);
            }
            // RFC 4271 §8.2.2 Active, event 9: connect.
            (Timer::ConnectRetry, State::Active) => {
                out.push(Action::Connect);
                self.start_connect_retry(out);
                self.set_state(State::Connect, out);
            }
            // RFC 4271 §6.5, §8.2.2 event 10.
            (Timer::Hold, _) => {
                let expired = Notification::new(ErrorCode::HOLD_TIMER_EXPIRED, 0, Bytes::new());
                self.send_notification(expired, out);
                self.close(Close::Error, out);
            }
            // RFC 4271 §8.2.2 OpenConfirm, Established, event 11. UPDATEs
            // the daemon writes do not restart this timer: a KEEPALIVE among
            // them costs 19 octets and breaks no rule (§4.4 only sets a floor).
            (Timer::Keepalive, _) => {
                out.push(Action::Send(Message::Keepalive));
                if let Some(keepalive) = self.negotiated.as_ref().and_then(|n| n.keepalive_time) {
                    let keepalive = self.jittered_keepalive(keepalive);
                    self.start_timer(Timer::Keepalive, keepalive, out);
                }
            }
            // RFC 4271 §8.1.1: IdleHoldTimer expiry is an AutomaticStart.
            (Timer::IdleHold, _) => self.start(self.config.passive, out),
            // RFC 9687 §4.3, event 29: the NOTIFICATION is optional and must
            // not delay the close, which `Disconnect` guarantees.
            (Timer::SendHold, _) => {
                let expired =
                    Notification::new(ErrorCode::SEND_HOLD_TIMER_EXPIRED, 0, Bytes::new());
                self.send_notification(expired, out);
                self.close(Close::Error, out);
            }
            (Timer::ErrorReset, _) => self.errors = 0,
            // The ConnectRetryTimer runs only in Connect and Active.
            (Timer::ConnectRetry, _) => {}
        }
    }

    fn collision_dump(&mut self, out: &mut Vec<Action>) {
        match self.state {
            State::Idle => {
                self.stop_timer(Timer::IdleHold, out);
                self.stopped = true;
            }
            State::Connect | State::Active => self.close(Close::Dump, out),
            // RFC 4271 §6.8: Cease/Connection Collision Resolution.
            State::OpenSent | State::OpenConfirm | State::Established => {
                let n =
                    Notification::new(ErrorCode::CEASE, cease::CONNECTION_COLLISION, Bytes::new());
                self.send_notification(n, out);
                self.close(Close::Dump, out);
            }
        }
    }

    /// RFC 6608 §4: Finite State Machine Error, with the state's subcode.
    fn fsm_error(&mut self, out: &mut Vec<Action>) {
        let subcode = match self.state {
            State::OpenSent => fsm_error::UNEXPECTED_IN_OPENSENT,
            State::OpenConfirm => fsm_error::UNEXPECTED_IN_OPENCONFIRM,
            State::Established => fsm_error::UNEXPECTED_IN_ESTABLISHED,
            State::Idle | State::Connect | State::Active => fsm_error::UNSPECIFIED,
        };
        let n = Notification::new(ErrorCode::FSM, subcode, Bytes::new());
        self.send_notification(n, out);
        self.close(Close::Error, out);
    }

    fn send_notification(&mut self, notification: Notification, out: &mut Vec<Action>) {
        out.push(Action::Send(Message::Notification(notification.clone())));
        out.push(Action::Error {
            notification,
            sent: true,
        });
    }

    /// Go to Idle: drop the connection, stop every timer, and start the
    /// IdleHold if the close was an error.
    fn close(&mut self, how: Close, out: &mut Vec<Action>) {
        if self.state == State::Connect || self.state.has_connection() {
            out.push(Action::Disconnect);
        }
        for timer in Timer::ALL {
            self.stop_timer(timer, out);
        }
        let negotiated = self.negotiated.take();
        if self.state == State::Established {
            // RFC 4271 §8.2.2: leaving Established deletes the peer's routes.
            out.push(Action::SessionDown {
                graceful_restart: negotiated.and_then(|n| n.graceful_restart),
            });
        }
        self.origin = None;
        match how {
            Close::Error => {
                self.errors = self.errors.saturating_add(1);
                // RFC 4271 §8.1.1: hold in Idle, longer after each error.
                let hold = idle_hold(
                    self.config.idle_hold_time,
                    self.config.idle_hold_max,
                    self.errors,
                );
                let hold = self.jitter.apply(hold);
                self.start_timer(Timer::IdleHold, hold, out);
            }
            Close::Stop => {
                // RFC 4271 §8.2.2: ManualStop zeroes the ConnectRetryCounter.
                self.errors = 0;
                self.stopped = true;
            }
            Close::Dump => self.stopped = true,
        }
        self.set_state(State::Idle, out);
    }

    fn restart_hold(&mut self, out: &mut Vec<Action>) {
        if let Some(hold) = self.negotiated.as_ref().and_then(Negotiated::hold_duration) {
            self.start_timer(Timer::Hold, hold, out);
        }
    }

    fn restart_send_hold(&mut self, out: &mut Vec<Action>) {
        if let Some(d) = self
            .negotiated
            .as_ref()
            .and_then(Negotiated::send_hold_duration)
        {
            self.start_timer(Timer::SendHold, d, out);
        }
    }

    /// RFC 4271 §10: jittered, and never below one second (§4.4).
    fn jittered_keepalive(&mut self, keepalive: Duration) -> Duration {
        self.jitter.apply(keepalive).max(MIN_KEEPALIVE)
    }

    /// RFC 4271 §10: the ConnectRetryTimer is jittered.
    fn start_connect_retry(&mut self, out: &mut Vec<Action>) {
        let d = self.jitter.apply(self.config.connect_retry_time);
        self.start_timer(Timer::ConnectRetry, d, out);
    }

    fn start_timer(&mut self, timer: Timer, duration: Duration, out: &mut Vec<Action>) {
        self.timers.insert(timer);
        out.push(Action::StartTimer(timer, duration));
    }

    fn stop_timer(&mut self, timer: Timer, out: &mut Vec<Action>) {
        if self.timers.contains(timer) {
            self.timers.remove(timer);
            out.push(Action::StopTimer(timer));
        }
    }

    fn set_state(&mut self, to: State, out: &mut Vec<Action>) {
        let from = self.state;
        if from != to {
            self.state = to;
            out.push(Action::StateChanged { from, to });
        }
    }
}

/// RFC 4486 §4: Cease/Maximum Number of Prefixes Reached, with the family
/// and the limit as data.
fn max_prefixes(family: Family, limit: u32) -> Notification {
    let mut data = BytesMut::with_capacity(7);
    data.put_u16(family.afi.0);
    data.put_u8(family.safi.0);
    data.put_u32(limit);
    Notification::new(ErrorCode::CEASE, cease::MAX_PREFIXES, data.freeze())
}
