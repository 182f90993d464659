//! Validated domain values. Each has a `parse` constructor that is the only way to make one, so
//! a value of the type is valid by construction.

mod catalog;
mod credentials;
pub mod discount;
mod email;
mod money;
mod redirect;
mod text;
mod time;

pub use catalog::{Description, IdempotencyKey, ImageUrl, ItemName, Sku, Tags};
pub use credentials::{Password, Username};
pub use email::EmailAddress;
pub use money::Money;
pub use redirect::redirect_target;
pub use text::check_text;
pub use time::check_time;
