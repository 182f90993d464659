//! Server functions: thin adapters from the UI to the `store` domain layer, one per file.
//! They are mounted under `/rpc` (the REST API owns `/api`). Every state-changing one is a
//! POST with a form-encoded body, so `ActionForm` works with JavaScript off.

mod account_email;
mod add_to_cart;
mod admin_items;
mod admin_promos;
mod archive_item;
mod buy;
mod cart;
mod cart_count;
mod catalog;
mod checkout;
mod console;
mod gifts;
mod item;
mod library;
mod license_keys;
mod login;
mod logout;
mod me;
mod order;
mod orders;
mod promo;
mod refund_order;
mod refund_own_line;
mod register;
mod save_item;
mod set_cart_line;
mod verify_email;
mod wishlist;

pub use account_email::{
    MyEmail, RemoveEmail, ResendEmailLink, SetEmail, my_email, remove_email, resend_email_link,
    set_email,
};
pub use add_to_cart::{AddToCart, add_to_cart};
pub use admin_items::{AdminItems, admin_items};
pub use admin_promos::{
    AdminPromoCodes, CreatePromo, SetPromoActive, admin_promo_codes, create_promo, set_promo_active,
};
pub use archive_item::{ArchiveItem, archive_item};
pub use buy::{Buy, buy};
pub use cart::{MyCart, my_cart};
pub use cart_count::{CartCount, cart_count};
pub use catalog::{GetCatalog, get_catalog};
pub use checkout::{Checkout, checkout};
pub use console::{
    AdminAudit, AdminSearchOrders, AdminStats, AdminWebhookEvent, AdminWebhookEvents,
    ReplayWebhook, admin_audit, admin_search_orders, admin_stats, admin_webhook_event,
    admin_webhook_events, replay_webhook,
};
pub use gifts::{MyGifts, my_gifts};
pub use item::{GetItem, get_item};
pub use library::{MyLibrary, my_library};
pub use license_keys::{AdminKeyPool, ImportKeys, admin_key_pool, import_keys};
pub use login::{Login, login};
pub use logout::{Logout, logout};
pub use me::{Me, me};
pub use order::{GetOrder, get_order};
pub use orders::{MyOrders, my_orders};
pub use promo::{ApplyPromo, apply_promo};
pub use refund_order::{RefundOrder, refund_order};
pub use refund_own_line::{RefundOwnLine, refund_own_line};
pub use register::{Register, register};
pub use save_item::{SaveItem, save_item};
pub use set_cart_line::{SetCartLine, set_cart_line};
pub use verify_email::{VerifyEmail, verify_email};
pub use wishlist::{IsWished, MyWishlist, SetWish, is_wished, my_wishlist, set_wish};
