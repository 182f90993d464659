//! Payment notifications as they arrive, turned into one scheme-independent form: Standard
//! Webhooks (`payment.*` events) and the Xsolla-style compatibility scheme. Parsing never fails
//! outright once a notification can be recorded: what cannot be used is marked `refused`, so it
//! is stored with the reason and answered 4xx.

use serde::Deserialize;
use sha2::{Digest as _, Sha256};
use uuid::Uuid;

use api_types::currency_exponent;

use crate::entity::Outcome;

/// What a notification asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Paid,
    Failed,
    Refunded,
    /// Xsolla's `order_canceled`: a pending order fails, a paid one is refunded.
    Canceled,
}

/// A verified notification, in the scheme-independent form the state machine works on.
#[derive(Debug, Clone)]
pub(super) struct Notification {
    pub(super) event_id: String,
    pub(super) scheme: &'static str,
    pub(super) event_type: String,
    pub(super) kind: Option<Kind>,
    pub(super) order_id: Option<Uuid>,
    pub(super) user_id: Option<Uuid>,
    pub(super) transaction_id: Option<String>,
    pub(super) amount_cents: Option<i64>,
    pub(super) currency: Option<String>,
    pub(super) reason: Option<String>,
    /// The store's refund a `payment.refunded` completes (none: one the provider made unasked).
    pub(super) refund_id: Option<Uuid>,
    /// The body as text, made storable (see [`storable`]).
    pub(super) payload: String,
    /// SHA-256 of the raw body: the same `webhook-id` with another body is refused.
    pub(super) payload_sha256: String,
    /// Why the notification is refused, if it is: `Malformed` (not understood at all) or
    /// `Invalid` (understood, but missing or carrying unusable fields).
    pub(super) refused: Option<(Outcome, String)>,
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
    /// On `payment.refunded`: the store's refund it completes (none: the provider's own).
    #[serde(default)]
    refund_id: Option<Uuid>,
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
            refund_id: None,
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

pub(super) fn parse_standard(event_id: &str, body: &[u8]) -> Notification {
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
            n.refund_id = body.data.refund_id;
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
pub(super) fn parse_xsolla(body: &[u8]) -> std::result::Result<Notification, String> {
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
pub(super) fn storable(text: &str, max: usize) -> String {
    text.chars()
        .take(max)
        .map(|c| if c == '\0' { '\u{FFFD}' } else { c })
        .collect()
}

/// What a shopper is told about a declined payment: a stable sentence for the provider's
/// reason code, never the provider's own text (which stays in the event for operators).
pub fn decline_reason(code: Option<&str>) -> &'static str {
    match code {
        Some("card_declined") => "Your card was declined. You have not been charged.",
        Some("insufficient_funds") => {
            "The payment was declined for insufficient funds. You have not been charged."
        }
        Some("expired_card") => "The card has expired. You have not been charged.",
        _ => "The payment provider declined the payment. You have not been charged.",
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
