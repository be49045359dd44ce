//! CSV imports shared by the command line and the upload page: the vendor's
//! accounts and one partner's deal registrations. Every line is checked first;
//! a file with a bad line imports nothing, and each problem names its line.

use crate::db::Db;
use crate::http::api::deals::{AccountInput, RegisterDeal};
use crate::matcher::Matcher;
use crate::store::deals::{self, Resolved};
use crate::store::partners::Partner;
use crate::store::{accounts, Actor, StoreError};
use std::collections::BTreeMap;
use trellis_core::deals::Status;
use trellis_core::matching::{Candidate, Index, Kind};
use trellis_core::FieldErrors;

/// Why an import did not happen.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("{0}")]
    Rejected(Rejected),
    /// A request that cannot be carried out, its field named first
    /// (`period: …`).
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for ImportError {
    fn from(e: sqlx::Error) -> Self {
        ImportError::Store(e.into())
    }
}

type Result<T> = std::result::Result<T, ImportError>;

/// A file that could not be imported: one message per bad line.
#[derive(Debug)]
pub struct Rejected(pub Vec<String>);

impl std::fmt::Display for Rejected {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for l in &self.0 {
            writeln!(f, "{l}")?;
        }
        write!(f, "{} problem(s); nothing was imported", self.0.len())
    }
}

impl std::error::Error for Rejected {}

/// Rows of a CSV text with their line numbers, keyed by (lower-case) header name.
pub fn read(
    source: &str,
    text: &str,
    known: &[&str],
    extra_ok: impl Fn(&str) -> bool,
) -> Result<Vec<(u64, BTreeMap<String, String>)>> {
    let mut r = csv::ReaderBuilder::new()
        .flexible(false)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let headers: Vec<String> = r
        .headers()
        .map_err(|e| ImportError::Rejected(Rejected(vec![format!("{source}:1: {e}")])))?
        .iter()
        .map(|h| h.trim_start_matches('\u{feff}').to_ascii_lowercase())
        .collect();
    let unknown: Vec<&String> = headers
        .iter()
        .filter(|h| !known.contains(&h.as_str()) && !extra_ok(h))
        .collect();
    if !unknown.is_empty() {
        return Err(ImportError::Rejected(Rejected(vec![format!(
            "{source}:1: unknown column(s) {}; the columns are: {}",
            unknown
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            known.join(", ")
        )])));
    }
    let mut out = Vec::new();
    let mut problems = Vec::new();
    for rec in r.records() {
        match rec {
            Ok(rec) => {
                let line = rec.position().map(|p| p.line()).unwrap_or(0);
                let row = headers
                    .iter()
                    .cloned()
                    .zip(rec.iter().map(str::to_string))
                    .collect();
                out.push((line, row));
            }
            Err(e) => {
                let line = e.position().map(|p| p.line()).unwrap_or(0);
                problems.push(format!("{source}:{line}: {e}"));
            }
        }
    }
    if out.is_empty() && problems.is_empty() {
        problems.push(format!("{source}: no data lines under the header"));
    }
    if !problems.is_empty() {
        return Err(ImportError::Rejected(Rejected(problems)));
    }
    Ok(out)
}

fn opt(row: &BTreeMap<String, String>, k: &str) -> Option<String> {
    row.get(k)
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

fn describe(source: &str, line: u64, errs: &FieldErrors) -> String {
    let fields: Vec<String> = errs
        .0
        .iter()
        .map(|e| format!("{}: {}", e.field, e.message))
        .collect();
    format!("{source}:{line}: {}", fields.join("; "))
}

const ACCOUNT_COLUMNS: &[&str] = &[
    "external_id",
    "name",
    "domain",
    "country",
    "city",
    "owner",
    "house",
];

/// Imports the vendor's accounts; updates those whose `external_id` exists.
/// Returns (created, updated).
pub async fn accounts(db: &Db, actor: &Actor, source: &str, text: &str) -> Result<(usize, usize)> {
    let rows = read(source, text, ACCOUNT_COLUMNS, |_| false)?;
    let mut items = Vec::new();
    let mut problems = Vec::new();
    for (line, row) in &rows {
        let house = match opt(row, "house")
            .as_deref()
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            None | Some("no" | "false" | "0") => Some(false),
            Some("yes" | "true" | "1") => Some(true),
            Some(other) => {
                problems.push(format!(
                    "{source}:{line}: house: must be yes or no, not {other:?}"
                ));
                continue;
            }
        };
        let input = AccountInput {
            external_id: opt(row, "external_id"),
            name: opt(row, "name").unwrap_or_default(),
            domain: opt(row, "domain"),
            country: opt(row, "country").unwrap_or_default(),
            city: opt(row, "city"),
            owner: opt(row, "owner"),
            house,
        };
        match input.validate() {
            Ok(a) => items.push(a),
            Err(e) => problems.push(describe(source, *line, &e)),
        }
    }
    if !problems.is_empty() {
        return Err(ImportError::Rejected(Rejected(problems)));
    }
    Ok(accounts::upsert_many(db, actor, &items).await?)
}

const DEAL_COLUMNS: &[&str] = &[
    "customer_name",
    "customer_domain",
    "contact_email",
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

/// Imports registrations for one partner, submitting each: all lines are
/// checked first and the file is written in one transaction, or not at all.
/// Lines that match earlier lines of the same file go to review.
/// Returns the number of registrations by resulting status.
pub async fn deals(
    db: &Db,
    matcher: &Matcher,
    actor: &Actor,
    partner: &Partner,
    source: &str,
    text: &str,
) -> Result<BTreeMap<String, usize>> {
    let (program, rules) = deals::rules_for(db, &partner.id).await?;
    let custom: Vec<String> = rules
        .custom_fields()
        .iter()
        .map(|(f, _)| f.to_string())
        .collect();
    let rows = read(source, text, DEAL_COLUMNS, |h| {
        custom.iter().any(|c| c == h)
    })?;
    let today = deals::today();
    let mut valid = Vec::new();
    let mut problems = Vec::new();
    for (line, row) in &rows {
        let fields: BTreeMap<String, String> = custom
            .iter()
            .filter_map(|c| opt(row, c).map(|v| (c.clone(), v)))
            .collect();
        let body = RegisterDeal {
            partner_id: None,
            customer_name: opt(row, "customer_name").unwrap_or_default(),
            customer_domain: opt(row, "customer_domain"),
            contact_email: opt(row, "contact_email"),
            country: opt(row, "country").unwrap_or_default(),
            city: opt(row, "city"),
            address: opt(row, "address"),
            tax_id: opt(row, "tax_id"),
            products: opt(row, "products"),
            amount: opt(row, "amount").unwrap_or_default(),
            currency: opt(row, "currency").unwrap_or_default(),
            expected_close: opt(row, "expected_close").unwrap_or_default(),
            seller: opt(row, "seller"),
            notes: opt(row, "notes"),
            fields: (!fields.is_empty()).then_some(fields),
            submit: Some(true),
        };
        match body.validate(&rules, &today) {
            Ok(d) => valid.push((*line, d)),
            Err(e) => problems.push(describe(source, *line, &e)),
        }
    }
    if !problems.is_empty() {
        return Err(ImportError::Rejected(Rejected(problems)));
    }
    // Earlier lines of this file, as registrations of this partner.
    let mut local = Index::default();
    let mut found_all = Vec::new();
    for (i, (_, d)) in valid.iter().enumerate() {
        let mut found = deals::conflicts(db, matcher, &d.customer(), None).await?;
        for c in local.search(&d.customer(), 3, rules.conflict_threshold) {
            found.push(Resolved {
                partner_id: Some(partner.id.clone()),
                partner_name: Some(partner.name.clone()),
                customer_name: c.id.clone(),
                status: Some(Status::Submitted),
                house: false,
                owner: None,
                submitted_at: None,
                candidate: Candidate {
                    id: format!("d:{}", c.id),
                    ..c
                },
            });
        }
        found.sort_by(|a, b| b.candidate.score.total_cmp(&a.candidate.score));
        local.upsert(
            &format!("line {}", valid[i].0),
            Kind::Registration,
            &d.customer(),
        );
        found_all.push(found);
    }
    let mut tx = db.begin_write().await?;
    let mut by_status: BTreeMap<String, usize> = BTreeMap::new();
    for ((_, d), found) in valid.iter().zip(&found_all) {
        let deal = deals::insert(
            &mut tx,
            actor,
            partner,
            program.as_deref(),
            &rules,
            d,
            true,
            found,
        )
        .await?;
        *by_status.entry(deal.status).or_default() += 1;
    }
    tx.commit().await?;
    matcher.sync(db).await?;
    Ok(by_status)
}
