//! Deal registrations and their history: rows in, rows out. The rules that
//! decide a registration live in `app::deals`.

use super::{decode_cursor, encode_cursor, page_limit, Arg, Sql, StoreError, StoreResult, Tx};
use crate::db::{self, Db};
use crate::store::Actor;
use serde::Serialize;
use sqlx::{any::AnyRow, Row};
use trellis_core::deals::{NewDeal, Status};
use trellis_core::matching::Customer;
use trellis_core::validate::search_key;
use utoipa::ToSchema;

/// A deal registration.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq)]
pub struct Deal {
    pub id: String,
    pub partner_id: String,
    pub partner_name: String,
    /// The program whose rules applied (`[program].id`), if the partner is enrolled.
    pub program: Option<String>,
    pub status: Status,
    pub customer_name: String,
    pub customer_domain: Option<String>,
    /// ISO 3166-1 alpha-2.
    pub customer_country: String,
    pub customer_city: Option<String>,
    pub customer_address: Option<String>,
    pub customer_tax_id: Option<String>,
    pub products: Option<String>,
    /// Decimal, as a string.
    pub amount: String,
    pub currency: String,
    /// YYYY-MM-DD.
    pub expected_close: String,
    pub seller: Option<String>,
    pub notes: Option<String>,
    /// The program's own fields (e.g. `use_case`).
    pub fields: std::collections::BTreeMap<String, String>,
    /// The best conflict score when it was last decided.
    pub conflict_score: Option<f64>,
    /// The rule of engagement that decided: auto-approve, first-come, house-account, review, or manual.
    pub decision_rule: Option<String>,
    pub decision_reason: Option<String>,
    /// Last day of protection (YYYY-MM-DD), once approved.
    pub protection_until: Option<String>,
    pub extensions: i64,
    pub extension_requested_at: Option<String>,
    pub created_by: Option<String>,
    pub submitted_at: Option<String>,
    pub decided_at: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

impl Deal {
    pub fn customer(&self) -> Customer<'_> {
        Customer {
            name: &self.customer_name,
            domain: self.customer_domain.as_deref(),
            country: &self.customer_country,
            city: self.customer_city.as_deref(),
        }
    }
}

/// One step in a deal's history.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DealEvent {
    pub at: String,
    pub actor_email: String,
    pub action: String,
    pub from_status: Option<String>,
    pub to_status: String,
    pub rule: Option<String>,
    pub reason: Option<String>,
}

const SELECT: &str =
    "SELECT d.*, p.name AS partner_name FROM deals d JOIN partners p ON p.id = d.partner_id";

fn from_row(r: &AnyRow) -> StoreResult<Deal> {
    Ok(Deal {
        id: r.try_get("id")?,
        partner_id: r.try_get("partner_id")?,
        partner_name: r.try_get("partner_name")?,
        program: db::opt_str(r, "program")?,
        status: Status::parse("status", &r.try_get::<String, _>("status")?)
            .map_err(|e| StoreError::Internal(format!("stored deal status: {e}")))?,
        customer_name: r.try_get("customer_name")?,
        customer_domain: db::opt_str(r, "customer_domain")?,
        customer_country: r.try_get("customer_country")?,
        customer_city: db::opt_str(r, "customer_city")?,
        customer_address: db::opt_str(r, "customer_address")?,
        customer_tax_id: db::opt_str(r, "customer_tax_id")?,
        products: db::opt_str(r, "products")?,
        amount: r.try_get("amount")?,
        currency: r.try_get("currency")?,
        expected_close: r.try_get("expected_close")?,
        seller: db::opt_str(r, "seller")?,
        notes: db::opt_str(r, "notes")?,
        fields: serde_json::from_str(&r.try_get::<String, _>("extra")?)
            .map_err(|e| StoreError::Internal(format!("stored deal fields: {e}")))?,
        // Stored as text: sqlx's Any driver cannot bind a NULL float portably.
        conflict_score: db::opt_str(r, "conflict_score")?
            .map(|s| s.parse::<f64>())
            .transpose()
            .map_err(|e| StoreError::Internal(format!("stored conflict score: {e}")))?,
        decision_rule: db::opt_str(r, "decision_rule")?,
        decision_reason: db::opt_str(r, "decision_reason")?,
        protection_until: db::opt_str(r, "protection_until")?,
        extensions: r.try_get("extensions")?,
        extension_requested_at: db::opt_str(r, "extension_requested_at")?,
        created_by: db::opt_str(r, "created_by")?,
        submitted_at: db::opt_str(r, "submitted_at")?,
        decided_at: db::opt_str(r, "decided_at")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}

pub async fn get(db: &Db, id: &str) -> StoreResult<Option<Deal>> {
    let row = sqlx::query(&format!("{SELECT} WHERE d.id = $1"))
        .bind(id)
        .fetch_optional(db.pool())
        .await?;
    row.as_ref().map(from_row).transpose()
}

pub async fn get_in(tx: &mut Tx, id: &str) -> StoreResult<Deal> {
    let row = sqlx::query(&format!("{SELECT} WHERE d.id = $1"))
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?
        .ok_or(StoreError::NotFound("deal"))?;
    from_row(&row)
}

/// Filters for listing deals.
#[derive(Debug, Clone, Default)]
pub struct DealFilter {
    /// Only this partner's deals (partner users always get their own).
    pub partner_id: Option<String>,
    pub status: Option<Status>,
    /// Case-insensitive substring of the customer name.
    pub q: Option<String>,
    /// The approval queue: submitted and more-info, longest waiting first.
    pub queue: bool,
    pub cursor: Option<String>,
    pub limit: Option<i64>,
}

/// One page of deals, newest first (the queue: longest waiting first).
pub async fn list(db: &Db, f: &DealFilter) -> StoreResult<(Vec<Deal>, Option<String>)> {
    let limit = page_limit(f.limit);
    let mut q = Sql::new(SELECT);
    q.push(" WHERE 1 = 1");
    if let Some(p) = &f.partner_id {
        q.push(" AND d.partner_id = ").bind_text(p);
    }
    if let Some(s) = f.status {
        q.push(" AND d.status = ").bind_text(s.as_str());
    }
    if f.queue {
        q.push(" AND d.status IN ('submitted', 'more-info')");
    }
    if let Some(text) = f.q.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        q.push(" AND d.search_name LIKE ")
            .bind_text(format!("%{}%", db::like_escape(&search_key(text))))
            .push(" ESCAPE '\\'");
    }
    let (order_col, asc) = if f.queue {
        ("d.submitted_at", true)
    } else {
        ("d.created_at", false)
    };
    if let Some(c) = &f.cursor {
        let p = decode_cursor("cursor", c, 2)?;
        let op = if asc { ">" } else { "<" };
        q.push(&format!(" AND ({order_col} {op} "))
            .bind_text(p[0].clone());
        q.push(&format!(" OR ({order_col} = "))
            .bind_text(p[0].clone());
        q.push(&format!(" AND d.id {op} "))
            .bind_text(p[1].clone())
            .push("))");
    }
    let dir = if asc { "ASC" } else { "DESC" };
    q.push(&format!(" ORDER BY {order_col} {dir}, d.id {dir} LIMIT "))
        .bind(Arg::Int(limit + 1));
    let rows = q.query().fetch_all(db.pool()).await?;
    let mut items = rows.iter().map(from_row).collect::<StoreResult<Vec<_>>>()?;
    let next = if items.len() as i64 > limit {
        items.truncate(limit as usize);
        items.last().map(|d| {
            let key = if f.queue {
                d.submitted_at.clone().unwrap_or_default()
            } else {
                d.created_at.clone()
            };
            encode_cursor(&[&key, &d.id])
        })
    } else {
        None
    };
    Ok((items, next))
}

/// The customers a partner registered before (for autocompletion).
pub async fn customers_of(
    db: &Db,
    partner_id: &str,
) -> StoreResult<Vec<(String, Option<String>, String, Option<String>)>> {
    let rows = sqlx::query(
        "SELECT customer_name, MAX(customer_domain) AS domain, MAX(customer_country) AS country, \
         MAX(customer_city) AS city FROM deals WHERE partner_id = $1 GROUP BY customer_name ORDER BY customer_name LIMIT 500",
    )
    .bind(partner_id)
    .fetch_all(db.pool())
    .await?;
    rows.iter()
        .map(|r| {
            Ok((
                r.try_get("customer_name")?,
                db::opt_str(r, "domain")?,
                r.try_get("country")?,
                db::opt_str(r, "city")?,
            ))
        })
        .collect()
}

pub async fn events(db: &Db, deal_id: &str) -> StoreResult<Vec<DealEvent>> {
    let rows = sqlx::query("SELECT * FROM deal_events WHERE deal_id = $1 ORDER BY at, id")
        .bind(deal_id)
        .fetch_all(db.pool())
        .await?;
    rows.iter()
        .map(|r| {
            Ok(DealEvent {
                at: r.try_get("at")?,
                actor_email: r.try_get("actor_email")?,
                action: r.try_get("action")?,
                from_status: db::opt_str(r, "from_status")?,
                to_status: r.try_get("to_status")?,
                rule: db::opt_str(r, "rule")?,
                reason: db::opt_str(r, "reason")?,
            })
        })
        .collect()
}

/// What a registration or a later action stores about its decision.
#[derive(Debug, Clone)]
pub struct DealRow<'a> {
    pub id: &'a str,
    pub partner_id: &'a str,
    pub program: Option<&'a str>,
    pub status: Status,
    pub new: &'a NewDeal,
    pub conflict_score: Option<String>,
    pub decision_rule: Option<&'a str>,
    pub decision_reason: Option<&'a str>,
    pub protection_until: Option<&'a str>,
    pub created_by: Option<&'a str>,
    pub submitted_at: Option<&'a str>,
    pub decided_at: Option<&'a str>,
    pub now: &'a str,
}

/// Inserts a registration.
pub async fn insert(tx: &mut Tx, d: &DealRow<'_>) -> StoreResult<()> {
    let new = d.new;
    sqlx::query(
        "INSERT INTO deals (id, partner_id, program, status, customer_name, customer_domain, customer_country, \
         customer_city, customer_address, customer_tax_id, products, amount, currency, expected_close, seller, notes, \
         conflict_score, decision_rule, decision_reason, protection_until, created_by, submitted_at, decided_at, \
         created_at, updated_at, extra, search_name) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, \
         $17, $18, $19, $20, $21, $22, $23, $24, $24, $25, $26)",
    )
    .bind(d.id)
    .bind(d.partner_id)
    .bind(d.program)
    .bind(d.status.as_str())
    .bind(&new.customer_name)
    .bind(new.customer_domain.as_deref())
    .bind(&new.customer_country)
    .bind(new.customer_city.as_deref())
    .bind(new.customer_address.as_deref())
    .bind(new.customer_tax_id.as_deref())
    .bind(new.products.as_deref())
    .bind(&new.amount)
    .bind(&new.currency)
    .bind(&new.expected_close)
    .bind(new.seller.as_deref())
    .bind(new.notes.as_deref())
    .bind(d.conflict_score.as_deref())
    .bind(d.decision_rule)
    .bind(d.decision_reason)
    .bind(d.protection_until)
    .bind(d.created_by)
    .bind(d.submitted_at)
    .bind(d.decided_at)
    .bind(d.now)
    .bind(serde_json::to_string(&new.fields).map_err(|e| StoreError::Internal(e.to_string()))?)
    .bind(search_key(&new.customer_name))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The state an action leaves a registration in.
#[derive(Debug, Clone)]
pub struct DealUpdate<'a> {
    pub status: Status,
    pub decision_rule: Option<&'a str>,
    pub decision_reason: Option<&'a str>,
    pub protection_until: Option<&'a str>,
    pub extensions: i64,
    pub extension_requested_at: Option<&'a str>,
    pub conflict_score: Option<String>,
    /// The action's name: `submit` sets submitted_at; decisions set decided_at.
    pub action: &'a str,
    pub now: &'a str,
}

/// Updates a registration if it is still as `seen` (status and update time);
/// `false` when it changed meanwhile.
pub async fn update(tx: &mut Tx, seen: &Deal, u: &DealUpdate<'_>) -> StoreResult<bool> {
    let updated = sqlx::query(
        "UPDATE deals SET status = $1, decision_rule = $2, decision_reason = $3, protection_until = $4, \
         extensions = $5, extension_requested_at = $6, conflict_score = $7, updated_at = $8, \
         submitted_at = CASE WHEN $9 = 'submit' THEN $8 ELSE submitted_at END, \
         decided_at = CASE WHEN $1 <> 'submitted' AND $9 IN ('submit','approve','reject','request-info') THEN $8 ELSE decided_at END \
         WHERE id = $10 AND status = $11 AND updated_at = $12",
    )
    .bind(u.status.as_str())
    .bind(u.decision_rule)
    .bind(u.decision_reason)
    .bind(u.protection_until)
    .bind(u.extensions)
    .bind(u.extension_requested_at)
    .bind(u.conflict_score.as_deref())
    .bind(u.now)
    .bind(u.action)
    .bind(&seen.id)
    .bind(seen.status.as_str())
    .bind(&seen.updated_at)
    .execute(&mut **tx)
    .await?;
    Ok(updated.rows_affected() == 1)
}

/// One step of a deal's history.
#[derive(Debug, Clone, Copy)]
pub struct NewEvent<'a> {
    pub deal_id: &'a str,
    pub action: &'a str,
    pub from: Option<&'a str>,
    pub to: &'a str,
    pub rule: Option<&'a str>,
    pub reason: Option<&'a str>,
}

pub async fn insert_event(tx: &mut Tx, actor: &Actor, e: NewEvent<'_>) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO deal_events (id, deal_id, at, actor_id, actor_email, action, from_status, to_status, rule, reason) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(uuid::Uuid::now_v7().to_string())
    .bind(e.deal_id)
    .bind(db::now())
    .bind(actor.user_id.as_deref())
    .bind(&actor.email)
    .bind(e.action)
    .bind(e.from)
    .bind(e.to)
    .bind(e.rule)
    .bind(e.reason)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Approved registrations whose protection ended before `today`.
pub async fn due_to_expire(db: &Db, today: &str) -> StoreResult<Vec<String>> {
    Ok(sqlx::query_scalar(
        "SELECT id FROM deals WHERE status = 'approved' AND protection_until IS NOT NULL AND protection_until < $1",
    )
    .bind(today)
    .fetch_all(db.pool())
    .await?)
}

/// How many registrations of a partner are won.
pub async fn count_won(tx: &mut Tx, partner_id: &str) -> StoreResult<i64> {
    Ok(
        sqlx::query_scalar("SELECT COUNT(*) FROM deals WHERE partner_id = $1 AND status = 'won'")
            .bind(partner_id)
            .fetch_one(&mut **tx)
            .await?,
    )
}
