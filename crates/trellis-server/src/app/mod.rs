//! The application layer: one function per use case, shared by the API, the
//! portal, the command line and the background jobs.
//!
//! A use case checks who may do it, validates its input with the core's
//! rules, opens its transaction, calls the store for the SQL, records the
//! audit entry and the notifications in that transaction, and commits. It
//! returns an [`AppError`], which knows nothing of HTTP: `http::api` maps it
//! to a problem document, `http::portal` to a page or form errors, the
//! command line to a message and an exit code.

pub mod agreements;
pub mod audit;
pub mod deals;
pub mod imports;
pub mod incentives;
pub mod notify;
pub mod onboarding;
pub mod partners;
pub mod privacy;
pub mod programs;
pub mod recruit;
pub mod sessions;
pub mod tokens;
pub mod users;

use crate::config::Config;
use crate::db::Db;
use crate::matcher::Matcher;
use crate::store::StoreError;
use std::sync::Arc;
use trellis_core::csvfile::Rejected;
use trellis_core::{FieldError, FieldErrors};

pub use crate::store::Actor;
pub use programs::ProblemFinding;

/// A write transaction on either backend.
pub type Tx = sqlx::Transaction<'static, sqlx::Any>;

/// What every use case works with: the database, this instance's company
/// matcher and the configuration.
#[derive(Clone)]
pub struct App {
    pub db: Db,
    pub matcher: Arc<Matcher>,
    pub config: Arc<Config>,
}

impl App {
    /// Opens the application over a migrated database (builds the matcher index).
    pub async fn load(db: Db, config: Config) -> AppResult<App> {
        let matcher = Matcher::load(&db).await?;
        Ok(App {
            db,
            matcher: Arc::new(matcher),
            config: Arc::new(config),
        })
    }

    /// Opens the application with a matcher that builds its index on first
    /// use (the command line, where most commands need none).
    pub fn open(db: Db, config: Config) -> App {
        App {
            db,
            matcher: Arc::new(Matcher::lazy()),
            config: Arc::new(config),
        }
    }

    /// The URL people open, for links in e-mails.
    pub fn public_url(&self) -> String {
        self.config.public_url()
    }
}

/// Why a use case did not happen.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The input is not acceptable; each error names its field.
    #[error("{0}")]
    Invalid(FieldErrors),
    /// A file with bad lines: nothing of it was imported.
    #[error("{0}")]
    Rejected(Rejected),
    /// The caller may see the object but not do this to it.
    #[error("{0}")]
    Forbidden(String),
    /// No such object, or not one the caller may see.
    #[error("no such {0}")]
    NotFound(&'static str),
    /// The change conflicts with the current state or with existing data.
    #[error("{message}")]
    Conflict {
        field: &'static str,
        message: String,
    },
    /// Too many attempts; try again after this many seconds.
    #[error("too many attempts; try again in {retry_after} seconds")]
    TooMany { retry_after: i64 },
    /// A program source that does not parse (`program-invalid`) or has error
    /// findings where none are allowed (`program-has-errors`).
    #[error("{detail}")]
    Program {
        code: &'static str,
        detail: String,
        findings: Vec<ProblemFinding>,
    },
    /// Something broke on our side; logged, never shown to the caller.
    #[error("{0}")]
    Internal(String),
}

pub type AppResult<T> = Result<T, AppError>;

impl AppError {
    /// One invalid field.
    pub fn field(field: &str, code: &'static str, message: impl Into<String>) -> AppError {
        AppError::Invalid(FieldError::new(field, code, message).into())
    }

    /// An object named in the input that is not found becomes an error on
    /// that field; anything else (a database failure) stays what it is, so
    /// that it is not answered as the caller's mistake.
    pub fn not_found_as_field(
        self,
        field: &str,
        code: &'static str,
        message: impl Into<String>,
    ) -> AppError {
        match self {
            AppError::NotFound(_) => AppError::field(field, code, message),
            other => other,
        }
    }

    pub fn forbidden(message: impl Into<String>) -> AppError {
        AppError::Forbidden(message.into())
    }

    pub fn internal(what: impl std::fmt::Display) -> AppError {
        AppError::Internal(what.to_string())
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(what) => AppError::NotFound(what),
            StoreError::Conflict { field, message } => AppError::Conflict { field, message },
            StoreError::Invalid(errs) => AppError::Invalid(errs),
            StoreError::Db(e) => AppError::Internal(format!("database: {e}")),
            StoreError::Internal(m) => AppError::Internal(m),
        }
    }
}

impl From<Rejected> for AppError {
    fn from(e: Rejected) -> Self {
        AppError::Rejected(e)
    }
}

impl From<sqlx::Error> for AppError {
    fn from(e: sqlx::Error) -> Self {
        StoreError::from(e).into()
    }
}

impl From<FieldErrors> for AppError {
    fn from(e: FieldErrors) -> Self {
        AppError::Invalid(e)
    }
}

impl From<FieldError> for AppError {
    fn from(e: FieldError) -> Self {
        AppError::Invalid(e.into())
    }
}

/// Today (UTC) as YYYY-MM-DD.
pub fn today() -> String {
    chrono::Utc::now().format("%Y-%m-%d").to_string()
}
