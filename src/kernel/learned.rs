//! Routes learned over BGP, in the kernel: tagged
//! [`RTPROT_ROMANA_LEARNED`], written by the RIB task alone. Their receipt
//! is the RIB's `installed` flag, so nothing here keeps a copy per prefix: a
//! leaked full table costs a RIB entry and the kernel's route, no more.

use super::RTPROT_ROMANA_LEARNED;
use super::error::{DumpError, RouteError};
use super::owned::ReconcileReport;
use super::plan::{PresentRoute, RouteChange};
use super::table::RouteTable;

/// Makes the changes to learned routes, in order; one result per change.
/// An add is exclusive, so another's route under the key stays (`EEXIST`);
/// a replace or delete is only asked for a route the RIB installed, and a
/// delete names the learned tag, so the kernel deletes nothing else.
pub async fn apply(
    table: &impl RouteTable,
    changes: &[RouteChange],
) -> Vec<Result<(), RouteError>> {
    table.apply(RTPROT_ROMANA_LEARNED, changes).await
}

/// Hands every learned route in the kernel to `each` (the kernel filters
/// the dump by tag); whether the dump was interrupted by a change.
pub async fn each(
    table: &impl RouteTable,
    each: impl FnMut(PresentRoute) + Send,
) -> Result<bool, DumpError> {
    table.dump_each(Some(RTPROT_ROMANA_LEARNED), each).await
}

/// Deletes every learned route in the kernel: at start those a previous run
/// left, however it ended; at stop those the sessions brought. A batch at a
/// time, never the whole table in requests.
pub async fn sweep(table: &(impl RouteTable + Sync)) -> Result<ReconcileReport, DumpError> {
    let present = table.dump(Some(RTPROT_ROMANA_LEARNED)).await?;
    let deletes: Vec<RouteChange> = present
        .into_iter()
        .map(|route| RouteChange::Delete(route.key))
        .collect();
    let mut report = ReconcileReport::default();
    for batch in deletes.chunks(table.batch_limit().max(1)) {
        for result in apply(table, batch).await {
            match result {
                Ok(()) => report.deleted += 1,
                Err(e) => report.errors.push(e),
            }
        }
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::RTPROT_ROMANA;
    use crate::kernel::owned::tests::{FakeTable, present, via};

    const STATIC: u8 = 4;

    #[tokio::test]
    async fn sweep_deletes_learned_routes_and_nothing_else() {
        let learned = via("0.0.0.0/0", &["192.0.2.1"]);
        let learned_other_metric = {
            let mut p = present(&via("10.9.0.0/16", &["192.0.2.1"]), RTPROT_ROMANA_LEARNED);
            p.key.metric = 20;
            p
        };
        let host = via("10.1.0.0/16", &["192.0.2.1"]);
        let foreign = via("10.2.0.0/16", &["198.51.100.1"]);
        let table = FakeTable::with(vec![
            present(&learned, RTPROT_ROMANA_LEARNED),
            learned_other_metric,
            present(&host, RTPROT_ROMANA),
            present(&foreign, STATIC),
        ]);
        let report = sweep(&table).await.expect("dump");
        assert_eq!(report.deleted, 2);
        assert!(report.errors.is_empty());
        assert_eq!(
            table.routes(),
            vec![present(&host, RTPROT_ROMANA), present(&foreign, STATIC)]
        );
        assert_eq!(
            *table.dumps.lock().expect("lock"),
            vec![Some(RTPROT_ROMANA_LEARNED)]
        );
    }

    #[tokio::test]
    async fn an_add_over_another_route_fails_and_leaves_it() {
        let foreign = via("10.2.0.0/16", &["198.51.100.1"]);
        let table = FakeTable::with(vec![present(&foreign, STATIC)]);
        let results = apply(
            &table,
            &[RouteChange::Add(via("10.2.0.0/16", &["192.0.2.1"]))],
        )
        .await;
        assert!(results[0].is_err());
        assert_eq!(table.routes(), vec![present(&foreign, STATIC)]);
    }
}
