//! `endpoint-bench`: how fast a release-built romana-bgp adds endpoints,
//! beside `ip -batch` adding as many /32 routes in the same run.
//!
//! In namespaces of its own (`eb<PID>-*`): a host namespace running
//! romana-bgp with a config without neighbors and its state on disk under
//! `/var/tmp`, and a scratch namespace for the baselines. It measures, in
//! this order:
//!
//! - `ip -batch` adding N /32 routes to one veth (the baseline the issue
//!   names), and N /32 routes each to its own tap among N, with an address
//!   on `lo` as the daemon's gateway is: the routes VM endpoints need, on a
//!   host like theirs (the kernel shares one route info among routes to
//!   one device, and finds a device among 10,000 by walking a hash chain);
//! - single adds, one after the other on one connection, on an empty host:
//!   p50 and p99 of the round trip (the answer comes once the endpoint is
//!   persisted, its table applied, its link wired and its route in);
//! - containers (one namespace each, made beforehand) and then VM
//!   endpoints (taps made beforehand and up, as libvirt and nova leave
//!   them; `--down-taps` leaves them down for the daemon to bring up),
//!   added by concurrent clients: endpoints per second;
//! - single adds again, with all those endpoints present;
//! - where one add's time goes: `nft -f` of the whole table as the daemon
//!   writes it, at three sizes, and an fdatasync'd append on the state's
//!   file system;
//! - the machine's steal time over the run, where the kernel reports it:
//!   on a shared virtual machine it moves the figures from run to run.
//!
//! Needs root and release builds:
//! `cargo build --release -p romana-bgp && cargo run --release -p romana-lab
//! --bin endpoint-bench`. Everything it made is removed at the end, also
//! when it fails.

use std::fs::{self, OpenOptions};
use std::io::Write as _;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use romana_bgp::api::client::Client;
use romana_bgp::api::protocol::EndpointAdd;
use romana_bgp::config::Config;
use romana_bgp::isolation::{InterfaceName, IsolationEndpoint, IsolationInput, Ruleset};
use romana_lab::Watchdog;

const USAGE: &str = "\
usage: endpoint-bench [--containers N] [--vms N] [--singles N] [--clients N]
                      [--down-taps] [--romana-bgp PATH]

Adds N containers (default 1000) and N VM endpoints (default 10000) with
N concurrent clients (default 32), and N single adds (default 200) before
and after them. The VMs' taps are up, as libvirt and nova make them;
--down-taps leaves them down, so the daemon brings each up. romana-bgp
defaults to this program's own directory.
";

/// The daemon's config: no neighbors, a plan with room for 65,534
/// endpoints per segment, the lab's tenants and policy.
const CONFIG: &str = r#"[host]
asn = 65001
router_id = "192.0.2.1"
index = 1

[plan]
cidr = "10.0.0.0/8"
host_bits = 4
tenant_bits = 2
segment_bits = 2

[[tenant]]
name = "blue"
id = 1
segments = [ { name = "web", id = 1 }, { name = "db", id = 2 } ]

[[tenant]]
name = "red"
id = 2
segments = [ { name = "web", id = 1 }, { name = "db", id = 2 } ]

[[policy]]
from = "blue/web"
to = "blue/db"
"#;

const SEGMENTS: [(&str, &str); 4] = [
    ("blue", "web"),
    ("blue", "db"),
    ("red", "web"),
    ("red", "db"),
];

/// A probe slower than this waited for something.
const STALL: Duration = Duration::from_millis(20);

/// How long the daemon's idle CPU use is watched.
const IDLE: Duration = Duration::from_secs(10);

/// How long the daemon has to open its socket.
const READY: Duration = Duration::from_secs(20);

#[derive(Debug)]
struct Args {
    containers: usize,
    vms: usize,
    singles: usize,
    clients: usize,
    down_taps: bool,
    romana: Option<PathBuf>,
}

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut parsed = Args {
        containers: 1000,
        vms: 10_000,
        singles: 200,
        clients: 32,
        down_taps: false,
        romana: None,
    };
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or(format!("{flag} needs a value"));
        let number = |text: String| {
            text.parse::<usize>()
                .ok()
                .filter(|&n| n > 0)
                .ok_or(format!("{flag}: {text:?} is not a positive number"))
        };
        match flag.as_str() {
            "--containers" => parsed.containers = number(value()?)?,
            "--vms" => parsed.vms = number(value()?)?,
            "--singles" => parsed.singles = number(value()?)?,
            "--clients" => parsed.clients = number(value()?)?,
            "--down-taps" => parsed.down_taps = true,
            "--romana-bgp" => parsed.romana = Some(PathBuf::from(value()?)),
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(parsed)
}

fn main() -> ExitCode {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(a) => a,
        Err(e) => {
            if !e.is_empty() {
                eprintln!("endpoint-bench: {e}");
            }
            eprint!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("endpoint-bench: {e}");
            ExitCode::FAILURE
        }
    }
}

/// A command's stdout, or what went wrong.
fn output(cmd: &mut Command) -> Result<String, String> {
    let out = cmd.output().map_err(|e| format!("{cmd:?}: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(format!(
            "{cmd:?}: {}: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

fn ip(args: &[&str]) -> Result<String, String> {
    output(Command::new("ip").args(args))
}

/// Runs `ip -n NS -batch FILE` (NS empty: this namespace) with `lines`.
fn ip_batch(dir: &Path, ns: &str, lines: &str) -> Result<Duration, String> {
    let file = dir.join("batch");
    fs::write(&file, lines).map_err(|e| format!("{}: {e}", file.display()))?;
    let file = file.to_str().ok_or("the work directory is not UTF-8")?;
    let mut args = Vec::new();
    if !ns.is_empty() {
        args.extend(["-n", ns]);
    }
    args.extend(["-batch", file]);
    let start = Instant::now();
    ip(&args)?;
    Ok(start.elapsed())
}

/// What the benchmark made, removed when dropped.
struct Scene {
    prefix: String,
    dir: PathBuf,
    /// Namespaces, the host's first.
    namespaces: Vec<String>,
    daemon: Option<Child>,
    /// Removes what is left if this runner dies without dropping the scene.
    watchdog: Watchdog,
}

impl Scene {
    fn host(&self) -> String {
        format!("{}-host", self.prefix)
    }

    fn scratch(&self) -> String {
        format!("{}-scratch", self.prefix)
    }

    fn socket(&self) -> PathBuf {
        self.dir.join("romana-bgp.sock")
    }

    fn add_namespaces(&mut self, names: Vec<String>) -> Result<(), String> {
        for name in &names {
            self.watchdog.watch(name)?;
        }
        let lines: String = names.iter().map(|n| format!("netns add {n}\n")).collect();
        self.namespaces.extend(names);
        ip_batch(&self.dir, "", &lines).map(drop)
    }
}

impl Drop for Scene {
    fn drop(&mut self) {
        if let Some(mut daemon) = self.daemon.take() {
            let _ = daemon.kill();
            let _ = daemon.wait();
        }
        let lines: String = self
            .namespaces
            .iter()
            .map(|n| format!("netns delete {n}\n"))
            .collect();
        // -force: go on past a namespace that is already gone.
        let file = self.dir.join("cleanup");
        if fs::write(&file, lines).is_ok() {
            let _ = Command::new("ip")
                .arg("-force")
                .arg("-batch")
                .arg(&file)
                .stderr(Stdio::null())
                .status();
        }
        let _ = fs::remove_dir_all(&self.dir);
    }
}

fn romana_binary(explicit: Option<&Path>) -> Result<PathBuf, String> {
    let path = match explicit {
        Some(p) => p.to_path_buf(),
        None => std::env::current_exe()
            .map_err(|e| format!("where am I: {e}"))?
            .with_file_name("romana-bgp"),
    };
    path.canonicalize().map_err(|e| {
        format!(
            "romana-bgp not found at {} ({e}): build it with `cargo build --release -p romana-bgp` or give --romana-bgp PATH",
            path.display()
        )
    })
}

fn start_daemon(scene: &mut Scene, binary: &Path) -> Result<(), String> {
    let config = scene.dir.join("romana-bgp.toml");
    let text = format!(
        "{CONFIG}\n[api]\nsocket = \"{}\"\n\n[state]\ndir = \"{}\"\n",
        scene.socket().display(),
        scene.dir.join("state").display()
    );
    fs::write(&config, text).map_err(|e| format!("{}: {e}", config.display()))?;
    let log = fs::File::create(scene.dir.join("romana-bgp.log")).map_err(|e| e.to_string())?;
    let child = Command::new("ip")
        .args(["netns", "exec", &scene.host()])
        .arg(binary)
        .arg("run")
        .arg("--config")
        .arg(&config)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(log.try_clone().map_err(|e| e.to_string())?)
        .stderr(log)
        .spawn()
        .map_err(|e| format!("{}: {e}", binary.display()))?;
    scene.daemon = Some(child);
    let deadline = Instant::now() + READY;
    while Instant::now() < deadline {
        if Client::connect(&scene.socket()).is_ok() {
            return Ok(());
        }
        if let Some(Ok(Some(status))) = scene.daemon.as_mut().map(Child::try_wait) {
            return Err(format!("romana-bgp exited ({status}); see its log"));
        }
        thread::sleep(Duration::from_millis(50));
    }
    Err(format!(
        "romana-bgp did not open {}",
        scene.socket().display()
    ))
}

/// What one add asks for.
#[derive(Clone)]
enum Target {
    Netns(String),
    Tap(String),
}

fn request(name: String, group: (&str, &str), target: &Target) -> EndpointAdd {
    let (netns, iface) = match target {
        Target::Netns(n) => (Some(n.clone()), None),
        Target::Tap(t) => (None, Some(t.clone())),
    };
    EndpointAdd {
        name: Some(name),
        tenant: group.0.to_owned(),
        segment: group.1.to_owned(),
        netns,
        iface,
    }
}

/// Adds every target with `clients` concurrent connections; the time it
/// took for all.
fn add_concurrently(
    socket: &Path,
    targets: &[(String, Target)],
    clients: usize,
) -> Result<Duration, String> {
    let next = AtomicUsize::new(0);
    let errors = Mutex::new(Vec::new());
    let start = Instant::now();
    thread::scope(|scope| {
        for _ in 0..clients.min(targets.len()) {
            scope.spawn(|| {
                let mut client = match Client::connect(socket) {
                    Ok(c) => c,
                    Err(e) => return errors.lock().unwrap().push(e.to_string()),
                };
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some((name, target)) = targets.get(i) else {
                        break;
                    };
                    let group = SEGMENTS[i % SEGMENTS.len()];
                    if let Err(e) = client.endpoint_add(request(name.clone(), group, target)) {
                        errors.lock().unwrap().push(format!("{name}: {e}"));
                    }
                }
            });
        }
    });
    let took = start.elapsed();
    let errors = errors.into_inner().unwrap();
    match errors.first() {
        None => Ok(took),
        Some(first) => Err(format!("{} adds failed, the first: {first}", errors.len())),
    }
}

/// Adds the targets one after the other on one connection; each add's
/// round trip.
fn add_one_by_one(socket: &Path, targets: &[(String, Target)]) -> Result<Vec<Duration>, String> {
    let mut client = Client::connect(socket).map_err(|e| e.to_string())?;
    targets
        .iter()
        .enumerate()
        .map(|(i, (name, target))| {
            let group = SEGMENTS[i % SEGMENTS.len()];
            let start = Instant::now();
            client
                .endpoint_add(request(name.clone(), group, target))
                .map_err(|e| format!("{name}: {e}"))?;
            Ok(start.elapsed())
        })
        .collect()
}

/// The value at `percent` of the sorted times (nearest rank).
fn percentile(sorted: &[Duration], percent: usize) -> Duration {
    let rank = (sorted.len() * percent).div_ceil(100).max(1);
    sorted.get(rank - 1).copied().unwrap_or_default()
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

fn latency_line(label: &str, mut times: Vec<Duration>) -> String {
    times.sort();
    format!(
        "{label:<48} p50 {:>9}  p99 {:>9}  max {:>9}  (n = {})\n",
        ms(percentile(&times, 50)),
        ms(percentile(&times, 99)),
        ms(times.last().copied().unwrap_or_default()),
        times.len()
    )
}

fn rate_line(label: &str, count: usize, took: Duration, unit: &str) -> String {
    format!(
        "{label:<48} {:>8.3} s  {:>8.0} {unit}/s",
        took.as_secs_f64(),
        rate(count, took)
    )
}

fn rate(count: usize, took: Duration) -> f64 {
    count as f64 / took.as_secs_f64()
}

/// `ip -batch` adding `count` /32 routes to a veth in the scratch
/// namespace, three times; the median.
fn baseline(scene: &Scene, count: usize) -> Result<Duration, String> {
    let ns = scene.scratch();
    ip(&[
        "-n", &ns, "link", "add", "v0", "type", "veth", "peer", "name", "v1",
    ])?;
    ip(&["-n", &ns, "link", "set", "v0", "up"])?;
    ip(&["-n", &ns, "link", "set", "v1", "up"])?;
    add_routes(scene, count, |_| "v0".to_owned())
}

/// `ip -batch` adding `count` /32 routes, each to its own tap, in the
/// scratch namespace with `count` taps up and an address on `lo` (as the
/// daemon's host has its gateway address there: without one the kernel
/// walks every device for a source address, route after route); three
/// times, the median.
fn baseline_per_tap(scene: &Scene, count: usize) -> Result<Duration, String> {
    let ns = scene.scratch();
    ip_batch(&scene.dir, &ns, &tap_lines(count, true))?;
    ip(&["-n", &ns, "link", "set", "lo", "up"])?;
    ip(&["-n", &ns, "address", "add", "10.199.0.1/32", "dev", "lo"])?;
    add_routes(scene, count, |i| format!("vm{i}"))
}

/// `ip -batch` adding `count` /32 routes in the scratch namespace, the
/// i-th to `device(i)`, three times; the median.
fn add_routes(
    scene: &Scene,
    count: usize,
    device: impl Fn(usize) -> String,
) -> Result<Duration, String> {
    let ns = scene.scratch();
    let routes: String = (0..count)
        .map(|i| format!("route add {}/32 dev {}\n", address(i), device(i)))
        .collect();
    let mut runs = Vec::new();
    for _ in 0..3 {
        runs.push(ip_batch(&scene.dir, &ns, &routes)?);
        // `ip` adds them as proto boot; nothing else in the namespace is.
        ip(&["-n", &ns, "route", "flush", "proto", "boot"])?;
    }
    runs.sort();
    Ok(runs[1])
}

/// `ip -batch` lines making taps `vm0` to `vm{count - 1}`, up or left down.
fn tap_lines(count: usize, up: bool) -> String {
    (0..count)
        .map(|i| {
            let made = format!("tuntap add vm{i} mode tap\n");
            if up {
                made + &format!("link set vm{i} up\n")
            } else {
                made
            }
        })
        .collect()
}

/// The i-th address of the baseline's routes: 10.200.0.1 on.
fn address(i: usize) -> Ipv4Addr {
    Ipv4Addr::from(u32::from(Ipv4Addr::new(10, 200, 0, 1)) + i as u32)
}

/// `nft -f` of the table the daemon writes for `endpoints` VM endpoints,
/// in the scratch namespace, as the daemon runs it; the median of `runs`.
fn nft_apply(scene: &Scene, config: &Config, endpoints: usize) -> Result<Duration, String> {
    let plan_base = u32::from(Ipv4Addr::new(10, 16, 0, 0));
    let members: Vec<IsolationEndpoint> = (0..endpoints)
        .map(|i| {
            Ok(IsolationEndpoint {
                address: Ipv4Addr::from(plan_base + 0x1000 + i as u32),
                interface: InterfaceName::new(&format!("vm{i}")).map_err(|e| e.to_string())?,
            })
        })
        .collect::<Result<_, String>>()?;
    let script = Ruleset::new(&IsolationInput::new(config, &members)).script();
    let file = scene.dir.join("table.nft");
    fs::write(&file, script).map_err(|e| e.to_string())?;
    let mut runs = Vec::new();
    for _ in 0..11 {
        let start = Instant::now();
        output(
            Command::new("ip")
                .args(["netns", "exec", &scene.scratch(), "nft", "-f"])
                .arg(&file),
        )?;
        runs.push(start.elapsed());
    }
    runs.sort();
    Ok(runs[runs.len() / 2])
}

/// How long the daemon's endpoint task keeps requests waiting while it
/// reconciles: a delete of a name that does not exist is answered by that
/// task at once, so its round trip, asked again and again for `over`, is
/// the wait. Returns the line to report.
fn reconcile_stall(socket: &Path, over: Duration) -> Result<String, String> {
    let mut client = Client::connect(socket).map_err(|e| e.to_string())?;
    let mut probes = Vec::new();
    let mut stalls: Vec<(Instant, Duration)> = Vec::new();
    let end = Instant::now() + over;
    while Instant::now() < end {
        let start = Instant::now();
        client
            .endpoint_del("endpoint-bench-probe")
            .map_err(|e| e.to_string())?;
        let took = start.elapsed();
        probes.push(took);
        if took > STALL {
            stalls.push((start, took));
        }
    }
    probes.sort();
    let mut longest: Vec<Duration> = stalls.iter().map(|s| s.1).collect();
    longest.sort();
    let spacing: Vec<f64> = stalls
        .windows(2)
        .map(|w| (w[1].0 - w[0].0).as_secs_f64())
        .collect();
    Ok(format!(
        "a request the endpoint task answers at once: p50 {}, max {}; {} waits over {} ms \
         (longest {}), {} s apart on average\n",
        ms(percentile(&probes, 50)),
        ms(probes.last().copied().unwrap_or_default()),
        stalls.len(),
        STALL.as_millis(),
        ms(longest.last().copied().unwrap_or_default()),
        if spacing.is_empty() {
            "-".to_owned()
        } else {
            format!("{:.2}", spacing.iter().sum::<f64>() / spacing.len() as f64)
        }
    ))
}

/// `ip netns exec SCRATCH true`: what entering the scratch namespace
/// adds to the `nft -f` figures; the median of 11.
fn netns_exec(scene: &Scene) -> Result<Duration, String> {
    let mut runs = Vec::new();
    for _ in 0..11 {
        let start = Instant::now();
        output(Command::new("ip").args(["netns", "exec", &scene.scratch(), "true"]))?;
        runs.push(start.elapsed());
    }
    runs.sort();
    Ok(runs[runs.len() / 2])
}

/// `nft -j list table inet romana` in the host namespace: the reconciler's
/// drift check every 2 s; the median of 5.
fn nft_list(scene: &Scene) -> Result<Duration, String> {
    let mut runs = Vec::new();
    for _ in 0..5 {
        let start = Instant::now();
        output(Command::new("ip").args([
            "netns",
            "exec",
            &scene.host(),
            "nft",
            "-j",
            "list",
            "table",
            "inet",
            "romana",
        ]))?;
        runs.push(start.elapsed());
    }
    runs.sort();
    Ok(runs[2])
}

/// A journal-sized line appended and fdatasync'd, 200 times, in the
/// state's directory; the p50 and p99.
fn append_sync(dir: &Path) -> Result<(Duration, Duration), String> {
    let path = dir.join("append-probe");
    let mut file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .map_err(|e| e.to_string())?;
    let line = [b'x'; 300];
    let mut runs = Vec::new();
    for _ in 0..200 {
        let start = Instant::now();
        file.write_all(&line)
            .and_then(|()| file.sync_data())
            .map_err(|e| e.to_string())?;
        runs.push(start.elapsed());
    }
    let _ = fs::remove_file(&path);
    runs.sort();
    Ok((percentile(&runs, 50), percentile(&runs, 99)))
}

/// Resident memory of a process, from /proc.
fn rss(pid: u32) -> String {
    fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:").map(|v| v.trim().to_owned()))
        })
        .unwrap_or_else(|| "?".to_owned())
}

/// CPU time (user and system) a process has used.
fn cpu(pid: u32) -> Option<Duration> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // After `pid (comm)`, the fields from the third on; utime and stime
    // are the 14th and 15th, in clock ticks.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(clock_ticks(ticks))
}

/// A time `/proc` gives in clock ticks (USER_HZ, 100 on Linux).
fn clock_ticks(ticks: u64) -> Duration {
    Duration::from_millis(ticks * 10)
}

/// The machine's steal time: how long, summed over its CPUs, the
/// hypervisor ran something else while this machine had work (`steal` in
/// `/proc/stat`). `None` where it is not reported.
fn stolen() -> Option<Duration> {
    let stat = fs::read_to_string("/proc/stat").ok()?;
    let total = stat.lines().next()?.strip_prefix("cpu ")?;
    Some(clock_ticks(total.split_whitespace().nth(7)?.parse().ok()?))
}

/// The share of one CPU the process uses while nothing is asked of it:
/// its reconcile every 2 s.
fn idle_cpu(pid: u32, over: Duration) -> String {
    let before = cpu(pid);
    thread::sleep(over);
    match (before, cpu(pid)) {
        (Some(a), Some(b)) => format!(
            "{:.0} % of a CPU over {} s idle",
            100.0 * (b - a).as_secs_f64() / over.as_secs_f64(),
            over.as_secs()
        ),
        _ => "?".to_owned(),
    }
}

fn machine() -> String {
    let cpus = thread::available_parallelism().map_or(0, |n| n.get());
    let kernel = fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let nft = output(Command::new("nft").arg("--version")).unwrap_or_default();
    let load = fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let load: Vec<&str> = load.split_whitespace().take(3).collect();
    format!(
        "{cpus} CPUs, Linux {}, {}, load average {}",
        kernel.trim(),
        nft.trim(),
        load.join(" ")
    )
}

fn run(args: &Args) -> Result<(), String> {
    let binary = romana_binary(args.romana.as_deref())?;
    let config = Config::parse(CONFIG, "endpoint-bench").map_err(|e| e.to_string())?;
    let pid = std::process::id();
    let dir = PathBuf::from(format!("/var/tmp/romana-endpoint-bench-{pid}"));
    let watchdog = Watchdog::start(&dir)?;
    let mut scene = Scene {
        prefix: format!("eb{pid}"),
        dir,
        namespaces: Vec::new(),
        daemon: None,
        watchdog,
    };
    // Each figure as soon as it is measured: a run takes minutes.
    let line = |text: String| {
        print!("{text}");
        let _ = std::io::stdout().flush();
    };
    line(format!(
        "endpoint-bench: {} on {}; state in {}\n",
        binary.display(),
        machine(),
        scene.dir.display()
    ));
    // Figures of a virtual machine move with its neighbours' load: the
    // steal time of the run is reported at the end.
    let (started, stolen_before) = (Instant::now(), stolen());

    scene.add_namespaces(vec![scene.host(), scene.scratch()])?;
    let host = scene.host();
    let singles = args.singles;
    let taps = args.vms + 2 * singles;
    let took = ip_batch(&scene.dir, &host, &tap_lines(taps, !args.down_taps))?;
    line(format!(
        "{taps} taps made {} in {:.2} s\n",
        if args.down_taps { "down" } else { "up" },
        took.as_secs_f64()
    ));
    let containers: Vec<String> = (0..args.containers + singles)
        .map(|i| format!("{}-c{i}", scene.prefix))
        .collect();
    let start = Instant::now();
    scene.add_namespaces(containers.clone())?;
    line(format!(
        "{} container namespaces made in {:.2} s\n\n",
        containers.len(),
        start.elapsed().as_secs_f64()
    ));

    let one_veth = baseline(&scene, args.vms)?;
    let each_tap = baseline_per_tap(&scene, args.vms)?;
    for (what, took) in [("to one veth", one_veth), ("one to each tap", each_tap)] {
        line(format!(
            "{} (median of 3)\n",
            rate_line(
                &format!("(d) ip -batch, {} /32 routes, {what}:", args.vms),
                args.vms,
                took,
                "routes"
            )
        ));
    }
    let (baseline_rate, per_tap_rate) = (rate(args.vms, one_veth), rate(args.vms, each_tap));

    start_daemon(&mut scene, &binary)?;
    let socket = scene.socket();
    let daemon = scene.daemon.as_ref().map_or(0, Child::id);
    line(format!(
        "romana-bgp with no endpoints and {taps} taps on the host: {}\n  {}",
        idle_cpu(daemon, IDLE),
        reconcile_stall(&socket, IDLE)?
    ));
    let tap = |i: usize| (format!("vm{i}"), Target::Tap(format!("vm{i}")));
    let vm_singles: Vec<_> = (args.vms..args.vms + singles).map(tap).collect();
    let container_singles: Vec<_> = containers[args.containers..]
        .iter()
        .map(|n| (n.clone(), Target::Netns(n.clone())))
        .collect();
    let first_vms = add_one_by_one(&socket, &vm_singles[..singles / 2])?;
    let first_containers = add_one_by_one(&socket, &container_singles[..singles / 2])?;
    line(latency_line(
        "(c) single add, VM tap, host nearly empty:",
        first_vms,
    ));
    line(latency_line(
        "(c) single add, container, host nearly empty:",
        first_containers,
    ));

    let bulk_containers: Vec<_> = containers[..args.containers]
        .iter()
        .map(|n| (n.clone(), Target::Netns(n.clone())))
        .collect();
    let took = add_concurrently(&socket, &bulk_containers, args.clients)?;
    line(format!(
        "{}\n",
        rate_line(
            &format!(
                "(a) {} containers, {} clients:",
                args.containers, args.clients
            ),
            args.containers,
            took,
            "endpoints"
        )
    ));
    let bulk_vms: Vec<_> = (0..args.vms).map(tap).collect();
    let took = add_concurrently(&socket, &bulk_vms, args.clients)?;
    let vm_rate = rate(args.vms, took);
    line(format!(
        "{}\n    = {:.1} % of ip -batch to one veth, {:.1} % of ip -batch to each tap (target 50 %)\n",
        rate_line(
            &format!("(b) {} VM endpoints, {} clients:", args.vms, args.clients),
            args.vms,
            took,
            "endpoints"
        ),
        100.0 * vm_rate / baseline_rate,
        100.0 * vm_rate / per_tap_rate
    ));
    let present = args.containers + args.vms + 2 * (singles / 2);
    let late_vms = add_one_by_one(&socket, &vm_singles[singles / 2..])?;
    let late_containers = add_one_by_one(&socket, &container_singles[singles / 2..])?;
    line(latency_line(
        &format!("(c) single add, VM tap, {present} present:"),
        late_vms,
    ));
    line(latency_line(
        &format!("(c) single add, container, {present} present:"),
        late_containers,
    ));

    // Everything answered is really there.
    let total = args.containers + args.vms + 2 * singles;
    let listed = Client::connect(&socket)
        .and_then(|mut c| c.endpoints())
        .map_err(|e| e.to_string())?;
    let wired = listed.endpoints.iter().filter(|e| e.wired).count();
    let routes = ip(&["-n", &host, "-4", "route", "show", "proto", "201"])?
        .lines()
        .filter(|l| l.contains(" dev "))
        .count();
    line(format!(
        "\nchecked: {} endpoints listed, {wired} wired, {routes} /32 routes of protocol 201 (expected {total} each)\n",
        listed.endpoints.len()
    ));
    if listed.endpoints.len() != total || wired != total || routes != total {
        return Err("the daemon does not hold what it answered".to_owned());
    }
    line(format!(
        "romana-bgp with {total} endpoints: RSS {}, CPU (user + system) {:.1} s in all; {}\n",
        rss(daemon),
        cpu(daemon).unwrap_or_default().as_secs_f64(),
        idle_cpu(daemon, IDLE)
    ));
    line(format!("  {}", reconcile_stall(&socket, IDLE)?));

    line("\nwhere one add's time goes (medians):\n".to_owned());
    for size in [1, 1000, total] {
        let took = nft_apply(&scene, &config, size)?;
        line(format!(
            "  nft -f of the whole table, {size:>6} endpoints: {:>10}\n",
            ms(took)
        ));
    }
    line(format!(
        "  (of which `ip netns exec`, which the daemon does not pay: {})\n",
        ms(netns_exec(&scene)?)
    ));
    line(format!(
        "  nft -j list table (the 2 s drift check), {total} endpoints: {}\n",
        ms(nft_list(&scene)?)
    ));
    let (p50, p99) = append_sync(&scene.dir)?;
    line(format!(
        "  300-octet append + fdatasync on the state's file system: p50 {}, p99 {}\n",
        ms(p50),
        ms(p99)
    ));
    if let (Some(before), Some(after)) = (stolen_before, stolen()) {
        let cpus = thread::available_parallelism().map_or(1, |n| n.get());
        let available = started.elapsed().as_secs_f64() * cpus as f64;
        let stolen = after.saturating_sub(before).as_secs_f64();
        line(format!(
            "steal time during the run: {stolen:.1} s of {available:.0} CPU-seconds ({:.1} %)\n",
            100.0 * stolen / available
        ));
    }
    Ok(())
}
