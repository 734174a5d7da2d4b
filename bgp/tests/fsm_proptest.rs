//! Random event sequences into the session state machine: it never panics,
//! and what it asks of the daemon always fits the state it says it is in.
//!
//! The checker plays the daemon: it keeps the timers and the connection the
//! actions describe, and after every event compares them with the state.

use std::collections::BTreeSet;
use std::net::Ipv4Addr;
use std::time::Duration;

use bgp::fsm::{Action, Event, Origin, PeerConfig, Session, State, Timer};
use bgp::wire::notification::ErrorCode;
use bgp::wire::route_refresh::{RefreshSubtype, RouteRefresh};
use bgp::wire::update::Update;
use bgp::wire::{Capability, DecodeContext, Message, Notification, Open, OptionalParameter};
use bgp::{Afi, Asn, DecodeError, Family, RouterId, Safi};
use bytes::Bytes;
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::TestRunner;

const LOCAL_ID: RouterId = RouterId(Ipv4Addr::new(192, 168, 10, 2));
const PEER_ID: RouterId = RouterId(Ipv4Addr::new(192, 168, 10, 1));

fn update() -> Update {
    Update::decode(Bytes::from_static(&[0, 0, 0, 0]), &DecodeContext::default())
        .expect("End-of-RIB decodes")
}

fn config_strategy() -> impl Strategy<Value = PeerConfig> {
    (
        any::<bool>(),
        prop::sample::select(vec![0u16, 3, 9, 90]),
        any::<u64>(),
        any::<bool>(),
        0u64..10,
        0u64..200,
    )
        .prop_map(|(passive, hold_time, seed, ibgp, idle, extra)| {
            let remote = if ibgp { Asn(65001) } else { Asn(65000) };
            PeerConfig {
                passive,
                hold_time,
                jitter_seed: seed,
                idle_hold_time: Duration::from_secs(idle),
                idle_hold_max: Duration::from_secs(idle + extra),
                ..PeerConfig::new(Asn(65001), remote, LOCAL_ID)
            }
        })
}

/// A configuration and events that fit it: random events, among which
/// runs of the opening handshake, so that the deeper states are reached.
fn scenario(chunks: std::ops::Range<usize>) -> impl Strategy<Value = (PeerConfig, Vec<Event>)> {
    config_strategy().prop_flat_map(move |config| {
        let peer_as = config.remote_asn;
        let chunk = prop_oneof![
            8 => event_strategy(peer_as).prop_map(|e| vec![e]),
            1 => handshake_strategy(peer_as),
        ];
        let events = prop::collection::vec(chunk, chunks.clone())
            .prop_map(|chunks| chunks.into_iter().flatten().collect::<Vec<Event>>());
        (Just(config), events)
    })
}

/// Start, connect, an acceptable OPEN and a KEEPALIVE.
fn handshake_strategy(peer_as: Asn) -> impl Strategy<Value = Vec<Event>> {
    (
        prop_oneof![Just(Origin::Local), Just(Origin::Remote)],
        prop::sample::select(vec![0u16, 3, 9, 90, 65535]),
    )
        .prop_map(move |(origin, hold_time)| {
            let open = Open {
                version: 4,
                my_as: u16::try_from(peer_as.0).unwrap_or(23456),
                hold_time,
                router_id: PEER_ID,
                params: vec![OptionalParameter::Capabilities(vec![
                    Capability::Multiprotocol {
                        family: Family::IPV4_UNICAST,
                        reserved: 0,
                    },
                    Capability::RouteRefresh,
                    Capability::EnhancedRouteRefresh,
                    Capability::FourOctetAs(peer_as),
                ])],
            };
            vec![
                Event::ManualStart,
                Event::TcpConnected(origin),
                Event::MessageReceived(Message::Open(open)),
                Event::MessageReceived(Message::Keepalive),
            ]
        })
}

fn family_strategy() -> impl Strategy<Value = Family> {
    prop_oneof![
        Just(Family::IPV4_UNICAST),
        Just(Family::IPV6_UNICAST),
        (any::<u16>(), any::<u8>()).prop_map(|(a, s)| Family::new(Afi(a), Safi(s))),
    ]
}

fn capability_strategy(peer_as: Asn) -> impl Strategy<Value = Capability> {
    prop_oneof![
        family_strategy().prop_map(|family| Capability::Multiprotocol {
            family,
            reserved: 0
        }),
        Just(Capability::RouteRefresh),
        Just(Capability::EnhancedRouteRefresh),
        Just(Capability::ExtendedMessage),
        prop_oneof![
            4 => Just(peer_as),
            1 => prop::sample::select(vec![Asn(65000), Asn(23456), Asn(0), Asn(4_200_000_000)]),
        ]
        .prop_map(Capability::FourOctetAs),
        (any::<u8>(), prop::collection::vec(any::<u8>(), 0..4)).prop_map(|(code, v)| {
            Capability::Unknown {
                code,
                value: Bytes::from(v),
            }
        }),
    ]
}

/// Mostly acceptable OPENs from the peer, sometimes wrong in one way.
fn open_strategy(peer_as: Asn) -> impl Strategy<Value = Open> {
    let my_as = u16::try_from(peer_as.0).unwrap_or(23456);
    (
        prop_oneof![8 => Just(4u8), 1 => any::<u8>()],
        prop_oneof![8 => Just(my_as), 1 => Just(65000u16), 1 => any::<u16>()],
        prop_oneof![4 => Just(90u16), 2 => Just(9u16), 2 => Just(0u16), 1 => Just(3u16), 1 => any::<u16>()],
        prop_oneof![8 => Just(PEER_ID), 1 => Just(LOCAL_ID), 1 => Just(RouterId(Ipv4Addr::UNSPECIFIED))],
        prop::collection::vec(capability_strategy(peer_as), 0..6),
        prop_oneof![9 => Just(false), 1 => Just(true)],
    )
        .prop_map(|(version, my_as, hold_time, router_id, caps, unknown)| {
            let mut params = vec![OptionalParameter::Capabilities(caps)];
            if unknown {
                params.push(OptionalParameter::Unknown {
                    kind: 1,
                    value: Bytes::new(),
                });
            }
            Open {
                version,
                my_as,
                hold_time,
                router_id,
                params,
            }
        })
}

fn notification_strategy() -> impl Strategy<Value = Notification> {
    (
        1u8..10,
        any::<u8>(),
        prop::collection::vec(any::<u8>(), 0..8),
    )
        .prop_map(|(code, subcode, data)| Notification::new(ErrorCode(code), subcode, data))
}

fn message_strategy(peer_as: Asn) -> impl Strategy<Value = Message> {
    prop_oneof![
        3 => open_strategy(peer_as).prop_map(Message::Open),
        4 => Just(Message::Keepalive),
        2 => Just(Message::Update(update())),
        1 => notification_strategy().prop_map(Message::Notification),
        1 => (family_strategy(), 0u8..4).prop_map(|(family, s)| {
            let subtype = match s {
                0 => RefreshSubtype::Request,
                1 => RefreshSubtype::Begin,
                2 => RefreshSubtype::End,
                n => RefreshSubtype::Reserved(n),
            };
            Message::RouteRefresh(RouteRefresh { family, subtype })
        }),
    ]
}

fn timer_strategy() -> impl Strategy<Value = Timer> {
    prop::sample::select(Timer::ALL.to_vec())
}

fn event_strategy(peer_as: Asn) -> impl Strategy<Value = Event> {
    prop_oneof![
        3 => Just(Event::ManualStart),
        1 => prop::option::of("\\PC{0,300}")
            .prop_map(|communication| Event::ManualStop { communication }),
        2 => Just(Event::AutomaticStart),
        1 => Just(Event::AutomaticStartPassive),
        4 => prop_oneof![Just(Origin::Local), Just(Origin::Remote)].prop_map(Event::TcpConnected),
        1 => Just(Event::TcpConnectFailed),
        1 => Just(Event::TcpClosed),
        10 => message_strategy(peer_as).prop_map(Event::MessageReceived),
        1 => (notification_strategy()).prop_map(|n| Event::DecodeFailed(DecodeError::new(n, "random"))),
        6 => timer_strategy().prop_map(Event::TimerExpired),
        2 => Just(Event::MessagesSent),
        1 => Just(Event::CollisionDump),
        1 => (family_strategy(), any::<u32>())
            .prop_map(|(family, limit)| Event::MaxPrefixesReached { family, limit }),
    ]
}

/// What the daemon knows, built only from the actions.
struct Daemon {
    config: PeerConfig,
    state: State,
    timers: BTreeSet<Timer>,
    connected: bool,
    attempt: bool,
    /// Stopped by the operator or a lost collision, until ManualStart.
    stopped: bool,
    sent_open: bool,
    sent_keepalive: bool,
    got_open: bool,
    got_keepalive: bool,
    reached_established: bool,
}

impl Daemon {
    fn new(config: PeerConfig) -> Daemon {
        Daemon {
            config,
            state: State::Idle,
            timers: BTreeSet::new(),
            connected: false,
            attempt: false,
            stopped: false,
            sent_open: false,
            sent_keepalive: false,
            got_open: false,
            got_keepalive: false,
            reached_established: false,
        }
    }

    fn running(&self, timers: &[Timer]) -> bool {
        self.timers == timers.iter().copied().collect()
    }

    fn forget_connection(&mut self) {
        self.connected = false;
        self.sent_open = false;
        self.sent_keepalive = false;
        self.got_open = false;
        self.got_keepalive = false;
    }

    /// Check one event's actions against the model, then the model against
    /// the session.
    fn check(
        &mut self,
        event: &Event,
        actions: &[Action],
        session: &Session,
    ) -> Result<(), TestCaseError> {
        let before = self.state;
        match event {
            // The deadline fired, so the daemon disarms it; an expiry it had
            // no deadline for is a stale one, and must change nothing.
            Event::TimerExpired(t) if !self.timers.remove(t) => {
                prop_assert!(actions.is_empty(), "stale {t:?} acted: {actions:?}");
            }
            Event::TcpConnected(_) if matches!(before, State::Connect | State::Active) => {
                self.forget_connection();
                self.connected = true;
                self.attempt = false;
            }
            Event::TcpConnectFailed if before == State::Connect => self.attempt = false,
            Event::MessageReceived(Message::Open(_)) if before == State::OpenSent => {
                self.got_open = true
            }
            Event::MessageReceived(Message::Keepalive) if before == State::OpenConfirm => {
                self.got_keepalive = true
            }
            Event::ManualStart => self.stopped = false,
            Event::ManualStop { .. } | Event::CollisionDump => self.stopped = true,
            _ => {}
        }

        let mut state = before;
        let mut saw_established = false;
        let mut saw_down = false;
        let mut last_sent_notification = None;
        for action in actions {
            match action {
                Action::Connect => {
                    // RFC 4271 §8.1.1 PassiveTcpEstablishment: never connect out.
                    prop_assert!(!self.config.passive, "a passive session connected out");
                    prop_assert!(!self.connected, "connect while connected");
                    self.attempt = true;
                }
                Action::Disconnect => {
                    self.forget_connection();
                    self.attempt = false;
                }
                Action::Send(message) => {
                    prop_assert!(self.connected, "send without a connection: {message:?}");
                    match message {
                        Message::Open(_) => self.sent_open = true,
                        Message::Keepalive => self.sent_keepalive = true,
                        Message::Notification(n) => last_sent_notification = Some(n.clone()),
                        Message::Update(_) | Message::RouteRefresh(_) => {
                            prop_assert!(false, "the session never sends {message:?}")
                        }
                    }
                }
                Action::StartTimer(timer, d) => {
                    self.timers.insert(*timer);
                    match timer {
                        // RFC 4271 §4.4: at most one KEEPALIVE a second.
                        Timer::Keepalive => prop_assert!(*d >= Duration::from_secs(1)),
                        Timer::IdleHold => prop_assert!(*d <= self.config.idle_hold_max),
                        Timer::ConnectRetry => {
                            let c = self.config.connect_retry_time;
                            prop_assert!(*d <= c && *d >= c * 3 / 4, "{d:?}");
                        }
                        Timer::Hold | Timer::SendHold | Timer::ErrorReset => {}
                    }
                }
                Action::StopTimer(timer) => {
                    prop_assert!(self.timers.remove(timer), "stopped {timer:?} not running");
                }
                Action::StateChanged { from, to } => {
                    prop_assert_eq!(*from, state);
                    prop_assert_ne!(from, to);
                    if *to == State::Established {
                        // Established only after both OPENs and KEEPALIVEs.
                        prop_assert!(
                            self.sent_open && self.got_open,
                            "Established without the OPEN exchange"
                        );
                        prop_assert!(
                            self.sent_keepalive && self.got_keepalive,
                            "Established without the KEEPALIVE exchange"
                        );
                        self.reached_established = true;
                    }
                    state = *to;
                }
                Action::Established(n) => {
                    prop_assert_eq!(state, State::Established);
                    prop_assert_eq!(Some(n), session.negotiated());
                    saw_established = true;
                }
                Action::Deliver(_)
                | Action::RouteRefreshRequested(_)
                | Action::RouteRefreshBegin(_)
                | Action::RouteRefreshEnd(_) => {
                    prop_assert_eq!(before, State::Established);
                    prop_assert_eq!(state, State::Established);
                }
                Action::Error { notification, sent } => {
                    if *sent {
                        prop_assert_eq!(Some(notification), last_sent_notification.as_ref());
                    }
                }
                Action::SessionDown { .. } => {
                    prop_assert_eq!(before, State::Established);
                    saw_down = true;
                }
            }
        }
        prop_assert_eq!(state, session.state());
        prop_assert_eq!(
            saw_established,
            before != State::Established && state == State::Established
        );
        prop_assert_eq!(
            saw_down,
            before == State::Established && state != State::Established
        );
        self.state = state;
        self.check_state(session)
    }

    fn check_state(&self, session: &Session) -> Result<(), TestCaseError> {
        let state = self.state;
        prop_assert_eq!(self.connected, state.has_connection());
        prop_assert_eq!(self.attempt, state == State::Connect);
        prop_assert_eq!(
            session.negotiated().is_some(),
            matches!(state, State::OpenConfirm | State::Established)
        );
        prop_assert_eq!(session.origin().is_some(), state.has_connection());
        if self.stopped {
            prop_assert_eq!(state, State::Idle);
            prop_assert!(self.timers.is_empty());
        }
        let hold = session.negotiated().map_or(0, |n| n.hold_time);
        let mut timers = self.timers.clone();
        let ok = match state {
            State::Idle => self.running(&[]) || self.running(&[Timer::IdleHold]),
            State::Connect => self.running(&[Timer::ConnectRetry]),
            State::Active => self.running(&[]) || self.running(&[Timer::ConnectRetry]),
            State::OpenSent => self.running(&[Timer::Hold]),
            State::OpenConfirm if hold == 0 => self.running(&[]),
            State::OpenConfirm => self.running(&[Timer::Hold, Timer::Keepalive]),
            State::Established => {
                timers.remove(&Timer::ErrorReset);
                let want: BTreeSet<Timer> = if hold == 0 {
                    BTreeSet::new()
                } else {
                    [Timer::Hold, Timer::Keepalive, Timer::SendHold].into()
                };
                timers == want
            }
        };
        prop_assert!(ok, "timers {:?} in {state}", self.timers);
        Ok(())
    }
}

fn run(config: PeerConfig, events: Vec<Event>) -> Result<Daemon, TestCaseError> {
    let mut session = Session::new(config.clone());
    let mut daemon = Daemon::new(config);
    let mut out = Vec::new();
    for event in events {
        out.clear();
        session.handle(event.clone(), &mut out);
        daemon.check(&event, &out, &session)?;
    }
    Ok(daemon)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn random_events_never_break_the_state_machine((config, events) in scenario(0..150)) {
        run(config, events)?;
    }

    #[test]
    fn the_same_events_give_the_same_actions((config, events) in scenario(0..50)) {
        let replay = |events: &[Event]| {
            let mut session = Session::new(config.clone());
            let mut out = Vec::new();
            for e in events {
                session.handle(e.clone(), &mut out);
            }
            out
        };
        prop_assert_eq!(replay(&events), replay(&events));
    }
}

/// The random sequences are worth something only if they reach
/// Established often enough to exercise it.
#[test]
fn random_sequences_do_reach_established() {
    let mut runner = TestRunner::deterministic();
    let strategy = scenario(50..150);
    let mut established = 0;
    for _ in 0..200 {
        let (config, events) = strategy
            .new_tree(&mut runner)
            .expect("strategy yields a value")
            .current();
        if run(config, events)
            .expect("invariants hold")
            .reached_established
        {
            established += 1;
        }
    }
    assert!(
        established >= 100,
        "only {established} of 200 reached Established"
    );
}
