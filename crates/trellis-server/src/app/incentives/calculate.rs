//! A period's statements under a program: the stored lines of the period
//! (and the year before, for growth rebates) folded into groups on every
//! core, converted to the program's currency, and the rules run over the
//! groups; adjustments for late data in approved periods; what-ifs under
//! another version of the program.

use super::super::{App, AppError, AppResult};
use super::{blocking, statements};
use crate::db::Db;
use crate::store::incentives as store;
use crate::store::programs as program_store;
use rust_decimal::Decimal;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;
use trellis_core::incentives::fold::{fold_all, Scope};
use trellis_core::incentives::fx::Fx;
use trellis_core::incentives::{self, Line, LineKind, Period, Statement};
use trellis_core::program::Program;
use trellis_core::segment;

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

fn program_field(message: impl Into<String>) -> AppError {
    AppError::field("program", "unknown-reference", message)
}

/// The published program to calculate: the one named, or the only one with
/// incentive rules. Returns its database id, version number and definition.
pub async fn program_of(db: &Db, slug: Option<&str>) -> AppResult<(String, i64, Program)> {
    let mut found = Vec::new();
    for p in program_store::list(db).await? {
        if slug.is_some_and(|s| s != p.slug) {
            continue;
        }
        let Some(v) = program_store::published(db, &p.slug).await? else {
            continue;
        };
        let prog = trellis_core::program::parse(&v.source).map_err(|e| {
            AppError::internal(format!("published program {} does not parse: {e}", p.slug))
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
        (0, Some(s)) => Err(program_field(format!(
            "program: no published program {s:?}"
        ))),
        (0, None) => Err(program_field(
            "program: no published program has incentive rules",
        )),
        _ => Err(program_field(
            "program: several published programs have incentive rules: choose one",
        )),
    }
}

/// What the calculation form offers: the program with incentive rules (as
/// `slug vN`) and its other versions to compare against; or why there is
/// none.
pub async fn comparable(
    app: &App,
) -> AppResult<Result<(String, Vec<program_store::VersionMeta>), String>> {
    match program_of(&app.db, None).await {
        Ok((_, number, p)) => {
            let slug = p.program.id.get_ref().clone();
            let others = program_store::versions(&app.db, &slug)
                .await?
                .into_iter()
                .filter(|v| v.number != number)
                .collect();
            Ok(Ok((format!("{slug} v{number}"), others)))
        }
        Err(AppError::Invalid(e)) => Ok(Err(e.to_string())),
        Err(e) => Err(e),
    }
}

/// A period as written (`2027-Q1`, `2027-03`, `2027`).
pub fn period(raw: &str) -> AppResult<Period> {
    Period::parse(raw)
        .map_err(|e| AppError::field("period", "invalid-period", format!("period: {e}")))
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

/// Calculates a period under a published program, with adjustments for late
/// data, and saves the drafts unless `dry_run`. The command line, the API and
/// the page share it.
pub async fn run(app: &App, period: &str, slug: Option<&str>, dry_run: bool) -> AppResult<Run> {
    let period = self::period(period)?;
    let (program_id, version, program) = program_of(&app.db, slug).await?;
    let mut calculation = calculate(&app.db, &program_id, &program, &period).await?;
    calculation.version = version;
    add_adjustments(&app.db, &program_id, &program, &mut calculation).await?;
    let saved = if dry_run {
        None
    } else {
        Some(statements::save_drafts(app, &program_id, &calculation).await?)
    };
    Ok(Run {
        program_id,
        program,
        period,
        calculation,
        saved,
    })
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
    app: &App,
    run: &Run,
    under: &str,
    draft: &Program,
    version: Option<i64>,
) -> AppResult<WhatIf> {
    let field = |m: String| AppError::field("what_if_version", "not-comparable", m);
    if draft.program.id.get_ref() != run.program.program.id.get_ref() {
        return Err(field(format!(
            "what-if: the draft is program {}, not {}",
            draft.program.id.get_ref(),
            run.program.program.id.get_ref()
        )));
    }
    let (a, b) = (&draft.program.currency, &run.program.program.currency);
    if !a.eq_ignore_ascii_case(b) {
        return Err(field(format!(
            "what-if: the draft pays in {a}, the program in force in {b}: amounts would not compare"
        )));
    }
    let mut other = calculate(&app.db, &run.program_id, draft, &run.period).await?;
    other.version = version.unwrap_or(0);
    let names = store::partner_names(&app.db).await?;
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
    app: &App,
    slug: Option<&str>,
    number: i64,
) -> AppResult<(String, Program, i64)> {
    let (_, _, current) = program_of(&app.db, slug).await?;
    let slug = current.program.id.get_ref();
    let field = |m: String| AppError::field("what_if_version", "unknown-reference", m);
    let v = program_store::version(&app.db, slug, number)
        .await?
        .ok_or_else(|| {
            field(format!(
                "what_if_version: program {slug} has no version {number}"
            ))
        })?;
    let draft = trellis_core::program::parse(&v.source).map_err(|e| {
        field(format!(
            "what_if_version: version {number} does not parse: {e}"
        ))
    })?;
    Ok((
        format!("version {number} ({})", v.meta.status),
        draft,
        number,
    ))
}

/// The version to compare with, when one is asked for (see [`version_to_compare`]).
pub async fn other_version(
    app: &App,
    slug: Option<&str>,
    number: Option<i64>,
) -> AppResult<Option<(String, Program, i64)>> {
    match number {
        Some(n) => Ok(Some(version_to_compare(app, slug, n).await?)),
        None => Ok(None),
    }
}

/// Loads the sales of a period (and the year before, for growth rebates)
/// and calculates every partner's statement under `program`.
pub async fn calculate(
    db: &Db,
    program_id: &str,
    program: &Program,
    period: &Period,
) -> AppResult<Calculation> {
    let started = Instant::now();
    let currency = program.program.currency.to_ascii_uppercase();
    let fx = Fx::new(&currency, store::fx_rates(db).await?);
    let facts = store::partner_facts(db, program_id).await?;
    let approved_deals = store::approved_deals(db).await?;
    let before = period.year_before();
    let blobs = store::facts_between(db, &before.start, &period.end).await?;
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
    let folded = blocking(|| fold_all(&blobs, &scope))?;
    let groups = folded.to_groups(&bounds, &fx, &currency)?;
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

/// Late data: for each approved statement of an earlier period, the
/// difference between a recalculation under `program` and what was approved
/// (less adjustments already made), as adjustment lines for `c`'s period.
/// Approved statements themselves never change.
pub async fn add_adjustments(
    db: &Db,
    program_id: &str,
    program: &Program,
    c: &mut Calculation,
) -> AppResult<()> {
    let rows = store::statement_rows(
        db,
        Some(program_id),
        None,
        Some(&c.period),
        Some(store::StatementStatus::Approved),
    )
    .await?;
    // What was approved per (partner, period), without its own adjustment
    // lines; and what adjustments approved statements already made.
    let mut approved: BTreeMap<(String, String), Decimal> = BTreeMap::new();
    let mut adjusted: BTreeMap<(String, String), Decimal> = BTreeMap::new();
    for r in &rows {
        for l in &r.lines {
            match &l.adjusts {
                Some(of) => {
                    *adjusted
                        .entry((r.partner_id.clone(), of.clone()))
                        .or_default() += l.amount
                }
                None => {
                    *approved
                        .entry((r.partner_id.clone(), r.period.clone()))
                        .or_default() += l.amount
                }
            }
        }
    }
    let facts = store::partner_facts(db, program_id).await?;
    let current = period(&c.period)?;
    let periods: BTreeSet<&String> = approved.keys().map(|(_, p)| p).collect();
    for label in periods {
        let q = Period::parse(label)
            .map_err(|e| AppError::internal(format!("stored period {label}: {e}")))?;
        if q.start >= current.start {
            continue;
        }
        let again = calculate(db, program_id, program, &q).await?;
        let mut totals: BTreeMap<&str, Decimal> = BTreeMap::new();
        for st in &again.statements {
            totals.insert(st.partner_id.as_str(), st.total);
        }
        for ((pid, p), was) in approved.iter().filter(|((_, p), _)| p == label) {
            let now = totals.get(pid.as_str()).copied().unwrap_or_default();
            let done = adjusted
                .get(&(pid.clone(), p.clone()))
                .copied()
                .unwrap_or_default();
            let delta = incentives::cents(now - *was - done);
            if delta.is_zero() {
                continue;
            }
            let line = Line {
                rule: format!("adjustment {p}"),
                kind: LineKind::Adjustment,
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
                    partner_slug: facts.get(pid).map(|f| f.slug.clone()).unwrap_or_default(),
                    partner_name: facts.get(pid).map(|f| f.name.clone()).unwrap_or_default(),
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
