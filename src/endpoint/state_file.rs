//! `DIR/endpoints.json`: every endpoint, written by atomic replacement.
//!
//! A save writes `endpoints.json.tmp`, fsyncs it, renames it over
//! `endpoints.json` and fsyncs the directory. A crash at any point leaves
//! either the old file or the new one, never a mix: before the rename the
//! old file is untouched (a leftover `.tmp` is removed at the next open),
//! after it the new file is complete on disk. A save that returned is
//! durable.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{Endpoint, EndpointError};

pub(super) const FILE_NAME: &str = "endpoints.json";
const TMP_NAME: &str = "endpoints.json.tmp";

/// The format this build reads and writes. A file of another version is
/// refused rather than guessed at.
const VERSION: u32 = 1;

#[derive(Serialize)]
struct StateOut<'a> {
    version: u32,
    endpoints: Vec<&'a Endpoint>,
}

#[derive(Deserialize)]
struct Versioned {
    version: u32,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StateIn {
    #[serde(rename = "version")]
    _version: u32,
    endpoints: Vec<Endpoint>,
}

#[derive(Debug)]
pub(super) struct StateFile {
    dir: PathBuf,
    path: PathBuf,
    tmp: PathBuf,
    /// Reused between saves: the file is rewritten whole each time.
    buffer: Vec<u8>,
}

impl StateFile {
    /// Opens the state in `dir` (created if missing) and reads the
    /// endpoints in it; no file is no endpoint.
    pub(super) fn open(dir: &Path) -> Result<(StateFile, Vec<Endpoint>), EndpointError> {
        let file = StateFile {
            dir: dir.to_path_buf(),
            path: dir.join(FILE_NAME),
            tmp: dir.join(TMP_NAME),
            buffer: Vec::new(),
        };
        fs::create_dir_all(dir).map_err(|error| EndpointError::StateIo {
            path: dir.to_path_buf(),
            action: "create the directory of",
            error,
        })?;
        // A save that crashed before its rename: the old file is the state.
        match fs::remove_file(&file.tmp) {
            Err(error) if error.kind() != io::ErrorKind::NotFound => {
                return Err(file.io_error("remove the leftover temporary file of", error));
            }
            _ => {}
        }
        let text = match fs::read(&file.path) {
            Ok(text) => text,
            Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok((file, Vec::new())),
            Err(error) => return Err(file.io_error("read", error)),
        };
        let endpoints = file.parse(&text)?;
        Ok((file, endpoints))
    }

    pub(super) fn path(&self) -> &Path {
        &self.path
    }

    fn parse(&self, text: &[u8]) -> Result<Vec<Endpoint>, EndpointError> {
        let corrupt = |reason: String| EndpointError::StateCorrupt {
            path: self.path.clone(),
            reason,
        };
        let versioned: Versioned = serde_json::from_slice(text)
            .map_err(|e| corrupt(format!("not a versioned endpoint list: {e}")))?;
        if versioned.version != VERSION {
            return Err(corrupt(format!(
                "it has format version {}, and this romana-bgp reads version {VERSION} \
                 (was it written by another release?)",
                versioned.version
            )));
        }
        let state: StateIn = serde_json::from_slice(text).map_err(|e| corrupt(e.to_string()))?;
        Ok(state.endpoints)
    }

    /// Replaces the file with these endpoints; durable when it returns.
    pub(super) fn save<'a>(
        &mut self,
        endpoints: impl Iterator<Item = &'a Endpoint>,
    ) -> Result<(), EndpointError> {
        let state = StateOut {
            version: VERSION,
            endpoints: endpoints.collect(),
        };
        self.buffer.clear();
        serde_json::to_writer(&mut self.buffer, &state)
            .map_err(|e| self.io_error("encode", io::Error::other(e)))?;
        self.buffer.push(b'\n');
        let mut tmp = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&self.tmp)
            .map_err(|e| self.io_error("create the temporary file of", e))?;
        tmp.write_all(&self.buffer)
            .and_then(|()| tmp.sync_all())
            .map_err(|e| self.io_error("write", e))?;
        drop(tmp);
        fs::rename(&self.tmp, &self.path).map_err(|e| self.io_error("replace", e))?;
        // The rename is durable only once the directory entry is.
        File::open(&self.dir)
            .and_then(|dir| dir.sync_all())
            .map_err(|e| self.io_error("sync the directory of", e))
    }

    fn io_error(&self, action: &'static str, error: io::Error) -> EndpointError {
        EndpointError::StateIo {
            path: self.path.clone(),
            action,
            error,
        }
    }
}
