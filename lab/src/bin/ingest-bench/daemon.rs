//! The two speakers under test, configured alike: AS 65001 facing the leaf
//! in AS 65000, passive (the leaf connects), the same import policy, and
//! each asked, over its own control socket, what it has taken in.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use crate::net::{DUT_ADDR, LEAF_ADDR, Pair, Proc};

pub const DUT_AS: u32 = 65001;
pub const LEAF_AS: u32 = 65000;

/// How long a speaker may take to open its control socket.
const START_TIMEOUT: Duration = Duration::from_secs(10);
/// How long one control socket answer may take. A speaker busy with a
/// table answers late; that lateness is part of what is measured.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(60);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Bird,
    Romana,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Bird => "BIRD",
            Kind::Romana => "romana-bgp",
        }
    }
}

/// What the speaker keeps of the table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Policy {
    /// The default route only (romana-bgp's default import policy).
    DefaultOnly,
    /// Every IPv4 route, and into the kernel.
    AllToKernel,
    /// Every IPv4 route, kept in the speaker alone (BIRD without its
    /// kernel protocol exporting; romana-bgp has no such mode).
    AllRibOnly,
}

/// What the speaker says about its one session.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub established: bool,
    /// Prefixes announced to it, accepted or not.
    pub received: u64,
    /// Prefixes that passed the import policy and are held.
    pub accepted: u64,
}

/// A running speaker and the connection to its control socket.
pub struct Daemon {
    pub kind: Kind,
    pub proc: Proc,
    control: Control,
    log: PathBuf,
}

enum Control {
    Bird(BufReader<UnixStream>),
    Romana(BufReader<UnixStream>),
}

/// BIRD 2's configuration. Its kernel protocol exports what it imports,
/// as romana-bgp installs what it accepts, except in [`Policy::AllRibOnly`].
fn bird_config(policy: Policy) -> String {
    let (import, export) = match policy {
        Policy::DefaultOnly => (
            "import filter { if net = 0.0.0.0/0 then accept; reject; };",
            "all",
        ),
        Policy::AllToKernel => ("import all;", "all"),
        Policy::AllRibOnly => ("import all;", "none"),
    };
    format!(
        "router id {DUT_ADDR};\n\
         log stderr all;\n\
         protocol device {{ }}\n\
         protocol kernel {{ ipv4 {{ export {export}; }}; }}\n\
         protocol bgp feed {{\n\
         \x20 local {DUT_ADDR} as {DUT_AS};\n\
         \x20 neighbor {LEAF_ADDR} as {LEAF_AS};\n\
         \x20 passive on;\n\
         \x20 ipv4 {{ {import} export none; }};\n\
         }}\n"
    )
}

/// romana-bgp's configuration. Its address plan is kept clear of the
/// table's prefixes (1.0.0.0 up), so no received route meets its own.
fn romana_config(policy: Policy, dir: &Path) -> Result<String, String> {
    let import = match policy {
        Policy::DefaultOnly => "",
        Policy::AllToKernel => "import = [\"0.0.0.0/0 le 32\"]\n",
        Policy::AllRibOnly => {
            return Err("romana-bgp always installs what it accepts: no RIB-only run".into());
        }
    };
    Ok(format!(
        "[host]\nasn = {DUT_AS}\nrouter_id = \"{DUT_ADDR}\"\nindex = 1\n\n\
         [plan]\ncidr = \"100.64.0.0/10\"\nhost_bits = 8\ntenant_bits = 4\nsegment_bits = 4\n\n\
         [[neighbor]]\naddress = \"{LEAF_ADDR}\"\nremote_as = {LEAF_AS}\npassive = true\n{import}\n\
         [api]\nsocket = \"{}\"\n\n[state]\ndir = \"{}\"\n",
        dir.join("romana.sock").display(),
        dir.join("state").display()
    ))
}

/// Whether `kind` can run with `policy`.
pub fn supports(kind: Kind, policy: Policy) -> bool {
    !(kind == Kind::Romana && policy == Policy::AllRibOnly)
}

impl Daemon {
    /// Start the speaker in the pair's DUT namespace, its files in `dir`,
    /// and connect to its control socket.
    pub fn start(
        kind: Kind,
        policy: Policy,
        program: &Path,
        pair: &Pair,
        dir: &Path,
    ) -> Result<Daemon, String> {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let write = |name: &str, text: &str| {
            let path = dir.join(name);
            std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
            Ok::<_, String>(path)
        };
        let log = dir.join("daemon.log");
        let log_file =
            std::fs::File::create(&log).map_err(|e| format!("{}: {e}", log.display()))?;
        let mut cmd = Pair::command(&pair.dut, program);
        let socket = match kind {
            Kind::Bird => {
                let conf = write("bird.conf", &bird_config(policy))?;
                let socket = dir.join("bird.ctl");
                cmd.arg("-f")
                    .arg("-c")
                    .arg(conf)
                    .arg("-s")
                    .arg(&socket)
                    .arg("-P")
                    .arg(dir.join("bird.pid"));
                socket
            }
            Kind::Romana => {
                let conf = write("romana-bgp.toml", &romana_config(policy, dir)?)?;
                cmd.arg("run").arg("--config").arg(conf);
                dir.join("romana.sock")
            }
        };
        let child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log_file)
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", program.display()))?;
        let mut proc = Proc { child };
        let stream = romana_lab::wait_for(START_TIMEOUT, || {
            if let Some(status) = proc.exited() {
                return Err(format!("exited ({status})"));
            }
            UnixStream::connect(&socket).map_err(|e| format!("no control socket: {e}"))
        })
        .map_err(|e| format!("{} {e}; see {}", kind.name(), log.display()))?;
        stream
            .set_read_timeout(Some(ANSWER_TIMEOUT))
            .map_err(|e| e.to_string())?;
        let mut reader = BufReader::new(stream);
        let control = match kind {
            Kind::Bird => {
                // The greeting: `0001 BIRD 2.0.12 ready.`
                bird_reply(&mut reader)?;
                Control::Bird(reader)
            }
            Kind::Romana => Control::Romana(reader),
        };
        Ok(Daemon {
            kind,
            proc,
            control,
            log,
        })
    }

    pub fn pid(&self) -> u32 {
        self.proc.pid()
    }

    /// Ask the speaker about its session.
    pub fn counts(&mut self) -> Result<Counts, String> {
        let kind = self.kind;
        let answer = match &mut self.control {
            Control::Bird(r) => {
                ask(r, "show protocols all feed\n")?;
                bird_reply(r).map(|text| parse_bird(&text))
            }
            Control::Romana(r) => {
                ask(r, "{\"request\":\"summary\"}\n")?;
                let mut line = String::new();
                r.read_line(&mut line)
                    .map_err(|e| format!("reading the control socket: {e}"))?;
                parse_romana(&line)
            }
        };
        answer.map_err(|e| format!("{}: {e}; see {}", kind.name(), self.log.display()))
    }
}

fn ask(r: &mut BufReader<UnixStream>, request: &str) -> Result<(), String> {
    r.get_mut()
        .write_all(request.as_bytes())
        .map_err(|e| format!("writing the control socket: {e}"))
}

/// One reply of BIRD's control socket: lines `CODE-text` or ` text`, the
/// last one `CODE text`. An error code (8xxx, 9xxx) fails.
fn bird_reply(r: &mut BufReader<UnixStream>) -> Result<String, String> {
    let mut text = String::new();
    loop {
        let mut line = String::new();
        let n = r
            .read_line(&mut line)
            .map_err(|e| format!("reading the control socket: {e}"))?;
        if n == 0 {
            return Err("the control socket closed".into());
        }
        let code = line
            .get(..4)
            .filter(|c| c.bytes().all(|b| b.is_ascii_digit()));
        let last = code.is_some() && line.as_bytes().get(4) == Some(&b' ');
        if last && code.is_some_and(|c| c.starts_with(['8', '9'])) {
            return Err(format!("BIRD answered {}", line.trim()));
        }
        text.push_str(&line);
        if last {
            return Ok(text);
        }
    }
}

/// `show protocols all feed`: the BGP state, `Routes: N imported` and the
/// received column of `Import updates`.
fn parse_bird(text: &str) -> Counts {
    let mut counts = Counts::default();
    for line in text.lines() {
        let line = strip_code(line).trim();
        let number_after = |key: &str| {
            line.strip_prefix(key)
                .and_then(|rest| rest.split_whitespace().next())
                .and_then(|n| n.parse::<u64>().ok())
        };
        if let Some(state) = line.strip_prefix("BGP state:") {
            counts.established = state.trim() == "Established";
        } else if let Some(n) = number_after("Routes:") {
            counts.accepted = n;
        } else if let Some(n) = number_after("Import updates:") {
            counts.received = n;
        }
    }
    counts
}

/// The text of a reply line: after `CODE-` or `CODE `, or after the one
/// space that starts a continuation line.
fn strip_code(line: &str) -> &str {
    let coded = line
        .get(..4)
        .is_some_and(|c| c.bytes().all(|b| b.is_ascii_digit()))
        && matches!(line.as_bytes().get(4), Some(b'-' | b' '));
    if coded {
        line.get(5..).unwrap_or("")
    } else {
        line.strip_prefix(' ').unwrap_or(line)
    }
}

/// The `summary` reply of romana-bgp's control socket (SPEC §3 fields).
fn parse_romana(line: &str) -> Result<Counts, String> {
    let reply: serde_json::Value =
        serde_json::from_str(line).map_err(|e| format!("unreadable answer {line:?}: {e}"))?;
    let neighbor = reply
        .get("neighbors")
        .and_then(|n| n.get(0))
        .ok_or_else(|| format!("no neighbor in {line:?}"))?;
    let number = |key: &str| neighbor.get(key).and_then(serde_json::Value::as_u64);
    Ok(Counts {
        established: neighbor.get("state").and_then(serde_json::Value::as_str)
            == Some("Established"),
        received: number("prefixes_received").unwrap_or(0),
        accepted: number("prefixes_accepted").unwrap_or(0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bird_counts_come_from_show_protocols_all() {
        let text = "2002-Name       Proto      Table      State  Since         Info\n\
                    1002-feed       BGP        ---        up     04:09:03.316  Established\n\
                    1006-  BGP state:          Established\n\
                    \x20   Neighbor address: 192.0.2.0\n\
                    \x20 Channel ipv4\n\
                    \x20   Routes:         988000 imported, 0 exported, 988000 preferred\n\
                    \x20   Route change stats:     received   rejected   filtered    ignored   accepted\n\
                    \x20     Import updates:        1000000          0          0          0    1000000\n\
                    0000 \n";
        assert_eq!(
            parse_bird(text),
            Counts {
                established: true,
                received: 1_000_000,
                accepted: 988_000
            }
        );
        assert!(!parse_bird("1006-  BGP state:          Active\n").established);
    }

    #[test]
    fn romana_counts_come_from_the_summary_reply() {
        let line = r#"{"reply":"summary","router_id":"192.0.2.1","local_as":65001,"neighbors":[{"address":"192.0.2.0","state":"Established","prefixes_received":1000000,"prefixes_accepted":1}]}"#;
        assert_eq!(
            parse_romana(line).unwrap(),
            Counts {
                established: true,
                received: 1_000_000,
                accepted: 1
            }
        );
        assert!(parse_romana(r#"{"reply":"summary","neighbors":[]}"#).is_err());
        assert!(parse_romana("not json").is_err());
    }

    #[test]
    fn the_configs_carry_the_policy() {
        assert!(bird_config(Policy::DefaultOnly).contains("if net = 0.0.0.0/0 then accept"));
        assert!(bird_config(Policy::AllToKernel).contains("export all"));
        assert!(bird_config(Policy::AllRibOnly).contains("export none; }; }"));
        let dir = Path::new("/tmp/x");
        assert!(
            !romana_config(Policy::DefaultOnly, dir)
                .unwrap()
                .contains("import")
        );
        assert!(
            romana_config(Policy::AllToKernel, dir)
                .unwrap()
                .contains("import = [\"0.0.0.0/0 le 32\"]")
        );
        assert!(!supports(Kind::Romana, Policy::AllRibOnly));
    }
}
