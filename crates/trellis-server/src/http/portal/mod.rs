//! The portal: server-rendered pages for the vendor console and the partner
//! portal. Templates auto-escape; state-changing forms carry a CSRF token.

mod account;
mod admin;
mod apply;
mod assets;
mod deals;
mod incentives;
pub(crate) mod login;
mod onboarding;
pub mod page;
mod partners;
mod programs;

use super::extract::{actor_of, principal_of};
use super::AppState;
use crate::app::AppError;
use crate::auth;
use crate::store::users::User;
use crate::store::{sessions, Actor};
use axum::extract::{FromRequest, FromRequestParts, Request, State};
use axum::http::{request::Parts, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use axum_extra::extract::cookie::CookieJar;
use serde::de::DeserializeOwned;
use serde::Serialize;
use trellis_core::access::Principal;
use trellis_core::FieldErrors;

pub const SESSION_COOKIE: &str = "trellis_session";
/// Double-submit cookie protecting the forms shown before sign-in.
pub const PRE_SESSION_CSRF_COOKIE: &str = "trellis_csrf";

/// The compiled templates.
pub struct Templates {
    env: minijinja::Environment<'static>,
}

impl Default for Templates {
    fn default() -> Self {
        Self::new()
    }
}

impl Templates {
    pub fn new() -> Templates {
        let mut env = minijinja::Environment::new();
        // `{{ amount|money }}`: 42000.5 → 42,000.50 (text that is no number stays as it is).
        env.add_filter("money", |v: String| -> String {
            v.parse::<rust_decimal::Decimal>()
                .map(trellis_core::incentives::money)
                .unwrap_or(v)
        });
        // Auto-escaping follows the file extension: every `.html` template escapes.
        for (name, src) in [
            ("base.html", include_str!("../../../templates/base.html")),
            (
                "macros.html",
                include_str!("../../../templates/macros.html"),
            ),
            ("login.html", include_str!("../../../templates/login.html")),
            (
                "invite.html",
                include_str!("../../../templates/invite.html"),
            ),
            ("error.html", include_str!("../../../templates/error.html")),
            (
                "partners.html",
                include_str!("../../../templates/partners.html"),
            ),
            (
                "partner.html",
                include_str!("../../../templates/partner.html"),
            ),
            (
                "partner_form.html",
                include_str!("../../../templates/partner_form.html"),
            ),
            ("users.html", include_str!("../../../templates/users.html")),
            ("audit.html", include_str!("../../../templates/audit.html")),
            (
                "outbox.html",
                include_str!("../../../templates/outbox.html"),
            ),
            ("apply.html", include_str!("../../../templates/apply.html")),
            (
                "apply_done.html",
                include_str!("../../../templates/apply_done.html"),
            ),
            (
                "applications.html",
                include_str!("../../../templates/applications.html"),
            ),
            (
                "application.html",
                include_str!("../../../templates/application.html"),
            ),
            (
                "onboarding.html",
                include_str!("../../../templates/onboarding.html"),
            ),
            (
                "agreements.html",
                include_str!("../../../templates/agreements.html"),
            ),
            (
                "agreement.html",
                include_str!("../../../templates/agreement.html"),
            ),
            (
                "incentives.html",
                include_str!("../../../templates/incentives.html"),
            ),
            (
                "incentives_preview.html",
                include_str!("../../../templates/incentives_preview.html"),
            ),
            (
                "sales_import.html",
                include_str!("../../../templates/sales_import.html"),
            ),
            (
                "earnings.html",
                include_str!("../../../templates/earnings.html"),
            ),
            (
                "account.html",
                include_str!("../../../templates/account.html"),
            ),
            (
                "api_docs.html",
                include_str!("../../../templates/api_docs.html"),
            ),
            (
                "programs.html",
                include_str!("../../../templates/programs.html"),
            ),
            (
                "program.html",
                include_str!("../../../templates/program.html"),
            ),
            (
                "program_diff.html",
                include_str!("../../../templates/program_diff.html"),
            ),
            ("deals.html", include_str!("../../../templates/deals.html")),
            ("deal.html", include_str!("../../../templates/deal.html")),
            (
                "notifications.html",
                include_str!("../../../templates/notifications.html"),
            ),
            (
                "deals_import.html",
                include_str!("../../../templates/deals_import.html"),
            ),
            (
                "deal_form.html",
                include_str!("../../../templates/deal_form.html"),
            ),
            (
                "partner_programs.html",
                include_str!("../../../templates/partner_programs.html"),
            ),
        ] {
            if let Err(e) = env.add_template(name, src) {
                panic!("template {name} does not compile: {e}");
            }
        }
        Templates { env }
    }

    pub fn render_str<S: Serialize>(&self, name: &str, ctx: S) -> Result<String, minijinja::Error> {
        self.env.get_template(name)?.render(ctx)
    }
}

/// Renders a template into a response, or a logged 500 page.
pub fn render<S: Serialize>(state: &AppState, status: StatusCode, name: &str, ctx: S) -> Response {
    // What every page shows whatever its handler passed: the signed-in
    // user's navigation (error pages too) and the query's problems.
    let page = page::current();
    // Later maps win: the handler's values over the request's defaults.
    let ctx = minijinja::value::merge_maps([
        minijinja::context! { me => page.me, csrf => page.csrf },
        minijinja::Value::from_serialize(&ctx),
        minijinja::context! { query_problems => page.problems },
    ]);
    match state.templates.render_str(name, ctx) {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => {
            tracing::error!(template = name, error = %e, "template failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                Html("<h1>Internal error</h1>".to_string()),
            )
                .into_response()
        }
    }
}

/// A plain message page (not found, forbidden, internal error…).
pub fn message_page(state: &AppState, status: StatusCode, title: &str, message: &str) -> Response {
    render(
        state,
        status,
        "error.html",
        minijinja::context! { title, message },
    )
}

pub fn not_found_page(state: &AppState) -> Response {
    message_page(
        state,
        StatusCode::NOT_FOUND,
        "Page not found",
        "There is nothing here, or you do not have access to it.",
    )
}

fn internal_page(state: &AppState, err: impl std::fmt::Display) -> Response {
    tracing::error!(request_id = super::error::current_request_id().as_deref().unwrap_or("-"), error = %err, "internal error");
    message_page(
        state,
        StatusCode::INTERNAL_SERVER_ERROR,
        "Something went wrong",
        "The error has been logged. Please try again in a moment.",
    )
}

/// The signed-in portal user.
pub struct PortalUser {
    pub user: User,
    pub principal: Principal,
    pub actor: Actor,
    pub csrf: String,
    pub partner_name: Option<String>,
}

/// The header context every page's layout needs.
#[derive(Serialize)]
pub struct MeView<'a> {
    name: &'a str,
    email: &'a str,
    role_label: &'a str,
    is_vendor: bool,
    is_admin: bool,
    partner_id: Option<&'a str>,
    partner_name: Option<&'a str>,
}

impl PortalUser {
    pub fn me(&self) -> MeView<'_> {
        MeView {
            name: &self.user.name,
            email: &self.user.email,
            role_label: self.user.role.label(),
            is_vendor: self.principal.is_vendor(),
            is_admin: self.principal.can_read_audit(),
            partner_id: self.user.partner_id.as_deref(),
            partner_name: self.partner_name.as_deref(),
        }
    }
}

/// Why a portal request did not get a user.
pub enum PortalReject {
    Login { next: String, expired: bool },
    Internal(Response),
}

impl IntoResponse for PortalReject {
    fn into_response(self) -> Response {
        match self {
            PortalReject::Login { next, expired } => {
                let mut url = format!("/login?next={}", urlencode(&next));
                if expired {
                    url.push_str("&expired=1");
                }
                Redirect::to(&url).into_response()
            }
            PortalReject::Internal(r) => r,
        }
    }
}

pub fn urlencode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

impl FromRequestParts<AppState> for PortalUser {
    type Rejection = PortalReject;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let next = parts
            .uri
            .path_and_query()
            .map(|p| p.as_str().to_string())
            .unwrap_or_else(|| "/".into());
        let jar = CookieJar::from_headers(&parts.headers);
        let Some(token) = jar.get(SESSION_COOKIE).map(|c| c.value().to_string()) else {
            return Err(PortalReject::Login {
                next,
                expired: false,
            });
        };
        let lookup = crate::app::sessions::lookup(state, &token)
            .await
            .map_err(|e| PortalReject::Internal(internal_page(state, e)))?;
        let session = match lookup {
            sessions::Lookup::Valid(s) => s,
            sessions::Lookup::Expired => {
                return Err(PortalReject::Login {
                    next,
                    expired: true,
                })
            }
            sessions::Lookup::Unknown => {
                return Err(PortalReject::Login {
                    next,
                    expired: false,
                })
            }
        };
        let partner_name = match &session.user.partner_id {
            Some(id) => crate::app::partners::name_of(state, id)
                .await
                .map_err(|e| PortalReject::Internal(internal_page(state, e)))?,
            None => None,
        };
        let who = PortalUser {
            principal: principal_of(&session.user),
            actor: actor_of(&session.user),
            csrf: session.csrf_token.clone(),
            user: session.user,
            partner_name,
        };
        page::signed_in(minijinja::Value::from_serialize(who.me()), &who.csrf);
        Ok(who)
    }
}

/// A form posted by a signed-in user, after its CSRF token was checked.
/// `T` receives every field except `csrf`.
pub struct CsrfForm<T> {
    pub who: PortalUser,
    pub form: T,
}

/// A form whose only field is its CSRF token (sign-out, revoke).
#[derive(serde::Deserialize)]
pub struct NoFields {}

/// Parses a urlencoded body, checks its `csrf` field against `expected`,
/// and deserialises the rest into `T`.
fn parse_form<T: DeserializeOwned>(
    state: &AppState,
    body: &[u8],
    expected: &str,
) -> Result<T, Response> {
    let mut pairs: Vec<(String, String)> = form_urlencoded::parse(body).into_owned().collect();
    let sent = pairs
        .iter()
        .find(|(k, _)| k == "csrf")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    if expected.is_empty() || !auth::constant_time_eq(&sent, expected) {
        return Err(message_page(
            state,
            StatusCode::FORBIDDEN,
            "This form has expired",
            "The security token of the form did not match (CSRF protection). Go back, reload the page and try again.",
        ));
    }
    pairs.retain(|(k, _)| k != "csrf");
    let encoded = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish();
    let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(encoded.as_bytes()));
    serde_path_to_error::deserialize(de).map_err(|e| {
        message_page(
            state,
            StatusCode::BAD_REQUEST,
            "The form could not be read",
            &format!("{}: {}", e.path(), e.inner()),
        )
    })
}

/// Reads a signed-in user's urlencoded form of at most `limit` bytes and
/// checks its CSRF token.
pub(super) async fn read_csrf_form<T: DeserializeOwned>(
    req: Request,
    state: &AppState,
    limit: usize,
) -> Result<CsrfForm<T>, Response> {
    let (mut parts, body) = req.into_parts();
    let who = PortalUser::from_request_parts(&mut parts, state)
        .await
        .map_err(IntoResponse::into_response)?;
    let bytes = axum::body::to_bytes(body, limit).await.map_err(|_| {
        message_page(
            state,
            StatusCode::PAYLOAD_TOO_LARGE,
            "The form is too large",
            &format!("Forms here are limited to {} KiB.", limit / 1024),
        )
    })?;
    let form = parse_form(state, &bytes, &who.csrf)?;
    Ok(CsrfForm { who, form })
}

impl<T: DeserializeOwned> FromRequest<AppState> for CsrfForm<T> {
    type Rejection = Response;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        read_csrf_form(req, state, super::BODY_LIMIT).await
    }
}

/// A short confirmation chosen by a fixed code in the `msg` query parameter
/// (never free text, so it cannot be used to inject content).
pub fn flash(uri: &axum::http::Uri) -> Option<&'static str> {
    let q = uri.query()?;
    let code = form_urlencoded::parse(q.as_bytes())
        .find(|(k, _)| k == "msg")?
        .1;
    Some(match code.as_ref() {
        "created" => "Partner created.",
        "saved" => "Changes saved.",
        "revoked" => "Token revoked.",
        "welcome" => "Your password is set. Welcome to Trellis.",
        "published" => "Version published. It is now the version in force.",
        "retired" => "Version retired.",
        "deleted" => "Draft deleted.",
        "registered" => "Deal registered.",
        "accepted" => "Agreement accepted. Thank you.",
        "agreement" => "Agreement version published.",
        "stage" => "Stage changed.",
        "task" => "Checklist updated.",
        "approved" => "Statements approved. They will not change again.",
        "answered" => "Dispute answered.",
        "calculated" => "Statements calculated and saved as drafts.",
        "disputed" => "Your question was sent to the vendor.",
        _ => return None,
    })
}

/// Only a path on this site is followed after sign-in: it starts with one
/// `/`, and holds no backslash, no white space and no control character
/// (browsers drop tabs and newlines, so `/\t/evil.example` would be read as
/// `//evil.example`, another site).
pub fn safe_next(next: Option<&str>) -> String {
    // Parsed as a browser would against a stand-in origin: the target must
    // stay on that origin, and be written plainly (no backslashes, spaces or
    // control characters, which browsers drop or read as slashes).
    const HERE: &str = "http://trellis.invalid/";
    let ok = |n: &str| {
        n.starts_with('/')
            && !n.starts_with("//")
            && !n
                .chars()
                .any(|c| c == '\\' || c.is_whitespace() || c.is_control())
            && url::Url::parse(HERE)
                .and_then(|base| base.join(n))
                .is_ok_and(|u| u.origin() == url::Url::parse(HERE).expect("valid").origin())
    };
    match next {
        Some(n) if ok(n) => n.to_string(),
        _ => "/".to_string(),
    }
}

/// Partners in formation with a checklist land on their onboarding; others on
/// their organisation.
async fn home(State(state): State<AppState>, who: PortalUser) -> Redirect {
    match &who.user.partner_id {
        Some(id) => {
            let forming = matches!(
                crate::app::onboarding::forming_with_checklist(&state, id).await,
                Ok(true)
            );
            if forming {
                Redirect::to(&format!("/partners/{id}/onboarding"))
            } else {
                Redirect::to(&format!("/partners/{id}"))
            }
        }
        None => Redirect::to("/partners"),
    }
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(home))
        .route("/login", get(login::show).post(login::submit))
        .route("/logout", post(login::logout))
        .route(
            "/invite/{token}",
            get(login::show_invite).post(login::accept_invite),
        )
        .route("/partners", get(partners::list).post(partners::create))
        .route("/partners/new", get(partners::new_form))
        .route("/partners/{id}", get(partners::show).post(partners::update))
        .route("/partners/{id}/users", post(partners::invite))
        .route("/deals", get(deals::list).post(deals::create))
        .route("/deals/new", get(deals::new_form))
        .route("/deals/bulk", post(deals::bulk))
        .route("/notifications", get(deals::notifications))
        .route("/notifications/read", post(deals::mark_read))
        .route("/deals/import", get(deals::import_form).post(deals::import))
        .route("/deals/{id}", get(deals::show))
        .route("/deals/{id}/act", post(deals::act))
        .route("/programs", get(programs::list).post(programs::upload))
        .route("/programs/{slug}", get(programs::latest))
        .route("/programs/{slug}/diff", get(programs::diff))
        .route("/programs/{slug}/versions/{number}", get(programs::show))
        .route(
            "/programs/{slug}/versions/{number}/publish",
            post(programs::publish),
        )
        .route(
            "/programs/{slug}/versions/{number}/retire",
            post(programs::retire),
        )
        .route(
            "/programs/{slug}/versions/{number}/delete",
            post(programs::delete),
        )
        .route(
            "/partners/{id}/programs",
            get(programs::partner_programs).post(programs::enroll),
        )
        .route("/users", get(admin::users).post(admin::invite_vendor_user))
        .route("/audit", get(admin::audit))
        .route("/apply", get(apply::index))
        .route("/apply/{slug}", get(apply::form).post(apply::submit))
        .route("/applications", get(apply::queue))
        .route("/applications/{id}", get(apply::show))
        .route("/applications/{id}/decide", post(apply::decide))
        .route("/partners/{id}/onboarding", get(onboarding::show))
        .route("/partners/{id}/earnings", get(onboarding::earnings))
        .route(
            "/partners/{id}/statements/{statement}/dispute",
            post(incentives::dispute),
        )
        .route("/incentives", get(incentives::totals))
        .route("/incentives/approve", post(incentives::approve))
        .route("/incentives/calculate", post(incentives::calculate))
        .route("/incentives/payout", get(incentives::payout))
        .route(
            "/incentives/disputes/{id}/resolve",
            post(incentives::resolve),
        )
        .route(
            "/sales/import",
            get(incentives::upload_form).post(incentives::upload),
        )
        .route("/partners/{id}/onboarding/{task}", post(onboarding::tick))
        .route("/partners/{id}/stage", post(onboarding::move_stage))
        .route(
            "/agreements",
            get(onboarding::list).post(onboarding::create),
        )
        .route("/agreements/{id}", get(onboarding::agreement))
        .route("/agreements/{id}/accept", post(onboarding::accept))
        .route("/agreements/{id}/download", get(onboarding::download))
        .route("/admin/outbox", get(admin::outbox))
        .route("/account", get(account::show))
        .route("/account/tokens", post(account::create_token))
        .route("/account/tokens/{id}/revoke", post(account::revoke_token))
        .route("/assets/{file}", get(assets::serve))
}

/// Maps a use case's error to field errors for the form, or to the page
/// that shows it.
pub fn form_outcome(state: &AppState, e: AppError) -> Result<FieldErrors, Response> {
    match e {
        AppError::Invalid(errs) => Ok(errs),
        AppError::Conflict { field, message } => {
            Ok(trellis_core::FieldError::new(field, "already-exists", message).into())
        }
        other => Err(error_page(state, other)),
    }
}

/// The page that answers a use case's error.
pub fn error_page(state: &AppState, e: AppError) -> Response {
    match e {
        AppError::NotFound(_) => not_found_page(state),
        AppError::Forbidden(m) => message_page(state, StatusCode::FORBIDDEN, "Not allowed", &m),
        AppError::Invalid(errs) => message_page(
            state,
            StatusCode::UNPROCESSABLE_ENTITY,
            "Please check what you entered",
            &errs.to_string(),
        ),
        AppError::Rejected(lines) => message_page(
            state,
            StatusCode::UNPROCESSABLE_ENTITY,
            "The file was not imported",
            &lines.to_string(),
        ),
        AppError::Conflict { message, .. } => {
            message_page(state, StatusCode::CONFLICT, "That did not work", &message)
        }
        AppError::TooMany { retry_after } => message_page(
            state,
            StatusCode::TOO_MANY_REQUESTS,
            "Too many attempts",
            &format!("Please try again in {} minutes.", (retry_after + 59) / 60),
        ),
        AppError::Program { detail, .. } => message_page(
            state,
            StatusCode::UNPROCESSABLE_ENTITY,
            "The program was not accepted",
            &detail,
        ),
        AppError::Internal(m) => internal_page(state, m),
    }
}

/// Turns field errors into a `field → message` map for the templates.
pub fn error_map(errs: &trellis_core::FieldErrors) -> std::collections::BTreeMap<String, String> {
    let mut m = std::collections::BTreeMap::new();
    for e in &errs.0 {
        m.entry(e.field.clone())
            .or_insert_with(|| e.message.clone());
    }
    m
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn only_same_origin_paths_are_followed_after_sign_in() {
        for ok in [
            "/deals",
            "/deals?status=submitted&x=%2F",
            "/partners/p1#users",
        ] {
            assert_eq!(safe_next(Some(ok)), ok);
        }
        for bad in [
            "//evil.example",
            "/\t/evil.example",
            "/\\evil.example",
            "/\r\nSet-Cookie: x=1",
            "https://evil.example/",
            "evil.example",
            "/ /evil.example",
            "",
        ] {
            assert_eq!(safe_next(Some(bad)), "/", "{bad:?}");
        }
        assert_eq!(safe_next(None), "/");
    }
}
