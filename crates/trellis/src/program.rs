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
        ProgramCommand::Bench { elements, runs } => bench(*elements, (*runs).max(1)),
    }
}

/// A synthetic program: 10 partner types × 10 segments (100 plays) and `n`
/// elements with varied purposes, steps and eligibility, plus tiers and economics.
fn synthetic(n: usize) -> String {
    use std::fmt::Write as _;
    let steps = ["develop", "market", "sell", "deliver", "support", "share"];
    let mut s = String::from("[program]\nid = \"bench\"\nname = \"Bench\"\nversion = \"1\"\neffective = \"2027-01-01\"\ncurrency = \"USD\"\n\n[governance]\nowner = \"o\"\nreview_cadence = \"quarterly\"\nfeedback_channel = \"council\"\n\n");
    for t in 0..10 {
        let _ = writeln!(s, "[[partner_types]]\nid = \"type-{t}\"\n");
        let _ = writeln!(s, "[[segments]]\nid = \"segment-{t}\"\nregion = \"r{t}\"\n");
    }
    for t in 0..10 {
        for g in 0..10 {
            let who = |i: usize| {
                ["partner", "joint", "vendor", "partner", "joint", "none"][(t + g + i) % 6]
            };
            let _ = writeln!(
                s,
                "[[plays]]\npartner_type = \"type-{t}\"\nsegment = \"segment-{g}\"\nsteps = {{ develop = \"{}\", market = \"{}\", sell = \"{}\", deliver = \"{}\", support = \"{}\", share = \"{}\" }}\n",
                who(0), who(1), who(2), who(3), who(4), who(5)
            );
        }
    }
    for i in 0..n {
        let purpose = if i % 2 == 0 { "enable" } else { "motivate" };
        let investment = if i % 3 == 0 {
            "fulfillment"
        } else {
            "demand-creation"
        };
        let _ = writeln!(
            s,
            "[[elements]]\nid = \"element-{i}\"\nkind = \"{}\"\npurpose = \"{purpose}\"\ninvestment = \"{investment}\"\nsteps = [\"{}\", \"{}\"]\neligibility = {{ types = [\"type-{}\"], segments = [\"segment-{}\"] }}\ncost = {{ fixed_per_year = {} }}\nvalue = {{ margin_pct = 0.1 }}\n",
            if i % 2 == 0 { "training" } else { "rebate" },
            steps[i % 6],
            steps[(i / 6) % 6],
            i % 10,
            (i / 10) % 10,
            1000 + i
        );
    }
    s.push_str("[[tiers]]\nid = \"member\"\n\n[[tiers]]\nid = \"gold\"\nqualification = { thresholds = [{ metric = \"revenue\", min = 100000 }] }\n\n");
    for t in 0..10 {
        let _ = writeln!(s, "[[economics]]\npartner_type = \"type-{t}\"\nsegment = \"segment-{t}\"\navg_deal_size = 50000\nwin_rate = 0.3\ndeals_per_year = 10\npresales_hours_per_deal = 10\nhourly_cost = 100\n");
    }
    s
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn bench(n: usize, runs: usize) -> ExitCode {
    use std::time::Instant;
    let src = synthetic(n);
    let (mut baseline, mut parse, mut check) = (Vec::new(), Vec::new(), Vec::new());
    let mut findings = 0;
    for _ in 0..runs {
        let t = Instant::now();
        let table: Result<toml::Table, _> = toml::from_str(&src);
        baseline.push(t.elapsed().as_secs_f64() * 1e3);
        if let Err(e) = table {
            eprintln!("error: synthetic program is not TOML: {e}");
            return ExitCode::FAILURE;
        }
        let t = Instant::now();
        let p = match program::parse(&src) {
            Ok(p) => p,
            Err(e) => {
                eprintln!("error: synthetic program does not parse: {e}");
                return ExitCode::FAILURE;
            }
        };
        parse.push(t.elapsed().as_secs_f64() * 1e3);
        let t = Instant::now();
        findings = lint::check(&p, &src).len();
        check.push(t.elapsed().as_secs_f64() * 1e3);
    }
    let (b, p, c) = (median(baseline), median(parse), median(check));
    println!("synthetic program: {n} elements, 100 plays, {} KiB of TOML, {findings} findings; median of {runs} runs", src.len() / 1024);
    println!("| step | median ms |");
    println!("|---|---|");
    println!("| plain TOML parse into toml::Table (baseline) | {b:.2} |");
    println!("| parse into the program model | {p:.2} |");
    println!("| check (all lints) | {c:.2} |");
    println!("| parse + check | {:.2} |", p + c);
    println!("ratio (parse + check) / baseline: {:.2}", (p + c) / b);
    ExitCode::SUCCESS
}
