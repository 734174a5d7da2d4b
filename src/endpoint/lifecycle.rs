//! Adding and removing endpoints: the store and the wiring, in the order
//! that keeps them consistent.
//!
//! An add checks its target first, so bad input is refused before anything
//! changes; then the address is persisted, then the endpoint is wired. A
//! wiring failure gives the address back. A crash between persisting and
//! wiring leaves an endpoint in the state that is not wired yet, which the
//! reconciler wires: the state leads, the kernel follows.
//!
//! A removal unwires first and forgets second, so an error leaves the
//! endpoint listed and the removal can simply be retried.

use crate::kernel::IfIndex;

use super::{AddRequest, Endpoint, EndpointError, Store, Wiring};

/// An endpoint after a successful add.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Added {
    pub endpoint: Endpoint,
    /// The host-side interface: the /32 route's target.
    pub ifindex: IfIndex,
    /// `false` when the name existed and the add was a retry.
    pub created: bool,
}

/// Adds one endpoint: checked, persisted, wired. A retried add (same name,
/// tenant, segment and target) wires the existing endpoint again.
pub async fn add(
    store: &mut Store,
    wiring: &Wiring,
    request: &AddRequest,
) -> Result<Added, EndpointError> {
    let mut results = add_all(
        store,
        wiring,
        std::slice::from_ref(request),
        async |_, _| Ok(()),
    )
    .await?;
    results.pop().unwrap_or(Err(EndpointError::WiringStopped))
}

/// [`add`] for many requests: one write to disk for all of them, taps
/// wired in as few requests as fit. `before_wiring` runs with the
/// endpoints about to be wired, once they are persisted and before any link
/// comes up (the daemon puts them in its isolation table there); if it
/// fails, nothing is wired. One
/// result per request, in order; the outer error (a failed write, a stopped
/// wiring thread, a failed `before_wiring`) means no endpoint of the batch
/// was added.
pub async fn add_all(
    store: &mut Store,
    wiring: &Wiring,
    requests: &[AddRequest],
    before_wiring: impl AsyncFnOnce(&Store, &[Endpoint]) -> Result<(), EndpointError>,
) -> Result<Vec<Result<Added, EndpointError>>, EndpointError> {
    let targets = requests.iter().map(|r| r.target.clone()).collect();
    let checks = wiring.check_all(targets).await?;
    let mut results: Vec<Option<Result<Added, EndpointError>>> =
        requests.iter().map(|_| None).collect();
    let mut checked = Vec::new();
    let mut positions = Vec::new();
    for (i, (request, check)) in requests.iter().zip(checks).enumerate() {
        match check {
            Ok(()) => {
                checked.push(request.clone());
                positions.push(i);
            }
            Err(e) => results[i] = Some(Err(e)),
        }
    }
    let allocated = store.allocate_all(&checked)?;
    let mut to_wire = Vec::new();
    let mut wired_positions = Vec::new();
    for (&i, allocation) in positions.iter().zip(allocated) {
        match allocation {
            Ok(placed) => {
                to_wire.push(placed);
                wired_positions.push(i);
            }
            Err(e) => results[i] = Some(Err(e)),
        }
    }
    let endpoints: Vec<Endpoint> = to_wire.iter().map(|(e, _)| e.clone()).collect();
    let prepared = if to_wire.is_empty() {
        Ok(())
    } else {
        before_wiring(store, &endpoints).await
    };
    let wired = match prepared {
        Ok(()) => wiring.wire_all(endpoints).await,
        Err(e) => Err(e),
    };
    let wired = match wired {
        Ok(wired) => wired,
        Err(e) => {
            let created: Vec<Endpoint> = to_wire
                .into_iter()
                .filter_map(|(e, created)| created.then_some(e))
                .collect();
            give_back(store, wiring, &created).await;
            return Err(e);
        }
    };
    let mut failed = Vec::new();
    for ((&i, (endpoint, created)), outcome) in wired_positions.iter().zip(to_wire).zip(wired) {
        results[i] = Some(match outcome {
            Ok(ifindex) => Ok(Added {
                endpoint,
                ifindex,
                created,
            }),
            Err(e) => {
                if created {
                    failed.push(endpoint);
                }
                Err(e)
            }
        });
    }
    give_back(store, wiring, &failed).await;
    Ok(results
        .into_iter()
        .map(|r| r.unwrap_or(Err(EndpointError::WiringStopped)))
        .collect())
}

/// Removes the endpoint `name`: unwired, then forgotten. `None` if there
/// is no such endpoint.
pub async fn remove(
    store: &mut Store,
    wiring: &Wiring,
    name: &str,
) -> Result<Option<Endpoint>, EndpointError> {
    let Some(endpoint) = store.get(name).cloned() else {
        return Ok(None);
    };
    wiring.unwire(&endpoint).await?;
    store.release(name)
}

/// Undoes new endpoints whose wiring failed. Best effort: what remains is
/// an endpoint in the state that the reconciler wires, or a link of ours it
/// removes.
async fn give_back(store: &mut Store, wiring: &Wiring, endpoints: &[Endpoint]) {
    if endpoints.is_empty() {
        return;
    }
    for endpoint in endpoints {
        if let Err(e) = wiring.unwire(endpoint).await {
            tracing::warn!(endpoint = %endpoint.name, "after a failed add: {e}");
        }
    }
    let names: Vec<&str> = endpoints.iter().map(|e| e.name.as_str()).collect();
    if let Err(e) = store.release_all(&names) {
        tracing::warn!("after a failed add, the addresses stay allocated: {e}");
    }
}
