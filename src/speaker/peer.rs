//! One session with its connection and timers. A neighbor has one, and a
//! second one while a connection collision is being resolved (RFC 4271 §6.8).

use std::io;
use std::net::SocketAddr;

use bgp::fsm::{PeerConfig, Session, Timer};
use bgp::wire::DecodeContext;
use bytes::BytesMut;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};

use super::timers::Timers;

/// Read in large chunks and parse every complete message per wake-up.
const READ_CHUNK: usize = 64 * 1024;

pub struct Conn {
    read: OwnedReadHalf,
    write: OwnedWriteHalf,
    pub rbuf: BytesMut,
    pub wbuf: BytesMut,
    pub local: SocketAddr,
    pub remote: SocketAddr,
}

impl Conn {
    pub fn new(stream: TcpStream) -> io::Result<Conn> {
        // A connection accepted on the dual-stack listener shows IPv4
        // addresses in their IPv4-mapped IPv6 form; the next hop we announce
        // must be the plain IPv4 address.
        let canonical = |a: SocketAddr| SocketAddr::new(a.ip().to_canonical(), a.port());
        let local = canonical(stream.local_addr()?);
        let remote = canonical(stream.peer_addr()?);
        let (read, write) = stream.into_split();
        Ok(Conn {
            read,
            write,
            rbuf: BytesMut::with_capacity(READ_CHUNK),
            wbuf: BytesMut::with_capacity(4096),
            local,
            remote,
        })
    }

    /// Write what the socket takes now, without waiting: used just before
    /// closing, so a NOTIFICATION goes out if it can and a peer that does
    /// not read cannot hold us.
    pub fn flush_now(&mut self) {
        while !self.wbuf.is_empty() {
            match self.write.try_write(&self.wbuf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    let _ = self.wbuf.split_to(n);
                }
            }
        }
    }
}

/// What woke a session up.
pub enum Io {
    Read(io::Result<usize>),
    Wrote(io::Result<usize>),
    Timer(Timer),
}

pub struct Peer {
    pub session: Session,
    pub conn: Option<Conn>,
    pub timers: Timers,
    /// How to read this connection's bytes; changes at Established.
    pub ctx: DecodeContext,
}

impl Peer {
    pub fn new(config: PeerConfig) -> Peer {
        Peer {
            session: Session::new(config),
            conn: None,
            timers: Timers::default(),
            ctx: DecodeContext::default(),
        }
    }

    /// Wait for bytes in, bytes out, or a timer. Cancel-safe: nothing is
    /// lost if another branch of the caller's `select!` wins.
    pub async fn next_io(&mut self) -> Io {
        let timers = &mut self.timers;
        let Some(c) = self.conn.as_mut() else {
            return Io::Timer(timers.expired().await);
        };
        if c.rbuf.capacity() - c.rbuf.len() < READ_CHUNK / 4 {
            c.rbuf.reserve(READ_CHUNK);
        }
        tokio::select! {
            r = c.read.read_buf(&mut c.rbuf) => Io::Read(r),
            w = c.write.write_buf(&mut c.wbuf), if !c.wbuf.is_empty() => Io::Wrote(w),
            t = timers.expired() => Io::Timer(t),
        }
    }
}

/// `next_io` of a session that may not exist: pending forever when absent.
pub async fn next_io_of(peer: &mut Option<Peer>) -> Io {
    match peer {
        Some(p) => p.next_io().await,
        None => std::future::pending().await,
    }
}
