//! What travels on the live channel: purchase notifications for one user, and session
//! revocations (so a logout closes that session's sockets on every replica).
//!
//! Published through the cache's pub/sub (Redis in production, in-process otherwise); the
//! server's websocket hub subscribes and routes each envelope to the right sockets.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use api_types::LiveMessage;

use crate::Store;
use crate::cache::channels;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Envelope {
    /// A message for every socket of the message's user. `received_at_ms` is when the webhook
    /// that caused it arrived (unix milliseconds), for the delivery-latency metric.
    Message {
        message: LiveMessage,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        received_at_ms: Option<i64>,
    },
    /// Close the sockets of one session (`Some`) or of every session of the user (`None`).
    SessionRevoked {
        user_id: Uuid,
        session_id: Option<String>,
    },
}

impl Envelope {
    /// A message not caused by a webhook (expiry, operator refund, provider outage).
    pub fn message(message: LiveMessage) -> Self {
        Envelope::Message {
            message,
            received_at_ms: None,
        }
    }

    pub fn user_id(&self) -> Uuid {
        match self {
            Envelope::Message { message, .. } => message.user_id(),
            Envelope::SessionRevoked { user_id, .. } => *user_id,
        }
    }
}

/// Publishes after the fact it reports has been committed. A publish failure is logged, never
/// surfaced: the state is already durable, and clients re-read their orders on reconnect.
pub async fn publish(store: &Store, envelope: &Envelope) {
    let payload = match serde_json::to_string(envelope) {
        Ok(p) => p,
        Err(e) => {
            tracing::error!(error = %e, "cannot encode a live envelope");
            return;
        }
    };
    if let Err(e) = store.cache().publish(channels::LIVE, payload).await {
        tracing::warn!(error = %e, user_id = %envelope.user_id(), "live notification not published");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelopes_round_trip() {
        let e = Envelope::SessionRevoked {
            user_id: Uuid::nil(),
            session_id: Some("abc".into()),
        };
        let json = serde_json::to_string(&e).expect("encodes");
        assert_eq!(serde_json::from_str::<Envelope>(&json).ok(), Some(e));
    }
}
