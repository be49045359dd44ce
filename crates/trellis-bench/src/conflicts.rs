//! `trellis bench conflicts`: the company matcher at scale, beside rapidfuzz.
//!
//! Generates N company records and Q queries (noisy duplicates and new
//! companies) with a fixed seed, builds the index, measures latency single-
//! threaded and under two-thread load, and quality (precision, recall@1,
//! recall@5, F1). Then, in the same run, the peer: rapidfuzz brute force over
//! the same records for the first P queries (`scripts/bench/conflicts_peer.py`).

use crate::companies as synth;
use crate::quality::{quality, Quality};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;
use trellis_core::matching::{Candidate, Index, Kind};

pub struct Options {
    pub records: usize,
    pub queries: usize,
    pub seed: u64,
    pub threshold: f64,
    pub peer_queries: usize,
    pub peer: Option<PathBuf>,
    /// Print this many of the slowest queries and of the duplicates missed
    /// (not among the first five).
    pub explain: usize,
}

/// Resident and peak memory of this process, in MiB (Linux).
fn rss_mib() -> (f64, f64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<f64>().ok())
            .map(|kb| kb / 1024.0)
            .unwrap_or(0.0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((p * sorted.len() as f64) as usize).min(sorted.len() - 1)]
}

fn csv_field(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

fn write_csv(
    dir: &Path,
    records: &[synth::Company],
    queries: &[synth::Query],
) -> std::io::Result<(PathBuf, PathBuf)> {
    let r = dir.join("records.csv");
    let mut f = std::io::BufWriter::new(std::fs::File::create(&r)?);
    writeln!(f, "id,name,domain,country,city")?;
    for c in records {
        writeln!(
            f,
            "{},{},{},{},{}",
            c.id,
            csv_field(&c.name),
            csv_field(c.domain.as_deref().unwrap_or("")),
            c.country,
            csv_field(c.city.as_deref().unwrap_or(""))
        )?;
    }
    f.flush()?;
    let q = dir.join("queries.csv");
    let mut f = std::io::BufWriter::new(std::fs::File::create(&q)?);
    writeln!(f, "id,name,domain,country,city,truth")?;
    for x in queries {
        let c = &x.company;
        writeln!(
            f,
            "{},{},{},{},{},{}",
            c.id,
            csv_field(&c.name),
            csv_field(c.domain.as_deref().unwrap_or("")),
            c.country,
            csv_field(c.city.as_deref().unwrap_or("")),
            x.truth.as_deref().unwrap_or("")
        )?;
    }
    f.flush()?;
    Ok((r, q))
}

fn run_queries(ix: &Index, queries: &[synth::Query]) -> (Vec<f64>, Vec<Vec<Candidate>>) {
    let mut lat = Vec::with_capacity(queries.len());
    let mut found = Vec::with_capacity(queries.len());
    for q in queries {
        let t = Instant::now();
        let c = ix.search(&q.company.customer(), 5, 0.0);
        lat.push(t.elapsed().as_secs_f64() * 1e3);
        found.push(c);
    }
    (lat, found)
}

fn measure(queries: &[synth::Query], found: &[Vec<Candidate>], threshold: f64) -> Quality {
    let results: Vec<(Option<&str>, &[Candidate])> = queries
        .iter()
        .zip(found)
        .map(|(q, f)| (q.truth.as_deref(), f.as_slice()))
        .collect();
    quality(&results, threshold)
}

fn print_quality(who: &str, q: &Quality) {
    println!(
        "| {who} | {} | {:.4} | {:.4} | {:.4} | {:.4} | {:.4} |",
        q.queries, q.precision, q.recall, q.f1, q.recall_at_1, q.recall_at_5
    );
}

fn describe(c: &synth::Company) -> String {
    format!(
        "{:?} · {} · {} · {}",
        c.name,
        c.domain.as_deref().unwrap_or("-"),
        c.country,
        c.city.as_deref().unwrap_or("-")
    )
}

/// The slowest queries and the duplicates whose record was not found.
fn explain(
    records: &[synth::Company],
    queries: &[synth::Query],
    lat: &[f64],
    found: &[Vec<Candidate>],
    n: usize,
) {
    let by_id = |id: &str| {
        id.strip_prefix('c')
            .and_then(|i| i.parse::<usize>().ok())
            .and_then(|i| records.get(i))
            .filter(|r| r.id == id)
    };
    let mut order: Vec<usize> = (0..queries.len()).collect();
    order.sort_by(|&a, &b| lat[b].total_cmp(&lat[a]));
    println!("\nslowest queries:");
    for &i in order.iter().take(n) {
        println!("  {:.3} ms  {}", lat[i], describe(&queries[i].company));
    }
    println!("\nduplicates not among the first five:");
    let missed = queries.iter().zip(found).filter(|(q, f)| {
        q.truth
            .as_deref()
            .is_some_and(|t| !f.iter().take(5).any(|c| c.id == t))
    });
    for (q, f) in missed.take(n) {
        println!("  query  {}", describe(&q.company));
        if let Some(r) = q.truth.as_deref().and_then(by_id) {
            println!("  record {}", describe(r));
        }
        for c in f {
            let what = by_id(&c.id).map(describe).unwrap_or_default();
            println!("    found {:.3} {}", c.score, what);
        }
    }
}

pub fn run(o: &Options) -> ExitCode {
    let (rss0, _) = rss_mib();
    let t = Instant::now();
    let records = synth::companies(o.records, o.seed);
    let queries = synth::queries(&records, o.queries, 0.8, o.seed);
    let gen_s = t.elapsed().as_secs_f64();
    let (rss_data, _) = rss_mib();

    let t = Instant::now();
    let mut ix = Index::default();
    for r in &records {
        ix.upsert(&r.id, Kind::Account, &r.customer());
    }
    let build_s = t.elapsed().as_secs_f64();
    let (rss_index, peak) = rss_mib();
    println!(
        "records {} · queries {} ({} duplicates of records, the rest new) · seed {}",
        o.records,
        o.queries,
        queries.iter().filter(|q| q.truth.is_some()).count(),
        o.seed
    );
    println!(
        "generate {gen_s:.1} s · index build {build_s:.2} s ({:.0} records/s)",
        o.records as f64 / build_s
    );
    println!(
        "RSS: {rss0:.0} MiB at start, {rss_data:.0} MiB with the generated data, {rss_index:.0} MiB with the index (index ≈ {:.0} MiB); peak {peak:.0} MiB",
        rss_index - rss_data
    );

    // Warm up, then single-threaded latency.
    let _ = run_queries(&ix, &queries[..queries.len().min(200)]);
    let t = Instant::now();
    let (mut lat, found) = run_queries(&ix, &queries);
    let single_s = t.elapsed().as_secs_f64();
    let lat_by_query = lat.clone();
    lat.sort_by(f64::total_cmp);
    println!(
        "single thread: p50 {:.3} ms · p99 {:.3} ms · max {:.3} ms · {:.0} queries/s",
        percentile(&lat, 0.5),
        percentile(&lat, 0.99),
        lat.last().copied().unwrap_or(0.0),
        queries.len() as f64 / single_s
    );

    // Two threads querying the same index at once.
    let t = Instant::now();
    let mut both: Vec<f64> = std::thread::scope(|s| {
        let h: Vec<_> = (0..2)
            .map(|_| s.spawn(|| run_queries(&ix, &queries).0))
            .collect();
        h.into_iter()
            .flat_map(|h| h.join().unwrap_or_default())
            .collect()
    });
    let two_s = t.elapsed().as_secs_f64();
    both.sort_by(f64::total_cmp);
    println!(
        "two threads: p50 {:.3} ms · p99 {:.3} ms · {:.0} queries/s in total",
        percentile(&both, 0.5),
        percentile(&both, 0.99),
        both.len() as f64 / two_s
    );

    if o.explain > 0 {
        explain(&records, &queries, &lat_by_query, &found, o.explain);
    }

    let ours = measure(&queries, &found, o.threshold);
    let p = o.peer_queries.min(queries.len());
    let ours_subset = measure(&queries[..p], &found[..p], o.threshold);
    println!();
    println!("| matcher | queries | precision | recall | F1 | recall@1 | recall@5 |");
    println!("|---|---|---|---|---|---|---|");
    print_quality(&format!("Trellis (threshold {})", o.threshold), &ours);
    let results: Vec<(Option<&str>, &[Candidate])> = queries
        .iter()
        .zip(&found)
        .map(|(q, f)| (q.truth.as_deref(), f.as_slice()))
        .collect();
    let best = crate::quality::best_threshold(&results);
    print_quality(
        &format!(
            "Trellis, best threshold ({:.3}, chosen on the answers)",
            best.threshold
        ),
        &best,
    );
    print_quality("Trellis, the peer's queries", &ours_subset);

    let Some(script) = &o.peer else {
        println!("\npeer skipped (--no-peer)");
        return ExitCode::SUCCESS;
    };
    let dir = std::env::temp_dir().join(format!("trellis-bench-conflicts-{}", std::process::id()));
    if let Err(e) = std::fs::create_dir_all(&dir) {
        eprintln!("error: cannot create {}: {e}", dir.display());
        return ExitCode::FAILURE;
    }
    let (rpath, qpath) = match write_csv(&dir, &records, &queries[..p]) {
        Ok(x) => x,
        Err(e) => {
            eprintln!("error: cannot write the peer's input: {e}");
            return ExitCode::FAILURE;
        }
    };
    drop(ix);
    let out = std::process::Command::new("python3")
        .arg(script)
        .arg(&rpath)
        .arg(&qpath)
        .args(["--threshold", "90"])
        .output();
    let _ = std::fs::remove_dir_all(&dir);
    let out = match out {
        Ok(o) if o.status.success() => o,
        Ok(o) => {
            eprintln!(
                "error: the peer failed: {}",
                String::from_utf8_lossy(&o.stderr)
            );
            return ExitCode::FAILURE;
        }
        Err(e) => {
            eprintln!("error: cannot run python3 {}: {e}", script.display());
            return ExitCode::FAILURE;
        }
    };
    let peer: serde_json::Value = match serde_json::from_slice(&out.stdout) {
        Ok(v) => v,
        Err(e) => {
            eprintln!(
                "error: the peer printed no JSON ({e}): {}",
                String::from_utf8_lossy(&out.stdout)
            );
            return ExitCode::FAILURE;
        }
    };
    let f = |k: &str| peer[k].as_f64().unwrap_or(f64::NAN);
    println!(
        "| {} (score ≥ 90) | {} | {:.4} | {:.4} | {:.4} | {:.4} | {:.4} |",
        peer["peer"].as_str().unwrap_or("rapidfuzz"),
        p,
        f("precision"),
        f("recall"),
        f("f1"),
        f("recall_at_1"),
        f("recall_at_5")
    );
    println!();
    println!(
        "latency per query: Trellis p50 {:.3} ms / p99 {:.3} ms · rapidfuzz p50 {:.1} ms / p99 {:.1} ms · ratio (rapidfuzz / Trellis) p50 {:.0}× · p99 {:.0}×",
        percentile(&lat, 0.5),
        percentile(&lat, 0.99),
        f("p50_ms"),
        f("p99_ms"),
        f("p50_ms") / percentile(&lat, 0.5),
        f("p99_ms") / percentile(&lat, 0.99)
    );
    ExitCode::SUCCESS
}
