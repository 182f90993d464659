//! The error every server function returns: serialisable, so the page can show the same code,
//! message and field the REST API would, with JavaScript on or off.

use serde::{Deserialize, Serialize};
use server_fn::codec::JsonEncoding;
use server_fn::error::{FromServerFnError, ServerFnErrorErr};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AppError {
    pub status: u16,
    pub code: String,
    pub message: String,
    pub field: Option<String>,
}

impl AppError {
    pub fn new(status: u16, code: &str, message: impl Into<String>) -> Self {
        Self {
            status,
            code: code.to_owned(),
            message: message.into(),
            field: None,
        }
    }

    pub fn is_unauthenticated(&self) -> bool {
        self.status == 401 && self.code == "NOT_AUTHENTICATED"
    }

    pub fn is_not_found(&self) -> bool {
        self.status == 404
    }

    /// The message to show next to `field`, if this error is about it.
    pub fn for_field(&self, field: &str) -> Option<String> {
        (self.field.as_deref() == Some(field)).then(|| self.message.clone())
    }
}

/// The error a JavaScript-off form post of server function `S` left in the page URL
/// (`?__path=…&__err=…`), if this page is where it landed.
pub fn url_error<S>(query: &leptos_router::params::ParamsMap) -> Option<AppError>
where
    S: server_fn::ServerFn<Error = AppError>,
{
    (query.get("__path").as_deref() == Some(S::PATH))
        .then(|| query.get("__err"))
        .flatten()
        .map(|err| server_fn::error::ServerFnUrlError::<AppError>::decode_err(&err))
}

impl std::fmt::Display for AppError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for AppError {}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        let (status, code, message) = match value {
            ServerFnErrorErr::Request(m) => {
                (0, "NETWORK", format!("the store could not be reached: {m}"))
            }
            // Not the parser's words: they repeat what was posted (a field's name, a value),
            // and this message is shown on the page.
            ServerFnErrorErr::Args(_) => (
                400,
                "BAD_REQUEST",
                "the form could not be read; please fill it in again".to_owned(),
            ),
            // On the server, what fails to deserialize is the request (a form body that is not
            // UTF-8, say): the caller's fault, so 400, and not in the parser's words either.
            #[cfg(feature = "ssr")]
            ServerFnErrorErr::Deserialization(_) => (
                400,
                "BAD_REQUEST",
                "the form could not be read; please fill it in again".to_owned(),
            ),
            #[cfg(not(feature = "ssr"))]
            ServerFnErrorErr::Deserialization(m) => {
                (500, "PROTOCOL", format!("unexpected response: {m}"))
            }
            ServerFnErrorErr::Serialization(m) => {
                (500, "PROTOCOL", format!("unexpected response: {m}"))
            }
            other => (500, "INTERNAL", other.to_string()),
        };
        Self::new(status, code, message)
    }
}

#[cfg(feature = "ssr")]
impl From<store::Error> for AppError {
    fn from(e: store::Error) -> Self {
        if e.status() >= 500 {
            tracing::error!(error = %e, "server function failed");
        }
        // The HTTP status is set from `status` by the server's `server_fn_status` layer.
        Self {
            status: e.status(),
            code: e.code().to_owned(),
            message: e.public_message(),
            field: e.field().map(str::to_owned),
        }
    }
}
