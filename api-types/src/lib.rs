//! The store's wire contract: the JSON bodies of the REST API and the websocket messages.
//!
//! This crate compiles to WASM as well as for the server, so it holds only plain data and the
//! few pure helpers both sides need (money formatting, status names). Nothing here touches a
//! database or a secret.

mod money;
mod provider;
mod time;

pub use money::{
    SUPPORTED_CURRENCIES, currency_exponent, format_decimal, format_money, major_units, parse_price,
};
pub use provider::{
    IntentAccepted, IntentItem, PaymentIntent, ProviderEvent, ProviderEventData, ProviderEventKind,
    RefundRequest,
};
pub use time::{format_clock, format_minute};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A catalog item as clients see it. `price` (major units) is kept for old clients beside the
/// exact `price_cents` + `currency`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Item {
    pub id: i64,
    pub sku: String,
    pub name: String,
    pub description: String,
    pub price: f64,
    pub price_cents: i64,
    pub currency: String,
    pub image: String,
    pub tags: Vec<String>,
    pub consumable: bool,
    pub active: bool,
    /// Units that exist; `null`: unlimited.
    #[serde(default)]
    pub stock: Option<i64>,
    /// Units one shopper may hold (in pending and paid orders); `null`: no limit.
    #[serde(default)]
    pub max_per_user: Option<i32>,
    /// Units left to sell (never negative); `null`: unlimited.
    #[serde(default)]
    pub available: Option<i64>,
    /// The timed sale set on the item, whether or not it is on now.
    #[serde(default)]
    pub sale: Option<Sale>,
    /// While a sale is on: its price and when it ends.
    #[serde(default)]
    pub sale_price_cents: Option<i64>,
    #[serde(default)]
    pub sale_ends_at: Option<DateTime<Utc>>,
    /// A bundle's items (empty for an item that is not a bundle) and its discount.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub bundle_item_ids: Vec<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bundle_discount_percent: Option<i32>,
    /// For a logged-in shopper viewing a bundle: which of its items they own, and what the rest
    /// costs them ("complete the set").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owned_item_ids: Option<Vec<i64>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price_for_you_cents: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A timed sale: `percent_off` from `starts_at` until `ends_at`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sale {
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 99))]
    pub percent_off: i32,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
}

impl Item {
    /// Whether nothing is left to sell.
    pub fn sold_out(&self) -> bool {
        self.available.is_some_and(|n| n <= 0)
    }

    /// What one costs now: the sale price while a sale is on.
    pub fn price_now_cents(&self) -> i64 {
        self.sale_price_cents.unwrap_or(self.price_cents)
    }

    pub fn is_bundle(&self) -> bool {
        !self.bundle_item_ids.is_empty()
    }
}

/// A new item, as an operator submits it (`POST /api/items`).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NewItem {
    /// 2–64 of a-z 0-9 -, starting with a letter or digit.
    #[cfg_attr(feature = "openapi", schema(pattern = "^[a-z0-9][a-z0-9-]{1,63}$"))]
    pub sku: String,
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 120))]
    pub name: String,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_length = 2000))]
    pub description: String,
    /// Minor units (cents), 1 to 100,000,000.
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 100_000_000))]
    pub price_cents: i64,
    #[serde(default = "default_currency")]
    pub currency: String,
    #[serde(default)]
    pub image: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub consumable: bool,
    /// Units that exist (0 or more); absent or `null`: unlimited.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(minimum = 0, maximum = 1_000_000_000))]
    pub stock: Option<i64>,
    /// Units one shopper may hold; absent or `null`: no limit.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 10_000))]
    pub max_per_user: Option<i32>,
    #[serde(default)]
    pub sale: Option<Sale>,
    /// 2–20 other items (not bundles themselves) make this a bundle.
    #[serde(default)]
    pub bundle_item_ids: Vec<i64>,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(minimum = 0, maximum = 90))]
    pub bundle_discount_percent: Option<i32>,
}

fn default_currency() -> String {
    "USD".to_owned()
}

/// A partial update of an item (`PATCH /api/items/{id}`): fields that are present change.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ItemPatch {
    pub sku: Option<String>,
    pub name: Option<String>,
    pub description: Option<String>,
    pub price_cents: Option<i64>,
    pub currency: Option<String>,
    pub image: Option<String>,
    pub tags: Option<Vec<String>>,
    pub consumable: Option<bool>,
    pub active: Option<bool>,
    /// Absent: unchanged; `null`: unlimited; a number: that many units exist.
    #[serde(default, deserialize_with = "present")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<i64>, minimum = 0))]
    pub stock: Option<Option<i64>>,
    /// Absent: unchanged; `null`: no limit.
    #[serde(default, deserialize_with = "present")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<i32>, minimum = 1))]
    pub max_per_user: Option<Option<i32>>,
    /// Absent: unchanged; `null`: no sale.
    #[serde(default, deserialize_with = "present")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Sale>))]
    pub sale: Option<Option<Sale>>,
    pub bundle_item_ids: Option<Vec<i64>>,
    #[serde(default, deserialize_with = "present")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<i32>))]
    pub bundle_discount_percent: Option<Option<i32>>,
}

/// A promo code as operators see it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PromoCode {
    pub code: String,
    pub percent_off: Option<i32>,
    pub amount_off_cents: Option<i64>,
    pub currency: String,
    pub starts_at: Option<DateTime<Utc>>,
    pub ends_at: Option<DateTime<Utc>>,
    pub max_uses: Option<i32>,
    pub max_uses_per_user: Option<i32>,
    pub min_subtotal_cents: Option<i64>,
    pub item_ids: Vec<i64>,
    pub tags: Vec<String>,
    /// Orders that used it and did not fail or expire.
    pub uses: i32,
    pub active: bool,
    pub created_at: DateTime<Utc>,
}

/// `POST /api/admin/promo-codes`: one of `percent_off` and `amount_off_cents`; one of
/// `item_ids` and `tags` (neither: any item).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NewPromoCode {
    /// 3–32 of A-Z 0-9 _ - (case-insensitive).
    #[cfg_attr(feature = "openapi", schema(pattern = "^[A-Za-z0-9_-]{3,32}$"))]
    pub code: String,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 100))]
    pub percent_off: Option<i32>,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(minimum = 1))]
    pub amount_off_cents: Option<i64>,
    #[serde(default)]
    pub currency: Option<String>,
    #[serde(default)]
    pub starts_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub ends_at: Option<DateTime<Utc>>,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(minimum = 1))]
    pub max_uses: Option<i32>,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(minimum = 1))]
    pub max_uses_per_user: Option<i32>,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(minimum = 0))]
    pub min_subtotal_cents: Option<i64>,
    #[serde(default)]
    pub item_ids: Option<Vec<i64>>,
    #[serde(default)]
    pub tags: Option<Vec<String>>,
}

/// `PATCH /api/admin/promo-codes/{code}`: fields present change.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PromoCodePatch {
    pub active: Option<bool>,
    #[serde(default, deserialize_with = "present")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<DateTime<Utc>>))]
    pub ends_at: Option<Option<DateTime<Utc>>>,
    #[serde(default, deserialize_with = "present")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<i32>))]
    pub max_uses: Option<Option<i32>>,
}

/// `POST /api/cart/promo`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PromoApply {
    pub code: String,
}

/// Tells a field that is present (even as `null`) from one that is absent.
fn present<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

/// Catalog sort orders, as spelled in the `sort` query parameter.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum Sort {
    #[default]
    #[serde(rename = "name")]
    Name,
    #[serde(rename = "price")]
    Price,
    #[serde(rename = "-price")]
    PriceDesc,
    #[serde(rename = "newest")]
    Newest,
}

impl Sort {
    pub const ALL: [Sort; 4] = [Sort::Name, Sort::Price, Sort::PriceDesc, Sort::Newest];

    pub fn as_str(self) -> &'static str {
        match self {
            Sort::Name => "name",
            Sort::Price => "price",
            Sort::PriceDesc => "-price",
            Sort::Newest => "newest",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == raw)
    }

    pub fn label(self) -> &'static str {
        match self {
            Sort::Name => "Name (A–Z)",
            Sort::Price => "Price: low to high",
            Sort::PriceDesc => "Price: high to low",
            Sort::Newest => "Newest first",
        }
    }
}

/// Catalog query parameters as text, exactly as they arrive in a URL (the REST API's query
/// string, the catalog page's address) or a server function. Every field is optional text so
/// that a bad value becomes a 422 naming the field, not a 400; the store validates it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatalogQuery {
    pub q: Option<String>,
    pub tag: Option<String>,
    pub min_price: Option<String>,
    pub max_price: Option<String>,
    pub sort: Option<String>,
    pub page: Option<String>,
    pub per_page: Option<String>,
}

/// One page of catalog results, as the UI's server function returns it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CatalogPage {
    pub items: Vec<Item>,
    pub total: u64,
    pub page: u32,
    pub per_page: u32,
    pub tags: Vec<String>,
}

impl CatalogPage {
    pub fn page_count(&self) -> u32 {
        if self.total == 0 {
            1
        } else {
            self.total.div_ceil(u64::from(self.per_page.max(1))) as u32
        }
    }
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Customer,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Customer => "customer",
            Role::Admin => "admin",
        }
    }
}

/// A user as the API shows it (never the password hash). `id` repeats `user_id` for the
/// original store's clients.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct User {
    pub id: Uuid,
    pub user_id: Uuid,
    pub username: String,
    pub role: Role,
    pub created_at: DateTime<Utc>,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    Pending,
    Paid,
    Failed,
    Expired,
    /// Some of the payment was given back (`refunded_cents`); the refunded lines are revoked.
    PartiallyRefunded,
    Refunded,
}

impl OrderStatus {
    pub const ALL: [OrderStatus; 6] = [
        OrderStatus::Pending,
        OrderStatus::Paid,
        OrderStatus::Failed,
        OrderStatus::Expired,
        OrderStatus::PartiallyRefunded,
        OrderStatus::Refunded,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::Pending => "pending",
            OrderStatus::Paid => "paid",
            OrderStatus::Failed => "failed",
            OrderStatus::Expired => "expired",
            OrderStatus::PartiallyRefunded => "partially_refunded",
            OrderStatus::Refunded => "refunded",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == raw)
    }

    /// Whether the order can still change without an operator.
    pub fn is_final(self) -> bool {
        !matches!(self, OrderStatus::Pending | OrderStatus::Paid)
    }
}

/// The item an order is for (archived items still show in past orders). `description` and
/// `price` (major units of the order's currency) are there for the original store's clients.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderItem {
    pub id: i64,
    pub sku: String,
    pub name: String,
    pub image: String,
    pub description: String,
    pub price: f64,
}

/// One line of an order: what was bought, how many, and the prices frozen when it was placed.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderLine {
    /// The line's own id (what `line_item_ids` in a refund request names).
    #[serde(default)]
    pub line_id: i64,
    pub item_id: i64,
    pub sku: String,
    pub name: String,
    pub image: String,
    pub quantity: u32,
    pub unit_price_cents: i64,
    pub discount_cents: i64,
    pub line_total_cents: i64,
    /// A refund took this line back: what it granted is no longer the buyer's.
    #[serde(default)]
    pub refunded: bool,
    /// The buyer may ask for this line back themselves (`POST
    /// /api/purchases/{order_id}/refunds`): an item they keep (not a consumable) that
    /// delivered no license key, not refunded or being refunded, within the order's
    /// `refundable_until`. Absent when false.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub self_refundable: bool,
    /// A refund of this line was asked of the provider and is not yet confirmed. Absent when
    /// false.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub refund_pending: bool,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatusChange {
    pub from: Option<OrderStatus>,
    pub to: OrderStatus,
    pub reason: Option<String>,
    pub at: DateTime<Utc>,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Order {
    pub order_id: Uuid,
    pub user_id: Uuid,
    pub status: OrderStatus,
    /// Every line, in the order they were placed.
    pub lines: Vec<OrderLine>,
    /// The first line's item (`item_id`, `item`), for the original store's clients.
    pub item_id: i64,
    pub item: OrderItem,
    pub amount_cents: i64,
    pub currency: String,
    /// What the provider has given back so far.
    #[serde(default)]
    pub refunded_cents: i64,
    pub provider_transaction_id: Option<String>,
    pub failure_reason: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// `created_at` again, for the original store's clients.
    pub timestamp: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub history: Option<Vec<StatusChange>>,
    /// For a gift: who gets what the order grants, and the buyer's message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gift: Option<Gift>,
    /// Until when the buyer may ask for lines back themselves (`REFUND_WINDOW_DAYS` after the
    /// payment); absent when they cannot (unpaid, a gift, or the window has passed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refundable_until: Option<DateTime<Utc>>,
}

/// `POST /api/purchases/{order_id}/refunds`: the buyer asks for lines of their order back.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OwnRefund {
    /// The order's `lines[].line_id`s to take back (each must be `self_refundable`).
    pub line_item_ids: Vec<i64>,
    #[serde(default)]
    pub reason: Option<String>,
}

/// The recipient of a gift order, as its buyer sees it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Gift {
    pub to_user_id: Uuid,
    pub to_username: String,
    pub message: Option<String>,
}

/// `POST /api/cart/checkout` body (optional): check the cart out as a gift.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckoutRequest {
    /// The username of who gets the items (not the buyer).
    #[serde(default)]
    pub gift_to: Option<String>,
    /// Up to 200 characters, shown to the recipient.
    #[serde(default)]
    pub gift_message: Option<String>,
}

/// A gift someone sent the user, as the recipient sees it (`GET /api/users/me/gifts`).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GiftReceived {
    pub order_id: Uuid,
    pub from_username: String,
    pub items: Vec<LiveItem>,
    pub message: Option<String>,
    pub received_at: DateTime<Utc>,
}

/// The user's email address for receipts (`GET/PUT/DELETE /api/users/me/email`). Mail goes
/// only to a verified address.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EmailStatus {
    pub email: Option<String>,
    pub verified: bool,
    /// When the last verification link was sent (while the address is not yet verified).
    pub verification_sent_at: Option<DateTime<Utc>>,
}

/// `PUT /api/users/me/email` body.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewEmail {
    /// Up to 254 characters, `name@example.com`.
    pub email: String,
}

/// `POST /api/users/email/verify` body: the token from the verification link.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmailVerification {
    pub token: String,
}

/// One entry of the audit log (`GET /api/admin/audit`).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub id: i64,
    pub at: DateTime<Utc>,
    /// The user who acted (or whom a security event is about); absent for an unknown name.
    pub actor_id: Option<Uuid>,
    /// Their username, or what was typed for a failed login.
    pub actor: String,
    /// `item.create`, `item.update`, `item.archive`, `promo.create`, `promo.update`,
    /// `refund.request`, `keys.import`, `webhook.replay`, `login.success`, `login.failure`,
    /// `login.lockout`, `admin.promote`.
    pub action: String,
    pub target_type: String,
    pub target_id: String,
    /// What changed: `{"field": [before, after]}` for edits, a summary otherwise.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub diff: serde_json::Value,
    pub client_ip: Option<String>,
}

/// One webhook request as the store received it (`GET /api/admin/webhook-events`). Nothing of a
/// delivery that is not `verified` is trusted; it is shown as it came.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WebhookDelivery {
    pub id: i64,
    pub received_at: DateTime<Utc>,
    /// `standard` (Standard Webhooks) or `xsolla`.
    pub scheme: String,
    /// The `webhook-id` header as sent.
    pub delivery_id: Option<String>,
    pub verified: bool,
    /// Why it was refused (a bad signature, a stale timestamp, missing headers).
    pub rejection: Option<String>,
    /// The HTTP status the store answered.
    pub status_code: u16,
    /// What processing did: `applied`, `no_op`, `duplicate`, `deferred`, `unknown_order`, …
    pub outcome: Option<String>,
    pub detail: Option<String>,
    pub event_type: Option<String>,
    pub order_id: Option<Uuid>,
    /// The payment event it made or matched (verified deliveries only).
    pub event_id: Option<String>,
    /// The delivery this one re-ran, for an operator's replay.
    pub replay_of: Option<i64>,
    pub body_sha256: String,
    /// The raw body; only in `GET /api/admin/webhook-events/{id}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// The body was cut when stored (refused deliveries keep at most 4 KiB).
    #[serde(default)]
    pub body_truncated: bool,
}

/// What a replay did (`POST /api/admin/webhook-events/{id}/replay`).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReplayResult {
    /// The delivery recorded for the replay.
    pub delivery_id: i64,
    /// `applied` when it changed something now; otherwise the outcome it had already.
    pub outcome: String,
    /// True when the event had been applied (or recorded) before: nothing changed.
    pub already_applied: bool,
    pub message: String,
}

/// A page of orders found by the operators' search (`GET /api/admin/orders`).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderSearchPage {
    pub orders: Vec<AdminOrder>,
    pub page: u32,
    pub per_page: u32,
    /// Whether another page follows.
    pub has_more: bool,
}

/// The dashboard's figures over a range of days (`GET /api/admin/stats`).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SalesStats {
    /// First and last day of the range (UTC, inclusive).
    pub from: chrono::NaiveDate,
    pub to: chrono::NaiveDate,
    pub bucket: String,
    /// The currency of the money figures.
    pub currency: String,
    /// Every day of the range, including days without orders.
    pub days: Vec<DayStats>,
    /// Orders created in the range, by their state now.
    pub by_status: Vec<StatusCount>,
    pub orders_created: u64,
    /// Orders created in the range that were paid (now paid, partly or fully refunded).
    pub orders_paid: u64,
    /// `orders_paid / orders_created` (0 without orders).
    pub conversion: f64,
    /// Paid in the range, in `currency` (before refunds).
    pub revenue_cents: i64,
    /// Given back on those orders so far.
    pub refunded_cents: i64,
    /// Refunds completed in the range (any currency), and how much they gave back in `currency`.
    pub refunds: u64,
    pub refunds_cents: i64,
    /// Best sellers by revenue in `currency` (paid orders), at most 10.
    pub top_items: Vec<TopItem>,
    /// Other currencies with paid orders in the range, for a currency switch.
    pub currencies: Vec<String>,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DayStats {
    pub day: chrono::NaiveDate,
    pub orders: u64,
    pub paid: u64,
    pub revenue_cents: i64,
    pub refunded_cents: i64,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatusCount {
    pub status: OrderStatus,
    pub count: u64,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TopItem {
    pub item_id: i64,
    pub name: String,
    pub units: i64,
    pub revenue_cents: i64,
}

/// A shopper's cart, priced from the catalog every time it is read.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cart {
    pub lines: Vec<CartLine>,
    pub subtotal_cents: i64,
    pub discount_cents: i64,
    pub total_cents: i64,
    pub currency: String,
    pub promo_code: Option<String>,
    /// What changed since the cart was last read (a line dropped because its item was
    /// archived or sold out, a quantity lowered to what is left).
    pub warnings: Vec<CartWarning>,
}

impl Cart {
    /// Lines in the cart (the header's badge).
    pub fn line_count(&self) -> usize {
        self.lines.len()
    }
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CartLine {
    pub item_id: i64,
    pub sku: String,
    pub name: String,
    pub image: String,
    pub quantity: u32,
    pub unit_price_cents: i64,
    /// What the promo code takes off this line.
    pub discount_cents: i64,
    pub line_total_cents: i64,
    /// Whether more than one may be bought (consumables).
    pub consumable: bool,
    /// Units left to sell, if the item's stock is limited.
    pub available: Option<i64>,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CartWarning {
    /// `ITEM_UNAVAILABLE`, `SOLD_OUT`, `ALREADY_OWNED`, `CURRENCY_MISMATCH` (its item is now
    /// priced in another currency than the cart's), `QUANTITY_REDUCED`, `PRICE_CHANGED` or
    /// `PROMO_REMOVED`.
    pub code: String,
    pub item_id: i64,
    pub message: String,
}

/// `PUT /api/cart/lines/{item_id}`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CartQuantity {
    /// 0 removes the line; at most 99 (1 for items that are not consumable).
    #[cfg_attr(feature = "openapi", schema(minimum = 0, maximum = 99))]
    pub quantity: i64,
}

/// One owned item in a user's library. Consumables bought several times show a count.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LibraryEntry {
    pub item: Item,
    pub count: u32,
    pub acquired_at: DateTime<Utc>,
    /// The license keys handed to this owner for the item, one per unit (items with a key pool).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub keys: Vec<String>,
}

/// A payment notification as the store recorded it, for operators.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PaymentEvent {
    pub event_id: String,
    pub scheme: String,
    pub event_type: String,
    pub order_id: Option<Uuid>,
    pub outcome: String,
    pub detail: Option<String>,
    pub payload: String,
    pub received_at: DateTime<Utc>,
    pub processed_at: Option<DateTime<Utc>>,
}

/// An order with everything an operator needs to judge it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AdminOrder {
    pub order: Order,
    pub username: String,
    /// Why a failed order failed, in the store's own words (never shown to the buyer).
    pub failure_detail: Option<String>,
    pub events: Vec<PaymentEvent>,
    /// Refunds asked for or reported, oldest first.
    #[serde(default)]
    pub refunds: Vec<Refund>,
}

/// A refund, as operators see it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Refund {
    pub refund_id: Uuid,
    pub order_id: Uuid,
    /// `pending` (asked of the provider), `succeeded` (its webhook arrived) or `failed` (the
    /// provider refused it). A `pending` refund with a `detail` got no answer from the provider
    /// yet: asking again with the same request sends it again.
    pub status: String,
    pub amount_cents: i64,
    pub currency: String,
    /// The order lines it takes back. Empty: a refund by amount, which revokes nothing.
    pub line_ids: Vec<i64>,
    pub reason: Option<String>,
    /// `operator`, or `provider` for one the provider made unasked (a chargeback).
    pub initiated_by: String,
    pub detail: Option<String>,
    pub created_at: DateTime<Utc>,
    pub completed_at: Option<DateTime<Utc>>,
}

/// `POST /api/admin/items/{id}/keys` as JSON: license keys to add to the item's pool.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewKeys {
    /// 1 to 5,000 keys, each 4–128 printable ASCII characters without spaces.
    pub keys: Vec<String>,
}

/// What an import added; a key already in the pool (or twice in the import) is a duplicate.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeysAdded {
    pub added: u64,
    pub duplicates: u64,
}

/// An item's key pool as operators see it: counts, and the newest keys masked.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeyPool {
    pub item_id: i64,
    pub available: u64,
    pub assigned: u64,
    pub revoked: u64,
    /// The 20 newest keys, masked (`••••••7Q2Z`): never a whole key.
    pub recent: Vec<MaskedKey>,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MaskedKey {
    pub masked: String,
    /// `available`, `assigned` or `revoked`.
    pub status: String,
    pub order_id: Option<Uuid>,
    pub added_at: DateTime<Utc>,
}

/// `POST /api/admin/orders/{order_id}/refunds`: lines to take back and/or an amount. With
/// neither, everything not yet refunded; with lines only, their total.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewRefund {
    #[serde(default)]
    pub amount_cents: Option<i64>,
    #[serde(default)]
    pub line_item_ids: Option<Vec<i64>>,
    #[serde(default)]
    pub reason: Option<String>,
}

/// A refund asked of the provider: the order changes when its webhook arrives.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RefundAccepted {
    pub refund_id: Uuid,
    pub status: String,
    pub amount_cents: i64,
    pub currency: String,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LiveItem {
    pub id: i64,
    pub name: String,
}

/// A message on the `/ws` socket. Each user receives only their own.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum LiveMessage {
    PurchaseSuccess {
        order_id: Uuid,
        user_id: Uuid,
        items: Vec<LiveItem>,
    },
    PurchaseFailed {
        order_id: Uuid,
        user_id: Uuid,
        items: Vec<LiveItem>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    /// Some or all of an order was refunded; `items` are the lines taken back (all of them
    /// for a full refund, none for a partial refund by amount).
    PurchaseRefunded {
        order_id: Uuid,
        user_id: Uuid,
        items: Vec<LiveItem>,
        #[serde(default)]
        refunded_cents: i64,
        #[serde(default)]
        partial: bool,
    },
    /// Someone's gift to the user was paid: the items are in the user's library.
    GiftReceived {
        order_id: Uuid,
        user_id: Uuid,
        from_username: String,
        items: Vec<LiveItem>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        message: Option<String>,
    },
    /// The user's cart changed (on any tab or device): `line_count` lines are in it now.
    CartUpdated { user_id: Uuid, line_count: u32 },
    /// For operators only: an order changed (the latest of the last quarter second, so a busy
    /// store sends a few of these a second, not one per order). Dashboards re-read on it.
    OrderChanged {
        order_id: Uuid,
        /// The buyer.
        user_id: Uuid,
        status: OrderStatus,
    },
    /// An item on the user's wishlist went on sale, or is back in stock.
    WishlistOnSale {
        user_id: Uuid,
        item_id: i64,
        name: String,
        /// `sale` or `restock`.
        reason: String,
        price_cents: i64,
        currency: String,
    },
}

impl LiveMessage {
    /// What an order became, for a message that reports an order's move to the buyer.
    pub fn order_status(&self) -> Option<OrderStatus> {
        match self {
            LiveMessage::PurchaseSuccess { .. } => Some(OrderStatus::Paid),
            LiveMessage::PurchaseFailed { reason, .. } => {
                Some(if reason.as_deref() == Some("expired") {
                    OrderStatus::Expired
                } else {
                    OrderStatus::Failed
                })
            }
            LiveMessage::PurchaseRefunded { partial, .. } => Some(if *partial {
                OrderStatus::PartiallyRefunded
            } else {
                OrderStatus::Refunded
            }),
            _ => None,
        }
    }

    /// The order the message is about, if it is about one.
    pub fn order_id(&self) -> Option<Uuid> {
        match self {
            LiveMessage::PurchaseSuccess { order_id, .. }
            | LiveMessage::PurchaseFailed { order_id, .. }
            | LiveMessage::PurchaseRefunded { order_id, .. }
            | LiveMessage::GiftReceived { order_id, .. }
            | LiveMessage::OrderChanged { order_id, .. } => Some(*order_id),
            LiveMessage::CartUpdated { .. } | LiveMessage::WishlistOnSale { .. } => None,
        }
    }

    pub fn user_id(&self) -> Uuid {
        match self {
            LiveMessage::PurchaseSuccess { user_id, .. }
            | LiveMessage::PurchaseFailed { user_id, .. }
            | LiveMessage::PurchaseRefunded { user_id, .. }
            | LiveMessage::GiftReceived { user_id, .. }
            | LiveMessage::CartUpdated { user_id, .. }
            | LiveMessage::OrderChanged { user_id, .. }
            | LiveMessage::WishlistOnSale { user_id, .. } => *user_id,
        }
    }

    pub fn items(&self) -> &[LiveItem] {
        match self {
            LiveMessage::PurchaseSuccess { items, .. }
            | LiveMessage::PurchaseFailed { items, .. }
            | LiveMessage::PurchaseRefunded { items, .. }
            | LiveMessage::GiftReceived { items, .. } => items,
            LiveMessage::CartUpdated { .. }
            | LiveMessage::OrderChanged { .. }
            | LiveMessage::WishlistOnSale { .. } => &[],
        }
    }
}

/// The one error shape of the API: `{"error": {"code", "message", "field"?}}`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorDetail {
    pub code: String,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn live_messages_use_the_spec_shape() {
        let msg = LiveMessage::PurchaseSuccess {
            order_id: Uuid::nil(),
            user_id: Uuid::nil(),
            items: vec![LiveItem {
                id: 1,
                name: "Dragon Sword".into(),
            }],
        };
        let json = serde_json::to_value(&msg).expect("serialises");
        assert_eq!(json["type"], "purchase_success");
        assert_eq!(json["items"][0]["name"], "Dragon Sword");
        assert_eq!(json["order_id"], Uuid::nil().to_string());
    }

    #[test]
    fn sort_names_round_trip() {
        for sort in Sort::ALL {
            assert_eq!(Sort::parse(sort.as_str()), Some(sort));
        }
        assert_eq!(Sort::parse("cheapest"), None);
    }

    #[test]
    fn page_count_rounds_up_and_never_is_zero() {
        let page = |total| CatalogPage {
            items: vec![],
            total,
            page: 1,
            per_page: 20,
            tags: vec![],
        };
        assert_eq!(page(0).page_count(), 1);
        assert_eq!(page(20).page_count(), 1);
        assert_eq!(page(21).page_count(), 2);
    }
}
