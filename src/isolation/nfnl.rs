//! nf_tables over netlink, for the two things that must cost microseconds
//! rather than an `nft` process: changing which endpoints are in the
//! table's sets, and asking whether anything changed the ruleset since the
//! daemon last looked (its generation).
//!
//! A membership change is one nfnetlink batch, which nf_tables commits as
//! one transaction: packets meet the sets before it or after it, and if the
//! kernel refuses any element, none is changed. The rules and the sets'
//! definitions only ever come from a whole-table `nft -f` (see
//! [`super::apply`]); this module never touches them.
//!
//! Layouts: `include/uapi/linux/netfilter/nfnetlink.h` and
//! `nf_tables.h`. The socket is non-blocking, as in the endpoint wiring's
//! rtnetlink socket: nfnetlink handles a batch while it is sent, so every
//! answer is queued when `send` returns (see [`crate::netlink_socket`]).

use std::io;
use std::net::Ipv4Addr;

use rtnetlink::sys::{Socket, protocols::NETLINK_NETFILTER};

use super::error::NftError;
use super::interface::{InterfaceName, MAX_INTERFACE_LEN};
use super::ruleset::{INTERFACES, SOURCES, TABLE_NAME};
use crate::kernel::Errno;

const NLMSG_HDRLEN: usize = 16;
const NFGENMSG_LEN: usize = 4;
const NLMSG_ERROR: u16 = 2;
const NLM_F_REQUEST: u16 = 0x1;
const NLM_F_ACK: u16 = 0x4;
const NLM_F_CREATE: u16 = 0x400;
const NLA_F_NESTED: u16 = 0x8000;

const NFNL_SUBSYS_NFTABLES: u16 = 10;
const NFNL_MSG_BATCH_BEGIN: u16 = 0x10;
const NFNL_MSG_BATCH_END: u16 = 0x11;
const NFT_MSG_NEWSETELEM: u16 = 12;
const NFT_MSG_DELSETELEM: u16 = 14;
const NFT_MSG_NEWGEN: u16 = 15;
const NFT_MSG_GETGEN: u16 = 16;
/// `NFPROTO_INET`: the table's family.
const FAMILY_INET: u8 = 1;
const NFNETLINK_V0: u8 = 0;

const NFTA_SET_ELEM_LIST_TABLE: u16 = 1;
const NFTA_SET_ELEM_LIST_SET: u16 = 2;
const NFTA_SET_ELEM_LIST_ELEMENTS: u16 = 3;
const NFTA_LIST_ELEM: u16 = 1;
const NFTA_SET_ELEM_KEY: u16 = 1;
const NFTA_DATA_VALUE: u16 = 1;
const NFTA_GEN_ID: u16 = 1;

/// A batch larger than this goes as a whole-table replace instead: it
/// must fit the socket's send buffer (`net.core.wmem_default`, 208 KiB)
/// in one datagram to be one transaction.
pub const MAX_BATCH: usize = 128 * 1024;
/// Elements per message: a netlink attribute's length is 16 bits.
const ELEMENTS_PER_MESSAGE: usize = 1024;
const MAX_ANSWER: usize = 64 * 1024;

/// nf_tables' ruleset generation: every committed transaction, by anyone,
/// moves it on by one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Generation(u32);

impl Generation {
    /// The generation after one more commit.
    pub fn next(self) -> Generation {
        Generation(self.0.wrapping_add(1))
    }
}

/// Whether a change puts endpoints into the sets or takes them out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Membership {
    Add,
    Remove,
}

/// An nfnetlink socket in the daemon's network namespace.
pub struct NfTables {
    socket: Socket,
    sequence: u32,
    incoming: Vec<u8>,
}

impl NfTables {
    pub fn open() -> Result<NfTables, NftError> {
        let socket = crate::netlink_socket::open(NETLINK_NETFILTER).map_err(|(step, e)| {
            NftError::Netlink {
                doing: "open an nfnetlink socket",
                source: io::Error::new(e.kind(), format!("{step}: {e}")),
            }
        })?;
        Ok(NfTables {
            socket,
            sequence: 0,
            incoming: Vec::with_capacity(MAX_ANSWER),
        })
    }

    /// The ruleset's generation now.
    pub fn generation(&mut self) -> Result<Generation, NftError> {
        const DOING: &str = "read the nf_tables generation";
        let seq = self.next_sequence();
        let mut out = Vec::with_capacity(NLMSG_HDRLEN + NFGENMSG_LEN);
        let at = begin_message(&mut out, nftables(NFT_MSG_GETGEN), NLM_F_REQUEST, seq, 0);
        end_message(&mut out, at);
        self.send(&out, DOING)?;
        let mut generation = None;
        let mut refused = None;
        self.receive(DOING, |header, body| match header.kind {
            NLMSG_ERROR => refused = error_code(body).filter(|&e| e != 0),
            kind if kind == nftables(NFT_MSG_NEWGEN) => {
                generation = body
                    .get(NFGENMSG_LEN..)
                    .and_then(|attrs| attribute(attrs, NFTA_GEN_ID))
                    .and_then(|v| v.try_into().ok())
                    .map(|v| Generation(u32::from_be_bytes(v)));
            }
            _ => {}
        })?;
        match (generation, refused) {
            (Some(generation), _) => Ok(generation),
            (None, Some(errno)) => Err(NftError::Kernel {
                doing: DOING,
                errno: Errno(errno),
            }),
            (None, None) => Err(NftError::NoAnswer { doing: DOING }),
        }
    }

    /// Puts `endpoints` into the endpoint sets of `inet romana`, or takes
    /// them out, in one transaction. The table must be there with its sets:
    /// the kernel's ENOENT says it is not, and the caller replaces it whole.
    pub fn change(
        &mut self,
        membership: Membership,
        endpoints: &[(InterfaceName, Ipv4Addr)],
    ) -> Result<(), NftError> {
        let doing = match membership {
            Membership::Add => "add endpoints to the sets of table inet romana",
            Membership::Remove => "remove endpoints from the sets of table inet romana",
        };
        if endpoints.is_empty() {
            return Ok(());
        }
        let out = batch(&mut self.sequence, membership, endpoints);
        if out.len() > MAX_BATCH {
            return Err(NftError::TooLarge { doing });
        }
        self.send(&out, doing)?;
        let mut acknowledged = 0usize;
        let mut refused = None;
        self.receive(doing, |header, body| {
            if header.kind == NLMSG_ERROR {
                match error_code(body) {
                    Some(0) => acknowledged += 1,
                    Some(errno) => refused = refused.or(Some(errno)),
                    None => {}
                }
            }
        })?;
        let expected = endpoints.len().div_ceil(ELEMENTS_PER_MESSAGE) * 2;
        match refused {
            Some(errno) => Err(NftError::Kernel {
                doing,
                errno: Errno(errno),
            }),
            None if acknowledged < expected => Err(NftError::NoAnswer { doing }),
            None => Ok(()),
        }
    }

    fn next_sequence(&mut self) -> u32 {
        next(&mut self.sequence)
    }

    fn send(&mut self, datagram: &[u8], doing: &'static str) -> Result<(), NftError> {
        let sent = self
            .socket
            .send(datagram, 0)
            .map_err(|source| NftError::Netlink { doing, source })?;
        if sent != datagram.len() {
            return Err(NftError::Netlink {
                doing,
                source: io::Error::other("the batch was cut short"),
            });
        }
        Ok(())
    }

    /// Reads every queued answer (see the module comment for why the
    /// queue is all there is), handing each message to `each`.
    fn receive(
        &mut self,
        doing: &'static str,
        mut each: impl FnMut(Header, &[u8]),
    ) -> Result<(), NftError> {
        loop {
            self.incoming.clear();
            match self.socket.recv(&mut self.incoming, 0) {
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(source) => return Err(NftError::Netlink { doing, source }),
            }
            let mut rest = self.incoming.as_slice();
            while let Some((header, body, after)) = split_message(rest) {
                each(header, body);
                rest = after;
            }
        }
    }
}

fn next(sequence: &mut u32) -> u32 {
    *sequence = sequence.wrapping_add(1);
    *sequence
}

/// The batch: begin, one message per set and chunk of elements, end.
fn batch(
    sequence: &mut u32,
    membership: Membership,
    endpoints: &[(InterfaceName, Ipv4Addr)],
) -> Vec<u8> {
    let (kind, flags) = match membership {
        // Without NLM_F_EXCL an element already there is no error.
        Membership::Add => (NFT_MSG_NEWSETELEM, NLM_F_REQUEST | NLM_F_CREATE | NLM_F_ACK),
        Membership::Remove => (NFT_MSG_DELSETELEM, NLM_F_REQUEST | NLM_F_ACK),
    };
    let mut out = Vec::with_capacity(256 + 64 * endpoints.len());
    batch_marker(&mut out, NFNL_MSG_BATCH_BEGIN, next(sequence));
    for chunk in endpoints.chunks(ELEMENTS_PER_MESSAGE) {
        elements_message(
            &mut out,
            kind,
            flags,
            next(sequence),
            INTERFACES,
            chunk,
            |(name, _)| interface_key(name).to_vec(),
        );
        elements_message(
            &mut out,
            kind,
            flags,
            next(sequence),
            SOURCES,
            chunk,
            |(name, address)| {
                let mut key = interface_key(name).to_vec();
                key.extend_from_slice(&address.octets());
                key
            },
        );
    }
    batch_marker(&mut out, NFNL_MSG_BATCH_END, next(sequence));
    out
}

/// The parts of a netlink header the answers are read by.
#[derive(Clone, Copy, Debug)]
struct Header {
    kind: u16,
}

/// `(NFNL_SUBSYS_NFTABLES << 8) | message`.
fn nftables(message: u16) -> u16 {
    (NFNL_SUBSYS_NFTABLES << 8) | message
}

/// The set key of an interface name: `IFNAMSIZ` octets, zero padded, as
/// nft stores the `ifname` type.
fn interface_key(name: &InterfaceName) -> [u8; MAX_INTERFACE_LEN + 1] {
    let mut key = [0u8; MAX_INTERFACE_LEN + 1];
    let bytes = name.as_str().as_bytes();
    // InterfaceName holds at most MAX_INTERFACE_LEN octets.
    key[..bytes.len()].copy_from_slice(bytes);
    key
}

fn elements_message(
    out: &mut Vec<u8>,
    kind: u16,
    flags: u16,
    seq: u32,
    set: &str,
    chunk: &[(InterfaceName, Ipv4Addr)],
    key: impl Fn(&(InterfaceName, Ipv4Addr)) -> Vec<u8>,
) {
    let at = begin_message(out, nftables(kind), flags, seq, FAMILY_INET);
    put_string(out, NFTA_SET_ELEM_LIST_TABLE, TABLE_NAME);
    put_string(out, NFTA_SET_ELEM_LIST_SET, set);
    let list = begin_nested(out, NFTA_SET_ELEM_LIST_ELEMENTS);
    for endpoint in chunk {
        let element = begin_nested(out, NFTA_LIST_ELEM);
        let key_at = begin_nested(out, NFTA_SET_ELEM_KEY);
        put_attribute(out, NFTA_DATA_VALUE, &key(endpoint));
        end_nested(out, key_at);
        end_nested(out, element);
    }
    end_nested(out, list);
    end_message(out, at);
}

/// A batch begins and ends with a message for the nfnetlink subsystem
/// that `res_id` names.
fn batch_marker(out: &mut Vec<u8>, kind: u16, seq: u32) {
    let at = out.len();
    put_header(out, kind, NLM_F_REQUEST, seq);
    out.extend_from_slice(&[0, NFNETLINK_V0]);
    out.extend_from_slice(&NFNL_SUBSYS_NFTABLES.to_be_bytes());
    end_message(out, at);
}

/// Starts a message with its `nfgenmsg`; returns where it starts.
fn begin_message(out: &mut Vec<u8>, kind: u16, flags: u16, seq: u32, family: u8) -> usize {
    let at = out.len();
    put_header(out, kind, flags, seq);
    out.extend_from_slice(&[family, NFNETLINK_V0, 0, 0]);
    at
}

fn put_header(out: &mut Vec<u8>, kind: u16, flags: u16, seq: u32) {
    out.extend_from_slice(&0u32.to_ne_bytes());
    out.extend_from_slice(&kind.to_ne_bytes());
    out.extend_from_slice(&flags.to_ne_bytes());
    out.extend_from_slice(&seq.to_ne_bytes());
    out.extend_from_slice(&0u32.to_ne_bytes());
}

/// Writes the length of the message that starts at `at`.
fn end_message(out: &mut [u8], at: usize) {
    let len = u32::try_from(out.len() - at).unwrap_or(u32::MAX);
    out[at..at + 4].copy_from_slice(&len.to_ne_bytes());
}

fn put_attribute(out: &mut Vec<u8>, kind: u16, value: &[u8]) {
    let at = begin_attribute(out, kind);
    out.extend_from_slice(value);
    end_attribute(out, at);
}

fn put_string(out: &mut Vec<u8>, kind: u16, value: &str) {
    let at = begin_attribute(out, kind);
    out.extend_from_slice(value.as_bytes());
    out.push(0);
    end_attribute(out, at);
}

fn begin_nested(out: &mut Vec<u8>, kind: u16) -> usize {
    begin_attribute(out, kind | NLA_F_NESTED)
}

fn end_nested(out: &mut Vec<u8>, at: usize) {
    end_attribute(out, at);
}

fn begin_attribute(out: &mut Vec<u8>, kind: u16) -> usize {
    let at = out.len();
    out.extend_from_slice(&0u16.to_ne_bytes());
    out.extend_from_slice(&kind.to_ne_bytes());
    at
}

/// Writes the attribute's length (without padding) and pads to 4 octets.
fn end_attribute(out: &mut Vec<u8>, at: usize) {
    let len = u16::try_from(out.len() - at).unwrap_or(u16::MAX);
    out[at..at + 2].copy_from_slice(&len.to_ne_bytes());
    out.resize(out.len().next_multiple_of(4), 0);
}

/// The first message of `data`, its body, and what follows it; `None` at
/// the end or on a length that does not fit.
fn split_message(data: &[u8]) -> Option<(Header, &[u8], &[u8])> {
    let len = usize::try_from(u32::from_ne_bytes(data.get(0..4)?.try_into().ok()?)).ok()?;
    let kind = u16::from_ne_bytes(data.get(4..6)?.try_into().ok()?);
    let body = data.get(NLMSG_HDRLEN..len)?;
    let rest = data.get(len.next_multiple_of(4)..).unwrap_or(&[]);
    Some((Header { kind }, body, rest))
}

/// The positive errno of an `NLMSG_ERROR` body; 0 for an acknowledgement.
fn error_code(body: &[u8]) -> Option<i32> {
    let code = i32::from_ne_bytes(body.get(0..4)?.try_into().ok()?);
    Some(-code)
}

/// The value of the first top-level attribute of type `kind`.
fn attribute(mut attrs: &[u8], kind: u16) -> Option<&[u8]> {
    while attrs.len() >= 4 {
        let len = usize::from(u16::from_ne_bytes(attrs.get(0..2)?.try_into().ok()?));
        let this = u16::from_ne_bytes(attrs.get(2..4)?.try_into().ok()?) & !NLA_F_NESTED;
        let value = attrs.get(4..len)?;
        if this == kind {
            return Some(value);
        }
        attrs = attrs.get(len.next_multiple_of(4)..).unwrap_or(&[]);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(s: &str) -> InterfaceName {
        InterfaceName::new(s).expect("valid name")
    }

    /// The message nft 1.0.6 sent for `add element inet romana
    /// endpoint_interfaces { "tap2" }` (strace of `nft`), less the
    /// `NFTA_SET_ELEM_LIST_SET_ID` it adds, with NLM_F_ACK set and our
    /// sequence number.
    #[test]
    fn interface_element_is_laid_out_as_nft_lays_it_out() {
        let mut out = Vec::new();
        elements_message(
            &mut out,
            NFT_MSG_NEWSETELEM,
            NLM_F_REQUEST | NLM_F_CREATE | NLM_F_ACK,
            1,
            INTERFACES,
            &[(name("tap2"), Ipv4Addr::UNSPECIFIED)],
            |(n, _)| interface_key(n).to_vec(),
        );
        let attrs: &[u8] = &[
            0x0b, 0x00, 0x01, 0x00, b'r', b'o', b'm', b'a', b'n', b'a', 0, 0, //
            0x18, 0x00, 0x02, 0x00, b'e', b'n', b'd', b'p', b'o', b'i', b'n', b't', b'_', b'i',
            b'n', b't', b'e', b'r', b'f', b'a', b'c', b'e', b's', 0, //
            0x20, 0x00, 0x03, 0x80, 0x1c, 0x00, 0x01, 0x80, 0x18, 0x00, 0x01, 0x80, 0x14, 0x00,
            0x01, 0x00, b't', b'a', b'p', b'2', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        ];
        let len = u32::try_from(NLMSG_HDRLEN + NFGENMSG_LEN + attrs.len()).unwrap();
        let mut expected = len.to_ne_bytes().to_vec();
        expected.extend_from_slice(&nftables(NFT_MSG_NEWSETELEM).to_ne_bytes());
        expected.extend_from_slice(&(NLM_F_REQUEST | NLM_F_CREATE | NLM_F_ACK).to_ne_bytes());
        expected.extend_from_slice(&1u32.to_ne_bytes());
        expected.extend_from_slice(&0u32.to_ne_bytes());
        expected.extend_from_slice(&[FAMILY_INET, 0, 0, 0]);
        expected.extend_from_slice(attrs);
        assert_eq!(out, expected);
    }

    /// `nft --debug=netlink add element inet romana endpoint_sources
    /// { "tap1" . 10.1.2.3 }` prints the key as
    /// `31706174 00000000 00000000 00000000 0302010a` (little-endian words).
    #[test]
    fn source_key_is_the_name_then_the_address() {
        let mut nf = Vec::new();
        nf.extend_from_slice(&interface_key(&name("tap1")));
        nf.extend_from_slice(&Ipv4Addr::new(10, 1, 2, 3).octets());
        let words: Vec<u32> = nf
            .chunks(4)
            .map(|w| u32::from_le_bytes(w.try_into().unwrap()))
            .collect();
        assert_eq!(words, [0x31706174, 0, 0, 0, 0x0302010a]);
    }

    #[test]
    fn a_batch_has_two_messages_per_chunk_between_its_markers() {
        let endpoints: Vec<_> = (0..ELEMENTS_PER_MESSAGE + 1)
            .map(|i| (name(&format!("tap{i}")), Ipv4Addr::new(10, 0, 0, 1)))
            .collect();
        for membership in [Membership::Add, Membership::Remove] {
            let out = batch(&mut 0, membership, &endpoints);
            let mut kinds = Vec::new();
            let mut rest = out.as_slice();
            while let Some((header, _, after)) = split_message(rest) {
                kinds.push(header.kind);
                rest = after;
            }
            let element = nftables(match membership {
                Membership::Add => NFT_MSG_NEWSETELEM,
                Membership::Remove => NFT_MSG_DELSETELEM,
            });
            assert_eq!(
                kinds,
                [
                    NFNL_MSG_BATCH_BEGIN,
                    element,
                    element,
                    element,
                    element,
                    NFNL_MSG_BATCH_END
                ]
            );
        }
    }

    #[test]
    fn generation_id_is_read_from_its_attribute() {
        let attrs = [8u8, 0, 1, 0, 0, 0, 1, 2];
        assert_eq!(attribute(&attrs, NFTA_GEN_ID), Some(&[0u8, 0, 1, 2][..]));
        assert_eq!(attribute(&attrs, 2), None);
        assert_eq!(attribute(&[8, 0, 1, 0, 0], NFTA_GEN_ID), None);
        assert_eq!(Generation(u32::MAX).next(), Generation(0));
    }

    #[test]
    fn error_codes_are_positive_errnos() {
        assert_eq!(error_code(&(-2i32).to_ne_bytes()), Some(2));
        assert_eq!(error_code(&0i32.to_ne_bytes()), Some(0));
        assert_eq!(error_code(&[0, 0]), None);
    }
}
