#!/usr/bin/env python3
"""Write the fuzz seeds in bgp/fuzz/seeds/ from the real messages the bgp
tests already hold:

- every message of bgp/tests/data/captures/*.hex (FRR, BIRD, GoBGP and
  ExaBGP on the wire), one seed each, and each file's messages back to back
  as one more seed, in the session its `# context:` line names;
- the UPDATE bodies of bgp/tests/update_roundtrip.rs (four-octet AS);
- the OPENs of bgp/tests/header_open_errors.rs (default session).

A seed's first octet selects the session, as bgp_fuzz::context reads it:
bit 0 four-octet AS, bit 1 Extended Message, bit 2 extended next hop for
IPv4, bit 3 internal peer. decode_message seeds are whole messages;
decode_update seeds are UPDATE bodies, the 19-octet header cut off.

Run from anywhere: python3 bgp/fuzz/make_seeds.py
"""

import re
import shutil
from pathlib import Path

FUZZ = Path(__file__).resolve().parent
TESTS = FUZZ.parent / "tests"
HEADER_LEN = 19
UPDATE = 2
CONTEXT_BITS = {
    "four_octet_as": 1,
    "extended_message": 2,
    "extended_next_hop_ipv4": 4,
    "ibgp": 8,
}
FOUR_OCTET_AS = CONTEXT_BITS["four_octet_as"]


def context_octet(line):
    """The session octet of a `# context: a=true b=false ...` line."""
    octet = 0
    for setting in line.split(":", 1)[1].split():
        name, _, value = setting.partition("=")
        if value == "true":
            octet |= CONTEXT_BITS[name]
    return octet


def frame(kind, body):
    length = HEADER_LEN + len(body)
    return b"\xff" * 16 + length.to_bytes(2, "big") + bytes([kind]) + body


def captures():
    """(name, session octet, [message]) per capture file."""
    for path in sorted((TESTS / "data" / "captures").glob("*.hex")):
        octet = None
        messages = []
        for line in path.read_text().splitlines():
            if line.startswith("# context:"):
                octet = context_octet(line)
            elif line and not line.startswith("#"):
                messages.append(bytes.fromhex(line.split("#", 1)[0].strip()))
        if octet is None:
            raise SystemExit(f"{path}: no '# context:' line")
        yield path.stem, octet, messages


def rust_hex_literals(path, pattern):
    """The hex string literals of `path` matched by `pattern`, with Rust's
    backslash line continuations joined."""
    source = re.sub(r"\\\n\s*", "", path.read_text())
    return [bytes.fromhex(m) for m in re.findall(pattern, source)]


def main():
    seeds = {"decode_message": {}, "decode_update": {}}

    def add(target, name, octet, data):
        seeds[target][name] = bytes([octet]) + data

    for stem, octet, messages in captures():
        for i, message in enumerate(messages):
            add("decode_message", f"{stem}-{i:02}", octet, message)
            if len(message) > HEADER_LEN and message[18] == UPDATE:
                add("decode_update", f"{stem}-{i:02}", octet, message[HEADER_LEN:])
        add("decode_message", f"{stem}-all", octet, b"".join(messages))

    bodies = rust_hex_literals(TESTS / "update_roundtrip.rs", r'"([0-9a-f]{8,})"')
    for i, body in enumerate(bodies):
        add("decode_message", f"update_roundtrip-{i:02}", FOUR_OCTET_AS, frame(UPDATE, body))
        add("decode_update", f"update_roundtrip-{i:02}", FOUR_OCTET_AS, body)

    opens = rust_hex_literals(
        TESTS / "header_open_errors.rs", r'const [A-Z0-9_]+: &str =\s*"([0-9a-f]+)"'
    )
    for i, message in enumerate(opens):
        add("decode_message", f"header_open_errors-{i:02}", 0, message)

    for target, files in seeds.items():
        directory = FUZZ / "seeds" / target
        shutil.rmtree(directory, ignore_errors=True)
        directory.mkdir(parents=True)
        for name, data in files.items():
            (directory / name).write_bytes(data)
        print(f"{target}: {len(files)} seeds in {directory.relative_to(FUZZ.parent.parent)}")


if __name__ == "__main__":
    main()
