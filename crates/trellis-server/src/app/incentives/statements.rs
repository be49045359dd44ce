//! Statements after a calculation: drafts saved, approved (never to change
//! again), paid through a payout file, questioned line by line by partners
//! and answered by the vendor; totals by period for the vendor.

use super::super::audit::{self, Subject};
use super::super::{App, AppError, AppResult};
use super::calculate::Calculation;
use super::vendor_admins_only;
use crate::store::incentives::{
    self as store, Dispute, NewStatement, StatementStatus, StoredStatement,
};
use crate::store::Actor;
use rust_decimal::Decimal;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use trellis_core::access::Principal;
use trellis_core::incentives::LineKind;

/// Stores a calculation's statements as drafts (replacing earlier drafts of
/// the same period; approved statements are never changed, and partners
/// with an approved statement for the period get none).
pub async fn save_drafts(app: &App, program_id: &str, c: &Calculation) -> AppResult<usize> {
    let done = store::approved_partners(&app.db, program_id, &c.period).await?;
    let mut tx = app.db.begin_write().await?;
    store::delete_drafts(&mut tx, program_id, &c.period).await?;
    let mut saved = 0;
    for s in c
        .statements
        .iter()
        .filter(|s| !done.contains(&s.partner_id))
    {
        saved += 1;
        store::insert_draft(
            &mut tx,
            &NewStatement {
                program_id,
                version: c.version,
                partner_id: &s.partner_id,
                period: &c.period,
                total: s.total,
                funds: s.funds,
                lines: &s.lines,
                next_bands: &s.next_bands,
            },
        )
        .await?;
    }
    tx.commit().await?;
    Ok(saved)
}

/// Approves the draft statements of a period (all partners, or one), of
/// one program or of every program, in one transaction: approved statements
/// never change again. Returns how many.
pub async fn approve(
    app: &App,
    who: &Principal,
    actor: &Actor,
    program_id: Option<&str>,
    period: &str,
    partner_id: Option<&str>,
) -> AppResult<u64> {
    vendor_admins_only(who, "approve statements")?;
    let mut tx = app.db.begin_write().await?;
    let programs = match program_id {
        Some(p) => vec![p.to_string()],
        None => store::programs_with_statements(&mut tx, period, "draft", partner_id).await?,
    };
    let mut n = 0;
    for program in &programs {
        // A later approval of the same period replaces nothing: drafts of
        // partners already approved for the period are refused.
        let clash = store::drafts_already_approved(&mut tx, program, period, partner_id).await?;
        if clash > 0 {
            return Err(AppError::Conflict {
                field: "period",
                message: format!(
                    "{clash} partner(s) already have an approved statement for {period}: late data goes into the next period's statement as an adjustment"
                ),
            });
        }
        n += store::approve_drafts(
            &mut tx,
            program,
            period,
            partner_id,
            actor.user_id.as_deref(),
        )
        .await?;
    }
    let subject = Subject::new("statements", period);
    audit::record(
        &mut tx,
        actor,
        "statements.approve",
        match partner_id {
            Some(p) => subject.of_partner(p),
            None => subject,
        },
        None,
        Some(serde_json::json!({"approved": n, "programs": programs})),
    )
    .await?;
    tx.commit().await?;
    Ok(n)
}

/// The payout file of a period's approved statements (of one program, or of
/// every program): one row per partner and line, cash and funds apart.
pub async fn payout_csv(
    app: &App,
    who: &Principal,
    program_id: Option<&str>,
    period: &str,
) -> AppResult<String> {
    vendor_admins_only(who, "download payout files")?;
    let rows = store::statement_rows(
        &app.db,
        program_id,
        Some(period),
        None,
        Some(StatementStatus::Approved),
    )
    .await?;
    let mut rows: Vec<&store::StatementRow> = rows.iter().collect();
    rows.sort_by(|a, b| (&a.program_id, &a.partner_slug).cmp(&(&b.program_id, &b.partner_slug)));
    let io = |e: csv::Error| AppError::internal(format!("cannot write the payout file: {e}"));
    let mut w = csv::Writer::from_writer(Vec::new());
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
    for r in rows {
        let approved = r.approved_at.as_deref().unwrap_or("");
        for l in &r.lines {
            w.write_record([
                period,
                &r.partner_slug,
                &r.partner_name,
                &l.rule,
                l.kind.as_str(),
                l.seller.as_deref().unwrap_or(""),
                &l.amount.to_string(),
                if l.kind == LineKind::FundAccrual {
                    "funds"
                } else {
                    "cash"
                },
                approved,
            ])
            .map_err(io)?;
        }
    }
    let bytes = w
        .into_inner()
        .map_err(|e| AppError::internal(format!("cannot write the payout file: {e}")))?;
    String::from_utf8(bytes).map_err(AppError::internal)
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
    pub status: StatementStatus,
    pub total: String,
}

/// The periods with statements, newest first, with their totals.
pub async fn totals(app: &App) -> AppResult<Vec<PeriodTotals>> {
    let rows = store::statement_rows(&app.db, None, None, None, None).await?;
    let mut out: Vec<PeriodTotals> = Vec::new();
    let mut rules: BTreeMap<(String, String), Decimal> = BTreeMap::new();
    let mut elements: BTreeMap<(String, String), Decimal> = BTreeMap::new();
    let mut sums: BTreeMap<String, Decimal> = BTreeMap::new();
    // Partners by name within a period, whatever their program.
    let mut rows: Vec<&store::StatementRow> = rows.iter().collect();
    rows.sort_by(|a, b| {
        b.period.cmp(&a.period).then_with(|| {
            trellis_core::validate::search_key(&a.partner_name)
                .cmp(&trellis_core::validate::search_key(&b.partner_name))
        })
    });
    for r in rows {
        if out.last().map(|t| &t.period) != Some(&r.period) {
            out.push(PeriodTotals {
                period: r.period.clone(),
                by_partner: Vec::new(),
                by_rule: Vec::new(),
                by_element: Vec::new(),
                total: String::new(),
                drafts: 0,
                approved: 0,
            });
        }
        let Some(t) = out.last_mut() else { continue };
        t.drafts += usize::from(r.status == StatementStatus::Draft);
        t.approved += usize::from(r.status == StatementStatus::Approved);
        t.by_partner.push(PartnerTotal {
            partner_id: r.partner_id.clone(),
            name: r.partner_name.clone(),
            status: r.status,
            total: r.total.to_string(),
        });
        *sums.entry(r.period.clone()).or_default() += r.total;
        for l in &r.lines {
            *rules.entry((r.period.clone(), l.rule.clone())).or_default() += l.amount;
            let element = l.element.clone().unwrap_or_else(|| "(none)".into());
            *elements.entry((r.period.clone(), element)).or_default() += l.amount;
        }
    }
    let of_period = |m: &BTreeMap<(String, String), Decimal>, period: &str| {
        m.iter()
            .filter(|((p, _), _)| p == period)
            .map(|((_, k), v)| (k.clone(), v.to_string()))
            .collect()
    };
    for t in &mut out {
        t.total = sums.get(&t.period).copied().unwrap_or_default().to_string();
        t.by_rule = of_period(&rules, &t.period);
        t.by_element = of_period(&elements, &t.period);
    }
    Ok(out)
}

/// A partner's statements (newest period first, at most 40) with their disputes.
pub async fn statements_with_disputes(
    app: &App,
    partner_id: &str,
) -> AppResult<Vec<(StoredStatement, Vec<Dispute>)>> {
    let statements = store::statements_of(&app.db, partner_id).await?;
    let mut by_statement: HashMap<String, Vec<Dispute>> = HashMap::new();
    for d in store::disputes_of_partner(&app.db, partner_id).await? {
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

/// Opens a dispute on a line of one of the partner's statements (the
/// partner's admin).
pub async fn dispute(
    app: &App,
    who: &Principal,
    actor: &Actor,
    partner: &crate::store::partners::Partner,
    statement_id: &str,
    rule: &str,
    comment: &str,
) -> AppResult<Dispute> {
    if !who.can_accept_agreement(partner.as_ref()) {
        return Err(AppError::forbidden(
            "Your organisation's admin disputes statement lines.",
        ));
    }
    let partner_id = partner.id.as_str();
    let comment = comment.trim();
    if comment.is_empty() || comment.chars().count() > 2_000 {
        return Err(AppError::field(
            "comment",
            "invalid-length",
            "comment: say what is wrong, in at most 2,000 characters",
        ));
    }
    let statement = store::statement_of(&app.db, partner_id, statement_id)
        .await?
        .ok_or(AppError::NotFound("statement"))?;
    if !statement.lines.iter().any(|l| l.rule == rule) {
        return Err(AppError::field(
            "rule",
            "unknown-reference",
            format!("rule: the statement has no line `{rule}`"),
        ));
    }
    let user_id = actor
        .user_id
        .clone()
        .ok_or_else(|| AppError::internal("a dispute needs a user"))?;
    let mut tx = app.db.begin_write().await?;
    let d = store::insert_dispute(&mut tx, statement_id, rule, comment, &user_id).await?;
    audit::record(
        &mut tx,
        actor,
        "statement.dispute",
        Subject::new("statement", statement_id).of_partner(partner_id),
        None,
        Some(serde_json::json!({"rule": rule, "comment": comment})),
    )
    .await?;
    tx.commit().await?;
    Ok(d)
}

/// Open disputes, newest first (vendor users).
pub async fn open_disputes(app: &App) -> AppResult<Vec<Dispute>> {
    Ok(store::disputes(&app.db, None, Some("open")).await?)
}

/// Answers a dispute and closes it (vendor admins).
pub async fn resolve_dispute(
    app: &App,
    who: &Principal,
    actor: &Actor,
    id: &str,
    answer: &str,
) -> AppResult<()> {
    vendor_admins_only(who, "answer disputes")?;
    let answer = answer.trim();
    if answer.is_empty() {
        return Err(AppError::field("answer", "required", "answer: required"));
    }
    let mut tx = app.db.begin_write().await?;
    if !store::resolve_dispute(&mut tx, id, answer, actor.user_id.as_deref()).await? {
        return Err(AppError::NotFound("open dispute"));
    }
    audit::record(
        &mut tx,
        actor,
        "statement.dispute-answered",
        Subject::new("dispute", id),
        None,
        Some(serde_json::json!({"answer": answer})),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// What a partner earned, per currency: approved (of that, paid as funds)
/// and still in drafts.
#[derive(Debug, Clone, Serialize)]
pub struct ToDate {
    pub currency: String,
    pub approved: Decimal,
    pub funds: Decimal,
    pub draft: Decimal,
}

/// A partner's statements with their disputes and the currency of each
/// statement's program, and the earnings to date.
pub struct Earnings {
    pub statements: Vec<(StoredStatement, Vec<Dispute>, String)>,
    pub to_date: Vec<ToDate>,
}

/// [`Earnings`] of a partner the caller may see.
pub async fn earnings(app: &App, partner_id: &str) -> AppResult<Earnings> {
    let list = statements_with_disputes(app, partner_id).await?;
    let mut currency: BTreeMap<String, String> = BTreeMap::new();
    for (s, _) in &list {
        if !currency.contains_key(&s.program) {
            let c = match super::super::programs::published_program(&app.db, &s.program).await {
                Ok((_, prog)) => prog.program.currency,
                Err(AppError::NotFound(_)) => String::new(),
                Err(e) => return Err(e),
            };
            currency.insert(s.program.clone(), c);
        }
    }
    let mut to_date: BTreeMap<String, ToDate> = BTreeMap::new();
    for (s, _) in &list {
        let cur = currency.get(&s.program).cloned().unwrap_or_default();
        let t = to_date.entry(cur.clone()).or_insert_with(|| ToDate {
            currency: cur,
            approved: Decimal::ZERO,
            funds: Decimal::ZERO,
            draft: Decimal::ZERO,
        });
        if s.status == StatementStatus::Approved {
            t.approved += s.total;
            t.funds += s.funds;
        } else {
            t.draft += s.total;
        }
    }
    Ok(Earnings {
        statements: list
            .into_iter()
            .map(|(s, d)| {
                let c = currency.get(&s.program).cloned().unwrap_or_default();
                (s, d, c)
            })
            .collect(),
        to_date: to_date.into_values().collect(),
    })
}
