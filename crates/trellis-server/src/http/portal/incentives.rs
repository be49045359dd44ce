//! Incentive pages: the vendor's totals by period (by partner, rule and
//! element) with approvals and disputes; the sales-out upload page for vendor
//! admins and distributors; disputes from the partner's Earnings page. The
//! use cases are `app::incentives`.

use super::page::PageQuery;
use super::partners::load_visible;
use super::{error_page, not_found_page, render, CsrfForm, PortalUser};
use crate::app::incentives::{self as app, calculate, import, statements, UnknownSku, COLUMNS};
use crate::app::AppError;
use crate::http::AppState;
use axum::extract::{Path, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

/// GET /incentives (vendor users).
pub async fn totals(State(state): State<AppState>, who: PortalUser, uri: Uri) -> Response {
    if !who.principal.is_vendor() {
        return not_found_page(&state);
    }
    let periods = match statements::totals(&state).await {
        Ok(t) => t,
        Err(e) => return error_page(&state, e),
    };
    let open = match statements::open_disputes(&state).await {
        Ok(d) => d,
        Err(e) => return error_page(&state, e),
    };
    let (program, versions, program_problem) = match calculate::comparable(&state).await {
        Ok(Ok((program, versions))) => (Some(program), versions, None),
        Ok(Err(problem)) => (None, Vec::new(), Some(problem)),
        Err(e) => return error_page(&state, e),
    };
    let period = periods
        .first()
        .map(|t| t.period.clone())
        .unwrap_or_else(current_quarter);
    render(
        &state,
        StatusCode::OK,
        "incentives.html",
        minijinja::context! {
            title => "Incentives", nav => "incentives", me => who.me(), csrf => &who.csrf,
            periods, disputes => open, can_approve => who.principal.can_manage_programs(),
            flash => super::flash(&uri), program, versions, program_problem, period,
        },
    )
}

fn current_quarter() -> String {
    use chrono::Datelike;
    let today = chrono::Utc::now().date_naive();
    format!("{}-Q{}", today.year(), today.month0() / 3 + 1)
}

#[derive(Deserialize)]
pub struct PeriodForm {
    period: String,
    /// Only this partner's statement (else the whole period).
    #[serde(default)]
    partner_id: Option<String>,
}

#[derive(Deserialize)]
pub struct CalculateForm {
    period: String,
    /// A version number to compare with, or empty.
    #[serde(default)]
    what_if_version: String,
    /// `preview` (nothing saved) or `save` (draft statements).
    action: String,
}

/// POST /incentives/calculate (vendor admins): a preview of a period's
/// statements, optionally against another version of the program, or the
/// drafts saved.
pub async fn calculate(State(state): State<AppState>, f: CsrfForm<CalculateForm>) -> Response {
    match preview(&state, &f).await {
        Ok(r) => r,
        Err(e) => error_page(&state, e),
    }
}

async fn preview(state: &AppState, f: &CsrfForm<CalculateForm>) -> Result<Response, AppError> {
    app::vendor_admins_only(&f.who.principal, "calculate statements")?;
    let save = f.form.action == "save";
    let what_if_version = match f.form.what_if_version.trim() {
        "" => None,
        n => Some(n.parse::<i64>().map_err(|_| {
            AppError::field(
                "what_if_version",
                "invalid-value",
                "what_if_version: not a version number",
            )
        })?),
    };
    let other = if save {
        None
    } else {
        calculate::other_version(state, None, what_if_version).await?
    };
    let run = calculate::run(state, &f.form.period, None, !save).await?;
    if save {
        return Ok(Redirect::to("/incentives?msg=calculated").into_response());
    }
    let what_if = match other {
        Some((under, draft, n)) => {
            Some(calculate::what_if(state, &run, &under, &draft, Some(n)).await?)
        }
        None => None,
    };
    let names = app::partner_names(state).await?;
    let c = &run.calculation;
    let total: rust_decimal::Decimal = c.statements.iter().map(|s| s.total).sum();
    let statements: Vec<minijinja::Value> = c
        .statements
        .iter()
        .map(|s| {
            minijinja::context! {
                partner => names.get(&s.partner_id).cloned().unwrap_or_else(|| s.partner_id.clone()),
                total => s.total.to_string(), funds => s.funds.to_string(), lines => &s.lines,
            }
        })
        .collect();
    Ok(render(
        state,
        StatusCode::OK,
        "incentives_preview.html",
        minijinja::context! {
            title => format!("Preview {}", c.period), nav => "incentives", me => f.who.me(), csrf => &f.who.csrf,
            calc => c, statements, total => total.to_string(), what_if,
        },
    ))
}

/// POST /incentives/approve: approves every draft statement of a period
/// (or one partner's), in one transaction.
pub async fn approve(State(state): State<AppState>, f: CsrfForm<PeriodForm>) -> Response {
    let partner = f.form.partner_id.as_deref().filter(|p| !p.is_empty());
    match statements::approve(
        &state,
        &f.who.principal,
        &f.who.actor,
        None,
        &f.form.period,
        partner,
    )
    .await
    {
        Ok(_) => Redirect::to("/incentives?msg=approved").into_response(),
        Err(e) => error_page(&state, e),
    }
}

#[derive(Deserialize, Default)]
pub struct PayoutQuery {
    period: String,
}

/// GET /incentives/payout?period=2027-Q1 (vendor admins): the payout file of
/// the period's approved statements, as `trellis incentives payout` writes it.
pub async fn payout(
    State(state): State<AppState>,
    who: PortalUser,
    PageQuery(q): PageQuery<PayoutQuery>,
) -> Response {
    if !who.principal.can_manage_programs() {
        return not_found_page(&state);
    }
    if let Err(e) = calculate::period(&q.period) {
        return error_page(&state, e);
    }
    match statements::payout_csv(&state, &who.principal, None, &q.period).await {
        Ok(csv) => (
            [
                (
                    axum::http::header::CONTENT_TYPE,
                    "text/csv; charset=utf-8".to_string(),
                ),
                (
                    axum::http::header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"payout-{}.csv\"", q.period),
                ),
            ],
            csv,
        )
            .into_response(),
        Err(e) => error_page(&state, e),
    }
}

#[derive(Deserialize)]
pub struct AnswerForm {
    answer: String,
}

/// POST /incentives/disputes/{id}/resolve.
pub async fn resolve(
    State(state): State<AppState>,
    Path(id): Path<String>,
    f: CsrfForm<AnswerForm>,
) -> Response {
    if !f.who.principal.is_vendor() {
        return not_found_page(&state);
    }
    match statements::resolve_dispute(&state, &f.who.principal, &f.who.actor, &id, &f.form.answer)
        .await
    {
        Ok(()) => Redirect::to("/incentives?msg=answered").into_response(),
        Err(e) => error_page(&state, e),
    }
}

#[derive(Deserialize)]
pub struct DisputeForm {
    rule: String,
    comment: String,
}

/// POST /partners/{id}/statements/{statement}/dispute (the partner's admin).
pub async fn dispute(
    State(state): State<AppState>,
    Path((id, statement)): Path<(String, String)>,
    f: CsrfForm<DisputeForm>,
) -> Response {
    let p = match load_visible(&state, &f.who, &id).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    match statements::dispute(
        &state,
        &f.who.principal,
        &f.who.actor,
        &p,
        &statement,
        &f.form.rule,
        &f.form.comment,
    )
    .await
    {
        Ok(_) => Redirect::to(&format!("/partners/{}/earnings?msg=disputed", p.id)).into_response(),
        Err(e) => error_page(&state, e),
    }
}

/// GET /sales/import.
pub async fn upload_form(State(state): State<AppState>, who: PortalUser) -> Response {
    match app::may_upload(&state, &who.principal).await {
        Ok(true) => {}
        Ok(false) => return not_found_page(&state),
        Err(e) => return error_page(&state, e),
    }
    render(
        &state,
        StatusCode::OK,
        "sales_import.html",
        minijinja::context! {
            title => "Upload sales-out data", nav => "incentives", me => who.me(), csrf => &who.csrf,
            columns => COLUMNS,
        },
    )
}

#[derive(Deserialize)]
pub struct UploadForm {
    csv: String,
    #[serde(default)]
    hold_unknown: Option<String>,
}

/// POST /sales/import: the same import as the command line (up to 4 MiB
/// here; larger files go through `trellis import sales`).
pub async fn upload(
    State(state): State<AppState>,
    f: super::programs::ProgramForm<UploadForm>,
) -> Response {
    match app::may_upload(&state, &f.who.principal).await {
        Ok(true) => {}
        Ok(false) => return not_found_page(&state),
        Err(e) => return error_page(&state, e),
    }
    let unknown = if f.form.hold_unknown.is_some() {
        UnknownSku::Hold
    } else {
        UnknownSku::Reject
    };
    let r = import::import(
        &state,
        &f.who.actor,
        "upload.csv",
        f.form.csv.as_bytes(),
        unknown,
        &mut |_, _| {},
    )
    .await;
    match r {
        Ok(s) => render(
            &state,
            StatusCode::OK,
            "sales_import.html",
            minijinja::context! {
                title => "Upload sales-out data", nav => "incentives", me => f.who.me(), csrf => &f.who.csrf,
                columns => COLUMNS, summary => s,
            },
        ),
        Err(AppError::Rejected(r)) => render(
            &state,
            StatusCode::UNPROCESSABLE_ENTITY,
            "sales_import.html",
            minijinja::context! {
                title => "Upload sales-out data", nav => "incentives", me => f.who.me(), csrf => &f.who.csrf,
                columns => COLUMNS, problems => r.0, csv => &f.form.csv,
            },
        ),
        Err(e) => error_page(&state, e),
    }
}
