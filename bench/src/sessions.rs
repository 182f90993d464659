//! Logged-in users and their websockets, created through the public API as a browser would.

use std::time::Duration;

use futures::{StreamExt as _, TryStreamExt as _};
use serde_json::json;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use uuid::Uuid;

use crate::Result;

pub type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

const PASSWORD: &str = "bench-password-123";

#[derive(Clone)]
pub struct Session {
    /// The `gs_session` cookie value.
    pub token: String,
}

impl Session {
    pub fn cookie(&self) -> String {
        format!("gs_session={}", self.token)
    }
}

/// Talks to the store under test.
#[derive(Clone)]
pub struct Store {
    pub base: String,
    /// The store's own origin (its `PUBLIC_URL`), sent as `Origin` like a browser.
    pub origin: String,
    pub http: reqwest::Client,
}

impl Store {
    pub fn new(base: &str, origin: Option<&str>) -> Result<Self> {
        let base = base.trim_end_matches('/').to_owned();
        let origin = origin.map_or_else(|| base.clone(), |o| o.trim_end_matches('/').to_owned());
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(30))
            .pool_max_idle_per_host(4096)
            .tcp_nodelay(true)
            .build()?;
        Ok(Self { base, origin, http })
    }

    /// Registers and logs in `count` fresh customers, a few at a time (password hashing is
    /// deliberately slow).
    pub async fn customers(&self, count: usize) -> Result<Vec<Session>> {
        let run = &Uuid::new_v4().simple().to_string()[..8];
        futures::stream::iter(0..count)
            .map(|i| {
                let username = format!("bench-{run}-{i}");
                async move { self.customer(&username).await }
            })
            .buffer_unordered(4)
            .try_collect()
            .await
    }

    async fn customer(&self, username: &str) -> Result<Session> {
        let credentials = json!({ "username": username, "password": PASSWORD });
        let response = self
            .http
            .post(format!("{}/api/users", self.base))
            .json(&credentials)
            .send()
            .await?;
        if response.status() != reqwest::StatusCode::CREATED {
            return Err(format!(
                "register {username}: {} {}",
                response.status(),
                response.text().await.unwrap_or_default()
            )
            .into());
        }
        let response = self
            .http
            .post(format!("{}/api/users/login", self.base))
            .json(&credentials)
            .send()
            .await?;
        if response.status() != reqwest::StatusCode::OK {
            return Err(format!("login {username}: {}", response.status()).into());
        }
        let token = response
            .headers()
            .get_all(reqwest::header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(|c| c.strip_prefix("gs_session="))
            .and_then(|rest| rest.split(';').next())
            .filter(|t| !t.is_empty())
            .ok_or("login answered without a gs_session cookie")?
            .to_owned();
        Ok(Session { token })
    }

    /// Opens `/ws` for a session with small client buffers (thousands of these share one process).
    pub async fn websocket(&self, session: &Session) -> Result<Socket> {
        let url = format!("{}/ws", self.base.replacen("http", "ws", 1));
        let mut request = url.into_client_request()?;
        let headers = request.headers_mut();
        headers.insert("cookie", HeaderValue::from_str(&session.cookie())?);
        headers.insert("origin", HeaderValue::from_str(&self.origin)?);
        let config = WebSocketConfig::default()
            .read_buffer_size(4096)
            .write_buffer_size(0);
        let (socket, _) =
            tokio_tungstenite::connect_async_with_config(request, Some(config), true).await?;
        Ok(socket)
    }
}
