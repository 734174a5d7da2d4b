//! The kernel module against a real kernel: every test makes its own network
//! namespace, runs the netlink calls from a thread inside it, and checks the
//! result with `ip`. Needs root (CAP_SYS_ADMIN for namespaces).

use std::fs::File;
use std::future::Future;
use std::io;
use std::os::fd::AsRawFd;
use std::process::Command;
use std::time::Instant;

use ipnet::IpNet;
use romana_bgp::kernel::{
    AddressChange, Errno, Failure, IfIndex, LinkError, Netlink, NextHop, OwnedRoutes,
    RTPROT_ROMANA, RTPROT_ROMANA_LEARNED, Route, RouteChange, RouteFailure, RouteKey, RouteTable,
    Sweep, WantedRoutes, learned,
};

/// A network namespace that exists as long as this value, also when the
/// test panics.
struct Netns {
    handle: NsHandle,
}

/// Names the namespace for `ip` commands; does not own it.
#[derive(Clone)]
struct NsHandle {
    name: String,
}

impl NsHandle {
    /// `ip -n NS ARGS`; panics unless it succeeds.
    fn ip(&self, args: &str) -> String {
        let mut all = vec!["-n", &self.name];
        all.extend(args.split_whitespace());
        run("ip", &all)
    }
}

impl Netns {
    /// A namespace with `lo` up and two veth pairs, `va`-`vb` and `vc`-`vd`,
    /// whose `va` and `vc` ends are on 192.0.2.0/24 and 198.51.100.0/24
    /// (2001:db8:1::/64 and 2001:db8:2::/64), so .2 of each is a gateway.
    fn new(test: &str) -> Self {
        let name = format!("rbk-{test}-{}", std::process::id());
        run("ip", &["netns", "add", &name]);
        let ns = Self {
            handle: NsHandle { name },
        };
        for command in [
            "link set lo up",
            "link add va type veth peer name vb",
            "link add vc type veth peer name vd",
            "link set va up",
            "link set vb up",
            "link set vc up",
            "link set vd up",
            "address add 192.0.2.1/24 dev va",
            "address add 198.51.100.1/24 dev vc",
            "address add 2001:db8:1::1/64 dev va nodad",
            "address add 2001:db8:2::1/64 dev vc nodad",
        ] {
            ns.ip(command);
        }
        ns
    }

    fn handle(&self) -> NsHandle {
        self.handle.clone()
    }

    fn ip(&self, args: &str) -> String {
        self.handle.ip(args)
    }

    /// Runs `body` with a netlink connection opened inside the namespace.
    fn run<F, Fut>(&self, body: F)
    where
        F: FnOnce(Netlink) -> Fut + Send + 'static,
        Fut: Future<Output = ()>,
    {
        let name = self.handle.name.clone();
        let thread = std::thread::spawn(move || {
            enter_netns(&name);
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("tokio runtime");
            runtime.block_on(async {
                let netlink = Netlink::connect().expect("netlink socket");
                body(netlink).await;
            });
        });
        if let Err(panic) = thread.join() {
            std::panic::resume_unwind(panic);
        }
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "del", &self.handle.name])
            .status();
    }
}

/// Moves the calling thread (only) into the named network namespace, so a
/// netlink socket it opens afterwards belongs to that namespace.
#[allow(unsafe_code)]
fn enter_netns(name: &str) {
    let file = File::open(format!("/run/netns/{name}")).expect("namespace file");
    // SAFETY: setns only reads the descriptor, which `file` keeps open for
    // the duration of the call, and changes nothing but this thread's
    // network namespace.
    let rc = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
    assert_eq!(rc, 0, "setns: {}", io::Error::last_os_error());
}

fn run(program: &str, args: &[&str]) -> String {
    let out = Command::new(program)
        .args(args)
        .output()
        .expect("run command");
    assert!(
        out.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn net(s: &str) -> IpNet {
    s.parse().expect("test prefix")
}

fn hop(gateway: &str) -> NextHop {
    NextHop {
        gateway: gateway.parse().expect("test address"),
        ifindex: None,
    }
}

fn via(prefix: &str, gateways: &[&str]) -> Route {
    Route::via(net(prefix), gateways.iter().map(|g| hop(g)).collect()).expect("valid route")
}

async fn empty_start(netlink: Netlink) -> OwnedRoutes<Netlink> {
    let (owned, report) = OwnedRoutes::start(netlink, &WantedRoutes::new(), Sweep::RemoveStale)
        .await
        .expect("dump");
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    owned
}

#[test]
fn ecmp_route_is_installed_replaced_and_removed() {
    let ns = Netns::new("ecmp");
    let ip = ns.handle();
    ns.run(move |netlink| async move {
        let mut owned = empty_start(netlink).await;

        owned
            .set(via("10.9.0.0/16", &["192.0.2.2", "198.51.100.2"]))
            .await
            .expect("ECMP add");
        let shown = ip.ip("route show 10.9.0.0/16");
        assert!(shown.contains("proto 201"), "{shown}");
        assert_eq!(shown.matches("nexthop via").count(), 2, "{shown}");
        assert!(shown.contains("via 192.0.2.2 dev va"), "{shown}");
        assert!(shown.contains("via 198.51.100.2 dev vc"), "{shown}");

        owned
            .set(via("10.9.0.0/16", &["198.51.100.2"]))
            .await
            .expect("replace with one next hop");
        let shown = ip.ip("route show 10.9.0.0/16");
        assert!(!shown.contains("nexthop"), "{shown}");
        assert!(
            shown.contains("via 198.51.100.2 dev vc proto 201"),
            "{shown}"
        );

        owned.remove(net("10.9.0.0/16")).await.expect("delete");
        assert_eq!(ip.ip("route show 10.9.0.0/16"), "");
    });
}

#[test]
fn ipv6_ecmp_with_a_link_local_next_hop() {
    let ns = Netns::new("ecmp6");
    let ip = ns.handle();
    ns.run(move |netlink| async move {
        let vc = netlink.ifindex("vc").await.expect("vc");
        let mut owned = empty_start(netlink).await;
        let two = Route::via(
            net("2001:db8:99::/48"),
            vec![
                hop("2001:db8:1::2"),
                NextHop {
                    gateway: "fe80::2".parse().expect("address"),
                    ifindex: Some(vc),
                },
            ],
        )
        .expect("valid route");
        owned.set(two).await.expect("ECMP add");
        let shown = ip.ip("-6 route show 2001:db8:99::/48");
        assert!(shown.contains("proto 201"), "{shown}");
        assert!(
            shown.contains("nexthop via 2001:db8:1::2 dev va"),
            "{shown}"
        );
        assert!(shown.contains("nexthop via fe80::2 dev vc"), "{shown}");

        owned
            .set(via("2001:db8:99::/48", &["2001:db8:2::2"]))
            .await
            .expect("replace with one next hop");
        let shown = ip.ip("-6 route show 2001:db8:99::/48");
        assert!(!shown.contains("nexthop"), "{shown}");
        assert!(
            shown.contains("via 2001:db8:2::2 dev vc proto 201"),
            "{shown}"
        );

        owned.remove(net("2001:db8:99::/48")).await.expect("delete");
        assert_eq!(ip.ip("-6 route show 2001:db8:99::/48"), "");
    });
}

#[test]
fn ipv4_route_via_an_ipv6_next_hop() {
    let ns = Netns::new("via6");
    let ip = ns.handle();
    ns.run(move |netlink| async move {
        let mut owned = empty_start(netlink).await;
        let route = via("10.6.0.0/16", &["2001:db8:1::2"]);
        owned.set(route.clone()).await.expect("RFC 8950 route");
        let shown = ip.ip("route show 10.6.0.0/16");
        assert!(
            shown.contains("via inet6 2001:db8:1::2 dev va proto 201"),
            "{shown}"
        );

        // Read back from the kernel, it is the same route: nothing to do.
        let wanted: WantedRoutes = [route].into_iter().collect();
        let report = owned
            .reconcile(&wanted, Sweep::RemoveStale)
            .await
            .expect("dump");
        assert_eq!((report.added, report.replaced, report.deleted), (0, 0, 0));
    });
}

#[test]
fn route_of_another_protocol_is_left_alone() {
    let ns = Netns::new("foreign");
    ns.ip("route add 10.7.0.0/16 via 192.0.2.5 proto static");
    let ip = ns.handle();
    ns.run(move |netlink| async move {
        let ours = via("10.7.0.0/16", &["192.0.2.2"]);
        let wanted: WantedRoutes = [ours.clone()].into_iter().collect();
        let (mut owned, report) = OwnedRoutes::start(netlink, &wanted, Sweep::RemoveStale)
            .await
            .expect("dump");
        assert_eq!(report.errors.len(), 1, "{:?}", report.errors);
        assert_eq!(
            report.errors[0].cause,
            RouteFailure::Conflict { protocol: 4 }
        );
        eprintln!("{}", report.errors[0]);

        // Added while the daemon runs: the kernel refuses, nothing changes.
        let err = owned.set(ours).await.expect_err("conflict");
        assert_eq!(
            err.cause,
            RouteFailure::Netlink(Failure::Kernel {
                errno: Errno::EEXIST,
                message: None
            })
        );

        // Even a delete sent straight to the kernel spares it: the kernel
        // matches the protocol tag.
        let results = owned
            .table()
            .apply(
                RTPROT_ROMANA,
                &[RouteChange::Delete(RouteKey::owned(net("10.7.0.0/16")))],
            )
            .await;
        assert_eq!(results, vec![Ok(())]);
        owned
            .remove(net("10.7.0.0/16"))
            .await
            .expect("nothing to remove");

        let shown = ip.ip("route show 10.7.0.0/16");
        assert!(
            shown.contains("via 192.0.2.5 dev va proto static"),
            "{shown}"
        );
    });
}

#[test]
fn kernel_errors_name_the_prefix_and_errno() {
    let ns = Netns::new("errors");
    ns.run(move |netlink| async move {
        let mut owned = empty_start(netlink).await;
        let err = owned
            .set(via("10.8.0.0/16", &["203.0.113.1"]))
            .await
            .expect_err("gateway not on a connected network");
        eprintln!("{err}");
        let RouteFailure::Netlink(failure) = &err.cause else {
            panic!("kernel error expected: {err}");
        };
        assert_eq!(failure.errno(), Some(Errno(libc::ENETUNREACH)));
        assert!(err.to_string().contains("10.8.0.0/16"), "{err}");
        assert!(!owned.contains(&net("10.8.0.0/16")));
    });
}

#[test]
fn host_aggregate_is_unreachable() {
    let ns = Netns::new("aggregate");
    let ip = ns.handle();
    ns.run(move |netlink| async move {
        let mut owned = empty_start(netlink).await;
        owned
            .set_many([
                Route::unreachable(net("10.1.0.0/16")).expect("valid"),
                Route::unreachable(net("2001:db8:aa::/48")).expect("valid"),
            ])
            .await
            .expect("aggregates");
        let v4 = ip.ip("route show 10.1.0.0/16");
        assert!(v4.contains("unreachable 10.1.0.0/16 proto 201"), "{v4}");
        let v6 = ip.ip("-6 route show 2001:db8:aa::/48");
        assert!(v6.contains("unreachable 2001:db8:aa::/48"), "{v6}");
        assert!(v6.contains("proto 201"), "{v6}");

        owned
            .remove_many([net("10.1.0.0/16"), net("2001:db8:aa::/48")])
            .await
            .expect("delete");
        assert_eq!(ip.ip("route show 10.1.0.0/16"), "");
        assert_eq!(ip.ip("-6 route show 2001:db8:aa::/48"), "");
    });
}

#[test]
fn endpoint_routes_point_at_the_interface() {
    let ns = Netns::new("endpoint");
    let ip = ns.handle();
    ns.run(move |netlink| async move {
        let vb = netlink.ifindex("vb").await.expect("vb");
        let mut owned = empty_start(netlink).await;
        owned
            .set_many([
                Route::interface(net("10.1.0.5/32"), vb).expect("valid"),
                Route::interface(net("2001:db8:aa::5/128"), vb).expect("valid"),
            ])
            .await
            .expect("endpoint routes");
        let v4 = ip.ip("route show 10.1.0.5");
        assert!(v4.contains("10.1.0.5 dev vb proto 201 scope link"), "{v4}");
        let v6 = ip.ip("-6 route show 2001:db8:aa::5");
        assert!(v6.contains("2001:db8:aa::5 dev vb proto 201"), "{v6}");
    });
}

#[test]
fn interface_lookup() {
    let ns = Netns::new("link");
    ns.run(move |netlink| async move {
        assert_eq!(
            netlink.ifindex("lo").await,
            Ok(IfIndex::new(1).expect("nonzero"))
        );
        assert!(netlink.ifindex("va").await.is_ok());
        assert_eq!(
            netlink.ifindex("nosuch0").await,
            Err(LinkError::NotFound {
                name: "nosuch0".into()
            })
        );
        assert!(matches!(
            netlink.ifindex("a/b").await,
            Err(LinkError::InvalidName { .. })
        ));
    });
}

#[test]
fn gateway_address_is_added_and_removed_idempotently() {
    let ns = Netns::new("address");
    ns.ip("address add 10.1.0.2/32 dev lo");
    let ip = ns.handle();
    ns.run(move |netlink| async move {
        let lo = netlink.ifindex("lo").await.expect("lo");
        for address in [net("10.1.0.1/32"), net("2001:db8:aa::1/128")] {
            let add = || netlink.add_owned_address(lo, address);
            assert_eq!(add().await, Ok(AddressChange::Added));
            assert_eq!(add().await, Ok(AddressChange::Unchanged));
            let shown = ip.ip("address show dev lo");
            assert!(shown.contains(&address.to_string()), "{shown}");

            let remove = || netlink.remove_owned_address(lo, address);
            assert_eq!(remove().await, Ok(AddressChange::Removed));
            assert_eq!(remove().await, Ok(AddressChange::Unchanged));
            let shown = ip.ip("address show dev lo");
            assert!(!shown.contains(&address.to_string()), "{shown}");
        }

        // Put there by someone else: used, never removed.
        let theirs = net("10.1.0.2/32");
        assert_eq!(
            netlink.add_owned_address(lo, theirs).await,
            Ok(AddressChange::NotOwned)
        );
        assert_eq!(
            netlink.remove_owned_address(lo, theirs).await,
            Ok(AddressChange::NotOwned)
        );
        let shown = ip.ip("address show dev lo");
        assert!(shown.contains("10.1.0.2/32"), "{shown}");
    });
}

#[test]
fn startup_sweep_removes_stale_routes_and_keeps_foreign_ones() {
    let ns = Netns::new("sweep");
    ns.ip("route add 10.20.0.0/16 via 192.0.2.2 proto 201");
    ns.ip("route add 10.21.0.0/16 via 192.0.2.2 proto 201");
    ns.ip("route add 10.22.0.0/16 via 192.0.2.2 proto static");
    ns.ip("-6 route add 2001:db8:bb::/48 via 2001:db8:1::2 proto 201");
    let ip = ns.handle();
    ns.run(move |netlink| async move {
        let wanted: WantedRoutes = [via("10.21.0.0/16", &["192.0.2.2", "198.51.100.2"])]
            .into_iter()
            .collect();

        // A graceful restart: the previous run's routes keep forwarding.
        let (mut owned, report) = OwnedRoutes::start(netlink, &wanted, Sweep::KeepStale)
            .await
            .expect("dump");
        assert!(report.errors.is_empty(), "{:?}", report.errors);
        assert_eq!(
            (report.replaced, report.kept_stale, report.deleted),
            (1, 2, 0)
        );
        assert!(ip.ip("route show 10.20.0.0/16").contains("proto 201"));

        // The sessions are back: sweep.
        let report = owned
            .reconcile(&wanted, Sweep::RemoveStale)
            .await
            .expect("dump");
        assert!(report.errors.is_empty(), "{:?}", report.errors);
        assert_eq!((report.added, report.replaced, report.deleted), (0, 0, 2));

        assert_eq!(ip.ip("route show 10.20.0.0/16"), "");
        assert_eq!(ip.ip("-6 route show 2001:db8:bb::/48"), "");
        let kept = ip.ip("route show 10.21.0.0/16");
        assert_eq!(kept.matches("nexthop via").count(), 2, "{kept}");
        let foreign = ip.ip("route show 10.22.0.0/16");
        assert!(foreign.contains("proto static"), "{foreign}");
    });
}

#[test]
fn learned_routes_have_their_own_tag_dump_and_sweep() {
    let ns = Netns::new("learned");
    // Left by a killed daemon: a learned route and a host route.
    ns.ip("route add 10.30.0.0/16 via 192.0.2.2 proto 202");
    ns.ip("-6 route add 2001:db8:cc::/48 via 2001:db8:1::2 proto 202");
    ns.ip("route add 10.31.0.0/16 via 192.0.2.2 proto 201");
    ns.ip("route add 10.32.0.0/16 via 192.0.2.2 proto static");
    let ip = ns.handle();
    ns.run(move |netlink| async move {
        // The kernel filters the dump: only the learned routes come.
        let dumped = netlink
            .dump(Some(RTPROT_ROMANA_LEARNED))
            .await
            .expect("dump");
        let mut prefixes: Vec<String> = dumped.iter().map(|r| r.key.prefix.to_string()).collect();
        prefixes.sort();
        assert_eq!(prefixes, ["10.30.0.0/16", "2001:db8:cc::/48"]);
        let host = netlink.dump(Some(RTPROT_ROMANA)).await.expect("dump");
        assert_eq!(host.len(), 1, "{host:?}");

        // A learned add over another's route fails and leaves it.
        let results = learned::apply(
            &netlink,
            &[
                RouteChange::Add(via("10.32.0.0/16", &["198.51.100.2"])),
                RouteChange::Add(via("10.33.0.0/16", &["198.51.100.2"])),
            ],
        )
        .await;
        assert!(results[0].is_err(), "{results:?}");
        assert_eq!(results[1], Ok(()));

        let report = learned::sweep(&netlink).await.expect("dump");
        assert_eq!((report.deleted, report.errors.len()), (3, 0));
        assert_eq!(ip.ip("route show proto 202"), "");
        assert_eq!(ip.ip("-6 route show proto 202"), "");
        assert!(ip.ip("route show 10.31.0.0/16").contains("proto 201"));
        assert!(ip.ip("route show 10.32.0.0/16").contains("proto static"));
    });
}

#[test]
fn ten_thousand_endpoint_routes_in_batches() {
    const COUNT: u32 = 10_000;
    let ns = Netns::new("batch");
    let ip = ns.handle();
    ns.run(move |netlink| async move {
        let vb = netlink.ifindex("vb").await.expect("vb");
        let batch_limit = netlink.batch_limit();
        let mut owned = empty_start(netlink).await;
        let prefixes: Vec<IpNet> = (0..COUNT)
            .map(|i| net(&format!("10.200.{}.{}/32", i / 256, i % 256)))
            .collect();
        let routes: Vec<Route> = prefixes
            .iter()
            .map(|p| Route::interface(*p, vb).expect("valid"))
            .collect();

        let started = Instant::now();
        owned.set_many(routes).await.expect("batched add");
        let added = started.elapsed();
        assert_eq!(ip.ip("route show proto 201").lines().count(), COUNT as usize);

        let started = Instant::now();
        owned.remove_many(prefixes).await.expect("batched delete");
        let removed = started.elapsed();
        assert_eq!(ip.ip("route show proto 201"), "");

        // The same number of routes through `ip -batch`, for comparison.
        let script: String = (0..COUNT)
            .map(|i| format!("route add 10.201.{}.{}/32 dev vb scope link\n", i / 256, i % 256))
            .collect();
        let path = std::env::temp_dir().join(format!("{}.batch", ip.name));
        std::fs::write(&path, script).expect("write batch file");
        let started = Instant::now();
        ip.ip(&format!("-batch {}", path.display()));
        let ip_batch = started.elapsed();
        let _ = std::fs::remove_file(&path);

        let rate = |d: std::time::Duration| f64::from(COUNT) / d.as_secs_f64();
        eprintln!(
            "{COUNT} /32 routes, {batch_limit} requests per datagram: add {:.0}/s, delete {:.0}/s; ip -batch add {:.0}/s",
            rate(added),
            rate(removed),
            rate(ip_batch),
        );
    });
}
