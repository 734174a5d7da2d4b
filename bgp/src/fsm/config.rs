//! What one neighbor is configured to be, and the OPEN that follows from it.

use std::fmt;
use std::net::Ipv4Addr;
use std::time::Duration;

use crate::asn::Asn;
use crate::family::{Afi, Family};
use crate::router_id::RouterId;
use crate::wire::capability::{
    Capability, ExtendedNextHop, GracefulRestart, GracefulRestartFamily,
};
use crate::wire::open::Open;

/// The configuration of one session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerConfig {
    pub local_asn: Asn,
    pub remote_asn: Asn,
    pub local_router_id: RouterId,
    /// Seconds proposed in our OPEN: 0 (no KEEPALIVEs, no hold timer) or at
    /// least 3 (RFC 4271 §4.2). RFC 4271 §10 suggests 90; datacenter fabrics
    /// use 9 or less to notice a dead leaf fast.
    pub hold_time: u16,
    /// RFC 4271 §10 suggests 120 seconds.
    pub connect_retry_time: Duration,
    /// Never connect out; wait for the peer (RFC 4271 §8.1.1
    /// PassiveTcpEstablishment).
    pub passive: bool,
    pub capabilities: LocalCapabilities,
    /// The IdleHold after the first error; it doubles with each consecutive
    /// error (RFC 4271 §8.1.1 DampPeerOscillations).
    pub idle_hold_time: Duration,
    /// The IdleHold never grows past this. A session Established this long
    /// has its error count forgiven.
    pub idle_hold_max: Duration,
    /// Seed of the timer jitter (RFC 4271 §10). Give each session its own
    /// (its address, say), so that sessions do not retry in lockstep.
    pub jitter_seed: u64,
}

/// The capabilities we advertise (RFC 5492).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LocalCapabilities {
    /// RFC 4760 §8: one Multiprotocol capability each. Empty advertises none,
    /// which implies IPv4 unicast only.
    pub families: Vec<Family>,
    /// RFC 2918.
    pub route_refresh: bool,
    /// RFC 7313.
    pub enhanced_route_refresh: bool,
    /// RFC 6793. Required when the local ASN needs 4 octets.
    pub four_octet_as: bool,
    /// RFC 4724.
    pub graceful_restart: Option<GracefulRestartConfig>,
    /// RFC 8950: IPv4 unicast routes may carry an IPv6 next hop.
    pub extended_next_hop: bool,
    /// RFC 8654.
    pub extended_message: bool,
}

/// What we announce in the Graceful Restart capability (RFC 4724 §3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GracefulRestartConfig {
    /// Seconds the peer should keep our routes while we restart; 12 bits.
    pub restart_time: u16,
    /// We have just restarted (the R bit): the peer should not wait for our
    /// routes before sending its own.
    pub restarting: bool,
    /// Our forwarding state survived the restart, for every family we
    /// advertise (the F bit).
    pub forwarding_preserved: bool,
}

/// A configuration that cannot make a working session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConfigError {
    /// RFC 4271 §4.2: a hold time is 0 or at least 3 seconds.
    HoldTimeTooShort(u16),
    /// RFC 7607 §2: AS 0 is never a valid AS of a session.
    AsnZero,
    /// RFC 6286 §2.1: the BGP Identifier is a non-zero 4-octet value.
    RouterIdZero,
    /// RFC 6793 §4.1: a 4-octet local ASN can only be told to the peer in the
    /// Four-Octet AS capability.
    FourOctetAsnWithoutCapability(Asn),
    /// RFC 4724 §3: the restart time has 12 bits.
    RestartTimeTooLong(u16),
    /// The outgoing connection would be retried without pause.
    ConnectRetryZero,
    /// The IdleHold cap is smaller than the IdleHold it caps.
    IdleHoldMaxBelowIdleHold,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::HoldTimeTooShort(s) => write!(
                f,
                "hold_time {s} is not allowed: use 0 (no keepalives) or at least 3 seconds"
            ),
            ConfigError::AsnZero => {
                f.write_str("AS 0 cannot be used for a session: set a real ASN")
            }
            ConfigError::RouterIdZero => {
                f.write_str("router_id 0.0.0.0 is not a valid BGP Identifier: set a non-zero one")
            }
            ConfigError::FourOctetAsnWithoutCapability(asn) => write!(
                f,
                "local AS {asn} needs the four-octet AS capability: enable it"
            ),
            ConfigError::RestartTimeTooLong(s) => write!(
                f,
                "graceful restart time {s} exceeds the 4095 seconds the capability can carry"
            ),
            ConfigError::ConnectRetryZero => {
                f.write_str("connect retry time must be at least one second")
            }
            ConfigError::IdleHoldMaxBelowIdleHold => {
                f.write_str("idle_hold_max must be at least idle_hold_time")
            }
        }
    }
}

impl std::error::Error for ConfigError {}

impl PeerConfig {
    /// RFC 4271 §10's suggested hold time.
    pub const DEFAULT_HOLD_TIME: u16 = 90;
    /// RFC 4271 §10's suggested ConnectRetryTime.
    pub const DEFAULT_CONNECT_RETRY: Duration = Duration::from_secs(120);
    /// A host retries its leaf a second after a first error, and at least
    /// once a minute however long the errors go on.
    pub const DEFAULT_IDLE_HOLD: Duration = Duration::from_secs(1);
    pub const DEFAULT_IDLE_HOLD_MAX: Duration = Duration::from_secs(60);

    /// A session with the defaults: active, hold time 90, IPv4 and IPv6
    /// unicast with route refresh, four-octet AS and extended messages.
    pub fn new(local_asn: Asn, remote_asn: Asn, local_router_id: RouterId) -> PeerConfig {
        PeerConfig {
            local_asn,
            remote_asn,
            local_router_id,
            hold_time: PeerConfig::DEFAULT_HOLD_TIME,
            connect_retry_time: PeerConfig::DEFAULT_CONNECT_RETRY,
            passive: false,
            capabilities: LocalCapabilities::default(),
            idle_hold_time: PeerConfig::DEFAULT_IDLE_HOLD,
            idle_hold_max: PeerConfig::DEFAULT_IDLE_HOLD_MAX,
            jitter_seed: 0,
        }
    }

    /// Whether both ends are in one AS (RFC 4271 §5.1.3 "internal peer").
    pub fn is_internal(&self) -> bool {
        self.local_asn == self.remote_asn
    }

    /// Check what the session relies on. Call it before `Session::new`: an
    /// invalid configuration makes OPENs the peer refuses.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if matches!(self.hold_time, 1 | 2) {
            return Err(ConfigError::HoldTimeTooShort(self.hold_time));
        }
        if self.local_asn.0 == 0 || self.remote_asn.0 == 0 {
            return Err(ConfigError::AsnZero);
        }
        if self.local_router_id.0 == Ipv4Addr::UNSPECIFIED {
            return Err(ConfigError::RouterIdZero);
        }
        if self.local_asn.is_four_octet() && !self.capabilities.four_octet_as {
            return Err(ConfigError::FourOctetAsnWithoutCapability(self.local_asn));
        }
        if let Some(gr) = self.capabilities.graceful_restart
            && gr.restart_time > GracefulRestart::MAX_RESTART_TIME
        {
            return Err(ConfigError::RestartTimeTooLong(gr.restart_time));
        }
        if self.connect_retry_time < Duration::from_secs(1) {
            return Err(ConfigError::ConnectRetryZero);
        }
        if self.idle_hold_max < self.idle_hold_time {
            return Err(ConfigError::IdleHoldMaxBelowIdleHold);
        }
        Ok(())
    }

    /// The OPEN we send (RFC 4271 §4.2), with our capabilities in one
    /// Capabilities parameter (RFC 5492 §4).
    pub fn open(&self) -> Open {
        let caps = self.capabilities.to_wire(self.local_asn);
        let no_caps = caps.is_empty();
        // RFC 6793 §4.1: AS_TRANS in My Autonomous System for a 4-octet ASN.
        let mut open = Open::new(self.local_asn, self.hold_time, self.local_router_id, caps);
        if no_caps {
            // An empty Capabilities parameter says nothing: leave it out.
            open.params.clear();
        }
        open
    }
}

impl Default for LocalCapabilities {
    fn default() -> LocalCapabilities {
        LocalCapabilities {
            families: vec![Family::IPV4_UNICAST, Family::IPV6_UNICAST],
            route_refresh: true,
            enhanced_route_refresh: true,
            four_octet_as: true,
            graceful_restart: None,
            extended_next_hop: false,
            extended_message: true,
        }
    }
}

/// The one Extended Next Hop tuple we use: IPv4 unicast NLRI over an IPv6
/// next hop (RFC 8950 §3; SAFI 1 on 16 bits).
pub(crate) const IPV4_OVER_IPV6: ExtendedNextHop = ExtendedNextHop {
    nlri_afi: Afi::IPV4,
    nlri_safi: 1,
    next_hop_afi: Afi::IPV6,
};

impl LocalCapabilities {
    fn to_wire(&self, local_asn: Asn) -> Vec<Capability> {
        let mut caps: Vec<Capability> = self
            .families
            .iter()
            .map(|&family| Capability::Multiprotocol {
                family,
                reserved: 0,
            })
            .collect();
        if self.route_refresh {
            caps.push(Capability::RouteRefresh);
        }
        if self.enhanced_route_refresh {
            caps.push(Capability::EnhancedRouteRefresh);
        }
        if self.four_octet_as {
            caps.push(Capability::FourOctetAs(local_asn));
        }
        if let Some(gr) = self.graceful_restart {
            caps.push(Capability::GracefulRestart(gr.to_wire(&self.families)));
        }
        if self.extended_next_hop {
            caps.push(Capability::ExtendedNextHop(vec![IPV4_OVER_IPV6]));
        }
        if self.extended_message {
            caps.push(Capability::ExtendedMessage);
        }
        caps
    }
}

impl GracefulRestartConfig {
    fn to_wire(self, families: &[Family]) -> GracefulRestart {
        let family_flags = if self.forwarding_preserved {
            GracefulRestartFamily::FORWARDING_PRESERVED
        } else {
            0
        };
        GracefulRestart {
            flags: if self.restarting {
                GracefulRestart::RESTARTING
            } else {
                0
            },
            restart_time: self.restart_time & GracefulRestart::MAX_RESTART_TIME,
            families: families
                .iter()
                .map(|&family| GracefulRestartFamily {
                    family,
                    flags: family_flags,
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::open::OptionalParameter;

    fn config() -> PeerConfig {
        PeerConfig::new(
            Asn(65001),
            Asn(65000),
            RouterId(Ipv4Addr::new(192, 168, 10, 2)),
        )
    }

    #[test]
    fn defaults_validate() {
        assert_eq!(config().validate(), Ok(()));
    }

    #[test]
    fn hold_time_one_or_two_is_refused() {
        // RFC 4271 §4.2: 0 or at least 3.
        for (hold, ok) in [(0, true), (1, false), (2, false), (3, true)] {
            let c = PeerConfig {
                hold_time: hold,
                ..config()
            };
            assert_eq!(c.validate().is_ok(), ok, "hold {hold}");
        }
    }

    #[test]
    fn invalid_identities_are_refused() {
        // RFC 7607 §2, RFC 6286 §2.1, RFC 6793 §4.1.
        let c = PeerConfig {
            remote_asn: Asn(0),
            ..config()
        };
        assert_eq!(c.validate(), Err(ConfigError::AsnZero));
        let c = PeerConfig {
            local_router_id: RouterId(Ipv4Addr::UNSPECIFIED),
            ..config()
        };
        assert_eq!(c.validate(), Err(ConfigError::RouterIdZero));
        let mut c = PeerConfig {
            local_asn: Asn(4_200_000_000),
            ..config()
        };
        c.capabilities.four_octet_as = false;
        assert_eq!(
            c.validate(),
            Err(ConfigError::FourOctetAsnWithoutCapability(Asn(
                4_200_000_000
            )))
        );
    }

    #[test]
    fn timers_that_cannot_work_are_refused() {
        let mut c = config();
        c.capabilities.graceful_restart = Some(GracefulRestartConfig {
            restart_time: 4096,
            restarting: false,
            forwarding_preserved: false,
        });
        assert_eq!(c.validate(), Err(ConfigError::RestartTimeTooLong(4096)));
        let c = PeerConfig {
            connect_retry_time: Duration::ZERO,
            ..config()
        };
        assert_eq!(c.validate(), Err(ConfigError::ConnectRetryZero));
        let c = PeerConfig {
            idle_hold_time: Duration::from_secs(2),
            idle_hold_max: Duration::from_secs(1),
            ..config()
        };
        assert_eq!(c.validate(), Err(ConfigError::IdleHoldMaxBelowIdleHold));
    }

    #[test]
    fn open_carries_as_trans_and_the_real_asn_in_the_capability() {
        // RFC 6793 §4.1: AS_TRANS in My Autonomous System, real ASN in the capability.
        let c = PeerConfig {
            local_asn: Asn(4_200_000_001),
            ..config()
        };
        let open = c.open();
        assert_eq!(open.version, 4);
        assert_eq!(open.my_as, 23456);
        assert_eq!(open.hold_time, 90);
        let Some(OptionalParameter::Capabilities(caps)) = open.params.first() else {
            panic!("no capabilities in {open:?}");
        };
        assert!(caps.contains(&Capability::FourOctetAs(Asn(4_200_000_001))));
    }

    #[test]
    fn open_lists_every_configured_capability() {
        let mut c = config();
        c.capabilities.extended_next_hop = true;
        c.capabilities.graceful_restart = Some(GracefulRestartConfig {
            restart_time: 120,
            restarting: true,
            forwarding_preserved: true,
        });
        let open = c.open();
        let expected = vec![
            Capability::Multiprotocol {
                family: Family::IPV4_UNICAST,
                reserved: 0,
            },
            Capability::Multiprotocol {
                family: Family::IPV6_UNICAST,
                reserved: 0,
            },
            Capability::RouteRefresh,
            Capability::EnhancedRouteRefresh,
            Capability::FourOctetAs(Asn(65001)),
            Capability::GracefulRestart(GracefulRestart {
                flags: GracefulRestart::RESTARTING,
                restart_time: 120,
                families: vec![
                    GracefulRestartFamily {
                        family: Family::IPV4_UNICAST,
                        flags: GracefulRestartFamily::FORWARDING_PRESERVED,
                    },
                    GracefulRestartFamily {
                        family: Family::IPV6_UNICAST,
                        flags: GracefulRestartFamily::FORWARDING_PRESERVED,
                    },
                ],
            }),
            Capability::ExtendedNextHop(vec![IPV4_OVER_IPV6]),
            Capability::ExtendedMessage,
        ];
        assert_eq!(open.params, vec![OptionalParameter::Capabilities(expected)]);
    }

    #[test]
    fn no_capabilities_means_no_optional_parameter() {
        let mut c = config();
        c.capabilities = LocalCapabilities {
            families: Vec::new(),
            route_refresh: false,
            enhanced_route_refresh: false,
            four_octet_as: false,
            graceful_restart: None,
            extended_next_hop: false,
            extended_message: false,
        };
        assert!(c.open().params.is_empty());
    }
}
