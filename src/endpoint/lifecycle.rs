//! Adding and removing endpoints: the store and the wiring, in the order
//! that keeps them consistent.
//!
//! An add checks its target first, so bad input is refused before anything
//! changes; then the address is persisted, then the endpoint is wired. A
//! wiring failure gives the address back. A crash between persisting and
//! wiring leaves an endpoint in the state that is not wired yet, which the
//! reconciler wires: the state leads, the kernel follows. The one thing
//! done before the address is on disk is a container's veth pair, made
//! and configured inside while the write is flushed but left down: a crash
//! then leaves a link of the daemon's name that no endpoint has, which the
//! reconciler deletes.
//!
//! A removal unwires first and forgets second, so an error leaves the
//! endpoint listed and the removal can simply be retried.

use crate::kernel::IfIndex;

use super::{AddRequest, Attachment, Endpoint, EndpointError, Store, Wiring};

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
        async |_| {},
    )
    .await?;
    results.pop().unwrap_or(Err(EndpointError::WiringStopped))
}

/// [`add`] for many requests: one write to disk for all of them, taps
/// wired in as few requests as fit. `before_wiring` runs with the
/// endpoints about to be wired, once they are persisted and before any
/// host end comes up (the daemon puts them in its isolation table there);
/// if it fails, nothing is brought up. `while_wiring` runs after it,
/// alongside the wiring, with the endpoints whose tap the check found up
/// and that tap's index (the daemon routes them meanwhile). Some
/// endpoints may fail to wire after these: a failed new endpoint is given
/// back, so the store no longer has it, and what the hooks did for it is
/// the caller's to undo. One result per request, in order; the outer error (a failed
/// write, a stopped wiring thread, a failed `before_wiring`) means no
/// endpoint of the batch was added.
pub async fn add_all(
    store: &mut Store,
    wiring: &Wiring,
    requests: &[AddRequest],
    before_wiring: impl AsyncFnOnce(&Store, &[Endpoint]) -> Result<(), EndpointError>,
    while_wiring: impl AsyncFnOnce(&[(Endpoint, IfIndex)]),
) -> Result<Vec<Result<Added, EndpointError>>, EndpointError> {
    let targets = requests.iter().map(|r| r.target.clone()).collect();
    let checks = wiring.check_all(targets).await?;
    let mut results: Vec<Option<Result<Added, EndpointError>>> =
        requests.iter().map(|_| None).collect();
    let mut tap_up = vec![None; requests.len()];
    let mut checked = Vec::new();
    let mut positions = Vec::new();
    for (i, (request, check)) in requests.iter().zip(checks).enumerate() {
        match check {
            Ok(found) => {
                tap_up[i] = found.tap_up;
                checked.push(request.clone());
                positions.push(i);
            }
            Err(e) => results[i] = Some(Err(e)),
        }
    }
    // A container's veth pair is made while the endpoint is written, and
    // while it is put in the isolation table: see [`Wiring::prepare`] for
    // why that may come first. Taps need nothing of it.
    let ((preparing, new_containers), allocated) = store.allocate_all(&checked, |decided| {
        let containers: Vec<&(Endpoint, bool)> = decided
            .iter()
            .filter_map(|r| r.as_ref().ok())
            .filter(|(e, _)| e.attachment != Attachment::Tap)
            .collect();
        let new: Vec<Endpoint> = containers
            .iter()
            .filter(|(_, created)| *created)
            .map(|(e, _)| e.clone())
            .collect();
        let endpoints = containers.iter().map(|(e, _)| e.clone()).collect();
        (wiring.prepare(endpoints), new)
    });
    let allocated = match allocated {
        Ok(allocated) => allocated,
        Err(e) => {
            // The store has forgotten them; what is left are the pairs made
            // meanwhile (the wiring thread deletes them after making them:
            // it takes its work in order).
            give_back(store, wiring, &new_containers).await;
            return Err(e);
        }
    };
    let mut placed = Vec::new();
    let mut placed_positions = Vec::new();
    for (&i, allocation) in positions.iter().zip(allocated) {
        match allocation {
            Ok(endpoint) => {
                placed.push(endpoint);
                placed_positions.push(i);
            }
            Err(e) => results[i] = Some(Err(e)),
        }
    }
    let endpoints: Vec<Endpoint> = placed.iter().map(|(e, _)| e.clone()).collect();
    let ready = if placed.is_empty() {
        Ok(())
    } else {
        before_wiring(store, &endpoints).await
    };
    let prepared = match (ready, preparing) {
        (Ok(()), Ok(pending)) => pending.wait().await,
        (Err(e), _) | (_, Err(e)) => Err(e),
    };
    let prepared = match prepared {
        Ok(prepared) => prepared,
        Err(e) => {
            let created: Vec<Endpoint> = placed
                .into_iter()
                .filter_map(|(e, created)| created.then_some(e))
                .collect();
            give_back(store, wiring, &created).await;
            return Err(e);
        }
    };
    let mut to_wire = Vec::new();
    let mut wired_positions = Vec::new();
    let mut failed = Vec::new();
    let mut prepared = prepared.into_iter();
    for (i, (endpoint, created)) in placed_positions.into_iter().zip(placed) {
        let preparation = if endpoint.attachment == Attachment::Tap {
            Ok(None)
        } else {
            prepared.next().unwrap_or(Err(EndpointError::WiringStopped))
        };
        match preparation {
            Ok(ready) => {
                to_wire.push((endpoint, created, ready));
                wired_positions.push(i);
            }
            Err(e) => {
                if created {
                    failed.push(endpoint);
                }
                results[i] = Some(Err(e));
            }
        }
    }
    let ready = to_wire.iter().map(|(e, _, ready)| (e.clone(), *ready));
    let up: Vec<(Endpoint, IfIndex)> = to_wire
        .iter()
        .zip(&wired_positions)
        .filter_map(|((e, _, _), &i)| Some((e.clone(), tap_up[i]?)))
        .collect();
    let (wired, ()) = tokio::join!(wiring.finish_all(ready.collect()), while_wiring(&up));
    let wired = match wired {
        Ok(wired) => wired,
        Err(e) => {
            failed.extend(
                to_wire
                    .into_iter()
                    .filter_map(|(e, created, _)| created.then_some(e)),
            );
            give_back(store, wiring, &failed).await;
            return Err(e);
        }
    };
    for ((&i, (endpoint, created, _)), outcome) in wired_positions.iter().zip(to_wire).zip(wired) {
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

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};
    use std::process::Command;

    use super::*;
    use crate::config::{Segment, Tenant};
    use crate::endpoint::Target;
    use crate::plan::Plan;

    /// A network namespace of this test, deleted when dropped.
    struct Namespace(String);

    impl Namespace {
        fn new(role: &str) -> Namespace {
            let name = format!("rbl-{role}-{}", std::process::id());
            let _ = ip(&["netns", "del", &name]);
            assert!(ip(&["netns", "add", &name]).is_some(), "netns add {name}");
            Namespace(name)
        }

        fn path(&self) -> PathBuf {
            Path::new("/run/netns").join(&self.0)
        }

        fn has_link(&self, name: &str) -> bool {
            ip(&["-n", &self.0, "link", "show", name]).is_some()
        }
    }

    impl Drop for Namespace {
        fn drop(&mut self) {
            let _ = ip(&["netns", "del", &self.0]);
        }
    }

    /// `ip ARGS`'s output if it succeeded.
    fn ip(args: &[&str]) -> Option<String> {
        let out = Command::new("ip").args(args).output().ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// When the write fails, the veth pair made meanwhile for a new
    /// container goes again: nothing of the add is left.
    #[tokio::test]
    async fn a_failed_write_deletes_the_pair_made_meanwhile() {
        let host = Namespace::new("host");
        let container = Namespace::new("c");
        let dir = std::env::temp_dir().join(format!("romana-lifecycle-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let plan = Plan::new("10.0.0.0/8".parse().unwrap(), 8, 4, 4).unwrap();
        let tenants = [Tenant {
            name: "blue".into(),
            id: plan.tenant_id(1).unwrap(),
            segments: vec![Segment {
                name: "web".into(),
                id: plan.segment_id(1).unwrap(),
            }],
        }];
        let mut store = Store::open(&dir, &plan, plan.host_index(1).unwrap(), &tenants).unwrap();
        let wiring = Wiring::start_in(&host.path()).expect("wiring thread");
        store.break_writes();

        let request = AddRequest {
            name: Some("c1".into()),
            tenant: "blue".into(),
            segment: "web".into(),
            target: Target::Netns(container.path()),
        };
        let err = add(&mut store, &wiring, &request).await.unwrap_err();
        let _ = std::fs::remove_dir_all(&dir);
        assert!(matches!(err, EndpointError::StateIo { .. }), "{err}");
        assert!(store.is_empty());
        // Asked after the pair's making and its deletion: the wiring
        // thread takes its work in order.
        assert_eq!(wiring.owned_links().await.unwrap(), []);
        assert!(!container.has_link("eth0"), "eth0 left in the container");
        assert!(!host.has_link("rb0a011101"));
    }
}
