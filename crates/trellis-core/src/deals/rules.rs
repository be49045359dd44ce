//! The rules of engagement that decide a submitted registration: required
//! fields, protection and extensions, auto-approval, first-come precedence,
//! house accounts.

use super::Status;
use crate::matching::{Candidate, Kind};
use crate::validate::{FieldError, FieldErrors};
use serde::Serialize;

/// The fields a registration can carry, by the names rules of engagement use.
pub const FIELDS: &[&str] = &[
    "customer_name",
    "customer_domain",
    "country",
    "city",
    "address",
    "tax_id",
    "products",
    "amount",
    "currency",
    "expected_close",
    "seller",
    "notes",
];

/// What a registration's required fields are when no program says otherwise.
pub const DEFAULT_REQUIRED: &[&str] = &[
    "customer_name",
    "customer_domain",
    "country",
    "amount",
    "currency",
    "expected_close",
];

/// The rules of engagement that apply to one partner's registrations.
#[derive(Debug, Clone, PartialEq)]
pub struct Rules {
    pub required_fields: Vec<String>,
    pub protection_days: u32,
    pub extension_days: u32,
    pub max_extensions: u32,
    /// Conflict score from which a candidate is a conflict (0–1).
    pub conflict_threshold: f64,
    /// Approve without review when nothing conflicts.
    pub auto_approve: bool,
    /// What a partner may learn of another's conflicting registration:
    /// `nothing` or `existence`.
    pub conflict_visibility: String,
    /// The program's currency, used when a registration gives none.
    pub currency: Option<String>,
    /// Optional program-specific fields (names not in [`FIELDS`]).
    pub optional_fields: Vec<String>,
}

impl Rules {
    /// Required and optional fields that are not standard registration
    /// fields: the program's own, kept with the deal.
    pub fn custom_fields(&self) -> Vec<(&str, bool)> {
        self.required_fields
            .iter()
            .map(|f| (f.as_str(), true))
            .chain(self.optional_fields.iter().map(|f| (f.as_str(), false)))
            .filter(|(f, _)| !FIELDS.contains(f))
            .collect()
    }
}

impl Default for Rules {
    fn default() -> Self {
        Rules {
            required_fields: DEFAULT_REQUIRED.iter().map(|s| s.to_string()).collect(),
            protection_days: 90,
            extension_days: 30,
            max_extensions: 1,
            conflict_threshold: 0.8,
            auto_approve: false,
            conflict_visibility: "existence".into(),
            currency: None,
            optional_fields: Vec::new(),
        }
    }
}

impl Rules {
    /// The rules a program's `[rules.deal_registration]` states.
    pub fn from_program(p: &crate::program::Program) -> Rules {
        let currency = Some(p.program.currency.clone()).filter(|c| !c.is_empty());
        let Some(d) = &p.rules.deal_registration else {
            return Rules {
                currency,
                ..Rules::default()
            };
        };
        let threshold = d
            .auto_approve_below
            .and_then(|t| t.to_string().parse::<f64>().ok())
            .filter(|t| (0.0..=1.0).contains(t));
        Rules {
            required_fields: if d.required_fields.is_empty() {
                Rules::default().required_fields
            } else {
                d.required_fields.clone()
            },
            protection_days: d.protection_days.unwrap_or(90),
            extension_days: d.extension_days,
            max_extensions: d.max_extensions,
            conflict_threshold: threshold.unwrap_or(0.8),
            auto_approve: threshold.is_some(),
            conflict_visibility: d.conflict_visibility.clone(),
            currency,
            optional_fields: d.optional_fields.clone(),
        }
    }
}

/// What the rules decided about a submitted registration.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Decision {
    /// `approved`, `rejected` or `submitted` (waits for the vendor).
    pub status: Status,
    /// Which rule applied, e.g. `auto-approve`, `first-come`, `house-account`, `review`.
    pub rule: &'static str,
    pub reason: String,
}

/// A candidate as the rules see it: the matcher's result, plus whether it is
/// another partner's live registration or a house account.
#[derive(Debug, Clone)]
pub struct Conflict<'a> {
    pub candidate: &'a Candidate,
    /// For registrations: the registering partner is someone else.
    pub other_partner: bool,
    /// For registrations: it still holds its claim (submitted, approved, more-info).
    pub holds_claim: bool,
    /// For accounts: a house account no partner may register.
    pub house: bool,
}

/// Applies the rules of engagement, in order: house-account exclusion,
/// first-come precedence, review of other conflicts, auto-approval.
pub fn decide(rules: &Rules, conflicts: &[Conflict<'_>]) -> Decision {
    let t = rules.conflict_threshold;
    let above: Vec<&Conflict> = conflicts
        .iter()
        .filter(|c| c.candidate.score >= t)
        .collect();
    if let Some(c) = above
        .iter()
        .find(|c| c.candidate.kind == Kind::Account && c.house)
    {
        return Decision {
            status: Status::Rejected,
            rule: "house-account",
            reason: format!(
                "the customer is a house account of the vendor (match {:.2}); house accounts cannot be registered",
                c.candidate.score
            ),
        };
    }
    if let Some(c) = above
        .iter()
        .find(|c| c.candidate.kind == Kind::Registration && c.other_partner && c.holds_claim)
    {
        return Decision {
            status: Status::Rejected,
            rule: "first-come",
            reason: format!(
                "another partner registered this customer first (match {:.2}); the earlier registration has precedence",
                c.candidate.score
            ),
        };
    }
    if let Some(c) = above.first() {
        return Decision {
            status: Status::Submitted,
            rule: "review",
            reason: format!(
                "possible conflict with {} (match {:.2}): the vendor reviews it",
                match c.candidate.kind {
                    Kind::Account => "an existing customer of the vendor",
                    Kind::Registration => "an earlier registration",
                    Kind::Partner | Kind::Application => "another record",
                },
                c.candidate.score
            ),
        };
    }
    if rules.auto_approve {
        Decision {
            status: Status::Approved,
            rule: "auto-approve",
            reason: format!("no conflict scored {t:.2} or more"),
        }
    } else {
        Decision {
            status: Status::Submitted,
            rule: "review",
            reason: "the program approves every registration by hand".into(),
        }
    }
}

/// Validates that every required field is present: standard fields by
/// their [`FIELDS`] name, the program's own fields by theirs.
pub fn require(rules: &Rules, present: impl Fn(&str) -> bool, errs: &mut FieldErrors) {
    for f in &rules.required_fields {
        // The domain can come from a contact e-mail; the currency from the program.
        let ok = present(f)
            || (f == "customer_domain" && present("contact_email"))
            || (f == "currency" && rules.currency.is_some());
        if !ok {
            errs.push(FieldError::new(
                f.as_str(),
                "required",
                format!("{f} is required by the program's rules of engagement"),
            ));
        }
    }
}
