//! Scripted event sequences into the session state machine, each compared
//! with the exact actions RFC 4271 §8 and its updates require. No socket and
//! no clock: a replay gives the same actions every time.
//!
//! Timer jitter (RFC 4271 §10) comes from the session's seeded generator.
//! The script keeps a second generator with the same seed and draws from it
//! in the same order as the session does (ConnectRetry, Keepalive and
//! IdleHold starts), so that expected durations are exact.

use std::net::Ipv4Addr;
use std::time::Duration;

use bgp::fsm::{
    Action, Event, GracefulRestartConfig, Jitter, Keep, Loser, Negotiated, Origin, PeerConfig,
    Session, State, Timer, collision_loser, resolve_collision,
};
use bgp::wire::capability::{GracefulRestart, GracefulRestartFamily};
use bgp::wire::notification::{ErrorCode, Notification, cease, fsm_error, open_error};
use bgp::wire::route_refresh::{RefreshSubtype, RouteRefresh};
use bgp::wire::update::Update;
use bgp::wire::{Capability, DecodeContext, Message, Open, OptionalParameter};
use bgp::{Asn, DecodeError, Family, RouterId};
use bytes::Bytes;

const SEED: u64 = 0x5eed_0001;
const LOCAL_AS: Asn = Asn(65001);
const PEER_AS: Asn = Asn(65000);
const LOCAL_ID: RouterId = RouterId(Ipv4Addr::new(192, 168, 10, 2));
const PEER_ID: RouterId = RouterId(Ipv4Addr::new(192, 168, 10, 1));

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

/// A datacenter host: hold time 9, idle hold 5 s doubling up to 60 s.
fn config() -> PeerConfig {
    PeerConfig {
        hold_time: 9,
        idle_hold_time: secs(5),
        idle_hold_max: secs(60),
        jitter_seed: SEED,
        ..PeerConfig::new(LOCAL_AS, PEER_AS, LOCAL_ID)
    }
}

/// What FRR on a leaf sends.
fn peer_open(hold_time: u16) -> Open {
    Open {
        version: 4,
        my_as: 65000,
        hold_time,
        router_id: PEER_ID,
        params: vec![OptionalParameter::Capabilities(vec![
            Capability::Multiprotocol {
                family: Family::IPV4_UNICAST,
                reserved: 0,
            },
            Capability::Multiprotocol {
                family: Family::IPV6_UNICAST,
                reserved: 0,
            },
            Capability::RouteRefresh,
            Capability::EnhancedRouteRefresh,
            Capability::FourOctetAs(PEER_AS),
            Capability::ExtendedMessage,
        ])],
    }
}

/// The IPv4 End-of-RIB marker (RFC 4724 §2): an UPDATE with nothing in it.
fn update() -> Update {
    Update::decode(Bytes::from_static(&[0, 0, 0, 0]), &DecodeContext::default())
        .expect("End-of-RIB decodes")
}

fn notification(code: ErrorCode, subcode: u8) -> Notification {
    Notification::new(code, subcode, Bytes::new())
}

fn sent(n: Notification) -> [Action; 2] {
    [
        Action::Send(Message::Notification(n.clone())),
        Action::Error {
            notification: n,
            sent: true,
        },
    ]
}

fn changed(from: State, to: State) -> Action {
    Action::StateChanged { from, to }
}

struct Script {
    session: Session,
    jitter: Jitter,
    out: Vec<Action>,
}

impl Script {
    fn new(config: PeerConfig) -> Script {
        Script {
            jitter: Jitter::new(config.jitter_seed),
            session: Session::new(config),
            out: Vec::new(),
        }
    }

    fn step(&mut self, event: Event) -> Vec<Action> {
        self.out.clear();
        self.session.handle(event, &mut self.out);
        self.out.clone()
    }

    fn receive(&mut self, message: Message) -> Vec<Action> {
        self.step(Event::MessageReceived(message))
    }

    fn expire(&mut self, timer: Timer) -> Vec<Action> {
        self.step(Event::TimerExpired(timer))
    }

    /// The next jittered duration the session will draw.
    fn jit(&mut self, d: Duration) -> Duration {
        self.jitter.apply(d)
    }

    /// RFC 4271 §10 jitter, but never below one second (§4.4).
    fn keepalive(&mut self, d: Duration) -> Duration {
        self.jit(d).max(secs(1))
    }

    fn state(&self) -> State {
        self.session.state()
    }

    /// Idle to Established as the active side, checked only by state.
    fn establish(&mut self) {
        self.establish_with(peer_open(90));
    }

    fn establish_with(&mut self, open: Open) {
        self.step(Event::ManualStart);
        self.jit(self.session.config().connect_retry_time);
        self.step(Event::TcpConnected(Origin::Local));
        let keepalive = self.receive(Message::Open(open));
        if keepalive
            .iter()
            .any(|a| matches!(a, Action::StartTimer(Timer::Keepalive, _)))
        {
            let base = self.session.negotiated().and_then(|n| n.keepalive_time);
            self.jit(base.unwrap_or_default());
        }
        self.receive(Message::Keepalive);
        assert_eq!(self.state(), State::Established);
    }
}

fn our_open() -> Open {
    config().open()
}

fn negotiated_with_leaf() -> Negotiated {
    Negotiated {
        peer_asn: PEER_AS,
        peer_router_id: PEER_ID,
        ibgp: false,
        hold_time: 9,
        keepalive_time: Some(secs(3)),
        families: vec![Family::IPV4_UNICAST, Family::IPV6_UNICAST],
        four_octet_as: true,
        route_refresh: true,
        enhanced_route_refresh: true,
        graceful_restart: None,
        extended_next_hop_ipv4: false,
        extended_message: true,
    }
}

#[test]
fn active_side_reaches_established() {
    let mut s = Script::new(config());
    assert_eq!(s.state(), State::Idle);

    // RFC 4271 §8.2.2 Idle, ManualStart: connect, ConnectRetryTimer, Connect.
    let retry = s.jit(secs(120));
    assert!(retry >= secs(90) && retry <= secs(120));
    assert_eq!(
        s.step(Event::ManualStart),
        [
            Action::Connect,
            Action::StartTimer(Timer::ConnectRetry, retry),
            changed(State::Idle, State::Connect),
        ]
    );

    // RFC 4271 §8.2.2 Connect, event 17: OPEN, HoldTimer of 4 minutes, OpenSent.
    assert_eq!(
        s.step(Event::TcpConnected(Origin::Local)),
        [
            Action::StopTimer(Timer::ConnectRetry),
            Action::Send(Message::Open(our_open())),
            Action::StartTimer(Timer::Hold, secs(240)),
            changed(State::Connect, State::OpenSent),
        ]
    );

    // RFC 4271 §8.2.2 OpenSent, event 19: KEEPALIVE, negotiated timers.
    let keepalive = s.keepalive(secs(3));
    assert_eq!(
        s.receive(Message::Open(peer_open(90))),
        [
            Action::Send(Message::Keepalive),
            Action::StartTimer(Timer::Hold, secs(9)),
            Action::StartTimer(Timer::Keepalive, keepalive),
            changed(State::OpenSent, State::OpenConfirm),
        ]
    );
    assert_eq!(s.session.negotiated(), Some(&negotiated_with_leaf()));

    // RFC 4271 §8.2.2 OpenConfirm, event 26; RFC 9687 §4.3 SendHoldTimer.
    assert_eq!(
        s.receive(Message::Keepalive),
        [
            Action::StartTimer(Timer::Hold, secs(9)),
            Action::StartTimer(Timer::SendHold, secs(480)),
            changed(State::OpenConfirm, State::Established),
            Action::Established(negotiated_with_leaf()),
        ]
    );
    assert_eq!(s.session.origin(), Some(Origin::Local));
}

#[test]
fn our_open_is_what_the_configuration_says() {
    // RFC 4271 §4.2, RFC 5492 §4, RFC 6793 §4.1.
    let open = our_open();
    assert_eq!(open.version, 4);
    assert_eq!(open.my_as, 65001);
    assert_eq!(open.hold_time, 9);
    assert_eq!(open.router_id, LOCAL_ID);
    assert_eq!(
        open.params,
        [OptionalParameter::Capabilities(vec![
            Capability::Multiprotocol {
                family: Family::IPV4_UNICAST,
                reserved: 0,
            },
            Capability::Multiprotocol {
                family: Family::IPV6_UNICAST,
                reserved: 0,
            },
            Capability::RouteRefresh,
            Capability::EnhancedRouteRefresh,
            Capability::FourOctetAs(LOCAL_AS),
            Capability::ExtendedMessage,
        ])]
    );
}

#[test]
fn passive_side_waits_for_the_peer_and_reaches_established() {
    let mut s = Script::new(PeerConfig {
        passive: true,
        ..config()
    });
    // RFC 4271 §8.1.1 PassiveTcpEstablishment: no connect, no ConnectRetryTimer.
    assert_eq!(
        s.step(Event::ManualStart),
        [changed(State::Idle, State::Active)]
    );
    // RFC 4271 §8.2.2 Active, event 17.
    assert_eq!(
        s.step(Event::TcpConnected(Origin::Remote)),
        [
            Action::Send(Message::Open(our_open())),
            Action::StartTimer(Timer::Hold, secs(240)),
            changed(State::Active, State::OpenSent),
        ]
    );
    let keepalive = s.keepalive(secs(3));
    assert_eq!(
        s.receive(Message::Open(peer_open(9))),
        [
            Action::Send(Message::Keepalive),
            Action::StartTimer(Timer::Hold, secs(9)),
            Action::StartTimer(Timer::Keepalive, keepalive),
            changed(State::OpenSent, State::OpenConfirm),
        ]
    );
    assert_eq!(
        s.receive(Message::Keepalive),
        [
            Action::StartTimer(Timer::Hold, secs(9)),
            Action::StartTimer(Timer::SendHold, secs(480)),
            changed(State::OpenConfirm, State::Established),
            Action::Established(negotiated_with_leaf()),
        ]
    );
    assert_eq!(s.session.origin(), Some(Origin::Remote));
}

#[test]
fn idle_refuses_connections_and_ignores_leftovers() {
    // RFC 4271 §8.2.2 Idle: incoming connections are refused; other events
    // change nothing.
    let mut s = Script::new(config());
    assert_eq!(
        s.step(Event::TcpConnected(Origin::Remote)),
        [Action::Disconnect]
    );
    assert_eq!(s.receive(Message::Keepalive), []);
    assert_eq!(s.expire(Timer::Hold), []);
    assert_eq!(s.step(Event::TcpClosed), []);
    assert_eq!(s.step(Event::MessagesSent), []);
    assert_eq!(s.state(), State::Idle);
}

/// Drive a fresh session to OpenSent, send it `open`, and return the actions.
fn answer_to(open: Open, config: PeerConfig) -> (Script, Vec<Action>) {
    let mut s = Script::new(config);
    s.step(Event::ManualStart);
    s.jit(secs(120));
    s.step(Event::TcpConnected(Origin::Local));
    let actions = s.receive(Message::Open(open));
    (s, actions)
}

/// RFC 4271 §6.2: the OPEN error is sent, the connection closed, and the
/// session held Idle.
fn assert_open_refused(open: Open, config: PeerConfig, expected: Notification) {
    let (mut s, actions) = answer_to(open, config);
    let idle_hold = s.jit(secs(5));
    let [send, error] = sent(expected);
    assert_eq!(
        actions,
        [
            send,
            error,
            Action::Disconnect,
            Action::StopTimer(Timer::Hold),
            Action::StartTimer(Timer::IdleHold, idle_hold),
            changed(State::OpenSent, State::Idle),
        ]
    );
}

#[test]
fn open_with_another_version_is_refused_with_version_4_as_data() {
    // RFC 4271 §6.2: Unsupported Version Number, data = 2-octet version 4.
    let mut open = peer_open(90);
    open.version = 3;
    let expected = Notification::new(
        ErrorCode::OPEN,
        open_error::UNSUPPORTED_VERSION,
        Bytes::from_static(&[0, 4]),
    );
    assert_open_refused(open.clone(), config(), expected.clone());
    open.version = 5;
    assert_open_refused(open, config(), expected);
}

#[test]
fn open_from_the_wrong_as_is_refused() {
    // RFC 4271 §6.2: Bad Peer AS.
    let bad = notification(ErrorCode::OPEN, open_error::BAD_PEER_AS);
    let mut open = peer_open(90);
    open.my_as = 65002;
    open.params.clear();
    assert_open_refused(open, config(), bad.clone());
    // RFC 6793 §4.1: the Four-Octet AS capability is what counts.
    let mut open = peer_open(90);
    open.my_as = 23456;
    open.params = vec![OptionalParameter::Capabilities(vec![
        Capability::FourOctetAs(Asn(4_200_000_000)),
    ])];
    assert_open_refused(open.clone(), config(), bad.clone());
    let four_octet_peer = PeerConfig {
        remote_asn: Asn(4_200_000_000),
        ..config()
    };
    let (s, _) = answer_to(open, four_octet_peer.clone());
    assert_eq!(s.state(), State::OpenConfirm);
    // An old speaker says AS_TRANS and nothing else: not the peer configured.
    let mut open = peer_open(90);
    open.my_as = 23456;
    open.params.clear();
    assert_open_refused(open, four_octet_peer, bad);
}

#[test]
fn open_with_a_hold_time_of_one_or_two_seconds_is_refused() {
    // RFC 4271 §6.2: MUST reject 1 and 2; 0 and 3 are fine.
    let bad = notification(ErrorCode::OPEN, open_error::UNACCEPTABLE_HOLD_TIME);
    assert_open_refused(peer_open(1), config(), bad.clone());
    assert_open_refused(peer_open(2), config(), bad);
    for ok in [0, 3] {
        let (s, _) = answer_to(peer_open(ok), config());
        assert_eq!(s.state(), State::OpenConfirm, "hold time {ok}");
    }
}

#[test]
fn open_with_a_bad_identifier_is_refused() {
    // RFC 6286 §2.2: zero, or ours from an internal peer.
    let bad = notification(ErrorCode::OPEN, open_error::BAD_BGP_IDENTIFIER);
    let mut open = peer_open(90);
    open.router_id = RouterId(Ipv4Addr::UNSPECIFIED);
    assert_open_refused(open, config(), bad.clone());

    let ibgp = PeerConfig {
        remote_asn: LOCAL_AS,
        ..config()
    };
    let mut open = peer_open(90);
    open.my_as = 65001;
    open.params.clear();
    open.router_id = LOCAL_ID;
    assert_open_refused(open.clone(), ibgp, bad);
    // The same identifier from another AS is allowed.
    open.my_as = 65000;
    let (s, _) = answer_to(open, config());
    assert_eq!(s.state(), State::OpenConfirm);
}

#[test]
fn open_with_an_unknown_optional_parameter_is_refused() {
    // RFC 4271 §6.2: Unsupported Optional Parameter.
    let mut open = peer_open(90);
    open.params.push(OptionalParameter::Unknown {
        kind: 1,
        value: Bytes::from_static(&[0]),
    });
    let bad = notification(ErrorCode::OPEN, open_error::UNSUPPORTED_OPTIONAL_PARAMETER);
    assert_open_refused(open, config(), bad);
}

#[test]
fn unknown_capabilities_are_ignored() {
    // RFC 5492 §3: a capability we do not understand is not an error.
    let mut open = peer_open(90);
    open.params
        .push(OptionalParameter::Capabilities(vec![Capability::Unknown {
            code: 73,
            value: Bytes::from_static(b"leaf1"),
        }]));
    let (s, _) = answer_to(open, config());
    assert_eq!(s.state(), State::OpenConfirm);
}

#[test]
fn hold_time_zero_runs_no_hold_keepalive_or_send_hold_timer() {
    // RFC 4271 §8.2.2: a negotiated hold time of 0 starts neither timer;
    // RFC 9687 §4.3: nor the SendHoldTimer.
    let (mut s, actions) = answer_to(peer_open(0), config());
    assert_eq!(
        actions,
        [
            Action::Send(Message::Keepalive),
            Action::StopTimer(Timer::Hold),
            changed(State::OpenSent, State::OpenConfirm),
        ]
    );
    let mut negotiated = negotiated_with_leaf();
    negotiated.hold_time = 0;
    negotiated.keepalive_time = None;
    assert_eq!(
        s.receive(Message::Keepalive),
        [
            changed(State::OpenConfirm, State::Established),
            Action::Established(negotiated),
        ]
    );
    assert_eq!(s.receive(Message::Keepalive), []);
    assert_eq!(
        s.receive(Message::Update(update())),
        [Action::Deliver(update())]
    );
    assert_eq!(s.step(Event::MessagesSent), []);
}

#[test]
fn keepalives_go_out_every_third_of_the_hold_time_jittered() {
    // RFC 4271 §4.4, §10: hold time / 3, jittered by 0.75 to 1.0.
    let (mut s, actions) = answer_to(peer_open(90), config());
    let first = s.keepalive(secs(3));
    assert!(actions.contains(&Action::StartTimer(Timer::Keepalive, first)));
    assert!(first >= Duration::from_millis(2250) && first <= secs(3));

    // RFC 4271 §8.2.2 OpenConfirm, event 11.
    let next = s.keepalive(secs(3));
    assert_eq!(
        s.expire(Timer::Keepalive),
        [
            Action::Send(Message::Keepalive),
            Action::StartTimer(Timer::Keepalive, next),
        ]
    );
    s.receive(Message::Keepalive);
    // RFC 4271 §8.2.2 Established, event 11.
    let next = s.keepalive(secs(3));
    assert_eq!(
        s.expire(Timer::Keepalive),
        [
            Action::Send(Message::Keepalive),
            Action::StartTimer(Timer::Keepalive, next),
        ]
    );
}

#[test]
fn keepalives_never_go_out_more_than_once_a_second() {
    // RFC 4271 §4.4: with a hold time of 3, jitter would go below 1 s.
    for seed in 0..50 {
        let (s, actions) = answer_to(
            peer_open(3),
            PeerConfig {
                jitter_seed: seed,
                ..config()
            },
        );
        assert_eq!(s.state(), State::OpenConfirm);
        assert!(actions.contains(&Action::StartTimer(Timer::Keepalive, secs(1))));
    }
}

#[test]
fn keepalive_and_update_restart_the_hold_timer() {
    // RFC 4271 §8.2.2 Established, events 26 and 27.
    let mut s = Script::new(config());
    s.establish_with(peer_open(9));
    assert_eq!(
        s.receive(Message::Keepalive),
        [Action::StartTimer(Timer::Hold, secs(9))]
    );
    assert_eq!(
        s.receive(Message::Update(update())),
        [
            Action::StartTimer(Timer::Hold, secs(9)),
            Action::Deliver(update()),
        ]
    );
}

#[test]
fn hold_timer_expiry_sends_code_4_and_closes() {
    // RFC 4271 §6.5, §8.2.2 event 10.
    let mut s = Script::new(config());
    s.establish();
    let idle_hold = s.jit(secs(5));
    let [send, error] = sent(notification(ErrorCode::HOLD_TIMER_EXPIRED, 0));
    assert_eq!(
        s.expire(Timer::Hold),
        [
            send,
            error,
            Action::Disconnect,
            Action::StopTimer(Timer::Keepalive),
            Action::StopTimer(Timer::SendHold),
            Action::SessionDown {
                graceful_restart: None
            },
            Action::StartTimer(Timer::IdleHold, idle_hold),
            changed(State::Established, State::Idle),
        ]
    );
    assert_eq!(s.session.negotiated(), None);
    assert_eq!(s.session.origin(), None);
}

#[test]
fn hold_timer_in_open_sent_is_four_minutes_and_expires() {
    // RFC 4271 §8.2.2 OpenSent: the large HoldTimer, then event 10.
    let mut s = Script::new(config());
    s.step(Event::ManualStart);
    s.jit(secs(120));
    let actions = s.step(Event::TcpConnected(Origin::Local));
    assert!(actions.contains(&Action::StartTimer(Timer::Hold, secs(240))));
    let idle_hold = s.jit(secs(5));
    let [send, error] = sent(notification(ErrorCode::HOLD_TIMER_EXPIRED, 0));
    assert_eq!(
        s.expire(Timer::Hold),
        [
            send,
            error,
            Action::Disconnect,
            Action::StartTimer(Timer::IdleHold, idle_hold),
            changed(State::OpenSent, State::Idle),
        ]
    );
}

#[test]
fn notification_received_closes_without_answering() {
    // RFC 4271 §8.2.2 Established, event 25: drop, Idle; RFC 4271 §4.5:
    // the peer has closed, so no NOTIFICATION goes back.
    let mut s = Script::new(config());
    s.establish();
    let n = notification(ErrorCode::CEASE, cease::ADMINISTRATIVE_RESET);
    let idle_hold = s.jit(secs(5));
    assert_eq!(
        s.receive(Message::Notification(n.clone())),
        [
            Action::Error {
                notification: n.clone(),
                sent: false
            },
            Action::Disconnect,
            Action::StopTimer(Timer::Hold),
            Action::StopTimer(Timer::Keepalive),
            Action::StopTimer(Timer::SendHold),
            Action::SessionDown {
                graceful_restart: None
            },
            Action::StartTimer(Timer::IdleHold, idle_hold),
            changed(State::Established, State::Idle),
        ]
    );

    // OpenSent, event 24/25: the same, no Finite State Machine Error back.
    let mut s = Script::new(config());
    s.step(Event::ManualStart);
    s.jit(secs(120));
    s.step(Event::TcpConnected(Origin::Local));
    let idle_hold = s.jit(secs(5));
    let version = Notification::new(
        ErrorCode::OPEN,
        open_error::UNSUPPORTED_VERSION,
        Bytes::from_static(&[0, 4]),
    );
    assert_eq!(
        s.receive(Message::Notification(version.clone())),
        [
            Action::Error {
                notification: version,
                sent: false
            },
            Action::Disconnect,
            Action::StopTimer(Timer::Hold),
            Action::StartTimer(Timer::IdleHold, idle_hold),
            changed(State::OpenSent, State::Idle),
        ]
    );
}

#[test]
fn connection_lost_in_open_sent_goes_back_to_active() {
    // RFC 4271 §8.2.2 OpenSent, event 18: restart ConnectRetryTimer, Active.
    let mut s = Script::new(config());
    s.step(Event::ManualStart);
    s.jit(secs(120));
    s.step(Event::TcpConnected(Origin::Local));
    let retry = s.jit(secs(120));
    assert_eq!(
        s.step(Event::TcpClosed),
        [
            Action::Disconnect,
            Action::StopTimer(Timer::Hold),
            Action::StartTimer(Timer::ConnectRetry, retry),
            changed(State::OpenSent, State::Active),
        ]
    );
    // RFC 4271 §8.2.2 Active, event 9: connect again.
    let retry = s.jit(secs(120));
    assert_eq!(
        s.expire(Timer::ConnectRetry),
        [
            Action::Connect,
            Action::StartTimer(Timer::ConnectRetry, retry),
            changed(State::Active, State::Connect),
        ]
    );
    // RFC 4271 §8.2.2 Connect, event 9: drop the attempt and try again.
    let retry = s.jit(secs(120));
    assert_eq!(
        s.expire(Timer::ConnectRetry),
        [
            Action::Disconnect,
            Action::Connect,
            Action::StartTimer(Timer::ConnectRetry, retry),
        ]
    );
}

#[test]
fn connection_lost_in_established_flushes_routes() {
    // RFC 4271 §8.2.2 Established, event 18.
    let mut s = Script::new(config());
    s.establish();
    let idle_hold = s.jit(secs(5));
    assert_eq!(
        s.step(Event::TcpClosed),
        [
            Action::Disconnect,
            Action::StopTimer(Timer::Hold),
            Action::StopTimer(Timer::Keepalive),
            Action::StopTimer(Timer::SendHold),
            Action::SessionDown {
                graceful_restart: None
            },
            Action::StartTimer(Timer::IdleHold, idle_hold),
            changed(State::Established, State::Idle),
        ]
    );
}

#[test]
fn session_down_carries_the_peers_graceful_restart() {
    // RFC 4724 §4.2: the daemon may keep the routes; it needs the peer's
    // capability to know for how long and for which families.
    let mut cfg = config();
    cfg.capabilities.graceful_restart = Some(GracefulRestartConfig {
        restart_time: 120,
        restarting: false,
        forwarding_preserved: true,
    });
    let peer_gr = GracefulRestart {
        flags: 0,
        restart_time: 90,
        families: vec![GracefulRestartFamily {
            family: Family::IPV4_UNICAST,
            flags: GracefulRestartFamily::FORWARDING_PRESERVED,
        }],
    };
    let mut open = peer_open(90);
    open.params.push(OptionalParameter::Capabilities(vec![
        Capability::GracefulRestart(peer_gr.clone()),
    ]));
    let mut s = Script::new(cfg);
    s.establish_with(open);
    let actions = s.step(Event::TcpClosed);
    assert!(actions.contains(&Action::SessionDown {
        graceful_restart: Some(peer_gr)
    }));
}

#[test]
fn unexpected_messages_get_the_rfc_6608_subcode_of_the_state() {
    // RFC 6608 §4: 1 in OpenSent, 2 in OpenConfirm, 3 in Established.
    let mut s = Script::new(config());
    s.step(Event::ManualStart);
    s.jit(secs(120));
    s.step(Event::TcpConnected(Origin::Local));
    let idle_hold = s.jit(secs(5));
    let [send, error] = sent(notification(
        ErrorCode::FSM,
        fsm_error::UNEXPECTED_IN_OPENSENT,
    ));
    assert_eq!(
        s.receive(Message::Keepalive),
        [
            send,
            error,
            Action::Disconnect,
            Action::StopTimer(Timer::Hold),
            Action::StartTimer(Timer::IdleHold, idle_hold),
            changed(State::OpenSent, State::Idle),
        ]
    );

    let (mut s, _) = answer_to(peer_open(90), config());
    s.jit(secs(3));
    let idle_hold = s.jit(secs(5));
    let [send, error] = sent(notification(
        ErrorCode::FSM,
        fsm_error::UNEXPECTED_IN_OPENCONFIRM,
    ));
    assert_eq!(
        s.receive(Message::Update(update())),
        [
            send,
            error,
            Action::Disconnect,
            Action::StopTimer(Timer::Hold),
            Action::StopTimer(Timer::Keepalive),
            Action::StartTimer(Timer::IdleHold, idle_hold),
            changed(State::OpenConfirm, State::Idle),
        ]
    );

    let mut s = Script::new(config());
    s.establish();
    let idle_hold = s.jit(secs(5));
    let [send, error] = sent(notification(
        ErrorCode::FSM,
        fsm_error::UNEXPECTED_IN_ESTABLISHED,
    ));
    assert_eq!(
        s.receive(Message::Open(peer_open(90))),
        [
            send,
            error,
            Action::Disconnect,
            Action::StopTimer(Timer::Hold),
            Action::StopTimer(Timer::Keepalive),
            Action::StopTimer(Timer::SendHold),
            Action::SessionDown {
                graceful_restart: None
            },
            Action::StartTimer(Timer::IdleHold, idle_hold),
            changed(State::Established, State::Idle),
        ]
    );
}

#[test]
fn a_second_open_or_a_route_refresh_in_open_confirm_is_unexpected() {
    // RFC 6608 §4, subcode 2.
    let expected = notification(ErrorCode::FSM, fsm_error::UNEXPECTED_IN_OPENCONFIRM);
    for message in [
        Message::Open(peer_open(90)),
        Message::RouteRefresh(RouteRefresh {
            family: Family::IPV4_UNICAST,
            subtype: RefreshSubtype::Request,
        }),
    ] {
        let (mut s, _) = answer_to(peer_open(90), config());
        let actions = s.receive(message);
        assert_eq!(actions.first(), sent(expected.clone()).first());
        assert_eq!(s.state(), State::Idle);
    }
}

#[test]
fn decode_errors_send_the_codecs_notification_or_the_fsm_error() {
    // RFC 4271 §6.1: a header error is answered with itself in every state.
    let header = notification(ErrorCode::MESSAGE_HEADER, 2);
    let mut s = Script::new(config());
    s.establish();
    let actions = s.step(Event::DecodeFailed(DecodeError::new(
        header.clone(),
        "bad length",
    )));
    assert_eq!(actions[..2], sent(header));
    assert_eq!(s.state(), State::Idle);

    // RFC 7606 §2 session reset: the UPDATE error goes out as it is.
    let update_error = notification(ErrorCode::UPDATE, 1);
    let mut s = Script::new(config());
    s.establish();
    let actions = s.step(Event::DecodeFailed(DecodeError::new(
        update_error.clone(),
        "attribute list",
    )));
    assert_eq!(actions[..2], sent(update_error.clone()));

    // An UPDATE in OpenSent is unexpected before it is malformed (RFC 6608).
    let mut s = Script::new(config());
    s.step(Event::ManualStart);
    s.step(Event::TcpConnected(Origin::Local));
    let actions = s.step(Event::DecodeFailed(DecodeError::new(update_error, "early")));
    let fsm = notification(ErrorCode::FSM, fsm_error::UNEXPECTED_IN_OPENSENT);
    assert_eq!(actions[..2], sent(fsm));

    // A malformed OPEN in OpenSent: the codec's OPEN error (RFC 4271 §6.2).
    let open_error = notification(ErrorCode::OPEN, 0);
    let mut s = Script::new(config());
    s.step(Event::ManualStart);
    s.step(Event::TcpConnected(Origin::Local));
    let actions = s.step(Event::DecodeFailed(DecodeError::new(
        open_error.clone(),
        "x",
    )));
    assert_eq!(actions[..2], sent(open_error.clone()));

    // The same in Established is an unexpected OPEN (RFC 6608 §4).
    let mut s = Script::new(config());
    s.establish();
    let actions = s.step(Event::DecodeFailed(DecodeError::new(open_error, "x")));
    let fsm = notification(ErrorCode::FSM, fsm_error::UNEXPECTED_IN_ESTABLISHED);
    assert_eq!(actions[..2], sent(fsm));

    // Without a connection there is nothing to answer.
    let mut s = Script::new(config());
    let header = notification(ErrorCode::MESSAGE_HEADER, 1);
    assert_eq!(
        s.step(Event::DecodeFailed(DecodeError::new(header, "x"))),
        []
    );
}

#[test]
fn send_hold_timer_restarts_on_every_send_and_expiry_closes_at_once() {
    // RFC 9687 §4.3: started in Established, restarted by each message sent;
    // §6: twice a hold time of 300 s.
    let mut s = Script::new(PeerConfig {
        hold_time: 300,
        ..config()
    });
    s.establish_with(peer_open(300));
    assert_eq!(
        s.step(Event::MessagesSent),
        [Action::StartTimer(Timer::SendHold, secs(600))]
    );
    // RFC 9687 §4.3, event 29: NOTIFICATION 8 (optional) and close, no waiting.
    let idle_hold = s.jit(secs(5));
    let [send, error] = sent(notification(ErrorCode::SEND_HOLD_TIMER_EXPIRED, 0));
    assert_eq!(
        s.expire(Timer::SendHold),
        [
            send,
            error,
            Action::Disconnect,
            Action::StopTimer(Timer::Hold),
            Action::StopTimer(Timer::Keepalive),
            Action::SessionDown {
                graceful_restart: None
            },
            Action::StartTimer(Timer::IdleHold, idle_hold),
            changed(State::Established, State::Idle),
        ]
    );
}

#[test]
fn send_hold_timer_runs_only_in_established() {
    // RFC 9687 §4.3: started on OpenConfirm's KEEPALIVE, not before.
    let mut s = Script::new(config());
    s.step(Event::ManualStart);
    assert_eq!(s.step(Event::MessagesSent), []);
    s.step(Event::TcpConnected(Origin::Local));
    assert_eq!(s.step(Event::MessagesSent), []);
    let actions = s.receive(Message::Open(peer_open(90)));
    assert!(
        !actions
            .iter()
            .any(|a| matches!(a, Action::StartTimer(Timer::SendHold, _)))
    );
    assert_eq!(s.step(Event::MessagesSent), []);
    // Its expiry is ignored unless the session started it.
    assert_eq!(s.expire(Timer::SendHold), []);
    assert_eq!(s.state(), State::OpenConfirm);
}

#[test]
fn route_refresh_is_passed_on_only_when_negotiated() {
    // RFC 2918 §4, RFC 7313 §4-§5.
    let refresh = |family, subtype| Message::RouteRefresh(RouteRefresh { family, subtype });
    let mut s = Script::new(config());
    s.establish();
    assert_eq!(
        s.receive(refresh(Family::IPV6_UNICAST, RefreshSubtype::Request)),
        [Action::RouteRefreshRequested(Family::IPV6_UNICAST)]
    );
    assert_eq!(
        s.receive(refresh(Family::IPV4_UNICAST, RefreshSubtype::Begin)),
        [Action::RouteRefreshBegin(Family::IPV4_UNICAST)]
    );
    assert_eq!(
        s.receive(refresh(Family::IPV4_UNICAST, RefreshSubtype::End)),
        [Action::RouteRefreshEnd(Family::IPV4_UNICAST)]
    );
    // RFC 7313 §5: a reserved subtype is ignored.
    assert_eq!(
        s.receive(refresh(Family::IPV4_UNICAST, RefreshSubtype::Reserved(9))),
        []
    );
    // RFC 2918 §4: a family not of this session is ignored.
    let vpn = Family::new(bgp::Afi(1), bgp::Safi(128));
    assert_eq!(s.receive(refresh(vpn, RefreshSubtype::Request)), []);
    assert_eq!(s.state(), State::Established);

    // A peer that did not announce route refresh: not negotiated, ignored.
    let mut open = peer_open(90);
    open.params = vec![OptionalParameter::Capabilities(vec![
        Capability::Multiprotocol {
            family: Family::IPV4_UNICAST,
            reserved: 0,
        },
    ])];
    let mut s = Script::new(config());
    s.establish_with(open);
    assert_eq!(
        s.receive(refresh(Family::IPV4_UNICAST, RefreshSubtype::Request)),
        []
    );
    assert_eq!(
        s.receive(refresh(Family::IPV4_UNICAST, RefreshSubtype::Begin)),
        []
    );
    assert_eq!(s.state(), State::Established);
}

#[test]
fn manual_stop_sends_the_shutdown_communication_and_stays_down() {
    // RFC 4271 §8.2.2 event 2: Cease; RFC 9003 §2: Administrative Shutdown
    // with the operator's text; no automatic restart after it.
    let mut s = Script::new(config());
    s.establish();
    let stop = Event::ManualStop {
        communication: Some("maintenance, back at 14:00".to_string()),
    };
    let n = Notification::cease_with_message(
        cease::ADMINISTRATIVE_SHUTDOWN,
        "maintenance, back at 14:00",
    );
    assert_eq!(&n.data[..1], &[26]);
    let [send, error] = sent(n);
    assert_eq!(
        s.step(stop),
        [
            send,
            error,
            Action::Disconnect,
            Action::StopTimer(Timer::Hold),
            Action::StopTimer(Timer::Keepalive),
            Action::StopTimer(Timer::SendHold),
            Action::SessionDown {
                graceful_restart: None
            },
            changed(State::Established, State::Idle),
        ]
    );
    // Neither the daemon's start nor a stale timer brings it back.
    assert_eq!(s.step(Event::AutomaticStart), []);
    assert_eq!(s.expire(Timer::IdleHold), []);
    assert_eq!(s.state(), State::Idle);
    // The operator's start does.
    let retry = s.jit(secs(120));
    assert_eq!(
        s.step(Event::ManualStart),
        [
            Action::Connect,
            Action::StartTimer(Timer::ConnectRetry, retry),
            changed(State::Idle, State::Connect),
        ]
    );
}

#[test]
fn manual_stop_without_text_and_before_open() {
    // RFC 4271 §8.2.2 OpenSent: Cease, no data.
    let mut s = Script::new(config());
    s.step(Event::ManualStart);
    s.step(Event::TcpConnected(Origin::Local));
    let actions = s.step(Event::ManualStop {
        communication: None,
    });
    let n = notification(ErrorCode::CEASE, cease::ADMINISTRATIVE_SHUTDOWN);
    assert_eq!(actions[..2], sent(n));

    // RFC 4271 §8.2.2 Connect: no BGP connection, so no NOTIFICATION.
    let mut s = Script::new(config());
    s.step(Event::ManualStart);
    assert_eq!(
        s.step(Event::ManualStop {
            communication: None
        }),
        [
            Action::Disconnect,
            Action::StopTimer(Timer::ConnectRetry),
            changed(State::Connect, State::Idle),
        ]
    );

    // Idle, held after an error: the stop cancels the automatic start.
    let mut s = Script::new(config());
    s.step(Event::ManualStart);
    s.step(Event::TcpConnectFailed);
    assert_eq!(
        s.step(Event::ManualStop {
            communication: None
        }),
        [Action::StopTimer(Timer::IdleHold)]
    );
    assert_eq!(s.expire(Timer::IdleHold), []);
    assert_eq!(s.state(), State::Idle);
}

#[test]
fn idle_hold_doubles_per_consecutive_error_up_to_the_max() {
    // RFC 4271 §8.1.1 DampPeerOscillations: 5, 10, 20, 40, 60, 60 seconds,
    // each jittered (RFC 4271 §10).
    let mut s = Script::new(config());
    let retry = s.jit(secs(120));
    assert_eq!(
        s.step(Event::ManualStart),
        [
            Action::Connect,
            Action::StartTimer(Timer::ConnectRetry, retry),
            changed(State::Idle, State::Connect),
        ]
    );
    for (n, base) in [5, 10, 20, 40, 60, 60].into_iter().enumerate() {
        // RFC 4271 §8.2.2 Connect, event 18: Idle.
        let hold = s.jit(secs(base));
        assert!(hold >= secs(base) * 3 / 4 && hold <= secs(base));
        assert_eq!(
            s.step(Event::TcpConnectFailed),
            [
                Action::Disconnect,
                Action::StopTimer(Timer::ConnectRetry),
                Action::StartTimer(Timer::IdleHold, hold),
                changed(State::Connect, State::Idle),
            ],
            "error {}",
            n + 1
        );
        assert_eq!(s.session.consecutive_errors(), n as u32 + 1);
        // RFC 4271 §8.1.1: held in Idle; the daemon's start is ignored.
        assert_eq!(s.step(Event::AutomaticStart), []);
        // The expiry is the automatic start.
        let retry = s.jit(secs(120));
        assert_eq!(
            s.expire(Timer::IdleHold),
            [
                Action::Connect,
                Action::StartTimer(Timer::ConnectRetry, retry),
                changed(State::Idle, State::Connect),
            ]
        );
    }
}

#[test]
fn passive_session_restarts_into_active() {
    let mut s = Script::new(PeerConfig {
        passive: true,
        ..config()
    });
    s.step(Event::ManualStart);
    s.step(Event::TcpConnected(Origin::Remote));
    let actions = s.receive(Message::Keepalive);
    assert_eq!(actions.last(), Some(&changed(State::OpenSent, State::Idle)));
    assert_eq!(
        s.expire(Timer::IdleHold),
        [changed(State::Idle, State::Active)]
    );
}

#[test]
fn errors_are_forgiven_after_staying_established_as_long_as_the_longest_hold() {
    let mut s = Script::new(config());
    s.step(Event::ManualStart);
    s.jit(secs(120));
    s.step(Event::TcpConnectFailed);
    s.jit(secs(5));
    s.expire(Timer::IdleHold);
    s.jit(secs(120));
    s.step(Event::TcpConnectFailed);
    s.jit(secs(10));
    s.expire(Timer::IdleHold);
    s.jit(secs(120));
    assert_eq!(s.session.consecutive_errors(), 2);

    // Established with errors behind it: the ErrorReset timer runs.
    s.step(Event::TcpConnected(Origin::Local));
    s.receive(Message::Open(peer_open(90)));
    s.jit(secs(3));
    let actions = s.receive(Message::Keepalive);
    assert!(actions.contains(&Action::StartTimer(Timer::ErrorReset, secs(60))));

    // Down before it expired: the count goes on.
    let hold = s.jit(secs(20));
    let actions = s.step(Event::TcpClosed);
    assert!(actions.contains(&Action::StopTimer(Timer::ErrorReset)));
    assert!(actions.contains(&Action::StartTimer(Timer::IdleHold, hold)));
    assert_eq!(s.session.consecutive_errors(), 3);

    // Up for long enough: forgiven, the next IdleHold is the base again.
    s.expire(Timer::IdleHold);
    s.jit(secs(120));
    s.step(Event::TcpConnected(Origin::Local));
    s.receive(Message::Open(peer_open(90)));
    s.jit(secs(3));
    s.receive(Message::Keepalive);
    assert_eq!(s.expire(Timer::ErrorReset), []);
    assert_eq!(s.session.consecutive_errors(), 0);
    let hold = s.jit(secs(5));
    let actions = s.step(Event::TcpClosed);
    assert!(actions.contains(&Action::StartTimer(Timer::IdleHold, hold)));
}

#[test]
fn manual_start_cuts_the_idle_hold_short_and_forgets_errors() {
    let mut s = Script::new(config());
    s.step(Event::ManualStart);
    s.step(Event::TcpConnectFailed);
    assert_eq!(s.session.consecutive_errors(), 1);
    let actions = s.step(Event::ManualStart);
    assert_eq!(actions.first(), Some(&Action::StopTimer(Timer::IdleHold)));
    assert_eq!(s.state(), State::Connect);
    assert_eq!(s.session.consecutive_errors(), 0);
}

#[test]
fn max_prefixes_reached_sends_cease_with_family_and_limit() {
    // RFC 4486 §4: Cease/Maximum Number of Prefixes Reached, AFI, SAFI, limit.
    let mut s = Script::new(config());
    s.establish();
    let actions = s.step(Event::MaxPrefixesReached {
        family: Family::IPV4_UNICAST,
        limit: 1000,
    });
    let n = Notification::new(
        ErrorCode::CEASE,
        cease::MAX_PREFIXES,
        Bytes::from_static(&[0, 1, 1, 0, 0, 0x03, 0xe8]),
    );
    assert_eq!(actions[..2], sent(n));
    assert!(actions.contains(&Action::SessionDown {
        graceful_restart: None
    }));
    assert_eq!(s.state(), State::Idle);
    // Outside Established there are no prefixes to count.
    assert_eq!(
        s.step(Event::MaxPrefixesReached {
            family: Family::IPV4_UNICAST,
            limit: 1
        }),
        []
    );
}

/// Two sessions of the same peer, one per connection, both in OpenConfirm.
fn two_in_open_confirm(first_origin: Origin, local_id: RouterId) -> (Script, Script) {
    let cfg = PeerConfig {
        local_router_id: local_id,
        ..config()
    };
    let mut first = Script::new(cfg.clone());
    first.step(Event::ManualStart);
    first.jit(secs(120));
    first.step(Event::TcpConnected(first_origin));
    first.receive(Message::Open(peer_open(90)));
    first.jit(secs(3));

    let mut second = Script::new(cfg);
    assert_eq!(
        second.step(Event::AutomaticStartPassive),
        [changed(State::Idle, State::Active)]
    );
    let second_origin = match first_origin {
        Origin::Local => Origin::Remote,
        Origin::Remote => Origin::Local,
    };
    second.step(Event::TcpConnected(second_origin));
    assert_eq!(collision_loser(&first.session, &second.session), None);
    second.receive(Message::Open(peer_open(90)));
    second.jit(secs(3));
    (first, second)
}

#[test]
fn collision_keeps_the_connection_of_the_higher_identifier() {
    // RFC 4271 §6.8. Ours is higher: keep the connection we opened.
    let high = RouterId(Ipv4Addr::new(192, 168, 10, 9));
    assert_eq!(
        resolve_collision(high, PEER_ID, LOCAL_AS, PEER_AS),
        Keep::Local
    );
    let (first, mut second) = two_in_open_confirm(Origin::Local, high);
    assert_eq!(
        collision_loser(&first.session, &second.session),
        Some(Loser::Second)
    );
    // Cease/Connection Collision Resolution, close, and no restart.
    let [send, error] = sent(notification(ErrorCode::CEASE, cease::CONNECTION_COLLISION));
    assert_eq!(
        second.step(Event::CollisionDump),
        [
            send,
            error,
            Action::Disconnect,
            Action::StopTimer(Timer::Hold),
            Action::StopTimer(Timer::Keepalive),
            changed(State::OpenConfirm, State::Idle),
        ]
    );
    assert_eq!(second.step(Event::AutomaticStart), []);
    assert_eq!(second.state(), State::Idle);

    // Ours is lower: keep the connection the peer opened.
    let low = RouterId(Ipv4Addr::new(192, 168, 0, 5));
    assert_eq!(
        resolve_collision(low, PEER_ID, LOCAL_AS, PEER_AS),
        Keep::Remote
    );
    let (first, second) = two_in_open_confirm(Origin::Local, low);
    assert_eq!(
        collision_loser(&first.session, &second.session),
        Some(Loser::First)
    );
    let (first, second) = two_in_open_confirm(Origin::Remote, low);
    assert_eq!(
        collision_loser(&first.session, &second.session),
        Some(Loser::Second)
    );
}

#[test]
fn a_dumped_session_without_a_connection_just_ends() {
    // No BGP connection yet: nothing to notify, and no restart afterwards.
    let mut s = Script::new(config());
    s.step(Event::ManualStart);
    assert_eq!(
        s.step(Event::CollisionDump),
        [
            Action::Disconnect,
            Action::StopTimer(Timer::ConnectRetry),
            changed(State::Connect, State::Idle),
        ]
    );
    assert_eq!(s.step(Event::AutomaticStart), []);

    // Held in Idle after an error: the pending automatic start is cancelled.
    let mut s = Script::new(config());
    s.step(Event::ManualStart);
    s.step(Event::TcpConnectFailed);
    assert_eq!(
        s.step(Event::CollisionDump),
        [Action::StopTimer(Timer::IdleHold)]
    );
    assert_eq!(s.expire(Timer::IdleHold), []);
    assert_eq!(s.state(), State::Idle);
}

#[test]
fn collision_with_an_established_session_closes_the_new_connection() {
    // RFC 4271 §6.8: the Established connection stays, whatever the identifiers.
    let low = RouterId(Ipv4Addr::new(192, 168, 0, 5));
    let (mut first, second) = two_in_open_confirm(Origin::Local, low);
    first.receive(Message::Keepalive);
    assert_eq!(first.state(), State::Established);
    assert_eq!(
        collision_loser(&first.session, &second.session),
        Some(Loser::Second)
    );
    assert_eq!(
        collision_loser(&second.session, &first.session),
        Some(Loser::First)
    );
}

#[test]
fn a_session_with_a_connection_ignores_another_one() {
    // RFC 4271 §6.8: a second connection is tracked apart (by another
    // session), so it changes nothing here.
    let mut s = Script::new(config());
    s.establish();
    assert_eq!(s.step(Event::TcpConnected(Origin::Remote)), []);
    assert_eq!(s.step(Event::TcpConnectFailed), []);
    assert_eq!(s.state(), State::Established);
}

#[test]
fn replay_is_deterministic_and_the_seed_spreads_timers() {
    let script = |seed| {
        let mut session = Session::new(PeerConfig {
            jitter_seed: seed,
            ..config()
        });
        let mut out = Vec::new();
        for event in [
            Event::ManualStart,
            Event::TcpConnected(Origin::Local),
            Event::MessageReceived(Message::Open(peer_open(90))),
            Event::MessageReceived(Message::Keepalive),
            Event::TimerExpired(Timer::Keepalive),
            Event::TcpClosed,
        ] {
            session.handle(event, &mut out);
        }
        out
    };
    assert_eq!(script(1), script(1));
    assert_ne!(script(1), script(2));
}
