//! The control API: the socket protocol, the daemon's server and the CLI's
//! client.

pub mod protocol;
