//! A blocking rtnetlink socket, for threads that do nothing but wiring: the
//! wiring thread in the host's namespace, and a short-lived thread inside
//! each container's namespace. Requests go out many to a datagram and
//! their answers are matched by sequence number.
//!
//! The socket is non-blocking, and that is what keeps a lost answer from
//! hanging a thread: the kernel answers rtnetlink requests while it handles
//! the `send`, and produces each further part of a dump while the previous
//! one is read, so an answer that is not queued when we read will never come.

use std::io;

use rtnetlink::packet_core::{
    NLM_F_ACK, NLM_F_DUMP, NLM_F_REQUEST, NetlinkMessage, NetlinkPayload,
};
use rtnetlink::packet_route::RouteNetlinkMessage;
use rtnetlink::sys::{Socket, protocols::NETLINK_ROUTE};

use crate::kernel::{Errno, Failure};
use crate::netlink_bytes::{
    DumpFailure, Message, NLMSG_ERROR, NLMSG_MIN_TYPE, dump_part, messages,
};
use crate::netlink_socket::{ReceiveError, receive};

use super::messages::{self, Link};
use super::{EndpointError, link_bytes};

/// Receive buffer asked for; the kernel caps it at `net.core.rmem_max` and
/// doubles it. All answers to one datagram of requests must fit in it.
const RECEIVE_BUFFER: usize = 4 << 20;

/// What one queued answer costs in the receive buffer (its `skb` truesize),
/// rounded up: an acknowledgement is small, a link is a few kilobytes.
const ACK_COST: usize = 1024;
const OBJECT_COST: usize = 8192;

/// Octets of requests in one datagram: below the default send buffer
/// (`net.core.wmem_default`, 208 KiB), which a datagram must fit.
const MAX_DATAGRAM: usize = 64 * 1024;

/// The largest datagram read. Dump parts are at most 32 KiB (the kernel's
/// cap on its dump allocation), single answers far less.
const MAX_ANSWER: usize = 128 * 1024;

/// A dump that raced with a change is marked interrupted and read again,
/// at most this many times.
const DUMP_ATTEMPTS: usize = 3;

/// Why a request did not succeed.
#[derive(Debug)]
pub(super) enum RtnlError {
    /// The kernel refused it.
    Kernel(Errno),
    /// No answer is queued, so none will come (see the module comment).
    NoAnswer,
    /// The socket failed, or an answer could not be read.
    Io(io::Error),
}

impl RtnlError {
    pub(super) fn errno(&self) -> Option<Errno> {
        match self {
            RtnlError::Kernel(errno) => Some(*errno),
            _ => None,
        }
    }

    /// The error an operator sees, saying what was being done.
    pub(super) fn while_doing(self, action: impl Into<String>) -> EndpointError {
        let action = action.into();
        match self {
            RtnlError::Kernel(errno) => EndpointError::Netlink {
                action,
                failure: Failure::Kernel {
                    errno,
                    message: None,
                },
            },
            RtnlError::NoAnswer => EndpointError::Netlink {
                action,
                failure: Failure::NoAnswer,
            },
            RtnlError::Io(error) => EndpointError::Socket { action, error },
        }
    }
}

/// What a request expects back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Expect {
    /// A change, acknowledged; the value is its `NLM_F_*` flags.
    Ack(u16),
    /// One object (a get by name or index).
    Object,
}

pub(super) struct Rtnl {
    socket: Socket,
    sequence: u32,
    /// Answers the receive buffer holds, in octets of `*_COST`.
    budget: usize,
    outgoing: Vec<u8>,
    incoming: Vec<u8>,
}

impl Rtnl {
    /// Opens a socket in the calling thread's network namespace.
    pub(super) fn open() -> Result<Rtnl, EndpointError> {
        let failed = |action: &str| {
            let action = action.to_owned();
            move |error| EndpointError::Socket { action, error }
        };
        let socket = crate::netlink_socket::open(NETLINK_ROUTE)
            .map_err(|(step, error)| failed(step)(error))?;
        // A smaller buffer only means smaller datagrams.
        let _ = socket.set_rx_buf_sz(RECEIVE_BUFFER);
        let budget = socket.get_rx_buf_sz().map_err(failed("read SO_RCVBUF"))?;
        Ok(Rtnl {
            socket,
            sequence: 0,
            budget,
            outgoing: Vec::new(),
            incoming: Vec::with_capacity(MAX_ANSWER),
        })
    }

    /// One change, acknowledged.
    pub(super) fn change(
        &mut self,
        message: RouteNetlinkMessage,
        flags: u16,
    ) -> Result<(), RtnlError> {
        one(self.batch(vec![(message, Expect::Ack(flags))])).map(drop)
    }

    /// One object, decoded whole; `Ok(None)` never happens for a get the
    /// kernel answers.
    pub(super) fn get(
        &mut self,
        message: RouteNetlinkMessage,
    ) -> Result<RouteNetlinkMessage, RtnlError> {
        let object =
            one(self.batch(vec![(message, Expect::Object)]))?.ok_or(RtnlError::NoAnswer)?;
        match NetlinkMessage::<RouteNetlinkMessage>::deserialize(&object.0) {
            Ok(NetlinkMessage {
                payload: NetlinkPayload::InnerMessage(inner),
                ..
            }) => Ok(inner),
            Ok(_) => Err(RtnlError::NoAnswer),
            Err(e) => Err(malformed(format!("a netlink answer cannot be read: {e}"))),
        }
    }

    /// The link named `name`; `None` if there is none.
    pub(super) fn link(&mut self, name: &str) -> Result<Option<Link>, RtnlError> {
        one(self.links(&[name]))
    }

    /// The links of these names, in order, in as few datagrams as fit.
    pub(super) fn links(&mut self, names: &[&str]) -> Vec<Result<Option<Link>, RtnlError>> {
        let requests = names
            .iter()
            .map(|name| (messages::get_link(name), Expect::Object))
            .collect();
        self.batch(requests)
            .into_iter()
            .map(|answer| match answer {
                Ok(Some(object)) => object.link().map(Some),
                Ok(None) => Err(RtnlError::NoAnswer),
                Err(e) if e.errno() == Some(Errno::ENODEV) => Ok(None),
                Err(e) => Err(e),
            })
            .collect()
    }

    /// Sends the requests, many to a datagram, and returns one result per
    /// request, in order: `Some` object for a get, `None` for an ack. The
    /// kernel handles the requests of a datagram one after another.
    pub(super) fn batch(
        &mut self,
        requests: Vec<(RouteNetlinkMessage, Expect)>,
    ) -> Vec<Result<Option<Object>, RtnlError>> {
        let mut results = Vec::with_capacity(requests.len());
        let mut chunk = Vec::new();
        let (mut octets, mut cost) = (0, 0);
        for (message, expect) in requests {
            let mut request = NetlinkMessage::from(message);
            request.header.flags = NLM_F_REQUEST
                | match expect {
                    Expect::Ack(flags) => flags | NLM_F_ACK,
                    Expect::Object => 0,
                };
            request.finalize();
            let (size, answer) = (request.buffer_len(), answer_cost(expect));
            if !chunk.is_empty() && (octets + size > MAX_DATAGRAM || cost + answer > self.budget) {
                self.exchange(std::mem::take(&mut chunk), &mut results);
                (octets, cost) = (0, 0);
            }
            octets += size;
            cost += answer;
            chunk.push(request);
        }
        if !chunk.is_empty() {
            self.exchange(chunk, &mut results);
        }
        results
    }

    /// Every link, read again if a change interrupted the dump.
    pub(super) fn dump_links<T>(
        &mut self,
        mut keep: impl FnMut(Link) -> Option<T>,
    ) -> Result<Vec<T>, RtnlError> {
        let mut attempt = 1;
        loop {
            let (objects, interrupted) = self.dump_links_once(&mut keep)?;
            if !interrupted || attempt == DUMP_ATTEMPTS {
                return Ok(objects);
            }
            attempt += 1;
        }
    }

    /// Each link is handed to `keep` as its datagram is read, read for the
    /// fields a [`Link`] has only (see [`link_bytes`]).
    fn dump_links_once<T>(
        &mut self,
        keep: &mut impl FnMut(Link) -> Option<T>,
    ) -> Result<(Vec<T>, bool), RtnlError> {
        let mut request = NetlinkMessage::from(messages::dump_links());
        request.header.flags = NLM_F_REQUEST | NLM_F_DUMP;
        request.finalize();
        let sequence = self.send(&mut [request])?;
        let mut objects = Vec::new();
        let mut interrupted = false;
        loop {
            self.receive_datagram()?;
            let done = dump_part(&self.incoming, sequence, &mut interrupted, |message| {
                if message.kind == RTM_NEWLINK {
                    objects.extend(keep(link(message)?));
                }
                Ok::<_, RtnlError>(())
            })?;
            if done {
                return Ok((objects, interrupted));
            }
        }
    }

    /// Sends one datagram of requests and collects their answers.
    fn exchange(
        &mut self,
        mut chunk: Vec<NetlinkMessage<RouteNetlinkMessage>>,
        results: &mut Vec<Result<Option<Object>, RtnlError>>,
    ) {
        let count = chunk.len();
        let first = match self.send(&mut chunk) {
            Ok(first) => first,
            Err(e) => {
                let errno = e.errno();
                results.extend(
                    (0..count).map(|_| Err(errno.map_or(RtnlError::NoAnswer, RtnlError::Kernel))),
                );
                return;
            }
        };
        let mut answers: Vec<Option<Result<Option<Object>, RtnlError>>> =
            (0..count).map(|_| None).collect();
        let mut missing = count;
        while missing > 0 {
            let received = self
                .receive_datagram()
                .and_then(|()| split_datagram(&self.incoming).collect::<Result<Vec<_>, _>>());
            let parts = match received {
                Ok(parts) => parts,
                Err(RtnlError::Io(e)) => {
                    for slot in answers.iter_mut().filter(|a| a.is_none()) {
                        *slot = Some(Err(RtnlError::Io(io::Error::new(e.kind(), e.to_string()))));
                    }
                    break;
                }
                Err(_) => break,
            };
            for part in parts {
                // Answers to an earlier, abandoned datagram are skipped.
                let index = part.sequence.wrapping_sub(first) as usize;
                let Some(slot) = answers.get_mut(index).filter(|s| s.is_none()) else {
                    continue;
                };
                let result = match part.kind {
                    NLMSG_ERROR => acknowledged(&part).map(|()| None),
                    kind if kind < NLMSG_MIN_TYPE => continue,
                    _ => Ok(Some(Object(part.bytes.to_vec()))),
                };
                *slot = Some(result);
                missing -= 1;
            }
        }
        results.extend(
            answers
                .into_iter()
                .map(|a| a.unwrap_or(Err(RtnlError::NoAnswer))),
        );
    }

    /// Numbers the messages, sends them as one datagram, and returns the
    /// first sequence number.
    fn send(
        &mut self,
        messages: &mut [NetlinkMessage<RouteNetlinkMessage>],
    ) -> Result<u32, RtnlError> {
        let first = self.sequence.wrapping_add(1);
        self.outgoing.clear();
        for message in messages.iter_mut() {
            self.sequence = self.sequence.wrapping_add(1);
            message.header.sequence_number = self.sequence;
            let start = self.outgoing.len();
            self.outgoing.resize(start + message.buffer_len(), 0);
            message.serialize(&mut self.outgoing[start..]);
        }
        self.socket
            .send(&self.outgoing, 0)
            .map_err(|e| match e.raw_os_error() {
                Some(code) => RtnlError::Kernel(Errno(code)),
                None => RtnlError::Io(e),
            })?;
        Ok(first)
    }

    /// Reads one datagram into `incoming`.
    fn receive_datagram(&mut self) -> Result<(), RtnlError> {
        receive(&self.socket, &mut self.incoming).map_err(|e| match e {
            ReceiveError::NotQueued => RtnlError::NoAnswer,
            ReceiveError::TooLong(length) => malformed(format!(
                "an answer of {length} octets is larger than the {MAX_ANSWER} read"
            )),
            ReceiveError::Io(e) => RtnlError::Io(e),
        })
    }
}

fn answer_cost(expect: Expect) -> usize {
    match expect {
        Expect::Ack(_) => ACK_COST,
        Expect::Object => OBJECT_COST,
    }
}

fn one<T>(mut results: Vec<Result<T, RtnlError>>) -> Result<T, RtnlError> {
    results.pop().unwrap_or(Err(RtnlError::NoAnswer))
}

fn malformed(text: String) -> RtnlError {
    RtnlError::Io(io::Error::new(io::ErrorKind::InvalidData, text))
}

/// `RTM_NEWLINK` and `RTM_DELLINK` (linux/rtnetlink.h).
pub(super) const RTM_NEWLINK: u16 = 16;
pub(super) const RTM_DELLINK: u16 = 17;

impl From<DumpFailure> for RtnlError {
    fn from(failure: DumpFailure) -> RtnlError {
        match failure {
            DumpFailure::Malformed(why) => malformed(why.to_string()),
            DumpFailure::Kernel(errno) => RtnlError::Kernel(Errno(errno)),
        }
    }
}

/// An `NLMSG_ERROR`: `Ok` if its error code is 0.
fn acknowledged(message: &Message) -> Result<(), RtnlError> {
    match message.error_code().map_err(|e| malformed(e.to_string()))? {
        0 => Ok(()),
        code => Err(RtnlError::Kernel(Errno(code.saturating_abs()))),
    }
}

/// An `RTM_NEWLINK` or `RTM_DELLINK`, read for what a [`Link`] has.
pub(super) fn link(message: &Message) -> Result<Link, RtnlError> {
    link_bytes::decode(message.payload)
        .map_err(|e| malformed(format!("a link the kernel sent cannot be read: {e}")))
}

/// An object the kernel answered a get with: the whole message.
#[derive(Debug)]
pub(super) struct Object(Vec<u8>);

impl Object {
    fn link(&self) -> Result<Link, RtnlError> {
        let message = Message::of(&self.0).map_err(|e| malformed(e.to_string()))?;
        match message.kind {
            RTM_NEWLINK => link(&message),
            _ => Err(RtnlError::NoAnswer),
        }
    }
}

/// The messages of one datagram, unparsed.
pub(super) fn split_datagram(data: &[u8]) -> impl Iterator<Item = Result<Message<'_>, RtnlError>> {
    messages(data).map(|message| message.map_err(|e| malformed(e.to_string())))
}

#[cfg(test)]
mod tests {
    use rtnetlink::packet_core::ErrorMessage;

    use super::*;

    fn ack(sequence: u32, code: i32) -> Vec<u8> {
        let mut error = ErrorMessage::default();
        error.code = std::num::NonZeroI32::new(code);
        error.header = vec![0; 16];
        let mut message: NetlinkMessage<RouteNetlinkMessage> =
            NetlinkMessage::new(Default::default(), NetlinkPayload::Error(error));
        message.header.sequence_number = sequence;
        message.finalize();
        let mut bytes = vec![0; message.buffer_len()];
        message.serialize(&mut bytes);
        bytes
    }

    /// The messages of `data` as netlink-packet-core reads them.
    fn deserialized(mut data: &[u8]) -> Vec<NetlinkMessage<RouteNetlinkMessage>> {
        let mut messages = Vec::new();
        while !data.is_empty() {
            let length = u32::from_ne_bytes([data[0], data[1], data[2], data[3]]) as usize;
            messages.push(NetlinkMessage::deserialize(&data[..length]).unwrap());
            data = &data[length.next_multiple_of(4)..];
        }
        messages
    }

    #[test]
    fn a_datagram_is_split_into_its_messages() {
        let mut data = ack(7, 0);
        data.extend(ack(8, -libc::ENODEV));
        data.extend(include_bytes!("testdata/links.bin"));
        let parts: Vec<Message> = split_datagram(&data).collect::<Result<_, _>>().unwrap();
        let reference = deserialized(&data);
        assert_eq!(parts.len(), reference.len());
        assert_eq!(parts.len(), 8);
        for (part, message) in parts.iter().zip(&reference) {
            assert_eq!(part.sequence, message.header.sequence_number);
            assert_eq!(part.flags, message.header.flags);
            assert_eq!(part.kind, message.header.message_type);
        }
        assert!(acknowledged(&parts[0]).is_ok());
        assert_eq!(
            acknowledged(&parts[1]).unwrap_err().errno(),
            Some(Errno(libc::ENODEV))
        );
        assert!(parts[2..].iter().all(|p| p.kind == RTM_NEWLINK));
        let object = Object(parts[3].bytes.to_vec());
        assert_eq!(object.link().unwrap().name, "tapvm1");
    }

    #[test]
    fn truncated_answers_are_errors_not_panics() {
        let one = ack(7, 0);
        for cut in [1, 15, 16, one.len() - 1] {
            let split: Result<Vec<Message>, _> = split_datagram(&one[..cut]).collect();
            assert!(split.is_err(), "cut at {cut}");
        }
        let mut zero_length = one.clone();
        zero_length[..4].copy_from_slice(&0u32.to_ne_bytes());
        assert!(split_datagram(&zero_length).any(|p| p.is_err()));
        let cut_link = Object(include_bytes!("testdata/links.bin")[..40].to_vec());
        assert!(cut_link.link().is_err());
    }
}
