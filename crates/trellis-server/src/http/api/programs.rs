//! Programs as code over the API: validate, upload drafts (TOML or JSON),
//! publish, retire, diff, and enroll partners; partners read the published
//! program as it applies to them.

use crate::app::programs::{
    self as app, Diff, EnrollRequest, PartnerProgram, Report, VersionDetail,
};
use crate::http::error::responses::{Conflict, Forbidden, Invalid, NotFound, TooLarge};
use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::{ApiJson, ApiQuery, ApiUser};
use crate::http::AppState;
use crate::store::programs::{Enrollment, ProgramSummary, VersionMeta};
use axum::body::Body;
use axum::extract::{FromRequest, Path, Request, State};
use axum::http::{header, StatusCode};
use axum::Json;
use serde::Deserialize;
use trellis_core::program;
use utoipa::IntoParams;

/// Program sources may be large (a 5,000-element program is about 1.3 MB).
pub const PROGRAM_BODY_LIMIT: usize = 4 * 1024 * 1024;

/// A program source from the request body: TOML (`application/toml`,
/// `text/plain`) or JSON (`application/json`, converted to TOML).
pub struct ProgramSource(pub String);

impl<S: Send + Sync> FromRequest<S> for ProgramSource {
    type Rejection = ApiError;

    async fn from_request(req: Request, _state: &S) -> Result<Self, Self::Rejection> {
        let mime = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|ct| ct.split(';').next())
            .map(|m| m.trim().to_ascii_lowercase())
            .unwrap_or_default();
        let json = mime == "application/json";
        if !json
            && !matches!(
                mime.as_str(),
                "application/toml" | "text/x-toml" | "text/plain"
            )
        {
            return Err(ApiError::UnsupportedMediaType(
                "send the program as application/toml (or text/plain) or as application/json",
            ));
        }
        let bytes = axum::body::to_bytes(Body::new(req.into_body()), PROGRAM_BODY_LIMIT)
            .await
            .map_err(|_| ApiError::TooLarge(PROGRAM_BODY_LIMIT))?;
        let text = String::from_utf8(bytes.to_vec())
            .map_err(|e| ApiError::Malformed(format!("the program is not UTF-8: {e}")))?;
        if json {
            program::json::to_toml(&text)
                .map(ProgramSource)
                .map_err(|e| app::invalid(&e).into())
        } else {
            Ok(ProgramSource(text))
        }
    }
}

/// A version number from the path; anything else names no version.
fn version_number(raw: &str) -> ApiResult<i64> {
    raw.parse::<i64>()
        .map_err(|_| ApiError::NotFound("program version"))
}

/// List programs.
///
/// Vendor users: every program with its version in force and its newest
/// version. Partners read their programs under `/api/v1/partners/{id}/programs`
/// and get 404 here.
#[utoipa::path(get, path = "/api/v1/programs", tag = "programs",
    responses(
        (status = 200, body = Vec<ProgramSummary>),
        NotFound,
    ))]
pub async fn list_programs(
    State(state): State<AppState>,
    caller: ApiUser,
) -> ApiResult<Json<Vec<ProgramSummary>>> {
    Ok(Json(app::list(&state, &caller.principal).await?))
}

/// Check a program without saving it.
///
/// The body is the program as TOML (`application/toml`) or JSON. A source
/// that does not parse is 422 `program-invalid` with the line, column and field
/// path; otherwise 200 with every finding (errors included) and the economics.
#[utoipa::path(post, path = "/api/v1/programs/validate", tag = "programs",
    request_body(content(
        (String = "application/toml"),
        (Object = "application/json"),
    ), description = "The program definition (see docs/program-format.md)"),
    responses(
        (status = 200, body = Report),
        NotFound,
        TooLarge,
        Invalid,
    ))]
pub async fn validate_program(
    caller: ApiUser,
    ProgramSource(src): ProgramSource,
) -> ApiResult<Json<Report>> {
    Ok(Json(app::validate(&caller.principal, src)?))
}

/// Upload a draft.
///
/// Vendor admins. Creates the program named by `[program].id` if it is new, else
/// adds the next version number as a draft. Drafts may have error findings
/// (publishing needs none); a source that does not parse is refused.
#[utoipa::path(post, path = "/api/v1/programs", tag = "programs",
    request_body(content(
        (String = "application/toml"),
        (Object = "application/json"),
    ), description = "The program definition (see docs/program-format.md)"),
    responses(
        (status = 201, body = VersionDetail),
        Forbidden,
        TooLarge,
        Invalid,
    ))]
pub async fn upload_draft(
    State(state): State<AppState>,
    caller: ApiUser,
    ProgramSource(src): ProgramSource,
) -> ApiResult<(StatusCode, Json<VersionDetail>)> {
    let v = app::upload_draft(&state, &caller.principal, &caller.actor, src).await?;
    Ok((StatusCode::CREATED, Json(v)))
}

/// List a program's versions, newest first.
#[utoipa::path(get, path = "/api/v1/programs/{program}/versions", tag = "programs",
    params(("program" = String, Path, description = "Program id (`[program].id`)")),
    responses(
        (status = 200, body = Vec<VersionMeta>),
        Forbidden,
        NotFound,
    ))]
pub async fn list_versions(
    State(state): State<AppState>,
    caller: ApiUser,
    Path(slug): Path<String>,
) -> ApiResult<Json<Vec<VersionMeta>>> {
    Ok(Json(app::versions(&state, &caller.principal, &slug).await?))
}

/// Get a version: source, findings, economics and GTM matrix.
#[utoipa::path(get, path = "/api/v1/programs/{program}/versions/{number}", tag = "programs",
    params(
        ("program" = String, Path, description = "Program id (`[program].id`)"),
        ("number" = i64, Path, description = "Version number"),
    ),
    responses(
        (status = 200, body = VersionDetail),
        Forbidden,
        NotFound,
    ))]
pub async fn get_version(
    State(state): State<AppState>,
    caller: ApiUser,
    Path((slug, number)): Path<(String, String)>,
) -> ApiResult<Json<VersionDetail>> {
    app::visible_to(&caller.principal)?;
    let number = version_number(&number)?;
    Ok(Json(
        app::version(&state, &caller.principal, &slug, number).await?,
    ))
}

/// Replace a draft's source.
///
/// Vendor admins. Published and retired versions are immutable (409).
#[utoipa::path(put, path = "/api/v1/programs/{program}/versions/{number}", tag = "programs",
    params(
        ("program" = String, Path, description = "Program id (`[program].id`)"),
        ("number" = i64, Path, description = "Version number"),
    ),
    request_body(content(
        (String = "application/toml"),
        (Object = "application/json"),
    )),
    responses(
        (status = 200, body = VersionDetail),
        Forbidden,
        NotFound,
        Conflict,
        Invalid,
    ))]
pub async fn replace_draft(
    State(state): State<AppState>,
    caller: ApiUser,
    Path((slug, number)): Path<(String, String)>,
    src: Result<ProgramSource, ApiError>,
) -> ApiResult<Json<VersionDetail>> {
    app::visible_to(&caller.principal)?;
    app::admin_only(&caller.principal)?;
    let ProgramSource(src) = src?;
    let number = version_number(&number)?;
    Ok(Json(
        app::replace_draft(&state, &caller.principal, &caller.actor, &slug, number, src).await?,
    ))
}

/// Delete a draft.
///
/// Vendor admins. Published and retired versions cannot be deleted (409).
#[utoipa::path(delete, path = "/api/v1/programs/{program}/versions/{number}", tag = "programs",
    params(
        ("program" = String, Path, description = "Program id (`[program].id`)"),
        ("number" = i64, Path, description = "Version number"),
    ),
    responses(
        (status = 204, description = "Deleted"),
        Forbidden,
        NotFound,
        Conflict,
    ))]
pub async fn delete_draft(
    State(state): State<AppState>,
    caller: ApiUser,
    Path((slug, number)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    app::visible_to(&caller.principal)?;
    let number = version_number(&number)?;
    app::delete_draft(&state, &caller.principal, &caller.actor, &slug, number).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Publish a draft.
///
/// Vendor admins. The draft is checked again and must have no error findings
/// (422 `program-has-errors` lists them). The version in force, if any, is
/// retired in the same transaction.
#[utoipa::path(post, path = "/api/v1/programs/{program}/versions/{number}/publish", tag = "programs",
    params(
        ("program" = String, Path, description = "Program id (`[program].id`)"),
        ("number" = i64, Path, description = "Version number"),
    ),
    responses(
        (status = 200, body = VersionMeta),
        Forbidden,
        NotFound,
        Conflict,
        Invalid,
    ))]
pub async fn publish_version(
    State(state): State<AppState>,
    caller: ApiUser,
    Path((slug, number)): Path<(String, String)>,
) -> ApiResult<Json<VersionMeta>> {
    app::visible_to(&caller.principal)?;
    let number = version_number(&number)?;
    Ok(Json(
        app::publish(&state, &caller.principal, &caller.actor, &slug, number).await?,
    ))
}

/// Retire the published version (without a successor).
#[utoipa::path(post, path = "/api/v1/programs/{program}/versions/{number}/retire", tag = "programs",
    params(
        ("program" = String, Path, description = "Program id (`[program].id`)"),
        ("number" = i64, Path, description = "Version number"),
    ),
    responses(
        (status = 200, body = VersionMeta),
        Forbidden,
        NotFound,
        Conflict,
    ))]
pub async fn retire_version(
    State(state): State<AppState>,
    caller: ApiUser,
    Path((slug, number)): Path<(String, String)>,
) -> ApiResult<Json<VersionMeta>> {
    app::visible_to(&caller.principal)?;
    let number = version_number(&number)?;
    Ok(Json(
        app::retire(&state, &caller.principal, &caller.actor, &slug, number).await?,
    ))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DiffQuery {
    /// The older version number
    pub from: i64,
    /// The newer version number
    pub to: i64,
}

/// Diff two versions of a program.
#[utoipa::path(get, path = "/api/v1/programs/{program}/diff", tag = "programs",
    params(("program" = String, Path, description = "Program id (`[program].id`)"), DiffQuery),
    responses(
        (status = 200, body = Diff),
        Forbidden,
        NotFound,
        Invalid,
    ))]
pub async fn diff(
    State(state): State<AppState>,
    caller: ApiUser,
    Path(slug): Path<String>,
    q: Result<ApiQuery<DiffQuery>, ApiError>,
) -> ApiResult<Json<Diff>> {
    app::visible_to(&caller.principal)?;
    let ApiQuery(q) = q?;
    Ok(Json(
        app::diff(&state, &caller.principal, &slug, q.from, q.to).await?,
    ))
}

/// Enroll a partner in a program (or change its type, segment or level there).
///
/// Vendor admins, and channel managers for their partners. The ids must exist
/// in the program's published version.
#[utoipa::path(put, path = "/api/v1/partners/{id}/programs/{program}", tag = "programs",
    request_body = EnrollRequest,
    params(
        ("id" = String, Path, description = "Partner id"),
        ("program" = String, Path, description = "Program id (`[program].id`)"),
    ),
    responses(
        (status = 200, body = Enrollment),
        Forbidden,
        NotFound,
        Invalid,
    ))]
pub async fn enroll_partner(
    State(state): State<AppState>,
    caller: ApiUser,
    Path((id, slug)): Path<(String, String)>,
    body: Result<ApiJson<EnrollRequest>, ApiError>,
) -> ApiResult<Json<Enrollment>> {
    // Visibility first, so an invisible partner is 404 even for an invalid body.
    let partner = crate::app::partners::visible(&state, &caller.principal, &id).await?;
    app::may_enroll(&caller.principal, &partner)?;
    let ApiJson(body) = body?;
    Ok(Json(
        app::enroll(
            &state,
            &caller.principal,
            &caller.actor,
            &partner,
            &slug,
            &body,
        )
        .await?,
    ))
}

/// The published programs a partner is enrolled in, as they apply to it.
///
/// Partner users: their own organisation. Vendor users: any partner.
#[utoipa::path(get, path = "/api/v1/partners/{id}/programs", tag = "programs",
    params(("id" = String, Path, description = "Partner id")),
    responses(
        (status = 200, body = Vec<PartnerProgram>),
        NotFound,
    ))]
pub async fn partner_programs(
    State(state): State<AppState>,
    caller: ApiUser,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<PartnerProgram>>> {
    let partner = crate::app::partners::visible(&state, &caller.principal, &id).await?;
    Ok(Json(app::programs_of(&state, &partner.id).await?))
}
