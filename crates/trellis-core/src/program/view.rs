//! Read-only views of a program: the go-to-market role matrix of the console,
//! and the program as it applies to one partner (its role in each step, its
//! benefits and the requirements of each tier or track).

use super::economics::{self, Row};
use super::model::{Element, Level, Performer, Program, Purpose, Qualification, Step};
use serde::Serialize;

/// An element named in a view.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ElementRef {
    pub id: String,
    pub name: String,
}

impl ElementRef {
    fn of(e: &Element) -> ElementRef {
        ElementRef {
            id: e.id.get_ref().clone(),
            name: if e.name.is_empty() {
                e.id.get_ref().clone()
            } else {
                e.name.clone()
            },
        }
    }
}

/// One step for one partner type × segment: who performs it and what serves it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Cell {
    pub step: Step,
    pub performer: Performer,
    pub enabled_by: Vec<ElementRef>,
    pub motivated_by: Vec<ElementRef>,
    /// The partner takes part but nothing eligible enables it.
    pub missing_enablement: bool,
    /// The partner takes part but nothing eligible motivates it.
    pub missing_motivation: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HandoffView {
    pub from: Step,
    pub to: Step,
    pub note: String,
}

/// One play: a partner type in a segment, step by step.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MatrixRow {
    pub partner_type: String,
    pub segment: String,
    pub cells: Vec<Cell>,
    pub handoffs: Vec<HandoffView>,
}

impl MatrixRow {
    pub fn gaps(&self) -> usize {
        self.cells
            .iter()
            .map(|c| usize::from(c.missing_enablement) + usize::from(c.missing_motivation))
            .sum()
    }
}

fn serves(e: &Element, purpose: Purpose, step: Step, ty: &str, seg: &str) -> bool {
    e.purpose == purpose && e.steps.contains(&step) && e.eligibility.covers(ty, seg)
}

fn cells(p: &Program, ty: &str, seg: &str, who: impl Fn(Step) -> Performer) -> Vec<Cell> {
    Step::ALL
        .iter()
        .map(|&step| {
            let performer = who(step);
            let pick = |purpose| -> Vec<ElementRef> {
                p.elements
                    .iter()
                    .filter(|e| serves(e, purpose, step, ty, seg))
                    .map(ElementRef::of)
                    .collect()
            };
            let enabled_by = pick(Purpose::Enable);
            let motivated_by = pick(Purpose::Motivate);
            Cell {
                step,
                performer,
                missing_enablement: performer.involves_partner() && enabled_by.is_empty(),
                missing_motivation: performer.involves_partner() && motivated_by.is_empty(),
                enabled_by,
                motivated_by,
            }
        })
        .collect()
}

/// The GTM role matrix: every play, step by step, with the elements that
/// enable and motivate each step and the uncovered cells flagged (the same
/// coverage rule as `gtm-step-not-enabled` / `gtm-step-not-motivated`).
pub fn matrix(p: &Program) -> Vec<MatrixRow> {
    p.plays
        .iter()
        .map(|play| {
            let (ty, seg) = (play.partner_type.get_ref(), play.segment.get_ref());
            MatrixRow {
                partner_type: ty.clone(),
                segment: seg.clone(),
                cells: cells(p, ty, seg, |s| play.steps.get(s)),
                handoffs: play
                    .handoffs
                    .iter()
                    .map(|h| HandoffView {
                        from: h.from,
                        to: h.to,
                        note: h.note.clone(),
                    })
                    .collect(),
            }
        })
        .collect()
}

/// A benefit as a partner sees it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Benefit {
    pub id: String,
    pub name: String,
    pub kind: String,
    pub purpose: Purpose,
    pub steps: Vec<Step>,
}

/// A tier or track and what it takes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LevelView {
    pub id: String,
    pub name: String,
    pub qualification: QualificationView,
    pub benefits: Vec<ElementRef>,
    /// The partner is at this level.
    pub current: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QualificationView {
    pub thresholds: Vec<ThresholdView>,
    pub certifications: Vec<ElementRef>,
    pub grace_days: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ThresholdView {
    pub metric: String,
    pub min: String,
    pub window_months: u32,
}

/// Deal-registration rules a partner needs to know.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DealRules {
    pub required_fields: Vec<String>,
    pub optional_fields: Vec<String>,
    pub protection_days: u32,
    pub extension_days: u32,
    pub max_extensions: u32,
}

/// The published program as it applies to one partner.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PartnerView {
    pub program: String,
    pub name: String,
    pub version: String,
    pub effective: String,
    pub currency: String,
    pub partner_type: ElementRef,
    pub segment: String,
    /// `tiers` or `tracks` (or `none`).
    pub structure: &'static str,
    /// The partner's role in each step (empty when no play covers its type × segment).
    pub steps: Vec<Cell>,
    pub benefits: Vec<Benefit>,
    pub levels: Vec<LevelView>,
    pub deal_registration: Option<DealRules>,
    pub lead_sharing: String,
    pub co_selling: String,
    pub feedback_channel: String,
    /// Expected economics for the partner's type × segment, if the program states them.
    pub economics: Option<Row>,
}

fn level_view(p: &Program, l: &Level, current: Option<&str>) -> LevelView {
    let element = |id: &str| {
        p.elements
            .iter()
            .find(|e| e.id.get_ref() == id)
            .map(ElementRef::of)
            .unwrap_or(ElementRef {
                id: id.to_string(),
                name: id.to_string(),
            })
    };
    let Qualification {
        thresholds,
        certifications,
        grace_days,
    } = &l.qualification;
    LevelView {
        id: l.id.get_ref().clone(),
        name: if l.name.is_empty() {
            l.id.get_ref().clone()
        } else {
            l.name.clone()
        },
        qualification: QualificationView {
            thresholds: thresholds
                .iter()
                .map(|t| ThresholdView {
                    metric: t.metric.clone(),
                    min: t.min.to_string(),
                    window_months: t.window_months,
                })
                .collect(),
            certifications: certifications.iter().map(|c| element(c)).collect(),
            grace_days: *grace_days,
        },
        benefits: l.benefits.iter().map(|b| element(b.get_ref())).collect(),
        current: current == Some(l.id.get_ref().as_str()),
    }
}

/// What the partner of `partner_type` in `segment`, at `level` (a tier or
/// track id, if any), gets from and owes to the program. Elements count as
/// benefits when their eligibility covers the type, segment and level.
pub fn for_partner(
    p: &Program,
    partner_type: &str,
    segment: &str,
    level: Option<&str>,
) -> PartnerView {
    let play = p
        .plays
        .iter()
        .find(|pl| pl.partner_type.get_ref() == partner_type && pl.segment.get_ref() == segment);
    let steps = match play {
        Some(play) => cells(p, partner_type, segment, |s| play.steps.get(s)),
        None => Vec::new(),
    };
    let level_ok = |e: &Element| {
        e.eligibility.levels.is_empty()
            || level.is_some_and(|l| e.eligibility.levels.iter().any(|x| x.get_ref() == l))
    };
    let benefits = p
        .elements
        .iter()
        .filter(|e| e.eligibility.covers(partner_type, segment) && level_ok(e))
        .map(|e| Benefit {
            id: e.id.get_ref().clone(),
            name: ElementRef::of(e).name,
            kind: e.kind.clone(),
            purpose: e.purpose,
            steps: e.steps.clone(),
        })
        .collect();
    let (structure, levels) = if !p.tiers.is_empty() {
        ("tiers", &p.tiers)
    } else if !p.tracks.is_empty() {
        ("tracks", &p.tracks)
    } else {
        ("none", &p.tiers)
    };
    let ty = p
        .partner_types
        .iter()
        .find(|t| t.id.get_ref() == partner_type);
    PartnerView {
        program: p.program.id.get_ref().clone(),
        name: p.program.name.clone(),
        version: p.program.version.clone(),
        effective: p.program.effective.clone(),
        currency: p.program.currency.clone(),
        partner_type: ElementRef {
            id: partner_type.to_string(),
            name: ty
                .map(|t| t.name.clone())
                .filter(|n| !n.is_empty())
                .unwrap_or_else(|| partner_type.to_string()),
        },
        segment: segment.to_string(),
        structure,
        steps,
        benefits,
        levels: levels.iter().map(|l| level_view(p, l, level)).collect(),
        deal_registration: p.rules.deal_registration.as_ref().map(|d| DealRules {
            required_fields: d.required_fields.clone(),
            optional_fields: d.optional_fields.clone(),
            protection_days: d.protection_days.unwrap_or(0),
            extension_days: d.extension_days,
            max_extensions: d.max_extensions,
        }),
        lead_sharing: p.rules.lead_sharing.clone(),
        co_selling: p.rules.co_selling.clone(),
        feedback_channel: p.governance.feedback_channel.clone(),
        economics: economics::table(p)
            .into_iter()
            .find(|r| r.partner_type == partner_type && r.segment == segment),
    }
}

/// The ids a partner can be enrolled with: types, segments, tiers and tracks.
pub fn level_ids(p: &Program) -> Vec<&str> {
    p.tiers
        .iter()
        .chain(&p.tracks)
        .map(|l| l.id.get_ref().as_str())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::program::{lint, parse};

    fn example() -> Program {
        parse(include_str!(
            "../../../../examples/programs/cloud-reseller.toml"
        ))
        .unwrap()
    }

    #[test]
    fn matrix_flags_exactly_what_the_checker_reports() {
        let src = include_str!("../../../../examples/programs/cloud-reseller.toml");
        let p = example();
        let rows = matrix(&p);
        assert_eq!(rows.len(), p.plays.len());
        assert_eq!(rows.iter().map(MatrixRow::gaps).sum::<usize>(), 0);
        // Take enablement away from every element: each partner step becomes a gap,
        // and the checker reports one finding per gap.
        let mut broken = p.clone();
        for e in &mut broken.elements {
            if e.purpose == Purpose::Enable {
                e.steps.clear();
            }
        }
        let gaps: usize = matrix(&broken).iter().map(MatrixRow::gaps).sum();
        let findings = lint::check(&broken, src)
            .into_iter()
            .filter(|f| f.code == "gtm-step-not-enabled")
            .count();
        assert!(gaps > 0);
        assert_eq!(gaps, findings);
    }

    #[test]
    fn partner_view_shows_role_benefits_and_levels() {
        let p = example();
        let play = &p.plays[0];
        let (ty, seg) = (play.partner_type.get_ref(), play.segment.get_ref());
        let first = p.tiers.first().map(|t| t.id.get_ref().as_str());
        let v = for_partner(&p, ty, seg, first);
        assert_eq!(v.steps.len(), 6);
        assert_eq!(v.structure, "tiers");
        assert!(!v.benefits.is_empty());
        assert_eq!(v.levels.iter().filter(|l| l.current).count(), 1);
        // Elements reserved for higher levels are not benefits at the first one.
        for e in p.elements.iter().filter(|e| {
            !e.eligibility.levels.is_empty()
                && !e
                    .eligibility
                    .levels
                    .iter()
                    .any(|l| Some(l.get_ref().as_str()) == first)
        }) {
            assert!(!v.benefits.iter().any(|b| b.id == *e.id.get_ref()));
        }
        assert!(v.economics.is_some());
    }
}
