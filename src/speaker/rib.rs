//! The routes accepted from all neighbors, and the multipath choice that
//! turns them into one kernel route per prefix.
//!
//! A host learns little (a default route per leaf), but a leaf that leaks a
//! full table must not hurt it: with an accept-all policy a million prefixes
//! land here. So a path is 16 octets (a neighbor index and a pointer to
//! attributes shared by every prefix of the UPDATE that carried them), and a
//! prefix with one path stores it inline, without a vector.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;

use bgp::Asn;
use ipnet::IpNet;

/// A neighbor, by its position in the configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NeighborIdx(pub u16);

/// What the kernel and `show routes` need of a path's attributes; shared by
/// all prefixes of one UPDATE.
#[derive(Debug, PartialEq, Eq)]
pub struct PathAttrs {
    pub next_hop: IpAddr,
    /// For an IPv6 link-local next hop, the interface it is reachable on.
    pub next_hop_ifindex: Option<u32>,
    pub as_path: Vec<Asn>,
    /// ORIGIN: 0 IGP, 1 EGP, 2 INCOMPLETE (RFC 4271 §5.1.1).
    pub origin: u8,
}

#[derive(Clone, Debug)]
pub struct Path {
    pub neighbor: NeighborIdx,
    pub attrs: Arc<PathAttrs>,
}

impl Path {
    /// RFC 4271 §9.1.2.2 (a)-(c) as far as they apply between eBGP
    /// neighbors in different ASes: shorter AS_PATH, then lower ORIGIN. MED
    /// is only comparable between paths from the same AS, so two leaves of
    /// different ASes with equal keys share the traffic (multipath).
    fn preference(&self) -> (usize, u8) {
        (self.attrs.as_path.len(), self.attrs.origin)
    }
}

#[derive(Debug)]
enum Paths {
    One(Path),
    Many(Vec<Path>),
}

impl Paths {
    fn as_slice(&self) -> &[Path] {
        match self {
            Paths::One(p) => std::slice::from_ref(p),
            Paths::Many(v) => v,
        }
    }
}

#[derive(Debug)]
struct Entry {
    paths: Paths,
    installed: bool,
}

/// One next hop of a kernel route.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NextHop {
    pub address: IpAddr,
    pub ifindex: Option<u32>,
}

/// What the kernel must do for one prefix after a change: install these next
/// hops (ECMP when more than one), or remove the route when empty.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KernelChange {
    pub prefix: IpNet,
    pub next_hops: Vec<NextHop>,
}

#[derive(Default, Debug)]
pub struct Rib {
    entries: HashMap<IpNet, Entry>,
    /// Paths held per neighbor: its accepted-prefix count.
    counts: HashMap<NeighborIdx, u64>,
}

impl Rib {
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Add or replace `neighbor`'s path for `prefix` (RFC 4271 §9: a new
    /// announcement implicitly withdraws the previous one from that
    /// neighbor). Returns the kernel change if the multipath set changed.
    pub fn announce(&mut self, prefix: IpNet, path: Path) -> Option<KernelChange> {
        let before = self.next_hops(&prefix);
        let neighbor = path.neighbor;
        let mut added = true;
        match self.entries.get_mut(&prefix) {
            None => {
                self.entries.insert(
                    prefix,
                    Entry {
                        paths: Paths::One(path),
                        installed: false,
                    },
                );
            }
            Some(entry) => match &mut entry.paths {
                Paths::One(p) if p.neighbor == path.neighbor => {
                    *p = path;
                    added = false;
                }
                Paths::One(p) => {
                    let first = p.clone();
                    entry.paths = Paths::Many(vec![first, path]);
                }
                Paths::Many(v) => match v.iter_mut().find(|p| p.neighbor == path.neighbor) {
                    Some(p) => {
                        *p = path;
                        added = false;
                    }
                    None => v.push(path),
                },
            },
        }
        if added {
            *self.counts.entry(neighbor).or_default() += 1;
        }
        self.change_if_different(prefix, before)
    }

    /// Remove `neighbor`'s path for `prefix`, if it had one.
    pub fn withdraw(&mut self, prefix: IpNet, neighbor: NeighborIdx) -> Option<KernelChange> {
        let before = self.next_hops(&prefix);
        let entry = self.entries.get_mut(&prefix)?;
        match &mut entry.paths {
            Paths::One(p) if p.neighbor == neighbor => {
                self.entries.remove(&prefix);
            }
            Paths::One(_) => return None,
            Paths::Many(v) => {
                let len = v.len();
                v.retain(|p| p.neighbor != neighbor);
                if v.len() == len {
                    return None;
                }
                if v.len() == 1 {
                    let last = v.pop().expect("one path left");
                    entry.paths = Paths::One(last);
                }
            }
        }
        if let Some(c) = self.counts.get_mut(&neighbor) {
            *c = c.saturating_sub(1);
        }
        self.change_if_different(prefix, before)
    }

    /// How many prefixes a neighbor has a path for: its accepted count.
    pub fn accepted(&self, neighbor: NeighborIdx) -> u64 {
        self.counts.get(&neighbor).copied().unwrap_or(0)
    }

    /// Every path of a neighbor whose session went down.
    pub fn drop_neighbor(&mut self, neighbor: NeighborIdx) -> Vec<KernelChange> {
        let prefixes: Vec<IpNet> = self
            .entries
            .iter()
            .filter(|(_, e)| e.paths.as_slice().iter().any(|p| p.neighbor == neighbor))
            .map(|(prefix, _)| *prefix)
            .collect();
        prefixes
            .into_iter()
            .filter_map(|prefix| self.withdraw(prefix, neighbor))
            .collect()
    }

    /// The multipath next hops for a prefix, sorted; empty if none.
    pub fn next_hops(&self, prefix: &IpNet) -> Vec<NextHop> {
        let Some(entry) = self.entries.get(prefix) else {
            return Vec::new();
        };
        let paths = entry.paths.as_slice();
        let Some(best) = paths.iter().map(Path::preference).min() else {
            return Vec::new();
        };
        let mut hops: Vec<NextHop> = paths
            .iter()
            .filter(|p| p.preference() == best)
            .map(|p| NextHop {
                address: p.attrs.next_hop,
                ifindex: p.attrs.next_hop_ifindex,
            })
            .collect();
        hops.sort();
        hops.dedup();
        hops
    }

    /// Every prefix with at least one path.
    pub fn prefixes(&self) -> impl Iterator<Item = &IpNet> {
        self.entries.keys()
    }

    /// Record whether the kernel holds the route for `prefix`.
    pub fn set_installed(&mut self, prefix: &IpNet, installed: bool) {
        if let Some(e) = self.entries.get_mut(prefix) {
            e.installed = installed;
        }
    }

    /// Every path with its prefix and whether that prefix is installed.
    pub fn iter(&self) -> impl Iterator<Item = (&IpNet, &Path, bool)> {
        self.entries.iter().flat_map(|(prefix, e)| {
            e.paths
                .as_slice()
                .iter()
                .map(move |p| (prefix, p, e.installed))
        })
    }

    fn change_if_different(&self, prefix: IpNet, before: Vec<NextHop>) -> Option<KernelChange> {
        let after = self.next_hops(&prefix);
        (after != before).then_some(KernelChange {
            prefix,
            next_hops: after,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(neighbor: u16, next_hop: &str, as_path: &[u32]) -> Path {
        Path {
            neighbor: NeighborIdx(neighbor),
            attrs: Arc::new(PathAttrs {
                next_hop: next_hop.parse().unwrap(),
                next_hop_ifindex: None,
                as_path: as_path.iter().copied().map(Asn).collect(),
                origin: 0,
            }),
        }
    }

    fn hops(change: &KernelChange) -> Vec<String> {
        change
            .next_hops
            .iter()
            .map(|h| h.address.to_string())
            .collect()
    }

    #[test]
    fn two_leaves_with_equal_paths_give_one_ecmp_route() {
        let mut rib = Rib::default();
        let default: IpNet = "0.0.0.0/0".parse().unwrap();
        let first = rib
            .announce(default, path(0, "192.168.11.0", &[65011]))
            .unwrap();
        assert_eq!(hops(&first), ["192.168.11.0"]);
        let second = rib
            .announce(default, path(1, "192.168.12.0", &[65012]))
            .unwrap();
        assert_eq!(hops(&second), ["192.168.11.0", "192.168.12.0"]);
        assert_eq!(
            (rib.accepted(NeighborIdx(0)), rib.accepted(NeighborIdx(1))),
            (1, 1)
        );
        // The same path again changes nothing in the kernel.
        assert_eq!(
            rib.announce(default, path(1, "192.168.12.0", &[65012])),
            None
        );
        let after_down = rib.drop_neighbor(NeighborIdx(0));
        assert_eq!(after_down.len(), 1);
        assert_eq!(hops(&after_down[0]), ["192.168.12.0"]);
        let gone = rib.withdraw(default, NeighborIdx(1)).unwrap();
        assert!(gone.next_hops.is_empty());
        assert!(rib.is_empty());
    }

    #[test]
    fn shorter_as_path_wins_over_multipath() {
        // RFC 4271 §9.1.2.2 (a): the shorter AS_PATH is preferred.
        let mut rib = Rib::default();
        let p: IpNet = "0.0.0.0/0".parse().unwrap();
        rib.announce(p, path(0, "192.168.11.0", &[65011, 65100]));
        let change = rib.announce(p, path(1, "192.168.12.0", &[65012])).unwrap();
        assert_eq!(hops(&change), ["192.168.12.0"]);
    }

    #[test]
    fn a_new_announcement_replaces_the_neighbors_previous_path() {
        // RFC 4271 §9: an UPDATE for a known prefix replaces the old route.
        let mut rib = Rib::default();
        let p: IpNet = "0.0.0.0/0".parse().unwrap();
        rib.announce(p, path(0, "192.168.11.0", &[65011]));
        let change = rib.announce(p, path(0, "192.168.11.4", &[65011])).unwrap();
        assert_eq!(hops(&change), ["192.168.11.4"]);
        assert_eq!(rib.iter().count(), 1);
        assert_eq!(rib.accepted(NeighborIdx(0)), 1);
    }

    #[test]
    fn withdrawing_an_unknown_path_changes_nothing() {
        let mut rib = Rib::default();
        let p: IpNet = "0.0.0.0/0".parse().unwrap();
        assert_eq!(rib.withdraw(p, NeighborIdx(3)), None);
        rib.announce(p, path(0, "192.168.11.0", &[65011]));
        assert_eq!(rib.withdraw(p, NeighborIdx(3)), None);
        rib.announce(p, path(1, "192.168.12.0", &[65012]));
        assert_eq!(rib.withdraw(p, NeighborIdx(3)), None);
        assert_eq!(rib.accepted(NeighborIdx(0)), 1);
    }

    #[test]
    fn a_path_is_sixteen_octets() {
        assert_eq!(std::mem::size_of::<Path>(), 16);
    }
}
