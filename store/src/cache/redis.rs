//! The Redis backend: a small connection pool for commands, one subscriber connection that
//! re-subscribes after reconnects, and a local broadcast channel fed by it.

use std::time::Duration;

use fred::clients::{Pool, SubscriberClient};
use fred::prelude::*;
use tokio::sync::broadcast;

use super::{BUS_CAPACITY, BusMessage, channels};

pub(super) const HIT_SCRIPT: &str = r"
local count = redis.call('INCR', KEYS[1])
local ttl = redis.call('TTL', KEYS[1])
if count == 1 or ttl < 0 then
  redis.call('EXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {count, ttl}
";

pub(super) const RELEASE_SCRIPT: &str = r"
local count = tonumber(redis.call('GET', KEYS[1]) or '0')
if count > 0 then
  return redis.call('DECR', KEYS[1])
end
return 0
";

/// re-subscribes after reconnects, and a local broadcast channel fed by it.
pub struct Redis {
    pub(super) pool: Pool,
    prefix: String,
    pub(super) bus: broadcast::Sender<BusMessage>,
    _subscriber: SubscriberClient,
}

impl Redis {
    pub(super) async fn connect(url: &str, prefix: &str) -> crate::Result<Self> {
        let config = Config::from_url(url).map_err(|e| crate::Error::Unavailable {
            code: "CACHE_UNAVAILABLE",
            message: format!("invalid REDIS_URL: {e}"),
        })?;
        let builder = {
            let mut b = Builder::from_config(config);
            b.with_connection_config(|c| {
                c.connection_timeout = Duration::from_secs(2);
                c.internal_command_timeout = Duration::from_secs(2);
            })
            .with_performance_config(|p| {
                p.default_command_timeout = Duration::from_millis(750);
            })
            .set_policy(ReconnectPolicy::new_exponential(0, 100, 5_000, 2));
            b
        };
        let pool = builder.build_pool(4).map_err(redis_unavailable)?;
        let subscriber = builder
            .build_subscriber_client()
            .map_err(redis_unavailable)?;

        for client in pool.clients() {
            watch_connection(client, "commands");
        }
        watch_connection(&subscriber, "pub/sub");

        pool.connect();
        subscriber.connect();
        let ready = async {
            pool.wait_for_connect().await?;
            subscriber.wait_for_connect().await
        };
        match tokio::time::timeout(Duration::from_secs(3), ready).await {
            Ok(Ok(())) => tracing::info!("connected to Redis"),
            Ok(Err(e)) => tracing::error!(error = %e, "Redis is unreachable; running degraded"),
            Err(_) => tracing::error!("Redis did not answer in 3 s; running degraded"),
        }

        let (bus, _) = broadcast::channel(BUS_CAPACITY);
        let _resubscribe = subscriber.manage_subscriptions();
        let channel_names: Vec<String> = channels::ALL
            .iter()
            .map(|c| format!("{prefix}{c}"))
            .collect();
        if let Err(e) = subscriber.subscribe(channel_names.clone()).await {
            tracing::error!(error = %e, "cannot subscribe yet; will subscribe after reconnecting");
        }
        forward_messages(&subscriber, prefix.to_owned(), bus.clone());

        Ok(Self {
            pool,
            prefix: prefix.to_owned(),
            bus,
            _subscriber: subscriber,
        })
    }

    pub(super) fn key(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }
}

fn redis_unavailable(e: fred::error::Error) -> crate::Error {
    crate::Error::Unavailable {
        code: "CACHE_UNAVAILABLE",
        message: format!("cannot set up the Redis client: {e}"),
    }
}

fn watch_connection(client: &impl EventInterface, role: &'static str) {
    let mut errors = client.error_rx();
    let mut reconnects = client.reconnect_rx();
    tokio::spawn(async move {
        loop {
            tokio::select! {
                e = errors.recv() => match e {
                    Ok((error, _server)) => tracing::warn!(role, error = %error, "Redis connection error"),
                    Err(broadcast::error::RecvError::Lagged(_)) => {}
                    Err(broadcast::error::RecvError::Closed) => break,
                },
                r = reconnects.recv() => match r {
                    Ok(server) => tracing::info!(role, %server, "reconnected to Redis"),
                    Err(broadcast::error::RecvError::Lagged(_)) => {}
                    Err(broadcast::error::RecvError::Closed) => break,
                },
            }
        }
    });
}

fn forward_messages(
    subscriber: &SubscriberClient,
    prefix: String,
    bus: broadcast::Sender<BusMessage>,
) {
    let mut messages = subscriber.message_rx();
    tokio::spawn(async move {
        loop {
            match messages.recv().await {
                Ok(message) => {
                    let channel = message.channel.to_string();
                    let Some(channel) = channel.strip_prefix(&prefix) else {
                        continue;
                    };
                    let Some(payload) = message.value.as_string() else {
                        continue;
                    };
                    let _ = bus.send(BusMessage {
                        channel: channel.to_owned(),
                        payload,
                    });
                }
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    tracing::warn!(skipped = n, "pub/sub consumer lagged");
                }
                Err(broadcast::error::RecvError::Closed) => break,
            }
        }
    });
}
