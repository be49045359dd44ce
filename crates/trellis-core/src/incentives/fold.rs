//! Folding stored sales lines into the groups the rules run over: by
//! partner, SKU, currency, approved deal, seller (only where a SPIF credits
//! sellers) and range of days within which no rule, period or FX rate
//! changes. The rules give the same statements over the groups as over the
//! lines (see [`super::calculate_groups`]), and a period of millions of
//! lines folds into thousands of groups, on every core.

use super::fx::Fx;
use super::lines::Fast;
use super::{seller_matters, Group};
use crate::program::Program;
use crate::segment::{self, SegmentError};
use rust_decimal::Decimal;
use std::collections::{BTreeMap, HashMap};

/// Why lines could not be folded.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FoldError {
    #[error("sales amounts too large to add up exactly")]
    TooLarge,
    #[error("stored {0}")]
    Stored(#[from] SegmentError),
    #[error("folding sales lines failed")]
    Panicked,
    /// Currencies without a rate to the program's currency, each with the
    /// first day it is needed.
    #[error("no FX rate to {to} for: {}", missing.iter().map(|(c, d)| format!("{c} (sales from {d})")).collect::<Vec<_>>().join(", "))]
    NoRate {
        to: String,
        missing: BTreeMap<String, String>,
    },
}

/// What folding needs to know.
pub struct Scope<'a> {
    /// Day numbers (yyyymmdd) from which something changes, sorted.
    pub bounds: Vec<u32>,
    /// Days read: the year before and the period, each `[from, to)`.
    pub days: [(u32, u32); 2],
    /// Approved and won deal registrations: id → the partner that
    /// registered it. A sale counts as registered only for that partner.
    pub approved_deals: &'a HashMap<String, String>,
    /// Sellers are kept apart only where a SPIF credits them.
    pub program: &'a Program,
}

#[derive(Hash, PartialEq, Eq)]
pub struct GroupKey<'a> {
    pub partner: &'a str,
    /// Index into the scope's boundaries.
    pub bucket: u32,
    pub sku: &'a str,
    pub currency: &'a str,
    pub deal: Option<&'a str>,
    pub seller: Option<&'a str>,
}

/// Sums of a group, revenue in the line's currency.
#[derive(Default)]
pub struct Acc {
    pub units: Decimal,
    pub revenue: Decimal,
    pub lines: u64,
    pub positive: u64,
}

impl Acc {
    fn add(&mut self, o: &Acc) -> Result<(), FoldError> {
        self.units = self.units.checked_add(o.units).ok_or(FoldError::TooLarge)?;
        self.revenue = self
            .revenue
            .checked_add(o.revenue)
            .ok_or(FoldError::TooLarge)?;
        self.lines += o.lines;
        self.positive += o.positive;
        Ok(())
    }
}

/// Lines folded into groups.
#[derive(Default)]
pub struct Folded<'a> {
    pub groups: HashMap<GroupKey<'a>, Acc, Fast>,
    /// Lines read into the groups.
    pub lines: u64,
}

impl<'a> Folded<'a> {
    fn merge(&mut self, o: Folded<'a>) -> Result<(), FoldError> {
        self.lines += o.lines;
        for (k, a) in o.groups {
            self.groups.entry(k).or_default().add(&a)?;
        }
        Ok(())
    }

    /// The groups with revenue in the FX target's currency; `bounds` are
    /// the days the buckets start on.
    pub fn to_groups<'b>(
        &'b self,
        bounds: &'b [String],
        fx: &Fx,
        to: &str,
    ) -> Result<Vec<Group<'b>>, FoldError> {
        let mut groups = Vec::with_capacity(self.groups.len());
        let mut missing: BTreeMap<String, String> = BTreeMap::new();
        for (k, a) in &self.groups {
            let date = bounds[k.bucket as usize].as_str();
            let Some(rate) = fx.rate(k.currency, date) else {
                missing
                    .entry(k.currency.to_string())
                    .or_insert(date.to_string());
                continue;
            };
            groups.push(Group {
                partner_id: k.partner,
                date,
                sku: k.sku,
                deal_id: k.deal,
                seller: k.seller,
                units: a.units,
                revenue: a.revenue.checked_mul(rate).ok_or(FoldError::TooLarge)?,
                lines: a.lines,
                positive_lines: a.positive,
            });
        }
        if missing.is_empty() {
            Ok(groups)
        } else {
            Err(FoldError::NoRate {
                to: to.to_string(),
                missing,
            })
        }
    }
}

/// Folds the lines of some segments (held lines and days outside the scope
/// left out). Each segment is folded by dictionary indexes first, then its
/// few groups are merged by name.
pub fn fold<'a>(blobs: &'a [Vec<u8>], scope: &Scope) -> Result<Folded<'a>, FoldError> {
    let mut out = Folded::default();
    // (partner, sku), (currency, bucket), (deal, seller): dictionary indexes.
    let mut local: HashMap<(u64, u64, u64), Acc, foldhash::fast::RandomState> = HashMap::default();
    for blob in blobs {
        let mut f = segment::Facts::read(blob)?;
        // For each deal of the segment, the index (in the segment's partner
        // dictionary) of the partner whose approved registration it is.
        let partner_index: HashMap<&str, u32> = f
            .partners
            .iter()
            .enumerate()
            .map(|(i, p)| (*p, i as u32))
            .collect();
        let deal_owner: Vec<u32> = f
            .deals
            .iter()
            .map(|d| {
                scope
                    .approved_deals
                    .get(*d)
                    .and_then(|owner| partner_index.get(owner.as_str()).copied())
                    .unwrap_or(u32::MAX)
            })
            .collect();
        let seller_skus: Vec<bool> = f
            .skus
            .iter()
            .map(|s| seller_matters(scope.program, s))
            .collect();
        local.clear();
        while let Some(x) = f.next_fact()? {
            if x.held
                || !scope
                    .days
                    .iter()
                    .any(|(from, to)| (*from..*to).contains(&x.date))
            {
                continue;
            }
            let bucket = scope
                .bounds
                .partition_point(|b| *b <= x.date)
                .saturating_sub(1) as u32;
            let deal = x
                .deal
                .filter(|d| deal_owner[*d as usize] == x.partner)
                .unwrap_or(u32::MAX);
            let seller = x
                .seller
                .filter(|_| seller_skus[x.sku as usize])
                .unwrap_or(u32::MAX);
            let key = (
                u64::from(x.partner) << 32 | u64::from(x.sku),
                u64::from(x.currency) << 32 | u64::from(bucket),
                u64::from(deal) << 32 | u64::from(seller),
            );
            let a = local.entry(key).or_default();
            let sums = x
                .quantity
                .checked_mul(x.unit_price)
                .and_then(|r| Some((a.units.checked_add(x.quantity)?, a.revenue.checked_add(r)?)));
            (a.units, a.revenue) = sums.ok_or(FoldError::TooLarge)?;
            a.lines += 1;
            a.positive += u64::from(x.quantity > Decimal::ZERO);
            out.lines += 1;
        }
        for ((partner_sku, currency_bucket, deal_seller), a) in local.drain() {
            let (partner, sku) = ((partner_sku >> 32) as usize, partner_sku as u32 as usize);
            let (currency, bucket) = ((currency_bucket >> 32) as usize, currency_bucket as u32);
            let (deal, seller) = ((deal_seller >> 32) as u32, deal_seller as u32);
            let key = GroupKey {
                partner: f.partners[partner],
                bucket,
                sku: f.skus[sku],
                currency: f.currencies[currency],
                deal: (deal != u32::MAX).then(|| f.deals[deal as usize]),
                seller: (seller != u32::MAX).then(|| f.sellers[seller as usize]),
            };
            out.groups.entry(key).or_default().add(&a)?;
        }
    }
    Ok(out)
}

/// [`fold`] on every core: the segments are split between threads and the
/// parts merged.
pub fn fold_all<'a>(blobs: &'a [Vec<u8>], scope: &Scope) -> Result<Folded<'a>, FoldError> {
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .clamp(1, blobs.len().max(1));
    let per = blobs.len().div_ceil(threads).max(1);
    let parts: Vec<Result<Folded, FoldError>> = std::thread::scope(|s| {
        let handles: Vec<_> = blobs
            .chunks(per)
            .map(|chunk| s.spawn(|| fold(chunk, scope)))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or(Err(FoldError::Panicked)))
            .collect()
    });
    let mut folded = Folded::default();
    for part in parts {
        folded.merge(part?)?;
    }
    Ok(folded)
}
