//! The socket that route and address changes go through: many requests to
//! a datagram, and only the last of a datagram asks to be acknowledged.
//!
//! The kernel handles rtnetlink requests while it handles the `send`, one
//! after another, and answers every failed request with an error whether
//! or not it asked for an acknowledgement. So once the answer to the last
//! request is read, every earlier request of the datagram without an error
//! succeeded, and each error names its request by sequence number. A
//! million routes then cost a thousand acknowledgements, not a million
//! (reading one per route was a tenth of the daemon's time taking in a
//! leaked full table).

use rtnetlink::packet_core::{
    NLM_F_ACK, NLM_F_REQUEST, NLMSG_ERROR, NetlinkBuffer, NetlinkMessage, NetlinkPayload,
};
use rtnetlink::packet_route::RouteNetlinkMessage;
use rtnetlink::sys::{Socket, protocols::NETLINK_ROUTE};

use super::error::{ConnectError, Failure};
use super::netlink::kernel_failure;
use crate::netlink_socket::{ReceiveError, receive};

/// Receive buffer asked for. Every request of a datagram may fail, and its
/// error is queued before any is read, so it bounds the requests in a
/// datagram; the kernel caps the request at `net.core.rmem_max` and
/// doubles it.
const RECEIVE_BUFFER: usize = 4 << 20;

/// What one queued error costs in the receive buffer: a small datagram's
/// kernel bookkeeping (`skb` truesize) is about 768 octets, rounded up.
const ANSWER_COST: usize = 1024;

/// Octets of requests in one datagram: well below the default socket send
/// buffer (`net.core.wmem_default`, 208 KiB), which a datagram must fit in.
const MAX_DATAGRAM: usize = 64 * 1024;

/// Requests in one datagram at most.
const MAX_BATCH: usize = 1024;

/// The largest answer read: an error echoes only the request's header
/// (`NETLINK_CAP_ACK`) and adds the kernel's text.
const MAX_ANSWER: usize = 8 * 1024;

/// A non-blocking rtnetlink socket for changes, used by one caller at a
/// time.
#[derive(Debug)]
pub(super) struct ChangeSocket {
    socket: Socket,
    sequence: u32,
    batch_limit: usize,
    outgoing: Vec<u8>,
    incoming: Vec<u8>,
}

impl ChangeSocket {
    /// Opens the socket in the calling thread's network namespace.
    pub(super) fn open() -> Result<Self, ConnectError> {
        let socket =
            crate::netlink_socket::open(NETLINK_ROUTE).map_err(|(_, e)| ConnectError(e))?;
        // Errors carry the kernel's text.
        socket.set_ext_ack(true).map_err(ConnectError)?;
        // A smaller buffer than asked for only means smaller datagrams.
        if let Err(e) = socket.set_rx_buf_sz(RECEIVE_BUFFER) {
            tracing::debug!("netlink receive buffer stays at its default: {e}");
        }
        let receive_buffer = socket.get_rx_buf_sz().map_err(ConnectError)?;
        Ok(ChangeSocket {
            socket,
            sequence: 0,
            batch_limit: (receive_buffer / ANSWER_COST).clamp(1, MAX_BATCH),
            outgoing: Vec::with_capacity(MAX_DATAGRAM),
            incoming: Vec::with_capacity(MAX_ANSWER),
        })
    }

    /// How many requests one datagram carries at most.
    pub(super) fn batch_limit(&self) -> usize {
        self.batch_limit
    }

    /// Sends the requests (each with its `NLM_F_*` flags), as few datagrams
    /// as fit, and returns one result per request, in order.
    pub(super) fn apply(
        &mut self,
        requests: impl IntoIterator<Item = (RouteNetlinkMessage, u16)>,
    ) -> Vec<Result<(), Failure>> {
        let mut results = Vec::new();
        let mut datagram = Vec::new();
        let mut octets = 0;
        for (message, flags) in requests {
            let mut request = NetlinkMessage::from(message);
            request.header.flags = flags | NLM_F_REQUEST;
            request.finalize();
            let size = request.buffer_len();
            if !datagram.is_empty()
                && (datagram.len() == self.batch_limit || octets + size > MAX_DATAGRAM)
            {
                self.exchange(&mut datagram, &mut results);
                octets = 0;
            }
            octets += size;
            datagram.push(request);
        }
        if !datagram.is_empty() {
            self.exchange(&mut datagram, &mut results);
        }
        results
    }

    /// Sends one datagram of requests, the last acknowledged, and appends
    /// their results; empties `datagram`.
    fn exchange(
        &mut self,
        datagram: &mut Vec<NetlinkMessage<RouteNetlinkMessage>>,
        results: &mut Vec<Result<(), Failure>>,
    ) {
        let count = datagram.len();
        let first = self.sequence.wrapping_add(1);
        self.outgoing.clear();
        for (i, request) in datagram.iter_mut().enumerate() {
            self.sequence = self.sequence.wrapping_add(1);
            request.header.sequence_number = self.sequence;
            if i + 1 == count {
                request.header.flags |= NLM_F_ACK;
            }
            let start = self.outgoing.len();
            self.outgoing.resize(start + request.buffer_len(), 0);
            if let Some(room) = self.outgoing.get_mut(start..) {
                request.serialize(room);
            }
        }
        datagram.clear();
        let start = results.len();
        if let Err(e) = self.socket.send(&self.outgoing, 0) {
            results.resize(start + count, Err(Failure::of_socket(&e)));
            return;
        }
        results.resize(start + count, Ok(()));
        let Some(answers) = results.get_mut(start..) else {
            return;
        };
        let complete = self.collect(first, answers);
        if !complete {
            // An error may have been lost with the acknowledgement: what
            // did not fail visibly may not have happened either.
            for result in answers.iter_mut().filter(|r| r.is_ok()) {
                *result = Err(Failure::NoAnswer);
            }
        }
    }

    /// Reads the answers to the datagram whose first request was numbered
    /// `first`, putting each error in its request's slot of `answers`;
    /// whether every answer was read (the last request's came, and the
    /// kernel dropped none).
    fn collect(&mut self, first: u32, answers: &mut [Result<(), Failure>]) -> bool {
        let last = answers.len().saturating_sub(1);
        let mut overrun = false;
        loop {
            match receive(&self.socket, &mut self.incoming) {
                Ok(()) => {}
                // The receive buffer was full and the kernel dropped an
                // answer; what is still queued is read on.
                Err(ReceiveError::Io(e)) if e.raw_os_error() == Some(libc::ENOBUFS) => {
                    overrun = true;
                    continue;
                }
                // Cut short, so unreadable; the kernel sends no answer this
                // large to a change.
                Err(ReceiveError::TooLong(_)) => {
                    overrun = true;
                    continue;
                }
                // Nothing queued: since the kernel answers during the
                // `send`, the missing answers will never come.
                Err(_) => return false,
            }
            for (sequence, failure) in errors(&self.incoming) {
                // Answers to an earlier, abandoned datagram are skipped.
                let index = sequence.wrapping_sub(first) as usize;
                let Some(slot) = answers.get_mut(index) else {
                    continue;
                };
                if let Some(failure) = failure {
                    *slot = Err(failure);
                }
                if index == last {
                    return !overrun;
                }
            }
        }
    }
}

/// The answers in one datagram from the kernel, as sequence number and
/// failure (`None` for an acknowledgement); what cannot be read is skipped.
fn errors(mut data: &[u8]) -> Vec<(u32, Option<Failure>)> {
    let mut answers = Vec::new();
    while let Ok(buffer) = NetlinkBuffer::new_checked(data) {
        let length = buffer.length() as usize;
        let (sequence, kind, flags) = (
            buffer.sequence_number(),
            buffer.message_type(),
            buffer.flags(),
        );
        if kind == NLMSG_ERROR
            && let Some(bytes) = data.get(..length)
            && let Ok(message) = NetlinkMessage::<RouteNetlinkMessage>::deserialize(bytes)
            && let NetlinkPayload::Error(e) = message.payload
        {
            answers.push((sequence, e.code.map(|_| kernel_failure(&e, flags))));
        }
        data = data.get(length.next_multiple_of(4)..).unwrap_or_default();
    }
    answers
}

#[cfg(test)]
mod tests {
    use rtnetlink::packet_core::NLM_F_CAPPED;

    use super::*;
    use crate::kernel::message::change_request;
    use crate::kernel::{Errno, RTPROT_ROMANA_LEARNED, Route, RouteChange, in_own_netns};

    /// An answer as the kernel writes it: a header, the errno (0 for an
    /// acknowledgement), and the request's header echoed (capped).
    fn answer(sequence: u32, code: i32) -> Vec<u8> {
        let length: u32 = 16 + 4 + 16;
        [
            &length.to_ne_bytes()[..],
            &NLMSG_ERROR.to_ne_bytes(),
            &NLM_F_CAPPED.to_ne_bytes(),
            &sequence.to_ne_bytes(),
            &[0; 4],
            &code.to_ne_bytes(),
            &[0; 16],
        ]
        .concat()
    }

    #[test]
    fn errors_and_acknowledgements_are_told_apart_by_sequence_number() {
        let mut data = answer(41, -libc::EEXIST);
        data.extend(answer(42, 0));
        let found = errors(&data);
        assert_eq!(found.len(), 2);
        assert_eq!(found[0].0, 41);
        assert_eq!(
            found[0].1.as_ref().and_then(Failure::errno),
            Some(Errno::EEXIST)
        );
        assert_eq!(found[1], (42, None));
    }

    #[test]
    fn cut_answers_are_skipped_without_panicking() {
        let data = answer(7, -libc::EEXIST);
        for cut in [1, 15, 16, 19, data.len() - 1] {
            assert_eq!(errors(&data[..cut]), Vec::new(), "cut at {cut}");
        }
        let mut zero_length = data.clone();
        zero_length[..4].copy_from_slice(&0u32.to_ne_bytes());
        assert!(errors(&zero_length).is_empty());
    }

    fn add(prefix: &str) -> (RouteNetlinkMessage, u16) {
        let prefix = prefix.parse().expect("test prefix");
        let route = Route::unreachable(prefix).expect("valid");
        change_request(&RouteChange::Add(route), RTPROT_ROMANA_LEARNED)
    }

    #[test]
    fn each_failure_in_a_batch_is_found_by_its_request_and_the_rest_succeed() {
        in_own_netns(|| {
            let mut socket = ChangeSocket::open().expect("socket");
            // More requests than one datagram takes; an exclusive add of a
            // prefix already added fails with EEXIST, here in the middle of
            // a datagram, as the first of the second, and as the very last.
            let count = socket.batch_limit() + 10;
            let again = [3, socket.batch_limit(), count - 1];
            let requests = (0..count).map(|i| match again.contains(&i) {
                true => add("10.0.0.0/32"),
                false => add(&format!("10.{}.{}.{}/32", i >> 16, (i >> 8) & 255, i & 255)),
            });
            let results = socket.apply(requests);
            assert_eq!(results.len(), count);
            for (i, result) in results.iter().enumerate() {
                if again.contains(&i) {
                    let errno = result.as_ref().err().and_then(Failure::errno);
                    assert_eq!(errno, Some(Errno::EEXIST), "request {i}");
                } else {
                    assert_eq!(result, &Ok(()), "request {i}");
                }
            }
            // A datagram whose only request fails, and one that succeeds.
            assert!(socket.apply([add("10.0.0.1/32")])[0].is_err());
            assert_eq!(socket.apply([add("10.255.0.0/16")]), vec![Ok(())]);
        });
    }
}
