//! The server's configuration: the store's settings, and the knobs of the simulator it runs
//! when no payment provider is configured. Read once at start-up (see `.env.example`).

use store::Settings;
use store::settings::ConfigError;

#[derive(Clone)]
pub struct Config {
    pub store: Settings,
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
        Ok(Self { store, simulator })
    }
}
