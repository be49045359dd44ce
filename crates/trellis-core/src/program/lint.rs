//! `trellis program check`: findings about a program before it launches. Each
//! code is documented with its reasoning in `docs/program-format.md`.

use super::economics;
use super::model::{Level, Performer, Program, Purpose, Step};
use super::parse::{LineIndex, Location};
use rust_decimal::Decimal;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;
use toml::Spanned;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Warning,
    Error,
}

/// One finding, pointing at a place in the file.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    /// Stable code, e.g. `gtm-step-not-enabled`.
    pub code: &'static str,
    pub severity: Severity,
    pub message: String,
    #[serde(flatten)]
    pub location: Location,
}

/// Every code the checker can report.
pub const CODES: &[&str] = &[
    "gtm-step-not-enabled",
    "gtm-step-not-motivated",
    "objective-unmeasurable",
    "one-size-fits-all",
    "deal-registration-too-complex",
    "enablement-gated-by-tier",
    "no-feedback-channel",
    "no-review-cadence",
    "fulfillment-heavy",
    "negative-partner-economics",
    "tier-unreachable",
    "overlapping-tiers",
    "unknown-reference",
    "duplicate-id",
    "incentive-bands-out-of-order",
    "incentive-window-empty",
    "incentive-negative-amount",
];

struct Checker<'a> {
    src: &'a str,
    lines: LineIndex<'a>,
    findings: Vec<Finding>,
}

impl Checker<'_> {
    fn at(&mut self, code: &'static str, severity: Severity, span: Range<usize>, message: String) {
        let location = self.lines.location(span.start);
        self.findings.push(Finding {
            code,
            severity,
            message,
            location,
        });
    }

    /// The position of a `[header]` or `[[header]]` line, for sections without ids.
    fn header(&self, name: &str) -> Range<usize> {
        for pat in [format!("[{name}]"), format!("[[{name}]]")] {
            if let Some(i) = self.src.find(&pat) {
                return i..i;
            }
        }
        0..0
    }
}

fn id_of(s: &Spanned<String>) -> (&str, Range<usize>) {
    (s.get_ref().as_str(), s.span())
}

/// Checks a parsed program; `src` is its text, for locations. Findings are
/// sorted by position.
pub fn check(p: &Program, src: &str) -> Vec<Finding> {
    let mut c = Checker {
        src,
        lines: LineIndex::new(src),
        findings: Vec::new(),
    };
    duplicate_ids(&mut c, p);
    duplicate_task_ids(&mut c, p);
    unknown_references(&mut c, p);
    gtm_coverage(&mut c, p);
    objectives(&mut c, p);
    one_size_fits_all(&mut c, p);
    deal_registration(&mut c, p);
    enablement_gated(&mut c, p);
    governance(&mut c, p);
    fulfillment_heavy(&mut c, p);
    negative_economics(&mut c, p);
    tiers(&mut c, p);
    incentive_rules(&mut c, p);
    c.findings.sort_by(|a, b| {
        (a.location.line, a.location.column, a.code).cmp(&(
            b.location.line,
            b.location.column,
            b.code,
        ))
    });
    c.findings
}

/// True when any finding is an error (publishing needs none).
pub fn has_errors(findings: &[Finding]) -> bool {
    findings.iter().any(|f| f.severity == Severity::Error)
}

fn all_ids(p: &Program) -> Vec<(&'static str, &Spanned<String>)> {
    let mut v: Vec<(&'static str, &Spanned<String>)> = Vec::new();
    v.extend(p.objectives.iter().map(|x| ("objective", &x.id)));
    v.extend(p.profiles.iter().map(|x| ("profile", &x.id)));
    v.extend(p.partner_types.iter().map(|x| ("partner type", &x.id)));
    v.extend(p.segments.iter().map(|x| ("segment", &x.id)));
    v.extend(p.elements.iter().map(|x| ("element", &x.id)));
    v.extend(p.tiers.iter().map(|x| ("tier", &x.id)));
    v.extend(p.tracks.iter().map(|x| ("track", &x.id)));
    v.extend(p.competitors.iter().map(|x| ("competitor", &x.id)));
    v
}

/// Task ids must be unique within their plan (plans may share task ids).
fn duplicate_task_ids(c: &mut Checker, p: &Program) {
    for plan in &p.onboarding {
        let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
        for t in &plan.tasks {
            let (name, span) = id_of(&t.id);
            if let Some(first) = seen.get(name) {
                let line = c.lines.location(*first).line;
                let msg =
                    format!("onboarding task `{name}` is already in this plan at line {line}");
                c.at("duplicate-id", Severity::Error, span, msg);
            } else {
                seen.insert(name, span.start);
            }
        }
    }
}

fn duplicate_ids(c: &mut Checker, p: &Program) {
    let mut seen: BTreeMap<&str, (&str, Range<usize>)> = BTreeMap::new();
    for (kind, id) in all_ids(p) {
        let (name, span) = id_of(id);
        if let Some((first_kind, first)) = seen.get(name) {
            let first_at = c.lines.location(first.start);
            let msg = format!(
                "id `{name}` of this {kind} is already used by the {first_kind} at line {}",
                first_at.line
            );
            c.at("duplicate-id", Severity::Error, span, msg);
        } else {
            seen.insert(name, (kind, span));
        }
    }
}

fn unknown_references(c: &mut Checker, p: &Program) {
    let set = |ids: Vec<&Spanned<String>>| {
        ids.into_iter()
            .map(|s| s.get_ref().clone())
            .collect::<BTreeSet<String>>()
    };
    let types = set(p.partner_types.iter().map(|x| &x.id).collect());
    let segments = set(p.segments.iter().map(|x| &x.id).collect());
    let elements = set(p.elements.iter().map(|x| &x.id).collect());
    let levels = set(p.tiers.iter().chain(&p.tracks).map(|x| &x.id).collect());
    let check = |c: &mut Checker, r: &Spanned<String>, known: &BTreeSet<String>, what: &str| {
        if !known.contains(r.get_ref()) {
            let hint = if known.is_empty() {
                format!("no {what}s are defined")
            } else {
                format!(
                    "known {what}s: {}",
                    known.iter().cloned().collect::<Vec<_>>().join(", ")
                )
            };
            c.at(
                "unknown-reference",
                Severity::Error,
                r.span(),
                format!("`{}` is not a {what} ({hint})", r.get_ref()),
            );
        }
    };
    for play in &p.plays {
        check(c, &play.partner_type, &types, "partner type");
        check(c, &play.segment, &segments, "segment");
    }
    for e in &p.elements {
        for t in &e.eligibility.types {
            check(c, t, &types, "partner type");
        }
        for s in &e.eligibility.segments {
            check(c, s, &segments, "segment");
        }
        for l in &e.eligibility.levels {
            check(c, l, &levels, "tier or track");
        }
    }
    for l in p.tiers.iter().chain(&p.tracks) {
        for b in &l.benefits {
            check(c, b, &elements, "element");
        }
    }
    for e in &p.economics {
        check(c, &e.partner_type, &types, "partner type");
        check(c, &e.segment, &segments, "segment");
    }
    for comp in &p.competitors {
        for o in &comp.offers {
            check(c, &o.partner_type, &types, "partner type");
            check(c, &o.segment, &segments, "segment");
        }
    }
    for plan in &p.onboarding {
        if let Some(t) = &plan.partner_type {
            check(c, t, &types, "partner type");
        }
    }
    // Incentive rules name their element by id: a typo would lose the
    // totals by element.
    let inc = &p.incentives;
    let rules = inc
        .rebates
        .iter()
        .map(|r| (&r.id, &r.element))
        .chain(inc.spifs.iter().map(|r| (&r.id, &r.element)))
        .chain(
            inc.deal_registration_uplifts
                .iter()
                .map(|r| (&r.id, &r.element)),
        )
        .chain(inc.fund_accruals.iter().map(|r| (&r.id, &r.element)));
    for (id, element) in rules {
        if let Some(e) = element.as_deref().filter(|e| !elements.contains(*e)) {
            c.at(
                "unknown-reference",
                Severity::Error,
                id.span(),
                format!(
                    "incentive rule `{}` names element `{e}`, which is not an element",
                    id.get_ref()
                ),
            );
        }
    }
}

fn gtm_coverage(c: &mut Checker, p: &Program) {
    // Index what is covered once, so the check is linear in elements + plays:
    // (purpose, step, type, segment) with `None` meaning "every type/segment".
    let mut covered: BTreeSet<(bool, Step, Option<&str>, Option<&str>)> = BTreeSet::new();
    for e in &p.elements {
        let enable = e.purpose == Purpose::Enable;
        let types: Vec<Option<&str>> = if e.eligibility.types.is_empty() {
            vec![None]
        } else {
            e.eligibility
                .types
                .iter()
                .map(|t| Some(t.get_ref().as_str()))
                .collect()
        };
        let segments: Vec<Option<&str>> = if e.eligibility.segments.is_empty() {
            vec![None]
        } else {
            e.eligibility
                .segments
                .iter()
                .map(|s| Some(s.get_ref().as_str()))
                .collect()
        };
        for step in &e.steps {
            for t in &types {
                for s in &segments {
                    covered.insert((enable, *step, *t, *s));
                }
            }
        }
    }
    for play in &p.plays {
        let (ty, seg) = (play.partner_type.get_ref(), play.segment.get_ref());
        for step in Step::ALL {
            let who = play.steps.get(step);
            if !who.involves_partner() {
                continue;
            }
            let role = if who == Performer::Joint {
                "jointly"
            } else {
                "alone"
            };
            for (enable, code, verb, examples) in [
                (
                    true,
                    "gtm-step-not-enabled",
                    "enables",
                    "training, tools, content, presales help…",
                ),
                (
                    false,
                    "gtm-step-not-motivated",
                    "motivates",
                    "margin, rebate, SPIF, recognition…",
                ),
            ] {
                let served = [
                    (Some(ty.as_str()), Some(seg.as_str())),
                    (None, Some(seg.as_str())),
                    (Some(ty.as_str()), None),
                    (None, None),
                ]
                .iter()
                .any(|(t, s)| covered.contains(&(enable, step, *t, *s)));
                if !served {
                    c.at(
                        code,
                        Severity::Error,
                        play.partner_type.span(),
                        format!("{ty} partners in {seg} perform `{}` ({role}) but no eligible element {verb} it ({examples})", step.as_str()),
                    );
                }
            }
        }
    }
}

fn objectives(c: &mut Checker, p: &Program) {
    for o in &p.objectives {
        let mut missing = Vec::new();
        if o.metric.as_deref().is_none_or(|m| m.trim().is_empty()) {
            missing.push("a metric");
        }
        if o.target.is_none_or(|t| t <= Decimal::ZERO) {
            missing.push("a positive target");
        }
        if o.period.as_deref().is_none_or(|m| m.trim().is_empty()) {
            missing.push("a period");
        }
        if !missing.is_empty() {
            c.at(
                "objective-unmeasurable",
                Severity::Error,
                o.id.span(),
                format!(
                    "objective `{}` has no {}",
                    o.id.get_ref(),
                    missing.join(", no ")
                ),
            );
        }
    }
}

fn one_size_fits_all(c: &mut Checker, p: &Program) {
    let types: BTreeSet<&str> = p
        .plays
        .iter()
        .map(|x| x.partner_type.get_ref().as_str())
        .collect();
    let segments: BTreeSet<&str> = p
        .plays
        .iter()
        .map(|x| x.segment.get_ref().as_str())
        .collect();
    if types.len() < 2 && segments.len() < 2 {
        return;
    }
    let same_plays = p.plays.windows(2).all(|w| w[0].steps == w[1].steps);
    let no_targeting = p
        .elements
        .iter()
        .all(|e| e.eligibility.types.is_empty() && e.eligibility.segments.is_empty());
    if same_plays && no_targeting {
        let span = p
            .plays
            .first()
            .map(|x| x.partner_type.span())
            .unwrap_or(0..0);
        c.at(
            "one-size-fits-all",
            Severity::Warning,
            span,
            format!(
                "{} partner types and {} segments get identical plays and every element is offered to all of them; tailor roles or elements to each",
                types.len(),
                segments.len()
            ),
        );
    }
}

fn deal_registration(c: &mut Checker, p: &Program) {
    let Some(d) = &p.rules.deal_registration else {
        return;
    };
    let span = c.header("rules.deal_registration");
    let max = p.check.max_deal_registration_fields;
    if d.required_fields.len() > max {
        c.at(
            "deal-registration-too-complex",
            Severity::Warning,
            span.clone(),
            format!("deal registration requires {} fields (more than {max}); every extra field costs registrations", d.required_fields.len()),
        );
    }
    if d.protection_days.unwrap_or(0) == 0 {
        c.at("deal-registration-too-complex", Severity::Warning, span, "deal registration gives no protection period, so registering earns the partner nothing".into());
    }
}

fn enablement_gated(c: &mut Checker, p: &Program) {
    for e in p
        .elements
        .iter()
        .filter(|e| e.purpose == Purpose::Enable && !e.eligibility.levels.is_empty())
    {
        let levels: Vec<&str> = e
            .eligibility
            .levels
            .iter()
            .map(|l| l.get_ref().as_str())
            .collect();
        c.at(
            "enablement-gated-by-tier",
            Severity::Warning,
            e.id.span(),
            format!("enablement element `{}` is only for {}; partners below them still represent the product", e.id.get_ref(), levels.join(", ")),
        );
    }
}

fn governance(c: &mut Checker, p: &Program) {
    let span = c.header("governance");
    if p.governance.feedback_channel.trim().is_empty() {
        c.at(
            "no-feedback-channel",
            Severity::Warning,
            span.clone(),
            "no partner feedback channel: say how partners are heard (council, survey, reviews)"
                .into(),
        );
    }
    if p.governance.review_cadence.trim().is_empty() {
        c.at(
            "no-review-cadence",
            Severity::Warning,
            span,
            "no review cadence: say how often the program is reviewed and by whom".into(),
        );
    }
}

fn fulfillment_heavy(c: &mut Checker, p: &Program) {
    let total: Decimal = p.elements.iter().map(|e| e.cost.annual()).sum();
    if total <= Decimal::ZERO {
        return;
    }
    let demand: Decimal = p
        .elements
        .iter()
        .filter(|e| e.investment == super::model::Investment::DemandCreation)
        .map(|e| e.cost.annual())
        .sum();
    let share = demand / total;
    if share < p.check.min_demand_creation_share {
        let span = p.elements.first().map(|e| e.id.span()).unwrap_or(0..0);
        c.at(
            "fulfillment-heavy",
            Severity::Warning,
            span,
            format!(
                "demand creation gets {}% of element cost ({} of {}); the program asks for at least {}%",
                (share * Decimal::ONE_HUNDRED).round_dp(1),
                demand.round_dp(2),
                total.round_dp(2),
                (p.check.min_demand_creation_share * Decimal::ONE_HUNDRED).round_dp(1)
            ),
        );
    }
}

fn negative_economics(c: &mut Checker, p: &Program) {
    for (row, e) in economics::table(p).iter().zip(&p.economics) {
        if row.ours.net_per_year < Decimal::ZERO || row.ours.net_per_deal < Decimal::ZERO {
            c.at(
                "negative-partner-economics",
                Severity::Error,
                e.partner_type.span(),
                format!(
                    "{} partners in {} lose money: {} {} per deal, {} {} per year",
                    row.partner_type,
                    row.segment,
                    row.ours.net_per_deal,
                    row.currency,
                    row.ours.net_per_year,
                    row.currency
                ),
            );
        }
    }
}

fn tiers(c: &mut Checker, p: &Program) {
    let certifications: BTreeSet<&str> = p
        .elements
        .iter()
        .filter(|e| e.kind == "certification")
        .map(|e| e.id.get_ref().as_str())
        .collect();
    let best_revenue: Option<Decimal> = p
        .economics
        .iter()
        .map(|e| e.avg_deal_size * e.deals_per_year)
        .max();
    for l in p.tiers.iter().chain(&p.tracks) {
        for cert in &l.qualification.certifications {
            if !certifications.contains(cert.as_str()) {
                c.at("tier-unreachable", Severity::Error, l.id.span(), format!("`{}` requires certification `{cert}`, which no certification element offers", l.id.get_ref()));
            }
        }
        if let Some(best) = best_revenue {
            for t in l
                .qualification
                .thresholds
                .iter()
                .filter(|t| t.metric == "revenue")
            {
                let needed = t.min * Decimal::from(12) / Decimal::from(t.window_months.max(1));
                if needed > best {
                    c.at(
                        "tier-unreachable",
                        Severity::Error,
                        l.id.span(),
                        format!("`{}` needs {} revenue a year, more than the best declared economics yield ({})", l.id.get_ref(), needed.round_dp(2), best.round_dp(2)),
                    );
                }
            }
        }
    }
    // A ladder must climb: each tier strictly harder than the one below it.
    for pair in p.tiers.windows(2) {
        if !harder(&pair[1], &pair[0]) {
            c.at(
                "overlapping-tiers",
                Severity::Error,
                pair[1].id.span(),
                format!("tier `{}` is not strictly harder to reach than `{}`, so partners qualify for both", pair[1].id.get_ref(), pair[0].id.get_ref()),
            );
        }
    }
}

/// `upper` asks at least as much as `lower` on everything and more on something.
fn harder(upper: &Level, lower: &Level) -> bool {
    let (u, l) = (&upper.qualification, &lower.qualification);
    let min_of = |q: &super::model::Qualification, metric: &str| {
        q.thresholds
            .iter()
            .filter(|t| t.metric == metric)
            .map(|t| t.min)
            .max()
    };
    let metrics: BTreeSet<&str> = u
        .thresholds
        .iter()
        .chain(&l.thresholds)
        .map(|t| t.metric.as_str())
        .collect();
    let mut strictly = false;
    for m in metrics {
        match (min_of(u, m), min_of(l, m)) {
            (Some(a), Some(b)) if a < b => return false,
            (Some(a), Some(b)) if a > b => strictly = true,
            (None, Some(_)) => return false,
            (Some(_), None) => strictly = true,
            _ => {}
        }
    }
    let uc: BTreeSet<&String> = u.certifications.iter().collect();
    let lc: BTreeSet<&String> = l.certifications.iter().collect();
    if !lc.is_subset(&uc) {
        return false;
    }
    strictly || uc.len() > lc.len()
}

/// Incentive rules decide money, so a typo must not pass silently: every SKU,
/// family, partner type, segment and level a rule names must exist, bands
/// must rise, windows must not end before they start, amounts must not be
/// negative, and rule ids (the statement lines' names) must be unique.
fn incentive_rules(c: &mut Checker, p: &Program) {
    let inc = &p.incentives;
    fn names(ids: Vec<&str>) -> BTreeSet<&str> {
        ids.into_iter().collect()
    }
    let skus = names(
        p.products
            .iter()
            .map(|x| x.sku.get_ref().as_str())
            .collect(),
    );
    let families = names(
        p.products
            .iter()
            .map(|x| x.family.as_str())
            .filter(|f| !f.is_empty())
            .collect(),
    );
    let types = names(
        p.partner_types
            .iter()
            .map(|x| x.id.get_ref().as_str())
            .collect(),
    );
    let segments = names(p.segments.iter().map(|x| x.id.get_ref().as_str()).collect());
    let levels = names(
        p.tiers
            .iter()
            .chain(&p.tracks)
            .map(|x| x.id.get_ref().as_str())
            .collect(),
    );
    let rules: Vec<(&Spanned<String>, &super::model::IncentiveEligibility)> = inc
        .rebates
        .iter()
        .map(|r| (&r.id, &r.eligible))
        .chain(inc.spifs.iter().map(|r| (&r.id, &r.eligible)))
        .chain(
            inc.deal_registration_uplifts
                .iter()
                .map(|r| (&r.id, &r.eligible)),
        )
        .chain(inc.fund_accruals.iter().map(|r| (&r.id, &r.eligible)))
        .collect();
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    for (id, e) in &rules {
        let (rule, span) = id_of(id);
        if let Some(first) = seen.get(rule) {
            let line = c.lines.location(*first).line;
            let msg = format!("incentive rule `{rule}` is already defined at line {line}; statement lines are named by rule id");
            c.at("duplicate-id", Severity::Error, span, msg);
        } else {
            seen.insert(rule, span.start);
        }
        for (list, known, what) in [
            (&e.skus, &skus, "SKU of [[products]]"),
            (&e.families, &families, "product family of [[products]]"),
            (&e.partner_types, &types, "partner type"),
            (&e.segments, &segments, "segment"),
            (&e.levels, &levels, "tier or track"),
        ] {
            for x in list
                .iter()
                .filter(|x| !known.contains(x.get_ref().as_str()))
            {
                let hint = if known.is_empty() {
                    "none are defined".to_string()
                } else {
                    format!(
                        "known: {}",
                        known.iter().copied().collect::<Vec<_>>().join(", ")
                    )
                };
                c.at(
                    "unknown-reference",
                    Severity::Error,
                    x.span(),
                    format!(
                        "incentive rule `{rule}` is limited to `{}`, which is not a {what} ({hint}), so it would never pay",
                        x.get_ref()
                    ),
                );
            }
        }
    }
    let negative = |c: &mut Checker, id: &Spanned<String>, what: &str, v: Option<Decimal>| {
        if let Some(v) = v.filter(|v| *v < Decimal::ZERO) {
            c.at(
                "incentive-negative-amount",
                Severity::Error,
                id.span(),
                format!(
                    "incentive rule `{}`: {what} is {v}; amounts and rates are never negative (returns already count against sales)",
                    id.get_ref()
                ),
            );
        }
    };
    for r in &inc.rebates {
        for (i, pair) in r.bands.windows(2).enumerate() {
            if pair[1].from <= pair[0].from {
                c.at(
                    "incentive-bands-out-of-order",
                    Severity::Error,
                    r.id.span(),
                    format!(
                        "rebate `{}`: band {} starts at {}, which is not above band {} at {}; list bands from the lowest `from` up",
                        r.id.get_ref(),
                        i + 2,
                        pair[1].from,
                        i + 1,
                        pair[0].from
                    ),
                );
            }
        }
        if r.bands.is_empty() {
            c.at(
                "incentive-bands-out-of-order",
                Severity::Error,
                r.id.span(),
                format!(
                    "rebate `{}` has no bands, so it would never pay",
                    r.id.get_ref()
                ),
            );
        }
        for (i, b) in r.bands.iter().enumerate() {
            negative(c, &r.id, &format!("band {} `from`", i + 1), Some(b.from));
            negative(
                c,
                &r.id,
                &format!("band {} `rate_pct`", i + 1),
                Some(b.rate_pct),
            );
        }
        negative(c, &r.id, "`cap`", r.cap);
    }
    for s in &inc.spifs {
        if s.to < s.from {
            c.at(
                "incentive-window-empty",
                Severity::Error,
                s.id.span(),
                format!(
                    "SPIF `{}` ends on {} before it starts on {}, so it would never pay",
                    s.id.get_ref(),
                    s.to,
                    s.from
                ),
            );
        }
        negative(c, &s.id, "`per_unit`", s.per_unit);
        negative(c, &s.id, "`per_deal`", s.per_deal);
    }
    for r in inc
        .deal_registration_uplifts
        .iter()
        .chain(&inc.fund_accruals)
    {
        negative(c, &r.id, "`rate_pct`", Some(r.rate_pct));
    }
}
