//! BGP-4 for a host speaker: the wire codec and the session state machine.
//!
//! This crate is pure. It owns no socket, no timer and no task: bytes go in
//! and typed messages come out, events go in and actions come out. The
//! daemon that drives it owns all I/O. Every protocol rule implemented here
//! names its RFC section next to the code and has a test that breaks if the
//! rule does.
#![forbid(unsafe_code)]

pub mod asn;
pub mod error;
pub mod family;
pub mod fsm;
pub mod router_id;
pub mod wire;

pub use asn::Asn;
pub use error::{AttributeAction, DecodeError, EncodeError};
pub use family::{Afi, Family, Safi};
pub use router_id::RouterId;
