//! Sign-in, sign-out and accepting an invitation.

use super::{error_map, message_page, render, safe_next, PRE_SESSION_CSRF_COOKIE, SESSION_COOKIE};
use crate::auth;
use crate::http::AppState;
use crate::store::{sessions, throttle, users};
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use serde::Deserialize;
use std::net::SocketAddr;
use trellis_core::validate::{check_password, Email};
use trellis_core::FieldError;

fn cookie(state: &AppState, name: &'static str, value: String) -> Cookie<'static> {
    Cookie::build((name, value))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(state.config.secure_cookies())
        .build()
}

/// Returns the pre-session CSRF token, creating its cookie when missing.
pub(crate) fn pre_session_csrf(state: &AppState, jar: CookieJar) -> (CookieJar, String) {
    match jar.get(PRE_SESSION_CSRF_COOKIE) {
        Some(c) if c.value().len() == 64 => {
            let v = c.value().to_string();
            (jar, v)
        }
        _ => {
            let v = auth::random_hex(32);
            (
                jar.add(cookie(state, PRE_SESSION_CSRF_COOKIE, v.clone())),
                v,
            )
        }
    }
}

pub(crate) fn pre_session_csrf_ok(jar: &CookieJar, sent: &str) -> bool {
    jar.get(PRE_SESSION_CSRF_COOKIE)
        .map(|c| !sent.is_empty() && auth::constant_time_eq(c.value(), sent))
        .unwrap_or(false)
}

pub(crate) fn client_ip(state: &AppState, headers: &HeaderMap, peer: SocketAddr) -> String {
    if state.config.trust_proxy_headers {
        if let Some(ip) = headers
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            return ip.to_string();
        }
    }
    peer.ip().to_string()
}

#[derive(Deserialize, Default)]
pub struct LoginQuery {
    next: Option<String>,
    expired: Option<String>,
}

pub async fn show(
    State(state): State<AppState>,
    jar: CookieJar,
    Query(q): Query<LoginQuery>,
) -> Response {
    let (jar, csrf) = pre_session_csrf(&state, jar);
    let notice = q
        .expired
        .as_ref()
        .map(|_| "Your session has expired. Please sign in again.");
    let page = render(
        &state,
        StatusCode::OK,
        "login.html",
        minijinja::context! { title => "Sign in", login_csrf => csrf, next => q.next, notice },
    );
    (jar, page).into_response()
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    csrf: String,
    next: Option<String>,
}

pub async fn submit(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    jar: CookieJar,
    Form(form): Form<LoginForm>,
) -> Response {
    let again = |state: &AppState, jar: CookieJar, status: StatusCode, error: &str, email: &str| {
        let (jar, csrf) = pre_session_csrf(state, jar);
        let page = render(
            state,
            status,
            "login.html",
            minijinja::context! { title => "Sign in", login_csrf => csrf, next => form.next.clone(), error, email },
        );
        (jar, page).into_response()
    };
    if !pre_session_csrf_ok(&jar, &form.csrf) {
        return again(
            &state,
            jar,
            StatusCode::FORBIDDEN,
            "The sign-in form expired. Please try again.",
            &form.email,
        );
    }
    let email = form.email.trim().to_lowercase();
    let ip = client_ip(&state, &headers, peer);
    match throttle::blocked_for(&state.db, &email, &ip).await {
        Ok(Some(secs)) => {
            let mut r = again(
                &state,
                jar,
                StatusCode::TOO_MANY_REQUESTS,
                &format!(
                    "Too many failed sign-ins. Try again in {} minutes.",
                    secs / 60
                ),
                &form.email,
            );
            if let Ok(v) = secs.to_string().parse() {
                r.headers_mut().insert(axum::http::header::RETRY_AFTER, v);
            }
            return r;
        }
        Ok(None) => {}
        Err(e) => return super::internal_page(&state, e),
    }
    let creds = match users::credentials(&state.db, &email).await {
        Ok(c) => c,
        Err(e) => return super::internal_page(&state, e),
    };
    let (user, hash) = match creds {
        Some(c) => (Some(c.user), c.password_hash),
        None => (None, None),
    };
    let password_ok = auth::verify_password(form.password.clone(), hash).await;
    let active = user
        .as_ref()
        .is_some_and(|u| u.status == trellis_core::org::UserStatus::Active);
    if let Err(e) = throttle::record(&state.db, &email, &ip, password_ok && active).await {
        return super::internal_page(&state, e);
    }
    let Some(user) = user.filter(|_| password_ok && active) else {
        tracing::info!(ip = %ip, "failed sign-in");
        return again(
            &state,
            jar,
            StatusCode::UNAUTHORIZED,
            "The e-mail or password is not right.",
            &form.email,
        );
    };
    let token = match sessions::create(&state.db, &user).await {
        Ok(t) => t,
        Err(e) => return super::internal_page(&state, e),
    };
    let jar = jar
        .add(cookie(&state, SESSION_COOKIE, token))
        .remove(Cookie::build(PRE_SESSION_CSRF_COOKIE).path("/"));
    (jar, Redirect::to(&safe_next(form.next.as_deref()))).into_response()
}

pub async fn logout(
    State(state): State<AppState>,
    jar: CookieJar,
    _checked: super::CsrfForm<super::NoFields>,
) -> Response {
    if let Some(c) = jar.get(SESSION_COOKIE) {
        if let Err(e) = sessions::delete(&state.db, c.value()).await {
            return super::internal_page(&state, e);
        }
    }
    let jar = jar.remove(Cookie::build(SESSION_COOKIE).path("/"));
    (jar, Redirect::to("/login")).into_response()
}

/// The page for an invitation link that cannot be used.
fn invite_problem_page(state: &AppState, p: users::InviteProblem) -> Response {
    let (status, problem) = match p {
        users::InviteProblem::Unknown => (
            StatusCode::NOT_FOUND,
            "This invitation link is not valid. Check that you copied the whole link.",
        ),
        users::InviteProblem::Used => (
            StatusCode::GONE,
            "This invitation link has already been used. Sign in with the password you chose.",
        ),
        users::InviteProblem::Expired => (
            StatusCode::GONE,
            "This invitation link has expired. Ask the person who invited you for a new one.",
        ),
    };
    render(
        state,
        status,
        "invite.html",
        minijinja::context! { title => "Invitation", problem },
    )
}

pub async fn show_invite(
    State(state): State<AppState>,
    jar: CookieJar,
    Path(token): Path<String>,
) -> Response {
    let (jar, csrf) = pre_session_csrf(&state, jar);
    let page = match users::invitation(&state.db, &token).await {
        Err(e) => return super::internal_page(&state, e),
        Ok(Err(p)) => invite_problem_page(&state, p),
        Ok(Ok(user)) => render(
            &state,
            StatusCode::OK,
            "invite.html",
            minijinja::context! { title => "Set your password", invitee => user, invitee_role => user.role.label(), token, login_csrf => csrf },
        ),
    };
    (jar, page).into_response()
}

#[derive(Deserialize)]
pub struct InviteForm {
    #[serde(default)]
    password: String,
    #[serde(default)]
    confirm: String,
    #[serde(default)]
    csrf: String,
}

pub async fn accept_invite(
    State(state): State<AppState>,
    jar: CookieJar,
    Path(token): Path<String>,
    Form(form): Form<InviteForm>,
) -> Response {
    if !pre_session_csrf_ok(&jar, &form.csrf) {
        return message_page(
            &state,
            StatusCode::FORBIDDEN,
            "This form has expired",
            "Go back, reload the page and try again.",
        );
    }
    let user = match users::invitation(&state.db, &token).await {
        Err(e) => return super::internal_page(&state, e),
        Ok(Err(p)) => return invite_problem_page(&state, p),
        Ok(Ok(u)) => u,
    };
    let email = Email::parse("email", &user.email).ok();
    let mut errs = trellis_core::FieldErrors::new();
    errs.check(check_password("password", &form.password, email.as_ref()));
    if form.password != form.confirm {
        errs.push(FieldError::new(
            "confirm",
            "mismatch",
            "The two passwords are not the same",
        ));
    }
    if !errs.is_empty() {
        let (jar, csrf) = pre_session_csrf(&state, jar);
        let page = render(
            &state,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invite.html",
            minijinja::context! { title => "Set your password", invitee => user, invitee_role => user.role.label(), token, login_csrf => csrf, errors => error_map(&errs) },
        );
        return (jar, page).into_response();
    }
    let hash = match auth::hash_password(form.password).await {
        Ok(h) => h,
        Err(e) => return super::internal_page(&state, e),
    };
    let user = match users::accept_invitation(&state.db, &token, &hash).await {
        Err(e) => return super::internal_page(&state, e),
        Ok(Err(p)) => return invite_problem_page(&state, p),
        Ok(Ok(u)) => u,
    };
    let session = match sessions::create(&state.db, &user).await {
        Ok(t) => t,
        Err(e) => return super::internal_page(&state, e),
    };
    let jar = jar
        .add(cookie(&state, SESSION_COOKIE, session))
        .remove(Cookie::build(PRE_SESSION_CSRF_COOKIE).path("/"));
    let home = match &user.partner_id {
        Some(id) => format!("/partners/{id}?msg=welcome"),
        None => "/partners?msg=welcome".to_string(),
    };
    (jar, Redirect::to(&home)).into_response()
}
