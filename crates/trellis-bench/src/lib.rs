//! Benchmarks and the data they run on: seeded generators of companies,
//! sales-out files, programs and partners, the measures of the matcher's
//! quality, and the runners behind `trellis bench …` and `trellis seed`.
//! Nothing here ships in the server.

pub mod companies;
pub mod conflicts;
pub mod eval;
pub mod fit;
pub mod incentives;
pub mod partners;
pub mod programs;
pub mod quality;
pub mod rng;

use trellis_core::access::Principal;
use trellis_core::org::Role;

/// Who the benchmarks act as: the operator, with a vendor admin's rights.
pub fn operator() -> Principal {
    Principal {
        user_id: "bench".into(),
        role: Role::VendorAdmin,
        partner_id: None,
    }
}
