//! The socket route dumps go through, read from the kernel's bytes (see
//! [`super::route_bytes`]) a datagram at a time.
//!
//! The kernel produces the first part of a dump while it handles the
//! request's `send`, and each further part while the one before is read,
//! so the socket is non-blocking and never waits: a part that is not
//! queued when read will not come. A dump gives way to the runtime's other
//! tasks after each part, so one of a leaked full table does not hold the
//! sessions' keepalives.

use rtnetlink::packet_core::{NLM_F_DUMP, NLM_F_REQUEST, NetlinkMessage};
use rtnetlink::packet_route::{AddressFamily, RouteNetlinkMessage};
use rtnetlink::sys::{Socket, protocols::NETLINK_ROUTE};

use crate::netlink_bytes::{Malformed, dump_part};
use crate::netlink_socket::{ReceiveError, receive};

use super::error::{ConnectError, Failure};
use super::message::dump_request;
use super::plan::PresentRoute;
use super::route_bytes::present_route;

/// `RTM_NEWROUTE` (linux/rtnetlink.h).
const RTM_NEWROUTE: u16 = 24;

/// The largest datagram read: the kernel makes dump parts of at most
/// 32 KiB.
const MAX_PART: usize = 64 * 1024;

#[derive(Debug)]
pub(super) struct RouteDumps {
    socket: Socket,
    sequence: u32,
    incoming: Vec<u8>,
}

impl RouteDumps {
    /// Opens the socket in the calling thread's network namespace.
    pub(super) fn open() -> Result<Self, ConnectError> {
        let socket =
            crate::netlink_socket::open(NETLINK_ROUTE).map_err(|(_, e)| ConnectError(e))?;
        // Dumps filtered in the kernel (by routing protocol): the periodic
        // check of the host's routes is then not a read of a leaked full
        // table. Without it (before Linux 4.20) the reader filters.
        if let Err(e) = socket.set_netlink_get_strict_chk(true) {
            tracing::debug!("netlink dumps are filtered by the daemon, not the kernel: {e}");
        }
        Ok(RouteDumps {
            socket,
            sequence: 0,
            incoming: Vec::with_capacity(MAX_PART),
        })
    }

    /// Reads one family's routes of the main table (of `protocol`, or all)
    /// and hands each to `each` as its part is read; returns whether the
    /// kernel marked the dump interrupted by a concurrent change.
    pub(super) async fn each(
        &mut self,
        family: AddressFamily,
        protocol: Option<u8>,
        each: &mut (impl FnMut(PresentRoute) + Send),
    ) -> Result<bool, Failure> {
        let sequence = self.request(dump_request(family, protocol))?;
        let mut interrupted = false;
        loop {
            self.receive()?;
            let done = dump_part(&self.incoming, sequence, &mut interrupted, |message| {
                if message.kind == RTM_NEWROUTE
                    && let Some(route) = present_route(message.payload)?
                    && protocol.is_none_or(|p| p == route.protocol)
                {
                    each(route);
                }
                Ok::<_, Failure>(())
            })?;
            if done {
                return Ok(interrupted);
            }
            tokio::task::yield_now().await;
        }
    }

    /// Sends a dump request; returns its sequence number.
    fn request(&mut self, message: RouteNetlinkMessage) -> Result<u32, Failure> {
        self.sequence = self.sequence.wrapping_add(1);
        let mut request = NetlinkMessage::from(message);
        request.header.flags = NLM_F_REQUEST | NLM_F_DUMP;
        request.header.sequence_number = self.sequence;
        request.finalize();
        let mut bytes = vec![0; request.buffer_len()];
        request.serialize(&mut bytes);
        self.socket
            .send(&bytes, 0)
            .map_err(|e| Failure::of_socket(&e))?;
        Ok(self.sequence)
    }

    /// Reads one datagram into `incoming`.
    fn receive(&mut self) -> Result<(), Failure> {
        receive(&self.socket, &mut self.incoming).map_err(|e| match e {
            // Not queued, so not coming (see the module comment).
            ReceiveError::NotQueued => Failure::NoAnswer,
            ReceiveError::TooLong(_) => {
                Failure::Unreadable(Malformed("a dump part larger than the kernel makes them"))
            }
            ReceiveError::Io(e) => Failure::of_socket(&e),
        })
    }
}
