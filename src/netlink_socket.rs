//! The request sockets the endpoint wiring (rtnetlink), the route changes
//! and dumps, and the isolation table (nfnetlink) talk to the kernel
//! through, opened and read one way: bound,
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

/// Why no datagram was read.
#[derive(Debug)]
pub enum ReceiveError {
    /// Nothing is queued: an answer not queued now will never come.
    NotQueued,
    /// A datagram longer than the buffer's capacity, cut short and so
    /// unreadable; the rest of it is gone.
    TooLong(usize),
    Io(io::Error),
}

/// Reads one datagram into `into`, emptied first; its capacity is the
/// most that is read.
pub fn receive(socket: &Socket, into: &mut Vec<u8>) -> Result<(), ReceiveError> {
    into.clear();
    let length = loop {
        match socket.recv(into, libc::MSG_TRUNC) {
            Ok(length) => break length,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Err(ReceiveError::NotQueued),
            Err(e) => return Err(ReceiveError::Io(e)),
        }
    };
    if length > into.len() {
        return Err(ReceiveError::TooLong(length));
    }
    Ok(())
}
