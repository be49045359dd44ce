//! What a sales-out line must be: its columns, the check of each line
//! against what Trellis knows (partners, catalogue, currencies), exact limits
//! on numbers, and the set of transaction ids that makes imports idempotent.

use crate::segment::LineRef;
use rust_decimal::Decimal;
use std::collections::{HashMap, HashSet};
use std::str::FromStr;

/// The columns of a sales-out file, in the documented order.
pub const COLUMNS: &[&str] = &[
    "transaction_id",
    "date",
    "partner",
    "customer_name",
    "customer_domain",
    "customer_country",
    "sku",
    "quantity",
    "unit_price",
    "currency",
    "deal_id",
    "seller",
];

/// The columns a sales-out file must have.
pub const REQUIRED: &[&str] = &[
    "transaction_id",
    "date",
    "partner",
    "customer_name",
    "customer_country",
    "sku",
    "quantity",
    "unit_price",
    "currency",
];

/// What to do with a SKU no published program's catalogue knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnknownSku {
    /// The line is an error (the file is rejected).
    Reject,
    /// The line is imported but held out of calculations.
    Hold,
}

/// Limits that keep every product of quantity, price and FX rate exact
/// (within rust_decimal's 96-bit mantissa).
pub const MAX_QUANTITY: i64 = 10_000_000;
pub const MAX_PRICE: i64 = 10_000_000_000;
pub const MAX_RATE: i64 = 1_000_000;

/// A number of at most `max` (in magnitude) with at most `decimals`
/// decimals once trailing zeros are dropped.
pub fn limited(raw: &str, max: i64, decimals: u32) -> Option<Decimal> {
    Decimal::from_str(raw)
        .ok()
        .map(|x| x.normalize())
        .filter(|x| x.abs() <= Decimal::from(max) && x.scale() <= decimals)
}

/// Maps keyed by text from files: a fast hash with a per-process seed.
pub type Fast = foldhash::quality::RandomState;

/// What an import checks lines against.
pub struct Known<'k> {
    /// Partner ids and slugs, each to the partner's id.
    pub partner_ids: &'k HashMap<String, String, Fast>,
    /// Every published program's SKUs (empty: any SKU).
    pub skus: &'k HashSet<String, Fast>,
    /// Currencies with an FX rate or of a program, upper case.
    pub currencies: &'k HashSet<String, Fast>,
    pub unknown_sku: UnknownSku,
}

impl<'k> Known<'k> {
    /// Checks a line (all but its transaction id's uniqueness): the line to
    /// store, or every problem with it. `get(i)` is the trimmed value of
    /// column `COLUMNS[i]` (empty when the file lacks the column).
    pub fn check<'a>(
        &self,
        get: impl Fn(usize) -> &'a str,
        line: u64,
    ) -> Result<LineRef<'a>, Vec<String>>
    where
        'k: 'a,
    {
        let mut bad: Vec<String> = Vec::new();
        let day = get(1);
        if !super::is_date(day) {
            bad.push(format!("date '{day}' is not a date like 2027-01-31"));
        }
        let partner = self.partner_ids.get(get(2));
        if partner.is_none() {
            bad.push(format!(
                "partner '{}' is not a partner's id or slug",
                get(2)
            ));
        }
        if get(3).is_empty() {
            bad.push("customer_name is required".into());
        }
        let country = crate::country::parse("customer_country", get(5));
        if let Err(e) = &country {
            bad.push(e.message.clone());
        }
        let sku = get(6);
        let held = !self.skus.is_empty() && !self.skus.contains(sku);
        if held && self.unknown_sku == UnknownSku::Reject {
            bad.push(format!(
                "sku '{sku}' is in no published program's catalogue"
            ));
        }
        let quantity = limited(get(7), MAX_QUANTITY, 4).filter(|q| !q.is_zero());
        if quantity.is_none() {
            bad.push(format!(
                "quantity '{}' is not a non-zero number (negative for a return) of at most 10,000,000 with at most 4 decimals",
                get(7)
            ));
        }
        let price = limited(get(8), MAX_PRICE, 6).filter(|p| !p.is_sign_negative());
        if price.is_none() {
            bad.push(format!(
                "unit_price '{}' is not a number from 0 to 10,000,000,000 with at most 6 decimals",
                get(8)
            ));
        }
        // The known spelling (upper case), without allocating when it is one.
        let raw = get(9);
        let currency = match self.currencies.get(raw) {
            Some(c) => Some(c),
            None => self.currencies.get(&raw.to_ascii_uppercase()),
        };
        if currency.is_none() {
            bad.push(format!(
                "currency '{raw}' has no FX rate (import one with `trellis import fx`) and is no program's currency"
            ));
        }
        match (partner, country, quantity, price, currency) {
            (Some(partner), Ok(country), Some(quantity), Some(unit_price), Some(currency))
                if bad.is_empty() =>
            {
                let opt = |i: usize| Some(get(i)).filter(|s| !s.is_empty());
                Ok(LineRef {
                    line,
                    transaction_id: get(0),
                    date: day,
                    partner_id: partner,
                    customer_name: get(3),
                    customer_domain: opt(4),
                    customer_country: country,
                    sku,
                    quantity,
                    unit_price,
                    currency,
                    deal_id: opt(10),
                    seller: opt(11),
                    held,
                })
            }
            _ => Err(bad),
        }
    }
}

/// Transaction ids, exactly, with a 64-bit hash in front so that millions
/// of them cost a few bytes each. Ids whose hash another id already took go
/// to a plain map, so a collision costs time, never a wrong answer.
#[derive(Default)]
pub struct IdSet {
    arena: Vec<u8>,
    ends: Vec<usize>,
    /// A number kept with each id (its line in the file).
    tags: Vec<u64>,
    /// Seeded per set, so ids cannot be crafted to collide.
    seed: Fast,
    by_hash: HashMap<u64, u32, std::hash::BuildHasherDefault<Hashed>>,
    collided: HashMap<Box<[u8]>, u32, Fast>,
}

/// The keys of [`IdSet::by_hash`] are hashes already.
#[derive(Default)]
struct Hashed(u64);

impl std::hash::Hasher for Hashed {
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*b);
        }
    }

    fn write_u64(&mut self, v: u64) {
        self.0 = v;
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

impl IdSet {
    fn hash(&self, id: &[u8]) -> u64 {
        use std::hash::BuildHasher;
        self.seed.hash_one(id)
    }

    fn get(&self, i: u32) -> &[u8] {
        let i = i as usize;
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.arena[start..self.ends[i]]
    }

    fn find(&self, id: &[u8]) -> Option<u32> {
        let i = *self.by_hash.get(&self.hash(id))?;
        if self.get(i) == id {
            return Some(i);
        }
        self.collided.get(id).copied()
    }

    /// The tag of the id if it is in the set.
    pub fn tag(&self, id: &str) -> Option<u64> {
        self.find(id.as_bytes()).map(|i| self.tags[i as usize])
    }

    /// Adds an id; returns the tag it already had if it was in the set.
    /// One probe of the hash table for a new id.
    pub fn insert(&mut self, id: &str, tag: u64) -> Option<u64> {
        use std::collections::hash_map::Entry;
        let id = id.as_bytes();
        let i = self.ends.len() as u32;
        let h = self.hash(id);
        match self.by_hash.entry(h) {
            Entry::Occupied(o) => {
                let first = *o.get();
                if self.get(first) == id {
                    return Some(self.tags[first as usize]);
                }
                if let Some(j) = self.collided.get(id) {
                    return Some(self.tags[*j as usize]);
                }
                self.collided.insert(id.into(), i);
            }
            Entry::Vacant(v) => {
                v.insert(i);
            }
        }
        self.arena.extend_from_slice(id);
        self.ends.push(self.arena.len());
        self.tags.push(tag);
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_found_exactly_even_when_their_hashes_collide() {
        let mut set = IdSet::default();
        assert_eq!(set.insert("A", 2), None);
        assert_eq!(set.insert("A", 9), Some(2), "a repeat gives the first tag");
        // Make B's hash point at A, as a collision would.
        let hb = set.hash(b"B");
        set.by_hash.insert(hb, 0);
        assert_eq!(set.tag("B"), None, "B is not A");
        assert_eq!(set.insert("B", 3), None);
        assert_eq!(set.insert("B", 4), Some(3));
        assert_eq!(
            (set.tag("A"), set.tag("B"), set.tag("C")),
            (Some(2), Some(3), None)
        );
    }

    fn known<'k>(
        partners: &'k HashMap<String, String, Fast>,
        skus: &'k HashSet<String, Fast>,
        currencies: &'k HashSet<String, Fast>,
    ) -> Known<'k> {
        Known {
            partner_ids: partners,
            skus,
            currencies,
            unknown_sku: UnknownSku::Reject,
        }
    }

    #[test]
    fn a_line_is_checked_field_by_field() {
        let partners: HashMap<String, String, Fast> = [("acme".to_string(), "p1".to_string())]
            .into_iter()
            .collect();
        let skus: HashSet<String, Fast> = ["SKU-1".to_string()].into_iter().collect();
        let currencies: HashSet<String, Fast> = ["EUR".to_string()].into_iter().collect();
        let k = known(&partners, &skus, &currencies);
        let good = [
            "t1",
            "2027-01-31",
            "acme",
            "Kunde AG",
            "",
            "de",
            "SKU-1",
            "-2",
            "10.5",
            "eur",
            "",
            "",
        ];
        let line = k.check(|i| good[i], 7).unwrap();
        assert_eq!(
            (line.partner_id, line.customer_country, line.currency),
            ("p1", "DE", "EUR")
        );
        assert_eq!(line.quantity, Decimal::from(-2));
        let bad = [
            "t2",
            "2027-02-30",
            "nobody",
            "",
            "",
            "xx",
            "SKU-9",
            "0",
            "-1",
            "ZZZ",
            "",
            "",
        ];
        let problems = k.check(|i| bad[i], 8).unwrap_err();
        assert_eq!(problems.len(), 8, "{problems:?}");
        assert!(problems[0].contains("2027-02-30"));
    }

    #[test]
    fn limits_keep_products_exact() {
        assert_eq!(
            limited("10000000", MAX_QUANTITY, 4),
            Some(Decimal::from(10_000_000))
        );
        assert_eq!(limited("10000000.5", MAX_QUANTITY, 4), None);
        assert_eq!(limited("1.12345", MAX_QUANTITY, 4), None);
        assert_eq!(
            limited("1.12340", MAX_QUANTITY, 4).map(|d| d.scale()),
            Some(4)
        );
        assert_eq!(limited("abc", MAX_QUANTITY, 4), None);
    }
}
