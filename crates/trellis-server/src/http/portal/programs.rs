//! Program pages. Vendor console: the program list with upload, a version
//! page (findings linked to the source, GTM role matrix, economics, source,
//! history), diffs, publish/retire/delete. Partner portal: the published
//! programs as they apply to the partner.

use super::page::PageQuery;
use super::{
    error_page, flash, message_page, not_found_page, read_csrf_form, render, urlencode, PortalUser,
};
use crate::app::programs::{self as app, EnrollRequest, ProblemFinding};
use crate::app::{partners, AppError};
use crate::http::api::programs::PROGRAM_BODY_LIMIT;
use crate::http::AppState;
use axum::extract::{FromRequest, Path, Request, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use serde::{Deserialize, Serialize};
use trellis_core::program::{self, economics, lint, view, VersionStatus};

/// A signed-in form post that may carry a whole program (up to 4 MiB).
pub struct ProgramForm<T> {
    pub who: PortalUser,
    pub form: T,
}

impl<T: serde::de::DeserializeOwned> FromRequest<AppState> for ProgramForm<T> {
    type Rejection = Response;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let f = read_csrf_form(req, state, PROGRAM_BODY_LIMIT).await?;
        Ok(ProgramForm {
            who: f.who,
            form: f.form,
        })
    }
}

fn vendor_page(state: &AppState, who: &PortalUser) -> Result<(), Response> {
    if who.principal.can_read_program_versions() {
        Ok(())
    } else {
        Err(not_found_page(state))
    }
}

fn admin_action(state: &AppState, who: &PortalUser) -> Result<(), Response> {
    vendor_page(state, who)?;
    if who.principal.can_manage_programs() {
        Ok(())
    } else {
        Err(message_page(
            state,
            StatusCode::FORBIDDEN,
            "Not allowed",
            "Only vendor admins can change programs.",
        ))
    }
}

async fn list_page(
    state: &AppState,
    who: &PortalUser,
    flash: Option<&'static str>,
    source: &str,
    problems: Vec<ProblemFinding>,
    status: StatusCode,
) -> Response {
    let list = match app::list(state, &who.principal).await {
        Ok(l) => l,
        Err(e) => return error_page(state, e),
    };
    render(
        state,
        status,
        "programs.html",
        minijinja::context! {
            title => "Programs", nav => "programs", me => who.me(), csrf => &who.csrf,
            programs => list, can_manage => who.principal.can_manage_programs(),
            source, problems, flash,
        },
    )
}

pub async fn list(State(state): State<AppState>, who: PortalUser, uri: Uri) -> Response {
    if let Err(r) = vendor_page(&state, &who) {
        return r;
    }
    list_page(&state, &who, flash(&uri), "", Vec::new(), StatusCode::OK).await
}

#[derive(Deserialize)]
pub struct UploadForm {
    source: String,
}

/// Saves a pasted or loaded program as a draft; a source that does not parse
/// comes back with its errors and nothing is saved.
pub async fn upload(State(state): State<AppState>, f: ProgramForm<UploadForm>) -> Response {
    let who = f.who;
    if let Err(r) = admin_action(&state, &who) {
        return r;
    }
    // Browsers send CRLF line ends from a textarea; store what the file said.
    let source = f.form.source.replace("\r\n", "\n");
    match app::upload_draft(&state, &who.principal, &who.actor, source.clone()).await {
        Ok(v) => Redirect::to(&format!(
            "/programs/{}/versions/{}",
            urlencode(&v.meta.program),
            v.meta.number
        ))
        .into_response(),
        Err(AppError::Program { findings, .. }) => {
            list_page(
                &state,
                &who,
                None,
                &source,
                findings,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => error_page(&state, e),
    }
}

pub async fn latest(
    State(state): State<AppState>,
    who: PortalUser,
    Path(slug): Path<String>,
) -> Response {
    if let Err(r) = vendor_page(&state, &who) {
        return r;
    }
    match app::versions(&state, &who.principal, &slug).await {
        Ok(v) if !v.is_empty() => {
            let pick = v
                .iter()
                .find(|v| v.status == VersionStatus::Published)
                .unwrap_or(&v[0]);
            Redirect::to(&format!(
                "/programs/{}/versions/{}",
                urlencode(&slug),
                pick.number
            ))
            .into_response()
        }
        Ok(_) => not_found_page(&state),
        Err(e) => error_page(&state, e),
    }
}

/// One source line with the findings that point at it.
#[derive(Serialize)]
struct SourceLine<'a> {
    n: usize,
    text: &'a str,
    severity: Option<&'static str>,
}

#[allow(clippy::too_many_arguments)]
async fn version_page(
    state: &AppState,
    who: &PortalUser,
    flash: Option<&'static str>,
    slug: &str,
    number: &str,
    blocked: Vec<ProblemFinding>,
    status: StatusCode,
) -> Response {
    let Ok(number) = number.parse::<i64>() else {
        return not_found_page(state);
    };
    let v = match app::source(state, &who.principal, slug, number).await {
        Ok(v) => v,
        Err(e) => return error_page(state, e),
    };
    let history = match app::versions(state, &who.principal, slug).await {
        Ok(h) => h,
        Err(e) => return error_page(state, e),
    };
    let p = match program::parse(&v.source) {
        Ok(p) => p,
        Err(e) => {
            return error_page(
                state,
                AppError::internal(format!("stored program does not parse: {e}")),
            )
        }
    };
    let findings: Vec<ProblemFinding> = lint::check(&p, &v.source)
        .iter()
        .map(ProblemFinding::from_finding)
        .collect();
    let lines: Vec<SourceLine> = v
        .source
        .lines()
        .enumerate()
        .map(|(i, text)| {
            let here = findings.iter().filter(|f| f.line == i + 1);
            let severity = here
                .map(|f| {
                    if f.severity == "error" {
                        "error"
                    } else {
                        "warning"
                    }
                })
                .max_by_key(|s| *s == "error");
            SourceLine {
                n: i + 1,
                text,
                severity,
            }
        })
        .collect();
    let errors = findings.iter().filter(|f| f.severity == "error").count();
    let matrix = view::matrix(&p);
    let gaps: usize = matrix.iter().map(view::MatrixRow::gaps).sum();
    let previous = history
        .iter()
        .filter(|h| h.number < number)
        .map(|h| h.number)
        .max();
    render(
        state,
        status,
        "program.html",
        minijinja::context! {
            title => format!("{} · version {}", v.name, v.meta.number), nav => "programs",
            me => who.me(), csrf => &who.csrf,
            v => &v.meta, name => &v.name, program => minijinja::context! {
                currency => &p.program.currency, effective => &p.program.effective,
                owner => &p.governance.owner, review_cadence => &p.governance.review_cadence,
                feedback_channel => &p.governance.feedback_channel,
                types => p.partner_types.len(), segments => p.segments.len(),
                elements => p.elements.len(), plays => p.plays.len(),
                structure => if !p.tiers.is_empty() { "tiers" } else if !p.tracks.is_empty() { "tracks" } else { "none" },
                levels => p.tiers.iter().chain(&p.tracks).map(|l| l.id.get_ref().clone()).collect::<Vec<_>>(),
            },
            findings, errors, blocked, lines, matrix, gaps,
            steps => program::model::Step::ALL.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
            economics => economics::table(&p),
            history, previous, flash,
            can_manage => who.principal.can_manage_programs(),
        },
    )
}

pub async fn show(
    State(state): State<AppState>,
    who: PortalUser,
    Path((slug, number)): Path<(String, String)>,
    uri: Uri,
) -> Response {
    if let Err(r) = vendor_page(&state, &who) {
        return r;
    }
    version_page(
        &state,
        &who,
        flash(&uri),
        &slug,
        &number,
        Vec::new(),
        StatusCode::OK,
    )
    .await
}

#[derive(Deserialize)]
pub struct NoFields {}

pub async fn publish(
    State(state): State<AppState>,
    Path((slug, number)): Path<(String, String)>,
    f: ProgramForm<NoFields>,
) -> Response {
    let who = f.who;
    let n = match acting_on(&state, &who, &number) {
        Ok(n) => n,
        Err(r) => return r,
    };
    match app::publish(&state, &who.principal, &who.actor, &slug, n).await {
        Ok(_) => Redirect::to(&format!(
            "/programs/{}/versions/{n}?msg=published",
            urlencode(&slug)
        ))
        .into_response(),
        Err(AppError::Program {
            findings: blocked, ..
        }) => {
            version_page(
                &state,
                &who,
                None,
                &slug,
                &number,
                blocked,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => error_page(&state, e),
    }
}

/// The version number of an admin action, once the caller may act.
fn acting_on(state: &AppState, who: &PortalUser, number: &str) -> Result<i64, Response> {
    admin_action(state, who)?;
    number.parse::<i64>().map_err(|_| not_found_page(state))
}

pub async fn retire(
    State(state): State<AppState>,
    Path((slug, number)): Path<(String, String)>,
    f: ProgramForm<NoFields>,
) -> Response {
    let n = match acting_on(&state, &f.who, &number) {
        Ok(n) => n,
        Err(r) => return r,
    };
    match app::retire(&state, &f.who.principal, &f.who.actor, &slug, n).await {
        Ok(_) => Redirect::to(&format!(
            "/programs/{}/versions/{n}?msg=retired",
            urlencode(&slug)
        ))
        .into_response(),
        Err(e) => error_page(&state, e),
    }
}

pub async fn delete(
    State(state): State<AppState>,
    Path((slug, number)): Path<(String, String)>,
    f: ProgramForm<NoFields>,
) -> Response {
    let n = match acting_on(&state, &f.who, &number) {
        Ok(n) => n,
        Err(r) => return r,
    };
    match app::delete_draft(&state, &f.who.principal, &f.who.actor, &slug, n).await {
        Ok(()) => Redirect::to("/programs?msg=deleted").into_response(),
        Err(e) => error_page(&state, e),
    }
}

#[derive(Deserialize, Default)]
pub struct DiffParams {
    from: Option<String>,
    to: Option<String>,
}

pub async fn diff(
    State(state): State<AppState>,
    who: PortalUser,
    Path(slug): Path<String>,
    PageQuery(q): PageQuery<DiffParams>,
) -> Response {
    if let Err(r) = vendor_page(&state, &who) {
        return r;
    }
    let (Some(from), Some(to)) = (
        q.from.and_then(|s| s.parse::<i64>().ok()),
        q.to.and_then(|s| s.parse::<i64>().ok()),
    ) else {
        return message_page(
            &state,
            StatusCode::BAD_REQUEST,
            "Choose two versions",
            "A diff needs two version numbers: ?from=1&to=2.",
        );
    };
    let d = match app::diff(&state, &who.principal, &slug, from, to).await {
        Ok(d) => d,
        Err(e) => return error_page(&state, e),
    };
    let history = match app::versions(&state, &who.principal, &slug).await {
        Ok(h) => h,
        Err(e) => return error_page(&state, e),
    };
    render(
        &state,
        StatusCode::OK,
        "program_diff.html",
        minijinja::context! {
            title => format!("{slug}: version {from} → {to}"), nav => "programs",
            me => who.me(), csrf => &who.csrf, slug, d, history,
        },
    )
}

/// The partner's programs as they apply to it (partner portal), and for
/// vendor users the partner's enrollments with a form to change them.
pub async fn partner_programs(
    State(state): State<AppState>,
    who: PortalUser,
    Path(id): Path<String>,
    uri: Uri,
) -> Response {
    partner_programs_page(&state, &who, flash(&uri), &id, None, StatusCode::OK).await
}

async fn partner_programs_page(
    state: &AppState,
    who: &PortalUser,
    flash: Option<&'static str>,
    id: &str,
    error: Option<String>,
    status: StatusCode,
) -> Response {
    let partner = match partners::visible(state, &who.principal, id).await {
        Ok(p) => p,
        Err(e) => return error_page(state, e),
    };
    let mine = match app::programs_of(state, &partner.id).await {
        Ok(m) => m,
        Err(e) => return error_page(state, e),
    };
    let can_enroll = who.principal.can_enroll_partner(partner.as_ref());
    let mut choices = Vec::new();
    if can_enroll {
        let list = match app::list(state, &who.principal).await {
            Ok(l) => l,
            Err(e) => return error_page(state, e),
        };
        for s in list.iter().filter(|s| s.published.is_some()) {
            if let Ok((_, p)) = app::published_program(&state.db, &s.slug).await {
                choices.push(minijinja::context! {
                    slug => &s.slug, name => &s.name,
                    types => p.partner_types.iter().map(|t| t.id.get_ref().clone()).collect::<Vec<_>>(),
                    segments => p.segments.iter().map(|t| t.id.get_ref().clone()).collect::<Vec<_>>(),
                    levels => view::level_ids(&p),
                });
            }
        }
    }
    render(
        state,
        status,
        "partner_programs.html",
        minijinja::context! {
            title => format!("{}: programs", partner.name),
            nav => if who.principal.is_vendor() { "partners" } else { "programs" },
            me => who.me(), csrf => &who.csrf, p => &partner, programs => mine,
            steps => program::model::Step::ALL.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
            can_enroll, choices, error, flash,
        },
    )
}

#[derive(Deserialize)]
pub struct EnrollForm {
    program: String,
    partner_type: String,
    segment: String,
    #[serde(default)]
    level: String,
}

pub async fn enroll(
    State(state): State<AppState>,
    Path(id): Path<String>,
    f: ProgramForm<EnrollForm>,
) -> Response {
    let who = f.who;
    let partner = match partners::visible(&state, &who.principal, &id).await {
        Ok(p) => p,
        Err(e) => return error_page(&state, e),
    };
    let form = f.form;
    let body = EnrollRequest {
        partner_type: form.partner_type,
        segment: form.segment,
        level: Some(form.level),
    };
    match app::enroll(
        &state,
        &who.principal,
        &who.actor,
        &partner,
        &form.program,
        &body,
    )
    .await
    {
        Ok(_) => {
            Redirect::to(&format!("/partners/{}/programs?msg=saved", partner.id)).into_response()
        }
        Err(AppError::NotFound("published program")) => {
            partner_programs_page(
                &state,
                &who,
                None,
                &id,
                Some("That program has no published version.".into()),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(AppError::Invalid(errs)) => {
            let msg = errs
                .0
                .iter()
                .map(|e| e.message.clone())
                .collect::<Vec<_>>()
                .join("; ");
            partner_programs_page(
                &state,
                &who,
                None,
                &id,
                Some(msg),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => error_page(&state, e),
    }
}
