//! Arbitrary octets as an UPDATE body, without the framing that bounds it
//! to 4096 or 65535 octets: the first octet picks the session
//! (`bgp_fuzz::context`), and an UPDATE decoded must encode and decode back
//! equal.
#![no_main]

use bgp::wire::Update;
use bytes::Bytes;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&session, body)) = data.split_first() else {
        return;
    };
    let ctx = bgp_fuzz::context(session);
    if let Ok(update) = Update::decode(Bytes::copy_from_slice(body), &ctx) {
        bgp_fuzz::check_update(&update, &ctx);
    }
});
