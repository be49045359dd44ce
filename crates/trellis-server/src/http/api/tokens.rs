//! The caller's API tokens; the use cases are `app::tokens`.

use crate::app::tokens as app;
use crate::http::error::responses::{Invalid, NotFound};
use crate::http::error::ApiResult;
use crate::http::extract::{ApiJson, ApiUser};
use crate::http::AppState;
use crate::store::tokens::ApiToken;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Serialize, ToSchema)]
pub struct TokenList {
    pub items: Vec<ApiToken>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateToken {
    /// What the token is for, e.g. "CRM sync".
    pub name: String,
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
/// Any authenticated user. The token acts with the caller's role.
#[utoipa::path(post, path = "/api/v1/tokens", tag = "account", request_body = CreateToken,
    responses(
        (status = 201, body = CreatedToken),
        Invalid,
    ))]
pub async fn create_token(
    State(state): State<AppState>,
    caller: ApiUser,
    ApiJson(body): ApiJson<CreateToken>,
) -> ApiResult<(StatusCode, Json<CreatedToken>)> {
    let (info, token) = app::create(&state, &caller.actor, &caller.user, &body.name).await?;
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
