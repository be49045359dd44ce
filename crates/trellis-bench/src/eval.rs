//! `trellis bench conflicts-eval`: the company matcher on labelled files it
//! did not generate (a held-out generator's output, hand-labelled pairs),
//! beside two rapidfuzz peers run on the same files in the same run.
//!
//! Input: `records.csv` (id,name,domain,country,city), the vendor's accounts,
//! and `queries.csv` (the same columns and `truth`: the id of the record the
//! query duplicates, empty for a company not in the records; other columns
//! are ignored except `case`, which `--by-case` groups mistakes by).

use crate::quality::{best_threshold, quality, Quality};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;
use trellis_core::matching::{Candidate, Customer, Index, Kind};

pub struct Options {
    pub records: PathBuf,
    pub queries: PathBuf,
    /// The flag: the score from which the best candidate is a conflict.
    pub threshold: f64,
    /// Peer scripts to run on the same files (none: no peer).
    pub peers: Vec<PathBuf>,
    /// Print the mistakes at the flag grouped by the queries' `case` column.
    pub by_case: bool,
    /// Print this many mistakes at the flag.
    pub explain: usize,
    /// Run the peers on the first this many queries only (brute force is
    /// slow on large files); Trellis is shown on the same queries too.
    pub peer_queries: Option<usize>,
}

struct Row {
    id: String,
    name: String,
    domain: Option<String>,
    country: String,
    city: Option<String>,
    truth: Option<String>,
    case: String,
}

impl Row {
    fn customer(&self) -> Customer<'_> {
        Customer {
            name: &self.name,
            domain: self.domain.as_deref(),
            country: &self.country,
            city: self.city.as_deref(),
        }
    }
}

fn read(path: &Path) -> Result<Vec<Row>, String> {
    let mut r = csv::Reader::from_path(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let headers = r
        .headers()
        .map_err(|e| format!("{}: {e}", path.display()))?
        .clone();
    let col = |name: &str| headers.iter().position(|h| h == name);
    let (Some(id), Some(name), Some(country)) = (col("id"), col("name"), col("country")) else {
        return Err(format!(
            "{}: needs the columns id, name, country",
            path.display()
        ));
    };
    let (domain, city, truth, case) = (col("domain"), col("city"), col("truth"), col("case"));
    let mut out = Vec::new();
    for (i, rec) in r.records().enumerate() {
        let rec = rec.map_err(|e| format!("{}:{}: {e}", path.display(), i + 2))?;
        let get = |c: Option<usize>| {
            c.and_then(|c| rec.get(c))
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
        };
        out.push(Row {
            id: get(Some(id)).unwrap_or_default(),
            name: get(Some(name)).unwrap_or_default(),
            domain: get(domain),
            country: get(Some(country)).unwrap_or_default(),
            city: get(city),
            truth: get(truth),
            case: get(case).unwrap_or_default(),
        });
    }
    Ok(out)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((p * sorted.len() as f64) as usize).min(sorted.len() - 1)]
}

fn row(who: &str, q: &Quality) -> String {
    format!(
        "| {who} | {:.3} | {:.4} | {:.4} | {:.4} | {:.4} | {:.4} |",
        q.threshold, q.precision, q.recall, q.f1, q.recall_at_1, q.recall_at_5
    )
}

pub fn run(o: &Options) -> ExitCode {
    let (records, queries) = match (read(&o.records), read(&o.queries)) {
        (Ok(r), Ok(q)) => (r, q),
        (Err(e), _) | (_, Err(e)) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let t = Instant::now();
    let mut ix = Index::default();
    for r in &records {
        ix.upsert(&r.id, Kind::Account, &r.customer());
    }
    let build_s = t.elapsed().as_secs_f64();
    let mut lat = Vec::with_capacity(queries.len());
    let found: Vec<Vec<Candidate>> = queries
        .iter()
        .map(|q| {
            let t = Instant::now();
            let c = ix.search(&q.customer(), 5, 0.0);
            lat.push(t.elapsed().as_secs_f64() * 1e3);
            c
        })
        .collect();
    lat.sort_by(f64::total_cmp);
    let results: Vec<(Option<&str>, &[Candidate])> = queries
        .iter()
        .zip(&found)
        .map(|(q, f)| (q.truth.as_deref(), f.as_slice()))
        .collect();
    let at_flag = quality(&results, o.threshold);
    let best = best_threshold(&results);
    println!(
        "records {} ({}) · queries {} ({}, {} duplicates of a record) · index build {build_s:.2} s · latency p50 {:.3} ms, p99 {:.3} ms",
        records.len(),
        o.records.display(),
        queries.len(),
        o.queries.display(),
        at_flag.duplicates,
        percentile(&lat, 0.5),
        percentile(&lat, 0.99),
    );
    println!();
    println!("| matcher | threshold | precision | recall | F1 | recall@1 | recall@5 |");
    println!("|---|---|---|---|---|---|---|");
    println!("{}", row("Trellis at the flag", &at_flag));
    println!(
        "{}",
        row("Trellis, best threshold (chosen on the answers)", &best)
    );

    if o.by_case || o.explain > 0 {
        mistakes(o, &records, &queries, &found);
    }

    let mut peer_input = o.queries.clone();
    let _cleanup;
    if let Some(p) = o
        .peer_queries
        .filter(|&p| p < queries.len() && !o.peers.is_empty())
    {
        let dir = std::env::temp_dir().join(format!("trellis-eval-{}", std::process::id()));
        peer_input = dir.join("queries.csv");
        if let Err(e) = first_lines(&o.queries, &peer_input, p + 1) {
            eprintln!("error: cannot write {}: {e}", peer_input.display());
            return ExitCode::FAILURE;
        }
        _cleanup = RemoveOnDrop(dir);
        let subset = &results[..p];
        println!(
            "{}",
            row(
                &format!("Trellis at the flag, the peers' {p} queries"),
                &quality(subset, o.threshold)
            )
        );
        println!(
            "{}",
            row(
                &format!("Trellis, best threshold, the peers' {p} queries"),
                &best_threshold(subset)
            )
        );
    }
    for script in &o.peers {
        let out = std::process::Command::new("python3")
            .arg(script)
            .arg(&o.records)
            .arg(&peer_input)
            .output();
        let peer: serde_json::Value = match out {
            Ok(out) if out.status.success() => match serde_json::from_slice(&out.stdout) {
                Ok(v) => v,
                Err(e) => {
                    eprintln!("error: {} printed no JSON: {e}", script.display());
                    return ExitCode::FAILURE;
                }
            },
            Ok(out) => {
                eprintln!(
                    "error: {} failed: {}",
                    script.display(),
                    String::from_utf8_lossy(&out.stderr)
                );
                return ExitCode::FAILURE;
            }
            Err(e) => {
                eprintln!("error: cannot run python3 {}: {e}", script.display());
                return ExitCode::FAILURE;
            }
        };
        let f = |k: &str| peer[k].as_f64().unwrap_or(f64::NAN);
        println!(
            "| {} | {} | {:.4} | {:.4} | {:.4} | {:.4} | {:.4} |",
            peer["peer"].as_str().unwrap_or("peer"),
            f("threshold"),
            f("precision"),
            f("recall"),
            f("f1"),
            f("recall_at_1"),
            f("recall_at_5"),
        );
        println!(
            "  ({}: p50 {:.1} ms, p99 {:.1} ms per query)",
            script.display(),
            f("p50_ms"),
            f("p99_ms")
        );
    }
    let (ece, bins) = calibration(&results);
    println!(
        "\ncalibration of the scores of every candidate shown (up to five per query): expected calibration error {ece:.3}"
    );
    println!("| score | candidates | mean score | share that are the record |\n|---|---|---|---|");
    for (lo, n, mean, observed) in bins {
        println!(
            "| {lo:.1}–{:.1} | {n} | {mean:.3} | {observed:.3} |",
            lo + 0.1
        );
    }
    ExitCode::SUCCESS
}

/// Copies the first `n` lines of a file (the header and `n - 1` rows; the
/// files have no line breaks inside fields).
fn first_lines(from: &Path, to: &Path, n: usize) -> std::io::Result<()> {
    std::fs::create_dir_all(to.parent().unwrap_or(Path::new(".")))?;
    let text = std::fs::read_to_string(from)?;
    let head: Vec<&str> = text.lines().take(n).collect();
    std::fs::write(to, head.join("\n") + "\n")
}

struct RemoveOnDrop(PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// How well scores read as probabilities: candidates binned by score (ten
/// bins), each bin's mean score beside the share of its candidates that are
/// the record the query duplicates; and the expected calibration error (the
/// candidates' weighted mean of the gaps).
pub fn calibration(results: &[(Option<&str>, &[Candidate])]) -> (f64, Vec<(f64, usize, f64, f64)>) {
    let mut bins = vec![(0usize, 0.0f64, 0usize); 10];
    for (truth, found) in results {
        for c in found.iter() {
            let b = ((c.score * 10.0) as usize).min(9);
            bins[b].0 += 1;
            bins[b].1 += c.score;
            bins[b].2 += usize::from(*truth == Some(c.id.as_str()));
        }
    }
    let total: usize = bins.iter().map(|b| b.0).sum();
    let mut ece = 0.0;
    let mut out = Vec::new();
    for (i, (n, sum, hits)) in bins.into_iter().enumerate() {
        if n == 0 {
            continue;
        }
        let (mean, observed) = (sum / n as f64, hits as f64 / n as f64);
        ece += n as f64 / total.max(1) as f64 * (mean - observed).abs();
        out.push((i as f64 / 10.0, n, mean, observed));
    }
    (ece, out)
}

/// False positives and misses at the flag, counted by the queries' `case`,
/// and the first few of them in full.
fn mistakes(o: &Options, records: &[Row], queries: &[Row], found: &[Vec<Candidate>]) {
    let by_id: BTreeMap<&str, &Row> = records.iter().map(|r| (r.id.as_str(), r)).collect();
    let describe = |r: &Row| {
        format!(
            "{:?} · {} · {} · {}",
            r.name,
            r.domain.as_deref().unwrap_or("-"),
            r.country,
            r.city.as_deref().unwrap_or("-")
        )
    };
    let mut counts: BTreeMap<(&str, &str), usize> = BTreeMap::new();
    let mut shown = 0;
    for (q, f) in queries.iter().zip(found) {
        let top = f.first().filter(|c| c.score >= o.threshold);
        let what = match (top, q.truth.as_deref()) {
            (Some(c), Some(t)) if c.id == t => continue,
            (None, None) => continue,
            (Some(_), _) => "false positive",
            (None, Some(_)) => "missed",
        };
        *counts.entry((what, q.case.as_str())).or_default() += 1;
        if shown < o.explain {
            shown += 1;
            println!("\n{what} [{}]: query {}", q.case, describe(q));
            if let Some(r) = q.truth.as_deref().and_then(|t| by_id.get(t)) {
                println!("  truth  {}", describe(r));
            }
            for c in f.iter().take(3) {
                let r = by_id.get(c.id.as_str()).map(|r| describe(r));
                println!(
                    "  {:.3} {} — {}",
                    c.score,
                    r.unwrap_or_default(),
                    c.reasons
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join("; ")
                );
            }
        }
    }
    if o.by_case {
        println!("\nmistakes at the flag by case:");
        for ((what, case), n) in counts {
            println!("  {n:5}  {what:15} {case}");
        }
    }
}
