//! Netlink messages read straight from the kernel's bytes: a datagram split
//! into its messages, a message's error code, the attributes of an object.
//! The daemon reads thousands of links and routes every few seconds (the
//! endpoint survey, the check of its own routes) and wants a few fields of
//! each; decoding every object whole into owned values only to drop them
//! was most of that work. The endpoint wiring and the route table read
//! through these alone.
//!
//! Attributes are the netlink TLVs of netlink(7): a 16-bit length that
//! counts the 4-octet header, a 16-bit type whose top two bits are flags,
//! the value padded to 4 octets.

use std::fmt;

use rtnetlink::packet_core::{NLM_F_DUMP_INTR, NetlinkBuffer};

/// `NLMSG_ERROR` and `NLMSG_DONE` (linux/netlink.h).
pub const NLMSG_ERROR: u16 = 2;
pub const NLMSG_DONE: u16 = 3;
/// Types below are netlink's own control messages (linux/netlink.h).
pub const NLMSG_MIN_TYPE: u16 = 0x10;

const ATTRIBUTE_HEADER: usize = 4;
/// `NLA_F_NESTED` and `NLA_F_NET_BYTEORDER`.
const TYPE_MASK: u16 = 0x3fff;

/// Why bytes from the kernel could not be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Malformed(pub &'static str);

impl fmt::Display for Malformed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

/// One message of a datagram, its payload unread.
#[derive(Clone, Copy, Debug)]
pub struct Message<'a> {
    pub kind: u16,
    pub flags: u16,
    pub sequence: u32,
    /// The whole message, header included.
    pub bytes: &'a [u8],
    /// What follows the netlink header.
    pub payload: &'a [u8],
}

impl<'a> Message<'a> {
    /// The message at the start of `data`, its length checked against
    /// what there is.
    pub fn of(data: &'a [u8]) -> Result<Message<'a>, Malformed> {
        let buffer = NetlinkBuffer::new_checked(data)
            .map_err(|_| Malformed("a netlink message is cut short"))?;
        Ok(Message {
            kind: buffer.message_type(),
            flags: buffer.flags(),
            sequence: buffer.sequence_number(),
            bytes: &data[..buffer.length() as usize],
            payload: buffer.payload(),
        })
    }

    /// The error code of an `NLMSG_ERROR`, or of the `NLMSG_DONE` that ends
    /// a dump: 0 for success, else a negated errno.
    pub fn error_code(&self) -> Result<i32, Malformed> {
        let code = self
            .payload
            .get(..4)
            .ok_or(Malformed("a netlink error without its code"))?;
        Ok(i32::from_ne_bytes([code[0], code[1], code[2], code[3]]))
    }

    /// The address family of an rtnetlink object, the first octet of its
    /// header.
    pub fn family(&self) -> Option<u8> {
        self.payload.first().copied()
    }
}

/// The messages of one datagram, each padded to 4 octets; after one that
/// cannot be read, nothing more.
pub fn messages(mut data: &[u8]) -> impl Iterator<Item = Result<Message<'_>, Malformed>> {
    std::iter::from_fn(move || {
        if data.is_empty() {
            return None;
        }
        let message = Message::of(data);
        data = match &message {
            Ok(message) => data
                .get(message.bytes.len().next_multiple_of(4)..)
                .unwrap_or_default(),
            Err(_) => &[],
        };
        Some(message)
    })
}

/// Why a dump ended before its end.
#[derive(Debug)]
pub enum DumpFailure {
    /// A part could not be read.
    Malformed(Malformed),
    /// The kernel ended the dump with this errno.
    Kernel(i32),
}

/// Reads one datagram of the dump whose request was numbered `sequence`:
/// hands each object of it to `each` (the kind of a message, and the
/// message), notes in `interrupted` whether the kernel marked the part
/// interrupted by a concurrent change, and says whether the dump's end was
/// read. A dump that failed part way ends with its error.
pub fn dump_part<E: From<DumpFailure>>(
    datagram: &[u8],
    sequence: u32,
    interrupted: &mut bool,
    mut each: impl FnMut(&Message) -> Result<(), E>,
) -> Result<bool, E> {
    for message in messages(datagram) {
        let message = message.map_err(DumpFailure::Malformed)?;
        if message.sequence != sequence {
            continue;
        }
        *interrupted |= message.flags & NLM_F_DUMP_INTR != 0;
        match message.kind {
            NLMSG_DONE | NLMSG_ERROR => {
                match message.error_code().map_err(DumpFailure::Malformed)? {
                    0 if message.kind == NLMSG_DONE => return Ok(true),
                    0 => {}
                    code => return Err(DumpFailure::Kernel(code.saturating_abs()).into()),
                }
            }
            kind if kind >= NLMSG_MIN_TYPE => each(&message)?,
            _ => {}
        }
    }
    Ok(false)
}

/// The attributes in `data`, as (type without flags, value). A trailing
/// fragment shorter than an attribute's header is padding and ends them;
/// an attribute longer than what is left is an error, and the last item.
pub fn attributes(mut data: &[u8]) -> impl Iterator<Item = Result<(u16, &[u8]), Malformed>> {
    std::iter::from_fn(move || {
        if data.len() < ATTRIBUTE_HEADER {
            return None;
        }
        let length = usize::from(u16::from_ne_bytes([data[0], data[1]]));
        let kind = u16::from_ne_bytes([data[2], data[3]]) & TYPE_MASK;
        let Some(value) = data.get(ATTRIBUTE_HEADER..length) else {
            data = &[];
            return Some(Err(Malformed("an attribute runs past its message")));
        };
        data = data.get(length.next_multiple_of(4)..).unwrap_or_default();
        Some(Ok((kind, value)))
    })
}

/// The first four octets of `value`, in host order.
pub fn u32_of(value: &[u8]) -> Result<u32, Malformed> {
    let word = value
        .get(..4)
        .ok_or(Malformed("a 32-bit value too short"))?;
    Ok(u32::from_ne_bytes([word[0], word[1], word[2], word[3]]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attribute(kind: u16, value: &[u8]) -> Vec<u8> {
        let length = ATTRIBUTE_HEADER + value.len();
        let mut out = u16::try_from(length).unwrap().to_ne_bytes().to_vec();
        out.extend(kind.to_ne_bytes());
        out.extend(value);
        out.resize(length.next_multiple_of(4), 0);
        out
    }

    #[test]
    fn attributes_are_read_with_their_flags_masked() {
        let mut data = attribute(3, b"eth0\0");
        data.extend(attribute(0x8000 | 18, &attribute(1, b"veth\0")));
        let read: Vec<_> = attributes(&data).collect::<Result<_, _>>().unwrap();
        assert_eq!(read.len(), 2);
        assert_eq!(read[0], (3, &b"eth0\0"[..]));
        assert_eq!(read[1].0, 18);
        let inner: Vec<_> = attributes(read[1].1).collect::<Result<_, _>>().unwrap();
        assert_eq!(inner, vec![(1, &b"veth\0"[..])]);
    }

    #[test]
    fn an_attribute_past_the_end_is_an_error_and_padding_is_not() {
        let data = attribute(4, &7u32.to_ne_bytes());
        let cut: Vec<_> = attributes(&data[..6]).collect();
        assert_eq!(
            cut,
            vec![Err(Malformed("an attribute runs past its message"))]
        );
        let mut padded = data.clone();
        padded.extend([0, 0, 0]);
        assert_eq!(attributes(&padded).count(), 1);
    }

    #[test]
    fn a_short_value_is_an_error() {
        assert_eq!(
            u32_of(&[1, 0, 0, 0, 9]),
            Ok(u32::from_ne_bytes([1, 0, 0, 0]))
        );
        assert!(u32_of(&[1, 0, 0]).is_err());
    }
}
