//! What can go wrong with an endpoint, in words an operator acts on.

use std::fmt;
use std::io;
use std::path::PathBuf;

use ipnet::Ipv4Net;

use super::{CONTAINER_INTERFACE, Endpoint};
use crate::kernel::Failure;

#[derive(Debug)]
pub enum EndpointError {
    UnknownTenant {
        tenant: String,
        known: Vec<String>,
    },
    UnknownSegment {
        tenant: String,
        segment: String,
        known: Vec<String>,
    },
    /// Every endpoint id of the segment is taken.
    SegmentFull {
        tenant: String,
        segment: String,
        cidr: Ipv4Net,
        capacity: u32,
    },
    InvalidName {
        name: String,
        reason: String,
    },
    InvalidInterface {
        interface: String,
        reason: String,
    },
    InvalidNetns {
        given: String,
        reason: String,
    },
    /// An endpoint with this name exists with another tenant, segment or
    /// attachment, so the add is not a retry of the same request.
    NameTaken {
        name: String,
        existing: Box<Endpoint>,
    },
    /// Another endpoint already uses this host interface (tap).
    InterfaceTaken {
        interface: String,
        endpoint: String,
    },
    /// Another endpoint already lives in this network namespace.
    NamespaceTaken {
        path: PathBuf,
        endpoint: String,
    },
    MissingNamespace {
        path: PathBuf,
        error: io::Error,
    },
    NotANamespace {
        path: PathBuf,
    },
    MissingInterface {
        interface: String,
    },
    /// The tap is a port of a bridge, so traffic through it is switched
    /// and never reaches the host's routing.
    TapInBridge {
        interface: String,
        controller: u32,
    },
    /// The container's namespace already has an `eth0`.
    ContainerInterfaceExists {
        path: PathBuf,
    },
    /// A host interface with the endpoint's veth name exists and is not a
    /// veth, so it is someone else's.
    InterfaceConflict {
        interface: String,
        kind: String,
    },
    /// The state file could not be read or written.
    StateIo {
        path: PathBuf,
        action: &'static str,
        error: io::Error,
    },
    /// The state file holds something the store cannot trust.
    StateCorrupt {
        path: PathBuf,
        reason: String,
    },
    /// The kernel refused or did not answer a request.
    Netlink {
        action: String,
        failure: Failure,
    },
    /// The netlink socket itself failed.
    Socket {
        action: String,
        error: io::Error,
    },
    EnterNamespace {
        path: PathBuf,
        error: io::Error,
    },
    Sysctl {
        path: PathBuf,
        error: io::Error,
    },
    /// The wiring thread is gone; only a restart brings it back.
    WiringStopped,
    /// The isolation table could not take the new endpoints, so they were
    /// not wired: an endpoint is never up unfiltered.
    Isolation(String),
}

impl fmt::Display for EndpointError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnknownTenant { tenant, known } => write!(
                f,
                "no tenant {tenant:?} in the configuration; known tenants: {}",
                list(known)
            ),
            Self::UnknownSegment {
                tenant,
                segment,
                known,
            } => write!(
                f,
                "tenant {tenant:?} has no segment {segment:?}; its segments: {}",
                list(known)
            ),
            Self::SegmentFull {
                tenant,
                segment,
                cidr,
                capacity,
            } => write!(
                f,
                "segment {tenant}/{segment} ({cidr}) is full: all {capacity} endpoint addresses \
                 are taken; delete unused endpoints or add a segment to the tenant"
            ),
            Self::InvalidName { name, reason } => {
                write!(f, "{name:?} is not a valid endpoint name: {reason}")
            }
            Self::InvalidInterface { interface, reason } => {
                write!(f, "{interface:?} is not a valid tap name: {reason}")
            }
            Self::InvalidNetns { given, reason } => write!(
                f,
                "{given:?} is not a network namespace name or path: {reason}; give a name \
                 from `ip netns list` or a path like /proc/PID/ns/net"
            ),
            Self::NameTaken { name, existing } => write!(
                f,
                "endpoint {name:?} already exists in {}/{} on {} ({}); choose another name, \
                 or delete it first",
                existing.tenant,
                existing.segment,
                attachment_text(existing),
                existing.address
            ),
            Self::InterfaceTaken {
                interface,
                endpoint,
            } => write!(
                f,
                "interface {interface:?} is already endpoint {endpoint:?}'s; each tap serves \
                 one endpoint"
            ),
            Self::NamespaceTaken { path, endpoint } => write!(
                f,
                "network namespace {} already holds endpoint {endpoint:?}; a container has \
                 one endpoint",
                path.display()
            ),
            Self::MissingNamespace { path, error } => write!(
                f,
                "cannot open network namespace {}: {error}; create the container first \
                 (or `ip netns add NAME`) and check the path",
                path.display()
            ),
            Self::NotANamespace { path } => write!(
                f,
                "{} is not a network namespace file; give one from /run/netns or \
                 /proc/PID/ns/net",
                path.display()
            ),
            Self::MissingInterface { interface } => write!(
                f,
                "no interface named {interface:?} on the host (see `ip link`); the VM's tap \
                 must exist before its endpoint is added"
            ),
            Self::TapInBridge {
                interface,
                controller,
            } => write!(
                f,
                "tap {interface:?} is a port of the bridge with ifindex {controller} (see \
                 `ip link show {interface}`); romana-bgp routes to the tap itself: detach it \
                 (`ip link set {interface} nomaster`; in libvirt use <interface type='ethernet'>)"
            ),
            Self::ContainerInterfaceExists { path } => write!(
                f,
                "network namespace {} already has an interface named {CONTAINER_INTERFACE}; \
                 romana-bgp adds the container's {CONTAINER_INTERFACE} itself: remove the \
                 existing one",
                path.display()
            ),
            Self::InterfaceConflict { interface, kind } => write!(
                f,
                "interface {interface:?} exists and is a {kind}, not a veth romana-bgp made; \
                 romana-bgp names container links rb + the address in hex: remove or \
                 rename that interface"
            ),
            Self::StateIo {
                path,
                action,
                error,
            } => write!(
                f,
                "cannot {action} the endpoint state {}: {error}; check the state directory \
                 (permissions, free space)",
                path.display()
            ),
            Self::StateCorrupt { path, reason } => write!(
                f,
                "the endpoint state {} cannot be used: {reason}; romana-bgp will not start \
                 without it, because it would hand out addresses twice: restore the file \
                 from a backup or fix it by hand",
                path.display()
            ),
            Self::Netlink { action, failure } => write!(f, "cannot {action}: {failure}"),
            Self::Socket { action, error } => write!(
                f,
                "cannot {action} on the netlink socket: {error}; romana-bgp needs Linux \
                 with rtnetlink and CAP_NET_ADMIN"
            ),
            Self::EnterNamespace { path, error } => write!(
                f,
                "cannot enter network namespace {}: {error}; romana-bgp needs CAP_SYS_ADMIN \
                 (run it as root)",
                path.display()
            ),
            Self::Sysctl { path, error } => write!(
                f,
                "cannot read or write {}: {error}; romana-bgp needs root",
                path.display()
            ),
            Self::WiringStopped => f.write_str(
                "the endpoint wiring thread has stopped; restart romana-bgp (its log says why)",
            ),
            Self::Isolation(reason) => write!(
                f,
                "the isolation table was not replaced, so the endpoint was not added: {reason}"
            ),
        }
    }
}

impl std::error::Error for EndpointError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::MissingNamespace { error, .. }
            | Self::StateIo { error, .. }
            | Self::Socket { error, .. }
            | Self::EnterNamespace { error, .. }
            | Self::Sysctl { error, .. } => Some(error),
            _ => None,
        }
    }
}

fn list(names: &[String]) -> String {
    if names.is_empty() {
        "none".into()
    } else {
        names.join(", ")
    }
}

fn attachment_text(endpoint: &Endpoint) -> String {
    match &endpoint.attachment {
        super::Attachment::Netns { path } => format!("network namespace {}", path.display()),
        super::Attachment::Tap => format!("tap {}", endpoint.interface),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_tenant_lists_the_known_ones() {
        let e = EndpointError::UnknownTenant {
            tenant: "red".into(),
            known: vec!["blue".into(), "green".into()],
        };
        assert_eq!(
            e.to_string(),
            "no tenant \"red\" in the configuration; known tenants: blue, green"
        );
        let none = EndpointError::UnknownSegment {
            tenant: "blue".into(),
            segment: "x".into(),
            known: vec![],
        };
        assert!(none.to_string().ends_with("its segments: none"));
    }

    #[test]
    fn corrupt_state_says_why_it_does_not_start_empty() {
        let e = EndpointError::StateCorrupt {
            path: "/var/lib/romana-bgp/endpoints.json".into(),
            reason: "not JSON".into(),
        };
        let text = e.to_string();
        assert!(
            text.contains("/var/lib/romana-bgp/endpoints.json"),
            "{text}"
        );
        assert!(text.contains("addresses twice"), "{text}");
    }
}
