#!/usr/bin/env bash
# Capture real BGP sessions between FRR, BIRD, GoBGP and ExaBGP and write
# the messages each side sent, one hex line per message, into captures/.
#
# Every pair of daemons runs in two network namespaces of its own joined by
# one veth pair (addresses in 10.99.0.0/24 and fd99::/64 only); tcpdump
# records TCP port 179 on that veth while a scripted scenario runs: session
# up, routes, End-of-RIB, a route added and withdrawn mid-session, a
# ROUTE-REFRESH, KEEPALIVEs, and a NOTIFICATION with a shutdown
# communication to close. Nothing leaves the namespaces and no route is
# installed anywhere: FRR's bgpd runs with -n (no FIB), BIRD without a kernel protocol,
# GoBGP without zebra.
#
# Needs root and the Debian packages frr bird2 gobgpd exabgp tcpdump tshark
# iproute2 python3. Usage: capture.sh [OUTDIR [SESSION...]]
# (default OUTDIR: captures/ next to this script; default: every session).
# KEEP_WORK=1 keeps the configs, logs and pcaps in the work directory.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
OUT=${1:-$HERE/captures}
shift || true
SESSIONS=("$@")
ALL_SESSIONS=0
if [ ${#SESSIONS[@]} -eq 0 ]; then
    SESSIONS=(frr-bird frr-gobgp bird-gobgp frr-bird-2octet exabgp-frr)
    ALL_SESSIONS=1
fi

TAG=cap-$$
WORK=$(mktemp -d "/tmp/bgp-capture.XXXXXX")
chmod 755 "$WORK"
NAMESPACES=()
PIDS=()

log() { printf '[capture] %s\n' "$*" >&2; }

cleanup() {
    local rc=$?
    local pid ns
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    sleep 1
    for pid in "${PIDS[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
    for ns in "${NAMESPACES[@]}"; do
        # Anything still running inside a namespace this script made was
        # started by it (a daemon that forked past its recorded pid).
        ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null || true
        ip netns del "$ns" 2>/dev/null || true
    done
    if [ "${KEEP_WORK:-0}" = 1 ] || [ $rc -ne 0 ]; then
        log "work directory kept: $WORK"
    else
        rm -rf "$WORK"
    fi
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

for tool in ip tcpdump tshark python3 /usr/lib/frr/bgpd vtysh bird birdc gobgpd gobgp exabgp; do
    command -v "$tool" >/dev/null || { log "missing: $tool"; exit 1; }
done

# wait_for SECONDS DESCRIPTION COMMAND...: retry until COMMAND succeeds.
wait_for() {
    local deadline=$((SECONDS + $1)) what=$2
    shift 2
    until "$@" >/dev/null 2>&1; do
        if [ $SECONDS -ge $deadline ]; then
            log "timed out waiting for $what"
            return 1
        fi
        sleep 0.5
    done
}

# run NS LOGFILE COMMAND...: start a process in a namespace, in the
# background, and remember its pid for cleanup.
run() {
    local ns=$1 logfile=$2
    shift 2
    ip netns exec "$ns" "$@" >"$logfile" 2>&1 &
    PIDS+=($!)
}

# link SESSION N: namespaces $TAG-N-a and $TAG-N-b joined by veth "cap0",
# side a = 10.99.0.(4N+1)/30, fd99::N:1/112; side b = .(4N+2), fd99::N:2.
# Fixed MAC addresses give fixed link-local addresses, so a rerun gives the
# same next hops.
link() {
    local n=$1 a=$TAG-$1-a b=$TAG-$1-b
    ip netns add "$a"
    NAMESPACES+=("$a")
    ip netns add "$b"
    NAMESPACES+=("$b")
    ip link add cap0 netns "$a" address "02:99:00:00:0$n:01" type veth \
        peer cap0 netns "$b" address "02:99:00:00:0$n:02"
    local side host
    for side in a b; do
        [ $side = a ] && host=1 || host=2
        ip netns exec "$TAG-$n-$side" sysctl -qw net.ipv6.conf.cap0.accept_dad=0
        ip -n "$TAG-$n-$side" link set lo up
        ip -n "$TAG-$n-$side" addr add "10.99.0.$((4 * n + host))/30" dev cap0
        ip -n "$TAG-$n-$side" addr add "fd99::$n:$host/112" dev cap0 nodad
        ip -n "$TAG-$n-$side" link set cap0 up
    done
    wait_for 10 "link-local address in $a" \
        sh -c "ip -n $a -6 addr show dev cap0 scope link | grep -q fe80"
    wait_for 10 "link-local address in $b" \
        sh -c "ip -n $b -6 addr show dev cap0 scope link | grep -q fe80"
}

# capture_start N: tcpdump on side a's veth, both directions.
capture_start() {
    local n=$1
    ip netns exec "$TAG-$n-a" tcpdump -i cap0 -U -s 0 -w "$WORK/$n.pcap" \
        'tcp port 179' >"$WORK/$n.tcpdump.log" 2>&1 &
    CAPTURE_PID=$!
    PIDS+=("$CAPTURE_PID")
    wait_for 10 "tcpdump to listen" grep -q 'listening on' "$WORK/$n.tcpdump.log"
}

capture_stop() {
    sleep 1
    kill -INT "$CAPTURE_PID"
    wait "$CAPTURE_PID" || true
}

# ---------------------------------------------------------------- daemons

# frr_start N SIDE, bgpd.conf on stdin: zebra (only so bgpd learns the
# interfaces, which it needs to send and accept link-local next hops) and
# bgpd with -n (nothing goes to the kernel), each with its own zserv socket,
# vty socket directory and pid file. They run as the package's user frr
# (zebra refuses root, which is not in the vty group frrvty).
frr_start() {
    local n=$1 side=$2 dir=$WORK/$1-$2-frr
    mkdir -p "$dir"
    chown frr:frr "$dir"
    cat >"$dir/bgpd.conf"
    echo "hostname zebra" >"$dir/zebra.conf"
    run "$TAG-$n-$side" "$dir/zebra.out" /usr/lib/frr/zebra \
        -f "$dir/zebra.conf" -z "$dir/zserv.api" --vty_socket "$dir" \
        -i "$dir/zebra.pid" --log "file:$dir/zebra.log" -P 0
    wait_for 20 "zebra socket" test -S "$dir/zserv.api"
    run "$TAG-$n-$side" "$dir/bgpd.out" /usr/lib/frr/bgpd -n \
        -f "$dir/bgpd.conf" -z "$dir/zserv.api" --vty_socket "$dir" \
        -i "$dir/bgpd.pid" --log "file:$dir/bgpd.log" -P 0
    wait_for 20 "bgpd vty socket" test -S "$dir/bgpd.vty"
}

# vtysh_in N SIDE COMMAND...: one vtysh call, each argument a -c line.
vtysh_in() {
    local n=$1 side=$2 arg args=()
    shift 2
    for arg in "$@"; do args+=(-c "$arg"); done
    ip netns exec "$TAG-$n-$side" vtysh --vty_socket "$WORK/$n-$side-frr" \
        -d bgpd "${args[@]}"
}

frr_established() { # N SIDE PEER
    vtysh_in "$1" "$2" "show bgp neighbors $3 json" | grep -q '"bgpState":"Established"'
}

bird_start() { # N SIDE, config on stdin
    local n=$1 side=$2 dir=$WORK/$1-$2-bird
    mkdir -p "$dir"
    cat >"$dir/bird.conf"
    run "$TAG-$n-$side" "$dir/bird.out" bird -f -c "$dir/bird.conf" \
        -s "$dir/bird.ctl" -P "$dir/bird.pid"
    wait_for 20 "bird control socket" test -S "$dir/bird.ctl"
}

birdc_in() { # N SIDE COMMAND...
    local n=$1 side=$2
    shift 2
    ip netns exec "$TAG-$n-$side" birdc -s "$WORK/$n-$side-bird/bird.ctl" "$@"
}

bird_established() { # N SIDE PROTOCOL
    birdc_in "$1" "$2" show protocols "$3" | grep -q Established
}

gobgp_config() { # LOCAL_AS NEIGHBOR PEER_AS: one peer, IPv4 and IPv6, GR on
    cat <<EOF
[global.config]
  as = $1
  router-id = "$gobgp"
  local-address-list = ["$gobgp"]
[[neighbors]]
  [neighbors.config]
    neighbor-address = "$2"
    peer-as = $3
  [neighbors.timers.config]
    hold-time = 9
    keepalive-interval = 3
    connect-retry = 1
  [neighbors.graceful-restart.config]
    enabled = true
    restart-time = 120
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "ipv4-unicast"
    [neighbors.afi-safis.mp-graceful-restart.config]
      enabled = true
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "ipv6-unicast"
    [neighbors.afi-safis.mp-graceful-restart.config]
      enabled = true
EOF
}

gobgp_start() { # N SIDE, config on stdin
    local n=$1 side=$2 dir=$WORK/$1-$2-gobgp
    mkdir -p "$dir"
    cat >"$dir/gobgpd.toml"
    run "$TAG-$n-$side" "$dir/gobgpd.log" gobgpd -f "$dir/gobgpd.toml" \
        --api-hosts 127.0.0.1:50051 --pprof-disable -p
    wait_for 20 "gobgpd API" ip netns exec "$TAG-$n-$side" gobgp global
}

gobgp_in() { # N SIDE ARG...
    local n=$1 side=$2
    shift 2
    ip netns exec "$TAG-$n-$side" gobgp -u 127.0.0.1 -p 50051 "$@"
}

gobgp_established() { # N SIDE PEER
    gobgp_in "$1" "$2" neighbor "$3" | grep -q 'BGP state = established'
}

# ---------------------------------------------------------------- sessions

# FRR (AS 4200000001) and BIRD (AS 65002), eBGP over IPv6 global addresses
# carrying IPv4 (extended next hop, RFC 8950) and IPv6 unicast; FRR
# aggregates, both tag routes with MED, COMMUNITIES and LARGE_COMMUNITIES;
# both ask for a route refresh; FRR closes with a shutdown communication.
session_frr_bird() {
    local n=1 frr=fd99::1:1 bird=fd99::1:2
    link $n
    capture_start $n
    frr_start $n a <<EOF
hostname frr
router bgp 4200000001
 bgp router-id 10.99.0.5
 no bgp ebgp-requires-policy
 no bgp network import-check
 no bgp default ipv4-unicast
 bgp graceful-restart
 timers bgp 3 9
 neighbor $bird remote-as 65002
 neighbor $bird timers connect 1
 neighbor $bird capability extended-nexthop
 address-family ipv4 unicast
  network 192.0.2.0/26
  network 192.0.2.64/26
  aggregate-address 192.0.2.0/24 summary-only
  network 198.51.100.0/24 route-map TAG
  neighbor $bird activate
 exit-address-family
 address-family ipv6 unicast
  network 2001:db8:1::/48 route-map TAG
  network 2001:db8:2::/48
  neighbor $bird activate
 exit-address-family
route-map TAG permit 10
 set metric 42
 set community 64512:100 64512:200
 set large-community 4200000001:1:1 4200000001:1:2
 set extcommunity rt 64512:7
EOF
    bird_start $n b <<EOF
log "$WORK/$n-b-bird/bird.log" all;
router id 10.99.0.6;
protocol device { }
protocol static st4 { ipv4; route 203.0.113.0/24 blackhole; }
protocol static st4late { ipv4; disabled yes; route 203.0.113.128/25 blackhole; }
protocol static st6 { ipv6; route 2001:db8:10::/48 blackhole; }
protocol static st6late { ipv6; disabled yes; route 2001:db8:11::/48 blackhole; }
filter tag_out {
  if source != RTS_STATIC then reject;
  bgp_med = 7;
  bgp_community.add((65002, 1));
  bgp_large_community.add((65002, 2, 3));
  accept;
}
protocol bgp frr {
  local $bird as 65002;
  neighbor $frr as 4200000001;
  hold time 9;
  keepalive time 3;
  connect delay time 1;
  connect retry time 2;
  graceful restart on;
  enable extended messages on;
  ipv4 { import all; export filter tag_out; extended next hop on; };
  ipv6 { import all; export filter tag_out; };
}
EOF
    wait_for 60 "frr-bird Established" frr_established $n a $bird
    sleep 5
    log "frr-bird: routes added and withdrawn mid-session"
    birdc_in $n b enable st4late
    birdc_in $n b enable st6late
    vtysh_in $n a "configure terminal" "router bgp 4200000001" \
        "address-family ipv4 unicast" "network 198.51.100.128/25" \
        "exit-address-family" "address-family ipv6 unicast" \
        "network 2001:db8:3::/48 route-map TAG"
    sleep 4
    birdc_in $n b disable st4late
    birdc_in $n b disable st6late
    vtysh_in $n a "configure terminal" "router bgp 4200000001" \
        "address-family ipv4 unicast" "no network 198.51.100.128/25" \
        "exit-address-family" "address-family ipv6 unicast" \
        "no network 2001:db8:3::/48"
    sleep 4
    log "frr-bird: route refresh both ways"
    vtysh_in $n a "clear bgp $bird soft in"
    sleep 3
    birdc_in $n b reload in frr
    sleep 4
    log "frr-bird: shutdown with a communication"
    vtysh_in $n a "configure terminal" "router bgp 4200000001" \
        "neighbor $bird shutdown message planned maintenance: moving to new rack"
    sleep 2
    capture_stop
    split_capture $n frr-bird "" "frr=$frr" "bird=$bird"
}

# FRR (AS 4200000001) and GoBGP (AS 65003), eBGP over IPv4 carrying IPv4
# and IPv6 unicast; GoBGP tags routes, routes come and go mid-session, both
# ask for a route refresh, GoBGP closes with a shutdown communication.
session_frr_gobgp() {
    local n=2 frr=10.99.0.9 gobgp=10.99.0.10
    link $n
    capture_start $n
    frr_start $n a <<EOF
hostname frr
router bgp 4200000001
 bgp router-id $frr
 no bgp ebgp-requires-policy
 no bgp network import-check
 no bgp default ipv4-unicast
 bgp graceful-restart
 timers bgp 3 9
 neighbor $gobgp remote-as 65003
 neighbor $gobgp timers connect 1
 address-family ipv4 unicast
  network 192.0.2.0/24 route-map TAG
  neighbor $gobgp activate
 exit-address-family
 address-family ipv6 unicast
  network 2001:db8:1::/48 route-map TAG
  neighbor $gobgp activate
 exit-address-family
route-map TAG permit 10
 set community 64512:100 64512:101
 set large-community 4200000001:0:7
EOF
    gobgp_start $n b < <(gobgp_config 65003 "$frr" 4200000001)
    gobgp_in $n b global rib add -a ipv4 203.0.113.0/24 origin igp med 10 \
        community 65003:1,65003:2 large-community 65003:1:1
    gobgp_in $n b global rib add -a ipv6 2001:db8:30::/48 nexthop fd99::2:2 \
        origin incomplete med 20 community 65003:3
    wait_for 60 "frr-gobgp Established" frr_established $n a $gobgp
    sleep 5
    log "frr-gobgp: routes added and withdrawn mid-session"
    gobgp_in $n b global rib add -a ipv4 198.51.100.0/24 origin egp
    gobgp_in $n b global rib add -a ipv6 2001:db8:31::/48 nexthop fd99::2:2
    vtysh_in $n a "configure terminal" "router bgp 4200000001" \
        "address-family ipv6 unicast" "network 2001:db8:2::/48"
    sleep 4
    gobgp_in $n b global rib del -a ipv4 198.51.100.0/24
    gobgp_in $n b global rib del -a ipv6 2001:db8:31::/48
    vtysh_in $n a "configure terminal" "router bgp 4200000001" \
        "address-family ipv6 unicast" "no network 2001:db8:2::/48"
    sleep 4
    # GoBGP keeps an Adj-RIB-In: its `softresetin` re-runs policy and sends
    # no ROUTE-REFRESH, so only FRR asks.
    log "frr-gobgp: route refresh from FRR"
    vtysh_in $n a "clear bgp $gobgp soft in"
    sleep 4
    log "frr-gobgp: GoBGP shuts the session down with a communication"
    # `disable --reason` sends Cease/2 without the text; `shutdown` (deprecated)
    # sends it.
    gobgp_in $n b neighbor $frr shutdown --reason "gobgp: draining for upgrade"
    sleep 2
    capture_stop
    split_capture $n frr-gobgp "" "frr=$frr" "gobgp=$gobgp"
}

# BIRD and GoBGP in one AS (65010), iBGP over IPv4 carrying IPv4 and IPv6
# unicast: LOCAL_PREF both ways; BIRD asks for a route refresh and closes
# with a shutdown communication.
session_bird_gobgp() {
    local n=3 bird=10.99.0.13 gobgp=10.99.0.14
    link $n
    capture_start $n
    bird_start $n a <<EOF
log "$WORK/$n-a-bird/bird.log" all;
router id $bird;
protocol device { }
protocol static st4 { ipv4; route 203.0.113.0/24 blackhole; }
protocol static st4late { ipv4; disabled yes; route 203.0.113.128/25 blackhole; }
protocol static st6 { ipv6; route 2001:db8:10::/48 blackhole; }
filter tag_out {
  if source != RTS_STATIC then reject;
  bgp_local_pref = 250;
  bgp_community.add((65010, 42));
  bgp_large_community.add((65010, 0, 42));
  accept;
}
protocol bgp gobgp {
  local $bird as 65010;
  neighbor $gobgp as 65010;
  hold time 9;
  keepalive time 3;
  connect delay time 1;
  connect retry time 2;
  graceful restart on;
  ipv4 { import all; export filter tag_out; next hop self; };
  ipv6 { import all; export filter tag_out; next hop address fd99::3:1; };
}
EOF
    gobgp_start $n b < <(gobgp_config 65010 "$bird" 65010)
    gobgp_in $n b global rib add -a ipv4 198.51.100.0/24 nexthop $gobgp \
        local-pref 300 med 5 community 65010:7
    gobgp_in $n b global rib add -a ipv6 2001:db8:40::/48 nexthop fd99::3:2 \
        local-pref 120 large-community 65010:4:4
    wait_for 60 "bird-gobgp Established" bird_established $n a gobgp
    sleep 5
    log "bird-gobgp: routes added and withdrawn mid-session"
    birdc_in $n a enable st4late
    gobgp_in $n b global rib add -a ipv6 2001:db8:41::/48 nexthop fd99::3:2
    sleep 4
    birdc_in $n a disable st4late
    gobgp_in $n b global rib del -a ipv6 2001:db8:41::/48
    sleep 4
    log "bird-gobgp: route refresh from BIRD"
    birdc_in $n a reload in gobgp
    sleep 4
    log "bird-gobgp: BIRD shuts the session down with a communication"
    birdc_in $n a disable gobgp '"bird: shutting down for maintenance"'
    sleep 2
    capture_stop
    split_capture $n bird-gobgp "" "bird=$bird" "gobgp=$gobgp"
}

# FRR (AS 4200000001) and BIRD (AS 65004) in a 2-octet AS session: FRR
# sends an OPEN without capabilities (`dont-capability-negotiate`), so its
# OPEN carries AS_TRANS and both sides put AS_TRANS in AS_PATH and
# AGGREGATOR with the real ASNs in AS4_PATH and AS4_AGGREGATOR (RFC 6793
# §4.2.2). BIRD's own `enable as4 off` gets no session with FRR: BIRD
# still reads FRR's AS4 capability and refuses AS 4200000001 as a bad peer AS.
session_frr_bird_2octet() {
    local n=4 frr=10.99.0.17 bird=10.99.0.18
    link $n
    capture_start $n
    frr_start $n a <<EOF
hostname frr
router bgp 4200000001
 bgp router-id $frr
 no bgp ebgp-requires-policy
 no bgp network import-check
 bgp graceful-restart
 timers bgp 3 9
 neighbor $bird remote-as 65004
 neighbor $bird timers connect 1
 neighbor $bird dont-capability-negotiate
 address-family ipv4 unicast
  network 192.0.2.0/26
  network 192.0.2.64/26
  aggregate-address 192.0.2.0/24 summary-only
  network 198.51.100.0/24 route-map TAG
 exit-address-family
route-map TAG permit 10
 set as-path prepend 4200000002 65001
 set community 64512:1
EOF
    bird_start $n b <<EOF
log "$WORK/$n-b-bird/bird.log" all;
router id $bird;
protocol device { }
protocol static st4 { ipv4; route 203.0.113.0/24 blackhole; route 203.0.113.128/25 blackhole; }
filter prepend_out {
  if source != RTS_STATIC then reject;
  if net = 203.0.113.128/25 then bgp_path.prepend(4200000099);
  accept;
}
protocol bgp frr {
  local $bird as 65004;
  # A peer without the AS4 capability is AS_TRANS (RFC 6793 §4.2.2).
  neighbor $frr as 23456;
  hold time 9;
  keepalive time 3;
  connect delay time 1;
  connect retry time 2;
  ipv4 { import all; export filter prepend_out; };
}
EOF
    wait_for 60 "frr-bird-2octet Established" frr_established $n a $bird
    sleep 6
    log "frr-bird-2octet: BIRD resets the session with a communication"
    birdc_in $n b restart frr '"bird: administrative reset"'
    wait_for 60 "frr-bird-2octet Established again" frr_established $n a $bird
    sleep 3
    capture_stop
    split_capture $n frr-bird-2octet -2octet "frr=$frr" "bird=$bird"
}

# ExaBGP and FRR in one AS (4200000001), iBGP over IPv4 carrying IPv4 and
# IPv6 unicast: ExaBGP sends routes with every attribute it can set
# (ORIGINATOR_ID, CLUSTER_LIST, AGGREGATOR, extended communities, ...),
# announces and withdraws a route through its API mid-session; FRR asks for
# a route refresh and closes with a shutdown communication.
session_exabgp_frr() {
    local n=5 frr=10.99.0.21 exabgp=10.99.0.22 dir=$WORK/5-b-exabgp
    link $n
    capture_start $n
    frr_start $n a <<EOF
hostname frr
router bgp 4200000001
 bgp router-id $frr
 no bgp network import-check
 no bgp default ipv4-unicast
 timers bgp 3 9
 neighbor $exabgp remote-as internal
 neighbor $exabgp timers connect 1
 address-family ipv4 unicast
  network 192.0.2.0/24
  neighbor $exabgp activate
 exit-address-family
 address-family ipv6 unicast
  network 2001:db8:1::/48
  neighbor $exabgp activate
 exit-address-family
EOF
    mkdir -p "$dir"
    cat >"$dir/feed.sh" <<'EOF'
#!/bin/sh
sleep 8
echo "announce route 198.51.100.0/24 next-hop self community [ 65535:65281 ]"
echo "announce route 2001:db8:61::/48 next-hop fd99::5:2 origin incomplete"
sleep 4
echo "withdraw route 198.51.100.0/24 next-hop self"
echo "withdraw route 2001:db8:61::/48 next-hop fd99::5:2"
exec sleep 600
EOF
    chmod 755 "$dir/feed.sh"
    cat >"$dir/exabgp.conf" <<EOF
process feed {
  run $dir/feed.sh;
  encoder text;
}
neighbor $frr {
  router-id $exabgp;
  local-address $exabgp;
  local-as 4200000001;
  peer-as 4200000001;
  hold-time 9;
  family { ipv4 unicast; ipv6 unicast; }
  capability { route-refresh; graceful-restart 120; }
  api { processes [ feed ]; }
  static {
    route 203.0.113.0/24 next-hop $exabgp origin egp as-path [ 65100 4200000100 ] med 5 local-preference 300 community [ 65010:1 no-export ] large-community [ 4200000001:9:9 ] extended-community [ target:65010:1 origin:10.99.0.22:7 ] originator-id 10.99.0.99 cluster-list [ 10.99.0.98 ] atomic-aggregate aggregator ( 65100:10.99.0.97 );
    route 2001:db8:60::/48 next-hop fd99::5:2 as-path [ 65100 ] local-preference 90 community [ 65010:2 ];
  }
}
EOF
    run "$TAG-$n-b" "$dir/exabgp.log" env exabgp_daemon_user=root \
        exabgp_api_cli=false exabgp_log_destination=stdout exabgp_log_level=DEBUG exabgp "$dir/exabgp.conf"
    wait_for 60 "exabgp-frr Established" frr_established $n a $exabgp
    sleep 14
    log "exabgp-frr: route refresh from FRR, then FRR shuts down with a communication"
    vtysh_in $n a "clear bgp $exabgp soft in"
    sleep 4
    vtysh_in $n a "configure terminal" "router bgp 4200000001" \
        "neighbor $exabgp shutdown message frr: ibgp peer retired"
    sleep 2
    capture_stop
    split_capture $n exabgp-frr "" "frr=$frr" "exabgp=$exabgp"
}

# ---------------------------------------------------------------- extraction

versions() {
    echo "frr=FRRouting $(dpkg-query -W -f '${Version}' frr)"
    echo "bird=BIRD $(dpkg-query -W -f '${Version}' bird2)"
    echo "gobgp=GoBGP $(dpkg-query -W -f '${Version}' gobgpd)"
    echo "exabgp=ExaBGP $(dpkg-query -W -f '${Version}' exabgp)"
}

# split_capture N SESSION SUFFIX NAME=ADDR NAME=ADDR: one .hex file per
# direction, SENDER-to-RECEIVER[SUFFIX].hex.
split_capture() {
    local n=$1 session=$2 suffix=$3
    shift 3
    tshark -r "$WORK/$n.pcap" -T fields -E separator='|' \
        -e tcp.stream -e ip.src -e ipv6.src -e tcp.seq_raw \
        -e tcp.payload 'tcp.len > 0' >"$WORK/$n.payloads"
    python3 "$WORK/split.py" "$WORK/$n.payloads" "$OUT" "$WORK/versions" "$session" "$suffix" "$@"
}

cat >"$WORK/split.py" <<'PY'
import collections
import sys

payloads, outdir, versions_file, session, suffix = sys.argv[1:6]
names = {}
for arg in sys.argv[6:]:
    name, addrs = arg.split("=", 1)
    for addr in addrs.split(","):
        names[addr] = name
versions = dict(l.split("=", 1) for l in open(versions_file).read().splitlines())

ATTRS = {1: "ORIGIN", 2: "AS_PATH", 3: "NEXT_HOP", 4: "MED", 5: "LOCAL_PREF",
         6: "ATOMIC_AGGREGATE", 7: "AGGREGATOR", 8: "COMMUNITIES",
         9: "ORIGINATOR_ID", 10: "CLUSTER_LIST", 14: "MP_REACH_NLRI",
         15: "MP_UNREACH_NLRI", 16: "EXTENDED_COMMUNITIES", 17: "AS4_PATH",
         18: "AS4_AGGREGATOR", 32: "LARGE_COMMUNITY"}
CAPS = {1: "mp", 2: "route-refresh", 5: "extended-nexthop", 6: "extended-message",
        9: "bgp-role", 64: "graceful-restart", 65: "as4", 69: "add-path",
        70: "enhanced-route-refresh", 71: "long-lived-gr", 73: "fqdn",
        128: "route-refresh-old", 131: "route-refresh-cisco"}
FAMILIES = {(1, 1): "ipv4-unicast", (2, 1): "ipv6-unicast"}


def family(afi, safi):
    return FAMILIES.get((afi, safi), "afi%d-safi%d" % (afi, safi))


# Reassemble each direction of each TCP connection from its segments,
# ordered by sequence number, retransmissions dropped.
segments = collections.defaultdict(list)
for line in open(payloads):
    stream, src4, src6, seq, payload = line.rstrip("\n").split("|")
    segments[(int(stream), src4 or src6)].append((int(seq), bytes.fromhex(payload.replace(":", ""))))

streams = collections.defaultdict(list)
for (stream, src), segs in sorted(segments.items()):
    isn = segs[0][0]
    data = bytearray()
    for seq, payload in sorted(segs, key=lambda s: (s[0] - isn) % 2**32):
        offset = (seq - isn) % 2**32
        if offset > len(data):
            sys.exit("gap in TCP stream %d from %s: capture lost a segment" % (stream, src))
        data += payload[len(data) - offset:]
    streams[names[src]].append(bytes(data))


def split(data):
    msgs = []
    while data:
        if len(data) < 19 or data[:16] != b"\xff" * 16:
            sys.exit("stream does not start with a BGP marker")
        length = int.from_bytes(data[16:18], "big")
        if len(data) < length:
            break  # the capture stopped inside a message
        msgs.append(data[:length])
        data = data[length:]
    return msgs


def open_caps(msg):
    body = msg[19:]
    caps = {}
    my_as = int.from_bytes(body[1:3], "big")
    params = body[10:10 + body[9]]
    while params:
        ptype, plen = params[0], params[1]
        value, params = params[2:2 + plen], params[2 + plen:]
        while ptype == 2 and value:
            code, clen = value[0], value[1]
            caps.setdefault(code, []).append(value[2:2 + clen])
            value = value[2 + clen:]
    if 65 in caps:
        my_as = int.from_bytes(caps[65][0], "big")
    return my_as, caps


def attributes(body):
    wlen = int.from_bytes(body[0:2], "big")
    withdrawn = body[2:2 + wlen]
    alen = int.from_bytes(body[2 + wlen:4 + wlen], "big")
    attrs = body[4 + wlen:4 + wlen + alen]
    nlri = body[4 + wlen + alen:]
    out = []
    while attrs:
        flags, code = attrs[0], attrs[1]
        if flags & 0x10:
            length, start = int.from_bytes(attrs[2:4], "big"), 4
        else:
            length, start = attrs[2], 3
        out.append((code, attrs[start:start + length]))
        attrs = attrs[start + length:]
    return withdrawn, out, nlri


def describe(msg, tags):
    mtype, body = msg[18], msg[19:]
    if mtype == 1:
        tags.add("open")
        my_as, caps = open_caps(msg)
        names_ = []
        for code, values in caps.items():
            name = CAPS.get(code, "cap%d" % code)
            if code == 1:
                name += "(" + ",".join(family(int.from_bytes(v[0:2], "big"), v[3]) for v in values) + ")"
            names_.append(name)
        return "OPEN as=%d hold=%d caps=%s" % (my_as, int.from_bytes(body[3:5], "big"), " ".join(names_))
    if mtype == 2:
        tags.add("update")
        withdrawn, attrs, nlri = attributes(body)
        if not withdrawn and not attrs and not nlri:
            tags.add("end-of-rib")
            return "UPDATE End-of-RIB ipv4-unicast"
        if not withdrawn and not nlri and len(attrs) == 1 and attrs[0][0] == 15 and len(attrs[0][1]) == 3:
            tags.add("end-of-rib")
            v = attrs[0][1]
            return "UPDATE End-of-RIB " + family(int.from_bytes(v[0:2], "big"), v[2])
        parts = []
        if withdrawn:
            tags.add("withdrawal")
            parts.append("withdrawn")
        for code, value in attrs:
            name = ATTRS.get(code, "attr%d" % code)
            if code == 14:
                fam = family(int.from_bytes(value[0:2], "big"), value[2])
                name += "(%s nh=%d)" % (fam, value[3])
            if code == 15:
                tags.add("withdrawal")
                name += "(%s)" % family(int.from_bytes(value[0:2], "big"), value[2])
            parts.append(name)
        if nlri:
            parts.append("nlri")
        return "UPDATE " + " ".join(parts)
    if mtype == 3:
        tags.add("notification")
        text = "NOTIFICATION %d/%d" % (body[0], body[1])
        data = body[2:]
        if body[0] == 6 and body[1] in (2, 4) and data and data[0] and len(data) > data[0]:
            tags.add("shutdown-communication")
            text += " shutdown communication %r" % data[1:1 + data[0]].decode("utf-8")
        elif data and all(32 <= b < 127 for b in data):
            text += " data %r" % data.decode("ascii")
        return text
    if mtype == 4:
        tags.add("keepalive")
        return "KEEPALIVE"
    if mtype == 5:
        tags.add("route-refresh")
        subtype = {0: "request", 1: "BoRR", 2: "EoRR"}.get(body[2], "subtype%d" % body[2])
        return "ROUTE-REFRESH %s %s" % (family(int.from_bytes(body[0:2], "big"), body[3]), subtype)
    return "type %d" % mtype


messages = {name: [m for data in datas for m in split(data)] for name, datas in streams.items()}
if len(messages) != 2:
    sys.exit("expected two speakers in the capture, found %s" % sorted(messages))
opens = {}
for name, msgs in messages.items():
    first_open = next((m for m in msgs if m[18] == 1), None)
    if first_open is None:
        sys.exit("%s sent no OPEN" % name)
    opens[name] = open_caps(first_open)


def both(pred):
    return all(pred(caps) for _, caps in opens.values())


context = {
    "four_octet_as": both(lambda c: 65 in c),
    "extended_message": both(lambda c: 6 in c),
    "extended_next_hop_ipv4": both(lambda c: any(
        v[i:i + 6] == b"\x00\x01\x00\x01\x00\x02" for v in c.get(5, []) for i in range(0, len(v), 6))),
    # Internal when both OPENs name the same AS (RFC 4271 §3).
    "ibgp": len({my_as for my_as, _ in opens.values()}) == 1,
}

for sender, msgs in sorted(messages.items()):
    receiver = next(n for n in messages if n != sender)
    counts = collections.Counter(msgs)
    tags = set()
    lines = []
    seen = set()
    for msg in msgs:
        if msg in seen:
            continue
        seen.add(msg)
        note = describe(msg, tags)
        if counts[msg] > 1:
            note += " (sent %d times)" % counts[msg]
        lines.append("%s  # %s" % (msg.hex(), note))
    path = "%s/%s-to-%s%s.hex" % (outdir, sender, receiver, suffix)
    with open(path, "w") as f:
        f.write("# BGP messages sent by %s (%s, AS %d) to %s (%s, AS %d).\n" % (
            sender, versions[sender], opens[sender][0], receiver, versions[receiver], opens[receiver][0]))
        f.write("# session: %s (bgp/tests/data/capture.sh), %d TCP connection(s)\n" % (session, len(streams[sender])))
        f.write("# context: %s\n" % " ".join("%s=%s" % (k, str(v).lower()) for k, v in context.items()))
        f.write("# expect: %s\n" % " ".join(sorted(tags)))
        f.write("# One message per line in sending order, header included, in hex;\n")
        f.write("# a message sent again byte for byte is listed once.\n")
        for line in lines:
            f.write(line + "\n")
    print("%s: %d messages, %d distinct" % (path, len(msgs), len(lines)), file=sys.stderr)
PY

mkdir -p "$OUT"
# A full run replaces the corpus, so a session renamed leaves nothing behind.
[ $ALL_SESSIONS = 1 ] && rm -f "$OUT"/*.hex
versions >"$WORK/versions"
for s in "${SESSIONS[@]}"; do
    log "session $s"
    "session_${s//-/_}"
done
log "done: $OUT"
