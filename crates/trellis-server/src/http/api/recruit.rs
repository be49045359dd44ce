//! Recruiting and onboarding over the API: applications (submitted without
//! an account, reviewed by vendor users), the partner's onboarding checklist
//! and lifecycle stage, and partner agreements with their acceptances.

use crate::app::agreements::{self, NewAgreement};
use crate::app::onboarding;
use crate::app::partners;
use crate::app::recruit::{self, DecisionOutcome, DecisionRequest};
use crate::http::error::responses::{Conflict, Forbidden, Invalid, NotFound, TooMany};
use crate::http::error::ApiResult;
use crate::http::extract::{ApiJson, ApiUser};
use crate::http::AppState;
use crate::store::agreements::{Acceptance, Agreement};
use crate::store::applications::ApplicationRecord;
use crate::store::onboarding::Onboarding;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use trellis_core::recruit::ApplicationInput;
use utoipa::ToSchema;

/// What the applicant learns: that it arrived.
#[derive(Serialize, ToSchema)]
pub struct Applied {
    pub id: String,
    pub status: String,
}

/// Apply to become a partner (no authentication).
///
/// The same checks as the public page: at most 5 applications per address
/// per hour (429), one open application per company domain (409), fields
/// named in 422 problems. The applicant gets a confirmation e-mail.
#[utoipa::path(post, path = "/api/v1/applications", tag = "recruiting", request_body = ApplicationInput,
    security(()),
    responses(
        (status = 201, body = Applied),
        NotFound,
        Conflict,
        Invalid,
        TooMany,
    ))]
pub async fn apply(
    State(state): State<AppState>,
    headers: HeaderMap,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    ApiJson(body): ApiJson<ApplicationInput>,
) -> ApiResult<(StatusCode, Json<Applied>)> {
    let ip = crate::http::portal::login::client_ip(&state, &headers, peer);
    let rec = recruit::apply(&state, &body, &ip).await?;
    Ok((
        StatusCode::CREATED,
        Json(Applied {
            id: rec.id,
            status: rec.status,
        }),
    ))
}

/// The applications: open ones first, oldest first (vendor users).
#[utoipa::path(get, path = "/api/v1/applications", tag = "recruiting",
    responses(
        (status = 200, body = Vec<ApplicationRecord>),
        NotFound,
    ))]
pub async fn list_applications(
    State(state): State<AppState>,
    caller: ApiUser,
) -> ApiResult<Json<Vec<ApplicationRecord>>> {
    Ok(Json(recruit::list(&state, &caller.principal, None).await?))
}

/// One application with its profile fit (per criterion) and possible duplicates.
#[utoipa::path(get, path = "/api/v1/applications/{id}", tag = "recruiting",
    params(("id" = String, Path, description = "Application id")),
    responses(
        (status = 200, body = ApplicationRecord),
        NotFound,
    ))]
pub async fn get_application(
    State(state): State<AppState>,
    caller: ApiUser,
    Path(id): Path<String>,
) -> ApiResult<Json<ApplicationRecord>> {
    Ok(Json(recruit::get(&state, &caller.principal, &id).await?))
}

/// Approve, reject or ask for more information (vendor users).
///
/// Approval creates the partner (stage formation, status onboarding) with
/// its channel manager, enrolls it in the program with its first segment,
/// starts the program's onboarding checklist for its type and invites the
/// contact as partner admin by e-mail, in one transaction.
#[utoipa::path(post, path = "/api/v1/applications/{id}/decision", tag = "recruiting",
    request_body = DecisionRequest,
    params(("id" = String, Path, description = "Application id")),
    responses(
        (status = 200, body = DecisionOutcome),
        NotFound,
        Conflict,
        Invalid,
    ))]
pub async fn decide_application(
    State(state): State<AppState>,
    caller: ApiUser,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<DecisionRequest>,
) -> ApiResult<Json<DecisionOutcome>> {
    // Reviewers only: others learn nothing of applications, whatever they send.
    recruit::get(&state, &caller.principal, &id).await?;
    let decision = body.decision()?;
    Ok(Json(
        recruit::decide(&state, &caller.principal, &caller.actor, &id, decision).await?,
    ))
}

/// A partner's onboarding checklist, progress, lifecycle stage and its history.
///
/// Partner users: their own organisation. Vendor users: any partner.
#[utoipa::path(get, path = "/api/v1/partners/{id}/onboarding", tag = "recruiting",
    params(("id" = String, Path, description = "Partner id")),
    responses(
        (status = 200, body = Onboarding),
        NotFound,
    ))]
pub async fn get_onboarding(
    State(state): State<AppState>,
    caller: ApiUser,
    Path(id): Path<String>,
) -> ApiResult<Json<Onboarding>> {
    let partner = partners::visible(&state, &caller.principal, &id).await?;
    Ok(Json(onboarding::get(&state, &partner.id).await?))
}

/// Ticking a task by hand.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TaskRequest {
    pub done: bool,
}

/// Tick (or reopen) an onboarding task: the partner's channel manager, a
/// vendor admin, or the partner's admin. A completed checklist moves the
/// partnership from formation to enablement.
#[utoipa::path(put, path = "/api/v1/partners/{id}/onboarding/{task}", tag = "recruiting",
    request_body = TaskRequest,
    params(("id" = String, Path, description = "Partner id"), ("task" = String, Path, description = "Task id")),
    responses(
        (status = 200, body = Onboarding),
        Forbidden,
        NotFound,
    ))]
pub async fn set_task(
    State(state): State<AppState>,
    caller: ApiUser,
    Path((id, task)): Path<(String, String)>,
    ApiJson(body): ApiJson<TaskRequest>,
) -> ApiResult<Json<Onboarding>> {
    let partner = partners::visible(&state, &caller.principal, &id).await?;
    onboarding::tick(
        &state,
        &caller.principal,
        &caller.actor,
        &partner,
        &task,
        body.done,
    )
    .await?;
    Ok(Json(onboarding::get(&state, &partner.id).await?))
}

/// A move to another lifecycle stage.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StageRequest {
    /// formation, enablement, performing, renewal, suspended or terminated.
    pub stage: String,
    pub reason: String,
}

/// Move a partnership to another stage, with a reason (vendor admins and
/// the partner's channel manager). Only the lifecycle's edges are allowed.
#[utoipa::path(post, path = "/api/v1/partners/{id}/stage", tag = "recruiting",
    request_body = StageRequest,
    params(("id" = String, Path, description = "Partner id")),
    responses(
        (status = 200, body = Onboarding),
        Forbidden,
        NotFound,
        Conflict,
        Invalid,
    ))]
pub async fn move_stage(
    State(state): State<AppState>,
    caller: ApiUser,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<StageRequest>,
) -> ApiResult<Json<Onboarding>> {
    let partner = partners::visible(&state, &caller.principal, &id).await?;
    onboarding::move_stage(
        &state,
        &caller.principal,
        &caller.actor,
        &partner,
        &body.stage,
        &body.reason,
    )
    .await?;
    Ok(Json(onboarding::get(&state, &partner.id).await?))
}

/// Every agreement version (vendor users); a partner user sees the versions
/// for its partner's type.
#[utoipa::path(get, path = "/api/v1/agreements", tag = "recruiting",
    responses(
        (status = 200, body = Vec<Agreement>),
    ))]
pub async fn list_agreements(
    State(state): State<AppState>,
    caller: ApiUser,
) -> ApiResult<Json<Vec<Agreement>>> {
    Ok(Json(agreements::visible(&state, &caller.principal).await?))
}

/// Publish a new version of an agreement (vendor admins). Partners of the
/// type must accept it again.
#[utoipa::path(post, path = "/api/v1/agreements", tag = "recruiting", request_body = NewAgreement,
    responses(
        (status = 201, body = Agreement),
        Forbidden,
        Invalid,
    ))]
pub async fn create_agreement(
    State(state): State<AppState>,
    caller: ApiUser,
    ApiJson(body): ApiJson<NewAgreement>,
) -> ApiResult<(StatusCode, Json<Agreement>)> {
    let a = agreements::create(&state, &caller.principal, &caller.actor, &body).await?;
    Ok((StatusCode::CREATED, Json(a)))
}

/// Accept the current agreement for the caller's partner (partner admins).
///
/// Records the user, the time, the caller's address and the hash of the
/// accepted text. An older version answers 409.
#[utoipa::path(post, path = "/api/v1/agreements/{id}/accept", tag = "recruiting",
    params(("id" = String, Path, description = "Agreement version id")),
    responses(
        (status = 201, body = Acceptance),
        Forbidden,
        NotFound,
        Conflict,
    ))]
pub async fn accept_agreement(
    State(state): State<AppState>,
    caller: ApiUser,
    headers: HeaderMap,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(id): Path<String>,
) -> ApiResult<(StatusCode, Json<Acceptance>)> {
    let partner = partners::own(
        &state,
        &caller.principal,
        "agreements are accepted by a partner's admin",
    )
    .await?;
    let ip = crate::http::portal::login::client_ip(&state, &headers, peer);
    let acc =
        agreements::accept(&state, &caller.principal, &caller.actor, &partner, &id, &ip).await?;
    Ok((StatusCode::CREATED, Json(acc)))
}
