//! The `romana-lab` command line, as the demo and people use it.

mod common;

use std::process::{Command, Output};

use common::netns_exists;

/// Takes the lab down when the test ends, passed or failed: the CLI's `up`
/// leaves labs running on purpose.
struct Down(String);

impl Drop for Down {
    fn drop(&mut self) {
        if let Err(e) = romana_lab::down(&self.0, None) {
            eprintln!("cleanup of {}: {e}", self.0);
        }
    }
}

fn romana_lab(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_romana-lab"))
        .args(args)
        .output()
        .unwrap()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn up_exec_status_down() {
    let prefix = common::unique_prefix("cli");
    let _down = Down(prefix.clone());
    let file = common::topology("two-hosts.clab.yml");
    let file = file.to_str().unwrap();

    let up = romana_lab(&["up", file, "--prefix", &prefix, "--no-romana-bgp"]);
    assert!(up.status.success(), "{up:?}");
    let shown = stdout(&up);
    assert!(shown.contains(&format!("{prefix}-leaf1")), "{shown}");
    assert!(shown.contains("bgpd["), "{shown}");
    assert!(netns_exists(&format!("{prefix}-leaf1")));

    let exec = ["exec", file, "leaf1", "--prefix", &prefix, "--"];
    let summary = romana_lab(&[&exec[..], &["vtysh", "-c", "show bgp summary"]].concat());
    assert!(summary.status.success(), "{summary:?}");
    assert!(stdout(&summary).contains("192.168.11.1"), "{summary:?}");

    let code = romana_lab(&[&exec[..], &["sh", "-c", "exit 7"]].concat());
    assert_eq!(code.status.code(), Some(7));

    let status = romana_lab(&["status", "--prefix", &prefix]);
    assert!(status.status.success());
    assert!(stdout(&status).contains("zebra["), "{status:?}");

    let down = romana_lab(&["down", file, "--prefix", &prefix]);
    assert!(down.status.success(), "{down:?}");
    assert!(!netns_exists(&format!("{prefix}-leaf1")));
    let status = romana_lab(&["status", "--prefix", &prefix]);
    assert_eq!(status.status.code(), Some(1));
    assert_eq!(stdout(&status), format!("lab {prefix} is not up\n"));

    // down again: nothing there is not an error.
    assert!(
        romana_lab(&["down", file, "--prefix", &prefix])
            .status
            .success()
    );
    // exec on a lab that is down says so.
    let gone = romana_lab(&[&exec[..], &["true"]].concat());
    assert_eq!(gone.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&gone.stderr).contains("is not up"));
}

#[test]
fn usage_errors_exit_2() {
    let out = romana_lab(&["up"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("usage:"));
}
