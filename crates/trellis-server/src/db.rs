//! The database handle: one `sqlx::AnyPool` serving SQLite and PostgreSQL with the
//! same SQL. Queries use `$1`-style placeholders, which both backends accept.
//! Timestamps are stored as fixed-width RFC 3339 UTC text so they compare the same.

use chrono::{DateTime, SecondsFormat, Utc};
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyPool, Executor, Row};
use std::time::Duration;

/// Which database a URL points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn from_url(url: &str) -> Result<Self, DbError> {
        if url.starts_with("sqlite:") {
            Ok(Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Backend::Postgres)
        } else {
            Err(DbError::UnsupportedUrl)
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("unsupported database URL: use sqlite://PATH or postgres://USER@HOST/DB")]
    UnsupportedUrl,
    #[error("cannot connect to the {backend} database: {source}")]
    Connect {
        backend: &'static str,
        #[source]
        source: sqlx::Error,
    },
    #[error("migration {version} ({name}) failed: {source}")]
    Migration {
        version: i64,
        name: &'static str,
        #[source]
        source: sqlx::Error,
    },
    #[error("migration {version} ({name}) was changed after it was applied (checksum differs)")]
    MigrationChanged { version: i64, name: &'static str },
    #[error(transparent)]
    Sqlx(#[from] sqlx::Error),
}

struct Migration {
    version: i64,
    name: &'static str,
    sqlite: &'static str,
    postgres: &'static str,
    /// What the SQL alone cannot do, run in the same transaction.
    step: Option<Step>,
}

impl Migration {
    /// The same SQL on both backends (`migrations/portable/`).
    const fn portable(version: i64, name: &'static str, sql: &'static str) -> Migration {
        Migration::per_backend(version, name, sql, sql)
    }

    const fn per_backend(
        version: i64,
        name: &'static str,
        sqlite: &'static str,
        postgres: &'static str,
    ) -> Migration {
        Migration {
            version,
            name,
            sqlite,
            postgres,
            step: None,
        }
    }

    const fn with_step(self, step: Step) -> Migration {
        Migration {
            step: Some(step),
            ..self
        }
    }
}

/// The Rust part of a migration.
#[derive(Clone, Copy)]
enum Step {
    /// Fills `search_name` of accounts and deals (Unicode lower case).
    SearchNames,
}

/// Every migration, in order. Never edit one that has landed: add a new one.
/// Where the SQL is the same for both backends it is one file in
/// `migrations/portable/`; otherwise one per backend.
const MIGRATIONS: &[Migration] = &[
    Migration::per_backend(
        1,
        "foundation",
        include_str!("../migrations/sqlite/0001_foundation.sql"),
        include_str!("../migrations/postgres/0001_foundation.sql"),
    ),
    Migration::per_backend(
        2,
        "programs",
        include_str!("../migrations/sqlite/0002_programs.sql"),
        include_str!("../migrations/postgres/0002_programs.sql"),
    ),
    Migration::per_backend(
        3,
        "deals",
        include_str!("../migrations/sqlite/0003_deals.sql"),
        include_str!("../migrations/postgres/0003_deals.sql"),
    ),
    Migration::portable(
        4,
        "mail",
        include_str!("../migrations/portable/0004_mail.sql"),
    ),
    Migration::portable(
        5,
        "recruit",
        include_str!("../migrations/portable/0005_recruit.sql"),
    ),
    Migration::portable(
        6,
        "incentives",
        include_str!("../migrations/portable/0006_incentives.sql"),
    ),
    Migration::per_backend(
        7,
        "sales segments",
        include_str!("../migrations/sqlite/0007_sales_segments.sql"),
        include_str!("../migrations/postgres/0007_sales_segments.sql"),
    ),
    Migration::portable(
        8,
        "drop sales lines",
        include_str!("../migrations/portable/0008_drop_sales_lines.sql"),
    ),
    Migration::portable(
        9,
        "search names",
        include_str!("../migrations/portable/0009_search_names.sql"),
    )
    .with_step(Step::SearchNames),
    Migration::portable(
        10,
        "token scopes",
        include_str!("../migrations/portable/0010_token_scopes.sql"),
    ),
];

/// A shared handle to the database.
#[derive(Clone)]
pub struct Db {
    pool: AnyPool,
    /// SQLite: one connection that every write transaction takes in turn, so
    /// writers queue in the pool (woken the moment it is free) instead of
    /// sleeping in SQLite's busy handler, whose back-off made the slowest
    /// writes wait most of a second under a few concurrent clients.
    writer: Option<AnyPool>,
    backend: Backend,
}

impl Db {
    /// Connects (creating the SQLite file if needed) and applies pragmas.
    pub async fn connect(url: &str) -> Result<Db, DbError> {
        sqlx::any::install_default_drivers();
        let backend = Backend::from_url(url)?;
        let url = match backend {
            Backend::Sqlite if !url.contains("mode=") => {
                let sep = if url.contains('?') { '&' } else { '?' };
                format!("{url}{sep}mode=rwc")
            }
            _ => url.to_string(),
        };
        let options = |connections: u32| {
            let opts = AnyPoolOptions::new()
                .acquire_timeout(Duration::from_secs(10))
                .max_connections(connections);
            match backend {
                Backend::Sqlite => opts.after_connect(|conn, _| {
                    Box::pin(async move {
                        conn.execute(
                            "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                             PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000;",
                        )
                        .await?;
                        Ok(())
                    })
                }),
                Backend::Postgres => opts,
            }
        };
        let connect_err = |source| DbError::Connect {
            backend: backend.name(),
            source,
        };
        let pool = options(match backend {
            Backend::Sqlite => 8,
            Backend::Postgres => 16,
        })
        .connect(&url)
        .await
        .map_err(connect_err)?;
        // An in-memory database is private to its connection: no second pool.
        let writer = match backend {
            Backend::Sqlite if !url.contains("mode=memory") => {
                Some(options(1).connect(&url).await.map_err(connect_err)?)
            }
            _ => None,
        };
        Ok(Db {
            pool,
            writer,
            backend,
        })
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Starts a transaction that will write. On SQLite it takes the write lock
    /// up front (`BEGIN IMMEDIATE`) on the one writer connection, so writers
    /// queue for it in turn and never fail when a read lock is upgraded.
    pub async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Any>, sqlx::Error> {
        match self.backend {
            Backend::Sqlite => {
                self.writer
                    .as_ref()
                    .unwrap_or(&self.pool)
                    .begin_with("BEGIN IMMEDIATE")
                    .await
            }
            Backend::Postgres => self.pool.begin().await,
        }
    }

    /// Applies every migration not yet applied, each in its own transaction.
    /// Returns how many were applied.
    pub async fn migrate(&self) -> Result<usize, DbError> {
        self.pool
            .execute(
                "CREATE TABLE IF NOT EXISTS trellis_migrations (\
                   version BIGINT PRIMARY KEY, name TEXT NOT NULL, \
                   checksum TEXT NOT NULL, applied_at TEXT NOT NULL)",
            )
            .await?;
        let mut applied = 0;
        for m in MIGRATIONS {
            let sql = match self.backend {
                Backend::Sqlite => m.sqlite,
                Backend::Postgres => m.postgres,
            };
            let checksum = crate::auth::sha256_hex(sql.as_bytes());
            let mut tx = self.begin_write().await?;
            let existing: Option<String> =
                sqlx::query_scalar("SELECT checksum FROM trellis_migrations WHERE version = $1")
                    .bind(m.version)
                    .fetch_optional(&mut *tx)
                    .await?;
            match existing {
                Some(c) if c == checksum => continue,
                Some(_) => {
                    return Err(DbError::MigrationChanged {
                        version: m.version,
                        name: m.name,
                    })
                }
                None => {}
            }
            sqlx::raw_sql(sql)
                .execute(&mut *tx)
                .await
                .map_err(|source| DbError::Migration {
                    version: m.version,
                    name: m.name,
                    source,
                })?;
            if let Some(step) = m.step {
                run_step(step, &mut tx)
                    .await
                    .map_err(|source| DbError::Migration {
                        version: m.version,
                        name: m.name,
                        source,
                    })?;
            }
            sqlx::query(
                "INSERT INTO trellis_migrations (version, name, checksum, applied_at) \
                 VALUES ($1, $2, $3, $4)",
            )
            .bind(m.version)
            .bind(m.name)
            .bind(&checksum)
            .bind(now())
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            tracing::info!(version = m.version, name = m.name, "applied migration");
            applied += 1;
        }
        Ok(applied)
    }

    /// True when a trivial query succeeds (readiness probe).
    pub async fn ping(&self) -> bool {
        sqlx::query("SELECT 1").execute(&self.pool).await.is_ok()
    }

    pub async fn close(&self) {
        if let Some(w) = &self.writer {
            w.close().await;
        }
        self.pool.close().await;
    }
}

async fn run_step(
    step: Step,
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
) -> Result<(), sqlx::Error> {
    match step {
        Step::SearchNames => {
            for (table, column) in [("accounts", "name"), ("deals", "customer_name")] {
                let rows: Vec<(String, String)> =
                    sqlx::query_as(&format!("SELECT id, {column} FROM {table}"))
                        .fetch_all(&mut **tx)
                        .await?;
                for (id, name) in rows {
                    sqlx::query(&format!(
                        "UPDATE {table} SET search_name = $1 WHERE id = $2"
                    ))
                    .bind(trellis_core::validate::search_key(&name))
                    .bind(&id)
                    .execute(&mut **tx)
                    .await?;
                }
            }
        }
    }
    Ok(())
}

/// The current time in the stored format.
pub fn now() -> String {
    fmt_time(Utc::now())
}

/// Formats a timestamp the way every table stores it: fixed-width, sortable.
pub fn fmt_time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// Reads an optional text column.
pub fn opt_str(row: &AnyRow, col: &str) -> Result<Option<String>, sqlx::Error> {
    row.try_get::<Option<String>, _>(col)
}

/// The unique constraint a write violated, as each backend names it:
/// PostgreSQL the constraint or index (`partners_slug_key`), SQLite its
/// columns (`partners.slug`).
pub fn violated_unique(e: &sqlx::Error) -> Option<String> {
    let sqlx::Error::Database(d) = e else {
        return None;
    };
    if let Some(cols) = d.message().strip_prefix("UNIQUE constraint failed: ") {
        return Some(cols.to_string());
    }
    if d.kind() == sqlx::error::ErrorKind::UniqueViolation || d.code().as_deref() == Some("23505") {
        return Some(d.constraint().unwrap_or_default().to_string());
    }
    None
}

/// Escapes `%`, `_` and `\` for a `LIKE ... ESCAPE '\'` pattern.
pub fn like_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}
