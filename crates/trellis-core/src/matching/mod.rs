//! The company matcher shared by deal-conflict detection and partner
//! recruitment: normalisation ([`normalize`]), string similarity
//! ([`similarity`]) and the blocking index with scoring and reasons
//! ([`index`]). Pure and deterministic; the server keeps one index in memory.

pub mod index;
pub mod normalize;
pub mod similarity;

pub use index::{Candidate, Customer, Index, Kind, Reason, Settings};
