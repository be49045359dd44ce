//! Onboarding pages: a partner's checklist, progress and lifecycle stage
//! (for the partner and its channel manager), and agreements (vendor admins
//! publish versions; partner admins read, accept and download them).

use super::login::client_ip;
use super::partners::{allowed_partner, load_visible};
use super::{
    error_map, flash, internal_page, message_page, not_found_page, render, CsrfForm, PortalUser,
};
use crate::http::AppState;
use crate::store::{agreements, onboarding, StoreError};
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{header, HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use std::net::SocketAddr;
use trellis_core::access::Principal;
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
    let ob = match onboarding::get(&state.db, &p.id).await {
        Ok(o) => o,
        Err(e) => return internal_page(state, e),
    };
    let current = match agreements::current_for(&state.db, &p.partner_type).await {
        Ok(a) => a,
        Err(e) => return internal_page(state, e),
    };
    let accepted = match agreements::acceptances(&state.db, &p.id).await {
        Ok(a) => a,
        Err(e) => return internal_page(state, e),
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
    let p = match allowed_partner(
        &state,
        &f.who,
        &id,
        Principal::can_tick_onboarding,
        "Only the partner's admin, its channel manager or a vendor admin can tick tasks.",
    )
    .await
    {
        Ok(p) => p,
        Err(r) => return r,
    };
    match onboarding::set_task(&state.db, &f.who.actor, &p.id, &task, f.form.done == "1").await {
        Ok(()) => Redirect::to(&format!("/partners/{}/onboarding?msg=task", p.id)).into_response(),
        Err(StoreError::NotFound(_)) => not_found_page(&state),
        Err(e) => internal_page(&state, e),
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
    let p = match allowed_partner(
        &state,
        &f.who,
        &id,
        Principal::can_move_stage,
        "Only a vendor admin or the partner's channel manager can move its stage.",
    )
    .await
    {
        Ok(p) => p,
        Err(r) => return r,
    };
    let r = onboarding::move_stage(
        &state.db,
        &f.who.actor,
        &p.id,
        &f.form.stage,
        &f.form.reason,
    )
    .await;
    match r {
        Ok(()) => Redirect::to(&format!("/partners/{}/onboarding?msg=stage", p.id)).into_response(),
        Err(StoreError::Invalid(errs)) => {
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
        Err(StoreError::Conflict { field, message }) => {
            let errs: FieldErrors =
                trellis_core::FieldError::new(field, "conflict", message).into();
            onboarding_page(&state, &f.who, &id, None, Some(&errs), StatusCode::CONFLICT).await
        }
        Err(e) => internal_page(&state, e),
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
    let list = match agreements::list(&state.db).await {
        Ok(l) => l,
        Err(e) => return internal_page(state, e),
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
    if !f.who.principal.can_manage_agreements() {
        return message_page(
            &state,
            StatusCode::FORBIDDEN,
            "Not allowed",
            "Only vendor admins publish agreements.",
        );
    }
    let r = agreements::create(
        &state.db,
        &f.who.actor,
        &f.form.partner_type,
        &f.form.title,
        &f.form.body,
    )
    .await;
    match r {
        Ok(_) => Redirect::to("/agreements?msg=agreement").into_response(),
        Err(StoreError::Invalid(errs)) => {
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
        Err(e) => internal_page(&state, e),
    }
}

/// The agreement if the user may read it: vendor users any, partner users
/// those for their type (with their partner, loaded for the check).
async fn readable(
    state: &AppState,
    who: &PortalUser,
    id: &str,
) -> Result<
    (
        agreements::Agreement,
        Option<crate::store::partners::Partner>,
    ),
    Response,
> {
    let a = match agreements::get(&state.db, id).await {
        Ok(Some(a)) => a,
        Ok(None) => return Err(not_found_page(state)),
        Err(e) => return Err(internal_page(state, e)),
    };
    if who.principal.is_vendor() {
        return Ok((a, None));
    }
    let pid = who.user.partner_id.clone().unwrap_or_default();
    match load_visible(state, who, &pid).await {
        Ok(p) if agreements::applies_to(&a, &p.partner_type) => Ok((a, Some(p))),
        Ok(_) => Err(not_found_page(state)),
        Err(r) => Err(r),
    }
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
            let acc = match agreements::acceptances(&state.db, &p.id).await {
                Ok(list) => list.into_iter().find(|x| x.agreement_id == a.id),
                Err(e) => return internal_page(&state, e),
            };
            let current = match agreements::current_for(&state.db, &p.partner_type).await {
                Ok(c) => c.is_some_and(|c| c.id == a.id),
                Err(e) => return internal_page(&state, e),
            };
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
    let Some(pid) = f.who.user.partner_id.clone() else {
        return not_found_page(&state);
    };
    let p = match allowed_partner(
        &state,
        &f.who,
        &pid,
        Principal::can_accept_agreement,
        "Only your organisation's admin can accept the agreement.",
    )
    .await
    {
        Ok(p) => p,
        Err(r) => return r,
    };
    let ip = client_ip(&state, &headers, peer);
    match agreements::accept(&state.db, &f.who.actor, &p, &id, &ip).await {
        Ok(_) => {
            Redirect::to(&format!("/partners/{}/onboarding?msg=accepted", p.id)).into_response()
        }
        Err(StoreError::Conflict { message, .. }) => {
            message_page(&state, StatusCode::CONFLICT, "Cannot accept", &message)
        }
        Err(StoreError::NotFound(_)) => not_found_page(&state),
        Err(e) => internal_page(&state, e),
    }
}

/// GET /agreements/{id}/download: the Markdown text, with what was accepted
/// (by whom, when, from where, and the hash) when the caller's partner did.
pub async fn download(
    State(state): State<AppState>,
    who: PortalUser,
    Path(id): Path<String>,
) -> Response {
    let (a, _) = match readable(&state, &who, &id).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let mut text = String::new();
    if let Some(pid) = &who.user.partner_id {
        match agreements::acceptances(&state.db, pid).await {
            Ok(list) => {
                if let Some(acc) = list.iter().find(|x| x.agreement_id == a.id) {
                    text.push_str(&format!(
                        "<!-- Accepted by {} on {} from {}; SHA-256 of the text below: {} -->\n\n",
                        acc.user_email, acc.at, acc.ip, acc.sha256
                    ));
                }
            }
            Err(e) => return internal_page(&state, e),
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
    let list = match crate::sales::statements_with_disputes(&state.db, &p.id).await {
        Ok(l) => l,
        Err(e) => return internal_page(&state, e),
    };
    let mut currency: std::collections::BTreeMap<String, String> =
        std::collections::BTreeMap::new();
    for (s, _) in &list {
        if currency.contains_key(&s.program) {
            continue;
        }
        let c = match crate::http::api::programs::published_program(&state, &s.program).await {
            Ok((_, prog)) => prog.program.currency,
            Err(_) => String::new(),
        };
        currency.insert(s.program.clone(), c);
    }
    // Earnings to date, per currency: approved (and of that, funds) and in drafts.
    use trellis_core::incentives::cents;
    let mut to_date: std::collections::BTreeMap<String, [rust_decimal::Decimal; 3]> =
        std::collections::BTreeMap::new();
    for (s, _) in &list {
        let cur = currency.get(&s.program).cloned().unwrap_or_default();
        let amount = |x: &str| x.parse::<rust_decimal::Decimal>().unwrap_or_default();
        let t = to_date.entry(cur).or_default();
        if s.status == "approved" {
            t[0] += amount(&s.total);
            t[1] += amount(&s.funds);
        } else {
            t[2] += amount(&s.total);
        }
    }
    let to_date: Vec<_> = to_date
        .into_iter()
        .map(|(currency, [approved, funds, draft])| {
            minijinja::context! {
                currency, approved => cents(approved).to_string(), funds => cents(funds).to_string(),
                draft => cents(draft).to_string(), has_funds => !funds.is_zero(), has_draft => !draft.is_zero(),
            }
        })
        .collect();
    let statements: Vec<_> = list
        .iter()
        .map(|(s, disputes)| {
            minijinja::context! {
                currency => currency.get(&s.program), disputes, ..minijinja::Value::from_serialize(s)
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
