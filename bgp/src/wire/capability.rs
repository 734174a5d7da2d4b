//! Capabilities advertised in OPEN (RFC 5492 §4).
//!
//! ```text
//! +------------------------------+
//! | Capability Code (1 octet)    |
//! +------------------------------+
//! | Capability Length (1 octet)  |
//! +------------------------------+
//! | Capability Value (variable)  |
//! +------------------------------+
//! ```

use bytes::{BufMut, Bytes, BytesMut};
use nom::Parser;
use nom::multi::length_data;
use nom::number::complete::be_u8;

use crate::asn::Asn;
use crate::error::{DecodeError, EncodeError};
use crate::family::{Afi, Family, Safi};
use crate::wire::notification::{ErrorCode, Notification, open_error};

/// A capability code (RFC 5492 §4, IANA "Capability Codes").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CapabilityCode(pub u8);

impl CapabilityCode {
    pub const MULTIPROTOCOL: CapabilityCode = CapabilityCode(1);
    pub const ROUTE_REFRESH: CapabilityCode = CapabilityCode(2);
    pub const EXTENDED_NEXT_HOP: CapabilityCode = CapabilityCode(5);
    pub const EXTENDED_MESSAGE: CapabilityCode = CapabilityCode(6);
    pub const GRACEFUL_RESTART: CapabilityCode = CapabilityCode(64);
    pub const FOUR_OCTET_AS: CapabilityCode = CapabilityCode(65);
    pub const ENHANCED_ROUTE_REFRESH: CapabilityCode = CapabilityCode(70);
}

/// RFC 5492 §4: the Capability Length is one octet.
pub const MAX_CAPABILITY_VALUE_LEN: usize = 255;

/// One capability. Those this crate acts on are typed; any other is kept as
/// raw bytes so it is neither lost nor misread (RFC 5492 §3: a speaker
/// ignores capabilities it does not understand).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Capability {
    /// Code 1, RFC 4760 §8. The reserved octet between AFI and SAFI is kept
    /// so that what was received re-encodes byte-exact.
    Multiprotocol { family: Family, reserved: u8 },
    /// Code 2, RFC 2918 §2.
    RouteRefresh,
    /// Code 70, RFC 7313 §3.
    EnhancedRouteRefresh,
    /// Code 65, RFC 6793 §3: the sender's real ASN.
    FourOctetAs(Asn),
    /// Code 64, RFC 4724 §3.
    GracefulRestart(GracefulRestart),
    /// Code 5, RFC 8950 §3: NLRI families that may carry a next hop of
    /// another address family.
    ExtendedNextHop(Vec<ExtendedNextHop>),
    /// Code 6, RFC 8654 §3.
    ExtendedMessage,
    /// Anything else, kept whole.
    Unknown { code: u8, value: Bytes },
}

/// The Graceful Restart capability (RFC 4724 §3).
///
/// ```text
/// +--------------------------------------------------+
/// | Restart Flags (4 bits)                           |
/// +--------------------------------------------------+
/// | Restart Time in seconds (12 bits)                |
/// +--------------------------------------------------+
/// | Address Family Identifier (16 bits)              |
/// +--------------------------------------------------+
/// | Subsequent Address Family Identifier (8 bits)    |
/// +--------------------------------------------------+
/// | Flags for Address Family (8 bits)                |
/// +--------------------------------------------------+
/// | ...                                              |
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GracefulRestart {
    /// The 4 flag bits: R (restarting, 0x8) and N (notification, 0x4,
    /// RFC 8538 §2).
    pub flags: u8,
    /// Seconds, 12 bits.
    pub restart_time: u16,
    pub families: Vec<GracefulRestartFamily>,
}

impl GracefulRestart {
    /// RFC 4724 §3: the Restart State bit.
    pub const RESTARTING: u8 = 0x8;
    /// RFC 8538 §2: the N bit, graceful restart also for NOTIFICATIONs.
    pub const NOTIFICATION: u8 = 0x4;
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GracefulRestartFamily {
    pub family: Family,
    /// RFC 4724 §3: bit 0x80 says forwarding state was preserved.
    pub flags: u8,
}

impl GracefulRestartFamily {
    pub const FORWARDING_PRESERVED: u8 = 0x80;
}

/// One tuple of the Extended Next Hop capability (RFC 8950 §3). The NLRI SAFI
/// is 16 bits on the wire there, unlike everywhere else.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExtendedNextHop {
    pub nlri_afi: Afi,
    pub nlri_safi: u16,
    pub next_hop_afi: Afi,
}

impl Capability {
    pub fn code(&self) -> CapabilityCode {
        match self {
            Capability::Multiprotocol { .. } => CapabilityCode::MULTIPROTOCOL,
            Capability::RouteRefresh => CapabilityCode::ROUTE_REFRESH,
            Capability::EnhancedRouteRefresh => CapabilityCode::ENHANCED_ROUTE_REFRESH,
            Capability::FourOctetAs(_) => CapabilityCode::FOUR_OCTET_AS,
            Capability::GracefulRestart(_) => CapabilityCode::GRACEFUL_RESTART,
            Capability::ExtendedNextHop(_) => CapabilityCode::EXTENDED_NEXT_HOP,
            Capability::ExtendedMessage => CapabilityCode::EXTENDED_MESSAGE,
            Capability::Unknown { code, .. } => CapabilityCode(*code),
        }
    }

    /// Octets of the Capability Value on the wire.
    pub fn value_len(&self) -> usize {
        match self {
            Capability::Multiprotocol { .. } | Capability::FourOctetAs(_) => 4,
            Capability::RouteRefresh
            | Capability::EnhancedRouteRefresh
            | Capability::ExtendedMessage => 0,
            Capability::GracefulRestart(gr) => 2 + 4 * gr.families.len(),
            Capability::ExtendedNextHop(tuples) => 6 * tuples.len(),
            Capability::Unknown { value, .. } => value.len(),
        }
    }

    /// Decode one capability. `value` lies inside `message`, which unknown
    /// capabilities keep a zero-copy slice of.
    ///
    /// A typed capability whose value has the wrong length is an error, not
    /// an unknown capability: it sits in a Capabilities parameter this
    /// speaker recognises, and RFC 4271 §6.2 says a recognised but malformed
    /// optional parameter is OPEN Message Error/Unspecific. FRR and BIRD
    /// answer the same way.
    fn decode(code: u8, value: &[u8], message: &Bytes) -> Result<Capability, DecodeError> {
        let capability = match CapabilityCode(code) {
            CapabilityCode::MULTIPROTOCOL => {
                // RFC 4760 §8: AFI (2), reserved (1), SAFI (1).
                let [afi_hi, afi_lo, reserved, safi] =
                    exact(value, "Multiprotocol capability length is not 4")?;
                Capability::Multiprotocol {
                    family: Family::new(Afi(u16::from_be_bytes([afi_hi, afi_lo])), Safi(safi)),
                    reserved,
                }
            }
            CapabilityCode::ROUTE_REFRESH => {
                // RFC 2918 §2: no value.
                exact::<0>(value, "Route Refresh capability length is not 0")?;
                Capability::RouteRefresh
            }
            CapabilityCode::ENHANCED_ROUTE_REFRESH => {
                // RFC 7313 §3: no value.
                exact::<0>(value, "Enhanced Route Refresh capability length is not 0")?;
                Capability::EnhancedRouteRefresh
            }
            CapabilityCode::EXTENDED_MESSAGE => {
                // RFC 8654 §3: no value.
                exact::<0>(value, "Extended Message capability length is not 0")?;
                Capability::ExtendedMessage
            }
            CapabilityCode::FOUR_OCTET_AS => {
                // RFC 6793 §3: the 4-octet ASN.
                let asn = exact(value, "4-octet AS capability length is not 4")?;
                Capability::FourOctetAs(Asn(u32::from_be_bytes(asn)))
            }
            CapabilityCode::GRACEFUL_RESTART => {
                // RFC 4724 §3: 2 octets of flags and time, then 4 per family.
                Capability::GracefulRestart(decode_graceful_restart(value)?)
            }
            CapabilityCode::EXTENDED_NEXT_HOP => {
                // RFC 8950 §3: a list of 6-octet tuples.
                if !value.len().is_multiple_of(6) {
                    return Err(malformed(
                        "Extended Next Hop capability length is not a multiple of 6",
                    ));
                }
                let tuples = value
                    .chunks_exact(6)
                    .filter_map(|tuple| match *tuple {
                        [a0, a1, s0, s1, n0, n1] => Some(ExtendedNextHop {
                            nlri_afi: Afi(u16::from_be_bytes([a0, a1])),
                            nlri_safi: u16::from_be_bytes([s0, s1]),
                            next_hop_afi: Afi(u16::from_be_bytes([n0, n1])),
                        }),
                        _ => None,
                    })
                    .collect();
                Capability::ExtendedNextHop(tuples)
            }
            _ => Capability::Unknown {
                code,
                value: message.slice_ref(value),
            },
        };
        Ok(capability)
    }

    /// Append code, length and value. A value longer than the one-octet
    /// Capability Length can say (RFC 5492 §4) cannot be sent.
    pub fn encode(&self, out: &mut BytesMut) -> Result<(), EncodeError> {
        let len = self.value_len();
        let len_octet = u8::try_from(len).map_err(|_| EncodeError::TooLong {
            len,
            max: MAX_CAPABILITY_VALUE_LEN,
        })?;
        out.put_u8(self.code().0);
        out.put_u8(len_octet);
        match self {
            Capability::Multiprotocol { family, reserved } => {
                out.put_u16(family.afi.0);
                out.put_u8(*reserved);
                out.put_u8(family.safi.0);
            }
            Capability::RouteRefresh
            | Capability::EnhancedRouteRefresh
            | Capability::ExtendedMessage => {}
            Capability::FourOctetAs(asn) => out.put_u32(asn.0),
            Capability::GracefulRestart(gr) => {
                // RFC 4724 §3: 4 flag bits over 12 bits of time; a time that
                // does not fit is sent as the longest one that does.
                let time = gr.restart_time.min(GracefulRestart::MAX_RESTART_TIME);
                out.put_u16(u16::from(gr.flags & 0x0f) << 12 | time);
                for f in &gr.families {
                    out.put_u16(f.family.afi.0);
                    out.put_u8(f.family.safi.0);
                    out.put_u8(f.flags);
                }
            }
            Capability::ExtendedNextHop(tuples) => {
                for t in tuples {
                    out.put_u16(t.nlri_afi.0);
                    out.put_u16(t.nlri_safi);
                    out.put_u16(t.next_hop_afi.0);
                }
            }
            Capability::Unknown { value, .. } => out.put_slice(value),
        }
        Ok(())
    }
}

impl GracefulRestart {
    /// RFC 4724 §3: the Restart Time field is 12 bits.
    pub const MAX_RESTART_TIME: u16 = 0x0fff;
}

fn decode_graceful_restart(value: &[u8]) -> Result<GracefulRestart, DecodeError> {
    const REASON: &str = "Graceful Restart capability length is not 2 + 4n";
    let Some((head, families)) = value.split_first_chunk::<2>() else {
        return Err(malformed(REASON));
    };
    if !families.len().is_multiple_of(4) {
        return Err(malformed(REASON));
    }
    let head = u16::from_be_bytes(*head);
    let families = families
        .chunks_exact(4)
        .filter_map(|f| match *f {
            [a0, a1, safi, flags] => Some(GracefulRestartFamily {
                family: Family::new(Afi(u16::from_be_bytes([a0, a1])), Safi(safi)),
                flags,
            }),
            _ => None,
        })
        .collect();
    Ok(GracefulRestart {
        flags: (head >> 12) as u8,
        restart_time: head & GracefulRestart::MAX_RESTART_TIME,
        families,
    })
}

/// Decode the value of a Capabilities optional parameter (RFC 5492 §4):
/// capability triples back to back. `value` lies inside `message`.
pub(crate) fn decode_capabilities(
    mut value: &[u8],
    message: &Bytes,
) -> Result<Vec<Capability>, DecodeError> {
    let mut capabilities = Vec::new();
    while !value.is_empty() {
        let (rest, (code, capability)) =
            (be_u8, length_data(be_u8))
                .parse(value)
                .map_err(|_: nom::Err<()>| {
                    // RFC 4271 §6.2: a capability overrunning its parameter makes
                    // the parameter malformed.
                    malformed("capability runs past the end of its optional parameter")
                })?;
        capabilities.push(Capability::decode(code, capability, message)?);
        value = rest;
    }
    Ok(capabilities)
}

/// RFC 4271 §6.2: a recognised optional parameter that is malformed is OPEN
/// Message Error with subcode 0 (Unspecific).
pub(crate) fn malformed(reason: &'static str) -> DecodeError {
    DecodeError::new(
        Notification::new(ErrorCode::OPEN, open_error::UNSPECIFIC, Bytes::new()),
        reason,
    )
}

fn exact<const N: usize>(value: &[u8], reason: &'static str) -> Result<[u8; N], DecodeError> {
    <[u8; N]>::try_from(value).map_err(|_| malformed(reason))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_one(wire: &[u8]) -> Result<Capability, DecodeError> {
        let message = Bytes::copy_from_slice(wire);
        let mut list = decode_capabilities(&message, &message)?;
        assert_eq!(list.len(), 1, "one capability expected in {wire:02x?}");
        Ok(list.remove(0))
    }

    fn encode_one(c: &Capability) -> Vec<u8> {
        let mut out = BytesMut::new();
        c.encode(&mut out).unwrap();
        out.to_vec()
    }

    #[test]
    fn typed_capabilities_decode_and_encode_byte_exact() {
        let cases: Vec<(&[u8], Capability)> = vec![
            // RFC 4760 §8, with the reserved octet kept as sent.
            (
                &[1, 4, 0, 2, 7, 1],
                Capability::Multiprotocol {
                    family: Family::IPV6_UNICAST,
                    reserved: 7,
                },
            ),
            // RFC 2918 §2.
            (&[2, 0], Capability::RouteRefresh),
            // RFC 7313 §3.
            (&[70, 0], Capability::EnhancedRouteRefresh),
            // RFC 8654 §3.
            (&[6, 0], Capability::ExtendedMessage),
            // RFC 6793 §3.
            (
                &[65, 4, 0xfa, 0x56, 0xea, 0x01],
                Capability::FourOctetAs(Asn(4_200_000_001)),
            ),
            // RFC 4724 §3: R bit, 120 s, IPv4 unicast with F bit.
            (
                &[64, 6, 0x80, 0x78, 0, 1, 1, 0x80],
                Capability::GracefulRestart(GracefulRestart {
                    flags: GracefulRestart::RESTARTING,
                    restart_time: 120,
                    families: vec![GracefulRestartFamily {
                        family: Family::IPV4_UNICAST,
                        flags: GracefulRestartFamily::FORWARDING_PRESERVED,
                    }],
                }),
            ),
            // RFC 4724 §3: no family at all is still well formed.
            (
                &[64, 2, 0x4f, 0xff],
                Capability::GracefulRestart(GracefulRestart {
                    flags: GracefulRestart::NOTIFICATION,
                    restart_time: 4095,
                    families: vec![],
                }),
            ),
            // RFC 8950 §3: IPv4 unicast over an IPv6 next hop.
            (
                &[5, 6, 0, 1, 0, 1, 0, 2],
                Capability::ExtendedNextHop(vec![ExtendedNextHop {
                    nlri_afi: Afi::IPV4,
                    nlri_safi: 1,
                    next_hop_afi: Afi::IPV6,
                }]),
            ),
        ];
        for (wire, expected) in cases {
            assert_eq!(decode_one(wire).unwrap(), expected, "{wire:02x?}");
            assert_eq!(encode_one(&expected), wire);
            assert_eq!(expected.value_len() + 2, wire.len());
        }
    }

    #[test]
    fn typed_capability_with_a_wrong_length_is_open_error_unspecific() {
        // RFC 4271 §6.2: recognised but malformed is OPEN Message Error/0.
        let cases: [(&[u8], &str); 10] = [
            (&[1, 3, 0, 1, 0], "RFC 4760 §8: 4 octets"),
            (&[1, 5, 0, 1, 0, 1, 0], "RFC 4760 §8: 4 octets"),
            (&[2, 1, 0], "RFC 2918 §2: no value"),
            (&[70, 1, 0], "RFC 7313 §3: no value"),
            (&[6, 2, 0, 0], "RFC 8654 §3: no value"),
            (&[65, 2, 0xfd, 0xe8], "RFC 6793 §3: 4 octets"),
            (&[64, 1, 0], "RFC 4724 §3: at least 2 octets"),
            (&[64, 5, 0, 120, 0, 1, 1], "RFC 4724 §3: 2 + 4n"),
            (&[5, 5, 0, 1, 0, 1, 0], "RFC 8950 §3: 6n"),
            (&[5, 7, 0, 1, 0, 1, 0, 2, 0], "RFC 8950 §3: 6n"),
        ];
        for (wire, rule) in cases {
            let e = decode_one(wire).unwrap_err();
            assert_eq!(
                (e.notification.code, e.notification.subcode),
                (ErrorCode::OPEN, open_error::UNSPECIFIC),
                "{rule}"
            );
            assert!(e.notification.data.is_empty());
        }
    }

    #[test]
    fn unknown_capabilities_are_kept_raw_and_not_copied() {
        // RFC 5492 §3: a capability not understood is ignored, never lost.
        let message = Bytes::from_static(&[73, 3, 1, b'a', 0, 128, 0]);
        let list = decode_capabilities(&message, &message).unwrap();
        assert_eq!(
            list,
            vec![
                Capability::Unknown {
                    code: 73,
                    value: Bytes::from_static(&[1, b'a', 0]),
                },
                Capability::Unknown {
                    code: 128,
                    value: Bytes::new(),
                },
            ]
        );
        let Capability::Unknown { value, .. } = &list[0] else {
            unreachable!()
        };
        assert_eq!(value.as_ptr(), message[2..].as_ptr());
        let mut out = BytesMut::new();
        for c in &list {
            c.encode(&mut out).unwrap();
        }
        assert_eq!(&out[..], &message[..]);
    }

    #[test]
    fn capability_overrunning_its_parameter_is_malformed() {
        // RFC 5492 §4 lengths, RFC 4271 §6.2 reaction.
        for wire in [&[2u8][..], &[65, 4, 0, 0], &[2, 0, 65]] {
            let message = Bytes::copy_from_slice(wire);
            let e = decode_capabilities(&message, &message).unwrap_err();
            assert_eq!(e.notification.code, ErrorCode::OPEN);
            assert_eq!(e.notification.subcode, open_error::UNSPECIFIC);
        }
    }

    #[test]
    fn graceful_restart_fields_are_cut_to_their_bits() {
        // RFC 4724 §3: 4 flag bits, 12 bits of restart time.
        let gr = Capability::GracefulRestart(GracefulRestart {
            flags: 0xfc,
            restart_time: 5000,
            families: vec![],
        });
        assert_eq!(encode_one(&gr), [64, 2, 0xcf, 0xff]);
    }

    #[test]
    fn a_value_longer_than_255_octets_cannot_be_encoded() {
        // RFC 5492 §4: the Capability Length is one octet.
        let c = Capability::Unknown {
            code: 200,
            value: Bytes::from(vec![0; 256]),
        };
        let mut out = BytesMut::new();
        assert_eq!(
            c.encode(&mut out),
            Err(EncodeError::TooLong { len: 256, max: 255 })
        );
        assert!(out.is_empty());
    }

    #[test]
    fn codes_name_the_capability() {
        assert_eq!(
            Capability::EnhancedRouteRefresh.code(),
            CapabilityCode::ENHANCED_ROUTE_REFRESH
        );
        let unknown = Capability::Unknown {
            code: 73,
            value: Bytes::new(),
        };
        assert_eq!(unknown.code(), CapabilityCode(73));
    }
}
