//! The endpoint state on disk: a snapshot and a journal of the changes
//! since, so that persisting one change costs the same with ten endpoints
//! or ten thousand.
//!
//! - `endpoints.json`, the snapshot: `{"version":1,"generation":G,
//!   "endpoints":[...]}`, only ever replaced whole (write `.tmp`, fsync,
//!   rename, fsync the directory), so it is the old file or the new one.
//! - `endpoints.log`, the journal: a header line `{"version":1,
//!   "generation":G}`, then one change per line, `{"add":{...}}` or
//!   `{"remove":"NAME"}`. A change is appended and `fdatasync`ed before the
//!   caller learns of it.
//!
//! Rewriting the snapshot for every change was measured here at 18 ms per
//! add with 10,000 endpoints (a 2.5 MB file to write and flush); an append
//! is one short write and one flush.
//!
//! The journal applies only to the snapshot of its generation. Compaction
//! (at open, and when the journal has grown as long as the state) writes
//! the snapshot of generation G+1 first, then a fresh journal of G+1: a
//! crash in between leaves a journal of G, which is ignored, since the new
//! snapshot holds everything. A crash during an append leaves a last line
//! without its newline, which was never acknowledged and is dropped. Any
//! other damage is an error: starting without a change that was
//! acknowledged would hand its address out twice.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{Endpoint, EndpointError};

pub(super) const SNAPSHOT: &str = "endpoints.json";
pub(super) const JOURNAL: &str = "endpoints.log";

/// The format this build reads and writes. Another version is refused
/// rather than guessed at.
const VERSION: u32 = 1;

/// The journal is compacted once it holds this many changes, or as many as
/// there are endpoints if that is more, so compaction costs O(1) per change.
const MIN_COMPACTION: usize = 4096;

/// One change, as the journal records it.
#[derive(Clone, Copy, Debug, Serialize)]
#[serde(rename_all = "lowercase")]
pub(super) enum Change<'a> {
    Add(&'a Endpoint),
    Remove(&'a str),
}

#[derive(Deserialize)]
#[serde(rename_all = "lowercase", deny_unknown_fields)]
enum ReadChange {
    Add(Endpoint),
    Remove(String),
}

#[derive(Serialize, Deserialize)]
struct Header {
    version: u32,
    #[serde(default)]
    generation: u64,
}

#[derive(Serialize)]
struct SnapshotOut<'a> {
    version: u32,
    generation: u64,
    endpoints: Vec<&'a Endpoint>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SnapshotIn {
    #[serde(rename = "version")]
    _version: u32,
    #[serde(default)]
    generation: u64,
    endpoints: Vec<Endpoint>,
}

#[derive(Debug)]
pub(super) struct StateFile {
    dir: PathBuf,
    snapshot: PathBuf,
    journal_path: PathBuf,
    generation: u64,
    /// `None` after a failed append: the journal's end is unknown, so the
    /// next change compacts instead.
    journal: Option<File>,
    /// Octets of the journal that hold whole lines.
    journal_len: u64,
    changes: usize,
    /// Reused: every write is encoded here first.
    buffer: Vec<u8>,
}

impl StateFile {
    /// Opens the state in `dir` (created if missing), reads the snapshot
    /// and replays the journal, then compacts: the journal starts empty.
    pub(super) fn open(dir: &Path) -> Result<(StateFile, Vec<Endpoint>), EndpointError> {
        let mut file = StateFile {
            dir: dir.to_path_buf(),
            snapshot: dir.join(SNAPSHOT),
            journal_path: dir.join(JOURNAL),
            generation: 0,
            journal: None,
            journal_len: 0,
            changes: 0,
            buffer: Vec::new(),
        };
        fs::create_dir_all(dir).map_err(|error| EndpointError::StateIo {
            path: dir.to_path_buf(),
            action: "create the directory of",
            error,
        })?;
        // Saves that crashed before their rename: the old files hold.
        for tmp in [tmp_path(&file.snapshot), tmp_path(&file.journal_path)] {
            match fs::remove_file(&tmp) {
                Err(error) if error.kind() != io::ErrorKind::NotFound => {
                    return Err(io_error(&tmp, "remove the leftover", error));
                }
                _ => {}
            }
        }
        let mut endpoints = file.read_snapshot()?;
        file.replay_journal(&mut endpoints)?;
        let endpoints: Vec<Endpoint> = endpoints.into_values().collect();
        file.compact(endpoints.iter())?;
        Ok((file, endpoints))
    }

    /// The snapshot, to name the state in messages.
    pub(super) fn path(&self) -> &Path {
        &self.snapshot
    }

    /// Makes `changes` durable. `current` is the whole state after them,
    /// written instead when the journal is due for compaction.
    pub(super) fn record<'a>(
        &mut self,
        changes: &[Change<'_>],
        current: impl ExactSizeIterator<Item = &'a Endpoint>,
    ) -> Result<(), EndpointError> {
        let due = self.changes + changes.len() > MIN_COMPACTION.max(current.len());
        match self.journal.as_mut() {
            Some(journal) if !due => {
                self.buffer.clear();
                for change in changes {
                    serde_json::to_writer(&mut self.buffer, change)
                        .map_err(|e| io::Error::other(e.to_string()))
                        .map_err(|e| io_error(&self.journal_path, "encode a change for", e))?;
                    self.buffer.push(b'\n');
                }
                let written = journal
                    .write_all(&self.buffer)
                    .and_then(|()| journal.sync_data());
                if let Err(error) = written {
                    // Cut off what may have been written, or, if even that
                    // fails, compact before the next change.
                    if journal.set_len(self.journal_len).is_err() {
                        self.journal = None;
                    }
                    return Err(io_error(&self.journal_path, "append to", error));
                }
                self.journal_len += self.buffer.len() as u64;
                self.changes += changes.len();
                Ok(())
            }
            _ => self.compact(current),
        }
    }

    fn read_snapshot(&mut self) -> Result<BTreeMap<String, Endpoint>, EndpointError> {
        let text = match fs::read(&self.snapshot) {
            Ok(text) => text,
            Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(BTreeMap::new()),
            Err(error) => return Err(io_error(&self.snapshot, "read", error)),
        };
        // The version first, so another release's file is named as such.
        parse_header(&text, &self.snapshot)?;
        let snapshot: SnapshotIn =
            serde_json::from_slice(&text).map_err(|e| corrupt(&self.snapshot, e.to_string()))?;
        self.generation = snapshot.generation;
        let mut endpoints = BTreeMap::new();
        for endpoint in snapshot.endpoints {
            if let Some(twice) = endpoints.insert(endpoint.name.clone(), endpoint) {
                return Err(corrupt(
                    &self.snapshot,
                    format!("endpoint {:?} is in it twice", twice.name),
                ));
            }
        }
        Ok(endpoints)
    }

    /// Applies the journal of the snapshot's generation; a journal of
    /// another generation is left from before the last compaction.
    fn replay_journal(
        &self,
        endpoints: &mut BTreeMap<String, Endpoint>,
    ) -> Result<(), EndpointError> {
        let path = &self.journal_path;
        let text = match fs::read(path) {
            Ok(text) => text,
            Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(error) => return Err(io_error(path, "read", error)),
        };
        // Only the last line can be cut short: by a crash during an
        // append that was never acknowledged.
        let whole = text
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(&text[..0], |end| &text[..=end]);
        let mut lines = whole.split_inclusive(|&b| b == b'\n');
        let Some(first) = lines.next() else {
            return Ok(());
        };
        if parse_header(first, path)?.generation != self.generation {
            return Ok(());
        }
        for (number, line) in lines.enumerate() {
            let change: ReadChange = serde_json::from_slice(line)
                .map_err(|e| corrupt(path, format!("line {}: {e}", number + 2)))?;
            match change {
                ReadChange::Add(endpoint) => {
                    if endpoints.contains_key(&endpoint.name) {
                        return Err(corrupt(
                            path,
                            format!(
                                "line {}: endpoint {:?} is added while it exists",
                                number + 2,
                                endpoint.name
                            ),
                        ));
                    }
                    endpoints.insert(endpoint.name.clone(), endpoint);
                }
                ReadChange::Remove(name) => {
                    if endpoints.remove(&name).is_none() {
                        return Err(corrupt(
                            path,
                            format!(
                                "line {}: endpoint {name:?} is removed while it does not exist",
                                number + 2
                            ),
                        ));
                    }
                }
            }
        }
        Ok(())
    }

    /// Writes the whole state as the snapshot of the next generation, then
    /// starts its empty journal.
    fn compact<'a>(
        &mut self,
        endpoints: impl Iterator<Item = &'a Endpoint>,
    ) -> Result<(), EndpointError> {
        let generation = self.generation + 1;
        self.buffer.clear();
        serde_json::to_writer(
            &mut self.buffer,
            &SnapshotOut {
                version: VERSION,
                generation,
                endpoints: endpoints.collect(),
            },
        )
        .map_err(|e| io_error(&self.snapshot, "encode", io::Error::other(e.to_string())))?;
        self.buffer.push(b'\n');
        replace(&self.dir, &self.snapshot, &self.buffer)?;
        self.generation = generation;
        // From here the old journal no longer applies, whatever happens.
        self.journal = None;
        self.buffer.clear();
        serde_json::to_writer(
            &mut self.buffer,
            &Header {
                version: VERSION,
                generation,
            },
        )
        .map_err(|e| {
            io_error(
                &self.journal_path,
                "encode",
                io::Error::other(e.to_string()),
            )
        })?;
        self.buffer.push(b'\n');
        replace(&self.dir, &self.journal_path, &self.buffer)?;
        let journal = OpenOptions::new()
            .append(true)
            .open(&self.journal_path)
            .map_err(|e| io_error(&self.journal_path, "open", e))?;
        self.journal_len = self.buffer.len() as u64;
        self.journal = Some(journal);
        self.changes = 0;
        Ok(())
    }
}

/// Replaces `path` with `contents`: durable and whole when it returns, the
/// old file if it fails or the machine crashes before.
fn replace(dir: &Path, path: &Path, contents: &[u8]) -> Result<(), EndpointError> {
    let tmp = tmp_path(path);
    let mut file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(|e| io_error(path, "create the temporary file of", e))?;
    file.write_all(contents)
        .and_then(|()| file.sync_all())
        .map_err(|e| io_error(path, "write", e))?;
    drop(file);
    fs::rename(&tmp, path).map_err(|e| io_error(path, "replace", e))?;
    // The rename is durable only once the directory entry is.
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| io_error(path, "sync the directory of", e))
}

fn tmp_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".tmp");
    PathBuf::from(name)
}

/// The version and generation of a snapshot or of a journal's first line.
fn parse_header(text: &[u8], path: &Path) -> Result<Header, EndpointError> {
    let header: Header = serde_json::from_slice(text)
        .map_err(|e| corrupt(path, format!("not a versioned endpoint state: {e}")))?;
    if header.version != VERSION {
        return Err(corrupt(
            path,
            format!(
                "it has format version {}, and this romana-bgp reads version {VERSION} \
                 (was it written by another release?)",
                header.version
            ),
        ));
    }
    Ok(header)
}

fn corrupt(path: &Path, reason: String) -> EndpointError {
    EndpointError::StateCorrupt {
        path: path.to_path_buf(),
        reason,
    }
}

fn io_error(path: &Path, action: &'static str, error: io::Error) -> EndpointError {
    EndpointError::StateIo {
        path: path.to_path_buf(),
        action,
        error,
    }
}

#[cfg(test)]
impl StateFile {
    /// Swaps the journal for a handle that cannot be written, so the next
    /// append fails as on a full or failing disk.
    pub(super) fn break_journal(&mut self) {
        self.journal = Some(File::open(&self.journal_path).expect("the journal exists"));
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;
    use crate::endpoint::Attachment;

    struct TempDir(PathBuf);

    impl TempDir {
        fn new(test: &str) -> TempDir {
            let dir =
                std::env::temp_dir().join(format!("romana-state-{test}-{}", std::process::id()));
            let _ = fs::remove_dir_all(&dir);
            TempDir(dir)
        }

        fn write(&self, name: &str, text: &str) {
            fs::create_dir_all(&self.0).unwrap();
            fs::write(self.0.join(name), text).unwrap();
        }

        fn read(&self, name: &str) -> String {
            fs::read_to_string(self.0.join(name)).unwrap()
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    fn endpoint(name: &str, id: u32) -> Endpoint {
        Endpoint {
            name: name.into(),
            tenant: "blue".into(),
            segment: "web".into(),
            tenant_id: 1,
            segment_id: 1,
            endpoint_id: id,
            address: Ipv4Addr::from(0x0a01_1100 | id),
            gateway: Ipv4Addr::new(10, 1, 0, 1),
            interface: format!("tap{id}"),
            attachment: Attachment::Tap,
        }
    }

    fn json(endpoint: &Endpoint) -> String {
        serde_json::to_string(endpoint).unwrap()
    }

    fn names(endpoints: &[Endpoint]) -> Vec<&str> {
        endpoints.iter().map(|e| e.name.as_str()).collect()
    }

    #[test]
    fn changes_go_to_the_journal_and_come_back() {
        let dir = TempDir::new("journal");
        let (mut file, endpoints) = StateFile::open(&dir.0).unwrap();
        assert!(endpoints.is_empty());
        let (a, b) = (endpoint("a", 1), endpoint("b", 2));
        file.record(&[Change::Add(&a)], [&a].into_iter()).unwrap();
        file.record(&[Change::Add(&b)], [&a, &b].into_iter())
            .unwrap();
        file.record(&[Change::Remove("a")], [&b].into_iter())
            .unwrap();
        let journal = dir.read(JOURNAL);
        let lines: Vec<&str> = journal.lines().collect();
        assert_eq!(lines.len(), 4, "{journal}");
        assert!(
            lines[1].starts_with("{\"add\":{\"name\":\"a\""),
            "{journal}"
        );
        assert_eq!(lines[3], "{\"remove\":\"a\"}");
        drop(file);
        let (_, endpoints) = StateFile::open(&dir.0).unwrap();
        assert_eq!(endpoints, [b]);
        assert_eq!(dir.read(JOURNAL).lines().count(), 1, "compacted at open");
    }

    #[test]
    fn a_torn_last_line_was_never_acknowledged() {
        let dir = TempDir::new("torn");
        let a = endpoint("a", 1);
        dir.write(
            SNAPSHOT,
            "{\"version\":1,\"generation\":3,\"endpoints\":[]}",
        );
        dir.write(
            JOURNAL,
            &format!(
                "{{\"version\":1,\"generation\":3}}\n{{\"add\":{}}}\n{{\"add\":{{\"name\":\"b",
                json(&a)
            ),
        );
        let (_, endpoints) = StateFile::open(&dir.0).unwrap();
        assert_eq!(endpoints, [a]);
    }

    #[test]
    fn a_whole_line_that_does_not_read_is_an_error() {
        let dir = TempDir::new("bad-line");
        dir.write(
            SNAPSHOT,
            "{\"version\":1,\"generation\":3,\"endpoints\":[]}",
        );
        dir.write(
            JOURNAL,
            "{\"version\":1,\"generation\":3}\n{\"add\":{\"name\":\"b\"}}\n",
        );
        let err = StateFile::open(&dir.0).unwrap_err();
        assert!(matches!(err, EndpointError::StateCorrupt { .. }), "{err}");
        assert!(err.to_string().contains("line 2"), "{err}");
        assert!(err.to_string().contains(JOURNAL), "{err}");
    }

    #[test]
    fn a_journal_of_another_generation_is_not_applied() {
        // A crash after the snapshot of generation 4 was written and before
        // its journal was: the journal of 3 is already in the snapshot.
        let dir = TempDir::new("stale");
        let a = endpoint("a", 1);
        dir.write(
            SNAPSHOT,
            &format!(
                "{{\"version\":1,\"generation\":4,\"endpoints\":[{}]}}",
                json(&a)
            ),
        );
        dir.write(
            JOURNAL,
            &format!(
                "{{\"version\":1,\"generation\":3}}\n{{\"add\":{}}}\n",
                json(&a)
            ),
        );
        let (_, endpoints) = StateFile::open(&dir.0).unwrap();
        assert_eq!(endpoints, [a]);
    }

    #[test]
    fn changes_that_contradict_the_state_are_errors() {
        let dir = TempDir::new("contradict");
        let a = endpoint("a", 1);
        let snapshot = format!(
            "{{\"version\":1,\"generation\":1,\"endpoints\":[{}]}}",
            json(&a)
        );
        for (journal, expected) in [
            (format!("{{\"add\":{}}}", json(&a)), "added while it exists"),
            (
                "{\"remove\":\"zz\"}".to_owned(),
                "removed while it does not exist",
            ),
        ] {
            dir.write(SNAPSHOT, &snapshot);
            dir.write(
                JOURNAL,
                &format!("{{\"version\":1,\"generation\":1}}\n{journal}\n"),
            );
            let err = StateFile::open(&dir.0).unwrap_err();
            assert!(err.to_string().contains(expected), "{err}");
        }
        dir.write(
            SNAPSHOT,
            &format!(
                "{{\"version\":1,\"generation\":1,\"endpoints\":[{},{}]}}",
                json(&a),
                json(&a)
            ),
        );
        let err = StateFile::open(&dir.0).unwrap_err();
        assert!(err.to_string().contains("in it twice"), "{err}");
    }

    #[test]
    fn another_version_is_refused() {
        let dir = TempDir::new("version");
        dir.write(
            SNAPSHOT,
            "{\"version\":1,\"generation\":1,\"endpoints\":[]}",
        );
        dir.write(JOURNAL, "{\"version\":2,\"generation\":1}\n");
        let err = StateFile::open(&dir.0).unwrap_err();
        assert!(err.to_string().contains("format version 2"), "{err}");
    }

    #[test]
    fn a_journal_longer_than_the_state_is_compacted() {
        let dir = TempDir::new("compact");
        let (mut file, _) = StateFile::open(&dir.0).unwrap();
        let many: Vec<Endpoint> = (1..=MIN_COMPACTION as u32)
            .map(|i| endpoint(&format!("e{i}"), i))
            .collect();
        let adds: Vec<Change<'_>> = many.iter().map(Change::Add).collect();
        file.record(&adds, many.iter()).unwrap();
        assert_eq!(
            dir.read(JOURNAL).lines().count(),
            MIN_COMPACTION + 1,
            "as long as the state: appended"
        );
        // Churn: one more change than the state has endpoints.
        let churn = endpoint("churn", 9999);
        file.record(&[Change::Add(&churn), Change::Remove("churn")], many.iter())
            .unwrap();
        assert_eq!(dir.read(JOURNAL).lines().count(), 1, "only the header");
        assert!(dir.read(SNAPSHOT).contains("\"e4096\""));
        drop(file);
        let (_, endpoints) = StateFile::open(&dir.0).unwrap();
        assert_eq!(endpoints.len(), MIN_COMPACTION);
    }

    #[test]
    fn after_a_failed_append_the_next_change_compacts() {
        let dir = TempDir::new("failed-append");
        let (mut file, _) = StateFile::open(&dir.0).unwrap();
        let (a, b) = (endpoint("a", 1), endpoint("b", 2));
        file.record(&[Change::Add(&a)], [&a].into_iter()).unwrap();
        file.break_journal();
        let err = file
            .record(&[Change::Add(&b)], [&a, &b].into_iter())
            .unwrap_err();
        assert!(matches!(err, EndpointError::StateIo { .. }), "{err}");
        // The caller forgot b; the journal's end is unknown, so the state
        // is written whole.
        file.record(&[Change::Remove("a")], std::iter::empty())
            .unwrap();
        drop(file);
        let (_, endpoints) = StateFile::open(&dir.0).unwrap();
        assert!(names(&endpoints).is_empty(), "{endpoints:?}");
    }
}
