//! The append-only audit trail: who changed what, when, before and after.
//! Entries are written in the same transaction as the change they describe.

use super::{decode_cursor, encode_cursor, page_limit, Actor, Arg, Sql, StoreResult};
use crate::db::{self, Db};
use serde::Serialize;
use sqlx::{any::AnyRow, Any, Row};
use utoipa::ToSchema;

/// One recorded change.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AuditEntry {
    pub id: i64,
    /// When it happened (RFC 3339, UTC).
    pub at: String,
    /// The user who did it; absent for the command line and the system.
    pub actor_id: Option<String>,
    /// E-mail of the user, or `cli` / `system:…`.
    pub actor_email: String,
    /// What was done, e.g. `partner.create`, `partner.update`, `user.invite`.
    pub action: String,
    pub object_type: String,
    pub object_id: String,
    /// The partner organisation the object belongs to, if any.
    pub partner_id: Option<String>,
    /// The object before the change (absent for creations).
    #[schema(value_type = Option<Object>)]
    pub before: Option<serde_json::Value>,
    /// The object after the change (absent for deletions).
    #[schema(value_type = Option<Object>)]
    pub after: Option<serde_json::Value>,
    pub request_id: Option<String>,
}

/// What to record.
pub struct Change<'a> {
    pub action: &'a str,
    pub object_type: &'a str,
    pub object_id: &'a str,
    pub partner_id: Option<&'a str>,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
}

/// Appends one entry inside the caller's transaction.
pub async fn record(
    tx: &mut sqlx::Transaction<'static, Any>,
    actor: &Actor,
    change: Change<'_>,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO audit_log (at, actor_id, actor_email, action, object_type, object_id, \
         partner_id, before_json, after_json, request_id) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(db::now())
    .bind(actor.user_id.as_deref())
    .bind(&actor.email)
    .bind(change.action)
    .bind(change.object_type)
    .bind(change.object_id)
    .bind(change.partner_id)
    .bind(change.before.map(|v| v.to_string()))
    .bind(change.after.map(|v| v.to_string()))
    .bind(actor.request_id.as_deref())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Filters for browsing the trail. Newest first.
#[derive(Debug, Default, Clone)]
pub struct AuditFilter {
    pub actor: Option<String>,
    pub action: Option<String>,
    pub object_type: Option<String>,
    pub object_id: Option<String>,
    pub partner_id: Option<String>,
    /// Inclusive lower bound, RFC 3339 or a date (YYYY-MM-DD).
    pub since: Option<String>,
    /// Exclusive upper bound, RFC 3339 or a date.
    pub until: Option<String>,
    pub cursor: Option<String>,
    pub limit: Option<i64>,
}

fn from_row(r: &AnyRow) -> StoreResult<AuditEntry> {
    let json = |col: &str| -> StoreResult<Option<serde_json::Value>> {
        Ok(db::opt_str(r, col)?.and_then(|s| serde_json::from_str(&s).ok()))
    };
    Ok(AuditEntry {
        id: r.try_get("id")?,
        at: r.try_get("at")?,
        actor_id: db::opt_str(r, "actor_id")?,
        actor_email: r.try_get("actor_email")?,
        action: r.try_get("action")?,
        object_type: r.try_get("object_type")?,
        object_id: r.try_get("object_id")?,
        partner_id: db::opt_str(r, "partner_id")?,
        before: json("before_json")?,
        after: json("after_json")?,
        request_id: db::opt_str(r, "request_id")?,
    })
}

/// One page of entries and the cursor of the next page.
pub async fn list(db: &Db, f: &AuditFilter) -> StoreResult<(Vec<AuditEntry>, Option<String>)> {
    let limit = page_limit(f.limit);
    let mut q = Sql::new("SELECT * FROM audit_log WHERE 1 = 1");
    if let Some(a) = &f.actor {
        q.push(" AND (actor_email = ").bind_text(a.to_lowercase());
        q.push(" OR actor_id = ").bind_text(a).push(")");
    }
    if let Some(a) = &f.action {
        q.push(" AND action = ").bind_text(a);
    }
    if let Some(t) = &f.object_type {
        q.push(" AND object_type = ").bind_text(t);
    }
    if let Some(o) = &f.object_id {
        q.push(" AND object_id = ").bind_text(o);
    }
    if let Some(p) = &f.partner_id {
        q.push(" AND partner_id = ").bind_text(p);
    }
    if let Some(s) = &f.since {
        q.push(" AND at >= ").bind_text(s);
    }
    if let Some(u) = &f.until {
        q.push(" AND at < ").bind_text(u);
    }
    if let Some(c) = &f.cursor {
        let parts = decode_cursor("cursor", c, 1)?;
        let id: i64 = parts[0].parse().map_err(|_| {
            super::StoreError::Invalid(
                trellis_core::FieldError::new("cursor", "invalid-cursor", "cursor is not valid")
                    .into(),
            )
        })?;
        q.push(" AND id < ").bind(Arg::Int(id));
    }
    q.push(" ORDER BY id DESC LIMIT ").bind(Arg::Int(limit + 1));
    let rows = q.query().fetch_all(db.pool()).await?;
    let mut entries = rows.iter().map(from_row).collect::<StoreResult<Vec<_>>>()?;
    let next = if entries.len() as i64 > limit {
        entries.truncate(limit as usize);
        entries.last().map(|e| encode_cursor(&[&e.id.to_string()]))
    } else {
        None
    };
    Ok((entries, next))
}
