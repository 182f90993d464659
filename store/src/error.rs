//! The domain's one error type.
//!
//! Every variant maps to an HTTP status and a stable machine-readable `code`; adapters render it
//! as `{"error": {"code", "message", "field"?}}`. Internal causes (database, network) are logged
//! where they happen and reach clients only as a generic message: never a stack trace, never SQL.

use std::borrow::Cow;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A field failed validation (422).
    #[error("{message}")]
    Invalid {
        field: Cow<'static, str>,
        message: String,
    },
    /// The request could not be understood at all (400).
    #[error("{0}")]
    BadRequest(String),
    /// No valid session (401).
    #[error("you need to log in")]
    Unauthenticated,
    /// Wrong username or password (401).
    #[error("wrong username or password")]
    InvalidCredentials,
    /// A webhook whose signature does not verify (401).
    #[error("{0}")]
    InvalidSignature(String),
    /// Authenticated, but not allowed (403).
    #[error("{message}")]
    Forbidden { code: &'static str, message: String },
    /// No such thing (404); the payload names what was looked for.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The request conflicts with the current state (409).
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    /// Well-formed but semantically refused (422).
    #[error("{message}")]
    Unprocessable { code: &'static str, message: String },
    /// Too many attempts (429).
    #[error("too many attempts; try again in {retry_after_secs} seconds")]
    RateLimited { retry_after_secs: u64 },
    /// A dependency is down (503).
    #[error("{message}")]
    Unavailable { code: &'static str, message: String },
    /// A bug or an unexpected failure (500). The text is logged, never sent.
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    pub fn invalid(field: impl Into<Cow<'static, str>>, message: impl Into<String>) -> Self {
        Error::Invalid {
            field: field.into(),
            message: message.into(),
        }
    }

    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Error::Conflict {
            code,
            message: message.into(),
        }
    }

    pub fn unprocessable(code: &'static str, message: impl Into<String>) -> Self {
        Error::Unprocessable {
            code,
            message: message.into(),
        }
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Error::Forbidden {
            code: "FORBIDDEN",
            message: message.into(),
        }
    }

    pub fn internal(cause: impl std::fmt::Display) -> Self {
        Error::Internal(cause.to_string())
    }

    pub fn status(&self) -> u16 {
        match self {
            Error::Invalid { .. } | Error::Unprocessable { .. } => 422,
            Error::BadRequest(_) => 400,
            Error::Unauthenticated | Error::InvalidCredentials | Error::InvalidSignature(_) => 401,
            Error::Forbidden { .. } => 403,
            Error::NotFound(_) => 404,
            Error::Conflict { .. } => 409,
            Error::RateLimited { .. } => 429,
            Error::Unavailable { .. } => 503,
            Error::Internal(_) => 500,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            Error::Invalid { .. } => "VALIDATION_FAILED",
            Error::BadRequest(_) => "BAD_REQUEST",
            Error::Unauthenticated => "NOT_AUTHENTICATED",
            Error::InvalidCredentials => "INVALID_CREDENTIALS",
            Error::InvalidSignature(_) => "INVALID_SIGNATURE",
            Error::NotFound(_) => "NOT_FOUND",
            Error::RateLimited { .. } => "RATE_LIMITED",
            Error::Internal(_) => "INTERNAL",
            Error::Forbidden { code, .. }
            | Error::Conflict { code, .. }
            | Error::Unprocessable { code, .. }
            | Error::Unavailable { code, .. } => code,
        }
    }

    /// The text shown to clients: the error's own words, except for internal errors.
    pub fn public_message(&self) -> String {
        match self {
            Error::Internal(_) => "something went wrong on our side".to_owned(),
            Error::NotFound(what) => format!("{what} not found"),
            other => other.to_string(),
        }
    }

    /// What `Retry-After` should say, for answers a client may simply retry later.
    pub fn retry_after_secs(&self) -> Option<u64> {
        match self {
            Error::RateLimited { retry_after_secs } => Some(*retry_after_secs),
            Error::Unavailable { .. } => Some(1),
            _ => None,
        }
    }

    pub fn field(&self) -> Option<&str> {
        match self {
            Error::Invalid { field, .. } => Some(field),
            _ => None,
        }
    }

    pub fn to_body(&self) -> api_types::ErrorBody {
        api_types::ErrorBody {
            error: api_types::ErrorDetail {
                code: self.code().to_owned(),
                message: self.public_message(),
                field: self.field().map(str::to_owned),
            },
        }
    }
}

impl From<sea_orm::DbErr> for Error {
    fn from(e: sea_orm::DbErr) -> Self {
        use sea_orm::DbErr;
        match (&e, database_code(&e).as_deref()) {
            (DbErr::Conn(_) | DbErr::ConnectionAcquire(_), _) => {
                tracing::error!(error = %e, "database unavailable");
                Error::Unavailable {
                    code: "DATABASE_UNAVAILABLE",
                    message: "the database is unavailable; try again shortly".to_owned(),
                }
            }
            // SQLite busy or locked (the busy timeout ran out), PostgreSQL serialization failure,
            // deadlock, lock timeout or too many connections: the request may succeed if retried.
            (
                _,
                Some("5" | "6" | "261" | "262" | "517" | "40001" | "40P01" | "55P03" | "53300"),
            ) => {
                tracing::warn!(error = %e, "database busy");
                Error::Unavailable {
                    code: "DATABASE_BUSY",
                    message: "the store is busy; try again in a moment".to_owned(),
                }
            }
            // A value the database cannot store (too long for its column, a NUL byte): validation
            // should have caught it, so it is logged loudly, but it is the caller's input.
            (_, Some("22001" | "22021" | "22P05")) => {
                tracing::error!(error = %e, "a value slipped past validation");
                Error::unprocessable(
                    "VALUE_NOT_STORABLE",
                    "a value is too long or contains characters that cannot be stored",
                )
            }
            _ => {
                tracing::error!(error = %e, "database error");
                Error::Internal(e.to_string())
            }
        }
    }
}

/// The driver's error code (SQLSTATE on PostgreSQL, the extended result code on SQLite).
fn database_code(e: &sea_orm::DbErr) -> Option<String> {
    use sea_orm::{DbErr, RuntimeErr};
    let (DbErr::Exec(RuntimeErr::SqlxError(inner)) | DbErr::Query(RuntimeErr::SqlxError(inner))) =
        e
    else {
        return None;
    };
    match inner.as_ref() {
        sea_orm::sqlx::Error::Database(db) => db.code().map(|c| c.into_owned()),
        _ => None,
    }
}

impl<E: std::error::Error> From<sea_orm::TransactionError<E>> for Error
where
    Error: From<E>,
{
    fn from(e: sea_orm::TransactionError<E>) -> Self {
        match e {
            sea_orm::TransactionError::Connection(db) => db.into(),
            sea_orm::TransactionError::Transaction(inner) => inner.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_errors_never_leak_their_cause() {
        let e = Error::internal("relation \"users\" does not exist");
        assert_eq!(e.status(), 500);
        assert!(!e.public_message().contains("users"));
        assert!(!e.to_body().error.message.contains("relation"));
    }

    #[test]
    fn validation_errors_name_the_field() {
        let e = Error::invalid("username", "too short");
        assert_eq!(e.status(), 422);
        assert_eq!(e.to_body().error.field.as_deref(), Some("username"));
        assert_eq!(e.code(), "VALIDATION_FAILED");
    }
}
