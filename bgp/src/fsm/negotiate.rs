//! The checks of a received OPEN (RFC 4271 §6.2 and its updates) and what
//! the two OPENs agree on.

use std::net::Ipv4Addr;
use std::time::Duration;

use bytes::Bytes;

use crate::asn::Asn;
use crate::family::Family;
use crate::fsm::config::{IPV4_OVER_IPV6, PeerConfig};
use crate::router_id::RouterId;
use crate::wire::DecodeContext;
use crate::wire::capability::{CapabilityCode, GracefulRestart};
use crate::wire::notification::{ErrorCode, Notification, open_error};
use crate::wire::open::{Open, OptionalParameter};

/// What a session runs with once both OPENs are in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Negotiated {
    /// From the Four-Octet AS capability when present (RFC 6793 §4.1).
    pub peer_asn: Asn,
    pub peer_router_id: RouterId,
    /// The peer is in our AS (RFC 4271 §1.1 "internal peer").
    pub ibgp: bool,
    /// Seconds; the smaller of the two OPENs' (RFC 4271 §4.2). 0 means no
    /// KEEPALIVEs and no hold timer.
    pub hold_time: u16,
    /// A third of the hold time (RFC 4271 §4.4, §10), before jitter; `None`
    /// when the hold time is 0.
    pub keepalive_time: Option<Duration>,
    /// The families both sides announced (RFC 4760 §8); a side that
    /// announced none implies IPv4 unicast alone.
    pub families: Vec<Family>,
    /// RFC 6793 §4.1: AS numbers are 4 octets in AS_PATH and AGGREGATOR.
    pub four_octet_as: bool,
    /// RFC 2918: both sides announced route refresh.
    pub route_refresh: bool,
    /// RFC 7313: both sides announced enhanced route refresh.
    pub enhanced_route_refresh: bool,
    /// The peer's Graceful Restart capability as it announced it, when we
    /// announced ours too (RFC 4724 §3).
    pub graceful_restart: Option<GracefulRestart>,
    /// RFC 8950: both sides announced IPv4 unicast over an IPv6 next hop.
    pub extended_next_hop_ipv4: bool,
    /// RFC 8654: both sides announced extended messages.
    pub extended_message: bool,
}

impl Negotiated {
    /// How messages are read and written on this session from now on.
    pub fn decode_context(&self) -> DecodeContext {
        DecodeContext {
            four_octet_as: self.four_octet_as,
            extended_message: self.extended_message,
            extended_next_hop_ipv4: self.extended_next_hop_ipv4,
            ibgp: self.ibgp,
        }
    }

    /// The negotiated hold time, `None` when it is 0.
    pub fn hold_duration(&self) -> Option<Duration> {
        (self.hold_time != 0).then(|| Duration::from_secs(u64::from(self.hold_time)))
    }

    /// RFC 9687 §6: the greater of 8 minutes and twice the hold time, which
    /// is always more than the hold time (§4.4). `None` when the hold time is
    /// 0: RFC 9687 §4.3 runs no SendHold timer then.
    pub fn send_hold_duration(&self) -> Option<Duration> {
        self.hold_duration()
            .map(|hold| (hold * 2).max(Duration::from_secs(8 * 60)))
    }
}

fn open_error(subcode: u8, data: Bytes) -> Notification {
    Notification::new(ErrorCode::OPEN, subcode, data)
}

/// The peer's ASN, from the Four-Octet AS capability when it sent one.
fn peer_asn(open: &Open) -> Result<Asn, Notification> {
    let my_as = Asn(u32::from(open.my_as));
    match open.four_octet_as() {
        // RFC 6793 §4.1: the capability's ASN is used in lieu of My
        // Autonomous System, which must then be AS_TRANS or that same ASN.
        Some(asn) if my_as == Asn::TRANS || my_as == asn => Ok(asn),
        Some(_) => Err(open_error(open_error::BAD_PEER_AS, Bytes::new())),
        None => Ok(my_as),
    }
}

/// Check a received OPEN against the configuration (RFC 4271 §6.2) and
/// work out the session's parameters. The error is the NOTIFICATION to send.
pub fn negotiate(config: &PeerConfig, open: &Open) -> Result<Negotiated, Notification> {
    // RFC 4271 §6.2: data is the largest version we support below the
    // peer's, or our smallest: 4 either way.
    if open.version != Open::VERSION {
        let data = Bytes::from_static(&[0, Open::VERSION]);
        return Err(open_error(open_error::UNSUPPORTED_VERSION, data));
    }
    let peer_asn = peer_asn(open)?;
    // RFC 4271 §6.2: not the AS we expect; RFC 7607 §2: AS 0 never is.
    if peer_asn != config.remote_asn || peer_asn.0 == 0 {
        return Err(open_error(open_error::BAD_PEER_AS, Bytes::new()));
    }
    // RFC 4271 §6.2: a hold time of 1 or 2 seconds MUST be rejected.
    if matches!(open.hold_time, 1 | 2) {
        return Err(open_error(open_error::UNACCEPTABLE_HOLD_TIME, Bytes::new()));
    }
    // RFC 6286 §2.2: zero, or ours on an internal session.
    if open.router_id.0 == Ipv4Addr::UNSPECIFIED
        || (config.is_internal() && open.router_id == config.local_router_id)
    {
        return Err(open_error(open_error::BAD_BGP_IDENTIFIER, Bytes::new()));
    }
    // RFC 4271 §6.2; RFC 5492 §4 defines the only parameter we know.
    if open
        .params
        .iter()
        .any(|p| matches!(p, OptionalParameter::Unknown { .. }))
    {
        return Err(open_error(
            open_error::UNSUPPORTED_OPTIONAL_PARAMETER,
            Bytes::new(),
        ));
    }
    Ok(agree(config, open, peer_asn))
}

fn agree(config: &PeerConfig, open: &Open, peer_asn: Asn) -> Negotiated {
    let ours = &config.capabilities;
    // RFC 4271 §4.2: the smaller hold time of the two.
    let hold_time = config.hold_time.min(open.hold_time);
    Negotiated {
        peer_asn,
        peer_router_id: open.router_id,
        ibgp: config.is_internal(),
        hold_time,
        // RFC 4271 §4.4, §10: a third of the hold time.
        keepalive_time: (hold_time != 0).then(|| Duration::from_secs(u64::from(hold_time)) / 3),
        families: common_families(&ours.families, open),
        four_octet_as: ours.four_octet_as && open.has(CapabilityCode::FOUR_OCTET_AS),
        route_refresh: ours.route_refresh && open.has(CapabilityCode::ROUTE_REFRESH),
        enhanced_route_refresh: ours.enhanced_route_refresh
            && open.has(CapabilityCode::ENHANCED_ROUTE_REFRESH),
        graceful_restart: ours
            .graceful_restart
            .and_then(|_| open.graceful_restart().cloned()),
        extended_next_hop_ipv4: ours.extended_next_hop
            && open.extended_next_hops().any(|t| *t == IPV4_OVER_IPV6),
        extended_message: ours.extended_message && open.has(CapabilityCode::EXTENDED_MESSAGE),
    }
}

/// RFC 4760 §8: a family is exchanged when both sides announced it; a side
/// with no Multiprotocol capability at all speaks IPv4 unicast only.
fn common_families(ours: &[Family], open: &Open) -> Vec<Family> {
    let theirs: Vec<Family> = open.families().collect();
    let implied = [Family::IPV4_UNICAST];
    let ours = if ours.is_empty() { &implied[..] } else { ours };
    let theirs = if theirs.is_empty() {
        &implied[..]
    } else {
        &theirs[..]
    };
    let mut common: Vec<Family> = Vec::new();
    for f in ours {
        if theirs.contains(f) && !common.contains(f) {
            common.push(*f);
        }
    }
    common
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fsm::config::GracefulRestartConfig;
    use crate::wire::capability::{Capability, GracefulRestartFamily};

    fn config() -> PeerConfig {
        PeerConfig::new(Asn(65001), Asn(65000), RouterId(Ipv4Addr::new(10, 0, 0, 2)))
    }

    fn open(caps: Vec<Capability>) -> Open {
        Open {
            version: 4,
            my_as: 65000,
            hold_time: 9,
            router_id: RouterId(Ipv4Addr::new(10, 0, 0, 1)),
            params: vec![OptionalParameter::Capabilities(caps)],
        }
    }

    fn mp(family: Family) -> Capability {
        Capability::Multiprotocol {
            family,
            reserved: 0,
        }
    }

    #[test]
    fn everything_both_sides_announced_is_negotiated() {
        let mut c = config();
        c.capabilities.extended_next_hop = true;
        c.capabilities.graceful_restart = Some(GracefulRestartConfig {
            restart_time: 90,
            restarting: false,
            forwarding_preserved: false,
        });
        let peer_gr = GracefulRestart {
            flags: GracefulRestart::RESTARTING,
            restart_time: 120,
            families: vec![GracefulRestartFamily {
                family: Family::IPV4_UNICAST,
                flags: GracefulRestartFamily::FORWARDING_PRESERVED,
            }],
        };
        let o = open(vec![
            mp(Family::IPV6_UNICAST),
            mp(Family::IPV4_UNICAST),
            Capability::RouteRefresh,
            Capability::EnhancedRouteRefresh,
            Capability::FourOctetAs(Asn(65000)),
            Capability::GracefulRestart(peer_gr.clone()),
            Capability::ExtendedNextHop(vec![IPV4_OVER_IPV6]),
            Capability::ExtendedMessage,
        ]);
        let n = negotiate(&c, &o).expect("acceptable OPEN");
        assert_eq!(
            n,
            Negotiated {
                peer_asn: Asn(65000),
                peer_router_id: RouterId(Ipv4Addr::new(10, 0, 0, 1)),
                ibgp: false,
                hold_time: 9,
                keepalive_time: Some(Duration::from_secs(3)),
                families: vec![Family::IPV4_UNICAST, Family::IPV6_UNICAST],
                four_octet_as: true,
                route_refresh: true,
                enhanced_route_refresh: true,
                graceful_restart: Some(peer_gr),
                extended_next_hop_ipv4: true,
                extended_message: true,
            }
        );
        assert_eq!(
            n.decode_context(),
            DecodeContext {
                four_octet_as: true,
                extended_message: true,
                extended_next_hop_ipv4: true,
                ibgp: false,
            }
        );
    }

    #[test]
    fn what_only_one_side_announced_is_not_negotiated() {
        // RFC 5492 §3: a capability is used only when both sides announce it.
        let o = open(vec![mp(Family::IPV4_UNICAST)]);
        let n = negotiate(&config(), &o).expect("acceptable OPEN");
        assert_eq!(n.families, vec![Family::IPV4_UNICAST]);
        assert!(!n.four_octet_as && !n.route_refresh && !n.enhanced_route_refresh);
        assert!(!n.extended_message && !n.extended_next_hop_ipv4);
        assert_eq!(n.decode_context(), DecodeContext::default());

        let mut c = config();
        c.capabilities.extended_message = false;
        c.capabilities.route_refresh = false;
        let o = open(vec![Capability::ExtendedMessage, Capability::RouteRefresh]);
        let n = negotiate(&c, &o).expect("acceptable OPEN");
        assert!(!n.extended_message && !n.route_refresh);
    }

    #[test]
    fn graceful_restart_is_reported_only_when_we_announced_it_too() {
        let gr = GracefulRestart {
            flags: 0,
            restart_time: 120,
            families: Vec::new(),
        };
        let o = open(vec![Capability::GracefulRestart(gr)]);
        assert_eq!(
            negotiate(&config(), &o).map(|n| n.graceful_restart),
            Ok(None)
        );
    }

    #[test]
    fn no_multiprotocol_capability_implies_ipv4_unicast() {
        // RFC 4760 §8: a speaker without the capability speaks IPv4 unicast.
        let o = open(vec![Capability::RouteRefresh]);
        let n = negotiate(&config(), &o).expect("acceptable OPEN");
        assert_eq!(n.families, vec![Family::IPV4_UNICAST]);
        // Peer announces only IPv6: IPv4 is not implied any more.
        let o = open(vec![mp(Family::IPV6_UNICAST)]);
        let n = negotiate(&config(), &o).expect("acceptable OPEN");
        assert_eq!(n.families, vec![Family::IPV6_UNICAST]);
        // Neither side announces a family.
        let mut c = config();
        c.capabilities.families.clear();
        let n = negotiate(&c, &open(Vec::new())).expect("acceptable OPEN");
        assert_eq!(n.families, vec![Family::IPV4_UNICAST]);
        // We announce none, the peer announces IPv6 only: nothing in common.
        let n = negotiate(&c, &open(vec![mp(Family::IPV6_UNICAST)])).expect("acceptable");
        assert!(n.families.is_empty());
    }

    #[test]
    fn hold_time_is_the_smaller_and_zero_disables_keepalives() {
        // RFC 4271 §4.2: the smaller of the two; 0 means no KEEPALIVEs.
        let mut o = open(Vec::new());
        o.hold_time = 240;
        let n = negotiate(&config(), &o).expect("acceptable OPEN");
        assert_eq!(n.hold_time, 90);
        assert_eq!(n.keepalive_time, Some(Duration::from_secs(30)));
        assert_eq!(n.send_hold_duration(), Some(Duration::from_secs(480)));
        o.hold_time = 0;
        let n = negotiate(&config(), &o).expect("acceptable OPEN");
        assert_eq!(n.hold_time, 0);
        assert_eq!(n.keepalive_time, None);
        assert_eq!(n.hold_duration(), None);
        assert_eq!(n.send_hold_duration(), None);
        o.hold_time = 10;
        let n = negotiate(&config(), &o).expect("acceptable OPEN");
        assert_eq!(n.keepalive_time, Some(Duration::from_secs(10) / 3));
    }

    #[test]
    fn send_hold_time_is_twice_a_long_hold_time() {
        // RFC 9687 §6: max(8 minutes, 2 x HoldTime).
        let mut c = config();
        c.hold_time = 600;
        let mut o = open(Vec::new());
        o.hold_time = 300;
        let n = negotiate(&c, &o).expect("acceptable OPEN");
        assert_eq!(n.send_hold_duration(), Some(Duration::from_secs(600)));
    }

    #[test]
    fn four_octet_asn_comes_from_the_capability() {
        // RFC 6793 §4.1: the capability's ASN replaces My Autonomous System.
        let c = PeerConfig {
            remote_asn: Asn(4_200_000_000),
            ..config()
        };
        let mut o = open(vec![Capability::FourOctetAs(Asn(4_200_000_000))]);
        o.my_as = 23456;
        assert_eq!(
            negotiate(&c, &o).map(|n| n.peer_asn),
            Ok(Asn(4_200_000_000))
        );
        // Without the capability, AS_TRANS is all we know: not the peer we expect.
        o.params.clear();
        assert_eq!(
            negotiate(&c, &o).map_err(|n| n.subcode),
            Err(open_error::BAD_PEER_AS)
        );
    }

    #[test]
    fn my_as_that_contradicts_the_capability_is_refused() {
        // RFC 6793 §4.1: My AS carries the 2-octet ASN or AS_TRANS, nothing else.
        let mut o = open(vec![Capability::FourOctetAs(Asn(65000))]);
        o.my_as = 64999;
        assert_eq!(
            negotiate(&config(), &o).map_err(|n| n.subcode),
            Err(open_error::BAD_PEER_AS)
        );
        // AS_TRANS with a 2-octet ASN in the capability is odd but consistent.
        o.my_as = 23456;
        assert_eq!(negotiate(&config(), &o).map(|n| n.peer_asn), Ok(Asn(65000)));
    }

    #[test]
    fn asn_zero_is_refused_even_if_configured() {
        // RFC 7607 §2: AS 0 in an OPEN is Bad Peer AS.
        let c = PeerConfig {
            remote_asn: Asn(0),
            ..config()
        };
        let mut o = open(Vec::new());
        o.my_as = 0;
        assert_eq!(
            negotiate(&c, &o).map_err(|n| n.subcode),
            Err(open_error::BAD_PEER_AS)
        );
    }

    #[test]
    fn an_internal_peer_is_decoded_as_one() {
        // RFC 7606 §7.5: LOCAL_PREF and friends are read from internal peers only.
        let c = PeerConfig {
            remote_asn: Asn(65001),
            ..config()
        };
        let mut o = open(Vec::new());
        o.my_as = 65001;
        let n = negotiate(&c, &o).expect("acceptable OPEN");
        assert!(n.ibgp && n.decode_context().ibgp);
        let n = negotiate(&config(), &open(Vec::new())).expect("acceptable OPEN");
        assert!(!n.ibgp && !n.decode_context().ibgp);
    }

    #[test]
    fn same_identifier_is_fine_between_different_ases() {
        // RFC 6286 §2.2 refuses our own identifier only from an internal peer.
        let mut o = open(Vec::new());
        o.router_id = config().local_router_id;
        assert!(negotiate(&config(), &o).is_ok());
    }
}
