set -e
ip netns add caproutes
trap 'ip netns del caproutes' EXIT
x() { ip -n caproutes "$@"; }
x link set lo up
x link add name va type veth peer name vb
x link set va up; x link set vb up
x addr add 192.0.2.1/24 dev va
x addr add 198.51.100.1/24 dev vb
x -6 addr add 2001:db8:1::1/64 dev va nodad
x -6 addr add 2001:db8:2::1/64 dev vb nodad
x route add 10.1.0.2/32 dev va proto 201
x route add 10.2.0.0/16 via 192.0.2.2 proto 202 metric 20
x route add 10.3.0.0/16 proto 202 nexthop via 192.0.2.2 dev va nexthop via 198.51.100.2 dev vb
x route add unreachable 10.4.0.0/16 proto 201
x route add blackhole 10.5.0.0/16 proto 202
x route add 10.6.0.0/16 via inet6 2001:db8:1::2 dev va proto 202
x route add 10.7.0.0/16 via 192.0.2.2 table 100 proto 202
x route add default via 192.0.2.254 proto 202
x -6 route add 2001:db8:10::/48 via 2001:db8:1::2 proto 202
x -6 route add 2001:db8:11::/48 proto 202 nexthop via 2001:db8:1::2 dev va nexthop via 2001:db8:2::2 dev vb
x -6 route add unreachable 2001:db8:12::/48 proto 201
x -6 route add 2001:db8:13::1/128 dev va proto 201
ip netns exec caproutes python3 "$(dirname "$0")/capture_routes.py" "$1"
ip netns exec caproutes ip route show table all
ip netns exec caproutes ip -6 route show table all
