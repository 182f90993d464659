//! Which notifications an intent produces, and their delivery with retries.

use std::time::Duration;

use chrono::{SecondsFormat, Utc};
use rand::Rng as _;
use uuid::Uuid;

use crate::{Config, Event, EventData, EventKind, PaymentIntent};

/// One notification to deliver: its stable message id and its body.
#[derive(Debug, Clone)]
pub struct Planned {
    pub id: String,
    pub body: Vec<u8>,
}

pub(crate) fn plan(config: &Config, intent: &PaymentIntent, transaction_id: &str) -> Vec<Planned> {
    let mut rng = rand::thread_rng();
    let event = |kind: EventKind, reason: Option<&str>| {
        let event = Event {
            kind,
            timestamp: Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true),
            data: EventData {
                order_id: intent.order_id,
                transaction_id: transaction_id.to_owned(),
                amount_cents: intent.amount_cents,
                currency: intent.currency.clone(),
                user_id: intent.user_id,
                reason: reason.map(str::to_owned),
                refund_id: None,
            },
        };
        Planned {
            id: format!("msg_{}", Uuid::new_v4().simple()),
            body: serde_json::to_vec(&event).unwrap_or_default(),
        }
    };
    let mut events = if rng.gen_bool(config.failure_rate) {
        vec![event(EventKind::Failed, Some("card_declined"))]
    } else if rng.gen_bool(config.refund_rate) {
        vec![
            event(EventKind::Succeeded, None),
            event(EventKind::Refunded, Some("chargeback")),
        ]
    } else {
        vec![event(EventKind::Succeeded, None)]
    };
    if config.out_of_order {
        events.reverse();
    }
    events
}

/// The `payment.refunded` that answers a refund request: the refund's own amount and id.
pub(crate) fn refund_event(
    request: &crate::RefundRequest,
    user_id: Uuid,
    transaction_id: &str,
) -> Planned {
    let event = Event {
        kind: EventKind::Refunded,
        timestamp: Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true),
        data: EventData {
            order_id: request.order_id,
            transaction_id: transaction_id.to_owned(),
            amount_cents: request.amount_cents,
            currency: request.currency.clone(),
            user_id,
            reason: None,
            refund_id: Some(request.refund_id),
        },
    };
    Planned {
        id: format!("msg_{}", Uuid::new_v4().simple()),
        body: serde_json::to_vec(&event).unwrap_or_default(),
    }
}

/// Delivers the planned notifications in order, each after the configured delay, each (with its
/// duplicates) retried until a 2xx or `max_attempts`.
pub(crate) async fn run(
    http: &reqwest::Client,
    config: &Config,
    callback_url: &str,
    plan: Vec<Planned>,
) {
    for planned in plan {
        tokio::time::sleep(config.delay).await;
        let copies = (0..=config.duplicates).map(|_| deliver(http, config, callback_url, &planned));
        // All copies at once: duplicates must really race each other.
        futures::future::join_all(copies).await;
    }
}

async fn deliver(http: &reqwest::Client, config: &Config, url: &str, planned: &Planned) {
    for attempt in 1..=config.max_attempts {
        let timestamp = Utc::now().timestamp();
        let signature = config.secret.sign(&planned.id, timestamp, &planned.body);
        let result = http
            .post(url)
            .header("content-type", "application/json")
            .header("webhook-id", &planned.id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(planned.body.clone())
            .send()
            .await;
        match result {
            Ok(resp) if resp.status().is_success() => {
                tracing::debug!(id = %planned.id, attempt, "webhook delivered");
                return;
            }
            Ok(resp) => {
                tracing::warn!(id = %planned.id, attempt, status = %resp.status(), "webhook refused");
            }
            Err(e) => tracing::warn!(id = %planned.id, attempt, error = %e, "webhook failed"),
        }
        if attempt < config.max_attempts {
            tokio::time::sleep(backoff(config, attempt)).await;
        }
    }
    tracing::error!(id = %planned.id, "webhook abandoned after {} attempts", config.max_attempts);
}

/// Exponential backoff with full jitter in [d/2, d].
fn backoff(config: &Config, attempt: u32) -> Duration {
    let exp = config
        .retry_base
        .saturating_mul(2u32.saturating_pow(attempt.saturating_sub(1)));
    let capped = exp.min(config.retry_cap);
    let half = capped / 2;
    half + half.mul_f64(rand::thread_rng().gen_range(0.0..=1.0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use webhooks::SigningSecret;

    fn config() -> Config {
        Config::new(SigningSecret::parse(&SigningSecret::generate()).expect("valid"))
    }

    fn intent() -> PaymentIntent {
        PaymentIntent {
            order_id: Uuid::new_v4(),
            user_id: Uuid::new_v4(),
            amount_cents: 999,
            currency: "USD".into(),
            items: vec![],
            callback_url: "http://127.0.0.1:1/api/webhooks/payment".into(),
        }
    }

    fn kinds(plan: &[Planned]) -> Vec<EventKind> {
        plan.iter()
            .map(|p| {
                serde_json::from_slice::<Event>(&p.body)
                    .expect("valid event")
                    .kind
            })
            .collect()
    }

    #[test]
    fn plans_success_failure_refund_and_reversal() {
        let mut c = config();
        assert_eq!(
            kinds(&plan(&c, &intent(), "tx")),
            vec![EventKind::Succeeded]
        );
        c.failure_rate = 1.0;
        assert_eq!(kinds(&plan(&c, &intent(), "tx")), vec![EventKind::Failed]);
        c.failure_rate = 0.0;
        c.refund_rate = 1.0;
        assert_eq!(
            kinds(&plan(&c, &intent(), "tx")),
            vec![EventKind::Succeeded, EventKind::Refunded]
        );
        c.out_of_order = true;
        assert_eq!(
            kinds(&plan(&c, &intent(), "tx")),
            vec![EventKind::Refunded, EventKind::Succeeded]
        );
    }

    #[test]
    fn events_carry_the_intent_and_distinct_ids() {
        let i = intent();
        let mut c = config();
        c.refund_rate = 1.0;
        let planned = plan(&c, &i, "tx_1");
        assert_ne!(planned[0].id, planned[1].id);
        let event: Event = serde_json::from_slice(&planned[0].body).expect("valid");
        assert_eq!(event.data.order_id, i.order_id);
        assert_eq!(event.data.amount_cents, 999);
        assert_eq!(event.data.transaction_id, "tx_1");
    }

    #[test]
    fn backoff_grows_and_stays_capped() {
        let c = config();
        let first = backoff(&c, 1);
        assert!(first >= Duration::from_millis(250) && first <= Duration::from_millis(500));
        let late = backoff(&c, 30);
        assert!(late <= c.retry_cap && late >= c.retry_cap / 2);
    }

    #[test]
    fn validates_intents() {
        let mut i = intent();
        assert!(crate::validate(&i).is_ok());
        i.amount_cents = 0;
        assert!(crate::validate(&i).is_err());
        let mut i = intent();
        i.currency = "usd".into();
        assert!(crate::validate(&i).is_err());
        let mut i = intent();
        i.callback_url = "file:///etc/passwd".into();
        assert!(crate::validate(&i).is_err());
    }
}
