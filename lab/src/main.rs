//! The `romana-lab` command line.

use std::ffi::OsString;
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::ExitCode;

use romana_lab::{Lab, LabError, Layout, Options, Topology, locate_romana_bgp};

const USAGE: &str = "\
usage:
  romana-lab up FILE [--prefix P] [--romana-bgp PATH | --no-romana-bgp]
  romana-lab down FILE [--prefix P]
  romana-lab exec FILE NODE [--prefix P] -- COMMAND [ARG...]
  romana-lab status [--prefix P]

FILE is a containerlab topology (lab/two-hosts.clab.yml). The prefix names
the lab: namespaces are PREFIX-NODE, state is under /run/romana-lab/PREFIX;
it defaults to the topology's name. Host nodes run romana-bgp from
--romana-bgp PATH, else $ROMANA_BGP_BIN, else the workspace's
target/debug/romana-bgp, else romana-bgp on PATH.
";

#[derive(Debug, PartialEq, Eq)]
enum Cli {
    Up {
        file: PathBuf,
        prefix: Option<String>,
        romana_bgp: RomanaBgp,
    },
    Down {
        file: PathBuf,
        prefix: Option<String>,
    },
    Exec {
        file: PathBuf,
        prefix: Option<String>,
        node: String,
        command: Vec<OsString>,
    },
    Status {
        prefix: Option<String>,
    },
    Help,
}

#[derive(Debug, PartialEq, Eq)]
enum RomanaBgp {
    /// Find it (`--romana-bgp PATH` if given).
    Locate(Option<PathBuf>),
    /// `--no-romana-bgp`.
    Skip,
}

fn parse(args: Vec<OsString>) -> Result<Cli, String> {
    let mut args = args.into_iter();
    let Some(sub) = args.next() else {
        return Err("no command given".into());
    };
    let mut positional = Vec::new();
    let mut prefix = None;
    let mut romana_bgp = RomanaBgp::Locate(None);
    let mut command = None;
    while let Some(arg) = args.next() {
        match arg.to_str() {
            Some("--") => {
                command = Some(args.by_ref().collect::<Vec<_>>());
            }
            Some("--prefix") => {
                let value = args.next().ok_or("--prefix needs a value")?;
                prefix = Some(value.into_string().map_err(|_| "--prefix is not UTF-8")?);
            }
            Some("--romana-bgp") => {
                let value = args.next().ok_or("--romana-bgp needs a path")?;
                romana_bgp = RomanaBgp::Locate(Some(value.into()));
            }
            Some("--no-romana-bgp") => romana_bgp = RomanaBgp::Skip,
            Some("-h" | "--help") => return Ok(Cli::Help),
            Some(option) if option.starts_with('-') => {
                return Err(format!("unknown option {option}"));
            }
            _ => positional.push(arg),
        }
    }
    let sub = sub.to_str().unwrap_or_default();
    let only = |opt: bool, name: &str| {
        if opt {
            Err(format!("{name} is not an option of {sub}"))
        } else {
            Ok(())
        }
    };
    only(
        romana_bgp != RomanaBgp::Locate(None) && sub != "up",
        "--romana-bgp / --no-romana-bgp",
    )?;
    only(command.is_some() && sub != "exec", "--")?;
    let mut positional = positional.into_iter();
    let mut next = |what: &str| positional.next().ok_or(format!("{sub} needs {what}"));
    let cli = match sub {
        "up" => Cli::Up {
            file: next("a topology FILE")?.into(),
            prefix,
            romana_bgp,
        },
        "down" => Cli::Down {
            file: next("a topology FILE")?.into(),
            prefix,
        },
        "exec" => {
            let file = next("a topology FILE")?.into();
            let node = next("a NODE")?
                .into_string()
                .map_err(|_| "NODE is not UTF-8")?;
            match command {
                Some(command) if !command.is_empty() => Cli::Exec {
                    file,
                    prefix,
                    node,
                    command,
                },
                _ => return Err("exec needs -- COMMAND [ARG...]".into()),
            }
        }
        "status" => Cli::Status { prefix },
        "help" | "-h" | "--help" => Cli::Help,
        other => return Err(format!("unknown command {other:?}")),
    };
    if let Some(extra) = positional.next() {
        return Err(format!("unexpected argument {}", extra.to_string_lossy()));
    }
    Ok(cli)
}

/// The given prefix, or the topology's name.
fn prefix_of(prefix: Option<String>, topology: &Topology) -> String {
    prefix.unwrap_or_else(|| topology.name().to_owned())
}

fn run(cli: Cli) -> Result<ExitCode, LabError> {
    match cli {
        Cli::Help => print!("{USAGE}"),
        Cli::Up {
            file,
            prefix,
            romana_bgp,
        } => {
            let topology = Topology::load(&file)?;
            let prefix = prefix_of(prefix, &topology);
            let options = match romana_bgp {
                RomanaBgp::Skip => Options::without_romana_bgp(),
                RomanaBgp::Locate(explicit) => {
                    Options::with_romana_bgp(locate_romana_bgp(explicit.as_deref())?)
                }
            };
            let lab = Lab::up(&file, &prefix, &options)?;
            lab.leave_running();
            let status = romana_lab::status()?;
            let mine: Vec<_> = status.into_iter().filter(|l| l.prefix == prefix).collect();
            print!("{}", romana_lab::render_status(&mine));
            let file = file.display();
            println!("run in a node:  romana-lab exec {file} NODE --prefix {prefix} -- COMMAND");
            println!("take it down:   romana-lab down {file} --prefix {prefix}");
        }
        Cli::Down { file, prefix } => {
            // A lab whose file is gone or broken can still be taken down by
            // its prefix.
            let topology = Topology::load(&file);
            let prefix = match (&topology, prefix) {
                (_, Some(prefix)) => prefix,
                (Ok(topology), None) => topology.name().to_owned(),
                (Err(_), None) => return topology.map(|_| ExitCode::SUCCESS),
            };
            romana_lab::down(&prefix, topology.as_ref().ok())?;
        }
        Cli::Exec {
            file,
            prefix,
            node,
            command,
        } => {
            let topology = Topology::load(&file)?;
            let prefix = prefix_of(prefix, &topology);
            let lab = Lab::attach(&file, &prefix)?;
            let mut cmd = lab.command(&node, &command)?;
            let status = cmd.status().map_err(|source| LabError::Spawn {
                program: format!("ip netns exec {}", lab.netns(&node)),
                source,
            })?;
            let code = status
                .code()
                .or_else(|| status.signal().map(|s| 128 + s))
                .unwrap_or(1);
            return Ok(ExitCode::from(u8::try_from(code).unwrap_or(1)));
        }
        Cli::Status { prefix } => {
            let labs = match prefix {
                Some(prefix) => {
                    let layout = Layout::new(&prefix)?;
                    if !layout.dir().is_dir() {
                        println!("lab {prefix} is not up");
                        return Ok(ExitCode::from(1));
                    }
                    vec![romana_lab::lab_status(&layout)?]
                }
                None => romana_lab::status()?,
            };
            print!("{}", romana_lab::render_status(&labs));
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn main() -> ExitCode {
    let cli = match parse(std::env::args_os().skip(1).collect()) {
        Ok(cli) => cli,
        Err(message) => {
            eprintln!("romana-lab: {message}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("romana-lab: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(line: &str) -> Vec<OsString> {
        line.split_whitespace().map(OsString::from).collect()
    }

    #[test]
    fn up_takes_a_prefix_and_the_daemon_choice() {
        assert_eq!(
            parse(args(
                "up lab/two-hosts.clab.yml --prefix t1 --no-romana-bgp"
            )),
            Ok(Cli::Up {
                file: "lab/two-hosts.clab.yml".into(),
                prefix: Some("t1".into()),
                romana_bgp: RomanaBgp::Skip,
            })
        );
        assert_eq!(
            parse(args("up f.yml --romana-bgp /x/romana-bgp")),
            Ok(Cli::Up {
                file: "f.yml".into(),
                prefix: None,
                romana_bgp: RomanaBgp::Locate(Some("/x/romana-bgp".into())),
            })
        );
    }

    #[test]
    fn exec_passes_everything_after_the_double_dash() {
        assert_eq!(
            parse(args("exec f.yml leaf1 --prefix t1 -- vtysh -c --prefix")),
            Ok(Cli::Exec {
                file: "f.yml".into(),
                prefix: Some("t1".into()),
                node: "leaf1".into(),
                command: args("vtysh -c --prefix"),
            })
        );
        assert!(parse(args("exec f.yml leaf1")).is_err());
        assert!(parse(args("exec f.yml leaf1 --")).is_err());
    }

    #[test]
    fn mistakes_are_usage_errors() {
        assert_eq!(parse(args("")), Err("no command given".into()));
        assert_eq!(parse(args("up")), Err("up needs a topology FILE".into()));
        assert_eq!(
            parse(args("down f.yml --no-romana-bgp")),
            Err("--romana-bgp / --no-romana-bgp is not an option of down".into())
        );
        assert_eq!(
            parse(args("down f.yml g.yml")),
            Err("unexpected argument g.yml".into())
        );
        assert_eq!(
            parse(args("up f.yml --prefx t1")),
            Err("unknown option --prefx".into())
        );
        assert_eq!(
            parse(args("start f.yml")),
            Err("unknown command \"start\"".into())
        );
    }

    #[test]
    fn status_and_help() {
        assert_eq!(parse(args("status")), Ok(Cli::Status { prefix: None }));
        assert_eq!(parse(args("up --help")), Ok(Cli::Help));
        assert_eq!(parse(args("help")), Ok(Cli::Help));
    }
}
