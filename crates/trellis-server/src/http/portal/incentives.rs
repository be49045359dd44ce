//! Incentive pages: the vendor's totals by period (by partner, rule and
//! element) with approvals and disputes; the sales-out upload page for vendor
//! admins and distributors; disputes from the partner's Earnings page.

use super::partners::allowed_partner;
use super::{internal_page, message_page, not_found_page, render, CsrfForm, PortalUser};
use crate::http::AppState;
use crate::sales::{self, SalesError, UnknownSku};
use axum::extract::{Path, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use trellis_core::access::Principal;

fn sales_error(state: &AppState, e: SalesError) -> Response {
    match e {
        SalesError::Invalid(m) => {
            message_page(state, StatusCode::UNPROCESSABLE_ENTITY, "Not done", &m)
        }
        SalesError::Rejected(r) => message_page(
            state,
            StatusCode::UNPROCESSABLE_ENTITY,
            "Nothing was imported",
            &r.to_string(),
        ),
        SalesError::Store(crate::store::StoreError::NotFound(_)) => not_found_page(state),
        other => internal_page(state, other),
    }
}

/// GET /incentives (vendor users).
pub async fn totals(State(state): State<AppState>, who: PortalUser, uri: Uri) -> Response {
    if !who.principal.is_vendor() {
        return not_found_page(&state);
    }
    let periods = match sales::totals(&state.db).await {
        Ok(t) => t,
        Err(e) => return sales_error(&state, e),
    };
    let open = match sales::disputes(&state.db, None, Some("open")).await {
        Ok(d) => d,
        Err(e) => return sales_error(&state, e),
    };
    // What the calculation form offers: the program with incentive rules
    // and its other versions, to compare against.
    let (program, versions, program_problem) = match sales::program_of(&state.db, None).await {
        Ok((_, number, p)) => {
            let slug = p.program.id.get_ref().clone();
            let others: Vec<crate::store::programs::VersionMeta> =
                crate::store::programs::versions(&state.db, &slug)
                    .await
                    .unwrap_or_default()
                    .into_iter()
                    .filter(|v| v.number != number)
                    .collect();
            (Some(format!("{slug} v{number}")), others, None)
        }
        Err(e) => (None, Vec::new(), Some(e.to_string())),
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
    if !f.who.principal.can_manage_programs() {
        return message_page(
            &state,
            StatusCode::FORBIDDEN,
            "Not allowed",
            "Vendor admins calculate statements.",
        );
    }
    let save = f.form.action == "save";
    let what_if_version = match f.form.what_if_version.trim() {
        "" => None,
        n => match n.parse::<i64>() {
            Ok(n) => Some(n),
            Err(_) => {
                return sales_error(
                    &state,
                    SalesError::Invalid("what_if_version: not a version number".into()),
                )
            }
        },
    };
    let other = match what_if_version {
        Some(n) if !save => match sales::version_to_compare(&state.db, None, n).await {
            Ok(o) => Some(o),
            Err(e) => return sales_error(&state, e),
        },
        _ => None,
    };
    let run = match sales::run(&state.db, &f.form.period, None, !save).await {
        Ok(r) => r,
        Err(e) => return sales_error(&state, e),
    };
    if save {
        return Redirect::to("/incentives?msg=calculated").into_response();
    }
    let what_if = match other {
        Some((under, draft, n)) => {
            match sales::what_if(&state.db, &run, &under, &draft, Some(n)).await {
                Ok(w) => Some(w),
                Err(e) => return sales_error(&state, e),
            }
        }
        None => None,
    };
    let names = match sales::partner_names(&state.db).await {
        Ok(n) => n,
        Err(e) => return sales_error(&state, e),
    };
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
    render(
        &state,
        StatusCode::OK,
        "incentives_preview.html",
        minijinja::context! {
            title => format!("Preview {}", c.period), nav => "incentives", me => f.who.me(), csrf => &f.who.csrf,
            calc => c, statements, total => total.to_string(), what_if,
        },
    )
}

/// POST /incentives/approve: approves every draft statement of a period.
pub async fn approve(State(state): State<AppState>, f: CsrfForm<PeriodForm>) -> Response {
    if !f.who.principal.can_manage_programs() {
        return message_page(
            &state,
            StatusCode::FORBIDDEN,
            "Not allowed",
            "Vendor admins approve statements.",
        );
    }
    let partner = f.form.partner_id.as_deref().filter(|p| !p.is_empty());
    if let Err(e) = sales::approve_period(&state.db, &f.who.actor, &f.form.period, partner).await {
        return sales_error(&state, e);
    }
    Redirect::to("/incentives?msg=approved").into_response()
}

#[derive(Deserialize)]
pub struct PayoutQuery {
    period: String,
}

/// GET /incentives/payout?period=2027-Q1 (vendor admins): the payout file of
/// the period's approved statements, as `trellis incentives payout` writes it.
pub async fn payout(
    State(state): State<AppState>,
    who: PortalUser,
    axum::extract::Query(q): axum::extract::Query<PayoutQuery>,
) -> Response {
    if !who.principal.can_manage_programs() {
        return not_found_page(&state);
    }
    if let Err(e) = trellis_core::incentives::Period::parse(&q.period) {
        return sales_error(&state, SalesError::Invalid(format!("period: {e}")));
    }
    match sales::payout_csv_period(&state.db, &q.period).await {
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
        Err(e) => sales_error(&state, e),
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
    match sales::resolve_dispute(&state.db, &f.who.actor, &id, &f.form.answer).await {
        Ok(()) => Redirect::to("/incentives?msg=answered").into_response(),
        Err(e) => sales_error(&state, e),
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
    let p = match allowed_partner(
        &state,
        &f.who,
        &id,
        Principal::can_accept_agreement,
        "Your organisation's admin disputes statement lines.",
    )
    .await
    {
        Ok(p) => p,
        Err(r) => return r,
    };
    match sales::dispute(
        &state.db,
        &f.who.actor,
        &p.id,
        &statement,
        &f.form.rule,
        &f.form.comment,
    )
    .await
    {
        Ok(_) => Redirect::to(&format!("/partners/{}/earnings?msg=disputed", p.id)).into_response(),
        Err(e) => sales_error(&state, e),
    }
}

/// Vendor admins, and the admins of distributors (who report their
/// resellers' sales), may upload sales-out files.
fn may_upload(who: &PortalUser, partner_type: Option<&str>) -> bool {
    who.principal.can_manage_programs()
        || (who.user.role == trellis_core::org::Role::PartnerAdmin
            && partner_type == Some("distributor"))
}

async fn partner_type_of(state: &AppState, who: &PortalUser) -> Option<String> {
    let id = who.user.partner_id.as_deref()?;
    crate::store::partners::get(&state.db, id)
        .await
        .ok()
        .flatten()
        .map(|p| p.partner_type)
}

/// GET /sales/import.
pub async fn upload_form(State(state): State<AppState>, who: PortalUser) -> Response {
    if !may_upload(&who, partner_type_of(&state, &who).await.as_deref()) {
        return not_found_page(&state);
    }
    render(
        &state,
        StatusCode::OK,
        "sales_import.html",
        minijinja::context! {
            title => "Upload sales-out data", nav => "incentives", me => who.me(), csrf => &who.csrf,
            columns => sales::COLUMNS,
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
    if !may_upload(&f.who, partner_type_of(&state, &f.who).await.as_deref()) {
        return not_found_page(&state);
    }
    let unknown = if f.form.hold_unknown.is_some() {
        UnknownSku::Hold
    } else {
        UnknownSku::Reject
    };
    let r = sales::import(
        &state.db,
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
                columns => sales::COLUMNS, summary => s,
            },
        ),
        Err(SalesError::Rejected(r)) => render(
            &state,
            StatusCode::UNPROCESSABLE_ENTITY,
            "sales_import.html",
            minijinja::context! {
                title => "Upload sales-out data", nav => "incentives", me => f.who.me(), csrf => &f.who.csrf,
                columns => sales::COLUMNS, problems => r.0, csv => &f.form.csv,
            },
        ),
        Err(e) => sales_error(&state, e),
    }
}
