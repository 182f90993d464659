//! Typed configuration, read once from the environment at start-up (SPEC §7). Every variable is
//! listed with its default in `.env.example`.

use std::net::SocketAddr;
use std::time::Duration;

use secrecy::SecretString;
use url::Url;
use webhooks::SigningSecret;

/// A development-only webhook secret, used (and logged as such) when `WEBHOOK_SECRETS` is unset.
pub const DEV_WEBHOOK_SECRET: &str = "whsec_ZGV2LW9ubHktZ2FtZXN0b3JlLXdlYmhvb2stc2VjcmV0";

#[derive(Clone)]
pub struct Settings {
    pub database_url: String,
    pub redis_url: Option<String>,
    /// Prefix of every Redis key and channel, so several stores (or test runs) can share a server.
    pub redis_prefix: String,
    pub site_addr: SocketAddr,
    pub public_url: Url,
    /// Whether `PUBLIC_URL` was given; if not it follows the address actually bound.
    pub public_url_explicit: bool,
    pub webhook_secrets: Vec<SigningSecret>,
    pub using_dev_webhook_secret: bool,
    pub xsolla_webhook_secret: Option<SecretString>,
    pub payment_provider_url: Option<Url>,
    pub admin: Option<AdminSeed>,
    pub order_expiry: Duration,
    pub expiry_sweep_interval: Duration,
    pub session_ttl: Duration,
    pub seed_catalog: bool,
    pub simulator: paysim::Config,
    pub login_throttle: LoginThrottle,
    /// Trust the first `X-Forwarded-For` address as the client's (only behind our own proxy).
    pub trust_forwarded_for: bool,
    pub log_json: bool,
    /// On shutdown, report unready for this long before refusing new connections, so a load
    /// balancer stops sending traffic first.
    pub shutdown_drain: Duration,
}

#[derive(Clone)]
pub struct AdminSeed {
    pub username: String,
    pub password: SecretString,
}

/// Failed-login limits: per account and per client address, over a sliding window.
#[derive(Clone, Copy, Debug)]
pub struct LoginThrottle {
    pub per_account: u32,
    pub per_address: u32,
    pub window: Duration,
}

impl Default for LoginThrottle {
    fn default() -> Self {
        Self {
            per_account: 5,
            per_address: 30,
            window: Duration::from_secs(15 * 60),
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("invalid configuration: {variable}: {reason}")]
pub struct ConfigError {
    pub variable: &'static str,
    pub reason: String,
}

fn invalid(variable: &'static str, reason: impl ToString) -> ConfigError {
    ConfigError {
        variable,
        reason: reason.to_string(),
    }
}

impl Settings {
    /// Reads the environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok().filter(|v| !v.trim().is_empty()))
    }

    /// Reads settings through `lookup`, so tests can supply their own variables.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let parse_secs = |name: &'static str, default: u64| -> Result<Duration, ConfigError> {
            lookup(name).map_or(Ok(Duration::from_secs(default)), |raw| {
                raw.trim()
                    .parse::<u64>()
                    .map(Duration::from_secs)
                    .map_err(|_| invalid(name, "expected a whole number of seconds"))
            })
        };
        let parse_bool = |name: &'static str, default: bool| -> Result<bool, ConfigError> {
            lookup(name).map_or(Ok(default), |raw| {
                match raw.trim().to_ascii_lowercase().as_str() {
                    "1" | "true" | "yes" | "on" => Ok(true),
                    "0" | "false" | "no" | "off" => Ok(false),
                    _ => Err(invalid(name, "expected true or false")),
                }
            })
        };

        let site_addr: SocketAddr = lookup("LEPTOS_SITE_ADDR")
            .unwrap_or_else(|| "127.0.0.1:3000".to_owned())
            .parse()
            .map_err(|e| invalid("LEPTOS_SITE_ADDR", e))?;
        let public_url_explicit = lookup("PUBLIC_URL").is_some();
        let public_url = match lookup("PUBLIC_URL") {
            Some(raw) => Url::parse(&raw).map_err(|e| invalid("PUBLIC_URL", e))?,
            None => default_public_url(site_addr),
        };
        if !matches!(public_url.scheme(), "http" | "https") {
            return Err(invalid("PUBLIC_URL", "must be an http(s) URL"));
        }

        let (webhook_secrets, using_dev_webhook_secret) = match lookup("WEBHOOK_SECRETS") {
            Some(raw) => {
                let secrets = raw
                    .split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(SigningSecret::parse)
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| invalid("WEBHOOK_SECRETS", e))?;
                if secrets.is_empty() {
                    return Err(invalid("WEBHOOK_SECRETS", "no secret given"));
                }
                (secrets, false)
            }
            None => (vec![dev_webhook_secret()], true),
        };

        let payment_provider_url = lookup("PAYMENT_PROVIDER_URL")
            .map(|raw| Url::parse(&raw).map_err(|e| invalid("PAYMENT_PROVIDER_URL", e)))
            .transpose()?;

        let admin = match (lookup("ADMIN_USERNAME"), lookup("ADMIN_PASSWORD")) {
            (Some(username), Some(password)) => Some(AdminSeed {
                username,
                password: SecretString::from(password),
            }),
            (None, None) => None,
            _ => {
                return Err(invalid(
                    "ADMIN_USERNAME",
                    "ADMIN_USERNAME and ADMIN_PASSWORD must be set together",
                ));
            }
        };

        let database_url =
            lookup("DATABASE_URL").unwrap_or_else(|| "sqlite://data/store.db?mode=rwc".to_owned());
        if !(database_url.starts_with("sqlite:") || database_url.starts_with("postgres")) {
            return Err(invalid(
                "DATABASE_URL",
                "expected a sqlite:// or postgres:// URL",
            ));
        }

        let mut simulator =
            paysim::Config::from_lookup(&lookup).map_err(|e| invalid(e.variable, e.reason))?;
        // The embedded simulator signs with the store's primary secret.
        simulator.secret = webhook_secrets[0].clone();

        Ok(Self {
            database_url,
            redis_url: lookup("REDIS_URL"),
            redis_prefix: lookup("REDIS_KEY_PREFIX").unwrap_or_else(|| "gamestore:".to_owned()),
            site_addr,
            public_url,
            public_url_explicit,
            webhook_secrets,
            using_dev_webhook_secret,
            xsolla_webhook_secret: lookup("XSOLLA_WEBHOOK_SECRET").map(SecretString::from),
            payment_provider_url,
            admin,
            order_expiry: parse_secs("ORDER_EXPIRY_SECS", 900)?,
            expiry_sweep_interval: parse_secs("ORDER_EXPIRY_SWEEP_SECS", 30)?,
            session_ttl: parse_secs("SESSION_TTL_SECS", 7 * 24 * 3600)?,
            seed_catalog: parse_bool("SEED_CATALOG", true)?,
            simulator,
            login_throttle: LoginThrottle::default(),
            trust_forwarded_for: parse_bool("TRUST_FORWARDED_FOR", false)?,
            log_json: lookup("LOG_FORMAT").is_some_and(|v| v.eq_ignore_ascii_case("json")),
            shutdown_drain: parse_secs("SHUTDOWN_DRAIN_SECS", 0)?,
        })
    }

    /// The origin (`scheme://host[:port]`) that browsers send in `Origin` for our own pages.
    pub fn public_origin(&self) -> String {
        self.public_url.origin().ascii_serialization()
    }

    /// Whether cookies must carry `Secure`.
    pub fn https(&self) -> bool {
        self.public_url.scheme() == "https"
    }

    /// Where the payment provider posts its notifications.
    pub fn callback_url(&self) -> String {
        let mut url = self.public_url.clone();
        url.set_path("/api/webhooks/payment");
        url.set_query(None);
        url.to_string()
    }

    /// "postgres" or "sqlite", for logs and readiness.
    pub fn database_kind(&self) -> &'static str {
        if self.is_postgres() {
            "postgres"
        } else {
            "sqlite"
        }
    }

    pub fn is_postgres(&self) -> bool {
        self.database_url.starts_with("postgres")
    }
}

pub fn dev_webhook_secret() -> SigningSecret {
    SigningSecret::parse(DEV_WEBHOOK_SECRET)
        .unwrap_or_else(|_| unreachable!("the built-in development secret is valid"))
}

fn default_public_url(addr: SocketAddr) -> Url {
    let host = if addr.ip().is_unspecified() {
        "127.0.0.1".to_owned()
    } else {
        addr.ip().to_string()
    };
    Url::parse(&format!("http://{host}:{}", addr.port()))
        .unwrap_or_else(|_| unreachable!("an IP and a port always make a URL"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn settings(vars: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Settings::from_lookup(|name| map.get(name).cloned())
    }

    #[test]
    fn defaults_run_the_embedded_store() {
        let s = settings(&[]).expect("defaults are valid");
        assert!(s.database_url.starts_with("sqlite:"));
        assert!(s.redis_url.is_none());
        assert_eq!(s.public_origin(), "http://127.0.0.1:3000");
        assert_eq!(
            s.callback_url(),
            "http://127.0.0.1:3000/api/webhooks/payment"
        );
        assert!(s.using_dev_webhook_secret);
        assert_eq!(s.order_expiry, Duration::from_secs(900));
        assert!(s.payment_provider_url.is_none());
        assert!(!s.https());
    }

    #[test]
    fn parses_rotation_secrets_and_rejects_bad_values() {
        let a = SigningSecret::generate();
        let b = SigningSecret::generate();
        let both = format!("{a}, {b}");
        let s = settings(&[("WEBHOOK_SECRETS", &both)]).expect("two secrets");
        assert_eq!(s.webhook_secrets.len(), 2);
        assert!(!s.using_dev_webhook_secret);

        assert!(settings(&[("WEBHOOK_SECRETS", "not-a-secret")]).is_err());
        assert!(settings(&[("ORDER_EXPIRY_SECS", "soon")]).is_err());
        assert!(settings(&[("PUBLIC_URL", "ftp://example.com")]).is_err());
        assert!(settings(&[("ADMIN_USERNAME", "root")]).is_err());
        assert!(settings(&[("DATABASE_URL", "mysql://x")]).is_err());
    }

    #[test]
    fn public_url_drives_origin_and_cookie_security() {
        let s = settings(&[("PUBLIC_URL", "https://shop.example.com/")]).expect("valid");
        assert_eq!(s.public_origin(), "https://shop.example.com");
        assert!(s.https());
        assert_eq!(
            s.callback_url(),
            "https://shop.example.com/api/webhooks/payment"
        );
    }
}
