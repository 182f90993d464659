//! The server's configuration: the store's settings, and the knobs of the simulator it runs
//! when no payment provider is configured. Read once at start-up (see `.env.example`).

use store::Settings;
use store::settings::ConfigError;

#[derive(Clone)]
pub struct Config {
    pub store: Settings,
    /// The renderer's `LEPTOS_*` variables (cargo-leptos sets them in development).
    pub leptos: LeptosVars,
    /// The built-in simulator's knobs (`SIM_*`), used when `PAYMENT_PROVIDER_URL` is unset or
    /// `builtin`. It signs with the store's primary webhook secret.
    pub simulator: paysim::Config,
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok().filter(|v| !v.trim().is_empty()))
    }

    /// Reads the configuration through `lookup`, so tests can supply their own variables.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let store = Settings::from_lookup(&lookup)?;
        let mut simulator = paysim::Config::from_lookup(&lookup).map_err(|e| ConfigError {
            variable: e.variable,
            reason: e.reason,
        })?;
        simulator.secret = store.webhook_secrets[0].clone();
        let leptos = LeptosVars {
            env: lookup("LEPTOS_ENV"),
            output_name: lookup("LEPTOS_OUTPUT_NAME"),
            site_root: lookup("LEPTOS_SITE_ROOT"),
            site_pkg_dir: lookup("LEPTOS_SITE_PKG_DIR"),
            reload_port: lookup("LEPTOS_RELOAD_PORT"),
        };
        Ok(Self {
            store,
            leptos,
            simulator,
        })
    }
}

/// `LEPTOS_ENV`, `LEPTOS_OUTPUT_NAME`, `LEPTOS_SITE_ROOT`, `LEPTOS_SITE_PKG_DIR` and
/// `LEPTOS_RELOAD_PORT`, each unset when blank.
#[derive(Clone, Debug, Default)]
pub struct LeptosVars {
    pub env: Option<String>,
    pub output_name: Option<String>,
    pub site_root: Option<String>,
    pub site_pkg_dir: Option<String>,
    pub reload_port: Option<String>,
}
