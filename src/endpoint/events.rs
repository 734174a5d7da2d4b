//! Link events: the kernel's word that a link came, changed or went, so the
//! reconciler can act at once when an endpoint's interface is deleted or
//! made again (a VM restarted by libvirt gets a new tap of the same name,
//! without the daemon's proxy ARP and /32 route) instead of at its next
//! periodic pass.
//!
//! A thread of its own reads a socket joined to the link group and hands
//! each event on. When the socket's buffer overflows, events were lost;
//! that is passed on too, and the reconciler then looks at everything.

use std::io;

use rtnetlink::sys::{Socket, SocketAddr, protocols::NETLINK_ROUTE};
use tokio::sync::mpsc;

use super::EndpointError;
use super::link_bytes::AF_BRIDGE;
use super::rtnl::{RTM_DELLINK, RTM_NEWLINK, link, split_datagram};

/// `RTMGRP_LINK`: link changes.
const LINK_GROUP: u32 = 1;
/// Receive buffer asked for: a bulk add changes thousands of links.
const RECEIVE_BUFFER: usize = 4 << 20;
const MAX_DATAGRAM: usize = 64 * 1024;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LinkEvent {
    /// The link `name` is there with this index (new or changed).
    Present { name: String, index: u32 },
    /// The link was deleted.
    Gone { name: String, index: u32 },
    /// Events were lost (the socket's buffer overflowed).
    Lost,
}

/// Starts the listener in the calling thread's network namespace.
pub fn listen() -> Result<mpsc::UnboundedReceiver<LinkEvent>, EndpointError> {
    let failed = |action: &str| {
        let action = format!("{action} the link event socket");
        move |error| EndpointError::Socket { action, error }
    };
    let mut socket = Socket::new(NETLINK_ROUTE).map_err(failed("open"))?;
    socket
        .bind(&SocketAddr::new(0, LINK_GROUP))
        .map_err(failed("bind"))?;
    // A smaller buffer only means events lost sooner, which is reported.
    let _ = socket.set_rx_buf_sz(RECEIVE_BUFFER);
    let (events, received) = mpsc::unbounded_channel();
    std::thread::Builder::new()
        .name("romana-links".into())
        .spawn(move || read_events(&socket, &events))
        .map_err(failed("start a thread for"))?;
    Ok(received)
}

/// Until the receiver is gone or the socket fails.
fn read_events(socket: &Socket, events: &mpsc::UnboundedSender<LinkEvent>) {
    let mut buffer = Vec::with_capacity(MAX_DATAGRAM);
    loop {
        buffer.clear();
        let sent = match socket.recv(&mut buffer, 0) {
            Ok(_) => parse(&buffer)
                .into_iter()
                .all(|event| events.send(event).is_ok()),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => true,
            Err(e) if e.raw_os_error() == Some(libc::ENOBUFS) => {
                events.send(LinkEvent::Lost).is_ok()
            }
            Err(e) => {
                tracing::warn!("link events: {e}; the reconciler falls back to its periodic pass");
                let _ = events.send(LinkEvent::Lost);
                false
            }
        };
        if !sent {
            return;
        }
    }
}

/// The link events of one datagram; anything else in it is skipped, and a
/// datagram that cannot be read counts as lost events.
fn parse(datagram: &[u8]) -> Vec<LinkEvent> {
    let mut events = Vec::new();
    for part in split_datagram(datagram) {
        let Ok(part) = part else {
            return vec![LinkEvent::Lost];
        };
        // A bridge's word on one of its ports (its VLANs, its STP state,
        // its leaving the bridge) is not about the link itself.
        if part.family() == Some(AF_BRIDGE) || ![RTM_NEWLINK, RTM_DELLINK].contains(&part.kind) {
            continue;
        }
        let Ok(link) = link(&part) else {
            return vec![LinkEvent::Lost];
        };
        let (name, index) = (link.name, link.index);
        events.push(match part.kind {
            RTM_NEWLINK => LinkEvent::Present { name, index },
            _ => LinkEvent::Gone { name, index },
        });
    }
    events
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::endpoint::link_bytes::tests::bridge_port_message;

    #[test]
    fn links_come_and_go_and_a_bridges_word_on_its_ports_is_skipped() {
        let mut datagram = include_bytes!("testdata/links.bin").to_vec();
        datagram.extend(bridge_port_message(RTM_DELLINK));
        datagram.extend(bridge_port_message(RTM_NEWLINK));
        let events = parse(&datagram);
        assert_eq!(events.len(), 6, "{events:?}");
        assert!(events.contains(&LinkEvent::Present {
            name: "tapvm1".into(),
            index: 2
        }));
        assert!(!events.iter().any(|e| matches!(e, LinkEvent::Gone { .. })));

        // The first link of the dump, lo, as if it were deleted.
        let length = u32::from_ne_bytes(datagram[..4].try_into().unwrap()) as usize;
        let mut gone = datagram[..length].to_vec();
        gone[4..6].copy_from_slice(&RTM_DELLINK.to_ne_bytes());
        assert_eq!(
            parse(&gone),
            [LinkEvent::Gone {
                name: "lo".into(),
                index: 1
            }]
        );
        assert_eq!(parse(&datagram[..40]), [LinkEvent::Lost]);
    }
}
