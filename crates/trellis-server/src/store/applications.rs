//! Applications to become a partner: rows in, rows out. Scoring, the
//! duplicate check and decisions live in `app::recruit`.

use super::{StoreError, StoreResult, Tx, OPEN_APPLICATION_DOMAIN};
use crate::db::{self, Db};
use serde::{Deserialize, Serialize};
use sqlx::{any::AnyRow, Row};
use trellis_core::recruit::{Application, ProfileFit};
use utoipa::ToSchema;

/// An existing partner or open application that may be the same company.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct Duplicate {
    /// `partner` or `application`.
    pub kind: String,
    pub id: String,
    pub name: String,
    pub score: f64,
    pub reasons: Vec<String>,
}

/// An application with what Trellis made of it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ApplicationRecord {
    pub id: String,
    pub created_at: String,
    /// `submitted`, `more-info`, `approved` or `rejected`.
    pub status: String,
    /// The program whose form was filled in.
    pub program: Option<String>,
    #[schema(value_type = Object)]
    pub application: Application,
    /// Best profile fit, in [0, 1].
    pub score: Option<f64>,
    #[schema(value_type = Vec<Object>)]
    pub fit: Vec<ProfileFit>,
    pub duplicates: Vec<Duplicate>,
    pub source_ip: String,
    pub decided_at: Option<String>,
    pub decided_by: Option<String>,
    pub reason: Option<String>,
    pub partner_id: Option<String>,
}

const SELECT: &str = "SELECT a.*, p.slug AS program_slug, u.email AS decided_by_email FROM applications a \
                      LEFT JOIN programs p ON p.id = a.program_id LEFT JOIN users u ON u.id = a.decided_by";

fn from_row(r: &AnyRow) -> StoreResult<ApplicationRecord> {
    let json = |col: &str| -> StoreResult<String> { Ok(r.try_get::<String, _>(col)?) };
    let bad = |e: serde_json::Error| StoreError::Internal(format!("stored application: {e}"));
    Ok(ApplicationRecord {
        id: r.try_get("id")?,
        created_at: r.try_get("created_at")?,
        status: r.try_get("status")?,
        program: db::opt_str(r, "program_slug")?,
        application: serde_json::from_str(&json("details")?).map_err(bad)?,
        score: db::opt_str(r, "score")?
            .map(|s| s.parse::<f64>())
            .transpose()
            .map_err(|e| StoreError::Internal(format!("stored application score: {e}")))?,
        fit: serde_json::from_str(&json("fit")?).map_err(bad)?,
        duplicates: serde_json::from_str(&json("duplicates")?).map_err(bad)?,
        source_ip: r.try_get("source_ip")?,
        decided_at: db::opt_str(r, "decided_at")?,
        decided_by: db::opt_str(r, "decided_by_email")?,
        reason: db::opt_str(r, "reason")?,
        partner_id: db::opt_str(r, "partner_id")?,
    })
}

/// Applications from `ip` in the last hour.
pub async fn recent_from(db: &Db, ip: &str) -> StoreResult<i64> {
    let since = db::fmt_time(chrono::Utc::now() - chrono::Duration::hours(1));
    Ok(sqlx::query_scalar(
        "SELECT COUNT(*) FROM applications WHERE source_ip = $1 AND created_at > $2",
    )
    .bind(ip)
    .bind(since)
    .fetch_one(db.pool())
    .await?)
}

/// A company Trellis already knows, to check an application against.
#[derive(Debug, Clone)]
pub struct KnownCompany {
    /// `p:<partner id>` or `a:<application id>`.
    pub key: String,
    pub name: String,
    pub domain: Option<String>,
    pub country: String,
}

/// Every partner and every open application, as companies.
pub async fn known_companies(db: &Db) -> StoreResult<Vec<KnownCompany>> {
    let mut out = Vec::new();
    for r in sqlx::query("SELECT id, name, website, country FROM partners")
        .fetch_all(db.pool())
        .await?
    {
        out.push(KnownCompany {
            key: format!("p:{}", r.try_get::<String, _>("id")?),
            name: r.try_get("name")?,
            domain: db::opt_str(&r, "website")?,
            country: r.try_get("country")?,
        });
    }
    for r in sqlx::query(
        "SELECT id, company, domain, country FROM applications WHERE status IN ('submitted','more-info')",
    )
    .fetch_all(db.pool())
    .await?
    {
        out.push(KnownCompany {
            key: format!("a:{}", r.try_get::<String, _>("id")?),
            name: r.try_get("company")?,
            domain: Some(r.try_get("domain")?),
            country: r.try_get("country")?,
        });
    }
    Ok(out)
}

/// A JSON column's text.
fn to_json<T: Serialize + ?Sized>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "null".into())
}

/// What the public page submits, checked and scored by the caller.
pub struct Submission<'a> {
    /// The slug of the program whose form was filled in.
    pub program: Option<&'a str>,
    pub application: &'a Application,
    pub fit: &'a [ProfileFit],
    pub duplicates: &'a [Duplicate],
    pub ip: &'a str,
}

/// Inserts a submitted application; returns its id. A company with an open
/// application is a conflict on `domain`.
pub async fn insert(tx: &mut Tx, s: &Submission<'_>) -> StoreResult<String> {
    let a = s.application;
    let id = uuid::Uuid::now_v7().to_string();
    sqlx::query(
        "INSERT INTO applications (id, created_at, status, program_id, company, domain, country, partner_type, \
         contact_name, contact_email, details, score, fit, duplicates, source_ip) \
         VALUES ($1, $2, 'submitted', (SELECT id FROM programs WHERE slug = $3), $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
    )
    .bind(&id)
    .bind(db::now())
    .bind(s.program)
    .bind(&a.company)
    .bind(&a.domain)
    .bind(&a.country)
    .bind(&a.partner_type)
    .bind(&a.contact_name)
    .bind(&a.contact_email)
    .bind(to_json(a))
    .bind(s.fit.first().map(|f| f.score.to_string()))
    .bind(to_json(s.fit))
    .bind(to_json(s.duplicates))
    .bind(s.ip)
    .execute(&mut **tx)
    .await
    .map_err(|e| {
        StoreError::on_unique(e, OPEN_APPLICATION_DOMAIN, || {
            format!(
                "an application for {} is already being reviewed; we will be in touch",
                a.domain
            )
        })
    })?;
    Ok(id)
}

/// Applications, the review queue first (oldest waiting first), then decided
/// ones (newest first); at most 500.
pub async fn list(db: &Db, status: Option<&str>) -> StoreResult<Vec<ApplicationRecord>> {
    let (filter, order) = match status {
        Some(s) => (
            " WHERE a.status = $1",
            if s == "submitted" || s == "more-info" {
                "a.created_at"
            } else {
                "a.decided_at DESC"
            },
        ),
        None => (
            "",
            "CASE WHEN a.status IN ('submitted','more-info') THEN 0 ELSE 1 END, a.created_at",
        ),
    };
    let sql = format!("{SELECT}{filter} ORDER BY {order}, a.id LIMIT 500");
    let mut q = sqlx::query(&sql);
    if let Some(s) = status {
        q = q.bind(s);
    }
    let rows = q.fetch_all(db.pool()).await?;
    rows.iter().map(from_row).collect()
}

pub async fn get(db: &Db, id: &str) -> StoreResult<Option<ApplicationRecord>> {
    let row = sqlx::query(&format!("{SELECT} WHERE a.id = $1"))
        .bind(id)
        .fetch_optional(db.pool())
        .await?;
    row.as_ref().map(from_row).transpose()
}

pub async fn get_in(tx: &mut Tx, id: &str) -> StoreResult<ApplicationRecord> {
    let row = sqlx::query(&format!("{SELECT} WHERE a.id = $1"))
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?
        .ok_or(StoreError::NotFound("application"))?;
    from_row(&row)
}

/// Records a decision on an application.
pub async fn set_decision(
    tx: &mut Tx,
    id: &str,
    status: &str,
    decided_by: Option<&str>,
    reason: Option<&str>,
    partner_id: Option<&str>,
) -> StoreResult<()> {
    sqlx::query(
        "UPDATE applications SET status = $1, decided_at = $2, decided_by = $3, reason = $4, partner_id = $5 WHERE id = $6",
    )
    .bind(status)
    .bind(db::now())
    .bind(decided_by)
    .bind(reason)
    .bind(partner_id)
    .bind(id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
