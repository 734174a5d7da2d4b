//! The small case the unit tests share: plan 10.0.0.0/8 with 8 host, 4
//! tenant and 4 segment bits; blue (1) with web (1) and db (2), red (2)
//! with web (1); blue/web opens to blue/db, all of red opens to blue/web;
//! two endpoints on host 1.

use std::net::Ipv4Addr;

use super::{InterfaceName, IsolationEndpoint, IsolationInput};
use crate::config::{EndpointGroup, IsolationPolicy, Outside, Segment, Tenant};
use crate::plan::Plan;

pub(super) struct Small {
    pub plan: Plan,
    pub tenants: Vec<Tenant>,
    pub policies: Vec<IsolationPolicy>,
    pub endpoints: Vec<IsolationEndpoint>,
}

impl Small {
    pub fn new() -> Small {
        let plan = Plan::new("10.0.0.0/8".parse().unwrap(), 8, 4, 4).unwrap();
        let t = |id| plan.tenant_id(id).unwrap();
        let s = |id| plan.segment_id(id).unwrap();
        let segment = |name: &str, id| Segment {
            name: name.to_owned(),
            id: s(id),
        };
        let tenants = vec![
            Tenant {
                name: "blue".to_owned(),
                id: t(1),
                segments: vec![segment("web", 1), segment("db", 2)],
            },
            Tenant {
                name: "red".to_owned(),
                id: t(2),
                segments: vec![segment("web", 1)],
            },
        ];
        let policies = vec![
            IsolationPolicy {
                from: EndpointGroup::Segment(t(1), s(1)),
                to: EndpointGroup::Segment(t(1), s(2)),
            },
            IsolationPolicy {
                from: EndpointGroup::Tenant(t(2)),
                to: EndpointGroup::Segment(t(1), s(1)),
            },
        ];
        let endpoints = vec![
            endpoint(Ipv4Addr::new(10, 1, 18, 6), "vnet0"),
            endpoint(Ipv4Addr::new(10, 1, 17, 5), "rb0a011105"),
        ];
        Small {
            plan,
            tenants,
            policies,
            endpoints,
        }
    }

    pub fn input(&self, outside: Outside) -> IsolationInput<'_> {
        IsolationInput {
            plan: &self.plan,
            tenants: &self.tenants,
            policies: &self.policies,
            outside,
            endpoints: &self.endpoints,
        }
    }
}

pub(super) fn endpoint(address: Ipv4Addr, interface: &str) -> IsolationEndpoint {
    IsolationEndpoint {
        address,
        interface: InterfaceName::new(interface).unwrap(),
    }
}
