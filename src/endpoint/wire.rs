//! Connecting endpoints to the host, through rtnetlink.
//!
//! - A container (`Attachment::Netns`): a veth pair made in one request,
//!   the host end `rb` + the address in hex, the other end created directly
//!   in the container's namespace as `eth0`. Inside, `eth0` comes up with
//!   the address as /32 and a default route via the gateway (see
//!   [`super::netns`]); the host end comes up last, so its carrier marks a
//!   wiring that completed. An add does this in two steps: the pair and
//!   its inside ([`Wiring::prepare`]) while the endpoint is written to
//!   disk, the host end ([`Wiring::finish_all`]) once it is there.
//!   The host end gets no IPv6: endpoints are IPv4 only (the isolation
//!   table drops their IPv6), and with it every container would cost the
//!   host a link-local address, duplicate address detection, router
//!   solicitations and two IPv6 routes.
//! - A VM (`Attachment::Tap`): its tap exists; it is set up, nothing else.
//!
//! Either way the host end gets proxy ARP, so the endpoint's ARP for the
//! gateway, or for a neighbour it believes on-link, is answered by the
//! host, which then routes. Proxy ARP is set through its sysctl (see
//! [`sysctl::set_proxy_arp`] for why not by netlink), and many taps are
//! set up in one datagram.
//!
//! All of it runs on one thread, the wiring thread, with a blocking
//! netlink socket in the host's namespace: the daemon's runtime never waits
//! on the kernel, and [`Wiring`] is the async handle that sends it work.

use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

use rtnetlink::packet_core::{NLM_F_CREATE, NLM_F_EXCL};
use tokio::sync::oneshot;

use crate::kernel::{Errno, Failure, IfIndex};

use super::messages::{self, Link};
use super::netns::Netns;
use super::rtnl::{Expect, Rtnl, RtnlError};
use super::{
    Attachment, CONTAINER_INTERFACE, Endpoint, EndpointError, Target, is_veth_name, sysctl,
};

/// A host link the daemon made for a container endpoint: a veth named
/// `rb` + 8 hex digits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OwnedLink {
    pub name: String,
    pub ifindex: IfIndex,
}

/// One look at the host's links, for the reconciler.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Survey {
    /// For each endpoint asked about, in order, its wired host interface.
    pub wired: Vec<Option<IfIndex>>,
    pub owned: Vec<OwnedLink>,
}

/// What a check found of a target that can be wired.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Checked {
    /// A tap that is up already (libvirt and nova make them up): its
    /// index, to which the endpoint's /32 can be routed while the tap is
    /// wired. The kernel refuses a route through a link that is down.
    pub tap_up: Option<IfIndex>,
}

/// A container's veth pair as [`Wiring::prepare`] leaves it: made, the
/// inside configured, the host end down.
#[derive(Clone, Copy, Debug)]
pub struct Prepared {
    index: u32,
    /// Made by this preparation, so a failure after it deletes it.
    created: bool,
}

/// The answer to work sent to the wiring thread, to be awaited.
#[derive(Debug)]
pub struct Pending<T>(oneshot::Receiver<T>);

impl<T> Pending<T> {
    pub async fn wait(self) -> Result<T, EndpointError> {
        self.0.await.map_err(|_| EndpointError::WiringStopped)
    }
}

type Job = Box<dyn FnOnce(&mut Host) + Send>;

/// How long the taps a check found are trusted by the wiring after it: an
/// add wires right after its check, anything later looks them up again.
const CHECK_FRESH: Duration = Duration::from_secs(5);

/// The handle to the wiring thread. Cheap to clone; the thread ends when
/// the last clone is dropped.
#[derive(Clone, Debug)]
pub struct Wiring {
    jobs: mpsc::Sender<Job>,
    /// The namespace the thread plays the host in; `None` for the daemon's.
    host_netns: Option<PathBuf>,
}

impl Wiring {
    /// Starts the wiring thread in the daemon's own network namespace, the
    /// host's.
    pub fn start() -> Result<Wiring, EndpointError> {
        Wiring::spawn(None)
    }

    /// Starts the wiring thread in the network namespace at `host_netns`,
    /// which then plays the host: for tests, which must not touch the real
    /// host's links.
    pub fn start_in(host_netns: &Path) -> Result<Wiring, EndpointError> {
        Wiring::spawn(Some(host_netns.to_path_buf()))
    }

    /// Another wiring thread with its own socket in the same namespace:
    /// the reconciler surveys the links there while adds keep this one.
    pub fn another(&self) -> Result<Wiring, EndpointError> {
        Wiring::spawn(self.host_netns.clone())
    }

    fn spawn(host_netns: Option<PathBuf>) -> Result<Wiring, EndpointError> {
        let (jobs, queue) = mpsc::channel::<Job>();
        let thread_netns = host_netns.clone();
        let (ready, started) = mpsc::sync_channel(1);
        std::thread::Builder::new()
            .name("romana-wiring".into())
            .spawn(move || {
                let host = thread_netns
                    .map_or(Ok(()), |path| Netns::open(&path)?.enter())
                    .and_then(|()| Rtnl::open())
                    .map(|rtnl| Host {
                        rtnl,
                        checked_taps: HashMap::new(),
                        checked_at: Instant::now(),
                    });
                match host {
                    Ok(mut host) => {
                        let _ = ready.send(Ok(()));
                        for job in queue {
                            job(&mut host);
                        }
                    }
                    Err(e) => {
                        let _ = ready.send(Err(e));
                    }
                }
            })
            .map_err(|error| EndpointError::Socket {
                action: "start the wiring thread".into(),
                error,
            })?;
        started.recv().map_err(|_| EndpointError::WiringStopped)??;
        Ok(Wiring { jobs, host_netns })
    }

    /// Checks that the target exists (the namespace file, the tap), so a
    /// bad add is refused before an address is allocated.
    pub async fn check(&self, target: &Target) -> Result<(), EndpointError> {
        let target = target.clone();
        self.call(move |host| first(host.check_all(&[target])))
            .await?
            .map(drop)
    }

    /// [`Wiring::check`] for many targets, taps in one request, saying
    /// what it found.
    pub async fn check_all(
        &self,
        targets: Vec<Target>,
    ) -> Result<Vec<Result<Checked, EndpointError>>, EndpointError> {
        self.call(move |host| host.check_all(&targets)).await
    }

    /// Wires the endpoint (again: it repairs what is missing) and returns
    /// the host-side interface its /32 route points at.
    pub async fn wire(&self, endpoint: &Endpoint) -> Result<IfIndex, EndpointError> {
        let endpoint = (endpoint.clone(), None);
        self.call(move |host| first(host.wire_all(std::slice::from_ref(&endpoint))))
            .await?
    }

    /// [`Wiring::wire`] for many endpoints: taps in as few requests as
    /// fit, containers one after another. One result per endpoint.
    pub async fn wire_all(
        &self,
        endpoints: Vec<Endpoint>,
    ) -> Result<Vec<Result<IfIndex, EndpointError>>, EndpointError> {
        let unprepared = endpoints.into_iter().map(|e| (e, None)).collect();
        self.finish_all(unprepared).await
    }

    /// The first half of wiring, sent to the wiring thread at once: each
    /// container's veth pair made and its inside configured, the host end
    /// left down; a tap needs nothing. Nothing is reachable through what
    /// it makes, so it may run before the endpoints are on disk: a pair
    /// whose endpoint never gets there is a link of the daemon's name that
    /// no endpoint has, which the reconciler deletes. One result per
    /// endpoint, `None` for a tap; no endpoints, no trip to the thread.
    #[allow(clippy::type_complexity)]
    pub fn prepare(
        &self,
        endpoints: Vec<Endpoint>,
    ) -> Result<Pending<Vec<Result<Option<Prepared>, EndpointError>>>, EndpointError> {
        if endpoints.is_empty() {
            let (answer, answered) = oneshot::channel();
            let _ = answer.send(Vec::new());
            return Ok(Pending(answered));
        }
        self.send(move |host| {
            endpoints
                .iter()
                .map(|endpoint| match &endpoint.attachment {
                    Attachment::Netns { path } => host.prepare_container(endpoint, path).map(Some),
                    Attachment::Tap => Ok(None),
                })
                .collect()
        })
    }

    /// Wires the endpoints, those [`Wiring::prepare`]d from where it left
    /// them, the others whole, as [`Wiring::wire_all`].
    pub async fn finish_all(
        &self,
        endpoints: Vec<(Endpoint, Option<Prepared>)>,
    ) -> Result<Vec<Result<IfIndex, EndpointError>>, EndpointError> {
        self.call(move |host| host.wire_all(&endpoints)).await
    }

    /// Undoes the wiring: a container's veth pair is deleted; a VM's tap
    /// is its own and stays, with proxy ARP off. Idempotent.
    pub async fn unwire(&self, endpoint: &Endpoint) -> Result<(), EndpointError> {
        let endpoint = endpoint.clone();
        self.call(move |host| host.unwire(&endpoint)).await?
    }

    /// Whether the host end exists, is up and has proxy ARP; for a
    /// container also that the veth's peer is in its namespace.
    pub async fn is_wired(&self, endpoint: &Endpoint) -> Result<bool, EndpointError> {
        let endpoint = endpoint.clone();
        self.call(move |host| {
            let link = host
                .rtnl
                .link(&endpoint.interface)
                .map_err(|e| e.while_doing(format!("look up interface {}", endpoint.interface)))?;
            Ok(host.wired_at(&endpoint, link.as_ref()).is_some())
        })
        .await?
    }

    /// For each endpoint, the host interface if it is wired (as
    /// [`Wiring::is_wired`]), from one dump of the links.
    pub async fn wired(
        &self,
        endpoints: Vec<Endpoint>,
    ) -> Result<Vec<Option<IfIndex>>, EndpointError> {
        Ok(self.survey(endpoints.into()).await?.wired)
    }

    /// The host's links that carry the daemon's veth name and are veths.
    pub async fn owned_links(&self) -> Result<Vec<OwnedLink>, EndpointError> {
        Ok(self.survey(Arc::new([])).await?.owned)
    }

    /// What the reconciler needs from one dump of the links: for each
    /// endpoint its host interface if wired, and the veths of the daemon's
    /// name, so those of endpoints that no longer exist can be deleted.
    /// The endpoints are shared, not copied: a reconcile reads them again
    /// once the survey is done.
    pub async fn survey(&self, endpoints: Arc<[Endpoint]>) -> Result<Survey, EndpointError> {
        self.call(move |host| {
            let links = host.links()?;
            let by_name: HashMap<&str, &Link> =
                links.iter().map(|l| (l.name.as_str(), l)).collect();
            let wired = endpoints
                .iter()
                .map(|e| host.wired_at(e, by_name.get(e.interface.as_str()).copied()))
                .collect();
            let owned = links
                .iter()
                .filter(|l| is_veth_name(&l.name) && l.is_veth())
                .filter_map(|l| {
                    Some(OwnedLink {
                        ifindex: IfIndex::new(l.index)?,
                        name: l.name.clone(),
                    })
                })
                .collect();
            Ok(Survey { wired, owned })
        })
        .await?
    }

    /// Deletes a link of [`Survey::owned`], if it is still
    /// there and still a veth of the daemon's name.
    pub async fn remove_owned_link(&self, name: &str) -> Result<(), EndpointError> {
        let name = name.to_owned();
        self.call(move |host| host.delete_veth(&name)).await?
    }

    /// Whether the host forwards IPv4 (`net.ipv4.ip_forward`).
    pub async fn ip_forward(&self) -> Result<bool, EndpointError> {
        self.call(|_| sysctl::ip_forward()).await?
    }

    /// Turns IPv4 forwarding on; `true` if it was off. See [`super::sysctl`]
    /// for why the daemon does this.
    pub async fn enable_ip_forward(&self) -> Result<bool, EndpointError> {
        self.call(|_| sysctl::enable_ip_forward()).await?
    }

    async fn call<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Host) -> T + Send + 'static,
    ) -> Result<T, EndpointError> {
        self.send(work)?.wait().await
    }

    /// Queues `work` for the wiring thread now.
    fn send<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Host) -> T + Send + 'static,
    ) -> Result<Pending<T>, EndpointError> {
        let (answer, answered) = oneshot::channel();
        self.jobs
            .send(Box::new(move |host: &mut Host| {
                let _ = answer.send(work(host));
            }))
            .map_err(|_| EndpointError::WiringStopped)?;
        Ok(Pending(answered))
    }
}

/// The wiring thread's state: its socket in the host's namespace.
struct Host {
    rtnl: Rtnl,
    /// Taps the last check found, by name: the wiring that follows a
    /// check (an add) uses them instead of asking the kernel again, which
    /// halves the requests of a bulk add. Indexes are allocated cyclically
    /// and never reused soon, so a tap replaced in between makes the change
    /// fail with ENODEV, and then it is looked up.
    checked_taps: HashMap<String, FoundTap>,
    /// When the check was; older ones are not trusted (see [`CHECK_FRESH`]).
    checked_at: Instant,
}

impl Host {
    fn check_all(&mut self, targets: &[Target]) -> Vec<Result<Checked, EndpointError>> {
        let taps: Vec<&str> = targets
            .iter()
            .filter_map(|t| match t {
                Target::Tap(name) => Some(name.as_str()),
                Target::Netns(_) => None,
            })
            .collect();
        let mut tap_links = self.rtnl.links(&taps).into_iter();
        self.checked_taps.clear();
        self.checked_at = Instant::now();
        targets
            .iter()
            .map(|target| match target {
                Target::Netns(path) => Netns::open(path).map(|_| Checked { tap_up: None }),
                Target::Tap(name) => match tap_links.next() {
                    Some(Ok(Some(link))) => {
                        tap_usable(name, &link)?;
                        self.checked_taps.insert(name.clone(), FoundTap::of(&link));
                        let tap_up = if link.up {
                            IfIndex::new(link.index)
                        } else {
                            None
                        };
                        Ok(Checked { tap_up })
                    }
                    Some(Ok(None)) => Err(EndpointError::MissingInterface {
                        interface: name.clone(),
                    }),
                    Some(Err(e)) => Err(e.while_doing(format!("look up interface {name}"))),
                    None => Err(no_answer(format!("look up interface {name}"))),
                },
            })
            .collect()
    }

    fn wire_all(
        &mut self,
        endpoints: &[(Endpoint, Option<Prepared>)],
    ) -> Vec<Result<IfIndex, EndpointError>> {
        let mut results: Vec<Option<Result<IfIndex, EndpointError>>> =
            endpoints.iter().map(|_| None).collect();
        let all: Vec<&Endpoint> = endpoints.iter().map(|(e, _)| e).collect();
        self.wire_taps(&all, &mut results);
        for ((endpoint, prepared), result) in endpoints.iter().zip(&mut results) {
            if let Attachment::Netns { path } = &endpoint.attachment {
                let prepared = match prepared {
                    Some(prepared) => Ok(*prepared),
                    None => self.prepare_container(endpoint, path),
                };
                *result = Some(prepared.and_then(|p| self.finish_container(endpoint, p)));
            }
        }
        endpoints
            .iter()
            .zip(results)
            .map(|((e, _), r)| r.unwrap_or_else(|| Err(no_answer(format!("wire {}", e.name)))))
            .collect()
    }

    /// Every tap of `endpoints`: one datagram of lookups (unless a check
    /// just found them), one of changes.
    fn wire_taps(
        &mut self,
        endpoints: &[&Endpoint],
        results: &mut [Option<Result<IfIndex, EndpointError>>],
    ) {
        let taps: Vec<usize> = (0..endpoints.len())
            .filter(|&i| endpoints[i].attachment == Attachment::Tap)
            .collect();
        let mut checked = std::mem::take(&mut self.checked_taps);
        if self.checked_at.elapsed() > CHECK_FRESH {
            checked.clear();
        }
        let (known, unknown): (Vec<usize>, Vec<usize>) = taps
            .into_iter()
            .partition(|&i| checked.contains_key(&endpoints[i].interface));
        let mut found: Vec<(usize, FoundTap)> = known
            .iter()
            .filter_map(|&i| Some((i, *checked.get(&endpoints[i].interface)?)))
            .collect();
        found.extend(self.look_up_taps(endpoints, &unknown, results));
        let answers = self.set_up_taps(endpoints, &found);
        let mut replaced = Vec::new();
        for (&(i, tap), answer) in found.iter().zip(answers) {
            match answer {
                // Replaced since the check: looked up again below.
                Err(e)
                    if e.errno() == Some(Errno::ENODEV)
                        && checked.contains_key(&endpoints[i].interface) =>
                {
                    replaced.push(i);
                }
                answer => results[i] = Some(self.tap_result(endpoints[i], tap.index, answer)),
            }
        }
        let found = self.look_up_taps(endpoints, &replaced, results);
        let answers = self.set_up_taps(endpoints, &found);
        for (&(i, tap), answer) in found.iter().zip(answers) {
            results[i] = Some(self.tap_result(endpoints[i], tap.index, answer));
        }
    }

    /// The taps `which` of `endpoints` as the kernel has them; those that
    /// cannot be used get their error in `results`.
    fn look_up_taps(
        &mut self,
        endpoints: &[&Endpoint],
        which: &[usize],
        results: &mut [Option<Result<IfIndex, EndpointError>>],
    ) -> Vec<(usize, FoundTap)> {
        let names: Vec<&str> = which
            .iter()
            .map(|&i| endpoints[i].interface.as_str())
            .collect();
        let links = self.rtnl.links(&names);
        let mut found = Vec::with_capacity(which.len());
        for (&i, link) in which.iter().zip(links) {
            let name = &endpoints[i].interface;
            let usable = match link {
                Ok(Some(link)) => tap_usable(name, &link).map(|()| FoundTap::of(&link)),
                Ok(None) => Err(EndpointError::MissingInterface {
                    interface: name.clone(),
                }),
                Err(e) => Err(e.while_doing(format!("look up interface {name}"))),
            };
            match usable {
                Ok(tap) => found.push((i, tap)),
                Err(e) => results[i] = Some(Err(e)),
            }
        }
        found
    }

    /// Proxy ARP on where it is off (see [`sysctl::set_proxy_arp`] for
    /// why not by netlink), then every tap up, in one request. A tap that
    /// is up already (libvirt and nova make them up) costs the kernel
    /// little; the request, addressed by index, is what tells a tap
    /// replaced since the lookup (ENODEV). A tap whose sysctl is gone was
    /// deleted since it was looked up: ENODEV too.
    fn set_up_taps(
        &mut self,
        endpoints: &[&Endpoint],
        taps: &[(usize, FoundTap)],
    ) -> Vec<Result<(), RtnlError>> {
        let proxied: Vec<Option<RtnlError>> = taps
            .iter()
            .map(|&(i, tap)| {
                if tap.proxy_arp {
                    return None;
                }
                let interface = endpoints.get(i).map_or("", |e| e.interface.as_str());
                sysctl::set_proxy_arp(interface, true).err().map(|e| {
                    if e.kind() == io::ErrorKind::NotFound {
                        RtnlError::Kernel(Errno::ENODEV)
                    } else {
                        RtnlError::Io(e)
                    }
                })
            })
            .collect();
        let requests = taps
            .iter()
            .zip(&proxied)
            .filter(|(_, failed)| failed.is_none())
            .map(|(&(_, tap), _)| (messages::up(tap.index), Expect::Ack(0)))
            .collect();
        let mut answers = self.rtnl.batch(requests).into_iter();
        proxied
            .into_iter()
            .map(|failed| match failed {
                Some(e) => Err(e),
                None => answers.next().unwrap_or(Err(RtnlError::NoAnswer)).map(drop),
            })
            .collect()
    }

    fn tap_result(
        &self,
        endpoint: &Endpoint,
        index: u32,
        answer: Result<(), RtnlError>,
    ) -> Result<IfIndex, EndpointError> {
        let name = &endpoint.interface;
        answer
            .map_err(|e| e.while_doing(format!("set {name} up with proxy ARP")))
            .and_then(|()| ifindex(index, name))
    }

    /// The pair made (or the one there kept) and its inside configured;
    /// the host end stays down.
    fn prepare_container(
        &mut self,
        endpoint: &Endpoint,
        path: &Path,
    ) -> Result<Prepared, EndpointError> {
        let netns = Netns::open(path)?;
        let name = &endpoint.interface;
        let existing = self
            .rtnl
            .link(name)
            .map_err(|e| e.while_doing(format!("look up interface {name}")))?;
        let (index, created) = match existing {
            Some(link) if !link.is_veth() => {
                return Err(EndpointError::InterfaceConflict {
                    interface: name.clone(),
                    kind: link.kind.unwrap_or_else(|| "device".into()),
                });
            }
            Some(link) if self.peer_in(&link, &netns)? => (link.index, false),
            // A veth of ours whose peer is elsewhere: left from an endpoint
            // that had this address before.
            Some(link) => {
                self.delete(link.index, name)?;
                (self.create_veth(name, &netns)?, true)
            }
            None => (self.create_veth(name, &netns)?, true),
        };
        // Inside first, the host end last: a host end that is up with a
        // carrier (eth0 up too) is an endpoint whose wiring completed, and
        // whatever a crash interrupts before shows as not wired.
        let prepared = Prepared { index, created };
        netns
            .configure(endpoint.address, endpoint.gateway)
            .map_err(|e| self.undo(prepared, name, e))?;
        Ok(prepared)
    }

    /// The host end of a prepared pair: no IPv6, proxy ARP, up.
    fn finish_container(
        &mut self,
        endpoint: &Endpoint,
        prepared: Prepared,
    ) -> Result<IfIndex, EndpointError> {
        let name = &endpoint.interface;
        let sysctl_error = |path, error| EndpointError::Sysctl { path, error };
        sysctl::disable_ipv6(name)
            .map_err(|e| sysctl_error(sysctl::ipv6_path(name), e))
            .and_then(|()| {
                sysctl::set_proxy_arp(name, true)
                    .map_err(|e| sysctl_error(sysctl::proxy_arp_path(name), e))
            })
            .and_then(|()| {
                self.rtnl
                    .change(messages::up(prepared.index), 0)
                    .map_err(|e| e.while_doing(format!("set {name} up")))
            })
            .map_err(|e| self.undo(prepared, name, e))?;
        ifindex(prepared.index, name)
    }

    /// After a failure: deletes the pair if this wiring made it, and
    /// returns the error. Best effort: what is left is an owned link the
    /// reconciler removes.
    fn undo(&mut self, prepared: Prepared, name: &str, error: EndpointError) -> EndpointError {
        if prepared.created {
            let _ = self.delete(prepared.index, name);
        }
        error
    }

    /// Makes the pair and returns the host end's index.
    fn create_veth(&mut self, name: &str, netns: &Netns) -> Result<u32, EndpointError> {
        let request = messages::create_veth(name, CONTAINER_INTERFACE, netns.fd());
        match self.rtnl.change(request, NLM_F_CREATE | NLM_F_EXCL) {
            Ok(()) => {}
            // `name` was free a moment ago, so the name taken is eth0.
            Err(e) if e.errno() == Some(Errno::EEXIST) => {
                return Err(EndpointError::ContainerInterfaceExists {
                    path: netns.path().into(),
                });
            }
            Err(e) => {
                return Err(e.while_doing(format!(
                    "create veth {name} with peer {CONTAINER_INTERFACE} in {}",
                    netns.path().display()
                )));
            }
        }
        match self.rtnl.link(name) {
            Ok(Some(link)) => Ok(link.index),
            Ok(None) => {
                Err(RtnlError::Kernel(Errno::ENODEV)
                    .while_doing(format!("find the new veth {name}")))
            }
            Err(e) => Err(e.while_doing(format!("find the new veth {name}"))),
        }
    }

    /// Whether the veth's peer lives in `netns`.
    fn peer_in(&mut self, link: &Link, netns: &Netns) -> Result<bool, EndpointError> {
        let Some(peer) = link.peer_netnsid else {
            return Ok(false);
        };
        let answer = self
            .rtnl
            .get(messages::get_netnsid(netns.fd()))
            .map_err(|e| {
                e.while_doing(format!(
                    "identify network namespace {}",
                    netns.path().display()
                ))
            })?;
        Ok(messages::netnsid(&answer) == Some(peer))
    }

    fn unwire(&mut self, endpoint: &Endpoint) -> Result<(), EndpointError> {
        let name = &endpoint.interface;
        match &endpoint.attachment {
            Attachment::Netns { .. } => self.delete_veth(name),
            Attachment::Tap => match sysctl::set_proxy_arp(name, false) {
                // The tap is gone, and its setting with it.
                Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(()),
                Err(error) => Err(EndpointError::Sysctl {
                    path: sysctl::proxy_arp_path(name),
                    error,
                }),
                Ok(()) => Ok(()),
            },
        }
    }

    /// Deletes the veth `name` (and so its peer) if it is one of ours.
    fn delete_veth(&mut self, name: &str) -> Result<(), EndpointError> {
        if !is_veth_name(name) {
            return Ok(());
        }
        let link = self
            .rtnl
            .link(name)
            .map_err(|e| e.while_doing(format!("look up interface {name}")))?;
        match link {
            Some(link) if link.is_veth() => self.delete(link.index, name),
            _ => Ok(()),
        }
    }

    fn delete(&mut self, index: u32, name: &str) -> Result<(), EndpointError> {
        match self.rtnl.change(messages::delete_link(index), 0) {
            Err(e) if e.errno() != Some(Errno::ENODEV) => {
                Err(e.while_doing(format!("delete interface {name}")))
            }
            _ => Ok(()),
        }
    }

    fn links(&mut self) -> Result<Vec<Link>, EndpointError> {
        self.rtnl
            .dump_links(Some)
            .map_err(|e| e.while_doing("list the host's interfaces"))
    }

    /// The endpoint's interface if `link` is its host end, wired: up with
    /// proxy ARP; for a container also a veth with a carrier (so eth0 is
    /// up: the host end comes up only after the inside is configured) whose
    /// peer is in the endpoint's namespace. A tap has a carrier only while
    /// its VM runs, so that is not asked of it.
    fn wired_at(&mut self, endpoint: &Endpoint, link: Option<&Link>) -> Option<IfIndex> {
        let link = link.filter(|l| l.up && l.proxy_arp == Some(true))?;
        if let Attachment::Netns { path } = &endpoint.attachment {
            if !link.is_veth() || !link.carrier {
                return None;
            }
            let netns = Netns::open(path).ok()?;
            if !self.peer_in(link, &netns).ok()? {
                return None;
            }
        }
        IfIndex::new(link.index)
    }
}

/// What a lookup found of a tap: its index, and whether its proxy ARP is
/// on already (an add retried, or a tap whose VM was an endpoint before).
#[derive(Clone, Copy, Debug)]
struct FoundTap {
    index: u32,
    proxy_arp: bool,
}

impl FoundTap {
    fn of(link: &Link) -> FoundTap {
        FoundTap {
            index: link.index,
            proxy_arp: link.proxy_arp == Some(true),
        }
    }
}

/// A tap that is a bridge port is switched, not routed: the endpoint would
/// never reach the gateway through it.
fn tap_usable(name: &str, link: &Link) -> Result<(), EndpointError> {
    match link.controller {
        Some(controller) => Err(EndpointError::TapInBridge {
            interface: name.into(),
            controller,
        }),
        None => Ok(()),
    }
}

fn ifindex(index: u32, name: &str) -> Result<IfIndex, EndpointError> {
    IfIndex::new(index).ok_or_else(|| no_answer(format!("find the index of {name}")))
}

fn no_answer(action: String) -> EndpointError {
    EndpointError::Netlink {
        action,
        failure: Failure::NoAnswer,
    }
}

fn first<T>(results: Vec<Result<T, EndpointError>>) -> Result<T, EndpointError> {
    results
        .into_iter()
        .next()
        .unwrap_or_else(|| Err(no_answer("wire".into())))
}
