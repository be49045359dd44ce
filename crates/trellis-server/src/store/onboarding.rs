//! Onboarding checklists and the partnership's stage history: rows in, rows
//! out. The lifecycle rules live in `app::onboarding`.

use super::{StoreError, StoreResult, Tx};
use crate::db::{self, Db};
use serde::Serialize;
use sqlx::{Any, Row};
use trellis_core::program::model::{OnboardingTask, TaskEvent};
use trellis_core::recruit::Stage;
use utoipa::ToSchema;

/// One item of a partner's checklist.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Task {
    pub task_id: String,
    pub name: String,
    pub description: String,
    /// What completes it by itself (`manual`: ticked by hand).
    pub event: String,
    pub done_at: Option<String>,
    pub done_by: Option<String>,
}

/// A move of the partnership from one stage to another.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StageEvent {
    pub at: String,
    pub actor_email: String,
    pub from_stage: Option<String>,
    pub to_stage: String,
    /// Set when a rule made the move.
    pub rule: Option<String>,
    pub reason: String,
}

/// A partner's onboarding: the checklist and where the partnership stands.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Onboarding {
    pub partner_id: String,
    pub stage: String,
    pub tasks: Vec<Task>,
    pub done: usize,
    pub total: usize,
    /// Whole percent of tasks done (100 when there are none).
    pub percent: u32,
    pub history: Vec<StageEvent>,
}

/// Copies a plan into a partner's checklist (tasks it already has are kept);
/// returns how many were added.
pub async fn insert_tasks(
    tx: &mut Tx,
    partner_id: &str,
    tasks: &[OnboardingTask],
) -> StoreResult<usize> {
    let mut n = 0;
    for (i, t) in tasks.iter().enumerate() {
        n += sqlx::query(
            "INSERT INTO onboarding_tasks (partner_id, task_id, position, name, description, event) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (partner_id, task_id) DO NOTHING",
        )
        .bind(partner_id)
        .bind(t.id.get_ref())
        .bind(i as i64)
        .bind(&t.name)
        .bind(&t.description)
        .bind(t.event.as_str())
        .execute(&mut **tx)
        .await?
        .rows_affected() as usize;
    }
    Ok(n)
}

async fn tasks_in<'e, E>(ex: E, partner_id: &str) -> StoreResult<Vec<Task>>
where
    E: sqlx::Executor<'e, Database = Any>,
{
    let rows = sqlx::query(
        "SELECT task_id, name, description, event, done_at, done_by FROM onboarding_tasks \
         WHERE partner_id = $1 ORDER BY position, task_id",
    )
    .bind(partner_id)
    .fetch_all(ex)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Task {
                task_id: r.try_get("task_id")?,
                name: r.try_get("name")?,
                description: r.try_get("description")?,
                event: r.try_get("event")?,
                done_at: db::opt_str(r, "done_at")?,
                done_by: db::opt_str(r, "done_by")?,
            })
        })
        .collect()
}

/// Whether the partner has an onboarding checklist (one query).
pub async fn has_checklist(db: &Db, partner_id: &str) -> StoreResult<bool> {
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM onboarding_tasks WHERE partner_id = $1")
        .bind(partner_id)
        .fetch_one(db.pool())
        .await?;
    Ok(n > 0)
}

/// A partner's checklist, stage and stage history.
pub async fn get(db: &Db, partner_id: &str) -> StoreResult<Onboarding> {
    let stage: Option<String> = sqlx::query_scalar("SELECT stage FROM partners WHERE id = $1")
        .bind(partner_id)
        .fetch_optional(db.pool())
        .await?;
    let stage = stage.ok_or(StoreError::NotFound("partner"))?;
    let tasks = tasks_in(db.pool(), partner_id).await?;
    let rows = sqlx::query(
        "SELECT at, actor_email, from_stage, to_stage, rule, reason FROM partner_stage_events \
         WHERE partner_id = $1 ORDER BY at DESC, id DESC",
    )
    .bind(partner_id)
    .fetch_all(db.pool())
    .await?;
    let history = rows
        .iter()
        .map(|r| {
            Ok(StageEvent {
                at: r.try_get("at")?,
                actor_email: r.try_get("actor_email")?,
                from_stage: db::opt_str(r, "from_stage")?,
                to_stage: r.try_get("to_stage")?,
                rule: db::opt_str(r, "rule")?,
                reason: r.try_get("reason")?,
            })
        })
        .collect::<StoreResult<Vec<_>>>()?;
    let done = tasks.iter().filter(|t| t.done_at.is_some()).count();
    let total = tasks.len();
    Ok(Onboarding {
        partner_id: partner_id.to_string(),
        stage,
        percent: (done * 100).checked_div(total).unwrap_or(100) as u32,
        done,
        total,
        tasks,
        history,
    })
}

/// Moves a partner from stage `from` to `to`; `false` when it was no longer in `from`.
pub async fn set_stage(tx: &mut Tx, partner_id: &str, from: Stage, to: Stage) -> StoreResult<bool> {
    Ok(sqlx::query(
        "UPDATE partners SET stage = $1, status = $2, updated_at = $3 WHERE id = $4 AND stage = $5",
    )
    .bind(to.as_str())
    .bind(to.partner_status().as_str())
    .bind(db::now())
    .bind(partner_id)
    .bind(from.as_str())
    .execute(&mut **tx)
    .await?
    .rows_affected()
        == 1)
}

/// One move in a partnership's stage history.
pub async fn insert_stage_event(
    tx: &mut Tx,
    actor_email: &str,
    partner_id: &str,
    from: Option<Stage>,
    to: Stage,
    rule: Option<&str>,
    reason: &str,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO partner_stage_events (id, partner_id, at, actor_email, from_stage, to_stage, rule, reason) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(uuid::Uuid::now_v7().to_string())
    .bind(partner_id)
    .bind(db::now())
    .bind(actor_email)
    .bind(from.map(Stage::as_str))
    .bind(to.as_str())
    .bind(rule)
    .bind(reason)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The partner's stage.
pub async fn stage_in(tx: &mut Tx, partner_id: &str) -> StoreResult<Stage> {
    let raw: Option<String> = sqlx::query_scalar("SELECT stage FROM partners WHERE id = $1")
        .bind(partner_id)
        .fetch_optional(&mut **tx)
        .await?;
    let raw = raw.ok_or(StoreError::NotFound("partner"))?;
    Stage::parse("stage", &raw).map_err(|e| StoreError::Internal(format!("stored stage: {e}")))
}

/// How many checklist tasks the partner has, and how many are still open.
pub async fn task_counts(tx: &mut Tx, partner_id: &str) -> StoreResult<(i64, i64)> {
    let r = sqlx::query(
        "SELECT COUNT(*) AS total, COUNT(*) - COUNT(done_at) AS open FROM onboarding_tasks WHERE partner_id = $1",
    )
    .bind(partner_id)
    .fetch_one(&mut **tx)
    .await?;
    Ok((r.try_get("total")?, r.try_get("open")?))
}

/// Marks the partner's open tasks tied to `event` done; returns how many.
pub async fn complete_for_event(
    tx: &mut Tx,
    partner_id: &str,
    event: TaskEvent,
    done_by: &str,
) -> StoreResult<u64> {
    Ok(sqlx::query(
        "UPDATE onboarding_tasks SET done_at = $1, done_by = $2 WHERE partner_id = $3 AND event = $4 AND done_at IS NULL",
    )
    .bind(db::now())
    .bind(done_by)
    .bind(partner_id)
    .bind(event.as_str())
    .execute(&mut **tx)
    .await?
    .rows_affected())
}

/// Ticks (or unticks) one task; `false` when the partner has no such task.
pub async fn set_task(
    tx: &mut Tx,
    partner_id: &str,
    task_id: &str,
    done_by: Option<&str>,
) -> StoreResult<bool> {
    Ok(sqlx::query(
        "UPDATE onboarding_tasks SET done_at = $1, done_by = $2 WHERE partner_id = $3 AND task_id = $4",
    )
    .bind(done_by.map(|_| db::now()))
    .bind(done_by)
    .bind(partner_id)
    .bind(task_id)
    .execute(&mut **tx)
    .await?
    .rows_affected()
        > 0)
}
