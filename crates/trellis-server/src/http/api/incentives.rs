//! Sales-out uploads and statements over the API.

use crate::app::incentives::{
    self as app, calculate, import, statements, Calculation, ImportSummary, UnknownSku, WhatIf,
};
use crate::app::{partners, AppError};
use crate::http::error::responses::{Conflict, Forbidden, Invalid, NotFound, TooLarge};
use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::{ApiJson, ApiQuery, ApiUser};
use crate::http::AppState;
use crate::store::incentives::{Dispute, StoredStatement};
use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, Path, Request, State};
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
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

#[derive(Deserialize, IntoParams, Default)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct UploadQuery {
    /// `reject` (default): a SKU in no published program's catalogue is an
    /// error; `hold`: import the line but leave it out of calculations.
    #[param(value_type = Option<String>, pattern = "^(reject|hold)$")]
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
        Forbidden,
        TooLarge,
        Invalid,
    ))]
pub async fn upload_sales(
    State(state): State<AppState>,
    caller: ApiUser,
    ApiQuery(q): ApiQuery<UploadQuery>,
    CsvBody(body): CsvBody,
) -> ApiResult<(StatusCode, Json<ImportSummary>)> {
    if !app::may_upload(&state, &caller.principal).await? {
        return Err(ApiError::Forbidden(
            "sales-out data is uploaded by vendor admins and distributors' admins".into(),
        ));
    }
    let unknown = match q.unknown_skus.as_deref() {
        None | Some("reject") => UnknownSku::Reject,
        Some("hold") => UnknownSku::Hold,
        Some(_) => {
            return Err(AppError::field(
                "unknown_skus",
                "invalid-value",
                "unknown_skus must be reject or hold",
            )
            .into())
        }
    };
    let summary = import::import(
        &state,
        &caller.actor,
        "upload.csv",
        &body[..],
        unknown,
        &mut |_, _| {},
    )
    .await?;
    Ok((StatusCode::CREATED, Json(summary)))
}

/// Remove the lines of an imported batch (vendor admins).
#[utoipa::path(delete, path = "/api/v1/sales/imports/{batch}", tag = "incentives",
    params(("batch" = String, Path, description = "Batch id")),
    responses(
        (status = 200, body = RolledBack),
        Forbidden,
        NotFound,
        Conflict,
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
    let removed = import::rollback(&state, &caller.actor, &batch).await?;
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
        NotFound,
    ))]
pub async fn partner_statements(
    State(state): State<AppState>,
    caller: ApiUser,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<StatementWithDisputes>>> {
    let partner = partners::visible(&state, &caller.principal, &id).await?;
    let out = statements::statements_with_disputes(&state, &partner.id)
        .await?
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
    pub calculation: Calculation,
    pub what_if: Option<WhatIf>,
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
        Forbidden,
        Invalid,
    ))]
pub async fn calculate(
    State(state): State<AppState>,
    caller: ApiUser,
    ApiJson(body): ApiJson<CalculateRequest>,
) -> ApiResult<Json<CalculationResult>> {
    app::vendor_admins_only(&caller.principal, "calculate statements")?;
    // The version to compare with is checked before drafts are saved.
    let slug = body.program.as_deref();
    let other = calculate::other_version(&state, slug, body.what_if_version).await?;
    let run = calculate::run(&state, &body.period, slug, body.dry_run).await?;
    let what_if = match other {
        Some((under, draft, n)) => {
            Some(calculate::what_if(&state, &run, &under, &draft, Some(n)).await?)
        }
        None => None,
    };
    Ok(Json(CalculationResult {
        calculation: run.calculation,
        what_if,
    }))
}
