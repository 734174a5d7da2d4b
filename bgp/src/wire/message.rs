//! The message framing (RFC 4271 §4.1) and the message enum.

use crate::wire::notification::Notification;
use crate::wire::open::Open;
use crate::wire::route_refresh::RouteRefresh;
use crate::wire::update::Update;

/// Any BGP message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Message {
    Open(Open),
    Update(Update),
    Notification(Notification),
    Keepalive,
    RouteRefresh(RouteRefresh),
}
