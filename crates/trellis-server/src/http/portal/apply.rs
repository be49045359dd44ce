//! Recruiting: the public "Become a partner" page (no sign-in) and the
//! channel managers' review queue.

use super::login::{client_ip, pre_session_csrf, pre_session_csrf_ok};
use super::page::PageQuery;
use super::{error_map, error_page, message_page, not_found_page, render, PortalUser};
use crate::app::recruit::{self, Decision};
use crate::app::{programs, users, AppError};
use crate::http::AppState;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::CookieJar;
use serde::Deserialize;
use std::collections::BTreeSet;
use std::net::SocketAddr;
use trellis_core::program::Program;
use trellis_core::recruit::ApplicationInput;
use trellis_core::FieldErrors;

/// The hidden field people never fill in and form robots do.
const HONEYPOT: &str = "website_url";

/// A published program: its slug, name and definition.
pub(crate) struct Published {
    pub slug: String,
    pub name: String,
    pub program: Program,
}

/// The published program of `slug`, or the page to answer instead.
async fn published(state: &AppState, slug: &str) -> Result<Published, Response> {
    match programs::published_program(&state.db, slug).await {
        Ok((v, program)) => Ok(Published {
            slug: slug.to_string(),
            name: v.name,
            program,
        }),
        Err(e) => Err(error_page(state, e)),
    }
}

/// The values a profile criterion of `attribute` asks for, as form choices.
fn choices(p: &Program, attribute: &str) -> Vec<String> {
    let set: BTreeSet<String> = p
        .profiles
        .iter()
        .flat_map(|pr| &pr.criteria)
        .filter(|c| c.attribute == attribute)
        .flat_map(|c| c.values.iter().map(|v| v.trim().to_lowercase()))
        .collect();
    set.into_iter().collect()
}

fn form_context(p: &Published) -> minijinja::Value {
    let types: Vec<_> = p
        .program
        .partner_types
        .iter()
        .map(|t| minijinja::context! { id => t.id.get_ref(), name => if t.name.is_empty() { t.id.get_ref().as_str() } else { t.name.as_str() }, description => &t.description })
        .collect();
    let segments: Vec<_> = p
        .program
        .segments
        .iter()
        .map(|s| minijinja::context! { id => s.id.get_ref(), region => &s.region, industry => &s.industry, size => &s.size })
        .collect();
    let countries: Vec<_> = trellis_core::country::COUNTRIES
        .iter()
        .map(|(code, name)| minijinja::context! { code, name })
        .collect();
    minijinja::context! {
        slug => &p.slug, program_name => &p.name, types, segments, countries,
        capabilities => choices(&p.program, "capabilities"),
        industries => choices(&p.program, "industries"),
        certifications => choices(&p.program, "certifications"),
        honeypot => HONEYPOT,
    }
}

/// GET /apply: the form of the only published program, or a choice.
pub async fn index(State(state): State<AppState>, jar: CookieJar) -> Response {
    let open = match programs::open_for_applications(&state).await {
        Ok(l) => l,
        Err(e) => return error_page(&state, e),
    };
    if open.len() == 1 {
        return Redirect::to(&format!("/apply/{}", open[0].0)).into_response();
    }
    let (jar, _) = pre_session_csrf(&state, jar);
    let programs: Vec<_> = open
        .iter()
        .map(|(slug, name)| minijinja::context! { slug, name })
        .collect();
    (
        jar,
        render(
            &state,
            StatusCode::OK,
            "apply.html",
            minijinja::context! { title => "Become a partner", programs },
        ),
    )
        .into_response()
}

/// GET /apply/{slug}: the application form that follows the published program.
pub async fn form(
    State(state): State<AppState>,
    jar: CookieJar,
    Path(slug): Path<String>,
) -> Response {
    let p = match published(&state, &slug).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let (jar, csrf) = pre_session_csrf(&state, jar);
    let values = ApplicationInput::default();
    (
        jar,
        render(
            &state,
            StatusCode::OK,
            "apply.html",
            minijinja::context! { title => "Become a partner", form => form_context(&p), csrf, values => form_values(&values) },
        ),
    )
        .into_response()
}

fn form_values(i: &ApplicationInput) -> minijinja::Value {
    minijinja::context! {
        company => &i.company, domain => &i.domain, country => &i.country, employees => &i.employees,
        partner_type => &i.partner_type, references => &i.references,
        contact_name => &i.contact_name, contact_email => &i.contact_email,
        capabilities => &i.capabilities, industries => &i.industries, certifications => &i.certifications,
        segments => &i.segments,
        other_capabilities => "",
    }
}

/// Reads a posted form with repeated fields (checkboxes).
fn read_input(body: &[u8]) -> (ApplicationInput, String, bool) {
    let mut i = ApplicationInput::default();
    let mut csrf = String::new();
    let mut bot = false;
    for (k, v) in form_urlencoded::parse(body) {
        let v = v.into_owned();
        match k.as_ref() {
            "company" => i.company = v,
            "domain" => i.domain = v,
            "country" => i.country = v,
            "employees" => i.employees = v,
            "partner_type" => i.partner_type = v,
            "capabilities" => i.capabilities.push(v),
            "industries" => i.industries.push(v),
            "certifications" => i.certifications.push(v),
            "segments" => i.segments.push(v),
            "references" => i.references = v,
            "contact_name" => i.contact_name = v,
            "contact_email" => i.contact_email = v,
            "csrf" => csrf = v,
            k if k == HONEYPOT => bot = !v.trim().is_empty(),
            _ => {}
        }
    }
    (i, csrf, bot)
}

fn thanks(state: &AppState, company: &str) -> Response {
    render(
        state,
        StatusCode::OK,
        "apply_done.html",
        minijinja::context! { title => "Application received", company },
    )
}

/// POST /apply/{slug}.
pub async fn submit(
    State(state): State<AppState>,
    jar: CookieJar,
    headers: HeaderMap,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(slug): Path<String>,
    body: Bytes,
) -> Response {
    let p = match published(&state, &slug).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let (mut input, csrf, bot) = read_input(&body);
    input.program = p.slug.clone();
    if !pre_session_csrf_ok(&jar, &csrf) {
        return message_page(
            &state,
            StatusCode::FORBIDDEN,
            "Form expired",
            "The form was open too long or came from elsewhere. Please reload the page and send it again.",
        );
    }
    if bot {
        // Looks accepted to the robot; nothing is stored or sent.
        tracing::info!(program = %slug, "application honeypot filled; ignored");
        return thanks(&state, &input.company);
    }
    let ip = client_ip(&state, &headers, peer);
    let rerender = |errors: &FieldErrors, status: StatusCode| {
        render(
            &state,
            status,
            "apply.html",
            minijinja::context! {
                title => "Become a partner", form => form_context(&p), csrf => &csrf,
                values => form_values(&input), errors => error_map(errors),
            },
        )
    };
    match recruit::apply(&state, &input, &ip).await {
        Ok(rec) => thanks(&state, &rec.application.company),
        Err(AppError::TooMany { .. }) => message_page(
            &state,
            StatusCode::TOO_MANY_REQUESTS,
            "Too many applications",
            "We received several applications from your network in the last hour. Please try again later or write to us.",
        ),
        Err(AppError::Invalid(errors)) => rerender(&errors, StatusCode::UNPROCESSABLE_ENTITY),
        Err(AppError::Conflict { field, message }) => rerender(
            &trellis_core::FieldError::new(field, "already-exists", message).into(),
            StatusCode::CONFLICT,
        ),
        Err(e) => error_page(&state, e),
    }
}

#[derive(Deserialize, Default)]
pub struct QueueQuery {
    status: Option<String>,
}

fn vendor_only(state: &AppState, who: &PortalUser) -> Option<Response> {
    (!who.principal.is_vendor()).then(|| not_found_page(state))
}

/// GET /applications: the review queue.
pub async fn queue(
    State(state): State<AppState>,
    who: PortalUser,
    PageQuery(q): PageQuery<QueueQuery>,
) -> Response {
    if let Some(r) = vendor_only(&state, &who) {
        return r;
    }
    let status = q
        .status
        .as_deref()
        .filter(|s| ["submitted", "more-info", "approved", "rejected"].contains(s));
    match recruit::list(&state, &who.principal, status).await {
        Ok(items) => render(
            &state,
            StatusCode::OK,
            "applications.html",
            minijinja::context! {
                title => "Applications", nav => "applications", me => who.me(), csrf => &who.csrf,
                items, status,
            },
        ),
        Err(e) => error_page(&state, e),
    }
}

async fn show_page(
    state: &AppState,
    who: &PortalUser,
    id: &str,
    errors: Option<&FieldErrors>,
    status: StatusCode,
) -> Response {
    let rec = match recruit::get(state, &who.principal, id).await {
        Ok(r) => r,
        Err(e) => return error_page(state, e),
    };
    let managers = match users::channel_managers(state).await {
        Ok(m) => m,
        Err(e) => return error_page(state, e),
    };
    let managers: Vec<_> = managers
        .iter()
        .map(|u| minijinja::context! { id => &u.id, name => &u.name })
        .collect();
    render(
        state,
        status,
        "application.html",
        minijinja::context! {
            title => format!("Application: {}", rec.application.company), nav => "applications",
            me => who.me(), csrf => &who.csrf, a => &rec, managers, me_id => &who.user.id,
            errors => errors.map(error_map),
            country_name => trellis_core::country::name(&rec.application.country),
        },
    )
}

/// GET /applications/{id}.
pub async fn show(
    State(state): State<AppState>,
    who: PortalUser,
    Path(id): Path<String>,
) -> Response {
    if let Some(r) = vendor_only(&state, &who) {
        return r;
    }
    show_page(&state, &who, &id, None, StatusCode::OK).await
}

#[derive(Deserialize)]
pub struct DecideForm {
    decision: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    channel_manager_id: String,
}

/// POST /applications/{id}/decide.
pub async fn decide(
    State(state): State<AppState>,
    Path(id): Path<String>,
    f: super::CsrfForm<DecideForm>,
) -> Response {
    let who = &f.who;
    if let Some(r) = vendor_only(&state, who) {
        return r;
    }
    let decision = match f.form.decision.as_str() {
        "approve" => Decision::Approve {
            channel_manager_id: Some(f.form.channel_manager_id.clone()).filter(|c| !c.is_empty()),
        },
        "reject" => Decision::Reject {
            reason: f.form.reason.clone(),
        },
        "more-info" => Decision::MoreInfo {
            question: f.form.reason.clone(),
        },
        _ => return not_found_page(&state),
    };
    match recruit::decide(&state, &who.principal, &who.actor, &id, decision).await {
        Ok(d) => match d.partner_id {
            Some(p) => Redirect::to(&format!("/partners/{p}/onboarding")).into_response(),
            None => Redirect::to("/applications").into_response(),
        },
        Err(AppError::Invalid(errs)) => {
            show_page(
                &state,
                who,
                &id,
                Some(&errs),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(AppError::Conflict { field, message }) => {
            let errs: FieldErrors =
                trellis_core::FieldError::new(field, "conflict", message).into();
            show_page(&state, who, &id, Some(&errs), StatusCode::CONFLICT).await
        }
        Err(e) => error_page(&state, e),
    }
}
