//! Exchange rates: `from_currency,to_currency,valid_from,rate` (1 `from` =
//! `rate` `to` from that day on).

use super::super::imports::read;
use super::super::{App, AppResult};
use crate::store::incentives as store;
use rust_decimal::Decimal;
use trellis_core::csvfile::Rejected;
use trellis_core::incentives::fx::Rate;
use trellis_core::incentives::is_date;
use trellis_core::incentives::lines::{limited, MAX_RATE};

/// Imports FX rates: all or nothing; a rate for the same pair and day is
/// replaced. Returns how many.
pub async fn import(app: &App, source: &str, text: &str) -> AppResult<usize> {
    let rows = read(
        source,
        text,
        &["from_currency", "to_currency", "valid_from", "rate"],
        |_| false,
    )?;
    let mut errors = Vec::new();
    let mut ok = Vec::new();
    for (line, r) in &rows {
        let get = |k: &str| r.get(k).map(String::as_str).unwrap_or("");
        let cur = |k: &str| {
            let c = get(k).to_ascii_uppercase();
            (c.len() == 3 && c.chars().all(|x| x.is_ascii_uppercase())).then_some(c)
        };
        let rate = limited(get("rate"), MAX_RATE, 10).filter(|r| *r > Decimal::ZERO);
        match (cur("from_currency"), cur("to_currency"), is_date(get("valid_from")), rate) {
            (Some(from), Some(to), true, Some(rate)) => ok.push(Rate {
                from,
                to,
                valid_from: get("valid_from").to_string(),
                rate,
            }),
            _ => errors.push(format!(
                "{source}:{line}: needs from_currency and to_currency (ISO 4217, like EUR), valid_from (YYYY-MM-DD) and a rate > 0, at most 1,000,000 with at most 10 decimals"
            )),
        }
    }
    if !errors.is_empty() {
        return Err(Rejected(errors).into());
    }
    let mut tx = app.db.begin_write().await?;
    for r in &ok {
        store::put_fx_rate(&mut tx, r).await?;
    }
    tx.commit().await?;
    Ok(ok.len())
}
