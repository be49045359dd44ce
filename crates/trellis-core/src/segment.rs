//! Sales-out lines stored as segments: up to [`SEGMENT_LINES`] lines of one
//! import batch in three compact byte columns, so that millions of lines
//! are written and read as a few hundred values instead of millions of rows.
//!
//! - `facts`: what the calculation reads: date, partner, SKU, quantity,
//!   unit price, currency, deal, seller, held, file line. Strings that
//!   repeat (partners, SKUs, currencies, deals, sellers) are stored once per
//!   segment in dictionaries; numbers as variable-length integers.
//! - `ids`: the transaction ids, for detecting lines imported before.
//! - `customers`: name, domain and country of each line's customer, each
//!   customer stored once per segment.
//!
//! Quantities and prices keep their exact decimal value (mantissa and
//! scale). Every reader checks lengths and fails with [`SegmentError`]
//! instead of panicking on damaged bytes.

use rust_decimal::Decimal;
use std::collections::HashMap;
use std::fmt::Write;

/// Lines per segment.
pub const SEGMENT_LINES: usize = 65_536;

const VERSION: u8 = 1;

/// One validated sales-out line, borrowed.
#[derive(Debug, Clone, PartialEq)]
pub struct LineRef<'a> {
    /// The line in the imported file.
    pub line: u64,
    pub transaction_id: &'a str,
    /// YYYY-MM-DD.
    pub date: &'a str,
    pub partner_id: &'a str,
    pub customer_name: &'a str,
    pub customer_domain: Option<&'a str>,
    /// ISO 3166 alpha-2.
    pub customer_country: &'a str,
    pub sku: &'a str,
    pub quantity: Decimal,
    pub unit_price: Decimal,
    pub currency: &'a str,
    pub deal_id: Option<&'a str>,
    pub seller: Option<&'a str>,
    /// Kept out of calculations (unknown SKU, held on import).
    pub held: bool,
}

/// A finished segment.
#[derive(Debug, Clone, PartialEq)]
pub struct Segment {
    pub lines: u64,
    pub first_date: String,
    pub last_date: String,
    pub facts: Vec<u8>,
    pub ids: Vec<u8>,
    pub customers: Vec<u8>,
}

/// Damaged or unknown segment bytes.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("sales segment: {0}")]
pub struct SegmentError(&'static str);

/// The maps of a writer hash text from files with a fast, per-process
/// seeded hash.
type Fast = foldhash::quality::RandomState;

#[derive(Default)]
struct Dict {
    index: HashMap<String, u32, Fast>,
    values: Vec<String>,
}

impl Dict {
    fn id(&mut self, s: &str) -> u32 {
        if let Some(i) = self.index.get(s) {
            return *i;
        }
        let i = self.values.len() as u32;
        self.values.push(s.to_string());
        self.index.insert(s.to_string(), i);
        i
    }
}

fn put_uint(out: &mut Vec<u8>, mut v: u128) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn put_int(out: &mut Vec<u8>, v: i128) {
    put_uint(out, ((v << 1) ^ (v >> 127)) as u128);
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    put_uint(out, s.len() as u128);
    out.extend_from_slice(s.as_bytes());
}

fn put_decimal(out: &mut Vec<u8>, d: Decimal) {
    out.push(d.scale() as u8);
    put_int(out, d.mantissa());
}

/// A date as the number yyyymmdd (orders like the date).
pub fn date_number(date: &str) -> u32 {
    let b = date.as_bytes();
    if b.len() != 10 {
        return 0;
    }
    b.iter()
        .filter(|c| c.is_ascii_digit())
        .fold(0u32, |n, c| n * 10 + u32::from(c - b'0'))
}

/// yyyymmdd back to YYYY-MM-DD.
pub fn date_text(n: u32) -> String {
    format!("{:04}-{:02}-{:02}", n / 10_000, n / 100 % 100, n % 100)
}

/// Builds one segment line by line.
#[derive(Default)]
pub struct Writer {
    lines: u64,
    first: u32,
    last: u32,
    prev_date: u32,
    prev_line: u64,
    partners: Dict,
    skus: Dict,
    currencies: Dict,
    deals: Dict,
    sellers: Dict,
    body: Vec<u8>,
    ids: Vec<u8>,
    /// Customer key (lengths, then name, domain, country) → index.
    customer_index: HashMap<String, u32, Fast>,
    customer_list: Vec<u8>,
    customer_lines: Vec<u8>,
    scratch: String,
}

impl Writer {
    pub fn new() -> Writer {
        Writer::default()
    }

    pub fn len(&self) -> usize {
        self.lines as usize
    }

    pub fn is_empty(&self) -> bool {
        self.lines == 0
    }

    pub fn push(&mut self, l: &LineRef) {
        let date = date_number(l.date);
        if self.lines == 0 {
            self.first = date;
            self.last = date;
        }
        self.first = self.first.min(date);
        self.last = self.last.max(date);
        self.lines += 1;
        let b = &mut self.body;
        put_int(b, i128::from(date) - i128::from(self.prev_date));
        self.prev_date = date;
        put_int(b, i128::from(l.line) - i128::from(self.prev_line));
        self.prev_line = l.line;
        put_uint(b, self.partners.id(l.partner_id).into());
        put_uint(b, self.skus.id(l.sku).into());
        put_uint(b, self.currencies.id(l.currency).into());
        put_uint(b, l.deal_id.map_or(0, |d| u128::from(self.deals.id(d)) + 1));
        put_uint(
            b,
            l.seller.map_or(0, |d| u128::from(self.sellers.id(d)) + 1),
        );
        b.push(u8::from(l.held));
        put_decimal(b, l.quantity);
        put_decimal(b, l.unit_price);
        put_str(&mut self.ids, l.transaction_id);
        // Lengths first, so that no text can make two customers one key.
        let key = &mut self.scratch;
        key.clear();
        let domain = l.customer_domain.map_or(-1, |d| d.len() as i64);
        let _ = write!(key, "{} {} ", l.customer_name.len(), domain);
        key.push_str(l.customer_name);
        key.push_str(l.customer_domain.unwrap_or(""));
        key.push_str(l.customer_country);
        let i = match self.customer_index.get(key.as_str()) {
            Some(i) => *i,
            None => {
                let i = self.customer_index.len() as u32;
                self.customer_index.insert(key.clone(), i);
                let c = &mut self.customer_list;
                put_str(c, l.customer_name);
                match l.customer_domain {
                    Some(d) => {
                        c.push(1);
                        put_str(c, d);
                    }
                    None => c.push(0),
                }
                put_str(c, l.customer_country);
                i
            }
        };
        put_uint(&mut self.customer_lines, i.into());
    }

    /// The segment, and a fresh writer's state.
    pub fn finish(&mut self) -> Segment {
        let w = std::mem::take(self);
        let mut facts = Vec::with_capacity(w.body.len() + 1024);
        facts.push(VERSION);
        put_uint(&mut facts, w.lines.into());
        for d in [&w.partners, &w.skus, &w.currencies, &w.deals, &w.sellers] {
            put_uint(&mut facts, d.values.len() as u128);
            for v in &d.values {
                put_str(&mut facts, v);
            }
        }
        facts.extend_from_slice(&w.body);
        let mut customers = Vec::with_capacity(w.customer_list.len() + w.customer_lines.len() + 8);
        put_uint(&mut customers, w.customer_index.len() as u128);
        customers.extend_from_slice(&w.customer_list);
        customers.extend_from_slice(&w.customer_lines);
        Segment {
            lines: w.lines,
            first_date: date_text(w.first),
            last_date: date_text(w.last),
            facts,
            ids: w.ids,
            customers,
        }
    }
}

struct Cursor<'a> {
    b: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn byte(&mut self) -> Result<u8, SegmentError> {
        let v = *self.b.get(self.at).ok_or(SegmentError("truncated"))?;
        self.at += 1;
        Ok(v)
    }

    fn uint(&mut self) -> Result<u128, SegmentError> {
        let mut v = 0u128;
        let mut shift = 0;
        loop {
            let c = self.byte()?;
            if shift > 126 {
                return Err(SegmentError("number too long"));
            }
            v |= u128::from(c & 0x7f) << shift;
            if c & 0x80 == 0 {
                return Ok(v);
            }
            shift += 7;
        }
    }

    fn small(&mut self) -> Result<u32, SegmentError> {
        u32::try_from(self.uint()?).map_err(|_| SegmentError("index too large"))
    }

    fn int(&mut self) -> Result<i128, SegmentError> {
        let u = self.uint()?;
        Ok(((u >> 1) as i128) ^ -((u & 1) as i128))
    }

    fn str(&mut self) -> Result<&'a str, SegmentError> {
        let n = self.small()? as usize;
        let end = self.at.checked_add(n).ok_or(SegmentError("truncated"))?;
        let s = self.b.get(self.at..end).ok_or(SegmentError("truncated"))?;
        self.at = end;
        std::str::from_utf8(s).map_err(|_| SegmentError("text is not UTF-8"))
    }

    fn decimal(&mut self) -> Result<Decimal, SegmentError> {
        let scale = u32::from(self.byte()?);
        let m = self.int()?;
        Decimal::try_from_i128_with_scale(m, scale).map_err(|_| SegmentError("bad decimal"))
    }
}

/// The `facts` column of a segment, read.
pub struct Facts<'a> {
    pub lines: u64,
    pub partners: Vec<&'a str>,
    pub skus: Vec<&'a str>,
    pub currencies: Vec<&'a str>,
    pub deals: Vec<&'a str>,
    pub sellers: Vec<&'a str>,
    body: Cursor<'a>,
    read: u64,
    date: u32,
    line: u64,
}

/// One line's facts; strings are indexes into the segment's dictionaries.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fact {
    /// yyyymmdd.
    pub date: u32,
    pub line: u64,
    pub partner: u32,
    pub sku: u32,
    pub currency: u32,
    pub deal: Option<u32>,
    pub seller: Option<u32>,
    pub held: bool,
    pub quantity: Decimal,
    pub unit_price: Decimal,
}

impl<'a> Facts<'a> {
    pub fn read(bytes: &'a [u8]) -> Result<Facts<'a>, SegmentError> {
        let mut c = Cursor { b: bytes, at: 0 };
        if c.byte()? != VERSION {
            return Err(SegmentError("unknown version"));
        }
        let lines = u64::try_from(c.uint()?).map_err(|_| SegmentError("too many lines"))?;
        let mut dicts: [Vec<&'a str>; 5] = Default::default();
        for d in &mut dicts {
            let n = c.small()? as usize;
            if n > bytes.len() {
                return Err(SegmentError("dictionary too large"));
            }
            for _ in 0..n {
                d.push(c.str()?);
            }
        }
        let [partners, skus, currencies, deals, sellers] = dicts;
        Ok(Facts {
            lines,
            partners,
            skus,
            currencies,
            deals,
            sellers,
            body: c,
            read: 0,
            date: 0,
            line: 0,
        })
    }

    /// The next line, `None` after the last.
    pub fn next_fact(&mut self) -> Result<Option<Fact>, SegmentError> {
        if self.read == self.lines {
            return Ok(None);
        }
        self.read += 1;
        let c = &mut self.body;
        let date = i128::from(self.date)
            .checked_add(c.int()?)
            .and_then(|d| u32::try_from(d).ok());
        self.date = date.ok_or(SegmentError("bad date"))?;
        let line = i128::from(self.line)
            .checked_add(c.int()?)
            .and_then(|l| u64::try_from(l).ok());
        self.line = line.ok_or(SegmentError("bad line"))?;
        let check = |i: u32, d: &Vec<&str>| {
            if (i as usize) < d.len() {
                Ok(i)
            } else {
                Err(SegmentError("dictionary index out of range"))
            }
        };
        let partner = check(c.small()?, &self.partners)?;
        let sku = check(c.small()?, &self.skus)?;
        let currency = check(c.small()?, &self.currencies)?;
        let deal = match c.small()? {
            0 => None,
            i => Some(check(i - 1, &self.deals)?),
        };
        let seller = match c.small()? {
            0 => None,
            i => Some(check(i - 1, &self.sellers)?),
        };
        let held = c.byte()? != 0;
        let quantity = c.decimal()?;
        let unit_price = c.decimal()?;
        Ok(Some(Fact {
            date: self.date,
            line: self.line,
            partner,
            sku,
            currency,
            deal,
            seller,
            held,
            quantity,
            unit_price,
        }))
    }
}

/// The transaction ids of a segment, in line order.
pub fn read_ids(bytes: &[u8], lines: u64) -> Result<Vec<&str>, SegmentError> {
    let mut c = Cursor { b: bytes, at: 0 };
    let mut out = Vec::with_capacity(lines.min(SEGMENT_LINES as u64) as usize);
    for _ in 0..lines {
        out.push(c.str()?);
    }
    Ok(out)
}

/// A line's customer: name, domain, country.
pub type Customer<'a> = (&'a str, Option<&'a str>, &'a str);

/// The customers of a segment, in line order.
pub fn read_customers(bytes: &[u8], lines: u64) -> Result<Vec<Customer<'_>>, SegmentError> {
    let mut c = Cursor { b: bytes, at: 0 };
    let n = c.small()? as usize;
    if n > bytes.len() {
        return Err(SegmentError("too many customers"));
    }
    let mut list = Vec::with_capacity(n);
    for _ in 0..n {
        let name = c.str()?;
        let domain = if c.byte()? == 1 { Some(c.str()?) } else { None };
        list.push((name, domain, c.str()?));
    }
    let mut out = Vec::with_capacity(lines.min(SEGMENT_LINES as u64) as usize);
    for _ in 0..lines {
        let i = c.small()? as usize;
        out.push(
            *list
                .get(i)
                .ok_or(SegmentError("customer index out of range"))?,
        );
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A line as read back, every field resolved to its text.
    #[derive(Debug, Clone, PartialEq)]
    struct Owned {
        line: u64,
        transaction_id: String,
        date: String,
        partner: String,
        customer: (String, Option<String>, String),
        sku: String,
        quantity: Decimal,
        unit_price: Decimal,
        currency: String,
        deal: Option<String>,
        seller: Option<String>,
        held: bool,
    }

    fn owned_of(l: &LineRef) -> Owned {
        Owned {
            line: l.line,
            transaction_id: l.transaction_id.to_string(),
            date: l.date.to_string(),
            partner: l.partner_id.to_string(),
            customer: (
                l.customer_name.to_string(),
                l.customer_domain.map(str::to_string),
                l.customer_country.to_string(),
            ),
            sku: l.sku.to_string(),
            quantity: l.quantity,
            unit_price: l.unit_price,
            currency: l.currency.to_string(),
            deal: l.deal_id.map(str::to_string),
            seller: l.seller.map(str::to_string),
            held: l.held,
        }
    }

    fn owned(s: &Segment) -> Vec<Owned> {
        let mut f = Facts::read(&s.facts).unwrap();
        let ids = read_ids(&s.ids, s.lines).unwrap();
        let customers = read_customers(&s.customers, s.lines).unwrap();
        let mut out = Vec::new();
        let mut i = 0;
        while let Some(x) = f.next_fact().unwrap() {
            let (name, domain, country) = customers[i];
            out.push(Owned {
                line: x.line,
                transaction_id: ids[i].to_string(),
                date: date_text(x.date),
                partner: f.partners[x.partner as usize].to_string(),
                customer: (
                    name.to_string(),
                    domain.map(str::to_string),
                    country.to_string(),
                ),
                sku: f.skus[x.sku as usize].to_string(),
                quantity: x.quantity,
                unit_price: x.unit_price,
                currency: f.currencies[x.currency as usize].to_string(),
                deal: x.deal.map(|d| f.deals[d as usize].to_string()),
                seller: x.seller.map(|d| f.sellers[d as usize].to_string()),
                held: x.held,
            });
            i += 1;
        }
        out
    }

    const SKUS: &[&str] = &["AUR-CLOUD-1Y", "AUR-EDGE", "HX-400", "S", "Ω-9"];
    const CURRENCIES: &[&str] = &["EUR", "USD", "GBP", "JPY"];
    const SELLERS: &[&str] = &["sam@brightpath.example", "kim", "lee"];
    const COUNTRIES: &[&str] = &["DE", "FR", "US"];

    proptest! {
        /// Every field of every line, above all those the calculation
        /// groups by (partner, SKU, currency, deal, seller), reads back as
        /// written, from several of each in one segment.
        #[test]
        fn lines_read_back_as_written(
            rows in proptest::collection::vec(
                (
                    ("[A-Za-z0-9-]{1,12}", 2020u32..2030, 1u32..13, 1u32..29, 0usize..4, "\\PC{0,8}", proptest::option::of("[a-z]{1,5}\\.de"), 0..COUNTRIES.len()),
                    (0..SKUS.len(), 0..CURRENCIES.len(), -1_000_000i64..1_000_000, 0u32..6, proptest::option::of("[a-z]{1,5}"), proptest::option::of(0..SELLERS.len()), proptest::bool::ANY),
                ),
                0..200,
            )
        ) {
            let mut w = Writer::new();
            let mut want = Vec::new();
            let dates: Vec<String> = rows
                .iter()
                .map(|((_, y, m, d, ..), _)| format!("{y:04}-{m:02}-{d:02}"))
                .collect();
            let partners: Vec<String> = rows.iter().map(|((_, _, _, _, p, ..), _)| format!("p{p}")).collect();
            for (i, ((id, _, _, _, _, name, domain, country), (sku, currency, q, scale, deal, seller, held))) in rows.iter().enumerate() {
                let l = LineRef {
                    line: (i as u64) * 3 + 2,
                    transaction_id: id,
                    date: &dates[i],
                    partner_id: &partners[i],
                    customer_name: name,
                    customer_domain: domain.as_deref(),
                    customer_country: COUNTRIES[*country],
                    sku: SKUS[*sku],
                    quantity: Decimal::new(*q, *scale),
                    unit_price: Decimal::new(q.unsigned_abs() as i64 * 7, scale + 1),
                    currency: CURRENCIES[*currency],
                    deal_id: deal.as_deref(),
                    seller: seller.map(|s| SELLERS[s]),
                    held: *held,
                };
                w.push(&l);
                want.push(owned_of(&l));
            }
            prop_assert_eq!(w.len(), rows.len());
            let s = w.finish();
            prop_assert!(w.is_empty());
            prop_assert_eq!(s.lines as usize, rows.len());
            if let (Some(first), Some(last)) = (dates.iter().min(), dates.iter().max()) {
                prop_assert_eq!((&s.first_date, &s.last_date), (first, last));
            }
            prop_assert_eq!(owned(&s), want);
        }

        #[test]
        fn damaged_bytes_fail_without_panicking(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            if let Ok(mut f) = Facts::read(&bytes) {
                for _ in 0..300 {
                    match f.next_fact() {
                        Ok(Some(_)) => {}
                        _ => break,
                    }
                }
            }
            let _ = read_ids(&bytes, 50);
            let _ = read_customers(&bytes, 50);
        }
    }

    #[test]
    fn dates_as_numbers() {
        assert_eq!(date_number("2027-03-31"), 20270331);
        assert_eq!(date_text(20270331), "2027-03-31");
        assert!(date_number("2026-12-31") < date_number("2027-01-01"));
    }

    #[test]
    fn truncated_segments_are_errors() {
        let mut w = Writer::new();
        w.push(&LineRef {
            line: 2,
            transaction_id: "T1",
            date: "2027-01-05",
            partner_id: "p",
            customer_name: "Acme",
            customer_domain: None,
            customer_country: "DE",
            sku: "S",
            quantity: Decimal::ONE,
            unit_price: Decimal::new(995, 2),
            currency: "USD",
            deal_id: None,
            seller: Some("sam"),
            held: false,
        });
        let s = w.finish();
        assert_eq!(
            (s.first_date.as_str(), s.last_date.as_str()),
            ("2027-01-05", "2027-01-05")
        );
        let cut = &s.facts[..s.facts.len() - 1];
        let mut f = Facts::read(cut).unwrap();
        assert!(f.next_fact().is_err());
        assert!(read_ids(&s.ids[..1], 1).is_err());
    }
}
