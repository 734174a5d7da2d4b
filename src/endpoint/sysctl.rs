//! `net.ipv4.ip_forward`, the one global setting endpoints need.
//!
//! The host routes every packet of its endpoints, so IPv4 forwarding must
//! be on. romana-bgp is the host's router, and an operator expects a router
//! to forward: the daemon turns it on at start (logging that it did) and
//! never turns it off, since other things on the host may rely on it by
//! then. Writing the global switch also sets every interface's
//! `forwarding`, and `conf.default.forwarding` for interfaces made later.
//!
//! `/proc/sys/net` shows the network namespace of the thread that opens
//! it, so these run on the wiring thread, in the host's namespace.

use std::fs;
use std::io;
use std::path::Path;

use super::EndpointError;

const IP_FORWARD: &str = "/proc/sys/net/ipv4/ip_forward";

/// Whether IPv4 forwarding is on.
pub(super) fn ip_forward() -> Result<bool, EndpointError> {
    read_flag(Path::new(IP_FORWARD))
}

/// Turns IPv4 forwarding on; says whether it was off.
pub(super) fn enable_ip_forward() -> Result<bool, EndpointError> {
    let path = Path::new(IP_FORWARD);
    if read_flag(path)? {
        return Ok(false);
    }
    fs::write(path, b"1\n").map_err(|error| EndpointError::Sysctl {
        path: path.into(),
        error,
    })?;
    Ok(true)
}

fn read_flag(path: &Path) -> Result<bool, EndpointError> {
    let error = |error| EndpointError::Sysctl {
        path: path.into(),
        error,
    };
    let text = fs::read_to_string(path).map_err(error)?;
    match text.trim() {
        "0" => Ok(false),
        "1" => Ok(true),
        other => Err(error(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("expected 0 or 1, read {other:?}"),
        ))),
    }
}
