//! Names the lab hands to the kernel and the file system: lab prefixes, node
//! names (both become namespace and directory names) and interface names.

use crate::error::LabError;

/// `IFNAMSIZ` is 16 with the terminating NUL: the kernel refuses longer names.
pub const MAX_INTERFACE_NAME: usize = 15;

/// Long enough for any sensible name, short enough that the per-node unix
/// sockets stay under the 108-byte `sun_path` limit (see `layout`).
pub const MAX_NAME: usize = 32;

/// A lab prefix or a node name: it becomes part of a namespace name
/// (`<prefix>-<node>`) and a directory name, so only characters that are
/// plain in both are accepted.
pub fn check_name(what: &'static str, name: &str) -> Result<(), LabError> {
    check_chars(what, name, MAX_NAME)
}

/// An interface name inside a node's namespace (`eth1`).
pub fn check_interface(name: &str) -> Result<(), LabError> {
    check_chars("interface", name, MAX_INTERFACE_NAME)
}

fn check_chars(what: &'static str, name: &str, max: usize) -> Result<(), LabError> {
    let bad = |reason: String| LabError::BadName {
        what,
        name: name.to_owned(),
        reason,
    };
    if name.is_empty() {
        return Err(bad("is empty".into()));
    }
    if name.len() > max {
        return Err(bad(format!("is longer than {max} characters")));
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
    {
        return Err(bad(format!(
            "contains {c:?}; use letters, digits, '-', '_' and '.'"
        )));
    }
    if name.starts_with(['-', '.']) {
        return Err(bad("must not start with '-' or '.'".into()));
    }
    Ok(())
}

/// The namespace a node of a lab lives in.
pub fn netns(prefix: &str, node: &str) -> String {
    format!("{prefix}-{node}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interface_names_stop_at_the_kernel_limit() {
        assert!(check_interface("eth1").is_ok());
        assert!(check_interface("a23456789012345").is_ok());
        assert!(check_interface("a234567890123456").is_err());
    }

    #[test]
    fn names_that_would_be_paths_or_options_are_refused() {
        for name in ["", "a/b", "..", ".hidden", "-rf", "a b", "leaf:1"] {
            assert!(check_name("node", name).is_err(), "{name:?} accepted");
        }
        for name in ["leaf1", "t1", "rl-1234-a", "host_1.x"] {
            assert!(check_name("node", name).is_ok(), "{name:?} refused");
        }
    }

    #[test]
    fn namespace_is_prefix_dash_node() {
        assert_eq!(netns("t1", "leaf1"), "t1-leaf1");
    }
}
