//! Incentive calculation: what each partner earns in a period under the
//! program's rules (rebates with bands, SPIFs, deal-registration uplifts,
//! fund accruals), line by line with the reason, from sales-out lines.
//!
//! Definitions (documented in `docs/incentives.md`):
//! - A sale's revenue is quantity × unit price × the FX rate to the program
//!   currency, kept exact (no rounding) until a statement line.
//! - A period is half-open: `[start, end)` by sale date. `2027-Q1` is
//!   2027-01-01 up to, not including, 2027-04-01; `2027-03` a month;
//!   `2027` a year. A SPIF window is inclusive at both ends.
//! - Returns (negative quantities) reduce eligible revenue in the period in
//!   which they are dated, whatever period the original sale was in.
//! - A band applies from its `from` revenue, inclusive: exactly at a
//!   threshold the higher band applies. Retroactive: the rate of the band
//!   reached applies to all eligible revenue. Marginal: each band's rate
//!   applies to the revenue within it. Negative revenue earns nothing.
//! - A growth rebate's bands apply to this period's eligible revenue minus
//!   the same period a year earlier (not below 0).
//! - A cap limits a rule's amount per partner and period.
//! - Each statement line is rounded half-to-even to the cent once; a
//!   statement's total is the sum of its rounded lines.

pub mod fold;
pub mod fx;
pub mod lines;

use crate::program::model::{Floor, IncentiveEligibility, Program, RebateBasis, SpifCredit};
use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use toml::Spanned;

/// One sales-out line, already validated and converted.
#[derive(Debug, Clone, PartialEq)]
pub struct Sale {
    pub transaction_id: String,
    /// YYYY-MM-DD.
    pub date: String,
    pub partner_id: String,
    pub sku: String,
    /// Negative for a return.
    pub quantity: Decimal,
    /// In the program currency (after FX).
    pub unit_price: Decimal,
    /// An approved deal registration this sale closes, if any.
    pub deal_id: Option<String>,
    /// The partner's seller, for SPIFs credited to sellers.
    pub seller: Option<String>,
}

impl Sale {
    pub fn revenue(&self) -> Decimal {
        self.quantity * self.unit_price
    }
}

/// Sales-out lines folded together: one partner, date, SKU, approved deal
/// and seller. The rules only need these sums, so a calculation over
/// millions of lines runs over far fewer groups. `date` may stand for a
/// range of days within which nothing the rules look at changes (see
/// [`boundaries`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Group<'a> {
    pub partner_id: &'a str,
    pub date: &'a str,
    pub sku: &'a str,
    /// An approved deal registration, if the lines close one.
    pub deal_id: Option<&'a str>,
    pub seller: Option<&'a str>,
    /// Units sold, returns negative.
    pub units: Decimal,
    /// Revenue in the program currency.
    pub revenue: Decimal,
    /// Lines folded in.
    pub lines: u64,
    /// Lines with a positive quantity. Without a deal each is a deal of its
    /// own (transaction ids are unique).
    pub positive_lines: u64,
}

impl<'a> From<&'a Sale> for Group<'a> {
    fn from(s: &'a Sale) -> Group<'a> {
        Group {
            partner_id: &s.partner_id,
            date: &s.date,
            sku: &s.sku,
            deal_id: s.deal_id.as_deref(),
            seller: s.seller.as_deref(),
            units: s.quantity,
            revenue: s.revenue(),
            lines: 1,
            positive_lines: u64::from(s.quantity > Decimal::ZERO),
        }
    }
}

/// Days in month `m` of year `y`.
fn month_len(y: u32, m: u32) -> u32 {
    let leap = (y.is_multiple_of(4) && !y.is_multiple_of(100)) || y.is_multiple_of(400);
    match m {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Whether `s` is a real date written YYYY-MM-DD (digits only).
pub fn is_date(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 10
        || b[4] != b'-'
        || b[7] != b'-'
        || !b
            .iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit())
    {
        return false;
    }
    let num = |r: std::ops::Range<usize>| s[r].parse::<u32>().unwrap_or(0);
    let (y, m, d) = (num(0..4), num(5..7), num(8..10));
    if !(1..=12).contains(&m) || d == 0 {
        return false;
    }
    let len = month_len(y, m);
    d <= len
}

/// The day after `date` (YYYY-MM-DD; returned unchanged if it is not one).
pub fn next_day(date: &str) -> String {
    let num = |r: std::ops::Range<usize>| date.get(r).and_then(|x| x.parse::<u32>().ok());
    let (Some(y), Some(m), Some(d)) = (num(0..4), num(5..7), num(8..10)) else {
        return date.to_string();
    };
    let len = month_len(y, m);
    let (y, m, d) = if d < len {
        (y, m, d + 1)
    } else if m < 12 {
        (y, m + 1, 1)
    } else {
        (y + 1, 1, 1)
    };
    format!("{y:04}-{m:02}-{d:02}")
}

/// The days on which something the rules look at changes for `period`:
/// the starts and ends of the period and of the year before, and of every
/// SPIF window (its `to` is inclusive, so the day after). Between two
/// boundaries every day is treated alike, so lines of those days can be
/// folded into one [`Group`] dated at the boundary before them. Sorted.
pub fn boundaries(program: &Program, period: &Period) -> Vec<String> {
    let before = period.year_before();
    let mut out: Vec<String> = vec![
        before.start,
        before.end,
        period.start.clone(),
        period.end.clone(),
    ];
    for s in &program.incentives.spifs {
        out.push(s.from.clone());
        out.push(next_day(&s.to));
    }
    out.sort();
    out.dedup();
    out
}

/// Whether the seller of a sale of `sku` can change a statement: a SPIF
/// credited to sellers may count it. Otherwise lines of different sellers
/// can be folded together.
pub fn seller_matters(program: &Program, sku: &str) -> bool {
    let fam = program
        .products
        .iter()
        .find(|p| p.sku.get_ref() == sku)
        .map(|p| p.family.as_str());
    program.incentives.spifs.iter().any(|s| {
        s.credit == SpifCredit::Seller
            && (s.eligible.skus.is_empty() || s.eligible.skus.iter().any(|x| x.get_ref() == sku))
            && (s.eligible.families.is_empty()
                || fam.is_some_and(|f| s.eligible.families.iter().any(|x| x.get_ref() == f)))
    })
}

/// The boundary a date falls after: the latest of `boundaries` (sorted) on
/// or before `date`, or `None` before the first one.
pub fn bucket<'b>(boundaries: &'b [String], date: &str) -> Option<&'b str> {
    let i = boundaries.partition_point(|b| b.as_str() <= date);
    (i > 0).then(|| boundaries[i - 1].as_str())
}

/// What the rules need to know of a partner.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PartnerFacts {
    /// The partner's slug and name, carried onto its statement.
    pub slug: String,
    pub name: String,
    /// Its type in the program (its enrollment's, else its own).
    pub partner_type: String,
    pub segment: Option<String>,
    pub level: Option<String>,
}

/// A half-open period of dates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Period {
    pub label: String,
    /// First day, inclusive (YYYY-MM-DD).
    pub start: String,
    /// First day after, exclusive.
    pub end: String,
}

fn ymd(y: i32, m: u32, d: u32) -> String {
    format!("{y:04}-{m:02}-{d:02}")
}

impl Period {
    /// `2027-Q1`, `2027-03` or `2027`.
    pub fn parse(s: &str) -> Result<Period, String> {
        let s = s.trim();
        let bad = || format!("period '{s}' must look like 2027-Q1, 2027-03 or 2027");
        let year = |y: &str| -> Result<i32, String> {
            y.parse::<i32>()
                .ok()
                .filter(|y| (1900..=9998).contains(y))
                .ok_or_else(bad)
        };
        let (start, end) = if let Some((y, q)) = s.split_once("-Q") {
            let y = year(y)?;
            let q: u32 = q
                .parse()
                .ok()
                .filter(|q| (1..=4).contains(q))
                .ok_or_else(bad)?;
            let m = 3 * (q - 1) + 1;
            (
                ymd(y, m, 1),
                if q == 4 {
                    ymd(y + 1, 1, 1)
                } else {
                    ymd(y, m + 3, 1)
                },
            )
        } else if let Some((y, m)) = s.split_once('-') {
            let y = year(y)?;
            let m: u32 = m
                .parse()
                .ok()
                .filter(|m| (1..=12).contains(m))
                .ok_or_else(bad)?;
            (
                ymd(y, m, 1),
                if m == 12 {
                    ymd(y + 1, 1, 1)
                } else {
                    ymd(y, m + 1, 1)
                },
            )
        } else {
            let y = year(s)?;
            (ymd(y, 1, 1), ymd(y + 1, 1, 1))
        };
        Ok(Period {
            label: s.to_string(),
            start,
            end,
        })
    }

    pub fn contains(&self, date: &str) -> bool {
        date >= self.start.as_str() && date < self.end.as_str()
    }

    /// The same period a year earlier.
    pub fn year_before(&self) -> Period {
        let back = |d: &str| -> String {
            let y: i32 = d[..4].parse().unwrap_or(1901);
            format!("{:04}{}", y - 1, &d[4..])
        };
        Period {
            label: format!("{} a year earlier", self.label),
            start: back(&self.start),
            end: back(&self.end),
        }
    }
}

/// Rounds money to the cent, half to even (always two decimals: 500.00).
pub fn cents(x: Decimal) -> Decimal {
    let mut r = x.round_dp_with_strategy(2, RoundingStrategy::MidpointNearestEven);
    r.rescale(2);
    r
}

/// What kind of rule a statement line comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LineKind {
    Rebate,
    Spif,
    DealRegistrationUplift,
    FundAccrual,
    /// Late data for an approved earlier period.
    Adjustment,
}

impl LineKind {
    pub fn as_str(self) -> &'static str {
        match self {
            LineKind::Rebate => "rebate",
            LineKind::Spif => "spif",
            LineKind::DealRegistrationUplift => "deal-registration-uplift",
            LineKind::FundAccrual => "fund-accrual",
            LineKind::Adjustment => "adjustment",
        }
    }
}

/// One line of a statement. Stored with the statement and read back
/// strictly: a damaged amount is an error, never a zero.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Line {
    /// The rule's id.
    pub rule: String,
    pub kind: LineKind,
    /// The program element the rule implements.
    pub element: Option<String>,
    /// For seller-credited SPIFs.
    pub seller: Option<String>,
    /// The revenue (or units, deals) the rule counted.
    pub basis: Decimal,
    /// Rebates: the band reached (index from 0) and its rate.
    pub band: Option<usize>,
    pub rate_pct: Option<Decimal>,
    /// Transactions counted.
    pub transactions: usize,
    pub amount: Decimal,
    /// A sentence a partner understands.
    pub explanation: String,
    /// The cap cut the amount.
    pub capped: bool,
    /// For an adjustment: the (approved) period it corrects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adjusts: Option<String>,
}

/// What a partner earns in a period.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Statement {
    pub partner_id: String,
    pub partner_slug: String,
    pub partner_name: String,
    pub period: String,
    pub lines: Vec<Line>,
    pub total: Decimal,
    /// Funds accrued are part of the total but paid as funds, not cash.
    pub funds: Decimal,
    /// The next band of each retroactive or marginal rebate not yet at its top.
    pub next_bands: Vec<NextBand>,
}

/// How far the next band is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NextBand {
    pub rule: String,
    pub missing: Decimal,
    pub rate_pct: Decimal,
}

/// SKU → family from the program's catalogue.
pub fn families(p: &Program) -> HashMap<String, String> {
    p.products
        .iter()
        .map(|x| (x.sku.get_ref().clone(), x.family.clone()))
        .collect()
}

fn eligible(
    e: &IncentiveEligibility,
    who: &PartnerFacts,
    sale: &Group,
    fam: &HashMap<String, String>,
) -> bool {
    let any = |list: &[Spanned<String>], v: Option<&str>| {
        list.is_empty() || v.is_some_and(|v| list.iter().any(|x| x.get_ref() == v))
    };
    any(&e.partner_types, Some(&who.partner_type))
        && any(&e.segments, who.segment.as_deref())
        && any(&e.levels, who.level.as_deref())
        && any(&e.skus, Some(sale.sku))
        && any(&e.families, fam.get(sale.sku).map(String::as_str))
}

fn partner_applies(e: &IncentiveEligibility, who: &PartnerFacts) -> bool {
    let any = |list: &[Spanned<String>], v: Option<&str>| {
        list.is_empty() || v.is_some_and(|v| list.iter().any(|x| x.get_ref() == v))
    };
    any(&e.partner_types, Some(&who.partner_type))
        && any(&e.segments, who.segment.as_deref())
        && any(&e.levels, who.level.as_deref())
}

/// Formats money for explanations and pages: 42,000.00.
pub fn money(x: Decimal) -> String {
    let s = format!("{:.2}", cents(x));
    let (int, frac) = s.split_once('.').unwrap_or((&s, "00"));
    let (sign, digits) = int.strip_prefix('-').map(|d| ("-", d)).unwrap_or(("", int));
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    format!("{sign}{out}.{frac}")
}

/// The amount of a banded rebate on `revenue`, the band reached and its rate.
pub fn banded(
    basis: RebateBasis,
    bands: &[(Decimal, Decimal)],
    revenue: Decimal,
) -> (Decimal, Option<usize>) {
    if revenue <= Decimal::ZERO {
        return (Decimal::ZERO, None);
    }
    let reached = bands.iter().rposition(|(from, _)| revenue >= *from);
    let Some(b) = reached else {
        return (Decimal::ZERO, None);
    };
    let hundred = Decimal::ONE_HUNDRED;
    let amount = match basis {
        RebateBasis::Retroactive => revenue * bands[b].1 / hundred,
        RebateBasis::Marginal => {
            let mut total = Decimal::ZERO;
            for (i, (from, rate)) in bands.iter().enumerate().take(b + 1) {
                let upper = bands
                    .get(i + 1)
                    .map(|n| n.0)
                    .unwrap_or(revenue)
                    .min(revenue);
                if upper > *from {
                    total += (upper - *from) * *rate / hundred;
                }
            }
            total
        }
    };
    (amount, Some(b))
}

/// Statements for every partner with sales (or rules that apply to it) in
/// `period`. `sales` may hold other periods (the year before, for growth).
/// The order of `sales` never changes the result.
pub fn calculate(
    program: &Program,
    period: &Period,
    partners: &BTreeMap<String, PartnerFacts>,
    sales: &[Sale],
) -> Vec<Statement> {
    let groups: Vec<Group> = sales.iter().map(Group::from).collect();
    calculate_groups(program, period, partners, &groups)
}

/// [`calculate`] over lines already folded into groups: however lines are
/// grouped, the statements are the same.
pub fn calculate_groups(
    program: &Program,
    period: &Period,
    partners: &BTreeMap<String, PartnerFacts>,
    groups: &[Group],
) -> Vec<Statement> {
    let fam = families(program);
    let before = period.year_before();
    let hundred = Decimal::ONE_HUNDRED;
    let mut by_partner: BTreeMap<&str, Vec<&Group>> = BTreeMap::new();
    for s in groups {
        if period.contains(s.date) || before.contains(s.date) {
            by_partner.entry(s.partner_id).or_default().push(s);
        }
    }
    let default_facts = PartnerFacts::default();
    let mut out = Vec::new();
    for (pid, rows) in by_partner {
        let who = partners.get(pid).unwrap_or(&default_facts);
        let now: Vec<&Group> = rows
            .iter()
            .copied()
            .filter(|s| period.contains(s.date))
            .collect();
        let mut lines = Vec::new();
        let mut next_bands = Vec::new();
        for r in &program.incentives.rebates {
            if !partner_applies(&r.eligible, who) {
                continue;
            }
            let counted: Vec<&&Group> = now
                .iter()
                .filter(|s| eligible(&r.eligible, who, s, &fam))
                .collect();
            let this: Decimal = counted.iter().map(|s| s.revenue).sum();
            let prior: Decimal = rows
                .iter()
                .filter(|s| before.contains(s.date) && eligible(&r.eligible, who, s, &fam))
                .map(|s| s.revenue)
                .sum();
            let basis = if r.growth {
                (this - prior).max(Decimal::ZERO)
            } else {
                this
            };
            let bands: Vec<(Decimal, Decimal)> =
                r.bands.iter().map(|b| (b.from, b.rate_pct)).collect();
            let (raw, band) = banded(r.basis, &bands, basis);
            let capped = r.cap.is_some_and(|c| raw > c);
            let amount = cents(if capped { r.cap.unwrap_or(raw) } else { raw });
            let next = band.map(|b| b + 1).unwrap_or(0);
            if let Some((from, rate)) = bands.get(next).filter(|(_, rate)| *rate > Decimal::ZERO) {
                next_bands.push(NextBand {
                    rule: r.id.get_ref().clone(),
                    missing: cents(*from - basis.max(Decimal::ZERO)),
                    rate_pct: *rate,
                });
            }
            // A rule with nothing to count this period has no line (a
            // growth rebate's decline shows as a line only with sales).
            if counted.is_empty() {
                continue;
            }
            let what = if r.growth {
                format!(
                    "growth of {} ({} against {} a year earlier)",
                    money(basis),
                    money(this),
                    money(prior)
                )
            } else {
                format!("eligible revenue {}", money(basis))
            };
            let explanation = match band {
                Some(b) => format!(
                    "{what} reached band {} (from {} at {}%), {}{}",
                    b + 1,
                    money(bands[b].0),
                    bands[b].1.normalize(),
                    match r.basis {
                        RebateBasis::Retroactive => "applied to the whole volume",
                        RebateBasis::Marginal => "each band at its own rate",
                    },
                    if capped { ", capped" } else { "" }
                ),
                None => format!("{what}: below the first band"),
            };
            lines.push(Line {
                rule: r.id.get_ref().clone(),
                kind: LineKind::Rebate,
                element: r.element.clone(),
                seller: None,
                basis: cents(basis),
                band,
                rate_pct: band.map(|b| bands[b].1),
                transactions: counted.iter().map(|s| s.lines as usize).sum(),
                amount,
                explanation,
                capped,
                adjusts: None,
            });
        }
        for s in &program.incentives.spifs {
            if !partner_applies(&s.eligible, who) {
                continue;
            }
            let in_window: Vec<&&Group> = now
                .iter()
                .filter(|x| x.date >= s.from.as_str() && x.date <= s.to.as_str())
                .filter(|x| eligible(&s.eligible, who, x, &fam))
                .collect();
            // Credited to the partner, or per seller.
            let mut by_seller: BTreeMap<Option<&str>, Vec<&&Group>> = BTreeMap::new();
            for x in in_window {
                let key = match s.credit {
                    SpifCredit::Partner => None,
                    SpifCredit::Seller => Some(x.seller.unwrap_or("(no seller)")),
                };
                by_seller.entry(key).or_default().push(x);
            }
            for (seller, xs) in by_seller {
                let units: Decimal = xs.iter().map(|x| x.units).sum();
                // Each approved deal counts once; a line without one is a deal of its own.
                let registered: BTreeSet<&str> = xs
                    .iter()
                    .filter(|x| x.positive_lines > 0)
                    .filter_map(|x| x.deal_id)
                    .collect();
                let unregistered: u64 = xs
                    .iter()
                    .filter(|x| x.deal_id.is_none())
                    .map(|x| x.positive_lines)
                    .sum();
                let deals = registered.len() as u64 + unregistered;
                let per_unit = s.per_unit.unwrap_or_default() * units.max(Decimal::ZERO);
                let per_deal = s.per_deal.unwrap_or_default() * Decimal::from(deals);
                let amount = cents(per_unit + per_deal);
                let mut parts = Vec::new();
                if let Some(u) = s.per_unit {
                    parts.push(format!("{} units × {}", units.normalize(), money(u)));
                }
                if let Some(d) = s.per_deal {
                    parts.push(format!("{deals} deals × {}", money(d)));
                }
                lines.push(Line {
                    rule: s.id.get_ref().clone(),
                    kind: LineKind::Spif,
                    element: s.element.clone(),
                    seller: seller.map(str::to_string),
                    basis: units,
                    band: None,
                    rate_pct: None,
                    transactions: xs.iter().map(|x| x.lines as usize).sum(),
                    amount,
                    explanation: format!("{} sold {} to {}", parts.join(" + "), s.from, s.to),
                    capped: false,
                    adjusts: None,
                });
            }
        }
        for (kind, rules) in [
            (
                LineKind::DealRegistrationUplift,
                &program.incentives.deal_registration_uplifts,
            ),
            (LineKind::FundAccrual, &program.incentives.fund_accruals),
        ] {
            for r in rules {
                if !partner_applies(&r.eligible, who) {
                    continue;
                }
                let counted: Vec<&&Group> = now
                    .iter()
                    .filter(|x| eligible(&r.eligible, who, x, &fam))
                    .filter(|x| kind != LineKind::DealRegistrationUplift || x.deal_id.is_some())
                    .collect();
                if counted.is_empty() {
                    continue;
                }
                let revenue: Decimal = counted.iter().map(|x| x.revenue).sum();
                let clawback = r.floor == Floor::None && revenue < Decimal::ZERO;
                let floored = match r.floor {
                    Floor::Zero => revenue.max(Decimal::ZERO),
                    Floor::None => revenue,
                };
                let amount = cents(floored * r.rate_pct / hundred);
                let what = match (kind, clawback) {
                    (LineKind::FundAccrual, false) => "accrued to your market development fund",
                    (LineKind::FundAccrual, true) => {
                        "taken back from your market development fund: returns outweighed sales"
                    }
                    (_, false) => "on revenue from your own approved or won deal registrations",
                    (_, true) => {
                        "taken back: returns on your own registered deals outweighed their sales"
                    }
                };
                lines.push(Line {
                    rule: r.id.get_ref().clone(),
                    kind,
                    element: r.element.clone(),
                    seller: None,
                    basis: cents(revenue),
                    band: None,
                    rate_pct: Some(r.rate_pct),
                    transactions: counted.iter().map(|x| x.lines as usize).sum(),
                    amount,
                    explanation: format!(
                        "{}% of {} {what}",
                        r.rate_pct.normalize(),
                        money(revenue)
                    ),
                    capped: false,
                    adjusts: None,
                });
            }
        }
        if lines.is_empty() {
            continue;
        }
        let total = lines.iter().map(|l| l.amount).sum();
        let funds = lines
            .iter()
            .filter(|l| l.kind == LineKind::FundAccrual)
            .map(|l| l.amount)
            .sum();
        out.push(Statement {
            partner_id: pid.to_string(),
            partner_slug: who.slug.clone(),
            partner_name: who.name.clone(),
            period: period.label.clone(),
            lines,
            total,
            funds,
            next_bands,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::program::parse;
    use proptest::prelude::*;
    use std::str::FromStr;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    const RULES: &str = r#"
[program]
id = "inc"
name = "Incentives test"
version = "1"
effective = "2027-01-01"
currency = "USD"

[[partner_types]]
id = "reseller"

[[products]]
sku = "CL-1"
family = "cloud"

[[products]]
sku = "AI-1"
family = "ai"

[[incentives.rebates]]
id = "volume"
basis = "retroactive"
bands = [{ from = 0, rate_pct = 0 }, { from = 100000, rate_pct = 2 }, { from = 250000, rate_pct = 4 }]
cap = 20000
eligible = { families = ["cloud"] }

[[incentives.rebates]]
id = "volume-marginal"
basis = "marginal"
bands = [{ from = 0, rate_pct = 1 }, { from = 100000, rate_pct = 2 }, { from = 250000, rate_pct = 4 }]
eligible = { families = ["cloud"] }

[[incentives.rebates]]
id = "growth"
growth = true
bands = [{ from = 1, rate_pct = 5 }]
eligible = { families = ["cloud"] }

[[incentives.spifs]]
id = "ai-launch"
per_unit = 50
from = "2027-02-01"
to = "2027-02-28"
credit = "seller"
eligible = { skus = ["AI-1"] }

[[incentives.deal_registration_uplifts]]
id = "dr"
rate_pct = 3

[[incentives.fund_accruals]]
id = "mdf"
rate_pct = 2
"#;

    fn program() -> Program {
        parse(RULES).unwrap()
    }

    fn sale(id: &str, date: &str, sku: &str, qty: &str, price: &str) -> Sale {
        Sale {
            transaction_id: id.into(),
            date: date.into(),
            partner_id: "p1".into(),
            sku: sku.into(),
            quantity: d(qty),
            unit_price: d(price),
            deal_id: None,
            seller: None,
        }
    }

    fn facts() -> BTreeMap<String, PartnerFacts> {
        BTreeMap::from([(
            "p1".to_string(),
            PartnerFacts {
                partner_type: "reseller".into(),
                ..Default::default()
            },
        )])
    }

    fn line<'a>(s: &'a Statement, rule: &str) -> &'a Line {
        s.lines
            .iter()
            .find(|l| l.rule == rule)
            .unwrap_or_else(|| panic!("no {rule}: {s:?}"))
    }

    fn q1(sales: &[Sale]) -> Statement {
        calculate(
            &program(),
            &Period::parse("2027-Q1").unwrap(),
            &facts(),
            sales,
        )
        .into_iter()
        .next()
        .expect("a statement")
    }

    #[test]
    fn periods_are_half_open() {
        let p = Period::parse("2027-Q1").unwrap();
        assert_eq!(
            (p.start.as_str(), p.end.as_str()),
            ("2027-01-01", "2027-04-01")
        );
        assert!(p.contains("2027-01-01") && p.contains("2027-03-31") && !p.contains("2027-04-01"));
        assert_eq!(Period::parse("2027-Q4").unwrap().end, "2028-01-01");
        assert_eq!(Period::parse("2027-12").unwrap().end, "2028-01-01");
        assert_eq!(Period::parse("2027").unwrap().end, "2028-01-01");
        assert_eq!(p.year_before().start, "2026-01-01");
        for bad in ["2027-Q5", "27-Q1", "2027-13", "Q1", ""] {
            assert!(Period::parse(bad).is_err(), "{bad}");
        }
    }

    /// (basis, revenue, expected amount) at and around the thresholds.
    #[test]
    fn bands_at_their_boundaries() {
        let bands = [
            (d("0"), d("1")),
            (d("100000"), d("2")),
            (d("250000"), d("4")),
        ];
        let cases = [
            (RebateBasis::Retroactive, "99999.99", "999.9999", Some(0)),
            (RebateBasis::Retroactive, "100000", "2000", Some(1)),
            (RebateBasis::Retroactive, "250000", "10000", Some(2)),
            (RebateBasis::Marginal, "100000", "1000", Some(1)),
            (RebateBasis::Marginal, "250000", "4000", Some(2)),
            (RebateBasis::Marginal, "300000", "6000", Some(2)),
            (RebateBasis::Retroactive, "0", "0", None),
            (RebateBasis::Marginal, "-500", "0", None),
        ];
        for (basis, revenue, want, band) in cases {
            let (got, b) = banded(basis, &bands, d(revenue));
            assert_eq!((got, b), (d(want), band), "{basis:?} at {revenue}");
        }
    }

    #[test]
    fn retroactive_marginal_caps_and_explanations() {
        let s = q1(&[sale("t1", "2027-01-10", "CL-1", "3", "100000")]);
        // 300,000 of cloud: retroactive 4 % = 12,000; marginal 1,000 + 3,000 + 2,000 = 6,000.
        assert_eq!(line(&s, "volume").amount, d("12000.00"));
        assert_eq!(line(&s, "volume").band, Some(2));
        assert_eq!(
            line(&s, "volume").explanation,
            "eligible revenue 300,000.00 reached band 3 (from 250,000.00 at 4%), applied to the whole volume"
        );
        assert_eq!(line(&s, "volume-marginal").amount, d("6000.00"));
        let big = q1(&[sale("t1", "2027-01-10", "CL-1", "10", "100000")]);
        assert_eq!(
            line(&big, "volume").amount,
            d("20000.00"),
            "capped from 40,000"
        );
        assert!(line(&big, "volume").capped);
    }

    #[test]
    fn returns_crossing_a_band_reduce_the_period_they_fall_in() {
        let sales = [
            sale("t1", "2027-01-10", "CL-1", "26", "10000"),
            sale("t2", "2027-03-31", "CL-1", "-2", "10000"),
            // Dated in Q2: does not count in Q1.
            sale("t3", "2027-04-01", "CL-1", "-20", "10000"),
        ];
        let s = q1(&sales);
        // 260,000 − 20,000 = 240,000: back below 250,000, so 2 % on all of it.
        assert_eq!(line(&s, "volume").basis, d("240000.00"));
        assert_eq!(line(&s, "volume").amount, d("4800.00"));
        assert_eq!(line(&s, "volume").transactions, 2);
        assert_eq!(
            s.next_bands
                .iter()
                .find(|n| n.rule == "volume")
                .unwrap()
                .missing,
            d("10000.00"),
            "10,000 more this quarter reaches 4 %"
        );
    }

    #[test]
    fn a_rule_with_nothing_to_count_has_no_line() {
        // Only AI sales this quarter, cloud sales a year earlier: the cloud
        // rebates (the growth one too) count nothing and print nothing.
        let sales = [
            sale("y1", "2026-02-01", "CL-1", "1", "50000"),
            sale("t1", "2027-03-15", "AI-1", "1", "100"),
        ];
        let s = q1(&sales);
        let rules: Vec<&str> = s.lines.iter().map(|l| l.rule.as_str()).collect();
        assert_eq!(rules, ["mdf"], "{:?}", s.lines);
        assert!(s.lines.iter().all(|l| l.transactions > 0));
    }

    #[test]
    fn a_net_negative_period_pays_nothing_or_claws_back_as_configured() {
        let mut ret = sale("t1", "2027-02-01", "CL-1", "-2", "1000");
        ret.deal_id = Some("deal-1".into());
        let mut back = sale("t2", "2027-02-02", "CL-1", "1", "500");
        back.deal_id = Some("deal-1".into());
        let sales = [ret, back];
        // Default floor: zero.
        let s = q1(&sales);
        assert_eq!(line(&s, "dr").amount, d("0.00"));
        assert_eq!(line(&s, "mdf").amount, d("0.00"));
        // floor = "none": 3 % and 2 % of −1,500 are taken back.
        let src = RULES
            .replace(
                "id = \"dr\"\nrate_pct = 3",
                "id = \"dr\"\nrate_pct = 3\nfloor = \"none\"",
            )
            .replace(
                "id = \"mdf\"\nrate_pct = 2",
                "id = \"mdf\"\nrate_pct = 2\nfloor = \"none\"",
            );
        assert_eq!(src.matches("floor").count(), 2);
        let p = parse(&src).unwrap();
        let s = calculate(&p, &Period::parse("2027-Q1").unwrap(), &facts(), &sales).remove(0);
        assert_eq!(line(&s, "dr").amount, d("-45.00"));
        assert!(
            line(&s, "dr").explanation.contains("taken back"),
            "{}",
            line(&s, "dr").explanation
        );
        assert_eq!(line(&s, "mdf").amount, d("-30.00"));
        assert_eq!(s.funds, d("-30.00"));
    }

    #[test]
    fn growth_spif_window_uplift_and_accrual() {
        let mut registered = sale("t4", "2027-02-15", "CL-1", "1", "1000");
        registered.deal_id = Some("deal-1".into());
        let mut ai = sale("t5", "2027-02-01", "AI-1", "3", "500");
        ai.seller = Some("sam".into());
        let mut ai_late = sale("t6", "2027-03-01", "AI-1", "5", "500");
        ai_late.seller = Some("sam".into());
        let mut ai_edge = sale("t7", "2027-02-28", "AI-1", "1", "500");
        ai_edge.seller = Some("kim".into());
        let sales = [
            sale("y1", "2026-02-01", "CL-1", "1", "50000"),
            sale("t1", "2027-02-01", "CL-1", "1", "80000"),
            registered,
            ai,
            ai_late,
            ai_edge,
        ];
        let s = q1(&sales);
        // Growth: 81,000 − 50,000 = 31,000 at 5 %.
        assert_eq!(line(&s, "growth").amount, d("1550.00"));
        // SPIF: window inclusive at both ends, per seller; March is outside.
        let spifs: Vec<(&str, Decimal)> = s
            .lines
            .iter()
            .filter(|l| l.kind == LineKind::Spif)
            .map(|l| (l.seller.as_deref().unwrap(), l.amount))
            .collect();
        assert_eq!(spifs, vec![("kim", d("50.00")), ("sam", d("150.00"))]);
        assert_eq!(
            line(&s, "dr").amount,
            d("30.00"),
            "3 % of the registered 1,000"
        );
        // Accrual on all revenue: 81,000 + 2,000 + 2,500 = 85,500 at 2 %.
        assert_eq!(line(&s, "mdf").amount, d("1710.00"));
        assert_eq!(s.funds, d("1710.00"));
    }

    #[test]
    fn dates_are_checked_for_real() {
        assert!(is_date("2027-02-28"));
        assert!(is_date("2028-02-29"));
        assert!(is_date("2000-02-29"));
        assert!(!is_date("1900-02-29"));
        assert!(!is_date("2027-02-29"));
        assert!(!is_date("2027-13-01"));
        assert!(!is_date("2027-04-31"));
        assert!(!is_date("2027-1-01"));
        assert!(!is_date("2027-+1-05"));
        assert!(!is_date("31.01.2027"));
    }

    #[test]
    fn spif_windows_must_be_real_dates() {
        let bad = RULES.replace("from = \"2027-02-01\"", "from = \"2027-2-1\"");
        let Err(err) = parse(&bad) else {
            panic!("a SPIF window of 2027-2-1 was accepted")
        };
        let err = err.to_string();
        assert!(
            err.contains("'2027-2-1' is not a date like 2027-01-31"),
            "{err}"
        );
    }

    #[test]
    fn days_and_boundaries() {
        assert_eq!(next_day("2027-02-28"), "2027-03-01");
        assert_eq!(next_day("2028-02-28"), "2028-02-29");
        assert_eq!(next_day("2027-12-31"), "2028-01-01");
        assert_eq!(next_day("2027-04-30"), "2027-05-01");
        let b = boundaries(&program(), &Period::parse("2027-Q1").unwrap());
        assert_eq!(
            b,
            [
                "2026-01-01",
                "2026-04-01",
                "2027-01-01",
                "2027-02-01",
                "2027-03-01",
                "2027-04-01"
            ]
        );
        assert_eq!(bucket(&b, "2025-12-31"), None);
        assert_eq!(bucket(&b, "2027-02-28"), Some("2027-02-01"));
        assert_eq!(bucket(&b, "2027-03-01"), Some("2027-03-01"));
    }

    #[test]
    fn rounding_is_half_even_per_line() {
        assert_eq!(cents(d("0.125")), d("0.12"));
        assert_eq!(cents(d("0.135")), d("0.14"));
        assert_eq!(cents(d("-0.125")), d("-0.12"));
        let s = q1(&[sale("t1", "2027-01-10", "AI-1", "1", "0.625")]);
        // 2 % of 0.625 = 0.0125 → 0.01 (half to even).
        assert_eq!(line(&s, "mdf").amount, d("0.01"));
    }

    proptest! {
        #[test]
        fn order_and_folding_never_matter(
            rows in proptest::collection::vec((0u32..90, 0usize..2, -5i64..20, 1i64..100_000, proptest::bool::ANY), 1..60),
            seed in any::<u64>(),
        ) {
            let sales: Vec<Sale> = rows
                .iter()
                .enumerate()
                .map(|(i, (day, sku, qty, cents_price, reg))| {
                    let date = {
                        let (m, dd) = if *day < 31 { (1, day + 1) } else if *day < 59 { (2, day - 30) } else { (3, day - 58) };
                        format!("2027-{m:02}-{dd:02}")
                    };
                    let mut s = sale(&format!("t{i}"), &date, ["CL-1", "AI-1"][*sku], &qty.to_string(), &format!("{}.{:02}", cents_price / 100, cents_price % 100));
                    if *reg { s.deal_id = Some(format!("d{i}")); }
                    s.seller = Some(["a", "b"][i % 2].into());
                    s
                })
                .collect();
            let p = program();
            let period = Period::parse("2027-Q1").unwrap();
            let one = calculate(&p, &period, &facts(), &sales);
            let mut shuffled = sales.clone();
            let mut x = seed | 1;
            for i in (1..shuffled.len()).rev() {
                x ^= x << 13; x ^= x >> 7; x ^= x << 17;
                shuffled.swap(i, (x % (i as u64 + 1)) as usize);
            }
            prop_assert_eq!(&one, &calculate(&p, &period, &facts(), &shuffled));

            // Folding lines into groups, days between two boundaries
            // together, never changes the result.
            let bounds = boundaries(&p, &period);
            prop_assert!(seller_matters(&p, "AI-1") && !seller_matters(&p, "CL-1"));
            type Key<'k> = (&'k str, &'k str, Option<&'k str>, Option<&'k str>);
            let mut folded: BTreeMap<Key, Group> = BTreeMap::new();
            for s in &sales {
                let Some(date) = bucket(&bounds, &s.date) else { continue };
                let mut g = Group::from(s);
                if !seller_matters(&p, g.sku) {
                    g.seller = None;
                }
                folded
                    .entry((date, g.sku, g.deal_id, g.seller))
                    .and_modify(|f| {
                        f.units += g.units;
                        f.revenue += g.revenue;
                        f.lines += g.lines;
                        f.positive_lines += g.positive_lines;
                    })
                    .or_insert(Group { date, ..g });
            }
            let groups: Vec<Group> = folded.into_values().collect();
            prop_assert_eq!(one, calculate_groups(&p, &period, &facts(), &groups));
        }
    }

    /// The rules of [`MULTI`] written out plainly, one partner at a time,
    /// straight from the sales lines (no folding, no bands table): what each
    /// `(partner, rule, seller)` earns in 2027-Q1, rounded to the cent.
    type Earned = BTreeMap<(String, String, Option<String>), Decimal>;

    const MULTI: &str = r#"
[program]
id = "multi"
name = "Independent model"
version = "1"
effective = "2027-01-01"
currency = "USD"

[[partner_types]]
id = "reseller"

[[partner_types]]
id = "msp"

[[products]]
sku = "CL-1"
family = "cloud"

[[products]]
sku = "AI-1"
family = "ai"

[[incentives.rebates]]
id = "volume"
basis = "retroactive"
bands = [{ from = 0, rate_pct = 0 }, { from = 100000, rate_pct = 2 }, { from = 250000, rate_pct = 4 }]
cap = 20000
eligible = { families = ["cloud"], partner_types = ["reseller"] }

[[incentives.rebates]]
id = "volume-marginal"
basis = "marginal"
bands = [{ from = 0, rate_pct = 1 }, { from = 100000, rate_pct = 2 }, { from = 250000, rate_pct = 4 }]
eligible = { families = ["cloud"] }

[[incentives.rebates]]
id = "growth"
growth = true
bands = [{ from = 1, rate_pct = 5 }]
eligible = { families = ["cloud"] }

[[incentives.spifs]]
id = "ai-launch"
per_unit = 50
from = "2027-02-01"
to = "2027-02-28"
credit = "seller"
eligible = { skus = ["AI-1"] }

[[incentives.spifs]]
id = "cloud-deals"
per_deal = 100
from = "2027-01-15"
to = "2027-03-15"
eligible = { families = ["cloud"] }

[[incentives.deal_registration_uplifts]]
id = "dr"
rate_pct = 3

[[incentives.fund_accruals]]
id = "mdf"
rate_pct = 2
eligible = { partner_types = ["msp"] }
"#;

    fn model(sales: &[Sale], types: &BTreeMap<String, &str>) -> Earned {
        let pct = |x: Decimal, p: i64| x * Decimal::from(p) / Decimal::ONE_HUNDRED;
        let in_q = |s: &Sale| s.date.as_str() >= "2027-01-01" && s.date.as_str() < "2027-04-01";
        let a_year_before =
            |s: &Sale| s.date.as_str() >= "2026-01-01" && s.date.as_str() < "2026-04-01";
        let rev = |s: &Sale| s.quantity * s.unit_price;
        let mut out = Earned::new();
        for (partner, ty) in types {
            let mine: Vec<&Sale> = sales.iter().filter(|s| &s.partner_id == partner).collect();
            let mut put = |rule: &str, seller: Option<&str>, amount: Decimal| {
                out.insert(
                    (
                        partner.clone(),
                        rule.to_string(),
                        seller.map(str::to_string),
                    ),
                    cents(amount),
                );
            };
            let cloud_now: Vec<&&Sale> =
                mine.iter().filter(|s| in_q(s) && s.sku == "CL-1").collect();
            let cloud: Decimal = cloud_now.iter().map(|s| rev(s)).sum();
            if !cloud_now.is_empty() {
                if *ty == "reseller" {
                    let rate = if cloud >= Decimal::from(250_000) {
                        4
                    } else if cloud >= Decimal::from(100_000) {
                        2
                    } else {
                        0
                    };
                    let amount = if cloud > Decimal::ZERO {
                        pct(cloud, rate)
                    } else {
                        Decimal::ZERO
                    };
                    put("volume", None, amount.min(Decimal::from(20_000)));
                }
                // 1 % of the first 100,000, 2 % of the next 150,000, 4 % above.
                let c = cloud.max(Decimal::ZERO);
                let first = c.min(Decimal::from(100_000));
                let second =
                    (c - Decimal::from(100_000)).clamp(Decimal::ZERO, Decimal::from(150_000));
                let third = (c - Decimal::from(250_000)).max(Decimal::ZERO);
                put(
                    "volume-marginal",
                    None,
                    pct(first, 1) + pct(second, 2) + pct(third, 4),
                );
                let before: Decimal = mine
                    .iter()
                    .filter(|s| a_year_before(s) && s.sku == "CL-1")
                    .map(|s| rev(s))
                    .sum();
                let growth = cloud - before;
                put(
                    "growth",
                    None,
                    if growth >= Decimal::ONE {
                        pct(growth, 5)
                    } else {
                        Decimal::ZERO
                    },
                );
            }
            // 50 per AI unit sold in February, per seller, returns netted.
            let mut sellers: BTreeMap<&str, Decimal> = BTreeMap::new();
            for s in mine.iter().filter(|s| {
                s.sku == "AI-1"
                    && s.date.as_str() >= "2027-02-01"
                    && s.date.as_str() <= "2027-02-28"
            }) {
                *sellers
                    .entry(s.seller.as_deref().unwrap_or("(no seller)"))
                    .or_default() += s.quantity;
            }
            for (seller, units) in sellers {
                put(
                    "ai-launch",
                    Some(seller),
                    Decimal::from(50) * units.max(Decimal::ZERO),
                );
            }
            // 100 per cloud deal from Jan 15 to Mar 15: a registered deal once,
            // however many lines close it; a line without one is a deal.
            let window: Vec<&&Sale> = mine
                .iter()
                .filter(|s| {
                    s.sku == "CL-1"
                        && s.date.as_str() >= "2027-01-15"
                        && s.date.as_str() <= "2027-03-15"
                })
                .collect();
            if !window.is_empty() {
                let sold: Vec<&&&Sale> = window
                    .iter()
                    .filter(|s| s.quantity > Decimal::ZERO)
                    .collect();
                let mut deals: Vec<&str> =
                    sold.iter().filter_map(|s| s.deal_id.as_deref()).collect();
                deals.sort();
                deals.dedup();
                let loose = sold.iter().filter(|s| s.deal_id.is_none()).count();
                put(
                    "cloud-deals",
                    None,
                    Decimal::from(100 * (deals.len() + loose)),
                );
            }
            let registered: Vec<&&Sale> = mine
                .iter()
                .filter(|s| in_q(s) && s.deal_id.is_some())
                .collect();
            if !registered.is_empty() {
                let r: Decimal = registered.iter().map(|s| rev(s)).sum();
                put("dr", None, pct(r.max(Decimal::ZERO), 3));
            }
            let all_now: Vec<&&Sale> = mine.iter().filter(|s| in_q(s)).collect();
            if *ty == "msp" && !all_now.is_empty() {
                let r: Decimal = all_now.iter().map(|s| rev(s)).sum();
                put("mdf", None, pct(r.max(Decimal::ZERO), 2));
            }
        }
        out
    }

    proptest! {
        #[test]
        fn statements_agree_with_a_plain_model_of_the_rules(
            rows in proptest::collection::vec(
                (0usize..3, 0u32..5, 1u32..29, 0usize..2, -5i64..40, 1i64..2_000_000, 0usize..4, 0usize..3, 0usize..3),
                1..80,
            ),
        ) {
            let partners = ["p1", "p2", "p3"];
            let types: BTreeMap<String, &str> =
                BTreeMap::from([("p1".into(), "reseller"), ("p2".into(), "msp"), ("p3".into(), "reseller")]);
            // Dates in both first quarters and outside them; prices as FX
            // conversion leaves them (many decimals).
            let months = ["2026-02", "2026-07", "2027-01", "2027-02", "2027-03"];
            let rates = ["1", "1.0850", "0.91373"];
            let sales: Vec<Sale> = rows
                .iter()
                .enumerate()
                .map(|(i, &(p, m, day, sku, qty, price, deal, seller, fx))| Sale {
                    transaction_id: format!("t{i}"),
                    date: format!("{}-{day:02}", months[m as usize]),
                    partner_id: partners[p].into(),
                    sku: ["CL-1", "AI-1"][sku].into(),
                    quantity: Decimal::from(qty),
                    unit_price: Decimal::new(price, 2) * d(rates[fx]),
                    // Deal ids shared by several lines of one partner.
                    deal_id: (deal > 0).then(|| format!("{}-d{deal}", partners[p])),
                    seller: [None, Some("ana"), Some("ben")][seller].map(str::to_string),
                })
                .collect();
            let facts: BTreeMap<String, PartnerFacts> = types
                .iter()
                .map(|(id, ty)| (id.clone(), PartnerFacts { partner_type: (*ty).into(), ..Default::default() }))
                .collect();
            let statements = calculate(
                &parse(MULTI).unwrap(),
                &Period::parse("2027-Q1").unwrap(),
                &facts,
                &sales,
            );
            let mut got = Earned::new();
            for st in &statements {
                for l in &st.lines {
                    got.insert((st.partner_id.clone(), l.rule.clone(), l.seller.clone()), l.amount);
                }
                let funds: Decimal = st.lines.iter().filter(|l| l.rule == "mdf").map(|l| l.amount).sum();
                prop_assert_eq!(st.funds, funds);
            }
            prop_assert_eq!(got, model(&sales, &types));
        }
    }
}
