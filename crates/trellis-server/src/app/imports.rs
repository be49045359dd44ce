//! CSV imports shared by the command line and the upload pages: the vendor's
//! accounts and one partner's deal registrations. Every line is checked
//! first; a file with a bad line imports nothing, and each problem names its
//! line.

use super::deals::{self, Resolved};
use super::{today, App, AppError, AppResult};
use crate::store::partners::Partner;
use crate::store::Actor;
use std::collections::BTreeMap;
use trellis_core::access::Principal;
use trellis_core::accounts::AccountInput;
use trellis_core::csvfile::{check_headers, header_name, Rejected};
use trellis_core::deals::{Registration, Status};
use trellis_core::matching::{Candidate, Index, Kind};
use trellis_core::FieldErrors;

/// A data line of a CSV file: its line number and its values by column name.
pub type Row = (u64, BTreeMap<String, String>);

/// Rows of a CSV text with their line numbers, keyed by (lower-case) header name.
pub fn read(
    source: &str,
    text: &str,
    known: &[&str],
    extra_ok: impl Fn(&str) -> bool,
) -> Result<Vec<Row>, Rejected> {
    let mut r = csv::ReaderBuilder::new()
        .flexible(false)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let headers: Vec<String> = r
        .headers()
        .map_err(|e| Rejected(vec![format!("{source}:1: {e}")]))?
        .iter()
        .map(header_name)
        .collect();
    check_headers(source, &headers, known, &[], extra_ok)?;
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
        return Err(Rejected(problems));
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
pub async fn accounts(
    app: &App,
    actor: &Actor,
    source: &str,
    text: &str,
) -> AppResult<(usize, usize)> {
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
        return Err(Rejected(problems).into());
    }
    let saved = deals::save_accounts(app, actor, &items).await?;
    let created = saved.iter().filter(|(_, c)| *c).count();
    Ok((created, saved.len() - created))
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

/// Imports registrations for the caller's own organisation (partner users)
/// or for `partner_id` (vendor users who manage that partner); see [`deals`].
pub async fn deals_for(
    app: &App,
    who: &Principal,
    actor: &Actor,
    partner_id: &str,
    source: &str,
    text: &str,
) -> AppResult<BTreeMap<String, usize>> {
    let partner_id = who.partner_id.as_deref().unwrap_or(partner_id);
    let partner = super::partners::visible(app, who, partner_id)
        .await
        .map_err(|e| {
            e.not_found_as_field(
                "partner_id",
                "required",
                "Choose the partner the deals belong to.",
            )
        })?;
    if who.is_vendor() && !who.can_manage_partner(partner.as_ref()) {
        return Err(AppError::forbidden(
            "Only the partner's channel manager or a vendor admin imports on its behalf.",
        ));
    }
    deals(app, actor, &partner, source, text).await
}

/// Imports registrations for one partner, submitting each: all lines are
/// checked first and the file is written in one transaction, or not at all.
/// Lines that match earlier lines of the same file go to review.
/// Returns the number of registrations by resulting status.
pub async fn deals(
    app: &App,
    actor: &Actor,
    partner: &Partner,
    source: &str,
    text: &str,
) -> AppResult<BTreeMap<String, usize>> {
    let (program, rules) = deals::rules_for(&app.db, &partner.id).await?;
    let custom: Vec<String> = rules
        .custom_fields()
        .iter()
        .map(|(f, _)| f.to_string())
        .collect();
    let rows = read(source, text, DEAL_COLUMNS, |h| {
        custom.iter().any(|c| c == h)
    })?;
    let today = today();
    let mut valid = Vec::new();
    let mut problems = Vec::new();
    for (line, row) in &rows {
        let fields: BTreeMap<String, String> = custom
            .iter()
            .filter_map(|c| opt(row, c).map(|v| (c.clone(), v)))
            .collect();
        let body = Registration {
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
        return Err(Rejected(problems).into());
    }
    // Earlier lines of this file, as registrations of this partner.
    let mut local = Index::default();
    let mut found_all = Vec::new();
    for (line, d) in &valid {
        let mut found = deals::conflicts(app, &d.customer(), None).await?;
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
        local.upsert(&format!("line {line}"), Kind::Registration, &d.customer());
        found_all.push(found);
    }
    let mut tx = app.db.begin_write().await?;
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
        *by_status
            .entry(deal.status.as_str().to_string())
            .or_default() += 1;
    }
    tx.commit().await?;
    app.matcher.sync_after_commit(&app.db).await;
    Ok(by_status)
}

const PARTNER_COLUMNS: &[&str] = &[
    "name",
    "slug",
    "partner_type",
    "region",
    "country",
    "status",
    "website",
    "channel_manager",
    "program",
    "program_partner_type",
    "segment",
    "level",
];

/// Imports partners (the command line: `trellis import partners`), each
/// enrolled in a published program when the line names one: all lines are
/// checked first (fields, slugs new and unique in the file, channel managers
/// known, the enrollment against the program's version in force), then the
/// file is written in one transaction, or not at all.
pub async fn partners(
    app: &App,
    who: &Principal,
    actor: &Actor,
    source: &str,
    text: &str,
) -> AppResult<Vec<Partner>> {
    use crate::store::{partners as partner_store, users};
    use trellis_core::program::{self, Program};
    if !who.can_create_partner() {
        return Err(AppError::forbidden("only vendor users can create partners"));
    }
    let rows = read(source, text, PARTNER_COLUMNS, |_| false)?;
    let mut programs: BTreeMap<String, Option<Program>> = BTreeMap::new();
    let mut slugs: BTreeMap<String, u64> = BTreeMap::new();
    let mut valid = Vec::new();
    let mut problems = Vec::new();
    for (line, row) in &rows {
        let mut here: Vec<String> = Vec::new();
        let manager = match opt(row, "channel_manager") {
            None => None,
            Some(email) => match users::by_email(&app.db, &email).await? {
                Some(u) if u.role.is_vendor() => Some(u.id),
                _ => {
                    here.push(format!(
                        "channel_manager: {email} is not a vendor user (invite them first)"
                    ));
                    None
                }
            },
        };
        let body = super::partners::CreatePartner {
            name: opt(row, "name").unwrap_or_default(),
            slug: opt(row, "slug"),
            partner_type: opt(row, "partner_type").unwrap_or_default(),
            region: opt(row, "region").unwrap_or_default(),
            country: opt(row, "country").unwrap_or_default(),
            status: opt(row, "status"),
            website: opt(row, "website"),
            channel_manager_id: manager,
        };
        let new = match body.validate(who) {
            Ok(n) => Some(n),
            Err(e) => {
                here.extend(e.0.iter().map(|e| format!("{}: {}", e.field, e.message)));
                None
            }
        };
        if let Some(n) = &new {
            if let Some(first) = slugs.get(&n.slug) {
                here.push(format!("slug: {} is already used at line {first}", n.slug));
            } else if partner_store::get_by_slug(&app.db, &n.slug)
                .await?
                .is_some()
            {
                here.push(format!(
                    "slug: a partner with slug {} already exists",
                    n.slug
                ));
            }
            slugs.entry(n.slug.clone()).or_insert(*line);
        }
        let enrollment = match opt(row, "program") {
            None => {
                for c in ["program_partner_type", "segment", "level"] {
                    if opt(row, c).is_some() {
                        here.push(format!("{c}: needs a program to enroll in"));
                    }
                }
                None
            }
            Some(slug) => {
                if !programs.contains_key(&slug) {
                    let p = match super::programs::published_program(&app.db, &slug).await {
                        Ok((_, p)) => Some(p),
                        Err(AppError::NotFound(_)) => None,
                        Err(e) => return Err(e),
                    };
                    programs.insert(slug.clone(), p);
                }
                let ty = opt(row, "program_partner_type")
                    .or_else(|| opt(row, "partner_type"))
                    .unwrap_or_default();
                let segment = opt(row, "segment").unwrap_or_default();
                let level = opt(row, "level");
                match &programs[&slug] {
                    None => {
                        here.push(format!("program: no published program {slug}"));
                        None
                    }
                    Some(p) => {
                        match program::check_enrollment(p, &ty, &segment, level.as_deref()) {
                            Ok(()) => Some((slug, ty, segment, level)),
                            Err(e) => {
                                here.extend(
                                    e.0.iter().map(|e| format!("{}: {}", e.field, e.message)),
                                );
                                None
                            }
                        }
                    }
                }
            }
        };
        match new {
            Some(n) if here.is_empty() => valid.push((n, enrollment)),
            _ => problems.push(format!("{source}:{line}: {}", here.join("; "))),
        }
    }
    if !problems.is_empty() {
        return Err(Rejected(problems).into());
    }
    let mut tx = app.db.begin_write().await?;
    let mut out = Vec::with_capacity(valid.len());
    for (new, enrollment) in &valid {
        let partner = super::partners::insert(&mut tx, actor, new).await?;
        if let Some((slug, ty, segment, level)) = enrollment {
            let p = programs[slug].as_ref().expect("checked above");
            super::programs::enroll_in(
                &mut tx,
                actor,
                &partner.id,
                p,
                ty,
                segment,
                level.as_deref(),
            )
            .await?;
        }
        out.push(partner);
    }
    tx.commit().await?;
    Ok(out)
}
