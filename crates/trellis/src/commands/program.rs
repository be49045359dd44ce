//! `trellis program check|economics FILE`: the program linter and the partner
//! economics table on the command line.

use crate::cli::{Format, ProgramCommand};
use std::path::Path;
use std::process::ExitCode;
use trellis_core::program::{self, economics, lint, Severity};

fn load(file: &Path) -> Result<(String, program::Program), ExitCode> {
    let src = std::fs::read_to_string(file).map_err(|e| {
        eprintln!("error: cannot read {}: {e}", file.display());
        ExitCode::from(2)
    })?;
    match program::parse(&src) {
        Ok(p) => Ok((src, p)),
        Err(e) => {
            let where_ = if e.path.is_empty() {
                String::new()
            } else {
                format!("{}: ", e.path)
            };
            eprintln!(
                "{}:{}:{}: error[parse]: {where_}{}",
                file.display(),
                e.location.line,
                e.location.column,
                e.message
            );
            Err(ExitCode::FAILURE)
        }
    }
}

pub fn run(cmd: &ProgramCommand) -> ExitCode {
    match cmd {
        ProgramCommand::Check { file, format } => {
            let (src, p) = match load(file) {
                Ok(x) => x,
                Err(code) => return code,
            };
            let findings = lint::check(&p, &src);
            match format {
                Format::Json => {
                    let doc = serde_json::json!({"file": file.display().to_string(), "findings": findings});
                    println!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
                }
                Format::Text => {
                    for f in &findings {
                        let sev = match f.severity {
                            Severity::Error => "error",
                            Severity::Warning => "warning",
                        };
                        println!(
                            "{}:{}:{}: {sev}[{}]: {}",
                            file.display(),
                            f.location.line,
                            f.location.column,
                            f.code,
                            f.message
                        );
                    }
                    let errors = findings
                        .iter()
                        .filter(|f| f.severity == Severity::Error)
                        .count();
                    println!(
                        "{}: {} error(s), {} warning(s)",
                        file.display(),
                        errors,
                        findings.len() - errors
                    );
                }
            }
            if lint::has_errors(&findings) {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            }
        }
        ProgramCommand::Economics { file, format } => {
            let (_, p) = match load(file) {
                Ok(x) => x,
                Err(code) => return code,
            };
            let rows = economics::table(&p);
            match format {
                Format::Json => println!(
                    "{}",
                    serde_json::to_string_pretty(&rows).unwrap_or_default()
                ),
                Format::Text => {
                    let lines: Vec<[String; 7]> = rows
                        .iter()
                        .flat_map(|r| {
                            std::iter::once(&r.ours).chain(&r.competitors).map(|o| {
                                [
                                    r.partner_type.clone(),
                                    r.segment.clone(),
                                    o.program.clone(),
                                    o.earned_per_deal.to_string(),
                                    o.cost_of_sale_per_deal.to_string(),
                                    o.net_per_deal.to_string(),
                                    o.net_per_year.to_string(),
                                ]
                            })
                        })
                        .collect();
                    let head = [
                        "partner type",
                        "segment",
                        "program",
                        "earned/deal",
                        "cost/deal",
                        "net/deal",
                        "net/year",
                    ]
                    .map(String::from);
                    let mut w = [0usize; 7];
                    for l in std::iter::once(&head).chain(&lines) {
                        for (i, c) in l.iter().enumerate() {
                            w[i] = w[i].max(c.chars().count());
                        }
                    }
                    for l in std::iter::once(&head).chain(&lines) {
                        println!(
                            "{:<w0$}  {:<w1$}  {:<w2$}  {:>w3$}  {:>w4$}  {:>w5$}  {:>w6$}",
                            l[0],
                            l[1],
                            l[2],
                            l[3],
                            l[4],
                            l[5],
                            l[6],
                            w0 = w[0],
                            w1 = w[1],
                            w2 = w[2],
                            w3 = w[3],
                            w4 = w[4],
                            w5 = w[5],
                            w6 = w[6]
                        );
                    }
                    if let Some(r) = rows.first() {
                        println!("amounts in {}", r.currency);
                    }
                }
            }
            ExitCode::SUCCESS
        }
        ProgramCommand::Diff { old, new, format } => {
            let read = |f: &Path| {
                std::fs::read_to_string(f).map_err(|e| {
                    eprintln!("error: cannot read {}: {e}", f.display());
                    ExitCode::from(2)
                })
            };
            let (a, b) = match (read(old), read(new)) {
                (Ok(a), Ok(b)) => (a, b),
                (Err(code), _) | (_, Err(code)) => return code,
            };
            let changes = match program::diff::diff(&a, &b) {
                Ok(c) => c,
                Err(e) => {
                    eprintln!("error: {e}");
                    return ExitCode::FAILURE;
                }
            };
            match format {
                Format::Json => println!(
                    "{}",
                    serde_json::to_string_pretty(&changes).unwrap_or_default()
                ),
                Format::Text => {
                    for c in &changes {
                        use program::diff::ChangeKind::*;
                        match c.kind {
                            Added => {
                                println!("+ {} = {}", c.path, c.after.as_deref().unwrap_or(""))
                            }
                            Removed => {
                                println!("- {} = {}", c.path, c.before.as_deref().unwrap_or(""))
                            }
                            Changed => println!(
                                "~ {}: {} -> {}",
                                c.path,
                                c.before.as_deref().unwrap_or(""),
                                c.after.as_deref().unwrap_or("")
                            ),
                        }
                    }
                    println!("{} change(s)", changes.len());
                }
            }
            ExitCode::SUCCESS
        }
        ProgramCommand::Schema => {
            println!(
                "{}",
                serde_json::to_string_pretty(&program::schema::json_schema()).unwrap_or_default()
            );
            ExitCode::SUCCESS
        }
        ProgramCommand::Bench { elements, runs } => {
            trellis_bench::programs::bench(*elements, (*runs).max(1))
        }
    }
}
