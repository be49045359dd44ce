//! Partner agreements: versioned Markdown documents per partner type (`*`
//! for every type without its own), and click-through acceptances recorded
//! with the user, the time, the address and the hash of the accepted text.
//! A partner must accept the newest version for its type; a new version asks
//! for a new acceptance and tells the partner admins who must give it.

use super::audit::{self, Subject};
use super::{notify, onboarding, App, AppError, AppResult};
use crate::store::agreements::{self as store, Acceptance, Agreement};
use crate::store::partners::Partner;
use crate::store::Actor;
use serde::Deserialize;
use trellis_core::access::Principal;
use trellis_core::program::model::TaskEvent;
use trellis_core::{FieldError, FieldErrors};
use utoipa::ToSchema;

/// The partner type of an agreement that applies to every type.
pub const ANY_TYPE: &str = "*";

/// Whether a partner may see an agreement: one for its type or for every type.
pub fn applies_to(a: &Agreement, partner_type: &str) -> bool {
    a.partner_type == ANY_TYPE || a.partner_type == partner_type
}

/// A new version of an agreement.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAgreement {
    /// A partner type, or `*` for every type without its own agreement.
    pub partner_type: String,
    pub title: String,
    /// Markdown.
    pub body: String,
}

/// Publishes a new version of an agreement (vendor admins); partners of the
/// type must accept it again, and their admins hear of it.
pub async fn create(
    app: &App,
    who: &Principal,
    actor: &Actor,
    new: &NewAgreement,
) -> AppResult<Agreement> {
    if !who.can_manage_agreements() {
        return Err(AppError::forbidden("only vendor admins publish agreements"));
    }
    let mut errors = FieldErrors::new();
    let partner_type = new.partner_type.trim();
    let partner_type = if partner_type.is_empty() || partner_type == ANY_TYPE {
        ANY_TYPE.to_string()
    } else {
        errors
            .check(trellis_core::validate::label("partner_type", partner_type))
            .unwrap_or_default()
    };
    let title = errors.check(trellis_core::validate::Name::parse(
        "title", &new.title, 200,
    ));
    if new.body.trim().is_empty() {
        errors.push(FieldError::new("body", "required", "body is required"));
    } else if new.body.len() > 200_000 {
        errors.push(FieldError::new(
            "body",
            "too-long",
            "body: at most 200,000 bytes",
        ));
    }
    errors.into_result()?;
    let title = title.map(|t| t.into_string()).unwrap_or_default();
    let mut tx = app.db.begin_write().await?;
    let a = store::insert(
        &mut tx,
        &partner_type,
        &title,
        &new.body,
        actor.user_id.as_deref(),
    )
    .await?;
    audit::record(
        &mut tx,
        actor,
        "agreement.create",
        Subject::new("agreement", &a.id),
        None,
        Some(serde_json::json!({"partner_type": a.partner_type, "version": a.version, "title": a.title, "sha256": a.sha256})),
    )
    .await?;
    let admins = store::admins_of_type(&mut tx, &partner_type).await?;
    notify::users(
        &mut tx,
        &admins,
        &format!("Please review and accept: {} (version {})", a.title, a.version),
        "A new version of your partner agreement was published. Please read it and accept it on your onboarding page.",
        &format!("/agreements/{}", a.id),
    )
    .await?;
    tx.commit().await?;
    Ok(a)
}

/// Every version (vendor users), or those for the caller's partner's type.
pub async fn visible(app: &App, who: &Principal) -> AppResult<Vec<Agreement>> {
    let all = store::list(&app.db).await?;
    if who.is_vendor() {
        return Ok(all);
    }
    let pid = who.partner_id.clone().unwrap_or_default();
    let partner = super::partners::visible(app, who, &pid).await?;
    Ok(all
        .into_iter()
        .filter(|a| applies_to(a, &partner.partner_type))
        .collect())
}

/// The agreement if `who` may read it: vendor users any, partner users
/// those for their type (with their partner, loaded for the check).
pub async fn readable(
    app: &App,
    who: &Principal,
    id: &str,
) -> AppResult<(Agreement, Option<Partner>)> {
    let a = store::get(&app.db, id)
        .await?
        .ok_or(AppError::NotFound("agreement"))?;
    if who.is_vendor() {
        return Ok((a, None));
    }
    let pid = who.partner_id.clone().unwrap_or_default();
    let p = super::partners::visible(app, who, &pid).await?;
    if applies_to(&a, &p.partner_type) {
        Ok((a, Some(p)))
    } else {
        Err(AppError::NotFound("agreement"))
    }
}

/// Where a partner stands with its agreement: the version it must accept
/// now (if any) and every acceptance it gave, newest first.
pub async fn standing(
    app: &App,
    partner: &Partner,
) -> AppResult<(Option<Agreement>, Vec<Acceptance>)> {
    Ok((
        store::current_for(&app.db, &partner.partner_type).await?,
        store::acceptances(&app.db, &partner.id).await?,
    ))
}

/// The versions of every agreement (vendor users).
pub async fn list(app: &App, who: &Principal) -> AppResult<Vec<Agreement>> {
    if !who.is_vendor() {
        return Err(AppError::NotFound("agreement"));
    }
    Ok(store::list(&app.db).await?)
}

/// Records that the caller (a partner admin) accepted agreement `id` for
/// `partner`. Only the current version for the partner's type can be
/// accepted, once.
pub async fn accept(
    app: &App,
    who: &Principal,
    actor: &Actor,
    partner: &Partner,
    id: &str,
    ip: &str,
) -> AppResult<Acceptance> {
    if !who.can_accept_agreement(partner.as_ref()) {
        return Err(AppError::forbidden(
            "only the partner's admin can accept its agreement",
        ));
    }
    let user_id = actor
        .user_id
        .clone()
        .ok_or_else(|| AppError::internal("an acceptance needs a user"))?;
    let current = store::current_for(&app.db, &partner.partner_type).await?;
    let Some(current) = current.filter(|c| c.id == id) else {
        return match store::get(&app.db, id).await? {
            Some(a) if applies_to(&a, &partner.partner_type) => Err(AppError::Conflict {
                field: "agreement",
                message: format!(
                    "version {} is no longer current; accept the newest version",
                    a.version
                ),
            }),
            _ => Err(AppError::NotFound("agreement")),
        };
    };
    let mut tx = app.db.begin_write().await?;
    let acc = store::insert_acceptance(&mut tx, &current, &partner.id, &user_id, ip).await?;
    audit::record(
        &mut tx,
        actor,
        "agreement.accept",
        Subject::new("agreement", &current.id).of_partner(&partner.id),
        None,
        Some(serde_json::json!({"version": current.version, "sha256": current.sha256, "ip": ip})),
    )
    .await?;
    onboarding::on_event(&mut tx, actor, &partner.id, TaskEvent::AgreementAccepted).await?;
    tx.commit().await?;
    Ok(acc)
}

/// Markdown to HTML for display. Raw HTML in the source is shown as text,
/// never passed through.
pub fn render_html(markdown: &str) -> String {
    use pulldown_cmark::{CowStr, Event, Options, Parser, Tag};
    let safe = |url: CowStr<'static>| -> CowStr<'static> {
        let lower = url.trim().to_ascii_lowercase();
        if ["javascript:", "vbscript:", "data:"]
            .iter()
            .any(|s| lower.starts_with(s))
        {
            CowStr::Borrowed("#")
        } else {
            url
        }
    };
    let parser = Parser::new_ext(markdown, Options::ENABLE_TABLES).map(|e| match e {
        Event::Html(h) | Event::InlineHtml(h) => Event::Text(h),
        Event::Start(Tag::Link {
            link_type,
            dest_url,
            title,
            id,
        }) => Event::Start(Tag::Link {
            link_type,
            dest_url: safe(dest_url.into_static()),
            title,
            id,
        }),
        Event::Start(Tag::Image {
            link_type,
            dest_url,
            title,
            id,
        }) => Event::Start(Tag::Image {
            link_type,
            dest_url: safe(dest_url.into_static()),
            title,
            id,
        }),
        other => other,
    });
    let mut out = String::with_capacity(markdown.len() * 3 / 2);
    pulldown_cmark::html::push_html(&mut out, parser);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_renders_and_raw_html_is_escaped() {
        let html = render_html("# Terms\n\nPay **net 30**.\n\n<script>alert(1)</script>\n");
        assert!(html.contains("<h1>Terms</h1>"), "{html}");
        assert!(html.contains("<strong>net 30</strong>"), "{html}");
        assert!(!html.contains("<script>"), "{html}");
        assert!(html.contains("&lt;script&gt;"), "{html}");
        let html = render_html("[click](javascript:alert(1)) [ok](https://acme.example/terms)");
        assert!(!html.contains("javascript:"), "{html}");
        assert!(
            html.contains("href=\"https://acme.example/terms\""),
            "{html}"
        );
    }
}
