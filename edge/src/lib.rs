//! The store's HTTP edge, written once for every adapter: the REST handlers, the Leptos server
//! functions and the websocket all learn who is calling, from where, and whether the request
//! came from the store's own pages through this crate, and every error answers through
//! [`ApiError`].
//!
//! Semantics, the same everywhere: a missing, malformed, expired or revoked session token makes
//! the caller anonymous ([`Caller`] is `None`); an operation that needs a user then answers 401
//! ([`Auth`]), one that needs an operator 403 for customers ([`Admin`]).

mod caller;
mod client;
mod error;
pub mod ids;
mod origin;
mod query;
pub mod session;

pub use caller::{Admin, Auth, Caller};
pub use client::{ClientIp, client_address, client_ip};
pub use error::{ApiError, ApiResult, plain};
pub use origin::{from_own_pages, same_origin};
pub use query::query_params;
