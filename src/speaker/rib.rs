//! The routes accepted from all neighbors, the multipath choice that turns
//! them into one kernel route per prefix, and the receipt of which of those
//! the kernel holds.
//!
//! A host learns little (a default route per leaf), but a leaf that leaks a
//! full table must not hurt it: with an accept-all policy a million prefixes
//! land here. So IPv4 prefixes are keyed by their 5 octets in a map of their
//! own, an entry is 16 octets (a prefix with one path stores the neighbor
//! and a pointer to attributes shared by every prefix of the UPDATE that
//! carried them inline, flags included), and the prefixes whose kernel
//! route must change wait in a list, each once, not in a second map.

use std::collections::{HashMap, VecDeque};
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::Arc;

use bgp::Asn;
use ipnet::{IpNet, Ipv4Net, Ipv6Net};

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

impl PathAttrs {
    fn next_hop(&self) -> NextHop {
        NextHop {
            address: self.next_hop,
            ifindex: self.next_hop_ifindex,
        }
    }
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

/// What the RIB remembers of a prefix besides its paths.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Flags(u8);

impl Flags {
    /// The kernel holds the daemon's learned route for the prefix.
    const INSTALLED: u8 = 1;
    /// The prefix is in the pending list: its kernel route must change.
    const QUEUED: u8 = 2;
    /// Found in the kernel by the check under way.
    const SEEN: u8 = 4;

    fn has(self, flag: u8) -> bool {
        self.0 & flag != 0
    }

    fn set(&mut self, flag: u8, on: bool) {
        if on {
            self.0 |= flag;
        } else {
            self.0 &= !flag;
        }
    }
}

/// A prefix's paths and flags, 16 octets: the fields of the one-path case
/// sit beside the enum's tag.
#[derive(Debug)]
enum Entry {
    One {
        neighbor: NeighborIdx,
        flags: Flags,
        attrs: Arc<PathAttrs>,
    },
    Many {
        flags: Flags,
        // A thin pointer: with a `Vec` (three words) inline, every entry
        // would grow by half for the rare prefix with several paths.
        #[expect(clippy::box_collection, reason = "keeps Entry at 16 octets")]
        paths: Box<Vec<Path>>,
    },
    /// Every path withdrawn, the kernel route not yet removed: kept until
    /// the kernel is told, so that the receipt is not lost before.
    Gone { flags: Flags },
}

impl Entry {
    fn flags(&self) -> Flags {
        match self {
            Entry::One { flags, .. } | Entry::Many { flags, .. } | Entry::Gone { flags } => *flags,
        }
    }

    fn flags_mut(&mut self) -> &mut Flags {
        match self {
            Entry::One { flags, .. } | Entry::Many { flags, .. } | Entry::Gone { flags } => flags,
        }
    }

    fn has_path(&self, neighbor: NeighborIdx) -> bool {
        match self {
            Entry::One { neighbor: n, .. } => *n == neighbor,
            Entry::Many { paths, .. } => paths.iter().any(|p| p.neighbor == neighbor),
            Entry::Gone { .. } => false,
        }
    }

    /// Every path, as `(neighbor, attributes)`.
    fn paths(&self) -> impl Iterator<Item = (NeighborIdx, &Arc<PathAttrs>)> {
        let (one, many) = match self {
            Entry::One {
                neighbor, attrs, ..
            } => (Some((*neighbor, attrs)), &[][..]),
            Entry::Many { paths, .. } => (None, paths.as_slice()),
            Entry::Gone { .. } => (None, &[][..]),
        };
        one.into_iter()
            .chain(many.iter().map(|p| (p.neighbor, &p.attrs)))
    }

    /// The multipath next hops, sorted; empty if none.
    fn next_hops(&self) -> Vec<NextHop> {
        if let Entry::One { attrs, .. } = self {
            return vec![attrs.next_hop()];
        }
        let Entry::Many { paths, .. } = self else {
            return Vec::new();
        };
        let Some(best) = paths.iter().map(Path::preference).min() else {
            return Vec::new();
        };
        let mut hops: Vec<NextHop> = paths
            .iter()
            .filter(|p| p.preference() == best)
            .map(|p| p.attrs.next_hop())
            .collect();
        hops.sort();
        hops.dedup();
        hops
    }

    /// Add or replace `neighbor`'s path.
    fn put(&mut self, path: Path) -> Put {
        let flags = self.flags();
        let (put, next) = match std::mem::replace(self, Entry::Gone { flags }) {
            Entry::Gone { flags } => (
                Put::Added,
                Entry::One {
                    neighbor: path.neighbor,
                    flags,
                    attrs: path.attrs,
                },
            ),
            Entry::One {
                neighbor,
                flags,
                attrs: _,
            } if neighbor == path.neighbor => (
                Put::Replaced,
                Entry::One {
                    neighbor,
                    flags,
                    attrs: path.attrs,
                },
            ),
            Entry::One {
                neighbor,
                flags,
                attrs,
            } => (
                Put::Added,
                Entry::Many {
                    flags,
                    paths: Box::new(vec![Path { neighbor, attrs }, path]),
                },
            ),
            Entry::Many { flags, mut paths } => {
                let put = match paths.iter_mut().find(|p| p.neighbor == path.neighbor) {
                    Some(p) => {
                        *p = path;
                        Put::Replaced
                    }
                    None => {
                        paths.push(path);
                        Put::Added
                    }
                };
                (put, Entry::Many { flags, paths })
            }
        };
        *self = next;
        put
    }

    /// Remove `neighbor`'s path; whether it had one.
    fn take(&mut self, neighbor: NeighborIdx) -> bool {
        let flags = self.flags();
        match self {
            Entry::One { neighbor: n, .. } if *n == neighbor => {
                *self = Entry::Gone { flags };
                true
            }
            Entry::Many { paths, .. } => {
                let len = paths.len();
                paths.retain(|p| p.neighbor != neighbor);
                if paths.len() == len {
                    return false;
                }
                if let [last] = paths.as_mut_slice() {
                    *self = Entry::One {
                        neighbor: last.neighbor,
                        flags,
                        attrs: last.attrs.clone(),
                    };
                }
                true
            }
            Entry::One { .. } | Entry::Gone { .. } => false,
        }
    }
}

enum Put {
    Added,
    Replaced,
}

/// One next hop of a kernel route.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NextHop {
    pub address: IpAddr,
    pub ifindex: Option<u32>,
}

/// What the kernel holds of a prefix, as a check of the kernel found it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Claim {
    /// No path wants the prefix: the kernel's learned route for it is stale.
    Unwanted,
    /// Paths want it; the route is now counted as installed, and whether
    /// the RIB believed so before.
    Wanted { was_installed: bool },
}

/// The routes of one family.
#[derive(Debug)]
struct Table<K> {
    entries: HashMap<K, Entry>,
}

impl<K> Default for Table<K> {
    fn default() -> Self {
        Table {
            entries: HashMap::new(),
        }
    }
}

impl<K: Copy + Eq + Hash> Table<K> {
    /// Drop an entry, and give memory back once the map is mostly empty, so
    /// that a full table gone (its session down) does not keep its size.
    fn remove(&mut self, key: &K) {
        self.entries.remove(key);
        let len = self.entries.len();
        if self.entries.capacity() > 1024 && len < self.entries.capacity() / 4 {
            self.entries.shrink_to(len * 2);
        }
    }
}

#[derive(Default, Debug)]
pub struct Rib {
    v4: Table<Ipv4Net>,
    v6: Table<Ipv6Net>,
    /// Prefixes whose kernel route must change, each once (`Flags::QUEUED`),
    /// first come first written: a full table sent in order is installed in
    /// order, which the kernel's trie takes best (newest first, a leaked
    /// full table cost about two seconds more, in repeated resizes of the
    /// trie near its end; BENCHMARKS.md).
    pending: VecDeque<IpNet>,
    /// Paths held per neighbor: its accepted-prefix count.
    counts: HashMap<NeighborIdx, u64>,
}

impl Rib {
    /// Prefixes with at least one path.
    pub fn len(&self) -> usize {
        self.entries()
            .filter(|(_, e)| !matches!(e, Entry::Gone { .. }))
            .count()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn entry(&self, prefix: &IpNet) -> Option<&Entry> {
        match prefix {
            IpNet::V4(p) => self.v4.entries.get(p),
            IpNet::V6(p) => self.v6.entries.get(p),
        }
    }

    fn entry_mut(&mut self, prefix: &IpNet) -> Option<&mut Entry> {
        match prefix {
            IpNet::V4(p) => self.v4.entries.get_mut(p),
            IpNet::V6(p) => self.v6.entries.get_mut(p),
        }
    }

    fn entries(&self) -> impl Iterator<Item = (IpNet, &Entry)> {
        let v4 = self.v4.entries.iter().map(|(p, e)| (IpNet::V4(*p), e));
        let v6 = self.v6.entries.iter().map(|(p, e)| (IpNet::V6(*p), e));
        v4.chain(v6)
    }

    /// Put `prefix` on the pending list, once.
    fn queue(&mut self, prefix: IpNet) {
        let Some(entry) = self.entry_mut(&prefix) else {
            return;
        };
        let flags = entry.flags_mut();
        if !flags.has(Flags::QUEUED) {
            flags.set(Flags::QUEUED, true);
            self.pending.push_back(prefix);
        }
    }

    /// Add or replace `neighbor`'s path for `prefix` (RFC 4271 §9: a new
    /// announcement implicitly withdraws the previous one from that
    /// neighbor). The prefix is queued for the kernel if its multipath set
    /// changed.
    pub fn announce(&mut self, prefix: IpNet, path: Path) {
        let neighbor = path.neighbor;
        let gone = Entry::Gone {
            flags: Flags::default(),
        };
        let entry = match prefix {
            IpNet::V4(p) => self.v4.entries.entry(p).or_insert(gone),
            IpNet::V6(p) => self.v6.entries.entry(p).or_insert(gone),
        };
        let (put, changed) = match entry {
            // The common cases without building next-hop sets: a new
            // prefix, and a neighbor's only path replaced.
            Entry::Gone { .. } => (entry.put(path), true),
            Entry::One {
                neighbor: n, attrs, ..
            } if *n == neighbor => {
                let moved = attrs.next_hop() != path.attrs.next_hop();
                (entry.put(path), moved)
            }
            _ => {
                let before = entry.next_hops();
                let put = entry.put(path);
                (put, entry.next_hops() != before)
            }
        };
        if matches!(put, Put::Added) {
            *self.counts.entry(neighbor).or_default() += 1;
        }
        if changed {
            self.queue(prefix);
        }
    }

    /// Remove `neighbor`'s path for `prefix`, if it had one; the prefix is
    /// queued for the kernel if its multipath set changed.
    pub fn withdraw(&mut self, prefix: IpNet, neighbor: NeighborIdx) {
        let Some(entry) = self.entry_mut(&prefix) else {
            return;
        };
        if !entry.has_path(neighbor) {
            return;
        }
        let before = entry.next_hops();
        entry.take(neighbor);
        // A prefix never installed and now without paths has nothing to
        // tell the kernel.
        let moot = matches!(entry, Entry::Gone { flags } if !flags.has(Flags::INSTALLED));
        let changed = entry.next_hops() != before;
        if let Some(c) = self.counts.get_mut(&neighbor) {
            *c = c.saturating_sub(1);
        }
        if changed && !moot {
            self.queue(prefix);
        }
        self.forget_if_done(prefix);
    }

    /// How many prefixes a neighbor has a path for: its accepted count.
    pub fn accepted(&self, neighbor: NeighborIdx) -> u64 {
        self.counts.get(&neighbor).copied().unwrap_or(0)
    }

    /// Every path of a neighbor whose session went down.
    pub fn drop_neighbor(&mut self, neighbor: NeighborIdx) {
        let prefixes: Vec<IpNet> = self
            .entries()
            .filter(|(_, e)| e.has_path(neighbor))
            .map(|(prefix, _)| prefix)
            .collect();
        for prefix in prefixes {
            self.withdraw(prefix, neighbor);
        }
        self.counts.remove(&neighbor);
    }

    /// The multipath next hops for a prefix, sorted; empty if none.
    pub fn next_hops(&self, prefix: &IpNet) -> Vec<NextHop> {
        self.entry(prefix).map(Entry::next_hops).unwrap_or_default()
    }

    /// Whether the kernel holds the learned route for `prefix`.
    pub fn is_installed(&self, prefix: &IpNet) -> bool {
        self.entry(prefix)
            .is_some_and(|e| e.flags().has(Flags::INSTALLED))
    }

    /// Whether any path wants `prefix`.
    pub fn contains(&self, prefix: &IpNet) -> bool {
        self.entry(prefix)
            .is_some_and(|e| !matches!(e, Entry::Gone { .. }))
    }

    /// Queue `prefix` for the kernel although its paths did not change (the
    /// host gave up its own route for it, or the kernel lost it).
    pub fn requeue(&mut self, prefix: IpNet) {
        if self.contains(&prefix) {
            self.queue(prefix);
        }
    }

    /// Up to `limit` prefixes whose kernel route must change, taken off the
    /// pending list; each must be answered with [`Rib::set_installed`].
    pub fn take_pending(&mut self, limit: usize) -> Vec<IpNet> {
        let batch = self
            .pending
            .drain(..limit.min(self.pending.len()))
            .collect();
        if self.pending.capacity() > 4096 && self.pending.len() < self.pending.capacity() / 4 {
            self.pending.shrink_to(self.pending.len() * 2);
        }
        batch
    }

    /// Record whether the kernel holds the learned route for `prefix` now;
    /// takes it off the pending list.
    pub fn set_installed(&mut self, prefix: &IpNet, installed: bool) {
        if let Some(e) = self.entry_mut(prefix) {
            let flags = e.flags_mut();
            flags.set(Flags::INSTALLED, installed);
            flags.set(Flags::QUEUED, false);
        }
        self.forget_if_done(*prefix);
    }

    /// The kernel no longer holds the learned route for `prefix`: the host
    /// took the prefix for a route of its own.
    pub fn uninstalled(&mut self, prefix: &IpNet) {
        if let Some(e) = self.entry_mut(prefix) {
            e.flags_mut().set(Flags::INSTALLED, false);
        }
        self.forget_if_done(*prefix);
    }

    /// An entry without paths stays only until the kernel has been told.
    fn forget_if_done(&mut self, prefix: IpNet) {
        let done = matches!(
            self.entry(&prefix),
            Some(Entry::Gone { flags }) if !flags.has(Flags::INSTALLED) && !flags.has(Flags::QUEUED)
        );
        if done {
            match prefix {
                IpNet::V4(p) => self.v4.remove(&p),
                IpNet::V6(p) => self.v6.remove(&p),
            }
        }
    }

    /// A learned route found in the kernel by a check: whether paths want
    /// it. A wanted one is marked seen and counted as installed (it carries
    /// the daemon's learned tag: a route of an earlier moment of this run).
    pub fn claim(&mut self, prefix: &IpNet) -> Claim {
        match self.entry_mut(prefix) {
            None | Some(Entry::Gone { .. }) => Claim::Unwanted,
            Some(entry) => {
                let flags = entry.flags_mut();
                let was_installed = flags.has(Flags::INSTALLED);
                flags.set(Flags::SEEN, true);
                flags.set(Flags::INSTALLED, true);
                Claim::Wanted { was_installed }
            }
        }
    }

    /// Ends a check of the kernel: prefixes counted as installed but not
    /// seen there were removed behind the daemon's back; they are counted
    /// as not installed and queued. With `complete` false (the dump was
    /// interrupted) nothing is concluded. Returns the prefixes queued.
    pub fn end_check(&mut self, complete: bool) -> usize {
        let mut lost = Vec::new();
        for (prefix, entry) in self
            .v4
            .entries
            .iter_mut()
            .map(|(p, e)| (IpNet::V4(*p), e))
            .chain(self.v6.entries.iter_mut().map(|(p, e)| (IpNet::V6(*p), e)))
        {
            let flags = entry.flags_mut();
            if complete
                && flags.has(Flags::INSTALLED)
                && !flags.has(Flags::SEEN)
                && !matches!(entry, Entry::Gone { .. })
            {
                entry.flags_mut().set(Flags::INSTALLED, false);
                lost.push(prefix);
            }
            entry.flags_mut().set(Flags::SEEN, false);
        }
        let count = lost.len();
        for prefix in lost {
            self.queue(prefix);
        }
        count
    }

    /// Every path with its prefix and whether that prefix is installed.
    pub fn iter(&self) -> impl Iterator<Item = (IpNet, Path, bool)> {
        self.entries().flat_map(|(prefix, e)| {
            let installed = e.flags().has(Flags::INSTALLED);
            e.paths().map(move |(neighbor, attrs)| {
                (
                    prefix,
                    Path {
                        neighbor,
                        attrs: attrs.clone(),
                    },
                    installed,
                )
            })
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

    fn hops(rib: &Rib, prefix: &IpNet) -> Vec<String> {
        rib.next_hops(prefix)
            .iter()
            .map(|h| h.address.to_string())
            .collect()
    }

    /// What the kernel writer would take now, answered as installed.
    fn write(rib: &mut Rib) -> Vec<IpNet> {
        let batch = rib.take_pending(usize::MAX);
        for prefix in &batch {
            let wanted = !rib.next_hops(prefix).is_empty();
            rib.set_installed(prefix, wanted);
        }
        batch
    }

    #[test]
    fn two_leaves_with_equal_paths_give_one_ecmp_route() {
        let mut rib = Rib::default();
        let default: IpNet = "0.0.0.0/0".parse().unwrap();
        rib.announce(default, path(0, "192.168.11.0", &[65011]));
        assert_eq!(hops(&rib, &default), ["192.168.11.0"]);
        assert_eq!(write(&mut rib), [default]);
        rib.announce(default, path(1, "192.168.12.0", &[65012]));
        assert_eq!(hops(&rib, &default), ["192.168.11.0", "192.168.12.0"]);
        assert_eq!(write(&mut rib), [default]);
        assert_eq!(
            (rib.accepted(NeighborIdx(0)), rib.accepted(NeighborIdx(1))),
            (1, 1)
        );
        // The same path again changes nothing in the kernel.
        rib.announce(default, path(1, "192.168.12.0", &[65012]));
        assert!(write(&mut rib).is_empty());
        rib.drop_neighbor(NeighborIdx(0));
        assert_eq!(hops(&rib, &default), ["192.168.12.0"]);
        assert_eq!(write(&mut rib), [default]);
        rib.withdraw(default, NeighborIdx(1));
        // The receipt stays until the kernel has been told.
        assert!(rib.is_installed(&default));
        assert_eq!(write(&mut rib), [default]);
        assert!(rib.is_empty());
        assert!(!rib.is_installed(&default));
        assert_eq!(rib.accepted(NeighborIdx(1)), 0);
    }

    #[test]
    fn shorter_as_path_wins_over_multipath() {
        // RFC 4271 §9.1.2.2 (a): the shorter AS_PATH is preferred.
        let mut rib = Rib::default();
        let p: IpNet = "0.0.0.0/0".parse().unwrap();
        rib.announce(p, path(0, "192.168.11.0", &[65011, 65100]));
        rib.announce(p, path(1, "192.168.12.0", &[65012]));
        assert_eq!(hops(&rib, &p), ["192.168.12.0"]);
    }

    #[test]
    fn a_new_announcement_replaces_the_neighbors_previous_path() {
        // RFC 4271 §9: an UPDATE for a known prefix replaces the old route.
        let mut rib = Rib::default();
        let p: IpNet = "0.0.0.0/0".parse().unwrap();
        rib.announce(p, path(0, "192.168.11.0", &[65011]));
        write(&mut rib);
        rib.announce(p, path(0, "192.168.11.4", &[65011]));
        assert_eq!(hops(&rib, &p), ["192.168.11.4"]);
        assert_eq!(write(&mut rib), [p]);
        assert_eq!(rib.iter().count(), 1);
        assert_eq!(rib.accepted(NeighborIdx(0)), 1);
        // Other attributes, same next hop: nothing for the kernel.
        rib.announce(p, path(0, "192.168.11.4", &[65011, 65012]));
        assert!(write(&mut rib).is_empty());
    }

    #[test]
    fn withdrawing_an_unknown_path_changes_nothing() {
        let mut rib = Rib::default();
        let p: IpNet = "0.0.0.0/0".parse().unwrap();
        rib.withdraw(p, NeighborIdx(3));
        rib.announce(p, path(0, "192.168.11.0", &[65011]));
        rib.withdraw(p, NeighborIdx(3));
        rib.announce(p, path(1, "192.168.12.0", &[65012]));
        write(&mut rib);
        rib.withdraw(p, NeighborIdx(3));
        assert!(write(&mut rib).is_empty());
        assert_eq!(rib.accepted(NeighborIdx(0)), 1);
    }

    #[test]
    fn a_prefix_is_pending_once_however_often_it_changes() {
        let mut rib = Rib::default();
        let p: IpNet = "10.0.0.0/8".parse().unwrap();
        rib.announce(p, path(0, "192.168.11.0", &[65011]));
        rib.announce(p, path(0, "192.168.11.4", &[65011]));
        rib.withdraw(p, NeighborIdx(0));
        rib.announce(p, path(0, "192.168.11.8", &[65011]));
        assert_eq!(rib.take_pending(10), [p]);
        assert!(rib.take_pending(10).is_empty());
    }

    #[test]
    fn pending_prefixes_go_to_the_kernel_in_the_order_they_came() {
        let mut rib = Rib::default();
        let prefixes: Vec<IpNet> = (0..5)
            .map(|i| format!("10.{i}.0.0/16").parse().unwrap())
            .collect();
        for p in &prefixes {
            rib.announce(*p, path(0, "192.168.11.0", &[65011]));
        }
        assert_eq!(rib.take_pending(2), prefixes[..2]);
        assert_eq!(rib.take_pending(10), prefixes[2..]);
    }

    #[test]
    fn a_withdrawn_prefix_never_installed_is_forgotten_at_once() {
        let mut rib = Rib::default();
        let p: IpNet = "10.0.0.0/8".parse().unwrap();
        rib.announce(p, path(0, "192.168.11.0", &[65011]));
        // The kernel refused it.
        assert_eq!(rib.take_pending(10), [p]);
        rib.set_installed(&p, false);
        rib.withdraw(p, NeighborIdx(0));
        assert_eq!(rib.v4.entries.len(), 0);
        assert!(rib.take_pending(10).is_empty());
    }

    #[test]
    fn a_check_requeues_what_the_kernel_lost_and_names_what_it_should_not_have() {
        let mut rib = Rib::default();
        let kept: IpNet = "10.1.0.0/16".parse().unwrap();
        let lost: IpNet = "10.2.0.0/16".parse().unwrap();
        let unknown: IpNet = "10.3.0.0/16".parse().unwrap();
        rib.announce(kept, path(0, "192.168.11.0", &[65011]));
        rib.announce(lost, path(0, "192.168.11.0", &[65011]));
        write(&mut rib);
        assert_eq!(
            rib.claim(&kept),
            Claim::Wanted {
                was_installed: true
            }
        );
        assert_eq!(rib.claim(&unknown), Claim::Unwanted);
        // An interrupted dump concludes nothing.
        assert_eq!(rib.end_check(false), 0);
        assert!(rib.is_installed(&lost));
        rib.claim(&kept);
        assert_eq!(rib.end_check(true), 1);
        assert!(!rib.is_installed(&lost));
        assert!(rib.is_installed(&kept));
        assert_eq!(rib.take_pending(10), [lost]);
    }

    #[test]
    fn a_full_table_given_back_shrinks_the_map() {
        let mut rib = Rib::default();
        let prefixes: Vec<IpNet> = (0..20_000u32)
            .map(|i| IpNet::V4(Ipv4Net::new((i << 8).into(), 24).unwrap()))
            .collect();
        for p in &prefixes {
            rib.announce(*p, path(0, "192.168.11.0", &[65011]));
        }
        write(&mut rib);
        let full = rib.v4.entries.capacity();
        rib.drop_neighbor(NeighborIdx(0));
        write(&mut rib);
        assert!(rib.is_empty());
        assert!(rib.v4.entries.capacity() < full / 8, "{full}");
    }

    #[test]
    fn an_entry_is_sixteen_octets() {
        assert_eq!(std::mem::size_of::<Path>(), 16);
        assert_eq!(std::mem::size_of::<Entry>(), 16);
        assert_eq!(std::mem::size_of::<(Ipv4Net, Entry)>(), 24);
    }
}
