//! Trellis pure domain: no IO, no async, no database, no HTTP.
//!
//! Everything here is deterministic and cheap to test: input validation
//! (newtypes that can only be built by parsing), the organisation model and
//! the authorization policy that every HTTP handler consults.

pub mod access;
pub mod accounts;
pub mod country;
pub mod csvfile;
pub mod deals;
pub mod incentives;
pub mod matching;
pub mod org;
pub mod program;
pub mod recruit;
pub mod segment;
pub mod validate;

pub use validate::{FieldError, FieldErrors};
