//! `route-check-bench`: what the RIB task's periodic check of the host's
//! routes costs with N endpoint routes: the dump of the routes of protocol
//! 201 (read from their bytes, as the daemon reads them), the compare of a
//! dump with the wanted routes, and the whole check as the daemon runs it
//! (dump, compare, receipt).
//!
//! In a network namespace private to the process (unshared: nothing is
//! left behind, whatever happens): `lo` up with an address, as the
//! daemon's gateway address is, N taps up, and one /32 of protocol 201 to
//! each, made with `ip -batch`. The addresses are spread over the taps as
//! `endpoint-bench` spreads its VM endpoints over four segments, so the
//! routes in address order (the order the kernel dumps them in) reach the
//! taps in another order, as on a host whose VMs came and went;
//! `--one-device` routes them all to one veth instead, the cheap case.
//!
//! Needs root and a release build:
//! `cargo run --release -p romana-lab --bin route-check-bench`.

use std::io::Write as _;
use std::net::Ipv4Addr;
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use ipnet::{IpNet, Ipv4Net};
use romana_bgp::kernel::plan::plan;
use romana_bgp::kernel::{
    IfIndex, Netlink, OwnedRoutes, RTPROT_ROMANA, Route, RouteTable, Sweep, WantedRoutes,
};

const USAGE: &str = "\
usage: route-check-bench [--routes N] [--runs N] [--one-device]

Times the check of N endpoint routes (default 10000), each to its own tap,
N times (default 31), in a network namespace of its own. --one-device
routes them all to one veth.
";

/// Segments the addresses are spread over, as endpoint-bench does.
const SEGMENTS: u32 = 4;

struct Options {
    routes: u32,
    runs: usize,
    one_device: bool,
}

fn main() -> ExitCode {
    let options = match options() {
        Ok(options) => options,
        Err(e) => {
            eprint!("{e}{}{USAGE}", if e.is_empty() { "" } else { "\n" });
            return ExitCode::FAILURE;
        }
    };
    match run(&options) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("route-check-bench: {e}");
            ExitCode::FAILURE
        }
    }
}

fn options() -> Result<Options, String> {
    let mut parsed = Options {
        routes: 10_000,
        runs: 31,
        one_device: false,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or(format!("{arg} needs a value"));
        match arg.as_str() {
            "--routes" => parsed.routes = number(&value()?)?,
            "--runs" => parsed.runs = number(&value()?)?,
            "--one-device" => parsed.one_device = true,
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument {other}")),
        }
    }
    if parsed.routes == 0 || parsed.routes > 1 << 20 || parsed.runs == 0 {
        return Err("--routes must be 1 to 1048576, --runs at least 1".into());
    }
    Ok(parsed)
}

fn number<T: std::str::FromStr>(text: &str) -> Result<T, String> {
    text.parse().map_err(|_| format!("{text} is not a number"))
}

fn run(options: &Options) -> Result<(), String> {
    nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNET)
        .map_err(|e| format!("cannot make a network namespace (root needed): {e}"))?;
    let routes = make_routes(options)?;
    let wanted: WantedRoutes = routes.iter().cloned().collect();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(async {
        let netlink = Netlink::connect().map_err(|e| e.to_string())?;
        let (mut owned, report) = OwnedRoutes::start(netlink.clone(), &wanted, Sweep::RemoveStale)
            .await
            .map_err(|e| e.to_string())?;
        if report.added + report.replaced + report.deleted > 0 || !report.errors.is_empty() {
            return Err(format!(
                "the routes made are not the ones wanted: {report:?}"
            ));
        }
        let shape = if options.one_device {
            "all to one veth"
        } else {
            "each to its own tap"
        };
        println!(
            "route-check-bench: {} routes of protocol {RTPROT_ROMANA}, {shape}, {} runs",
            routes.len(),
            options.runs
        );
        let (mut dumps, mut compares, mut checks) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..options.runs {
            let started = Instant::now();
            let present = netlink
                .dump(Some(RTPROT_ROMANA))
                .await
                .map_err(|e| e.to_string())?;
            dumps.push(started.elapsed());
            if present.len() != routes.len() {
                return Err(format!("{} routes dumped", present.len()));
            }
            let started = Instant::now();
            let changes = plan(&wanted, &present, Sweep::RemoveStale).changes.len();
            compares.push(started.elapsed());
            if changes > 0 {
                return Err(format!("{changes} changes planned for an unchanged table"));
            }
            let started = Instant::now();
            owned
                .reconcile(&wanted, Sweep::RemoveStale)
                .await
                .map_err(|e| e.to_string())?;
            checks.push(started.elapsed());
        }
        report_line("dump of the host's routes", &mut dumps);
        report_line("compare of a dump with the wanted", &mut compares);
        report_line("whole check (dump, compare, receipt)", &mut checks);
        Ok(())
    })
}

/// The interfaces and routes, made with `ip -batch`; the routes as the
/// daemon wants them.
fn make_routes(options: &Options) -> Result<Vec<Route>, String> {
    let n = options.routes;
    let mut setup = String::from("link set lo up\naddress add 10.255.255.254/32 dev lo\n");
    if options.one_device {
        setup.push_str("link add name rcb0 type veth peer name rcb1\nlink set rcb0 up\n");
    } else {
        for tap in 0..n {
            setup.push_str(&format!(
                "tuntap add mode tap name rcb{tap}\nlink set rcb{tap} up\n"
            ));
        }
    }
    ip_batch(&setup)?;
    let first = ifindex("rcb0")?;
    let mut commands = String::new();
    let mut routes = Vec::new();
    for tap in 0..n {
        // Tap k holds the k / 4th address of segment k % 4.
        let address = Ipv4Addr::from(0x0a00_0000 | (tap % SEGMENTS) << 18 | (tap / SEGMENTS));
        let (device, index) = if options.one_device {
            ("rcb0".to_string(), first)
        } else {
            (format!("rcb{tap}"), first + tap)
        };
        commands.push_str(&format!(
            "route add {address}/32 dev {device} proto {RTPROT_ROMANA}\n"
        ));
        let index = IfIndex::new(index).ok_or("an interface index of 0")?;
        let route = Route::interface(IpNet::V4(Ipv4Net::from(address)), index)
            .map_err(|e| e.to_string())?;
        routes.push(route);
    }
    ip_batch(&commands)?;
    if !options.one_device && ifindex(&format!("rcb{}", n - 1))? != first + n - 1 {
        return Err("the taps' indexes are not consecutive".into());
    }
    Ok(routes)
}

fn ip_batch(commands: &str) -> Result<(), String> {
    let mut child = Command::new("ip")
        .args(["-batch", "-"])
        .stdin(Stdio::piped())
        .spawn()
        .map_err(|e| format!("ip: {e}"))?;
    child
        .stdin
        .take()
        .ok_or("ip: no stdin")?
        .write_all(commands.as_bytes())
        .map_err(|e| format!("ip: {e}"))?;
    let status = child.wait().map_err(|e| format!("ip: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("ip -batch failed ({status})"))
    }
}

fn ifindex(name: &str) -> Result<u32, String> {
    let out = Command::new("ip")
        .args(["-o", "link", "show", name])
        .output()
        .map_err(|e| format!("ip: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    text.split(':')
        .next()
        .and_then(|index| index.trim().parse().ok())
        .ok_or(format!("no index for {name}: {text}"))
}

fn report_line(what: &str, times: &mut [Duration]) {
    times.sort_unstable();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "  {what:<40} p50 {:7.2} ms  min {:7.2} ms  max {:7.2} ms",
        ms(times[times.len() / 2]),
        ms(times[0]),
        ms(times[times.len() - 1])
    );
}
