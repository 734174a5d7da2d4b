//! The control socket protocol: newline-delimited JSON over a unix stream
//! socket (mode 0600, root only; default `/run/romana-bgp/romana-bgp.sock`).
//!
//! The client writes one [`Request`] as a JSON object on one line, and the
//! daemon answers with one [`Reply`] line. A connection may carry any number
//! of requests, one after the other, until the client closes it:
//!
//! ```text
//! > {"request":"summary"}
//! < {"reply":"summary","router_id":"192.168.10.2","local_as":65001,"neighbors":[...]}
//! > {"request":"neighbors","address":"192.168.10.1"}
//! < {"reply":"neighbors","neighbors":[...]}
//! > {"request":"routes"}
//! < {"reply":"routes","routes":[...]}
//! ```
//!
//! `follow` turns the connection into a stream: the daemon answers
//! `{"reply":"following"}` once it is subscribed, then one
//! [`Reply::Event`] line per session event, and a [`Reply::Lagged`] line
//! when the client read too slowly and events were dropped for it, until the
//! client closes the connection.
//!
//! A request that cannot be parsed, or is longer than
//! [`MAX_REQUEST_LINE`] bytes, gets a [`Reply::Error`] line and the
//! connection stays usable. Field names are part of the stable interface
//! (SPEC §3): add fields, never rename or remove them.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

/// The socket the daemon listens on and the CLI connects to unless told
/// otherwise (SPEC §3).
pub const DEFAULT_SOCKET: &str = "/run/romana-bgp/romana-bgp.sock";

/// The longest request line the daemon reads, newline excluded; a longer
/// one is discarded unread so a client cannot make the daemon allocate
/// without bound.
pub const MAX_REQUEST_LINE: usize = 64 * 1024;

/// What a client asks for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "request", rename_all = "snake_case")]
pub enum Request {
    /// One line per neighbor (`romana-bgp show`).
    Summary,
    /// Full detail of every neighbor, or of one.
    Neighbors { address: Option<IpAddr> },
    /// The routes that passed the import policy.
    Routes,
    /// Session events, streamed until the client hangs up.
    Follow,
    /// Allocate an address and wire an endpoint (`endpoint add`).
    EndpointAdd(EndpointAdd),
    /// Unwire an endpoint and release its address (`endpoint del`).
    EndpointDel { name: String },
    /// Every endpoint of the host (`endpoint list`, `show endpoints`).
    Endpoints,
}

/// `endpoint add`: exactly one of `netns` (a container) and `iface` (a VM's
/// existing tap).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndpointAdd {
    pub name: Option<String>,
    pub tenant: String,
    pub segment: String,
    /// A namespace name (under /run/netns) or a path to a namespace file.
    pub netns: Option<String>,
    pub iface: Option<String>,
}

/// What the daemon answers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "reply", rename_all = "snake_case")]
pub enum Reply {
    Summary(Summary),
    Neighbors(NeighborDetails),
    Routes(Routes),
    /// The answer to `follow`: the subscription is in place, events follow.
    Following,
    Event(SessionEvent),
    /// This many events were dropped because the client read too slowly.
    Lagged {
        missed: u64,
    },
    Error {
        message: String,
    },
    Endpoint(EndpointView),
    Endpoints(EndpointList),
    /// The endpoint is gone; `existed` is false when there was none of that
    /// name (deleting twice is not an error: CNI DEL retries).
    EndpointDeleted {
        name: String,
        existed: bool,
    },
}

/// One endpoint. SPEC §3 names `name`, `tenant`, `segment`, `address`,
/// `gateway` and `interface` (the host-side interface).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndpointView {
    pub name: String,
    pub tenant: String,
    pub segment: String,
    pub address: std::net::Ipv4Addr,
    pub gateway: std::net::Ipv4Addr,
    pub interface: String,
    /// The container's namespace; null for a VM's tap.
    pub netns: Option<String>,
    /// The host side is up and its route is in the kernel.
    pub wired: bool,
}

/// `endpoint list -o json`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndpointList {
    pub endpoints: Vec<EndpointView>,
}

/// `show -o json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub router_id: String,
    pub local_as: u32,
    pub neighbors: Vec<NeighborSummary>,
}

/// One neighbor in the summary. SPEC §3 names these fields.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NeighborSummary {
    pub address: IpAddr,
    pub remote_as: u32,
    pub local_as: u32,
    /// RFC 4271 state name: Idle, Connect, Active, OpenSent, OpenConfirm,
    /// Established.
    pub state: String,
    /// Seconds since the session reached, or left, Established; 0 if never.
    pub uptime_secs: u64,
    pub prefixes_received: u64,
    pub prefixes_accepted: u64,
    pub prefixes_advertised: u64,
    pub messages_received: u64,
    pub messages_sent: u64,
    /// The last NOTIFICATION sent or received, decoded, e.g. "received OPEN
    /// Message Error/Bad Peer AS (2/2)"; or a transport error. Null if none.
    pub last_error: Option<String>,
}

/// `show neighbors [ADDR] -o json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NeighborDetails {
    pub neighbors: Vec<NeighborDetail>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NeighborDetail {
    #[serde(flatten)]
    pub summary: NeighborSummary,
    pub port: u16,
    pub passive: bool,
    pub peer_router_id: Option<String>,
    /// Configured hold time, and the negotiated one once Established.
    pub hold_time_configured: u16,
    pub hold_time: Option<u16>,
    pub keepalive_time: Option<u16>,
    /// Negotiated capabilities, by name (e.g. "4-octet-as", "route-refresh",
    /// "ipv4-unicast").
    pub capabilities: Vec<String>,
    pub established_transitions: u64,
    /// The last connection failure without a NOTIFICATION (refused, reset,
    /// closed), e.g. "connect: Connection refused".
    #[serde(default)]
    pub last_transport_error: Option<String>,
    pub last_notification_sent: Option<NotificationRecord>,
    pub last_notification_received: Option<NotificationRecord>,
}

/// A NOTIFICATION as `show` reports it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotificationRecord {
    pub code: u8,
    pub subcode: u8,
    /// "Code name/Subcode name".
    pub name: String,
    /// RFC 9003 shutdown communication, if one was carried.
    pub communication: Option<String>,
    /// Unix time in seconds.
    pub at: u64,
}

/// `show routes -o json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Routes {
    pub routes: Vec<RouteEntry>,
}

/// One route that passed the import policy. SPEC §3 names these fields.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteEntry {
    pub prefix: String,
    pub neighbor: IpAddr,
    pub next_hop: IpAddr,
    pub as_path: Vec<u32>,
    /// In the kernel's routing table.
    pub installed: bool,
}

/// One line of `show ... follow`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionEvent {
    /// Unix time in milliseconds.
    pub at_ms: u64,
    pub neighbor: IpAddr,
    #[serde(flatten)]
    pub kind: EventKind,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum EventKind {
    StateChanged {
        from: String,
        to: String,
    },
    NotificationSent {
        notification: NotificationRecord,
    },
    NotificationReceived {
        notification: NotificationRecord,
    },
    PrefixesAccepted {
        count: u64,
    },
    /// The connection failed or dropped without a NOTIFICATION.
    TransportError {
        message: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_tagged_objects() {
        let line = serde_json::to_string(&Request::Neighbors {
            address: Some("192.168.10.1".parse().unwrap()),
        })
        .unwrap();
        assert_eq!(line, r#"{"request":"neighbors","address":"192.168.10.1"}"#);
        let back: Request = serde_json::from_str(r#"{"request":"summary"}"#).unwrap();
        assert_eq!(back, Request::Summary);
    }

    #[test]
    fn event_lines_are_flat() {
        let e = SessionEvent {
            at_ms: 1,
            neighbor: "192.168.10.1".parse().unwrap(),
            kind: EventKind::StateChanged {
                from: "OpenConfirm".into(),
                to: "Established".into(),
            },
        };
        assert_eq!(
            serde_json::to_string(&e).unwrap(),
            r#"{"at_ms":1,"neighbor":"192.168.10.1","event":"state_changed","from":"OpenConfirm","to":"Established"}"#
        );
    }

    #[test]
    fn stream_control_replies_are_tagged_objects() {
        assert_eq!(
            serde_json::to_string(&Reply::Following).unwrap(),
            r#"{"reply":"following"}"#
        );
        assert_eq!(
            serde_json::to_string(&Reply::Lagged { missed: 3 }).unwrap(),
            r#"{"reply":"lagged","missed":3}"#
        );
    }
}
