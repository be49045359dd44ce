use super::double_option;
use crate::http::error::{ApiError, ApiResult, Problem};
use crate::http::extract::{ApiJson, ApiQuery, ApiUser};
use crate::http::AppState;
use crate::store::partners::{self, NewPartner, Partner, PartnerFilter, PartnerPatch};
use crate::store::Actor;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use trellis_core::access::Principal;
use trellis_core::org::{PartnerStatus, Role};
use trellis_core::validate::{self, Name, Slug};
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
    /// prospect, onboarding, active, suspended or terminated
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
    /// From `next_cursor` of the previous page
    pub cursor: Option<String>,
    /// Page size, 1–200 (default 50)
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

/// A partner to create.
#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct CreatePartner {
    /// Organisation name, 1–200 characters.
    pub name: String,
    /// Unique URL-safe id; derived from the name when absent.
    pub slug: Option<String>,
    /// Partner type label such as `reseller`, `msp`, `referral`.
    pub partner_type: String,
    /// Region label such as `dach` or `north-america`.
    pub region: String,
    /// ISO 3166-1 alpha-2 country code.
    pub country: String,
    /// Defaults to `prospect`.
    pub status: Option<String>,
    pub website: Option<String>,
    /// Vendor user responsible for the partner. A channel manager creating a
    /// partner is assigned by default.
    pub channel_manager_id: Option<String>,
}

impl CreatePartner {
    /// Validates every field at once and applies the caller's defaults.
    pub(crate) fn validate(&self, caller: &Principal) -> Result<NewPartner, FieldErrors> {
        let mut errs = FieldErrors::new();
        let name = errs.check(Name::parse("name", &self.name, 200));
        let slug = match non_empty(&self.slug) {
            Some(s) => errs
                .check(Slug::parse("slug", s))
                .map(|s| s.as_str().to_string()),
            None => {
                let s = Slug::suggest(&self.name);
                if s.len() >= 2 {
                    Some(s)
                } else if name.is_none() {
                    // The name's own error says it all.
                    None
                } else {
                    errs.push(trellis_core::FieldError::new(
                        "slug",
                        "required",
                        "slug is required when it cannot be derived from the name",
                    ));
                    None
                }
            }
        };
        let partner_type = errs.check(validate::label("partner_type", &self.partner_type));
        let region = errs.check(validate::label("region", &self.region));
        let country = errs.check(country::parse("country", &self.country));
        let status = match non_empty(&self.status) {
            Some(s) => errs.check(PartnerStatus::parse("status", s)),
            None => Some(PartnerStatus::Prospect),
        };
        let website = errs
            .check(validate::website(
                "website",
                self.website.as_deref().unwrap_or(""),
            ))
            .flatten();
        let mut channel_manager_id = non_empty(&self.channel_manager_id).map(str::to_string);
        if caller.role == Role::ChannelManager {
            match &channel_manager_id {
                None => channel_manager_id = Some(caller.user_id.clone()),
                Some(m) if *m != caller.user_id => errs.push(trellis_core::FieldError::new(
                    "channel_manager_id",
                    "forbidden",
                    "a channel manager can only assign partners to themselves",
                )),
                Some(_) => {}
            }
        }
        errs.into_result()?;
        let (Some(name), Some(slug), Some(partner_type), Some(region), Some(country), Some(status)) =
            (name, slug, partner_type, region, country, status)
        else {
            unreachable!("every None recorded an error");
        };
        Ok(NewPartner {
            slug,
            name: name.into_string(),
            partner_type,
            region,
            country: country.to_string(),
            status,
            website,
            channel_manager_id,
        })
    }
}

/// Changes to a partner; absent fields stay as they are, `null` clears
/// `website` and `channel_manager_id`. Partner admins may change name,
/// website, country and region; status, type, slug and manager are for the
/// vendor.
#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct UpdatePartner {
    pub name: Option<String>,
    pub slug: Option<String>,
    pub partner_type: Option<String>,
    pub region: Option<String>,
    pub country: Option<String>,
    pub status: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub website: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub channel_manager_id: Option<Option<String>>,
}

impl UpdatePartner {
    pub(crate) fn validate(&self) -> Result<PartnerPatch, FieldErrors> {
        let mut errs = FieldErrors::new();
        let patch = PartnerPatch {
            name: self
                .name
                .as_deref()
                .and_then(|n| errs.check(Name::parse("name", n, 200)))
                .map(Name::into_string),
            slug: self
                .slug
                .as_deref()
                .and_then(|s| errs.check(Slug::parse("slug", s)))
                .map(|s| s.as_str().to_string()),
            partner_type: self
                .partner_type
                .as_deref()
                .and_then(|t| errs.check(validate::label("partner_type", t))),
            region: self
                .region
                .as_deref()
                .and_then(|r| errs.check(validate::label("region", r))),
            country: self
                .country
                .as_deref()
                .and_then(|c| errs.check(country::parse("country", c)))
                .map(str::to_string),
            status: self
                .status
                .as_deref()
                .and_then(|s| errs.check(PartnerStatus::parse("status", s))),
            website: match &self.website {
                None => None,
                Some(None) => Some(None),
                Some(Some(w)) => errs.check(validate::website("website", w)),
            },
            channel_manager_id: self
                .channel_manager_id
                .clone()
                .map(|m| m.filter(|s| !s.trim().is_empty())),
        };
        errs.into_result()?;
        Ok(patch)
    }
}

/// Loads a partner the caller may see; anything else is "not found".
pub(crate) async fn visible_partner(
    state: &AppState,
    caller: &Principal,
    id: &str,
) -> ApiResult<Partner> {
    match partners::get(&state.db, id).await? {
        Some(p) if caller.can_read_partner(p.as_ref()) => Ok(p),
        _ => Err(ApiError::NotFound("partner")),
    }
}

/// Applies a validated patch to a partner the caller can see (see
/// [`visible_partner`]), after checking what the caller may change.
pub(crate) async fn apply_update(
    state: &AppState,
    who: &Principal,
    actor: &Actor,
    p: Partner,
    patch: PartnerPatch,
) -> ApiResult<Partner> {
    if patch.touches_managed_fields() && !who.can_manage_partner(p.as_ref()) {
        return Err(ApiError::Forbidden(
            "status, type, slug and channel manager can be changed only by a vendor admin or the partner's channel manager".into(),
        ));
    }
    if !who.can_edit_partner_profile(p.as_ref()) && !who.can_manage_partner(p.as_ref()) {
        return Err(ApiError::Forbidden("you cannot change this partner".into()));
    }
    if who.role == Role::ChannelManager {
        if let Some(Some(m)) = &patch.channel_manager_id {
            if *m != who.user_id {
                return Err(ApiError::field(
                    "channel_manager_id",
                    "forbidden",
                    "a channel manager can hand a partner over only by unassigning it; ask a vendor admin to reassign",
                ));
            }
        }
    }
    if patch.is_empty() {
        return Ok(p);
    }
    Ok(partners::update(&state.db, actor, &p.id, patch).await?)
}

/// List partners.
///
/// Vendor users see every partner; partner users see only their own organisation.
#[utoipa::path(get, path = "/api/v1/partners", tag = "partners", params(PartnerQuery),
    responses(
        (status = 200, body = PartnerPage),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list_partners(
    State(state): State<AppState>,
    caller: ApiUser,
    ApiQuery(q): ApiQuery<PartnerQuery>,
) -> ApiResult<Json<PartnerPage>> {
    let filter = q.to_filter()?;
    let (items, next_cursor) =
        partners::list(&state.db, &caller.principal.partner_scope(), &filter).await?;
    Ok(Json(PartnerPage { items, next_cursor }))
}

/// Create a partner.
///
/// Vendor admins and channel managers (who are assigned to what they create).
#[utoipa::path(post, path = "/api/v1/partners", tag = "partners", request_body = CreatePartner,
    responses(
        (status = 201, body = Partner),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Slug already taken", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create_partner(
    State(state): State<AppState>,
    caller: ApiUser,
    ApiJson(body): ApiJson<CreatePartner>,
) -> ApiResult<(StatusCode, Json<Partner>)> {
    if !caller.principal.can_create_partner() {
        return Err(ApiError::Forbidden(
            "only vendor users can create partners".into(),
        ));
    }
    let new = body.validate(&caller.principal)?;
    let p = partners::create(&state.db, &caller.actor, new).await?;
    Ok((StatusCode::CREATED, Json(p)))
}

/// Get a partner.
///
/// Vendor users: any partner. Partner users: only their own (others are 404).
#[utoipa::path(get, path = "/api/v1/partners/{id}", tag = "partners",
    params(("id" = String, Path, description = "Partner id")),
    responses(
        (status = 200, body = Partner),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_partner(
    State(state): State<AppState>,
    caller: ApiUser,
    Path(id): Path<String>,
) -> ApiResult<Json<Partner>> {
    Ok(Json(visible_partner(&state, &caller.principal, &id).await?))
}

/// Update a partner.
///
/// Vendor admins: everything. Channel managers: partners assigned to them.
/// Partner admins: their own organisation's name, website, country and region.
#[utoipa::path(patch, path = "/api/v1/partners/{id}", tag = "partners", request_body = UpdatePartner,
    params(("id" = String, Path, description = "Partner id")),
    responses(
        (status = 200, body = Partner),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn update_partner(
    State(state): State<AppState>,
    caller: ApiUser,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<UpdatePartner>,
) -> ApiResult<Json<Partner>> {
    // Visibility first, so an invisible partner is 404 even for an invalid body.
    let p = visible_partner(&state, &caller.principal, &id).await?;
    let patch = body.validate()?;
    Ok(Json(
        apply_update(&state, &caller.principal, &caller.actor, p, patch).await?,
    ))
}
