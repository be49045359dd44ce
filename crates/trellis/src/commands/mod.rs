//! One function per command, sharing one [`Context`]: the configuration,
//! loaded once, and the application over the database, opened once.

mod imports;
mod incentives;
mod partners;
mod program;
mod serve;
mod users;

use crate::cli::{
    BenchCommand, Cli, Command, ConflictsCommand, Global, ImportCommand, IncentivesCommand,
    PartnerCommand, SeedCommand, TokenCommand, UserCommand,
};
use std::collections::HashMap;
use std::path::PathBuf;
use std::process::ExitCode;
use trellis_core::access::Principal;
use trellis_core::org::Role;
use trellis_server::app::App;
use trellis_server::config::{Config, Overrides};
use trellis_server::db::Db;

pub type Result<T> = std::result::Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// What every command that touches the database works with.
pub struct Context {
    pub app: App,
}

impl Context {
    /// Connects, migrates and opens the application (its matcher builds its
    /// index only if a command needs it).
    async fn open(config: Config) -> Result<Context> {
        let db = Db::connect(&config.database_url).await?;
        db.migrate().await?;
        Ok(Context {
            app: App::open(db, config),
        })
    }
}

/// Who the command line acts as: the operator, with a vendor admin's rights
/// (whoever runs it can read the database anyway).
pub fn operator() -> Principal {
    Principal {
        user_id: "cli".into(),
        role: Role::VendorAdmin,
        partner_id: None,
    }
}

/// Defaults, then the TOML file, then `TRELLIS_*`, then flags.
pub fn load_config(g: &Global, bind: Option<String>, public_url: Option<String>) -> Result<Config> {
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

/// Runs the commands that need no database; `None` for the others.
pub fn offline(command: &Command) -> Option<ExitCode> {
    match command {
        Command::Program(cmd) => Some(program::run(cmd)),
        Command::Bench(BenchCommand::Conflicts {
            records,
            queries,
            seed,
            threshold,
            peer_queries,
            peer,
            no_peer,
            explain,
        }) => Some(trellis_bench::conflicts::run(
            &trellis_bench::conflicts::Options {
                records: *records,
                queries: (*queries).max(1),
                seed: *seed,
                threshold: *threshold,
                peer_queries: *peer_queries,
                peer: (!no_peer).then(|| peer.clone()),
                explain: *explain,
            },
        )),
        Command::Bench(BenchCommand::ConflictsFit {
            records,
            queries,
            seed,
            per_query,
            l2,
            rounds,
        }) => Some(trellis_bench::fit::run(&trellis_bench::fit::Options {
            records: *records,
            queries: *queries,
            seed: *seed,
            per_query: *per_query,
            l2: *l2,
            rounds: *rounds,
        })),
        Command::Bench(BenchCommand::ConflictsEval {
            records,
            queries,
            threshold,
            peer,
            no_peer,
            peer_queries,
            by_case,
            explain,
        }) => Some(trellis_bench::eval::run(&trellis_bench::eval::Options {
            peer_queries: *peer_queries,
            records: records.clone(),
            queries: queries.clone(),
            threshold: *threshold,
            peers: if *no_peer { Vec::new() } else { peer.clone() },
            by_case: *by_case,
            explain: *explain,
        })),
        Command::ExportOpenapi => {
            print!("{}", trellis_server::http::api::openapi_json());
            Some(ExitCode::SUCCESS)
        }
        _ => None,
    }
}

/// Runs a command that works on the database.
pub async fn run(cli: Cli) -> Result<()> {
    let g = &cli.global;
    match cli.command {
        Command::Serve {
            bind,
            public_url,
            demo,
        } => serve::run(load_config(g, bind, public_url)?, demo).await,
        Command::Migrate => serve::migrate(load_config(g, None, None)?).await,
        Command::Backup { dest } => serve::backup(load_config(g, None, None)?, &dest).await,
        Command::Restore { src, replace } => {
            serve::restore(load_config(g, None, None)?, &src, replace).await
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
            trellis_bench::incentives::run(&trellis_bench::incentives::IncentiveOptions {
                lines,
                partners: partners.max(1),
                seed,
                peer: (!no_peer).then_some(peer),
                keep,
                database: on_database,
            })
            .await
        }
        command => {
            let cx = Context::open(load_config(g, None, None)?).await?;
            match command {
                Command::User(UserCommand::Create {
                    email,
                    role,
                    partner,
                    name,
                    password_stdin,
                }) => users::create(&cx, &email, &role, partner, name, password_stdin).await,
                Command::User(UserCommand::Export { email, out }) => {
                    users::export(&cx, &email, out.as_deref()).await
                }
                Command::User(UserCommand::Erase { email, yes }) => {
                    users::erase(&cx, &email, yes).await
                }
                Command::Token(TokenCommand::Create {
                    email,
                    name,
                    scopes,
                    expires_on,
                }) => users::create_token(&cx, &email, &name, scopes, expires_on).await,
                Command::Token(TokenCommand::Revoke { email, id }) => {
                    users::revoke_token(&cx, &email, &id).await
                }
                Command::Seed(SeedCommand::Partners { count }) => {
                    users::seed_partners(&cx, count).await
                }
                Command::Partner(PartnerCommand::Create {
                    name,
                    slug,
                    partner_type,
                    region,
                    country,
                    status,
                    website,
                    channel_manager,
                }) => {
                    let body = trellis_server::app::partners::CreatePartner {
                        name,
                        slug,
                        partner_type,
                        region,
                        country,
                        status,
                        website,
                        channel_manager_id: None,
                    };
                    partners::create(&cx, body, channel_manager.as_deref()).await
                }
                Command::Partner(PartnerCommand::Enroll {
                    partner,
                    program,
                    partner_type,
                    segment,
                    level,
                }) => partners::enroll(&cx, &partner, &program, partner_type, segment, level).await,
                Command::Import(ImportCommand::Partners { file }) => {
                    partners::import(&cx, &file).await
                }
                Command::Import(ImportCommand::Accounts { file }) => {
                    imports::accounts(&cx, &file).await
                }
                Command::Import(ImportCommand::Deals { file, partner }) => {
                    imports::deals(&cx, &file, &partner).await
                }
                Command::Import(ImportCommand::Sales {
                    file,
                    unknown_skus,
                    map,
                }) => incentives::import_sales(&cx, &file, &unknown_skus, &map).await,
                Command::Import(ImportCommand::Fx { file }) => {
                    incentives::import_fx(&cx, &file).await
                }
                Command::Import(ImportCommand::Rollback { batch }) => {
                    incentives::rollback(&cx, &batch).await
                }
                Command::Conflicts(ConflictsCommand::Check {
                    input,
                    threshold,
                    top,
                    min_score,
                }) => imports::check(&cx, &input, threshold, top.max(1), min_score).await,
                Command::Incentives(IncentivesCommand::Calculate {
                    period,
                    program,
                    dry_run,
                    program_file,
                    format,
                }) => {
                    incentives::calculate(
                        &cx,
                        &period,
                        program.as_deref(),
                        dry_run,
                        program_file.as_deref(),
                        format == "json",
                    )
                    .await
                }
                Command::Incentives(IncentivesCommand::Approve {
                    period,
                    program,
                    partner,
                }) => {
                    incentives::approve(&cx, &period, program.as_deref(), partner.as_deref()).await
                }
                Command::Incentives(IncentivesCommand::Payout { period, program }) => {
                    incentives::payout(&cx, &period, program.as_deref()).await
                }
                Command::Serve { .. }
                | Command::Migrate
                | Command::Backup { .. }
                | Command::Restore { .. }
                | Command::ExportOpenapi
                | Command::Program(_)
                | Command::Bench(_) => unreachable!("handled above"),
            }
        }
    }
}
