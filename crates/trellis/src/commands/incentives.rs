//! `trellis import sales|fx|rollback` and `trellis incentives calculate`.

use super::{operator, Context, Result};
use rust_decimal::Decimal;
use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::path::Path;
use trellis_core::csvfile::ColumnMap;
use trellis_core::incentives::Statement;
use trellis_server::app::incentives::{calculate as calc, fx, import, statements, UnknownSku};
use trellis_server::app::Actor;

pub async fn import_sales(cx: &Context, path: &Path, unknown: &str, map: &[String]) -> Result<()> {
    let unknown = match unknown {
        "reject" => UnknownSku::Reject,
        "hold" => UnknownSku::Hold,
        other => {
            return Err(format!("--unknown-skus must be reject or hold, not {other:?}").into())
        }
    };
    let columns = ColumnMap::parse(map, trellis_core::incentives::lines::COLUMNS)?;
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
    let r = import::import_mapped(
        &cx.app,
        &Actor::cli(),
        &source,
        std::io::BufReader::with_capacity(1 << 20, file),
        unknown,
        &columns,
        &mut progress,
    )
    .await;
    if tty {
        eprintln!();
    }
    let s = r?;
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

pub async fn import_fx(cx: &Context, path: &Path) -> Result<()> {
    let source = path.display().to_string();
    let text = super::imports::text(path)?;
    let n = fx::import(&cx.app, &source, &text).await?;
    println!("{source}: {n} FX rate(s) imported");
    Ok(())
}

pub async fn rollback(cx: &Context, batch: &str) -> Result<()> {
    let n = import::rollback(&cx.app, &Actor::cli(), batch).await?;
    println!("batch {batch} rolled back: {n} line(s) removed");
    Ok(())
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
    cx: &Context,
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
    let run = calc::run(&cx.app, period, slug, dry_run).await?;
    let calc = &run.calculation;
    let names = trellis_server::store::incentives::partner_names(&cx.app.db).await?;
    let what_if = match &draft {
        Some((under, p)) => Some(calc::what_if(&cx.app, &run, under, p, None).await?),
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
    cx: &Context,
    period: &str,
    slug: Option<&str>,
    partner: Option<&str>,
) -> Result<()> {
    calc::period(period)?;
    let (program_id, _, _) = calc::program_of(&cx.app.db, slug).await?;
    let partner_id = match partner {
        Some(p) => Some(
            trellis_server::store::partners::get_by_slug(&cx.app.db, p)
                .await?
                .ok_or_else(|| format!("no partner with slug {p:?}"))?
                .id,
        ),
        None => None,
    };
    let n = statements::approve(
        &cx.app,
        &operator(),
        &Actor::cli(),
        Some(&program_id),
        period,
        partner_id.as_deref(),
    )
    .await?;
    println!("{n} statement(s) approved for {period}");
    Ok(())
}

pub async fn payout(cx: &Context, period: &str, slug: Option<&str>) -> Result<()> {
    calc::period(period)?;
    let (program_id, _, _) = calc::program_of(&cx.app.db, slug).await?;
    print!(
        "{}",
        statements::payout_csv(&cx.app, &operator(), Some(&program_id), period).await?
    );
    Ok(())
}
