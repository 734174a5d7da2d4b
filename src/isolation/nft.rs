//! Running `nft` (Debian's `nftables` package): the only way the daemon
//! touches its table. Each call is one short process and blocks until nft
//! is done, a few milliseconds (tens with thousands of endpoints); from
//! async code, call through `tokio::task::spawn_blocking`.

use std::io::{self, Write};
use std::process::{Command, Stdio};

use serde_json::Value;

use super::drift::{Shape, difference};
use super::error::NftError;
use super::ruleset::{DROP_TABLE, Ruleset, TABLE_FAMILY, TABLE_NAME};

const NFT: &str = "nft";

/// How the live table compares with a rendered [`Ruleset`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TableState {
    /// As rendered.
    Current,
    /// No `inet romana` table: never applied, removed, or gone with a
    /// `nft flush ruleset`.
    Missing,
    /// There but changed, for instance flushed by hand; the first
    /// difference, in words for the log.
    Changed(String),
}

/// Replaces the live table with `ruleset` in one transaction: packets meet
/// the old table or the new one, never a mix, and if nft refuses, the old
/// one stays.
pub fn apply(ruleset: &Ruleset) -> Result<(), NftError> {
    let doing = "replace table inet romana";
    nft(&["-f", "-"], Some(&ruleset.script()), doing).map(drop)
}

/// Deletes the table; nothing to do if it is not there.
pub fn remove() -> Result<(), NftError> {
    let doing = "delete table inet romana";
    nft(&["-f", "-"], Some(DROP_TABLE), doing).map(drop)
}

/// Whether an `inet romana` table exists, whatever it holds.
pub fn present() -> Result<bool, NftError> {
    let doing = "list the inet tables";
    let output = nft(&["-j", "list", "tables", TABLE_FAMILY], None, doing)?;
    let unreadable = |reason: String| NftError::Unreadable { doing, reason };
    let root: Value =
        serde_json::from_str(&output).map_err(|e| unreadable(format!("not JSON: {e}")))?;
    let items = root
        .get("nftables")
        .and_then(Value::as_array)
        .ok_or_else(|| unreadable("no `nftables` array".to_owned()))?;
    Ok(items.iter().any(|item| {
        item.get("table")
            .and_then(|t| t.get("name"))
            .and_then(Value::as_str)
            == Some(TABLE_NAME)
    }))
}

/// Compares the live table with `ruleset`, for the reconciler: anything
/// but [`TableState::Current`] calls for [`apply`].
pub fn check(ruleset: &Ruleset) -> Result<TableState, NftError> {
    let doing = "list table inet romana";
    let output = match nft(
        &["-j", "list", "table", TABLE_FAMILY, TABLE_NAME],
        None,
        doing,
    ) {
        Ok(output) => output,
        // nft's "No such file or directory" is its only word for a missing
        // table; asking for the list of tables tells it from other errors.
        Err(e @ NftError::Refused { .. }) => {
            return if present()? {
                Err(e)
            } else {
                Ok(TableState::Missing)
            };
        }
        Err(e) => return Err(e),
    };
    let found = Shape::listed(&output).map_err(|reason| NftError::Unreadable { doing, reason })?;
    Ok(match difference(&Shape::expected(ruleset), &found) {
        None => TableState::Current,
        Some(reason) => TableState::Changed(reason),
    })
}

/// Runs nft with `script` on its standard input, if any, and returns what
/// it printed.
fn nft(args: &[&str], script: Option<&str>, doing: &'static str) -> Result<String, NftError> {
    let run = |source| NftError::Run { doing, source };
    let mut child = Command::new(NFT)
        .args(args)
        .stdin(if script.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(run)?;
    if let (Some(script), Some(mut stdin)) = (script, child.stdin.take()) {
        match stdin.write_all(script.as_bytes()) {
            // nft stops reading when it gives up on the script; its status
            // and stderr say why.
            Err(e) if e.kind() != io::ErrorKind::BrokenPipe => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(run(e));
            }
            _ => {}
        }
        // Dropping `stdin` here ends the script.
    }
    let output = child.wait_with_output().map_err(run)?;
    if !output.status.success() {
        return Err(NftError::Refused {
            doing,
            status: output.status,
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        });
    }
    String::from_utf8(output.stdout).map_err(|e| NftError::Unreadable {
        doing,
        reason: format!("not UTF-8: {e}"),
    })
}
