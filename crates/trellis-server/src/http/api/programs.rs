//! Programs as code over the API: validate, upload drafts (TOML or JSON),
//! publish, retire, diff, and enroll partners; partners read the published
//! program as it applies to them.

use crate::http::api::partners::visible_partner;
use crate::http::error::{ApiError, ApiResult, Problem, ProblemFinding};
use crate::http::extract::{ApiJson, ApiQuery, ApiUser};
use crate::http::AppState;
use crate::store::programs::{
    self, Checked, Enrollment, ProgramSummary, PublishError, VersionMeta,
};
use axum::body::Body;
use axum::extract::{FromRequest, Path, Request, State};
use axum::http::{header, StatusCode};
use axum::Json;
use serde::{Deserialize, Serialize};
use trellis_core::program::{self, economics, view, Finding};
use trellis_core::FieldErrors;
use utoipa::{IntoParams, ToSchema};

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
            return Err(ApiError::Malformed(
                "send the program as application/toml (or text/plain) or as application/json"
                    .into(),
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
                .map_err(|e| invalid(&e))
        } else {
            Ok(ProgramSource(text))
        }
    }
}

fn invalid(e: &program::ParseError) -> ApiError {
    ApiError::Program {
        code: "program-invalid",
        detail: format!("the program does not parse: {e}"),
        findings: vec![ProblemFinding::from_parse(e)],
    }
}

fn check(src: String) -> ApiResult<Checked> {
    Checked::new(src).map_err(|e| invalid(&e))
}

/// What the checker says about a source, with the partner economics.
#[derive(Serialize, ToSchema)]
pub struct Report {
    /// `[program].id`.
    pub program: String,
    pub name: String,
    /// `[program].version`.
    pub version: String,
    pub errors: usize,
    pub warnings: usize,
    #[schema(value_type = Vec<Object>)]
    pub findings: Vec<Finding>,
    /// Partner net per deal and per year for each type × segment, beside competitors.
    #[schema(value_type = Vec<Object>)]
    pub economics: Vec<economics::Row>,
}

impl Report {
    fn of(c: &Checked) -> Report {
        Report {
            program: c.program.program.id.get_ref().clone(),
            name: c.program.program.name.clone(),
            version: c.program.program.version.clone(),
            errors: c.errors(),
            warnings: c.warnings(),
            findings: c.findings.clone(),
            economics: economics::table(&c.program),
        }
    }
}

/// A stored version: metadata, source, findings, economics and GTM matrix.
#[derive(Serialize, ToSchema)]
pub struct VersionDetail {
    #[serde(flatten)]
    pub meta: VersionMeta,
    pub name: String,
    /// The TOML source (JSON uploads are stored converted).
    pub source: String,
    #[schema(value_type = Vec<Object>)]
    pub findings: Vec<Finding>,
    #[schema(value_type = Vec<Object>)]
    pub economics: Vec<economics::Row>,
    /// Per play (type × segment), per step: performer, the elements that enable
    /// and motivate it, and whether it is uncovered.
    #[schema(value_type = Vec<Object>)]
    pub matrix: Vec<view::MatrixRow>,
}

fn detail(v: programs::Version) -> ApiResult<VersionDetail> {
    let c = Checked::new(v.source.clone()).map_err(|e| {
        ApiError::Internal(format!(
            "stored program {}/{} does not parse: {e}",
            v.meta.program, v.meta.number
        ))
    })?;
    Ok(VersionDetail {
        economics: economics::table(&c.program),
        matrix: view::matrix(&c.program),
        findings: c.findings,
        meta: v.meta,
        name: v.name,
        source: v.source,
    })
}

fn vendor_only(caller: &ApiUser) -> ApiResult<()> {
    if caller.principal.can_read_program_versions() {
        Ok(())
    } else {
        Err(ApiError::Forbidden(
            "program versions are for vendor users; partners read their programs under /api/v1/partners/{id}/programs".into(),
        ))
    }
}

/// For a program named in the path: callers who may not read program
/// versions (partners) get 404, as if it did not exist.
fn visible_to(caller: &ApiUser) -> ApiResult<()> {
    if caller.principal.can_read_program_versions() {
        Ok(())
    } else {
        Err(ApiError::NotFound("program"))
    }
}

/// A version number from the path; anything else names no version.
fn version_number(raw: &str) -> ApiResult<i64> {
    raw.parse::<i64>()
        .map_err(|_| ApiError::NotFound("program version"))
}

fn admin_only(caller: &ApiUser) -> ApiResult<()> {
    if caller.principal.can_manage_programs() {
        Ok(())
    } else {
        Err(ApiError::Forbidden(
            "only vendor admins can change programs".into(),
        ))
    }
}

async fn stored(state: &AppState, slug: &str, number: i64) -> ApiResult<programs::Version> {
    programs::version(&state.db, slug, number)
        .await?
        .ok_or(ApiError::NotFound("program version"))
}

/// List programs.
///
/// Vendor users: every program with its version in force and its newest version.
#[utoipa::path(get, path = "/api/v1/programs", tag = "programs",
    responses(
        (status = 200, body = Vec<ProgramSummary>),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list_programs(
    State(state): State<AppState>,
    caller: ApiUser,
) -> ApiResult<Json<Vec<ProgramSummary>>> {
    vendor_only(&caller)?;
    Ok(Json(programs::list(&state.db).await?))
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
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 413, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn validate_program(
    caller: ApiUser,
    ProgramSource(src): ProgramSource,
) -> ApiResult<Json<Report>> {
    vendor_only(&caller)?;
    Ok(Json(Report::of(&check(src)?)))
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
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 413, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn upload_draft(
    State(state): State<AppState>,
    caller: ApiUser,
    ProgramSource(src): ProgramSource,
) -> ApiResult<(StatusCode, Json<VersionDetail>)> {
    admin_only(&caller)?;
    let c = check(src)?;
    let meta = programs::save_draft(&state.db, &caller.actor, &c).await?;
    let v = stored(&state, &meta.program, meta.number).await?;
    Ok((StatusCode::CREATED, Json(detail(v)?)))
}

/// List a program's versions, newest first.
#[utoipa::path(get, path = "/api/v1/programs/{program}/versions", tag = "programs",
    params(("program" = String, Path, description = "Program id (`[program].id`)")),
    responses(
        (status = 200, body = Vec<VersionMeta>),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list_versions(
    State(state): State<AppState>,
    caller: ApiUser,
    Path(slug): Path<String>,
) -> ApiResult<Json<Vec<VersionMeta>>> {
    visible_to(&caller)?;
    let versions = programs::versions(&state.db, &slug).await?;
    if versions.is_empty() {
        return Err(ApiError::NotFound("program"));
    }
    Ok(Json(versions))
}

/// Get a version: source, findings, economics and GTM matrix.
#[utoipa::path(get, path = "/api/v1/programs/{program}/versions/{number}", tag = "programs",
    params(
        ("program" = String, Path, description = "Program id (`[program].id`)"),
        ("number" = i64, Path, description = "Version number"),
    ),
    responses(
        (status = 200, body = VersionDetail),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_version(
    State(state): State<AppState>,
    caller: ApiUser,
    Path((slug, number)): Path<(String, String)>,
) -> ApiResult<Json<VersionDetail>> {
    visible_to(&caller)?;
    Ok(Json(detail(
        stored(&state, &slug, version_number(&number)?).await?,
    )?))
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
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn replace_draft(
    State(state): State<AppState>,
    caller: ApiUser,
    Path((slug, number)): Path<(String, String)>,
    src: Result<ProgramSource, ApiError>,
) -> ApiResult<Json<VersionDetail>> {
    visible_to(&caller)?;
    admin_only(&caller)?;
    let ProgramSource(src) = src?;
    let number = version_number(&number)?;
    let c = check(src)?;
    programs::replace_draft(&state.db, &caller.actor, &slug, number, &c).await?;
    Ok(Json(detail(stored(&state, &slug, number).await?)?))
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
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn delete_draft(
    State(state): State<AppState>,
    caller: ApiUser,
    Path((slug, number)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    visible_to(&caller)?;
    admin_only(&caller)?;
    programs::delete_draft(&state.db, &caller.actor, &slug, version_number(&number)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub(crate) fn publish_error(e: PublishError) -> ApiError {
    match e {
        PublishError::Store(e) => e.into(),
        PublishError::HasErrors(c) => ApiError::Program {
            code: "program-has-errors",
            detail: format!(
                "the draft has {} error finding(s); fix them before publishing",
                c.errors()
            ),
            findings: c
                .findings
                .iter()
                .filter(|f| f.severity == program::Severity::Error)
                .map(ProblemFinding::from_finding)
                .collect(),
        },
    }
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
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn publish_version(
    State(state): State<AppState>,
    caller: ApiUser,
    Path((slug, number)): Path<(String, String)>,
) -> ApiResult<Json<VersionMeta>> {
    visible_to(&caller)?;
    admin_only(&caller)?;
    programs::publish(&state.db, &caller.actor, &slug, version_number(&number)?)
        .await
        .map(Json)
        .map_err(publish_error)
}

/// Retire the published version (without a successor).
#[utoipa::path(post, path = "/api/v1/programs/{program}/versions/{number}/retire", tag = "programs",
    params(
        ("program" = String, Path, description = "Program id (`[program].id`)"),
        ("number" = i64, Path, description = "Version number"),
    ),
    responses(
        (status = 200, body = VersionMeta),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn retire_version(
    State(state): State<AppState>,
    caller: ApiUser,
    Path((slug, number)): Path<(String, String)>,
) -> ApiResult<Json<VersionMeta>> {
    visible_to(&caller)?;
    admin_only(&caller)?;
    Ok(Json(
        programs::retire(&state.db, &caller.actor, &slug, version_number(&number)?).await?,
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

/// A change between two versions.
#[derive(Serialize, ToSchema)]
pub struct DiffChange {
    /// The item, e.g. `elements[mdf].cost.fixed_per_year` or `plays[msp/emea-smb].steps.sell`.
    pub path: String,
    /// `added`, `removed` or `changed`.
    pub kind: String,
    /// The old value, as TOML.
    pub before: Option<String>,
    /// The new value, as TOML.
    pub after: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct Diff {
    pub from: VersionMeta,
    pub to: VersionMeta,
    pub changes: Vec<DiffChange>,
}

/// Compute what changed between two versions, item by item (matched by id).
pub(crate) async fn diff_versions(
    state: &AppState,
    slug: &str,
    from: i64,
    to: i64,
) -> ApiResult<Diff> {
    let a = stored(state, slug, from).await?;
    let b = stored(state, slug, to).await?;
    let changes = program::diff::diff(&a.source, &b.source)
        .map_err(|e| ApiError::Internal(format!("stored program does not parse: {e}")))?
        .into_iter()
        .map(|c| DiffChange {
            path: c.path,
            kind: match c.kind {
                program::diff::ChangeKind::Added => "added",
                program::diff::ChangeKind::Removed => "removed",
                program::diff::ChangeKind::Changed => "changed",
            }
            .into(),
            before: c.before,
            after: c.after,
        })
        .collect();
    Ok(Diff {
        from: a.meta,
        to: b.meta,
        changes,
    })
}

/// Diff two versions of a program.
#[utoipa::path(get, path = "/api/v1/programs/{program}/diff", tag = "programs",
    params(("program" = String, Path, description = "Program id (`[program].id`)"), DiffQuery),
    responses(
        (status = 200, body = Diff),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn diff(
    State(state): State<AppState>,
    caller: ApiUser,
    Path(slug): Path<String>,
    q: Result<ApiQuery<DiffQuery>, ApiError>,
) -> ApiResult<Json<Diff>> {
    visible_to(&caller)?;
    let ApiQuery(q) = q?;
    Ok(Json(diff_versions(&state, &slug, q.from, q.to).await?))
}

/// A partner's place in a program.
#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct EnrollRequest {
    /// A `partner_types` id of the published version.
    pub partner_type: String,
    /// A `segments` id of the published version.
    pub segment: String,
    /// A tier or track id of the published version.
    pub level: Option<String>,
}

/// Checks an enrollment against the published version of the program.
pub(crate) fn validate_enrollment(
    p: &program::Program,
    partner_type: &str,
    segment: &str,
    level: Option<&str>,
) -> Result<(), FieldErrors> {
    let mut errs = FieldErrors::new();
    let one_of = |ids: Vec<&str>| ids.join(", ");
    let types: Vec<&str> = p
        .partner_types
        .iter()
        .map(|t| t.id.get_ref().as_str())
        .collect();
    if !types.contains(&partner_type) {
        errs.push(trellis_core::FieldError::new(
            "partner_type",
            "unknown-reference",
            format!(
                "partner_type must be one of the program's types: {}",
                one_of(types)
            ),
        ));
    }
    let segments: Vec<&str> = p.segments.iter().map(|s| s.id.get_ref().as_str()).collect();
    if !segments.contains(&segment) {
        errs.push(trellis_core::FieldError::new(
            "segment",
            "unknown-reference",
            format!(
                "segment must be one of the program's segments: {}",
                one_of(segments)
            ),
        ));
    }
    if let Some(l) = level {
        let levels = view::level_ids(p);
        if !levels.contains(&l) {
            errs.push(trellis_core::FieldError::new(
                "level",
                "unknown-reference",
                format!(
                    "level must be one of the program's tiers or tracks: {}",
                    one_of(levels)
                ),
            ));
        }
    }
    errs.into_result()
}

pub(crate) async fn published_program(
    state: &AppState,
    slug: &str,
) -> ApiResult<(programs::Version, program::Program)> {
    let v = programs::published(&state.db, slug)
        .await?
        .ok_or(ApiError::NotFound("published program"))?;
    let p = program::parse(&v.source)
        .map_err(|e| ApiError::Internal(format!("stored program {slug} does not parse: {e}")))?;
    Ok((v, p))
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
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn enroll_partner(
    State(state): State<AppState>,
    caller: ApiUser,
    Path((id, slug)): Path<(String, String)>,
    body: Result<ApiJson<EnrollRequest>, ApiError>,
) -> ApiResult<Json<Enrollment>> {
    // Visibility first, so an invisible partner is 404 even for an invalid body.
    let partner = visible_partner(&state, &caller.principal, &id).await?;
    if !caller.principal.can_enroll_partner(partner.as_ref()) {
        return Err(ApiError::Forbidden(
            "only a vendor admin or the partner's channel manager can enroll it".into(),
        ));
    }
    let ApiJson(body) = body?;
    let (_, p) = published_program(&state, &slug).await?;
    let level = body
        .level
        .as_deref()
        .map(str::trim)
        .filter(|l| !l.is_empty());
    validate_enrollment(&p, body.partner_type.trim(), body.segment.trim(), level)?;
    let enrollment = programs::enroll(
        &state.db,
        &caller.actor,
        &partner.id,
        &slug,
        body.partner_type.trim(),
        body.segment.trim(),
        level,
    )
    .await?;
    // A partnership in formation gets the program's onboarding checklist
    // for its type (tasks already there are kept).
    if partner.stage == trellis_core::recruit::Stage::Formation {
        crate::store::onboarding::start_from_program(
            &state.db,
            &partner.id,
            body.partner_type.trim(),
            &p,
        )
        .await?;
    }
    Ok(Json(enrollment))
}

/// A program as it applies to one partner.
#[derive(Serialize, ToSchema)]
pub struct PartnerProgram {
    pub enrollment: Enrollment,
    /// The published version's number.
    pub version_number: i64,
    /// Role in each step, benefits, tiers or tracks with their requirements,
    /// deal-registration rules and the expected economics.
    #[schema(value_type = Object)]
    pub view: view::PartnerView,
}

/// The published programs a partner is enrolled in, as they apply to it.
///
/// Partner users: their own organisation. Vendor users: any partner.
#[utoipa::path(get, path = "/api/v1/partners/{id}/programs", tag = "programs",
    params(("id" = String, Path, description = "Partner id")),
    responses(
        (status = 200, body = Vec<PartnerProgram>),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn partner_programs(
    State(state): State<AppState>,
    caller: ApiUser,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<PartnerProgram>>> {
    let partner = visible_partner(&state, &caller.principal, &id).await?;
    Ok(Json(programs_of(&state, &partner.id).await?))
}

/// The published programs of a partner (programs without a version in force
/// are left out).
pub(crate) async fn programs_of(
    state: &AppState,
    partner_id: &str,
) -> ApiResult<Vec<PartnerProgram>> {
    let mut out = Vec::new();
    for e in programs::enrollments(&state.db, partner_id).await? {
        let Some(v) = programs::published(&state.db, &e.program).await? else {
            continue;
        };
        let p = program::parse(&v.source).map_err(|err| {
            ApiError::Internal(format!(
                "stored program {} does not parse: {err}",
                e.program
            ))
        })?;
        out.push(PartnerProgram {
            view: view::for_partner(&p, &e.partner_type, &e.segment, e.level.as_deref()),
            version_number: v.meta.number,
            enrollment: e,
        });
    }
    Ok(out)
}
