//! The partner program as code: the definition ([`model`]), reading it
//! ([`parse`]), checking it before launch ([`lint`]) and partner economics
//! ([`economics`]).

pub mod diff;
pub mod economics;
pub mod json;
pub mod lint;
pub mod model;
pub mod parse;
pub mod schema;
pub mod view;

#[cfg(test)]
mod tests;

pub use lint::{check, Finding, Severity};
pub use model::Program;
pub use parse::{parse, Location, ParseError};
