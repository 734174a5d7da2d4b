//! What a decoder says when the input is wrong, typed by what the session
//! must do about it.
//!
//! RFC 4271 §6 made every error fatal to the session. RFC 7606 §2 narrowed
//! that for UPDATE path attributes to three reactions, from the least to the
//! most disruptive: discard the attribute, treat the UPDATE as a withdrawal
//! of its routes, or reset the session. A decoder here never picks a reaction
//! implicitly: it returns one of these values, and the rule that picked it is
//! cited where the value is built.

use std::fmt;

use crate::wire::notification::Notification;

/// The message cannot be taken and the session must be reset: send this
/// NOTIFICATION and close the connection (RFC 4271 §6, RFC 7606 §2
/// "session reset").
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecodeError {
    pub notification: Notification,
    /// What was wrong, for the log; not sent on the wire.
    pub reason: &'static str,
}

impl DecodeError {
    pub fn new(notification: Notification, reason: &'static str) -> DecodeError {
        DecodeError {
            notification,
            reason,
        }
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.reason, self.notification)
    }
}

impl std::error::Error for DecodeError {}

/// RFC 7606 §2: the reaction to one malformed path attribute, from the least
/// disruptive to the most. When several attributes of one UPDATE are
/// malformed, the most disruptive reaction wins (RFC 7606 §3 (a)).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AttributeAction {
    /// "Attribute discard": drop the attribute, keep the routes.
    Discard,
    /// "Treat-as-withdraw": every route in the UPDATE is withdrawn.
    TreatAsWithdraw,
    /// "Session reset": send this NOTIFICATION and close.
    Reset(Notification),
}

impl AttributeAction {
    /// Rank by disruption, so the worst of several can be kept.
    pub fn severity(&self) -> u8 {
        match self {
            AttributeAction::Discard => 0,
            AttributeAction::TreatAsWithdraw => 1,
            AttributeAction::Reset(_) => 2,
        }
    }
}

/// A malformed path attribute an UPDATE was still taken with (RFC 7606 §2):
/// the attribute was discarded, or the UPDATE is treated as withdraw. RFC
/// 7606 §6 asks that each be logged.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AttributeError {
    /// The attribute type code (0 when the attribute could not be framed).
    pub type_code: u8,
    /// `Discard` or `TreatAsWithdraw`; a reset is the decode error instead.
    pub action: AttributeAction,
    /// What was wrong, citing the rule.
    pub reason: &'static str,
}

impl fmt::Display for AttributeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let action = match self.action {
            AttributeAction::Discard => "attribute discarded",
            AttributeAction::TreatAsWithdraw => "UPDATE treated as withdraw",
            AttributeAction::Reset(_) => "session reset",
        };
        write!(
            f,
            "attribute {}: {} ({action})",
            self.type_code, self.reason
        )
    }
}

/// A message that cannot be put on the wire as asked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EncodeError {
    /// Longer than the session allows: 4096 octets, or 65535 with Extended
    /// Message (RFC 8654 §4).
    TooLong { len: usize, max: usize },
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EncodeError::TooLong { len, max } => {
                write!(f, "message of {len} octets exceeds the maximum of {max}")
            }
        }
    }
}

impl std::error::Error for EncodeError {}
