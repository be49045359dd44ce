//! Onboarding pages: a partner's checklist, progress and lifecycle stage
//! (for the partner and its channel manager), and agreements (vendor admins
//! publish versions; partner admins read, accept and download them).

use super::login::client_ip;
use super::partners::load_visible;
use super::{
    error_map, error_page, flash, message_page, not_found_page, render, CsrfForm, PortalUser,
};
use crate::app::agreements::{self, NewAgreement};
use crate::app::{onboarding, AppError};
use crate::http::AppState;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{header, HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use std::net::SocketAddr;
use trellis_core::FieldErrors;

async fn onboarding_page(
    state: &AppState,
    who: &PortalUser,
    id: &str,
    uri: Option<&Uri>,
    errors: Option<&FieldErrors>,
    status: StatusCode,
) -> Response {
    let p = match load_visible(state, who, id).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let ob = match onboarding::get(state, &p.id).await {
        Ok(o) => o,
        Err(e) => return error_page(state, e),
    };
    let (current, accepted) = match agreements::standing(state, &p).await {
        Ok(a) => a,
        Err(e) => return error_page(state, e),
    };
    let current_accepted = current
        .as_ref()
        .and_then(|c| accepted.iter().find(|a| a.agreement_id == c.id));
    let next_stages: Vec<&str> = p.stage.next().iter().map(|s| s.as_str()).collect();
    render(
        state,
        status,
        "onboarding.html",
        minijinja::context! {
            title => format!("Onboarding · {}", p.name),
            nav => if who.principal.is_vendor() { "partners" } else { "onboarding" },
            me => who.me(), csrf => &who.csrf, p => &p, ob => &ob,
            agreement => &current, current_accepted, accepted => &accepted,
            can_tick => who.principal.can_tick_onboarding(p.as_ref()),
            can_move => who.principal.can_move_stage(p.as_ref()),
            can_accept => who.principal.can_accept_agreement(p.as_ref()),
            next_stages, errors => errors.map(error_map),
            flash => uri.and_then(flash),
        },
    )
}

/// GET /partners/{id}/onboarding.
pub async fn show(
    State(state): State<AppState>,
    who: PortalUser,
    uri: Uri,
    Path(id): Path<String>,
) -> Response {
    onboarding_page(&state, &who, &id, Some(&uri), None, StatusCode::OK).await
}

#[derive(Deserialize)]
pub struct TaskForm {
    done: String,
}

/// POST /partners/{id}/onboarding/{task}.
pub async fn tick(
    State(state): State<AppState>,
    Path((id, task)): Path<(String, String)>,
    f: CsrfForm<TaskForm>,
) -> Response {
    let p = match load_visible(&state, &f.who, &id).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let done = f.form.done == "1";
    match onboarding::tick(&state, &f.who.principal, &f.who.actor, &p, &task, done).await {
        Ok(()) => Redirect::to(&format!("/partners/{}/onboarding?msg=task", p.id)).into_response(),
        Err(e) => error_page(&state, e),
    }
}

#[derive(Deserialize)]
pub struct StageForm {
    stage: String,
    #[serde(default)]
    reason: String,
}

/// POST /partners/{id}/stage.
pub async fn move_stage(
    State(state): State<AppState>,
    Path(id): Path<String>,
    f: CsrfForm<StageForm>,
) -> Response {
    let p = match load_visible(&state, &f.who, &id).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let r = onboarding::move_stage(
        &state,
        &f.who.principal,
        &f.who.actor,
        &p,
        &f.form.stage,
        &f.form.reason,
    )
    .await;
    match r {
        Ok(()) => Redirect::to(&format!("/partners/{}/onboarding?msg=stage", p.id)).into_response(),
        Err(AppError::Invalid(errs)) => {
            onboarding_page(
                &state,
                &f.who,
                &id,
                None,
                Some(&errs),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(AppError::Conflict { field, message }) => {
            let errs: FieldErrors =
                trellis_core::FieldError::new(field, "conflict", message).into();
            onboarding_page(&state, &f.who, &id, None, Some(&errs), StatusCode::CONFLICT).await
        }
        Err(e) => error_page(&state, e),
    }
}

async fn agreements_page(
    state: &AppState,
    who: &PortalUser,
    uri: Option<&Uri>,
    errors: Option<&FieldErrors>,
    values: Option<&NewAgreementForm>,
    status: StatusCode,
) -> Response {
    if !who.principal.is_vendor() {
        // Partners read theirs on the onboarding page.
        return match &who.user.partner_id {
            Some(pid) => Redirect::to(&format!("/partners/{pid}/onboarding")).into_response(),
            None => not_found_page(state),
        };
    }
    let list = match agreements::list(state, &who.principal).await {
        Ok(l) => l,
        Err(e) => return error_page(state, e),
    };
    render(
        state,
        status,
        "agreements.html",
        minijinja::context! {
            title => "Agreements", nav => "agreements", me => who.me(), csrf => &who.csrf,
            agreements => &list, can_manage => who.principal.can_manage_agreements(),
            errors => errors.map(error_map), values => values.map(|v| minijinja::context! {
                partner_type => &v.partner_type, title => &v.title, body => &v.body }),
            flash => uri.and_then(flash),
        },
    )
}

/// GET /agreements.
pub async fn list(State(state): State<AppState>, who: PortalUser, uri: Uri) -> Response {
    agreements_page(&state, &who, Some(&uri), None, None, StatusCode::OK).await
}

#[derive(Deserialize)]
pub struct NewAgreementForm {
    #[serde(default)]
    partner_type: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    body: String,
}

/// POST /agreements: a new version.
pub async fn create(State(state): State<AppState>, f: CsrfForm<NewAgreementForm>) -> Response {
    let new = NewAgreement {
        partner_type: f.form.partner_type.clone(),
        title: f.form.title.clone(),
        body: f.form.body.clone(),
    };
    match agreements::create(&state, &f.who.principal, &f.who.actor, &new).await {
        Ok(_) => Redirect::to("/agreements?msg=agreement").into_response(),
        Err(AppError::Invalid(errs)) => {
            agreements_page(
                &state,
                &f.who,
                None,
                Some(&errs),
                Some(&f.form),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => error_page(&state, e),
    }
}

async fn readable(
    state: &AppState,
    who: &PortalUser,
    id: &str,
) -> Result<
    (
        crate::store::agreements::Agreement,
        Option<crate::store::partners::Partner>,
    ),
    Response,
> {
    agreements::readable(state, &who.principal, id)
        .await
        .map_err(|e| error_page(state, e))
}

/// GET /agreements/{id}: the text, rendered; partners see whether they accepted it.
pub async fn agreement(
    State(state): State<AppState>,
    who: PortalUser,
    Path(id): Path<String>,
) -> Response {
    let (a, partner) = match readable(&state, &who, &id).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let (acceptance, current, can_accept) = match &partner {
        Some(p) => {
            let (current, accepted) = match agreements::standing(&state, p).await {
                Ok(x) => x,
                Err(e) => return error_page(&state, e),
            };
            let acc = accepted.into_iter().find(|x| x.agreement_id == a.id);
            let current = current.is_some_and(|c| c.id == a.id);
            (acc, current, who.principal.can_accept_agreement(p.as_ref()))
        }
        None => (None, false, false),
    };
    render(
        &state,
        StatusCode::OK,
        "agreement.html",
        minijinja::context! {
            title => &a.title, nav => if who.principal.is_vendor() { "agreements" } else { "onboarding" },
            me => who.me(), csrf => &who.csrf, a => &a, html => agreements::render_html(&a.body),
            acceptance, current, can_accept,
        },
    )
}

/// POST /agreements/{id}/accept.
pub async fn accept(
    State(state): State<AppState>,
    headers: HeaderMap,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(id): Path<String>,
    f: CsrfForm<super::NoFields>,
) -> Response {
    let p = match crate::app::partners::own(&state, &f.who.principal, "not a partner user").await {
        Ok(p) => p,
        Err(_) => return not_found_page(&state),
    };
    let ip = client_ip(&state, &headers, peer);
    match agreements::accept(&state, &f.who.principal, &f.who.actor, &p, &id, &ip).await {
        Ok(_) => {
            Redirect::to(&format!("/partners/{}/onboarding?msg=accepted", p.id)).into_response()
        }
        Err(AppError::Conflict { message, .. }) => {
            message_page(&state, StatusCode::CONFLICT, "Cannot accept", &message)
        }
        Err(e) => error_page(&state, e),
    }
}

/// GET /agreements/{id}/download: the Markdown text, with what was accepted
/// (by whom, when, from where, and the hash) when the caller's partner did.
pub async fn download(
    State(state): State<AppState>,
    who: PortalUser,
    Path(id): Path<String>,
) -> Response {
    let (a, partner) = match readable(&state, &who, &id).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let mut text = String::new();
    if let Some(p) = &partner {
        match agreements::standing(&state, p).await {
            Ok((_, list)) => {
                if let Some(acc) = list.iter().find(|x| x.agreement_id == a.id) {
                    text.push_str(&format!(
                        "<!-- Accepted by {} on {} from {}; SHA-256 of the text below: {} -->\n\n",
                        acc.user_email, acc.at, acc.ip, acc.sha256
                    ));
                }
            }
            Err(e) => return error_page(&state, e),
        }
    }
    text.push_str(&a.body);
    let name = format!(
        "agreement-{}-v{}.md",
        if a.partner_type == agreements::ANY_TYPE {
            "all"
        } else {
            a.partner_type.as_str()
        },
        a.version
    );
    (
        [
            (
                header::CONTENT_TYPE,
                "text/markdown; charset=utf-8".to_string(),
            ),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        text,
    )
        .into_response()
}

/// GET /partners/{id}/earnings: the partner's statements with their lines and
/// the distance to the next band (the partner's own users and the vendor).
pub async fn earnings(
    State(state): State<AppState>,
    who: PortalUser,
    uri: Uri,
    Path(id): Path<String>,
) -> Response {
    let p = match load_visible(&state, &who, &id).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let e = match crate::app::incentives::statements::earnings(&state, &p.id).await {
        Ok(e) => e,
        Err(e) => return error_page(&state, e),
    };
    use trellis_core::incentives::cents;
    let to_date: Vec<_> = e
        .to_date
        .iter()
        .map(|t| {
            minijinja::context! {
                currency => &t.currency, approved => cents(t.approved).to_string(),
                funds => cents(t.funds).to_string(), draft => cents(t.draft).to_string(),
                has_funds => !t.funds.is_zero(), has_draft => !t.draft.is_zero(),
            }
        })
        .collect();
    let statements: Vec<_> = e
        .statements
        .iter()
        .map(|(s, disputes, currency)| {
            minijinja::context! {
                currency, disputes, ..minijinja::Value::from_serialize(s)
            }
        })
        .collect();
    render(
        &state,
        StatusCode::OK,
        "earnings.html",
        minijinja::context! {
            title => format!("Earnings · {}", p.name),
            nav => if who.principal.is_vendor() { "partners" } else { "earnings" },
            me => who.me(), csrf => &who.csrf, p => &p, statements, to_date,
            can_dispute => who.principal.can_accept_agreement(p.as_ref()),
            flash => flash(&uri),
        },
    )
}
