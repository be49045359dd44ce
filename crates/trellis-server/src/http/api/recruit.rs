//! Recruiting and onboarding over the API: applications (submitted without
//! an account, reviewed by vendor users), the partner's onboarding checklist
//! and lifecycle stage, and partner agreements with their acceptances.

use crate::http::api::partners::visible_partner;
use crate::http::api::programs::published_program;
use crate::http::error::{ApiError, ApiResult, Problem};
use crate::http::extract::{ApiJson, ApiUser};
use crate::http::AppState;
use crate::store::agreements::{self, Acceptance, Agreement};
use crate::store::applications::{self, ApplicationRecord, Decided, Decision};
use crate::store::onboarding::{self, Onboarding};
use crate::store::{Actor, StoreError};
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use trellis_core::recruit::ApplicationInput;
use utoipa::ToSchema;

/// Decides an application with the program it followed (if still published).
pub(crate) async fn decide_with_program(
    state: &AppState,
    actor: &Actor,
    id: &str,
    decision: Decision,
) -> Result<Decided, StoreError> {
    let rec = applications::get(&state.db, id)
        .await?
        .ok_or(StoreError::NotFound("application"))?;
    let program = match &rec.program {
        Some(slug) => match published_program(state, slug).await {
            Ok((_, p)) => Some(p),
            Err(ApiError::NotFound(_)) => None,
            Err(e) => return Err(StoreError::Internal(format!("{e:?}"))),
        },
        None => None,
    };
    applications::decide(&state.db, actor, id, decision, program.as_ref()).await
}

/// An application to become a partner.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApplyRequest {
    /// The published program applied to (`[program].id`).
    pub program: String,
    pub company: String,
    /// Web domain or URL of the company (not a webmail domain).
    pub domain: String,
    /// ISO 3166-1 alpha-2.
    pub country: String,
    /// Number of employees.
    pub employees: String,
    /// A partner type of the program.
    pub partner_type: String,
    #[serde(default)]
    pub capabilities: Vec<String>,
    #[serde(default)]
    pub industries: Vec<String>,
    #[serde(default)]
    pub certifications: Vec<String>,
    /// Segment ids of the program the company targets.
    #[serde(default)]
    pub segments: Vec<String>,
    #[serde(default)]
    pub references: String,
    pub contact_name: String,
    pub contact_email: String,
}

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
#[utoipa::path(post, path = "/api/v1/applications", tag = "recruiting", request_body = ApplyRequest,
    security(()),
    responses(
        (status = 201, body = Applied),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 429, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn apply(
    State(state): State<AppState>,
    headers: HeaderMap,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    ApiJson(body): ApiJson<ApplyRequest>,
) -> ApiResult<(StatusCode, Json<Applied>)> {
    let (_, program) = published_program(&state, body.program.trim()).await?;
    let ip = crate::http::portal::login::client_ip(&state, &headers, peer);
    let input = ApplicationInput {
        company: body.company,
        domain: body.domain,
        country: body.country,
        employees: body.employees,
        partner_type: body.partner_type,
        capabilities: body.capabilities,
        industries: body.industries,
        certifications: body.certifications,
        segments: body.segments,
        references: body.references,
        contact_name: body.contact_name,
        contact_email: body.contact_email,
    };
    let rec =
        match applications::apply(&state.db, body.program.trim(), &program, &input, &ip).await? {
            applications::Outcome::Submitted(rec) => rec,
            applications::Outcome::TooMany => {
                return Err(ApiError::TooManyRequests { retry_after: 3600 })
            }
        };
    Ok((
        StatusCode::CREATED,
        Json(Applied {
            id: rec.id,
            status: rec.status,
        }),
    ))
}

fn reviewers_only(caller: &ApiUser) -> ApiResult<()> {
    if caller.principal.can_review_applications() {
        Ok(())
    } else {
        Err(ApiError::NotFound("application"))
    }
}

/// The applications: open ones first, oldest first (vendor users).
#[utoipa::path(get, path = "/api/v1/applications", tag = "recruiting",
    responses(
        (status = 200, body = Vec<ApplicationRecord>),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list_applications(
    State(state): State<AppState>,
    caller: ApiUser,
) -> ApiResult<Json<Vec<ApplicationRecord>>> {
    reviewers_only(&caller)?;
    Ok(Json(applications::list(&state.db, None).await?))
}

/// One application with its profile fit (per criterion) and possible duplicates.
#[utoipa::path(get, path = "/api/v1/applications/{id}", tag = "recruiting",
    params(("id" = String, Path, description = "Application id")),
    responses(
        (status = 200, body = ApplicationRecord),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_application(
    State(state): State<AppState>,
    caller: ApiUser,
    Path(id): Path<String>,
) -> ApiResult<Json<ApplicationRecord>> {
    reviewers_only(&caller)?;
    Ok(Json(
        applications::get(&state.db, &id)
            .await?
            .ok_or(ApiError::NotFound("application"))?,
    ))
}

/// A reviewer's decision.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionRequest {
    /// `approve`, `reject` or `more-info`.
    pub decision: String,
    /// Required to reject (sent to the applicant) and to ask for more
    /// information (the question).
    #[serde(default)]
    pub reason: String,
    /// On approval: the partner's channel manager (default: the reviewer).
    pub channel_manager_id: Option<String>,
}

/// The outcome of a decision.
#[derive(Serialize, ToSchema)]
pub struct DecisionOutcome {
    pub application: ApplicationRecord,
    /// On approval: the new partner's id.
    pub partner_id: Option<String>,
    /// On approval: the partner admin's single-use link to set a password
    /// (also sent by e-mail).
    pub invite_url: Option<String>,
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
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn decide_application(
    State(state): State<AppState>,
    caller: ApiUser,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<DecisionRequest>,
) -> ApiResult<Json<DecisionOutcome>> {
    reviewers_only(&caller)?;
    let decision = match body.decision.as_str() {
        "approve" => Decision::Approve {
            channel_manager_id: body.channel_manager_id,
        },
        "reject" => Decision::Reject {
            reason: body.reason,
        },
        "more-info" => Decision::MoreInfo {
            question: body.reason,
        },
        _ => {
            return Err(ApiError::Validation(
                trellis_core::FieldError::new(
                    "decision",
                    "invalid-value",
                    "decision must be one of: approve, reject, more-info",
                )
                .into(),
            ))
        }
    };
    let d = decide_with_program(&state, &caller.actor, &id, decision).await?;
    Ok(Json(DecisionOutcome {
        partner_id: d.partner.map(|p| p.id),
        invite_url: d
            .invite_token
            .map(|t| crate::mail::invite_url(&state.config.public_url(), &t)),
        application: d.application,
    }))
}

/// A partner's onboarding checklist, progress, lifecycle stage and its history.
///
/// Partner users: their own organisation. Vendor users: any partner.
#[utoipa::path(get, path = "/api/v1/partners/{id}/onboarding", tag = "recruiting",
    params(("id" = String, Path, description = "Partner id")),
    responses(
        (status = 200, body = Onboarding),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_onboarding(
    State(state): State<AppState>,
    caller: ApiUser,
    Path(id): Path<String>,
) -> ApiResult<Json<Onboarding>> {
    let partner = visible_partner(&state, &caller.principal, &id).await?;
    Ok(Json(onboarding::get(&state.db, &partner.id).await?))
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
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn set_task(
    State(state): State<AppState>,
    caller: ApiUser,
    Path((id, task)): Path<(String, String)>,
    ApiJson(body): ApiJson<TaskRequest>,
) -> ApiResult<Json<Onboarding>> {
    let partner = visible_partner(&state, &caller.principal, &id).await?;
    if !caller.principal.can_tick_onboarding(partner.as_ref()) {
        return Err(ApiError::Forbidden(
            "only the partner's admin, its channel manager or a vendor admin can tick onboarding tasks".into(),
        ));
    }
    onboarding::set_task(&state.db, &caller.actor, &partner.id, &task, body.done).await?;
    Ok(Json(onboarding::get(&state.db, &partner.id).await?))
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
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn move_stage(
    State(state): State<AppState>,
    caller: ApiUser,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<StageRequest>,
) -> ApiResult<Json<Onboarding>> {
    let partner = visible_partner(&state, &caller.principal, &id).await?;
    if !caller.principal.can_move_stage(partner.as_ref()) {
        return Err(ApiError::Forbidden(
            "only a vendor admin or the partner's channel manager can move its stage".into(),
        ));
    }
    onboarding::move_stage(
        &state.db,
        &caller.actor,
        &partner.id,
        &body.stage,
        &body.reason,
    )
    .await?;
    Ok(Json(onboarding::get(&state.db, &partner.id).await?))
}

/// A new version of an agreement.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAgreement {
    /// A partner type, or `*` for every type without its own agreement.
    pub partner_type: String,
    pub title: String,
    /// Markdown.
    pub body: String,
}

/// Every agreement version (vendor users); a partner user sees the versions
/// for its partner's type.
#[utoipa::path(get, path = "/api/v1/agreements", tag = "recruiting",
    responses(
        (status = 200, body = Vec<Agreement>),
        (status = 401, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list_agreements(
    State(state): State<AppState>,
    caller: ApiUser,
) -> ApiResult<Json<Vec<Agreement>>> {
    let all = agreements::list(&state.db).await?;
    if caller.principal.is_vendor() {
        return Ok(Json(all));
    }
    let pid = caller.user.partner_id.clone().unwrap_or_default();
    let partner = visible_partner(&state, &caller.principal, &pid).await?;
    Ok(Json(
        all.into_iter()
            .filter(|a| agreements::applies_to(a, &partner.partner_type))
            .collect(),
    ))
}

/// Publish a new version of an agreement (vendor admins). Partners of the
/// type must accept it again.
#[utoipa::path(post, path = "/api/v1/agreements", tag = "recruiting", request_body = NewAgreement,
    responses(
        (status = 201, body = Agreement),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create_agreement(
    State(state): State<AppState>,
    caller: ApiUser,
    ApiJson(body): ApiJson<NewAgreement>,
) -> ApiResult<(StatusCode, Json<Agreement>)> {
    if !caller.principal.can_manage_agreements() {
        return Err(ApiError::Forbidden(
            "only vendor admins publish agreements".into(),
        ));
    }
    let a = agreements::create(
        &state.db,
        &caller.actor,
        &body.partner_type,
        &body.title,
        &body.body,
    )
    .await?;
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
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn accept_agreement(
    State(state): State<AppState>,
    caller: ApiUser,
    headers: HeaderMap,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(id): Path<String>,
) -> ApiResult<(StatusCode, Json<Acceptance>)> {
    let Some(pid) = caller.user.partner_id.clone() else {
        return Err(ApiError::Forbidden(
            "agreements are accepted by a partner's admin".into(),
        ));
    };
    let partner = visible_partner(&state, &caller.principal, &pid).await?;
    if !caller.principal.can_accept_agreement(partner.as_ref()) {
        return Err(ApiError::Forbidden(
            "only the partner's admin can accept its agreement".into(),
        ));
    }
    let ip = crate::http::portal::login::client_ip(&state, &headers, peer);
    let acc = agreements::accept(&state.db, &caller.actor, &partner, &id, &ip).await?;
    Ok((StatusCode::CREATED, Json(acc)))
}
