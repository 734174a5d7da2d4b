//! One run: a fresh pair of namespaces, one speaker, the leaf, and the
//! figures of that speaker taking the table in.

use std::path::{Path, PathBuf};
use std::thread::sleep;
use std::time::{Duration, Instant};

use crate::daemon::{Counts, Daemon, Kind, Policy};
use crate::feeder::{self, Feeder};
use romana_lab::Watchdog;

use crate::net::Pair;
use crate::procfs::{self, Memory};

/// How long the session must take to come up.
const SESSION_TIMEOUT: Duration = Duration::from_secs(30);
/// How long the session stays up, untouched, before idle memory and CPU
/// are read.
const IDLE: Duration = Duration::from_secs(3);
/// How long the speaker is watched, untouched, once the table is in: its
/// CPU use over this time, then its memory.
const SETTLE: Duration = Duration::from_secs(5);
/// How often the speaker is asked while it takes the table in: the
/// resolution of the times reported.
const POLL: Duration = Duration::from_millis(10);
/// Longer than any speaker should need; a run that takes longer fails.
const INGEST_TIMEOUT: Duration = Duration::from_secs(900);

/// The binaries a run starts.
pub struct Programs {
    pub bird: PathBuf,
    pub romana: PathBuf,
    pub feeder: PathBuf,
}

/// What one run is.
pub struct Setup<'a> {
    pub kind: Kind,
    pub policy: Policy,
    pub prefixes: u32,
    pub programs: &'a Programs,
    /// Unique among the runs: names the namespaces and the directory.
    pub name: String,
    pub ticks_per_second: u64,
    /// How often the kernel's route count is read. Each read walks the
    /// FIB, about 0.1 s of CPU at a million routes, so not too often.
    pub kernel_poll: Duration,
}

/// The figures of one run. Times count from the moment the leaf is told to
/// send; it writes its first UPDATE octet microseconds later.
#[derive(Clone, Debug)]
pub struct Sample {
    /// With the session up, before the table.
    pub idle: Memory,
    pub idle_cpu_percent: f64,
    /// Until the speaker counted every prefix as received.
    pub received_secs: f64,
    /// Until it held every prefix its policy accepts.
    pub accepted_secs: f64,
    /// Until the kernel had every accepted prefix; `None` unless the policy
    /// installs the whole table.
    pub kernel_secs: Option<f64>,
    /// Settled after the table; `hwm_kb` is the peak of the whole run.
    pub after: Memory,
    /// CPU use with the table in and nothing happening.
    pub after_cpu_percent: f64,
    /// CPU time the speaker used from the start until the table was in.
    pub cpu_secs: f64,
    /// How long the leaf's write of the whole table took.
    pub feeder_write_secs: f64,
    /// The machine's one-minute load average when the table was sent: a
    /// busy machine makes a slow run.
    pub load: f64,
}

pub fn run(setup: &Setup, watchdog: &mut Watchdog) -> Result<Sample, String> {
    let dir = watchdog.dir().join(&setup.name);
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let pair = Pair::up(&setup.name, watchdog)?;
    let program = match setup.kind {
        Kind::Bird => &setup.programs.bird,
        Kind::Romana => &setup.programs.romana,
    };
    let mut daemon = Daemon::start(setup.kind, setup.policy, program, &pair, &dir)?;
    let mut feeder = Feeder::start(&setup.programs.feeder, &pair, setup.prefixes, &dir)?;
    let result = measure(setup, &mut daemon, &mut feeder);
    let result = result.map_err(|e| {
        format!(
            "{e}\n--- speaker log:\n{}--- bgp-feed log:\n{}",
            tail(&dir.join("daemon.log")),
            tail(&feeder.log)
        )
    });
    // The speaker goes first, so it does not spend the leaf's Cease
    // withdrawing a million routes.
    drop(daemon);
    drop(feeder);
    drop(pair);
    result
}

fn measure(setup: &Setup, daemon: &mut Daemon, feeder: &mut Feeder) -> Result<Sample, String> {
    let pid = daemon.pid();
    feeder.expect("ready", SESSION_TIMEOUT)?;
    romana_lab::wait_for(SESSION_TIMEOUT, || match daemon.counts() {
        Ok(c) if c.established => Ok(()),
        Ok(c) => Err(format!(
            "{} never saw the session up: {c:?}",
            setup.kind.name()
        )),
        Err(e) => Err(e),
    })?;

    let cpu = || procfs::cpu_ticks(pid);
    let seconds = |ticks: u64| ticks as f64 / setup.ticks_per_second as f64;
    let idle_start = cpu()?;
    sleep(IDLE);
    let idle_cpu_percent = seconds(cpu()? - idle_start) / IDLE.as_secs_f64() * 100.0;
    let idle = procfs::memory(pid)?;

    let accepts = match setup.policy {
        Policy::DefaultOnly => 1,
        Policy::AllToKernel | Policy::AllRibOnly => u64::from(setup.prefixes),
    };
    // One route (the default) needs no timing in the kernel; a million do.
    let installs = setup.policy == Policy::AllToKernel;
    let kernel_before = procfs::fib_prefixes(pid)?;

    let load = procfs::load_average()?;
    let cpu_start = cpu()?;
    let start = Instant::now();
    feeder.go()?;
    let deadline = start + INGEST_TIMEOUT;
    let mut received_secs = None;
    let mut accepted_secs = None;
    let mut kernel_secs = None;
    let mut next_kernel_look = start + setup.kernel_poll;
    let mut last = Counts::default();
    let mut in_kernel = 0;
    let done = |r: &Option<f64>, a: &Option<f64>, k: &Option<f64>| {
        r.is_some() && a.is_some() && (k.is_some() || !installs)
    };
    while !done(&received_secs, &accepted_secs, &kernel_secs) {
        if Instant::now() > deadline {
            return Err(format!(
                "{} took more than {INGEST_TIMEOUT:?}; last seen {last:?}, {in_kernel} in the kernel",
                setup.kind.name()
            ));
        }
        if received_secs.is_none() || accepted_secs.is_none() {
            last = daemon.counts()?;
            if !last.established {
                return Err(format!("the session went down: {last:?}"));
            }
            let now = start.elapsed().as_secs_f64();
            if received_secs.is_none() && last.received >= u64::from(setup.prefixes) {
                received_secs = Some(now);
            }
            if accepted_secs.is_none() && last.accepted >= accepts {
                accepted_secs = Some(now);
            }
        }
        // The kernel is looked at on its own clock, from the start and for
        // both speakers alike: each look costs CPU, which must not fall on
        // one speaker's run only.
        if installs && kernel_secs.is_none() && Instant::now() >= next_kernel_look {
            in_kernel = procfs::fib_prefixes(pid)?.saturating_sub(kernel_before);
            if in_kernel >= accepts {
                kernel_secs = Some(start.elapsed().as_secs_f64());
            }
            next_kernel_look = Instant::now() + setup.kernel_poll;
        }
        sleep(POLL);
    }
    let cpu_secs = seconds(cpu()? - cpu_start);
    let fed = feeder.expect("fed", INGEST_TIMEOUT)?;
    let feeder_write_secs = feeder::value(&fed, "write_secs")
        .and_then(|s| s.parse().ok())
        .ok_or("bgp-feed's `fed` line has no write_secs")?;

    let settle_start = cpu()?;
    sleep(SETTLE);
    let after_cpu_percent = seconds(cpu()? - settle_start) / SETTLE.as_secs_f64() * 100.0;
    let after = procfs::memory(pid)?;
    let end = daemon.counts()?;
    if !end.established || end.accepted != accepts {
        return Err(format!(
            "after the table: {end:?}, expected {accepts} accepted on an established session"
        ));
    }
    Ok(Sample {
        idle,
        idle_cpu_percent,
        received_secs: received_secs.unwrap_or_default(),
        accepted_secs: accepted_secs.unwrap_or_default(),
        kernel_secs,
        after,
        after_cpu_percent,
        cpu_secs,
        feeder_write_secs,
        load,
    })
}

/// The last lines of a log, for an error message.
fn tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    let from = lines.len().saturating_sub(15);
    lines
        .get(from..)
        .unwrap_or(&[])
        .iter()
        .map(|l| format!("{l}\n"))
        .collect()
}
