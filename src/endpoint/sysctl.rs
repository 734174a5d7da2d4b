//! `net.ipv4.ip_forward`, the one global setting endpoints need;
//! `net.ipv4.conf.IF.proxy_arp` on each endpoint's host interface, and
//! `net.ipv6.conf.IF.disable_ipv6` on the host end of a container's veth.
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
use std::path::{Path, PathBuf};

use super::EndpointError;

const IP_FORWARD: &str = "/proc/sys/net/ipv4/ip_forward";

/// The proxy ARP switch of an interface.
pub(super) fn proxy_arp_path(interface: &str) -> PathBuf {
    Path::new("/proc/sys/net/ipv4/conf")
        .join(interface)
        .join("proxy_arp")
}

/// Turns proxy ARP on or off on `interface`, so the endpoint behind it
/// gets the host's answer when it asks for its gateway. Through the
/// sysctl, not netlink: a netlink change of the link's IPv4 settings
/// (`IFLA_AF_SPEC`) raises `NETDEV_CHANGE`, and on a link without carrier
/// (the tap of a VM not running) the kernel answers that by walking the
/// host's whole IPv6 routing table, which grows with the containers'
/// veths: 0.2 ms a tap with 1,000 containers. `NotFound` if there is no
/// such interface.
pub(super) fn set_proxy_arp(interface: &str, on: bool) -> io::Result<()> {
    fs::write(proxy_arp_path(interface), if on { b"1\n" } else { b"0\n" })
}

/// The IPv6 switch of an interface.
pub(super) fn ipv6_path(interface: &str) -> PathBuf {
    Path::new("/proc/sys/net/ipv6/conf")
        .join(interface)
        .join("disable_ipv6")
}

/// Turns IPv6 off on `interface`. A host without IPv6 (`ipv6.disable=1`)
/// has no such switch, and nothing to turn off.
pub(super) fn disable_ipv6(interface: &str) -> io::Result<()> {
    match fs::write(ipv6_path(interface), b"1\n") {
        Err(error)
            if error.kind() == io::ErrorKind::NotFound
                && !Path::new("/proc/sys/net/ipv6").exists() =>
        {
            Ok(())
        }
        written => written,
    }
}

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
