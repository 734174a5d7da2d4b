//! ROUTE-REFRESH (RFC 2918 §3) with the message subtypes of enhanced route
//! refresh (RFC 7313 §3.2).
//!
//! ```text
//!  0       7      15      23      31
//! +-------+-------+-------+-------+
//! |      AFI      | Subtype| SAFI |
//! +-------+-------+-------+-------+
//! ```

use crate::family::Family;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RouteRefresh {
    pub family: Family,
    pub subtype: RefreshSubtype,
}

/// RFC 7313 §3.2: the octet that RFC 2918 called reserved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RefreshSubtype {
    /// 0: a plain route refresh request.
    Request,
    /// 1: Beginning of Route Refresh.
    Begin,
    /// 2: End of Route Refresh.
    End,
    /// Any other value: RFC 7313 §5 says ignore the message.
    Reserved(u8),
}
