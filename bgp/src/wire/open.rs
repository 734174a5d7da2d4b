//! OPEN (RFC 4271 §4.2) and its optional parameters (RFC 5492 §4).
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+
//! |    Version    |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |     My Autonomous System      |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |           Hold Time           |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                         BGP Identifier                        |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! | Opt Parm Len  |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |             Optional Parameters (variable)                    |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//!
//! Each optional parameter is a type octet, a length octet and a value.
//! RFC 9072 §2 adds a second layout for parameters longer than 255 octets:
//! the Opt Parm Len octet is non-zero and the next octet is 255, then comes
//! a 2-octet Extended Opt Parm Len, and every parameter has a 2-octet
//! length.
//!
//! ```text
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! | Non-Ext OP Len| Non-Ext OP Type (255) |  Extended Opt. Parm. Length  |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |             Optional Parameters (variable)                    |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```

use std::net::Ipv4Addr;

use bytes::{BufMut, Bytes, BytesMut};
use nom::Parser;
use nom::multi::length_data;
use nom::number::complete::{be_u8, be_u16, be_u32};

use crate::asn::Asn;
use crate::error::{DecodeError, EncodeError};
use crate::family::Family;
use crate::router_id::RouterId;
use crate::wire::capability::{
    Capability, CapabilityCode, ExtendedNextHop, GracefulRestart, decode_capabilities, malformed,
};

/// An OPEN message, as it is on the wire: the optional parameters keep their
/// order and grouping, so a decoded OPEN encodes back to the same bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Open {
    /// RFC 4271 §4.2: always 4 for what we send; kept as received so the FSM
    /// can refuse another (OPEN Message Error/Unsupported Version Number).
    pub version: u8,
    /// The 2-octet "My Autonomous System" field: the sender's ASN, or
    /// AS_TRANS when it needs 4 octets (RFC 6793 §4.1).
    pub my_as: u16,
    /// Seconds; 0 or at least 3 (RFC 4271 §4.2).
    pub hold_time: u16,
    pub router_id: RouterId,
    pub params: Vec<OptionalParameter>,
}

/// One optional parameter of an OPEN.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OptionalParameter {
    /// Parameter type 2 (RFC 5492 §4): one or more capabilities. FRR sends one
    /// capability per parameter, BIRD all of them in one; both are kept.
    Capabilities(Vec<Capability>),
    /// Any other parameter type, kept raw. Receiving one is an error (OPEN
    /// Message Error/Unsupported Optional Parameter, RFC 4271 §6.2), which
    /// the state machine decides, not the decoder.
    Unknown { kind: u8, value: Bytes },
}

/// RFC 5492 §4: the optional parameter type that carries capabilities.
const CAPABILITIES_PARAMETER: u8 = 2;

/// RFC 9072 §2: the Non-Ext OP Type octet that announces the extended layout.
const EXTENDED_PARAMETERS: u8 = 255;

impl Open {
    /// RFC 4271 §4.2: the only version this crate speaks.
    pub const VERSION: u8 = 4;

    /// An OPEN to send: version 4, the ASN in the 2-octet field or AS_TRANS
    /// (RFC 6793 §4.1), every capability in one parameter.
    pub fn new(
        asn: Asn,
        hold_time: u16,
        router_id: RouterId,
        capabilities: Vec<Capability>,
    ) -> Open {
        Open {
            version: Open::VERSION,
            my_as: asn.as_u16_or_trans(),
            hold_time,
            router_id,
            params: vec![OptionalParameter::Capabilities(capabilities)],
        }
    }

    /// Every capability of every Capabilities parameter, in wire order.
    pub fn capabilities(&self) -> impl Iterator<Item = &Capability> {
        self.params.iter().flat_map(|p| match p {
            OptionalParameter::Capabilities(c) => c.as_slice(),
            OptionalParameter::Unknown { .. } => &[],
        })
    }

    /// The sender's ASN: the 4-octet AS capability's value when present
    /// (RFC 6793 §4.1), else "My Autonomous System".
    pub fn asn(&self) -> Asn {
        self.four_octet_as().unwrap_or(Asn(u32::from(self.my_as)))
    }

    /// The 4-octet AS capability's value (RFC 6793 §3); the first if the
    /// sender repeated it.
    pub fn four_octet_as(&self) -> Option<Asn> {
        self.capabilities().find_map(|c| match c {
            Capability::FourOctetAs(asn) => Some(*asn),
            _ => None,
        })
    }

    /// The Graceful Restart capability (RFC 4724 §3).
    pub fn graceful_restart(&self) -> Option<&GracefulRestart> {
        self.capabilities().find_map(|c| match c {
            Capability::GracefulRestart(gr) => Some(gr),
            _ => None,
        })
    }

    /// The families of the Multiprotocol capabilities (RFC 4760 §8). An OPEN
    /// without any speaks IPv4 unicast alone, as RFC 4271 does; that is the
    /// state machine's call, not this list's.
    pub fn families(&self) -> impl Iterator<Item = Family> {
        self.capabilities().filter_map(|c| match c {
            Capability::Multiprotocol { family, .. } => Some(*family),
            _ => None,
        })
    }

    /// The tuples of the Extended Next Hop capability (RFC 8950 §3).
    pub fn extended_next_hops(&self) -> impl Iterator<Item = &ExtendedNextHop> {
        self.capabilities().flat_map(|c| match c {
            Capability::ExtendedNextHop(tuples) => tuples.as_slice(),
            _ => &[],
        })
    }

    /// Whether any capability with this code was advertised.
    pub fn has(&self, code: CapabilityCode) -> bool {
        self.capabilities().any(|c| c.code() == code)
    }

    /// Decode the body of an OPEN (everything after the 19-octet header).
    ///
    /// Only syntax is checked here. Version, peer AS, hold time, identifier
    /// and unknown parameter types need the session's configuration and are
    /// the state machine's to refuse (RFC 4271 §6.2).
    pub fn decode_body(body: Bytes) -> Result<Open, DecodeError> {
        let fixed = (be_u8, be_u16, be_u16, be_u32, be_u8).parse(body.as_ref());
        let (params, (version, my_as, hold_time, router_id, opt_len)) =
            fixed.map_err(|_: nom::Err<()>| malformed("OPEN shorter than its fixed fields"))?;
        let params = match params.split_first() {
            // RFC 9072 §2: a non-zero Opt Parm Len followed by 255 announces
            // the extended layout; the Opt Parm Len octet is then ignored.
            Some((&EXTENDED_PARAMETERS, rest)) if opt_len != 0 => {
                let (rest, ext_len) = be_u16::<_, ()>(rest).map_err(|_| {
                    malformed("OPEN extended optional parameters length is cut short")
                })?;
                if usize::from(ext_len) != rest.len() {
                    // RFC 4271 §6.2: the parameters must fill the message.
                    return Err(malformed(
                        "OPEN extended optional parameters length disagrees with the message length",
                    ));
                }
                decode_params(rest, &body, true)?
            }
            _ => {
                if usize::from(opt_len) != params.len() {
                    // RFC 4271 §6.2: the parameters must fill the message.
                    return Err(malformed(
                        "OPEN optional parameters length disagrees with the message length",
                    ));
                }
                decode_params(params, &body, false)?
            }
        };
        Ok(Open {
            version,
            my_as,
            hold_time,
            router_id: RouterId(Ipv4Addr::from(router_id)),
            params,
        })
    }

    /// Append the body of this OPEN (without the header) to `out`.
    ///
    /// The RFC 4271 layout is used whenever it can say what is to be sent,
    /// and the RFC 9072 layout otherwise (RFC 9072 §2): when a parameter or
    /// all of them together exceed 255 octets, or when the first parameter
    /// has type 255, which a receiver would take for the extended marker.
    /// On error `out` is left as it was.
    pub fn encode_body(&self, out: &mut BytesMut) -> Result<(), EncodeError> {
        let start = out.len();
        self.put_body(out).inspect_err(|_| out.truncate(start))
    }

    fn put_body(&self, out: &mut BytesMut) -> Result<(), EncodeError> {
        let value_lens: Vec<usize> = self
            .params
            .iter()
            .map(OptionalParameter::value_len)
            .collect();
        let standard_len: usize = value_lens.iter().map(|len| 2 + len).sum();
        let first_is_marker = matches!(
            self.params.first(),
            Some(OptionalParameter::Unknown {
                kind: EXTENDED_PARAMETERS,
                ..
            })
        );
        let extended = first_is_marker
            || standard_len > usize::from(u8::MAX)
            || value_lens.iter().any(|&len| len > usize::from(u8::MAX));

        out.put_u8(self.version);
        out.put_u16(self.my_as);
        out.put_u16(self.hold_time);
        out.put_u32(self.router_id.to_u32());
        if extended {
            let ext_len: usize = value_lens.iter().map(|len| 3 + len).sum();
            let ext_len = u16::try_from(ext_len).map_err(|_| EncodeError::TooLong {
                len: ext_len,
                max: usize::from(u16::MAX),
            })?;
            // RFC 9072 §2: Non-Ext OP Len and Non-Ext OP Type are both 255.
            out.put_u8(u8::MAX);
            out.put_u8(EXTENDED_PARAMETERS);
            out.put_u16(ext_len);
        } else {
            // Checked above: standard_len fits in one octet.
            out.put_u8(standard_len as u8);
        }
        for (param, &len) in self.params.iter().zip(&value_lens) {
            out.put_u8(param.kind());
            if extended {
                // Checked above: the whole is at most 65535 octets.
                out.put_u16(len as u16);
            } else {
                out.put_u8(len as u8);
            }
            match param {
                OptionalParameter::Capabilities(capabilities) => {
                    for c in capabilities {
                        c.encode(out)?;
                    }
                }
                OptionalParameter::Unknown { value, .. } => out.put_slice(value),
            }
        }
        Ok(())
    }
}

impl OptionalParameter {
    /// The Parameter Type octet.
    pub fn kind(&self) -> u8 {
        match self {
            OptionalParameter::Capabilities(_) => CAPABILITIES_PARAMETER,
            OptionalParameter::Unknown { kind, .. } => *kind,
        }
    }

    /// Octets of the Parameter Value on the wire.
    pub fn value_len(&self) -> usize {
        match self {
            OptionalParameter::Capabilities(capabilities) => {
                capabilities.iter().map(|c| 2 + c.value_len()).sum()
            }
            OptionalParameter::Unknown { value, .. } => value.len(),
        }
    }
}

/// Decode the optional parameters, which lie inside `body`; `extended` says
/// whether their lengths are 2 octets (RFC 9072 §2) or 1 (RFC 4271 §4.2).
fn decode_params(
    mut input: &[u8],
    body: &Bytes,
    extended: bool,
) -> Result<Vec<OptionalParameter>, DecodeError> {
    let mut params = Vec::new();
    while !input.is_empty() {
        let parsed = if extended {
            (be_u8, length_data(be_u16)).parse(input)
        } else {
            (be_u8, length_data(be_u8)).parse(input)
        };
        // RFC 4271 §6.2: a parameter overrunning the parameters is malformed.
        let (rest, (kind, value)) = parsed.map_err(|_: nom::Err<()>| {
            malformed("OPEN optional parameter runs past the end of the message")
        })?;
        params.push(match kind {
            CAPABILITIES_PARAMETER => {
                OptionalParameter::Capabilities(decode_capabilities(value, body)?)
            }
            // RFC 9072 §3: type 255 inside the parameters is an unknown
            // parameter like any other, for the state machine to refuse.
            _ => OptionalParameter::Unknown {
                kind,
                value: body.slice_ref(value),
            },
        });
        input = rest;
    }
    Ok(params)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::family::{Afi, Safi};
    use crate::wire::capability::GracefulRestartFamily;
    use crate::wire::notification::ErrorCode;
    use crate::wire::notification::open_error;

    const FIXED: [u8; 9] = [4, 0xfd, 0xe9, 0, 90, 192, 0, 2, 1];

    /// An OPEN body with the fixed fields above, then `rest` from Opt Parm
    /// Len on.
    fn body(rest: &[u8]) -> Bytes {
        let mut b = FIXED.to_vec();
        b.extend_from_slice(rest);
        Bytes::from(b)
    }

    fn encode(open: &Open) -> Vec<u8> {
        let mut out = BytesMut::new();
        open.encode_body(&mut out).unwrap();
        out.to_vec()
    }

    fn assert_unspecific(e: DecodeError) {
        // RFC 4271 §6.2: a malformed recognised parameter is OPEN Message
        // Error/Unspecific.
        assert_eq!(e.notification.code, ErrorCode::OPEN, "{e}");
        assert_eq!(e.notification.subcode, open_error::UNSPECIFIC, "{e}");
    }

    fn router_id() -> RouterId {
        RouterId(Ipv4Addr::new(192, 0, 2, 1))
    }

    #[test]
    fn new_puts_every_capability_in_one_parameter() {
        let open = Open::new(
            Asn(65001),
            90,
            router_id(),
            vec![
                Capability::RouteRefresh,
                Capability::FourOctetAs(Asn(65001)),
            ],
        );
        // RFC 5492 §4: one parameter of type 2 holding both capabilities.
        assert_eq!(
            encode(&open),
            body(&[10, 2, 8, 2, 0, 65, 4, 0, 0, 0xfd, 0xe9])
        );
    }

    #[test]
    fn four_octet_asn_goes_in_the_capability_and_as_trans_in_my_as() {
        // RFC 6793 §4.1.
        let open = Open::new(
            Asn(4_200_000_001),
            90,
            router_id(),
            vec![Capability::FourOctetAs(Asn(4_200_000_001))],
        );
        assert_eq!(open.my_as, 23456);
        assert_eq!(open.asn(), Asn(4_200_000_001));
        let without = Open::new(Asn(65001), 90, router_id(), vec![]);
        assert_eq!(without.asn(), Asn(65001));
        assert_eq!(without.four_octet_as(), None);
    }

    #[test]
    fn one_capability_per_parameter_keeps_its_grouping() {
        // FRR's layout: each capability in its own parameter.
        let wire = body(&[8, 2, 2, 2, 0, 2, 2, 70, 0]);
        let open = Open::decode_body(wire.clone()).unwrap();
        assert_eq!(
            open.params,
            vec![
                OptionalParameter::Capabilities(vec![Capability::RouteRefresh]),
                OptionalParameter::Capabilities(vec![Capability::EnhancedRouteRefresh]),
            ]
        );
        assert_eq!(encode(&open), wire);
    }

    #[test]
    fn fixed_fields_are_read_as_sent() {
        let open = Open::decode_body(body(&[0])).unwrap();
        assert_eq!(
            open,
            Open {
                version: 4,
                my_as: 65001,
                hold_time: 90,
                router_id: router_id(),
                params: vec![],
            }
        );
    }

    #[test]
    fn lookups_find_what_the_state_machine_needs() {
        let gr = GracefulRestart {
            flags: 0,
            restart_time: 120,
            families: vec![GracefulRestartFamily {
                family: Family::IPV4_UNICAST,
                flags: 0,
            }],
        };
        let enh = ExtendedNextHop {
            nlri_afi: Afi::IPV4,
            nlri_safi: 1,
            next_hop_afi: Afi::IPV6,
        };
        let open = Open {
            params: vec![
                OptionalParameter::Capabilities(vec![Capability::Multiprotocol {
                    family: Family::IPV4_UNICAST,
                    reserved: 0,
                }]),
                OptionalParameter::Unknown {
                    kind: 9,
                    value: Bytes::new(),
                },
                OptionalParameter::Capabilities(vec![
                    Capability::Multiprotocol {
                        family: Family::new(Afi::IPV6, Safi(128)),
                        reserved: 0,
                    },
                    Capability::GracefulRestart(gr.clone()),
                    Capability::ExtendedNextHop(vec![enh]),
                ]),
            ],
            ..Open::new(Asn(65001), 90, router_id(), vec![])
        };
        assert_eq!(
            open.families().collect::<Vec<_>>(),
            [Family::IPV4_UNICAST, Family::new(Afi::IPV6, Safi(128))]
        );
        assert_eq!(open.graceful_restart(), Some(&gr));
        assert_eq!(open.extended_next_hops().collect::<Vec<_>>(), [&enh]);
        assert!(open.has(CapabilityCode::GRACEFUL_RESTART));
        assert!(!open.has(CapabilityCode::ROUTE_REFRESH));
        assert_eq!(open.capabilities().count(), 4);
    }

    #[test]
    fn unknown_parameter_types_are_kept_for_the_state_machine() {
        // RFC 4271 §6.2: refusing them needs the FSM; the decoder keeps them.
        let wire = body(&[5, 1, 3, 0xaa, 0xbb, 0xcc]);
        let open = Open::decode_body(wire.clone()).unwrap();
        assert_eq!(
            open.params,
            vec![OptionalParameter::Unknown {
                kind: 1,
                value: Bytes::from_static(&[0xaa, 0xbb, 0xcc]),
            }]
        );
        assert_eq!(encode(&open), wire);
    }

    #[test]
    fn optional_parameters_length_must_match_the_message() {
        // RFC 4271 §6.2: too long for the message, or leaving octets over.
        assert_unspecific(Open::decode_body(body(&[5, 2, 0])).unwrap_err());
        assert_unspecific(Open::decode_body(body(&[2, 2, 0, 0])).unwrap_err());
        assert_unspecific(Open::decode_body(body(&[0, 2, 0])).unwrap_err());
    }

    #[test]
    fn parameter_overrunning_the_parameters_is_malformed() {
        // RFC 4271 §6.2.
        assert_unspecific(Open::decode_body(body(&[3, 2, 4, 0])).unwrap_err());
        assert_unspecific(Open::decode_body(body(&[1, 2])).unwrap_err());
    }

    #[test]
    fn fixed_fields_cut_short_are_malformed() {
        assert_unspecific(Open::decode_body(Bytes::from_static(&[4, 0, 1])).unwrap_err());
    }

    #[test]
    fn extended_parameters_are_decoded_whatever_the_non_ext_length() {
        // RFC 9072 §2: Non-Ext OP Type 255 selects the layout; Non-Ext OP
        // Len is ignored once it is non-zero. Short parameters are allowed.
        for non_ext_len in [255, 1, 7] {
            let wire = body(&[non_ext_len, 255, 0, 5, 2, 0, 2, 2, 0]);
            let open = Open::decode_body(wire).unwrap();
            assert_eq!(
                open.params,
                vec![OptionalParameter::Capabilities(vec![
                    Capability::RouteRefresh
                ])]
            );
        }
        // A zero Opt Parm Len is never the extended layout (RFC 9072 §2).
        assert_unspecific(Open::decode_body(body(&[0, 255, 0, 0])).unwrap_err());
    }

    #[test]
    fn extended_parameters_length_must_match_the_message() {
        // RFC 9072 §2 lengths, RFC 4271 §6.2 reaction.
        assert_unspecific(Open::decode_body(body(&[255, 255, 0, 6, 2, 0, 2, 2, 0])).unwrap_err());
        assert_unspecific(Open::decode_body(body(&[255, 255, 0])).unwrap_err());
        assert_unspecific(Open::decode_body(body(&[255, 255, 0, 3, 2, 0, 5])).unwrap_err());
    }

    #[test]
    fn long_parameters_are_sent_in_the_extended_layout() {
        // RFC 9072 §2: beyond 255 octets the extended layout is a MUST.
        let big = Bytes::from(vec![0x5a; 300]);
        let open = Open {
            params: vec![OptionalParameter::Unknown {
                kind: 9,
                value: big.clone(),
            }],
            ..Open::new(Asn(65001), 90, router_id(), vec![])
        };
        let wire = encode(&open);
        assert_eq!(&wire[9..15], &[255, 255, 0x01, 0x2f, 9, 0x01]);
        assert_eq!(wire[15], 0x2c);
        assert_eq!(Open::decode_body(Bytes::from(wire)).unwrap(), open);

        let many: Vec<Capability> = (0..60).map(|i| Capability::FourOctetAs(Asn(i))).collect();
        let open = Open::new(Asn(65001), 90, router_id(), many);
        let wire = encode(&open);
        assert_eq!(&wire[9..11], &[255, 255]);
        assert_eq!(Open::decode_body(Bytes::from(wire)).unwrap(), open);
    }

    #[test]
    fn short_parameters_are_sent_in_the_base_layout() {
        // RFC 9072 §2: up to 255 octets the RFC 4271 encoding is used.
        let open = Open {
            params: vec![OptionalParameter::Unknown {
                kind: 9,
                value: Bytes::from(vec![0; 253]),
            }],
            ..Open::new(Asn(65001), 90, router_id(), vec![])
        };
        let wire = encode(&open);
        assert_eq!(&wire[9..12], &[255, 9, 253]);
    }

    #[test]
    fn a_first_parameter_of_type_255_forces_the_extended_layout() {
        // RFC 9072 §2: in the base layout a receiver would read it as the
        // extended marker; §3: type 255 is then an unknown parameter.
        let open = Open {
            params: vec![OptionalParameter::Unknown {
                kind: 255,
                value: Bytes::from_static(&[1]),
            }],
            ..Open::new(Asn(65001), 90, router_id(), vec![])
        };
        let wire = encode(&open);
        assert_eq!(&wire[9..], &[255, 255, 0, 4, 255, 0, 1, 1]);
        assert_eq!(Open::decode_body(Bytes::from(wire)).unwrap(), open);
    }

    #[test]
    fn a_failed_encode_leaves_the_buffer_as_it_was() {
        let open = Open::new(
            Asn(65001),
            90,
            router_id(),
            vec![Capability::Unknown {
                code: 200,
                value: Bytes::from(vec![0; 256]),
            }],
        );
        let mut out = BytesMut::from(&b"kept"[..]);
        assert!(open.encode_body(&mut out).is_err());
        assert_eq!(&out[..], b"kept");
    }
}
