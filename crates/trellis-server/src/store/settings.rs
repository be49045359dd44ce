//! Deployment-wide settings: a small key-value table.

use super::StoreResult;
use crate::db::Db;

pub async fn get(db: &Db, key: &str) -> StoreResult<Option<String>> {
    Ok(
        sqlx::query_scalar("SELECT value FROM settings WHERE key = $1")
            .bind(key)
            .fetch_optional(db.pool())
            .await?,
    )
}

pub async fn set(db: &Db, key: &str, value: &str) -> StoreResult<()> {
    let mut tx = db.begin_write().await?;
    sqlx::query("DELETE FROM settings WHERE key = $1")
        .bind(key)
        .execute(&mut *tx)
        .await?;
    sqlx::query("INSERT INTO settings (key, value) VALUES ($1, $2)")
        .bind(key)
        .bind(value)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}
