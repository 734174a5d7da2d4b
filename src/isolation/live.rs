//! The live `inet romana` table as the daemon keeps it: what it last put
//! there, and whether that is still what the kernel holds.
//!
//! The table's rules and set definitions are only ever written whole, by
//! [`LiveTable::replace`] (one `nft -f` transaction): at start, when the
//! table drifted, and when a membership change could not be made. An add
//! or a delete of endpoints changes only which elements the endpoint sets
//! hold, in one nf_tables transaction over netlink, so it costs the same
//! with ten endpoints or ten thousand.
//!
//! Drift is judged by listing the table ([`super::check`]), which costs in
//! proportion to it, so a listing is done only when nf_tables' generation
//! moved since the table was last known good: a commit by anyone else.

use std::sync::Arc;

use tracing::warn;

use super::nfnl::{Generation, Membership, NfTables};
use super::{IsolationEndpoint, IsolationInput, NftError, Ruleset, TableState};
use crate::config::Config;

pub struct LiveTable {
    config: Arc<Config>,
    /// The table as the daemon last put it there; `None` before the first
    /// replace.
    applied: Option<Ruleset>,
    /// `None` if nfnetlink cannot be opened: then every change replaces
    /// the table and every check lists it.
    netlink: Option<NfTables>,
    /// The generation at which the kernel's table was last seen to be
    /// `applied`.
    verified: Option<Generation>,
}

impl LiveTable {
    pub fn new(config: Arc<Config>) -> LiveTable {
        let netlink = NfTables::open()
            .inspect_err(|e| warn!("{e}; endpoint changes will replace the whole table"))
            .ok();
        LiveTable {
            config,
            applied: None,
            netlink,
            verified: None,
        }
    }

    pub fn is_applied(&self) -> bool {
        self.applied.is_some()
    }

    /// Replaces the whole table with the one for `endpoints`.
    pub async fn replace(&mut self, endpoints: Vec<IsolationEndpoint>) -> Result<(), NftError> {
        let ruleset = Ruleset::new(&IsolationInput::new(&self.config, &endpoints));
        let to_apply = ruleset.clone();
        let applied = tokio::task::spawn_blocking(move || super::apply(&to_apply))
            .await
            .map_err(|e| NftError::Run {
                doing: "apply the isolation table",
                source: std::io::Error::other(e.to_string()),
            })?;
        applied?;
        self.applied = Some(ruleset);
        // Known good only once listed: another commit may have come
        // between nft's and a generation read here.
        self.verified = None;
        Ok(())
    }

    /// Puts `endpoints` into the sets or takes them out. If the table was
    /// never applied or the change is refused (the table was deleted by
    /// hand, say), the whole table is replaced with the one for `all`.
    pub async fn change(
        &mut self,
        membership: Membership,
        endpoints: &[IsolationEndpoint],
        all: impl FnOnce() -> Vec<IsolationEndpoint>,
    ) -> Result<(), NftError> {
        let (Some(applied), Some(netlink)) = (&mut self.applied, &mut self.netlink) else {
            return self.replace(all()).await;
        };
        let changed: Vec<&IsolationEndpoint> = endpoints
            .iter()
            .filter(|e| applied.contains(e) == (membership == Membership::Remove))
            .collect();
        if changed.is_empty() {
            return Ok(());
        }
        let elements: Vec<_> = changed
            .iter()
            .map(|e| (e.interface.clone(), e.address))
            .collect();
        let before = netlink.generation().ok();
        if let Err(e) = netlink.change(membership, &elements) {
            warn!("{e}");
            return self.replace(all()).await;
        }
        for endpoint in changed {
            match membership {
                Membership::Add => applied.insert(endpoint),
                Membership::Remove => applied.remove(endpoint),
            }
        }
        // Still known good if ours was the only commit since it was.
        let after = netlink.generation().ok();
        self.verified = match (self.verified, before, after) {
            (Some(v), Some(b), Some(a)) if v == b && a == b.next() => Some(a),
            _ => None,
        };
        Ok(())
    }

    /// Replaces the table with the one for `all` if the kernel's is missing
    /// or differs from what was applied. Nothing to do before the first
    /// replace.
    pub async fn repair(&mut self, all: impl FnOnce() -> Vec<IsolationEndpoint>) {
        let Some(applied) = &self.applied else {
            return;
        };
        let generation = self.netlink.as_mut().and_then(|n| n.generation().ok());
        if generation.is_some() && generation == self.verified {
            return;
        }
        let ruleset = applied.clone();
        let state = tokio::task::spawn_blocking(move || super::check(&ruleset)).await;
        let repair = match state {
            Ok(Ok(TableState::Current)) => {
                // Read before the listing: a commit during it moves the
                // generation on, and the next check lists again.
                self.verified = generation;
                false
            }
            Ok(Ok(TableState::Missing)) => {
                warn!("reconcile: isolation table missing; applying it again");
                true
            }
            Ok(Ok(TableState::Changed(why))) => {
                warn!("reconcile: isolation table changed ({why}); applying it again");
                true
            }
            Ok(Err(e)) => {
                warn!("reconcile: cannot read the isolation table: {e}");
                false
            }
            Err(e) => {
                warn!("reconcile: isolation check failed: {e}");
                false
            }
        };
        if repair && let Err(e) = self.replace(all()).await {
            warn!("reconcile: isolation table: {e}");
        }
    }
}
