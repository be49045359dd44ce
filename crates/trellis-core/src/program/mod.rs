//! The partner program as code: the definition ([`model`]), reading it
//! ([`parse`]), checking it before launch ([`lint`]) and partner economics
//! ([`economics`]).

pub mod diff;
pub mod economics;
pub mod json;
pub mod lint;
pub mod model;
pub mod parse;
pub mod schema;
pub mod view;

#[cfg(test)]
mod tests;

pub use lint::{check, Finding, Severity};
pub use model::Program;
pub use parse::{parse, Location, ParseError};

use crate::validate::{FieldError, FieldErrors};

/// A program source that has been read and checked.
#[derive(Debug, Clone)]
pub struct Checked {
    /// Canonical TOML (JSON uploads are converted).
    pub source: String,
    pub program: Program,
    pub findings: Vec<Finding>,
}

impl Checked {
    /// Parses and checks a TOML source.
    pub fn new(source: String) -> Result<Checked, ParseError> {
        let program = parse(&source)?;
        let findings = lint::check(&program, &source);
        Ok(Checked {
            source,
            program,
            findings,
        })
    }

    pub fn errors(&self) -> usize {
        self.findings
            .iter()
            .filter(|f| f.severity == Severity::Error)
            .count()
    }

    pub fn warnings(&self) -> usize {
        self.findings.len() - self.errors()
    }
}

/// Where a version of a program stands: draft → published → retired.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "kebab-case")]
pub enum VersionStatus {
    Draft,
    Published,
    Retired,
}

impl VersionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            VersionStatus::Draft => "draft",
            VersionStatus::Published => "published",
            VersionStatus::Retired => "retired",
        }
    }

    pub fn parse(field: &str, raw: &str) -> Result<VersionStatus, FieldError> {
        match raw {
            "draft" => Ok(VersionStatus::Draft),
            "published" => Ok(VersionStatus::Published),
            "retired" => Ok(VersionStatus::Retired),
            other => Err(FieldError::new(
                field,
                "invalid-value",
                format!("{field} must be draft, published or retired, not {other:?}"),
            )),
        }
    }
}

impl std::fmt::Display for VersionStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Checks an enrollment (partner type, segment, optional tier or track)
/// against a published program, naming each id that is not in it.
pub fn check_enrollment(
    p: &Program,
    partner_type: &str,
    segment: &str,
    level: Option<&str>,
) -> Result<(), FieldErrors> {
    let mut errs = FieldErrors::new();
    let one_of = |ids: Vec<&str>| ids.join(", ");
    let types: Vec<&str> = p
        .partner_types
        .iter()
        .map(|t| t.id.get_ref().as_str())
        .collect();
    if !types.contains(&partner_type) {
        errs.push(FieldError::new(
            "partner_type",
            "unknown-reference",
            format!(
                "partner_type must be one of the program's types: {}",
                one_of(types)
            ),
        ));
    }
    let segments: Vec<&str> = p.segments.iter().map(|s| s.id.get_ref().as_str()).collect();
    if !segments.contains(&segment) {
        errs.push(FieldError::new(
            "segment",
            "unknown-reference",
            format!(
                "segment must be one of the program's segments: {}",
                one_of(segments)
            ),
        ));
    }
    if let Some(l) = level {
        let levels = view::level_ids(p);
        if !levels.contains(&l) {
            errs.push(FieldError::new(
                "level",
                "unknown-reference",
                format!(
                    "level must be one of the program's tiers or tracks: {}",
                    one_of(levels)
                ),
            ));
        }
    }
    errs.into_result()
}
