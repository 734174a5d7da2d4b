//! What `romana-bgp show` prints: pure functions from the protocol types to
//! text, so the exact output is tested. Tables follow the operator habits of
//! `vtysh show bgp summary` (numbers right-aligned, `never`, `00:01:02`).

use std::borrow::Cow;
use std::ffi::OsStr;
use std::fmt::Write as _;

use serde::Serialize;

use super::client::FollowNotice;
use super::protocol::{
    EndpointList, EndpointView, EventKind, NeighborDetail, NeighborDetails, NeighborSummary,
    NotificationRecord, Routes, Summary,
};
use super::time::{rfc3339_ms, rfc3339_secs};

const ESTABLISHED: &str = "Established";

/// Whether text may carry ANSI colour.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Style {
    colour: bool,
}

impl Style {
    pub const PLAIN: Style = Style { colour: false };
    pub const COLOUR: Style = Style { colour: true };

    /// Colour only on a terminal, and never when `NO_COLOR` is set to a
    /// non-empty value (no-color.org).
    pub fn detect(stdout_is_terminal: bool, no_color: Option<&OsStr>) -> Style {
        let forbidden = no_color.is_some_and(|v| !v.is_empty());
        Style {
            colour: stdout_is_terminal && !forbidden,
        }
    }

    fn paint(self, text: &str, colour: Option<Colour>, out: &mut String) {
        match colour.filter(|_| self.colour) {
            Some(colour) => {
                let code = match colour {
                    Colour::Green => "32",
                    Colour::Red => "31",
                };
                let _ = write!(out, "\u{1b}[{code}m{text}\u{1b}[0m");
            }
            None => out.push_str(text),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Colour {
    Green,
    Red,
}

fn state_colour(state: &str) -> Colour {
    if state == ESTABLISHED {
        Colour::Green
    } else {
        Colour::Red
    }
}

/// Text from the daemon may carry bytes a peer chose (an RFC 9003 shutdown
/// communication): control characters are escaped so they cannot drive the
/// operator's terminal.
pub fn printable(text: &str) -> Cow<'_, str> {
    if !text.chars().any(char::is_control) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// FRR's Up/Down column: `never`, `00:01:02` under a day, `1d02h03m` beyond.
pub fn up_down(secs: u64) -> String {
    if secs == 0 {
        return "never".to_owned();
    }
    let (days, rest) = (secs / 86_400, secs % 86_400);
    let (hours, minutes, seconds) = (rest / 3600, rest / 60 % 60, rest % 60);
    if days == 0 {
        format!("{hours:02}:{minutes:02}:{seconds:02}")
    } else {
        format!("{days}d{hours:02}h{minutes:02}m")
    }
}

/// `-o json`: the reply's object, indented for people who read it too.
pub fn json(value: &impl Serialize) -> serde_json::Result<String> {
    let mut text = serde_json::to_string_pretty(value)?;
    text.push('\n');
    Ok(text)
}

/// `show`: a header with the local identity, then one line per neighbor.
pub fn summary(summary: &Summary, style: Style) -> String {
    let mut out = format!(
        "BGP router identifier {}, local AS number {}\n\n",
        printable(&summary.router_id),
        summary.local_as
    );
    if summary.neighbors.is_empty() {
        out.push_str("No neighbors configured\n");
        return out;
    }
    let columns = [
        ("Neighbor", Align::Left),
        ("V", Align::Right),
        ("AS", Align::Right),
        ("MsgRcvd", Align::Right),
        ("MsgSent", Align::Right),
        ("Up/Down", Align::Right),
        ("State/PfxRcd", Align::Right),
        ("PfxSnt", Align::Right),
        ("Last error", Align::Left),
    ];
    let rows: Vec<Vec<Cell>> = summary.neighbors.iter().map(summary_row).collect();
    table(&columns, &rows, style, &mut out);
    let _ = write!(
        out,
        "\nTotal number of neighbors {}\n",
        summary.neighbors.len()
    );
    out
}

fn summary_row(n: &NeighborSummary) -> Vec<Cell> {
    let state_or_prefixes = if n.state == ESTABLISHED {
        n.prefixes_accepted.to_string()
    } else {
        printable(&n.state).into_owned()
    };
    vec![
        Cell::plain(n.address.to_string()),
        // The BGP version: romana-bgp speaks BGP-4 only (RFC 4271 §4.2).
        Cell::plain("4".to_owned()),
        Cell::plain(n.remote_as.to_string()),
        Cell::plain(n.messages_received.to_string()),
        Cell::plain(n.messages_sent.to_string()),
        Cell::plain(up_down(n.uptime_secs)),
        Cell {
            text: state_or_prefixes,
            colour: Some(state_colour(&n.state)),
        },
        Cell::plain(n.prefixes_advertised.to_string()),
        Cell::plain(
            n.last_error
                .as_deref()
                .map_or_else(|| "-".to_owned(), |e| printable(e).into_owned()),
        ),
    ]
}

/// `show neighbors [ADDR]`: one block per neighbor.
pub fn neighbors(details: &NeighborDetails, style: Style) -> String {
    if details.neighbors.is_empty() {
        return "No neighbors configured\n".to_owned();
    }
    let blocks: Vec<String> = details
        .neighbors
        .iter()
        .map(|n| neighbor_block(n, style))
        .collect();
    blocks.join("\n")
}

fn neighbor_block(n: &NeighborDetail, style: Style) -> String {
    let s = &n.summary;
    let mut out = format!(
        "BGP neighbor is {}, remote AS {}, local AS {}\n  BGP state = ",
        s.address, s.remote_as, s.local_as
    );
    style.paint(&printable(&s.state), Some(state_colour(&s.state)), &mut out);
    let since = match (s.state == ESTABLISHED, s.uptime_secs) {
        (true, secs) => format!("up for {}", up_down(secs)),
        (false, 0) => "never up".to_owned(),
        (false, secs) => format!("down for {}", up_down(secs)),
    };
    let _ = writeln!(out, ", {since}");
    let _ = writeln!(
        out,
        "  Neighbor router ID {}, port {}, {}",
        s_or(n.peer_router_id.as_deref(), "unknown"),
        n.port,
        if n.passive { "passive" } else { "active" }
    );
    let configured = n.hold_time_configured;
    let _ = match (n.hold_time, n.keepalive_time) {
        (Some(hold), Some(keepalive)) => writeln!(
            out,
            "  Hold time {hold} s, keepalive {keepalive} s (configured hold time {configured} s)"
        ),
        (Some(hold), None) => writeln!(
            out,
            "  Hold time {hold} s (configured hold time {configured} s)"
        ),
        (None, _) => writeln!(
            out,
            "  Hold time not negotiated (configured hold time {configured} s)"
        ),
    };
    let _ = writeln!(
        out,
        "  Connections established {}",
        n.established_transitions
    );
    let capabilities: Vec<Cow<'_, str>> = n.capabilities.iter().map(|c| printable(c)).collect();
    let _ = writeln!(
        out,
        "  Capabilities: {}",
        if capabilities.is_empty() {
            "none negotiated".to_owned()
        } else {
            capabilities.join(", ")
        }
    );
    let _ = writeln!(
        out,
        "  Messages: received {}, sent {}",
        s.messages_received, s.messages_sent
    );
    let _ = writeln!(
        out,
        "  Prefixes: received {}, accepted {}, advertised {}",
        s.prefixes_received, s.prefixes_accepted, s.prefixes_advertised
    );
    if let Some(error) = &n.last_transport_error {
        let _ = writeln!(out, "  Last transport error: {}", printable(error));
    }
    for (direction, record) in [
        ("sent", &n.last_notification_sent),
        ("received", &n.last_notification_received),
    ] {
        let text = record.as_ref().map_or_else(
            || "none".to_owned(),
            |r| format!("{} {}", rfc3339_secs(r.at), notification(r)),
        );
        let _ = writeln!(out, "  Last NOTIFICATION {direction}: {text}");
    }
    let _ = writeln!(
        out,
        "  Last error: {}",
        s_or(s.last_error.as_deref(), "none")
    );
    out
}

fn s_or<'a>(text: Option<&'a str>, otherwise: &'a str) -> Cow<'a, str> {
    text.map_or(Cow::Borrowed(otherwise), printable)
}

/// `Cease/Administrative Shutdown (6/2) "maintenance"`.
fn notification(record: &NotificationRecord) -> String {
    let mut text = format!(
        "{} ({}/{})",
        printable(&record.name),
        record.code,
        record.subcode
    );
    if let Some(communication) = &record.communication {
        // Debug quoting escapes quotes and control characters alike.
        let _ = write!(text, " {communication:?}");
    }
    text
}

/// `show routes`: the routes that passed the import policy.
pub fn routes(routes: &Routes, style: Style) -> String {
    if routes.routes.is_empty() {
        return "No routes accepted\n".to_owned();
    }
    let columns = [
        ("Prefix", Align::Left),
        ("Next hop", Align::Left),
        ("Neighbor", Align::Left),
        ("AS path", Align::Left),
        ("Installed", Align::Left),
    ];
    let rows: Vec<Vec<Cell>> = routes
        .routes
        .iter()
        .map(|r| {
            let as_path: Vec<String> = r.as_path.iter().map(u32::to_string).collect();
            vec![
                Cell::plain(printable(&r.prefix).into_owned()),
                Cell::plain(r.next_hop.to_string()),
                Cell::plain(r.neighbor.to_string()),
                Cell::plain(if as_path.is_empty() {
                    "-".to_owned()
                } else {
                    as_path.join(" ")
                }),
                yes_no(r.installed),
            ]
        })
        .collect();
    let mut out = String::new();
    table(&columns, &rows, style, &mut out);
    out
}

/// "yes", or a red "no": whether something is in place.
fn yes_no(in_place: bool) -> Cell {
    if in_place {
        Cell::plain("yes".to_owned())
    } else {
        Cell {
            text: "no".to_owned(),
            colour: Some(Colour::Red),
        }
    }
}

/// `endpoint list`, `show endpoints`: one line per endpoint.
pub fn endpoints(list: &EndpointList, style: Style) -> String {
    if list.endpoints.is_empty() {
        return "No endpoints\n".to_owned();
    }
    let columns = [
        ("Name", Align::Left),
        ("Tenant", Align::Left),
        ("Segment", Align::Left),
        ("Address", Align::Left),
        ("Gateway", Align::Left),
        ("Interface", Align::Left),
        ("Netns", Align::Left),
        ("Wired", Align::Left),
    ];
    let rows: Vec<Vec<Cell>> = list
        .endpoints
        .iter()
        .map(|e| {
            vec![
                Cell::plain(printable(&e.name).into_owned()),
                Cell::plain(printable(&e.tenant).into_owned()),
                Cell::plain(printable(&e.segment).into_owned()),
                Cell::plain(e.address.to_string()),
                Cell::plain(e.gateway.to_string()),
                Cell::plain(printable(&e.interface).into_owned()),
                Cell::plain(
                    e.netns
                        .as_deref()
                        .map_or("-".to_owned(), |n| printable(n).into_owned()),
                ),
                yes_no(e.wired),
            ]
        })
        .collect();
    let mut out = String::new();
    table(&columns, &rows, style, &mut out);
    out
}

/// `endpoint add`: what was allocated and wired.
pub fn endpoint(e: &EndpointView, style: Style) -> String {
    endpoints(
        &EndpointList {
            endpoints: vec![e.clone()],
        },
        style,
    )
}

/// One line of `show follow`, newline included.
pub fn follow_line(notice: &FollowNotice) -> String {
    match notice {
        FollowNotice::Event(event) => {
            let what = match &event.kind {
                EventKind::StateChanged { from, to } => {
                    format!("state {} -> {}", printable(from), printable(to))
                }
                EventKind::NotificationSent { notification: n } => {
                    format!("notification sent {}", notification(n))
                }
                EventKind::NotificationReceived { notification: n } => {
                    format!("notification received {}", notification(n))
                }
                EventKind::PrefixesAccepted { count } => format!("prefixes accepted {count}"),
                EventKind::TransportError { message } => {
                    format!("transport error: {}", printable(message))
                }
            };
            format!("{} {} {what}\n", rfc3339_ms(event.at_ms), event.neighbor)
        }
        FollowNotice::Missed { at_ms, count } => format!(
            "{} missed {count} events: this client read too slowly\n",
            rfc3339_ms(*at_ms)
        ),
        FollowNotice::Lost { at_ms } => format!(
            "{} connection to romana-bgp lost; reconnecting\n",
            rfc3339_ms(*at_ms)
        ),
        FollowNotice::Reconnected { at_ms } => format!("{} reconnected\n", rfc3339_ms(*at_ms)),
    }
}

/// One line of `show follow -o json`: the daemon's event object as it came,
/// or the client's own `missed`, `connection_lost` and `reconnected`.
pub fn follow_json(notice: &FollowNotice) -> serde_json::Result<String> {
    let mut line = serde_json::to_string(notice)?;
    line.push('\n');
    Ok(line)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Align {
    Left,
    Right,
}

struct Cell {
    text: String,
    colour: Option<Colour>,
}

impl Cell {
    fn plain(text: String) -> Self {
        Cell { text, colour: None }
    }
}

/// Columns two spaces apart, each as wide as its widest cell; no trailing
/// spaces.
fn table(columns: &[(&str, Align)], rows: &[Vec<Cell>], style: Style, out: &mut String) {
    let widths: Vec<usize> = columns
        .iter()
        .enumerate()
        .map(|(i, (title, _))| {
            rows.iter()
                .filter_map(|row| row.get(i))
                .map(|cell| cell.text.chars().count())
                .chain([title.chars().count()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let header = columns.iter().map(|(title, align)| (*title, *align, None));
    push_row(header, &widths, style, out);
    for row in rows {
        let cells = row
            .iter()
            .zip(columns)
            .map(|(cell, (_, align))| (cell.text.as_str(), *align, cell.colour));
        push_row(cells, &widths, style, out);
    }
}

fn push_row<'a>(
    cells: impl Iterator<Item = (&'a str, Align, Option<Colour>)>,
    widths: &[usize],
    style: Style,
    out: &mut String,
) {
    let mut line = String::new();
    for (i, ((text, align, colour), width)) in cells.zip(widths).enumerate() {
        if i > 0 {
            line.push_str("  ");
        }
        let padding = " ".repeat(width.saturating_sub(text.chars().count()));
        if align == Align::Right {
            line.push_str(&padding);
        }
        style.paint(text, colour, &mut line);
        if align == Align::Left {
            line.push_str(&padding);
        }
    }
    out.push_str(line.trim_end());
    out.push('\n');
}

#[cfg(test)]
mod tests {
    use std::net::IpAddr;

    use super::*;
    use crate::api::protocol::{RouteEntry, SessionEvent};

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn established() -> NeighborSummary {
        NeighborSummary {
            address: ip("192.168.10.1"),
            remote_as: 65000,
            local_as: 65001,
            state: "Established".into(),
            uptime_secs: 3723,
            prefixes_received: 3,
            prefixes_accepted: 1,
            prefixes_advertised: 1,
            messages_received: 12,
            messages_sent: 14,
            last_error: None,
        }
    }

    fn active() -> NeighborSummary {
        NeighborSummary {
            address: ip("2001:db8::1"),
            remote_as: 4_200_000_000,
            local_as: 65001,
            state: "Active".into(),
            uptime_secs: 0,
            prefixes_received: 0,
            prefixes_accepted: 0,
            prefixes_advertised: 0,
            messages_received: 0,
            messages_sent: 0,
            last_error: Some("received Hold Timer Expired (4/0)".into()),
        }
    }

    fn shutdown_notice() -> NotificationRecord {
        NotificationRecord {
            code: 6,
            subcode: 2,
            name: "Cease/Administrative Shutdown".into(),
            communication: Some("maintenance".into()),
            at: 1_795_319_412,
        }
    }

    #[test]
    fn up_down_like_frr() {
        assert_eq!(up_down(0), "never");
        assert_eq!(up_down(62), "00:01:02");
        assert_eq!(up_down(86_399), "23:59:59");
        assert_eq!(up_down(86_400 + 2 * 3600 + 3 * 60 + 4), "1d02h03m");
        assert_eq!(up_down(400 * 86_400), "400d00h00m");
    }

    #[test]
    fn summary_shows_prefixes_when_established_and_the_state_otherwise() {
        let s = Summary {
            router_id: "192.168.10.2".into(),
            local_as: 65001,
            neighbors: vec![established(), active()],
        };
        assert_eq!(
            summary(&s, Style::PLAIN),
            "BGP router identifier 192.168.10.2, local AS number 65001\n\
             \n\
             Neighbor      V          AS  MsgRcvd  MsgSent   Up/Down  State/PfxRcd  PfxSnt  Last error\n\
             192.168.10.1  4       65000       12       14  01:02:03             1       1  -\n\
             2001:db8::1   4  4200000000        0        0     never        Active       0  received Hold Timer Expired (4/0)\n\
             \n\
             Total number of neighbors 2\n"
        );
    }

    #[test]
    fn summary_without_neighbors_says_so() {
        let s = Summary {
            router_id: "192.168.10.2".into(),
            local_as: 65001,
            neighbors: vec![],
        };
        assert_eq!(
            summary(&s, Style::PLAIN),
            "BGP router identifier 192.168.10.2, local AS number 65001\n\nNo neighbors configured\n"
        );
    }

    #[test]
    fn colour_marks_the_state_and_keeps_the_columns_aligned() {
        let s = Summary {
            router_id: "192.168.10.2".into(),
            local_as: 65001,
            neighbors: vec![established(), active()],
        };
        let text = summary(&s, Style::COLOUR);
        assert!(text.contains("01:02:03             \u{1b}[32m1\u{1b}[0m       1  -\n"));
        assert!(text.contains("never        \u{1b}[31mActive\u{1b}[0m       0  received"));
    }

    #[test]
    fn colour_only_on_a_terminal_without_no_color() {
        assert_eq!(Style::detect(true, None), Style::COLOUR);
        assert_eq!(Style::detect(false, None), Style::PLAIN);
        assert_eq!(Style::detect(true, Some(OsStr::new("1"))), Style::PLAIN);
        // no-color.org: an empty NO_COLOR does not count.
        assert_eq!(Style::detect(true, Some(OsStr::new(""))), Style::COLOUR);
    }

    #[test]
    fn neighbor_blocks() {
        let details = NeighborDetails {
            neighbors: vec![
                NeighborDetail {
                    summary: established(),
                    port: 179,
                    passive: false,
                    peer_router_id: Some("192.168.10.1".into()),
                    hold_time_configured: 90,
                    hold_time: Some(90),
                    keepalive_time: Some(30),
                    capabilities: vec!["4-octet-as".into(), "route-refresh".into()],
                    established_transitions: 1,
                    last_transport_error: None,
                    last_notification_sent: Some(shutdown_notice()),
                    last_notification_received: None,
                },
                NeighborDetail {
                    summary: active(),
                    port: 1179,
                    passive: true,
                    peer_router_id: None,
                    hold_time_configured: 9,
                    hold_time: None,
                    keepalive_time: None,
                    capabilities: vec![],
                    established_transitions: 0,
                    last_transport_error: None,
                    last_notification_sent: None,
                    last_notification_received: None,
                },
            ],
        };
        assert_eq!(
            neighbors(&details, Style::PLAIN),
            "BGP neighbor is 192.168.10.1, remote AS 65000, local AS 65001\n\
            \x20 BGP state = Established, up for 01:02:03\n\
            \x20 Neighbor router ID 192.168.10.1, port 179, active\n\
            \x20 Hold time 90 s, keepalive 30 s (configured hold time 90 s)\n\
            \x20 Connections established 1\n\
            \x20 Capabilities: 4-octet-as, route-refresh\n\
            \x20 Messages: received 12, sent 14\n\
            \x20 Prefixes: received 3, accepted 1, advertised 1\n\
            \x20 Last NOTIFICATION sent: 2026-11-22T03:50:12Z Cease/Administrative Shutdown (6/2) \"maintenance\"\n\
            \x20 Last NOTIFICATION received: none\n\
            \x20 Last error: none\n\
            \n\
            BGP neighbor is 2001:db8::1, remote AS 4200000000, local AS 65001\n\
            \x20 BGP state = Active, never up\n\
            \x20 Neighbor router ID unknown, port 1179, passive\n\
            \x20 Hold time not negotiated (configured hold time 9 s)\n\
            \x20 Connections established 0\n\
            \x20 Capabilities: none negotiated\n\
            \x20 Messages: received 0, sent 0\n\
            \x20 Prefixes: received 0, accepted 0, advertised 0\n\
            \x20 Last NOTIFICATION sent: none\n\
            \x20 Last NOTIFICATION received: none\n\
            \x20 Last error: received Hold Timer Expired (4/0)\n"
        );
    }

    #[test]
    fn a_session_that_went_down_says_for_how_long() {
        let mut down = established();
        down.state = "Idle".into();
        let details = NeighborDetails {
            neighbors: vec![NeighborDetail {
                summary: down,
                port: 179,
                passive: false,
                peer_router_id: None,
                hold_time_configured: 90,
                hold_time: None,
                keepalive_time: None,
                capabilities: vec![],
                established_transitions: 2,
                last_transport_error: None,
                last_notification_sent: None,
                last_notification_received: None,
            }],
        };
        let text = neighbors(&details, Style::PLAIN);
        assert!(
            text.contains("\n  BGP state = Idle, down for 01:02:03\n"),
            "{text}"
        );
    }

    #[test]
    fn routes_table() {
        let r = Routes {
            routes: vec![
                RouteEntry {
                    prefix: "0.0.0.0/0".into(),
                    neighbor: ip("192.168.10.1"),
                    next_hop: ip("192.168.10.1"),
                    as_path: vec![65000, 65100],
                    installed: true,
                },
                RouteEntry {
                    prefix: "10.1.0.0/16".into(),
                    neighbor: ip("192.168.11.1"),
                    next_hop: ip("192.168.11.254"),
                    as_path: vec![],
                    installed: false,
                },
            ],
        };
        assert_eq!(
            routes(&r, Style::PLAIN),
            "Prefix       Next hop        Neighbor      AS path      Installed\n\
             0.0.0.0/0    192.168.10.1    192.168.10.1  65000 65100  yes\n\
             10.1.0.0/16  192.168.11.254  192.168.11.1  -            no\n"
        );
        assert_eq!(
            routes(&Routes { routes: vec![] }, Style::PLAIN),
            "No routes accepted\n"
        );
    }

    fn event(kind: EventKind) -> FollowNotice {
        FollowNotice::Event(SessionEvent {
            at_ms: 1_795_319_412_345,
            neighbor: ip("192.168.10.1"),
            kind,
        })
    }

    #[test]
    fn follow_lines() {
        assert_eq!(
            follow_line(&event(EventKind::StateChanged {
                from: "OpenConfirm".into(),
                to: "Established".into(),
            })),
            "2026-11-22T03:50:12.345Z 192.168.10.1 state OpenConfirm -> Established\n"
        );
        assert_eq!(
            follow_line(&event(EventKind::NotificationReceived {
                notification: shutdown_notice(),
            })),
            "2026-11-22T03:50:12.345Z 192.168.10.1 notification received \
             Cease/Administrative Shutdown (6/2) \"maintenance\"\n"
        );
        assert_eq!(
            follow_line(&event(EventKind::NotificationSent {
                notification: NotificationRecord {
                    code: 4,
                    subcode: 0,
                    name: "Hold Timer Expired".into(),
                    communication: None,
                    at: 0,
                },
            })),
            "2026-11-22T03:50:12.345Z 192.168.10.1 notification sent Hold Timer Expired (4/0)\n"
        );
        assert_eq!(
            follow_line(&event(EventKind::PrefixesAccepted { count: 3 })),
            "2026-11-22T03:50:12.345Z 192.168.10.1 prefixes accepted 3\n"
        );
        assert_eq!(
            follow_line(&event(EventKind::TransportError {
                message: "connection reset by peer".into(),
            })),
            "2026-11-22T03:50:12.345Z 192.168.10.1 transport error: connection reset by peer\n"
        );
        assert_eq!(
            follow_line(&FollowNotice::Lost { at_ms: 0 }),
            "1970-01-01T00:00:00.000Z connection to romana-bgp lost; reconnecting\n"
        );
        assert_eq!(
            follow_line(&FollowNotice::Reconnected { at_ms: 1000 }),
            "1970-01-01T00:00:01.000Z reconnected\n"
        );
        assert_eq!(
            follow_line(&FollowNotice::Missed { at_ms: 0, count: 7 }),
            "1970-01-01T00:00:00.000Z missed 7 events: this client read too slowly\n"
        );
    }

    #[test]
    fn follow_json_lines() {
        assert_eq!(
            follow_json(&event(EventKind::PrefixesAccepted { count: 3 })).unwrap(),
            "{\"at_ms\":1795319412345,\"neighbor\":\"192.168.10.1\",\
             \"event\":\"prefixes_accepted\",\"count\":3}\n"
        );
        assert_eq!(
            follow_json(&FollowNotice::Lost { at_ms: 5 }).unwrap(),
            "{\"event\":\"connection_lost\",\"at_ms\":5}\n"
        );
        assert_eq!(
            follow_json(&FollowNotice::Reconnected { at_ms: 6 }).unwrap(),
            "{\"event\":\"reconnected\",\"at_ms\":6}\n"
        );
        assert_eq!(
            follow_json(&FollowNotice::Missed { at_ms: 7, count: 2 }).unwrap(),
            "{\"event\":\"missed\",\"at_ms\":7,\"count\":2}\n"
        );
    }

    #[test]
    fn peer_chosen_text_cannot_drive_the_terminal() {
        let mut record = shutdown_notice();
        record.communication = Some("bye\u{1b}[2J\"x\"".into());
        assert_eq!(
            follow_line(&event(EventKind::NotificationReceived {
                notification: record,
            })),
            "2026-11-22T03:50:12.345Z 192.168.10.1 notification received \
             Cease/Administrative Shutdown (6/2) \"bye\\u{1b}[2J\\\"x\\\"\"\n"
        );
        assert_eq!(printable("a\nb\u{7}"), "a\\nb\\u{7}");
        assert!(matches!(printable("plain"), Cow::Borrowed("plain")));
    }
}
