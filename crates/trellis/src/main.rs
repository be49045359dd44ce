//! `trellis`: the one binary. `trellis serve` runs the server; the other
//! subcommands administer the same database from the command line.

mod bench;
mod import;
mod incentives;
mod program;

use clap::{Args, Parser, Subcommand};
use std::collections::HashMap;
use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use trellis_core::org::Role;
use trellis_core::validate::{check_password, Email, Name};
use trellis_server::config::{Config, Overrides};
use trellis_server::db::Db;
use trellis_server::store::{partners, tokens, users, Actor};

#[derive(Parser)]
#[command(
    name = "trellis",
    version,
    about = "Trellis: open-source partner relationship management"
)]
struct Cli {
    #[command(flatten)]
    global: Global,
    #[command(subcommand)]
    command: Command,
}

#[derive(Args)]
struct Global {
    /// TOML config file (default: ./trellis.toml when it exists; env TRELLIS_CONFIG)
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    /// sqlite://PATH or postgres://USER@HOST/DB (env TRELLIS_DATABASE_URL)
    #[arg(long, global = true)]
    database_url: Option<String>,
    /// Log format: text or json (env TRELLIS_LOG_FORMAT)
    #[arg(long, global = true)]
    log_format: Option<String>,
    /// Log filter, e.g. info or trellis_server=debug (env TRELLIS_LOG)
    #[arg(long, global = true)]
    log: Option<String>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (migrates the database first)
    Serve {
        /// Address to listen on (env TRELLIS_BIND; default 127.0.0.1:8080)
        #[arg(long)]
        bind: Option<String>,
        /// The URL people open, e.g. https://prm.example.com (env TRELLIS_PUBLIC_URL)
        #[arg(long)]
        public_url: Option<String>,
        /// Load the demo vendor, partners and users, and print the logins
        #[arg(long)]
        demo: bool,
    },
    /// Apply database migrations and exit
    Migrate,
    /// Print the OpenAPI document of the API
    ExportOpenapi,
    /// Manage users
    #[command(subcommand)]
    User(UserCommand),
    /// Manage API tokens
    #[command(subcommand)]
    Token(TokenCommand),
    /// Check a program definition or compute its partner economics
    #[command(subcommand)]
    Program(ProgramCommand),
    /// Fill the database with synthetic data for load tests
    #[command(subcommand)]
    Seed(SeedCommand),
    /// Benchmarks (commands, not tests; see docs/benchmarks.md)
    #[command(subcommand)]
    Bench(BenchCommand),
    /// Import CSV files (all or nothing per file; errors name the line)
    #[command(subcommand)]
    Import(ImportCommand),
    /// Conflict detection from the command line
    #[command(subcommand)]
    Conflicts(ConflictsCommand),
    /// Incentive statements from imported sales-out data
    #[command(subcommand)]
    Incentives(IncentivesCommand),
}

#[derive(Subcommand)]
enum IncentivesCommand {
    /// Calculate every partner's statement for a period (2027-Q1, 2027-03, 2027)
    Calculate {
        #[arg(long)]
        period: String,
        /// The program (`[program].id`); needed when several published programs have incentive rules
        #[arg(long)]
        program: Option<String>,
        /// Show the statements without saving them as drafts
        #[arg(long)]
        dry_run: bool,
        /// Compute the same period under a draft program file and show the difference per partner
        #[arg(long)]
        program_file: Option<PathBuf>,
        /// text (default) or json
        #[arg(long, default_value = "text")]
        format: String,
    },
    /// Approve a period's draft statements (all partners, or one); approved statements never change
    Approve {
        #[arg(long)]
        period: String,
        #[arg(long)]
        program: Option<String>,
        /// Only this partner (slug)
        #[arg(long)]
        partner: Option<String>,
    },
    /// The payout file of a period's approved statements (CSV on standard output)
    Payout {
        #[arg(long)]
        period: String,
        #[arg(long)]
        program: Option<String>,
    },
}

#[derive(Subcommand)]
enum ImportCommand {
    /// The vendor's accounts: external_id,name,domain,country,city,owner,house
    Accounts { file: PathBuf },
    /// Deal registrations of one partner, each submitted (see docs/deals.md for the columns)
    Deals {
        file: PathBuf,
        /// The partner's slug
        #[arg(long)]
        partner: String,
    },
    /// Sales-out lines (see docs/incentives.md for the columns); streamed, with progress
    Sales {
        file: PathBuf,
        /// What to do with a SKU in no published program's catalogue: reject (default) or hold
        #[arg(long, default_value = "reject")]
        unknown_skus: String,
    },
    /// FX rates: from_currency,to_currency,valid_from,rate
    Fx { file: PathBuf },
    /// Remove the lines of an imported sales batch
    Rollback { batch: String },
}

#[derive(Subcommand)]
enum ConflictsCommand {
    /// One CSV result line per input line (columns: id,customer_name,customer_domain,contact_email,country,city)
    Check {
        #[arg(long)]
        input: PathBuf,
        /// Score from which the best candidate is a conflict
        #[arg(long, default_value_t = 0.8)]
        threshold: f64,
    },
}

#[derive(Subcommand)]
enum BenchCommand {
    /// The company matcher: index build, latency, quality; beside rapidfuzz
    Conflicts {
        /// Company records in the index
        #[arg(long, default_value_t = 100_000)]
        records: usize,
        /// Queries (80 % noisy duplicates of records, 20 % new companies)
        #[arg(long, default_value_t = 2_000)]
        queries: usize,
        #[arg(long, default_value_t = 2027)]
        seed: u64,
        /// Score from which the best candidate counts as a conflict
        #[arg(long, default_value_t = 0.8)]
        threshold: f64,
        /// How many of the queries the rapidfuzz peer runs (it is brute force)
        #[arg(long, default_value_t = 200)]
        peer_queries: usize,
        /// The peer script
        #[arg(long, default_value = "scripts/bench/conflicts_peer.py")]
        peer: PathBuf,
        /// Do not run the peer
        #[arg(long)]
        no_peer: bool,
        /// Print this many of the slowest queries and of the missed duplicates
        #[arg(long, default_value_t = 0)]
        explain: usize,
    },
    /// Sales-out import and incentive calculation on SQLite, beside DuckDB
    Incentives {
        /// Sales lines to generate
        #[arg(long, default_value_t = 1_000_000)]
        lines: usize,
        /// Partners (Zipf-skewed)
        #[arg(long, default_value_t = 1_000)]
        partners: usize,
        #[arg(long, default_value_t = 2027)]
        seed: u64,
        /// The peer script
        #[arg(long, default_value = "scripts/bench/incentives_peer.py")]
        peer: PathBuf,
        /// Do not run the peer
        #[arg(long)]
        no_peer: bool,
        /// Keep the generated files and database
        #[arg(long)]
        keep: bool,
        /// Run on this database instead of a new SQLite file (it must be
        /// empty, e.g. a PostgreSQL database just created for the run)
        #[arg(long = "on-database")]
        on_database: Option<String>,
    },
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Format {
    Text,
    Json,
}

#[derive(Subcommand)]
enum ProgramCommand {
    /// Report findings (code, severity, file:line:column); exit status 1 when any is an error
    Check {
        file: PathBuf,
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
    },
    /// Expected partner net per deal and per year, per partner type × segment, beside competitors
    Economics {
        file: PathBuf,
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
    },
    /// What changed from OLD to NEW, item by item (matched by id)
    Diff {
        old: PathBuf,
        new: PathBuf,
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
    },
    /// Print the JSON Schema of the program format (generated from the Rust types)
    Schema,
    /// Time parsing and checking a synthetic program with N elements, beside a plain TOML parse
    Bench {
        #[arg(long, default_value_t = 5000)]
        elements: usize,
        #[arg(long, default_value_t = 11)]
        runs: usize,
    },
}

#[derive(Subcommand)]
enum SeedCommand {
    /// Add COUNT synthetic partners (slugs load-0000000…) in one transaction
    Partners {
        #[arg(long)]
        count: usize,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create a user. With --password-stdin the password is read from the first
    /// line of standard input; without it the user is invited and the
    /// invitation link is printed.
    Create {
        #[arg(long)]
        email: String,
        /// vendor-admin, channel-manager, partner-admin or partner-user
        #[arg(long)]
        role: String,
        /// The partner's slug (required for partner roles)
        #[arg(long)]
        partner: Option<String>,
        /// Display name (default: the part of the e-mail before @)
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        password_stdin: bool,
    },
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Create an API token for a user and print it (and nothing else) on stdout
    Create {
        #[arg(long)]
        email: String,
        #[arg(long, default_value = "cli")]
        name: String,
    },
    /// Revoke a token by id
    Revoke {
        #[arg(long)]
        email: String,
        #[arg(long)]
        id: String,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Command::Program(cmd) = &cli.command {
        return program::run(cmd);
    }
    if let Command::Bench(BenchCommand::Conflicts {
        records,
        queries,
        seed,
        threshold,
        peer_queries,
        peer,
        no_peer,
        explain,
    }) = &cli.command
    {
        return bench::conflicts(&bench::Options {
            records: *records,
            queries: (*queries).max(1),
            seed: *seed,
            threshold: *threshold,
            peer_queries: *peer_queries,
            peer: (!no_peer).then(|| peer.clone()),
            explain: *explain,
        });
    }
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

type Result<T> = std::result::Result<T, Box<dyn std::error::Error + Send + Sync>>;

fn load_config(g: &Global, bind: Option<String>, public_url: Option<String>) -> Result<Config> {
    let env: HashMap<String, String> = std::env::vars()
        .filter(|(k, _)| k.starts_with("TRELLIS_"))
        .collect();
    let file = g
        .config
        .clone()
        .or_else(|| env.get("TRELLIS_CONFIG").map(PathBuf::from))
        .or_else(|| Some(PathBuf::from("trellis.toml")).filter(|p| p.exists()));
    let flags = Overrides {
        database_url: g.database_url.clone(),
        bind,
        public_url,
        log_format: g.log_format.clone(),
        log: g.log.clone(),
    };
    Ok(Config::load(file.as_deref(), &env, &flags)?)
}

async fn open_db(config: &Config) -> Result<Db> {
    let db = Db::connect(&config.database_url).await?;
    db.migrate().await?;
    Ok(db)
}

async fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Serve {
            bind,
            public_url,
            demo,
        } => {
            let config = load_config(&cli.global, bind, public_url)?;
            trellis_server::telemetry::init(config.log_format, &config.log);
            tracing::info!(config = ?config, "starting");
            let db = open_db(&config).await?;
            let logins = if demo {
                Some(trellis_server::demo::load(&db).await?)
            } else {
                None
            };
            let app = trellis_server::http::Application::bind(config.clone(), db.clone()).await?;
            let url = if config.public_url.is_some() {
                config.public_url()
            } else {
                format!("http://{}", app.local_addr())
            };
            let mut out = std::io::stdout().lock();
            writeln!(
                out,
                "Trellis is running at {url}  (database: {})",
                trellis_server::config::redact_url(&config.database_url)
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
            app.run_until(trellis_server::http::shutdown_signal())
                .await?;
            db.close().await;
            tracing::info!("stopped");
            Ok(())
        }
        Command::Migrate => {
            let config = load_config(&cli.global, None, None)?;
            trellis_server::telemetry::init(config.log_format, &config.log);
            let db = Db::connect(&config.database_url).await?;
            let n = db.migrate().await?;
            println!(
                "applied {n} migration(s) to {}",
                trellis_server::config::redact_url(&config.database_url)
            );
            Ok(())
        }
        Command::ExportOpenapi => {
            print!("{}", trellis_server::http::api::openapi_json());
            Ok(())
        }
        Command::User(UserCommand::Create {
            email,
            role,
            partner,
            name,
            password_stdin,
        }) => {
            let config = load_config(&cli.global, None, None)?;
            let email = Email::parse("--email", &email)?;
            let role = Role::parse("--role", &role)?;
            let name = Name::parse("--name", name.as_deref().unwrap_or(email.local_part()), 120)?;
            let db = open_db(&config).await?;
            let partner_id = match (&partner, role.is_partner()) {
                (Some(slug), true) => Some(
                    partners::get_by_slug(&db, slug)
                        .await?
                        .ok_or_else(|| format!("--partner: no partner with slug '{slug}'"))?
                        .id,
                ),
                (None, true) => return Err("--partner SLUG is required for partner roles".into()),
                (Some(_), false) => {
                    return Err("--partner must not be given for vendor roles".into())
                }
                (None, false) => None,
            };
            let new = users::NewUser {
                email: email.as_str().to_string(),
                name: name.into_string(),
                role,
                partner_id,
                password_hash: None,
            };
            if password_stdin {
                let mut line = String::new();
                std::io::stdin().lock().read_line(&mut line)?;
                let password = line.trim_end_matches(['\n', '\r']).to_string();
                check_password("password", &password, Some(&email))?;
                let hash = trellis_server::auth::hash_password(password).await?;
                let user = users::create(
                    &db,
                    &Actor::cli(),
                    users::NewUser {
                        password_hash: Some(hash),
                        ..new
                    },
                )
                .await?;
                println!("created {} ({}) id {}", user.email, user.role, user.id);
            } else {
                let (user, token) = users::invite(&db, &Actor::cli(), new).await?;
                println!("invited {} ({}) id {}", user.email, user.role, user.id);
                println!(
                    "invitation link (single use, 72 hours): {}/invite/{token}",
                    config.public_url()
                );
            }
            Ok(())
        }
        Command::Token(TokenCommand::Create { email, name }) => {
            let config = load_config(&cli.global, None, None)?;
            let db = open_db(&config).await?;
            let name = Name::parse("--name", &name, 100)?;
            let user = users::credentials(&db, &email)
                .await?
                .ok_or_else(|| format!("--email: no user with e-mail '{email}'"))?
                .user;
            let (_, secret) = tokens::create(&db, &Actor::cli(), &user, name.as_str()).await?;
            println!("{secret}");
            Ok(())
        }
        Command::Bench(BenchCommand::Incentives {
            lines,
            partners,
            seed,
            peer,
            no_peer,
            keep,
            on_database,
        }) => {
            bench::incentives(&bench::IncentiveOptions {
                lines,
                partners: partners.max(1),
                seed,
                peer: (!no_peer).then_some(peer),
                keep,
                database: on_database,
            })
            .await
        }
        Command::Program(_) | Command::Bench(_) => {
            unreachable!("handled without a runtime in main")
        }
        Command::Import(ImportCommand::Accounts { file }) => {
            let config = load_config(&cli.global, None, None)?;
            let db = open_db(&config).await?;
            import::accounts(&db, &file)
                .await
                .map_err(|e| e.to_string())?;
            Ok(())
        }
        Command::Import(ImportCommand::Deals { file, partner }) => {
            let config = load_config(&cli.global, None, None)?;
            let db = open_db(&config).await?;
            import::deals(&db, &file, &partner)
                .await
                .map_err(|e| e.to_string())?;
            Ok(())
        }
        Command::Import(ImportCommand::Sales { file, unknown_skus }) => {
            let config = load_config(&cli.global, None, None)?;
            let db = open_db(&config).await?;
            incentives::import_sales(&db, &file, &unknown_skus)
                .await
                .map_err(|e| e.to_string())?;
            Ok(())
        }
        Command::Import(ImportCommand::Fx { file }) => {
            let config = load_config(&cli.global, None, None)?;
            let db = open_db(&config).await?;
            incentives::import_fx(&db, &file)
                .await
                .map_err(|e| e.to_string())?;
            Ok(())
        }
        Command::Import(ImportCommand::Rollback { batch }) => {
            let config = load_config(&cli.global, None, None)?;
            let db = open_db(&config).await?;
            incentives::rollback(&db, &batch)
                .await
                .map_err(|e| e.to_string())?;
            Ok(())
        }
        Command::Incentives(IncentivesCommand::Calculate {
            period,
            program,
            dry_run,
            program_file,
            format,
        }) => {
            let config = load_config(&cli.global, None, None)?;
            let db = open_db(&config).await?;
            incentives::calculate(
                &db,
                &period,
                program.as_deref(),
                dry_run,
                program_file.as_deref(),
                format == "json",
            )
            .await
            .map_err(|e| e.to_string())?;
            Ok(())
        }
        Command::Incentives(IncentivesCommand::Approve {
            period,
            program,
            partner,
        }) => {
            let config = load_config(&cli.global, None, None)?;
            let db = open_db(&config).await?;
            incentives::approve(&db, &period, program.as_deref(), partner.as_deref())
                .await
                .map_err(|e| e.to_string())?;
            Ok(())
        }
        Command::Incentives(IncentivesCommand::Payout { period, program }) => {
            let config = load_config(&cli.global, None, None)?;
            let db = open_db(&config).await?;
            incentives::payout(&db, &period, program.as_deref())
                .await
                .map_err(|e| e.to_string())?;
            Ok(())
        }
        Command::Conflicts(ConflictsCommand::Check { input, threshold }) => {
            let config = load_config(&cli.global, None, None)?;
            let db = open_db(&config).await?;
            import::check(&db, &input, threshold)
                .await
                .map_err(|e| e.to_string())?;
            Ok(())
        }
        Command::Seed(SeedCommand::Partners { count }) => {
            let config = load_config(&cli.global, None, None)?;
            let db = open_db(&config).await?;
            let started = std::time::Instant::now();
            let created = partners::create_many(
                &db,
                &Actor::cli(),
                &trellis_server::demo::synthetic_partners(count),
            )
            .await?;
            println!(
                "created {} partners in {:.1} s",
                created.len(),
                started.elapsed().as_secs_f64()
            );
            Ok(())
        }
        Command::Token(TokenCommand::Revoke { email, id }) => {
            let config = load_config(&cli.global, None, None)?;
            let db = open_db(&config).await?;
            let user = users::credentials(&db, &email)
                .await?
                .ok_or_else(|| format!("--email: no user with e-mail '{email}'"))?
                .user;
            let t = tokens::revoke(&db, &Actor::cli(), &user, &id).await?;
            println!("revoked token {} ({})", t.id, t.name);
            Ok(())
        }
    }
}
