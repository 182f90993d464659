//! The OpenAPI 3 description of the REST API, generated from the handlers' annotations and the
//! wire types, served at `/api/openapi.json`.

use axum::Json;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::api;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Game Store API",
        description = "Catalog, accounts, purchases and payment webhooks of the game store. \
            Errors are always `{\"error\": {\"code\", \"message\", \"field\"?}}`. Requests that \
            change state and carry the session cookie must come from the store's own origin \
            (`Origin` or `Referer`), otherwise they are refused with 403 `CSRF_REJECTED`."
    ),
    paths(
        api::users::register_user,
        api::users::login,
        api::users::logout,
        api::users::current_user,
        api::users::delete_current_user,
        api::users::delete_user,
        api::users::list_users,
        api::items::list_items,
        api::items::list_items_compat,
        api::items::get_item,
        api::items::create_item,
        api::items::update_item,
        api::items::archive_item,
        api::users::my_gifts,
        api::users::get_email,
        api::users::set_email,
        api::users::remove_email,
        api::users::resend_email_link,
        api::users::verify_email,
        api::keys::import_keys,
        api::keys::key_pool,
        api::orders::create_purchase,
        api::orders::list_purchases,
        api::orders::create_purchase_compat,
        api::orders::list_purchases_compat,
        api::orders::get_purchase,
        api::orders::refund_purchase,
        api::orders::create_refund,
        api::orders::request_own_refund,
        api::orders::list_all_orders,
        api::console::get_stats,
        api::console::export_orders_csv,
        api::console::list_webhook_events,
        api::console::get_webhook_event,
        api::console::replay_webhook_event,
        api::console::list_audit,
        api::cart::get_cart,
        api::cart::set_cart_line,
        api::cart::remove_cart_line,
        api::cart::clear_cart,
        api::cart::checkout,
        api::promotions::apply_promo,
        api::promotions::remove_promo,
        api::promotions::create_promo_code,
        api::promotions::list_promo_codes,
        api::promotions::update_promo_code,
        api::promotions::get_wishlist,
        api::promotions::add_to_wishlist,
        api::promotions::remove_from_wishlist,
        api::webhooks::receive_payment,
        api::health::healthz,
        api::health::readyz,
    ),
    components(schemas(api_types::ErrorBody, api_types::Sort, api_types::OrderStatus)),
    modifiers(&SessionCookie),
    tags(
        (name = "users", description = "Accounts and sessions"),
        (name = "items", description = "The catalog"),
        (name = "purchases", description = "Orders and their payment"),
        (name = "cart", description = "The shopper's cart and checkout"),
        (name = "promotions", description = "Promo codes (operators)"),
        (name = "wishlist", description = "The shopper's wishlist"),
        (name = "webhooks", description = "Payment provider notifications"),
        (name = "console", description = "The operator console: dashboard figures, order export, webhook log with replay, audit log (operators)"),
        (name = "health", description = "Probes"),
    )
)]
pub struct ApiDoc;

struct SessionCookie;

impl Modify for SessionCookie {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                edge::session::SESSION_COOKIE,
                "Set by POST /api/users/login",
            ))),
        );
    }
}

/// `GET /api/openapi.json`.
pub async fn spec() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
