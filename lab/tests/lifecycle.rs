//! Bringing labs up and down: cleanup on drop and on a failed `up`, a
//! prefix in use, a half-made lab, and the host daemon's command line
//! (checked with a stand-in, since it is what the demo and the daemon's
//! own tests rely on).

mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{alive, netns_exists};
use romana_lab::{Lab, LabError, Options, RUN_DIR};

const TWO_HOSTS_NODES: [&str; 3] = ["leaf1", "host1", "host2"];

/// An executable script standing in for romana-bgp, in a directory of its
/// own that goes away with it.
struct StandIn {
    dir: PathBuf,
    path: PathBuf,
}

impl StandIn {
    fn new(tag: &str, body: &str) -> StandIn {
        let dir = std::env::temp_dir().join(format!("romana-lab-{}-{tag}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("romana-bgp");
        fs::write(&path, format!("#!/bin/sh\n{body}")).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
        StandIn { dir, path }
    }
}

impl Drop for StandIn {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// Records how it was started and where, then creates the API socket path
/// named in its config and stays up like a daemon.
const RECORDING_DAEMON: &str = r#"
config="$3"
dir=$(dirname "$config")
{ echo "args: $*"; echo "netns: $(ip netns identify $$)"; } > "$dir/stand-in.txt"
socket=$(sed -n 's/^socket = "\(.*\)"$/\1/p' "$config")
: > "$socket"
exec sleep 600
"#;

fn pid_in(dir: &Path) -> u32 {
    fs::read_to_string(dir.join("romana-bgp.pid"))
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

#[test]
fn dropping_the_lab_takes_it_down() {
    let prefix = common::unique_prefix("drop");
    let (leaf_pid, lab_dir) = {
        let lab = Lab::up(
            common::topology("two-hosts.clab.yml"),
            &prefix,
            &Options::without_romana_bgp(),
        )
        .unwrap();
        let pid = fs::read_to_string(lab.node_dir("leaf1").join("bgpd.pid")).unwrap();
        let lab_dir = lab.node_dir("leaf1").parent().unwrap().to_owned();
        (pid.trim().parse::<u32>().unwrap(), lab_dir)
    };
    for node in TWO_HOSTS_NODES {
        assert!(!netns_exists(&format!("{prefix}-{node}")), "{node}");
    }
    assert!(!alive(leaf_pid), "bgpd survived the drop");
    assert!(!lab_dir.exists());
}

#[test]
fn host_nodes_run_the_daemon_with_their_config_copy() {
    let prefix = common::unique_prefix("daemon");
    let stand_in = StandIn::new("daemon", RECORDING_DAEMON);
    let binary = &stand_in.path;
    let mut lab = Lab::up(
        common::topology("two-hosts.clab.yml"),
        &prefix,
        &Options::with_romana_bgp(binary),
    )
    .unwrap();
    let dir = lab.node_dir("host1");
    let record = fs::read_to_string(dir.join("stand-in.txt")).unwrap();
    assert_eq!(
        record,
        format!(
            "args: run --config {}\nnetns: {prefix}-host1\n",
            dir.join("romana-bgp.toml").display()
        )
    );
    assert!(lab.api_socket("host1").exists());
    assert!(dir.join("romana-bgp.log").exists());
    let first = pid_in(&dir);
    assert!(alive(first));

    // A second daemon on the same node is refused while the first runs.
    let again = lab.start_romana_bgp("host1", binary).unwrap_err();
    assert!(
        matches!(again, LabError::DaemonRunning { pid, .. } if pid == first),
        "{again}"
    );

    // Stop and start again: a restart, as upgrade tests do it.
    lab.stop_romana_bgp("host1").unwrap();
    assert!(!alive(first));
    assert!(!dir.join("romana-bgp.pid").exists());
    lab.start_romana_bgp("host1", binary).unwrap();
    let second = pid_in(&dir);
    assert!(alive(second));

    // A router node has no romana-bgp.
    assert!(lab.start_romana_bgp("leaf1", binary).is_err());

    let host2 = pid_in(&lab.node_dir("host2"));
    lab.down().unwrap();
    assert!(!alive(second) && !alive(host2), "a daemon survived down");
}

/// Creates its API socket, then ignores SIGTERM (an ignored signal stays
/// ignored across exec): only SIGKILL ends it.
const DEAF_DAEMON: &str = r#"
socket=$(sed -n 's/^socket = "\(.*\)"$/\1/p' "$3")
: > "$socket"
trap '' TERM
exec sleep 600
"#;

#[test]
fn kill_ends_the_daemon_with_sigkill_at_once() {
    let prefix = common::unique_prefix("kill");
    let stand_in = StandIn::new("kill", DEAF_DAEMON);
    let binary = &stand_in.path;
    let mut lab = Lab::up(
        common::topology("two-hosts.clab.yml"),
        &prefix,
        &Options::with_romana_bgp(binary),
    )
    .unwrap();
    let dir = lab.node_dir("host1");
    let first = pid_in(&dir);
    let host2 = pid_in(&lab.node_dir("host2"));

    let start = Instant::now();
    lab.kill_romana_bgp("host1").unwrap();
    // SIGTERM first would have waited out the 5 s grace period.
    assert!(
        start.elapsed() < Duration::from_secs(4),
        "{:?}",
        start.elapsed()
    );
    assert!(!alive(first));
    assert!(!dir.join("romana-bgp.pid").exists());
    assert!(alive(host2), "only host1's daemon is killed");

    // It starts again as after a crash; killing what is not running is
    // not an error.
    lab.start_romana_bgp("host1", binary).unwrap();
    let second = pid_in(&dir);
    assert!(alive(second));
    lab.kill_romana_bgp("host1").unwrap();
    assert!(!alive(second));
    lab.kill_romana_bgp("host1").unwrap();
    lab.down().unwrap();
}

#[test]
fn a_daemon_that_dies_fails_up_and_leaves_nothing() {
    let prefix = common::unique_prefix("dies");
    let stand_in = StandIn::new("dies", "echo 'bad config' >&2\nexit 1\n");
    let err = Lab::up(
        common::topology("two-hosts.clab.yml"),
        &prefix,
        &Options::with_romana_bgp(&stand_in.path),
    )
    .unwrap_err();
    let message = err.to_string();
    assert!(matches!(err, LabError::DaemonNotReady { .. }), "{message}");
    assert!(message.contains("exited"), "{message}");
    assert!(
        message.contains("its log ends with:\nbad config"),
        "{message}"
    );
    for node in TWO_HOSTS_NODES {
        assert!(!netns_exists(&format!("{prefix}-{node}")), "{node}");
    }
    assert!(!Path::new(RUN_DIR).join(&prefix).exists());
}

#[test]
fn a_prefix_in_use_is_refused_and_the_running_lab_is_left_alone() {
    let prefix = common::unique_prefix("busy");
    let file = common::topology("two-hosts.clab.yml");
    let lab = Lab::up(&file, &prefix, &Options::without_romana_bgp()).unwrap();
    let second = Lab::up(&file, &prefix, &Options::without_romana_bgp()).unwrap_err();
    assert!(matches!(second, LabError::AlreadyUp { .. }), "{second}");
    assert!(lab.vtysh("leaf1", "show version").is_ok());
    for node in TWO_HOSTS_NODES {
        assert!(netns_exists(&format!("{prefix}-{node}")), "{node}");
    }
    lab.down().unwrap();
}

#[test]
fn down_cleans_a_half_made_lab_and_is_idempotent() {
    let prefix = common::unique_prefix("half");
    // As if `up` had been killed after the first namespace: a node dir, its
    // namespace with a process in it, nothing else.
    let ns = format!("{prefix}-host1");
    fs::create_dir_all(Path::new(RUN_DIR).join(&prefix).join("host1")).unwrap();
    let status = Command::new("ip")
        .args(["netns", "add", &ns])
        .status()
        .unwrap();
    assert!(status.success());
    let mut sleeper = Command::new("ip")
        .args(["netns", "exec", &ns, "sleep", "600"])
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    let sleeper_pid = sleeper.id();
    assert!(common::wait_until_in_netns(sleeper_pid, &ns));

    romana_lab::down(&prefix, None).unwrap();
    assert!(!netns_exists(&ns));
    sleeper.wait().unwrap();
    assert!(!alive(sleeper_pid));
    assert!(!Path::new(RUN_DIR).join(&prefix).exists());
    romana_lab::down(&prefix, None).unwrap();
}
