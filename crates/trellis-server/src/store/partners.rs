//! Partner organisations.

use super::{
    decode_cursor, encode_cursor, page_limit, Arg, Sql, StoreError, StoreResult, Tx, PARTNER_SLUG,
};
use crate::db::{self, Db};
use serde::Serialize;
use sqlx::{any::AnyRow, Row};
use trellis_core::access::{PartnerRef, PartnerScope};
use trellis_core::org::PartnerStatus;
use utoipa::ToSchema;

/// A partner organisation.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq)]
pub struct Partner {
    pub id: String,
    /// Unique, URL-safe identifier (`acme-systems`).
    pub slug: String,
    pub name: String,
    /// Owner-defined partner type (`reseller`, `msp`, `referral`, …).
    pub partner_type: String,
    /// Owner-defined region label (`dach`, `north-america`, …).
    pub region: String,
    /// ISO 3166-1 alpha-2 country code.
    pub country: String,
    pub status: PartnerStatus,
    /// Where the partnership stands: formation, enablement, performing,
    /// renewal, suspended or terminated.
    pub stage: trellis_core::recruit::Stage,
    pub website: Option<String>,
    /// The vendor user (channel manager) responsible for this partner.
    pub channel_manager_id: Option<String>,
    pub channel_manager_name: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

impl Partner {
    pub fn as_ref(&self) -> PartnerRef<'_> {
        PartnerRef {
            id: &self.id,
            channel_manager_id: self.channel_manager_id.as_deref(),
        }
    }
}

/// A validated new partner.
#[derive(Debug, Clone)]
pub struct NewPartner {
    pub slug: String,
    pub name: String,
    pub partner_type: String,
    pub region: String,
    pub country: String,
    pub status: PartnerStatus,
    pub website: Option<String>,
    pub channel_manager_id: Option<String>,
}

/// A validated change; `None` leaves the field as it is.
#[derive(Debug, Clone, Default)]
pub struct PartnerPatch {
    pub slug: Option<String>,
    pub name: Option<String>,
    pub partner_type: Option<String>,
    pub region: Option<String>,
    pub country: Option<String>,
    pub status: Option<PartnerStatus>,
    /// `Some(None)` clears the website.
    pub website: Option<Option<String>>,
    /// `Some(None)` unassigns the channel manager.
    pub channel_manager_id: Option<Option<String>>,
}

impl PartnerPatch {
    pub fn is_empty(&self) -> bool {
        self.slug.is_none()
            && self.name.is_none()
            && self.partner_type.is_none()
            && self.region.is_none()
            && self.country.is_none()
            && self.status.is_none()
            && self.website.is_none()
            && self.channel_manager_id.is_none()
    }

    /// True when the patch touches a field only managers may change.
    pub fn touches_managed_fields(&self) -> bool {
        self.slug.is_some()
            || self.partner_type.is_some()
            || self.status.is_some()
            || self.channel_manager_id.is_some()
    }
}

/// Filters for listing partners, sorted by name.
#[derive(Debug, Clone, Default)]
pub struct PartnerFilter {
    pub status: Option<PartnerStatus>,
    pub partner_type: Option<String>,
    pub region: Option<String>,
    pub country: Option<String>,
    pub channel_manager_id: Option<String>,
    /// Case-insensitive substring of the name or slug.
    pub q: Option<String>,
    pub cursor: Option<String>,
    pub limit: Option<i64>,
}

const SELECT: &str = "SELECT p.*, u.name AS channel_manager_name FROM partners p \
                      LEFT JOIN users u ON u.id = p.channel_manager_id";

fn from_row(r: &AnyRow) -> StoreResult<Partner> {
    let status: String = r.try_get("status")?;
    Ok(Partner {
        id: r.try_get("id")?,
        slug: r.try_get("slug")?,
        name: r.try_get("name")?,
        partner_type: r.try_get("partner_type")?,
        region: r.try_get("region")?,
        country: r.try_get("country")?,
        status: PartnerStatus::parse("status", &status)
            .map_err(|e| StoreError::Internal(format!("stored partner status: {e}")))?,
        stage: {
            let stage: String = r.try_get("stage")?;
            trellis_core::recruit::Stage::parse("stage", &stage)
                .map_err(|e| StoreError::Internal(format!("stored partner stage: {e}")))?
        },
        website: db::opt_str(r, "website")?,
        channel_manager_id: db::opt_str(r, "channel_manager_id")?,
        channel_manager_name: db::opt_str(r, "channel_manager_name")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}

pub async fn get(db: &Db, id: &str) -> StoreResult<Option<Partner>> {
    let row = sqlx::query(&format!("{SELECT} WHERE p.id = $1"))
        .bind(id)
        .fetch_optional(db.pool())
        .await?;
    row.as_ref().map(from_row).transpose()
}

pub async fn get_by_slug(db: &Db, slug: &str) -> StoreResult<Option<Partner>> {
    let row = sqlx::query(&format!("{SELECT} WHERE p.slug = $1"))
        .bind(slug)
        .fetch_optional(db.pool())
        .await?;
    row.as_ref().map(from_row).transpose()
}

pub async fn get_in(tx: &mut Tx, id: &str) -> StoreResult<Partner> {
    let row = sqlx::query(&format!("{SELECT} WHERE p.id = $1"))
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?
        .ok_or(StoreError::NotFound("partner"))?;
    from_row(&row)
}

/// One page of partners visible in `scope`, and the cursor of the next page.
pub async fn list(
    db: &Db,
    scope: &PartnerScope,
    f: &PartnerFilter,
) -> StoreResult<(Vec<Partner>, Option<String>)> {
    let limit = page_limit(f.limit);
    let mut q = Sql::new(SELECT);
    q.push(" WHERE 1 = 1");
    if let PartnerScope::Only(id) = scope {
        q.push(" AND p.id = ").bind_text(id);
    }
    if let Some(s) = f.status {
        q.push(" AND p.status = ").bind_text(s.as_str());
    }
    if let Some(t) = &f.partner_type {
        q.push(" AND p.partner_type = ").bind_text(t);
    }
    if let Some(r) = &f.region {
        q.push(" AND p.region = ").bind_text(r);
    }
    if let Some(c) = &f.country {
        q.push(" AND p.country = ").bind_text(c);
    }
    if let Some(m) = &f.channel_manager_id {
        q.push(" AND p.channel_manager_id = ").bind_text(m);
    }
    if let Some(text) = f.q.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        let pattern = format!(
            "%{}%",
            db::like_escape(&trellis_core::validate::search_key(text))
        );
        q.push(" AND (p.sort_name LIKE ").bind_text(pattern.clone());
        q.push(" ESCAPE '\\' OR p.slug LIKE ").bind_text(pattern);
        q.push(" ESCAPE '\\')");
    }
    if let Some(c) = &f.cursor {
        let parts = decode_cursor("cursor", c, 2)?;
        q.push(" AND (p.sort_name > ").bind_text(parts[0].clone());
        q.push(" OR (p.sort_name = ").bind_text(parts[0].clone());
        q.push(" AND p.id > ")
            .bind_text(parts[1].clone())
            .push("))");
    }
    q.push(" ORDER BY p.sort_name, p.id LIMIT ")
        .bind(Arg::Int(limit + 1));
    let rows = q.query().fetch_all(db.pool()).await?;
    let mut items = rows.iter().map(from_row).collect::<StoreResult<Vec<_>>>()?;
    let next = if items.len() as i64 > limit {
        items.truncate(limit as usize);
        items
            .last()
            .map(|p| encode_cursor(&[&trellis_core::validate::search_key(&p.name), &p.id]))
    } else {
        None
    };
    Ok((items, next))
}

/// Counts partners per status (for dashboards).
pub async fn count_by_status(db: &Db) -> StoreResult<Vec<(String, i64)>> {
    let rows =
        sqlx::query("SELECT status, COUNT(*) AS n FROM partners GROUP BY status ORDER BY status")
            .fetch_all(db.pool())
            .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("status")?, r.try_get("n")?)))
        .collect()
}

/// The role of an active vendor or partner user, if there is one with that id.
pub async fn active_user_role(tx: &mut Tx, user_id: &str) -> StoreResult<Option<String>> {
    Ok(
        sqlx::query_scalar("SELECT role FROM users WHERE id = $1 AND status <> 'disabled'")
            .bind(user_id)
            .fetch_optional(&mut **tx)
            .await?,
    )
}

fn slug_taken(e: sqlx::Error, slug: &str) -> StoreError {
    StoreError::on_unique(e, PARTNER_SLUG, || {
        format!("a partner with slug '{slug}' already exists")
    })
}

/// Inserts one partner in `stage`.
pub async fn insert(
    tx: &mut Tx,
    new: &NewPartner,
    stage: trellis_core::recruit::Stage,
) -> StoreResult<Partner> {
    let id = uuid::Uuid::now_v7().to_string();
    sqlx::query(
        "INSERT INTO partners (id, slug, name, sort_name, partner_type, region, country, status, \
         website, channel_manager_id, created_at, updated_at, stage) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11, $12)",
    )
    .bind(&id)
    .bind(&new.slug)
    .bind(&new.name)
    .bind(trellis_core::validate::search_key(&new.name))
    .bind(&new.partner_type)
    .bind(&new.region)
    .bind(&new.country)
    .bind(new.status.as_str())
    .bind(new.website.as_deref())
    .bind(new.channel_manager_id.as_deref())
    .bind(db::now())
    .bind(stage.as_str())
    .execute(&mut **tx)
    .await
    .map_err(|e| slug_taken(e, &new.slug))?;
    get_in(tx, &id).await
}

/// Writes `before` with `patch` applied.
pub async fn update(tx: &mut Tx, before: &Partner, patch: &PartnerPatch) -> StoreResult<Partner> {
    let name = patch.name.clone().unwrap_or_else(|| before.name.clone());
    let slug = patch.slug.as_deref().unwrap_or(&before.slug);
    sqlx::query(
        "UPDATE partners SET slug = $2, name = $3, sort_name = $4, partner_type = $5, region = $6, \
         country = $7, status = $8, website = $9, channel_manager_id = $10, updated_at = $11 \
         WHERE id = $1",
    )
    .bind(&before.id)
    .bind(slug)
    .bind(&name)
    .bind(trellis_core::validate::search_key(&name))
    .bind(patch.partner_type.as_deref().unwrap_or(&before.partner_type))
    .bind(patch.region.as_deref().unwrap_or(&before.region))
    .bind(patch.country.as_deref().unwrap_or(&before.country))
    .bind(patch.status.unwrap_or(before.status).as_str())
    .bind(patch.website.clone().unwrap_or(before.website.clone()))
    .bind(patch.channel_manager_id.clone().unwrap_or(before.channel_manager_id.clone()))
    .bind(db::now())
    .execute(&mut **tx)
    .await
    .map_err(|e| slug_taken(e, slug))?;
    get_in(tx, &before.id).await
}

/// A free slug for a new partner named `name`: its suggestion, else with -2, -3, ….
pub async fn free_slug(tx: &mut Tx, name: &str) -> StoreResult<String> {
    let base = trellis_core::validate::Slug::suggest(name);
    let base = if base.is_empty() {
        "partner".to_string()
    } else {
        base
    };
    for n in 1..1000 {
        let slug = if n == 1 {
            base.clone()
        } else {
            format!("{base}-{n}")
        };
        let taken: Option<String> = sqlx::query_scalar("SELECT id FROM partners WHERE slug = $1")
            .bind(&slug)
            .fetch_optional(&mut **tx)
            .await?;
        if taken.is_none() {
            return Ok(slug);
        }
    }
    Err(StoreError::Internal(format!("no free slug for {name}")))
}

/// The distinct values of `partner_type` or `region`, for filter menus.
pub async fn distinct(db: &Db, column: &str) -> StoreResult<Vec<String>> {
    let col = match column {
        "partner_type" => "partner_type",
        "region" => "region",
        other => {
            return Err(StoreError::Internal(format!(
                "no distinct listing for column {other}"
            )))
        }
    };
    let rows = sqlx::query(&format!(
        "SELECT DISTINCT {col} AS v FROM partners ORDER BY {col}"
    ))
    .fetch_all(db.pool())
    .await?;
    rows.iter().map(|r| Ok(r.try_get("v")?)).collect()
}

/// The names of the given partners, by id, in one query.
pub async fn names(
    db: &Db,
    ids: &[&str],
) -> StoreResult<std::collections::BTreeMap<String, String>> {
    let mut out = std::collections::BTreeMap::new();
    if ids.is_empty() {
        return Ok(out);
    }
    let mut q = Sql::new("SELECT id, name FROM partners WHERE id IN (");
    for (i, id) in ids.iter().enumerate() {
        if i > 0 {
            q.push(", ");
        }
        q.bind_text(*id);
    }
    q.push(")");
    for r in q.query().fetch_all(db.pool()).await? {
        out.insert(r.try_get("id")?, r.try_get("name")?);
    }
    Ok(out)
}
