//! The BGP speaker: one task per configured neighbor over tokio TCP, driving
//! the `bgp` state machine; the import policy; the routes accepted.

pub mod advertise;
pub mod import;
pub mod neighbor;
pub mod peer;
pub mod rib;
pub mod rib_task;
pub mod sockopt;
pub mod status;
pub mod timers;
pub mod transport;
