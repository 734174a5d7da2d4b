//! The request sockets the endpoint wiring (rtnetlink) and the isolation
//! table (nfnetlink) talk to the kernel through, opened one way: bound,
//! connected to the kernel, errors echoing only the request's header
//! (`NETLINK_CAP_ACK`), and non-blocking, since the kernel answers these
//! requests while it handles the `send`: an answer not queued when it is
//! read will never come, and reading must not wait for it.

use std::io;

use rtnetlink::sys::{Socket, SocketAddr};

/// A socket of netlink `protocol` in the calling thread's network
/// namespace; on failure, the step that failed and why.
pub fn open(protocol: isize) -> Result<Socket, (&'static str, io::Error)> {
    let step = |name| move |error| (name, error);
    let mut socket = Socket::new(protocol).map_err(step("open"))?;
    socket.bind_auto().map_err(step("bind"))?;
    socket
        .connect(&SocketAddr::new(0, 0))
        .map_err(step("connect"))?;
    socket
        .set_cap_ack(true)
        .map_err(step("set NETLINK_CAP_ACK"))?;
    socket
        .set_non_blocking(true)
        .map_err(step("make non-blocking"))?;
    Ok(socket)
}
