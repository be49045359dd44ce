//! The blocking index: finds, among millions of customer records (deal
//! registrations and the vendor's accounts), the few that may be the same
//! company as a query, then scores them with reasons.
//!
//! Blocking keys: the registrable domain, and every distinctive name token
//! together with its one-deletion variants (SymSpell), so a typo in a token
//! still finds the records that spell it right. Tokens so common that they
//! say little (`systems`, `global`) are used only when a name has nothing
//! rarer, and then only within the query's country. A name of two to five
//! words is also found by its initials ("BMW"), and the other way round.
//!
//! Each blocked record is then compared in full ([`super::evidence`]) and
//! scored by [`super::model`], which also gives the reasons.

use super::evidence::{self, Features, Word};
use super::location::{self, Place};
use super::model;
use super::normalize;
use super::similarity::Scratch;
pub use super::Reason;
use serde::Serialize;
use std::borrow::Cow;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// A small, fast, non-cryptographic hasher for the index's maps (keys are
/// normalised tokens and slots, never attacker-chosen in bulk).
#[derive(Default, Clone, Copy)]
pub struct FxHasher(u64);

impl Hasher for FxHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut v = [0u8; 8];
            v[..chunk.len()].copy_from_slice(chunk);
            self.add(u64::from_le_bytes(v));
        }
    }
    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }
    fn write_u32(&mut self, i: u32) {
        self.add(u64::from(i));
    }
    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }
}

impl FxHasher {
    #[inline]
    fn add(&mut self, v: u64) {
        self.0 = (self.0.rotate_left(5) ^ v).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

type FxMap<K, V> = HashMap<K, V, BuildHasherDefault<FxHasher>>;

fn hash_str(s: &str) -> u64 {
    let mut h = FxHasher::default();
    h.write(s.as_bytes());
    h.write_u8(0xff);
    h.finish()
}

/// What a record is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// A partner's deal registration.
    Registration,
    /// One of the vendor's known accounts (house account, existing customer).
    Account,
    /// A partner organisation (duplicate checks of applications).
    Partner,
    /// An application to become a partner.
    Application,
}

/// A customer as a partner or the vendor describes it.
#[derive(Debug, Clone, Default)]
pub struct Customer<'a> {
    pub name: &'a str,
    /// A web domain, URL or contact e-mail address.
    pub domain: Option<&'a str>,
    /// ISO 3166-1 alpha-2.
    pub country: &'a str,
    pub city: Option<&'a str>,
}

struct Entry {
    id: Box<str>,
    kind: Kind,
    /// The name's words, in order.
    words: Box<[u32]>,
    domain: Option<Box<str>>,
    country: [u8; 2],
    city: Box<str>,
    alive: bool,
}

/// A record that may be the same company.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Candidate {
    pub id: String,
    pub kind: Kind,
    /// In [0, 1]; 1 is certainly the same company.
    pub score: f64,
    pub reasons: Vec<Reason>,
}

/// Tuning of candidate generation.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    /// A token in more records than this is "common": it finds records only
    /// together with another token (posting lists are intersected), never
    /// alone (default 1,000).
    pub common_min: usize,
    /// A misspelt token's look-alikes count only when this rare (default 200).
    pub fuzzy_max: usize,
    /// How many blocked records are scored in full per query.
    pub rescore: usize,
    /// A name made of one common word only is looked for among this many
    /// records of its country that have the word (default 20,000).
    pub common_scan: usize,
    /// The model's weights (default [`model::WEIGHTS`]; another set only
    /// to fit or compare them).
    pub weights: [f64; model::FEATURES.len()],
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            common_min: 1_000,
            fuzzy_max: 200,
            rescore: 128,
            common_scan: 20_000,
            weights: model::WEIGHTS,
        }
    }
}

/// The index. Not thread-safe by itself: wrap it in a lock to share it.
pub struct Index {
    entries: Vec<Entry>,
    by_id: FxMap<Box<str>, u32>,
    vocab: FxMap<Box<str>, u32>,
    words: Vec<Box<str>>,
    postings: Vec<Vec<u32>>,
    /// The postings of each token within one country (key: `local_key`), so
    /// that a token too common worldwide can still block within the query's
    /// country.
    local: FxMap<u64, Vec<u32>>,
    deletions: FxMap<u64, Vec<u32>>,
    domains: FxMap<Box<str>, Vec<u32>>,
    /// Records by the initials of their name within their country.
    initials: FxMap<u64, Vec<u32>>,
    live: usize,
    settings: Settings,
}

impl Default for Index {
    fn default() -> Self {
        Index::new(Settings::default())
    }
}

/// Calls `f` for every slot in both sorted lists.
fn intersect(a: &[u32], b: &[u32], mut f: impl FnMut(u32)) {
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                f(a[i]);
                i += 1;
                j += 1;
            }
        }
    }
}

/// The one-deletion variants of a token (the token itself included).
fn variants(token: &str, mut f: impl FnMut(u64)) {
    f(hash_str(token));
    let chars: Vec<(usize, char)> = token.char_indices().collect();
    if chars.len() < 4 {
        return;
    }
    let mut buf = String::with_capacity(token.len());
    for (i, &(at, c)) in chars.iter().enumerate() {
        // Skip repeated letters: deleting either gives the same variant.
        if i > 0 && chars[i - 1].1 == c {
            continue;
        }
        buf.clear();
        buf.push_str(&token[..at]);
        buf.push_str(&token[at + c.len_utf8()..]);
        f(hash_str(&buf));
    }
}

fn country_code(c: &str) -> [u8; 2] {
    let b = c.trim().as_bytes();
    if b.len() == 2 {
        [b[0].to_ascii_uppercase(), b[1].to_ascii_uppercase()]
    } else {
        [0, 0]
    }
}

fn local_key(token: u32, country: [u8; 2]) -> u64 {
    (u64::from(token) << 16) | (u64::from(country[0]) << 8) | u64::from(country[1])
}

/// The key of a name's initials within a country.
fn initials_key(initials: &str, country: [u8; 2]) -> u64 {
    hash_str(initials) ^ (u64::from(country[0]) << 48) ^ (u64::from(country[1]) << 56)
}

/// The initials of a name of two to five words ("bmw").
fn initials_of<'a>(words: impl ExactSizeIterator<Item = &'a str>) -> Option<String> {
    if !(2..=5).contains(&words.len()) {
        return None;
    }
    Some(words.filter_map(|w| w.chars().next()).collect())
}

/// How many records an initials look-up scores at most.
const INITIALS_SCAN: usize = 300;

impl Index {
    pub fn new(settings: Settings) -> Index {
        Index {
            entries: Vec::new(),
            by_id: FxMap::default(),
            vocab: FxMap::default(),
            words: Vec::new(),
            postings: Vec::new(),
            local: FxMap::default(),
            deletions: FxMap::default(),
            domains: FxMap::default(),
            initials: FxMap::default(),
            live: 0,
            settings,
        }
    }

    /// Records in the index.
    pub fn len(&self) -> usize {
        self.live
    }

    pub fn is_empty(&self) -> bool {
        self.live == 0
    }

    fn token_id(&mut self, t: &str) -> u32 {
        if let Some(&id) = self.vocab.get(t) {
            return id;
        }
        let id = self.words.len() as u32;
        self.words.push(t.into());
        self.vocab.insert(t.into(), id);
        self.postings.push(Vec::new());
        let deletions = &mut self.deletions;
        variants(t, |h| {
            let v = deletions.entry(h).or_default();
            if v.last() != Some(&id) {
                v.push(id);
            }
        });
        id
    }

    /// Adds a record, or replaces the record with the same id.
    pub fn upsert(&mut self, id: &str, kind: Kind, c: &Customer<'_>) {
        self.remove(id);
        let n = normalize::name(c.name);
        let slot = self.entries.len() as u32;
        let words: Vec<u32> = n.tokens.iter().map(|t| self.token_id(t)).collect();
        let mut tokens = words.clone();
        tokens.sort_unstable();
        tokens.dedup();
        let country = country_code(c.country);
        for &t in &tokens {
            self.postings[t as usize].push(slot);
            self.local
                .entry(local_key(t, country))
                .or_default()
                .push(slot);
        }
        if let Some(i) = initials_of(n.tokens.iter().map(String::as_str)) {
            self.initials
                .entry(initials_key(&i, country))
                .or_default()
                .push(slot);
        }
        let domain = c
            .domain
            .and_then(normalize::domain)
            .filter(|d| !d.free_mail)
            .map(|d| d.registrable.into_boxed_str());
        if let Some(d) = &domain {
            self.domains.entry(d.clone()).or_default().push(slot);
        }
        self.entries.push(Entry {
            id: id.into(),
            kind,
            words: words.into(),
            domain,
            country,
            city: c.city.map(normalize::place).unwrap_or_default().into(),
            alive: true,
        });
        self.by_id.insert(id.into(), slot);
        self.live += 1;
    }

    /// Removes a record (e.g. a rejected or expired registration).
    pub fn remove(&mut self, id: &str) -> bool {
        let Some(slot) = self.by_id.remove(id) else {
            return false;
        };
        let e = &mut self.entries[slot as usize];
        e.alive = false;
        let mut tokens = e.words.to_vec();
        tokens.sort_unstable();
        tokens.dedup();
        for &t in &tokens {
            self.postings[t as usize].retain(|&s| s != slot);
            if let Some(v) = self.local.get_mut(&local_key(t, e.country)) {
                v.retain(|&s| s != slot);
            }
        }
        let words: Vec<&str> = e.words.iter().map(|&t| &*self.words[t as usize]).collect();
        if let Some(i) = initials_of(words.into_iter()) {
            if let Some(v) = self.initials.get_mut(&initials_key(&i, e.country)) {
                v.retain(|&s| s != slot);
            }
        }
        if let Some(d) = &e.domain {
            if let Some(v) = self.domains.get_mut(d) {
                v.retain(|&s| s != slot);
            }
        }
        self.live -= 1;
        true
    }

    /// Vocabulary tokens close to `t` with a weight factor: 1 for `t` itself,
    /// 0.8 within one edit, 0.6 within two (long tokens only). Candidates
    /// come from shared one-deletion variants.
    fn near_tokens(&self, t: &str, scratch: &mut Scratch, out: &mut Vec<(u32, f32)>) {
        out.clear();
        let exact = self.vocab.get(t).copied();
        if let Some(id) = exact {
            out.push((id, 1.0));
        }
        let len = t.chars().count();
        if len < 4 {
            return;
        }
        let mut seen: Vec<u32> = Vec::new();
        variants(t, |h| {
            if let Some(ids) = self.deletions.get(&h) {
                seen.extend(ids.iter().copied().filter(|&i| Some(i) != exact));
            }
        });
        seen.sort_unstable();
        seen.dedup();
        for id in seen {
            match scratch.distance(t, &self.words[id as usize]) {
                1 => out.push((id, 0.8)),
                2 if len >= 7 => out.push((id, 0.6)),
                _ => {}
            }
        }
    }

    /// Live records in `id`'s postings.
    fn df(&self, id: u32) -> u32 {
        self.postings[id as usize].len() as u32
    }

    /// The best `limit` blocked records for `q` with their scores and
    /// evidence, best first.
    fn scored(
        &self,
        q: &Customer<'_>,
        limit: usize,
        min_score: f64,
        explain: bool,
    ) -> Vec<(f64, u32, Features)> {
        let n = normalize::name(q.name);
        let domain = q
            .domain
            .and_then(normalize::domain)
            .filter(|d| !d.free_mail);
        let country = country_code(q.country);
        let city = q.city.map(normalize::place).unwrap_or_default();
        let mut scratch = Scratch::default();

        // Blocking: weight each record by the rarity of the tokens it shares.
        let total = (self.live.max(1)) as f64;
        let common_min = self.settings.common_min;
        let fuzzy_max = self.settings.fuzzy_max;
        let idf = |id: u32| {
            (total / self.postings[id as usize].len().max(1) as f64)
                .ln()
                .max(0.1) as f32
        };
        // A token's postings within the query's country.
        let local = |id: u32| -> &[u32] {
            self.local
                .get(&local_key(id, country))
                .map(Vec::as_slice)
                .unwrap_or(&[])
        };
        let mut weight: FxMap<u32, f32> = FxMap::default();
        let mut near = Vec::new();
        let mut common: Vec<(u32, f32)> = Vec::new();
        let mut rare_hits = 0usize;
        for t in &n.tokens {
            self.near_tokens(t, &mut scratch, &mut near);
            for &(id, factor) in &near {
                let post = &self.postings[id as usize];
                let most = if factor < 1.0 { fuzzy_max } else { common_min };
                // Rare worldwide: every record with it. Common worldwide but
                // rare in the query's country: the records there. Common in
                // the country too: only together with other tokens.
                let list: &[u32] = if post.len() <= most {
                    post
                } else {
                    let here = local(id);
                    if here.len() > most {
                        common.push((id, factor));
                        continue;
                    }
                    here
                };
                if list.is_empty() {
                    continue;
                }
                rare_hits += 1;
                let w = idf(id) * factor;
                for &slot in list {
                    *weight.entry(slot).or_default() += w;
                }
            }
        }
        // Records found by their rare tokens also earn the common ones they share.
        common.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.total_cmp(&a.1)));
        common.dedup_by_key(|c| c.0);
        // Exact tokens pair up before look-alikes, rarer before commoner.
        common.sort_by(|a, b| {
            b.1.total_cmp(&a.1)
                .then_with(|| local(a.0).len().cmp(&local(b.0).len()))
        });
        if !common.is_empty() {
            for (slot, w) in weight.iter_mut() {
                let words = &self.entries[*slot as usize].words;
                for &(id, factor) in &common {
                    if words.contains(&id) {
                        *w += idf(id) * factor;
                    }
                }
            }
        }
        // Common words ("Global Data Systems") find records of the query's
        // country by appearing together: intersect the in-country postings
        // of the rarest pairs. Sequential merges, no look-ups per record.
        if common.len() >= 2 {
            let firsts = common.len().min(3);
            for i in 0..firsts {
                for j in i + 1..firsts {
                    let (a, b) = (common[i], common[j]);
                    let w = idf(a.0) * a.1 + idf(b.0) * b.1;
                    intersect(local(a.0), local(b.0), |slot| {
                        *weight.entry(slot).or_default() += w
                    });
                }
            }
        } else if let (Some(&(only, factor)), 0) = (common.first(), rare_hits) {
            let w = idf(only) * factor;
            for &slot in local(only).iter().take(self.settings.common_scan) {
                *weight.entry(slot).or_default() += w;
            }
        }
        let mut blocked: Vec<(u32, f32)> = weight.into_iter().collect();
        let keep = self.settings.rescore.max(limit);
        if blocked.len() > keep {
            blocked
                .select_nth_unstable_by(keep - 1, |a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
            blocked.truncate(keep);
        }
        let mut slots: Vec<u32> = blocked.into_iter().map(|(s, _)| s).collect();
        if let Some(d) = &domain {
            if let Some(v) = self.domains.get(d.registrable.as_str()) {
                slots.extend(v.iter().take(1_000));
            }
        }

        // Initials: "BMW" finds "Bayerische Motoren Werke" in its country,
        // and "International Business Machines" finds "IBM".
        if n.tokens.len() == 1 && (2..=5).contains(&n.tokens[0].len()) {
            if let Some(v) = self.initials.get(&initials_key(&n.tokens[0], country)) {
                slots.extend(v.iter().take(INITIALS_SCAN));
            }
        } else if let Some(i) = initials_of(n.tokens.iter().map(String::as_str)) {
            if let Some(&id) = self.vocab.get(i.as_str()) {
                slots.extend(
                    local(id)
                        .iter()
                        .filter(|&&s| self.entries[s as usize].words.len() == 1)
                        .take(INITIALS_SCAN),
                );
            }
        }
        slots.sort_unstable();
        slots.dedup();

        let query = Query::new(
            self,
            &n.tokens,
            domain.as_ref().map(|d| d.registrable.as_str()),
            country,
            city,
        );
        let mut places = Vec::new();
        let weights = &self.settings.weights;
        let mut out: Vec<(f64, u32, Features)> = slots
            .into_iter()
            .filter_map(|slot| {
                let e = &self.entries[slot as usize];
                if !e.alive {
                    return None;
                }
                let f = query.features(self, e, false, &mut places, &mut scratch);
                let score = model::probability_with(weights, &model::vector(&f));
                (score >= min_score).then_some((score, slot, f))
            })
            .collect();
        out.sort_by(|a, b| {
            b.0.total_cmp(&a.0).then_with(|| {
                self.entries[a.1 as usize]
                    .id
                    .cmp(&self.entries[b.1 as usize].id)
            })
        });
        out.truncate(limit);
        if explain {
            for (_, slot, f) in &mut out {
                let e = &self.entries[*slot as usize];
                *f = query.features(self, e, true, &mut places, &mut scratch);
            }
        }
        out
    }

    /// The best `limit` candidates for `q`, best first. Candidates scoring
    /// below `min_score` are left out.
    pub fn search(&self, q: &Customer<'_>, limit: usize, min_score: f64) -> Vec<Candidate> {
        let own_domain = q
            .domain
            .and_then(normalize::domain)
            .filter(|d| !d.free_mail)
            .map(|d| d.registrable);
        self.scored(q, limit, min_score, true)
            .into_iter()
            .map(|(score, slot, f)| {
                let e = &self.entries[slot as usize];
                Candidate {
                    id: e.id.to_string(),
                    kind: e.kind,
                    score: (score * 1000.0).round() / 1000.0,
                    reasons: model::reasons(
                        &f,
                        own_domain.as_deref(),
                        &String::from_utf8_lossy(&e.country),
                    ),
                }
            })
            .collect()
    }

    /// The best `limit` candidates with the evidence behind their scores
    /// (for fitting and inspecting the model).
    pub fn evidence(&self, q: &Customer<'_>, limit: usize) -> Vec<(String, Features)> {
        self.scored(q, limit, 0.0, false)
            .into_iter()
            .map(|(_, slot, f)| (self.entries[slot as usize].id.to_string(), f))
            .collect()
    }
}

/// A query's side of the comparison, prepared once for all its candidates.
struct Query<'q> {
    words: Vec<Word<'q>>,
    sorted: String,
    domain: Option<&'q str>,
    country: [u8; 2],
    city: String,
}

impl<'q> Query<'q> {
    fn new(
        ix: &Index,
        tokens: &'q [String],
        domain: Option<&'q str>,
        country: [u8; 2],
        city: String,
    ) -> Query<'q> {
        let words = tokens
            .iter()
            .map(|t| Word {
                text: Cow::Borrowed(t.as_str()),
                df: ix.vocab.get(t.as_str()).map_or(0, |&id| ix.df(id)),
            })
            .collect();
        let mut sorted: Vec<&str> = tokens.iter().map(String::as_str).collect();
        sorted.sort_unstable();
        Query {
            words,
            sorted: sorted.join(" "),
            domain,
            country,
            city,
        }
    }

    fn features<'i>(
        &self,
        ix: &'i Index,
        e: &'i Entry,
        explain: bool,
        places: &mut Vec<(&'i str, Place)>,
        scratch: &mut Scratch,
    ) -> Features {
        let record: Vec<Word<'_>> = e
            .words
            .iter()
            .map(|&id| Word {
                text: Cow::Borrowed(&*ix.words[id as usize]),
                df: ix.df(id),
            })
            .collect();
        let mut sorted: Vec<&str> = record.iter().map(|w| &*w.text).collect();
        sorted.sort_unstable();
        let sorted = sorted.join(" ");
        let sides = evidence::Names {
            query: &self.words,
            record: &record,
            query_city: &self.city,
            record_city: &e.city,
            n: ix.live.max(1) as f64,
        };
        // Records share few cities: compare each once per query.
        let city = match places.iter().find(|(c, _)| *c == &*e.city) {
            Some(&(_, p)) => p,
            None => {
                let p = location::compare(&self.city, &e.city, scratch);
                places.push((&e.city, p));
                p
            }
        };
        Features {
            name: evidence::names(&sides, explain, scratch),
            chars: scratch.ratio(&self.sorted, &sorted),
            domain: evidence::domains(self.domain, e.domain.as_deref()),
            city,
            same_country: e.country == self.country,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cust<'a>(
        name: &'a str,
        domain: Option<&'a str>,
        country: &'a str,
        city: Option<&'a str>,
    ) -> Customer<'a> {
        Customer {
            name,
            domain,
            country,
            city,
        }
    }

    fn sample() -> Index {
        let mut ix = Index::default();
        ix.upsert(
            "r1",
            Kind::Registration,
            &cust(
                "Müller Maschinenbau GmbH",
                Some("mueller-mb.de"),
                "DE",
                Some("Stuttgart"),
            ),
        );
        ix.upsert(
            "r2",
            Kind::Registration,
            &cust(
                "Kovalo Analytics Ltd",
                Some("kovalo.co.uk"),
                "GB",
                Some("Leeds"),
            ),
        );
        ix.upsert(
            "a1",
            Kind::Account,
            &cust(
                "Brintex Systems Inc.",
                Some("https://www.brintex.com"),
                "US",
                Some("Austin"),
            ),
        );
        ix.upsert(
            "a2",
            Kind::Account,
            &cust(
                "Brintex Systems GmbH",
                Some("brintex.de"),
                "DE",
                Some("Berlin"),
            ),
        );
        ix.upsert(
            "r3",
            Kind::Registration,
            &cust("Global Systems", None, "FR", Some("Lyon")),
        );
        ix
    }

    #[test]
    fn finds_the_same_company_written_differently_with_reasons() {
        let ix = sample();
        let hits = ix.search(
            &cust("MUELLER Maschinenbau", None, "DE", Some("Stuttgart")),
            5,
            0.5,
        );
        assert_eq!(hits[0].id, "r1", "{hits:?}");
        let hits = ix.search(
            &cust(
                "Müller Maschinenbau G.m.b.H.",
                None,
                "DE",
                Some("Stuttgart"),
            ),
            5,
            0.5,
        );
        assert_eq!(hits[0].id, "r1");
        assert!(hits[0].score > 0.95, "{hits:?}");
        assert!(hits[0].reasons.contains(&Reason::SameCity));

        // A typo in the only distinctive token.
        let hits = ix.search(&cust("Kovallo Analytics", None, "GB", None), 5, 0.5);
        assert_eq!(hits[0].id, "r2", "{hits:?}");
        assert!(hits[0].score > 0.85);

        // The domain alone, from a contact e-mail, even under another name.
        let hits = ix.search(
            &cust("KA Data Services", Some("jane@kovalo.co.uk"), "GB", None),
            5,
            0.5,
        );
        assert_eq!(hits[0].id, "r2");
        assert!(hits[0].score >= 0.9);
        assert_eq!(
            hits[0].reasons[0],
            Reason::SameDomain {
                domain: "kovalo.co.uk".into()
            }
        );
        assert_eq!(
            hits[0].reasons[0].to_string(),
            "same registrable domain (kovalo.co.uk)"
        );
    }

    #[test]
    fn the_same_name_in_another_country_ranks_below() {
        let ix = sample();
        let hits = ix.search(&cust("Brintex Systems", None, "DE", None), 5, 0.0);
        assert_eq!(hits[0].id, "a2");
        assert_eq!(hits[0].kind, Kind::Account);
        assert_eq!(hits[1].id, "a1");
        assert!(hits[1].score < 0.75, "{hits:?}");
        assert!(hits[1].reasons.contains(&Reason::OtherCountry {
            country: "US".into()
        }));
    }

    #[test]
    fn free_mail_domains_are_no_evidence() {
        let mut ix = sample();
        ix.upsert(
            "r9",
            Kind::Registration,
            &cust("Zyxwv Ltd", Some("bob@gmail.com"), "GB", None),
        );
        let hits = ix.search(
            &cust("Totally Different", Some("alice@gmail.com"), "GB", None),
            5,
            0.5,
        );
        assert!(hits.is_empty(), "{hits:?}");
    }

    #[test]
    fn upsert_replaces_and_remove_forgets() {
        let mut ix = sample();
        assert_eq!(ix.len(), 5);
        ix.upsert(
            "r2",
            Kind::Registration,
            &cust("Zentrix Labs", None, "GB", None),
        );
        assert_eq!(ix.len(), 5);
        assert!(ix
            .search(&cust("Kovalo Analytics", None, "GB", None), 5, 0.6)
            .is_empty());
        assert_eq!(
            ix.search(&cust("Zentrix Labs", None, "GB", None), 5, 0.6)[0].id,
            "r2"
        );
        assert!(ix.remove("r2"));
        assert!(!ix.remove("r2"));
        assert!(ix
            .search(&cust("Zentrix Labs", None, "GB", None), 5, 0.6)
            .is_empty());
        assert_eq!(ix.len(), 4);
    }

    #[test]
    fn names_of_common_words_only_are_found_in_their_country() {
        let mut ix = Index::new(Settings {
            common_min: 1,
            fuzzy_max: 1,
            rescore: 64,
            common_scan: 100,
            ..Settings::default()
        });
        ix.upsert(
            "g1",
            Kind::Account,
            &cust("Global Systems", None, "FR", None),
        );
        ix.upsert(
            "g2",
            Kind::Account,
            &cust("Global Systems", None, "DE", None),
        );
        ix.upsert("g3", Kind::Account, &cust("Global Data", None, "FR", None));
        let hits = ix.search(&cust("Global Systems SAS", None, "FR", None), 5, 0.8);
        assert_eq!(hits.len(), 1, "{hits:?}");
        assert_eq!(hits[0].id, "g1");
    }
}
