//! `trellis program check|economics FILE`: the program linter and the partner
//! economics table on the command line.

use crate::{Format, ProgramCommand};
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
                    println!(
                        "{:<14} {:<18} {:<32} {:>12} {:>12} {:>12} {:>14}",
                        "partner type",
                        "segment",
                        "program",
                        "earned/deal",
                        "cost/deal",
                        "net/deal",
                        "net/year"
                    );
                    for r in &rows {
                        for o in std::iter::once(&r.ours).chain(&r.competitors) {
                            println!(
                                "{:<14} {:<18} {:<32} {:>12} {:>12} {:>12} {:>14}",
                                r.partner_type,
                                r.segment,
                                o.program,
                                o.earnings_per_deal.total().round_dp(2),
                                o.cost_of_sale_per_deal,
                                o.net_per_deal,
                                o.net_per_year
                            );
                        }
                    }
                    if let Some(r) = rows.first() {
                        println!("amounts in {}", r.currency);
                    }
                }
            }
            ExitCode::SUCCESS
        }
    }
}
