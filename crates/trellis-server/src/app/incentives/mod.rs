//! Incentives: sales-out data in (CSV import, FX rates), statements out
//! (calculation with what-ifs, approval, payout files, disputes).
//!
//! - [`import`]: streaming sales-out import, all or nothing per file,
//!   idempotent by transaction id, reversible per batch.
//! - [`fx`]: exchange rates.
//! - [`calculate`]: a period's statements under a program (or a draft of it).
//! - [`statements`]: drafts, approval, payout files, disputes, totals.

pub mod calculate;
pub mod fx;
pub mod import;
pub mod statements;

pub use calculate::{Calculation, Run, WhatIf, WhatIfRow};
pub use import::ImportSummary;
pub use trellis_core::incentives::lines::{UnknownSku, COLUMNS};

use super::{App, AppError, AppResult};
use trellis_core::access::Principal;
use trellis_core::incentives::fold::FoldError;

/// Runs CPU-bound work from async code without stalling other tasks on a
/// multi-threaded runtime (the server): the worker hands its tasks over
/// while `f` runs.
pub(crate) fn blocking<T>(f: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current().map(|h| h.runtime_flavor()) {
        Ok(tokio::runtime::RuntimeFlavor::MultiThread) => tokio::task::block_in_place(f),
        _ => f(),
    }
}

impl From<FoldError> for AppError {
    fn from(e: FoldError) -> Self {
        match e {
            FoldError::NoRate { .. } => AppError::field("period", "no-fx-rate", e.to_string()),
            FoldError::TooLarge => AppError::field("file", "too-large", e.to_string()),
            FoldError::Stored(_) | FoldError::Panicked => AppError::internal(e),
        }
    }
}

/// Vendor admins calculate, approve and pay statements.
pub(crate) fn vendor_admins_only(who: &Principal, what: &str) -> AppResult<()> {
    if who.can_manage_programs() {
        Ok(())
    } else {
        Err(AppError::forbidden(format!("vendor admins {what}")))
    }
}

/// Whether the caller may upload sales-out data: vendor admins, and the
/// admins of distributor partners.
pub async fn may_upload(app: &App, who: &Principal) -> AppResult<bool> {
    if who.can_manage_programs() {
        return Ok(true);
    }
    Ok(match &who.partner_id {
        Some(id) if who.role == trellis_core::org::Role::PartnerAdmin => {
            crate::store::partners::get(&app.db, id)
                .await?
                .is_some_and(|p| p.partner_type == "distributor")
        }
        _ => false,
    })
}

/// Every partner's name by id (to show statements).
pub async fn partner_names(app: &App) -> AppResult<std::collections::BTreeMap<String, String>> {
    Ok(crate::store::incentives::partner_names(&app.db).await?)
}
