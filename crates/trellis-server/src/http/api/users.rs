use super::partners::visible_partner;
use crate::http::error::{ApiError, ApiResult, Problem};
use crate::http::extract::{ApiJson, ApiQuery, ApiUser};
use crate::http::AppState;
use crate::store::partners::Partner;
use crate::store::users::{self, NewUser, User, UserFilter};
use crate::store::Actor;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use trellis_core::access::Principal;
use trellis_core::org::Role;
use trellis_core::validate::{Email, Name};
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
    pub role: Option<String>,
    /// Only users of this partner (vendor only; `vendor` for vendor users)
    pub partner_id: Option<String>,
    /// Search in e-mail
    pub q: Option<String>,
    pub cursor: Option<String>,
    /// Page size, 1–200 (default 50)
    pub limit: Option<i64>,
}

/// Someone to invite. They get a single-use link to set their password.
#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct InviteUser {
    pub email: String,
    pub name: String,
    /// For a partner: `partner-admin` or `partner-user`. For the vendor:
    /// `vendor-admin` or `channel-manager`.
    pub role: String,
}

/// The invited user and the link that lets them set a password. The link is
/// shown only in this response; it expires after 72 hours and works once.
#[derive(Serialize, ToSchema)]
pub struct Invitation {
    pub user: User,
    pub invite_url: String,
}

impl InviteUser {
    pub(crate) fn validate(&self, partner_id: Option<&str>) -> Result<NewUser, FieldErrors> {
        let mut errs = FieldErrors::new();
        let email = errs.check(Email::parse("email", &self.email));
        let name = errs.check(Name::parse("name", &self.name, 120));
        let role = errs.check(Role::parse("role", &self.role));
        if let Some(r) = role {
            if r.is_partner() != partner_id.is_some() {
                errs.push(trellis_core::FieldError::new(
                    "role",
                    "invalid-value",
                    if partner_id.is_some() {
                        "role must be partner-admin or partner-user for a partner's user"
                    } else {
                        "role must be vendor-admin or channel-manager for a vendor user"
                    },
                ));
            }
        }
        errs.into_result()?;
        let (Some(email), Some(name), Some(role)) = (email, name, role) else {
            unreachable!("every None recorded an error");
        };
        Ok(NewUser {
            email: email.as_str().to_string(),
            name: name.into_string(),
            role,
            partner_id: partner_id.map(str::to_string),
            password_hash: None,
        })
    }
}

/// Invites a user into a partner the caller can see (see [`visible_partner`]),
/// after the policy check; shared with the portal.
pub(crate) async fn invite_into_partner(
    state: &AppState,
    who: &Principal,
    actor: &Actor,
    partner: &Partner,
    body: &InviteUser,
) -> ApiResult<Invitation> {
    let new = body.validate(Some(&partner.id))?;
    if !who.can_invite(partner.as_ref(), new.role) {
        return Err(ApiError::Forbidden(
            "you cannot invite users into this partner".into(),
        ));
    }
    let (user, token) = users::invite(&state.db, actor, new).await?;
    Ok(Invitation {
        user,
        invite_url: crate::mail::invite_url(&state.config.public_url(), &token),
    })
}

/// Invites a vendor user after the policy check; shared with the portal.
pub(crate) async fn invite_vendor(
    state: &AppState,
    who: &Principal,
    actor: &Actor,
    body: &InviteUser,
) -> ApiResult<Invitation> {
    if !who.can_manage_vendor_users() {
        return Err(ApiError::Forbidden(
            "only vendor admins can invite vendor users".into(),
        ));
    }
    let new = body.validate(None)?;
    let (user, token) = users::invite(&state.db, actor, new).await?;
    Ok(Invitation {
        user,
        invite_url: crate::mail::invite_url(&state.config.public_url(), &token),
    })
}

/// List a partner's users.
///
/// Vendor users: any partner. Partner users: their own organisation only (others are 404).
#[utoipa::path(get, path = "/api/v1/partners/{id}/users", tag = "users",
    params(("id" = String, Path, description = "Partner id"), UserQuery),
    responses(
        (status = 200, body = UserPage),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list_partner_users(
    State(state): State<AppState>,
    caller: ApiUser,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<UserQuery>,
) -> ApiResult<Json<UserPage>> {
    let partner = visible_partner(&state, &caller.principal, &id).await?;
    let mut filter = to_filter(&q)?;
    filter.partner_id = Some(partner.id);
    filter.vendor_only = false;
    let (items, next_cursor) = users::list(&state.db, &filter).await?;
    Ok(Json(UserPage { items, next_cursor }))
}

/// Invite a user into a partner.
///
/// Vendor admins; the partner's channel manager; the partner's own admins.
#[utoipa::path(post, path = "/api/v1/partners/{id}/users", tag = "users", request_body = InviteUser,
    params(("id" = String, Path, description = "Partner id")),
    responses(
        (status = 201, body = Invitation),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "E-mail already in use", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn invite_partner_user(
    State(state): State<AppState>,
    caller: ApiUser,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<InviteUser>,
) -> ApiResult<(StatusCode, Json<Invitation>)> {
    let partner = visible_partner(&state, &caller.principal, &id).await?;
    let inv =
        invite_into_partner(&state, &caller.principal, &caller.actor, &partner, &body).await?;
    Ok((StatusCode::CREATED, Json(inv)))
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
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list_users(
    State(state): State<AppState>,
    caller: ApiUser,
    ApiQuery(q): ApiQuery<UserQuery>,
) -> ApiResult<Json<UserPage>> {
    if !caller.principal.can_manage_vendor_users() {
        return Err(ApiError::Forbidden(
            "only vendor admins can list all users".into(),
        ));
    }
    let (items, next_cursor) = users::list(&state.db, &to_filter(&q)?).await?;
    Ok(Json(UserPage { items, next_cursor }))
}

/// Invite a vendor user (vendor admin or channel manager).
///
/// Vendor admins only.
#[utoipa::path(post, path = "/api/v1/users", tag = "users", request_body = InviteUser,
    responses(
        (status = 201, body = Invitation),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn invite_vendor_user(
    State(state): State<AppState>,
    caller: ApiUser,
    ApiJson(body): ApiJson<InviteUser>,
) -> ApiResult<(StatusCode, Json<Invitation>)> {
    let inv = invite_vendor(&state, &caller.principal, &caller.actor, &body).await?;
    Ok((StatusCode::CREATED, Json(inv)))
}
