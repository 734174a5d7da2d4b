//! The boundary between deciding and doing: a routing table that can be
//! read (`dump`) and changed (`apply`). The netlink implementation is here;
//! tests of the logic above it use an in-memory one.

use std::future::Future;

use super::error::{Action, DumpError, Errno, Failure, RouteError, RouteFailure};
use super::message::change_request;
use super::netlink::{Netlink, until_consistent};
use super::plan::{PresentRoute, RouteChange};

pub trait RouteTable {
    /// Every IPv4 and IPv6 route of the main table, whoever installed it,
    /// or only those tagged `protocol`, handed to `each` as read. Returns
    /// whether the dump was interrupted by a concurrent change (a route may
    /// then be missing or seen twice).
    fn dump_each(
        &self,
        protocol: Option<u8>,
        each: impl FnMut(PresentRoute) + Send,
    ) -> impl Future<Output = Result<bool, DumpError>> + Send;

    /// Makes the changes to routes tagged `protocol`, in order; one result
    /// per change.
    fn apply(
        &self,
        protocol: u8,
        changes: &[RouteChange],
    ) -> impl Future<Output = Vec<Result<(), RouteError>>> + Send;

    /// How many changes one `apply` should carry at most: callers with many
    /// build and apply them a batch at a time, never the whole table.
    fn batch_limit(&self) -> usize {
        1024
    }

    /// [`RouteTable::dump_each`] collected, read again if interrupted.
    fn dump(
        &self,
        protocol: Option<u8>,
    ) -> impl Future<Output = Result<Vec<PresentRoute>, DumpError>> + Send
    where
        Self: Sync,
    {
        until_consistent(move || async move {
            let mut routes = Vec::new();
            let interrupted = self.dump_each(protocol, |r| routes.push(r)).await?;
            Ok((routes, interrupted))
        })
    }
}

impl RouteTable for Netlink {
    fn batch_limit(&self) -> usize {
        Netlink::batch_limit(self)
    }

    async fn dump_each(
        &self,
        protocol: Option<u8>,
        each: impl FnMut(PresentRoute) + Send,
    ) -> Result<bool, DumpError> {
        self.dump_routes(protocol, each).await.map_err(DumpError)
    }

    async fn apply(&self, protocol: u8, changes: &[RouteChange]) -> Vec<Result<(), RouteError>> {
        let requests = changes.iter().map(|c| change_request(c, protocol));
        let results = self.batch(requests);
        // The batch never waited (the kernel answers while it is sent), and
        // a caller writing a full table does so a batch at a time: the
        // other tasks (sessions' keepalives) get their turn between two.
        tokio::task::yield_now().await;
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
