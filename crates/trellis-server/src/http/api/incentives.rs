//! Sales-out uploads and statements over the API.

use crate::http::api::partners::visible_partner;
use crate::http::error::{ApiError, ApiResult, Problem};
use crate::http::extract::{ApiQuery, ApiUser};
use crate::http::AppState;
use crate::sales::{self, Dispute, ImportSummary, SalesError, StoredStatement, UnknownSku};
use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, Path, Request, State};
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use trellis_core::{FieldError, FieldErrors};
use utoipa::{IntoParams, ToSchema};

/// Sales files over the API may be large; the command line streams any size.
pub const SALES_BODY_LIMIT: usize = 64 * 1024 * 1024;

/// A CSV body up to [`SALES_BODY_LIMIT`].
pub struct CsvBody(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for CsvBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, _state: &S) -> Result<Self, Self::Rejection> {
        let bytes = axum::body::to_bytes(Body::new(req.into_body()), SALES_BODY_LIMIT)
            .await
            .map_err(|_| ApiError::TooLarge(SALES_BODY_LIMIT))?;
        Ok(CsvBody(bytes))
    }
}

pub(crate) fn sales_error(e: SalesError) -> ApiError {
    match e {
        SalesError::Rejected(r) => ApiError::Validation(FieldErrors(
            r.0.into_iter()
                .map(|m| FieldError::new("file", "invalid-line", m))
                .collect(),
        )),
        SalesError::Invalid(m) => {
            // Messages name their field first ("period: …", "program: …").
            let field = m
                .split_once(':')
                .map(|(f, _)| f.to_string())
                .filter(|f| !f.contains(' '))
                .unwrap_or_else(|| "request".into());
            ApiError::Validation(FieldError::new(field, "invalid", m).into())
        }
        SalesError::Store(e) => e.into(),
    }
}

#[derive(Deserialize, IntoParams, Default)]
pub struct UploadQuery {
    /// `reject` (default): a SKU in no published program's catalogue is an
    /// error; `hold`: import the line but leave it out of calculations.
    pub unknown_skus: Option<String>,
}

/// Upload a sales-out CSV (vendor admins, and admins of distributor partners).
///
/// The columns are those of `trellis import sales` (docs/incentives.md). Every
/// line is checked first: with any bad line nothing is imported and the 422
/// problem lists each line (`errors[].message` starts with `upload.csv:LINE:`).
/// Lines whose transaction id was imported before are skipped.
#[utoipa::path(post, path = "/api/v1/sales/imports", tag = "incentives",
    params(UploadQuery),
    request_body(content = String, content_type = "text/csv"),
    responses(
        (status = 201, body = ImportSummary),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 413, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn upload_sales(
    State(state): State<AppState>,
    caller: ApiUser,
    ApiQuery(q): ApiQuery<UploadQuery>,
    CsvBody(body): CsvBody,
) -> ApiResult<(StatusCode, Json<ImportSummary>)> {
    let distributor = match &caller.user.partner_id {
        Some(id) if caller.user.role == trellis_core::org::Role::PartnerAdmin => {
            crate::store::partners::get(&state.db, id)
                .await?
                .is_some_and(|p| p.partner_type == "distributor")
        }
        _ => false,
    };
    if !caller.principal.can_manage_programs() && !distributor {
        return Err(ApiError::Forbidden(
            "sales-out data is uploaded by vendor admins and distributors' admins".into(),
        ));
    }
    let unknown = match q.unknown_skus.as_deref() {
        None | Some("reject") => UnknownSku::Reject,
        Some("hold") => UnknownSku::Hold,
        Some(_) => {
            return Err(ApiError::Validation(
                FieldError::new(
                    "unknown_skus",
                    "invalid-value",
                    "unknown_skus must be reject or hold",
                )
                .into(),
            ))
        }
    };
    let summary = sales::import(
        &state.db,
        &caller.actor,
        "upload.csv",
        &body[..],
        unknown,
        &mut |_, _| {},
    )
    .await
    .map_err(sales_error)?;
    Ok((StatusCode::CREATED, Json(summary)))
}

/// Remove the lines of an imported batch (vendor admins).
#[utoipa::path(delete, path = "/api/v1/sales/imports/{batch}", tag = "incentives",
    params(("batch" = String, Path, description = "Batch id")),
    responses(
        (status = 200, body = RolledBack),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn rollback_sales(
    State(state): State<AppState>,
    caller: ApiUser,
    Path(batch): Path<String>,
) -> ApiResult<Json<RolledBack>> {
    if !caller.principal.is_vendor() {
        // Batches are the vendor's: partners do not learn they exist.
        return Err(ApiError::NotFound("sales batch"));
    }
    if !caller.principal.can_manage_programs() {
        return Err(ApiError::Forbidden(
            "vendor admins roll back sales batches".into(),
        ));
    }
    let removed = sales::rollback(&state.db, &caller.actor, &batch)
        .await
        .map_err(sales_error)?;
    Ok(Json(RolledBack { batch, removed }))
}

/// A rolled-back batch.
#[derive(Serialize, ToSchema)]
pub struct RolledBack {
    pub batch: String,
    pub removed: u64,
}

/// A partner's statement with its disputes.
#[derive(Serialize, ToSchema)]
pub struct StatementWithDisputes {
    #[serde(flatten)]
    pub statement: StoredStatement,
    pub disputes: Vec<Dispute>,
}

/// A partner's statements, newest period first, with their lines and disputes.
///
/// Partner users: their own organisation. Vendor users: any partner.
#[utoipa::path(get, path = "/api/v1/partners/{id}/statements", tag = "incentives",
    params(("id" = String, Path, description = "Partner id")),
    responses(
        (status = 200, body = Vec<StatementWithDisputes>),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn partner_statements(
    State(state): State<AppState>,
    caller: ApiUser,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<StatementWithDisputes>>> {
    let partner = visible_partner(&state, &caller.principal, &id).await?;
    let out = sales::statements_with_disputes(&state.db, &partner.id)
        .await
        .map_err(sales_error)?
        .into_iter()
        .map(|(statement, disputes)| StatementWithDisputes {
            statement,
            disputes,
        })
        .collect();
    Ok(Json(out))
}

/// A calculation to run.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CalculateRequest {
    /// `2027-Q1`, `2027-03` or `2027`.
    pub period: String,
    /// The program (`[program].id`); needed when several published programs have incentive rules.
    pub program: Option<String>,
    /// Show the statements without saving them as drafts.
    #[serde(default)]
    pub dry_run: bool,
    /// Also calculate the period under this version of the program (a
    /// draft, or an earlier one) and compare it per partner (`what_if`).
    pub what_if_version: Option<i64>,
}

/// A calculation, and the what-if comparison if one was asked for.
#[derive(Serialize, ToSchema)]
pub struct CalculationResult {
    #[serde(flatten)]
    pub calculation: sales::Calculation,
    pub what_if: Option<sales::WhatIf>,
}

/// Calculate a period's statements (vendor admins), as
/// `trellis incentives calculate` does: every partner's lines with their
/// explanations, adjustments for late data in approved periods; saved as
/// drafts unless `dry_run` (partners approved for the period get none).
/// With `what_if_version`, the same period under that version of the program,
/// partner by partner.
#[utoipa::path(post, path = "/api/v1/incentives/calculations", tag = "incentives",
    request_body = CalculateRequest,
    responses(
        (status = 200, body = CalculationResult),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn calculate(
    State(state): State<AppState>,
    caller: ApiUser,
    crate::http::extract::ApiJson(body): crate::http::extract::ApiJson<CalculateRequest>,
) -> ApiResult<Json<CalculationResult>> {
    if !caller.principal.can_manage_programs() {
        return Err(ApiError::Forbidden(
            "vendor admins calculate statements".into(),
        ));
    }
    // The version to compare with is checked before drafts are saved.
    let other = match body.what_if_version {
        Some(n) => Some(
            sales::version_to_compare(&state.db, body.program.as_deref(), n)
                .await
                .map_err(sales_error)?,
        ),
        None => None,
    };
    let run = sales::run(
        &state.db,
        &body.period,
        body.program.as_deref(),
        body.dry_run,
    )
    .await
    .map_err(sales_error)?;
    let what_if = match other {
        Some((under, draft, n)) => Some(
            sales::what_if(&state.db, &run, &under, &draft, Some(n))
                .await
                .map_err(sales_error)?,
        ),
        None => None,
    };
    Ok(Json(CalculationResult {
        calculation: run.calculation,
        what_if,
    }))
}
