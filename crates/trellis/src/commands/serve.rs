//! `trellis serve`, `trellis migrate`, `trellis backup` and `trellis restore`.

use super::Result;
use std::io::Write;
use trellis_server::config::{redact_url, Config};
use trellis_server::db::Db;
use trellis_server::http::{shutdown_signal, Application};

/// Runs the server until SIGINT or SIGTERM (migrating first; with `demo`,
/// loading the demo and printing its logins).
pub async fn run(config: Config, demo: bool) -> Result<()> {
    trellis_server::telemetry::init(config.log_format, &config.log);
    tracing::info!(config = ?config, "starting");
    let db = Db::connect(&config.database_url).await?;
    db.migrate().await?;
    let server = Application::bind(config.clone(), db.clone()).await?;
    let logins = if demo {
        Some(trellis_server::demo::load(&server.state().app).await?)
    } else {
        None
    };
    let url = if config.public_url.is_some() {
        config.public_url()
    } else {
        format!("http://{}", server.local_addr())
    };
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "Trellis is running at {url}  (database: {})",
        redact_url(&config.database_url)
    )?;
    if let Some(logins) = logins {
        writeln!(
            out,
            "\nDemo logins (password for all: {}):",
            trellis_server::demo::DEMO_PASSWORD
        )?;
        for l in logins {
            writeln!(
                out,
                "  {:<40} {:<16} {}",
                l.email,
                l.role.as_str(),
                l.organisation
            )?;
        }
    }
    writeln!(out, "\nAPI docs: {url}/api/docs    Press Ctrl-C to stop.")?;
    drop(out);
    server.run_until(shutdown_signal()).await?;
    db.close().await;
    tracing::info!("stopped");
    Ok(())
}

/// Applies the migrations and says how many.
pub async fn migrate(config: Config) -> Result<()> {
    trellis_server::telemetry::init(config.log_format, &config.log);
    let db = Db::connect(&config.database_url).await?;
    let n = db.migrate().await?;
    println!(
        "applied {n} migration(s) to {}",
        redact_url(&config.database_url)
    );
    Ok(())
}

fn print_report(verb: &str, r: &trellis_server::backup::Report) {
    let counts: Vec<String> = r.counts.iter().map(|(t, n)| format!("{t} {n}")).collect();
    println!(
        "{verb} {} ({:.1} MB, {:.2} s, {}): {}",
        r.path.display(),
        r.bytes as f64 / 1e6,
        r.seconds,
        r.method,
        counts.join(", ")
    );
}

/// `trellis backup DEST`: a consistent backup of the database as it is
/// served (nothing is migrated or changed).
pub async fn backup(config: Config, dest: &std::path::Path) -> Result<()> {
    let db = Db::connect(&config.database_url).await?;
    let r = trellis_server::backup::backup(&db, &config.database_url, dest).await;
    db.close().await;
    print_report("backed up to", &r?);
    Ok(())
}

/// `trellis restore SRC [--replace]`.
pub async fn restore(config: Config, src: &std::path::Path, replace: bool) -> Result<()> {
    let r = trellis_server::backup::restore(&config.database_url, src, replace).await?;
    print_report(
        &format!("restored into {} from", redact_url(&config.database_url)),
        &r,
    );
    Ok(())
}
