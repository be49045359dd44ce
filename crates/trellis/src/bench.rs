//! `trellis bench conflicts`: the company matcher at scale, beside rapidfuzz.
//!
//! Generates N company records and Q queries (noisy duplicates and new
//! companies) with a fixed seed, builds the index, measures latency single-
//! threaded and under two-thread load, and quality (precision, recall@1,
//! recall@5, F1). Then, in the same run, the peer: rapidfuzz brute force over
//! the same records for the first P queries (`scripts/bench/conflicts_peer.py`).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;
use trellis_core::matching::eval::{quality, Quality};
use trellis_core::matching::{synth, Candidate, Index, Kind};

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

pub fn conflicts(o: &Options) -> ExitCode {
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

/// Options of `trellis bench incentives`.
pub struct IncentiveOptions {
    pub lines: usize,
    pub partners: usize,
    pub seed: u64,
    pub peer: Option<PathBuf>,
    pub keep: bool,
    /// An empty database to run on instead of a new SQLite file.
    pub database: Option<String>,
}

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// A sales-out file: Zipf-skewed partners (s = 1.1), four SKUs of the
/// example catalogue, 3 % returns, USD/EUR/GBP, 2026-Q1 (for growth) and
/// 2027-Q1. Returns the file's size in bytes.
fn write_sales(path: &Path, lines: usize, partners: usize, seed: u64) -> std::io::Result<u64> {
    let mut rng = Rng(seed | 1);
    let weights: Vec<f64> = (1..=partners).map(|k| 1.0 / (k as f64).powf(1.1)).collect();
    let total: f64 = weights.iter().sum();
    let mut cdf = Vec::with_capacity(partners);
    let mut acc = 0.0;
    for w in &weights {
        acc += w / total;
        cdf.push(acc);
    }
    const SKUS: [(&str, u64, f64); 4] = [
        ("AUR-CL-100", 20_000, 0.40),
        ("AUR-CL-500", 60_000, 0.65),
        ("AUR-AI-1", 900, 0.85),
        ("AUR-SVC-ONB", 5_000, 1.0),
    ];
    let mut f = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
    writeln!(
        f,
        "transaction_id,date,partner,customer_name,customer_domain,customer_country,sku,quantity,unit_price,currency,deal_id,seller"
    )?;
    for i in 0..lines {
        let u = rng.unit();
        let p = cdf.partition_point(|c| *c < u).min(partners - 1);
        let s = rng.unit();
        let (sku, base, _) = SKUS
            .iter()
            .find(|(_, _, c)| s <= *c)
            .copied()
            .unwrap_or(SKUS[3]);
        let qty = 1 + rng.below(5) as i64;
        let qty = if rng.unit() < 0.03 { -qty } else { qty };
        let cents = base * 100 * (90 + rng.below(21) as u64) / 100;
        let (cur, div) = match rng.below(10) {
            0..=5 => ("USD", 100),
            6..=8 => ("EUR", 108),
            _ => ("GBP", 127),
        };
        let price = cents * 100 / div;
        let year = if rng.unit() < 0.3 { 2026 } else { 2027 };
        let month = 1 + rng.below(3);
        let day = 1 + rng.below(28);
        writeln!(
            f,
            "T{i},{year}-{month:02}-{day:02},p{p:04},Customer {c},customer{c}.example,DE,{sku},{qty},{}.{:02},{cur},,s{}",
            price / 100,
            price % 100,
            1 + rng.below(5),
            c = rng.below(50_000),
        )?;
    }
    f.flush()?;
    Ok(std::fs::metadata(path)?.len())
}

pub async fn incentives(
    o: &IncentiveOptions,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    use trellis_server::store::{partners, programs, Actor};
    let dir = std::env::temp_dir().join(format!("trellis-bench-incentives-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let sales_csv = dir.join("sales.csv");
    let t = Instant::now();
    let bytes = write_sales(&sales_csv, o.lines, o.partners, o.seed)?;
    println!(
        "generated {} lines ({:.1} MB), {} partners, in {:.1} s · {}",
        o.lines,
        bytes as f64 / 1e6,
        o.partners,
        t.elapsed().as_secs_f64(),
        sales_csv.display()
    );
    let url = o
        .database
        .clone()
        .unwrap_or_else(|| format!("sqlite://{}", dir.join("bench.db").display()));
    let db = trellis_server::db::Db::connect(&url).await?;
    let backend = db.backend().name();
    db.migrate().await?;
    let actor = Actor::system("bench");
    let cloud = include_str!("../../../examples/programs/cloud-reseller.toml");
    let v = programs::save_draft(&db, &actor, &programs::Checked::new(cloud.to_string())?).await?;
    programs::publish(&db, &actor, &v.program, v.number)
        .await
        .map_err(|_| "cannot publish the example program")?;
    let mut slugs = String::from("slug,partner_type\n");
    let new: Vec<partners::NewPartner> = (0..o.partners)
        .map(|i| {
            let ty = if i % 3 == 2 { "msp" } else { "reseller" };
            slugs.push_str(&format!("p{i:04},{ty}\n"));
            partners::NewPartner {
                slug: format!("p{i:04}"),
                name: format!("Partner {i:04}"),
                partner_type: ty.into(),
                region: "dach".into(),
                country: "DE".into(),
                status: trellis_core::org::PartnerStatus::Active,
                website: None,
                channel_manager_id: None,
            }
        })
        .collect();
    partners::create_many(&db, &actor, &new).await?;
    let partners_csv = dir.join("partners.csv");
    std::fs::write(&partners_csv, slugs)?;
    let fx_csv = dir.join("fx.csv");
    let fx = "from_currency,to_currency,valid_from,rate\nEUR,USD,2026-01-01,1.0850\nGBP,USD,2026-01-01,1.2700\n";
    std::fs::write(&fx_csv, fx)?;
    trellis_server::sales::import_fx(&db, "fx.csv", fx)
        .await
        .map_err(|e| e.to_string())?;

    let file = std::fs::File::open(&sales_csv)?;
    let s = trellis_server::sales::import(
        &db,
        &actor,
        "sales.csv",
        std::io::BufReader::with_capacity(1 << 20, file),
        trellis_server::sales::UnknownSku::Reject,
        &mut |_, _| {},
    )
    .await
    .map_err(|e| e.to_string())?;
    let mb = bytes as f64 / 1e6;
    let (stored, facts) = trellis_server::sales::stored_bytes(&db)
        .await
        .map_err(|e| e.to_string())?;
    let (stored, facts) = (stored as f64 / 1e6, facts as f64 / 1e6);
    println!(
        "import into {backend}: parse + check {:.2} s ({:.0} lines/s, {:.1} MB/s of CSV) · persist {:.2} s ({:.0} lines/s, {:.1} MB/s of CSV, {:.1} MB/s written: {:.1} MB in segments) · total {:.2} s",
        s.parse_seconds,
        s.lines as f64 / s.parse_seconds,
        mb / s.parse_seconds,
        s.persist_seconds,
        s.imported as f64 / s.persist_seconds,
        mb / s.persist_seconds,
        stored / s.persist_seconds,
        stored,
        s.parse_seconds + s.persist_seconds
    );
    let program = trellis_core::program::parse(cloud)?;
    let program_id: String = sqlx_id(&db).await?;
    let period = trellis_core::incentives::Period::parse("2027-Q1")?;
    let c = trellis_server::sales::calculate(&db, &program_id, &program, &period)
        .await
        .map_err(|e| e.to_string())?;
    println!(
        "calculate 2027-Q1 from the database: {:.2} s for {} lines read ({:.0} lines/s, {:.1} MB/s of CSV, {:.1} MB/s of segments read: {:.1} MB), folded into {} groups; the rules over the groups {:.3} s · {} statements",
        c.seconds,
        c.lines_read,
        c.lines_read as f64 / c.seconds,
        mb / c.seconds,
        facts / c.seconds,
        facts,
        c.groups,
        c.core_seconds,
        c.statements.len()
    );
    // A small file into the full database: half of it imported before.
    let small = dir.join("small.csv");
    {
        // The first 5,000 lines as they are and renamed (only those are read).
        let head =
            std::io::BufRead::lines(std::io::BufReader::new(std::fs::File::open(&sales_csv)?));
        let mut out = String::new();
        for (i, line) in head.take(5_001).enumerate() {
            let line = line?;
            out.push_str(&line);
            out.push('\n');
            if i > 0 {
                out.push_str(&line.replacen('T', "N", 1));
                out.push('\n');
            }
        }
        std::fs::write(&small, out)?;
    }
    let t = Instant::now();
    let again = trellis_server::sales::import(
        &db,
        &actor,
        "small.csv",
        std::fs::File::open(&small)?,
        trellis_server::sales::UnknownSku::Reject,
        &mut |_, _| {},
    )
    .await
    .map_err(|e| e.to_string())?;
    println!(
        "then a file of {} lines, {} of them imported before: {} imported, {} skipped in {:.2} s (checking every transaction id imported so far)",
        again.lines,
        again.duplicates,
        again.imported,
        again.duplicates,
        t.elapsed().as_secs_f64()
    );
    let ours: std::collections::BTreeMap<String, String> = c
        .statements
        .iter()
        .flat_map(|st| {
            st.lines
                .iter()
                .filter(|l| l.rule == "cloud-volume" || l.rule == "mdf-accrual")
                .map(move |l| {
                    (
                        format!("{}/{}", st.partner_id, l.rule),
                        l.amount.to_string(),
                    )
                })
        })
        .collect();
    let Some(script) = &o.peer else {
        println!("peer skipped (--no-peer)");
        return Ok(());
    };
    let out = std::process::Command::new("python3")
        .arg(script)
        .arg(&sales_csv)
        .arg(&partners_csv)
        .arg(&fx_csv)
        .args([&period.start, &period.end])
        .output()?;
    if !out.status.success() {
        return Err(format!("the peer failed: {}", String::from_utf8_lossy(&out.stderr)).into());
    }
    let peer: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    let secs = peer["seconds"].as_f64().unwrap_or(f64::NAN);
    // Our keys use partner ids; the peer's use slugs.
    let ids: std::collections::BTreeMap<String, String> = trellis_server::sales::partner_names(&db)
        .await
        .map_err(|e| e.to_string())?
        .into_iter()
        .map(|(id, name)| (id, format!("p{}", name.trim_start_matches("Partner "))))
        .collect();
    let ours: std::collections::BTreeMap<String, String> = ours
        .into_iter()
        .map(|(k, v)| {
            let (id, rule) = k.split_once('/').unwrap_or((&k, ""));
            (
                format!("{}/{rule}", ids.get(id).cloned().unwrap_or_default()),
                v,
            )
        })
        .collect();
    let theirs: std::collections::BTreeMap<String, String> = peer["amounts"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_string()))
                .collect()
        })
        .unwrap_or_default();
    let zero = |m: &std::collections::BTreeMap<String, String>, k: &str| {
        m.get(k).cloned().unwrap_or_else(|| "0.00".into())
    };
    let keys: std::collections::BTreeSet<&String> = ours.keys().chain(theirs.keys()).collect();
    let differ: Vec<String> = keys
        .iter()
        .filter(|k| zero(&ours, k) != zero(&theirs, k))
        .map(|k| {
            format!(
                "{k}: Trellis {} · DuckDB {}",
                zero(&ours, k),
                zero(&theirs, k)
            )
        })
        .collect();
    println!(
        "peer {}: the same rebate and accrual as SQL over the CSV in {:.2} s · ratio (Trellis calculate from the database / DuckDB) {:.2}",
        peer["peer"].as_str().unwrap_or("duckdb"),
        secs,
        c.seconds / secs
    );
    if differ.is_empty() {
        println!(
            "results: {} amounts compared, all equal to the cent",
            keys.len()
        );
    } else {
        println!(
            "results differ on {} of {} amounts:",
            differ.len(),
            keys.len()
        );
        for d in differ.iter().take(10) {
            println!("  {d}");
        }
    }
    if !o.keep {
        let _ = std::fs::remove_dir_all(&dir);
    }
    if differ.is_empty() {
        Ok(())
    } else {
        Err("Trellis and DuckDB disagree".into())
    }
}

async fn sqlx_id(
    db: &trellis_server::db::Db,
) -> Result<String, Box<dyn std::error::Error + Send + Sync>> {
    let v = trellis_server::store::programs::list(db).await?;
    Ok(v.first().map(|p| p.id.clone()).ok_or("no program")?)
}
