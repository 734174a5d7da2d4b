//! Clean-up that survives the runner: a watchdog shell that removes a
//! benchmark's namespaces (and every process in them) and its work
//! directory once the runner is gone, however it went: finished, killed by
//! SIGKILL or Ctrl-C, or aborted by a panic (the release profile has
//! `panic = "abort"`, so no `Drop` runs then). It sees its standard input
//! close.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};

/// Reads namespace names, one a line, until its input closes; then ends
/// every process inside them and deletes them, and removes the work
/// directory. Signals from the terminal are ignored so that the runner's
/// Ctrl-C cannot kill it before it has cleaned up.
const WATCHDOG: &str = r#"trap '' INT TERM HUP
dir="$1"
names=""
while read -r ns; do names="$names $ns"; done
for ns in $names; do
  [ -e "/run/netns/$ns" ] || continue
  pids=$(ip netns pids "$ns" 2>/dev/null)
  [ -n "$pids" ] && kill -9 $pids 2>/dev/null
  ip netns delete "$ns" 2>/dev/null
done
rm -rf "$dir"
"#;

/// The watchdog and the runner's work directory.
pub struct Watchdog {
    child: Child,
    stdin: Option<ChildStdin>,
    dir: PathBuf,
}

impl Watchdog {
    pub fn start(dir: &Path) -> Result<Watchdog, String> {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let mut child = Command::new("sh")
            .args(["-c", WATCHDOG, "romana-lab-watchdog"])
            .arg(dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start the cleanup watchdog (sh): {e}"))?;
        let stdin = child.stdin.take();
        Ok(Watchdog {
            child,
            stdin,
            dir: dir.to_owned(),
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Tell the watchdog about a namespace before it is created.
    pub fn watch(&mut self, ns: &str) -> Result<(), String> {
        let stdin = self.stdin.as_mut().ok_or("the watchdog is gone")?;
        writeln!(stdin, "{ns}")
            .and_then(|()| stdin.flush())
            .map_err(|e| format!("the cleanup watchdog died: {e}"))
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        drop(self.stdin.take());
        let _ = self.child.wait();
    }
}
