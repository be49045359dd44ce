//! The caller's API tokens; the use cases are `app::tokens`.

use crate::app::tokens::{self as app, NewToken};
use crate::http::error::responses::{Invalid, NotFound};
use crate::http::error::ApiResult;
use crate::http::extract::{ApiJson, ApiUser};
use crate::http::AppState;
use crate::store::tokens::ApiToken;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Serialize, ToSchema)]
pub struct TokenList {
    pub items: Vec<ApiToken>,
}

/// A new token. `token` is shown only in this response.
#[derive(Serialize, ToSchema)]
pub struct CreatedToken {
    #[serde(flatten)]
    pub info: ApiToken,
    /// The secret to send as `Authorization: Bearer …`. It cannot be shown again.
    pub token: String,
}

/// List my API tokens.
///
/// Any authenticated user; only their own tokens.
#[utoipa::path(get, path = "/api/v1/tokens", tag = "account",
    responses((status = 200, body = TokenList)))]
pub async fn list_tokens(
    State(state): State<AppState>,
    caller: ApiUser,
) -> ApiResult<Json<TokenList>> {
    Ok(Json(TokenList {
        items: app::list(&state, &caller.user).await?,
    }))
}

/// Create an API token for myself.
///
/// Any authenticated user, with a token of the `admin` scope (a narrower
/// token cannot make a wider one). The new token acts with the caller's
/// role, limited to its `scopes` (default `admin`: everything the role
/// allows), until `expires_on` (default a year from today).
#[utoipa::path(post, path = "/api/v1/tokens", tag = "account", request_body = NewToken,
    responses(
        (status = 201, body = CreatedToken),
        Invalid,
    ))]
pub async fn create_token(
    State(state): State<AppState>,
    caller: ApiUser,
    ApiJson(body): ApiJson<NewToken>,
) -> ApiResult<(StatusCode, Json<CreatedToken>)> {
    let (info, token) = app::create_with(&state, &caller.actor, &caller.user, &body).await?;
    Ok((StatusCode::CREATED, Json(CreatedToken { info, token })))
}

/// Revoke one of my API tokens.
///
/// Any authenticated user, for their own tokens; other users' tokens are 404.
#[utoipa::path(delete, path = "/api/v1/tokens/{id}", tag = "account",
    params(("id" = String, Path, description = "Token id")),
    responses(
        (status = 200, body = ApiToken),
        NotFound,
    ))]
pub async fn revoke_token(
    State(state): State<AppState>,
    caller: ApiUser,
    Path(id): Path<String>,
) -> ApiResult<Json<ApiToken>> {
    Ok(Json(
        app::revoke(&state, &caller.actor, &caller.user, &id).await?,
    ))
}
