//! Vendor-admin pages: all users, vendor invitations, the audit log.

use super::page::PageQuery;
use super::{error_map, error_page, form_outcome, message_page, render, CsrfForm, PortalUser};
use crate::app::users::{self, InviteUser};
use crate::app::{audit, notify, partners, AppError};
use crate::http::api::audit::AuditQuery;
use crate::http::AppState;
use crate::store::audit::AuditEntry;
use crate::store::users::UserFilter;
use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use serde::{Deserialize, Serialize};
use trellis_core::org::Role;
use trellis_core::FieldErrors;

fn forbidden(state: &AppState) -> Response {
    message_page(
        state,
        StatusCode::FORBIDDEN,
        "Not allowed",
        "This page is for vendor admins.",
    )
}

#[derive(Deserialize, Default)]
pub struct UsersQuery {
    q: Option<String>,
    role: Option<String>,
    cursor: Option<String>,
}

#[derive(Default)]
struct InviteOutcome {
    values: Option<InviteUser>,
    errors: Option<FieldErrors>,
    invite_url: Option<String>,
    invited_email: Option<String>,
}

async fn users_page(
    state: &AppState,
    who: &PortalUser,
    q: &UsersQuery,
    uri: &Uri,
    o: InviteOutcome,
) -> Response {
    let role = q
        .role
        .as_deref()
        .filter(|r| !r.is_empty())
        .and_then(|r| Role::parse("role", r).ok());
    let filter = UserFilter {
        role,
        q: q.q.clone(),
        cursor: q.cursor.clone().filter(|c| !c.is_empty()),
        limit: Some(100),
        ..Default::default()
    };
    let (list, next) = match users::list_all(state, &who.principal, &filter).await {
        Ok(r) => r,
        Err(AppError::Invalid(_)) => (vec![], None),
        Err(e) => return error_page(state, e),
    };
    let mut ids: Vec<&str> = list
        .iter()
        .filter_map(|u| u.partner_id.as_deref())
        .collect();
    ids.sort_unstable();
    ids.dedup();
    let partner_names = match partners::names(state, &who.principal, &ids).await {
        Ok(n) => n,
        Err(e) => return error_page(state, e),
    };
    let next_url = next.map(|c| {
        let mut s = form_urlencoded::Serializer::new(String::new());
        if let Some(v) = q.q.as_deref().filter(|v| !v.is_empty()) {
            s.append_pair("q", v);
        }
        if let Some(r) = role {
            s.append_pair("role", r.as_str());
        }
        s.append_pair("cursor", &c);
        format!("/users?{}", s.finish())
    });
    let status = if o.errors.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let v = o
        .values
        .map(|i| minijinja::context! { name => i.name, email => i.email, role => i.role });
    render(
        state,
        status,
        "users.html",
        minijinja::context! {
            title => "Users", nav => "users", me => who.me(), csrf => who.csrf, flash => super::flash(uri),
            users => list, partner_names, next_url,
            f => minijinja::context! { q => q.q, role => q.role },
            roles => Role::ALL.iter().map(|r| r.as_str()).collect::<Vec<_>>(),
            v, errors => o.errors.as_ref().map(error_map), invite_url => o.invite_url, invited_email => o.invited_email,
        },
    )
}

pub async fn users(
    State(state): State<AppState>,
    who: PortalUser,
    uri: Uri,
    PageQuery(q): PageQuery<UsersQuery>,
) -> Response {
    if !who.principal.can_manage_vendor_users() {
        return forbidden(&state);
    }
    users_page(&state, &who, &q, &uri, InviteOutcome::default()).await
}

pub async fn invite_vendor_user(
    State(state): State<AppState>,
    uri: Uri,
    CsrfForm { who, form }: CsrfForm<InviteUser>,
) -> Response {
    if !who.principal.can_manage_vendor_users() {
        return forbidden(&state);
    }
    let outcome = match users::invite_vendor(&state, &who.principal, &who.actor, &form).await {
        Ok(inv) => InviteOutcome {
            invite_url: Some(inv.invite_url),
            invited_email: Some(inv.user.email),
            ..Default::default()
        },
        Err(e) => match form_outcome(&state, e) {
            Ok(errs) => InviteOutcome {
                values: Some(form),
                errors: Some(errs),
                ..Default::default()
            },
            Err(page) => return page,
        },
    };
    users_page(&state, &who, &UsersQuery::default(), &uri, outcome).await
}

#[derive(Serialize)]
struct ChangeView {
    field: String,
    before: Option<String>,
    after: String,
}

/// The fields an entry changed, with their values before and after.
fn changes(e: &AuditEntry) -> Vec<ChangeView> {
    let empty = serde_json::Map::new();
    let before = e
        .before
        .as_ref()
        .and_then(|v| v.as_object())
        .unwrap_or(&empty);
    let after = e
        .after
        .as_ref()
        .and_then(|v| v.as_object())
        .unwrap_or(&empty);
    let show = |v: &serde_json::Value| match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => "∅".to_string(),
        other => other.to_string(),
    };
    let mut keys: Vec<&String> = before.keys().chain(after.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter(|k| before.get(*k) != after.get(*k))
        .map(|k| ChangeView {
            field: k.clone(),
            before: if e.before.is_some() {
                Some(before.get(k).map(show).unwrap_or_else(|| "∅".into()))
            } else {
                None
            },
            after: after.get(k).map(show).unwrap_or_else(|| "∅".into()),
        })
        .collect()
}

pub async fn audit(
    State(state): State<AppState>,
    who: PortalUser,
    uri: Uri,
    PageQuery(q): PageQuery<AuditQuery>,
) -> Response {
    if !who.principal.can_read_audit() {
        return forbidden(&state);
    }
    let (entries, next, error) = match q.to_filter() {
        Ok(f) => match audit::list(&state, &who.principal, &f).await {
            Ok((e, n)) => (e, n, None),
            Err(AppError::Invalid(errs)) => (vec![], None, Some(errs.0[0].message.clone())),
            Err(e) => return error_page(&state, e),
        },
        Err(errs) => (
            vec![],
            None,
            Some(
                errs.0
                    .iter()
                    .map(|e| e.message.clone())
                    .collect::<Vec<_>>()
                    .join("; "),
            ),
        ),
    };
    let rows: Vec<_> = entries
        .iter()
        .map(|e| minijinja::context! { changes => changes(e), ..minijinja::Value::from_serialize(e) })
        .collect();
    let next_url = next.map(|c| {
        let mut pairs: Vec<(String, String)> =
            form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
                .into_owned()
                .filter(|(k, v)| k != "cursor" && !v.is_empty())
                .collect();
        pairs.push(("cursor".into(), c));
        format!(
            "/audit?{}",
            form_urlencoded::Serializer::new(String::new())
                .extend_pairs(pairs)
                .finish()
        )
    });
    render(
        &state,
        StatusCode::OK,
        "audit.html",
        minijinja::context! {
            title => "Audit log", nav => "audit", me => who.me(), csrf => who.csrf,
            entries => rows, next_url, error,
            f => minijinja::context! { actor => q.actor, action => q.action, object_type => q.object_type, since => q.since, until => q.until },
            actions => ["partner.create", "partner.update", "user.create", "user.invite", "user.accept-invitation", "user.sign-in", "token.create", "token.revoke"],
            object_types => ["partner", "user", "api_token"],
        },
    )
}

#[derive(Deserialize, Default)]
pub struct OutboxQuery {
    status: Option<String>,
}

/// The e-mail outbox: what was sent, what waits, what failed and why.
pub async fn outbox(
    State(state): State<AppState>,
    who: PortalUser,
    PageQuery(q): PageQuery<OutboxQuery>,
) -> Response {
    if !who.principal.can_read_audit() {
        return forbidden(&state);
    }
    let status = q
        .status
        .as_deref()
        .filter(|s| ["queued", "sent", "failed"].contains(s));
    let mails = match notify::outbox(&state, &who.principal, status).await {
        Ok(m) => m,
        Err(e) => return error_page(&state, e),
    };
    let public_url = state.config.public_url();
    let mails: Vec<_> = mails
        .iter()
        .map(|m| {
            let text = crate::jobs::mail::body_with_link(&m.body, m.link.as_deref(), &public_url);
            minijinja::context! { text, ..minijinja::Value::from_serialize(m) }
        })
        .collect();
    let smtp = state
        .config
        .smtp_url
        .as_deref()
        .map(crate::config::redact_url);
    render(
        &state,
        StatusCode::OK,
        "outbox.html",
        minijinja::context! {
            title => "E-mail outbox", nav => "outbox", me => who.me(), csrf => &who.csrf,
            mails, status, smtp,
        },
    )
}
