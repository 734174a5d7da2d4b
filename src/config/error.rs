//! What is wrong with a configuration, and where.

use std::fmt;
use std::io;

/// A place in the configuration, as an operator writes it:
/// `neighbor[1].address`, `plan.host_bits`, `tenant[0].segments[2].id`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KeyPath(Vec<KeyStep>);

#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum KeyStep {
    Key(String),
    Index(usize),
}

impl KeyPath {
    /// The path of a top-level key.
    pub(super) fn root(key: &str) -> KeyPath {
        KeyPath(vec![KeyStep::Key(key.to_owned())])
    }

    /// This path followed by a key.
    pub(super) fn key(&self, key: &str) -> KeyPath {
        let mut steps = self.0.clone();
        steps.push(KeyStep::Key(key.to_owned()));
        KeyPath(steps)
    }

    /// This path followed by an array index.
    pub(super) fn index(&self, index: usize) -> KeyPath {
        let mut steps = self.0.clone();
        steps.push(KeyStep::Index(index));
        KeyPath(steps)
    }

    pub(super) fn push(&mut self, step: KeyStep) {
        self.0.push(step);
    }

    pub(super) fn steps(&self) -> &[KeyStep] {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Display for KeyPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, step) in self.0.iter().enumerate() {
            match step {
                KeyStep::Key(k) if i == 0 => f.write_str(k)?,
                KeyStep::Key(k) => write!(f, ".{k}")?,
                KeyStep::Index(n) => write!(f, "[{n}]")?,
            }
        }
        Ok(())
    }
}

/// A 1-based line and column in the configuration text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Position {
    pub line: usize,
    pub column: usize,
}

impl Position {
    /// The position of a byte offset into `text`.
    pub(super) fn of(text: &str, offset: usize) -> Position {
        let before = text.get(..offset).unwrap_or(text);
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        Position {
            line: before.matches('\n').count() + 1,
            column: before.get(line_start..).map_or(0, |l| l.chars().count()) + 1,
        }
    }
}

/// Why a configuration was refused. Its `Display` is one line an operator
/// can act on: the file, the line, the key, the reason and what is allowed.
#[derive(Debug)]
pub struct ConfigError {
    origin: String,
    kind: ConfigErrorKind,
}

#[derive(Debug)]
pub enum ConfigErrorKind {
    /// The file could not be read.
    Read(io::Error),
    /// The text is not TOML.
    Syntax {
        position: Option<Position>,
        message: String,
    },
    /// A key is unknown, missing, of the wrong type, or has a value the
    /// daemon cannot use.
    Key {
        key: KeyPath,
        position: Option<Position>,
        reason: String,
    },
}

impl ConfigError {
    pub(super) fn new(origin: &str, kind: ConfigErrorKind) -> ConfigError {
        ConfigError {
            origin: origin.to_owned(),
            kind,
        }
    }

    /// The file (or other origin) the configuration came from.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    pub fn kind(&self) -> &ConfigErrorKind {
        &self.kind
    }

    /// The key at fault, if the error is about one.
    pub fn key(&self) -> Option<&KeyPath> {
        match &self.kind {
            ConfigErrorKind::Key { key, .. } if !key.is_empty() => Some(key),
            _ => None,
        }
    }

    /// Where in the text, if known.
    pub fn position(&self) -> Option<Position> {
        match &self.kind {
            ConfigErrorKind::Read(_) => None,
            ConfigErrorKind::Syntax { position, .. } | ConfigErrorKind::Key { position, .. } => {
                *position
            }
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.origin)?;
        if let Some(Position { line, column }) = self.position() {
            write!(f, ":{line}:{column}")?;
        }
        match &self.kind {
            ConfigErrorKind::Read(e) => write!(f, ": cannot read the configuration: {e}"),
            ConfigErrorKind::Syntax { message, .. } => write!(f, ": not valid TOML: {message}"),
            ConfigErrorKind::Key { key, reason, .. } if key.is_empty() => write!(f, ": {reason}"),
            ConfigErrorKind::Key { key, reason, .. } => write!(f, ": {key}: {reason}"),
        }
    }
}

impl std::error::Error for ConfigError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.kind {
            ConfigErrorKind::Read(e) => Some(e),
            _ => None,
        }
    }
}

/// A semantic error found while checking the parsed file: the key and the
/// reason. It gets its origin and position when it leaves the module.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Invalid {
    pub key: KeyPath,
    pub reason: String,
}

impl Invalid {
    pub fn new(key: KeyPath, reason: impl Into<String>) -> Invalid {
        Invalid {
            key,
            reason: reason.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_paths_read_like_the_file() {
        let path = KeyPath::root("neighbor").index(1).key("import").index(0);
        assert_eq!(path.to_string(), "neighbor[1].import[0]");
        assert_eq!(
            KeyPath::root("plan").key("host_bits").to_string(),
            "plan.host_bits"
        );
    }

    #[test]
    fn positions_are_one_based_and_count_characters() {
        let text = "a = 1\nbé = \"x\"\n";
        assert_eq!(Position::of(text, 0), Position { line: 1, column: 1 });
        let x = text.find("\"x").unwrap();
        assert_eq!(Position::of(text, x), Position { line: 2, column: 6 });
        assert_eq!(Position::of(text, 10_000).line, 3);
    }

    #[test]
    fn display_names_file_line_key_and_reason() {
        let e = ConfigError::new(
            "/etc/romana-bgp.toml",
            ConfigErrorKind::Key {
                key: KeyPath::root("plan").key("host_bits"),
                position: Some(Position {
                    line: 7,
                    column: 13,
                }),
                reason: "too wide".into(),
            },
        );
        assert_eq!(
            e.to_string(),
            "/etc/romana-bgp.toml:7:13: plan.host_bits: too wide"
        );
        assert_eq!(
            e.key().map(ToString::to_string).as_deref(),
            Some("plan.host_bits")
        );
    }
}
