//! The `romana-bgp` binary against the real control socket server, served
//! here from a canned backend: the command line, the socket protocol, the
//! output, the exit codes and the follow mode's reconnection.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::IpAddr;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Arc;
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use romana_bgp::api::protocol::{
    EndpointAdd, EndpointList, EndpointView, EventKind, NeighborDetail, NeighborDetails,
    NeighborSummary, NotificationRecord, RouteEntry, Routes, SessionEvent, Summary,
};
use romana_bgp::api::server::{Backend, serve};
use serde_json::Value;
use tokio::sync::{broadcast, oneshot};

const BIN: &str = env!("CARGO_BIN_EXE_romana-bgp");

fn romana(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .env_remove("NO_COLOR")
        .output()
        .expect("run romana-bgp")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn ip(text: &str) -> IpAddr {
    text.parse().unwrap()
}

struct Canned {
    events: broadcast::Sender<SessionEvent>,
}

impl Canned {
    fn new() -> Arc<Self> {
        Arc::new(Canned {
            events: broadcast::channel(16).0,
        })
    }

    fn established() -> NeighborSummary {
        NeighborSummary {
            address: ip("192.168.10.1"),
            remote_as: 65000,
            local_as: 65001,
            state: "Established".into(),
            uptime_secs: 3723,
            prefixes_received: 3,
            prefixes_accepted: 1,
            prefixes_advertised: 1,
            messages_received: 12,
            messages_sent: 14,
            last_error: None,
        }
    }

    fn active() -> NeighborSummary {
        NeighborSummary {
            address: ip("192.168.11.1"),
            remote_as: 65000,
            local_as: 65001,
            state: "Active".into(),
            uptime_secs: 0,
            prefixes_received: 0,
            prefixes_accepted: 0,
            prefixes_advertised: 0,
            messages_received: 2,
            messages_sent: 3,
            last_error: Some("received OPEN Message Error/Bad Peer AS (2/2)".into()),
        }
    }

    fn detail(summary: NeighborSummary) -> NeighborDetail {
        let up = summary.state == "Established";
        NeighborDetail {
            summary,
            port: 179,
            passive: false,
            peer_router_id: up.then(|| "192.168.10.1".into()),
            hold_time_configured: 90,
            hold_time: up.then_some(90),
            keepalive_time: up.then_some(30),
            capabilities: if up {
                vec!["4-octet-as".into(), "ipv4-unicast".into()]
            } else {
                vec![]
            },
            established_transitions: u64::from(up),
            last_transport_error: None,
            last_notification_sent: None,
            last_notification_received: (!up).then(|| NotificationRecord {
                code: 2,
                subcode: 2,
                name: "OPEN Message Error/Bad Peer AS".into(),
                communication: None,
                at: 1_795_319_412,
            }),
        }
    }
}

impl Backend for Canned {
    fn summary(&self) -> Summary {
        Summary {
            router_id: "192.168.10.2".into(),
            local_as: 65001,
            neighbors: vec![Canned::established(), Canned::active()],
        }
    }

    fn neighbors(&self, address: Option<IpAddr>) -> Result<NeighborDetails, String> {
        let all = [Canned::established(), Canned::active()];
        let chosen: Vec<NeighborDetail> = all
            .into_iter()
            .filter(|n| address.is_none_or(|a| a == n.address))
            .map(Canned::detail)
            .collect();
        match address {
            Some(a) if chosen.is_empty() => Err(format!("no neighbor {a} configured")),
            _ => Ok(NeighborDetails { neighbors: chosen }),
        }
    }

    async fn routes(&self) -> Routes {
        Routes {
            routes: vec![RouteEntry {
                prefix: "0.0.0.0/0".into(),
                neighbor: ip("192.168.10.1"),
                next_hop: ip("192.168.10.1"),
                as_path: vec![65000],
                installed: true,
            }],
        }
    }

    fn subscribe(&self) -> broadcast::Receiver<SessionEvent> {
        self.events.subscribe()
    }

    async fn endpoint_add(&self, add: EndpointAdd) -> Result<EndpointView, String> {
        if add.tenant != "blue" {
            return Err(format!("no tenant {:?}; the config has: blue", add.tenant));
        }
        Ok(Canned::endpoint())
    }

    async fn endpoint_del(&self, name: String) -> Result<bool, String> {
        Ok(name == "web-1")
    }

    async fn endpoints(&self) -> EndpointList {
        EndpointList {
            endpoints: vec![Canned::endpoint()],
        }
    }
}

impl Canned {
    fn endpoint() -> EndpointView {
        EndpointView {
            name: "web-1".into(),
            tenant: "blue".into(),
            segment: "web".into(),
            address: "10.1.17.1".parse().unwrap(),
            gateway: "10.1.0.1".parse().unwrap(),
            interface: "rb0a011101".into(),
            netns: Some("/run/netns/web-1".into()),
            wired: true,
        }
    }
}

/// A directory of its own per test, removed when the test ends.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Self {
        let dir =
            std::env::temp_dir().join(format!("romana-bgp-cli-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        Scratch(dir)
    }

    fn socket(&self) -> PathBuf {
        self.0.join("run").join("romana-bgp.sock")
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `serve` on its own thread and runtime, so the test thread can block on
/// the binary.
struct Server {
    backend: Arc<Canned>,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<thread::JoinHandle<()>>,
}

impl Server {
    fn start(path: &Path) -> Self {
        let backend = Canned::new();
        let (stop, stopped) = oneshot::channel::<()>();
        let served = Arc::clone(&backend);
        let socket = path.to_path_buf();
        let thread = thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime
                .block_on(serve(&socket, served, async {
                    let _ = stopped.await;
                }))
                .unwrap();
        });
        eventually("the server listens", || UnixStream::connect(path).is_ok());
        Server {
            backend,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// Waits until `count` follow clients are subscribed, then sends.
    fn emit(&self, count: usize, event: SessionEvent) {
        eventually("the follower subscribes", || {
            self.backend.events.receiver_count() == count
        });
        self.backend.events.send(event).unwrap();
    }

    fn stop(mut self) {
        self.shut_down();
    }

    fn shut_down(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            thread.join().unwrap();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.shut_down();
    }
}

fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        thread::sleep(Duration::from_millis(10));
    }
}

/// A running `show follow`, killed when dropped; its stdout arrives line by
/// line over a channel so a missing line fails the test instead of hanging.
struct Follower {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl Follower {
    fn start(args: &[&str]) -> Self {
        let mut child = Command::new(BIN)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("run romana-bgp show follow");
        let out = child.stdout.take().unwrap();
        let (send, lines) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { return };
                if send.send(line).is_err() {
                    return;
                }
            }
        });
        Follower { child, lines }
    }

    fn next_line(&self) -> String {
        self.lines
            .recv_timeout(Duration::from_secs(10))
            .expect("a line from show follow")
    }
}

impl Drop for Follower {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn state_change(from: &str, to: &str) -> SessionEvent {
    SessionEvent {
        at_ms: 1_795_319_412_345,
        neighbor: ip("192.168.10.1"),
        kind: EventKind::StateChanged {
            from: from.into(),
            to: to.into(),
        },
    }
}

/// `2026-11-22T03:50:12.345Z rest`: the rest, after checking the stamp.
fn after_timestamp(line: &str) -> &str {
    let (stamp, rest) = line.split_once(' ').unwrap_or(("", line));
    assert_eq!(stamp.len(), 24, "no timestamp on {line:?}");
    assert!(stamp.ends_with('Z') && stamp.as_bytes().get(10) == Some(&b'T'));
    rest
}

#[test]
fn help_tells_the_commands_the_default_socket_and_the_exit_codes() {
    let out = romana(&["--help"]);
    assert!(out.status.success());
    let text = stdout(&out);
    for needle in [
        "run",
        "show",
        "/run/romana-bgp/romana-bgp.sock",
        "3  the daemon cannot be reached",
        "romana-bgp show routes -o json",
    ] {
        assert!(text.contains(needle), "--help lacks {needle:?}:\n{text}");
    }
    let show = stdout(&romana(&["show", "--help"]));
    for needle in [
        "neighbors",
        "routes",
        "follow",
        "-f, --follow",
        "State/PfxRcd",
    ] {
        assert!(
            show.contains(needle),
            "show --help lacks {needle:?}:\n{show}"
        );
    }
    let run = stdout(&romana(&["run", "--help"]));
    assert!(
        run.contains("--config <FILE>") && run.contains("--check"),
        "{run}"
    );
}

/// The configuration of SPEC §3.
const SPEC_CONFIG: &str = include_str!("data/config/spec-example.toml");

#[test]
fn run_check_validates_the_config_without_starting() {
    let scratch = Scratch::new("check");
    std::fs::create_dir_all(&scratch.0).unwrap();
    let good = scratch.0.join("good.toml");
    std::fs::write(&good, SPEC_CONFIG).unwrap();
    let good = good.to_str().unwrap();
    let out = romana(&["run", "--check", "--config", good]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), format!("config OK: {good}\n"));

    let bad = scratch.0.join("bad.toml");
    std::fs::write(&bad, SPEC_CONFIG.replace("asn = 65001", "asn = \"x\"")).unwrap();
    let out = romana(&["run", "--config", bad.to_str().unwrap(), "--check"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stdout(&out), "");
    let error = stderr(&out);
    assert!(
        error.contains("host.asn"),
        "the error names no key: {error}"
    );
    assert_eq!(error.lines().count(), 1, "{error}");
}

#[test]
fn usage_errors_exit_2() {
    for args in [
        &["show", "neighbors", "not-an-address"][..],
        &["show", "-o", "yaml"],
        &["show", "-f", "routes"],
        &["run", "--config", "x.toml", "--socket", "/tmp/s"],
        &["endpoint", "list", "extra"],
    ] {
        let out = romana(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
    }
}

#[test]
fn no_daemon_is_a_clear_message_and_exit_3() {
    let scratch = Scratch::new("no-daemon");
    let socket = scratch.socket();
    let s = socket.to_str().unwrap();
    let expected = format!("romana-bgp is not running (no socket at {s})\n");
    for args in [
        &["show", "--socket", s][..],
        &["show", "neighbors", "--socket", s],
        &["show", "routes", "--socket", s, "-o", "json"],
        &["--socket", s, "show", "follow"],
    ] {
        let out = romana(args);
        assert_eq!(out.status.code(), Some(3), "{args:?}");
        assert_eq!(stderr(&out), expected, "{args:?}");
        assert_eq!(stdout(&out), "", "{args:?}");
    }

    // A socket file left behind with nothing listening on it.
    std::fs::create_dir_all(socket.parent().unwrap()).unwrap();
    drop(std::os::unix::net::UnixListener::bind(&socket).unwrap());
    let out = romana(&["show", "--socket", s]);
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(
        stderr(&out),
        format!("romana-bgp is not running ({s} exists but nothing listens)\n")
    );
}

#[test]
fn a_user_who_is_not_root_is_told_to_be() {
    let scratch = Scratch::new("not-root");
    // A copy of the binary that nobody can run wherever the checkout lives;
    // the socket's own directory is created 0700 by the server.
    std::fs::create_dir_all(&scratch.0).unwrap();
    std::fs::set_permissions(&scratch.0, std::fs::Permissions::from_mode(0o755)).unwrap();
    let bin = scratch.0.join("romana-bgp");
    std::fs::copy(BIN, &bin).unwrap();
    let socket = scratch.socket();
    let _server = Server::start(&socket);
    let s = socket.to_str().unwrap();
    // Runs the binary as nobody; the test suite runs as root (the daemon and
    // its network namespace tests need it).
    let out = Command::new(&bin)
        .args(["show", "--socket", s])
        .uid(65534)
        .gid(65534)
        .output()
        .expect("run romana-bgp as nobody (the tests run as root)");
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert_eq!(
        stderr(&out),
        format!(
            "cannot open {s}: permission denied (the control socket is root-only; run as root)\n"
        )
    );
}

#[test]
fn the_socket_is_root_only() {
    let scratch = Scratch::new("mode");
    let socket = scratch.socket();
    let _server = Server::start(&socket);
    let meta = std::fs::metadata(&socket).unwrap();
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    assert_eq!(meta.uid(), 0);
    let dir = std::fs::metadata(socket.parent().unwrap()).unwrap();
    assert_eq!(dir.permissions().mode() & 0o777, 0o700);
}

#[test]
fn show_prints_the_summary() {
    let scratch = Scratch::new("summary");
    let socket = scratch.socket();
    let _server = Server::start(&socket);
    let out = romana(&["show", "--socket", socket.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        "BGP router identifier 192.168.10.2, local AS number 65001\n\
         \n\
         Neighbor      V     AS  MsgRcvd  MsgSent   Up/Down  State/PfxRcd  PfxSnt  Last error\n\
         192.168.10.1  4  65000       12       14  01:02:03             1       1  -\n\
         192.168.11.1  4  65000        2        3     never        Active       0  \
         received OPEN Message Error/Bad Peer AS (2/2)\n\
         \n\
         Total number of neighbors 2\n"
    );
}

#[test]
fn a_reader_that_went_away_is_not_a_crash() {
    let scratch = Scratch::new("closed-stdout");
    let socket = scratch.socket();
    let _server = Server::start(&socket);
    let mut child = Command::new(BIN)
        .args(["show", "--socket", socket.to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // `romana-bgp show | head -0`: the pipe's reader is gone before the
    // binary writes.
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stderr(&out), "");
}

#[test]
fn show_json_has_the_spec_fields() {
    let scratch = Scratch::new("summary-json");
    let socket = scratch.socket();
    let _server = Server::start(&socket);
    let out = romana(&["show", "-o", "json", "--socket", socket.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    let first = &json["neighbors"][0];
    assert_eq!(first["address"], "192.168.10.1");
    assert_eq!(first["remote_as"], 65000);
    assert_eq!(first["local_as"], 65001);
    assert_eq!(first["state"], "Established");
    assert_eq!(first["uptime_secs"], 3723);
    assert_eq!(first["prefixes_received"], 3);
    assert_eq!(first["prefixes_accepted"], 1);
    assert_eq!(first["prefixes_advertised"], 1);
    assert_eq!(first["messages_received"], 12);
    assert_eq!(first["messages_sent"], 14);
    assert_eq!(first["last_error"], Value::Null);
    assert_eq!(
        json["neighbors"][1]["last_error"],
        "received OPEN Message Error/Bad Peer AS (2/2)"
    );
}

#[test]
fn options_are_accepted_anywhere_on_the_line() {
    let scratch = Scratch::new("routes-json");
    let socket = scratch.socket();
    let _server = Server::start(&socket);
    let s = socket.to_str().unwrap();
    let after = romana(&["show", "routes", "--socket", s, "-o", "json"]);
    let before = romana(&["--socket", s, "-o", "json", "show", "routes"]);
    let between = romana(&["show", "--output", "json", "--socket", s, "routes"]);
    for out in [&after, &before, &between] {
        assert!(out.status.success(), "{}", stderr(out));
        assert_eq!(out.stdout, after.stdout);
    }
    let json: Value = serde_json::from_slice(&after.stdout).unwrap();
    let route = &json["routes"][0];
    assert_eq!(route["prefix"], "0.0.0.0/0");
    assert_eq!(route["neighbor"], "192.168.10.1");
    assert_eq!(route["next_hop"], "192.168.10.1");
    assert_eq!(route["as_path"], serde_json::json!([65000]));
    assert_eq!(route["installed"], true);

    let text = romana(&["show", "routes", "--socket", s]);
    assert_eq!(
        stdout(&text),
        "Prefix     Next hop      Neighbor      AS path  Installed\n\
         0.0.0.0/0  192.168.10.1  192.168.10.1  65000    yes\n"
    );
}

#[test]
fn show_neighbors_of_one_address_and_of_an_unknown_one() {
    let scratch = Scratch::new("neighbors");
    let socket = scratch.socket();
    let _server = Server::start(&socket);
    let s = socket.to_str().unwrap();
    let out = romana(&["show", "neighbors", "192.168.11.1", "--socket", s]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        "BGP neighbor is 192.168.11.1, remote AS 65000, local AS 65001\n\
        \x20 BGP state = Active, never up\n\
        \x20 Neighbor router ID unknown, port 179, active\n\
        \x20 Hold time not negotiated (configured hold time 90 s)\n\
        \x20 Connections established 0\n\
        \x20 Capabilities: none negotiated\n\
        \x20 Messages: received 2, sent 3\n\
        \x20 Prefixes: received 0, accepted 0, advertised 0\n\
        \x20 Last NOTIFICATION sent: none\n\
        \x20 Last NOTIFICATION received: 2026-11-22T03:50:12Z OPEN Message Error/Bad Peer AS (2/2)\n\
        \x20 Last error: received OPEN Message Error/Bad Peer AS (2/2)\n"
    );

    let all = romana(&["show", "neighbors", "--socket", s, "-o", "json"]);
    let json: Value = serde_json::from_slice(&all.stdout).unwrap();
    assert_eq!(json["neighbors"].as_array().map(Vec::len), Some(2));
    assert_eq!(json["neighbors"][0]["hold_time"], 90);
    assert_eq!(json["neighbors"][0]["state"], "Established");

    let unknown = romana(&["show", "neighbors", "203.0.113.9", "--socket", s]);
    assert_eq!(unknown.status.code(), Some(1));
    assert_eq!(stderr(&unknown), "no neighbor 203.0.113.9 configured\n");
}

#[test]
fn malformed_requests_get_an_error_reply_and_the_server_keeps_serving() {
    let scratch = Scratch::new("malformed");
    let socket = scratch.socket();
    let _server = Server::start(&socket);
    let mut stream = UnixStream::connect(&socket).unwrap();
    stream
        .write_all(b"{\"request\":\"launch\"}\n\xff\xfe\n{\"request\":\"summary\"}\n")
        .unwrap();
    let mut replies = BufReader::new(stream.try_clone().unwrap()).lines();
    for _ in 0..2 {
        let reply: Value = serde_json::from_str(&replies.next().unwrap().unwrap()).unwrap();
        assert_eq!(reply["reply"], "error");
        assert!(
            reply["message"]
                .as_str()
                .unwrap()
                .starts_with("malformed request")
        );
    }
    let reply: Value = serde_json::from_str(&replies.next().unwrap().unwrap()).unwrap();
    assert_eq!(reply["reply"], "summary");
    assert_eq!(reply["neighbors"][0]["address"], "192.168.10.1");

    // A client that hangs up mid-line does not disturb the others.
    let mut rude = UnixStream::connect(&socket).unwrap();
    rude.write_all(b"{\"request\":").unwrap();
    drop(rude);
    let out = romana(&["show", "--socket", socket.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let mut rest = String::new();
    stream.shutdown(std::net::Shutdown::Write).unwrap();
    stream.read_to_string(&mut rest).unwrap();
    assert_eq!(rest, "");
}

#[test]
fn follow_prints_events_and_survives_a_daemon_restart() {
    let scratch = Scratch::new("follow");
    let socket = scratch.socket();
    let s = socket.to_str().unwrap();
    let server = Server::start(&socket);
    let follower = Follower::start(&["show", "follow", "--socket", s]);

    server.emit(1, state_change("OpenConfirm", "Established"));
    assert_eq!(
        follower.next_line(),
        "2026-11-22T03:50:12.345Z 192.168.10.1 state OpenConfirm -> Established"
    );

    server.stop();
    assert_eq!(
        after_timestamp(&follower.next_line()),
        "connection to romana-bgp lost; reconnecting"
    );
    // Nothing listens for a moment; the follower keeps trying.
    thread::sleep(Duration::from_millis(1500));
    let restarted = Server::start(&socket);
    assert_eq!(after_timestamp(&follower.next_line()), "reconnected");

    restarted.emit(1, state_change("Established", "Idle"));
    assert_eq!(
        follower.next_line(),
        "2026-11-22T03:50:12.345Z 192.168.10.1 state Established -> Idle"
    );
}

#[test]
fn follow_alias_with_json_lines() {
    let scratch = Scratch::new("follow-json");
    let socket = scratch.socket();
    let server = Server::start(&socket);
    let follower = Follower::start(&[
        "show",
        "-f",
        "-o",
        "json",
        "--socket",
        socket.to_str().unwrap(),
    ]);
    server.emit(
        1,
        SessionEvent {
            at_ms: 7,
            neighbor: ip("192.168.10.1"),
            kind: EventKind::PrefixesAccepted { count: 2 },
        },
    );
    assert_eq!(
        follower.next_line(),
        r#"{"at_ms":7,"neighbor":"192.168.10.1","event":"prefixes_accepted","count":2}"#
    );
}

#[test]
fn endpoint_commands_speak_the_protocol() {
    let scratch = Scratch::new("endpoints");
    let socket = scratch.socket();
    let _server = Server::start(&socket);
    let s = socket.to_str().unwrap();

    let add = romana(&[
        "endpoint",
        "add",
        "--tenant",
        "blue",
        "--segment",
        "web",
        "--netns",
        "web-1",
        "-o",
        "json",
        "--socket",
        s,
    ]);
    assert!(add.status.success(), "{}", stderr(&add));
    let json: Value = serde_json::from_slice(&add.stdout).unwrap();
    for (key, value) in [
        ("name", "web-1"),
        ("tenant", "blue"),
        ("segment", "web"),
        ("address", "10.1.17.1"),
        ("gateway", "10.1.0.1"),
        ("interface", "rb0a011101"),
    ] {
        assert_eq!(json[key], value, "{json}");
    }

    let refused = romana(&[
        "endpoint",
        "add",
        "--tenant",
        "red",
        "--segment",
        "web",
        "--iface",
        "tap0",
        "--socket",
        s,
    ]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        stderr(&refused).contains("no tenant \"red\""),
        "{}",
        stderr(&refused)
    );

    let list = romana(&["--socket", s, "endpoint", "list", "-o", "json"]);
    let json: Value = serde_json::from_slice(&list.stdout).unwrap();
    assert_eq!(json["endpoints"][0]["name"], "web-1");
    let text = romana(&["show", "endpoints", "--socket", s]);
    assert!(stdout(&text).starts_with("Name "), "{}", stdout(&text));
    assert!(stdout(&text).contains("rb0a011101"), "{}", stdout(&text));

    let del = romana(&["endpoint", "del", "web-1", "--socket", s]);
    assert_eq!(stdout(&del), "endpoint web-1 deleted\n");
    let again = romana(&["endpoint", "del", "gone", "--socket", s, "-o", "json"]);
    assert!(again.status.success());
    let json: Value = serde_json::from_slice(&again.stdout).unwrap();
    assert_eq!(json["existed"], false);
}

#[test]
fn endpoint_add_needs_exactly_one_of_netns_and_iface() {
    for args in [
        &["endpoint", "add", "--tenant", "blue", "--segment", "web"][..],
        &[
            "endpoint",
            "add",
            "--tenant",
            "blue",
            "--segment",
            "web",
            "--netns",
            "a",
            "--iface",
            "b",
        ],
    ] {
        assert_eq!(romana(args).status.code(), Some(2), "{args:?}");
    }
}
