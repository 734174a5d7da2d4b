//! Connection collision detection (RFC 4271 §6.8).

use crate::asn::Asn;
use crate::fsm::event::Origin;
use crate::fsm::session::Session;
use crate::fsm::state::State;
use crate::router_id::RouterId;

/// Which connection survives a collision.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Keep {
    /// The connection we opened.
    Local,
    /// The connection the peer opened.
    Remote,
}

impl Keep {
    /// Whether the connection opened by `origin` is the one kept.
    pub fn keeps(self, origin: Origin) -> bool {
        matches!(
            (self, origin),
            (Keep::Local, Origin::Local) | (Keep::Remote, Origin::Remote)
        )
    }
}

/// RFC 4271 §6.8: keep the connection opened by the speaker with the higher
/// BGP Identifier, compared as an unsigned 32-bit integer. RFC 6286 §2.3:
/// with equal identifiers (possible between ASes), the one opened by the
/// speaker with the larger AS number. Equal identifiers and ASes are refused
/// earlier, by the OPEN checks (RFC 6286 §2.2); the peer's side is kept then.
pub fn resolve_collision(local: RouterId, remote: RouterId, local_as: Asn, remote_as: Asn) -> Keep {
    let local_wins = match local.to_u32().cmp(&remote.to_u32()) {
        std::cmp::Ordering::Greater => true,
        std::cmp::Ordering::Less => false,
        std::cmp::Ordering::Equal => local_as > remote_as,
    };
    if local_wins {
        Keep::Local
    } else {
        Keep::Remote
    }
}

/// Which of two sessions to the same peer is to get `CollisionDump`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Loser {
    First,
    Second,
}

/// RFC 4271 §6.8 for the two sessions the daemon holds for one peer: the
/// one to dump, once that can be decided, else `None` (ask again after the
/// next event of either). `first` is the session the daemon had before
/// `second`'s connection arrived.
///
/// It is decided when one session has the peer's OPEN (OpenConfirm) and the
/// other is in OpenConfirm or Established: an Established session is always
/// kept; between two in OpenConfirm, the BGP Identifiers choose. Two
/// connections opened by the same side cannot be told apart by identifiers;
/// the newer one goes.
pub fn collision_loser(first: &Session, second: &Session) -> Option<Loser> {
    match (first.state(), second.state()) {
        // RFC 4271 §6.8: a collision with an Established connection closes
        // the new one.
        (State::Established, State::OpenConfirm | State::Established) => Some(Loser::Second),
        (State::OpenConfirm, State::Established) => Some(Loser::First),
        (State::OpenConfirm, State::OpenConfirm) => {
            let peer = second.negotiated()?;
            let ours = first.config();
            let keep = resolve_collision(
                ours.local_router_id,
                peer.peer_router_id,
                ours.local_asn,
                peer.peer_asn,
            );
            let first_kept = first.origin().is_some_and(|o| keep.keeps(o));
            let second_kept = second.origin().is_some_and(|o| keep.keeps(o));
            if second_kept && !first_kept {
                Some(Loser::First)
            } else {
                Some(Loser::Second)
            }
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;

    fn id(a: u8, b: u8, c: u8, d: u8) -> RouterId {
        RouterId(Ipv4Addr::new(a, b, c, d))
    }

    #[test]
    fn higher_identifier_keeps_its_own_connection() {
        // RFC 4271 §6.8.
        let a = Asn(65001);
        let b = Asn(65000);
        assert_eq!(
            resolve_collision(id(10, 0, 0, 2), id(10, 0, 0, 1), a, b),
            Keep::Local
        );
        assert_eq!(
            resolve_collision(id(10, 0, 0, 1), id(10, 0, 0, 2), a, b),
            Keep::Remote
        );
    }

    #[test]
    fn identifiers_compare_as_unsigned_integers() {
        // RFC 4271 §6.8: host byte order, unsigned. 128.0.0.0 > 127.255.255.255
        // and 200.0.0.1 > 9.255.255.255, which a signed or textual comparison gets wrong.
        let a = Asn(1);
        assert_eq!(
            resolve_collision(id(128, 0, 0, 0), id(127, 255, 255, 255), a, a),
            Keep::Local
        );
        assert_eq!(
            resolve_collision(id(9, 255, 255, 255), id(200, 0, 0, 1), a, a),
            Keep::Remote
        );
    }

    #[test]
    fn equal_identifiers_fall_back_to_the_larger_asn() {
        // RFC 6286 §2.3.
        let same = id(10, 0, 0, 1);
        assert_eq!(
            resolve_collision(same, same, Asn(65002), Asn(65001)),
            Keep::Local
        );
        assert_eq!(
            resolve_collision(same, same, Asn(65001), Asn(65002)),
            Keep::Remote
        );
    }

    #[test]
    fn keep_matches_the_origin_of_the_connection() {
        assert!(Keep::Local.keeps(Origin::Local));
        assert!(!Keep::Local.keeps(Origin::Remote));
        assert!(Keep::Remote.keeps(Origin::Remote));
        assert!(!Keep::Remote.keeps(Origin::Local));
    }
}
