//! The session state machine (RFC 4271 §8), without I/O.
//!
//! A [`Session`] owns no socket, no clock and no randomness it was not given.
//! The daemon feeds it [`Event`]s and carries out the [`Action`]s it pushes,
//! in order:
//!
//! ```text
//!   daemon                                  Session
//!   ------                                  -------
//!   ManualStart / AutomaticStart   ──────►  Connect, StartTimer(ConnectRetry, ..)
//!   TCP up                          ──────►  TcpConnected(Origin::Local)
//!                                   ◄──────  Send(Open), StartTimer(Hold, 240 s)
//!   bytes decoded into a message    ──────►  MessageReceived(Open)
//!                                   ◄──────  Send(Keepalive), StartTimer(Hold, ..), ..
//!   deadline of a timer passed      ──────►  TimerExpired(Timer::Keepalive)
//!                                   ◄──────  Send(Keepalive), StartTimer(Keepalive, ..)
//!   queued messages written         ──────►  MessagesSent
//! ```
//!
//! `handle` pushes onto a `Vec` the caller owns and clears between events, so
//! that a session in steady state allocates nothing per event.
//!
//! # What the daemon does with the actions
//!
//! - `Connect`: open a TCP connection to the peer; report `TcpConnected`
//!   or `TcpConnectFailed`. The daemon also accepts connections from the
//!   peer at any time and offers them as described under collisions below.
//! - `Disconnect`: write what is queued if the socket takes it at once, then
//!   close. Never wait on a peer that is not reading.
//! - `StartTimer(t, d)`: (re)arm one deadline per timer; `StopTimer(t)`:
//!   disarm it. A late `TimerExpired` of a stopped timer is ignored, so the
//!   daemon need not worry about that race.
//! - `Established(n)`: decode from now on with `n.decode_context()`, and
//!   start advertising.
//! - `Deliver(update)`, `RouteRefresh*`, `SessionDown`: for the RIB.
//! - `Error`: the last error, for `show` and the log.
//!
//! # Connection collisions (RFC 4271 §6.8)
//!
//! A session has at most one connection. Both speakers may connect at the
//! same time, so the daemon can hold two connections to one peer; it then
//! holds two `Session` values built from the same [`PeerConfig`]:
//!
//! 1. The *first* session is the neighbor's usual one. A connection (ours or
//!    the peer's) that arrives while it is in Connect or Active is its own:
//!    `TcpConnected(origin)`, and the daemon abandons any other attempt.
//! 2. A connection that arrives while the first session has one (OpenSent,
//!    OpenConfirm, Established) gets a *second* session:
//!    `Session::new(config.clone())`, then `AutomaticStartPassive` (Active,
//!    no outgoing attempt), then `TcpConnected(origin)`.
//! 3. After every event handled by either session, the daemon asks
//!    [`collision_loser`]`(&first, &second)`. When it names a loser, the
//!    daemon gives that one `CollisionDump` (Cease/Connection Collision
//!    Resolution, close, finished for good), drops it, and the winner is
//!    the neighbor's session from then on.
//! 4. A second session that ends any other way (its connection closes, an
//!    OPEN check fails) is dropped as well once it reaches Idle.
//!
//! # Idle hold (RFC 4271 §8.1.1 DampPeerOscillations)
//!
//! After any error or lost connection the session goes Idle and asks for an
//! `IdleHold` of `idle_hold_time * 2^(errors - 1)`, capped at
//! `idle_hold_max` and jittered; at its expiry it starts again by itself. A
//! session that stays Established for `idle_hold_max` has its error count
//! reset (the `ErrorReset` timer). `ManualStop` ends automatic restarts
//! until the next `ManualStart`.

mod action;
mod backoff;
mod collision;
mod config;
mod event;
mod negotiate;
mod session;
mod state;
mod timer;

pub use action::Action;
pub use backoff::{Jitter, idle_hold};
pub use collision::{Keep, Loser, collision_loser, resolve_collision};
pub use config::{ConfigError, GracefulRestartConfig, LocalCapabilities, PeerConfig};
pub use event::{Event, Origin};
pub use negotiate::{Negotiated, negotiate};
pub use session::{OPEN_SENT_HOLD, Session};
pub use state::State;
pub use timer::Timer;
