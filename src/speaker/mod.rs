//! The BGP speaker: one task per configured neighbor over tokio TCP, driving
//! the `bgp` state machine; the import policy; the routes accepted.

pub mod rib;
pub mod sockopt;
pub mod transport;
