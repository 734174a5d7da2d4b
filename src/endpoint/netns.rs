//! A container's network namespace: opened by its file, and configured
//! from inside by a thread that enters it.
//!
//! A netlink socket acts in the namespace it was created in, and `setns`
//! moves only the calling thread; so the configuration runs on a thread of
//! its own that enters the namespace, opens a socket there and ends. The
//! thread is never reused, so no thread of the daemon is ever left in a
//! container's namespace.

use std::fs::File;
use std::net::Ipv4Addr;
use std::os::fd::{AsRawFd, RawFd};
use std::path::{Path, PathBuf};

use nix::sched::{CloneFlags, setns};
use nix::sys::statfs::{NSFS_MAGIC, fstatfs};
use rtnetlink::packet_core::{NLM_F_CREATE, NLM_F_REPLACE};

use super::messages;
use super::rtnl::{Expect, Rtnl, RtnlError};
use super::{CONTAINER_INTERFACE, EndpointError};
use crate::kernel::Errno;

/// An open network namespace file (`/run/netns/NAME`, `/proc/PID/ns/net`).
#[derive(Debug)]
pub(super) struct Netns {
    path: PathBuf,
    file: File,
}

impl Netns {
    /// Opens `path`, which must be a namespace file: a missing or wrong
    /// path is found here, before any link is made.
    pub(super) fn open(path: &Path) -> Result<Netns, EndpointError> {
        let file = File::open(path).map_err(|error| EndpointError::MissingNamespace {
            path: path.into(),
            error,
        })?;
        let is_namespace = fstatfs(&file).is_ok_and(|fs| fs.filesystem_type() == NSFS_MAGIC);
        if !is_namespace {
            return Err(EndpointError::NotANamespace { path: path.into() });
        }
        Ok(Netns {
            path: path.into(),
            file,
        })
    }

    pub(super) fn path(&self) -> &Path {
        &self.path
    }

    /// The descriptor to name the namespace in requests; valid while
    /// `self` lives.
    pub(super) fn fd(&self) -> RawFd {
        self.file.as_raw_fd()
    }

    /// Moves the calling thread into the namespace, for good: only for a
    /// thread made to live there (the wiring thread of a test's host).
    pub(super) fn enter(&self) -> Result<(), EndpointError> {
        setns(&self.file, CloneFlags::CLONE_NEWNET).map_err(|errno| EndpointError::EnterNamespace {
            path: self.path.clone(),
            error: errno.into(),
        })
    }

    /// Runs `work` with a netlink socket inside the namespace, on a thread
    /// that enters it and ends with the work.
    pub(super) fn run<T: Send>(
        &self,
        work: impl FnOnce(&mut Rtnl) -> Result<T, EndpointError> + Send,
    ) -> Result<T, EndpointError> {
        std::thread::scope(|scope| {
            let thread = std::thread::Builder::new()
                .name("romana-netns".into())
                .spawn_scoped(scope, || {
                    self.enter()?;
                    work(&mut Rtnl::open()?)
                })
                .map_err(|error| EndpointError::EnterNamespace {
                    path: self.path.clone(),
                    error,
                })?;
            thread
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
        })
    }

    /// Inside the namespace: `eth0` up with `address/32`, a link route to
    /// the gateway and the default route via it, and `lo` up. Idempotent,
    /// so wiring an endpoint again repairs it.
    pub(super) fn configure(
        &self,
        address: Ipv4Addr,
        gateway: Ipv4Addr,
    ) -> Result<(), EndpointError> {
        let within = |what: &str| format!("{what} in network namespace {}", self.path.display());
        self.run(|rtnl| {
            let eth0 = rtnl
                .link(CONTAINER_INTERFACE)
                .and_then(|link| link.ok_or(RtnlError::Kernel(Errno::ENODEV)))
                .map_err(|e| e.while_doing(within("find eth0")))?;
            let replace = Expect::Ack(NLM_F_CREATE | NLM_F_REPLACE);
            let steps = [
                (
                    messages::up_by_name(CONTAINER_INTERFACE),
                    Expect::Ack(0),
                    "set eth0 up".to_owned(),
                ),
                (
                    messages::up_by_name("lo"),
                    Expect::Ack(0),
                    "set lo up".to_owned(),
                ),
                (
                    messages::add_address(eth0.index, address),
                    replace,
                    format!("add address {address}/32 to eth0"),
                ),
                (
                    messages::route_to_gateway(eth0.index, gateway),
                    replace,
                    format!("add route {gateway}/32 dev eth0 scope link"),
                ),
                (
                    messages::default_route(eth0.index, gateway),
                    replace,
                    format!("add default route via {gateway} dev eth0 onlink"),
                ),
            ];
            let (requests, actions): (Vec<_>, Vec<_>) = steps
                .into_iter()
                .map(|(message, expect, action)| ((message, expect), action))
                .unzip();
            for (result, action) in rtnl.batch(requests).into_iter().zip(actions) {
                result.map_err(|e| e.while_doing(within(&action)))?;
            }
            Ok(())
        })
    }
}
