//! Endpoints: the VMs and containers on this host, each with an address
//! from the plan, and the links that connect them to the host.
//!
//! - [`Store`] allocates addresses and keeps the endpoints, persisted
//!   crash-safely under the state directory.
//! - [`Wiring`] connects an endpoint to the host: a veth pair into a
//!   container's network namespace, or an existing tap of a VM; proxy ARP on
//!   the host end, so the endpoint reaches its gateway.
//! - [`add`] and [`remove`] do both in the order that keeps them consistent.
//!
//! The /32 route to each endpoint is not installed here: the daemon's single
//! route writer owns routes, and [`Wiring::wire`] returns the interface it
//! points at.

mod error;
mod events;
mod lifecycle;
mod link_bytes;
mod messages;
mod netns;
mod rtnl;
mod state_file;
mod store;
mod sysctl;
mod wire;

use std::fmt;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::isolation::InterfaceName;

pub use error::EndpointError;
pub use events::{LinkEvent, listen as listen_for_link_events};
pub use lifecycle::{Added, add, add_all, remove};
pub use store::Store;
pub use wire::{Checked, OwnedLink, Survey, Wiring};

/// Where `--netns NAME` namespaces live (`ip netns add NAME`).
pub const NETNS_DIR: &str = "/run/netns";

/// The name of the container's end of the veth pair, in its namespace.
pub const CONTAINER_INTERFACE: &str = "eth0";

/// Prefix of the host-side veth names: `rb` + 8 hex digits of the address.
const VETH_PREFIX: &str = "rb";

/// Longest endpoint name: a CNI container id (64 hex digits) with room for
/// an interface or pod name.
pub const MAX_NAME_LEN: usize = 128;

/// An endpoint: a VM or container with an address of this host's block.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Endpoint {
    /// Unique on the host; given, or the address when none was given.
    pub name: String,
    pub tenant: String,
    pub segment: String,
    pub tenant_id: u32,
    pub segment_id: u32,
    pub endpoint_id: u32,
    pub address: Ipv4Addr,
    /// The host's gateway address, the endpoint's default route.
    pub gateway: Ipv4Addr,
    /// The host-side interface: the veth end, or the VM's tap.
    pub interface: String,
    pub attachment: Attachment,
}

/// How an endpoint is connected to the host.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Attachment {
    /// A container: a veth pair whose other end is `eth0` in the network
    /// namespace at `path`.
    Netns { path: PathBuf },
    /// A VM: `interface` is its tap, made by libvirt or OpenStack.
    Tap,
}

/// What `endpoint add` asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AddRequest {
    /// `None`: the name is the allocated address.
    pub name: Option<String>,
    pub tenant: String,
    pub segment: String,
    pub target: Target,
}

/// What the endpoint is connected through.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Target {
    /// The container's network namespace file (see [`netns_path`]).
    Netns(PathBuf),
    /// The VM's existing tap interface.
    Tap(String),
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Netns(path) => write!(f, "network namespace {}", path.display()),
            Target::Tap(interface) => write!(f, "interface {interface}"),
        }
    }
}

/// The namespace file `--netns NAME_OR_PATH` means: a bare name is
/// `/run/netns/NAME` (as `ip netns` names them), anything with a `/` must
/// be an absolute path such as `/proc/PID/ns/net`.
pub fn netns_path(name_or_path: &str) -> Result<PathBuf, EndpointError> {
    let invalid = |reason: &str| EndpointError::InvalidNetns {
        given: name_or_path.into(),
        reason: reason.into(),
    };
    if name_or_path.contains('/') {
        let path = Path::new(name_or_path);
        if !path.is_absolute() {
            return Err(invalid("a path must be absolute"));
        }
        return Ok(path.to_path_buf());
    }
    if name_or_path.is_empty() || name_or_path == "." || name_or_path == ".." {
        return Err(invalid("not a namespace name"));
    }
    Ok(Path::new(NETNS_DIR).join(name_or_path))
}

/// The host end of a container's veth pair: `rb` and the address in 8
/// lowercase hex digits (`rb0a011205` for 10.1.18.5): unique per address,
/// within the kernel's 15 octets, and recognisable as the daemon's.
pub fn veth_name(address: Ipv4Addr) -> String {
    format!("{VETH_PREFIX}{:08x}", u32::from(address))
}

/// Whether `name` has the form of [`veth_name`].
pub fn is_veth_name(name: &str) -> bool {
    name.strip_prefix(VETH_PREFIX).is_some_and(|hex| {
        hex.len() == 8
            && hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

/// Endpoint names: letters, digits and `-_.:`, at most [`MAX_NAME_LEN`].
/// A name that reads as an IPv4 address is refused: those are the names
/// of endpoints added without one, so a given name can never take the
/// generated name of another endpoint.
fn check_name(name: &str) -> Result<(), EndpointError> {
    let invalid = |reason: &str| EndpointError::InvalidName {
        name: name.into(),
        reason: reason.into(),
    };
    if name.is_empty() || name.len() > MAX_NAME_LEN {
        return Err(invalid("use 1 to 128 characters"));
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b))
    {
        return Err(invalid("use only letters, digits, '-', '_', '.' and ':'"));
    }
    if name.parse::<Ipv4Addr>().is_ok() {
        return Err(invalid(
            "names that are addresses are given to endpoints added without a name",
        ));
    }
    Ok(())
}

/// A tap name must be one the isolation table can hold (a subset of the
/// kernel's `dev_valid_name`): an endpoint the table cannot name would be
/// wired unfiltered.
fn check_interface(name: &str) -> Result<(), EndpointError> {
    if InterfaceName::new(name).is_err() {
        return Err(EndpointError::InvalidInterface {
            interface: name.into(),
            reason: "an interface name has 1 to 15 letters, digits, '-', '_' or '.'".into(),
        });
    }
    if is_veth_name(name) {
        return Err(EndpointError::InvalidInterface {
            interface: name.into(),
            reason: "names of 'rb' and 8 hex digits are the host ends of container veths; \
                     a tap cannot have one"
                .into(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn veth_name_is_rb_and_the_address_in_hex() {
        let name = veth_name(Ipv4Addr::new(10, 1, 17, 5));
        assert_eq!(name, "rb0a011105");
        assert!(is_veth_name(&name));
        assert!(name.len() <= 15);
        assert!(!is_veth_name("rb0a01110"), "7 digits");
        assert!(!is_veth_name("rb0A011105"), "uppercase is not ours");
        assert!(!is_veth_name("rb0a0111055"));
        assert!(!is_veth_name("tap0a011105"));
    }

    #[test]
    fn bare_netns_name_is_under_run_netns() {
        assert_eq!(
            netns_path("blue1").unwrap(),
            PathBuf::from("/run/netns/blue1")
        );
        assert_eq!(
            netns_path("/proc/42/ns/net").unwrap(),
            PathBuf::from("/proc/42/ns/net")
        );
        assert!(netns_path("run/netns/x").is_err());
        assert!(netns_path("..").is_err());
        assert!(netns_path("").is_err());
    }

    #[test]
    fn names_are_checked() {
        assert!(check_name("web-1").is_ok());
        assert!(check_name(&"a".repeat(MAX_NAME_LEN)).is_ok());
        assert!(check_name(&"a".repeat(MAX_NAME_LEN + 1)).is_err());
        assert!(check_name("").is_err());
        assert!(check_name("a b").is_err());
        assert!(check_name("a/b").is_err());
        let err = check_name("10.1.18.5").unwrap_err();
        assert!(err.to_string().contains("without a name"), "{err}");
    }

    #[test]
    fn tap_names_follow_the_kernel_rule_and_avoid_ours() {
        assert!(check_interface("tap0").is_ok());
        assert!(check_interface("vnet12").is_ok());
        assert!(check_interface("tap-0123456789ab").is_err(), "16 octets");
        assert!(check_interface("eth0:1").is_err());
        assert!(check_interface("").is_err());
        assert!(check_interface("rb0a011105").is_err());
    }

    #[test]
    fn endpoint_json_has_the_spec_fields() {
        let endpoint = Endpoint {
            name: "c1".into(),
            tenant: "blue".into(),
            segment: "web".into(),
            tenant_id: 1,
            segment_id: 1,
            endpoint_id: 5,
            address: Ipv4Addr::new(10, 1, 17, 5),
            gateway: Ipv4Addr::new(10, 1, 0, 1),
            interface: "rb0a011105".into(),
            attachment: Attachment::Netns {
                path: "/run/netns/c1".into(),
            },
        };
        let json = serde_json::to_value(&endpoint).unwrap();
        for field in [
            "name",
            "tenant",
            "segment",
            "address",
            "gateway",
            "interface",
        ] {
            assert!(json.get(field).is_some(), "{field} missing in {json}");
        }
        assert_eq!(json["address"], "10.1.17.5");
        assert_eq!(json["attachment"]["kind"], "netns");
        assert_eq!(json["attachment"]["path"], "/run/netns/c1");
        let back: Endpoint = serde_json::from_value(json).unwrap();
        assert_eq!(back, endpoint);
        let tap = serde_json::to_value(Attachment::Tap).unwrap();
        assert_eq!(tap, serde_json::json!({ "kind": "tap" }));
    }
}
