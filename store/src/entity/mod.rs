//! SeaORM entities, one module per table (schema in the `migration` crate). Columns with a
//! fixed set of values are typed enums (`DeriveActiveEnum`): a value the code does not know is a
//! read error, never a silent fallback.

pub mod audit_log;
pub mod cart_lines;
pub mod carts;
pub mod items;
pub mod license_keys;
pub mod order_lines;
pub mod order_status_history;
pub mod orders;
pub mod outbox;
pub mod payment_events;
pub mod promo_codes;
pub mod promo_uses;
pub mod refunds;
pub mod sessions;
pub mod users;
pub mod webhook_deliveries;
pub mod wishlist;
pub mod wishlist_alerts;

pub use orders::Status;
pub use payment_events::Outcome;
pub use users::Role;
