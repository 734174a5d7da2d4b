//! The rtnetlink connection: single requests and dumps over an async
//! connection, and changes (routes, addresses) many to a datagram through a
//! socket of their own ([`ChangeSocket`]), which is what makes installing
//! ten thousand endpoint routes, or a leaked full table, fast.

use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use futures::StreamExt;
use rtnetlink::packet_core::ErrorMessage;
use rtnetlink::packet_core::{
    NLM_F_ACK_TLVS, NLM_F_CAPPED, NLM_F_DUMP, NLM_F_DUMP_INTR, NLM_F_REQUEST, NetlinkMessage,
    NetlinkPayload,
};
use rtnetlink::packet_route::{AddressFamily, RouteNetlinkMessage};
use rtnetlink::proto::ConnectionHandle;
use rtnetlink::sys::{AsyncSocket, SocketAddr, protocols::NETLINK_ROUTE};

use super::changes::ChangeSocket;
use super::error::{ConnectError, Errno, Failure};
use super::plan::PresentRoute;
use super::route_dump::RouteDumps;
use crate::netlink_bytes::attributes;

/// How long to wait for an answer the kernel gives synchronously; only a
/// lost answer takes this long.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(10);

/// A dump that raced with a change is marked interrupted; it is retried
/// this many times before the (possibly inconsistent) result is used.
const DUMP_ATTEMPTS: usize = 3;

/// `NLMSGERR_ATTR_MSG`: the extended ack's text.
const NLMSGERR_ATTR_MSG: u16 = 1;

/// Length of a netlink message header, the part a capped error echoes.
const NLMSG_HEADER_LEN: usize = 16;

/// An open rtnetlink connection. Cheap to clone; all clones share its two
/// sockets: one for gets and dumps, served by a task on the tokio runtime
/// that opened it, and one for changes.
#[derive(Clone, Debug)]
pub struct Netlink {
    handle: ConnectionHandle<RouteNetlinkMessage>,
    batch_limit: usize,
    /// Used by one batch at a time, and never across an `.await`: the
    /// kernel has answered a datagram of changes when `send` returns, so a
    /// batch runs to its end without waiting.
    changes: Arc<Mutex<ChangeSocket>>,
    /// Route dumps, read from their bytes; one at a time, as the kernel
    /// runs one dump per socket.
    route_dumps: Arc<tokio::sync::Mutex<RouteDumps>>,
}

impl Netlink {
    /// Opens the sockets in the calling thread's network namespace and
    /// spawns the I/O task; must be called inside a tokio runtime.
    pub fn connect() -> Result<Self, ConnectError> {
        let (mut connection, handle, unsolicited) =
            rtnetlink::proto::new_connection::<RouteNetlinkMessage>(NETLINK_ROUTE)
                .map_err(ConnectError)?;
        // No multicast groups are joined, so nothing unsolicited is expected.
        drop(unsolicited);
        let socket = connection.socket_mut().socket_mut();
        // Errors echo only the request's header, and carry the kernel's text.
        socket.set_cap_ack(true).map_err(ConnectError)?;
        socket.set_ext_ack(true).map_err(ConnectError)?;
        // Dumps filtered in the kernel (by routing protocol): the periodic
        // check of the host's routes is then not a walk through a leaked
        // full table. Without it (before Linux 4.20) the reader filters.
        if let Err(e) = socket.set_netlink_get_strict_chk(true) {
            tracing::debug!("netlink dumps are filtered by the daemon, not the kernel: {e}");
        }
        let changes = ChangeSocket::open()?;
        let route_dumps = RouteDumps::open()?;
        tokio::spawn(connection);
        Ok(Self {
            handle,
            batch_limit: changes.batch_limit(),
            changes: Arc::new(Mutex::new(changes)),
            route_dumps: Arc::new(tokio::sync::Mutex::new(route_dumps)),
        })
    }

    /// How many requests `batch` sends in one datagram at most.
    pub fn batch_limit(&self) -> usize {
        self.batch_limit
    }

    /// Sends one request that the kernel acknowledges.
    pub(super) fn acknowledged(
        &self,
        message: RouteNetlinkMessage,
        flags: u16,
    ) -> Result<(), Failure> {
        let mut results = self.batch([(message, flags)]);
        results.pop().unwrap_or(Err(Failure::NoAnswer))
    }

    /// Sends one request that the kernel answers with one message (a get
    /// of a single object).
    pub(super) async fn get(
        &self,
        message: RouteNetlinkMessage,
    ) -> Result<RouteNetlinkMessage, Failure> {
        let mut request = NetlinkMessage::from(message);
        request.header.flags = NLM_F_REQUEST;
        let mut answers = self.send(vec![request])?;
        let answer = tokio::time::timeout(ANSWER_TIMEOUT, answers.next())
            .await
            .map_err(|_| Failure::NoAnswer)?
            .ok_or(Failure::ConnectionClosed)?;
        match answer.payload {
            NetlinkPayload::InnerMessage(inner) => Ok(inner),
            NetlinkPayload::Error(e) => Err(kernel_failure(&e, answer.header.flags)),
            _ => Err(Failure::NoAnswer),
        }
    }

    /// Reads every object of a kind (`RTM_GETROUTE`, `RTM_GETADDR`, ...).
    pub(super) async fn dump_objects(
        &self,
        message: RouteNetlinkMessage,
    ) -> Result<Vec<RouteNetlinkMessage>, Failure> {
        until_consistent(|| self.dump_once(message.clone())).await
    }

    async fn dump_once(
        &self,
        message: RouteNetlinkMessage,
    ) -> Result<(Vec<RouteNetlinkMessage>, bool), Failure> {
        let mut objects = Vec::new();
        let interrupted = self.dump_each(message, |o| objects.push(o)).await?;
        Ok((objects, interrupted))
    }

    /// Reads the IPv4 and IPv6 routes of the main table (of `protocol`, or
    /// all) and hands each to `each` as it is read; returns whether the
    /// kernel marked a dump interrupted by a concurrent change.
    pub(super) async fn dump_routes(
        &self,
        protocol: Option<u8>,
        mut each: impl FnMut(PresentRoute) + Send,
    ) -> Result<bool, Failure> {
        let mut dumps = self.route_dumps.lock().await;
        let mut interrupted = false;
        // One dump per family: an AF_UNSPEC dump would also return
        // multicast routing tables the daemon has no business with.
        for family in [AddressFamily::Inet, AddressFamily::Inet6] {
            interrupted |= dumps.each(family, protocol, &mut each).await?;
        }
        Ok(interrupted)
    }

    /// Reads every object of a kind and hands each to `each` as it comes,
    /// so a dump of a million routes is never held whole. Returns whether
    /// the kernel marked the dump interrupted by a concurrent change (some
    /// objects may then be missing or seen twice).
    pub(super) async fn dump_each(
        &self,
        message: RouteNetlinkMessage,
        mut each: impl FnMut(RouteNetlinkMessage) + Send,
    ) -> Result<bool, Failure> {
        let mut request = NetlinkMessage::from(message);
        request.header.flags = NLM_F_REQUEST | NLM_F_DUMP;
        let mut answers = self.send(vec![request])?;
        let mut interrupted = false;
        loop {
            // The kernel sends a dump in parts as the daemon reads them, so
            // the timeout is per part, not for the whole dump.
            let next = tokio::time::timeout(ANSWER_TIMEOUT, answers.next())
                .await
                .map_err(|_| Failure::NoAnswer)?;
            let Some(answer) = next else {
                return Ok(interrupted);
            };
            interrupted |= answer.header.flags & NLM_F_DUMP_INTR != 0;
            match answer.payload {
                NetlinkPayload::InnerMessage(inner) => each(inner),
                NetlinkPayload::Error(e) if e.code.is_some() => {
                    return Err(kernel_failure(&e, answer.header.flags));
                }
                _ => {}
            }
        }
    }

    /// Sends changes, many per datagram, and returns one result per
    /// request, in order. The kernel handles the requests of a datagram one
    /// after another, as if sent one by one, and has answered them when the
    /// datagram is sent: this never waits.
    pub(super) fn batch(
        &self,
        requests: impl IntoIterator<Item = (RouteNetlinkMessage, u16)>,
    ) -> Vec<Result<(), Failure>> {
        // A batch that panicked left the socket usable: its answers are
        // skipped by sequence number.
        let mut changes = self.changes.lock().unwrap_or_else(PoisonError::into_inner);
        changes.apply(requests)
    }

    fn send(
        &self,
        messages: Vec<NetlinkMessage<RouteNetlinkMessage>>,
    ) -> Result<impl futures::Stream<Item = NetlinkMessage<RouteNetlinkMessage>> + use<>, Failure>
    {
        self.handle
            .request_batch(messages, SocketAddr::new(0, 0))
            .map_err(|_| Failure::ConnectionClosed)
    }
}

/// Runs a dump (which answers what it read and whether the kernel marked
/// it interrupted by a concurrent change) again while interrupted, at most
/// [`DUMP_ATTEMPTS`] times; the last result is used whatever it is.
pub(super) async fn until_consistent<T, E, Fut>(mut dump: impl FnMut() -> Fut) -> Result<T, E>
where
    Fut: Future<Output = Result<(T, bool), E>>,
{
    let mut attempt = 1;
    loop {
        let (objects, interrupted) = dump().await?;
        if !interrupted || attempt == DUMP_ATTEMPTS {
            return Ok(objects);
        }
        attempt += 1;
    }
}

pub(super) fn kernel_failure(error: &ErrorMessage, flags: u16) -> Failure {
    Failure::Kernel {
        errno: Errno(error.raw_code().saturating_abs()),
        message: extended_ack_text(&error.header, flags),
    }
}

/// The kernel's explanation in an extended ack (`NLMSGERR_ATTR_MSG`), found
/// among the attributes after the echoed request.
fn extended_ack_text(payload: &[u8], flags: u16) -> Option<String> {
    if flags & NLM_F_ACK_TLVS == 0 || flags & NLM_F_CAPPED == 0 {
        return None;
    }
    let (_, text) = attributes(payload.get(NLMSG_HEADER_LEN..)?)
        .map_while(Result::ok)
        .find(|&(kind, _)| kind == NLMSGERR_ATTR_MSG)?;
    let text = text.split(|&b| b == 0).next().unwrap_or_default();
    Some(String::from_utf8_lossy(text).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attribute(kind: u16, value: &[u8]) -> Vec<u8> {
        let len = 4 + value.len();
        let mut out = Vec::new();
        out.extend_from_slice(&(len as u16).to_ne_bytes());
        out.extend_from_slice(&kind.to_ne_bytes());
        out.extend_from_slice(value);
        out.resize(len.next_multiple_of(4), 0);
        out
    }

    #[test]
    fn extended_ack_text_is_found_after_other_attributes() {
        let mut payload = vec![0u8; NLMSG_HEADER_LEN];
        payload.extend(attribute(2, &7u32.to_ne_bytes()));
        payload.extend(attribute(
            NLMSGERR_ATTR_MSG,
            b"Nexthop has invalid gateway\0",
        ));
        assert_eq!(
            extended_ack_text(&payload, NLM_F_CAPPED | NLM_F_ACK_TLVS).as_deref(),
            Some("Nexthop has invalid gateway")
        );
    }

    #[test]
    fn no_text_without_the_tlv_flag() {
        let mut payload = vec![0u8; NLMSG_HEADER_LEN];
        payload.extend(attribute(NLMSGERR_ATTR_MSG, b"x\0"));
        assert_eq!(extended_ack_text(&payload, NLM_F_CAPPED), None);
    }

    #[test]
    fn truncated_attributes_do_not_panic() {
        let mut payload = vec![0u8; NLMSG_HEADER_LEN];
        payload.extend_from_slice(&[200, 0, 1, 0, b'a']);
        assert_eq!(
            extended_ack_text(&payload, NLM_F_CAPPED | NLM_F_ACK_TLVS),
            None
        );
        payload.truncate(NLMSG_HEADER_LEN + 3);
        assert_eq!(
            extended_ack_text(&payload, NLM_F_CAPPED | NLM_F_ACK_TLVS),
            None
        );
        let zero_length = [vec![0u8; NLMSG_HEADER_LEN], vec![0, 0, 1, 0]].concat();
        assert_eq!(
            extended_ack_text(&zero_length, NLM_F_CAPPED | NLM_F_ACK_TLVS),
            None
        );
    }
}
