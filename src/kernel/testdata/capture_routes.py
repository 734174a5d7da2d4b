# Dumps the IPv4 and IPv6 routes of the current network namespace (all
# tables) and writes the raw RTM_NEWROUTE messages, each padded to 4 octets.
import socket, struct, sys
out = b""
for family in (socket.AF_INET, socket.AF_INET6):
    s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0)
    s.bind((0, 0))
    RTM_GETROUTE, NLM_F_REQUEST, NLM_F_DUMP = 26, 1, 0x300
    body = struct.pack("=BBBBBBBBI", family, 0, 0, 0, 0, 0, 0, 0, 0)
    s.send(struct.pack("=IHHII", 16 + len(body), RTM_GETROUTE, NLM_F_REQUEST | NLM_F_DUMP, 1, 0) + body)
    done = False
    while not done:
        data = s.recv(65536)
        off = 0
        while off < len(data):
            length, kind, flags, seq, pid = struct.unpack_from("=IHHII", data, off)
            if kind == 3:
                done = True
                break
            if kind == 24:
                out += data[off:off + ((length + 3) & ~3)]
            off += (length + 3) & ~3
open(sys.argv[1], "wb").write(out)
