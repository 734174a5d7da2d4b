//! Running the system's tools (`ip`, `kill`, FRR's binaries) and turning
//! their failures into errors that show the command and what it printed.

use std::ffi::OsStr;
use std::process::{Command, Output, Stdio};

use crate::error::LabError;

/// `cmd` as a shell-like line for messages.
pub fn describe(cmd: &Command) -> String {
    let mut line = quote(cmd.get_program());
    for arg in cmd.get_args() {
        line.push(' ');
        line.push_str(&quote(arg));
    }
    line
}

fn quote(word: &OsStr) -> String {
    let word = word.to_string_lossy();
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=@%+,".contains(c));
    if plain {
        word.into_owned()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

/// Runs `cmd` to completion with no input.
pub fn output(cmd: &mut Command) -> Result<Output, LabError> {
    cmd.stdin(Stdio::null())
        .output()
        .map_err(|source| LabError::Spawn {
            program: describe(cmd),
            source,
        })
}

/// Runs `cmd` and requires success; returns what it printed on stdout.
pub fn run(cmd: &mut Command) -> Result<String, LabError> {
    let out = output(cmd)?;
    if out.status.success() {
        return Ok(String::from_utf8_lossy(&out.stdout).into_owned());
    }
    let mut printed = String::from_utf8_lossy(&out.stdout).into_owned();
    printed.push_str(&String::from_utf8_lossy(&out.stderr));
    Err(LabError::Command {
        command: describe(cmd),
        status: out.status,
        output: printed,
    })
}

/// `ip ARGS...`
pub fn ip<I, S>(args: I) -> Result<String, LabError>
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    run(Command::new("ip").args(args))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptions_quote_what_a_shell_would_split() {
        let mut cmd = Command::new("vtysh");
        cmd.args(["-c", "show bgp summary", "it's"]);
        assert_eq!(describe(&cmd), r"vtysh -c 'show bgp summary' 'it'\''s'");
    }

    #[test]
    fn a_failing_command_reports_its_line_and_output() {
        let err = run(Command::new("sh").args(["-c", "echo out; echo err >&2; exit 3"]))
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("`sh -c 'echo out; echo err >&2; exit 3'` failed"),
            "{err}"
        );
        assert!(err.contains("out\nerr"), "{err}");
    }

    #[test]
    fn a_missing_program_is_a_spawn_error() {
        let err = run(&mut Command::new("/nonexistent/romana-lab-test")).unwrap_err();
        assert!(matches!(err, LabError::Spawn { .. }), "{err}");
    }
}
