//! Payment notifications from the provider: verification, exactly-once recording and the order
//! transitions they cause; and the provider client the purchase flow registers intents with.
//!
//! Processing a notification is one transaction: insert the event keyed by its provider id
//! (`ON CONFLICT DO NOTHING`), apply the conditional transition, record the outcome, commit.
//! Only then is the buyer notified. A duplicate finds its event already recorded and gets the
//! original answer; a refund that overtakes its payment is parked (`deferred`) and applied the
//! moment the payment lands.

use chrono::Utc;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::NotSet, ColumnTrait as _, ConnectionTrait, EntityTrait as _, QueryFilter as _,
    Set, TryInsertResult,
};
use secrecy::ExposeSecret as _;
use serde::Deserialize;
use sha2::{Digest as _, Sha256};
use url::Url;
use uuid::Uuid;

use api_types::{LiveMessage, OrderStatus, currency_exponent};
use webhooks::standard::{self, StandardHeaders, VerifyError};

use crate::entity::{items, orders, payment_events};
use crate::live::{self, Envelope};
use crate::orders::{live_item, parse_status, transition};
use crate::{Error, Result, Settings, Store};

/// Where payment intents go: the built-in simulator, or a provider's HTTP API.
pub enum Provider {
    Embedded(paysim::Simulator),
    Remote {
        endpoint: Url,
        http: reqwest::Client,
    },
}

impl Provider {
    pub(crate) fn from_settings(settings: &Settings) -> Result<Self> {
        match &settings.payment_provider_url {
            None => Ok(Provider::Embedded(paysim::Simulator::new(
                settings.simulator.clone(),
            ))),
            Some(base) => {
                let endpoint = base
                    .join("payment-intents")
                    .map_err(|e| Error::internal(format!("PAYMENT_PROVIDER_URL: {e}")))?;
                let http = reqwest::Client::builder()
                    .timeout(std::time::Duration::from_secs(5))
                    .build()
                    .map_err(Error::internal)?;
                Ok(Provider::Remote { endpoint, http })
            }
        }
    }
}

impl Provider {
    /// Registers a payment intent; the error is a human-readable reason.
    pub async fn register(
        &self,
        intent: &paysim::PaymentIntent,
    ) -> std::result::Result<(), String> {
        match self {
            Provider::Embedded(sim) => sim
                .accept(intent.clone())
                .map(|_| ())
                .map_err(|e| e.to_string()),
            Provider::Remote { endpoint, http } => {
                let response = http
                    .post(endpoint.clone())
                    .json(intent)
                    .send()
                    .await
                    .map_err(|e| format!("cannot reach the provider: {e}"))?;
                if response.status().is_success() {
                    Ok(())
                } else {
                    Err(format!("the provider answered {}", response.status()))
                }
            }
        }
    }
}

/// What a notification asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Paid,
    Failed,
    Refunded,
    /// Xsolla's `order_canceled`: a pending order fails, a paid one is refunded.
    Canceled,
}

/// A verified notification, in the scheme-independent form the state machine works on.
#[derive(Debug, Clone)]
struct Notification {
    event_id: String,
    scheme: &'static str,
    event_type: String,
    kind: Option<Kind>,
    order_id: Option<Uuid>,
    user_id: Option<Uuid>,
    transaction_id: Option<String>,
    amount_cents: Option<i64>,
    currency: Option<String>,
    reason: Option<String>,
    /// The body as text, made storable (see [`storable`]).
    payload: String,
    /// SHA-256 of the raw body: the same `webhook-id` with another body is refused.
    payload_sha256: String,
    /// Why the notification is refused, if it is: `Malformed` (not understood at all) or
    /// `Invalid` (understood, but missing or carrying unusable fields).
    refused: Option<(Outcome, String)>,
}

/// How a notification was handled; stored on its event row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The order moved.
    Applied,
    /// Already in the requested state (or a stale notification): nothing to do.
    NoOp,
    /// A refund for an order not yet paid: applied when the payment lands.
    Deferred,
    /// A payment for an order that already failed or expired: recorded for an operator.
    LatePayment,
    /// An event type the store does not act on.
    Ignored,
    /// Recorded, not yet processed (only ever seen inside the processing transaction).
    Received,
    UnknownOrder,
    AmountMismatch,
    /// Not understood at all (400).
    Malformed,
    /// Understood, but missing what the store needs or carrying values it cannot accept (422).
    Invalid,
    /// A `webhook-id` seen before with a different body (409): recorded, never applied.
    IdReused,
}

impl Outcome {
    fn as_str(self) -> &'static str {
        match self {
            Outcome::Applied => "applied",
            Outcome::NoOp => "no_op",
            Outcome::Deferred => "deferred",
            Outcome::LatePayment => "late_payment",
            Outcome::Ignored => "ignored",
            Outcome::Received => "received",
            Outcome::UnknownOrder => "unknown_order",
            Outcome::AmountMismatch => "amount_mismatch",
            Outcome::Malformed => "malformed",
            Outcome::Invalid => "invalid",
            Outcome::IdReused => "id_reused",
        }
    }

    fn parse(raw: &str) -> Self {
        [
            Outcome::Applied,
            Outcome::NoOp,
            Outcome::Deferred,
            Outcome::LatePayment,
            Outcome::Ignored,
            Outcome::Received,
            Outcome::UnknownOrder,
            Outcome::AmountMismatch,
            Outcome::Malformed,
            Outcome::Invalid,
            Outcome::IdReused,
        ]
        .into_iter()
        .find(|o| o.as_str() == raw)
        .unwrap_or(Outcome::NoOp)
    }

    /// The answer the provider gets: 2xx for anything it should not send again.
    fn into_result(self, detail: Option<&str>) -> Result<Outcome> {
        let detail = detail.unwrap_or_default().to_owned();
        match self {
            Outcome::UnknownOrder => Err(Error::unprocessable("UNKNOWN_ORDER", detail)),
            Outcome::AmountMismatch => Err(Error::unprocessable("AMOUNT_MISMATCH", detail)),
            Outcome::Malformed => Err(Error::BadRequest(detail)),
            Outcome::Invalid => Err(Error::unprocessable("INVALID_NOTIFICATION", detail)),
            Outcome::IdReused => Err(Error::conflict("WEBHOOK_ID_REUSED", detail)),
            other => Ok(other),
        }
    }
}

/// The provider's answer to a delivery: whether it was new or a duplicate, and how it went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Receipt {
    pub outcome: Outcome,
    pub duplicate: bool,
}

pub struct Payments<'a> {
    store: &'a Store,
}

/// The three Standard Webhooks headers, as they arrived (any may be missing).
#[derive(Debug, Clone, Copy, Default)]
pub struct StandardDelivery<'a> {
    pub id: Option<&'a str>,
    pub timestamp: Option<&'a str>,
    pub signature: Option<&'a str>,
}

impl<'a> Payments<'a> {
    pub(crate) fn new(store: &'a Store) -> Self {
        Self { store }
    }

    /// A Standard Webhooks delivery: verify over the raw bytes, then process.
    pub async fn receive_standard(
        &self,
        headers: StandardDelivery<'_>,
        body: &[u8],
    ) -> Result<Receipt> {
        let (Some(id), Some(timestamp), Some(signature)) =
            (headers.id, headers.timestamp, headers.signature)
        else {
            return Err(Error::InvalidSignature(
                "missing webhook-id, webhook-timestamp or webhook-signature header".to_owned(),
            ));
        };
        if id.is_empty() || id.len() > 255 {
            return Err(Error::InvalidSignature(
                "webhook-id must be 1–255 characters".to_owned(),
            ));
        }
        standard::verify(
            &self.store.settings().webhook_secrets,
            StandardHeaders {
                id,
                timestamp,
                signature,
            },
            body,
            Utc::now().timestamp(),
        )
        .map_err(|e| {
            let message = match e {
                VerifyError::Mismatch => "signature does not match".to_owned(),
                other => other.to_string(),
            };
            Error::InvalidSignature(message)
        })?;
        self.process(parse_standard(id, body)).await
    }

    /// An Xsolla-style delivery (`Authorization: Signature <sha1>`), when enabled.
    pub async fn receive_xsolla(
        &self,
        authorization: Option<&str>,
        body: &[u8],
    ) -> Result<Receipt> {
        let Some(secret) = &self.store.settings().xsolla_webhook_secret else {
            return Err(Error::InvalidSignature(
                "Xsolla-style signatures are not enabled".to_owned(),
            ));
        };
        let Some(authorization) = authorization else {
            return Err(Error::InvalidSignature(
                "missing Authorization header".to_owned(),
            ));
        };
        if !webhooks::xsolla::verify(authorization, body, secret.expose_secret()) {
            return Err(Error::InvalidSignature(
                "signature does not match".to_owned(),
            ));
        }
        let notification = parse_xsolla(body).map_err(Error::BadRequest)?;
        self.process(notification).await
    }

    async fn process(&self, n: Notification) -> Result<Receipt> {
        let received_at_ms = Utc::now().timestamp_millis();
        let txn = crate::db::begin_write(self.store.db()).await?;
        let now = Utc::now();
        let event = |event_id: String, outcome: Outcome, detail: Option<String>| {
            payment_events::ActiveModel {
                id: NotSet,
                event_id: Set(event_id),
                scheme: Set(n.scheme.to_owned()),
                event_type: Set(n.event_type.chars().take(64).collect()),
                order_id: Set(n.order_id),
                payload: Set(n.payload.clone()),
                payload_sha256: Set(Some(n.payload_sha256.clone())),
                received_at: Set(now),
                processed_at: Set(None),
                outcome: Set(outcome.as_str().to_owned()),
                detail: Set(detail),
            }
        };
        let inserted =
            payment_events::Entity::insert(event(n.event_id.clone(), Outcome::Received, None))
                .on_conflict_do_nothing_on([payment_events::Column::EventId])
                .exec(&txn)
                .await?;
        if matches!(inserted, TryInsertResult::Conflicted) {
            let original = payment_events::Entity::find()
                .filter(payment_events::Column::EventId.eq(n.event_id.as_str()))
                .one(&txn)
                .await?
                .ok_or_else(|| Error::internal("conflicting event vanished"))?;
            let same_body = match &original.payload_sha256 {
                Some(hash) => *hash == n.payload_sha256,
                None => original.payload == n.payload,
            };
            if !same_body {
                // A lost payment if acknowledged: record it beside the original and refuse it.
                let detail = format!(
                    "webhook-id {} was already used for a different payload; not applied",
                    storable(&n.event_id, 80)
                );
                let id_hash = hex::encode(Sha256::digest(n.event_id.as_bytes()));
                payment_events::Entity::insert(event(
                    format!("reused:{}:{}", &id_hash[..32], &n.payload_sha256[..32]),
                    Outcome::IdReused,
                    Some(detail.clone()),
                ))
                .on_conflict_do_nothing_on([payment_events::Column::EventId])
                .exec(&txn)
                .await?;
                txn.commit().await?;
                tracing::warn!(event_id = %n.event_id, "webhook id reused with a different payload");
                count_webhook(n.scheme, Outcome::IdReused.as_str());
                return Err(Outcome::IdReused
                    .into_result(Some(&detail))
                    .err()
                    .unwrap_or_else(|| Error::internal("id reuse must be refused")));
            }
            txn.commit().await?;
            tracing::info!(event_id = %n.event_id, outcome = %original.outcome, "duplicate payment notification");
            count_webhook(n.scheme, "duplicate");
            let outcome =
                Outcome::parse(&original.outcome).into_result(original.detail.as_deref())?;
            return Ok(Receipt {
                outcome,
                duplicate: true,
            });
        }

        let (outcome, detail, messages) = self.apply(&txn, &n).await?;
        payment_events::Entity::update_many()
            .col_expr(
                payment_events::Column::Outcome,
                Expr::value(outcome.as_str()),
            )
            .col_expr(
                payment_events::Column::Detail,
                Expr::value(detail.as_deref().map(|d| storable(d, 1000))),
            )
            .col_expr(payment_events::Column::ProcessedAt, Expr::value(Utc::now()))
            .filter(payment_events::Column::EventId.eq(n.event_id.as_str()))
            .exec(&txn)
            .await?;
        txn.commit().await?;
        tracing::info!(event_id = %n.event_id, event_type = %n.event_type, outcome = outcome.as_str(), "payment notification processed");
        count_webhook(n.scheme, outcome.as_str());

        for message in messages {
            live::publish(
                self.store,
                &Envelope::Message {
                    message,
                    received_at_ms: Some(received_at_ms),
                },
            )
            .await;
        }
        let outcome = outcome.into_result(detail.as_deref())?;
        Ok(Receipt {
            outcome,
            duplicate: false,
        })
    }

    /// The state machine's response to one new notification, inside the event's transaction.
    async fn apply(
        &self,
        txn: &impl ConnectionTrait,
        n: &Notification,
    ) -> Result<(Outcome, Option<String>, Vec<LiveMessage>)> {
        if let Some((outcome, why)) = &n.refused {
            return Ok((*outcome, Some(why.clone()), vec![]));
        }
        let Some(kind) = n.kind else {
            return Ok((
                Outcome::Ignored,
                Some(format!("event type {} is not handled", n.event_type)),
                vec![],
            ));
        };
        let Some(order_id) = n.order_id else {
            return Ok((Outcome::Malformed, Some("no order id".to_owned()), vec![]));
        };
        let Some(order) = orders::Entity::find_by_id(order_id).one(txn).await? else {
            return Ok((
                Outcome::UnknownOrder,
                Some(format!("no order {order_id}")),
                vec![],
            ));
        };
        if let Some(mismatch) = mismatch(&order, n) {
            tracing::warn!(%order_id, %mismatch, "payment notification does not match its order");
            return Ok((Outcome::AmountMismatch, Some(mismatch), vec![]));
        }
        let item = items::Entity::find_by_id(order.item_id)
            .one(txn)
            .await?
            .ok_or_else(|| Error::internal("order refers to a missing item"))?;
        let items = vec![live_item(&item)];
        let user_id = order.user_id;
        let tx = n.transaction_id.as_deref();
        let reason = n.reason.as_deref();

        let mut status = parse_status(&order.status);
        let mut attempts = 0;
        let (outcome, detail, messages) = 'decide: loop {
            attempts += 1;
            if attempts > 1 {
                let current = orders::Entity::find_by_id(order_id)
                    .one(txn)
                    .await?
                    .ok_or_else(|| Error::internal("order vanished"))?;
                status = parse_status(&current.status);
            }
            if attempts > 3 {
                break 'decide (
                    Outcome::NoOp,
                    Some("the order kept changing".to_owned()),
                    vec![],
                );
            }
            break 'decide match (kind, status) {
                (Kind::Paid, OrderStatus::Pending) => {
                    if !transition(
                        txn,
                        order_id,
                        OrderStatus::Pending,
                        OrderStatus::Paid,
                        Some("payment confirmed"),
                        tx,
                    )
                    .await?
                    {
                        // Another actor moved the order first: decide again on its new state.
                        continue 'decide;
                    }
                    let mut messages = vec![LiveMessage::PurchaseSuccess {
                        order_id,
                        user_id,
                        items: items.clone(),
                    }];
                    if self.apply_deferred_refunds(txn, order_id).await? {
                        messages.push(LiveMessage::PurchaseRefunded {
                            order_id,
                            user_id,
                            items,
                        });
                    }
                    (Outcome::Applied, None, messages)
                }
                (Kind::Paid, OrderStatus::Paid | OrderStatus::Refunded) => {
                    (Outcome::NoOp, None, vec![])
                }
                (Kind::Paid, late @ (OrderStatus::Failed | OrderStatus::Expired)) => (
                    Outcome::LatePayment,
                    Some(format!(
                        "payment arrived for an order that is {}; refund it at the provider",
                        late.as_str()
                    )),
                    vec![],
                ),
                (Kind::Failed | Kind::Canceled, OrderStatus::Pending) => {
                    let why = decline_reason(reason);
                    if !transition(
                        txn,
                        order_id,
                        OrderStatus::Pending,
                        OrderStatus::Failed,
                        Some(why),
                        tx,
                    )
                    .await?
                    {
                        // Another actor moved the order first: decide again on its new state.
                        continue 'decide;
                    }
                    (
                        Outcome::Applied,
                        reason.map(|r| format!("provider reason: {r}")),
                        vec![LiveMessage::PurchaseFailed {
                            order_id,
                            user_id,
                            items,
                            reason: Some(why.to_owned()),
                        }],
                    )
                }
                (Kind::Refunded | Kind::Canceled, OrderStatus::Paid) => {
                    let why = "refunded by the payment provider";
                    if !transition(
                        txn,
                        order_id,
                        OrderStatus::Paid,
                        OrderStatus::Refunded,
                        Some(why),
                        None,
                    )
                    .await?
                    {
                        // Another actor moved the order first: decide again on its new state.
                        continue 'decide;
                    }
                    (
                        Outcome::Applied,
                        None,
                        vec![LiveMessage::PurchaseRefunded {
                            order_id,
                            user_id,
                            items,
                        }],
                    )
                }
                (Kind::Refunded, OrderStatus::Pending) => (
                    Outcome::Deferred,
                    Some(
                        "refund arrived before its payment; applied when the payment lands"
                            .to_owned(),
                    ),
                    vec![],
                ),
                (Kind::Failed, _) | (Kind::Refunded | Kind::Canceled, _) => (
                    Outcome::NoOp,
                    Some(format!("order is already {}", status.as_str())),
                    vec![],
                ),
            };
        };
        Ok((outcome, detail, messages))
    }

    /// Applies refunds that arrived before the payment. Returns whether the order was refunded.
    async fn apply_deferred_refunds(
        &self,
        txn: &impl ConnectionTrait,
        order_id: Uuid,
    ) -> Result<bool> {
        let deferred = payment_events::Entity::find()
            .filter(payment_events::Column::OrderId.eq(order_id))
            .filter(payment_events::Column::Outcome.eq(Outcome::Deferred.as_str()))
            .all(txn)
            .await?;
        if deferred.is_empty() {
            return Ok(false);
        }
        let moved = transition(
            txn,
            order_id,
            OrderStatus::Paid,
            OrderStatus::Refunded,
            Some("refund received before its payment"),
            None,
        )
        .await?;
        payment_events::Entity::update_many()
            .col_expr(
                payment_events::Column::Outcome,
                Expr::value(Outcome::Applied.as_str()),
            )
            .col_expr(payment_events::Column::ProcessedAt, Expr::value(Utc::now()))
            .filter(payment_events::Column::Id.is_in(deferred.iter().map(|e| e.id)))
            .exec(txn)
            .await?;
        Ok(moved)
    }

    /// Every recorded event of one order, oldest first (operators).
    pub async fn events_for(&self, order_id: Uuid) -> Result<Vec<api_types::PaymentEvent>> {
        use sea_orm::QueryOrder as _;
        Ok(payment_events::Entity::find()
            .filter(payment_events::Column::OrderId.eq(order_id))
            .order_by_asc(payment_events::Column::Id)
            .all(self.store.db())
            .await?
            .iter()
            .map(to_event)
            .collect())
    }
}

/// What a shopper is told about a declined payment: a stable sentence for the provider's
/// reason code, never the provider's own text (which stays in the event for operators).
pub(crate) fn decline_reason(code: Option<&str>) -> &'static str {
    match code {
        Some("card_declined") => "Your card was declined. You have not been charged.",
        Some("insufficient_funds") => {
            "The payment was declined for insufficient funds. You have not been charged."
        }
        Some("expired_card") => "The card has expired. You have not been charged.",
        _ => "The payment provider declined the payment. You have not been charged.",
    }
}

fn count_webhook(scheme: &'static str, outcome: &'static str) {
    metrics::counter!("gamestore_webhooks_total", "scheme" => scheme, "outcome" => outcome)
        .increment(1);
}

fn mismatch(order: &orders::Model, n: &Notification) -> Option<String> {
    if let Some(amount) = n.amount_cents
        && amount != order.amount_cents
    {
        return Some(format!(
            "amount {amount} does not match the order's {}",
            order.amount_cents
        ));
    }
    if let Some(currency) = &n.currency
        && !currency.eq_ignore_ascii_case(&order.currency)
    {
        return Some(format!(
            "currency {currency} does not match the order's {}",
            order.currency
        ));
    }
    if let Some(user) = n.user_id
        && user != order.user_id
    {
        return Some("user does not match the order's buyer".to_owned());
    }
    None
}

#[derive(Deserialize)]
struct StandardBody {
    data: StandardData,
}

#[derive(Deserialize)]
struct StandardData {
    order_id: Uuid,
    transaction_id: Option<String>,
    amount_cents: i64,
    currency: String,
    user_id: Option<Uuid>,
    reason: Option<String>,
}

/// Longest provider transaction id the store keeps (its column's length).
const MAX_TRANSACTION_ID: usize = 255;
/// Longest notification type kept; longer ones are no type the store knows.
const MAX_EVENT_TYPE: usize = 64;

impl Notification {
    fn new(event_id: String, scheme: &'static str, body: &[u8]) -> Self {
        Self {
            event_id,
            scheme,
            event_type: String::new(),
            kind: None,
            order_id: None,
            user_id: None,
            transaction_id: None,
            amount_cents: None,
            currency: None,
            reason: None,
            payload: storable(&String::from_utf8_lossy(body), usize::MAX),
            payload_sha256: hex::encode(Sha256::digest(body)),
            refused: None,
        }
    }

    fn refuse(&mut self, outcome: Outcome, why: impl Into<String>) {
        if self.refused.is_none() {
            self.refused = Some((outcome, why.into()));
        }
    }

    /// Checks what a notification the store acts on must carry: the buyer and the amount (so
    /// they can be compared with the order), and a transaction id that fits its column.
    fn require_fields(&mut self) {
        if self.kind.is_none() || self.refused.is_some() {
            return;
        }
        if self.order_id.is_none() {
            self.refuse(Outcome::Invalid, "the notification names no order");
        } else if self.user_id.is_none() {
            self.refuse(Outcome::Invalid, "the notification names no buyer");
        } else if self.amount_cents.is_none() || self.currency.is_none() {
            self.refuse(Outcome::Invalid, "the notification carries no amount");
        } else if let Some(tx) = &self.transaction_id
            && (tx.is_empty()
                || tx.chars().count() > MAX_TRANSACTION_ID
                || tx.chars().any(char::is_control))
        {
            self.refuse(
                Outcome::Invalid,
                format!("transaction_id must be 1–{MAX_TRANSACTION_ID} printable characters"),
            );
        }
        if let Some(reason) = &self.reason {
            self.reason = Some(storable(reason, 500));
        }
    }
}

fn parse_standard(event_id: &str, body: &[u8]) -> Notification {
    let mut n = Notification::new(event_id.to_owned(), "standard", body);
    // The type is read on its own first so an event of an unknown type with another data shape
    // is acknowledged rather than rejected.
    #[derive(Deserialize)]
    struct TypeOnly {
        #[serde(rename = "type")]
        kind: String,
    }
    match serde_json::from_slice::<TypeOnly>(body) {
        Ok(t) => n.event_type = t.kind,
        Err(e) => {
            n.event_type = "unknown".to_owned();
            n.refuse(
                Outcome::Malformed,
                format!("body is not a Standard Webhooks event: {e}"),
            );
            return n;
        }
    }
    n.kind = match n.event_type.as_str() {
        "payment.succeeded" => Some(Kind::Paid),
        "payment.failed" => Some(Kind::Failed),
        "payment.refunded" => Some(Kind::Refunded),
        _ => return n,
    };
    match serde_json::from_slice::<StandardBody>(body) {
        Ok(body) => {
            n.order_id = Some(body.data.order_id);
            n.user_id = body.data.user_id;
            n.transaction_id = body.data.transaction_id;
            n.amount_cents = Some(body.data.amount_cents);
            n.currency = Some(body.data.currency);
            n.reason = body.data.reason;
        }
        Err(e) => n.refuse(Outcome::Malformed, format!("invalid event data: {e}")),
    }
    n.require_fields();
    n
}

#[derive(Deserialize)]
struct XsollaBody {
    notification_type: String,
    user: Option<XsollaUser>,
    transaction: XsollaTransaction,
    purchase: Option<XsollaPurchase>,
}

#[derive(Deserialize)]
struct XsollaUser {
    id: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct XsollaTransaction {
    id: serde_json::Value,
    external_id: Option<String>,
}

#[derive(Deserialize)]
struct XsollaPurchase {
    total: Option<XsollaTotal>,
}

/// An amount in major units: a JSON number (`9.99`) or a decimal string (`"9.99"`). Read as
/// the decimal text it was written as, never through floating-point arithmetic.
#[derive(Deserialize)]
struct XsollaTotal {
    amount: serde_json::Value,
    currency: String,
}

/// The cents of an Xsolla `purchase.total`, parsed exactly from its decimal text; `None` when
/// it is not a plain decimal with at most the currency's number of decimals.
fn xsolla_cents(total: &XsollaTotal) -> Option<i64> {
    let text = match &total.amount {
        // serde_json prints a number in the shortest form that reads back the same, which for
        // the amounts a provider writes is the literal it wrote ("9.99", "10", "1e2" never).
        serde_json::Value::Number(n) => n.to_string(),
        serde_json::Value::String(s) => s.trim().to_owned(),
        _ => return None,
    };
    if text.is_empty() || text.len() > 24 || text.contains(['e', 'E']) {
        return None;
    }
    let currency = total.currency.trim().to_ascii_uppercase();
    currency_exponent(&currency)?;
    api_types::parse_price(&text, &currency).ok()
}

/// `Err` with a 400 when there is no transaction id to deduplicate on (then nothing can be
/// recorded).
fn parse_xsolla(body: &[u8]) -> std::result::Result<Notification, String> {
    let parsed: XsollaBody = serde_json::from_slice(body)
        .map_err(|e| format!("the body is not an Xsolla notification: {e}"))?;
    let transaction_id = match &parsed.transaction.id {
        serde_json::Value::Number(n) => n.to_string(),
        serde_json::Value::String(s)
            if !s.is_empty() && s.len() <= 128 && !s.chars().any(char::is_control) =>
        {
            s.clone()
        }
        _ => {
            return Err("transaction.id must be a number or 1–128 printable characters".to_owned());
        }
    };
    let notification_type = parsed.notification_type.as_str();
    if notification_type.is_empty()
        || notification_type.len() > MAX_EVENT_TYPE
        || !notification_type
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.')
    {
        return Err(format!(
            "notification_type must be 1–{MAX_EVENT_TYPE} of a-z, 0-9, '_' and '.'"
        ));
    }
    let mut n = Notification::new(
        format!("xsolla:{transaction_id}:{notification_type}"),
        "xsolla",
        body,
    );
    n.event_type = notification_type.to_owned();
    n.transaction_id = Some(transaction_id);
    n.kind = match notification_type {
        "payment" | "order_paid" => Some(Kind::Paid),
        "refund" => Some(Kind::Refunded),
        "order_canceled" => Some(Kind::Canceled),
        _ => None,
    };
    n.order_id = parsed
        .transaction
        .external_id
        .as_deref()
        .and_then(|s| Uuid::parse_str(s).ok());
    if n.kind.is_some() && n.order_id.is_none() {
        n.refuse(
            Outcome::Malformed,
            "transaction.external_id is not an order id",
        );
    }
    n.user_id = parsed
        .user
        .and_then(|u| u.id)
        .and_then(|v| v.as_str().and_then(|s| Uuid::parse_str(s).ok()));
    if let Some(total) = parsed.purchase.and_then(|p| p.total) {
        match xsolla_cents(&total) {
            Some(cents) => {
                n.amount_cents = Some(cents);
                n.currency = Some(total.currency);
            }
            None => n.refuse(
                Outcome::Invalid,
                "purchase.total.amount must be a decimal amount in a supported currency",
            ),
        }
    }
    n.require_fields();
    Ok(n)
}

/// Text as it can be stored in any of our databases and shown to an operator: NUL (which
/// PostgreSQL refuses in text) replaced, and at most `max` characters.
fn storable(text: &str, max: usize) -> String {
    text.chars()
        .take(max)
        .map(|c| if c == '\0' { '\u{FFFD}' } else { c })
        .collect()
}

pub(crate) fn to_event(row: &payment_events::Model) -> api_types::PaymentEvent {
    api_types::PaymentEvent {
        event_id: row.event_id.clone(),
        scheme: row.scheme.clone(),
        event_type: row.event_type.clone(),
        order_id: row.order_id,
        outcome: row.outcome.clone(),
        detail: row.detail.clone(),
        payload: row.payload.clone(),
        received_at: row.received_at,
        processed_at: row.processed_at,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_standard_events() {
        let order = Uuid::new_v4();
        let body = format!(
            r#"{{"type":"payment.succeeded","timestamp":"2026-11-29T12:00:00Z","data":{{"order_id":"{order}","transaction_id":"tx_1","amount_cents":999,"currency":"USD","user_id":"{order}"}}}}"#
        );
        let n = parse_standard("msg_1", body.as_bytes());
        assert_eq!(n.kind, Some(Kind::Paid));
        assert_eq!(n.order_id, Some(order));
        assert_eq!(n.amount_cents, Some(999));
        assert!(n.refused.is_none());
        assert_eq!(n.payload_sha256.len(), 64);

        let n = parse_standard("msg_2", br#"{"type":"customer.created","data":{"x":1}}"#);
        assert_eq!(n.kind, None);
        assert!(n.refused.is_none());

        let n = parse_standard("msg_3", br#"{"type":"payment.succeeded","data":{}}"#);
        assert_eq!(n.refused.map(|r| r.0), Some(Outcome::Malformed));

        let n = parse_standard("msg_4", b"not json\0");
        assert_eq!(n.refused.map(|r| r.0), Some(Outcome::Malformed));
        assert!(!n.payload.contains('\0'));
    }

    #[test]
    fn standard_events_must_name_the_buyer_and_fit_their_columns() {
        let order = Uuid::new_v4();
        let without_user = format!(
            r#"{{"type":"payment.succeeded","data":{{"order_id":"{order}","transaction_id":"tx_1","amount_cents":999,"currency":"USD"}}}}"#
        );
        let n = parse_standard("msg_1", without_user.as_bytes());
        assert_eq!(n.refused.map(|r| r.0), Some(Outcome::Invalid));

        let long_tx = format!(
            r#"{{"type":"payment.succeeded","data":{{"order_id":"{order}","transaction_id":"{}","amount_cents":999,"currency":"USD","user_id":"{order}"}}}}"#,
            "t".repeat(MAX_TRANSACTION_ID + 1)
        );
        let n = parse_standard("msg_2", long_tx.as_bytes());
        assert_eq!(n.refused.map(|r| r.0), Some(Outcome::Invalid));

        let nul_tx = format!(
            r#"{{"type":"payment.succeeded","data":{{"order_id":"{order}","transaction_id":"tx\u0000","amount_cents":999,"currency":"USD","user_id":"{order}"}}}}"#
        );
        let n = parse_standard("msg_3", nul_tx.as_bytes());
        assert_eq!(n.refused.map(|r| r.0), Some(Outcome::Invalid));
    }

    fn xsolla(total: &str, user: bool) -> String {
        let order = Uuid::nil();
        let user = if user {
            format!(r#""user":{{"id":"{order}"}},"#)
        } else {
            String::new()
        };
        format!(
            r#"{{"notification_type":"payment",{user}"transaction":{{"id":123,"external_id":"{order}"}}{total}}}"#
        )
    }

    #[test]
    fn parses_xsolla_notifications() {
        let body = xsolla(
            r#","purchase":{"total":{"amount":9.99,"currency":"USD"}}"#,
            true,
        );
        let n = parse_xsolla(body.as_bytes()).expect("parses");
        assert_eq!(n.kind, Some(Kind::Paid));
        assert_eq!(n.event_id, "xsolla:123:payment");
        assert_eq!(n.amount_cents, Some(999));
        assert_eq!(n.order_id, Some(Uuid::nil()));
        assert!(n.refused.is_none());
        let refund = body.replace(r#""payment""#, r#""refund""#);
        assert_eq!(
            parse_xsolla(refund.as_bytes()).map(|n| n.event_id).ok(),
            Some("xsolla:123:refund".to_owned())
        );
        assert!(parse_xsolla(br#"{"notification_type":"payment"}"#).is_err());
        let long_type = body.replace(r#""payment""#, &format!("\"{}\"", "p".repeat(65)));
        assert!(parse_xsolla(long_type.as_bytes()).is_err());
    }

    #[test]
    fn xsolla_amounts_are_exact_decimals() {
        let cents = |amount: &str, currency: &str| {
            let body = xsolla(
                &format!(
                    r#","purchase":{{"total":{{"amount":{amount},"currency":"{currency}"}}}}"#
                ),
                true,
            );
            let n = parse_xsolla(body.as_bytes()).expect("parses");
            n.refused.is_none().then_some(n.amount_cents).flatten()
        };
        assert_eq!(cents("9.99", "USD"), Some(999));
        assert_eq!(cents("0.29", "USD"), Some(29));
        assert_eq!(cents("1.1", "USD"), Some(110));
        assert_eq!(cents(r#""19.99""#, "EUR"), Some(1999));
        assert_eq!(cents("500", "JPY"), Some(500));
        assert_eq!(cents("9.999", "USD"), None);
        assert_eq!(cents("1e3", "USD"), Some(100_000));
        assert_eq!(cents("1e30", "USD"), None);
        assert_eq!(cents("-1", "USD"), None);
        assert_eq!(cents("9.99", "XYZ"), None);
    }

    #[test]
    fn xsolla_notifications_need_a_total_and_a_buyer() {
        let no_total = xsolla("", true);
        let n = parse_xsolla(no_total.as_bytes()).expect("parses");
        assert_eq!(n.refused.map(|r| r.0), Some(Outcome::Invalid));
        let no_user = xsolla(
            r#","purchase":{"total":{"amount":9.99,"currency":"USD"}}"#,
            false,
        );
        let n = parse_xsolla(no_user.as_bytes()).expect("parses");
        assert_eq!(n.refused.map(|r| r.0), Some(Outcome::Invalid));
    }
}
