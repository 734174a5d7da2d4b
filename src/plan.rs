//! The address plan, Romana's layout: one IPv4 CIDR whose remaining bits are
//! split, from the most significant down, into host, tenant, segment and
//! endpoint bits.
//!
//! ```text
//!   10.0.0.0/8, host_bits 8, tenant_bits 4, segment_bits 4:
//!
//!   00001010 . hhhhhhhh . tttt ssss . eeeeeeee
//!   cidr       host       tenant seg  endpoint
//!
//!   host 1                      10.1.0.0/16  (the aggregate it announces)
//!   host 1, tenant 1            10.1.16.0/20
//!   host 1, tenant 1, segment 2 10.1.18.0/24
//!   ... endpoint 5              10.1.18.5
//!   gateway of host 1           10.1.0.1     (tenant 0, segment 0, endpoint 1)
//! ```
//!
//! Reserved values, so that no endpoint ever gets an address with another
//! meaning:
//! - tenant id 0 and segment id 0 are never a tenant's or a segment's: the
//!   host's own addresses live at tenant 0 / segment 0, and its gateway is
//!   endpoint 1 there. Every host therefore needs at least one tenant bit and
//!   one segment bit.
//! - endpoint id 0 and the all-ones endpoint id of every segment are never an
//!   endpoint's: they are the network and broadcast addresses of the segment
//!   CIDR, and a VM on a tap configures its own interface (often with the
//!   segment's prefix length from DHCP), so it would treat them as such. A
//!   segment with `e` endpoint bits holds `2^e - 2` endpoints, hence at least
//!   two endpoint bits.
//! - every host index is usable, 0 included: the only addresses of the plan
//!   with a special meaning (its network and broadcast addresses) fall on the
//!   reserved tenant 0 of host 0 and the all-ones endpoint of the last host,
//!   which are never assigned.
//!
//! The plan is IPv4 only.

use std::fmt;
use std::net::Ipv4Addr;

use ipnet::Ipv4Net;

/// Endpoint bits a plan must leave: endpoint ids 0 and all-ones are reserved.
pub const MIN_ENDPOINT_BITS: u8 = 2;

macro_rules! plan_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        ///
        /// Only a [`Plan`] makes one, so it always fits the plan's bits.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(u32);

        impl $name {
            pub fn get(self) -> u32 {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

plan_id!(
    /// A host's index: which block of the plan is its own.
    HostIndex
);
plan_id!(
    /// A tenant's id, 1 or more (0 is the host's own).
    TenantId
);
plan_id!(
    /// A segment's id within its tenant, 1 or more (0 is the host's own).
    SegmentId
);
plan_id!(
    /// An endpoint's id within its segment: neither 0 nor all ones.
    EndpointId
);

/// Where an endpoint address sits in the plan.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct EndpointLocation {
    pub host: HostIndex,
    pub tenant: TenantId,
    pub segment: SegmentId,
    pub endpoint: EndpointId,
}

/// Why bits cannot form a plan.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PlanError {
    /// The CIDR has bits set after its prefix length.
    NotANetwork { cidr: Ipv4Net },
    /// No tenant bit: tenant 0 is reserved, so no tenant would fit.
    NoTenantBits,
    /// No segment bit: segment 0 is reserved, so no segment would fit.
    NoSegmentBits,
    /// Fewer than [`MIN_ENDPOINT_BITS`] bits are left for endpoints.
    TooFewEndpointBits {
        prefix_len: u8,
        host_bits: u8,
        tenant_bits: u8,
        segment_bits: u8,
    },
}

impl fmt::Display for PlanError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            PlanError::NotANetwork { cidr } => write!(
                f,
                "{cidr} has bits set after the prefix length; the network is {}",
                cidr.trunc()
            ),
            PlanError::NoTenantBits => f.write_str(
                "0 leaves no tenant id (tenant 0 is reserved for the host itself); at least 1 bit is needed",
            ),
            PlanError::NoSegmentBits => f.write_str(
                "0 leaves no segment id (segment 0 is reserved for the host itself); at least 1 bit is needed",
            ),
            PlanError::TooFewEndpointBits {
                prefix_len,
                host_bits,
                tenant_bits,
                segment_bits,
            } => {
                let used = u32::from(prefix_len)
                    + u32::from(host_bits)
                    + u32::from(tenant_bits)
                    + u32::from(segment_bits);
                let left = 32u32.saturating_sub(used);
                write!(
                    f,
                    "cidr /{prefix_len} + host_bits {host_bits} + tenant_bits {tenant_bits} \
                     + segment_bits {segment_bits} = {used} bits, which leaves {left} for endpoints; \
                     at least {MIN_ENDPOINT_BITS} are needed (endpoint ids 0 and all-ones are reserved), \
                     so the sum may be at most {}",
                    32 - MIN_ENDPOINT_BITS
                )
            }
        }
    }
}

impl std::error::Error for PlanError {}

/// A validated address plan. All lengths it computes are at most
/// `32 - MIN_ENDPOINT_BITS`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Plan {
    cidr: Ipv4Net,
    host_bits: u8,
    tenant_bits: u8,
    segment_bits: u8,
    endpoint_bits: u8,
}

impl Plan {
    pub fn new(
        cidr: Ipv4Net,
        host_bits: u8,
        tenant_bits: u8,
        segment_bits: u8,
    ) -> Result<Plan, PlanError> {
        if cidr.addr() != cidr.network() {
            return Err(PlanError::NotANetwork { cidr });
        }
        if tenant_bits == 0 {
            return Err(PlanError::NoTenantBits);
        }
        if segment_bits == 0 {
            return Err(PlanError::NoSegmentBits);
        }
        let used = u32::from(cidr.prefix_len())
            + u32::from(host_bits)
            + u32::from(tenant_bits)
            + u32::from(segment_bits);
        let endpoint_bits = 32u32
            .checked_sub(used)
            .filter(|&e| e >= u32::from(MIN_ENDPOINT_BITS))
            .and_then(|e| u8::try_from(e).ok())
            .ok_or(PlanError::TooFewEndpointBits {
                prefix_len: cidr.prefix_len(),
                host_bits,
                tenant_bits,
                segment_bits,
            })?;
        Ok(Plan {
            cidr,
            host_bits,
            tenant_bits,
            segment_bits,
            endpoint_bits,
        })
    }

    pub fn cidr(&self) -> Ipv4Net {
        self.cidr
    }

    pub fn host_bits(&self) -> u8 {
        self.host_bits
    }

    pub fn tenant_bits(&self) -> u8 {
        self.tenant_bits
    }

    pub fn segment_bits(&self) -> u8 {
        self.segment_bits
    }

    pub fn endpoint_bits(&self) -> u8 {
        self.endpoint_bits
    }

    pub fn max_host_index(&self) -> u32 {
        low_mask(self.host_bits)
    }

    pub fn max_tenant_id(&self) -> u32 {
        low_mask(self.tenant_bits)
    }

    pub fn max_segment_id(&self) -> u32 {
        low_mask(self.segment_bits)
    }

    /// The all-ones endpoint id is reserved, so this is one less.
    pub fn max_endpoint_id(&self) -> u32 {
        low_mask(self.endpoint_bits) - 1
    }

    /// `None` if `index` does not fit in `host_bits`.
    pub fn host_index(&self, index: u32) -> Option<HostIndex> {
        (index <= self.max_host_index()).then_some(HostIndex(index))
    }

    /// `None` for 0 (reserved) or an id that does not fit in `tenant_bits`.
    pub fn tenant_id(&self, id: u32) -> Option<TenantId> {
        (1..=self.max_tenant_id())
            .contains(&id)
            .then_some(TenantId(id))
    }

    /// `None` for 0 (reserved) or an id that does not fit in `segment_bits`.
    pub fn segment_id(&self, id: u32) -> Option<SegmentId> {
        (1..=self.max_segment_id())
            .contains(&id)
            .then_some(SegmentId(id))
    }

    /// `None` for 0 and all-ones (reserved) or an id that does not fit.
    pub fn endpoint_id(&self, id: u32) -> Option<EndpointId> {
        (1..=self.max_endpoint_id())
            .contains(&id)
            .then_some(EndpointId(id))
    }

    /// Every endpoint id a segment can hand out, lowest first.
    pub fn endpoint_ids(&self) -> impl DoubleEndedIterator<Item = EndpointId> + Clone + use<> {
        (1..=self.max_endpoint_id()).map(EndpointId)
    }

    fn segment_shift(&self) -> u8 {
        self.endpoint_bits
    }

    fn tenant_shift(&self) -> u8 {
        self.endpoint_bits + self.segment_bits
    }

    fn host_shift(&self) -> u8 {
        self.endpoint_bits + self.segment_bits + self.tenant_bits
    }

    fn host_bits_of(&self, host: HostIndex) -> u32 {
        u32::from(self.cidr.network()) | field(host.0, self.host_shift())
    }

    /// The host's aggregate: the one prefix it announces.
    pub fn host_block(&self, host: HostIndex) -> Ipv4Net {
        prefix(
            self.host_bits_of(host),
            self.cidr.prefix_len() + self.host_bits,
        )
    }

    /// The host's own address on every endpoint link: tenant 0, segment 0,
    /// endpoint 1 of its block. Tenant 0 is never a tenant's, so no endpoint
    /// has it.
    pub fn gateway(&self, host: HostIndex) -> Ipv4Addr {
        Ipv4Addr::from(self.host_bits_of(host) | 1)
    }

    pub fn tenant_cidr(&self, host: HostIndex, tenant: TenantId) -> Ipv4Net {
        prefix(
            self.host_bits_of(host) | field(tenant.0, self.tenant_shift()),
            self.cidr.prefix_len() + self.host_bits + self.tenant_bits,
        )
    }

    pub fn segment_cidr(&self, host: HostIndex, tenant: TenantId, segment: SegmentId) -> Ipv4Net {
        prefix(
            self.host_bits_of(host) | self.tenant_segment_bits(tenant, segment),
            32 - self.endpoint_bits,
        )
    }

    pub fn endpoint_address(
        &self,
        host: HostIndex,
        tenant: TenantId,
        segment: SegmentId,
        endpoint: EndpointId,
    ) -> Ipv4Addr {
        Ipv4Addr::from(
            self.host_bits_of(host) | self.tenant_segment_bits(tenant, segment) | endpoint.0,
        )
    }

    /// The inverse of [`Plan::endpoint_address`]: `None` for an address
    /// outside the plan or one no endpoint can have (a reserved id).
    pub fn decode(&self, address: Ipv4Addr) -> Option<EndpointLocation> {
        if !self.cidr.contains(&address) {
            return None;
        }
        let a = u32::from(address);
        let host = extract(a, self.host_shift(), self.host_bits);
        let tenant = extract(a, self.tenant_shift(), self.tenant_bits);
        let segment = extract(a, self.segment_shift(), self.segment_bits);
        let endpoint = extract(a, 0, self.endpoint_bits);
        Some(EndpointLocation {
            host: self.host_index(host)?,
            tenant: self.tenant_id(tenant)?,
            segment: self.segment_id(segment)?,
            endpoint: self.endpoint_id(endpoint)?,
        })
    }

    /// The mask that keeps only the tenant and segment bits of an address,
    /// for nftables' `ip saddr & MASK . ip daddr & MASK vmap { ... }`.
    pub fn tenant_segment_mask(&self) -> Ipv4Addr {
        Ipv4Addr::from(field(
            low_mask(self.tenant_bits + self.segment_bits),
            self.segment_shift(),
        ))
    }

    /// The mask that keeps only the tenant bits of an address.
    pub fn tenant_mask(&self) -> Ipv4Addr {
        Ipv4Addr::from(field(low_mask(self.tenant_bits), self.tenant_shift()))
    }

    /// What `address & tenant_segment_mask()` is for every address of this
    /// tenant and segment, on every host.
    pub fn tenant_segment_key(&self, tenant: TenantId, segment: SegmentId) -> Ipv4Addr {
        Ipv4Addr::from(self.tenant_segment_bits(tenant, segment))
    }

    /// What `address & tenant_mask()` is for every address of this tenant,
    /// on every host.
    pub fn tenant_key(&self, tenant: TenantId) -> Ipv4Addr {
        Ipv4Addr::from(field(tenant.0, self.tenant_shift()))
    }

    fn tenant_segment_bits(&self, tenant: TenantId, segment: SegmentId) -> u32 {
        field(tenant.0, self.tenant_shift()) | field(segment.0, self.segment_shift())
    }
}

/// The lowest `bits` bits set.
fn low_mask(bits: u8) -> u32 {
    u32::MAX
        .checked_shr(32u32.saturating_sub(u32::from(bits)))
        .unwrap_or(0)
}

/// An id moved to its place. Ids fit their width and every shift is below
/// 32, so no bit is lost.
fn field(value: u32, shift: u8) -> u32 {
    value.checked_shl(u32::from(shift)).unwrap_or(0)
}

fn extract(address: u32, shift: u8, bits: u8) -> u32 {
    address.checked_shr(u32::from(shift)).unwrap_or(0) & low_mask(bits)
}

fn prefix(address: u32, len: u8) -> Ipv4Net {
    // `Plan::new` keeps every length the plan computes at most 30.
    Ipv4Net::new(Ipv4Addr::from(address), len).expect("plan prefix lengths are at most 30")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn example() -> Plan {
        Plan::new("10.0.0.0/8".parse().unwrap(), 8, 4, 4).unwrap()
    }

    #[test]
    fn worked_example_from_the_spec() {
        let plan = example();
        let host = plan.host_index(1).unwrap();
        let tenant = plan.tenant_id(1).unwrap();
        let segment = plan.segment_id(2).unwrap();
        let endpoint = plan.endpoint_id(5).unwrap();
        assert_eq!(plan.endpoint_bits(), 8);
        assert_eq!(plan.host_block(host), "10.1.0.0/16".parse().unwrap());
        assert_eq!(
            plan.tenant_cidr(host, tenant),
            "10.1.16.0/20".parse().unwrap()
        );
        assert_eq!(
            plan.segment_cidr(host, tenant, segment),
            "10.1.18.0/24".parse().unwrap()
        );
        assert_eq!(
            plan.endpoint_address(host, tenant, segment, endpoint),
            Ipv4Addr::new(10, 1, 18, 5)
        );
        assert_eq!(plan.gateway(host), Ipv4Addr::new(10, 1, 0, 1));
    }

    #[test]
    fn masks_extract_tenant_and_segment_on_any_host() {
        let plan = example();
        assert_eq!(plan.tenant_segment_mask(), Ipv4Addr::new(0, 0, 255, 0));
        assert_eq!(plan.tenant_mask(), Ipv4Addr::new(0, 0, 240, 0));
        let (t, s) = (plan.tenant_id(3).unwrap(), plan.segment_id(9).unwrap());
        assert_eq!(plan.tenant_segment_key(t, s), Ipv4Addr::new(0, 0, 0x39, 0));
        assert_eq!(plan.tenant_key(t), Ipv4Addr::new(0, 0, 0x30, 0));
        let mask = u32::from(plan.tenant_segment_mask());
        for host in [0, 7, 255] {
            let h = plan.host_index(host).unwrap();
            let e = plan.endpoint_id(200).unwrap();
            let a = u32::from(plan.endpoint_address(h, t, s, e));
            assert_eq!(a & mask, u32::from(plan.tenant_segment_key(t, s)));
        }
    }

    #[test]
    fn reserved_ids_are_refused() {
        let plan = example();
        assert_eq!(plan.tenant_id(0), None);
        assert_eq!(plan.segment_id(0), None);
        assert_eq!(plan.endpoint_id(0), None);
        assert_eq!(plan.endpoint_id(255), None, "all-ones endpoint");
        assert_eq!(plan.endpoint_id(254).map(EndpointId::get), Some(254));
        assert_eq!(plan.tenant_id(16), None, "does not fit in 4 bits");
        assert_eq!(plan.tenant_id(15).map(TenantId::get), Some(15));
        assert_eq!(plan.host_index(256), None);
        assert_eq!(plan.host_index(0).map(HostIndex::get), Some(0));
        assert_eq!(plan.endpoint_ids().count(), 254);
        assert_eq!(
            plan.endpoint_ids().next_back().map(EndpointId::get),
            Some(254)
        );
    }

    #[test]
    fn gateway_and_reserved_addresses_decode_to_no_endpoint() {
        let plan = example();
        let host = plan.host_index(1).unwrap();
        assert_eq!(plan.decode(plan.gateway(host)), None);
        assert_eq!(plan.decode(Ipv4Addr::new(10, 1, 18, 0)), None);
        assert_eq!(plan.decode(Ipv4Addr::new(10, 1, 18, 255)), None);
        assert_eq!(
            plan.decode(Ipv4Addr::new(10, 1, 0x10, 5)),
            None,
            "segment 0"
        );
        assert_eq!(plan.decode(Ipv4Addr::new(11, 1, 18, 5)), None, "outside");
        let found = plan.decode(Ipv4Addr::new(10, 1, 18, 5)).unwrap();
        assert_eq!(
            (
                found.host.get(),
                found.tenant.get(),
                found.segment.get(),
                found.endpoint.get()
            ),
            (1, 1, 2, 5)
        );
    }

    #[test]
    fn plan_without_a_host_bit_is_one_host() {
        let plan = Plan::new("10.20.0.0/16".parse().unwrap(), 0, 2, 2).unwrap();
        let only = plan.host_index(0).unwrap();
        assert_eq!(plan.host_index(1), None);
        assert_eq!(plan.host_block(only), plan.cidr());
        assert_eq!(plan.gateway(only), Ipv4Addr::new(10, 20, 0, 1));
    }

    #[test]
    fn bits_must_leave_two_endpoint_bits() {
        let cidr: Ipv4Net = "10.0.0.0/8".parse().unwrap();
        assert!(Plan::new(cidr, 8, 8, 6).is_ok());
        let err = Plan::new(cidr, 8, 8, 7).unwrap_err();
        assert!(matches!(err, PlanError::TooFewEndpointBits { .. }));
        assert!(
            err.to_string()
                .contains("= 31 bits, which leaves 1 for endpoints")
        );
        // The sum is taken without overflow.
        assert!(Plan::new(cidr, 255, 255, 255).is_err());
        assert_eq!(Plan::new(cidr, 8, 0, 4), Err(PlanError::NoTenantBits));
        assert_eq!(Plan::new(cidr, 8, 4, 0), Err(PlanError::NoSegmentBits));
        assert!(matches!(
            Plan::new("10.1.0.0/8".parse().unwrap(), 8, 4, 4),
            Err(PlanError::NotANetwork { .. })
        ));
    }

    #[test]
    fn widest_plan_from_zero_prefix_computes_without_overflow() {
        let plan = Plan::new("0.0.0.0/0".parse().unwrap(), 10, 10, 10).unwrap();
        let h = plan.host_index(1023).unwrap();
        let t = plan.tenant_id(1023).unwrap();
        let s = plan.segment_id(1023).unwrap();
        let e = plan.endpoint_id(2).unwrap();
        assert_eq!(plan.host_block(h), "255.192.0.0/10".parse().unwrap());
        assert_eq!(
            plan.endpoint_address(h, t, s, e),
            Ipv4Addr::new(255, 255, 255, 254)
        );
        assert_eq!(plan.segment_cidr(h, t, s).prefix_len(), 30);
    }

    /// A valid plan and a valid location in it.
    fn plan_and_location() -> impl Strategy<Value = (Plan, [u32; 4])> {
        (0u8..=16, 0u8..=8, 1u8..=8, 1u8..=8)
            .prop_filter("two endpoint bits", |(p, h, t, s)| {
                u32::from(*p) + u32::from(*h) + u32::from(*t) + u32::from(*s) <= 30
            })
            .prop_flat_map(|(p, h, t, s)| {
                let cidr = Ipv4Net::new(Ipv4Addr::new(10, 0, 0, 0), p).unwrap().trunc();
                let plan = Plan::new(cidr, h, t, s).unwrap();
                let ids = [
                    0..=plan.max_host_index(),
                    1..=plan.max_tenant_id(),
                    1..=plan.max_segment_id(),
                    1..=plan.max_endpoint_id(),
                ];
                (Just(plan), ids)
            })
    }

    fn address(plan: &Plan, [h, t, s, e]: [u32; 4]) -> Ipv4Addr {
        plan.endpoint_address(
            plan.host_index(h).unwrap(),
            plan.tenant_id(t).unwrap(),
            plan.segment_id(s).unwrap(),
            plan.endpoint_id(e).unwrap(),
        )
    }

    proptest! {
        #[test]
        fn decode_inverts_endpoint_address((plan, ids) in plan_and_location()) {
            let a = address(&plan, ids);
            let found = plan.decode(a).unwrap();
            prop_assert_eq!(
                [found.host.get(), found.tenant.get(), found.segment.get(), found.endpoint.get()],
                ids
            );
            let host = found.host;
            prop_assert!(plan.host_block(host).contains(&a));
            prop_assert!(plan.segment_cidr(host, found.tenant, found.segment).contains(&a));
            prop_assert!(plan.tenant_cidr(host, found.tenant).contains(&a));
            prop_assert_ne!(a, plan.gateway(host));
        }

        #[test]
        fn distinct_locations_give_distinct_addresses(
            (plan, first) in plan_and_location(),
            other in any::<[u32; 4]>(),
        ) {
            // A second location in the same plan, from arbitrary numbers.
            let limits = [
                plan.max_host_index() + 1,
                plan.max_tenant_id(),
                plan.max_segment_id(),
                plan.max_endpoint_id(),
            ];
            let lowest = [0, 1, 1, 1];
            let mut second = [0; 4];
            for i in 0..4 {
                second[i] = lowest[i] + other[i] % limits[i];
            }
            prop_assert_eq!(first == second, address(&plan, first) == address(&plan, second));
        }
    }
}
