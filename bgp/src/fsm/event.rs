//! What the daemon tells a session: operator commands, what happened on the
//! socket, and which timer expired.

use crate::error::DecodeError;
use crate::family::Family;
use crate::fsm::timer::Timer;
use crate::wire::message::Message;

/// Which side opened a TCP connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Origin {
    /// Our outgoing connect succeeded.
    Local,
    /// We accepted a connection the peer opened.
    Remote,
}

/// One input to the state machine. The names follow RFC 4271 §8.1 where an
/// event there has the same meaning.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// RFC 4271 event 1: the operator starts the session. Also lifts an
    /// earlier `ManualStop`, cuts a running IdleHold short and forgets the
    /// consecutive errors.
    ManualStart,
    /// RFC 4271 event 2: the operator stops the session, with an optional
    /// shutdown communication for the peer (RFC 9003). The session stays
    /// Idle until the next `ManualStart`.
    ManualStop { communication: Option<String> },
    /// RFC 4271 event 3: the daemon starts the session (at boot). Ignored
    /// while the IdleHold timer runs (RFC 4271 §8.1.1), and after a
    /// `ManualStop` or a `CollisionDump`.
    AutomaticStart,
    /// RFC 4271 event 5: start and wait for the peer to connect, without an
    /// outgoing attempt this time. The daemon uses it for the second session
    /// of a connection collision (see the module documentation).
    AutomaticStartPassive,
    /// RFC 4271 events 16/17: a TCP connection is up, and it is this
    /// session's connection from now on. Any other connect attempt the
    /// daemon runs for this session is to be abandoned.
    TcpConnected(Origin),
    /// RFC 4271 event 18, for the outgoing attempt: the connect failed.
    TcpConnectFailed,
    /// RFC 4271 event 18, for an established connection: the peer closed it,
    /// or it failed.
    TcpClosed,
    /// RFC 4271 events 19-27: a whole, well-formed message arrived.
    MessageReceived(Message),
    /// RFC 4271 events 21, 22, 28: a message could not be decoded, and the
    /// codec said the session must be reset.
    DecodeFailed(DecodeError),
    /// RFC 4271 events 9-13 and RFC 9687 event 29.
    TimerExpired(Timer),
    /// At least one complete message the session queued was written to the
    /// socket (RFC 9687 §4.3: each message sent restarts the SendHold timer).
    MessagesSent,
    /// RFC 4271 event 23: this connection lost a collision (§6.8). The
    /// session sends Cease/Connection Collision Resolution, closes, and is
    /// finished: it does not restart by itself.
    CollisionDump,
    /// RFC 4271 event 8 for RFC 4486: the peer sent more prefixes of `family`
    /// than the configured `limit`.
    MaxPrefixesReached { family: Family, limit: u32 },
}
