//! TCP for BGP sessions (RFC 4271 §8: port 179): outgoing connects and the
//! shared listener that hands incoming connections to their neighbor.

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::os::fd::AsFd;
use std::time::Duration;

use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::mpsc;
use tracing::{debug, warn};

use super::sockopt;

/// How the TCP connection of one neighbor is secured.
#[derive(Clone, Debug, Default)]
pub struct SocketSecurity {
    /// RFC 2385 TCP MD5 key.
    pub md5_key: Option<Vec<u8>>,
    /// RFC 5082 GTSM: the peer is at most this many hops away.
    pub ttl_security_hops: Option<u8>,
}

impl SocketSecurity {
    fn apply(&self, fd: std::os::fd::BorrowedFd<'_>, peer: IpAddr) -> io::Result<()> {
        if let Some(key) = &self.md5_key {
            sockopt::set_md5_key(fd, peer, key)?;
        }
        if let Some(hops) = self.ttl_security_hops {
            sockopt::set_ttl_security(fd, peer.is_ipv6(), hops)?;
        }
        Ok(())
    }
}

/// Open the outgoing connection of a session.
pub async fn connect(
    peer: SocketAddr,
    local: Option<IpAddr>,
    security: &SocketSecurity,
    timeout: Duration,
) -> io::Result<TcpStream> {
    let socket = if peer.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    security.apply(socket.as_fd(), peer.ip())?;
    if let Some(local) = local {
        socket.bind(SocketAddr::new(local, 0))?;
    }
    let stream = tokio::time::timeout(timeout, socket.connect(peer))
        .await
        .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "connect timed out"))??;
    stream.set_nodelay(true)?;
    Ok(stream)
}

/// One listening socket for a port, shared by every neighbor on it.
pub struct Listener {
    listener: TcpListener,
    routes: HashMap<IpAddr, mpsc::Sender<TcpStream>>,
}

/// Where the listener sends a neighbor's incoming connections, with the
/// security that neighbor needs.
pub struct Registration {
    pub peer: IpAddr,
    pub security: SocketSecurity,
    pub incoming: mpsc::Sender<TcpStream>,
}

impl Listener {
    /// Bind `port` on every address, IPv6 and IPv4 together where the host
    /// has IPv6, and admit the MD5 keys of the neighbors that use one (the
    /// kernel checks signatures on the handshake, before accept).
    pub fn bind(port: u16, neighbors: Vec<Registration>) -> io::Result<Listener> {
        let socket = match TcpSocket::new_v6() {
            Ok(s) => {
                s.set_reuseaddr(true)?;
                s.bind(SocketAddr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), port))?;
                s
            }
            Err(_) => {
                let s = TcpSocket::new_v4()?;
                s.set_reuseaddr(true)?;
                s.bind(SocketAddr::new(
                    IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED),
                    port,
                ))?;
                s
            }
        };
        let mut routes = HashMap::new();
        for n in neighbors {
            if let Some(key) = &n.security.md5_key {
                sockopt::set_md5_key(socket.as_fd(), mapped(n.peer, &socket), key)?;
            }
            routes.insert(n.peer, n.incoming);
        }
        let listener = socket.listen(64)?;
        Ok(Listener { listener, routes })
    }

    /// Accept forever, handing each connection to its neighbor. A connection
    /// from an address that is not a configured neighbor is closed at once.
    pub async fn run(self) {
        loop {
            let (stream, from) = match self.listener.accept().await {
                Ok(c) => c,
                Err(e) => {
                    warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            };
            let peer = from.ip().to_canonical();
            match self.routes.get(&peer) {
                Some(tx) => {
                    let _ = stream.set_nodelay(true);
                    if tx.send(stream).await.is_err() {
                        debug!(%peer, "neighbor task gone; dropping connection");
                    }
                }
                None => debug!(%peer, "connection from an address that is not a neighbor; closed"),
            }
        }
    }
}

/// A dual-stack IPv6 socket sees IPv4 peers as IPv4-mapped addresses; the MD5
/// key must be installed for that form.
fn mapped(peer: IpAddr, socket: &TcpSocket) -> IpAddr {
    match (peer, socket.local_addr()) {
        (IpAddr::V4(v4), Ok(SocketAddr::V6(_))) => IpAddr::V6(v4.to_ipv6_mapped()),
        _ => peer,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn listener_hands_connections_to_their_neighbor_only() {
        let (tx, mut rx) = mpsc::channel(1);
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = probe.local_addr().unwrap().port();
        drop(probe);
        let listener = Listener::bind(
            port,
            vec![Registration {
                peer: "127.0.0.1".parse().unwrap(),
                security: SocketSecurity::default(),
                incoming: tx,
            }],
        )
        .unwrap();
        tokio::spawn(listener.run());
        let peer = SocketAddr::new("127.0.0.1".parse().unwrap(), port);
        let _client = connect(
            peer,
            None,
            &SocketSecurity::default(),
            Duration::from_secs(2),
        )
        .await
        .unwrap();
        let accepted = tokio::time::timeout(Duration::from_secs(2), rx.recv())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(accepted.peer_addr().unwrap().ip().to_canonical(), peer.ip());
    }
}
