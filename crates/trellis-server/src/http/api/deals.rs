//! Deal registration over the API: register (with conflict detection and the
//! rules of engagement), list, read, act on; the dry-run conflict check; the
//! vendor's accounts. The use cases are `app::deals`.

use crate::app::deals::{
    self as app, CheckCustomer, CheckResult, DealDetail, DealWithConflicts, Transition,
};
use crate::http::error::responses::{Forbidden, Invalid, NotFound};
use crate::http::error::{ApiError, ApiResult, Problem};
use crate::http::extract::{ApiJson, ApiQuery, ApiUser};
use crate::http::AppState;
use crate::store::accounts::Account;
use crate::store::deals::{Deal, DealFilter};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use trellis_core::accounts::AccountInput;
use trellis_core::deals::{Registration, Status};
use trellis_core::{FieldError, FieldErrors};
use utoipa::{IntoParams, ToSchema};

fn text(s: &Option<String>) -> Option<String> {
    trellis_core::validate::non_empty(s)
}

/// Register a deal.
///
/// Partner users register for their organisation; vendor users give
/// `partner_id`. Submitting checks for conflicts and applies the rules of
/// engagement (auto-approval, first-come precedence, house accounts); the
/// decision and the rule that made it are on the deal.
#[utoipa::path(post, path = "/api/v1/deals", tag = "deals", request_body = Registration,
    responses(
        (status = 201, body = DealWithConflicts),
        Forbidden,
        Invalid,
    ))]
pub async fn register_deal(
    State(state): State<AppState>,
    caller: ApiUser,
    ApiJson(body): ApiJson<Registration>,
) -> ApiResult<(StatusCode, Json<DealWithConflicts>)> {
    Ok((
        StatusCode::CREATED,
        Json(app::register(&state, &caller.principal, &caller.actor, &body).await?),
    ))
}

#[derive(Deserialize, IntoParams, Default)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DealQuery {
    /// Only deals in this status
    #[param(value_type = Option<Status>)]
    pub status: Option<String>,
    /// Vendor users: one partner's deals
    pub partner_id: Option<String>,
    /// Search in the customer name
    pub q: Option<String>,
    /// The approval queue (submitted and more-info), longest waiting first
    pub queue: Option<bool>,
    /// From `next_cursor` of the previous page (opaque)
    #[param(max_length = 512, pattern = "^[A-Za-z0-9_-]*$")]
    pub cursor: Option<String>,
    /// 1–200 (default 50)
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct DealPage {
    pub items: Vec<Deal>,
    pub next_cursor: Option<String>,
}

impl DealQuery {
    /// The filter asked for; `app::deals::list` narrows it to what the caller may see.
    pub(crate) fn to_filter(&self) -> Result<DealFilter, FieldErrors> {
        let mut errs = FieldErrors::new();
        let status = text(&self.status).and_then(|s| errs.check(Status::parse("status", &s)));
        if let Some(l) = self.limit {
            if !(1..=200).contains(&l) {
                errs.push(FieldError::new(
                    "limit",
                    "out-of-range",
                    "limit must be between 1 and 200",
                ));
            }
        }
        errs.into_result()?;
        Ok(DealFilter {
            partner_id: text(&self.partner_id),
            status,
            q: text(&self.q),
            queue: self.queue.unwrap_or(false),
            cursor: text(&self.cursor),
            limit: self.limit,
        })
    }
}

/// List deals.
///
/// Partner users: their organisation's. Vendor users: all, or the approval
/// queue with `queue=true`.
#[utoipa::path(get, path = "/api/v1/deals", tag = "deals", params(DealQuery),
    responses(
        (status = 200, body = DealPage),
        Invalid,
    ))]
pub async fn list_deals(
    State(state): State<AppState>,
    caller: ApiUser,
    ApiQuery(q): ApiQuery<DealQuery>,
) -> ApiResult<Json<DealPage>> {
    let (items, next_cursor) = app::list(&state, &caller.principal, q.to_filter()?).await?;
    Ok(Json(DealPage { items, next_cursor }))
}

/// Get a deal with its history and conflict candidates.
#[utoipa::path(get, path = "/api/v1/deals/{id}", tag = "deals",
    params(("id" = String, Path, description = "Deal id")),
    responses(
        (status = 200, body = DealDetail),
        NotFound,
    ))]
pub async fn get_deal(
    State(state): State<AppState>,
    caller: ApiUser,
    Path(id): Path<String>,
) -> ApiResult<Json<DealDetail>> {
    let d = app::visible(&state, &caller.principal, &id).await?;
    Ok(Json(app::detail(&state, &caller.principal, d).await?))
}

/// Act on a deal: submit, approve, reject, request-info, win, lose,
/// request-extension, approve-extension.
///
/// Vendor decisions (approve, reject, request-info, approve-extension) need a
/// reason and are for the partner's channel manager or a vendor admin. Every
/// action is audited, recorded in the deal's history and notified.
#[utoipa::path(post, path = "/api/v1/deals/{id}/transitions", tag = "deals", request_body = Transition,
    params(("id" = String, Path, description = "Deal id")),
    responses(
        (status = 200, body = Deal),
        Forbidden,
        NotFound,
        (status = 409, description = "Not possible in the deal's status", body = Problem, content_type = "application/problem+json"),
        Invalid,
    ))]
pub async fn transition_deal(
    State(state): State<AppState>,
    caller: ApiUser,
    Path(id): Path<String>,
    body: Result<ApiJson<Transition>, ApiError>,
) -> ApiResult<Json<Deal>> {
    let d = app::visible(&state, &caller.principal, &id).await?;
    let ApiJson(t) = body?;
    Ok(Json(
        app::transition(&state, &caller.principal, &caller.actor, &d, &t).await?,
    ))
}

/// Check a customer for conflicts without registering anything.
///
/// Candidates are registrations and the vendor's accounts, each with a kind,
/// a score in [0, 1] and reasons. Partners see no identity or deal details of
/// others (and nothing at all when their program's rules say so).
#[utoipa::path(post, path = "/api/v1/conflicts/check", tag = "deals", request_body = CheckCustomer,
    responses(
        (status = 200, body = CheckResult),
        Invalid,
    ))]
pub async fn check_conflicts(
    State(state): State<AppState>,
    caller: ApiUser,
    ApiJson(body): ApiJson<CheckCustomer>,
) -> ApiResult<Json<CheckResult>> {
    Ok(Json(app::check(&state, &caller.principal, &body).await?))
}

/// Add or update one of the vendor's accounts (vendor admins).
///
/// With `external_id`, an existing account with that id is updated; without
/// one, an account without one of the same name (in any letter case) in the
/// same country is, so sending the same account twice adds nothing.
#[utoipa::path(post, path = "/api/v1/accounts", tag = "deals", request_body = AccountInput,
    responses(
        (status = 200, body = Account),
        Forbidden,
        Invalid,
    ))]
pub async fn upsert_account(
    State(state): State<AppState>,
    caller: ApiUser,
    ApiJson(body): ApiJson<AccountInput>,
) -> ApiResult<Json<Account>> {
    Ok(Json(
        app::upsert_account(&state, &caller.principal, &caller.actor, &body).await?,
    ))
}

#[derive(Deserialize, IntoParams, Default)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AccountQuery {
    pub q: Option<String>,
    /// From `next_cursor` of the previous page (opaque)
    #[param(max_length = 512, pattern = "^[A-Za-z0-9_-]*$")]
    pub cursor: Option<String>,
    /// Page size, 1–200 (default 50)
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct AccountPage {
    pub items: Vec<Account>,
    pub next_cursor: Option<String>,
}

/// List the vendor's accounts (vendor users).
#[utoipa::path(get, path = "/api/v1/accounts", tag = "deals", params(AccountQuery),
    responses(
        (status = 200, body = AccountPage),
        Forbidden,
    ))]
pub async fn list_accounts(
    State(state): State<AppState>,
    caller: ApiUser,
    ApiQuery(q): ApiQuery<AccountQuery>,
) -> ApiResult<Json<AccountPage>> {
    let (items, next_cursor) = app::list_accounts(
        &state,
        &caller.principal,
        q.q.as_deref(),
        q.cursor.as_deref(),
        q.limit,
    )
    .await?;
    Ok(Json(AccountPage { items, next_cursor }))
}
