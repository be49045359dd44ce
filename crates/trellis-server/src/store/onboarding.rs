//! Onboarding checklists and the partnership lifecycle (formation →
//! enablement → performing → renewal, suspended, terminated).
//!
//! A checklist is copied from the program's plan for the partner's type
//! when the partner is created from an application (or enrolled). Tasks tied
//! to an event complete themselves when it happens, inside the transaction
//! of the change that caused it; the rest are ticked by hand. A completed
//! checklist moves a partnership in formation to enablement, and a first deal
//! won moves it from enablement to performing, by rule. Every move, by rule
//! or by hand, is recorded with its reason and audited.

use super::audit::{self, Change};
use super::{Actor, StoreError, StoreResult};
use crate::db::{self, Db};
use serde::Serialize;
use sqlx::{Any, Row};
use trellis_core::org::PartnerStatus;
use trellis_core::program::model::{OnboardingTask, TaskEvent};
use trellis_core::recruit::{stage_by_rule, Stage};
use trellis_core::FieldError;
use utoipa::ToSchema;

type Tx = sqlx::Transaction<'static, Any>;

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

/// Copies a plan into a partner's checklist (tasks it already has are kept).
pub(crate) async fn create_plan(
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

/// A partner's checklist, stage and stage history.
/// Whether the partner has an onboarding checklist (one query).
pub async fn has_checklist(db: &Db, partner_id: &str) -> StoreResult<bool> {
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM onboarding_tasks WHERE partner_id = $1")
        .bind(partner_id)
        .fetch_one(db.pool())
        .await?;
    Ok(n > 0)
}

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

/// The administrative status that goes with a stage.
fn status_for(stage: Stage) -> PartnerStatus {
    match stage {
        Stage::Formation => PartnerStatus::Onboarding,
        Stage::Enablement | Stage::Performing | Stage::Renewal => PartnerStatus::Active,
        Stage::Suspended => PartnerStatus::Suspended,
        Stage::Terminated => PartnerStatus::Terminated,
    }
}

/// Records a move (already checked) and updates the partner.
pub(crate) async fn record_stage(
    tx: &mut Tx,
    actor: &Actor,
    partner_id: &str,
    from: Stage,
    to: Stage,
    rule: Option<&str>,
    reason: &str,
) -> StoreResult<()> {
    let changed = sqlx::query(
        "UPDATE partners SET stage = $1, status = $2, updated_at = $3 WHERE id = $4 AND stage = $5",
    )
    .bind(to.as_str())
    .bind(status_for(to).as_str())
    .bind(db::now())
    .bind(partner_id)
    .bind(from.as_str())
    .execute(&mut **tx)
    .await?
    .rows_affected();
    if changed == 0 {
        return Err(StoreError::Conflict {
            field: "stage",
            message: "the partnership moved meanwhile; reload and try again".into(),
        });
    }
    log_stage(tx, actor, partner_id, Some(from), to, rule, reason).await
}

/// The stage history and audit entry of a move; the partner row already
/// says `to` (a new partner is inserted in its first stage).
pub(crate) async fn log_stage(
    tx: &mut Tx,
    actor: &Actor,
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
    .bind(&actor.email)
    .bind(from.map(Stage::as_str))
    .bind(to.as_str())
    .bind(rule)
    .bind(reason)
    .execute(&mut **tx)
    .await?;
    audit::record(
        tx,
        actor,
        Change {
            action: "partner.stage",
            object_type: "partner",
            object_id: partner_id,
            partner_id: Some(partner_id),
            before: from.map(|f| serde_json::json!({"stage": f.as_str()})),
            after: Some(serde_json::json!({"stage": to.as_str(), "rule": rule, "reason": reason})),
        },
    )
    .await
}

async fn stage_in(tx: &mut Tx, partner_id: &str) -> StoreResult<Stage> {
    let raw: Option<String> = sqlx::query_scalar("SELECT stage FROM partners WHERE id = $1")
        .bind(partner_id)
        .fetch_optional(&mut **tx)
        .await?;
    let raw = raw.ok_or(StoreError::NotFound("partner"))?;
    Stage::parse("stage", &raw).map_err(|e| StoreError::Internal(format!("stored stage: {e}")))
}

/// Applies the lifecycle rules after something that may satisfy them.
pub(crate) async fn advance_by_rule(
    tx: &mut Tx,
    actor: &Actor,
    partner_id: &str,
) -> StoreResult<()> {
    let stage = stage_in(tx, partner_id).await?;
    let (total, open): (i64, i64) = {
        let r = sqlx::query(
            "SELECT COUNT(*) AS total, COUNT(*) - COUNT(done_at) AS open FROM onboarding_tasks WHERE partner_id = $1",
        )
        .bind(partner_id)
        .fetch_one(&mut **tx)
        .await?;
        (r.try_get("total")?, r.try_get("open")?)
    };
    let won: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM deals WHERE partner_id = $1 AND status = 'won'")
            .bind(partner_id)
            .fetch_one(&mut **tx)
            .await?;
    if let Some((to, rule)) = stage_by_rule(stage, total > 0 && open == 0, won as u64) {
        record_stage(tx, actor, partner_id, stage, to, Some(rule), rule).await?;
    }
    Ok(())
}

/// Completes the partner's open tasks tied to `event`, then applies the rules.
pub(crate) async fn on_event(
    tx: &mut Tx,
    actor: &Actor,
    partner_id: &str,
    event: TaskEvent,
) -> StoreResult<()> {
    if event == TaskEvent::UserAdded {
        // The admin invited at approval is the first user, not an added one.
        let users: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE partner_id = $1")
            .bind(partner_id)
            .fetch_one(&mut **tx)
            .await?;
        if users < 2 {
            return Ok(());
        }
    }
    let done = sqlx::query(
        "UPDATE onboarding_tasks SET done_at = $1, done_by = $2 WHERE partner_id = $3 AND event = $4 AND done_at IS NULL",
    )
    .bind(db::now())
    .bind(format!("{} ({})", actor.email, event.as_str()))
    .bind(partner_id)
    .bind(event.as_str())
    .execute(&mut **tx)
    .await?
    .rows_affected();
    if done > 0 {
        advance_by_rule(tx, actor, partner_id).await?;
    }
    Ok(())
}

/// Ticks a task by hand (or unticks it with `done = false`).
pub async fn set_task(
    db: &Db,
    actor: &Actor,
    partner_id: &str,
    task_id: &str,
    done: bool,
) -> StoreResult<()> {
    let mut tx = db.begin_write().await?;
    let changed = sqlx::query(
        "UPDATE onboarding_tasks SET done_at = $1, done_by = $2 WHERE partner_id = $3 AND task_id = $4",
    )
    .bind(done.then(db::now))
    .bind(done.then(|| actor.email.clone()))
    .bind(partner_id)
    .bind(task_id)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if changed == 0 {
        return Err(StoreError::NotFound("onboarding task"));
    }
    audit::record(
        &mut tx,
        actor,
        Change {
            action: if done {
                "onboarding.task-done"
            } else {
                "onboarding.task-reopened"
            },
            object_type: "partner",
            object_id: partner_id,
            partner_id: Some(partner_id),
            before: None,
            after: Some(serde_json::json!({"task": task_id})),
        },
    )
    .await?;
    if done {
        advance_by_rule(&mut tx, actor, partner_id).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Moves a partnership by hand, with a reason.
pub async fn move_stage(
    db: &Db,
    actor: &Actor,
    partner_id: &str,
    to: &str,
    reason: &str,
) -> StoreResult<()> {
    let to = Stage::parse("stage", to).map_err(|e| StoreError::Invalid(e.into()))?;
    let mut tx = db.begin_write().await?;
    let from = stage_in(&mut tx, partner_id).await?;
    from.move_to(to, reason)
        .map_err(|e: FieldError| StoreError::Invalid(e.into()))?;
    record_stage(&mut tx, actor, partner_id, from, to, None, reason.trim()).await?;
    tx.commit().await?;
    Ok(())
}

/// Starts a partner's checklist from a program's plan for its type (used on
/// enrollment); returns how many tasks were added.
pub async fn start_from_program(
    db: &Db,
    partner_id: &str,
    partner_type: &str,
    program: &trellis_core::program::Program,
) -> StoreResult<usize> {
    let mut tx = db.begin_write().await?;
    let n = create_plan(&mut tx, partner_id, program.onboarding_for(partner_type)).await?;
    tx.commit().await?;
    Ok(n)
}
