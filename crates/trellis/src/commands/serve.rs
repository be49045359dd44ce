//! `trellis serve` and `trellis migrate`.

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
