//! The vendor's known accounts: existing customers with an owner, and house
//! accounts that partners may not register.

use super::{decode_cursor, encode_cursor, page_limit, Arg, Sql, StoreResult, Tx};
use crate::db::{self, Db};
use serde::Serialize;
use sqlx::{any::AnyRow, Row};
use trellis_core::validate::search_key;
use utoipa::ToSchema;

#[derive(Debug, Clone, Serialize, ToSchema, PartialEq)]
pub struct Account {
    pub id: String,
    /// The id in the vendor's CRM; imports update by it.
    pub external_id: Option<String>,
    pub name: String,
    pub domain: Option<String>,
    pub country: String,
    pub city: Option<String>,
    /// Who owns the account at the vendor.
    pub owner: Option<String>,
    /// A house account: partners cannot register it.
    pub house: bool,
    pub created_at: String,
    pub updated_at: String,
}

pub use trellis_core::accounts::NewAccount;

fn from_row(r: &AnyRow) -> StoreResult<Account> {
    let house: i64 = r.try_get("house")?;
    Ok(Account {
        id: r.try_get("id")?,
        external_id: db::opt_str(r, "external_id")?,
        name: r.try_get("name")?,
        domain: db::opt_str(r, "domain")?,
        country: r.try_get("country")?,
        city: db::opt_str(r, "city")?,
        owner: db::opt_str(r, "owner")?,
        house: house != 0,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}

pub async fn get(db: &Db, id: &str) -> StoreResult<Option<Account>> {
    let row = sqlx::query("SELECT * FROM accounts WHERE id = $1")
        .bind(id)
        .fetch_optional(db.pool())
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// Creates an account, or updates the one with the same `external_id` (or,
/// for accounts without one, the same name in the same country); returns its
/// id and whether it was created.
pub async fn upsert(tx: &mut Tx, a: &NewAccount) -> StoreResult<(String, bool)> {
    let now = db::now();
    let existing: Option<String> = match &a.external_id {
        Some(x) => {
            sqlx::query_scalar("SELECT id FROM accounts WHERE external_id = $1")
                .bind(x)
                .fetch_optional(&mut **tx)
                .await?
        }
        // Without an id from the CRM, the same name in the same country is
        // the same account (so that sending it twice adds nothing).
        None => {
            sqlx::query_scalar(
                "SELECT id FROM accounts WHERE external_id IS NULL AND country = $1 \
                 AND search_name = $2 ORDER BY id LIMIT 1",
            )
            .bind(&a.country)
            .bind(search_key(&a.name))
            .fetch_optional(&mut **tx)
            .await?
        }
    };
    if let Some(id) = existing {
        sqlx::query(
            "UPDATE accounts SET name = $1, domain = $2, country = $3, city = $4, owner = $5, \
             house = $6, updated_at = $7, search_name = $9 WHERE id = $8",
        )
        .bind(&a.name)
        .bind(a.domain.as_deref())
        .bind(&a.country)
        .bind(a.city.as_deref())
        .bind(a.owner.as_deref())
        .bind(i64::from(a.house))
        .bind(&now)
        .bind(&id)
        .bind(search_key(&a.name))
        .execute(&mut **tx)
        .await?;
        return Ok((id, false));
    }
    let id = uuid::Uuid::now_v7().to_string();
    sqlx::query(
        "INSERT INTO accounts (id, external_id, name, domain, country, city, owner, house, created_at, updated_at, search_name) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9, $10)",
    )
    .bind(&id)
    .bind(a.external_id.as_deref())
    .bind(&a.name)
    .bind(a.domain.as_deref())
    .bind(&a.country)
    .bind(a.city.as_deref())
    .bind(a.owner.as_deref())
    .bind(i64::from(a.house))
    .bind(&now)
    .bind(search_key(&a.name))
    .execute(&mut **tx)
    .await?;
    Ok((id, true))
}

/// One page of accounts by name; `q` searches the name.
pub async fn list(
    db: &Db,
    q: Option<&str>,
    cursor: Option<&str>,
    limit: Option<i64>,
) -> StoreResult<(Vec<Account>, Option<String>)> {
    let limit = page_limit(limit);
    let mut s = Sql::new("SELECT * FROM accounts WHERE 1 = 1");
    if let Some(text) = q.map(str::trim).filter(|t| !t.is_empty()) {
        s.push(" AND search_name LIKE ")
            .bind_text(format!("%{}%", db::like_escape(&search_key(text))))
            .push(" ESCAPE '\\'");
    }
    if let Some(c) = cursor {
        let p = decode_cursor("cursor", c, 2)?;
        s.push(" AND (name > ").bind_text(p[0].clone());
        s.push(" OR (name = ").bind_text(p[0].clone());
        s.push(" AND id > ").bind_text(p[1].clone()).push("))");
    }
    s.push(" ORDER BY name, id LIMIT ")
        .bind(Arg::Int(limit + 1));
    let rows = s.query().fetch_all(db.pool()).await?;
    let mut items = rows.iter().map(from_row).collect::<StoreResult<Vec<_>>>()?;
    let next = if items.len() as i64 > limit {
        items.truncate(limit as usize);
        items.last().map(|a| encode_cursor(&[&a.name, &a.id]))
    } else {
        None
    };
    Ok((items, next))
}
