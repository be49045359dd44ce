//! Exchange rates to one currency, by day.

use rust_decimal::Decimal;
use std::collections::HashMap;

/// FX rates to one currency, by source currency, sorted by day.
#[derive(Debug, Default)]
pub struct Fx {
    to: String,
    rates: HashMap<String, Vec<(String, Decimal)>>,
}

/// One stored rate: 1 `from` = `rate` `to` from `valid_from` on.
#[derive(Debug, Clone, PartialEq)]
pub struct Rate {
    pub from: String,
    pub to: String,
    pub valid_from: String,
    pub rate: Decimal,
}

impl Fx {
    /// The rates to `to` among `rates`: direct ones, and the inverse of
    /// rates from `to`.
    pub fn new(to: &str, rates: impl IntoIterator<Item = Rate>) -> Fx {
        let mut by: HashMap<String, Vec<(String, Decimal)>> = HashMap::new();
        for r in rates {
            if r.to == to {
                by.entry(r.from).or_default().push((r.valid_from, r.rate));
            } else if r.from == to && !r.rate.is_zero() {
                by.entry(r.to)
                    .or_default()
                    .push((r.valid_from, Decimal::ONE / r.rate));
            }
        }
        for v in by.values_mut() {
            v.sort_by(|a, b| a.0.cmp(&b.0));
        }
        Fx {
            to: to.to_string(),
            rates: by,
        }
    }

    /// The days on which a rate starts.
    pub fn days(&self) -> impl Iterator<Item = &String> {
        self.rates.values().flatten().map(|(d, _)| d)
    }

    /// The rate from `currency` on `day` (the latest valid from on or before it).
    pub fn rate(&self, currency: &str, day: &str) -> Option<Decimal> {
        if currency == self.to {
            return Some(Decimal::ONE);
        }
        let v = self.rates.get(currency)?;
        let i = v.partition_point(|(d, _)| d.as_str() <= day);
        (i > 0).then(|| v[i - 1].1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rate(from: &str, to: &str, day: &str, r: &str) -> Rate {
        Rate {
            from: from.into(),
            to: to.into(),
            valid_from: day.into(),
            rate: r.parse().unwrap(),
        }
    }

    #[test]
    fn the_rate_in_force_on_a_day_and_inverse_rates() {
        let fx = Fx::new(
            "USD",
            [
                rate("EUR", "USD", "2027-02-01", "1.2"),
                rate("EUR", "USD", "2027-01-01", "1.1"),
                rate("USD", "GBP", "2027-01-01", "0.8"),
            ],
        );
        assert_eq!(fx.rate("USD", "1999-01-01"), Some(Decimal::ONE));
        assert_eq!(fx.rate("EUR", "2026-12-31"), None);
        assert_eq!(fx.rate("EUR", "2027-01-31"), Some("1.1".parse().unwrap()));
        assert_eq!(fx.rate("EUR", "2027-02-01"), Some("1.2".parse().unwrap()));
        assert_eq!(fx.rate("GBP", "2027-03-01"), Some("1.25".parse().unwrap()));
    }
}
