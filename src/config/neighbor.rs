//! `[[neighbor]]`: one BGP session, to a leaf switch as a rule.
//!
//! The defaults are those of a datacenter, where the leaf is one hop away
//! and a dead session must be noticed in seconds, not minutes.

use std::fmt;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use bgp::Asn;

use super::error::{Invalid, KeyPath};
use super::host::asn;
use super::raw::RawNeighbor;
use crate::policy::ImportPolicy;
use crate::speaker::sockopt::MD5_MAX_KEY_LEN;

/// RFC 4271 §8: BGP listens and connects on TCP port 179.
pub const DEFAULT_PORT: u16 = 179;
/// Keepalives every 3 s, a dead leaf noticed in 9 s (FRR's datacenter
/// profile), instead of RFC 4271's suggested 90 s.
pub const DEFAULT_HOLD_TIME: HoldTime = HoldTime(9);
/// The first wait before a session may start again after an error.
pub const DEFAULT_IDLE_HOLD_TIME: Duration = Duration::from_secs(1);
/// The longest that wait grows to, doubling per consecutive error.
pub const DEFAULT_IDLE_HOLD_MAX: Duration = Duration::from_secs(60);
/// Between connection attempts. RFC 4271 §10 suggests 120 s; a leaf that
/// reboots must get its hosts back within seconds.
pub const DEFAULT_CONNECT_RETRY: Duration = Duration::from_secs(5);
/// On by default: the SPEC requires that restarting the daemon loses no
/// packet, which needs the leaf to keep this host's aggregate while the
/// session is down (RFC 4724).
pub const DEFAULT_GRACEFUL_RESTART: bool = true;
/// `ttl_security = true` means the neighbor is directly connected: RFC 5082
/// with one hop, the only case of a host and its leaf.
pub const TTL_SECURITY_HOPS: u8 = 1;

/// The Hold Time offered in OPEN, in seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct HoldTime(u16);

impl HoldTime {
    /// RFC 4271 §4.2: the Hold Time is zero (no keepalives) or at least
    /// three seconds.
    pub fn new(seconds: u16) -> Option<HoldTime> {
        (seconds == 0 || seconds >= 3).then_some(HoldTime(seconds))
    }

    pub fn seconds(self) -> u16 {
        self.0
    }

    pub fn as_duration(self) -> Duration {
        Duration::from_secs(u64::from(self.0))
    }
}

/// A TCP MD5 key (RFC 2385): 1 to 80 octets. `Debug` does not show it, so
/// a logged configuration does not leak it.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl Password {
    pub fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(..)")
    }
}

/// One configured BGP session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Neighbor {
    /// IPv4-mapped IPv6 addresses are stored as IPv4.
    pub address: IpAddr,
    pub remote_as: Asn,
    pub port: u16,
    /// Never connect; wait for the neighbor to.
    pub passive: bool,
    pub hold_time: HoldTime,
    pub password: Option<Password>,
    /// `Some(hops)` for RFC 5082 GTSM; `ttl_security = true` is
    /// [`TTL_SECURITY_HOPS`].
    pub ttl_security_hops: Option<u8>,
    pub graceful_restart: bool,
    /// The most prefixes this neighbor may have accepted by the import
    /// policy at once; one more ends the session with a Cease, "Maximum
    /// Number of Prefixes Reached" (RFC 4486 §4). No limit unless set: the
    /// default import policy keeps at most two routes per neighbor anyway,
    /// and an operator who widens it to take a full table (SPEC §4) must
    /// not be cut off by a limit they did not ask for.
    pub max_prefixes: Option<NonZeroU32>,
    /// RFC 4271 §8.1.1 DampPeerOscillations: after an error the session
    /// waits `idle_hold_time`, doubled per consecutive error up to
    /// `idle_hold_max`, before it may start again.
    pub idle_hold_time: Duration,
    pub idle_hold_max: Duration,
    /// RFC 4271 §8.1.3 ConnectRetryTime.
    pub connect_retry: Duration,
    pub import: ImportPolicy,
    /// The source address of the session, if not the kernel's choice.
    pub local_address: Option<IpAddr>,
}

fn unicast_address(text: &str, key: &KeyPath) -> Result<IpAddr, Invalid> {
    let invalid = |reason: String| Invalid::new(key.clone(), reason);
    let addr = text
        .parse::<IpAddr>()
        .map_err(|_| invalid(format!("`{text}` is not an IPv4 or IPv6 address")))?
        .to_canonical();
    let unusable = match addr {
        a if a.is_unspecified() => Some("the unspecified address"),
        a if a.is_multicast() => Some("a multicast address"),
        IpAddr::V4(a) if a.is_broadcast() => Some("the broadcast address"),
        IpAddr::V6(a) if a.is_unicast_link_local() => {
            return Err(invalid(format!(
                "{a} is link-local, which needs an interface, and the configuration has no key for one; use a global or IPv4 address"
            )));
        }
        _ => None,
    };
    match unusable {
        Some(what) => Err(invalid(format!(
            "{addr} is {what}; a BGP session needs one unicast address"
        ))),
        None => Ok(addr),
    }
}

fn family(addr: IpAddr) -> &'static str {
    if addr.is_ipv4() { "IPv4" } else { "IPv6" }
}

fn seconds_at_least_one(value: u32, key: KeyPath, why: &str) -> Result<Duration, Invalid> {
    if value == 0 {
        return Err(Invalid::new(
            key,
            format!("0 is not allowed: {why}; at least 1 second"),
        ));
    }
    Ok(Duration::from_secs(u64::from(value)))
}

fn password(text: Option<&str>, key: KeyPath) -> Result<Option<Password>, Invalid> {
    match text {
        None => Ok(None),
        Some("") => Err(Invalid::new(
            key,
            "is empty; remove the key for a session without TCP MD5",
        )),
        Some(p) if p.len() > MD5_MAX_KEY_LEN => Err(Invalid::new(
            key,
            format!(
                "is {} octets; a TCP MD5 key is at most {MD5_MAX_KEY_LEN} (the kernel's TCP_MD5SIG_MAXKEYLEN)",
                p.len()
            ),
        )),
        Some(p) => Ok(Some(Password(p.to_owned()))),
    }
}

/// `idle_hold_time` and `idle_hold_max`, the first no longer than the second.
fn idle_hold(raw: &RawNeighbor, key: &KeyPath) -> Result<(Duration, Duration), Invalid> {
    let idle_hold_time = match raw.idle_hold_time {
        None => DEFAULT_IDLE_HOLD_TIME,
        Some(s) => seconds_at_least_one(
            s,
            key.key("idle_hold_time"),
            "the wait after an error doubles from this value, and from 0 it never grows",
        )?,
    };
    let idle_hold_max = match raw.idle_hold_max {
        None => DEFAULT_IDLE_HOLD_MAX,
        Some(s) => seconds_at_least_one(
            s,
            key.key("idle_hold_max"),
            "a session must wait after an error",
        )?,
    };
    if idle_hold_time <= idle_hold_max {
        return Ok((idle_hold_time, idle_hold_max));
    }
    let (time, max) = (idle_hold_time.as_secs(), idle_hold_max.as_secs());
    const WHY: &str =
        "the wait after an error starts at idle_hold_time and doubles up to idle_hold_max";
    // Blame the key the operator wrote; if both, the maximum.
    Err(if raw.idle_hold_max.is_some() {
        Invalid::new(
            key.key("idle_hold_max"),
            format!("{max} s is shorter than idle_hold_time ({time} s); {WHY}"),
        )
    } else {
        Invalid::new(
            key.key("idle_hold_time"),
            format!(
                "{time} s is longer than idle_hold_max ({max} s, the default); raise idle_hold_max too: {WHY}"
            ),
        )
    })
}

/// The session's source address: unicast, of the neighbor's family.
fn local_address(text: &str, neighbor: IpAddr, key: KeyPath) -> Result<IpAddr, Invalid> {
    let local = unicast_address(text, &key)?;
    if local.is_ipv4() != neighbor.is_ipv4() {
        return Err(Invalid::new(
            key,
            format!(
                "{local} is {} but the neighbor {neighbor} is {}; the session's source must be of the neighbor's family",
                family(local),
                family(neighbor)
            ),
        ));
    }
    Ok(local)
}

pub(super) fn neighbor(raw: &RawNeighbor, key: &KeyPath) -> Result<Neighbor, Invalid> {
    let address = unicast_address(&raw.address, &key.key("address"))?;
    let remote_as = asn(raw.remote_as, key.key("remote_as"))?;

    let port = match raw.port {
        Some(0) => {
            return Err(Invalid::new(
                key.key("port"),
                format!("0 is not a TCP port; the default is {DEFAULT_PORT}"),
            ));
        }
        Some(port) => port,
        None => DEFAULT_PORT,
    };

    let hold_time = match raw.hold_time {
        None => DEFAULT_HOLD_TIME,
        Some(seconds) => HoldTime::new(seconds).ok_or_else(|| {
            Invalid::new(
                key.key("hold_time"),
                format!(
                    "{seconds} is not allowed: RFC 4271 §4.2 allows 0 (no keepalives) or at least 3 seconds"
                ),
            )
        })?,
    };

    let password = password(raw.password.as_deref(), key.key("password"))?;

    let max_prefixes = match raw.max_prefixes {
        None => None,
        Some(n) => Some(NonZeroU32::new(n).ok_or_else(|| {
            Invalid::new(
                key.key("max_prefixes"),
                "0 would refuse every route; remove the key for no limit",
            )
        })?),
    };

    let (idle_hold_time, idle_hold_max) = idle_hold(raw, key)?;

    let connect_retry = match raw.connect_retry {
        None => DEFAULT_CONNECT_RETRY,
        Some(s) => seconds_at_least_one(
            s,
            key.key("connect_retry"),
            "connection attempts must be spaced",
        )?,
    };

    let import = match &raw.import {
        None => ImportPolicy::default(),
        Some(entries) => ImportPolicy::parse(entries.iter().map(String::as_str))
            .map_err(|(i, e)| Invalid::new(key.key("import").index(i), e.to_string()))?,
    };

    let local_address = match &raw.local_address {
        None => None,
        Some(text) => Some(local_address(text, address, key.key("local_address"))?),
    };

    Ok(Neighbor {
        address,
        remote_as,
        port,
        passive: raw.passive.unwrap_or(false),
        hold_time,
        password,
        ttl_security_hops: (raw.ttl_security == Some(true)).then_some(TTL_SECURITY_HOPS),
        graceful_restart: raw.graceful_restart.unwrap_or(DEFAULT_GRACEFUL_RESTART),
        max_prefixes,
        idle_hold_time,
        idle_hold_max,
        connect_retry,
        import,
        local_address,
    })
}
