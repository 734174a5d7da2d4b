//! The six session states of RFC 4271 §8.2.2.

use std::fmt;

/// Where a session is in RFC 4271 §8.2.2. `Display` gives the RFC's own
/// names, which the JSON API and `show` print as they are.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum State {
    /// No connection and no attempt; refuses incoming connections.
    Idle,
    /// An outgoing TCP connection is being attempted.
    Connect,
    /// Waiting for the peer to connect to us.
    Active,
    /// Connected, our OPEN sent, waiting for the peer's.
    OpenSent,
    /// OPENs exchanged, our KEEPALIVE sent, waiting for the peer's.
    OpenConfirm,
    /// UPDATEs may flow.
    Established,
}

impl State {
    /// The RFC 4271 §8.2.2 name.
    pub fn name(self) -> &'static str {
        match self {
            State::Idle => "Idle",
            State::Connect => "Connect",
            State::Active => "Active",
            State::OpenSent => "OpenSent",
            State::OpenConfirm => "OpenConfirm",
            State::Established => "Established",
        }
    }

    /// Whether the session holds a TCP connection that carries BGP messages.
    pub fn has_connection(self) -> bool {
        matches!(
            self,
            State::OpenSent | State::OpenConfirm | State::Established
        )
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_the_rfc_names() {
        // RFC 4271 §8.2.2 spells the states this way; the JSON API relies on it.
        let names: Vec<String> = [
            State::Idle,
            State::Connect,
            State::Active,
            State::OpenSent,
            State::OpenConfirm,
            State::Established,
        ]
        .iter()
        .map(State::to_string)
        .collect();
        assert_eq!(
            names,
            [
                "Idle",
                "Connect",
                "Active",
                "OpenSent",
                "OpenConfirm",
                "Established"
            ]
        );
    }
}
