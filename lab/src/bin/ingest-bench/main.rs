//! `ingest-bench`: BIRD and romana-bgp side by side, each fed the same
//! table by the same scripted leaf (`bgp-feed`) in a pair of network
//! namespaces of its own, one run after the other, alternating which goes
//! first. For each run: the time to take the table in, CPU used, and memory
//! idle with the session up, after the table, and at its peak. At the end,
//! the medians as a Markdown table (`BENCHMARKS.md` has the figures).
//!
//! Needs root, `bird` (Debian's bird2) and release builds:
//! `cargo build --release -p romana-bgp -p romana-lab &&
//!  sudo target/release/ingest-bench`.

mod daemon;
mod feeder;
mod measure;
mod net;
mod procfs;
mod report;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use daemon::{Kind, Policy};
use measure::{Programs, Setup};
use report::Series;
use romana_lab::Watchdog;

const USAGE: &str = "\
usage: ingest-bench [--runs N] [--prefixes N] [--policies LIST] [--kernel-poll MS]
                    [--romana-bgp PATH] [--bird PATH] [--feeder PATH]

Runs each policy N times (default 3) for each speaker, with N prefixes
(default 1000000). LIST is comma-separated, from: default (the default route
only), all-kernel (accept all and install into the kernel), all-rib (accept
all, BIRD without kernel export; BIRD only). Default: all three. The
kernel's route count is read every MS milliseconds (default 250).
romana-bgp and bgp-feed default to this program's own directory, bird to
PATH.
";

#[derive(Debug, PartialEq, Eq)]
struct Args {
    runs: usize,
    prefixes: u32,
    policies: Vec<Policy>,
    kernel_poll: Duration,
    romana: Option<PathBuf>,
    bird: PathBuf,
    feeder: Option<PathBuf>,
}

fn parse_policy(name: &str) -> Result<Policy, String> {
    match name {
        "default" => Ok(Policy::DefaultOnly),
        "all-kernel" => Ok(Policy::AllToKernel),
        "all-rib" => Ok(Policy::AllRibOnly),
        other => Err(format!(
            "unknown policy {other:?}: use default, all-kernel or all-rib"
        )),
    }
}

fn parse(args: impl IntoIterator<Item = String>) -> Result<Args, String> {
    let mut parsed = Args {
        runs: 3,
        prefixes: 1_000_000,
        policies: vec![Policy::DefaultOnly, Policy::AllToKernel, Policy::AllRibOnly],
        kernel_poll: Duration::from_millis(250),
        romana: None,
        bird: PathBuf::from("bird"),
        feeder: None,
    };
    let mut args = args.into_iter();
    while let Some(flag) = args.next() {
        let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let bad = |e: &dyn std::fmt::Display| format!("{flag} {value}: {e}");
        match flag.as_str() {
            "--runs" => parsed.runs = value.parse().map_err(|e| bad(&e))?,
            "--prefixes" => parsed.prefixes = value.parse().map_err(|e| bad(&e))?,
            "--policies" => {
                parsed.policies = value
                    .split(',')
                    .map(parse_policy)
                    .collect::<Result<_, _>>()?;
            }
            "--kernel-poll" => {
                parsed.kernel_poll = Duration::from_millis(value.parse().map_err(|e| bad(&e))?);
            }
            "--romana-bgp" => parsed.romana = Some(value.into()),
            "--bird" => parsed.bird = value.into(),
            "--feeder" => parsed.feeder = Some(value.into()),
            _ => return Err(format!("unknown option {flag}")),
        }
    }
    if parsed.runs == 0 || parsed.prefixes == 0 || parsed.policies.is_empty() {
        return Err("--runs, --prefixes and --policies must not be zero or empty".into());
    }
    Ok(parsed)
}

/// A binary next to this one, where cargo puts the workspace's binaries.
fn sibling(name: &str) -> Result<PathBuf, String> {
    let me = std::env::current_exe().map_err(|e| format!("cannot find myself: {e}"))?;
    let path = me.with_file_name(name);
    if path.is_file() {
        Ok(path)
    } else {
        Err(format!(
            "no {name} at {}: build it with `cargo build --release -p romana-bgp -p romana-lab`, \
             or pass its path",
            path.display()
        ))
    }
}

fn main() -> ExitCode {
    let args = match parse(std::env::args().skip(1)) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("ingest-bench: {e}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(&args) {
        Ok(table) => {
            println!("\n{table}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("ingest-bench: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &Args) -> Result<String, String> {
    let programs = Programs {
        bird: args.bird.clone(),
        romana: match &args.romana {
            Some(p) => p.clone(),
            None => sibling("romana-bgp")?,
        },
        feeder: match &args.feeder {
            Some(p) => p.clone(),
            None => sibling("bgp-feed")?,
        },
    };
    let id = std::process::id();
    let mut watchdog = Watchdog::start(&std::env::temp_dir().join(format!("ingest-bench-{id}")))?;
    let ticks_per_second = procfs::ticks_per_second();
    let mut series: Vec<Series> = Vec::new();
    for &policy in &args.policies {
        for kind in [Kind::Bird, Kind::Romana] {
            if daemon::supports(kind, policy) {
                series.push(Series {
                    policy,
                    kind,
                    samples: Vec::new(),
                });
            }
        }
    }
    let mut count = 0;
    for round in 0..args.runs {
        for &policy in &args.policies {
            // Alternate who goes first, so neither always runs on a machine
            // the other has just warmed up (or left busy).
            let order = if round % 2 == 0 {
                [Kind::Bird, Kind::Romana]
            } else {
                [Kind::Romana, Kind::Bird]
            };
            for kind in order {
                let Some(s) = series
                    .iter_mut()
                    .find(|s| s.policy == policy && s.kind == kind)
                else {
                    continue;
                };
                count += 1;
                let setup = Setup {
                    kind,
                    policy,
                    prefixes: args.prefixes,
                    programs: &programs,
                    name: format!("ib{id}-{count}"),
                    ticks_per_second,
                    kernel_poll: args.kernel_poll,
                };
                let sample = measure::run(&setup, &mut watchdog).map_err(|e| {
                    format!(
                        "run {count} ({}, {}): {e}",
                        report::policy_name(policy),
                        kind.name()
                    )
                })?;
                eprintln!(
                    "run {}/{} {} {:>10}: {}",
                    round + 1,
                    args.runs,
                    report::policy_name(policy),
                    kind.name(),
                    report::line(&sample)
                );
                s.samples.push(sample);
            }
        }
    }
    Ok(report::markdown(&series))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(line: &str) -> Result<Args, String> {
        parse(line.split_whitespace().map(String::from))
    }

    #[test]
    fn defaults_are_three_runs_of_a_million_under_every_policy() {
        let a = args("").unwrap();
        assert_eq!((a.runs, a.prefixes), (3, 1_000_000));
        assert_eq!(a.policies.len(), 3);
        assert_eq!(a.bird, PathBuf::from("bird"));
    }

    #[test]
    fn options_are_read_and_bad_ones_named() {
        let a = args(
            "--runs 5 --prefixes 1000 --policies default,all-rib --bird /usr/sbin/bird \
             --kernel-poll 1000",
        )
        .unwrap();
        assert_eq!((a.runs, a.prefixes), (5, 1000));
        assert_eq!(a.kernel_poll, Duration::from_millis(1000));
        assert_eq!(a.policies, [Policy::DefaultOnly, Policy::AllRibOnly]);
        assert!(
            args("--policies all")
                .unwrap_err()
                .contains("unknown policy")
        );
        assert!(args("--runs 0").is_err());
        assert!(args("--runs").unwrap_err().contains("needs a value"));
        assert!(args("--fast 1").unwrap_err().contains("unknown option"));
    }
}
