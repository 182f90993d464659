use std::time::Duration;

use webhooks::SigningSecret;

/// The simulator's knobs. Read from `SIM_*` variables (listed in `.env.example`).
#[derive(Clone)]
pub struct Config {
    /// Wait before the first notification of an intent.
    pub delay: Duration,
    /// Share of payments that fail (`payment.failed`), 0.0–1.0.
    pub failure_rate: f64,
    /// Extra copies of every notification, delivered concurrently with the original.
    pub duplicates: u32,
    /// Share of successful payments the provider later refunds (`payment.refunded`), 0.0–1.0.
    pub refund_rate: f64,
    /// Deliver an order's notifications in reverse order (a refund before its payment).
    pub out_of_order: bool,
    /// Give up on a notification after this many attempts.
    pub max_attempts: u32,
    /// First retry delay; doubles each attempt (with jitter), capped at `retry_cap`.
    pub retry_base: Duration,
    pub retry_cap: Duration,
    pub secret: SigningSecret,
}

#[derive(Debug, thiserror::Error)]
#[error("invalid configuration: {variable}: {reason}")]
pub struct ConfigError {
    pub variable: &'static str,
    pub reason: String,
}

impl Config {
    /// Defaults: 2 s delay, no failures, duplicates or refunds, 12 attempts from 500 ms.
    pub fn new(secret: SigningSecret) -> Self {
        Self {
            delay: Duration::from_millis(2000),
            failure_rate: 0.0,
            duplicates: 0,
            refund_rate: 0.0,
            out_of_order: false,
            max_attempts: 12,
            retry_base: Duration::from_millis(500),
            retry_cap: Duration::from_secs(60),
            secret,
        }
    }

    /// Reads the `SIM_*` knobs through `lookup`. The secret is the first of `WEBHOOK_SECRETS`
    /// when set (callers embedding the simulator may override it).
    pub fn from_lookup(lookup: &impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let secret = match lookup("WEBHOOK_SECRETS") {
            Some(raw) => {
                let first = raw
                    .split(',')
                    .map(str::trim)
                    .find(|s| !s.is_empty())
                    .unwrap_or("");
                SigningSecret::parse(first).map_err(|e| ConfigError {
                    variable: "WEBHOOK_SECRETS",
                    reason: e.to_string(),
                })?
            }
            None => SigningSecret::parse(DEV_SECRET)
                .unwrap_or_else(|_| unreachable!("the development secret is valid")),
        };
        let mut config = Self::new(secret);
        if let Some(ms) = number::<u64>(lookup, "SIM_DELAY_MS")? {
            config.delay = Duration::from_millis(ms);
        }
        if let Some(rate) = rate(lookup, "SIM_FAILURE_RATE")? {
            config.failure_rate = rate;
        }
        if let Some(n) = number::<u32>(lookup, "SIM_DUPLICATES")? {
            config.duplicates = n;
        }
        if let Some(rate) = rate(lookup, "SIM_REFUND_RATE")? {
            config.refund_rate = rate;
        }
        if let Some(raw) = lookup("SIM_OUT_OF_ORDER") {
            config.out_of_order = matches!(raw.trim(), "1" | "true" | "yes" | "on");
        }
        if let Some(n) = number::<u32>(lookup, "SIM_MAX_ATTEMPTS")? {
            config.max_attempts = n.max(1);
        }
        if let Some(ms) = number::<u64>(lookup, "SIM_RETRY_BASE_MS")? {
            config.retry_base = Duration::from_millis(ms);
        }
        Ok(config)
    }
}

/// The store's development secret; the two defaults must match so a bare `paysim` and a bare
/// store talk to each other.
const DEV_SECRET: &str = "whsec_ZGV2LW9ubHktZ2FtZXN0b3JlLXdlYmhvb2stc2VjcmV0";

fn number<T: std::str::FromStr>(
    lookup: &impl Fn(&str) -> Option<String>,
    variable: &'static str,
) -> Result<Option<T>, ConfigError> {
    lookup(variable)
        .map(|raw| {
            raw.trim().parse::<T>().map_err(|_| ConfigError {
                variable,
                reason: "expected a non-negative whole number".to_owned(),
            })
        })
        .transpose()
}

fn rate(
    lookup: &impl Fn(&str) -> Option<String>,
    variable: &'static str,
) -> Result<Option<f64>, ConfigError> {
    lookup(variable)
        .map(|raw| match raw.trim().parse::<f64>() {
            Ok(r) if (0.0..=1.0).contains(&r) => Ok(r),
            _ => Err(ConfigError {
                variable,
                reason: "expected a rate between 0.0 and 1.0".to_owned(),
            }),
        })
        .transpose()
}
