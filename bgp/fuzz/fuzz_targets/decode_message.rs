//! Arbitrary octets as a receive buffer: the first octet picks the session
//! (`bgp_fuzz::context`), the rest is decoded message after message, and
//! every message decoded must encode and decode back equal.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&session, stream)) = data.split_first() else {
        return;
    };
    bgp_fuzz::decode_stream(stream, &bgp_fuzz::context(session));
});
