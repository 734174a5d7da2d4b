//! What a neighbor task tells the control API about its session: a snapshot
//! it keeps current in a `watch` channel, so `show` never waits on a session.

use std::net::IpAddr;
use std::time::Instant;

use bgp::wire::Notification;

use crate::api::protocol::{NeighborDetail, NeighborSummary, NotificationRecord};
use crate::api::time::now_ms;

#[derive(Clone, Debug)]
pub struct NeighborStatus {
    pub address: IpAddr,
    pub port: u16,
    pub passive: bool,
    pub remote_as: u32,
    pub local_as: u32,
    pub hold_time_configured: u16,
    /// RFC 4271 state name.
    pub state: &'static str,
    /// When the session last reached or left Established.
    pub up_down_since: Option<Instant>,
    pub established_transitions: u64,
    pub peer_router_id: Option<String>,
    pub hold_time: Option<u16>,
    pub keepalive_time: Option<u16>,
    pub capabilities: Vec<String>,
    pub prefixes_received: u64,
    pub prefixes_accepted: u64,
    pub prefixes_advertised: u64,
    pub messages_received: u64,
    pub messages_sent: u64,
    pub last_error: Option<String>,
    /// The last connection failure that came without a NOTIFICATION.
    pub last_transport_error: Option<String>,
    pub last_notification_sent: Option<NotificationRecord>,
    pub last_notification_received: Option<NotificationRecord>,
}

impl NeighborStatus {
    pub fn new(
        address: IpAddr,
        port: u16,
        passive: bool,
        remote_as: u32,
        local_as: u32,
        hold: u16,
    ) -> Self {
        NeighborStatus {
            address,
            port,
            passive,
            remote_as,
            local_as,
            hold_time_configured: hold,
            state: "Idle",
            up_down_since: None,
            established_transitions: 0,
            peer_router_id: None,
            hold_time: None,
            keepalive_time: None,
            capabilities: Vec::new(),
            prefixes_received: 0,
            prefixes_accepted: 0,
            prefixes_advertised: 0,
            messages_received: 0,
            messages_sent: 0,
            last_error: None,
            last_transport_error: None,
            last_notification_sent: None,
            last_notification_received: None,
        }
    }

    pub fn summary(&self) -> NeighborSummary {
        NeighborSummary {
            address: self.address,
            remote_as: self.remote_as,
            local_as: self.local_as,
            state: self.state.to_string(),
            uptime_secs: self.up_down_since.map_or(0, |t| t.elapsed().as_secs()),
            prefixes_received: self.prefixes_received,
            prefixes_accepted: self.prefixes_accepted,
            prefixes_advertised: self.prefixes_advertised,
            messages_received: self.messages_received,
            messages_sent: self.messages_sent,
            last_error: self.last_error.clone(),
        }
    }

    pub fn detail(&self) -> NeighborDetail {
        NeighborDetail {
            summary: self.summary(),
            port: self.port,
            passive: self.passive,
            peer_router_id: self.peer_router_id.clone(),
            hold_time_configured: self.hold_time_configured,
            hold_time: self.hold_time,
            keepalive_time: self.keepalive_time,
            capabilities: self.capabilities.clone(),
            established_transitions: self.established_transitions,
            last_transport_error: self.last_transport_error.clone(),
            last_notification_sent: self.last_notification_sent.clone(),
            last_notification_received: self.last_notification_received.clone(),
        }
    }
}

/// A NOTIFICATION as the API reports it, stamped now.
pub fn record(n: &Notification) -> NotificationRecord {
    NotificationRecord {
        code: n.code.0,
        subcode: n.subcode,
        name: n.name(),
        communication: n.shutdown_communication().map(str::to_string),
        at: now_ms() / 1000,
    }
}
