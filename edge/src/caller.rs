//! Who is calling: the session user (or nobody), resolved once per request and kept in its
//! extensions, so that the CSRF guard, handlers and server functions share one lookup.

use axum::extract::{FromRef, FromRequestParts};
use http::request::Parts;
use store::Store;
use store::accounts::CurrentUser;

use crate::ApiError;
use crate::session;

/// The caller: `Some` with a valid session, `None` otherwise (no cookie, or one that is
/// malformed, expired or revoked). Only a failure to look the session up is an error.
#[derive(Debug, Clone)]
pub struct Caller(pub Option<CurrentUser>);

/// The logged-in caller; 401 without a valid session.
#[derive(Debug, Clone)]
pub struct Auth(pub CurrentUser);

/// An operator; 401 for anonymous callers, 403 for customers.
#[derive(Debug, Clone)]
pub struct Admin(pub CurrentUser);

impl<S> FromRequestParts<S> for Caller
where
    Store: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        if let Some(caller) = parts.extensions.get::<Caller>() {
            return Ok(caller.clone());
        }
        let caller = match session::token(&parts.headers) {
            None => None,
            Some(token) => match Store::from_ref(state).accounts().authenticate(&token).await {
                Ok(user) => Some(user),
                Err(store::Error::Unauthenticated) => None,
                Err(e) => return Err(ApiError(e)),
            },
        };
        let caller = Caller(caller);
        parts.extensions.insert(caller.clone());
        Ok(caller)
    }
}

impl<S> FromRequestParts<S> for Auth
where
    Store: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Caller(caller) = Caller::from_request_parts(parts, state).await?;
        caller
            .map(Auth)
            .ok_or(ApiError(store::Error::Unauthenticated))
    }
}

impl<S> FromRequestParts<S> for Admin
where
    Store: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Auth(user) = Auth::from_request_parts(parts, state).await?;
        user.require_admin()?;
        Ok(Admin(user))
    }
}
