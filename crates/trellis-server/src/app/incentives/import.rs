//! Sales-out import: a CSV file streamed in, every line checked first (all
//! or nothing per file, each problem named by its line), lines whose
//! transaction id was imported before skipped, the rest packed into
//! segments and written as one batch in one transaction; and rollback of a
//! batch.

use super::super::audit::{self, Subject};
use super::super::{programs, App, AppError, AppResult};
use super::{blocking, UnknownSku};
use crate::store::incentives::{self as store, NewBatch};
use crate::store::Actor;
use serde::Serialize;
use std::collections::{HashMap, HashSet};
use std::io::Read;
use std::time::Instant;
use trellis_core::csvfile::{check_headers, header_name, ColumnMap, Rejected};
use trellis_core::incentives::lines::{Fast, IdSet, Known, COLUMNS, REQUIRED};
use trellis_core::segment;

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

/// Every transaction id imported so far.
async fn imported_ids(app: &App) -> AppResult<IdSet> {
    let rows = store::segment_ids(&app.db).await?;
    blocking(|| {
        let mut set = IdSet::default();
        for (lines, bytes) in &rows {
            let ids = segment::read_ids(bytes, *lines as u64)
                .map_err(|e| AppError::internal(format!("stored {e}")))?;
            for id in ids {
                set.insert(id, 0);
            }
        }
        Ok(set)
    })
}

/// Reads the file's bytes, counting them and hashing them as they pass.
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

/// What the checking pass produced: the segments to write and the counts.
#[derive(Default)]
struct Packed {
    segments: Vec<(segment::Segment, u64)>,
    lines: u64,
    imported: u64,
    duplicates: u64,
    held: u64,
    errors: Vec<String>,
    total_errors: usize,
}

/// Imports a sales-out CSV, streaming it. Every line is checked first; with
/// any bad line nothing is imported and each problem names its line. Lines
/// whose transaction id was imported before are skipped, so importing the
/// same file again adds nothing. The lines are packed into segments as they
/// are read and the batch is written in one transaction: a crash or a kill
/// leaves no part of it. `progress(lines, bytes)` is called every 100,000
/// lines while reading.
pub async fn import(
    app: &App,
    actor: &Actor,
    source: &str,
    input: impl Read + Send,
    unknown_sku: UnknownSku,
    progress: &mut (dyn FnMut(u64, u64) + Send),
) -> AppResult<ImportSummary> {
    let columns = ColumnMap::default();
    import_mapped(app, actor, source, input, unknown_sku, &columns, progress).await
}

/// [`import`] of a file whose columns are named otherwise: `columns` maps
/// them to Trellis's (`--map txn_id=transaction_id`).
pub async fn import_mapped(
    app: &App,
    actor: &Actor,
    source: &str,
    input: impl Read + Send,
    unknown_sku: UnknownSku,
    columns: &ColumnMap,
    progress: &mut (dyn FnMut(u64, u64) + Send),
) -> AppResult<ImportSummary> {
    let started = Instant::now();
    let (skus, program_currencies) = programs::catalogue(&app.db).await?;
    let skus: HashSet<String, Fast> = skus.into_iter().collect();
    let partner_ids: HashMap<String, String, Fast> =
        store::partner_keys(&app.db).await?.into_iter().collect();
    let currencies: HashSet<String, Fast> = program_currencies
        .into_iter()
        .chain(store::fx_currencies(&app.db).await?)
        .collect();
    let batches = store::imported_batches(&app.db).await?;
    let before = imported_ids(app).await?;

    let mut hasher = <sha2::Sha256 as sha2::Digest>::new();
    let counting = CountingReader {
        inner: input,
        bytes: 0,
        hasher: &mut hasher,
    };
    // Fields are trimmed where they are read (the reader's own trimming
    // copies every record).
    let mut reader = csv::ReaderBuilder::new()
        .flexible(false)
        .from_reader(counting);
    let mut headers: Vec<String> = reader
        .headers()
        .map_err(|e| Rejected(vec![format!("{source}:1: {e}")]))?
        .iter()
        .map(header_name)
        .collect();
    columns.apply(source, &mut headers)?;
    let idx = check_headers(source, &headers, COLUMNS, REQUIRED, |_| false)?;
    let known = Known {
        partner_ids: &partner_ids,
        skus: &skus,
        currencies: &currencies,
        unknown_sku,
    };
    let mut packed = Packed::default();
    let mut seen = IdSet::default();
    let mut writer = segment::Writer::new();
    let mut writer_held = 0u64;
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
                        packed.errors.push(e);
                        packed.total_errors += 1;
                        continue;
                    }
                };
                for record in &buf[..n] {
                    packed.lines += 1;
                    let line = record
                        .position()
                        .map(|p| p.line())
                        .unwrap_or(packed.lines + 1);
                    if packed.lines.is_multiple_of(100_000) {
                        progress(packed.lines, bytes);
                    }
                    let get = |i: usize| idx[i].and_then(|c| record.get(c)).unwrap_or("").trim();
                    let mut bad: Vec<String> = Vec::new();
                    let tid = get(0);
                    if tid.is_empty() {
                        bad.push("transaction_id is required".into());
                    } else if let Some(first) = seen.insert(tid, line) {
                        bad.push(format!("transaction_id {tid} is already on line {first}"));
                    }
                    let checked = known.check(get, line);
                    if let Err(more) = &checked {
                        bad.extend_from_slice(more);
                    }
                    if !bad.is_empty() {
                        packed.total_errors += bad.len();
                        if packed.errors.len() < 200 {
                            packed
                                .errors
                                .push(format!("{source}:{line}: {}", bad.join("; ")));
                        }
                        continue;
                    }
                    let Ok(sale) = checked else { continue };
                    if !packed.errors.is_empty() {
                        // The file is rejected: only keep checking.
                        continue;
                    }
                    if before.tag(tid).is_some() {
                        packed.duplicates += 1;
                        continue;
                    }
                    writer.push(&sale);
                    packed.imported += 1;
                    writer_held += u64::from(sale.held);
                    if writer.len() == segment::SEGMENT_LINES {
                        packed.held += writer_held;
                        packed
                            .segments
                            .push((writer.finish(), std::mem::take(&mut writer_held)));
                    }
                }
                let _ = recycle.send(buf);
            }
            reading.join()
        })
    });
    let bytes = read.map_err(|_| AppError::internal("the thread reading the file failed"))?;
    if !writer.is_empty() {
        packed.held += writer_held;
        packed.segments.push((writer.finish(), writer_held));
    }
    drop(seen);
    drop(before);
    progress(packed.lines, bytes);
    if !packed.errors.is_empty() {
        if packed.total_errors > packed.errors.len() {
            let more = packed.total_errors - packed.errors.len();
            packed.errors.push(format!("… and {more} more problem(s)"));
        }
        return Err(Rejected(packed.errors).into());
    }
    let sha = hex::encode(sha2::Digest::finalize(hasher));
    let parse_seconds = started.elapsed().as_secs_f64();

    let started = Instant::now();
    let batch_id = uuid::Uuid::now_v7().to_string();
    let mut tx = app.db.begin_write().await?;
    store::lock_batches(&app.db, &mut tx).await?;
    if store::imported_batches_in(&mut tx).await? != batches {
        return Err(AppError::Conflict {
            field: "file",
            message: "another sales import or rollback finished while this file was read: import it again (lines imported since are then skipped)".into(),
        });
    }
    store::insert_batch(
        &mut tx,
        &NewBatch {
            id: &batch_id,
            created_by: &actor.email,
            source,
            sha256: &sha,
            lines: packed.lines,
            imported: packed.imported,
            duplicates: packed.duplicates,
            held: packed.held,
        },
    )
    .await?;
    for (seq, (s, held)) in packed.segments.iter().enumerate() {
        store::insert_segment(&mut tx, &batch_id, seq, s, *held).await?;
    }
    audit::record(
        &mut tx,
        actor,
        "sales.import",
        Subject::new("sales-batch", &batch_id),
        None,
        Some(serde_json::json!({"source": source, "lines": packed.lines, "imported": packed.imported, "duplicates": packed.duplicates, "held": packed.held, "sha256": sha})),
    )
    .await?;
    crash_point("sales-import-commit");
    tx.commit().await?;
    Ok(ImportSummary {
        batch_id: Some(batch_id),
        lines: packed.lines,
        imported: packed.imported,
        duplicates: packed.duplicates,
        held: packed.held,
        bytes,
        parse_seconds,
        persist_seconds: started.elapsed().as_secs_f64(),
    })
}

/// Where the crash test makes the process die (every segment written,
/// nothing committed): with `TRELLIS_CRASH=<point>`, only in builds with the
/// `crash-hooks` feature (the test suite's).
fn crash_point(point: &str) {
    #[cfg(feature = "crash-hooks")]
    if std::env::var_os("TRELLIS_CRASH").is_some_and(|v| v == point) {
        std::process::abort();
    }
    #[cfg(not(feature = "crash-hooks"))]
    let _ = point;
}

/// Removes a batch's lines (vendor admins; approved statements keep what
/// they approved, and the next calculation shows the difference as an
/// adjustment). Returns how many lines.
pub async fn rollback(app: &App, actor: &Actor, batch_id: &str) -> AppResult<u64> {
    let mut tx = app.db.begin_write().await?;
    store::lock_batches(&app.db, &mut tx).await?;
    match store::batch_status(&mut tx, batch_id).await?.as_deref() {
        None => return Err(AppError::NotFound("sales batch")),
        Some("rolled-back") => {
            return Err(AppError::Conflict {
                field: "batch",
                message: format!("batch {batch_id} is already rolled back"),
            })
        }
        _ => {}
    }
    let n = store::remove_batch_lines(&mut tx, batch_id).await?;
    audit::record(
        &mut tx,
        actor,
        "sales.rollback",
        Subject::new("sales-batch", batch_id),
        None,
        Some(serde_json::json!({"removed": n})),
    )
    .await?;
    tx.commit().await?;
    Ok(n)
}
