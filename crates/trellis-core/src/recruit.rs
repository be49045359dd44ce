//! Recruiting partners: what an applicant tells us (validated against the
//! published program), how well it fits the program's ideal partner
//! profiles, criterion by criterion, and the partnership lifecycle that an
//! approved application starts.

use crate::program::model::{Criterion, Program};
use crate::validate::{Email, FieldError, FieldErrors, Name};
use rust_decimal::prelude::ToPrimitive;
use serde::{Deserialize, Serialize};

/// An application to become a partner, as submitted (form or API).
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = ApplyRequest))]
#[serde(deny_unknown_fields)]
pub struct ApplicationInput {
    /// The published program applied to (`[program].id`).
    pub program: String,
    pub company: String,
    /// Web domain or URL of the company (not a webmail domain).
    pub domain: String,
    /// ISO 3166-1 alpha-2.
    pub country: String,
    /// Number of employees.
    pub employees: String,
    /// A partner type of the program.
    pub partner_type: String,
    #[serde(default)]
    pub capabilities: Vec<String>,
    #[serde(default)]
    pub industries: Vec<String>,
    #[serde(default)]
    pub certifications: Vec<String>,
    /// Segment ids of the program the company targets.
    #[serde(default)]
    pub segments: Vec<String>,
    #[serde(default)]
    pub references: String,
    pub contact_name: String,
    pub contact_email: String,
}

/// A valid application.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Application {
    pub company: String,
    /// The registrable domain (`https://www.acme.co.uk` → `acme.co.uk`).
    pub domain: String,
    /// ISO 3166-1 alpha-2.
    pub country: String,
    pub employees: u32,
    pub partner_type: String,
    pub capabilities: Vec<String>,
    pub industries: Vec<String>,
    pub certifications: Vec<String>,
    pub segments: Vec<String>,
    pub references: String,
    pub contact_name: String,
    pub contact_email: String,
}

const MAX_LIST: usize = 20;

fn labels(field: &str, raw: &[String], errors: &mut FieldErrors) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for v in raw.iter().flat_map(|v| v.split(',')) {
        // "Cloud Migration" is written `cloud-migration`.
        let v = v
            .split_whitespace()
            .collect::<Vec<_>>()
            .join("-")
            .to_lowercase();
        if v.is_empty() {
            continue;
        }
        match crate::validate::label(field, &v) {
            Ok(l) if !out.contains(&l) => out.push(l),
            Ok(_) => {}
            Err(e) => {
                errors.push(e);
                return out;
            }
        }
    }
    if out.len() > MAX_LIST {
        errors.push(FieldError::new(
            field,
            "too-many",
            format!("{field}: at most {MAX_LIST} values"),
        ));
    }
    out
}

/// Checks an application. With a program, the partner type and segments
/// must be the program's.
pub fn validate(
    input: &ApplicationInput,
    program: Option<&Program>,
) -> Result<Application, FieldErrors> {
    let mut errors = FieldErrors::new();
    let company = errors.check(Name::parse("company", &input.company, 200));
    let domain = match crate::matching::normalize::domain(&input.domain) {
        Some(d) if !d.free_mail => Some(d.registrable),
        Some(_) => {
            errors.push(FieldError::new(
                "domain",
                "free-mail",
                "domain must be your company's own web domain, not a webmail provider",
            ));
            None
        }
        None => {
            errors.push(FieldError::new(
                "domain",
                "invalid-domain",
                "domain must be your company's web domain, like example.com",
            ));
            None
        }
    };
    let country = errors.check(crate::country::parse("country", &input.country));
    let employees = match input
        .employees
        .trim()
        .replace(['_', ' '], "")
        .parse::<u32>()
    {
        Ok(n) if (1..=10_000_000).contains(&n) => Some(n),
        _ => {
            errors.push(FieldError::new(
                "employees",
                "invalid-number",
                "employees must be a whole number from 1 to 10,000,000",
            ));
            None
        }
    };
    let partner_type = input.partner_type.trim().to_string();
    if partner_type.is_empty() {
        errors.push(FieldError::new(
            "partner_type",
            "required",
            "partner_type is required",
        ));
    } else if let Some(p) = program {
        if !p
            .partner_types
            .iter()
            .any(|t| *t.id.get_ref() == partner_type)
        {
            let known: Vec<&str> = p
                .partner_types
                .iter()
                .map(|t| t.id.get_ref().as_str())
                .collect();
            errors.push(FieldError::new(
                "partner_type",
                "unknown",
                format!("partner_type must be one of: {}", known.join(", ")),
            ));
        }
    }
    let capabilities = labels("capabilities", &input.capabilities, &mut errors);
    let industries = labels("industries", &input.industries, &mut errors);
    let certifications = labels("certifications", &input.certifications, &mut errors);
    let segments = labels("segments", &input.segments, &mut errors);
    if let Some(p) = program {
        for s in &segments {
            if !p.segments.iter().any(|x| x.id.get_ref() == s) {
                errors.push(FieldError::new(
                    "segments",
                    "unknown",
                    format!("segments: `{s}` is not a segment of the program"),
                ));
            }
        }
    }
    let references = input.references.trim().to_string();
    if let Err(e) = crate::validate::max_chars("references", &references, 2_000) {
        errors.push(e);
    }
    let contact_name = errors.check(Name::parse("contact_name", &input.contact_name, 200));
    let contact_email = errors.check(Email::parse("contact_email", &input.contact_email));
    errors.into_result()?;
    match (
        company,
        domain,
        country,
        employees,
        contact_name,
        contact_email,
    ) {
        (
            Some(company),
            Some(domain),
            Some(country),
            Some(employees),
            Some(contact_name),
            Some(email),
        ) => Ok(Application {
            company: company.into_string(),
            domain,
            country: country.to_string(),
            employees,
            partner_type,
            capabilities,
            industries,
            certifications,
            segments,
            references,
            contact_name: contact_name.into_string(),
            contact_email: email.as_str().to_string(),
        }),
        _ => Err(FieldErrors::new()),
    }
}

/// How one criterion of a profile applies to an application.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CriterionFit {
    pub attribute: String,
    pub weight: f64,
    /// In [0, 1].
    pub fit: f64,
    pub explanation: String,
}

/// How well an application fits one ideal partner profile.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProfileFit {
    pub profile: String,
    pub name: String,
    /// Weighted mean of the criteria, in [0, 1].
    pub score: f64,
    pub criteria: Vec<CriterionFit>,
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

fn set_fit(what: &str, has: &[String], wanted: &[String]) -> (f64, String) {
    if wanted.is_empty() {
        return (1.0, format!("any {what} will do"));
    }
    let (hit, miss): (Vec<&String>, Vec<&String>) = wanted.iter().partition(|w| has.contains(w));
    let fit = hit.len() as f64 / wanted.len() as f64;
    let join = |v: &[&String]| v.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ");
    let text = match (hit.is_empty(), miss.is_empty()) {
        (false, true) => format!("has every wanted {what}: {}", join(&hit)),
        (false, false) => format!("has {}; lacks {}", join(&hit), join(&miss)),
        _ => format!("none of the wanted {what}: {}", join(&miss)),
    };
    (fit, text)
}

fn any_fit(what: &str, has: &[String], wanted: &[String]) -> (f64, String) {
    if wanted.is_empty() {
        return (1.0, format!("any {what} will do"));
    }
    let hits: Vec<&str> = has
        .iter()
        .filter(|h| wanted.contains(h))
        .map(String::as_str)
        .collect();
    if hits.is_empty() {
        let has = if has.is_empty() {
            "none given".to_string()
        } else {
            has.join(", ")
        };
        (0.0, format!("{what} {has}, wanted {}", wanted.join(", ")))
    } else {
        (1.0, format!("{what} {} is wanted", hits.join(", ")))
    }
}

fn criterion_fit(c: &Criterion, a: &Application, program: &Program) -> CriterionFit {
    let wanted: Vec<String> = c.values.iter().map(|v| v.trim().to_lowercase()).collect();
    let (fit, explanation) = match c.attribute.as_str() {
        "employees" | "size" => {
            let n = f64::from(a.employees);
            let min = c.min.and_then(|m| m.to_f64());
            let max = c.max.and_then(|m| m.to_f64());
            let range = match (min, max) {
                (Some(lo), Some(hi)) => format!("{lo}–{hi}"),
                (Some(lo), None) => format!("at least {lo}"),
                (None, Some(hi)) => format!("at most {hi}"),
                (None, None) => "any".into(),
            };
            // Inside the range fits fully; outside, the fit falls with the ratio.
            let fit = match (min, max) {
                (Some(lo), _) if n < lo => n / lo,
                (_, Some(hi)) if n > hi => hi / n,
                _ => 1.0,
            };
            (fit, format!("{} employees, wanted {range}", a.employees))
        }
        "region" => {
            let regions: Vec<String> = a
                .segments
                .iter()
                .filter_map(|s| program.segments.iter().find(|x| x.id.get_ref() == s))
                .map(|s| s.region.to_lowercase())
                .filter(|r| !r.is_empty())
                .collect();
            any_fit("target region", &regions, &wanted)
        }
        "country" => {
            let wanted: Vec<String> = wanted.iter().map(|w| w.to_uppercase()).collect();
            any_fit("country", std::slice::from_ref(&a.country), &wanted)
        }
        "partner_type" | "type" => any_fit(
            "partner type",
            std::slice::from_ref(&a.partner_type),
            &wanted,
        ),
        "segments" => any_fit("segment", &a.segments, &wanted),
        "capabilities" => set_fit("capabilities", &a.capabilities, &wanted),
        "industries" => set_fit("industries", &a.industries, &wanted),
        "certifications" => set_fit("certifications", &a.certifications, &wanted),
        other => (
            0.0,
            format!("`{other}` is not asked on the application form"),
        ),
    };
    CriterionFit {
        attribute: c.attribute.clone(),
        weight: c.weight.to_f64().unwrap_or(0.0),
        fit: round2(fit.clamp(0.0, 1.0)),
        explanation,
    }
}

/// The fit of an application to each ideal partner profile, best first.
pub fn fit(program: &Program, a: &Application) -> Vec<ProfileFit> {
    let mut out: Vec<ProfileFit> = program
        .profiles
        .iter()
        .map(|p| {
            let criteria: Vec<CriterionFit> = p
                .criteria
                .iter()
                .map(|c| criterion_fit(c, a, program))
                .collect();
            let total: f64 = criteria.iter().map(|c| c.weight.max(0.0)).sum();
            let got: f64 = criteria.iter().map(|c| c.weight.max(0.0) * c.fit).sum();
            ProfileFit {
                profile: p.id.get_ref().clone(),
                name: p.name.clone(),
                score: if total > 0.0 {
                    round2(got / total)
                } else {
                    0.0
                },
                criteria,
            }
        })
        .collect();
    out.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then_with(|| a.profile.cmp(&b.profile))
    });
    out
}

/// Where a partnership stands (seed 002): four stages of a working
/// relationship, and two states outside them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "kebab-case")]
pub enum Stage {
    Formation,
    Enablement,
    Performing,
    Renewal,
    Suspended,
    Terminated,
}

impl Stage {
    /// The administrative status of a partner in this stage.
    pub fn partner_status(self) -> crate::org::PartnerStatus {
        use crate::org::PartnerStatus;
        match self {
            Stage::Formation => PartnerStatus::Onboarding,
            Stage::Enablement | Stage::Performing | Stage::Renewal => PartnerStatus::Active,
            Stage::Suspended => PartnerStatus::Suspended,
            Stage::Terminated => PartnerStatus::Terminated,
        }
    }

    /// The stage a partner created with `status` starts in.
    pub fn of_new_partner(status: crate::org::PartnerStatus) -> Stage {
        use crate::org::PartnerStatus;
        match status {
            PartnerStatus::Active => Stage::Performing,
            PartnerStatus::Suspended => Stage::Suspended,
            PartnerStatus::Terminated => Stage::Terminated,
            PartnerStatus::Prospect | PartnerStatus::Onboarding => Stage::Formation,
        }
    }

    pub const ALL: [Stage; 6] = [
        Stage::Formation,
        Stage::Enablement,
        Stage::Performing,
        Stage::Renewal,
        Stage::Suspended,
        Stage::Terminated,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Formation => "formation",
            Stage::Enablement => "enablement",
            Stage::Performing => "performing",
            Stage::Renewal => "renewal",
            Stage::Suspended => "suspended",
            Stage::Terminated => "terminated",
        }
    }

    pub fn parse(field: &str, raw: &str) -> Result<Stage, FieldError> {
        Stage::ALL
            .into_iter()
            .find(|s| s.as_str() == raw.trim())
            .ok_or_else(|| {
                FieldError::new(
                    field,
                    "invalid-value",
                    format!(
                        "{field} must be one of: {}",
                        Stage::ALL.map(Stage::as_str).join(", ")
                    ),
                )
            })
    }

    /// The stages reachable from this one. Forward one stage at a time,
    /// renewal back to performing (renewed) ; any live stage can be
    /// suspended, and a suspension lifted to any live stage; anything but
    /// termination can be terminated; termination is final.
    pub fn next(self) -> &'static [Stage] {
        use Stage::*;
        match self {
            Formation => &[Enablement, Suspended, Terminated],
            Enablement => &[Performing, Suspended, Terminated],
            Performing => &[Renewal, Suspended, Terminated],
            Renewal => &[Performing, Suspended, Terminated],
            Suspended => &[Formation, Enablement, Performing, Renewal, Terminated],
            Terminated => &[],
        }
    }

    /// Checks a move; the reason is required (every move is audited with it).
    pub fn move_to(self, to: Stage, reason: &str) -> Result<Stage, FieldError> {
        if reason.trim().is_empty() {
            return Err(FieldError::new(
                "reason",
                "required",
                "a reason is required",
            ));
        }
        if self.next().contains(&to) {
            Ok(to)
        } else {
            Err(FieldError::new(
                "stage",
                "invalid-transition",
                format!(
                    "a partnership in {} cannot move to {} (possible: {})",
                    self.as_str(),
                    to.as_str(),
                    if self.next().is_empty() {
                        "none".to_string()
                    } else {
                        self.next()
                            .iter()
                            .map(|s| s.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    }
                ),
            ))
        }
    }
}

/// The rules that move a partnership on by themselves: onboarding complete
/// → enablement; a first deal won while in enablement → performing.
pub fn stage_by_rule(
    stage: Stage,
    onboarding_done: bool,
    deals_won: u64,
) -> Option<(Stage, &'static str)> {
    match stage {
        Stage::Formation if onboarding_done => {
            Some((Stage::Enablement, "onboarding plan completed"))
        }
        Stage::Enablement if deals_won > 0 => Some((Stage::Performing, "first deal won")),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::program;

    fn cloud() -> Program {
        let src = include_str!("../../../examples/programs/cloud-reseller.toml");
        program::parse(src).expect("example parses")
    }

    fn input() -> ApplicationInput {
        ApplicationInput {
            company: "Kovalo Cloud GmbH".into(),
            domain: "https://www.kovalo.de/".into(),
            country: "de".into(),
            employees: "120".into(),
            partner_type: "reseller".into(),
            capabilities: vec!["cloud-migration, security".into()],
            segments: vec!["dach-midmarket".into()],
            contact_name: "Jana Vogel".into(),
            contact_email: "jana@kovalo.de".into(),
            ..Default::default()
        }
    }

    #[test]
    fn a_good_application_scores_with_explanations() {
        let p = cloud();
        let a = validate(&input(), Some(&p)).unwrap();
        assert_eq!(a.domain, "kovalo.de");
        assert_eq!(a.country, "DE");
        assert_eq!(a.capabilities, vec!["cloud-migration", "security"]);
        let fits = fit(&p, &a);
        let best = &fits[0];
        assert_eq!(best.profile, "ideal-reseller");
        // employees 0.3 × 1 + region 0.3 × 1 + capabilities 0.4 × 0.5 = 0.8
        assert!((best.score - 0.8).abs() < 1e-9, "{best:?}");
        let caps = best
            .criteria
            .iter()
            .find(|c| c.attribute == "capabilities")
            .unwrap();
        assert_eq!(caps.fit, 0.5);
        assert_eq!(
            caps.explanation,
            "has cloud-migration; lacks managed-services"
        );
        let region = best
            .criteria
            .iter()
            .find(|c| c.attribute == "region")
            .unwrap();
        assert_eq!(region.explanation, "target region dach is wanted");
    }

    #[test]
    fn size_outside_the_range_fits_in_proportion() {
        let p = cloud();
        let mut i = input();
        i.employees = "5".into();
        let a = validate(&i, Some(&p)).unwrap();
        let best = &fit(&p, &a)[0];
        let size = best
            .criteria
            .iter()
            .find(|c| c.attribute == "employees")
            .unwrap();
        assert_eq!(size.fit, 0.25);
        assert_eq!(size.explanation, "5 employees, wanted 20–500");
    }

    #[test]
    fn bad_input_names_every_field() {
        let p = cloud();
        let bad = ApplicationInput {
            company: " ".into(),
            domain: "someone@gmail.com".into(),
            country: "XX".into(),
            employees: "many".into(),
            partner_type: "wholesaler".into(),
            segments: vec!["mars".into()],
            contact_name: "J".into(),
            contact_email: "not-an-address".into(),
            ..Default::default()
        };
        let errs = validate(&bad, Some(&p)).unwrap_err();
        let fields: Vec<&str> = errs.0.iter().map(|e| e.field.as_str()).collect();
        for f in [
            "company",
            "domain",
            "country",
            "employees",
            "partner_type",
            "segments",
            "contact_email",
        ] {
            assert!(fields.contains(&f), "{f} missing from {fields:?}");
        }
        let mut no_domain = input();
        no_domain.domain = "not a domain".into();
        let errs = validate(&no_domain, Some(&p)).unwrap_err();
        assert_eq!(errs.0[0].code, "invalid-domain");
    }

    #[test]
    fn lifecycle_moves_only_along_its_edges() {
        use Stage::*;
        assert_eq!(Formation.move_to(Enablement, "plan done"), Ok(Enablement));
        let e = Formation.move_to(Performing, "skip").unwrap_err();
        assert_eq!(e.code, "invalid-transition");
        assert!(
            e.message
                .contains("possible: enablement, suspended, terminated"),
            "{e}"
        );
        assert_eq!(Performing.move_to(Suspended, "audit"), Ok(Suspended));
        assert_eq!(Suspended.move_to(Performing, "cleared"), Ok(Performing));
        assert_eq!(Renewal.move_to(Performing, "renewed"), Ok(Performing));
        assert!(Terminated.move_to(Formation, "again").is_err());
        assert_eq!(
            Formation.move_to(Enablement, " ").unwrap_err().field,
            "reason"
        );
        for s in Stage::ALL {
            assert_eq!(Stage::parse("stage", s.as_str()), Ok(s));
            assert!(!s.next().contains(&s), "{s:?} loops");
        }
        assert_eq!(
            stage_by_rule(Formation, true, 0),
            Some((Enablement, "onboarding plan completed"))
        );
        assert_eq!(stage_by_rule(Formation, false, 3), None);
        assert_eq!(
            stage_by_rule(Enablement, true, 1),
            Some((Performing, "first deal won"))
        );
        assert_eq!(stage_by_rule(Performing, true, 9), None);
    }
}
