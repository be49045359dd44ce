//! The company matcher shared by deal-conflict detection and partner
//! recruitment: normalisation ([`normalize`]), string similarity
//! ([`similarity`]), places ([`location`]), the evidence a pair of records
//! gives ([`evidence`]), the model that turns it into a probability-like
//! score ([`model`]) and the blocking index that finds candidates ([`index`]).
//! Pure and deterministic; the server keeps one index in memory.

pub mod evidence;
pub mod index;
pub mod location;
pub mod model;
pub mod normalize;
mod reason;
pub mod similarity;

pub use index::{Candidate, Customer, Index, Kind, Settings};
pub use reason::Reason;

#[cfg(test)]
mod classes;
