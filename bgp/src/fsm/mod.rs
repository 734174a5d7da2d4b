//! The session state machine (RFC 4271 §8).
