//! `trellis program bench`: parsing and checking a synthetic program of N
//! elements, beside a plain TOML parse of the same text.

use std::process::ExitCode;
use trellis_core::program::{self, lint};

/// A synthetic program: 10 partner types × 10 segments (100 plays) and `n`
/// elements with varied purposes, steps and eligibility, plus tiers and economics.
pub fn synthetic(n: usize) -> String {
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

pub fn bench(n: usize, runs: usize) -> ExitCode {
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
