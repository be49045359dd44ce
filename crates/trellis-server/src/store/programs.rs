//! Programs, their versions and partners' enrollments: rows in, rows out.
//! A published or retired version never changes (the database refuses it
//! too); the rules of drafting and publishing live in `app::programs`.

use super::{StoreError, StoreResult, Tx, PROGRAM_VERSION_NUMBER};
use crate::db::{self, Db};
use serde::Serialize;
use sqlx::{any::AnyRow, Row};
use trellis_core::program::{Checked, VersionStatus};
use utoipa::ToSchema;

/// One version of a program, without its source.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct VersionMeta {
    pub id: String,
    /// The program's id (`[program].id` in the source).
    pub program: String,
    /// 1, 2, 3… in upload order within the program.
    pub number: i64,
    /// The `[program].version` label, e.g. `2027.1`.
    pub label: String,
    /// The `[program].effective` date.
    pub effective: String,
    pub status: VersionStatus,
    /// SHA-256 of the source, hex.
    pub sha256: String,
    /// Error findings when it was last checked (publishing needs 0).
    pub errors: i64,
    pub warnings: i64,
    pub created_by: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    pub published_at: Option<String>,
    pub published_by: Option<String>,
    pub retired_at: Option<String>,
}

/// A version with its source.
#[derive(Debug, Clone)]
pub struct Version {
    pub meta: VersionMeta,
    pub name: String,
    pub source: String,
}

/// A program with its version in force and its newest version.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ProgramSummary {
    pub id: String,
    /// `[program].id`.
    pub slug: String,
    pub name: String,
    pub published: Option<VersionMeta>,
    pub latest: VersionMeta,
    pub versions: i64,
    /// Partners enrolled.
    pub partners: i64,
}

/// A partner's place in a program.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq)]
pub struct Enrollment {
    pub partner_id: String,
    /// The program's id (`[program].id`).
    pub program: String,
    pub program_name: String,
    /// A `partner_types` id of the program.
    pub partner_type: String,
    /// A `segments` id of the program.
    pub segment: String,
    /// A tier or track id, if assigned.
    pub level: Option<String>,
    pub updated_at: String,
}

const SELECT_VERSION: &str = "SELECT v.*, p.slug AS program_slug, p.name AS program_name \
     FROM program_versions v JOIN programs p ON p.id = v.program_id";

fn meta_from_row(r: &AnyRow) -> StoreResult<VersionMeta> {
    Ok(VersionMeta {
        id: r.try_get("id")?,
        program: r.try_get("program_slug")?,
        number: r.try_get("number")?,
        label: r.try_get("label")?,
        effective: r.try_get("effective")?,
        status: VersionStatus::parse("status", &r.try_get::<String, _>("status")?)
            .map_err(|e| StoreError::Internal(format!("stored version status: {e}")))?,
        sha256: r.try_get("sha256")?,
        errors: r.try_get("errors")?,
        warnings: r.try_get("warnings")?,
        created_by: db::opt_str(r, "created_by")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
        published_at: db::opt_str(r, "published_at")?,
        published_by: db::opt_str(r, "published_by")?,
        retired_at: db::opt_str(r, "retired_at")?,
    })
}

fn version_from_row(r: &AnyRow) -> StoreResult<Version> {
    Ok(Version {
        meta: meta_from_row(r)?,
        name: r.try_get("program_name")?,
        source: r.try_get("source")?,
    })
}

/// Every program, by name.
pub async fn list(db: &Db) -> StoreResult<Vec<ProgramSummary>> {
    let programs = sqlx::query(
        "SELECT p.id, p.slug, p.name, \
         (SELECT COUNT(*) FROM program_versions v WHERE v.program_id = p.id) AS versions, \
         (SELECT COUNT(*) FROM partner_programs e WHERE e.program_id = p.id) AS partners \
         FROM programs p ORDER BY p.name, p.id",
    )
    .fetch_all(db.pool())
    .await?;
    let versions = sqlx::query(&format!("{SELECT_VERSION} ORDER BY v.program_id, v.number"))
        .fetch_all(db.pool())
        .await?
        .iter()
        .map(meta_from_row)
        .collect::<StoreResult<Vec<_>>>()?;
    programs
        .iter()
        .map(|r| {
            let slug: String = r.try_get("slug")?;
            let mine: Vec<&VersionMeta> = versions.iter().filter(|v| v.program == slug).collect();
            let latest = mine
                .last()
                .map(|v| (*v).clone())
                .ok_or_else(|| StoreError::Internal(format!("program {slug} has no version")))?;
            Ok(ProgramSummary {
                id: r.try_get("id")?,
                name: r.try_get("name")?,
                published: mine
                    .iter()
                    .find(|v| v.status == VersionStatus::Published)
                    .map(|v| (*v).clone()),
                latest,
                versions: r.try_get("versions")?,
                partners: r.try_get("partners")?,
                slug,
            })
        })
        .collect()
}

/// A program's versions, newest first.
pub async fn versions(db: &Db, slug: &str) -> StoreResult<Vec<VersionMeta>> {
    let rows = sqlx::query(&format!(
        "{SELECT_VERSION} WHERE p.slug = $1 ORDER BY v.number DESC"
    ))
    .bind(slug)
    .fetch_all(db.pool())
    .await?;
    rows.iter().map(meta_from_row).collect()
}

pub async fn version(db: &Db, slug: &str, number: i64) -> StoreResult<Option<Version>> {
    let row = sqlx::query(&format!(
        "{SELECT_VERSION} WHERE p.slug = $1 AND v.number = $2"
    ))
    .bind(slug)
    .bind(number)
    .fetch_optional(db.pool())
    .await?;
    row.as_ref().map(version_from_row).transpose()
}

/// The version of a program in force, if any.
pub async fn published(db: &Db, slug: &str) -> StoreResult<Option<Version>> {
    let row = sqlx::query(&format!(
        "{SELECT_VERSION} WHERE p.slug = $1 AND v.status = 'published'"
    ))
    .bind(slug)
    .fetch_optional(db.pool())
    .await?;
    row.as_ref().map(version_from_row).transpose()
}

pub async fn version_in(tx: &mut Tx, slug: &str, number: i64) -> StoreResult<Version> {
    let row = sqlx::query(&format!(
        "{SELECT_VERSION} WHERE p.slug = $1 AND v.number = $2"
    ))
    .bind(slug)
    .bind(number)
    .fetch_optional(&mut **tx)
    .await?
    .ok_or(StoreError::NotFound("program version"))?;
    version_from_row(&row)
}

/// The id of the program with `[program].id` = `slug`.
pub async fn program_id(tx: &mut Tx, slug: &str) -> StoreResult<Option<String>> {
    Ok(
        sqlx::query_scalar("SELECT id FROM programs WHERE slug = $1")
            .bind(slug)
            .fetch_optional(&mut **tx)
            .await?,
    )
}

/// Inserts a program; returns its id.
pub async fn insert_program(tx: &mut Tx, slug: &str, name: &str, now: &str) -> StoreResult<String> {
    let id = uuid::Uuid::now_v7().to_string();
    sqlx::query(
        "INSERT INTO programs (id, slug, name, created_at, updated_at) VALUES ($1, $2, $3, $4, $4)",
    )
    .bind(&id)
    .bind(slug)
    .bind(name)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(id)
}

/// Inserts the next version of a program as a draft; returns its number.
pub async fn insert_draft(
    tx: &mut Tx,
    program_id: &str,
    c: &Checked,
    created_by: Option<&str>,
    now: &str,
) -> StoreResult<i64> {
    let number: i64 = sqlx::query_scalar(
        "SELECT COALESCE(MAX(number), 0) + 1 FROM program_versions WHERE program_id = $1",
    )
    .bind(program_id)
    .fetch_one(&mut **tx)
    .await?;
    sqlx::query(
        "INSERT INTO program_versions (id, program_id, number, label, effective, status, source, \
         sha256, errors, warnings, created_by, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, 'draft', $6, $7, $8, $9, $10, $11, $11)",
    )
    .bind(uuid::Uuid::now_v7().to_string())
    .bind(program_id)
    .bind(number)
    .bind(&c.program.program.version)
    .bind(&c.program.program.effective)
    .bind(&c.source)
    .bind(crate::auth::sha256_hex(c.source.as_bytes()))
    .bind(c.errors() as i64)
    .bind(c.warnings() as i64)
    .bind(created_by)
    .bind(now)
    .execute(&mut **tx)
    .await
    .map_err(|e| {
        StoreError::on_unique(e, PROGRAM_VERSION_NUMBER, || {
            "another draft of this program was saved at the same moment; try again".into()
        })
    })?;
    Ok(number)
}

/// Replaces a version's source and its checked counts.
pub async fn update_source(tx: &mut Tx, version_id: &str, c: &Checked) -> StoreResult<()> {
    sqlx::query(
        "UPDATE program_versions SET label = $1, effective = $2, source = $3, sha256 = $4, \
         errors = $5, warnings = $6, updated_at = $7 WHERE id = $8",
    )
    .bind(&c.program.program.version)
    .bind(&c.program.program.effective)
    .bind(&c.source)
    .bind(crate::auth::sha256_hex(c.source.as_bytes()))
    .bind(c.errors() as i64)
    .bind(c.warnings() as i64)
    .bind(db::now())
    .bind(version_id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Deletes a version, and its program when no version is left.
pub async fn delete_version(tx: &mut Tx, version_id: &str, slug: &str) -> StoreResult<()> {
    sqlx::query("DELETE FROM program_versions WHERE id = $1")
        .bind(version_id)
        .execute(&mut **tx)
        .await?;
    let left: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM program_versions v JOIN programs p ON p.id = v.program_id WHERE p.slug = $1",
    )
    .bind(slug)
    .fetch_one(&mut **tx)
    .await?;
    if left == 0 {
        sqlx::query("DELETE FROM programs WHERE slug = $1")
            .bind(slug)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// The version of a program in force, read inside a transaction.
pub async fn published_in(tx: &mut Tx, slug: &str) -> StoreResult<Option<VersionMeta>> {
    sqlx::query(&format!(
        "{SELECT_VERSION} WHERE p.slug = $1 AND v.status = 'published'"
    ))
    .bind(slug)
    .fetch_optional(&mut **tx)
    .await?
    .as_ref()
    .map(meta_from_row)
    .transpose()
}

/// Retires a version.
pub async fn set_retired(tx: &mut Tx, version_id: &str, now: &str) -> StoreResult<()> {
    sqlx::query(
        "UPDATE program_versions SET status = 'retired', retired_at = $1, updated_at = $1 WHERE id = $2",
    )
    .bind(now)
    .bind(version_id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Publishes a version (with its fresh counts) and takes the program's name from it.
pub async fn set_published(
    tx: &mut Tx,
    slug: &str,
    version_id: &str,
    c: &Checked,
    by: Option<&str>,
    now: &str,
) -> StoreResult<()> {
    sqlx::query(
        "UPDATE program_versions SET status = 'published', published_at = $1, published_by = $2, \
         errors = $3, warnings = $4, updated_at = $1 WHERE id = $5",
    )
    .bind(now)
    .bind(by)
    .bind(c.errors() as i64)
    .bind(c.warnings() as i64)
    .bind(version_id)
    .execute(&mut **tx)
    .await?;
    sqlx::query("UPDATE programs SET name = $1, updated_at = $2 WHERE slug = $3")
        .bind(&c.program.program.name)
        .bind(now)
        .bind(slug)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

fn enrollment_from_row(r: &AnyRow) -> StoreResult<Enrollment> {
    Ok(Enrollment {
        partner_id: r.try_get("partner_id")?,
        program: r.try_get("slug")?,
        program_name: r.try_get("name")?,
        partner_type: r.try_get("partner_type")?,
        segment: r.try_get("segment")?,
        level: db::opt_str(r, "level")?,
        updated_at: r.try_get("updated_at")?,
    })
}

/// The programs a partner is enrolled in.
pub async fn enrollments(db: &Db, partner_id: &str) -> StoreResult<Vec<Enrollment>> {
    let rows = sqlx::query(
        "SELECT e.*, p.slug, p.name FROM partner_programs e JOIN programs p ON p.id = e.program_id \
         WHERE e.partner_id = $1 ORDER BY p.name",
    )
    .bind(partner_id)
    .fetch_all(db.pool())
    .await?;
    rows.iter().map(enrollment_from_row).collect()
}

/// Every partner enrolled in a program, with its partner type there.
pub async fn enrolled_in(tx: &mut Tx, slug: &str) -> StoreResult<Vec<(String, String)>> {
    Ok(sqlx::query_as(
        "SELECT e.partner_id, e.partner_type FROM partner_programs e \
         JOIN programs p ON p.id = e.program_id WHERE p.slug = $1 ORDER BY e.partner_id",
    )
    .bind(slug)
    .fetch_all(&mut **tx)
    .await?)
}

const SELECT_ENROLLMENT: &str = "SELECT e.*, p.slug, p.name FROM partner_programs e \
     JOIN programs p ON p.id = e.program_id WHERE e.partner_id = $1 AND e.program_id = $2";

/// A partner's enrollment in one program, read inside a transaction.
pub async fn enrollment_in(
    tx: &mut Tx,
    partner_id: &str,
    program_id: &str,
) -> StoreResult<Option<Enrollment>> {
    sqlx::query(SELECT_ENROLLMENT)
        .bind(partner_id)
        .bind(program_id)
        .fetch_optional(&mut **tx)
        .await?
        .as_ref()
        .map(enrollment_from_row)
        .transpose()
}

/// Writes a partner's type, segment and level in a program (enrolling it if new).
pub async fn upsert_enrollment(
    tx: &mut Tx,
    partner_id: &str,
    program_id: &str,
    partner_type: &str,
    segment: &str,
    level: Option<&str>,
) -> StoreResult<Enrollment> {
    let now = db::now();
    let updated = sqlx::query(
        "UPDATE partner_programs SET partner_type = $1, segment = $2, level = $3, updated_at = $4 \
         WHERE partner_id = $5 AND program_id = $6",
    )
    .bind(partner_type)
    .bind(segment)
    .bind(level)
    .bind(&now)
    .bind(partner_id)
    .bind(program_id)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    if updated == 0 {
        sqlx::query(
            "INSERT INTO partner_programs (partner_id, program_id, partner_type, segment, level, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $6)",
        )
        .bind(partner_id)
        .bind(program_id)
        .bind(partner_type)
        .bind(segment)
        .bind(level)
        .bind(&now)
        .execute(&mut **tx)
        .await?;
    }
    enrollment_in(tx, partner_id, program_id)
        .await?
        .ok_or(StoreError::NotFound("enrollment"))
}
