//! The command line: every command and its options (clap).

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "trellis",
    version,
    about = "Trellis: open-source partner relationship management"
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Args)]
pub struct Global {
    /// TOML config file (default: ./trellis.toml when it exists; env TRELLIS_CONFIG)
    #[arg(long, global = true)]
    pub config: Option<PathBuf>,
    /// sqlite://PATH or postgres://USER@HOST/DB (env TRELLIS_DATABASE_URL)
    #[arg(long, global = true)]
    pub database_url: Option<String>,
    /// Log format: text or json (env TRELLIS_LOG_FORMAT)
    #[arg(long, global = true)]
    pub log_format: Option<String>,
    /// Log filter, e.g. info or trellis_server=debug (env TRELLIS_LOG)
    #[arg(long, global = true)]
    pub log: Option<String>,
}

#[derive(Subcommand)]
pub enum Command {
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
    /// Back up the database while Trellis serves it (SQLite: VACUUM INTO; PostgreSQL: pg_dump)
    Backup {
        /// The backup file to write (must not exist)
        dest: PathBuf,
    },
    /// Restore a backup into the database (stop Trellis first)
    Restore {
        /// A file written by `trellis backup`
        src: PathBuf,
        /// Overwrite a database that already holds data
        #[arg(long)]
        replace: bool,
    },
    /// Print the OpenAPI document of the API
    ExportOpenapi,
    /// Manage users
    #[command(subcommand)]
    User(UserCommand),
    /// Manage API tokens
    #[command(subcommand)]
    Token(TokenCommand),
    /// Create partners and enroll them in programs
    #[command(subcommand)]
    Partner(PartnerCommand),
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
pub enum IncentivesCommand {
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
pub enum PartnerCommand {
    /// Create a partner organisation and print its slug and id
    Create {
        /// The organisation's name
        #[arg(long)]
        name: String,
        /// URL-safe id (default: made from the name)
        #[arg(long)]
        slug: Option<String>,
        /// Partner type label, e.g. reseller
        #[arg(long = "type")]
        partner_type: String,
        /// Region label, e.g. dach
        #[arg(long)]
        region: String,
        /// ISO 3166-1 alpha-2 country code
        #[arg(long)]
        country: String,
        /// prospect (default), onboarding, active, suspended or terminated
        #[arg(long)]
        status: Option<String>,
        #[arg(long)]
        website: Option<String>,
        /// The e-mail of the vendor user who manages the partner
        #[arg(long)]
        channel_manager: Option<String>,
    },
    /// Enroll a partner in a published program (or change its type, segment or level there)
    Enroll {
        /// The partner's slug
        #[arg(long)]
        partner: String,
        /// The program's id (`[program].id`)
        #[arg(long)]
        program: String,
        /// One of the program's partner types
        #[arg(long = "type")]
        partner_type: String,
        /// One of the program's segments
        #[arg(long)]
        segment: String,
        /// A tier or track of the program
        #[arg(long)]
        level: Option<String>,
    },
}

#[derive(Subcommand)]
pub enum ImportCommand {
    /// The vendor's accounts: external_id,name,domain,country,city,owner,house
    Accounts { file: PathBuf },
    /// Partners, optionally each enrolled in a program (see docs/operations.md for the columns)
    Partners { file: PathBuf },
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
        /// A column of the file under Trellis's name: FILE_COLUMN=COLUMN (repeatable),
        /// e.g. --map txn_id=transaction_id --map reseller=partner
        #[arg(long = "map", value_name = "FILE_COLUMN=COLUMN")]
        map: Vec<String>,
    },
    /// FX rates: from_currency,to_currency,valid_from,rate
    Fx { file: PathBuf },
    /// Remove the lines of an imported sales batch
    Rollback { batch: String },
}

#[derive(Subcommand)]
pub enum ConflictsCommand {
    /// The best candidates of each input line, one CSV line each (input columns: id,customer_name,customer_domain,contact_email,country,city)
    Check {
        #[arg(long)]
        input: PathBuf,
        /// Score from which a candidate is a conflict
        #[arg(long, default_value_t = 0.8)]
        threshold: f64,
        /// Candidates per input line (one output line each, best first)
        #[arg(long, default_value_t = 3)]
        top: usize,
        /// Leave out candidates scoring below this
        #[arg(long, default_value_t = 0.05)]
        min_score: f64,
    },
}

#[derive(Subcommand)]
pub enum BenchCommand {
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
    /// Fit the matcher's model on the tuning generator and print its weights
    ConflictsFit {
        #[arg(long, default_value_t = 50_000)]
        records: usize,
        #[arg(long, default_value_t = 8_000)]
        queries: usize,
        #[arg(long, default_value_t = 11)]
        seed: u64,
        /// Candidates per query used as pairs
        #[arg(long, default_value_t = 10)]
        per_query: usize,
        /// L2 penalty on the weights (not the bias)
        #[arg(long, default_value_t = 1.0)]
        l2: f64,
        /// Fit, pick candidates with the fitted weights, fit again
        #[arg(long, default_value_t = 2)]
        rounds: usize,
    },
    /// The company matcher on labelled files (held-out data), beside rapidfuzz peers
    ConflictsEval {
        /// The vendor's accounts: id,name,domain,country,city
        #[arg(long)]
        records: PathBuf,
        /// The queries: id,name,domain,country,city,truth (the record's id, or empty)
        #[arg(long)]
        queries: PathBuf,
        /// Score from which the best candidate counts as a conflict
        #[arg(long, default_value_t = 0.8)]
        threshold: f64,
        /// Peer scripts run on the same files
        #[arg(long, default_values = ["scripts/eval/peer_token_set.py", "scripts/bench/conflicts_peer.py"])]
        peer: Vec<PathBuf>,
        /// Do not run the peers
        #[arg(long)]
        no_peer: bool,
        /// Run the peers on the first this many queries only
        #[arg(long)]
        peer_queries: Option<usize>,
        /// Count the mistakes at the flag by the queries' `case` column
        #[arg(long)]
        by_case: bool,
        /// Print this many mistakes at the flag
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
pub enum Format {
    Text,
    Json,
}

#[derive(Subcommand)]
pub enum ProgramCommand {
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
pub enum SeedCommand {
    /// Add COUNT synthetic partners (slugs load-0000000…) in one transaction
    Partners {
        #[arg(long)]
        count: usize,
    },
}

#[derive(Subcommand)]
pub enum UserCommand {
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
    /// Write everything held about a person as JSON (to stdout or --out)
    Export {
        #[arg(long)]
        email: String,
        /// Write to this file instead of standard output
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Erase a person: their e-mail and name become a pseudonym, the account
    /// is disabled, and the records of what they did keep the pseudonym
    Erase {
        #[arg(long)]
        email: String,
        /// Confirm: erasing cannot be undone
        #[arg(long)]
        yes: bool,
    },
}

#[derive(Subcommand)]
pub enum TokenCommand {
    /// Create an API token for a user and print it (and nothing else) on stdout
    Create {
        #[arg(long)]
        email: String,
        #[arg(long, default_value = "cli")]
        name: String,
        /// What it may be used for: read, deals, incentives or admin (repeatable; default admin)
        #[arg(long = "scope")]
        scopes: Vec<String>,
        /// Its last day, YYYY-MM-DD (default: a year from today)
        #[arg(long)]
        expires_on: Option<String>,
    },
    /// Revoke a token by id
    Revoke {
        #[arg(long)]
        email: String,
        #[arg(long)]
        id: String,
    },
}
