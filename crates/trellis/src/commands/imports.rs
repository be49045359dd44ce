//! `trellis import accounts|deals FILE.csv` and `trellis conflicts check`.

use super::{Context, Result};
use std::io::Write;
use std::path::Path;
use trellis_core::matching::Customer;
use trellis_server::app::{deals, imports, Actor};
use trellis_server::store::partners;

pub fn text(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()).into())
}

pub async fn accounts(cx: &Context, path: &Path) -> Result<()> {
    let source = path.display().to_string();
    let (created, updated) =
        imports::accounts(&cx.app, &Actor::cli(), &source, &text(path)?).await?;
    println!("{source}: {created} account(s) created, {updated} updated");
    Ok(())
}

pub async fn deals(cx: &Context, path: &Path, partner_slug: &str) -> Result<()> {
    let source = path.display().to_string();
    let partner = partners::get_by_slug(&cx.app.db, partner_slug)
        .await?
        .ok_or_else(|| format!("no partner with slug {partner_slug:?}"))?;
    let by_status = imports::deals(&cx.app, &Actor::cli(), &partner, &source, &text(path)?).await?;
    let n: usize = by_status.values().sum();
    let summary: Vec<String> = by_status.iter().map(|(s, n)| format!("{n} {s}")).collect();
    println!(
        "{source}: {n} registration(s) for {}: {}",
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

/// The best `top` candidates of each input line, one result line each
/// (rank 1 first), and why; an input line without a candidate scoring
/// `min_score` gets one line with no candidate.
pub async fn check(
    cx: &Context,
    path: &Path,
    threshold: f64,
    top: usize,
    min_score: f64,
) -> Result<()> {
    let source = path.display().to_string();
    let rows = imports::read(&source, &text(path)?, CHECK_COLUMNS, |_| false)?;
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
        "rank",
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
        let found = deals::candidates(&cx.app, &customer, None, top, min_score).await?;
        let line_s = line.to_string();
        let id = opt(row, "id").unwrap_or_default();
        if found.is_empty() {
            out.write_record([
                line_s.as_str(),
                &id,
                &name,
                "no",
                "",
                "",
                "",
                "",
                "",
                "",
                "",
            ])?;
        }
        for (rank, r) in found.iter().enumerate() {
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
                &(rank + 1).to_string(),
            ])?;
        }
    }
    out.flush()?;
    std::io::stdout().flush()?;
    Ok(())
}

fn opt(row: &std::collections::BTreeMap<String, String>, k: &str) -> Option<String> {
    row.get(k)
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}
