//! Partner agreements: versioned Markdown documents per partner type (`*`
//! for every type without its own), and click-through acceptances recorded
//! with the user, the time, the address and the hash of the accepted text.
//! A partner must accept the newest version for its type; a new version asks
//! for a new acceptance.

use super::audit::{self, Change};
use super::{Actor, StoreError, StoreResult};
use crate::db::{self, Db};
use serde::Serialize;
use sqlx::{any::AnyRow, Row};
use trellis_core::program::model::TaskEvent;
use trellis_core::{FieldError, FieldErrors};
use utoipa::ToSchema;

/// The partner type of an agreement that applies to every type.
pub const ANY_TYPE: &str = "*";

#[derive(Debug, Clone, Serialize, ToSchema, PartialEq)]
pub struct Agreement {
    pub id: String,
    /// A partner type, or `*` for every type without its own agreement.
    pub partner_type: String,
    pub version: i64,
    pub title: String,
    /// Markdown.
    pub body: String,
    /// SHA-256 of the body, hex: what an acceptance refers to.
    pub sha256: String,
    pub created_at: String,
}

#[derive(Debug, Clone, Serialize, ToSchema, PartialEq)]
pub struct Acceptance {
    pub agreement_id: String,
    pub partner_id: String,
    pub user_id: String,
    pub user_email: String,
    pub at: String,
    pub ip: String,
    pub sha256: String,
}

fn from_row(r: &AnyRow) -> StoreResult<Agreement> {
    Ok(Agreement {
        id: r.try_get("id")?,
        partner_type: r.try_get("partner_type")?,
        version: r.try_get("version")?,
        title: r.try_get("title")?,
        body: r.try_get("body")?,
        sha256: r.try_get("sha256")?,
        created_at: r.try_get("created_at")?,
    })
}

fn acceptance_from_row(r: &AnyRow) -> StoreResult<Acceptance> {
    Ok(Acceptance {
        agreement_id: r.try_get("agreement_id")?,
        partner_id: r.try_get("partner_id")?,
        user_id: r.try_get("user_id")?,
        user_email: r.try_get("email")?,
        at: r.try_get("at")?,
        ip: r.try_get("ip")?,
        sha256: r.try_get("sha256")?,
    })
}

/// Adds a version: the next number for its partner type.
pub async fn create(
    db: &Db,
    actor: &Actor,
    partner_type: &str,
    title: &str,
    body: &str,
) -> StoreResult<Agreement> {
    let mut errors = FieldErrors::new();
    let partner_type = partner_type.trim();
    let partner_type = if partner_type.is_empty() || partner_type == ANY_TYPE {
        ANY_TYPE.to_string()
    } else {
        errors
            .check(trellis_core::validate::label("partner_type", partner_type))
            .unwrap_or_default()
    };
    let title = errors.check(trellis_core::validate::Name::parse("title", title, 200));
    if body.trim().is_empty() {
        errors.push(FieldError::new("body", "required", "body is required"));
    } else if body.len() > 200_000 {
        errors.push(FieldError::new(
            "body",
            "too-long",
            "body: at most 200,000 bytes",
        ));
    }
    errors.into_result().map_err(StoreError::Invalid)?;
    let title = title.map(|t| t.into_string()).unwrap_or_default();
    let mut tx = db.begin_write().await?;
    let last: Option<i64> =
        sqlx::query_scalar("SELECT MAX(version) FROM agreements WHERE partner_type = $1")
            .bind(&partner_type)
            .fetch_one(&mut *tx)
            .await?;
    let id = uuid::Uuid::now_v7().to_string();
    let version = last.unwrap_or(0) + 1;
    let sha = crate::auth::sha256_hex(body.as_bytes());
    sqlx::query(
        "INSERT INTO agreements (id, partner_type, version, title, body, sha256, created_at, created_by) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&id)
    .bind(&partner_type)
    .bind(version)
    .bind(&title)
    .bind(body)
    .bind(&sha)
    .bind(db::now())
    .bind(actor.user_id.as_deref())
    .execute(&mut *tx)
    .await?;
    audit::record(
        &mut tx,
        actor,
        Change {
            action: "agreement.create",
            object_type: "agreement",
            object_id: &id,
            partner_id: None,
            before: None,
            after: Some(serde_json::json!({"partner_type": partner_type, "version": version, "title": title, "sha256": sha})),
        },
    )
    .await?;
    // The partner admins who must now accept it hear of it (in-app and e-mail).
    let admins = sqlx::query(
        "SELECT u.id, u.email FROM users u JOIN partners p ON p.id = u.partner_id \
         WHERE u.role = 'partner-admin' AND u.status = 'active' AND p.status <> 'terminated' \
         AND ($1 = '*' OR p.partner_type = $1)",
    )
    .bind(&partner_type)
    .fetch_all(&mut *tx)
    .await?;
    let subject = format!("Please review and accept: {title} (version {version})");
    let body = "A new version of your partner agreement was published. Please read it and accept it on your onboarding page.";
    for r in &admins {
        let user_id: String = r.try_get("id")?;
        let email: String = r.try_get("email")?;
        crate::mail::notify_user(
            &mut tx,
            &user_id,
            &email,
            &subject,
            body,
            &format!("/agreements/{id}"),
        )
        .await?;
    }
    let row = sqlx::query("SELECT * FROM agreements WHERE id = $1")
        .bind(&id)
        .fetch_one(&mut *tx)
        .await?;
    let a = from_row(&row)?;
    tx.commit().await?;
    Ok(a)
}

/// Every version, newest first per type.
pub async fn list(db: &Db) -> StoreResult<Vec<Agreement>> {
    let rows = sqlx::query("SELECT * FROM agreements ORDER BY partner_type, version DESC")
        .fetch_all(db.pool())
        .await?;
    rows.iter().map(from_row).collect()
}

pub async fn get(db: &Db, id: &str) -> StoreResult<Option<Agreement>> {
    let row = sqlx::query("SELECT * FROM agreements WHERE id = $1")
        .bind(id)
        .fetch_optional(db.pool())
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// The version a partner of this type must accept now.
pub async fn current_for(db: &Db, partner_type: &str) -> StoreResult<Option<Agreement>> {
    let row = sqlx::query(
        "SELECT * FROM agreements WHERE partner_type IN ($1, '*') \
         ORDER BY CASE WHEN partner_type = '*' THEN 1 ELSE 0 END, version DESC LIMIT 1",
    )
    .bind(partner_type)
    .fetch_optional(db.pool())
    .await?;
    row.as_ref().map(from_row).transpose()
}

/// Whether a partner may see an agreement: one for its type or for every type.
pub fn applies_to(a: &Agreement, partner_type: &str) -> bool {
    a.partner_type == ANY_TYPE || a.partner_type == partner_type
}

/// The partner's acceptances, newest first.
pub async fn acceptances(db: &Db, partner_id: &str) -> StoreResult<Vec<Acceptance>> {
    let rows = sqlx::query(
        "SELECT a.*, u.email FROM agreement_acceptances a JOIN users u ON u.id = a.user_id \
         WHERE a.partner_id = $1 ORDER BY a.at DESC",
    )
    .bind(partner_id)
    .fetch_all(db.pool())
    .await?;
    rows.iter().map(acceptance_from_row).collect()
}

/// Records that `user_id` accepted agreement `id` for `partner_id`. Only the
/// current version for the partner's type can be accepted, once.
pub async fn accept(
    db: &Db,
    actor: &Actor,
    partner: &super::partners::Partner,
    id: &str,
    ip: &str,
) -> StoreResult<Acceptance> {
    let user_id = actor
        .user_id
        .clone()
        .ok_or_else(|| StoreError::Internal("an acceptance needs a user".into()))?;
    let current = current_for(db, &partner.partner_type).await?;
    let Some(current) = current.filter(|c| c.id == id) else {
        return match get(db, id).await? {
            Some(a) if applies_to(&a, &partner.partner_type) => Err(StoreError::Conflict {
                field: "agreement",
                message: format!(
                    "version {} is no longer current; accept the newest version",
                    a.version
                ),
            }),
            _ => Err(StoreError::NotFound("agreement")),
        };
    };
    let mut tx = db.begin_write().await?;
    let res = sqlx::query(
        "INSERT INTO agreement_acceptances (id, agreement_id, partner_id, user_id, at, ip, sha256) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(uuid::Uuid::now_v7().to_string())
    .bind(&current.id)
    .bind(&partner.id)
    .bind(&user_id)
    .bind(db::now())
    .bind(ip)
    .bind(&current.sha256)
    .execute(&mut *tx)
    .await;
    match res {
        Err(e) if db::is_unique_violation(&e) => {
            return Err(StoreError::Conflict {
                field: "agreement",
                message: format!("version {} is already accepted", current.version),
            })
        }
        r => r?,
    };
    audit::record(
        &mut tx,
        actor,
        Change {
            action: "agreement.accept",
            object_type: "agreement",
            object_id: &current.id,
            partner_id: Some(&partner.id),
            before: None,
            after: Some(
                serde_json::json!({"version": current.version, "sha256": current.sha256, "ip": ip}),
            ),
        },
    )
    .await?;
    super::onboarding::on_event(&mut tx, actor, &partner.id, TaskEvent::AgreementAccepted).await?;
    let row = sqlx::query(
        "SELECT a.*, u.email FROM agreement_acceptances a JOIN users u ON u.id = a.user_id \
         WHERE a.agreement_id = $1 AND a.partner_id = $2",
    )
    .bind(&current.id)
    .bind(&partner.id)
    .fetch_one(&mut *tx)
    .await?;
    let acc = acceptance_from_row(&row)?;
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
