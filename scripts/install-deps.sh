#!/usr/bin/env bash
# Installs what the demo and the test suite need on a fresh Debian 12 machine:
# the routing daemons used as real peers, the packet tools, nftables. Safe to
# run again; skips apt when everything is present.
set -euo pipefail

packages=(frr bird2 gobgpd exabgp nftables iproute2 iputils-ping tcpdump tshark procps psmisc)

missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "installing: ${missing[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # tshark asks whether non-root users may capture; answer no, quietly.
    echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# The packaged daemons must not run system-wide: tests start their own
# instances inside network namespaces.
for svc in frr bird gobgpd; do
    systemctl disable --now "$svc" >/dev/null 2>&1 || true
done
