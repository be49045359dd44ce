//! The in-memory company matcher of this instance: built at start-up from the
//! vendor's accounts and the registrations that hold a claim, and kept
//! coherent with every write — this instance's and other instances' on the
//! same database — through the `match_changes` feed. Each change names a
//! record; catching up re-reads that record, so the order in which changes
//! are seen does not matter. PostgreSQL sequence values can commit out of
//! order, so numbers skipped over are re-checked for a minute.

use crate::db::Db;
use crate::store::StoreResult;
use sqlx::{Any, Row};
use std::collections::BTreeMap;
use std::sync::RwLock;
use std::time::{Duration, Instant};
use tokio::sync::Mutex;
use trellis_core::matching::{Candidate, Customer, Index, Kind};

/// Index ids: `a:<account id>` and `d:<deal id>`.
pub fn account_key(id: &str) -> String {
    format!("a:{id}")
}

pub fn deal_key(id: &str) -> String {
    format!("d:{id}")
}

struct Feed {
    /// Highest sequence number applied.
    seen: i64,
    /// Numbers below `seen` not seen yet (maybe still committing), with when
    /// they were first missed.
    gaps: BTreeMap<i64, Instant>,
}

pub struct Matcher {
    index: RwLock<Index>,
    /// `None` until the index is built.
    feed: Mutex<Option<Feed>>,
}

/// Records a change to `record` (an index key) inside the writer's transaction.
pub async fn changed(tx: &mut sqlx::Transaction<'static, Any>, record: &str) -> StoreResult<()> {
    sqlx::query("INSERT INTO match_changes (at, record_id, op) VALUES ($1, $2, 'upsert')")
        .bind(crate::db::now())
        .bind(record)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

impl Matcher {
    /// A matcher that builds its index from the database on first use (the
    /// command line, which often needs none).
    pub fn lazy() -> Matcher {
        Matcher {
            index: RwLock::new(Index::default()),
            feed: Mutex::new(None),
        }
    }

    /// Builds the index from the database now (the server, at start-up).
    pub async fn load(db: &Db) -> StoreResult<Matcher> {
        let m = Matcher::lazy();
        m.sync(db).await?;
        Ok(m)
    }

    /// Reads every account and every registration that holds a claim.
    async fn build(&self, db: &Db) -> StoreResult<Feed> {
        let started = Instant::now();
        let seen: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(seq), 0) FROM match_changes")
            .fetch_one(db.pool())
            .await?;
        let mut index = Index::default();
        for r in sqlx::query("SELECT id, name, domain, country, city FROM accounts")
            .fetch_all(db.pool())
            .await?
        {
            let id: String = r.try_get("id")?;
            add_row(&mut index, &account_key(&id), Kind::Account, &r)?;
        }
        for r in sqlx::query(
            "SELECT id, customer_name AS name, customer_domain AS domain, customer_country AS country, \
             customer_city AS city FROM deals WHERE status IN ('submitted','approved','more-info')",
        )
        .fetch_all(db.pool())
        .await?
        {
            let id: String = r.try_get("id")?;
            add_row(&mut index, &deal_key(&id), Kind::Registration, &r)?;
        }
        tracing::info!(
            records = index.len(),
            ms = started.elapsed().as_millis() as u64,
            "matcher index built"
        );
        *self.index.write().map_err(|_| {
            crate::store::StoreError::Internal("matcher index lock poisoned".into())
        })? = index;
        Ok(Feed {
            seen,
            gaps: BTreeMap::new(),
        })
    }

    pub fn len(&self) -> usize {
        self.index.read().map(|i| i.len()).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Applies every change committed since the last call (building the
    /// index first if it was never built).
    pub async fn sync(&self, db: &Db) -> StoreResult<()> {
        let mut guard = self.feed.lock().await;
        if guard.is_none() {
            *guard = Some(self.build(db).await?);
            return Ok(());
        }
        let Some(feed) = guard.as_mut() else {
            return Ok(());
        };
        let now = Instant::now();
        feed.gaps
            .retain(|_, first| now.duration_since(*first) < Duration::from_secs(60));
        let mut q = String::from("SELECT seq, record_id FROM match_changes WHERE seq > $1");
        let gaps: Vec<i64> = feed.gaps.keys().copied().collect();
        if !gaps.is_empty() {
            let list: Vec<String> = gaps.iter().map(i64::to_string).collect();
            q.push_str(&format!(" OR seq IN ({})", list.join(",")));
        }
        q.push_str(" ORDER BY seq");
        let rows = sqlx::query(&q).bind(feed.seen).fetch_all(db.pool()).await?;
        if rows.is_empty() {
            return Ok(());
        }
        // The feed moves on only once every record is re-read: if a read
        // fails (the database goes away), the next call reads these changes
        // again instead of skipping them for good.
        let mut seen = feed.seen;
        let mut gaps = feed.gaps.clone();
        let mut records = Vec::with_capacity(rows.len());
        for r in &rows {
            let seq: i64 = r.try_get("seq")?;
            let record: String = r.try_get("record_id")?;
            if seq > seen {
                for missing in seen + 1..seq {
                    gaps.entry(missing).or_insert(now);
                }
                seen = seq;
            }
            gaps.remove(&seq);
            records.push(record);
        }
        records.sort();
        records.dedup();
        for key in records {
            self.refresh(db, &key).await?;
        }
        feed.seen = seen;
        feed.gaps = gaps;
        Ok(())
    }

    /// Catches up after this instance committed a change. The change is in
    /// the database already, so a failure is logged rather than returned
    /// (the caller must not report a committed write as failed); the next
    /// search catches up.
    pub async fn sync_after_commit(&self, db: &Db) {
        if let Err(e) = self.sync(db).await {
            tracing::warn!(error = %e, "matcher catch-up after a commit failed; the next search retries");
        }
    }

    /// Re-reads one record and puts it in the index, or takes it out.
    async fn refresh(&self, db: &Db, key: &str) -> StoreResult<()> {
        let row = if let Some(id) = key.strip_prefix("a:") {
            sqlx::query("SELECT name, domain, country, city FROM accounts WHERE id = $1")
                .bind(id)
                .fetch_optional(db.pool())
                .await?
                .map(|r| (Kind::Account, r))
        } else if let Some(id) = key.strip_prefix("d:") {
            sqlx::query(
                "SELECT customer_name AS name, customer_domain AS domain, customer_country AS country, \
                 customer_city AS city FROM deals WHERE id = $1 AND status IN ('submitted','approved','more-info')",
            )
            .bind(id)
            .fetch_optional(db.pool())
            .await?
            .map(|r| (Kind::Registration, r))
        } else {
            None
        };
        let mut index = self.index.write().map_err(|_| {
            crate::store::StoreError::Internal("matcher index lock poisoned".into())
        })?;
        match row {
            Some((kind, r)) => add_row(&mut index, key, kind, &r)?,
            None => {
                index.remove(key);
            }
        }
        Ok(())
    }

    /// The best candidates for a customer (after catching up).
    pub async fn search(
        &self,
        db: &Db,
        customer: &Customer<'_>,
        limit: usize,
        min_score: f64,
    ) -> StoreResult<Vec<Candidate>> {
        self.sync(db).await?;
        let index = self.index.read().map_err(|_| {
            crate::store::StoreError::Internal("matcher index lock poisoned".into())
        })?;
        Ok(index.search(customer, limit, min_score))
    }
}

fn add_row(index: &mut Index, key: &str, kind: Kind, r: &sqlx::any::AnyRow) -> StoreResult<()> {
    let name: String = r.try_get("name")?;
    let domain = crate::db::opt_str(r, "domain")?;
    let country: String = r.try_get("country")?;
    let city = crate::db::opt_str(r, "city")?;
    index.upsert(
        key,
        kind,
        &Customer {
            name: &name,
            domain: domain.as_deref(),
            country: &country,
            city: city.as_deref(),
        },
    );
    Ok(())
}
