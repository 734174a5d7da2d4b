//! What `up` is told beyond the topology file.

use std::env;
use std::path::{Path, PathBuf};

use crate::error::LabError;

/// The environment variable that names the romana-bgp binary.
pub const ROMANA_BGP_ENV: &str = "ROMANA_BGP_BIN";

#[derive(Clone, Debug, Default)]
pub struct Options {
    /// The romana-bgp binary each host node runs. `None`: host nodes get
    /// their namespace, links, `exec` lines and config copy, but no daemon
    /// (start one later with `Lab::start_romana_bgp`).
    pub romana_bgp: Option<PathBuf>,
}

impl Options {
    /// Host nodes run no daemon.
    pub fn without_romana_bgp() -> Options {
        Options { romana_bgp: None }
    }

    /// Host nodes run this binary.
    pub fn with_romana_bgp(binary: impl Into<PathBuf>) -> Options {
        Options {
            romana_bgp: Some(binary.into()),
        }
    }
}

/// Finds the romana-bgp binary: `explicit` if given, else `$ROMANA_BGP_BIN`,
/// else the workspace's `target/debug/romana-bgp`, else `romana-bgp` on
/// `PATH`. The answer is absolute, so it works from inside any namespace
/// and directory.
pub fn locate_romana_bgp(explicit: Option<&Path>) -> Result<PathBuf, LabError> {
    if let Some(path) = explicit {
        return existing(path);
    }
    if let Some(path) = env::var_os(ROMANA_BGP_ENV) {
        return existing(Path::new(&path));
    }
    let workspace_build = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/debug/romana-bgp");
    if workspace_build.is_file() {
        return existing(&workspace_build);
    }
    let on_path = env::var_os("PATH")
        .iter()
        .flat_map(env::split_paths)
        .map(|dir| dir.join("romana-bgp"))
        .find(|candidate| candidate.is_file());
    match on_path {
        Some(path) => existing(&path),
        None => Err(LabError::RomanaBgpNotFound {
            looked: format!(
                "${ROMANA_BGP_ENV} (unset), {} and PATH",
                workspace_build.display()
            ),
        }),
    }
}

fn existing(path: &Path) -> Result<PathBuf, LabError> {
    path.canonicalize()
        .ok()
        .filter(|p| p.is_file())
        .ok_or_else(|| LabError::RomanaBgpNotFound {
            looked: path.display().to_string(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_explicit_binary_is_made_absolute() {
        let found = locate_romana_bgp(Some(Path::new("/bin/../bin/sh"))).unwrap();
        assert!(found.is_absolute());
        assert!(!found.to_string_lossy().contains(".."));
    }

    #[test]
    fn a_missing_explicit_binary_is_an_error_that_says_what_to_do() {
        let err = locate_romana_bgp(Some(Path::new("/nonexistent/romana-bgp")))
            .unwrap_err()
            .to_string();
        assert!(err.contains("/nonexistent/romana-bgp"), "{err}");
        assert!(err.contains("--no-romana-bgp"), "{err}");
    }
}
