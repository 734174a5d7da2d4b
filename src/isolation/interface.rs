//! Host-side endpoint interface names, checked once so that every one can be
//! written into an nft script as a quoted string without changing its
//! meaning.

use std::fmt;

/// Longest interface name Linux takes (`IFNAMSIZ` 16 with the NUL).
pub const MAX_INTERFACE_LEN: usize = 15;

/// An interface name the ruleset can hold: what Linux allows, narrowed to
/// letters, digits, `-`, `_` and `.`, so that no name can close nft's quotes
/// (`"`), become a wildcard (`*`) or carry a statement into the script.
/// Container veths (`rb0a011105`), libvirt taps (`vnet0`) and OpenStack taps
/// (`tap1b2c3d4e-5f`) all fit.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct InterfaceName(String);

impl InterfaceName {
    pub fn new(name: &str) -> Result<InterfaceName, InvalidInterfaceName> {
        let allowed = name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
        // Linux refuses "." and "..": they would be directories in sysfs.
        let dots = name == "." || name == "..";
        if name.is_empty() || name.len() > MAX_INTERFACE_LEN || !allowed || dots {
            return Err(InvalidInterfaceName {
                name: name.to_owned(),
            });
        }
        Ok(InterfaceName(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for InterfaceName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A name [`InterfaceName::new`] refuses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvalidInterfaceName {
    pub name: String,
}

impl fmt::Display for InvalidInterfaceName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:?} cannot be an endpoint interface: use 1 to {MAX_INTERFACE_LEN} letters, digits, \
             `-`, `_` or `.` (rename the interface, e.g. with `ip link set NAME name NEW`)",
            self.name
        )
    }
}

impl std::error::Error for InvalidInterfaceName {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_of_veths_and_taps_are_taken() {
        for name in [
            "rb0a011105",
            "vnet0",
            "tap1b2c3d4e-5f",
            "eth0.100",
            "a_b",
            "x",
        ] {
            assert_eq!(InterfaceName::new(name).unwrap().as_str(), name);
        }
        assert!(InterfaceName::new("fifteen-chars-x").is_ok());
    }

    #[test]
    fn names_that_would_change_the_script_are_refused() {
        for name in [
            "",
            ".",
            "..",
            "sixteen-chars-xx",
            "a\"b",
            "a\";flush ruleset",
            "eth*",
            "a b",
            "a\nb",
            "a/b",
            "a:b",
            "a\\b",
            "é",
        ] {
            let err = InterfaceName::new(name).unwrap_err();
            assert_eq!(err.name, name);
        }
        assert!(
            InterfaceName::new("a*")
                .unwrap_err()
                .to_string()
                .contains("use 1 to 15 letters")
        );
    }
}
