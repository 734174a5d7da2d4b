#!/usr/bin/env bash
# The demo: a real FRR leaf and two hosts running romana-bgp, each in its own
# network namespace, realised from lab/two-hosts.clab.yml, with three
# containers wired as endpoints. Run as root.
#   scripts/demo.sh        bring it up and show the sessions and endpoints
#   scripts/demo.sh down   take it down
set -euo pipefail
cd "$(dirname "$0")/.."

topology=lab/two-hosts.clab.yml
prefix=demo
# The demo's containers: namespace, host, tenant, segment.
containers=(
    "demo-web-1 host1 blue web"
    "demo-web-2 host2 blue web"
    "demo-red-1 host2 red web"
)

if [ "$(id -u)" -ne 0 ]; then
    echo "the demo creates network namespaces: run it as root" >&2
    exit 1
fi
scripts/install-deps.sh
cargo build --workspace --bins
lab=target/debug/romana-lab

down() {
    "$lab" down "$topology" --prefix "$prefix" >/dev/null 2>&1 || true
    for c in "${containers[@]}"; do
        read -r ns _ <<<"$c"
        ip netns del "$ns" 2>/dev/null || true
    done
}

if [ "${1:-up}" = down ]; then
    down
    exit 0
fi

down
"$lab" up "$topology" --prefix "$prefix"

romana() {
    local host=$1
    shift
    target/debug/romana-bgp --socket "/run/romana-lab/$prefix/$host/romana-bgp.sock" "$@"
}

echo "waiting for both hosts to learn the leaf's default route..."
for host in host1 host2; do
    for _ in $(seq 1 60); do
        if romana "$host" show -o json 2>/dev/null | grep -Eq '"prefixes_accepted": ?[1-9]'; then
            break
        fi
        sleep 0.5
    done
done

echo
echo "### containers: one namespace each, wired as endpoints"
declare -A address
for c in "${containers[@]}"; do
    read -r ns host tenant segment <<<"$c"
    ip netns add "$ns"
    address[$ns]=$(romana "$host" endpoint add --tenant "$tenant" --segment "$segment" \
        --netns "$ns" --name "${ns#demo-}" -o json |
        sed -nE 's/.*"address": ?"([0-9.]+)".*/\1/p')
    echo "${ns#demo-} on $host ($tenant/$segment): ${address[$ns]}"
done
web2=${address[demo-web-2]}
red1=${address[demo-red-1]}

echo
echo "### romana-bgp show (host1)"
romana host1 show
echo
echo "### romana-bgp show routes (host1)"
romana host1 show routes
echo
echo "### romana-bgp show endpoints (host1, host2)"
romana host1 show endpoints
romana host2 show endpoints
echo
echo "### vtysh -c 'show bgp ipv4 unicast' (leaf1): one route per host, however many endpoints"
"$lab" exec "$topology" leaf1 --prefix "$prefix" -- vtysh -c "show bgp ipv4 unicast"
echo
echo "### web-1 (host1) -> web-2 (host2, same tenant and segment): allowed"
ip netns exec demo-web-1 ping -c 1 -W 2 "$web2" | tail -2 || true
echo
echo "### web-1 (host1) -> red-1 (host2, another tenant): dropped"
ip netns exec demo-web-1 ping -c 1 -W 2 "$red1" | tail -2 || true
echo
echo "the lab is up; run commands in a node with:"
echo "  $lab exec $topology NODE --prefix $prefix -- COMMAND"
echo "take it down with: scripts/demo.sh down"
