//! The REST API (SPEC §4). Each handler extracts, authorises, calls one domain function and maps
//! the result; the domain lives in the `store` crate.

pub mod cart;
pub mod console;
pub mod covers;
pub mod health;
pub mod items;
pub mod keys;
pub mod orders;
pub mod promotions;
mod responses;
pub mod users;
pub mod webhooks;

use axum::Router;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{any, delete, get, patch, post, put};

use crate::AppState;
use crate::error::plain;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/api/users",
            post(users::register_user).get(users::list_users),
        )
        .route("/api/users/login", post(users::login))
        .route("/api/users/logout", post(users::logout))
        .route(
            "/api/users/me",
            get(users::current_user).delete(users::delete_current_user),
        )
        .route("/api/users/me/gifts", get(users::my_gifts))
        .route(
            "/api/users/me/email",
            get(users::get_email)
                .put(users::set_email)
                .delete(users::remove_email),
        )
        .route("/api/users/me/email/resend", post(users::resend_email_link))
        .route("/api/users/email/verify", post(users::verify_email))
        .route("/api/users/{id}", delete(users::delete_user))
        .route(
            "/api/items",
            get(items::list_items).post(items::create_item),
        )
        .route("/api/items/", get(items::list_items_compat))
        .route(
            "/api/items/{id}",
            get(items::get_item)
                .patch(items::update_item)
                .delete(items::archive_item),
        )
        .route(
            "/api/purchases",
            post(orders::create_purchase).get(orders::list_purchases),
        )
        .route(
            "/api/purchases/",
            post(orders::create_purchase_compat).get(orders::list_purchases_compat),
        )
        .route("/api/purchases/{order_id}", get(orders::get_purchase))
        .route(
            "/api/purchases/{order_id}/refund",
            post(orders::refund_purchase),
        )
        .route(
            "/api/purchases/{order_id}/refunds",
            post(orders::request_own_refund),
        )
        .route(
            "/api/admin/items/{id}/keys",
            get(keys::key_pool).post(keys::import_keys),
        )
        .route("/api/admin/orders", get(orders::list_all_orders))
        .route("/api/admin/orders.csv", get(console::export_orders_csv))
        .route("/api/admin/stats", get(console::get_stats))
        .route(
            "/api/admin/webhook-events",
            get(console::list_webhook_events),
        )
        .route(
            "/api/admin/webhook-events/{id}",
            get(console::get_webhook_event),
        )
        .route(
            "/api/admin/webhook-events/{id}/replay",
            post(console::replay_webhook_event),
        )
        .route("/api/admin/audit", get(console::list_audit))
        .route(
            "/api/admin/orders/{order_id}/refunds",
            post(orders::create_refund),
        )
        .route("/api/cart", get(cart::get_cart).delete(cart::clear_cart))
        .route(
            "/api/cart/lines/{item_id}",
            put(cart::set_cart_line).delete(cart::remove_cart_line),
        )
        .route("/api/cart/checkout", post(cart::checkout))
        .route(
            "/api/cart/promo",
            post(promotions::apply_promo).delete(promotions::remove_promo),
        )
        .route(
            "/api/admin/promo-codes",
            get(promotions::list_promo_codes).post(promotions::create_promo_code),
        )
        .route(
            "/api/admin/promo-codes/{code}",
            patch(promotions::update_promo_code),
        )
        .route("/api/wishlist", get(promotions::get_wishlist))
        .route(
            "/api/wishlist/{item_id}",
            put(promotions::add_to_wishlist).delete(promotions::remove_from_wishlist),
        )
        .route("/api/webhooks/payment", post(webhooks::receive_payment))
        .route("/api/{*rest}", any(not_found))
}

async fn not_found() -> Response {
    plain(StatusCode::NOT_FOUND, "NOT_FOUND", "no such API endpoint")
}
