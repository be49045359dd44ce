//! Partner agreements and their acceptances: rows in, rows out. The rules
//! (who accepts which version) live in `app::agreements`.

use super::users::Recipient;
use super::{StoreError, StoreResult, Tx, AGREEMENT_ACCEPTANCE};
use crate::db::{self, Db};
use serde::Serialize;
use sqlx::{any::AnyRow, Row};
use utoipa::ToSchema;

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

/// Inserts the next version of the agreement for `partner_type`.
pub async fn insert(
    tx: &mut Tx,
    partner_type: &str,
    title: &str,
    body: &str,
    created_by: Option<&str>,
) -> StoreResult<Agreement> {
    let last: Option<i64> =
        sqlx::query_scalar("SELECT MAX(version) FROM agreements WHERE partner_type = $1")
            .bind(partner_type)
            .fetch_one(&mut **tx)
            .await?;
    let id = uuid::Uuid::now_v7().to_string();
    sqlx::query(
        "INSERT INTO agreements (id, partner_type, version, title, body, sha256, created_at, created_by) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&id)
    .bind(partner_type)
    .bind(last.unwrap_or(0) + 1)
    .bind(title)
    .bind(body)
    .bind(crate::auth::sha256_hex(body.as_bytes()))
    .bind(db::now())
    .bind(created_by)
    .execute(&mut **tx)
    .await?;
    let row = sqlx::query("SELECT * FROM agreements WHERE id = $1")
        .bind(&id)
        .fetch_one(&mut **tx)
        .await?;
    from_row(&row)
}

/// The active admins of partners (not terminated) of `partner_type` (`*`: all).
pub async fn admins_of_type(tx: &mut Tx, partner_type: &str) -> StoreResult<Vec<Recipient>> {
    sqlx::query(
        "SELECT u.id, u.email FROM users u JOIN partners p ON p.id = u.partner_id \
         WHERE u.role = 'partner-admin' AND u.status = 'active' AND p.status <> 'terminated' \
         AND ($1 = '*' OR p.partner_type = $1)",
    )
    .bind(partner_type)
    .fetch_all(&mut **tx)
    .await?
    .iter()
    .map(|r| {
        Ok(Recipient {
            id: r.try_get("id")?,
            email: r.try_get("email")?,
        })
    })
    .collect()
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

/// Records an acceptance of `a` for a partner; a second one is a conflict.
pub async fn insert_acceptance(
    tx: &mut Tx,
    a: &Agreement,
    partner_id: &str,
    user_id: &str,
    ip: &str,
) -> StoreResult<Acceptance> {
    sqlx::query(
        "INSERT INTO agreement_acceptances (id, agreement_id, partner_id, user_id, at, ip, sha256) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(uuid::Uuid::now_v7().to_string())
    .bind(&a.id)
    .bind(partner_id)
    .bind(user_id)
    .bind(db::now())
    .bind(ip)
    .bind(&a.sha256)
    .execute(&mut **tx)
    .await
    .map_err(|e| {
        StoreError::on_unique(e, AGREEMENT_ACCEPTANCE, || {
            format!("version {} is already accepted", a.version)
        })
    })?;
    let row = sqlx::query(
        "SELECT a.*, u.email FROM agreement_acceptances a JOIN users u ON u.id = a.user_id \
         WHERE a.agreement_id = $1 AND a.partner_id = $2",
    )
    .bind(&a.id)
    .bind(partner_id)
    .fetch_one(&mut **tx)
    .await?;
    acceptance_from_row(&row)
}
