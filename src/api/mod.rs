//! The control API: the socket protocol, the daemon's server and the CLI's
//! client, and the text the CLI prints.

pub mod client;
pub mod protocol;
pub mod render;
pub mod server;
pub mod time;
