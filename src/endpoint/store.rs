//! IPAM: which endpoint has which address, persisted before any answer.
//!
//! The store is single-threaded on purpose (`&mut self`): the daemon
//! serialises every add and delete through one task, so two adds can never
//! race for one address, and each change is on disk (see [`super::state_file`])
//! before the caller learns of it. A crash therefore loses at most changes
//! nobody was told about, and an address on disk is never handed out again.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use crate::config::Tenant;
use crate::plan::{HostIndex, Plan};

use super::state_file::{Change, StateFile};
use super::{
    AddRequest, Attachment, Endpoint, EndpointError, Target, check_interface, check_name, veth_name,
};

/// What an add request comes to: the endpoint and whether it is new, or
/// why there is none.
pub type Placed = Result<(Endpoint, bool), EndpointError>;

/// The endpoints of this host and their addresses.
#[derive(Debug)]
pub struct Store {
    file: StateFile,
    plan: Plan,
    host: HostIndex,
    tenants: Vec<Tenant>,
    endpoints: BTreeMap<String, Endpoint>,
    /// Host interface to endpoint name: a tap serves one endpoint.
    interfaces: HashMap<String, String>,
    /// Namespace file to endpoint name: a container has one endpoint.
    namespaces: HashMap<PathBuf, String>,
    /// The endpoint ids taken in each (tenant id, segment id).
    segments: HashMap<(u32, u32), SegmentIds>,
}

/// Endpoint ids taken in one segment.
#[derive(Debug, Default)]
struct SegmentIds {
    used: BTreeSet<u32>,
    /// Every id below this one is taken, so the search for a free id starts
    /// here: a run of adds costs O(1) each instead of a scan from 1.
    floor: u32,
}

impl SegmentIds {
    fn lowest_free(&mut self, max: u32) -> Option<u32> {
        let mut candidate = self.floor.max(1);
        for &id in self.used.range(candidate..) {
            if id != candidate {
                break;
            }
            candidate += 1;
        }
        self.floor = candidate;
        (candidate <= max).then_some(candidate)
    }

    fn take(&mut self, id: u32) -> bool {
        self.used.insert(id)
    }

    fn free(&mut self, id: u32) {
        self.used.remove(&id);
        self.floor = self.floor.min(id);
    }
}

impl Store {
    /// Opens the state under `dir` (`DIR/endpoints.json`) for the plan and
    /// host. A state that is unreadable, or that does not fit the plan (an
    /// address that is not the plan's for its ids, one address or interface
    /// twice), is an error: starting empty would hand its addresses out again.
    pub fn open(
        dir: &Path,
        plan: &Plan,
        host: HostIndex,
        tenants: &[Tenant],
    ) -> Result<Store, EndpointError> {
        let (file, endpoints) = StateFile::open(dir)?;
        let mut store = Store {
            file,
            plan: *plan,
            host,
            tenants: tenants.to_vec(),
            endpoints: BTreeMap::new(),
            interfaces: HashMap::new(),
            namespaces: HashMap::new(),
            segments: HashMap::new(),
        };
        for endpoint in endpoints {
            store.check_stored(&endpoint)?;
            store.insert(endpoint);
        }
        Ok(store)
    }

    /// The state file, for messages.
    pub fn path(&self) -> &Path {
        self.file.path()
    }

    pub fn get(&self, name: &str) -> Option<&Endpoint> {
        self.endpoints.get(name)
    }

    /// Whether an endpoint's host-side interface has this name.
    pub fn has_interface(&self, interface: &str) -> bool {
        self.interfaces.contains_key(interface)
    }

    /// Every endpoint, by name.
    pub fn list(&self) -> impl ExactSizeIterator<Item = &Endpoint> {
        self.endpoints.values()
    }

    pub fn len(&self) -> usize {
        self.endpoints.len()
    }

    pub fn is_empty(&self) -> bool {
        self.endpoints.is_empty()
    }

    /// Gives the request an address, persisted before it returns, and says
    /// whether the endpoint is new. A request whose name exists with the
    /// same tenant, segment and target returns that endpoint unchanged (a
    /// retried add, as CNI does); with anything else it is an error.
    pub fn allocate(&mut self, request: &AddRequest) -> Result<(Endpoint, bool), EndpointError> {
        let (endpoint, created) = self.place(request)?;
        if created
            && let Err(e) = self
                .file
                .record(&[Change::Add(&endpoint)], self.endpoints.values())
        {
            self.remove(&endpoint.name);
            return Err(e);
        }
        Ok((endpoint, created))
    }

    /// [`Store::allocate`] for many requests with one write to disk: one
    /// result per request, in order. The outer error is a failed write,
    /// after which none of the new endpoints exists.
    ///
    /// `before_write` sees the results once they are decided and before
    /// they are written, so that work which may precede their durability
    /// starts there and runs while the write is flushed; what it returns
    /// comes back beside them.
    pub fn allocate_all<T>(
        &mut self,
        requests: &[AddRequest],
        before_write: impl FnOnce(&[Placed]) -> T,
    ) -> (T, Result<Vec<Placed>, EndpointError>) {
        let results: Vec<_> = requests.iter().map(|r| self.place(r)).collect();
        let started = before_write(&results);
        (started, self.write_placed(results))
    }

    fn write_placed(&mut self, results: Vec<Placed>) -> Result<Vec<Placed>, EndpointError> {
        let created: Vec<Change<'_>> = results
            .iter()
            .filter_map(|r| match r {
                Ok((endpoint, true)) => Some(Change::Add(endpoint)),
                _ => None,
            })
            .collect();
        if !created.is_empty()
            && let Err(e) = self.file.record(&created, self.endpoints.values())
        {
            let names: Vec<String> = created
                .iter()
                .filter_map(|c| match c {
                    Change::Add(endpoint) => Some(endpoint.name.clone()),
                    Change::Remove(_) => None,
                })
                .collect();
            for name in names {
                self.remove(&name);
            }
            return Err(e);
        }
        Ok(results)
    }

    /// Frees the endpoint's address, persisted before it returns; `None`
    /// if there is no endpoint of that name.
    pub fn release(&mut self, name: &str) -> Result<Option<Endpoint>, EndpointError> {
        Ok(self.release_all(&[name])?.pop())
    }

    /// Releases several endpoints with one write to disk; returns those
    /// that existed.
    pub fn release_all(&mut self, names: &[&str]) -> Result<Vec<Endpoint>, EndpointError> {
        let removed: Vec<Endpoint> = names.iter().filter_map(|n| self.remove(n)).collect();
        let changes: Vec<Change<'_>> = removed.iter().map(|e| Change::Remove(&e.name)).collect();
        if !changes.is_empty()
            && let Err(e) = self.file.record(&changes, self.endpoints.values())
        {
            for endpoint in removed {
                self.insert(endpoint);
            }
            return Err(e);
        }
        Ok(removed)
    }

    /// Makes the next write fail, as on a full or failing disk.
    #[cfg(test)]
    pub(super) fn break_writes(&mut self) {
        self.file.break_journal();
    }

    /// Decides the request in memory: the existing endpoint, a new one
    /// (inserted), or why neither.
    fn place(&mut self, request: &AddRequest) -> Result<(Endpoint, bool), EndpointError> {
        if let Some(name) = &request.name {
            check_name(name)?;
        }
        if let Target::Tap(interface) = &request.target {
            check_interface(interface)?;
        }
        let (tenant, segment) = self.resolve(&request.tenant, &request.segment)?;
        if let Some(existing) = request.name.as_ref().and_then(|n| self.endpoints.get(n)) {
            if existing.tenant_id == tenant
                && existing.segment_id == segment
                && same_target(existing, &request.target)
            {
                return Ok((existing.clone(), false));
            }
            return Err(EndpointError::NameTaken {
                name: existing.name.clone(),
                existing: Box::new(existing.clone()),
            });
        }
        match &request.target {
            Target::Tap(interface) => {
                if let Some(owner) = self.interfaces.get(interface) {
                    return Err(EndpointError::InterfaceTaken {
                        interface: interface.clone(),
                        endpoint: owner.clone(),
                    });
                }
            }
            Target::Netns(path) => {
                if let Some(owner) = self.namespaces.get(path) {
                    return Err(EndpointError::NamespaceTaken {
                        path: path.clone(),
                        endpoint: owner.clone(),
                    });
                }
            }
        }
        let endpoint = self.new_endpoint(request, tenant, segment)?;
        if self.endpoints.contains_key(&endpoint.name) {
            // Only a hand-edited state names an endpoint after another's
            // address; refuse rather than overwrite it.
            let existing = &self.endpoints[&endpoint.name];
            return Err(EndpointError::NameTaken {
                name: endpoint.name.clone(),
                existing: Box::new(existing.clone()),
            });
        }
        self.insert(endpoint.clone());
        Ok((endpoint, true))
    }

    fn new_endpoint(
        &mut self,
        request: &AddRequest,
        tenant_id: u32,
        segment_id: u32,
    ) -> Result<Endpoint, EndpointError> {
        let tenant = self
            .plan
            .tenant_id(tenant_id)
            .expect("configured tenant ids fit the plan");
        let segment = self
            .plan
            .segment_id(segment_id)
            .expect("configured segment ids fit the plan");
        let max = self.plan.max_endpoint_id();
        let id = self
            .segments
            .entry((tenant_id, segment_id))
            .or_default()
            .lowest_free(max)
            .and_then(|id| self.plan.endpoint_id(id))
            .ok_or_else(|| EndpointError::SegmentFull {
                tenant: request.tenant.clone(),
                segment: request.segment.clone(),
                cidr: self.plan.segment_cidr(self.host, tenant, segment),
                capacity: max,
            })?;
        let address = self.plan.endpoint_address(self.host, tenant, segment, id);
        let (interface, attachment) = match &request.target {
            Target::Netns(path) => (veth_name(address), Attachment::Netns { path: path.clone() }),
            Target::Tap(interface) => (interface.clone(), Attachment::Tap),
        };
        Ok(Endpoint {
            name: request.name.clone().unwrap_or_else(|| address.to_string()),
            tenant: request.tenant.clone(),
            segment: request.segment.clone(),
            tenant_id,
            segment_id,
            endpoint_id: id.get(),
            address,
            gateway: self.plan.gateway(self.host),
            interface,
            attachment,
        })
    }

    fn resolve(&self, tenant: &str, segment: &str) -> Result<(u32, u32), EndpointError> {
        let found = self
            .tenants
            .iter()
            .find(|t| t.name == tenant)
            .ok_or_else(|| EndpointError::UnknownTenant {
                tenant: tenant.into(),
                known: self.tenants.iter().map(|t| t.name.clone()).collect(),
            })?;
        let s = found
            .segment(segment)
            .ok_or_else(|| EndpointError::UnknownSegment {
                tenant: tenant.into(),
                segment: segment.into(),
                known: found.segments.iter().map(|s| s.name.clone()).collect(),
            })?;
        Ok((found.id.get(), s.id.get()))
    }

    /// A stored endpoint must be exactly what this plan and host would
    /// have allocated, and unique in address, interface and namespace
    /// (names are unique in the state file already).
    fn check_stored(&mut self, endpoint: &Endpoint) -> Result<(), EndpointError> {
        let corrupt = |reason: String| EndpointError::StateCorrupt {
            path: self.file.path().to_path_buf(),
            reason: format!("endpoint {:?}: {reason}", endpoint.name),
        };
        let location = self.plan.decode(endpoint.address).ok_or_else(|| {
            corrupt(format!(
                "{} is not an endpoint address of the plan {}; was the plan changed?",
                endpoint.address,
                self.plan.cidr()
            ))
        })?;
        let ids = (
            location.host.get(),
            location.tenant.get(),
            location.segment.get(),
            location.endpoint.get(),
        );
        let expected = (
            self.host.get(),
            endpoint.tenant_id,
            endpoint.segment_id,
            endpoint.endpoint_id,
        );
        if ids != expected {
            return Err(corrupt(format!(
                "{} is host {} tenant {} segment {} endpoint {} in the plan, and the state \
                 says host {} tenant {} segment {} endpoint {}; was the plan or the host \
                 index changed?",
                endpoint.address,
                ids.0,
                ids.1,
                ids.2,
                ids.3,
                expected.0,
                expected.1,
                expected.2,
                expected.3
            )));
        }
        if endpoint.gateway != self.plan.gateway(self.host) {
            return Err(corrupt(format!(
                "its gateway {} is not the host's, {}",
                endpoint.gateway,
                self.plan.gateway(self.host)
            )));
        }
        if let Attachment::Netns { .. } = endpoint.attachment
            && endpoint.interface != veth_name(endpoint.address)
        {
            return Err(corrupt(format!(
                "its veth is {:?}, and {} has {:?}",
                endpoint.interface,
                endpoint.address,
                veth_name(endpoint.address)
            )));
        }
        if let Some(other) = self.interfaces.get(&endpoint.interface) {
            return Err(corrupt(format!(
                "interface {:?} is also endpoint {other:?}'s",
                endpoint.interface
            )));
        }
        if let Attachment::Netns { path } = &endpoint.attachment
            && let Some(other) = self.namespaces.get(path)
        {
            return Err(corrupt(format!(
                "namespace {} is also endpoint {other:?}'s",
                path.display()
            )));
        }
        let used = self
            .segments
            .get(&(endpoint.tenant_id, endpoint.segment_id))
            .is_some_and(|s| s.used.contains(&endpoint.endpoint_id));
        if used {
            return Err(corrupt(format!(
                "address {} is also another endpoint's",
                endpoint.address
            )));
        }
        Ok(())
    }

    fn insert(&mut self, endpoint: Endpoint) {
        self.segments
            .entry((endpoint.tenant_id, endpoint.segment_id))
            .or_default()
            .take(endpoint.endpoint_id);
        self.interfaces
            .insert(endpoint.interface.clone(), endpoint.name.clone());
        if let Attachment::Netns { path } = &endpoint.attachment {
            self.namespaces.insert(path.clone(), endpoint.name.clone());
        }
        self.endpoints.insert(endpoint.name.clone(), endpoint);
    }

    fn remove(&mut self, name: &str) -> Option<Endpoint> {
        let endpoint = self.endpoints.remove(name)?;
        if let Some(ids) = self
            .segments
            .get_mut(&(endpoint.tenant_id, endpoint.segment_id))
        {
            ids.free(endpoint.endpoint_id);
        }
        self.interfaces.remove(&endpoint.interface);
        if let Attachment::Netns { path } = &endpoint.attachment {
            self.namespaces.remove(path);
        }
        Some(endpoint)
    }
}

fn same_target(endpoint: &Endpoint, target: &Target) -> bool {
    match (&endpoint.attachment, target) {
        (Attachment::Netns { path }, Target::Netns(wanted)) => path == wanted,
        (Attachment::Tap, Target::Tap(interface)) => &endpoint.interface == interface,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use std::fs;
    use std::net::Ipv4Addr;

    use super::*;
    use crate::config::Segment;
    use crate::endpoint::state_file::{JOURNAL, SNAPSHOT};

    /// A directory removed when the test ends, also when it fails.
    struct TempDir(PathBuf);

    impl TempDir {
        fn new(test: &str) -> TempDir {
            let dir =
                std::env::temp_dir().join(format!("romana-store-{test}-{}", std::process::id()));
            let _ = fs::remove_dir_all(&dir);
            TempDir(dir)
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    /// 10.0.0.0/8, host 1: blue (1) with web (1) and db (2), red (2) with
    /// web (1).
    fn plan() -> Plan {
        Plan::new("10.0.0.0/8".parse().unwrap(), 8, 4, 4).unwrap()
    }

    fn tenants(plan: &Plan) -> Vec<Tenant> {
        let segment = |name: &str, id| Segment {
            name: name.into(),
            id: plan.segment_id(id).unwrap(),
        };
        vec![
            Tenant {
                name: "blue".into(),
                id: plan.tenant_id(1).unwrap(),
                segments: vec![segment("web", 1), segment("db", 2)],
            },
            Tenant {
                name: "red".into(),
                id: plan.tenant_id(2).unwrap(),
                segments: vec![segment("web", 1)],
            },
        ]
    }

    fn open(dir: &TempDir) -> Store {
        let plan = plan();
        Store::open(&dir.0, &plan, plan.host_index(1).unwrap(), &tenants(&plan)).unwrap()
    }

    fn open_err(dir: &TempDir) -> EndpointError {
        let plan = plan();
        Store::open(&dir.0, &plan, plan.host_index(1).unwrap(), &tenants(&plan)).unwrap_err()
    }

    fn netns(name: Option<&str>, tenant: &str, segment: &str, ns: &str) -> AddRequest {
        AddRequest {
            name: name.map(Into::into),
            tenant: tenant.into(),
            segment: segment.into(),
            target: Target::Netns(format!("/run/netns/{ns}").into()),
        }
    }

    fn tap(name: Option<&str>, interface: &str) -> AddRequest {
        AddRequest {
            name: name.map(Into::into),
            tenant: "blue".into(),
            segment: "web".into(),
            target: Target::Tap(interface.into()),
        }
    }

    fn address(store: &mut Store, request: &AddRequest) -> Ipv4Addr {
        store.allocate(request).unwrap().0.address
    }

    #[test]
    fn lowest_free_id_first_and_released_ids_reused() {
        let dir = TempDir::new("order");
        let mut store = open(&dir);
        let a = address(&mut store, &netns(None, "blue", "web", "a"));
        let b = address(&mut store, &netns(None, "blue", "web", "b"));
        let c = address(&mut store, &netns(None, "blue", "web", "c"));
        assert_eq!(
            [a, b, c],
            [
                Ipv4Addr::new(10, 1, 17, 1),
                Ipv4Addr::new(10, 1, 17, 2),
                Ipv4Addr::new(10, 1, 17, 3)
            ]
        );
        let other = address(&mut store, &netns(None, "blue", "db", "d"));
        assert_eq!(
            other,
            Ipv4Addr::new(10, 1, 18, 1),
            "each segment counts alone"
        );
        assert_eq!(
            address(&mut store, &netns(None, "red", "web", "e")),
            Ipv4Addr::new(10, 1, 33, 1)
        );
        let released = store.release("10.1.17.2").unwrap().unwrap();
        assert_eq!(released.address, b);
        assert_eq!(store.release("10.1.17.2").unwrap(), None);
        assert_eq!(address(&mut store, &netns(None, "blue", "web", "f")), b);
        assert_eq!(
            address(&mut store, &netns(None, "blue", "web", "g")),
            Ipv4Addr::new(10, 1, 17, 4)
        );
    }

    #[test]
    fn endpoint_fields_follow_the_plan() {
        let dir = TempDir::new("fields");
        let mut store = open(&dir);
        let (endpoint, created) = store
            .allocate(&netns(Some("c1"), "blue", "db", "c1"))
            .unwrap();
        assert!(created);
        assert_eq!(
            endpoint,
            Endpoint {
                name: "c1".into(),
                tenant: "blue".into(),
                segment: "db".into(),
                tenant_id: 1,
                segment_id: 2,
                endpoint_id: 1,
                address: Ipv4Addr::new(10, 1, 18, 1),
                gateway: Ipv4Addr::new(10, 1, 0, 1),
                interface: "rb0a011201".into(),
                attachment: Attachment::Netns {
                    path: "/run/netns/c1".into()
                },
            }
        );
        let (vm, _) = store.allocate(&tap(None, "tap7")).unwrap();
        assert_eq!(
            vm.name, "10.1.17.1",
            "an unnamed endpoint is named by its address"
        );
        assert_eq!(vm.interface, "tap7");
        assert_eq!(vm.attachment, Attachment::Tap);
    }

    #[test]
    fn add_with_an_existing_name_is_idempotent_or_refused() {
        let dir = TempDir::new("idempotent");
        let mut store = open(&dir);
        let request = netns(Some("c1"), "blue", "web", "c1");
        let (first, created) = store.allocate(&request).unwrap();
        assert!(created);
        let (again, created) = store.allocate(&request).unwrap();
        assert!(!created);
        assert_eq!(again, first);
        assert_eq!(store.len(), 1);

        let other_segment = netns(Some("c1"), "blue", "db", "c1");
        let err = store.allocate(&other_segment).unwrap_err();
        assert!(matches!(err, EndpointError::NameTaken { .. }), "{err}");
        assert!(err.to_string().contains("blue/web"), "{err}");
        let other_tenant = netns(Some("c1"), "red", "web", "c1");
        assert!(matches!(
            store.allocate(&other_tenant),
            Err(EndpointError::NameTaken { .. })
        ));
        let other_namespace = netns(Some("c1"), "blue", "web", "c2");
        assert!(matches!(
            store.allocate(&other_namespace),
            Err(EndpointError::NameTaken { .. })
        ));
        assert_eq!(store.len(), 1);
    }

    #[test]
    fn interfaces_and_namespaces_serve_one_endpoint() {
        let dir = TempDir::new("duplicate");
        let mut store = open(&dir);
        store.allocate(&tap(Some("vm1"), "tap1")).unwrap();
        let err = store.allocate(&tap(Some("vm2"), "tap1")).unwrap_err();
        assert!(
            matches!(&err, EndpointError::InterfaceTaken { endpoint, .. } if endpoint == "vm1"),
            "{err}"
        );
        store
            .allocate(&netns(Some("c1"), "blue", "web", "ns1"))
            .unwrap();
        let err = store
            .allocate(&netns(Some("c2"), "red", "web", "ns1"))
            .unwrap_err();
        assert!(matches!(err, EndpointError::NamespaceTaken { .. }), "{err}");
        assert_eq!(store.len(), 2);
    }

    #[test]
    fn unknown_tenant_and_segment_name_the_known_ones() {
        let dir = TempDir::new("unknown");
        let mut store = open(&dir);
        let err = store
            .allocate(&netns(None, "green", "web", "x"))
            .unwrap_err();
        assert!(
            err.to_string().contains("known tenants: blue, red"),
            "{err}"
        );
        let err = store.allocate(&netns(None, "red", "db", "x")).unwrap_err();
        assert!(err.to_string().contains("its segments: web"), "{err}");
        assert!(store.is_empty());
    }

    #[test]
    fn invalid_names_change_nothing() {
        let dir = TempDir::new("invalid");
        let mut store = open(&dir);
        assert!(matches!(
            store.allocate(&netns(Some("a b"), "blue", "web", "x")),
            Err(EndpointError::InvalidName { .. })
        ));
        assert!(matches!(
            store.allocate(&tap(None, "rb0a011101")),
            Err(EndpointError::InvalidInterface { .. })
        ));
        assert!(store.is_empty());
        let journal = fs::read_to_string(dir.0.join(JOURNAL)).unwrap();
        assert_eq!(
            journal.lines().count(),
            1,
            "no change was written: {journal}"
        );
    }

    #[test]
    fn full_segment_is_an_error() {
        let dir = TempDir::new("full");
        // 24 + 2 + 2 + 2 bits: two endpoint bits, so ids 1 and 2 only.
        let plan = Plan::new("10.9.9.0/24".parse().unwrap(), 2, 2, 2).unwrap();
        let tenants = vec![Tenant {
            name: "blue".into(),
            id: plan.tenant_id(1).unwrap(),
            segments: vec![Segment {
                name: "web".into(),
                id: plan.segment_id(1).unwrap(),
            }],
        }];
        let mut store = Store::open(&dir.0, &plan, plan.host_index(1).unwrap(), &tenants).unwrap();
        let ids: Vec<u32> = (0..2)
            .map(|i| {
                let (e, _) = store
                    .allocate(&netns(None, "blue", "web", &format!("n{i}")))
                    .unwrap();
                e.endpoint_id
            })
            .collect();
        assert_eq!(ids, [1, 2]);
        let err = store
            .allocate(&netns(None, "blue", "web", "n3"))
            .unwrap_err();
        assert!(
            matches!(err, EndpointError::SegmentFull { capacity: 2, .. }),
            "{err}"
        );
        assert!(err.to_string().contains("10.9.9.84/30"), "{err}");
        // A released id is free again.
        store.release("10.9.9.85").unwrap().unwrap();
        let (e, _) = store.allocate(&netns(None, "blue", "web", "n4")).unwrap();
        assert_eq!(e.endpoint_id, 1);
    }

    #[test]
    fn state_survives_reopening() {
        let dir = TempDir::new("roundtrip");
        let mut store = open(&dir);
        store
            .allocate(&netns(Some("c1"), "blue", "web", "c1"))
            .unwrap();
        store.allocate(&tap(Some("vm1"), "tap1")).unwrap();
        store.allocate(&netns(None, "red", "web", "c3")).unwrap();
        store.release("vm1").unwrap();
        let before: Vec<Endpoint> = store.list().cloned().collect();
        drop(store);

        let mut store = open(&dir);
        let after: Vec<Endpoint> = store.list().cloned().collect();
        assert_eq!(after, before);
        // Taken addresses stay taken, the released one is free again.
        let (e, _) = store.allocate(&tap(None, "tap9")).unwrap();
        assert_eq!(e.address, Ipv4Addr::new(10, 1, 17, 2));
        let text = fs::read_to_string(dir.0.join(SNAPSHOT)).unwrap();
        assert!(text.starts_with("{\"version\":1,\"generation\":"), "{text}");
    }

    #[test]
    fn a_leftover_temporary_file_is_ignored_and_removed() {
        let dir = TempDir::new("leftover");
        let mut store = open(&dir);
        store
            .allocate(&netns(Some("c1"), "blue", "web", "c1"))
            .unwrap();
        drop(store);
        // Compactions that crashed between write and rename.
        let tmp = dir.0.join("endpoints.json.tmp");
        fs::write(&tmp, b"{\"version\":1,\"endpoints\":[{\"name\":").unwrap();
        let journal_tmp = dir.0.join("endpoints.log.tmp");
        fs::write(&journal_tmp, b"{\"version\":1,\"generation\":99}\n").unwrap();
        let mut store = open(&dir);
        assert!(!tmp.exists());
        assert!(!journal_tmp.exists());
        assert_eq!(
            store.list().map(|e| e.name.as_str()).collect::<Vec<_>>(),
            ["c1"]
        );
        let (e, _) = store.allocate(&netns(None, "blue", "web", "c2")).unwrap();
        assert_eq!(e.endpoint_id, 2, "c1's address is not handed out again");
    }

    #[test]
    fn a_failed_write_leaves_memory_and_disk_unchanged() {
        let dir = TempDir::new("failed-write");
        let mut store = open(&dir);
        store
            .allocate(&netns(Some("c1"), "blue", "web", "c1"))
            .unwrap();
        // An append fails, and then the whole rewrite that follows it: a
        // temporary file cannot be created where a directory is.
        store.file.break_journal();
        let err = store
            .allocate(&netns(Some("c2"), "blue", "web", "c2"))
            .unwrap_err();
        assert!(matches!(err, EndpointError::StateIo { .. }), "{err}");
        assert!(store.get("c2").is_none());
        fs::create_dir(dir.0.join("endpoints.json.tmp")).unwrap();
        let err = store.release("c1").unwrap_err();
        assert!(matches!(err, EndpointError::StateIo { .. }), "{err}");
        assert!(store.get("c1").is_some());
        assert!(store.allocate_all(&[tap(None, "tap1")], |_| {}).1.is_err());
        assert_eq!(store.len(), 1);
        fs::remove_dir(dir.0.join("endpoints.json.tmp")).unwrap();
        let (e, _) = store
            .allocate(&netns(Some("c2"), "blue", "web", "c2"))
            .unwrap();
        assert_eq!(e.endpoint_id, 2, "the failed add's id was given back");
        drop(store);
        let names: Vec<String> = open(&dir).list().map(|e| e.name.clone()).collect();
        assert_eq!(names, ["c1", "c2"]);
    }

    #[test]
    fn corrupt_or_foreign_state_is_refused() {
        let dir = TempDir::new("corrupt");
        fs::create_dir_all(&dir.0).unwrap();
        let path = dir.0.join(SNAPSHOT);
        for (text, expected) in [
            ("{\"version\":1,\"endpoints\":[", "EOF"),
            ("", "not a versioned endpoint state"),
            ("{\"version\":2,\"endpoints\":[]}", "format version 2"),
            ("{\"version\":1,\"endpoints\":[],\"x\":1}", "unknown field"),
        ] {
            fs::write(&path, text).unwrap();
            let err = open_err(&dir);
            assert!(
                matches!(err, EndpointError::StateCorrupt { .. }),
                "{text}: {err}"
            );
            assert!(err.to_string().contains(expected), "{text}: {err}");
        }
    }

    #[test]
    fn stored_endpoints_must_fit_the_plan_and_be_unique() {
        let dir = TempDir::new("mismatch");
        let mut store = open(&dir);
        store
            .allocate(&netns(Some("c1"), "blue", "web", "c1"))
            .unwrap();
        store
            .allocate(&netns(Some("c2"), "blue", "web", "c2"))
            .unwrap();
        store.allocate(&tap(Some("vm"), "tap1")).unwrap();
        drop(store);
        // Reopening compacts: the snapshot holds them all.
        drop(open(&dir));
        let path = dir.0.join(SNAPSHOT);
        let good = fs::read_to_string(&path).unwrap();
        let cases: [(&[(&str, &str)], &str); 7] = [
            (
                &[
                    ("10.1.17.3", "10.1.17.1"),
                    ("\"endpoint_id\":3", "\"endpoint_id\":1"),
                ],
                "address 10.1.17.1 is also another endpoint's",
            ),
            (
                &[("\"endpoint_id\":2", "\"endpoint_id\":3")],
                "state says host 1 tenant 1 segment 1 endpoint 3",
            ),
            (&[("10.1.0.1", "10.1.0.2")], "gateway"),
            (&[("rb0a011102", "rb0a011109")], "veth"),
            (&[("10.1.17.2", "11.1.17.2")], "not an endpoint address"),
            (&[("\"c2\"", "\"c1\"")], "\"c1\" is in it twice"),
            (
                &[("/run/netns/c2", "/run/netns/c1")],
                "namespace /run/netns/c1 is also",
            ),
        ];
        for (edits, expected) in cases {
            let text = edits
                .iter()
                .fold(good.clone(), |text, (from, to)| text.replacen(from, to, 1));
            assert_ne!(text, good, "{edits:?} changes nothing");
            fs::write(&path, text).unwrap();
            let err = open_err(&dir);
            assert!(err.to_string().contains(expected), "{edits:?}: {err}");
        }
    }

    #[test]
    fn allocate_all_writes_once_and_sees_its_own_endpoints() {
        let dir = TempDir::new("batch");
        let mut store = open(&dir);
        let requests = vec![
            tap(None, "tap1"),
            tap(None, "tap2"),
            tap(None, "tap1"),
            tap(Some("vm"), "tap3"),
            tap(Some("vm"), "tap3"),
            netns(None, "green", "web", "x"),
        ];
        let journal = dir.0.join(JOURNAL);
        let summary = |results: &[Placed]| -> Vec<String> {
            results
                .iter()
                .map(|r| match r {
                    Ok((e, created)) => format!("{} {created}", e.address),
                    Err(EndpointError::InterfaceTaken { .. }) => "taken".into(),
                    Err(EndpointError::UnknownTenant { .. }) => "unknown".into(),
                    Err(e) => e.to_string(),
                })
                .collect()
        };
        let (before, results) = store.allocate_all(&requests, |decided| {
            let on_disk = fs::read_to_string(&journal).unwrap();
            assert!(!on_disk.contains("tap1"), "written already: {on_disk}");
            summary(decided)
        });
        let results = results.unwrap();
        assert!(fs::read_to_string(&journal).unwrap().contains("tap1"));
        assert_eq!(before, summary(&results));
        assert_eq!(
            summary(&results),
            [
                "10.1.17.1 true",
                "10.1.17.2 true",
                "taken",
                "10.1.17.3 true",
                "10.1.17.3 false",
                "unknown"
            ]
        );
        drop(store);
        assert_eq!(open(&dir).len(), 3);
    }

    #[test]
    fn release_all_frees_what_exists() {
        let dir = TempDir::new("release-all");
        let mut store = open(&dir);
        store.allocate(&tap(Some("a"), "tap1")).unwrap();
        store.allocate(&tap(Some("b"), "tap2")).unwrap();
        let removed = store.release_all(&["a", "nope", "b"]).unwrap();
        assert_eq!(removed.len(), 2);
        assert!(store.is_empty());
        drop(store);
        assert!(open(&dir).is_empty());
    }
}
