//! `trellis import accounts|deals FILE.csv` and `trellis conflicts check`:
//! CSV in, per-line errors with line numbers, all or nothing per file.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use trellis_core::deals::Status;
use trellis_core::matching::{Candidate, Customer, Index, Kind};
use trellis_core::FieldErrors;
use trellis_server::db::Db;
use trellis_server::http::api::deals::{AccountInput, RegisterDeal};
use trellis_server::matcher::Matcher;
use trellis_server::store::deals::{self, Resolved};
use trellis_server::store::{accounts, partners, Actor};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error + Send + Sync>>;

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

/// Rows of a CSV file with their line numbers, keyed by header name.
fn read(
    path: &Path,
    known: &[&str],
    extra_ok: impl Fn(&str) -> bool,
) -> Result<Vec<(u64, BTreeMap<String, String>)>> {
    let file =
        std::fs::File::open(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let mut r = csv::ReaderBuilder::new()
        .flexible(false)
        .trim(csv::Trim::All)
        .from_reader(file);
    let headers: Vec<String> = r
        .headers()
        .map_err(|e| format!("{}:1: {e}", path.display()))?
        .iter()
        .map(|h| h.trim_start_matches('\u{feff}').to_ascii_lowercase())
        .collect();
    let unknown: Vec<&String> = headers
        .iter()
        .filter(|h| !known.contains(&h.as_str()) && !extra_ok(h))
        .collect();
    if !unknown.is_empty() {
        return Err(Rejected(vec![format!(
            "{}:1: unknown column(s) {}; the columns are: {}",
            path.display(),
            unknown
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            known.join(", ")
        )])
        .into());
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
                problems.push(format!("{}:{line}: {e}", path.display()));
            }
        }
    }
    if !problems.is_empty() {
        return Err(Rejected(problems).into());
    }
    Ok(out)
}

fn opt(row: &BTreeMap<String, String>, k: &str) -> Option<String> {
    row.get(k)
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

fn describe(path: &Path, line: u64, errs: &FieldErrors) -> String {
    let fields: Vec<String> = errs
        .0
        .iter()
        .map(|e| format!("{}: {}", e.field, e.message))
        .collect();
    format!("{}:{line}: {}", path.display(), fields.join("; "))
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
pub async fn accounts(db: &Db, path: &Path) -> Result<()> {
    let rows = read(path, ACCOUNT_COLUMNS, |_| false)?;
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
                    "{}:{line}: house: must be yes or no, not {other:?}",
                    path.display()
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
            Err(e) => problems.push(describe(path, *line, &e)),
        }
    }
    if !problems.is_empty() {
        return Err(Rejected(problems).into());
    }
    let (created, updated) = accounts::upsert_many(db, &Actor::cli(), &items).await?;
    println!(
        "{}: {created} account(s) created, {updated} updated",
        path.display()
    );
    Ok(())
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
pub async fn deals(db: &Db, path: &Path, partner_slug: &str) -> Result<()> {
    let partner = partners::get_by_slug(db, partner_slug)
        .await?
        .ok_or_else(|| format!("no partner with slug {partner_slug:?}"))?;
    let (program, rules) = deals::rules_for(db, &partner.id).await?;
    let custom: Vec<String> = rules
        .custom_fields()
        .iter()
        .map(|(f, _)| f.to_string())
        .collect();
    let rows = read(path, DEAL_COLUMNS, |h| custom.iter().any(|c| c == h))?;
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
            Err(e) => problems.push(describe(path, *line, &e)),
        }
    }
    if !problems.is_empty() {
        return Err(Rejected(problems).into());
    }
    let matcher = Matcher::load(db).await?;
    let actor = Actor::cli();
    // Earlier lines of this file, as registrations of this partner.
    let mut local = Index::default();
    let mut found_all = Vec::new();
    for (i, (_, d)) in valid.iter().enumerate() {
        let mut found = deals::conflicts(db, &matcher, &d.customer(), None).await?;
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
            &actor,
            &partner,
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
    let summary: Vec<String> = by_status.iter().map(|(s, n)| format!("{n} {s}")).collect();
    println!(
        "{}: {} registration(s) for {}: {}",
        path.display(),
        valid.len(),
        partner.name,
        summary.join(", ")
    );
    Ok(())
}

const CHECK_COLUMNS: &[&str] = &[
    "id",
    "customer_name",
    "customer_domain",
    "contact_email",
    "country",
    "city",
];

/// One result line per input line: the best candidate and why.
pub async fn check(db: &Db, path: &Path, threshold: f64) -> Result<()> {
    let rows = read(path, CHECK_COLUMNS, |_| false)?;
    let matcher = Matcher::load(db).await?;
    let mut out = csv::Writer::from_writer(std::io::stdout().lock());
    out.write_record([
        "line",
        "id",
        "customer_name",
        "conflict",
        "score",
        "kind",
        "record_id",
        "record_name",
        "partner",
        "reasons",
    ])?;
    for (line, row) in &rows {
        let name = opt(row, "customer_name").unwrap_or_default();
        let country = opt(row, "country").unwrap_or_default();
        let domain = opt(row, "customer_domain").or_else(|| opt(row, "contact_email"));
        let city = opt(row, "city");
        let customer = Customer {
            name: &name,
            domain: domain.as_deref(),
            country: &country,
            city: city.as_deref(),
        };
        let found = deals::conflicts(db, &matcher, &customer, None).await?;
        let line_s = line.to_string();
        let id = opt(row, "id").unwrap_or_default();
        match found.first() {
            Some(r) => {
                let v = r.for_vendor();
                out.write_record([
                    line_s.as_str(),
                    &id,
                    &name,
                    if r.candidate.score >= threshold {
                        "yes"
                    } else {
                        "no"
                    },
                    &format!("{:.3}", r.candidate.score),
                    &v.kind,
                    v.record_id.as_deref().unwrap_or(""),
                    v.customer_name.as_deref().unwrap_or(""),
                    v.partner_name.as_deref().unwrap_or(""),
                    &v.reasons.join("; "),
                ])?;
            }
            None => {
                out.write_record([line_s.as_str(), &id, &name, "no", "", "", "", "", "", ""])?
            }
        }
    }
    out.flush()?;
    std::io::stdout().flush()?;
    Ok(())
}
