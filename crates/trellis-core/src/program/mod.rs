//! The partner program as code: the definition ([`model`]), reading it
//! ([`parse`]), checking it before launch ([`lint`]) and partner economics
//! ([`economics`]).

pub mod economics;
pub mod lint;
pub mod model;
pub mod parse;

#[cfg(test)]
mod tests;

pub use lint::{check, Finding, Severity};
pub use model::Program;
pub use parse::{parse, Location, ParseError};
