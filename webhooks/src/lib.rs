//! Signing and verification of payment webhooks.
//!
//! Both the store (verifying) and the payment simulator (signing) use this crate, so the two sides
//! can never drift apart. Verification always works on the raw body bytes and compares MACs in
//! constant time.

pub mod standard;
pub mod xsolla;

pub use standard::{SigningSecret, StandardHeaders, VerifyError};
