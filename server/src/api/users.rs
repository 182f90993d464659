use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use api_types::{Role, User};

use super::responses::{
    BadRequest, Conflict, Forbidden, TooLarge, TooManyRequests, Unauthorized, Unavailable,
    Unprocessable, UnsupportedMediaType,
};
use crate::AppState;
use crate::error::{ApiResult, Reject, reject};
use crate::extract::{Admin, ApiJson, Auth, ClientIp};

#[derive(Deserialize, ToSchema)]
pub struct Credentials {
    /// 3–32 of a-z 0-9 _ - (upper case is folded to lower case).
    #[schema(min_length = 3, max_length = 32, pattern = "^[A-Za-z0-9_-]{3,32}$")]
    pub username: String,
    /// 8–128 characters.
    #[schema(min_length = 8, max_length = 128)]
    pub password: String,
}

#[utoipa::path(post, path = "/api/users", tag = "users", request_body = Credentials,
    responses(
        (status = 201, description = "Registered", body = User),
        BadRequest, Forbidden, Conflict, TooLarge, UnsupportedMediaType, Unprocessable, TooManyRequests, Unavailable,
    ))]
/// `POST /api/users`: register a customer account (limited per client address).
pub async fn register_user(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    ApiJson(body): ApiJson<Credentials>,
) -> ApiResult<Response> {
    let user = state
        .store
        .accounts()
        .register(&body.username, &body.password, ip)
        .await?;
    Ok((StatusCode::CREATED, Json(user)).into_response())
}

/// The body of a successful login. `id` repeats `user_id` for the original store's clients.
#[derive(Serialize, ToSchema)]
pub struct LoggedIn {
    pub id: uuid::Uuid,
    pub user_id: uuid::Uuid,
    pub username: String,
    pub role: Role,
}

#[utoipa::path(post, path = "/api/users/login", tag = "users",
    request_body(content(
        (Credentials = "application/json"),
        (Credentials = "application/x-www-form-urlencoded"),
    )),
    responses(
        (status = 200, description = "Logged in; sets the session cookie", body = LoggedIn),
        BadRequest, Unauthorized, Forbidden, TooLarge, UnsupportedMediaType, Unprocessable, TooManyRequests, Unavailable,
    ))]
/// `POST /api/users/login`: JSON or an OAuth2-style form; sets the session cookie.
pub async fn login(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let credentials = match parse_credentials(&headers, &body) {
        Ok(c) => c,
        Err(rejection) => return Ok(rejection.into_response()),
    };
    let (user, session) = state
        .store
        .accounts()
        .login(&credentials.username, &credentials.password, ip)
        .await?;
    let set_cookie =
        edge::session::issue(&session.token, session.max_age_secs, state.store.settings());
    let mut response = Json(LoggedIn {
        id: user.user_id,
        user_id: user.user_id,
        username: user.username,
        role: user.role,
    })
    .into_response();
    if let Ok(value) = HeaderValue::from_str(&set_cookie) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

fn parse_credentials(headers: &HeaderMap, body: &[u8]) -> Result<Credentials, Reject> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match content_type.as_str() {
        "application/json" => serde_json::from_slice::<Credentials>(body).map_err(|e| {
            if e.is_data() {
                reject(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "VALIDATION_FAILED",
                    format!("expected {{username, password}}: {e}"),
                )
            } else {
                reject(
                    StatusCode::BAD_REQUEST,
                    "MALFORMED_JSON",
                    format!("the request body is not valid JSON: {e}"),
                )
            }
        }),
        "application/x-www-form-urlencoded" => serde_urlencoded::from_bytes::<Credentials>(body)
            .map_err(|e| {
                reject(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "VALIDATION_FAILED",
                    format!("expected username and password fields: {e}"),
                )
            }),
        _ => Err(reject(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "UNSUPPORTED_MEDIA_TYPE",
            "send JSON or an application/x-www-form-urlencoded form",
        )),
    }
}

#[utoipa::path(post, path = "/api/users/logout", tag = "users", security(("session" = [])),
    responses(
        (status = 204, description = "Session revoked; cookie cleared"),
        Unauthorized, Forbidden, Unavailable,
    ))]
/// `POST /api/users/logout`: revokes the session everywhere.
pub async fn logout(State(state): State<AppState>, Auth(user): Auth) -> ApiResult<Response> {
    state.store.accounts().logout(&user).await?;
    Ok(clear_cookie(&state, StatusCode::NO_CONTENT))
}

fn clear_cookie(state: &AppState, status: StatusCode) -> Response {
    let mut response = status.into_response();
    if let Ok(value) = HeaderValue::from_str(&edge::session::clear(state.store.settings())) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}

#[utoipa::path(get, path = "/api/users/me", tag = "users", security(("session" = [])),
    responses(
        (status = 200, description = "The logged-in user", body = User),
        Unauthorized, Unavailable,
    ))]
/// `GET /api/users/me`.
pub async fn current_user(Auth(user): Auth) -> impl IntoResponse {
    Json(user.user)
}

#[utoipa::path(get, path = "/api/users/me/gifts", tag = "users", security(("session" = [])),
    responses(
        (status = 200, description = "Paid gifts other members sent the logged-in user, newest first (at most 200)", body = [api_types::GiftReceived]),
        Unauthorized, Unavailable,
    ))]
/// `GET /api/users/me/gifts`.
pub async fn my_gifts(State(state): State<AppState>, Auth(user): Auth) -> ApiResult<Response> {
    let gifts = state.store.orders().gifts_received(user.id()).await?;
    Ok(Json(gifts).into_response())
}

#[utoipa::path(get, path = "/api/users/me/email", tag = "users", security(("session" = [])),
    responses(
        (status = 200, description = "The address receipts go to, and whether it is verified", body = api_types::EmailStatus),
        Unauthorized, Unavailable,
    ))]
/// `GET /api/users/me/email`.
pub async fn get_email(State(state): State<AppState>, Auth(user): Auth) -> ApiResult<Response> {
    Ok(Json(state.store.accounts().email(&user).await?).into_response())
}

#[utoipa::path(put, path = "/api/users/me/email", tag = "users", security(("session" = [])),
    request_body = api_types::NewEmail,
    responses(
        (status = 202, description = "Saved, unverified: a verification link is on its way (the same verified address again: 200, unchanged)", body = api_types::EmailStatus),
        (status = 200, description = "Already this address, verified", body = api_types::EmailStatus),
        BadRequest, Unauthorized, Forbidden, TooLarge, UnsupportedMediaType, Unprocessable, TooManyRequests, Unavailable,
    ))]
/// `PUT /api/users/me/email`: sets the address and sends it a verification link (one a minute
/// per account, five an hour per address).
pub async fn set_email(
    State(state): State<AppState>,
    Auth(user): Auth,
    ApiJson(body): ApiJson<api_types::NewEmail>,
) -> ApiResult<Response> {
    let status = state.store.accounts().set_email(&user, &body.email).await?;
    let code = if status.verified {
        StatusCode::OK
    } else {
        StatusCode::ACCEPTED
    };
    Ok((code, Json(status)).into_response())
}

#[utoipa::path(delete, path = "/api/users/me/email", tag = "users", security(("session" = [])),
    responses(
        (status = 200, description = "Removed: nothing more is sent", body = api_types::EmailStatus),
        Unauthorized, Forbidden, Unavailable,
    ))]
/// `DELETE /api/users/me/email`.
pub async fn remove_email(State(state): State<AppState>, Auth(user): Auth) -> ApiResult<Response> {
    Ok(Json(state.store.accounts().remove_email(&user).await?).into_response())
}

#[utoipa::path(post, path = "/api/users/me/email/resend", tag = "users", security(("session" = [])),
    responses(
        (status = 202, description = "A new verification link is on its way", body = api_types::EmailStatus),
        (status = 409, description = "NOTHING_TO_VERIFY: no address waits for verification", body = api_types::ErrorBody),
        Unauthorized, Forbidden, TooManyRequests, Unavailable,
    ))]
/// `POST /api/users/me/email/resend`.
pub async fn resend_email_link(
    State(state): State<AppState>,
    Auth(user): Auth,
) -> ApiResult<Response> {
    let status = state.store.accounts().resend_verification(&user).await?;
    Ok((StatusCode::ACCEPTED, Json(status)).into_response())
}

#[utoipa::path(post, path = "/api/users/email/verify", tag = "users",
    request_body = api_types::EmailVerification,
    responses(
        (status = 200, description = "The address is verified", body = api_types::EmailStatus),
        (status = 422, description = "VERIFICATION_INVALID: unknown, used or expired token", body = api_types::ErrorBody),
        BadRequest, Forbidden, TooLarge, UnsupportedMediaType, Unavailable,
    ))]
/// `POST /api/users/email/verify` with the token from the link: no session needed.
pub async fn verify_email(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<api_types::EmailVerification>,
) -> ApiResult<Response> {
    Ok(Json(state.store.accounts().verify_email(&body.token).await?).into_response())
}

#[derive(Deserialize, ToSchema)]
pub struct DeleteAccount {
    pub password: String,
}

#[utoipa::path(delete, path = "/api/users/me", tag = "users", security(("session" = [])), request_body = DeleteAccount,
    responses(
        (status = 204, description = "Account closed; orders are kept. The password check counts in the account's failed-login window (429 past it)"),
        BadRequest, Unauthorized, Forbidden, TooLarge, UnsupportedMediaType, Unprocessable, TooManyRequests, Unavailable,
    ))]
/// `DELETE /api/users/me`: closes the account (password required); orders are kept.
pub async fn delete_current_user(
    State(state): State<AppState>,
    Auth(user): Auth,
    ApiJson(body): ApiJson<DeleteAccount>,
) -> ApiResult<Response> {
    state
        .store
        .accounts()
        .delete_account(&user, &body.password)
        .await?;
    Ok(clear_cookie(&state, StatusCode::NO_CONTENT))
}

#[utoipa::path(delete, path = "/api/users/{id}", tag = "users", security(("session" = [])),
    params(("id" = uuid::Uuid, Path, description = "Your own user id (the original store's path)")),
    request_body = DeleteAccount,
    responses(
        (status = 204, description = "Account closed; orders are kept. The password check counts in the account's failed-login window (429 past it)"),
        BadRequest, Unauthorized, Forbidden, TooLarge, UnsupportedMediaType, Unprocessable, TooManyRequests, Unavailable,
    ))]
/// `DELETE /api/users/{id}` with `{password}`: the original store's way to close one's own
/// account. Anyone else's id is refused with 403, operators included.
pub async fn delete_user(
    State(state): State<AppState>,
    Auth(user): Auth,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<DeleteAccount>,
) -> ApiResult<Response> {
    if uuid::Uuid::parse_str(&id).ok() != Some(user.id()) {
        return Err(store::Error::forbidden("you can only close your own account").into());
    }
    state
        .store
        .accounts()
        .delete_account(&user, &body.password)
        .await?;
    Ok(clear_cookie(&state, StatusCode::NO_CONTENT))
}

#[utoipa::path(get, path = "/api/users", tag = "users", security(("session" = [])),
    responses(
        (status = 200, description = "Every account (operators only)", body = [User]),
        Unauthorized, Forbidden, Unavailable,
    ))]
/// `GET /api/users`: every account (operators only).
pub async fn list_users(State(state): State<AppState>, Admin(_): Admin) -> ApiResult<Response> {
    Ok(Json(state.store.accounts().list().await?).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(ct: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_str(ct).expect("valid"),
        );
        h
    }

    #[test]
    fn accepts_json_and_forms() {
        let json = parse_credentials(
            &headers("application/json"),
            br#"{"username":"a","password":"b"}"#,
        );
        assert!(json.is_ok());
        let form = parse_credentials(
            &headers("application/x-www-form-urlencoded"),
            b"grant_type=password&username=a&password=b",
        );
        assert!(form.is_ok());
        let bad = parse_credentials(&headers("text/plain"), b"a:b");
        assert_eq!(
            bad.err().map(|r| r.status),
            Some(StatusCode::UNSUPPORTED_MEDIA_TYPE)
        );
        let broken = parse_credentials(&headers("application/json"), b"{");
        assert_eq!(
            broken.err().map(|r| r.status),
            Some(StatusCode::BAD_REQUEST)
        );
        let shape = parse_credentials(&headers("application/json"), br#"{"username":1}"#);
        assert_eq!(
            shape.err().map(|r| r.status),
            Some(StatusCode::UNPROCESSABLE_ENTITY)
        );
    }
}
