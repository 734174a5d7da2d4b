//! romana-bgp: the daemon and the CLI's client side. The binary in
//! `main.rs` is only the command line; everything it does lives here.

pub mod api;
pub mod config;
pub mod daemon;
pub mod endpoint;
pub mod isolation;
pub mod kernel;
pub mod netlink_bytes;
pub mod netlink_socket;
pub mod plan;
pub mod policy;
pub mod reconcile;
pub mod speaker;
