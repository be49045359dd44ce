//! Onboarding checklists and the partnership lifecycle (formation →
//! enablement → performing → renewal, suspended, terminated).
//!
//! A checklist is copied from the program's plan for the partner's type
//! when the partner is created from an application or enrolled. Tasks tied
//! to an event complete themselves when it happens, inside the transaction
//! of the change that caused it; the rest are ticked by hand. A completed
//! checklist moves a partnership in formation to enablement, and a first deal
//! won moves it from enablement to performing, by rule. Every move, by rule
//! or by hand, is recorded with its reason and audited.

use super::audit::{self, Subject};
use super::{App, AppError, AppResult, Tx};
use crate::store::onboarding::{self as store, Onboarding};
use crate::store::partners::Partner;
use crate::store::{users, Actor};
use trellis_core::access::Principal;
use trellis_core::program::model::{OnboardingTask, TaskEvent};
use trellis_core::recruit::{stage_by_rule, Stage};

/// A partner's checklist, stage and stage history.
pub async fn get(app: &App, partner_id: &str) -> AppResult<Onboarding> {
    Ok(store::get(&app.db, partner_id).await?)
}

/// Whether a partner is still forming with a checklist to work through (its
/// users then land on their onboarding page).
pub async fn forming_with_checklist(app: &App, partner_id: &str) -> AppResult<bool> {
    let forming = crate::store::partners::get(&app.db, partner_id)
        .await?
        .is_some_and(|p| p.stage == Stage::Formation);
    Ok(forming && store::has_checklist(&app.db, partner_id).await?)
}

/// Copies a plan into a partner's checklist (tasks it already has are kept).
pub(crate) async fn add_plan(
    tx: &mut Tx,
    partner_id: &str,
    tasks: &[OnboardingTask],
) -> AppResult<usize> {
    Ok(store::insert_tasks(tx, partner_id, tasks).await?)
}

/// Records a move (already checked) and updates the partner.
async fn record_stage(
    tx: &mut Tx,
    actor: &Actor,
    partner_id: &str,
    from: Stage,
    to: Stage,
    rule: Option<&str>,
    reason: &str,
) -> AppResult<()> {
    if !store::set_stage(tx, partner_id, from, to).await? {
        return Err(AppError::Conflict {
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
) -> AppResult<()> {
    store::insert_stage_event(tx, &actor.email, partner_id, from, to, rule, reason).await?;
    audit::record(
        tx,
        actor,
        "partner.stage",
        Subject::new("partner", partner_id).of_partner(partner_id),
        from.map(|f| serde_json::json!({"stage": f.as_str()})),
        Some(serde_json::json!({"stage": to.as_str(), "rule": rule, "reason": reason})),
    )
    .await
}

/// Applies the lifecycle rules after something that may satisfy them.
pub(crate) async fn advance_by_rule(tx: &mut Tx, actor: &Actor, partner_id: &str) -> AppResult<()> {
    let stage = store::stage_in(tx, partner_id).await?;
    let (total, open) = store::task_counts(tx, partner_id).await?;
    let won = crate::store::deals::count_won(tx, partner_id).await?;
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
) -> AppResult<()> {
    // The admin invited at approval is the first user, not an added one.
    if event == TaskEvent::UserAdded && users::count_of_partner(tx, partner_id).await? < 2 {
        return Ok(());
    }
    let done_by = format!("{} ({})", actor.email, event.as_str());
    if store::complete_for_event(tx, partner_id, event, &done_by).await? > 0 {
        advance_by_rule(tx, actor, partner_id).await?;
    }
    Ok(())
}

/// Ticks a task by hand (or unticks it with `done = false`): the partner's
/// admin, its channel manager or a vendor admin.
pub async fn tick(
    app: &App,
    who: &Principal,
    actor: &Actor,
    partner: &Partner,
    task_id: &str,
    done: bool,
) -> AppResult<()> {
    if !who.can_tick_onboarding(partner.as_ref()) {
        return Err(AppError::forbidden(
            "only the partner's admin, its channel manager or a vendor admin can tick onboarding tasks",
        ));
    }
    let partner_id = partner.id.as_str();
    let mut tx = app.db.begin_write().await?;
    if !store::set_task(
        &mut tx,
        partner_id,
        task_id,
        done.then_some(actor.email.as_str()),
    )
    .await?
    {
        return Err(AppError::NotFound("onboarding task"));
    }
    audit::record(
        &mut tx,
        actor,
        if done {
            "onboarding.task-done"
        } else {
            "onboarding.task-reopened"
        },
        Subject::new("partner", partner_id).of_partner(partner_id),
        None,
        Some(serde_json::json!({"task": task_id})),
    )
    .await?;
    if done {
        advance_by_rule(&mut tx, actor, partner_id).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Moves a partnership by hand, with a reason (vendor admins and the
/// partner's channel manager); only the lifecycle's edges are allowed.
pub async fn move_stage(
    app: &App,
    who: &Principal,
    actor: &Actor,
    partner: &Partner,
    to: &str,
    reason: &str,
) -> AppResult<()> {
    if !who.can_move_stage(partner.as_ref()) {
        return Err(AppError::forbidden(
            "only a vendor admin or the partner's channel manager can move its stage",
        ));
    }
    let partner_id = partner.id.as_str();
    let to = Stage::parse("stage", to)?;
    let mut tx = app.db.begin_write().await?;
    let from = store::stage_in(&mut tx, partner_id).await?;
    from.move_to(to, reason)?;
    record_stage(&mut tx, actor, partner_id, from, to, None, reason.trim()).await?;
    tx.commit().await?;
    Ok(())
}
