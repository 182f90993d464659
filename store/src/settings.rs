//! Typed configuration, read once from the environment at start-up (SPEC §7). Every variable is
//! listed with its default in `.env.example`.

use std::net::SocketAddr;
use std::time::Duration;

use secrecy::SecretString;
use url::Url;
use webhooks::SigningSecret;

/// A development-only webhook secret, used (and logged as such) when `WEBHOOK_SECRETS` is unset.
pub const DEV_WEBHOOK_SECRET: &str = "whsec_ZGV2LW9ubHktZ2FtZXN0b3JlLXdlYmhvb2stc2VjcmV0";

/// A development-only key for license keys at rest, used (and logged as such) when
/// `KEYS_ENCRYPTION_KEY` is unset outside production.
pub const DEV_KEYS_ENCRYPTION_KEY: &str =
    "6465762d6f6e6c792d67616d6573746f72652d6c6963656e73652d6b65797321";

/// The 32-byte key license keys are encrypted with (`KEYS_ENCRYPTION_KEY`, 64 hex digits).
#[derive(Clone)]
pub struct EncryptionKey([u8; 32]);

impl EncryptionKey {
    pub fn parse(hex_digits: &str) -> Result<Self, String> {
        let bytes = hex::decode(hex_digits.trim())
            .map_err(|_| "expected 64 hex digits (for example from `openssl rand -hex 32`)")?;
        let key: [u8; 32] = bytes
            .try_into()
            .map_err(|_| "expected 64 hex digits: a 32-byte key")?;
        Ok(Self(key))
    }

    pub fn bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl std::fmt::Debug for EncryptionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EncryptionKey(***)")
    }
}

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
    /// Encrypts license keys at rest; production refuses to start without its own.
    pub keys_encryption_key: EncryptionKey,
    pub using_dev_keys_key: bool,
    /// `None`: the built-in simulator (`PAYMENT_PROVIDER_URL` unset, or `builtin`).
    pub payment_provider_url: Option<Url>,
    /// A production deployment (`LEPTOS_ENV=PROD`, a PostgreSQL database or an https
    /// `PUBLIC_URL`): development defaults are refused at start-up.
    pub production: bool,
    pub admin: Option<AdminSeed>,
    pub order_expiry: Duration,
    pub expiry_sweep_interval: Duration,
    /// How often each replica looks for wishlist alerts that are due (`WISHLIST_ALERT_SECS`).
    pub wishlist_alert_interval: Duration,
    pub session_ttl: Duration,
    /// How long a SQLite writer waits for the write lock before the request is answered 503.
    pub sqlite_busy_timeout: Duration,
    /// Connections to PostgreSQL per replica (`DATABASE_POOL_SIZE`).
    pub database_pool_size: u32,
    pub seed_catalog: bool,
    pub login_throttle: LoginThrottle,
    pub registration_limit: RegistrationLimit,
    /// Password hashes running at once (`PASSWORD_HASH_CONCURRENCY`, default: the cores) and
    /// waiting for a slot (`PASSWORD_HASH_QUEUE`); beyond both, 503.
    pub password_hash_concurrency: usize,
    pub password_hash_queue: usize,
    /// How many proxies of our own sit in front of the store (`TRUST_FORWARDED_FOR`: `false`/0,
    /// `true`/1, or a count). The client is that many entries from the right of
    /// `X-Forwarded-For`; with 0 the header is ignored.
    pub trusted_proxies: usize,
    /// Where `/metrics` is served (`METRICS_ADDR`); never on the public listener. Unset: off.
    pub metrics_addr: Option<SocketAddr>,
    /// Live sockets one user may hold open at once (`WS_MAX_PER_USER`).
    pub ws_max_per_user: usize,
    /// Live sockets one replica holds at most (`WS_MAX_CONNECTIONS`).
    pub ws_max_connections: usize,
    /// HTTP connections one replica serves at once (`HTTP_MAX_CONNECTIONS`); past it, new
    /// ones wait in the kernel's queue until one closes. Live sockets, once upgraded, count
    /// under `ws_max_connections` instead.
    pub http_max_connections: usize,
    /// How long a connection may take to send a request's headers, idle time before it
    /// included (`HEADER_READ_TIMEOUT_SECS`); then it is closed.
    pub header_read_timeout: Duration,
    pub log_json: bool,
    /// On shutdown, report unready for this long before refusing new connections, so a load
    /// balancer stops sending traffic first.
    pub shutdown_drain: Duration,
    /// Receipts and notices: where they go out and how the outbox is worked.
    pub mail: MailSettings,
    /// How long after payment a buyer may ask for a line back themselves (`REFUND_WINDOW_DAYS`).
    pub refund_window: Duration,
}

/// Email (`SMTP_URL`, `MAIL_FROM`, `MAIL_OUTBOX_DIR`, `OUTBOX_POLL_MS`, `OUTBOX_MAX_ATTEMPTS`).
#[derive(Clone)]
pub struct MailSettings {
    /// `smtp://[user:pass@]host[:port][?tls=required|opportunistic]` or `smtps://…`. Unset:
    /// messages are written as `.eml` files under `outbox_dir` instead.
    pub smtp_url: Option<SecretString>,
    /// The `From:` mailbox, `Name <address>`.
    pub from: String,
    pub outbox_dir: std::path::PathBuf,
    /// How often each replica looks for messages that are due.
    pub poll_interval: Duration,
    /// Tries before a message is given up on (a permanent refusal gives up at once).
    pub max_attempts: u32,
    /// How long an email verification link stays valid.
    pub verification_ttl: Duration,
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

/// New accounts per client address over a window.
#[derive(Clone, Copy, Debug)]
pub struct RegistrationLimit {
    pub per_address: u32,
    pub window: Duration,
}

impl Default for RegistrationLimit {
    fn default() -> Self {
        Self {
            per_address: 20,
            window: Duration::from_secs(3600),
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

        let (keys_encryption_key, using_dev_keys_key) = match lookup("KEYS_ENCRYPTION_KEY") {
            Some(raw) => {
                let key =
                    EncryptionKey::parse(&raw).map_err(|e| invalid("KEYS_ENCRYPTION_KEY", e))?;
                let dev = raw.trim().eq_ignore_ascii_case(DEV_KEYS_ENCRYPTION_KEY);
                (key, dev)
            }
            None => (dev_keys_key(), true),
        };

        let provider_setting = lookup("PAYMENT_PROVIDER_URL");
        let builtin_requested = provider_setting
            .as_deref()
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("builtin"));
        let payment_provider_url = provider_setting
            .filter(|_| !builtin_requested)
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

        let production = lookup("LEPTOS_ENV").is_some_and(|v| {
            matches!(
                v.trim().to_ascii_lowercase().as_str(),
                "prod" | "production"
            )
        }) || database_url.starts_with("postgres")
            || public_url.scheme() == "https";
        if production {
            // A production store must never run on the published development secret, nor
            // silently on the simulator, which confirms every payment.
            if using_dev_webhook_secret {
                return Err(invalid(
                    "WEBHOOK_SECRETS",
                    "a production deployment needs its own secret (whsec_…); the development secret is public",
                ));
            }
            if webhook_secrets
                .iter()
                .any(|s| s.same_key(&dev_webhook_secret()))
            {
                return Err(invalid(
                    "WEBHOOK_SECRETS",
                    "the development secret is public and must not be used in production",
                ));
            }
            if payment_provider_url.is_none() && !builtin_requested {
                return Err(invalid(
                    "PAYMENT_PROVIDER_URL",
                    "a production deployment needs its payment provider's URL (or `builtin` to run the simulator, which pays every order, on purpose)",
                ));
            }
            if using_dev_keys_key {
                return Err(invalid(
                    "KEYS_ENCRYPTION_KEY",
                    "a production deployment needs its own key for license keys at rest (64 hex digits, `openssl rand -hex 32`); the development key is public",
                ));
            }
        }

        let parse_count = |name: &'static str, default: usize| -> Result<usize, ConfigError> {
            lookup(name).map_or(Ok(default), |raw| {
                raw.trim()
                    .parse::<usize>()
                    .map_err(|_| invalid(name, "expected a whole number"))
            })
        };
        let trusted_proxies = match lookup("TRUST_FORWARDED_FOR")
            .map(|v| v.trim().to_ascii_lowercase())
            .as_deref()
        {
            None | Some("false" | "no" | "off") => 0,
            Some("true" | "yes" | "on") => 1,
            Some(n) => n.parse().map_err(|_| {
                invalid(
                    "TRUST_FORWARDED_FOR",
                    "expected false, true, or the number of proxies in front of the store",
                )
            })?,
        };
        let metrics_addr = lookup("METRICS_ADDR")
            .map(|raw| raw.trim().parse().map_err(|e| invalid("METRICS_ADDR", e)))
            .transpose()?;
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        let registration_limit = RegistrationLimit {
            per_address: parse_count(
                "REGISTRATIONS_PER_ADDRESS",
                RegistrationLimit::default().per_address as usize,
            )?
            .try_into()
            .map_err(|_| invalid("REGISTRATIONS_PER_ADDRESS", "too large"))?,
            ..RegistrationLimit::default()
        };

        let smtp_url = lookup("SMTP_URL")
            .map(|raw| {
                let url = Url::parse(raw.trim()).map_err(|e| invalid("SMTP_URL", e))?;
                match url.scheme() {
                    "smtp" | "smtps" if url.host_str().is_some() => Ok(SecretString::from(raw)),
                    _ => Err(invalid(
                        "SMTP_URL",
                        "expected smtp://[user:pass@]host[:port][?tls=required] or smtps://…",
                    )),
                }
            })
            .transpose()?;
        let from = lookup("MAIL_FROM")
            .unwrap_or_else(|| "Game Store <store@gamestore.localhost>".to_owned());
        if from.parse::<lettre::message::Mailbox>().is_err() {
            return Err(invalid(
                "MAIL_FROM",
                "expected a mailbox such as `Game Store <store@example.com>`",
            ));
        }
        let mail = MailSettings {
            smtp_url,
            from,
            outbox_dir: lookup("MAIL_OUTBOX_DIR")
                .unwrap_or_else(|| "data/outbox".to_owned())
                .into(),
            poll_interval: Duration::from_millis(parse_count("OUTBOX_POLL_MS", 1000)? as u64)
                .max(Duration::from_millis(50)),
            max_attempts: parse_count("OUTBOX_MAX_ATTEMPTS", 8)?
                .clamp(1, 100)
                .try_into()
                .unwrap_or(8),
            verification_ttl: parse_secs("EMAIL_VERIFICATION_TTL_SECS", 24 * 3600)?
                .clamp(Duration::from_secs(60), Duration::from_secs(30 * 24 * 3600)),
        };
        let refund_window_days = parse_count("REFUND_WINDOW_DAYS", 14)?;
        if refund_window_days > 3650 {
            return Err(invalid("REFUND_WINDOW_DAYS", "at most 3650 days"));
        }

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
            keys_encryption_key,
            using_dev_keys_key,
            payment_provider_url,
            production,
            admin,
            order_expiry: parse_secs("ORDER_EXPIRY_SECS", 900)?,
            expiry_sweep_interval: parse_secs("ORDER_EXPIRY_SWEEP_SECS", 30)?,
            wishlist_alert_interval: parse_secs("WISHLIST_ALERT_SECS", 5)?
                .max(Duration::from_secs(1)),
            session_ttl: parse_secs("SESSION_TTL_SECS", 7 * 24 * 3600)?,
            sqlite_busy_timeout: Duration::from_millis(parse_count(
                "SQLITE_BUSY_TIMEOUT_MS",
                10_000,
            )? as u64),
            database_pool_size: u32::try_from(parse_count("DATABASE_POOL_SIZE", 32)?)
                .unwrap_or(u32::MAX)
                .clamp(1, 1000),
            seed_catalog: parse_bool("SEED_CATALOG", true)?,
            login_throttle: LoginThrottle::default(),
            registration_limit,
            password_hash_concurrency: parse_count("PASSWORD_HASH_CONCURRENCY", cores)?.max(1),
            password_hash_queue: parse_count("PASSWORD_HASH_QUEUE", 32)?,
            trusted_proxies,
            metrics_addr,
            ws_max_per_user: parse_count("WS_MAX_PER_USER", 16)?.max(1),
            ws_max_connections: parse_count("WS_MAX_CONNECTIONS", 10_000)?.max(1),
            http_max_connections: parse_count("HTTP_MAX_CONNECTIONS", 4_096)?.max(1),
            header_read_timeout: parse_secs("HEADER_READ_TIMEOUT_SECS", 30)?
                .max(Duration::from_secs(1)),
            log_json: lookup("LOG_FORMAT").is_some_and(|v| v.eq_ignore_ascii_case("json")),
            shutdown_drain: parse_secs("SHUTDOWN_DRAIN_SECS", 0)?,
            mail,
            refund_window: Duration::from_secs(refund_window_days as u64 * 24 * 3600),
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

pub fn dev_keys_key() -> EncryptionKey {
    EncryptionKey::parse(DEV_KEYS_ENCRYPTION_KEY)
        .unwrap_or_else(|_| unreachable!("the built-in development key is valid"))
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
        assert!(settings(&[("KEYS_ENCRYPTION_KEY", "abc")]).is_err());
        assert!(settings(&[("KEYS_ENCRYPTION_KEY", &"zz".repeat(32))]).is_err());
        assert!(settings(&[("KEYS_ENCRYPTION_KEY", &"ab".repeat(31))]).is_err());
        assert!(settings(&[("KEYS_ENCRYPTION_KEY", &"ab".repeat(32))]).is_ok());
        assert!(settings(&[("SMTP_URL", "http://mail.example.com")]).is_err());
        assert!(settings(&[("SMTP_URL", "smtp://")]).is_err());
        assert!(settings(&[("SMTP_URL", "smtp://127.0.0.1:2525")]).is_ok());
        assert!(settings(&[("MAIL_FROM", "not an address")]).is_err());
        assert!(settings(&[("MAIL_FROM", "Shop <shop@example.com>")]).is_ok());
        assert!(settings(&[("REFUND_WINDOW_DAYS", "-1")]).is_err());
        assert_eq!(
            settings(&[]).map(|s| s.refund_window).ok(),
            Some(Duration::from_secs(14 * 24 * 3600))
        );
    }

    const OWN_KEY: &str = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

    #[test]
    fn production_refuses_development_defaults() {
        let own = SigningSecret::generate();
        let named = |vars: &[(&str, &str)]| settings(vars).err().map(|e| e.variable);
        for production in [
            ("LEPTOS_ENV", "PROD"),
            ("DATABASE_URL", "postgres://db/store"),
            ("PUBLIC_URL", "https://shop.example.com"),
        ] {
            assert_eq!(named(&[production]), Some("WEBHOOK_SECRETS"));
            assert_eq!(
                named(&[production, ("WEBHOOK_SECRETS", DEV_WEBHOOK_SECRET)]),
                Some("WEBHOOK_SECRETS")
            );
            assert_eq!(
                named(&[
                    production,
                    ("WEBHOOK_SECRETS", &format!("{own},{DEV_WEBHOOK_SECRET}"))
                ]),
                Some("WEBHOOK_SECRETS")
            );
            assert_eq!(
                named(&[production, ("WEBHOOK_SECRETS", &own)]),
                Some("PAYMENT_PROVIDER_URL")
            );
            assert_eq!(
                named(&[
                    production,
                    ("WEBHOOK_SECRETS", &own),
                    ("PAYMENT_PROVIDER_URL", "builtin")
                ]),
                Some("KEYS_ENCRYPTION_KEY")
            );
            assert_eq!(
                named(&[
                    production,
                    ("WEBHOOK_SECRETS", &own),
                    ("PAYMENT_PROVIDER_URL", "builtin"),
                    ("KEYS_ENCRYPTION_KEY", DEV_KEYS_ENCRYPTION_KEY)
                ]),
                Some("KEYS_ENCRYPTION_KEY")
            );
            let explicit = settings(&[
                production,
                ("WEBHOOK_SECRETS", &own),
                ("PAYMENT_PROVIDER_URL", "builtin"),
                ("KEYS_ENCRYPTION_KEY", OWN_KEY),
            ])
            .expect("the simulator, asked for by name");
            assert!(explicit.production && explicit.payment_provider_url.is_none());
            let remote = settings(&[
                production,
                ("WEBHOOK_SECRETS", &own),
                ("PAYMENT_PROVIDER_URL", "https://pay.example.com/"),
                ("KEYS_ENCRYPTION_KEY", OWN_KEY),
            ])
            .expect("a real provider");
            assert!(remote.payment_provider_url.is_some());
        }
        assert!(!settings(&[]).expect("development").production);
    }

    #[test]
    fn forwarded_for_trust_is_a_proxy_count() {
        let hops = |v: &str| {
            settings(&[("TRUST_FORWARDED_FOR", v)])
                .map(|s| s.trusted_proxies)
                .ok()
        };
        assert_eq!(settings(&[]).map(|s| s.trusted_proxies).ok(), Some(0));
        assert_eq!(hops("false"), Some(0));
        assert_eq!(hops("true"), Some(1));
        assert_eq!(hops("2"), Some(2));
        assert_eq!(hops("many"), None);
    }

    #[test]
    fn public_url_drives_origin_and_cookie_security() {
        let own = SigningSecret::generate();
        let s = settings(&[
            ("PUBLIC_URL", "https://shop.example.com/"),
            ("WEBHOOK_SECRETS", &own),
            ("PAYMENT_PROVIDER_URL", "builtin"),
            ("KEYS_ENCRYPTION_KEY", OWN_KEY),
        ])
        .expect("valid");
        assert_eq!(s.public_origin(), "https://shop.example.com");
        assert!(s.https());
        assert_eq!(
            s.callback_url(),
            "https://shop.example.com/api/webhooks/payment"
        );
    }
}
