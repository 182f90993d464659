//! SeaORM entities, one module per table (schema in the `migration` crate).

pub mod items;
pub mod order_status_history;
pub mod orders;
pub mod payment_events;
pub mod sessions;
pub mod users;
