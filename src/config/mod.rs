//! The configuration file: TOML, checked strictly and completely before the
//! daemon touches anything, so it never starts half-configured.
//!
//! ```toml
//! [host]
//! asn = 65001
//! router_id = "192.168.10.2"
//! index = 1                  # this host's block in the plan
//!
//! [plan]                     # IPv4 only; see `crate::plan`
//! cidr = "10.0.0.0/8"
//! host_bits = 8
//! tenant_bits = 4
//! segment_bits = 4           # the rest are endpoint bits
//!
//! [[tenant]]                 # ids from 1; 0 is the host's own
//! name = "blue"
//! id = 1
//! segments = [ { name = "web", id = 1 }, { name = "db", id = 2 } ]
//!
//! [[neighbor]]               # none: the host serves endpoints without BGP
//! address = "192.168.10.1"
//! remote_as = 65000
//! # optional, with their defaults (see `neighbor`):
//! # port = 179, passive = false, hold_time = 9, password = "...",
//! # ttl_security = false, graceful_restart = true, max_prefixes = (none),
//! # idle_hold_time = 1, idle_hold_max = 60, connect_retry = 5,
//! # import = ["0.0.0.0/0", "::/0"], local_address = "..."
//!
//! [[policy]]                 # isolation exceptions; see `tenant`
//! from = "blue/web"
//! to = "blue/db"
//!
//! [isolation]
//! outside = "allow"          # or "deny": endpoints and addresses outside the plan
//!
//! [api]
//! socket = "/run/romana-bgp/romana-bgp.sock"
//!
//! [state]
//! dir = "/var/lib/romana-bgp"
//! ```
//!
//! A key that is not known, a value of the wrong type, or a value the
//! daemon cannot use is an error that names the file, line and key path
//! (`neighbor[1].address`) and says what is allowed. A configuration without
//! a neighbor is valid: the host then serves its endpoints and isolation
//! alone, which is how a single host or one waiting for its leaf runs.

mod error;
mod host;
mod locate;
mod neighbor;
mod raw;
mod tenant;

use std::io::Read;
use std::path::{Path, PathBuf};

use serde::Deserialize;

pub use error::{ConfigError, ConfigErrorKind, KeyPath, Position};
pub use host::HostConfig;
pub use neighbor::{
    DEFAULT_CONNECT_RETRY, DEFAULT_GRACEFUL_RESTART, DEFAULT_HOLD_TIME, DEFAULT_IDLE_HOLD_MAX,
    DEFAULT_IDLE_HOLD_TIME, DEFAULT_PORT, HoldTime, Neighbor, Password, TTL_SECURITY_HOPS,
};
pub use tenant::{EndpointGroup, IsolationPolicy, MAX_NAME_LEN, Segment, Tenant};

use crate::plan::Plan;
use error::Invalid;
use raw::RawConfig;

pub const DEFAULT_SOCKET: &str = "/run/romana-bgp/romana-bgp.sock";
pub const DEFAULT_STATE_DIR: &str = "/var/lib/romana-bgp";

/// A configuration is a few kilobytes; this stops a wrong path (a device,
/// a log) from being read whole.
const MAX_FILE_BYTES: u64 = 4 << 20;

/// `sun_path` of `struct sockaddr_un` holds 108 octets, one of them the NUL.
const MAX_SOCKET_PATH: usize = 107;

/// What endpoints may exchange with addresses outside the plan.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outside {
    #[default]
    Allow,
    Deny,
}

/// `[isolation]`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Isolation {
    pub outside: Outside,
}

/// `[api]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiConfig {
    /// The control socket.
    pub socket: PathBuf,
}

/// `[state]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StateConfig {
    /// Where the daemon keeps its state across restarts.
    pub dir: PathBuf,
}

/// A checked configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    pub host: HostConfig,
    pub plan: Plan,
    pub tenants: Vec<Tenant>,
    pub neighbors: Vec<Neighbor>,
    pub policies: Vec<IsolationPolicy>,
    pub isolation: Isolation,
    pub api: ApiConfig,
    pub state: StateConfig,
}

impl Config {
    /// Read and check the file at `path`.
    pub fn load(path: impl AsRef<Path>) -> Result<Config, ConfigError> {
        let path = path.as_ref();
        let origin = path.display().to_string();
        let read_error = |e| ConfigError::new(&origin, ConfigErrorKind::Read(e));
        let file = std::fs::File::open(path).map_err(read_error)?;
        let mut text = String::new();
        file.take(MAX_FILE_BYTES + 1)
            .read_to_string(&mut text)
            .map_err(read_error)?;
        if text.len() as u64 > MAX_FILE_BYTES {
            return Err(read_error(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("larger than {MAX_FILE_BYTES} bytes; is this the configuration file?"),
            )));
        }
        Config::parse(&text, &origin)
    }

    /// Check a configuration's text; `origin` names it in errors (the file
    /// path, as a rule).
    pub fn parse(text: &str, origin: &str) -> Result<Config, ConfigError> {
        let raw: RawConfig = toml::from_str(text).map_err(|e| toml_error(&e, text, origin))?;
        Config::check(&raw).map_err(|invalid| {
            let position = locate::span_of(text, &invalid.key).map(|s| Position::of(text, s.start));
            ConfigError::new(
                origin,
                ConfigErrorKind::Key {
                    key: invalid.key,
                    position,
                    reason: invalid.reason,
                },
            )
        })
    }

    fn check(raw: &RawConfig) -> Result<Config, Invalid> {
        let plan = host::plan(&raw.plan)?;
        let host = host::host(&raw.host, &plan)?;
        let tenants = tenant::tenants(&raw.tenant, &plan)?;
        let mut neighbors: Vec<Neighbor> = Vec::with_capacity(raw.neighbor.len());
        for (i, raw_neighbor) in raw.neighbor.iter().enumerate() {
            let at = KeyPath::root("neighbor").index(i);
            let n = neighbor::neighbor(raw_neighbor, &at)?;
            if let Some(j) = neighbors.iter().position(|o| o.address == n.address) {
                return Err(Invalid::new(
                    at.key("address"),
                    format!(
                        "{} is already configured as neighbor[{j}]; one session per address",
                        n.address
                    ),
                ));
            }
            neighbors.push(n);
        }
        let policies = tenant::policies(&raw.policy, &tenants)?;
        let socket = raw
            .api
            .socket
            .clone()
            .unwrap_or_else(|| PathBuf::from(DEFAULT_SOCKET));
        check_socket_path(&socket)?;
        let dir = raw
            .state
            .dir
            .clone()
            .unwrap_or_else(|| PathBuf::from(DEFAULT_STATE_DIR));
        if dir.as_os_str().is_empty() {
            return Err(Invalid::new(
                KeyPath::root("state").key("dir"),
                format!("is empty; name a directory, e.g. {DEFAULT_STATE_DIR}"),
            ));
        }
        Ok(Config {
            host,
            plan,
            tenants,
            neighbors,
            policies,
            isolation: Isolation {
                outside: raw.isolation.outside,
            },
            api: ApiConfig { socket },
            state: StateConfig { dir },
        })
    }

    pub fn tenant(&self, name: &str) -> Option<&Tenant> {
        self.tenants.iter().find(|t| t.name == name)
    }
}

fn check_socket_path(socket: &Path) -> Result<(), Invalid> {
    let key = KeyPath::root("api").key("socket");
    let len = socket.as_os_str().len();
    if len == 0 {
        return Err(Invalid::new(
            key,
            format!("is empty; name a path, e.g. {DEFAULT_SOCKET}"),
        ));
    }
    if len > MAX_SOCKET_PATH {
        return Err(Invalid::new(
            key,
            format!("is {len} bytes long; a unix socket path holds at most {MAX_SOCKET_PATH}"),
        ));
    }
    Ok(())
}

/// toml's errors carry a span; turn it into a line and the key it is in.
/// A schema error about the whole document (a missing top-level table) has
/// an empty span at its start, which is no place to point at.
fn toml_error(e: &toml::de::Error, text: &str, origin: &str) -> ConfigError {
    let message = operator_words(e.message());
    let kind = if toml::de::DeTable::parse(text).is_err() {
        ConfigErrorKind::Syntax {
            position: e.span().map(|s| Position::of(text, s.start)),
            message,
        }
    } else {
        let offset = e.span().filter(|s| !s.is_empty()).map(|s| s.start);
        ConfigErrorKind::Key {
            key: offset.map(|o| locate::key_at(text, o)).unwrap_or_default(),
            position: offset.map(|o| Position::of(text, o)),
            reason: message,
        }
    };
    ConfigError::new(origin, kind)
}

/// serde speaks of fields and sequences; a TOML file has keys and arrays.
fn operator_words(message: &str) -> String {
    message
        .trim()
        .replace('\n', "; ")
        .replace("missing field", "missing key")
        .replace("unknown field", "unknown key")
        .replace("expected a sequence", "expected an array")
}

#[cfg(test)]
mod tests;
