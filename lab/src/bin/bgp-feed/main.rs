//! `bgp-feed`: a scripted leaf for the ingest benchmark. It connects to a
//! BGP speaker, brings the session up, encodes a table of distinct IPv4
//! prefixes in memory, and on `go` writes it in one piece, then keeps the
//! session alive until its standard input closes.
//!
//! It talks to whoever drives it in lines, on standard output:
//!
//! ```text
//! established hold_time=90
//! ready prefixes=1000000 updates=1112 bytes=4166823
//! fed prefixes=1000000 updates=1112 bytes=4166823 write_secs=0.412
//! ```
//!
//! and takes `go` on standard input (or starts at once with `--now`). End
//! of input closes the session with a Cease (RFC 4486 §4, Administrative
//! Shutdown) and exits 0; a session that goes down otherwise exits 1.

mod speaker;
mod table;

use std::io::{BufRead, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::process::ExitCode;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use bgp::fsm::{LocalCapabilities, PeerConfig};
use bgp::{Asn, Family, RouterId};

use speaker::{Control, Report, Speaker, Writer};
use table::{Table, TableSpec};

const USAGE: &str = "\
usage: bgp-feed --connect ADDR --local-as ASN --remote-as ASN --router-id ID
                [--port PORT] [--prefixes N] [--per-update N] [--next-hop ADDR]
                [--hold-time SECS] [--now]

Connects to ADDR (port 179), brings up an eBGP session, and on a `go` line
on standard input (at once with --now) sends N prefixes (default 1000000):
0.0.0.0/0 and /24s from 1.0.0.0, --per-update to an UPDATE (default 900),
next hop --next-hop or the connection's own address. The session stays up
until standard input closes.
";

/// How long the Cease may take to go out once input has closed.
const STOP_GRACE: Duration = Duration::from_secs(5);

#[derive(Debug, PartialEq, Eq)]
struct Args {
    peer: SocketAddr,
    local_as: Asn,
    remote_as: Asn,
    router_id: RouterId,
    prefixes: u32,
    per_update: usize,
    next_hop: Option<Ipv4Addr>,
    hold_time: u16,
    now: bool,
}

fn parse(args: impl IntoIterator<Item = String>) -> Result<Args, String> {
    let mut args = args.into_iter();
    let mut connect: Option<IpAddr> = None;
    let mut port = 179;
    let mut local_as = None;
    let mut remote_as = None;
    let mut router_id = None;
    let mut prefixes = 1_000_000;
    let mut per_update = 900;
    let mut next_hop = None;
    let mut hold_time = PeerConfig::DEFAULT_HOLD_TIME;
    let mut now = false;
    while let Some(flag) = args.next() {
        if flag == "--now" {
            now = true;
            continue;
        }
        let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let bad = |e: &dyn std::fmt::Display| format!("{flag} {value}: {e}");
        match flag.as_str() {
            "--connect" => connect = Some(value.parse().map_err(|e| bad(&e))?),
            "--port" => port = value.parse().map_err(|e| bad(&e))?,
            "--local-as" => local_as = Some(Asn(value.parse().map_err(|e| bad(&e))?)),
            "--remote-as" => remote_as = Some(Asn(value.parse().map_err(|e| bad(&e))?)),
            "--router-id" => router_id = Some(RouterId(value.parse().map_err(|e| bad(&e))?)),
            "--prefixes" => prefixes = value.parse().map_err(|e| bad(&e))?,
            "--per-update" => per_update = value.parse().map_err(|e| bad(&e))?,
            "--next-hop" => next_hop = Some(value.parse().map_err(|e| bad(&e))?),
            "--hold-time" => hold_time = value.parse().map_err(|e| bad(&e))?,
            _ => return Err(format!("unknown option {flag}")),
        }
    }
    let need = |what: &str| format!("{what} is required");
    Ok(Args {
        peer: SocketAddr::new(connect.ok_or_else(|| need("--connect"))?, port),
        local_as: local_as.ok_or_else(|| need("--local-as"))?,
        remote_as: remote_as.ok_or_else(|| need("--remote-as"))?,
        router_id: router_id.ok_or_else(|| need("--router-id"))?,
        prefixes,
        per_update,
        next_hop,
        hold_time,
        now,
    })
}

/// The session a leaf offers: IPv4 unicast, route refresh and four-octet
/// AS, standard message sizes (so an UPDATE holds about 900 /24s), and a
/// one-second retry while the speaker under test is not listening yet.
fn peer_config(args: &Args) -> Result<PeerConfig, String> {
    let mut config = PeerConfig::new(args.local_as, args.remote_as, args.router_id);
    config.hold_time = args.hold_time;
    config.connect_retry_time = Duration::from_secs(1);
    config.capabilities = LocalCapabilities {
        families: vec![Family::IPV4_UNICAST],
        route_refresh: true,
        enhanced_route_refresh: false,
        four_octet_as: true,
        graceful_restart: None,
        extended_next_hop: false,
        extended_message: false,
    };
    config.validate().map_err(|e| e.to_string())?;
    Ok(config)
}

/// Everything the main thread waits for, from stdin and from the session.
enum Signal {
    Go,
    InputClosed,
    Session(Report),
}

fn read_stdin(tx: mpsc::Sender<Signal>) {
    for line in std::io::stdin().lock().lines() {
        match line.as_deref().map(str::trim) {
            Ok("go") => drop(tx.send(Signal::Go)),
            Ok("") => {}
            Ok(other) => eprintln!("bgp-feed: ignoring input {other:?}; only `go` is understood"),
            Err(_) => break,
        }
    }
    let _ = tx.send(Signal::InputClosed);
}

fn main() -> ExitCode {
    let args = match parse(std::env::args().skip(1)) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("bgp-feed: {e}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bgp-feed: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &Args) -> Result<(), String> {
    let config = peer_config(args)?;
    let (tx, rx) = mpsc::channel();
    let (control_tx, control_rx) = mpsc::channel();
    let speaker = Speaker::new(
        config,
        args.peer,
        speaker::reporter(tx.clone(), Signal::Session),
    );
    std::thread::spawn(move || speaker.run(control_rx));
    std::thread::spawn(move || read_stdin(tx));

    let mut go = args.now;
    let mut session: Option<(Writer, Table)> = None;
    let mut fed = false;
    loop {
        let signal = rx.recv().map_err(|_| "the session thread ended")?;
        match signal {
            Signal::Go => go = true,
            Signal::InputClosed => return stop(&control_tx, &rx),
            Signal::Session(Report::Established {
                writer,
                ctx,
                local,
                hold_time,
            }) => {
                say(&format!("established hold_time={hold_time}"));
                let next_hop = match (args.next_hop, local.ip()) {
                    (Some(a), _) => a,
                    (None, IpAddr::V4(a)) => a,
                    (None, IpAddr::V6(a)) => a
                        .to_ipv4_mapped()
                        .ok_or("the connection is IPv6: give an IPv4 --next-hop for the routes")?,
                };
                let spec = TableSpec {
                    prefixes: args.prefixes,
                    per_update: args.per_update,
                    next_hop,
                    leaf_as: args.local_as,
                };
                let table = table::build(&spec, &ctx).map_err(|e| e.to_string())?;
                say(&format!(
                    "ready prefixes={} updates={} bytes={}",
                    table.prefixes,
                    table.updates,
                    table.bytes.len()
                ));
                session = Some((writer, table));
            }
            Signal::Session(Report::Down(why)) => return Err(why),
            Signal::Session(Report::Stopped) => return Ok(()),
        }
        if go
            && !fed
            && let Some((writer, table)) = &session
        {
            feed(writer, table)?;
            fed = true;
        }
    }
}

/// Write the whole table at once. The write half is held for the whole
/// table, so a KEEPALIVE due meanwhile waits and never splits an UPDATE.
fn feed(writer: &Writer, table: &Table) -> Result<(), String> {
    let mut w = writer.lock().map_err(|_| "the session thread failed")?;
    let start = Instant::now();
    w.write_all(&table.bytes)
        .map_err(|e| format!("writing the table: {e}"))?;
    let secs = start.elapsed().as_secs_f64();
    drop(w);
    say(&format!(
        "fed prefixes={} updates={} bytes={} write_secs={secs:.3}",
        table.prefixes,
        table.updates,
        table.bytes.len()
    ));
    Ok(())
}

/// Close the session with a Cease and wait, briefly, for it to be gone.
fn stop(control: &mpsc::Sender<Control>, rx: &Receiver<Signal>) -> Result<(), String> {
    let _ = control.send(Control::Stop);
    let deadline = Instant::now() + STOP_GRACE;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(Signal::Session(Report::Stopped)) => return Ok(()),
            Ok(_) => {}
            Err(RecvTimeoutError::Timeout) => {
                return Err("the session did not close in time".into());
            }
            Err(RecvTimeoutError::Disconnected) => return Ok(()),
        }
    }
}

/// One line for the driver; stdout is line-buffered, so it goes out now.
fn say(line: &str) {
    println!("{line}");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(line: &str) -> Result<Args, String> {
        parse(line.split_whitespace().map(String::from))
    }

    #[test]
    fn the_required_options_and_the_defaults() {
        let a =
            args("--connect 192.0.2.1 --local-as 65000 --remote-as 65001 --router-id 192.0.2.0")
                .unwrap();
        assert_eq!(a.peer, "192.0.2.1:179".parse().unwrap());
        assert_eq!(
            (a.prefixes, a.per_update, a.hold_time),
            (1_000_000, 900, 90)
        );
        assert!(!a.now && a.next_hop.is_none());
        for missing in ["--connect", "--local-as", "--remote-as", "--router-id"] {
            let line =
                "--connect 192.0.2.1 --local-as 65000 --remote-as 65001 --router-id 192.0.2.0";
            let mut words: Vec<&str> = line.split_whitespace().collect();
            let at = words.iter().position(|w| *w == missing).unwrap();
            words.drain(at..at + 2);
            let err = parse(words.into_iter().map(String::from)).unwrap_err();
            assert!(err.contains(missing), "{err}");
        }
    }

    #[test]
    fn bad_values_name_the_option() {
        let err = args("--connect 192.0.2.1 --local-as x").unwrap_err();
        assert!(err.starts_with("--local-as x"), "{err}");
        assert!(args("--connect").unwrap_err().contains("needs a value"));
        assert!(
            args("--frobnicate 1")
                .unwrap_err()
                .contains("unknown option")
        );
    }

    #[test]
    fn the_offered_session_is_ipv4_unicast_with_standard_messages() {
        let a = args(
            "--connect 192.0.2.1 --port 1179 --local-as 65000 --remote-as 65001 \
             --router-id 192.0.2.0 --hold-time 9 --now",
        )
        .unwrap();
        let c = peer_config(&a).unwrap();
        assert_eq!(c.hold_time, 9);
        assert_eq!(c.capabilities.families, [Family::IPV4_UNICAST]);
        assert!(!c.capabilities.extended_message);
        assert!(a.now);
        assert_eq!(a.peer.port(), 1179);
        // RFC 4271 §4.2: a hold time of 1 or 2 seconds is refused.
        let short = args(
            "--connect 192.0.2.1 --local-as 1 --remote-as 2 --router-id 1.1.1.1 --hold-time 2",
        )
        .unwrap();
        assert!(peer_config(&short).is_err());
    }
}
