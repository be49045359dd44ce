//! People over the API; the use cases are `app::users`.

use crate::app::privacy::{self, Erasure, PersonalData};
use crate::app::users::{self as app, Invitation, InvitationSent, InviteUser, Invited};
use crate::http::error::responses::{Conflict, Forbidden, Invalid, NotFound};
use crate::http::error::{ApiResult, Problem};
use crate::http::extract::{ApiJson, ApiQuery, ApiUser};
use crate::http::AppState;
use crate::store::users::{User, UserFilter};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use trellis_core::org::Role;
use trellis_core::FieldErrors;
use utoipa::{IntoParams, ToSchema};

/// A page of users.
#[derive(Serialize, ToSchema)]
pub struct UserPage {
    pub items: Vec<User>,
    pub next_cursor: Option<String>,
}

#[derive(Deserialize, IntoParams, Default)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct UserQuery {
    /// Only this role
    #[param(value_type = Option<Role>)]
    pub role: Option<String>,
    /// Only users of this partner (vendor only; `vendor` for vendor users)
    pub partner_id: Option<String>,
    /// Search in e-mail
    pub q: Option<String>,
    /// From `next_cursor` of the previous page (opaque)
    #[param(max_length = 512, pattern = "^[A-Za-z0-9_-]*$")]
    pub cursor: Option<String>,
    /// Page size, 1–200 (default 50)
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
}

/// List a partner's users.
///
/// Vendor users: any partner. Partner users: their own organisation only (others are 404).
#[utoipa::path(get, path = "/api/v1/partners/{id}/users", tag = "users",
    params(("id" = String, Path, description = "Partner id"), UserQuery),
    responses(
        (status = 200, body = UserPage),
        NotFound,
    ))]
pub async fn list_partner_users(
    State(state): State<AppState>,
    caller: ApiUser,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<UserQuery>,
) -> ApiResult<Json<UserPage>> {
    let partner = crate::app::partners::visible(&state, &caller.principal, &id).await?;
    let (items, next_cursor) = app::list_of_partner(&state, &partner, to_filter(&q)?).await?;
    Ok(Json(UserPage { items, next_cursor }))
}

/// Invite a user into a partner.
///
/// Vendor admins and the partner's channel manager get the user and the
/// link (201; 409 when the e-mail is in use). The partner's own admins get
/// the same 202 whether or not the address already has an account: the
/// link goes by e-mail only, and the owner of an address in use is told
/// instead, so that inviting cannot reveal who uses Trellis.
#[utoipa::path(post, path = "/api/v1/partners/{id}/users", tag = "users", request_body = InviteUser,
    params(("id" = String, Path, description = "Partner id")),
    responses(
        (status = 201, description = "Invited (vendor users)", body = Invitation),
        (status = 202, description = "Sent if the address can be invited (partner admins)", body = InvitationSent),
        Forbidden,
        NotFound,
        (status = 409, description = "E-mail already in use (vendor users)", body = Problem, content_type = "application/problem+json"),
        Invalid,
    ))]
pub async fn invite_partner_user(
    State(state): State<AppState>,
    caller: ApiUser,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<InviteUser>,
) -> ApiResult<Response> {
    let partner = crate::app::partners::visible(&state, &caller.principal, &id).await?;
    Ok(
        match app::invite_into_partner(&state, &caller.principal, &caller.actor, &partner, &body)
            .await?
        {
            Invited::Link(inv) => (StatusCode::CREATED, Json(inv)).into_response(),
            Invited::Sent(sent) => (StatusCode::ACCEPTED, Json(sent)).into_response(),
        },
    )
}

fn to_filter(q: &UserQuery) -> Result<UserFilter, FieldErrors> {
    let mut errs = FieldErrors::new();
    let role = q
        .role
        .as_deref()
        .filter(|r| !r.is_empty())
        .and_then(|r| errs.check(Role::parse("role", r)));
    errs.into_result()?;
    let (partner_id, vendor_only) = match q.partner_id.as_deref().filter(|p| !p.is_empty()) {
        Some("vendor") => (None, true),
        Some(p) => (Some(p.to_string()), false),
        None => (None, false),
    };
    Ok(UserFilter {
        partner_id,
        vendor_only,
        role,
        q: q.q.clone(),
        cursor: q.cursor.clone().filter(|c| !c.is_empty()),
        limit: q.limit,
    })
}

/// List all users.
///
/// Vendor admins only.
#[utoipa::path(get, path = "/api/v1/users", tag = "users", params(UserQuery),
    responses(
        (status = 200, body = UserPage),
        Forbidden,
    ))]
pub async fn list_users(
    State(state): State<AppState>,
    caller: ApiUser,
    ApiQuery(q): ApiQuery<UserQuery>,
) -> ApiResult<Json<UserPage>> {
    let (items, next_cursor) = app::list_all(&state, &caller.principal, &to_filter(&q)?).await?;
    Ok(Json(UserPage { items, next_cursor }))
}

/// Invite a vendor user (vendor admin or channel manager).
///
/// Vendor admins only.
#[utoipa::path(post, path = "/api/v1/users", tag = "users", request_body = InviteUser,
    responses(
        (status = 201, body = Invitation),
        Forbidden,
        Conflict,
        Invalid,
    ))]
pub async fn invite_vendor_user(
    State(state): State<AppState>,
    caller: ApiUser,
    ApiJson(body): ApiJson<InviteUser>,
) -> ApiResult<(StatusCode, Json<Invitation>)> {
    let inv = app::invite_vendor(&state, &caller.principal, &caller.actor, &body).await?;
    Ok((StatusCode::CREATED, Json(inv)))
}

/// Everything held about a person.
///
/// Vendor admins only (a token needs the `admin` scope; to partners every
/// id is unknown). One JSON document
/// of sections: account, sessions, API tokens (never secrets), invitations,
/// sign-in attempts, messages, partner applications, agreement acceptances,
/// deals registered, deal actions, partner stage changes, onboarding tasks
/// done, statement questions, sales imports and audit entries by or about
/// them. The export itself is recorded in the audit trail.
#[utoipa::path(get, path = "/api/v1/users/{id}/personal-data", tag = "users",
    params(("id" = String, Path, description = "User id")),
    responses(
        (status = 200, body = PersonalData),
        Forbidden,
        NotFound,
    ))]
pub async fn export_personal_data(
    State(state): State<AppState>,
    caller: ApiUser,
    Path(id): Path<String>,
) -> ApiResult<Json<PersonalData>> {
    let data = privacy::export(&state, &caller.principal, &caller.actor, &id).await?;
    Ok(Json(data))
}

/// Erase a person.
///
/// Vendor admins only (a token needs the `admin` scope; to partners every
/// id is unknown), never themselves,
/// never the last active vendor admin. In one transaction the person's
/// e-mail and name become a pseudonym, the account is disabled, their
/// sessions, invitations, unsent mail and tokens go, and every record of
/// what they did (deals, audit trail) stays with the pseudonym in their
/// place. Recorded in the audit trail. 409 when already erased.
#[utoipa::path(post, path = "/api/v1/users/{id}/erase", tag = "users",
    params(("id" = String, Path, description = "User id")),
    responses(
        (status = 200, body = Erasure),
        Forbidden,
        NotFound,
        Conflict,
    ))]
pub async fn erase_person(
    State(state): State<AppState>,
    caller: ApiUser,
    Path(id): Path<String>,
) -> ApiResult<Json<Erasure>> {
    let done = privacy::erase(&state, &caller.principal, &caller.actor, &id).await?;
    Ok(Json(done))
}
