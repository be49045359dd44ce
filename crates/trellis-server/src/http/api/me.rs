use crate::http::error::ApiResult;
use crate::http::extract::ApiUser;
use crate::http::AppState;
use crate::store::partners::Partner;
use crate::store::users::User;
use axum::extract::State;
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;

/// The caller and, for partner users, their organisation.
#[derive(Serialize, ToSchema)]
pub struct Me {
    pub user: User,
    pub partner: Option<Partner>,
}

/// Who am I?
///
/// Any authenticated user.
#[utoipa::path(get, path = "/api/v1/me", tag = "account",
    responses(
        (status = 200, body = Me),
    ))]
pub async fn get_me(State(state): State<AppState>, caller: ApiUser) -> ApiResult<Json<Me>> {
    let partner = match &caller.user.partner_id {
        Some(id) => Some(crate::app::partners::visible(&state, &caller.principal, id).await?),
        None => None,
    };
    Ok(Json(Me {
        user: caller.user,
        partner,
    }))
}
