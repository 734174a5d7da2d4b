#!/usr/bin/env bash
# The demo: a real FRR leaf and two hosts running romana-bgp, each in its own
# network namespace, realised from lab/two-hosts.clab.yml. Run as root.
#   scripts/demo.sh        bring it up and show the sessions
#   scripts/demo.sh down   take it down
set -euo pipefail
cd "$(dirname "$0")/.."

topology=lab/two-hosts.clab.yml
prefix=demo

if [ "$(id -u)" -ne 0 ]; then
    echo "the demo creates network namespaces: run it as root" >&2
    exit 1
fi
scripts/install-deps.sh
cargo build --workspace --bins
lab=target/debug/romana-lab

if [ "${1:-up}" = down ]; then
    "$lab" down "$topology" --prefix "$prefix"
    exit 0
fi

"$lab" down "$topology" --prefix "$prefix" >/dev/null 2>&1 || true
"$lab" up "$topology" --prefix "$prefix"

show() {
    "$lab" exec "$topology" host1 --prefix "$prefix" -- \
        target/debug/romana-bgp show --socket "/run/romana-lab/$prefix/host1/romana-bgp.sock" "$@"
}

echo "waiting for host1's session to the leaf..."
for _ in $(seq 1 30); do
    if show -o json 2>/dev/null | grep -q '"state":"Established"'; then
        break
    fi
    sleep 1
done

echo
echo "### romana-bgp show (host1)"
show
echo
echo "### romana-bgp show routes (host1)"
show routes
echo
echo "### vtysh -c 'show bgp ipv4 unicast' (leaf1)"
"$lab" exec "$topology" leaf1 --prefix "$prefix" -- \
    vtysh -c "show bgp ipv4 unicast"
echo
echo "the lab is up; run commands in a node with:"
echo "  $lab exec $topology NODE --prefix $prefix -- COMMAND"
echo "take it down with: scripts/demo.sh down"
