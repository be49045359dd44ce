//! Sales-out lines (as segments), FX rates, statements and disputes: rows in,
//! rows out. Imports, calculations and approvals live in `app::incentives`.

use super::{StoreError, StoreResult, Tx};
use crate::db::{self, Backend, Db};
use rust_decimal::Decimal;
use serde::Serialize;
use sqlx::Row;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::str::FromStr;
use trellis_core::incentives::fx::Rate;
use trellis_core::incentives::{Line, NextBand, PartnerFacts};
use trellis_core::segment::Segment;

fn stored<E: std::fmt::Display>(what: &'static str) -> impl Fn(E) -> StoreError {
    move |e| StoreError::Internal(format!("stored {what}: {e}"))
}

fn decimal(raw: &str, what: &'static str) -> StoreResult<Decimal> {
    Decimal::from_str(raw).map_err(stored(what))
}

/// Imports and rollbacks write one at a time: on SQLite the write
/// transaction already ensures it; on PostgreSQL a table lock that conflicts
/// with itself, so that an import's check of the batches sees every batch
/// committed before it writes.
pub async fn lock_batches(db: &Db, tx: &mut Tx) -> StoreResult<()> {
    if db.backend() == Backend::Postgres {
        sqlx::query("LOCK TABLE sales_batches IN SHARE ROW EXCLUSIVE MODE")
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

const IMPORTED_BATCHES: &str = "SELECT id FROM sales_batches WHERE status = 'imported' ORDER BY id";

/// The imported batches: read before a file and again before writing it,
/// to notice another import or a rollback finishing meanwhile.
pub async fn imported_batches(db: &Db) -> StoreResult<Vec<String>> {
    Ok(sqlx::query_scalar(IMPORTED_BATCHES)
        .fetch_all(db.pool())
        .await?)
}

/// [`imported_batches`] inside the writing transaction.
pub async fn imported_batches_in(tx: &mut Tx) -> StoreResult<Vec<String>> {
    Ok(sqlx::query_scalar(IMPORTED_BATCHES)
        .fetch_all(&mut **tx)
        .await?)
}

/// Every segment's line count and transaction ids.
pub async fn segment_ids(db: &Db) -> StoreResult<Vec<(i64, Vec<u8>)>> {
    Ok(sqlx::query_as("SELECT lines, ids FROM sales_segments")
        .fetch_all(db.pool())
        .await?)
}

/// Partner ids and slugs, each to the partner's id.
pub async fn partner_keys(db: &Db) -> StoreResult<Vec<(String, String)>> {
    let mut out = Vec::new();
    for r in sqlx::query("SELECT id, slug FROM partners")
        .fetch_all(db.pool())
        .await?
    {
        let id: String = r.try_get("id")?;
        out.push((r.try_get("slug")?, id.clone()));
        out.push((id.clone(), id));
    }
    Ok(out)
}

/// What a batch records about its file.
#[derive(Debug, Clone)]
pub struct NewBatch<'a> {
    pub id: &'a str,
    pub created_by: &'a str,
    pub source: &'a str,
    pub sha256: &'a str,
    pub lines: u64,
    pub imported: u64,
    pub duplicates: u64,
    pub held: u64,
}

pub async fn insert_batch(tx: &mut Tx, b: &NewBatch<'_>) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO sales_batches (id, created_at, created_by, source, sha256, lines, imported, duplicates, held, status) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'imported')",
    )
    .bind(b.id)
    .bind(db::now())
    .bind(b.created_by)
    .bind(b.source)
    .bind(b.sha256)
    .bind(b.lines as i64)
    .bind(b.imported as i64)
    .bind(b.duplicates as i64)
    .bind(b.held as i64)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub async fn insert_segment(
    tx: &mut Tx,
    batch_id: &str,
    seq: usize,
    s: &Segment,
    held: u64,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO sales_segments (batch_id, seq, lines, held, first_day, last_day, facts, ids, customers) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(batch_id)
    .bind(seq as i64)
    .bind(s.lines as i64)
    .bind(held as i64)
    .bind(&s.first_date)
    .bind(&s.last_date)
    .bind(s.facts.as_slice())
    .bind(s.ids.as_slice())
    .bind(s.customers.as_slice())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// A batch's status (`imported`, `rolled-back`), if there is one with that id.
pub async fn batch_status(tx: &mut Tx, batch_id: &str) -> StoreResult<Option<String>> {
    Ok(
        sqlx::query_scalar("SELECT status FROM sales_batches WHERE id = $1")
            .bind(batch_id)
            .fetch_optional(&mut **tx)
            .await?,
    )
}

/// Deletes a batch's lines and marks it rolled back; returns how many lines.
pub async fn remove_batch_lines(tx: &mut Tx, batch_id: &str) -> StoreResult<u64> {
    let n: i64 = sqlx::query_scalar(
        "SELECT CAST(COALESCE(SUM(lines), 0) AS BIGINT) FROM sales_segments WHERE batch_id = $1",
    )
    .bind(batch_id)
    .fetch_one(&mut **tx)
    .await?;
    sqlx::query("DELETE FROM sales_segments WHERE batch_id = $1")
        .bind(batch_id)
        .execute(&mut **tx)
        .await?;
    sqlx::query(
        "UPDATE sales_batches SET status = 'rolled-back', rolled_back_at = $1 WHERE id = $2",
    )
    .bind(db::now())
    .bind(batch_id)
    .execute(&mut **tx)
    .await?;
    Ok(n as u64)
}

/// The `facts` of the segments with lines in `[from, end)`, in import order.
pub async fn facts_between(db: &Db, from: &str, end: &str) -> StoreResult<Vec<Vec<u8>>> {
    Ok(sqlx::query_scalar(
        "SELECT facts FROM sales_segments WHERE first_day < $1 AND last_day >= $2 ORDER BY batch_id, seq",
    )
    .bind(end)
    .bind(from)
    .fetch_all(db.pool())
    .await?)
}

/// Bytes the sales lines take in the database: all segment columns, and
/// the `facts` column a calculation reads.
pub async fn stored_bytes(db: &Db) -> StoreResult<(u64, u64)> {
    let (all, facts): (i64, i64) = sqlx::query_as(
        "SELECT CAST(COALESCE(SUM(LENGTH(facts) + LENGTH(ids) + LENGTH(customers)), 0) AS BIGINT), \
         CAST(COALESCE(SUM(LENGTH(facts)), 0) AS BIGINT) FROM sales_segments",
    )
    .fetch_one(db.pool())
    .await?;
    Ok((all as u64, facts as u64))
}

/// Currencies that appear in FX rates.
pub async fn fx_currencies(db: &Db) -> StoreResult<Vec<String>> {
    let mut out = Vec::new();
    for r in sqlx::query("SELECT DISTINCT from_currency, to_currency FROM fx_rates")
        .fetch_all(db.pool())
        .await?
    {
        out.push(r.try_get("from_currency")?);
        out.push(r.try_get("to_currency")?);
    }
    Ok(out)
}

/// Every FX rate.
pub async fn fx_rates(db: &Db) -> StoreResult<Vec<Rate>> {
    sqlx::query("SELECT from_currency, to_currency, valid_from, rate FROM fx_rates")
        .fetch_all(db.pool())
        .await?
        .iter()
        .map(|r| {
            Ok(Rate {
                from: r.try_get("from_currency")?,
                to: r.try_get("to_currency")?,
                valid_from: r.try_get("valid_from")?,
                rate: decimal(&r.try_get::<String, _>("rate")?, "FX rate")?,
            })
        })
        .collect()
}

/// Stores a rate, replacing one for the same pair and day.
pub async fn put_fx_rate(tx: &mut Tx, r: &Rate) -> StoreResult<()> {
    sqlx::query(
        "DELETE FROM fx_rates WHERE from_currency = $1 AND to_currency = $2 AND valid_from = $3",
    )
    .bind(&r.from)
    .bind(&r.to)
    .bind(&r.valid_from)
    .execute(&mut **tx)
    .await?;
    sqlx::query(
        "INSERT INTO fx_rates (from_currency, to_currency, valid_from, rate) VALUES ($1, $2, $3, $4)",
    )
    .bind(&r.from)
    .bind(&r.to)
    .bind(&r.valid_from)
    .bind(r.rate.to_string())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Every partner's slug, name and type, and its segment and level in the
/// program. The type is the one it is enrolled as in the program (the
/// program's own partner types), else the partner's.
pub async fn partner_facts(
    db: &Db,
    program_id: &str,
) -> StoreResult<BTreeMap<String, PartnerFacts>> {
    let mut facts = BTreeMap::new();
    for r in sqlx::query(
        "SELECT p.id, p.slug, p.name, COALESCE(e.partner_type, p.partner_type) AS partner_type, \
         e.segment, e.level FROM partners p \
         LEFT JOIN partner_programs e ON e.partner_id = p.id AND e.program_id = $1",
    )
    .bind(program_id)
    .fetch_all(db.pool())
    .await?
    {
        facts.insert(
            r.try_get("id")?,
            PartnerFacts {
                slug: r.try_get("slug")?,
                name: r.try_get("name")?,
                partner_type: r.try_get("partner_type")?,
                segment: db::opt_str(&r, "segment")?,
                level: db::opt_str(&r, "level")?,
            },
        );
    }
    Ok(facts)
}

/// The approved and won deal registrations: id → the partner that registered it.
pub async fn approved_deals(db: &Db) -> StoreResult<HashMap<String, String>> {
    Ok(sqlx::query_as::<_, (String, String)>(
        "SELECT id, partner_id FROM deals WHERE status IN ('approved','won')",
    )
    .fetch_all(db.pool())
    .await?
    .into_iter()
    .collect())
}

/// Every partner's name by id.
pub async fn partner_names(db: &Db) -> StoreResult<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for r in sqlx::query("SELECT id, name FROM partners")
        .fetch_all(db.pool())
        .await?
    {
        out.insert(r.try_get("id")?, r.try_get("name")?);
    }
    Ok(out)
}

/// Where a statement stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum StatementStatus {
    Draft,
    Approved,
}

impl StatementStatus {
    fn parse(raw: &str) -> StoreResult<StatementStatus> {
        match raw {
            "draft" => Ok(StatementStatus::Draft),
            "approved" => Ok(StatementStatus::Approved),
            other => Err(StoreError::Internal(format!(
                "stored statement status {other:?} is unknown"
            ))),
        }
    }
}

/// A stored statement.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct StoredStatement {
    pub id: String,
    pub program: String,
    pub version: i64,
    pub partner_id: String,
    pub partner_slug: String,
    pub partner_name: String,
    pub period: String,
    pub status: StatementStatus,
    #[schema(value_type = String)]
    pub total: Decimal,
    #[schema(value_type = String)]
    pub funds: Decimal,
    /// Rule, kind, element, seller, basis, band, rate, transactions, amount, explanation.
    #[schema(value_type = Vec<Object>)]
    pub lines: Vec<Line>,
    /// How far each banded rebate's next band is.
    #[schema(value_type = Vec<Object>)]
    pub next_bands: Vec<NextBand>,
    pub calculated_at: String,
    pub approved_at: Option<String>,
}

fn lines_of(raw: &str) -> StoreResult<Vec<Line>> {
    serde_json::from_str(raw).map_err(stored("statement lines"))
}

fn statement_from_row(r: &sqlx::any::AnyRow) -> StoreResult<StoredStatement> {
    Ok(StoredStatement {
        id: r.try_get("id")?,
        program: r.try_get("program_slug")?,
        version: r.try_get("version")?,
        partner_id: r.try_get("partner_id")?,
        partner_slug: r.try_get("partner_slug")?,
        partner_name: r.try_get("partner_name")?,
        period: r.try_get("period")?,
        status: StatementStatus::parse(&r.try_get::<String, _>("status")?)?,
        total: decimal(&r.try_get::<String, _>("total")?, "statement total")?,
        funds: decimal(&r.try_get::<String, _>("funds")?, "statement funds")?,
        lines: lines_of(&r.try_get::<String, _>("lines")?)?,
        next_bands: serde_json::from_str(&r.try_get::<String, _>("next_bands")?)
            .map_err(stored("next bands"))?,
        calculated_at: r.try_get("calculated_at")?,
        approved_at: db::opt_str(r, "approved_at")?,
    })
}

const SELECT_STATEMENT: &str = "SELECT s.*, p.slug AS program_slug, o.slug AS partner_slug, \
     o.name AS partner_name FROM statements s JOIN programs p ON p.id = s.program_id \
     JOIN partners o ON o.id = s.partner_id";

/// A partner's statements, newest period first (at most 40).
pub async fn statements_of(db: &Db, partner_id: &str) -> StoreResult<Vec<StoredStatement>> {
    sqlx::query(&format!(
        "{SELECT_STATEMENT} WHERE s.partner_id = $1 ORDER BY s.period DESC, s.status, s.calculated_at DESC LIMIT 40"
    ))
    .bind(partner_id)
    .fetch_all(db.pool())
    .await?
    .iter()
    .map(statement_from_row)
    .collect()
}

/// One of a partner's statements.
pub async fn statement_of(
    db: &Db,
    partner_id: &str,
    id: &str,
) -> StoreResult<Option<StoredStatement>> {
    sqlx::query(&format!(
        "{SELECT_STATEMENT} WHERE s.id = $1 AND s.partner_id = $2"
    ))
    .bind(id)
    .bind(partner_id)
    .fetch_optional(db.pool())
    .await?
    .as_ref()
    .map(statement_from_row)
    .transpose()
}

/// One statement in a list of a period's statements.
#[derive(Debug, Clone)]
pub struct StatementRow {
    pub program_id: String,
    pub partner_id: String,
    pub partner_slug: String,
    pub partner_name: String,
    pub period: String,
    pub status: StatementStatus,
    pub total: Decimal,
    pub lines: Vec<Line>,
    pub approved_at: Option<String>,
}

/// Statements with their partners, newest period first, partners by name;
/// optionally of one program, one period (`except`: all but one), one status.
pub async fn statement_rows(
    db: &Db,
    program_id: Option<&str>,
    period: Option<&str>,
    except_period: Option<&str>,
    status: Option<StatementStatus>,
) -> StoreResult<Vec<StatementRow>> {
    let status = status.map(|s| match s {
        StatementStatus::Draft => "draft",
        StatementStatus::Approved => "approved",
    });
    sqlx::query(
        "SELECT s.program_id, s.partner_id, p.slug, p.name, s.period, s.status, s.total, s.lines, s.approved_at \
         FROM statements s JOIN partners p ON p.id = s.partner_id \
         WHERE ($1 IS NULL OR s.program_id = $1) AND ($2 IS NULL OR s.period = $2) \
         AND ($3 IS NULL OR s.period <> $3) AND ($4 IS NULL OR s.status = $4) \
         ORDER BY s.period DESC, s.program_id, p.sort_name, p.slug",
    )
    .bind(program_id)
    .bind(period)
    .bind(except_period)
    .bind(status)
    .fetch_all(db.pool())
    .await?
    .iter()
    .map(|r| {
        Ok(StatementRow {
            program_id: r.try_get("program_id")?,
            partner_id: r.try_get("partner_id")?,
            partner_slug: r.try_get("slug")?,
            partner_name: r.try_get("name")?,
            period: r.try_get("period")?,
            status: StatementStatus::parse(&r.try_get::<String, _>("status")?)?,
            total: decimal(&r.try_get::<String, _>("total")?, "statement total")?,
            lines: lines_of(&r.try_get::<String, _>("lines")?)?,
            approved_at: db::opt_str(r, "approved_at")?,
        })
    })
    .collect()
}

/// The programs with statements of `status` in a period (one partner's, or all).
pub async fn programs_with_statements(
    tx: &mut Tx,
    period: &str,
    status: &str,
    partner_id: Option<&str>,
) -> StoreResult<Vec<String>> {
    Ok(sqlx::query_scalar(
        "SELECT DISTINCT program_id FROM statements WHERE period = $1 AND status = $2 \
         AND ($3 IS NULL OR partner_id = $3) ORDER BY program_id",
    )
    .bind(period)
    .bind(status)
    .bind(partner_id)
    .fetch_all(&mut **tx)
    .await?)
}

/// Drafts of a program's period whose partner already has an approved statement.
pub async fn drafts_already_approved(
    tx: &mut Tx,
    program_id: &str,
    period: &str,
    partner_id: Option<&str>,
) -> StoreResult<i64> {
    Ok(sqlx::query_scalar(
        "SELECT COUNT(*) FROM statements d WHERE d.program_id = $1 AND d.period = $2 AND d.status = 'draft' \
         AND ($3 IS NULL OR d.partner_id = $3) AND EXISTS (SELECT 1 FROM statements a WHERE a.program_id = d.program_id \
         AND a.period = d.period AND a.partner_id = d.partner_id AND a.status = 'approved')",
    )
    .bind(program_id)
    .bind(period)
    .bind(partner_id)
    .fetch_one(&mut **tx)
    .await?)
}

/// Approves a program's drafts of a period (one partner's, or all); returns how many.
pub async fn approve_drafts(
    tx: &mut Tx,
    program_id: &str,
    period: &str,
    partner_id: Option<&str>,
    by: Option<&str>,
) -> StoreResult<u64> {
    Ok(sqlx::query(
        "UPDATE statements SET status = 'approved', approved_at = $1, approved_by = $2 \
         WHERE program_id = $3 AND period = $4 AND status = 'draft' AND ($5 IS NULL OR partner_id = $5)",
    )
    .bind(db::now())
    .bind(by)
    .bind(program_id)
    .bind(period)
    .bind(partner_id)
    .execute(&mut **tx)
    .await?
    .rows_affected())
}

/// Partners with an approved statement of a program's period.
pub async fn approved_partners(
    db: &Db,
    program_id: &str,
    period: &str,
) -> StoreResult<HashSet<String>> {
    Ok(sqlx::query_scalar(
        "SELECT partner_id FROM statements WHERE program_id = $1 AND period = $2 AND status = 'approved'",
    )
    .bind(program_id)
    .bind(period)
    .fetch_all(db.pool())
    .await?
    .into_iter()
    .collect())
}

/// Deletes a program's draft statements of a period.
pub async fn delete_drafts(tx: &mut Tx, program_id: &str, period: &str) -> StoreResult<()> {
    sqlx::query(
        "DELETE FROM statements WHERE program_id = $1 AND period = $2 AND status = 'draft'",
    )
    .bind(program_id)
    .bind(period)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// A statement to store as a draft.
pub struct NewStatement<'a> {
    pub program_id: &'a str,
    pub version: i64,
    pub partner_id: &'a str,
    pub period: &'a str,
    pub total: Decimal,
    pub funds: Decimal,
    pub lines: &'a [Line],
    pub next_bands: &'a [NextBand],
}

pub async fn insert_draft(tx: &mut Tx, s: &NewStatement<'_>) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO statements (id, program_id, version, partner_id, period, status, total, funds, lines, next_bands, calculated_at) \
         VALUES ($1, $2, $3, $4, $5, 'draft', $6, $7, $8, $9, $10)",
    )
    .bind(uuid::Uuid::now_v7().to_string())
    .bind(s.program_id)
    .bind(s.version)
    .bind(s.partner_id)
    .bind(s.period)
    .bind(s.total.to_string())
    .bind(s.funds.to_string())
    .bind(to_json(s.lines)?)
    .bind(to_json(s.next_bands)?)
    .bind(db::now())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// What a row stores as JSON text.
fn to_json<T: Serialize + ?Sized>(v: &T) -> StoreResult<String> {
    serde_json::to_string(v).map_err(|e| StoreError::Internal(e.to_string()))
}

/// A partner's question about one line of a statement.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Dispute {
    pub id: String,
    pub statement_id: String,
    pub rule: String,
    pub comment: String,
    pub user_email: String,
    pub at: String,
    /// `open` or `resolved`.
    pub status: String,
    pub answer: Option<String>,
}

const DISPUTES: &str =
    "SELECT d.*, u.email FROM statement_disputes d JOIN users u ON u.id = d.user_id \
     JOIN statements s ON s.id = d.statement_id";

fn dispute_from_row(r: &sqlx::any::AnyRow) -> StoreResult<Dispute> {
    Ok(Dispute {
        id: r.try_get("id")?,
        statement_id: r.try_get("statement_id")?,
        rule: r.try_get("rule")?,
        comment: r.try_get("comment")?,
        user_email: r.try_get("email")?,
        at: r.try_get("at")?,
        status: r.try_get("status")?,
        answer: db::opt_str(r, "answer")?,
    })
}

/// Opens a dispute; returns it.
pub async fn insert_dispute(
    tx: &mut Tx,
    statement_id: &str,
    rule: &str,
    comment: &str,
    user_id: &str,
) -> StoreResult<Dispute> {
    let id = uuid::Uuid::now_v7().to_string();
    sqlx::query(
        "INSERT INTO statement_disputes (id, statement_id, rule, comment, user_id, at, status) \
         VALUES ($1, $2, $3, $4, $5, $6, 'open')",
    )
    .bind(&id)
    .bind(statement_id)
    .bind(rule)
    .bind(comment)
    .bind(user_id)
    .bind(db::now())
    .execute(&mut **tx)
    .await?;
    let row = sqlx::query(&format!("{DISPUTES} WHERE d.id = $1"))
        .bind(&id)
        .fetch_one(&mut **tx)
        .await?;
    dispute_from_row(&row)
}

/// Disputes of one statement, or every one (`None`), optionally of one
/// status; newest first.
pub async fn disputes(
    db: &Db,
    statement_id: Option<&str>,
    status: Option<&str>,
) -> StoreResult<Vec<Dispute>> {
    sqlx::query(&format!(
        "{DISPUTES} WHERE ($1 IS NULL OR d.statement_id = $1) AND ($2 IS NULL OR d.status = $2) \
         ORDER BY d.at DESC LIMIT 500"
    ))
    .bind(statement_id)
    .bind(status)
    .fetch_all(db.pool())
    .await?
    .iter()
    .map(dispute_from_row)
    .collect()
}

/// Every dispute on a partner's statements, newest first.
pub async fn disputes_of_partner(db: &Db, partner_id: &str) -> StoreResult<Vec<Dispute>> {
    sqlx::query(&format!(
        "{DISPUTES} WHERE s.partner_id = $1 ORDER BY d.at DESC"
    ))
    .bind(partner_id)
    .fetch_all(db.pool())
    .await?
    .iter()
    .map(dispute_from_row)
    .collect()
}

/// Answers an open dispute; `false` when there is no open one with that id.
pub async fn resolve_dispute(
    tx: &mut Tx,
    id: &str,
    answer: &str,
    by: Option<&str>,
) -> StoreResult<bool> {
    Ok(sqlx::query(
        "UPDATE statement_disputes SET status = 'resolved', answer = $1, answered_by = $2, answered_at = $3 \
         WHERE id = $4 AND status = 'open'",
    )
    .bind(answer)
    .bind(by)
    .bind(db::now())
    .bind(id)
    .execute(&mut **tx)
    .await?
    .rows_affected()
        > 0)
}
