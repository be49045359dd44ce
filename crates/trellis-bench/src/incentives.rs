//! `trellis bench incentives`: a sales-out import and a quarter's
//! calculation on a fresh database, beside DuckDB computing the same rules
//! over the same CSV (`scripts/bench/incentives_peer.py`); every amount must
//! agree to the cent.

use crate::rng::Rng;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;
use trellis_server::app::{self, App};
use trellis_server::config::Config;

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

/// A sales-out file: Zipf-skewed partners (s = 1.1), four SKUs of the
/// example catalogue, 3 % returns, USD/EUR/GBP, 2026-Q1 (for growth) and
/// 2027-Q1. Returns the file's size in bytes.
fn write_sales(path: &Path, lines: usize, partners: usize, seed: u64) -> std::io::Result<u64> {
    let mut rng = Rng::new(seed);
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

pub async fn run(o: &IncentiveOptions) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    use trellis_server::store::{partners, Actor};
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
    let app = App::load(db.clone(), Config::default()).await?;
    let actor = Actor::system("bench");
    let cloud = include_str!("../../../examples/programs/cloud-reseller.toml");
    let v = app::programs::save_draft(
        &app,
        &actor,
        &trellis_core::program::Checked::new(cloud.to_string())?,
    )
    .await?;
    app::programs::publish(&app, &crate::operator(), &actor, &v.program, v.number).await?;
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
    app::partners::create_many(&app, &actor, &new).await?;
    let partners_csv = dir.join("partners.csv");
    std::fs::write(&partners_csv, slugs)?;
    let fx_csv = dir.join("fx.csv");
    let fx = "from_currency,to_currency,valid_from,rate\nEUR,USD,2026-01-01,1.0850\nGBP,USD,2026-01-01,1.2700\n";
    std::fs::write(&fx_csv, fx)?;
    app::incentives::fx::import(&app, "fx.csv", fx).await?;

    let file = std::fs::File::open(&sales_csv)?;
    let s = app::incentives::import::import(
        &app,
        &actor,
        "sales.csv",
        std::io::BufReader::with_capacity(1 << 20, file),
        app::incentives::UnknownSku::Reject,
        &mut |_, _| {},
    )
    .await?;
    let mb = bytes as f64 / 1e6;
    let (stored, facts) = trellis_server::store::incentives::stored_bytes(&db).await?;
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
    let (program_id, _, _) = app::incentives::calculate::program_of(&db, None).await?;
    let period = trellis_core::incentives::Period::parse("2027-Q1")?;
    let c = app::incentives::calculate::calculate(&db, &program_id, &program, &period).await?;
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
    let again = app::incentives::import::import(
        &app,
        &actor,
        "small.csv",
        std::fs::File::open(&small)?,
        app::incentives::UnknownSku::Reject,
        &mut |_, _| {},
    )
    .await?;
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
    let ids: std::collections::BTreeMap<String, String> =
        trellis_server::store::incentives::partner_names(&db)
            .await?
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
