//! What went wrong talking to the kernel, with the object concerned, the
//! kernel's own words, and what the operator can do about it.

use std::fmt;
use std::io;

use ipnet::IpNet;

use super::plan::RouteChange;
use super::route::IfIndex;
use crate::netlink_bytes::{DumpFailure, Malformed};

/// An errno the kernel answered a netlink request with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Errno(pub i32);

impl Errno {
    pub const EEXIST: Errno = Errno(libc::EEXIST);
    pub const ESRCH: Errno = Errno(libc::ESRCH);
    pub const ENODEV: Errno = Errno(libc::ENODEV);
    pub const EADDRNOTAVAIL: Errno = Errno(libc::EADDRNOTAVAIL);

    /// The symbolic name, as in `errno.h`.
    pub fn name(self) -> Option<&'static str> {
        let name = match self.0 {
            libc::EPERM => "EPERM",
            libc::ENOENT => "ENOENT",
            libc::ESRCH => "ESRCH",
            libc::ENOMEM => "ENOMEM",
            libc::EBUSY => "EBUSY",
            libc::EEXIST => "EEXIST",
            libc::ENODEV => "ENODEV",
            libc::EINVAL => "EINVAL",
            libc::ERANGE => "ERANGE",
            libc::EOPNOTSUPP => "EOPNOTSUPP",
            libc::EAFNOSUPPORT => "EAFNOSUPPORT",
            libc::EADDRNOTAVAIL => "EADDRNOTAVAIL",
            libc::ENETDOWN => "ENETDOWN",
            libc::ENETUNREACH => "ENETUNREACH",
            libc::ENOBUFS => "ENOBUFS",
            libc::EHOSTUNREACH => "EHOSTUNREACH",
            _ => return None,
        };
        Some(name)
    }

    fn advice(self) -> &'static str {
        match self.0 {
            libc::EPERM => "romana-bgp needs CAP_NET_ADMIN (run it as root)",
            libc::EEXIST => {
                "an entry with this key that romana-bgp did not install is in the way; \
                 romana-bgp leaves it alone: remove it if romana-bgp should own it"
            }
            libc::ENETUNREACH | libc::EHOSTUNREACH => {
                "the gateway is not on a connected network: check the next hop the \
                 neighbor sends and that the interface toward it is up and addressed"
            }
            libc::ENODEV => {
                "the interface does not exist (any more): check its name and that it is up"
            }
            libc::ENETDOWN => "the interface is down: bring it up",
            libc::EINVAL | libc::ERANGE | libc::EOPNOTSUPP | libc::EAFNOSUPPORT => {
                "the kernel refused the request as malformed or unsupported; report it \
                 as a romana-bgp bug together with this message"
            }
            libc::ENOMEM | libc::ENOBUFS => "the kernel is short of memory; retry later",
            _ => "compare with `ip route` / `ip address` and retry",
        }
    }
}

impl fmt::Display for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = io::Error::from_raw_os_error(self.0);
        match self.name() {
            Some(name) => write!(f, "{name}: {text}"),
            None => write!(f, "{text}"),
        }
    }
}

/// Why one netlink request did not succeed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Failure {
    /// The kernel refused it; `message` is its extended ack text, if any.
    Kernel {
        errno: Errno,
        message: Option<String>,
    },
    /// The netlink connection is gone; nothing more can be sent on it.
    ConnectionClosed,
    /// No answer came: the acknowledgement was lost (netlink receive buffer
    /// overrun), so whether the change happened is unknown.
    NoAnswer,
    /// The kernel's answer could not be read.
    Unreadable(Malformed),
}

impl Failure {
    pub fn errno(&self) -> Option<Errno> {
        match self {
            Failure::Kernel { errno, .. } => Some(*errno),
            _ => None,
        }
    }

    /// A netlink socket's own error: the kernel's errno, or the socket gone.
    pub(super) fn of_socket(error: &io::Error) -> Failure {
        match error.raw_os_error() {
            Some(code) => Failure::Kernel {
                errno: Errno(code),
                message: None,
            },
            None => Failure::ConnectionClosed,
        }
    }
}

impl From<Malformed> for Failure {
    fn from(why: Malformed) -> Failure {
        Failure::Unreadable(why)
    }
}

impl From<DumpFailure> for Failure {
    fn from(failure: DumpFailure) -> Failure {
        match failure {
            DumpFailure::Malformed(why) => Failure::Unreadable(why),
            DumpFailure::Kernel(errno) => Failure::Kernel {
                errno: Errno(errno),
                message: None,
            },
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Kernel { errno, message } => {
                write!(f, "the kernel answered {errno}")?;
                if let Some(m) = message {
                    write!(f, " \"{m}\"")?;
                }
                write!(f, "; {}", errno.advice())
            }
            Self::ConnectionClosed => write!(
                f,
                "the netlink connection closed; open a new one and reconcile the routes"
            ),
            Self::NoAnswer => write!(
                f,
                "the kernel's answer was lost (netlink receive buffer overrun); \
                 the state is unknown until the next reconcile"
            ),
            Self::Unreadable(why) => write!(
                f,
                "the kernel's answer cannot be read ({why}); \
                 the state is unknown until the next reconcile; please report it"
            ),
        }
    }
}

/// What was being done to a route.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Add,
    Replace,
    Delete,
}

impl Action {
    pub fn of(change: &RouteChange) -> Self {
        match change {
            RouteChange::Add(_) => Self::Add,
            RouteChange::Replace(_) => Self::Replace,
            RouteChange::Delete(_) => Self::Delete,
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Add => "add",
            Self::Replace => "replace",
            Self::Delete => "delete",
        })
    }
}

/// A route change that was not made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RouteError {
    pub action: Action,
    pub prefix: IpNet,
    pub cause: RouteFailure,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RouteFailure {
    /// A route for the same prefix and metric with another protocol tag is
    /// in the main table. The daemon never changes what it did not install.
    Conflict {
        protocol: u8,
    },
    Netlink(Failure),
}

impl fmt::Display for RouteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Self {
            action,
            prefix,
            cause,
        } = self;
        match cause {
            RouteFailure::Conflict { protocol } => write!(
                f,
                "cannot {action} route {prefix}: a route for it with protocol {protocol} is in the \
                 main table and romana-bgp never changes routes it did not install; remove it \
                 (`ip route del {prefix} proto {protocol}`) if romana-bgp should own this prefix"
            ),
            RouteFailure::Netlink(failure) => {
                write!(f, "cannot {action} route {prefix}: {failure}")
            }
        }
    }
}

impl std::error::Error for RouteError {}

/// Several route changes of one batch were not made; the others were.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApplyFailed {
    pub errors: Vec<RouteError>,
}

impl fmt::Display for ApplyFailed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} route change(s) failed", self.errors.len())?;
        if let Some(first) = self.errors.first() {
            write!(f, "; the first: {first}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ApplyFailed {}

/// The routing table could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DumpError(pub Failure);

impl fmt::Display for DumpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot read the kernel routing table: {}", self.0)
    }
}

impl std::error::Error for DumpError {}

/// The netlink route socket could not be opened or set up.
#[derive(Debug)]
pub struct ConnectError(pub io::Error);

impl fmt::Display for ConnectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "cannot open a netlink route socket: {}; romana-bgp needs Linux with rtnetlink",
            self.0
        )
    }
}

impl std::error::Error for ConnectError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}

/// An interface name could not be turned into an index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LinkError {
    /// Empty, longer than the kernel's 15 octets, or with '/', ':' or whitespace.
    InvalidName {
        name: String,
    },
    NotFound {
        name: String,
    },
    Netlink {
        name: String,
        failure: Failure,
    },
}

impl fmt::Display for LinkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidName { name } => write!(
                f,
                "{name:?} is not a valid interface name (1 to 15 octets, no '/', ':' or whitespace)"
            ),
            Self::NotFound { name } => write!(
                f,
                "no interface named {name:?} (see `ip link`): check the name and create it first"
            ),
            Self::Netlink { name, failure } => {
                write!(f, "cannot look up interface {name:?}: {failure}")
            }
        }
    }
}

impl std::error::Error for LinkError {}

/// An address could not be added to or removed from an interface.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AddressError {
    pub address: IpNet,
    pub ifindex: IfIndex,
    pub failure: Failure,
}

impl fmt::Display for AddressError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "cannot change address {} on {}: {}",
            self.address, self.ifindex, self.failure
        )
    }
}

impl std::error::Error for AddressError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errno_names_the_constant_and_the_text() {
        let text = Errno(libc::ENETUNREACH).to_string();
        assert!(text.starts_with("ENETUNREACH: "), "{text}");
    }

    #[test]
    fn route_error_names_prefix_errno_and_advice() {
        let e = RouteError {
            action: Action::Add,
            prefix: "10.0.0.0/8".parse().expect("test prefix"),
            cause: RouteFailure::Netlink(Failure::Kernel {
                errno: Errno(libc::ENETUNREACH),
                message: Some("Nexthop has invalid gateway".into()),
            }),
        };
        let text = e.to_string();
        assert!(text.contains("add route 10.0.0.0/8"), "{text}");
        assert!(text.contains("ENETUNREACH"), "{text}");
        assert!(text.contains("Nexthop has invalid gateway"), "{text}");
        assert!(text.contains("connected network"), "{text}");
    }

    #[test]
    fn conflict_says_how_to_resolve() {
        let e = RouteError {
            action: Action::Add,
            prefix: "0.0.0.0/0".parse().expect("test prefix"),
            cause: RouteFailure::Conflict { protocol: 16 },
        };
        assert!(e.to_string().contains("ip route del 0.0.0.0/0 proto 16"));
    }
}
