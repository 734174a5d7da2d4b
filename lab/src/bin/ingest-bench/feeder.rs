//! The scripted leaf (`bgp-feed`) as the runner drives it: started in the
//! leaf namespace, it reports its progress in lines on its standard output
//! and sends the table when it reads `go`.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{ChildStdin, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use crate::daemon::{DUT_AS, LEAF_AS};
use crate::net::{DUT_ADDR, LEAF_ADDR, Pair, Proc};

pub struct Feeder {
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
    pub log: PathBuf,
    // Declared last: dropped (killed) after its input has closed.
    proc: Proc,
}

impl Feeder {
    pub fn start(program: &Path, pair: &Pair, prefixes: u32, dir: &Path) -> Result<Feeder, String> {
        let log = dir.join("feeder.log");
        let log_file =
            std::fs::File::create(&log).map_err(|e| format!("{}: {e}", log.display()))?;
        let mut child = Pair::command(&pair.leaf, program)
            .args(["--connect", DUT_ADDR, "--router-id", LEAF_ADDR])
            .args(["--local-as", &LEAF_AS.to_string()])
            .args(["--remote-as", &DUT_AS.to_string()])
            .args(["--prefixes", &prefixes.to_string()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(log_file)
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", program.display()))?;
        let stdin = child.stdin.take();
        let stdout = child.stdout.take();
        let proc = Proc { child };
        let (tx, lines) = mpsc::channel();
        if let Some(out) = stdout {
            std::thread::spawn(move || {
                for line in BufReader::new(out).lines().map_while(Result::ok) {
                    if tx.send(line).is_err() {
                        break;
                    }
                }
            });
        }
        Ok(Feeder {
            stdin,
            lines,
            log,
            proc,
        })
    }

    /// Wait for the line that starts with `word`; its `key=value` pairs.
    pub fn expect(
        &mut self,
        word: &str,
        timeout: Duration,
    ) -> Result<Vec<(String, String)>, String> {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    let mut words = line.split_whitespace();
                    if words.next() == Some(word) {
                        return Ok(words
                            .filter_map(|w| w.split_once('='))
                            .map(|(k, v)| (k.to_owned(), v.to_owned()))
                            .collect());
                    }
                }
                Err(RecvTimeoutError::Timeout) => {
                    return Err(format!("bgp-feed did not say `{word}` within {timeout:?}"));
                }
                Err(RecvTimeoutError::Disconnected) => {
                    let status = self.proc.exited().map(|s| s.to_string());
                    return Err(format!(
                        "bgp-feed ended before `{word}` ({})",
                        status.as_deref().unwrap_or("still running")
                    ));
                }
            }
        }
    }

    /// Release the table.
    pub fn go(&mut self) -> Result<(), String> {
        let stdin = self.stdin.as_mut().ok_or("bgp-feed's input is closed")?;
        stdin
            .write_all(b"go\n")
            .and_then(|()| stdin.flush())
            .map_err(|e| format!("telling bgp-feed to go: {e}"))
    }
}

/// The value of `key` among a line's pairs.
pub fn value<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

impl Drop for Feeder {
    fn drop(&mut self) {
        // Closing its input makes bgp-feed send a Cease and exit.
        drop(self.stdin.take());
    }
}
