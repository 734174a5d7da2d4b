//! What a session asks the daemon to do.

use std::time::Duration;

use crate::family::Family;
use crate::fsm::negotiate::Negotiated;
use crate::fsm::state::State;
use crate::fsm::timer::Timer;
use crate::wire::capability::GracefulRestart;
use crate::wire::message::Message;
use crate::wire::notification::Notification;
use crate::wire::update::Update;

/// One output of the state machine, to be carried out in the order given.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Open an outgoing TCP connection to the peer, and report the outcome
    /// as `TcpConnected(Origin::Local)` or `TcpConnectFailed`.
    Connect,
    /// Release the connection, or the connect attempt, of this session:
    /// write what is already queued if the socket takes it without waiting,
    /// then close. Never wait for a peer that does not read (RFC 9687 §4.3).
    Disconnect,
    /// Queue this message on the session's connection.
    Send(Message),
    /// Start the timer, or restart it if it runs, to expire after the
    /// duration.
    StartTimer(Timer, Duration),
    /// Stop the timer; an expiry that was already on its way is ignored.
    StopTimer(Timer),
    /// The session moved to another state.
    StateChanged { from: State, to: State },
    /// The session is Established with these parameters: decode from now on
    /// with `Negotiated::decode_context`.
    Established(Negotiated),
    /// An UPDATE received in Established, for the RIB.
    Deliver(Update),
    /// The peer asks for our routes of this family again (RFC 2918 §4).
    RouteRefreshRequested(Family),
    /// The peer starts re-sending its routes of this family: mark them
    /// stale (RFC 7313 §4).
    RouteRefreshBegin(Family),
    /// The peer has re-sent its routes of this family: drop those still
    /// stale (RFC 7313 §4).
    RouteRefreshEnd(Family),
    /// A NOTIFICATION was sent (`sent`) or received: for `show` and the log.
    Error {
        notification: Notification,
        sent: bool,
    },
    /// The session left Established: the routes learned from the peer go,
    /// unless the daemon keeps them for the peer's graceful restart
    /// (RFC 4724 §4.2), which is possible when the peer announced it.
    SessionDown {
        graceful_restart: Option<GracefulRestart>,
    },
}
