//! Bad configuration through the real command line: `romana-bgp run
//! --check --config F` refuses it with exit status 1 and one line on stderr
//! that names the file, the key and the reason; `run` without `--check`
//! refuses it the same way before it touches anything.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_romana-bgp");

/// A valid host config: the two-hosts lab's host1, with its paths in the
/// test's directory.
fn valid(dir: &Path) -> String {
    format!(
        r#"[host]
asn = 65001
router_id = "192.168.11.1"
index = 1

[plan]
cidr = "10.0.0.0/8"
host_bits = 8
tenant_bits = 4
segment_bits = 4

[[tenant]]
name = "blue"
id = 1
segments = [ {{ name = "web", id = 1 }} ]

[[neighbor]]
address = "192.168.11.0"
remote_as = 65000
hold_time = 9

[api]
socket = "{dir}/romana-bgp.sock"

[state]
dir = "{dir}/state"
"#,
        dir = dir.display()
    )
}

/// A directory of the test's own, removed when the test ends, also when it
/// fails.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!(
            "romana-bgp-config-errors-{tag}-{}",
            std::process::id()
        ));
        // A leftover of an earlier run with the same pid.
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn romana(args: &[&str], config: &Path) -> Output {
    Command::new(BIN)
        .args(args)
        .arg("--config")
        .arg(config)
        .env("NO_COLOR", "1")
        .output()
        .expect("run romana-bgp")
}

/// Replaces the one occurrence of `from` in `text`.
fn edit(text: &str, from: &str, to: &str) -> String {
    assert_eq!(
        text.matches(from).count(),
        1,
        "`{from}` not once in:\n{text}"
    );
    text.replace(from, to)
}

/// A bad config, how to make it from the valid one, and what stderr must
/// say: the key path, and words of the reason.
struct Case {
    name: &'static str,
    make: fn(&str) -> String,
    key: &'static str,
    reason: &'static [&'static str],
}

const CASES: &[Case] = &[
    Case {
        name: "unknown key",
        make: |t| edit(t, "hold_time = 9\n", "hold_time = 9\nhold_timer = 9\n"),
        key: "neighbor[0].hold_timer",
        reason: &["unknown key"],
    },
    Case {
        name: "wrong type",
        make: |t| edit(t, "asn = 65001", "asn = \"65001\""),
        key: "host.asn",
        reason: &["invalid type"],
    },
    Case {
        name: "bits that do not add up",
        make: |t| edit(t, "segment_bits = 4", "segment_bits = 20"),
        key: "plan",
        reason: &["segment_bits 20", "endpoints"],
    },
    Case {
        name: "index outside the plan",
        make: |t| edit(t, "index = 1", "index = 256"),
        key: "host.index",
        reason: &["256", "host_bits"],
    },
    Case {
        name: "duplicate neighbor",
        make: |t| {
            edit(
                t,
                "hold_time = 9\n",
                "hold_time = 9\n\n[[neighbor]]\naddress = \"192.168.11.0\"\nremote_as = 65000\n",
            )
        },
        key: "neighbor[1].address",
        reason: &["192.168.11.0", "neighbor[0]"],
    },
    Case {
        name: "bad address",
        make: |t| {
            edit(
                t,
                "address = \"192.168.11.0\"",
                "address = \"192.168.11.300\"",
            )
        },
        key: "neighbor[0].address",
        reason: &["192.168.11.300"],
    },
];

#[test]
fn the_valid_config_passes_the_check() {
    let dir = TempDir::new("ok");
    let file = dir.0.join("romana-bgp.toml");
    fs::write(&file, valid(&dir.0)).unwrap();
    let out = romana(&["run", "--check"], &file);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!("config OK: {}\n", file.display())
    );
}

/// `--check` refuses each case, and so does `run`, before it makes
/// anything.
#[test]
fn each_bad_config_is_refused_naming_the_key() {
    let dir = TempDir::new("bad");
    let good = valid(&dir.0);
    for (i, case) in CASES.iter().enumerate() {
        let file = dir.0.join(format!("case{i}.toml"));
        fs::write(&file, (case.make)(&good)).unwrap();
        let out = romana(&["run", "--check"], &file);
        let stderr = String::from_utf8_lossy(&out.stderr);
        let what = format!("{}: {}", case.name, stderr.trim());
        assert_eq!(out.status.code(), Some(1), "{what}");
        assert!(out.stdout.is_empty(), "{what}: stdout {:?}", out.stdout);
        // One line: `FILE:LINE:COLUMN: KEY: REASON`.
        assert_eq!(stderr.lines().count(), 1, "{what}");
        let located = format!("{}:", file.display());
        assert!(
            stderr.starts_with(&located),
            "{what}: the file is not named first"
        );
        assert!(
            stderr.contains(&format!(": {}: ", case.key)),
            "{what}: the key `{}` is not named",
            case.key
        );
        for word in case.reason {
            assert!(
                stderr.contains(word),
                "{what}: `{word}` missing from the reason"
            );
        }

        // Only now that `--check` refused it: a config that passed would
        // start a real daemon here.
        let out = romana(&["run"], &file);
        let stderr = String::from_utf8_lossy(&out.stderr);
        let what = format!("{} (run): {}", case.name, stderr.trim());
        assert_eq!(out.status.code(), Some(1), "{what}");
        assert!(stderr.contains(&format!(": {}: ", case.key)), "{what}");
        assert!(
            !dir.0.join("romana-bgp.sock").exists() && !dir.0.join("state").exists(),
            "{what}: the daemon made its socket or state before refusing"
        );
    }
}
