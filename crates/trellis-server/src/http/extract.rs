//! Request extractors: JSON bodies and query strings with field-naming errors,
//! and the authenticated API caller.

use super::error::ApiError;
use super::AppState;
use crate::app::tokens::Refused;
use crate::store::users::User;
use crate::store::Actor;
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::{header, request::Parts, Method, StatusCode};
use serde::de::DeserializeOwned;
use trellis_core::access::Principal;
use trellis_core::access::{scopes_permit, ApiArea};
use trellis_core::FieldError;

/// A JSON body. Rejections are problem documents that name the field:
/// syntax errors are 400, type errors / unknown / missing fields 422,
/// oversized bodies 413, other media types 415.
pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|ct| {
                let mime = ct
                    .split(';')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_ascii_lowercase();
                mime == "application/json" || mime.ends_with("+json")
            })
            .unwrap_or(false);
        if !is_json {
            return Err(ApiError::UnsupportedMediaType(
                "send the body as application/json",
            ));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::TooLarge(super::BODY_LIMIT)
            } else {
                ApiError::Malformed(e.body_text())
            }
        })?;
        parse_json(&bytes).map(ApiJson)
    }
}

/// Deserialises JSON, turning serde's message into a problem that names the field.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(de).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        match inner.classify() {
            serde_json::error::Category::Syntax | serde_json::error::Category::Eof => {
                ApiError::Malformed(format!(
                    "the body is not valid JSON: {} at line {} column {}",
                    strip_position(&inner.to_string()),
                    inner.line(),
                    inner.column()
                ))
            }
            _ => {
                ApiError::Validation(field_error(&path, &strip_position(&inner.to_string())).into())
            }
        }
    })
}

/// serde_json appends " at line L column C"; the problem carries position separately.
fn strip_position(msg: &str) -> String {
    match msg.rfind(" at line ") {
        Some(i) => msg[..i].to_string(),
        None => msg.to_string(),
    }
}

/// Maps serde's message about `path` to a field error with a stable code.
fn field_error(path: &str, msg: &str) -> FieldError {
    let quoted = msg.split('`').nth(1).unwrap_or("").to_string();
    // serde_path_to_error's path already ends at an unknown field, but stops at
    // the parent object for a missing one.
    let join = |name: &str| {
        if path == "." || path.is_empty() {
            name.to_string()
        } else if path == name || path.ends_with(&format!(".{name}")) {
            path.to_string()
        } else {
            format!("{path}.{name}")
        }
    };
    if msg.starts_with("unknown field") {
        let f = join(&quoted);
        FieldError::new(
            f.clone(),
            "unknown-field",
            format!("{f} is not a field of this request"),
        )
    } else if msg.starts_with("missing field") {
        let f = join(&quoted);
        FieldError::new(f.clone(), "required", format!("{f} is required"))
    } else {
        let f = if path == "." {
            "body".to_string()
        } else {
            path.to_string()
        };
        FieldError::new(f.clone(), "invalid-type", format!("{f}: {msg}"))
    }
}

/// A query string, with the same field-naming errors as [`ApiJson`].
pub struct ApiQuery<T>(pub T);

impl<S, T> FromRequestParts<S> for ApiQuery<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let q = parts.uri.query().unwrap_or("");
        let de = serde_urlencoded::Deserializer::new(form_urlencoded_parse(q));
        serde_path_to_error::deserialize(de)
            .map(ApiQuery)
            .map_err(|err| {
                let path = err.path().to_string();
                let msg = err.into_inner().to_string();
                let mut fe = field_error(&path, &msg);
                if fe.field == "body" {
                    fe.field = "query".into();
                }
                ApiError::Validation(fe.into())
            })
    }
}

fn form_urlencoded_parse(q: &str) -> form_urlencoded::Parse<'_> {
    form_urlencoded::parse(q.as_bytes())
}

/// The caller of an API endpoint, authenticated by `Authorization: Bearer`.
pub struct ApiUser {
    pub user: User,
    pub principal: Principal,
    pub actor: Actor,
}

pub fn principal_of(user: &User) -> Principal {
    Principal {
        user_id: user.id.clone(),
        role: user.role,
        partner_id: user.partner_id.clone(),
    }
}

pub fn actor_of(user: &User) -> Actor {
    Actor {
        user_id: Some(user.id.clone()),
        email: user.email.clone(),
        request_id: super::error::current_request_id(),
    }
}

/// The part of the API a path belongs to, for token scopes.
fn area_of(path: &str) -> ApiArea {
    let p = path.strip_prefix("/api/v1/").unwrap_or(path);
    let first = p.split('/').next().unwrap_or("");
    match first {
        "me" => ApiArea::Me,
        "tokens" => ApiArea::Tokens,
        "deals" | "accounts" | "conflicts" => ApiArea::Deals,
        "sales" | "incentives" => ApiArea::Incentives,
        "partners" if p.split('/').nth(2) == Some("statements") => ApiArea::Incentives,
        "users" if matches!(p.split('/').nth(2), Some("personal-data" | "erase")) => {
            ApiArea::PersonalData
        }
        _ => ApiArea::Other,
    }
}

impl FromRequestParts<AppState> for ApiUser {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let header = parts
            .headers
            .get(header::AUTHORIZATION)
            .ok_or(ApiError::Unauthenticated(
                "send an API token as 'Authorization: Bearer <token>'",
            ))?;
        let value = header
            .to_str()
            .map_err(|_| ApiError::Unauthenticated("the Authorization header is not valid"))?;
        let token = value
            .strip_prefix("Bearer ")
            .or_else(|| value.strip_prefix("bearer "))
            .map(str::trim)
            .ok_or(ApiError::Unauthenticated(
                "the Authorization header must use the Bearer scheme",
            ))?;
        let presented = match crate::app::tokens::authenticate(state, token).await? {
            Ok(p) => p,
            Err(Refused::Unknown) => {
                return Err(ApiError::Unauthenticated(
                    "the API token is unknown, revoked, or its user is disabled",
                ))
            }
            Err(Refused::Expired(_)) => {
                return Err(ApiError::Unauthenticated(
                    "the API token has expired; create a new one under Account",
                ))
            }
        };
        state
            .limiter
            .take(&presented.token_id)
            .map_err(|retry_after| ApiError::TooManyRequests { retry_after })?;
        let write = !matches!(parts.method, Method::GET | Method::HEAD);
        let path = parts.uri.path();
        if !scopes_permit(&presented.scopes, area_of(path), write) {
            let scopes: Vec<&str> = presented.scopes.iter().map(|s| s.as_str()).collect();
            return Err(ApiError::Forbidden(format!(
                "this token's scopes ({}) do not allow {} {path}; use a token with the scope it needs",
                scopes.join(", "),
                parts.method
            )));
        }
        let user = presented.user;
        Ok(ApiUser {
            principal: principal_of(&user),
            actor: actor_of(&user),
            user,
        })
    }
}
