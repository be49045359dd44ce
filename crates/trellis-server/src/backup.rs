//! Backups of the whole database, taken while Trellis serves, and restoring
//! one. SQLite: `VACUUM INTO` copies one consistent snapshot (a read
//! transaction, so writers carry on) into a new file, checked with
//! `PRAGMA integrity_check` before it takes its final name. PostgreSQL:
//! `pg_dump --format=custom` (one consistent snapshot too), checked by
//! `pg_restore --list`. Restoring checks the backup first, writes nothing
//! over existing data unless asked to, and then applies any newer
//! migrations. A backup or restore that fails leaves no half-written file.

use crate::db::{Backend, Db, DbError};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// The tables whose row counts a backup reports (what an operator checks).
const COUNTED: &[&str] = &[
    "partners",
    "users",
    "deals",
    "sales_batches",
    "statements",
    "audit_log",
];

#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("{0}")]
    Refused(String),
    #[error("{0}")]
    Db(#[from] DbError),
    #[error("{0}")]
    Sql(#[from] sqlx::Error),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

fn refused(msg: impl Into<String>) -> BackupError {
    BackupError::Refused(msg.into())
}

/// What a backup or restore did.
#[derive(Debug)]
pub struct Report {
    pub path: PathBuf,
    pub bytes: u64,
    pub seconds: f64,
    /// Rows of the main tables in the backup (or the restored database).
    pub counts: Vec<(&'static str, i64)>,
    /// How it was done, e.g. `VACUUM INTO` or `pg_dump 15.2`.
    pub method: String,
}

/// The file of a `sqlite:` URL (`sqlite://PATH` or `sqlite:PATH`, options after `?`).
pub fn sqlite_path(url: &str) -> Result<PathBuf, BackupError> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .ok_or_else(|| refused("not a sqlite: URL"))?;
    let path = rest.split('?').next().unwrap_or("");
    if path.is_empty() || path == ":memory:" {
        return Err(refused("an in-memory database has no file to back up"));
    }
    Ok(PathBuf::from(path))
}

fn partial(path: &Path) -> PathBuf {
    let mut p = path.as_os_str().to_owned();
    p.push(".partial");
    PathBuf::from(p)
}

/// Renames the finished file into place and makes the rename durable.
fn publish(tmp: &Path, dest: &Path) -> std::io::Result<()> {
    std::fs::File::open(tmp)?.sync_all()?;
    std::fs::rename(tmp, dest)?;
    if let Some(dir) = dest.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}

async fn counts(db: &Db) -> Result<Vec<(&'static str, i64)>, BackupError> {
    let mut out = Vec::new();
    for t in COUNTED {
        let n: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {t}"))
            .fetch_one(db.pool())
            .await?;
        out.push((*t, n));
    }
    Ok(out)
}

/// Opens a SQLite file read-only (as it is: no journal mode is set) and
/// checks it is whole and Trellis's; returns its row counts.
async fn check_sqlite_file(path: &Path) -> Result<Vec<(&'static str, i64)>, BackupError> {
    use sqlx::Connection;
    let not_ours =
        |why: String| refused(format!("{} is not a Trellis backup: {why}", path.display()));
    let opts = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(path)
        .read_only(true);
    let mut conn = sqlx::sqlite::SqliteConnection::connect_with(&opts)
        .await
        .map_err(|e| not_ours(e.to_string()))?;
    let verdict: String = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_one(&mut conn)
        .await
        .map_err(|e| not_ours(e.to_string()))?;
    if verdict != "ok" {
        return Err(refused(format!(
            "{} is damaged (integrity check: {verdict})",
            path.display()
        )));
    }
    let mut out = Vec::new();
    for t in COUNTED {
        let n: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {t}"))
            .fetch_one(&mut conn)
            .await
            .map_err(|_| not_ours(format!("it has no {t} table")))?;
        out.push((*t, n));
    }
    let _ = conn.close().await;
    Ok(out)
}

/// Runs a PostgreSQL client program, naming it when it is missing.
async fn run(program: &str, args: &[&str]) -> Result<String, BackupError> {
    let (name, argv): (String, Vec<String>) =
        (program.into(), args.iter().map(|a| a.to_string()).collect());
    let out = tokio::task::spawn_blocking(move || std::process::Command::new(name).args(argv).output())
        .await
        .map_err(|e| refused(format!("{program} did not finish: {e}")))?
        .map_err(|e| {
            refused(format!(
                "cannot run {program} ({e}); install the PostgreSQL client programs of the server's version (Debian: postgresql-client)"
            ))
        })?;
    if !out.status.success() {
        return Err(refused(format!(
            "{program} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

async fn version(program: &str) -> String {
    run(program, &["--version"])
        .await
        .map(|v| v.trim().to_string())
        .unwrap_or_else(|_| program.to_string())
}

/// Takes a backup of the database at `url` (served or not) into `dest`,
/// which must not exist yet.
pub async fn backup(db: &Db, url: &str, dest: &Path) -> Result<Report, BackupError> {
    if dest.exists() {
        return Err(refused(format!(
            "{} already exists; choose a new file (a backup never overwrites one)",
            dest.display()
        )));
    }
    let tmp = partial(dest);
    let _ = std::fs::remove_file(&tmp);
    let started = Instant::now();
    let result = async {
        let (method, counts) = match db.backend() {
            Backend::Sqlite => {
                let target = tmp
                    .to_str()
                    .ok_or_else(|| refused("the backup path must be valid UTF-8"))?;
                sqlx::query(&format!("VACUUM INTO '{}'", target.replace('\'', "''")))
                    .execute(db.pool())
                    .await?;
                ("VACUUM INTO".to_string(), check_sqlite_file(&tmp).await?)
            }
            Backend::Postgres => {
                let file = tmp
                    .to_str()
                    .ok_or_else(|| refused("the backup path must be valid UTF-8"))?;
                run(
                    "pg_dump",
                    &[
                        "--format=custom",
                        "--no-owner",
                        "--file",
                        file,
                        "--dbname",
                        url,
                    ],
                )
                .await?;
                run("pg_restore", &["--list", file]).await?;
                (version("pg_dump").await, counts(db).await?)
            }
        };
        publish(&tmp, dest)?;
        Ok::<_, BackupError>((method, counts))
    }
    .await;
    let (method, counts) = match result {
        Ok(x) => x,
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            return Err(e);
        }
    };
    Ok(Report {
        path: dest.to_path_buf(),
        bytes: std::fs::metadata(dest)?.len(),
        seconds: started.elapsed().as_secs_f64(),
        counts,
        method,
    })
}

/// Restores a backup into the database at `url`. Trellis must not be
/// serving it. An existing database with data is replaced only with
/// `replace`. Newer migrations are applied afterwards.
pub async fn restore(url: &str, src: &Path, replace: bool) -> Result<Report, BackupError> {
    if !src.is_file() {
        return Err(refused(format!("{} is not a file", src.display())));
    }
    let started = Instant::now();
    let method = match Backend::from_url(url)? {
        Backend::Sqlite => {
            let target = sqlite_path(url)?;
            check_sqlite_file(src).await?;
            if target.exists() && std::fs::metadata(&target)?.len() > 0 && !replace {
                return Err(refused(format!(
                    "{} already holds a database; stop Trellis and pass --replace to overwrite it",
                    target.display()
                )));
            }
            let tmp = partial(&target);
            let copied = std::fs::copy(src, &tmp)
                .map_err(BackupError::from)
                .and_then(|_| {
                    // The old database's journal must not be replayed onto the copy.
                    for ext in ["-wal", "-shm"] {
                        let mut p = target.as_os_str().to_owned();
                        p.push(ext);
                        match std::fs::remove_file(PathBuf::from(p)) {
                            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                                return Err(e.into())
                            }
                            _ => {}
                        }
                    }
                    publish(&tmp, &target).map_err(BackupError::from)
                });
            if let Err(e) = copied {
                let _ = std::fs::remove_file(&tmp);
                return Err(e);
            }
            "file copy".to_string()
        }
        Backend::Postgres => {
            let file = src
                .to_str()
                .ok_or_else(|| refused("the backup path must be valid UTF-8"))?;
            run("pg_restore", &["--list", file]).await?;
            let db = Db::connect(url).await?;
            let tables: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = 'public'",
            )
            .fetch_one(db.pool())
            .await?;
            db.close().await;
            if tables > 0 && !replace {
                return Err(refused(
                    "the database already has tables; stop Trellis and pass --replace to overwrite them",
                ));
            }
            let mut args = vec!["--no-owner", "--exit-on-error", "--single-transaction"];
            if tables > 0 {
                args.extend(["--clean", "--if-exists"]);
            }
            args.extend(["--dbname", url, file]);
            run("pg_restore", &args).await?;
            version("pg_restore").await
        }
    };
    let db = Db::connect(url).await?;
    db.migrate().await?;
    let counts = counts(&db).await?;
    db.close().await;
    Ok(Report {
        path: src.to_path_buf(),
        bytes: std::fs::metadata(src)?.len(),
        seconds: started.elapsed().as_secs_f64(),
        counts,
        method,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_of_a_sqlite_url() {
        assert_eq!(
            sqlite_path("sqlite://./trellis.db?mode=rwc").unwrap(),
            PathBuf::from("./trellis.db")
        );
        assert_eq!(
            sqlite_path("sqlite:/var/lib/t.db").unwrap(),
            PathBuf::from("/var/lib/t.db")
        );
        assert!(sqlite_path("sqlite::memory:").is_err());
        assert!(sqlite_path("postgres://x").is_err());
    }
}
