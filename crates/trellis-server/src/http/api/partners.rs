//! Partner organisations over the API; the use cases are `app::partners`.

use crate::app::partners::{self as app, CreatePartner, UpdatePartner};
use crate::http::error::responses::{Conflict, Forbidden, Invalid, NotFound};
use crate::http::error::{ApiResult, Problem};
use crate::http::extract::{ApiJson, ApiQuery, ApiUser};
use crate::http::AppState;
use crate::store::partners::{Partner, PartnerFilter};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use trellis_core::org::PartnerStatus;
use trellis_core::{country, FieldErrors};
use utoipa::{IntoParams, ToSchema};

/// A page of partners.
#[derive(Serialize, ToSchema)]
pub struct PartnerPage {
    pub items: Vec<Partner>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

#[derive(Deserialize, IntoParams, Default)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PartnerQuery {
    /// Only partners in this status
    #[param(value_type = Option<PartnerStatus>)]
    pub status: Option<String>,
    /// Partner type label, e.g. `reseller`
    #[serde(rename = "type")]
    #[param(rename = "type")]
    pub partner_type: Option<String>,
    /// Region label, e.g. `dach`
    pub region: Option<String>,
    /// ISO 3166-1 alpha-2 country code
    pub country: Option<String>,
    /// Only partners managed by this vendor user
    pub channel_manager_id: Option<String>,
    /// Search in name and slug (case-insensitive)
    pub q: Option<String>,
    /// From `next_cursor` of the previous page (opaque)
    #[param(max_length = 512, pattern = "^[A-Za-z0-9_-]*$")]
    pub cursor: Option<String>,
    /// Page size, 1–200 (default 50)
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
}

fn non_empty(s: &Option<String>) -> Option<&str> {
    s.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

impl PartnerQuery {
    pub(crate) fn to_filter(&self) -> Result<PartnerFilter, FieldErrors> {
        let mut errs = FieldErrors::new();
        let status =
            non_empty(&self.status).and_then(|s| errs.check(PartnerStatus::parse("status", s)));
        let country =
            non_empty(&self.country).and_then(|c| errs.check(country::parse("country", c)));
        if let Some(l) = self.limit {
            if !(1..=200).contains(&l) {
                errs.push(trellis_core::FieldError::new(
                    "limit",
                    "out-of-range",
                    "limit must be between 1 and 200",
                ));
            }
        }
        errs.into_result()?;
        Ok(PartnerFilter {
            status,
            partner_type: non_empty(&self.partner_type).map(str::to_string),
            region: non_empty(&self.region).map(str::to_string),
            country: country.map(str::to_string),
            channel_manager_id: non_empty(&self.channel_manager_id).map(str::to_string),
            q: non_empty(&self.q).map(str::to_string),
            cursor: non_empty(&self.cursor).map(str::to_string),
            limit: self.limit,
        })
    }
}

/// List partners.
///
/// Vendor users see every partner; partner users see only their own organisation.
#[utoipa::path(get, path = "/api/v1/partners", tag = "partners", params(PartnerQuery),
    responses(
        (status = 200, body = PartnerPage),
        Invalid,
    ))]
pub async fn list_partners(
    State(state): State<AppState>,
    caller: ApiUser,
    ApiQuery(q): ApiQuery<PartnerQuery>,
) -> ApiResult<Json<PartnerPage>> {
    let (items, next_cursor) = app::list(&state, &caller.principal, &q.to_filter()?).await?;
    Ok(Json(PartnerPage { items, next_cursor }))
}

/// Create a partner.
///
/// Vendor admins and channel managers (who are assigned to what they create).
#[utoipa::path(post, path = "/api/v1/partners", tag = "partners", request_body = CreatePartner,
    responses(
        (status = 201, body = Partner),
        Forbidden,
        (status = 409, description = "Slug already taken", body = Problem, content_type = "application/problem+json"),
        Invalid,
    ))]
pub async fn create_partner(
    State(state): State<AppState>,
    caller: ApiUser,
    ApiJson(body): ApiJson<CreatePartner>,
) -> ApiResult<(StatusCode, Json<Partner>)> {
    let p = app::create(&state, &caller.principal, &caller.actor, &body).await?;
    Ok((StatusCode::CREATED, Json(p)))
}

/// Get a partner.
///
/// Vendor users: any partner. Partner users: only their own (others are 404).
#[utoipa::path(get, path = "/api/v1/partners/{id}", tag = "partners",
    params(("id" = String, Path, description = "Partner id")),
    responses(
        (status = 200, body = Partner),
        NotFound,
    ))]
pub async fn get_partner(
    State(state): State<AppState>,
    caller: ApiUser,
    Path(id): Path<String>,
) -> ApiResult<Json<Partner>> {
    Ok(Json(app::visible(&state, &caller.principal, &id).await?))
}

/// Update a partner.
///
/// Vendor admins: everything. Channel managers: partners assigned to them.
/// Partner admins: their own organisation's name, website, country and region.
#[utoipa::path(patch, path = "/api/v1/partners/{id}", tag = "partners", request_body = UpdatePartner,
    params(("id" = String, Path, description = "Partner id")),
    responses(
        (status = 200, body = Partner),
        Forbidden,
        NotFound,
        Conflict,
        Invalid,
    ))]
pub async fn update_partner(
    State(state): State<AppState>,
    caller: ApiUser,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<UpdatePartner>,
) -> ApiResult<Json<Partner>> {
    // Visibility first, so an invisible partner is 404 even for an invalid body.
    let p = app::visible(&state, &caller.principal, &id).await?;
    let patch = body.validate()?;
    Ok(Json(
        app::update(&state, &caller.principal, &caller.actor, p, patch).await?,
    ))
}
