//! Sales-out data: streaming CSV import in batches (all or nothing per file,
//! idempotent by transaction id, reversible per batch), FX rates, and the
//! incentive calculation over what was imported.

use crate::db::{self, Db};
use crate::import::Rejected;
use crate::store::{Actor, StoreError};
use rust_decimal::Decimal;
use serde::Serialize;
use sqlx::Row;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Read;
use std::str::FromStr;
use std::time::Instant;
use trellis_core::incentives::{self, PartnerFacts, Period, Statement};
use trellis_core::program::Program;
use trellis_core::segment;

/// The columns of a sales-out file, in the documented order.
pub const COLUMNS: &[&str] = &[
    "transaction_id",
    "date",
    "partner",
    "customer_name",
    "customer_domain",
    "customer_country",
    "sku",
    "quantity",
    "unit_price",
    "currency",
    "deal_id",
    "seller",
];

/// What to do with a SKU no published program's catalogue knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnknownSku {
    /// The line is an error (the file is rejected).
    Reject,
    /// The line is imported but held out of calculations.
    Hold,
}

/// Why an import or a calculation did not happen: the CSV imports' error.
pub use crate::import::ImportError as SalesError;

type Result<T> = std::result::Result<T, SalesError>;

/// What an import did.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ImportSummary {
    pub batch_id: Option<String>,
    pub lines: u64,
    pub imported: u64,
    /// Lines whose transaction id was imported before (skipped).
    pub duplicates: u64,
    pub held: u64,
    pub bytes: u64,
    pub parse_seconds: f64,
    pub persist_seconds: f64,
}

use trellis_core::incentives::is_date as valid_date;

/// Limits that keep every product of quantity, price and FX rate exact
/// (within rust_decimal's 96-bit mantissa).
const MAX_QUANTITY: i64 = 10_000_000;
const MAX_PRICE: i64 = 10_000_000_000;
const MAX_RATE: i64 = 1_000_000;

/// A number of at most `max` (in magnitude) with at most `decimals`
/// decimals once trailing zeros are dropped.
fn limited(raw: &str, max: i64, decimals: u32) -> Option<Decimal> {
    Decimal::from_str(raw)
        .ok()
        .map(|x| x.normalize())
        .filter(|x| x.abs() <= Decimal::from(max) && x.scale() <= decimals)
}

fn too_large() -> SalesError {
    SalesError::Invalid("sales amounts too large to add up exactly".into())
}

/// The SKUs of every published program's catalogue and their currencies.
async fn catalogue(db: &Db) -> Result<(HashSet<String>, HashSet<String>)> {
    let mut skus = HashSet::new();
    let mut currencies = HashSet::new();
    for p in crate::store::programs::list(db).await? {
        if p.published.is_none() {
            continue;
        }
        if let Some(v) = crate::store::programs::published(db, &p.slug).await? {
            if let Ok(prog) = trellis_core::program::parse(&v.source) {
                currencies.insert(prog.program.currency.to_ascii_uppercase());
                skus.extend(prog.products.iter().map(|x| x.sku.get_ref().clone()));
            }
        }
    }
    Ok((skus, currencies))
}

/// Maps keyed by text from files: a fast hash with a per-process seed.
type Fast = foldhash::quality::RandomState;

/// Transaction ids, exactly, with a 64-bit hash in front so that millions
/// of them cost a few bytes each. Ids whose hash another id already took go
/// to a plain map, so a collision costs time, never a wrong answer.
#[derive(Default)]
struct IdSet {
    arena: Vec<u8>,
    ends: Vec<usize>,
    /// A number kept with each id (its line in the file).
    tags: Vec<u64>,
    /// Seeded per set, so ids cannot be crafted to collide.
    seed: Fast,
    by_hash: HashMap<u64, u32, std::hash::BuildHasherDefault<Hashed>>,
    collided: HashMap<Box<[u8]>, u32, Fast>,
}

/// The keys of [`IdSet::by_hash`] are hashes already.
#[derive(Default)]
struct Hashed(u64);

impl std::hash::Hasher for Hashed {
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*b);
        }
    }

    fn write_u64(&mut self, v: u64) {
        self.0 = v;
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

impl IdSet {
    fn hash(&self, id: &[u8]) -> u64 {
        use std::hash::BuildHasher;
        self.seed.hash_one(id)
    }

    fn get(&self, i: u32) -> &[u8] {
        let i = i as usize;
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.arena[start..self.ends[i]]
    }

    fn find(&self, id: &[u8]) -> Option<u32> {
        let i = *self.by_hash.get(&self.hash(id))?;
        if self.get(i) == id {
            return Some(i);
        }
        self.collided.get(id).copied()
    }

    /// The tag of the id if it is in the set.
    fn tag(&self, id: &str) -> Option<u64> {
        self.find(id.as_bytes()).map(|i| self.tags[i as usize])
    }

    /// Adds an id; returns the tag it already had if it was in the set.
    /// One probe of the hash table for a new id.
    fn insert(&mut self, id: &str, tag: u64) -> Option<u64> {
        use std::collections::hash_map::Entry;
        let id = id.as_bytes();
        let i = self.ends.len() as u32;
        let h = self.hash(id);
        match self.by_hash.entry(h) {
            Entry::Occupied(o) => {
                let first = *o.get();
                if self.get(first) == id {
                    return Some(self.tags[first as usize]);
                }
                if let Some(j) = self.collided.get(id) {
                    return Some(self.tags[*j as usize]);
                }
                self.collided.insert(id.into(), i);
            }
            Entry::Vacant(v) => {
                v.insert(i);
            }
        }
        self.arena.extend_from_slice(id);
        self.ends.push(self.arena.len());
        self.tags.push(tag);
        None
    }
}

/// The imported batches: read before a file and again before writing it,
/// to notice another import or a rollback finishing meanwhile.
const IMPORTED_BATCHES: &str = "SELECT id FROM sales_batches WHERE status = 'imported' ORDER BY id";

/// Every transaction id imported so far.
async fn imported_ids(db: &Db) -> Result<IdSet> {
    let rows: Vec<(i64, Vec<u8>)> = sqlx::query_as("SELECT lines, ids FROM sales_segments")
        .fetch_all(db.pool())
        .await?;
    blocking(|| {
        let mut set = IdSet::default();
        for (lines, bytes) in &rows {
            for id in segment::read_ids(bytes, *lines as u64).map_err(stored)? {
                set.insert(id, 0);
            }
        }
        Ok(set)
    })
}

fn stored(e: segment::SegmentError) -> SalesError {
    SalesError::Invalid(format!("stored {e}"))
}

/// Imports a sales-out CSV, streaming it. Every line is checked first; with
/// any bad line nothing is imported and each problem names its line. Lines
/// whose transaction id was imported before are skipped, so importing the
/// same file again adds nothing. The lines are packed into segments as they
/// are read and the batch is written in one transaction: a crash or a kill
/// leaves no part of it. `progress(lines, bytes)` is called every 100,000
/// lines while reading.
pub async fn import(
    db: &Db,
    actor: &Actor,
    source: &str,
    input: impl Read + Send,
    unknown_sku: UnknownSku,
    progress: &mut (dyn FnMut(u64, u64) + Send),
) -> Result<ImportSummary> {
    let started = Instant::now();
    let (skus, program_currencies) = catalogue(db).await?;
    let skus: HashSet<String, Fast> = skus.into_iter().collect();
    let mut partner_ids: HashMap<String, String, Fast> = HashMap::default();
    for r in sqlx::query("SELECT id, slug FROM partners")
        .fetch_all(db.pool())
        .await?
    {
        let id: String = r.try_get("id")?;
        let slug: String = r.try_get("slug")?;
        partner_ids.insert(slug, id.clone());
        partner_ids.insert(id.clone(), id);
    }
    let mut currencies: HashSet<String, Fast> = program_currencies.into_iter().collect();
    for r in sqlx::query("SELECT DISTINCT from_currency, to_currency FROM fx_rates")
        .fetch_all(db.pool())
        .await?
    {
        currencies.insert(r.try_get("from_currency")?);
        currencies.insert(r.try_get("to_currency")?);
    }
    let batches: Vec<String> = sqlx::query_scalar(IMPORTED_BATCHES)
        .fetch_all(db.pool())
        .await?;
    let before = imported_ids(db).await?;

    let mut hasher = <sha2::Sha256 as sha2::Digest>::new();
    let counting = CountingReader {
        inner: input,
        bytes: 0,
        hasher: &mut hasher,
    };
    let mut reader = csv::ReaderBuilder::new()
        .flexible(false)
        // Fields are trimmed where they are read (the reader's own trimming
        // copies every record).
        .from_reader(counting);
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| SalesError::Rejected(Rejected(vec![format!("{source}:1: {e}")])))?
        .iter()
        .map(|h| h.trim_start_matches('\u{feff}').trim().to_ascii_lowercase())
        .collect();
    let col = |name: &str| headers.iter().position(|h| h == name);
    let unknown: Vec<&String> = headers
        .iter()
        .filter(|h| !COLUMNS.contains(&h.as_str()))
        .collect();
    let mut errors: Vec<String> = Vec::new();
    if !unknown.is_empty() {
        errors.push(format!(
            "{source}:1: unknown column(s) {}; the columns are: {}",
            unknown
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            COLUMNS.join(", ")
        ));
    }
    for required in [
        "transaction_id",
        "date",
        "partner",
        "customer_name",
        "customer_country",
        "sku",
        "quantity",
        "unit_price",
        "currency",
    ] {
        if col(required).is_none() {
            errors.push(format!("{source}:1: the column {required} is missing"));
        }
    }
    if !errors.is_empty() {
        return Err(SalesError::Rejected(Rejected(errors)));
    }
    let idx: Vec<Option<usize>> = COLUMNS.iter().map(|c| col(c)).collect();
    let mut segments: Vec<(segment::Segment, u64)> = Vec::new();
    let mut writer = segment::Writer::new();
    let mut writer_held = 0u64;
    let mut seen = IdSet::default();
    let mut total_errors = 0usize;
    let mut lines = 0u64;
    let (mut imported, mut duplicates, mut held_total) = (0u64, 0u64, 0u64);
    let known = Known {
        partner_ids: &partner_ids,
        skus: &skus,
        currencies: &currencies,
        unknown_sku,
    };
    // One thread reads and splits the CSV, this one checks and packs lines.
    let (to_check, chunks) = std::sync::mpsc::sync_channel::<Chunk>(4);
    let (recycle, recycled) = std::sync::mpsc::channel::<Vec<csv::StringRecord>>();
    let read = blocking(|| {
        std::thread::scope(|scope| {
            let reading = scope.spawn(move || read_chunks(reader, source, to_check, recycled));
            for chunk in chunks {
                let (buf, n, bytes) = match chunk {
                    Chunk::Records(buf, n, bytes) => (buf, n, bytes),
                    Chunk::Failed(e) => {
                        errors.push(e);
                        total_errors += 1;
                        continue;
                    }
                };
                for record in &buf[..n] {
                    lines += 1;
                    let line = record.position().map(|p| p.line()).unwrap_or(lines + 1);
                    if lines.is_multiple_of(100_000) {
                        progress(lines, bytes);
                    }
                    let mut bad: Vec<String> = Vec::new();
                    let tid = field(record, &idx, 0);
                    if tid.is_empty() {
                        bad.push("transaction_id is required".into());
                    } else if let Some(first) = seen.insert(tid, line) {
                        bad.push(format!("transaction_id {tid} is already on line {first}"));
                    }
                    let checked = known.check(record, &idx, line);
                    if let Err(more) = &checked {
                        bad.extend_from_slice(more);
                    }
                    if !bad.is_empty() {
                        total_errors += bad.len();
                        if errors.len() < 200 {
                            errors.push(format!("{source}:{line}: {}", bad.join("; ")));
                        }
                        continue;
                    }
                    let Ok(sale) = checked else { continue };
                    if !errors.is_empty() {
                        // The file is rejected: only keep checking.
                        continue;
                    }
                    if before.tag(tid).is_some() {
                        duplicates += 1;
                        continue;
                    }
                    writer.push(&sale);
                    imported += 1;
                    writer_held += u64::from(sale.held);
                    if writer.len() == segment::SEGMENT_LINES {
                        held_total += writer_held;
                        segments.push((writer.finish(), std::mem::take(&mut writer_held)));
                    }
                }
                let _ = recycle.send(buf);
            }
            reading.join()
        })
    });
    let bytes = read.map_err(|_| SalesError::Invalid("reading the file failed".into()))?;
    if !writer.is_empty() {
        held_total += writer_held;
        segments.push((writer.finish(), writer_held));
    }
    drop(seen);
    drop(before);
    progress(lines, bytes);
    if !errors.is_empty() {
        if total_errors > errors.len() {
            errors.push(format!(
                "… and {} more problem(s)",
                total_errors - errors.len()
            ));
        }
        return Err(SalesError::Rejected(Rejected(errors)));
    }
    let sha = hex::encode(sha2::Digest::finalize(hasher));
    let parse_seconds = started.elapsed().as_secs_f64();

    let started = Instant::now();
    let batch_id = uuid::Uuid::now_v7().to_string();
    let mut tx = db.begin_write().await?;
    lock_batches(db, &mut tx).await?;
    let now: Vec<String> = sqlx::query_scalar(IMPORTED_BATCHES)
        .fetch_all(&mut *tx)
        .await?;
    if now != batches {
        return Err(SalesError::Invalid(
            "another sales import or rollback finished while this file was read: import it again (lines imported since are then skipped)".into(),
        ));
    }
    sqlx::query(
        "INSERT INTO sales_batches (id, created_at, created_by, source, sha256, lines, imported, duplicates, held, status) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'imported')",
    )
    .bind(&batch_id)
    .bind(db::now())
    .bind(&actor.email)
    .bind(source)
    .bind(&sha)
    .bind(lines as i64)
    .bind(imported as i64)
    .bind(duplicates as i64)
    .bind(held_total as i64)
    .execute(&mut *tx)
    .await?;
    for (seq, (s, held)) in segments.iter().enumerate() {
        insert_segment(&mut tx, &batch_id, seq, s, *held).await?;
    }
    crate::store::audit::record(
        &mut tx,
        actor,
        crate::store::audit::Change {
            action: "sales.import",
            object_type: "sales-batch",
            object_id: &batch_id,
            partner_id: None,
            before: None,
            after: Some(serde_json::json!({"source": source, "lines": lines, "imported": imported, "duplicates": duplicates, "held": held_total, "sha256": sha})),
        },
    )
    .await?;
    // The process dying here, every segment written but nothing committed,
    // is what the crash test provokes (TRELLIS_CRASH=sales-import-commit).
    if std::env::var_os("TRELLIS_CRASH").is_some_and(|v| v == "sales-import-commit") {
        std::process::abort();
    }
    tx.commit().await?;
    Ok(ImportSummary {
        batch_id: Some(batch_id),
        lines,
        imported,
        duplicates,
        held: held_total,
        bytes,
        parse_seconds,
        persist_seconds: started.elapsed().as_secs_f64(),
    })
}

/// Records read by the reading thread: filled records, how many, bytes read
/// so far; or the error that stopped it.
enum Chunk {
    Records(Vec<csv::StringRecord>, usize, u64),
    Failed(String),
}

/// Reads the CSV in chunks of records (reusing the buffers sent back) until
/// its end or its first unreadable line. Returns the bytes read.
fn read_chunks<R: Read>(
    mut reader: csv::Reader<CountingReader<'_, R>>,
    source: &str,
    to_check: std::sync::mpsc::SyncSender<Chunk>,
    recycled: std::sync::mpsc::Receiver<Vec<csv::StringRecord>>,
) -> u64 {
    let mut records = 0u64;
    loop {
        let mut buf = recycled
            .try_recv()
            .unwrap_or_else(|_| vec![csv::StringRecord::new(); 4096]);
        let mut n = 0;
        let mut failed = None;
        while n < buf.len() {
            match reader.read_record(&mut buf[n]) {
                Ok(true) => n += 1,
                Ok(false) => break,
                Err(e) => {
                    failed = Some(e);
                    break;
                }
            }
        }
        records += n as u64;
        let bytes = reader.get_ref().bytes;
        let full = n == buf.len();
        if n > 0 && to_check.send(Chunk::Records(buf, n, bytes)).is_err() {
            return bytes;
        }
        if let Some(e) = failed {
            let line = e.position().map(|p| p.line()).unwrap_or(records + 2);
            let _ = to_check.send(Chunk::Failed(format!("{source}:{line}: {e}")));
            return bytes;
        }
        if !full {
            return bytes;
        }
    }
}

/// A field of a record by its documented column (`COLUMNS[i]`), trimmed.
fn field<'r>(record: &'r csv::StringRecord, idx: &[Option<usize>], i: usize) -> &'r str {
    idx[i].and_then(|c| record.get(c)).unwrap_or("").trim()
}

/// What an import checks lines against.
struct Known<'k> {
    partner_ids: &'k HashMap<String, String, Fast>,
    skus: &'k HashSet<String, Fast>,
    currencies: &'k HashSet<String, Fast>,
    unknown_sku: UnknownSku,
}

impl<'k> Known<'k> {
    /// Checks a line (all but its transaction id's uniqueness): the line to
    /// store, or every problem with it.
    fn check<'a>(
        &self,
        record: &'a csv::StringRecord,
        idx: &[Option<usize>],
        line: u64,
    ) -> std::result::Result<segment::LineRef<'a>, Vec<String>>
    where
        'k: 'a,
    {
        let get = |i: usize| field(record, idx, i);
        let mut bad: Vec<String> = Vec::new();
        let day = get(1);
        if !valid_date(day) {
            bad.push(format!("date '{day}' is not a date like 2027-01-31"));
        }
        let partner = self.partner_ids.get(get(2));
        if partner.is_none() {
            bad.push(format!(
                "partner '{}' is not a partner's id or slug",
                get(2)
            ));
        }
        if get(3).is_empty() {
            bad.push("customer_name is required".into());
        }
        let country = trellis_core::country::parse("customer_country", get(5));
        if let Err(e) = &country {
            bad.push(e.message.clone());
        }
        let sku = get(6);
        let held = !self.skus.is_empty() && !self.skus.contains(sku);
        if held && self.unknown_sku == UnknownSku::Reject {
            bad.push(format!(
                "sku '{sku}' is in no published program's catalogue"
            ));
        }
        let quantity = limited(get(7), MAX_QUANTITY, 4).filter(|q| !q.is_zero());
        if quantity.is_none() {
            bad.push(format!(
                "quantity '{}' is not a non-zero number (negative for a return) of at most 10,000,000 with at most 4 decimals",
                get(7)
            ));
        }
        let price = limited(get(8), MAX_PRICE, 6).filter(|p| !p.is_sign_negative());
        if price.is_none() {
            bad.push(format!(
                "unit_price '{}' is not a number from 0 to 10,000,000,000 with at most 6 decimals",
                get(8)
            ));
        }
        // The known spelling (upper case), without allocating when it is one.
        let raw = get(9);
        let currency = match self.currencies.get(raw) {
            Some(c) => Some(c),
            None => self.currencies.get(&raw.to_ascii_uppercase()),
        };
        if currency.is_none() {
            bad.push(format!(
                "currency '{raw}' has no FX rate (import one with `trellis import fx`) and is no program's currency"
            ));
        }
        match (partner, country, quantity, price, currency) {
            (Some(partner), Ok(country), Some(quantity), Some(unit_price), Some(currency))
                if bad.is_empty() =>
            {
                let opt = |i: usize| Some(get(i)).filter(|s| !s.is_empty());
                Ok(segment::LineRef {
                    line,
                    transaction_id: get(0),
                    date: day,
                    partner_id: partner,
                    customer_name: get(3),
                    customer_domain: opt(4),
                    customer_country: country,
                    sku,
                    quantity,
                    unit_price,
                    currency,
                    deal_id: opt(10),
                    seller: opt(11),
                    held,
                })
            }
            _ => Err(bad),
        }
    }
}

async fn insert_segment(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    batch_id: &str,
    seq: usize,
    s: &segment::Segment,
    held: u64,
) -> Result<()> {
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

/// Moves lines a database of an earlier version kept one row each (the
/// `sales` table) into segments, batch by batch, in one transaction.
pub(crate) async fn move_legacy_lines(db: &Db) -> Result<u64> {
    // Cheap when there is nothing to move (every start after the first).
    let any: Option<String> = sqlx::query_scalar("SELECT batch_id FROM sales LIMIT 1")
        .fetch_optional(db.pool())
        .await?;
    if any.is_none() {
        return Ok(0);
    }
    let mut tx = db.begin_write().await?;
    lock_batches(db, &mut tx).await?;
    let batches: Vec<String> =
        sqlx::query_scalar("SELECT DISTINCT batch_id FROM sales ORDER BY batch_id")
            .fetch_all(&mut *tx)
            .await?;
    let text = |r: &sqlx::any::AnyRow, c: &str| -> Result<String> { Ok(r.try_get(c)?) };
    let dec = |r: &sqlx::any::AnyRow, c: &str| -> Result<Decimal> {
        Decimal::from_str(&text(r, c)?).map_err(|e| SalesError::Invalid(format!("stored {c}: {e}")))
    };
    let mut moved = 0u64;
    for batch in batches {
        // A segment's worth of rows at a time, so that memory stays small.
        let (mut seq, mut after) = (0usize, -1i64);
        loop {
            let rows = sqlx::query(
                "SELECT transaction_id, line, day, partner_id, customer_name, customer_domain, \
                 customer_country, sku, quantity, unit_price, currency, deal_id, seller, held \
                 FROM sales WHERE batch_id = $1 AND line > $2 ORDER BY line LIMIT $3",
            )
            .bind(&batch)
            .bind(after)
            .bind(segment::SEGMENT_LINES as i64)
            .fetch_all(&mut *tx)
            .await?;
            if rows.is_empty() {
                break;
            }
            let mut w = segment::Writer::new();
            let mut held = 0u64;
            for r in &rows {
                let (domain, deal, seller) = (
                    db::opt_str(r, "customer_domain")?,
                    db::opt_str(r, "deal_id")?,
                    db::opt_str(r, "seller")?,
                );
                let is_held = r.try_get::<i64, _>("held")? != 0;
                after = r.try_get::<i64, _>("line")?;
                w.push(&segment::LineRef {
                    line: after as u64,
                    transaction_id: &text(r, "transaction_id")?,
                    date: &text(r, "day")?,
                    partner_id: &text(r, "partner_id")?,
                    customer_name: &text(r, "customer_name")?,
                    customer_domain: domain.as_deref(),
                    customer_country: &text(r, "customer_country")?,
                    sku: &text(r, "sku")?,
                    quantity: dec(r, "quantity")?,
                    unit_price: dec(r, "unit_price")?,
                    currency: &text(r, "currency")?,
                    deal_id: deal.as_deref(),
                    seller: seller.as_deref(),
                    held: is_held,
                });
                held += u64::from(is_held);
            }
            moved += rows.len() as u64;
            insert_segment(&mut tx, &batch, seq, &w.finish(), held).await?;
            seq += 1;
        }
    }
    sqlx::query("DELETE FROM sales").execute(&mut *tx).await?;
    tx.commit().await?;
    tracing::info!(lines = moved, "moved stored sales lines into segments");
    Ok(moved)
}

struct CountingReader<'h, R> {
    inner: R,
    bytes: u64,
    hasher: &'h mut sha2::Sha256,
}

impl<R: Read> Read for CountingReader<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.bytes += n as u64;
        sha2::Digest::update(self.hasher, &buf[..n]);
        Ok(n)
    }
}

/// Imports and rollbacks write one at a time: on SQLite the write
/// transaction already ensures it; on PostgreSQL a table lock that conflicts
/// with itself, so that an import's check of the batches sees every batch
/// committed before it writes.
async fn lock_batches(db: &Db, tx: &mut sqlx::Transaction<'static, sqlx::Any>) -> Result<()> {
    if db.backend() == crate::db::Backend::Postgres {
        sqlx::query("LOCK TABLE sales_batches IN SHARE ROW EXCLUSIVE MODE")
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// Removes a batch's lines (approved statements keep what they approved;
/// the next calculation shows the difference as an adjustment).
pub async fn rollback(db: &Db, actor: &Actor, batch_id: &str) -> Result<u64> {
    let mut tx = db.begin_write().await?;
    lock_batches(db, &mut tx).await?;
    let status: Option<String> =
        sqlx::query_scalar("SELECT status FROM sales_batches WHERE id = $1")
            .bind(batch_id)
            .fetch_optional(&mut *tx)
            .await?;
    match status.as_deref() {
        None => return Err(SalesError::Invalid(format!("no sales batch {batch_id}"))),
        Some("rolled-back") => {
            return Err(SalesError::Invalid(format!(
                "batch {batch_id} is already rolled back"
            )))
        }
        _ => {}
    }
    let n: i64 = sqlx::query_scalar(
        "SELECT CAST(COALESCE(SUM(lines), 0) AS BIGINT) FROM sales_segments WHERE batch_id = $1",
    )
    .bind(batch_id)
    .fetch_one(&mut *tx)
    .await?;
    let n = n as u64;
    sqlx::query("DELETE FROM sales_segments WHERE batch_id = $1")
        .bind(batch_id)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "UPDATE sales_batches SET status = 'rolled-back', rolled_back_at = $1 WHERE id = $2",
    )
    .bind(db::now())
    .bind(batch_id)
    .execute(&mut *tx)
    .await?;
    crate::store::audit::record(
        &mut tx,
        actor,
        crate::store::audit::Change {
            action: "sales.rollback",
            object_type: "sales-batch",
            object_id: batch_id,
            partner_id: None,
            before: None,
            after: Some(serde_json::json!({"removed": n})),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(n)
}

/// Imports FX rates: `from_currency,to_currency,valid_from,rate` (1 `from` =
/// `rate` `to` from that day on). All or nothing; a rate for the same pair
/// and day is replaced.
pub async fn import_fx(db: &Db, source: &str, text: &str) -> Result<usize> {
    let rows = crate::import::read(
        source,
        text,
        &["from_currency", "to_currency", "valid_from", "rate"],
        |_| false,
    )
    .map_err(|e| SalesError::Invalid(e.to_string()))?;
    let mut errors = Vec::new();
    let mut ok = Vec::new();
    for (line, r) in &rows {
        let get = |k: &str| r.get(k).map(String::as_str).unwrap_or("");
        let cur = |k: &str| {
            let c = get(k).to_ascii_uppercase();
            (c.len() == 3 && c.chars().all(|x| x.is_ascii_uppercase())).then_some(c)
        };
        let rate = limited(get("rate"), MAX_RATE, 10).filter(|r| *r > Decimal::ZERO);
        match (cur("from_currency"), cur("to_currency"), valid_date(get("valid_from")), rate) {
            (Some(f), Some(t), true, Some(rate)) => ok.push((f, t, get("valid_from").to_string(), rate)),
            _ => errors.push(format!(
                "{source}:{line}: needs from_currency and to_currency (ISO 4217, like EUR), valid_from (YYYY-MM-DD) and a rate > 0, at most 1,000,000 with at most 10 decimals"
            )),
        }
    }
    if !errors.is_empty() {
        return Err(SalesError::Rejected(Rejected(errors)));
    }
    let mut tx = db.begin_write().await?;
    for (f, t, day, rate) in &ok {
        sqlx::query("DELETE FROM fx_rates WHERE from_currency = $1 AND to_currency = $2 AND valid_from = $3")
            .bind(f)
            .bind(t)
            .bind(day)
            .execute(&mut *tx)
            .await?;
        sqlx::query("INSERT INTO fx_rates (from_currency, to_currency, valid_from, rate) VALUES ($1, $2, $3, $4)")
            .bind(f)
            .bind(t)
            .bind(day)
            .bind(rate.to_string())
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(ok.len())
}

/// FX rates to one currency, by source currency, sorted by day.
struct Fx {
    to: String,
    rates: HashMap<String, Vec<(String, Decimal)>>,
}

impl Fx {
    async fn load(db: &Db, to: &str) -> Result<Fx> {
        let mut rates: HashMap<String, Vec<(String, Decimal)>> = HashMap::new();
        for r in sqlx::query("SELECT from_currency, to_currency, valid_from, rate FROM fx_rates")
            .fetch_all(db.pool())
            .await?
        {
            let f: String = r.try_get("from_currency")?;
            let t: String = r.try_get("to_currency")?;
            let day: String = r.try_get("valid_from")?;
            let rate = Decimal::from_str(&r.try_get::<String, _>("rate")?)
                .map_err(|e| SalesError::Invalid(format!("stored FX rate: {e}")))?;
            if t == to {
                rates.entry(f).or_default().push((day, rate));
            } else if f == to && !rate.is_zero() {
                rates.entry(t).or_default().push((day, Decimal::ONE / rate));
            }
        }
        for v in rates.values_mut() {
            v.sort_by(|a, b| a.0.cmp(&b.0));
        }
        Ok(Fx {
            to: to.to_string(),
            rates,
        })
    }

    /// The days on which a rate starts.
    fn days(&self) -> impl Iterator<Item = &String> {
        self.rates.values().flatten().map(|(d, _)| d)
    }

    /// The rate from `currency` on `day` (the latest valid from on or before it).
    fn rate(&self, currency: &str, day: &str) -> Option<Decimal> {
        if currency == self.to {
            return Some(Decimal::ONE);
        }
        let v = self.rates.get(currency)?;
        let i = v.partition_point(|(d, _)| d.as_str() <= day);
        (i > 0).then(|| v[i - 1].1)
    }
}

/// A calculation: every partner's statement for the period (with
/// adjustment lines for late data in approved earlier periods).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Calculation {
    pub program: String,
    pub version: i64,
    pub period: String,
    pub currency: String,
    #[schema(value_type = Vec<Object>)]
    pub statements: Vec<Statement>,
    /// Sales lines in the period and the same period a year earlier (held
    /// lines left out).
    pub lines_read: usize,
    /// The groups the lines were folded into.
    pub groups: usize,
    /// Reading the sales from the database, folding, converting and calculating.
    pub seconds: f64,
    /// The rules alone, over the groups.
    pub core_seconds: f64,
}

/// The published program to calculate: the one named, or the only one with
/// incentive rules. Returns its database id, version number and definition.
pub async fn program_of(db: &Db, slug: Option<&str>) -> Result<(String, i64, Program)> {
    let mut found = Vec::new();
    for p in crate::store::programs::list(db).await? {
        if slug.is_some_and(|s| s != p.slug) {
            continue;
        }
        let Some(v) = crate::store::programs::published(db, &p.slug).await? else {
            continue;
        };
        let prog = trellis_core::program::parse(&v.source).map_err(|e| {
            SalesError::Invalid(format!("published program {} does not parse: {e}", p.slug))
        })?;
        let inc = &prog.incentives;
        let has_rules = !(inc.rebates.is_empty()
            && inc.spifs.is_empty()
            && inc.deal_registration_uplifts.is_empty()
            && inc.fund_accruals.is_empty());
        if slug.is_some() || has_rules {
            found.push((p.id.clone(), v.meta.number, prog));
        }
    }
    match (found.len(), slug) {
        (1, _) => Ok(found.remove(0)),
        (0, Some(s)) => Err(SalesError::Invalid(format!(
            "program: no published program {s:?}"
        ))),
        (0, None) => Err(SalesError::Invalid(
            "program: no published program has incentive rules".into(),
        )),
        _ => Err(SalesError::Invalid(
            "program: several published programs have incentive rules: choose one".into(),
        )),
    }
}

/// Calculates a period under a published program, with adjustments for late
/// data, and saves the drafts unless `dry_run`. The command line and the API
/// share it.
pub async fn run(db: &Db, period: &str, slug: Option<&str>, dry_run: bool) -> Result<Run> {
    let period = Period::parse(period).map_err(|e| SalesError::Invalid(format!("period: {e}")))?;
    let (program_id, version, program) = program_of(db, slug).await?;
    let mut calculation = calculate(db, &program_id, &program, &period).await?;
    calculation.version = version;
    add_adjustments(db, &program_id, &program, &mut calculation).await?;
    let saved = if dry_run {
        None
    } else {
        Some(save_drafts(db, &program_id, &calculation).await?)
    };
    Ok(Run {
        program_id,
        program,
        period,
        calculation,
        saved,
    })
}

/// What [`run`] did.
pub struct Run {
    pub program_id: String,
    pub program: Program,
    pub period: Period,
    pub calculation: Calculation,
    /// Drafts saved (`None` for a dry run).
    pub saved: Option<usize>,
}

/// One partner's earnings for the period now and under another version of
/// the program (adjustments for earlier periods left out of both).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct WhatIfRow {
    pub partner_id: String,
    pub partner: String,
    pub current: String,
    pub what_if: String,
    /// `what_if − current`.
    pub difference: String,
}

/// A period calculated under another version of the program, against the
/// version in force.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct WhatIf {
    /// What was compared: `version 3 (draft)` or a file name.
    pub under: String,
    /// Every partner with earnings under either, by name.
    pub rows: Vec<WhatIfRow>,
    pub current_total: String,
    pub what_if_total: String,
    pub difference: String,
    /// The statements under the other version.
    #[schema(value_type = Object)]
    pub calculation: Calculation,
}

/// A statement's amount for its own period (adjustment lines left out).
fn own_amount(s: &Statement) -> Decimal {
    s.lines
        .iter()
        .filter(|l| l.adjusts.is_none())
        .map(|l| l.amount)
        .sum()
}

/// Calculates `run`'s period under `draft` (stored as `version`, or a file)
/// and compares it per partner.
pub async fn what_if(
    db: &Db,
    run: &Run,
    under: &str,
    draft: &Program,
    version: Option<i64>,
) -> Result<WhatIf> {
    if draft.program.id.get_ref() != run.program.program.id.get_ref() {
        return Err(SalesError::Invalid(format!(
            "what-if: the draft is program {}, not {}",
            draft.program.id.get_ref(),
            run.program.program.id.get_ref()
        )));
    }
    let (a, b) = (&draft.program.currency, &run.program.program.currency);
    if !a.eq_ignore_ascii_case(b) {
        return Err(SalesError::Invalid(format!(
            "what-if: the draft pays in {a}, the program in force in {b}: amounts would not compare"
        )));
    }
    let mut other = calculate(db, &run.program_id, draft, &run.period).await?;
    other.version = version.unwrap_or(0);
    let names = partner_names(db).await?;
    let mut both: BTreeMap<&str, (Decimal, Decimal)> = BTreeMap::new();
    for s in &run.calculation.statements {
        both.entry(&s.partner_id).or_default().0 = own_amount(s);
    }
    for s in &other.statements {
        both.entry(&s.partner_id).or_default().1 = own_amount(s);
    }
    let (mut now, mut then) = (Decimal::ZERO, Decimal::ZERO);
    let mut rows: Vec<WhatIfRow> = both
        .into_iter()
        .map(|(id, (a, b))| {
            now += a;
            then += b;
            WhatIfRow {
                partner_id: id.to_string(),
                partner: names.get(id).cloned().unwrap_or_else(|| id.to_string()),
                current: incentives::cents(a).to_string(),
                what_if: incentives::cents(b).to_string(),
                difference: incentives::cents(b - a).to_string(),
            }
        })
        .collect();
    rows.sort_by(|a, b| a.partner.cmp(&b.partner));
    Ok(WhatIf {
        under: under.to_string(),
        rows,
        current_total: incentives::cents(now).to_string(),
        what_if_total: incentives::cents(then).to_string(),
        difference: incentives::cents(then - now).to_string(),
        calculation: other,
    })
}

/// A stored version (a draft, or an earlier one) of the program a
/// calculation will use (`slug`, or the only one with incentive rules), to
/// compare with: its label, definition and number. Checked before anything is
/// calculated or saved.
pub async fn version_to_compare(
    db: &Db,
    slug: Option<&str>,
    number: i64,
) -> Result<(String, Program, i64)> {
    let (_, _, current) = program_of(db, slug).await?;
    let slug = current.program.id.get_ref();
    let v = crate::store::programs::version(db, slug, number)
        .await?
        .ok_or_else(|| {
            SalesError::Invalid(format!(
                "what_if_version: program {slug} has no version {number}"
            ))
        })?;
    let draft = trellis_core::program::parse(&v.source).map_err(|e| {
        SalesError::Invalid(format!(
            "what_if_version: version {number} does not parse: {e}"
        ))
    })?;
    Ok((
        format!("version {number} ({})", v.meta.status),
        draft,
        number,
    ))
}

/// Loads the sales of a period (and the year before, for growth rebates)
/// and calculates every partner's statement under `program`. Lines are
/// folded, on every core, into groups by partner, SKU, currency, approved
/// deal, seller (when a SPIF credits sellers) and range of days within
/// which no rule, period or FX rate changes; the rules then run over the
/// groups (the same statements as line by line, see
/// `trellis_core::incentives::calculate_groups`).
pub async fn calculate(
    db: &Db,
    program_id: &str,
    program: &Program,
    period: &Period,
) -> Result<Calculation> {
    let started = Instant::now();
    let currency = program.program.currency.to_ascii_uppercase();
    let fx = Fx::load(db, &currency).await?;
    let mut facts: BTreeMap<String, PartnerFacts> = BTreeMap::new();
    for r in sqlx::query(
        "SELECT p.id, p.partner_type, e.segment, e.level FROM partners p \
         LEFT JOIN partner_programs e ON e.partner_id = p.id AND e.program_id = $1",
    )
    .bind(program_id)
    .fetch_all(db.pool())
    .await?
    {
        facts.insert(
            r.try_get("id")?,
            PartnerFacts {
                partner_type: r.try_get("partner_type")?,
                segment: db::opt_str(&r, "segment")?,
                level: db::opt_str(&r, "level")?,
            },
        );
    }
    let approved_deals: HashSet<String> =
        sqlx::query_scalar("SELECT id FROM deals WHERE status IN ('approved','won')")
            .fetch_all(db.pool())
            .await?
            .into_iter()
            .collect();
    let before = period.year_before();
    let blobs: Vec<Vec<u8>> = sqlx::query_scalar(
        "SELECT facts FROM sales_segments WHERE first_day < $1 AND last_day >= $2 ORDER BY batch_id, seq",
    )
    .bind(&period.end)
    .bind(&before.start)
    .fetch_all(db.pool())
    .await?;

    // Sorted as day numbers, the order the folding compares in.
    let mut bounds: Vec<(u32, String)> = incentives::boundaries(program, period)
        .into_iter()
        .chain(fx.days().cloned())
        .map(|d| (segment::date_number(&d), d))
        .collect();
    bounds.sort();
    bounds.dedup();
    let (numbers, bounds): (Vec<u32>, Vec<String>) = bounds.into_iter().unzip();
    let scope = Scope {
        bounds: numbers,
        days: [
            (
                segment::date_number(&before.start),
                segment::date_number(&before.end),
            ),
            (
                segment::date_number(&period.start),
                segment::date_number(&period.end),
            ),
        ],
        approved_deals: &approved_deals,
        program,
    };
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .clamp(1, blobs.len().max(1));
    let per = blobs.len().div_ceil(threads).max(1);
    let parts: Vec<Result<Folded>> = blocking(|| {
        std::thread::scope(|s| {
            let handles: Vec<_> = blobs
                .chunks(per)
                .map(|chunk| s.spawn(|| fold(chunk, &scope)))
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join().unwrap_or_else(|_| {
                        Err(SalesError::Invalid("folding sales lines failed".into()))
                    })
                })
                .collect()
        })
    });
    let mut folded = Folded::default();
    for part in parts {
        folded.merge(part?)?;
    }
    let mut groups = Vec::with_capacity(folded.groups.len());
    let mut missing: BTreeMap<String, String> = BTreeMap::new();
    for (k, a) in &folded.groups {
        let date = bounds[k.bucket as usize].as_str();
        let Some(rate) = fx.rate(k.currency, date) else {
            missing
                .entry(k.currency.to_string())
                .or_insert(date.to_string());
            continue;
        };
        groups.push(incentives::Group {
            partner_id: k.partner,
            date,
            sku: k.sku,
            deal_id: k.deal,
            seller: k.seller,
            units: a.units,
            revenue: a.revenue.checked_mul(rate).ok_or_else(too_large)?,
            lines: a.lines,
            positive_lines: a.positive,
        });
    }
    if !missing.is_empty() {
        return Err(SalesError::Invalid(format!(
            "no FX rate to {currency} for: {}",
            missing
                .iter()
                .map(|(c, d)| format!("{c} (sales from {d})"))
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    let core = Instant::now();
    let statements = incentives::calculate_groups(program, period, &facts, &groups);
    let core_seconds = core.elapsed().as_secs_f64();
    Ok(Calculation {
        core_seconds,
        program: program.program.id.get_ref().clone(),
        version: 0,
        period: period.label.clone(),
        currency,
        statements,
        lines_read: folded.lines as usize,
        groups: groups.len(),
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// Runs CPU-bound work from async code without stalling other tasks on a
/// multi-threaded runtime (the server): the worker hands its tasks over
/// while `f` runs.
fn blocking<T>(f: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current().map(|h| h.runtime_flavor()) {
        Ok(tokio::runtime::RuntimeFlavor::MultiThread) => tokio::task::block_in_place(f),
        _ => f(),
    }
}

/// What folding needs to know.
struct Scope<'a> {
    /// Day numbers (yyyymmdd) from which something changes, sorted.
    bounds: Vec<u32>,
    /// Days read: the year before and the period, each `[from, to)`.
    days: [(u32, u32); 2],
    approved_deals: &'a HashSet<String>,
    /// Sellers are kept apart only where a SPIF credits them.
    program: &'a Program,
}

#[derive(Hash, PartialEq, Eq)]
struct GroupKey<'a> {
    partner: &'a str,
    bucket: u32,
    sku: &'a str,
    currency: &'a str,
    deal: Option<&'a str>,
    seller: Option<&'a str>,
}

/// Sums of a group, revenue in the line's currency.
#[derive(Default)]
struct Acc {
    units: Decimal,
    revenue: Decimal,
    lines: u64,
    positive: u64,
}

impl Acc {
    fn add(&mut self, o: &Acc) -> Result<()> {
        self.units = self.units.checked_add(o.units).ok_or_else(too_large)?;
        self.revenue = self.revenue.checked_add(o.revenue).ok_or_else(too_large)?;
        self.lines += o.lines;
        self.positive += o.positive;
        Ok(())
    }
}

#[derive(Default)]
struct Folded<'a> {
    groups: HashMap<GroupKey<'a>, Acc, Fast>,
    lines: u64,
}

impl<'a> Folded<'a> {
    fn merge(&mut self, o: Folded<'a>) -> Result<()> {
        self.lines += o.lines;
        for (k, a) in o.groups {
            self.groups.entry(k).or_default().add(&a)?;
        }
        Ok(())
    }
}

/// Folds the lines of some segments (held lines and days outside the scope
/// left out). Each segment is folded by dictionary indexes first, then its
/// few groups are merged by name.
fn fold<'a>(blobs: &'a [Vec<u8>], scope: &Scope) -> Result<Folded<'a>> {
    let mut out = Folded::default();
    // (partner, sku), (currency, bucket), (deal, seller): dictionary indexes.
    let mut local: HashMap<(u64, u64, u64), Acc, foldhash::fast::RandomState> = HashMap::default();
    for blob in blobs {
        let mut f = segment::Facts::read(blob).map_err(stored)?;
        let deals: Vec<Option<&str>> = f
            .deals
            .iter()
            .map(|d| scope.approved_deals.contains(*d).then_some(*d))
            .collect();
        let seller_skus: Vec<bool> = f
            .skus
            .iter()
            .map(|s| incentives::seller_matters(scope.program, s))
            .collect();
        local.clear();
        while let Some(x) = f.next_fact().map_err(stored)? {
            if x.held
                || !scope
                    .days
                    .iter()
                    .any(|(from, to)| (*from..*to).contains(&x.date))
            {
                continue;
            }
            let bucket = scope
                .bounds
                .partition_point(|b| *b <= x.date)
                .saturating_sub(1) as u32;
            let deal = x
                .deal
                .filter(|d| deals[*d as usize].is_some())
                .unwrap_or(u32::MAX);
            let seller = x
                .seller
                .filter(|_| seller_skus[x.sku as usize])
                .unwrap_or(u32::MAX);
            let key = (
                u64::from(x.partner) << 32 | u64::from(x.sku),
                u64::from(x.currency) << 32 | u64::from(bucket),
                u64::from(deal) << 32 | u64::from(seller),
            );
            let a = local.entry(key).or_default();
            // Checked: lines imported by an earlier version had no limits.
            let sums = x
                .quantity
                .checked_mul(x.unit_price)
                .and_then(|r| Some((a.units.checked_add(x.quantity)?, a.revenue.checked_add(r)?)));
            (a.units, a.revenue) = sums.ok_or_else(too_large)?;
            a.lines += 1;
            a.positive += u64::from(x.quantity > Decimal::ZERO);
            out.lines += 1;
        }
        for ((partner_sku, currency_bucket, deal_seller), a) in local.drain() {
            let (partner, sku) = ((partner_sku >> 32) as usize, partner_sku as u32 as usize);
            let (currency, bucket) = ((currency_bucket >> 32) as usize, currency_bucket as u32);
            let (deal, seller) = ((deal_seller >> 32) as u32, deal_seller as u32);
            let key = GroupKey {
                partner: f.partners[partner],
                bucket,
                sku: f.skus[sku],
                currency: f.currencies[currency],
                deal: (deal != u32::MAX).then(|| f.deals[deal as usize]),
                seller: (seller != u32::MAX).then(|| f.sellers[seller as usize]),
            };
            out.groups.entry(key).or_default().add(&a)?;
        }
    }
    Ok(out)
}

/// Bytes the sales lines take in the database: all segment columns, and
/// the `facts` column a calculation reads.
pub async fn stored_bytes(db: &Db) -> Result<(u64, u64)> {
    let (all, facts): (i64, i64) = sqlx::query_as(
        "SELECT CAST(COALESCE(SUM(LENGTH(facts) + LENGTH(ids) + LENGTH(customers)), 0) AS BIGINT), \
         CAST(COALESCE(SUM(LENGTH(facts)), 0) AS BIGINT) FROM sales_segments",
    )
    .fetch_one(db.pool())
    .await?;
    Ok((all as u64, facts as u64))
}

/// Every partner's name by id.
pub async fn partner_names(db: &Db) -> Result<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for r in sqlx::query("SELECT id, name FROM partners")
        .fetch_all(db.pool())
        .await?
    {
        out.insert(r.try_get("id")?, r.try_get("name")?);
    }
    Ok(out)
}

/// A stored statement.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct StoredStatement {
    pub id: String,
    pub program: String,
    pub version: i64,
    pub partner_id: String,
    pub period: String,
    /// `draft` or `approved`.
    pub status: String,
    pub total: String,
    pub funds: String,
    /// Rule, kind, element, seller, basis, band, rate, transactions, amount, explanation.
    #[schema(value_type = Vec<Object>)]
    pub lines: serde_json::Value,
    /// How far each banded rebate's next band is.
    #[schema(value_type = Vec<Object>)]
    pub next_bands: serde_json::Value,
    pub calculated_at: String,
    pub approved_at: Option<String>,
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

/// Opens a dispute on a line of one of the partner's statements.
pub async fn dispute(
    db: &Db,
    actor: &Actor,
    partner_id: &str,
    statement_id: &str,
    rule: &str,
    comment: &str,
) -> Result<Dispute> {
    let comment = comment.trim();
    if comment.is_empty() || comment.chars().count() > 2_000 {
        return Err(SalesError::Invalid(
            "comment: say what is wrong, in at most 2,000 characters".into(),
        ));
    }
    let lines: Option<String> =
        sqlx::query_scalar("SELECT lines FROM statements WHERE id = $1 AND partner_id = $2")
            .bind(statement_id)
            .bind(partner_id)
            .fetch_optional(db.pool())
            .await?;
    let Some(lines) = lines else {
        return Err(StoreError::NotFound("statement").into());
    };
    let lines: Vec<serde_json::Value> = serde_json::from_str(&lines).unwrap_or_default();
    if !lines.iter().any(|l| l["rule"] == rule) {
        return Err(SalesError::Invalid(format!(
            "rule: the statement has no line `{rule}`"
        )));
    }
    let user_id = actor
        .user_id
        .clone()
        .ok_or_else(|| SalesError::Invalid("a dispute needs a user".into()))?;
    let id = uuid::Uuid::now_v7().to_string();
    let mut tx = db.begin_write().await?;
    sqlx::query(
        "INSERT INTO statement_disputes (id, statement_id, rule, comment, user_id, at, status) \
         VALUES ($1, $2, $3, $4, $5, $6, 'open')",
    )
    .bind(&id)
    .bind(statement_id)
    .bind(rule)
    .bind(comment)
    .bind(&user_id)
    .bind(db::now())
    .execute(&mut *tx)
    .await?;
    crate::store::audit::record(
        &mut tx,
        actor,
        crate::store::audit::Change {
            action: "statement.dispute",
            object_type: "statement",
            object_id: statement_id,
            partner_id: Some(partner_id),
            before: None,
            after: Some(serde_json::json!({"rule": rule, "comment": comment})),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(disputes(db, Some(statement_id), None)
        .await?
        .into_iter()
        .find(|d| d.id == id)
        .ok_or(StoreError::NotFound("dispute"))?)
}

const DISPUTES: &str =
    "SELECT d.*, u.email FROM statement_disputes d JOIN users u ON u.id = d.user_id \
                        JOIN statements s ON s.id = d.statement_id";

fn dispute_from_row(r: &sqlx::any::AnyRow) -> Result<Dispute> {
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

/// Disputes of one statement, or every one (`None`), optionally of one
/// status; newest first.
pub async fn disputes(
    db: &Db,
    statement_id: Option<&str>,
    status: Option<&str>,
) -> Result<Vec<Dispute>> {
    let rows = sqlx::query(&format!(
        "{DISPUTES} WHERE ($1 IS NULL OR d.statement_id = $1) AND ($2 IS NULL OR d.status = $2) \
         ORDER BY d.at DESC LIMIT 500"
    ))
    .bind(statement_id)
    .bind(status)
    .fetch_all(db.pool())
    .await?;
    rows.iter().map(dispute_from_row).collect()
}

/// Every dispute on a partner's statements, newest first.
async fn disputes_of_partner(db: &Db, partner_id: &str) -> Result<Vec<Dispute>> {
    let rows = sqlx::query(&format!(
        "{DISPUTES} WHERE s.partner_id = $1 ORDER BY d.at DESC"
    ))
    .bind(partner_id)
    .fetch_all(db.pool())
    .await?;
    rows.iter().map(dispute_from_row).collect()
}

/// Answers a dispute and closes it.
pub async fn resolve_dispute(db: &Db, actor: &Actor, id: &str, answer: &str) -> Result<()> {
    let answer = answer.trim();
    if answer.is_empty() {
        return Err(SalesError::Invalid("answer: required".into()));
    }
    let n = sqlx::query(
        "UPDATE statement_disputes SET status = 'resolved', answer = $1, answered_by = $2, answered_at = $3 \
         WHERE id = $4 AND status = 'open'",
    )
    .bind(answer)
    .bind(actor.user_id.as_deref())
    .bind(db::now())
    .bind(id)
    .execute(db.pool())
    .await?
    .rows_affected();
    if n == 0 {
        return Err(StoreError::NotFound("open dispute").into());
    }
    Ok(())
}

/// Totals of a period for the vendor: by partner (with status), by rule
/// and by program element.
#[derive(Debug, Clone, Serialize)]
pub struct PeriodTotals {
    pub period: String,
    pub by_partner: Vec<PartnerTotal>,
    pub by_rule: Vec<(String, String)>,
    pub by_element: Vec<(String, String)>,
    pub total: String,
    pub drafts: usize,
    pub approved: usize,
}

/// One partner's statement in a period's totals.
#[derive(Debug, Clone, Serialize)]
pub struct PartnerTotal {
    pub partner_id: String,
    pub name: String,
    /// `draft` or `approved`.
    pub status: String,
    pub total: String,
}

/// The periods with statements, newest first, with their totals.
pub async fn totals(db: &Db) -> Result<Vec<PeriodTotals>> {
    let rows = sqlx::query(
        "SELECT s.period, s.status, s.total, s.lines, s.partner_id, p.name FROM statements s JOIN partners p ON p.id = s.partner_id \
         ORDER BY s.period DESC, p.sort_name",
    )
    .fetch_all(db.pool())
    .await?;
    let mut out: Vec<PeriodTotals> = Vec::new();
    let mut rule_sums: BTreeMap<(String, String), Decimal> = BTreeMap::new();
    let mut element_sums: BTreeMap<(String, String), Decimal> = BTreeMap::new();
    let mut period_sums: BTreeMap<String, Decimal> = BTreeMap::new();
    for r in &rows {
        let period: String = r.try_get("period")?;
        let status: String = r.try_get("status")?;
        let total: String = r.try_get("total")?;
        let name: String = r.try_get("name")?;
        let lines: Vec<serde_json::Value> =
            serde_json::from_str(&r.try_get::<String, _>("lines")?).unwrap_or_default();
        if out.last().map(|t| &t.period) != Some(&period) {
            out.push(PeriodTotals {
                period: period.clone(),
                by_partner: Vec::new(),
                by_rule: Vec::new(),
                by_element: Vec::new(),
                total: String::new(),
                drafts: 0,
                approved: 0,
            });
        }
        let t = out.last_mut().ok_or(StoreError::NotFound("period"))?;
        t.drafts += usize::from(status == "draft");
        t.approved += usize::from(status == "approved");
        t.by_partner.push(PartnerTotal {
            partner_id: r.try_get("partner_id")?,
            name,
            status,
            total: total.clone(),
        });
        *period_sums.entry(period.clone()).or_default() +=
            Decimal::from_str(&total).unwrap_or_default();
        for l in lines {
            let amount = l["amount"]
                .as_str()
                .and_then(|a| Decimal::from_str(a).ok())
                .unwrap_or_default();
            let rule = l["rule"].as_str().unwrap_or("").to_string();
            *rule_sums.entry((period.clone(), rule)).or_default() += amount;
            let element = l["element"].as_str().unwrap_or("(none)").to_string();
            *element_sums.entry((period.clone(), element)).or_default() += amount;
        }
    }
    for t in &mut out {
        t.total = period_sums
            .get(&t.period)
            .copied()
            .unwrap_or_default()
            .to_string();
        t.by_rule = rule_sums
            .iter()
            .filter(|((p, _), _)| p == &t.period)
            .map(|((_, r), v)| (r.clone(), v.to_string()))
            .collect();
        t.by_element = element_sums
            .iter()
            .filter(|((p, _), _)| p == &t.period)
            .map(|((_, e), v)| (e.clone(), v.to_string()))
            .collect();
    }
    Ok(out)
}

/// A partner's statements (see [`statements_of`]) with their disputes.
pub async fn statements_with_disputes(
    db: &Db,
    partner_id: &str,
) -> Result<Vec<(StoredStatement, Vec<Dispute>)>> {
    let statements = statements_of(db, partner_id).await?;
    let mut by_statement: HashMap<String, Vec<Dispute>> = HashMap::new();
    for d in disputes_of_partner(db, partner_id).await? {
        by_statement
            .entry(d.statement_id.clone())
            .or_default()
            .push(d);
    }
    Ok(statements
        .into_iter()
        .map(|s| {
            let d = by_statement.remove(&s.id).unwrap_or_default();
            (s, d)
        })
        .collect())
}

/// A partner's statements, newest period first (at most 40).
pub async fn statements_of(db: &Db, partner_id: &str) -> Result<Vec<StoredStatement>> {
    let rows = sqlx::query(
        "SELECT s.*, p.slug AS program_slug FROM statements s JOIN programs p ON p.id = s.program_id \
         WHERE s.partner_id = $1 ORDER BY s.period DESC, s.status, s.calculated_at DESC LIMIT 40",
    )
    .bind(partner_id)
    .fetch_all(db.pool())
    .await?;
    rows.iter()
        .map(|r| {
            let json = |c: &str| -> Result<serde_json::Value> {
                let t: String = r.try_get(c)?;
                serde_json::from_str(&t)
                    .map_err(|e| SalesError::Invalid(format!("stored {c}: {e}")))
            };
            Ok(StoredStatement {
                id: r.try_get("id")?,
                program: r.try_get("program_slug")?,
                version: r.try_get("version")?,
                partner_id: r.try_get("partner_id")?,
                period: r.try_get("period")?,
                status: r.try_get("status")?,
                total: r.try_get("total")?,
                funds: r.try_get("funds")?,
                lines: json("lines")?,
                next_bands: json("next_bands")?,
                calculated_at: r.try_get("calculated_at")?,
                approved_at: db::opt_str(r, "approved_at")?,
            })
        })
        .collect()
}

/// Approves the draft statements of a period (all partners, or one):
/// approved statements never change again. Returns how many.
pub async fn approve(
    db: &Db,
    actor: &Actor,
    program_id: &str,
    period: &str,
    partner_id: Option<&str>,
) -> Result<u64> {
    let mut tx = db.begin_write().await?;
    // A later approval of the same period replaces nothing: drafts of
    // partners already approved for the period are refused.
    let clash: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM statements d WHERE d.program_id = $1 AND d.period = $2 AND d.status = 'draft' \
         AND ($3 IS NULL OR d.partner_id = $3) AND EXISTS (SELECT 1 FROM statements a WHERE a.program_id = d.program_id \
         AND a.period = d.period AND a.partner_id = d.partner_id AND a.status = 'approved')",
    )
    .bind(program_id)
    .bind(period)
    .bind(partner_id)
    .fetch_one(&mut *tx)
    .await?;
    if clash > 0 {
        return Err(SalesError::Invalid(format!(
            "{clash} partner(s) already have an approved statement for {period}: late data goes into the next period's statement as an adjustment"
        )));
    }
    let n = sqlx::query(
        "UPDATE statements SET status = 'approved', approved_at = $1, approved_by = $2 \
         WHERE program_id = $3 AND period = $4 AND status = 'draft' AND ($5 IS NULL OR partner_id = $5)",
    )
    .bind(db::now())
    .bind(actor.user_id.as_deref())
    .bind(program_id)
    .bind(period)
    .bind(partner_id)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    crate::store::audit::record(
        &mut tx,
        actor,
        crate::store::audit::Change {
            action: "statements.approve",
            object_type: "statements",
            object_id: period,
            partner_id,
            before: None,
            after: Some(serde_json::json!({"approved": n})),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(n)
}

/// Approves every draft statement of a period (or only one partner's),
/// whatever its program.
pub async fn approve_period(
    db: &Db,
    actor: &Actor,
    period: &str,
    partner_id: Option<&str>,
) -> Result<u64> {
    let programs: Vec<String> = sqlx::query_scalar(
        "SELECT DISTINCT program_id FROM statements WHERE period = $1 AND status = 'draft' \
         AND ($2 IS NULL OR partner_id = $2)",
    )
    .bind(period)
    .bind(partner_id)
    .fetch_all(db.pool())
    .await?;
    let mut n = 0;
    for program in programs {
        n += approve(db, actor, &program, period, partner_id).await?;
    }
    Ok(n)
}

/// The payout file of a period's approved statements, of every program
/// (one header).
pub async fn payout_csv_period(db: &Db, period: &str) -> Result<String> {
    let programs: Vec<String> = sqlx::query_scalar(
        "SELECT DISTINCT program_id FROM statements WHERE period = $1 AND status = 'approved' ORDER BY program_id",
    )
    .bind(period)
    .fetch_all(db.pool())
    .await?;
    let mut out = String::new();
    for (i, program) in programs.iter().enumerate() {
        let csv = payout_csv(db, program, period).await?;
        let body = if i == 0 {
            csv.as_str()
        } else {
            csv.split_once('\n').map_or("", |(_, rest)| rest)
        };
        out.push_str(body);
    }
    Ok(out)
}

/// The payout file of a period's approved statements: one row per partner
/// and line, cash and funds apart.
pub async fn payout_csv(db: &Db, program_id: &str, period: &str) -> Result<String> {
    let rows = sqlx::query(
        "SELECT s.partner_id, p.slug, p.name, s.total, s.funds, s.lines, s.approved_at FROM statements s \
         JOIN partners p ON p.id = s.partner_id WHERE s.program_id = $1 AND s.period = $2 AND s.status = 'approved' \
         ORDER BY p.slug",
    )
    .bind(program_id)
    .bind(period)
    .fetch_all(db.pool())
    .await?;
    let mut w = csv::Writer::from_writer(Vec::new());
    let io = |e: csv::Error| SalesError::Invalid(format!("cannot write the payout file: {e}"));
    w.write_record([
        "period",
        "partner_slug",
        "partner_name",
        "rule",
        "kind",
        "seller",
        "amount",
        "paid_as",
        "approved_at",
    ])
    .map_err(io)?;
    for r in &rows {
        let lines: Vec<serde_json::Value> =
            serde_json::from_str(&r.try_get::<String, _>("lines")?).unwrap_or_default();
        let slug: String = r.try_get("slug")?;
        let name: String = r.try_get("name")?;
        let approved: String = r.try_get("approved_at")?;
        for l in lines {
            let kind = l["kind"].as_str().unwrap_or("");
            w.write_record([
                period,
                &slug,
                &name,
                l["rule"].as_str().unwrap_or(""),
                kind,
                l["seller"].as_str().unwrap_or(""),
                l["amount"].as_str().unwrap_or("0.00"),
                if kind == "fund-accrual" {
                    "funds"
                } else {
                    "cash"
                },
                &approved,
            ])
            .map_err(io)?;
        }
    }
    let bytes = w
        .into_inner()
        .map_err(|e| SalesError::Invalid(format!("cannot write the payout file: {e}")))?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// Late data: for each approved statement of an earlier period, the
/// difference between a recalculation under `program` and what was approved
/// (less adjustments already made), as adjustment lines for `c`'s period.
/// Approved statements themselves never change.
pub async fn add_adjustments(
    db: &Db,
    program_id: &str,
    program: &Program,
    c: &mut Calculation,
) -> Result<()> {
    let rows = sqlx::query(
        "SELECT partner_id, period, lines FROM statements WHERE program_id = $1 AND status = 'approved' AND period <> $2",
    )
    .bind(program_id)
    .bind(&c.period)
    .fetch_all(db.pool())
    .await?;
    // What was approved per (partner, period), without its own adjustment
    // lines; and what adjustments approved statements already made.
    let mut approved: BTreeMap<(String, String), Decimal> = BTreeMap::new();
    let mut adjusted: BTreeMap<(String, String), Decimal> = BTreeMap::new();
    for r in &rows {
        let pid: String = r.try_get("partner_id")?;
        let period: String = r.try_get("period")?;
        let lines: Vec<serde_json::Value> =
            serde_json::from_str(&r.try_get::<String, _>("lines")?).unwrap_or_default();
        for l in lines {
            let amount = l["amount"]
                .as_str()
                .and_then(|a| Decimal::from_str(a).ok())
                .unwrap_or_default();
            match l["adjusts"].as_str() {
                Some(of) => *adjusted.entry((pid.clone(), of.to_string())).or_default() += amount,
                None => *approved.entry((pid.clone(), period.clone())).or_default() += amount,
            }
        }
    }
    let current = Period::parse(&c.period).map_err(SalesError::Invalid)?;
    let periods: std::collections::BTreeSet<&String> = approved.keys().map(|(_, p)| p).collect();
    for period in periods {
        let q = Period::parse(period).map_err(SalesError::Invalid)?;
        if q.start >= current.start {
            continue;
        }
        let again = calculate(db, program_id, program, &q).await?;
        let mut totals: BTreeMap<&str, Decimal> = BTreeMap::new();
        for st in &again.statements {
            totals.insert(st.partner_id.as_str(), st.total);
        }
        for ((pid, p), was) in approved.iter().filter(|((_, p), _)| p == period) {
            let now = totals.get(pid.as_str()).copied().unwrap_or_default();
            let done = adjusted
                .get(&(pid.clone(), p.clone()))
                .copied()
                .unwrap_or_default();
            let delta = incentives::cents(now - *was - done);
            if delta.is_zero() {
                continue;
            }
            let line = incentives::Line {
                rule: format!("adjustment {p}"),
                kind: "adjustment",
                element: None,
                seller: None,
                basis: incentives::cents(now),
                band: None,
                rate_pct: None,
                transactions: 0,
                amount: delta,
                explanation: format!(
                    "late data for {p}: recalculated {now} against {was} approved{}",
                    if done.is_zero() {
                        String::new()
                    } else {
                        format!(" and {done} adjusted before")
                    }
                ),
                capped: false,
                adjusts: Some(p.clone()),
            };
            match c.statements.iter_mut().find(|s| &s.partner_id == pid) {
                Some(st) => {
                    st.total += line.amount;
                    st.lines.push(line);
                }
                None => c.statements.push(Statement {
                    partner_id: pid.clone(),
                    period: c.period.clone(),
                    total: line.amount,
                    funds: Decimal::ZERO,
                    lines: vec![line],
                    next_bands: Vec::new(),
                }),
            }
        }
    }
    Ok(())
}

/// Stores a calculation's statements as drafts (replacing earlier drafts of
/// the same period; approved statements are never changed, and partners
/// with an approved statement for the period get none).
pub async fn save_drafts(db: &Db, program_id: &str, c: &Calculation) -> Result<usize> {
    let done: HashSet<String> = sqlx::query_scalar(
        "SELECT partner_id FROM statements WHERE program_id = $1 AND period = $2 AND status = 'approved'",
    )
    .bind(program_id)
    .bind(&c.period)
    .fetch_all(db.pool())
    .await?
    .into_iter()
    .collect();
    let mut tx = db.begin_write().await?;
    sqlx::query(
        "DELETE FROM statements WHERE program_id = $1 AND period = $2 AND status = 'draft'",
    )
    .bind(program_id)
    .bind(&c.period)
    .execute(&mut *tx)
    .await?;
    let mut saved = 0;
    for s in c
        .statements
        .iter()
        .filter(|s| !done.contains(&s.partner_id))
    {
        saved += 1;
        sqlx::query(
            "INSERT INTO statements (id, program_id, version, partner_id, period, status, total, funds, lines, next_bands, calculated_at) \
             VALUES ($1, $2, $3, $4, $5, 'draft', $6, $7, $8, $9, $10)",
        )
        .bind(uuid::Uuid::now_v7().to_string())
        .bind(program_id)
        .bind(c.version)
        .bind(&s.partner_id)
        .bind(&c.period)
        .bind(s.total.to_string())
        .bind(s.funds.to_string())
        .bind(serde_json::to_string(&s.lines).unwrap_or_else(|_| "[]".into()))
        .bind(serde_json::to_string(&s.next_bands).unwrap_or_else(|_| "[]".into()))
        .bind(db::now())
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(saved)
}

#[cfg(test)]
mod tests {
    use super::IdSet;

    #[test]
    fn ids_are_found_exactly_even_when_their_hashes_collide() {
        let mut set = IdSet::default();
        assert_eq!(set.insert("A", 2), None);
        assert_eq!(set.insert("A", 9), Some(2), "a repeat gives the first tag");
        // Make B's hash point at A, as a collision would.
        let hb = set.hash(b"B");
        set.by_hash.insert(hb, 0);
        assert_eq!(set.tag("B"), None, "B is not A");
        assert_eq!(set.insert("B", 3), None);
        assert_eq!(set.insert("B", 4), Some(3));
        assert_eq!(
            (set.tag("A"), set.tag("B"), set.tag("C")),
            (Some(2), Some(3), None)
        );
    }
}
