//! UPDATE (RFC 4271 §4.3). Placeholder until the UPDATE codec lands; only
//! the signatures are fixed here so the framing can call them.

use bytes::{Bytes, BytesMut};

use crate::error::DecodeError;
use crate::wire::DecodeContext;
use crate::wire::notification::{ErrorCode, Notification};

/// An UPDATE message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Update {}

impl Update {
    /// Decode the body of an UPDATE (everything after the 19-octet header).
    pub fn decode(_body: Bytes, _ctx: &DecodeContext) -> Result<Update, DecodeError> {
        Err(DecodeError::new(
            Notification::new(ErrorCode::UPDATE, 0, Bytes::new()),
            "UPDATE codec not built yet",
        ))
    }

    /// Append the body of this UPDATE (without the header) to `out`.
    pub fn encode_body(&self, _ctx: &DecodeContext, _out: &mut BytesMut) {}
}
