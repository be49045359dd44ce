//! Sign-in, sign-out and accepting an invitation.

use super::page::PageQuery;
use super::{error_map, message_page, render, safe_next, PRE_SESSION_CSRF_COOKIE, SESSION_COOKIE};
use crate::app::sessions::{self, SignIn};
use crate::app::AppError;
use crate::auth;
use crate::http::AppState;
use crate::store::users::InviteProblem;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use serde::Deserialize;
use std::net::SocketAddr;

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
    PageQuery(q): PageQuery<LoginQuery>,
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
        minijinja::context! { title => "Sign in", login_csrf => csrf, next => kept_next(q.next.as_deref()), notice },
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
            minijinja::context! { title => "Sign in", login_csrf => csrf, next => kept_next(form.next.as_deref()), error, email },
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
    let ip = client_ip(&state, &headers, peer);
    match sessions::sign_in(&state, &form.email, &form.password, &ip).await {
        Ok(SignIn::Ok { session, .. }) => {
            let jar = jar
                .add(cookie(&state, SESSION_COOKIE, session))
                .remove(Cookie::build(PRE_SESSION_CSRF_COOKIE).path("/"));
            (jar, Redirect::to(&safe_next(form.next.as_deref()))).into_response()
        }
        Ok(SignIn::Throttled { retry_after: secs }) => {
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
            r
        }
        Ok(SignIn::Refused) => again(
            &state,
            jar,
            StatusCode::UNAUTHORIZED,
            "The e-mail or password is not right.",
            &form.email,
        ),
        Err(e) => super::error_page(&state, e),
    }
}

pub async fn logout(
    State(state): State<AppState>,
    jar: CookieJar,
    _checked: super::CsrfForm<super::NoFields>,
) -> Response {
    if let Some(c) = jar.get(SESSION_COOKIE) {
        if let Err(e) = sessions::sign_out(&state, c.value()).await {
            return super::error_page(&state, e);
        }
    }
    let jar = jar.remove(Cookie::build(SESSION_COOKIE).path("/"));
    (jar, Redirect::to("/login")).into_response()
}

/// The page for an invitation link that cannot be used.
fn invite_problem_page(state: &AppState, p: InviteProblem) -> Response {
    let (status, problem) = match p {
        InviteProblem::Unknown => (
            StatusCode::NOT_FOUND,
            "This invitation link is not valid. Check that you copied the whole link.",
        ),
        InviteProblem::Used => (
            StatusCode::GONE,
            "This invitation link has already been used. Sign in with the password you chose.",
        ),
        InviteProblem::Expired => (
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
    let page = match sessions::invitation(&state, &token).await {
        Err(e) => return super::error_page(&state, e),
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
    let (user, session) = match sessions::accept_invitation(
        &state,
        &token,
        &form.password,
        &form.confirm,
    )
    .await
    {
        Ok(Ok(x)) => x,
        Ok(Err(p)) => return invite_problem_page(&state, p),
        Err(AppError::Invalid(errs)) => {
            let user = match sessions::invitation(&state, &token).await {
                Ok(Ok(u)) => u,
                Ok(Err(p)) => return invite_problem_page(&state, p),
                Err(e) => return super::error_page(&state, e),
            };
            let (jar, csrf) = pre_session_csrf(&state, jar);
            let page = render(
                &state,
                StatusCode::UNPROCESSABLE_ENTITY,
                "invite.html",
                minijinja::context! { title => "Set your password", invitee => user, invitee_role => user.role.label(), token, login_csrf => csrf, errors => error_map(&errs) },
            );
            return (jar, page).into_response();
        }
        Err(e) => return super::error_page(&state, e),
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

/// The page to go on to after signing in, carried in the form only when it
/// is one [`safe_next`] would follow.
fn kept_next(next: Option<&str>) -> Option<String> {
    next.filter(|n| safe_next(Some(n)) == *n)
        .map(str::to_string)
}
