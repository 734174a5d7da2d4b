//! The boundary between deciding and doing: a routing table that can be
//! read (`dump`) and changed (`apply`). The netlink implementation is here;
//! tests of the logic above it use an in-memory one.

use std::future::Future;

use rtnetlink::packet_route::{AddressFamily, RouteNetlinkMessage};

use super::error::{Action, DumpError, Errno, Failure, RouteError, RouteFailure};
use super::message::{change_request, dump_request, present_route};
use super::netlink::Netlink;
use super::plan::{PresentRoute, RouteChange};

pub trait RouteTable {
    /// Every IPv4 and IPv6 route of the main table, whoever installed it.
    fn dump(&self) -> impl Future<Output = Result<Vec<PresentRoute>, DumpError>> + Send;

    /// Makes the changes, in order; one result per change.
    fn apply(
        &self,
        changes: &[RouteChange],
    ) -> impl Future<Output = Vec<Result<(), RouteError>>> + Send;
}

impl RouteTable for Netlink {
    async fn dump(&self) -> Result<Vec<PresentRoute>, DumpError> {
        let mut routes = Vec::new();
        // One dump per family: an AF_UNSPEC dump would also return
        // multicast routing tables the daemon has no business with.
        for family in [AddressFamily::Inet, AddressFamily::Inet6] {
            let messages = self
                .dump_objects(dump_request(family))
                .await
                .map_err(DumpError)?;
            routes.extend(messages.iter().filter_map(|m| match m {
                RouteNetlinkMessage::NewRoute(route) => present_route(route),
                _ => None,
            }));
        }
        Ok(routes)
    }

    async fn apply(&self, changes: &[RouteChange]) -> Vec<Result<(), RouteError>> {
        let requests = changes.iter().map(change_request).collect();
        let results = self.batch(requests).await;
        changes
            .iter()
            .zip(results)
            .map(|(change, result)| result.or_else(|failure| outcome(change, failure)))
            .collect()
    }
}

fn outcome(change: &RouteChange, failure: Failure) -> Result<(), RouteError> {
    // Deleting what is already gone reaches the wanted state.
    if matches!(change, RouteChange::Delete(_)) && failure.errno() == Some(Errno::ESRCH) {
        return Ok(());
    }
    Err(RouteError {
        action: Action::of(change),
        prefix: change.prefix(),
        cause: RouteFailure::Netlink(failure),
    })
}
