//! A router node: FRR's daemons from the Debian package, one set per
//! namespace, each with its sockets, pid files and logs in the node's
//! directory so that nothing is shared with another node or with a system
//! FRR.
//!
//! The FRR image boots with `frrinit.sh`: zebra and the daemons its
//! `daemons` file enables, then `vtysh -b` applies the integrated
//! `frr.conf`. The runner does the same by hand:
//!
//! ```text
//! ip netns exec NS /usr/lib/frr/zebra -d -P 0 -i DIR/zebra.pid -z DIR/zserv.api \
//!     --vty_socket DIR --log file:DIR/zebra.log
//! ip netns exec NS /usr/lib/frr/bgpd  ...same options, bgpd...
//! ip netns exec NS vtysh --vty_socket DIR --config_dir DIR -b
//! ```
//!
//! `-z` makes bgpd talk to its own zebra, which installs the routes into
//! its own namespace's kernel. The daemons drop to user `frr` (root is not
//! in the package's vty group `frrvty`), so the directory is handed to
//! `frr`. `-d` returns once the daemon has read its (empty) config and
//! opened its sockets, so vtysh finds them.

use std::ffi::{OsStr, OsString};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::command::run;
use crate::error::{LabError, io_at};
use crate::netns;
use crate::topology::{FRR_CONF, FRR_DAEMONS, Node};

/// Where Debian's `frr` package puts the daemons.
pub const FRR_BIN_DIR: &str = "/usr/lib/frr";
/// The user the daemons run as (Debian's `frr` package creates it).
const FRR_USER: &str = "frr";

/// Starts the node's FRR in its namespace and applies its config.
pub fn start(node: &Node, ns: &str, dir: &Path) -> Result<(), LabError> {
    let conf = node.bind(FRR_CONF).ok_or_else(|| LabError::WrongRole {
        node: node.name.clone(),
        wanted: "router",
    })?;
    copy(conf, &dir.join("frr.conf"))?;
    // vtysh reads it before frr.conf; an empty one would do, but this says
    // how the node's config is meant to be kept.
    let vtysh_conf = dir.join("vtysh.conf");
    fs::write(&vtysh_conf, "service integrated-vtysh-config\n").map_err(io_at(vtysh_conf))?;
    let daemons_file = match node.bind(FRR_DAEMONS) {
        Some(path) => {
            copy(path, &dir.join("daemons"))?;
            Some(fs::read_to_string(path).map_err(io_at(path))?)
        }
        None => None,
    };
    run(Command::new("chown")
        .arg(format!("{FRR_USER}:{FRR_USER}"))
        .arg(dir))?;

    for daemon in daemons_to_start(daemons_file.as_deref()) {
        let binary = Path::new(FRR_BIN_DIR).join(&daemon);
        if !binary.exists() {
            return Err(LabError::Topology {
                path: node.bind(FRR_DAEMONS).unwrap_or(conf).to_owned(),
                reason: format!(
                    "node {}: daemon {daemon} is enabled but {} is not installed \
                     (scripts/install-deps.sh installs frr)",
                    node.name,
                    binary.display()
                ),
            });
        }
        let file = |suffix: &str| dir.join(format!("{daemon}.{suffix}"));
        let mut cmd = netns::command(ns, &binary);
        cmd.args(["-d", "-P", "0"])
            .arg("-i")
            .arg(file("pid"))
            .arg("-z")
            .arg(dir.join("zserv.api"))
            .arg("--vty_socket")
            .arg(dir)
            .arg("--log")
            .arg(log_target(&file("log")))
            .envs(&node.env);
        run(&mut cmd)?;
    }

    let mut boot = netns::command(ns, "vtysh");
    boot.args(vtysh_options(dir)).arg("-b").envs(&node.env);
    run(&mut boot)?;
    Ok(())
}

/// The options that point vtysh at this node's daemons and config copy,
/// so that `write memory` never touches the machine's `/etc/frr`.
pub fn vtysh_options(dir: &Path) -> [OsString; 4] {
    [
        "--vty_socket".into(),
        dir.into(),
        "--config_dir".into(),
        dir.into(),
    ]
}

/// `vtysh ARGS` becomes `vtysh --vty_socket DIR --config_dir DIR ARGS`;
/// any other command is left alone.
pub fn rewrite_vtysh(dir: &Path, args: &[OsString]) -> Vec<OsString> {
    match args.split_first() {
        Some((program, rest)) if Path::new(program).file_name() == Some(OsStr::new("vtysh")) => {
            let mut out = Vec::with_capacity(args.len() + 4);
            out.push(program.clone());
            out.extend(vtysh_options(dir));
            out.extend(rest.iter().cloned());
            out
        }
        _ => args.to_vec(),
    }
}

/// zebra always (every other daemon needs it), then each daemon the file
/// sets to `yes`, in file order; without a file, bgpd.
pub fn daemons_to_start(daemons_file: Option<&str>) -> Vec<String> {
    let mut daemons = vec!["zebra".to_owned()];
    let Some(text) = daemons_file else {
        daemons.push("bgpd".to_owned());
        return daemons;
    };
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('#') {
            continue;
        }
        let Some((name, value)) = line.split_once('=') else {
            continue;
        };
        let enabled = matches!(value.trim(), "yes" | "\"yes\"");
        // Daemon names end in `d`; `vtysh_enable=yes` is not a daemon.
        let is_daemon = name.ends_with('d') && !name.contains(char::is_whitespace);
        if enabled && is_daemon && !daemons.iter().any(|d| d == name) {
            daemons.push(name.to_owned());
        }
    }
    daemons
}

fn log_target(path: &Path) -> OsString {
    let mut target = OsString::from("file:");
    target.push(path);
    target
}

fn copy(from: &Path, to: &Path) -> Result<(), LabError> {
    fs::copy(from, to)
        .map(drop)
        .map_err(io_at(PathBuf::from(from)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zebra_comes_first_and_only_enabled_daemons_follow() {
        let file = "# comment\nbgpd=yes\nospfd=no\nbfdd=\"yes\"\n#ripd=yes\nvtysh_enable=yes\n\
                    zebra=yes\nbgpd_options=\"   -A 127.0.0.1\"\n";
        assert_eq!(daemons_to_start(Some(file)), ["zebra", "bgpd", "bfdd"]);
    }

    #[test]
    fn without_a_daemons_file_bgpd_runs() {
        assert_eq!(daemons_to_start(None), ["zebra", "bgpd"]);
    }

    #[test]
    fn vtysh_is_pointed_at_the_node_and_nothing_else_is_touched() {
        let dir = Path::new("/run/romana-lab/t1/leaf1");
        let args: Vec<OsString> = ["vtysh", "-c", "show bgp summary"]
            .map(OsString::from)
            .to_vec();
        let rewritten = rewrite_vtysh(dir, &args);
        assert_eq!(
            rewritten,
            [
                "vtysh",
                "--vty_socket",
                "/run/romana-lab/t1/leaf1",
                "--config_dir",
                "/run/romana-lab/t1/leaf1",
                "-c",
                "show bgp summary"
            ]
            .map(OsString::from)
        );
        let full_path: Vec<OsString> = vec!["/usr/bin/vtysh".into()];
        assert_eq!(rewrite_vtysh(dir, &full_path).len(), 5);
        let ping: Vec<OsString> = ["ping", "vtysh"].map(OsString::from).to_vec();
        assert_eq!(rewrite_vtysh(dir, &ping), ping);
    }
}
