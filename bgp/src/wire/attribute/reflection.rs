//! ORIGINATOR_ID (type code 9) and CLUSTER_LIST (type code 10), the route
//! reflection attributes of RFC 4456 §8. They only mean something inside an
//! AS: from an external peer they are discarded before they are read
//! (RFC 7606 §7.9, §7.10).
//!
//! ```text
//! ORIGINATOR_ID: | BGP Identifier (4 octets) |
//! CLUSTER_LIST:  | CLUSTER_ID (4 octets) | × n
//! ```

use std::net::Ipv4Addr;

use bytes::{BufMut, BytesMut};

use super::Malformed;
use crate::router_id::RouterId;
use crate::wire::notification::update_error;

/// A route reflection cluster (RFC 4456 §7).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ClusterId(pub u32);

pub(crate) fn decode_originator_id(value: &[u8]) -> Result<RouterId, Malformed> {
    match <[u8; 4]>::try_from(value) {
        Ok(octets) => Ok(RouterId(Ipv4Addr::from(octets))),
        // RFC 7606 §7.9: a length other than 4 is treat-as-withdraw.
        Err(_) => Err(Malformed::withdraw(
            update_error::ATTRIBUTE_LENGTH,
            "ORIGINATOR_ID length is not 4 (RFC 7606 §7.9)",
        )),
    }
}

pub(crate) fn decode_cluster_list(value: &[u8]) -> Result<Vec<ClusterId>, Malformed> {
    if value.is_empty() || !value.len().is_multiple_of(4) {
        // RFC 7606 §7.10: a length that is not a nonzero multiple of 4 is
        // treat-as-withdraw.
        return Err(Malformed::withdraw(
            update_error::ATTRIBUTE_LENGTH,
            "CLUSTER_LIST length is not a nonzero multiple of 4 (RFC 7606 §7.10)",
        ));
    }
    Ok(value
        .chunks_exact(4)
        .filter_map(|c| Some(ClusterId(u32::from_be_bytes(c.try_into().ok()?))))
        .collect())
}

pub(crate) fn encode_cluster_list(list: &[ClusterId], out: &mut BytesMut) {
    for id in list {
        out.put_u32(id.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::attribute::Verdict;

    #[test]
    fn lengths_are_checked() {
        // RFC 7606 §7.9 and §7.10.
        assert_eq!(
            decode_originator_id(&[10, 0, 0, 9]),
            Ok(RouterId(Ipv4Addr::new(10, 0, 0, 9)))
        );
        assert_eq!(
            decode_originator_id(&[10, 0, 0]).unwrap_err().verdict,
            Verdict::Withdraw
        );
        assert_eq!(
            decode_cluster_list(&[0, 0, 0, 1, 0, 0, 0, 2]),
            Ok(vec![ClusterId(1), ClusterId(2)])
        );
        assert_eq!(
            decode_cluster_list(&[0, 0, 1]).unwrap_err().verdict,
            Verdict::Withdraw
        );
        assert_eq!(
            decode_cluster_list(&[]).unwrap_err().verdict,
            Verdict::Withdraw
        );
    }
}
