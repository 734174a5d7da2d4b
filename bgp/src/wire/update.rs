//! UPDATE (RFC 4271 §4.3).

/// An UPDATE message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Update {}
