//! Programs and their versions: draft → published → retired. A published or
//! retired version never changes (the database refuses it too); drafts can be
//! replaced or deleted. Partners are enrolled in programs with a type, a
//! segment and optionally a tier or track.

use super::audit::{self, Change};
use super::{Actor, StoreError, StoreResult};
use crate::db::{self, Db};
use serde::Serialize;
use sqlx::{any::AnyRow, Any, Row};
use trellis_core::program::{self, lint, Finding, Program, Severity};
use utoipa::ToSchema;

/// A program source that has been read and checked.
pub struct Checked {
    /// Canonical TOML (JSON uploads are converted).
    pub source: String,
    pub program: Program,
    pub findings: Vec<Finding>,
}

impl Checked {
    /// Parses and checks a TOML source.
    pub fn new(source: String) -> Result<Checked, program::ParseError> {
        let program = program::parse(&source)?;
        let findings = lint::check(&program, &source);
        Ok(Checked {
            source,
            program,
            findings,
        })
    }

    pub fn errors(&self) -> usize {
        self.findings
            .iter()
            .filter(|f| f.severity == Severity::Error)
            .count()
    }

    pub fn warnings(&self) -> usize {
        self.findings.len() - self.errors()
    }
}

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
    /// `draft`, `published` or `retired`.
    #[schema(example = "published")]
    pub status: String,
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
        status: r.try_get("status")?,
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

fn audit_json(m: &VersionMeta) -> serde_json::Value {
    serde_json::json!({
        "program": m.program, "number": m.number, "label": m.label,
        "effective": m.effective, "status": m.status, "sha256": m.sha256,
        "errors": m.errors, "warnings": m.warnings,
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
                    .find(|v| v.status == "published")
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

async fn version_in(
    tx: &mut sqlx::Transaction<'static, Any>,
    slug: &str,
    number: i64,
) -> StoreResult<Version> {
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

/// Saves a checked source as a new draft: version 1 of a new program, or the
/// next number of an existing one (matched by `[program].id`).
pub async fn save_draft(db: &Db, actor: &Actor, c: &Checked) -> StoreResult<VersionMeta> {
    let slug = c.program.program.id.get_ref().clone();
    let now = db::now();
    let mut tx = db.begin_write().await?;
    let existing: Option<String> = sqlx::query_scalar("SELECT id FROM programs WHERE slug = $1")
        .bind(&slug)
        .fetch_optional(&mut *tx)
        .await?;
    let program_id = match existing {
        Some(id) => id,
        None => {
            let id = uuid::Uuid::now_v7().to_string();
            sqlx::query(
                "INSERT INTO programs (id, slug, name, created_at, updated_at) VALUES ($1, $2, $3, $4, $4)",
            )
            .bind(&id)
            .bind(&slug)
            .bind(&c.program.program.name)
            .bind(&now)
            .execute(&mut *tx)
            .await?;
            id
        }
    };
    let number: i64 = sqlx::query_scalar(
        "SELECT COALESCE(MAX(number), 0) + 1 FROM program_versions WHERE program_id = $1",
    )
    .bind(&program_id)
    .fetch_one(&mut *tx)
    .await?;
    let id = uuid::Uuid::now_v7().to_string();
    sqlx::query(
        "INSERT INTO program_versions (id, program_id, number, label, effective, status, source, \
         sha256, errors, warnings, created_by, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, 'draft', $6, $7, $8, $9, $10, $11, $11)",
    )
    .bind(&id)
    .bind(&program_id)
    .bind(number)
    .bind(&c.program.program.version)
    .bind(&c.program.program.effective)
    .bind(&c.source)
    .bind(crate::auth::sha256_hex(c.source.as_bytes()))
    .bind(c.errors() as i64)
    .bind(c.warnings() as i64)
    .bind(actor.user_id.as_deref())
    .bind(&now)
    .execute(&mut *tx)
    .await
    .map_err(|e| {
        if db::is_unique_violation(&e) {
            StoreError::Conflict {
                field: "program",
                message: "another draft of this program was saved at the same moment; try again"
                    .into(),
            }
        } else {
            e.into()
        }
    })?;
    let v = version_in(&mut tx, &slug, number).await?;
    audit::record(
        &mut tx,
        actor,
        Change {
            action: "program.draft",
            object_type: "program_version",
            object_id: &v.meta.id,
            partner_id: None,
            before: None,
            after: Some(audit_json(&v.meta)),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(v.meta)
}

fn not_draft(v: &VersionMeta, what: &str) -> StoreError {
    StoreError::Conflict {
        field: "status",
        message: format!(
            "version {} of {} is {}: only drafts can be {what}; upload a new draft instead",
            v.number, v.program, v.status
        ),
    }
}

/// Replaces a draft's source (same program id).
pub async fn replace_draft(
    db: &Db,
    actor: &Actor,
    slug: &str,
    number: i64,
    c: &Checked,
) -> StoreResult<VersionMeta> {
    if c.program.program.id.get_ref() != slug {
        return Err(StoreError::Invalid(
            trellis_core::FieldError::new(
                "program.id",
                "mismatch",
                format!(
                    "the source is program '{}', not '{slug}'; upload it as a new draft instead",
                    c.program.program.id.get_ref()
                ),
            )
            .into(),
        ));
    }
    let mut tx = db.begin_write().await?;
    let before = version_in(&mut tx, slug, number).await?;
    if before.meta.status != "draft" {
        return Err(not_draft(&before.meta, "changed"));
    }
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
    .bind(&before.meta.id)
    .execute(&mut *tx)
    .await?;
    let after = version_in(&mut tx, slug, number).await?;
    audit::record(
        &mut tx,
        actor,
        Change {
            action: "program.update-draft",
            object_type: "program_version",
            object_id: &after.meta.id,
            partner_id: None,
            before: Some(audit_json(&before.meta)),
            after: Some(audit_json(&after.meta)),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(after.meta)
}

/// Deletes a draft (and the program, if that was its only version).
pub async fn delete_draft(db: &Db, actor: &Actor, slug: &str, number: i64) -> StoreResult<()> {
    let mut tx = db.begin_write().await?;
    let v = version_in(&mut tx, slug, number).await?;
    if v.meta.status != "draft" {
        return Err(not_draft(&v.meta, "deleted"));
    }
    sqlx::query("DELETE FROM program_versions WHERE id = $1")
        .bind(&v.meta.id)
        .execute(&mut *tx)
        .await?;
    let left: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM program_versions v JOIN programs p ON p.id = v.program_id WHERE p.slug = $1",
    )
    .bind(slug)
    .fetch_one(&mut *tx)
    .await?;
    if left == 0 {
        sqlx::query("DELETE FROM programs WHERE slug = $1")
            .bind(slug)
            .execute(&mut *tx)
            .await?;
    }
    audit::record(
        &mut tx,
        actor,
        Change {
            action: "program.delete-draft",
            object_type: "program_version",
            object_id: &v.meta.id,
            partner_id: None,
            before: Some(audit_json(&v.meta)),
            after: None,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Why a draft could not be published.
pub enum PublishError {
    Store(StoreError),
    /// The source has error findings (re-checked at publication).
    HasErrors(Box<Checked>),
}

impl From<StoreError> for PublishError {
    fn from(e: StoreError) -> Self {
        PublishError::Store(e)
    }
}

impl From<sqlx::Error> for PublishError {
    fn from(e: sqlx::Error) -> Self {
        PublishError::Store(e.into())
    }
}

/// Publishes a draft with no error findings; the version in force, if any, is
/// retired in the same transaction.
pub async fn publish(
    db: &Db,
    actor: &Actor,
    slug: &str,
    number: i64,
) -> Result<VersionMeta, PublishError> {
    let mut tx = db.begin_write().await?;
    let v = version_in(&mut tx, slug, number).await?;
    if v.meta.status != "draft" {
        return Err(not_draft(&v.meta, "published").into());
    }
    // Checked again: the stored counts may come from an older checker.
    let checked = Checked::new(v.source.clone()).map_err(|e| {
        StoreError::Internal(format!("stored draft {slug}/{number} does not parse: {e}"))
    })?;
    if checked.errors() > 0 {
        return Err(PublishError::HasErrors(Box::new(checked)));
    }
    let now = db::now();
    let current = sqlx::query(&format!(
        "{SELECT_VERSION} WHERE p.slug = $1 AND v.status = 'published'"
    ))
    .bind(slug)
    .fetch_optional(&mut *tx)
    .await?
    .as_ref()
    .map(meta_from_row)
    .transpose()?;
    if let Some(cur) = &current {
        sqlx::query(
            "UPDATE program_versions SET status = 'retired', retired_at = $1, updated_at = $1 WHERE id = $2",
        )
        .bind(&now)
        .bind(&cur.id)
        .execute(&mut *tx)
        .await?;
        let retired = version_in(&mut tx, slug, cur.number).await?;
        audit::record(
            &mut tx,
            actor,
            Change {
                action: "program.retire",
                object_type: "program_version",
                object_id: &cur.id,
                partner_id: None,
                before: Some(audit_json(cur)),
                after: Some(audit_json(&retired.meta)),
            },
        )
        .await?;
    }
    sqlx::query(
        "UPDATE program_versions SET status = 'published', published_at = $1, published_by = $2, \
         errors = $3, warnings = $4, updated_at = $1 WHERE id = $5",
    )
    .bind(&now)
    .bind(actor.user_id.as_deref())
    .bind(checked.errors() as i64)
    .bind(checked.warnings() as i64)
    .bind(&v.meta.id)
    .execute(&mut *tx)
    .await?;
    sqlx::query("UPDATE programs SET name = $1, updated_at = $2 WHERE slug = $3")
        .bind(&checked.program.program.name)
        .bind(&now)
        .bind(slug)
        .execute(&mut *tx)
        .await?;
    let after = version_in(&mut tx, slug, number).await?;
    audit::record(
        &mut tx,
        actor,
        Change {
            action: "program.publish",
            object_type: "program_version",
            object_id: &after.meta.id,
            partner_id: None,
            before: Some(audit_json(&v.meta)),
            after: Some(audit_json(&after.meta)),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(after.meta)
}

/// Retires the published version without a successor.
pub async fn retire(db: &Db, actor: &Actor, slug: &str, number: i64) -> StoreResult<VersionMeta> {
    let mut tx = db.begin_write().await?;
    let v = version_in(&mut tx, slug, number).await?;
    if v.meta.status != "published" {
        return Err(StoreError::Conflict {
            field: "status",
            message: format!(
                "version {number} of {slug} is {}: only the published version can be retired",
                v.meta.status
            ),
        });
    }
    let now = db::now();
    sqlx::query(
        "UPDATE program_versions SET status = 'retired', retired_at = $1, updated_at = $1 WHERE id = $2",
    )
    .bind(&now)
    .bind(&v.meta.id)
    .execute(&mut *tx)
    .await?;
    let after = version_in(&mut tx, slug, number).await?;
    audit::record(
        &mut tx,
        actor,
        Change {
            action: "program.retire",
            object_type: "program_version",
            object_id: &v.meta.id,
            partner_id: None,
            before: Some(audit_json(&v.meta)),
            after: Some(audit_json(&after.meta)),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(after.meta)
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

/// Enrolls a partner in a program, or changes its type, segment or level there.
/// The caller has checked the ids against the published version.
pub async fn enroll(
    db: &Db,
    actor: &Actor,
    partner_id: &str,
    slug: &str,
    partner_type: &str,
    segment: &str,
    level: Option<&str>,
) -> StoreResult<Enrollment> {
    let mut tx = db.begin_write().await?;
    let after = enroll_in(
        &mut tx,
        actor,
        partner_id,
        slug,
        partner_type,
        segment,
        level,
    )
    .await?;
    tx.commit().await?;
    Ok(after)
}

/// [`enroll`] within a transaction (approving an application enrolls the
/// new partner with everything else it does).
pub async fn enroll_in(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    actor: &Actor,
    partner_id: &str,
    slug: &str,
    partner_type: &str,
    segment: &str,
    level: Option<&str>,
) -> StoreResult<Enrollment> {
    let program_id: String = sqlx::query_scalar("SELECT id FROM programs WHERE slug = $1")
        .bind(slug)
        .fetch_optional(&mut **tx)
        .await?
        .ok_or(StoreError::NotFound("program"))?;
    let select = "SELECT e.*, p.slug, p.name FROM partner_programs e JOIN programs p ON p.id = e.program_id \
                  WHERE e.partner_id = $1 AND e.program_id = $2";
    let before = sqlx::query(select)
        .bind(partner_id)
        .bind(&program_id)
        .fetch_optional(&mut **tx)
        .await?
        .as_ref()
        .map(enrollment_from_row)
        .transpose()?;
    let now = db::now();
    if before.is_some() {
        sqlx::query(
            "UPDATE partner_programs SET partner_type = $1, segment = $2, level = $3, updated_at = $4 \
             WHERE partner_id = $5 AND program_id = $6",
        )
        .bind(partner_type)
        .bind(segment)
        .bind(level)
        .bind(&now)
        .bind(partner_id)
        .bind(&program_id)
        .execute(&mut **tx)
        .await?;
    } else {
        sqlx::query(
            "INSERT INTO partner_programs (partner_id, program_id, partner_type, segment, level, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $6)",
        )
        .bind(partner_id)
        .bind(&program_id)
        .bind(partner_type)
        .bind(segment)
        .bind(level)
        .bind(&now)
        .execute(&mut **tx)
        .await?;
    }
    let after = sqlx::query(select)
        .bind(partner_id)
        .bind(&program_id)
        .fetch_one(&mut **tx)
        .await?;
    let after = enrollment_from_row(&after)?;
    let json = |e: &Enrollment| serde_json::json!({"program": e.program, "partner_type": e.partner_type, "segment": e.segment, "level": e.level});
    audit::record(
        tx,
        actor,
        Change {
            action: "partner.enroll",
            object_type: "partner",
            object_id: partner_id,
            partner_id: Some(partner_id),
            before: before.as_ref().map(json),
            after: Some(json(&after)),
        },
    )
    .await?;
    Ok(after)
}
