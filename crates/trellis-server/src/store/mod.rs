//! Persistence. One implementation serves SQLite and PostgreSQL: portable SQL
//! with `$n` placeholders, executed through `sqlx::Any`.

pub mod accounts;
pub mod agreements;
pub mod applications;
pub mod audit;
pub mod deals;
pub mod incentives;
pub mod onboarding;
pub mod outbox;
pub mod partners;
pub mod privacy;
pub mod programs;
pub mod sessions;
pub mod settings;
pub mod throttle;
pub mod tokens;
pub mod users;

use base64::Engine as _;
use trellis_core::FieldErrors;

/// Why a store operation did not happen.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{message}")]
    Conflict {
        field: &'static str,
        message: String,
    },
    #[error("invalid input")]
    Invalid(FieldErrors),
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    #[error("{0}")]
    Internal(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// A unique constraint and the input field it guards, by the names each
/// backend reports (see [`crate::db::violated_unique`]).
#[derive(Debug, Clone, Copy)]
pub struct Unique {
    pub postgres: &'static str,
    pub sqlite: &'static str,
    pub field: &'static str,
}

pub const PARTNER_SLUG: Unique = Unique {
    postgres: "partners_slug_key",
    sqlite: "partners.slug",
    field: "slug",
};
pub const USER_EMAIL: Unique = Unique {
    postgres: "users_email_key",
    sqlite: "users.email",
    field: "email",
};
pub const OPEN_APPLICATION_DOMAIN: Unique = Unique {
    postgres: "applications_open_domain",
    sqlite: "applications.domain",
    field: "domain",
};
pub const AGREEMENT_ACCEPTANCE: Unique = Unique {
    postgres: "agreement_acceptances_agreement_id_partner_id_key",
    sqlite: "agreement_acceptances.agreement_id, agreement_acceptances.partner_id",
    field: "agreement",
};
pub const PROGRAM_VERSION_NUMBER: Unique = Unique {
    postgres: "program_versions_program_id_number_key",
    sqlite: "program_versions.program_id, program_versions.number",
    field: "program",
};

impl StoreError {
    /// A violation of `unique` becomes a conflict on its field with
    /// `message`; any other error stays what it is.
    pub fn on_unique(
        e: sqlx::Error,
        unique: Unique,
        message: impl FnOnce() -> String,
    ) -> StoreError {
        match crate::db::violated_unique(&e) {
            Some(c) if c == unique.postgres || c == unique.sqlite => StoreError::Conflict {
                field: unique.field,
                message: message(),
            },
            _ => StoreError::Db(e),
        }
    }
}

/// A write transaction on either backend.
pub type Tx = sqlx::Transaction<'static, sqlx::Any>;

/// Who is making a change, for the audit trail.
#[derive(Debug, Clone)]
pub struct Actor {
    pub user_id: Option<String>,
    pub email: String,
    pub request_id: Option<String>,
}

impl Actor {
    /// The command-line tool acting on the operator's behalf.
    pub fn cli() -> Actor {
        Actor {
            user_id: None,
            email: "cli".into(),
            request_id: None,
        }
    }

    /// Trellis itself (demo loader, jobs).
    pub fn system(what: &str) -> Actor {
        Actor {
            user_id: None,
            email: format!("system:{what}"),
            request_id: None,
        }
    }
}

/// A bind value for dynamically built queries.
#[derive(Debug, Clone)]
pub enum Arg {
    Text(String),
    Int(i64),
}

/// A query assembled piece by piece, numbering its `$n` placeholders.
#[derive(Debug, Default)]
pub struct Sql {
    pub text: String,
    pub args: Vec<Arg>,
}

impl Sql {
    pub fn new(text: &str) -> Sql {
        Sql {
            text: text.to_string(),
            args: Vec::new(),
        }
    }

    pub fn push(&mut self, s: &str) -> &mut Self {
        self.text.push_str(s);
        self
    }

    /// Appends a placeholder for `arg` and binds it.
    pub fn bind(&mut self, arg: Arg) -> &mut Self {
        self.args.push(arg);
        self.text.push_str(&format!("${}", self.args.len()));
        self
    }

    pub fn bind_text(&mut self, s: impl Into<String>) -> &mut Self {
        self.bind(Arg::Text(s.into()))
    }

    pub fn query(&self) -> sqlx::query::Query<'_, sqlx::Any, sqlx::any::AnyArguments<'_>> {
        let mut q = sqlx::query(&self.text);
        for a in &self.args {
            q = match a {
                Arg::Text(s) => q.bind(s.as_str()),
                Arg::Int(i) => q.bind(*i),
            };
        }
        q
    }
}

/// Encodes a keyset-pagination position as an opaque cursor.
pub fn encode_cursor(parts: &[&str]) -> String {
    let json = serde_json::to_vec(parts).unwrap_or_default();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json)
}

/// Decodes a cursor made by [`encode_cursor`] with exactly `n` parts.
pub fn decode_cursor(field: &str, cursor: &str, n: usize) -> StoreResult<Vec<String>> {
    let bad = || {
        StoreError::Invalid(
            trellis_core::FieldError::new(
                field,
                "invalid-cursor",
                format!("{field} is not a cursor this server handed out"),
            )
            .into(),
        )
    };
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cursor)
        .map_err(|_| bad())?;
    let parts: Vec<String> = serde_json::from_slice(&bytes).map_err(|_| bad())?;
    if parts.len() != n {
        return Err(bad());
    }
    Ok(parts)
}

/// Clamps a page size request to 1..=200 (default 50).
pub fn page_limit(limit: Option<i64>) -> i64 {
    limit.unwrap_or(50).clamp(1, 200)
}
