//! `trellis import sales|fx|rollback` and `trellis incentives calculate`.

use rust_decimal::Decimal;
use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::path::Path;
use trellis_core::incentives::{Period, Statement};
use trellis_core::program::Program;
use trellis_server::db::Db;
use trellis_server::sales::{self, SalesError, UnknownSku};
use trellis_server::store::Actor;

type Result<T> = std::result::Result<T, Box<dyn std::error::Error + Send + Sync>>;

fn fail(e: SalesError) -> Box<dyn std::error::Error + Send + Sync> {
    e.to_string().into()
}

pub async fn import_sales(db: &Db, path: &Path, unknown: &str) -> Result<()> {
    let unknown = match unknown {
        "reject" => UnknownSku::Reject,
        "hold" => UnknownSku::Hold,
        other => {
            return Err(format!("--unknown-skus must be reject or hold, not {other:?}").into())
        }
    };
    let source = path.display().to_string();
    let file = std::fs::File::open(path).map_err(|e| format!("cannot read {source}: {e}"))?;
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    let started = std::time::Instant::now();
    let tty = std::io::stderr().is_terminal();
    let mut progress = |lines: u64, bytes: u64| {
        let secs = started.elapsed().as_secs_f64().max(1e-9);
        let pct = if size > 0 {
            bytes as f64 * 100.0 / size as f64
        } else {
            100.0
        };
        let filled = ((pct / 5.0).round() as usize).min(20);
        let msg = format!(
            "[{}{}] reading {source}: {lines} lines, {:.0} MB of {:.0} MB ({pct:.0} %), {:.0} lines/s",
            "#".repeat(filled),
            "-".repeat(20 - filled),
            bytes as f64 / 1e6,
            size as f64 / 1e6,
            lines as f64 / secs
        );
        let mut err = std::io::stderr().lock();
        if tty {
            let _ = write!(err, "\r{msg}\x1b[K");
        } else {
            let _ = writeln!(err, "{msg}");
        }
    };
    let r = sales::import(
        db,
        &Actor::cli(),
        &source,
        std::io::BufReader::with_capacity(1 << 20, file),
        unknown,
        &mut progress,
    )
    .await;
    if tty {
        eprintln!();
    }
    let s = r.map_err(fail)?;
    println!(
        "{source}: {} line(s): {} imported, {} already imported before (skipped), {} held (unknown SKU); batch {}",
        s.lines,
        s.imported,
        s.duplicates,
        s.held,
        s.batch_id.as_deref().unwrap_or("-")
    );
    println!(
        "parse + check {:.2} s ({:.0} lines/s, {:.1} MB/s) · persist {:.2} s ({:.0} lines/s)",
        s.parse_seconds,
        s.lines as f64 / s.parse_seconds.max(1e-9),
        s.bytes as f64 / 1e6 / s.parse_seconds.max(1e-9),
        s.persist_seconds,
        s.imported as f64 / s.persist_seconds.max(1e-9)
    );
    Ok(())
}

pub async fn import_fx(db: &Db, path: &Path) -> Result<()> {
    let source = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {source}: {e}"))?;
    let n = sales::import_fx(db, &source, &text).await.map_err(fail)?;
    println!("{source}: {n} FX rate(s) imported");
    Ok(())
}

pub async fn rollback(db: &Db, batch: &str) -> Result<()> {
    let n = sales::rollback(db, &Actor::cli(), batch)
        .await
        .map_err(fail)?;
    println!("batch {batch} rolled back: {n} line(s) removed");
    Ok(())
}

async fn program_of(db: &Db, slug: Option<&str>) -> Result<(String, i64, Program)> {
    sales::program_of(db, slug).await.map_err(fail)
}

fn print_statements(
    title: &str,
    currency: &str,
    st: &[Statement],
    names: &BTreeMap<String, String>,
) {
    println!("{title}");
    for s in st {
        let name = names
            .get(&s.partner_id)
            .map(String::as_str)
            .unwrap_or(&s.partner_id);
        println!("  {name}: {} {currency}", s.total);
        for l in &s.lines {
            let who = l
                .seller
                .as_deref()
                .map(|x| format!(" [seller {x}]"))
                .unwrap_or_default();
            println!(
                "    {:<28} {:>14}  {}{who}",
                l.rule,
                l.amount.to_string(),
                l.explanation
            );
        }
        for n in &s.next_bands {
            println!(
                "    → {} {currency} more this period reaches {}% ({})",
                n.missing,
                n.rate_pct.normalize(),
                n.rule
            );
        }
    }
}

pub async fn calculate(
    db: &Db,
    period: &str,
    slug: Option<&str>,
    dry_run: bool,
    draft: Option<&Path>,
    json: bool,
) -> Result<()> {
    // The draft is read and parsed before anything is saved.
    let draft = match draft {
        Some(path) => {
            let src = std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            let p = trellis_core::program::parse(&src)
                .map_err(|e| format!("{}: {e}", path.display()))?;
            Some((path.display().to_string(), p))
        }
        None => None,
    };
    let run = sales::run(db, period, slug, dry_run).await.map_err(fail)?;
    let calc = &run.calculation;
    let names = sales::partner_names(db).await.map_err(fail)?;
    let what_if = match &draft {
        Some((under, p)) => Some(
            sales::what_if(db, &run, under, p, None)
                .await
                .map_err(fail)?,
        ),
        None => None,
    };
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(
                &serde_json::json!({"calculation": calc, "what_if": what_if})
            )?
        );
    } else {
        let total: Decimal = calc.statements.iter().map(|s| s.total).sum();
        print_statements(
            &format!(
                "{} v{} · {} · {} partner(s) · {} {} in total · {} sales lines read in {:.2} s",
                calc.program,
                calc.version,
                calc.period,
                calc.statements.len(),
                total,
                calc.currency,
                calc.lines_read,
                calc.seconds
            ),
            &calc.currency,
            &calc.statements,
            &names,
        );
        if let Some(w) = &what_if {
            println!("\nwhat-if under {}: difference per partner", w.under);
            for r in &w.rows {
                let sign = if r.difference.starts_with('-') {
                    ""
                } else {
                    "+"
                };
                println!(
                    "  {}: {} → {} ({sign}{})",
                    r.partner, r.current, r.what_if, r.difference
                );
            }
            let sign = if w.difference.starts_with('-') {
                ""
            } else {
                "+"
            };
            println!(
                "  in total: {} → {} ({sign}{})",
                w.current_total, w.what_if_total, w.difference
            );
        }
    }
    if let Some(n) = run.saved {
        eprintln!("{n} draft statement(s) saved for {}", calc.period);
    }
    Ok(())
}

pub async fn approve(
    db: &Db,
    period: &str,
    slug: Option<&str>,
    partner: Option<&str>,
) -> Result<()> {
    Period::parse(period)?;
    let (program_id, _, _) = program_of(db, slug).await?;
    let partner_id = match partner {
        Some(p) => Some(
            trellis_server::store::partners::get_by_slug(db, p)
                .await?
                .ok_or_else(|| format!("no partner with slug {p:?}"))?
                .id,
        ),
        None => None,
    };
    let n = sales::approve(
        db,
        &Actor::cli(),
        &program_id,
        period,
        partner_id.as_deref(),
    )
    .await
    .map_err(fail)?;
    println!("{n} statement(s) approved for {period}");
    Ok(())
}

pub async fn payout(db: &Db, period: &str, slug: Option<&str>) -> Result<()> {
    Period::parse(period)?;
    let (program_id, _, _) = program_of(db, slug).await?;
    print!(
        "{}",
        sales::payout_csv(db, &program_id, period)
            .await
            .map_err(fail)?
    );
    Ok(())
}
