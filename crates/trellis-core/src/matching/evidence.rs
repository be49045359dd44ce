//! The evidence that a query and a record name the same company, as a fixed
//! set of features (see [`Features`]) that [`super::model`] turns into a
//! probability-like score with reasons.
//!
//! Names are compared word by word, whatever their order: each word of the
//! query is paired with at most one word of the record (exact, abbreviated
//! "Deli"/"Delicatessen", one or two typos apart, or two words written as one
//! "Wal Mart"/"Walmart"). Every word carries a weight from how rare it is
//! among the records in the index (term frequency, as splink adjusts its
//! match weights): sharing "Kestrel" says much, sharing "Systems" little.
//! Words left over that name the city, or say "branch"/"office", are
//! qualifiers and weigh nothing ("Kestrel (Munich)").

use super::location::{self, Place};
use super::normalize;
use super::similarity::Scratch;
use std::borrow::Cow;

/// A word of a name and how many indexed records contain it.
#[derive(Debug, Clone)]
pub struct Word<'a> {
    pub text: Cow<'a, str>,
    /// Records with this word (0 when no record has it).
    pub df: u32,
}

/// Words that qualify a company name without naming another company.
const QUALIFIERS: &[&str] = &[
    "branch",
    "office",
    "hq",
    "headquarters",
    "head",
    "filiale",
    "niederlassung",
    "zweigniederlassung",
    "standort",
    "succursale",
    "sucursal",
    "filial",
    "agence",
];

/// The weight of a word found in `df` of `n` records: its information
/// content, ln(1 + n / df); a word no record has weighs as a unique one.
pub fn weight(df: u32, n: f64) -> f64 {
    (1.0 + n / f64::from(df.max(1))).ln()
}

/// What the names say.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NameEvidence {
    /// Weighted agreement of the paired words, 0–1 (1: every word pairs
    /// exactly).
    pub agree: f64,
    /// Share of the query's weight in words the record does not have.
    pub query_extra: f64,
    /// Share of the record's weight in words the query does not have.
    pub record_extra: f64,
    /// Both have words the other lacks: a word was replaced ("Fonseca
    /// Networks" / "Fonseca Software"), not only added.
    pub replaced: bool,
    /// Every word pairs exactly.
    pub exact: bool,
    /// Every word pairs exactly but in another order.
    pub reordered: bool,
    /// ln of how many records would share the paired words by chance (0: as
    /// rare as one record).
    pub commonness: f64,
    /// One name is the initials of the other ("BMW").
    pub initials: bool,
    /// Words of the query that pair with the record's (only when asked to
    /// explain).
    pub shared: Vec<String>,
    /// Words of the query the record lacks, qualifiers aside (only when
    /// asked to explain).
    pub query_only: Vec<String>,
    /// Pairs that are abbreviations or typos of each other.
    pub approximate: usize,
    /// Qualifier words set aside (city names, "branch").
    pub qualifiers: usize,
}

/// How alike two words are: 1 equal, 0.9 one abbreviates the other, one or
/// two typos in long words give 1 − edits / length; else 0.
fn word_similarity(a: &str, b: &str, scratch: &mut Scratch) -> f64 {
    if a == b {
        return 1.0;
    }
    let (la, lb) = (a.chars().count(), b.chars().count());
    let (short, long, ls, ll) = if la <= lb {
        (a, b, la, lb)
    } else {
        (b, a, lb, la)
    };
    if ls >= 4 && ll >= ls + 2 && long.starts_with(short) {
        return 0.9;
    }
    if ls < 4 {
        return 0.0;
    }
    if ll - ls > 3 {
        return 0.0;
    }
    let d = scratch.distance(a, b);
    if d == 1 || (d == 2 && ls >= 7) || (d == 3 && ls >= 10) {
        1.0 - d as f64 / ll as f64
    } else {
        0.0
    }
}

/// Joins adjacent words of `a` that together are a word of `b` ("wal mart"
/// / "walmart").
fn merge_compounds<'a>(a: &mut Vec<Word<'a>>, b: &[Word<'_>]) {
    let mut i = 0;
    while i + 1 < a.len() {
        let (x, y) = (&a[i].text, &a[i + 1].text);
        let found = b.iter().find(|w| {
            w.text.len() == x.len() + y.len() && w.text.starts_with(&**x) && w.text.ends_with(&**y)
        });
        if let Some(w) = found {
            let df = w.df;
            a[i] = Word {
                text: Cow::Owned(format!("{x}{y}")),
                df,
            };
            a.remove(i + 1);
        } else {
            i += 1;
        }
    }
}

fn initials(words: &[Word<'_>]) -> String {
    words.iter().filter_map(|w| w.text.chars().next()).collect()
}

/// The two sides of a name comparison.
pub struct Names<'a, 'b> {
    pub query: &'a [Word<'b>],
    pub record: &'a [Word<'b>],
    /// Normalised places: a word naming either city is a qualifier.
    pub query_city: &'a str,
    pub record_city: &'a str,
    /// Records in the index.
    pub n: f64,
}

/// Compares the words of two names (each in its written order); with
/// `explain`, also lists the words shared and missing.
pub fn names(sides: &Names<'_, '_>, explain: bool, scratch: &mut Scratch) -> NameEvidence {
    let Names {
        query,
        record,
        query_city,
        record_city,
        n,
    } = *sides;
    let mut q: Vec<Word<'_>> = query.to_vec();
    let mut r: Vec<Word<'_>> = record.to_vec();
    merge_compounds(&mut q, &r);
    merge_compounds(&mut r, &q);

    // Pair the most alike words first.
    let mut pairs: Vec<(f64, usize, usize)> = Vec::new();
    for (i, a) in q.iter().enumerate() {
        for (j, b) in r.iter().enumerate() {
            let s = word_similarity(&a.text, &b.text, scratch);
            if s > 0.0 {
                pairs.push((s, i, j));
            }
        }
    }
    pairs.sort_by(|x, y| y.0.total_cmp(&x.0).then(x.1.cmp(&y.1)).then(x.2.cmp(&y.2)));
    let mut q_pair: Vec<Option<(usize, f64)>> = vec![None; q.len()];
    let mut r_used = vec![false; r.len()];
    for (s, i, j) in pairs {
        if q_pair[i].is_none() && !r_used[j] {
            q_pair[i] = Some((j, s));
            r_used[j] = true;
        }
    }

    let mut is_qualifier = |w: &str| {
        QUALIFIERS.contains(&w)
            || normalize::is_legal_form_word(w)
            || location::names_place(w, query_city, scratch)
            || location::names_place(w, record_city, scratch)
    };
    let mut ev = NameEvidence::default();
    let (mut wq, mut wr, mut agree, mut q_extra, mut r_extra) = (0.0, 0.0, 0.0, 0.0, 0.0);
    let mut commonness = n.max(1.0).ln();
    let mut paired = 0usize;
    for (i, a) in q.iter().enumerate() {
        match q_pair[i] {
            Some((j, s)) => {
                let (wa, wb) = (weight(a.df, n), weight(r[j].df, n));
                wq += wa;
                wr += wb;
                agree += s * (wa + wb);
                paired += 1;
                commonness += (f64::from(r[j].df.max(1)) / n.max(1.0)).ln();
                if s < 1.0 {
                    ev.approximate += 1;
                }
                if explain {
                    ev.shared.push(a.text.to_string());
                }
            }
            None if q.len() > 1 && is_qualifier(&a.text) => ev.qualifiers += 1,
            None => {
                let w = weight(a.df, n);
                wq += w;
                q_extra += w;
                if explain {
                    ev.query_only.push(a.text.to_string());
                }
            }
        }
    }
    for (j, b) in r.iter().enumerate() {
        if r_used[j] {
            continue;
        }
        if r.len() > 1 && is_qualifier(&b.text) {
            ev.qualifiers += 1;
            continue;
        }
        let w = weight(b.df, n);
        wr += w;
        r_extra += w;
    }
    if wq + wr > 0.0 {
        ev.agree = agree / (wq + wr);
    }
    if wq > 0.0 {
        ev.query_extra = q_extra / wq;
    }
    if wr > 0.0 {
        ev.record_extra = r_extra / wr;
    }
    ev.replaced = q_extra > 0.0 && r_extra > 0.0;
    ev.exact = paired > 0 && q_extra == 0.0 && r_extra == 0.0 && ev.approximate == 0;
    if ev.exact {
        let order_q: Vec<usize> = q_pair.iter().flatten().map(|&(j, _)| j).collect();
        ev.reordered = order_q.windows(2).any(|w| w[0] > w[1]);
    }
    ev.commonness = if paired > 0 { commonness.max(0.0) } else { 0.0 };

    // "BMW" / "Bayerische Motoren Werke": nothing pairs, one is the other's
    // initials.
    if paired == 0 {
        let one_of = |a: &[Word<'_>], b: &[Word<'_>]| {
            a.len() == 1 && b.len() >= 2 && a[0].text.len() >= 2 && a[0].text == initials(b)
        };
        if one_of(&q, &r) || one_of(&r, &q) {
            ev.initials = true;
            ev.query_extra = 0.0;
            ev.record_extra = 0.0;
            ev.replaced = false;
        }
    }
    ev
}

/// How two domains compare.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DomainMatch {
    /// The same registrable domain.
    Same,
    /// The same name under another suffix (`bmw.de` / `bmw.com`).
    SameName,
    /// Both known and different.
    Other,
    /// One or both unknown.
    Unknown,
}

/// Compares two registrable domains.
pub fn domains(a: Option<&str>, b: Option<&str>) -> DomainMatch {
    match (a, b) {
        (Some(a), Some(b)) if a == b => DomainMatch::Same,
        (Some(a), Some(b)) => {
            let label = |d: &str| d.split('.').next().unwrap_or("").to_string();
            if label(a) == label(b) {
                DomainMatch::SameName
            } else {
                DomainMatch::Other
            }
        }
        _ => DomainMatch::Unknown,
    }
}

/// Everything the model weighs, for one query and one record.
#[derive(Debug, Clone, PartialEq)]
pub struct Features {
    pub name: NameEvidence,
    /// OSA ratio of the two names with their words sorted.
    pub chars: f64,
    pub domain: DomainMatch,
    pub city: Place,
    pub same_country: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Words of a normalised name, each as common as `df` says (default 1).
    fn words<'a>(name: &str, df: &[(&str, u32)]) -> Vec<Word<'a>> {
        normalize::name(name)
            .tokens
            .into_iter()
            .map(|t| {
                let d = df.iter().find(|(w, _)| *w == t).map_or(1, |x| x.1);
                Word {
                    text: Cow::Owned(t),
                    df: d,
                }
            })
            .collect()
    }

    fn compare(a: &str, b: &str, df: &[(&str, u32)]) -> NameEvidence {
        let (q, r) = (words(a, df), words(b, df));
        let sides = Names {
            query: &q,
            record: &r,
            query_city: "",
            record_city: "",
            n: 10_000.0,
        };
        names(&sides, true, &mut Scratch::default())
    }

    #[test]
    fn word_order_does_not_matter() {
        let e = compare("Bank Julius Baer", "Julius Baer Bank", &[]);
        assert!(e.exact && e.reordered, "{e:?}");
        assert!((e.agree - 1.0).abs() < 1e-9);
    }

    #[test]
    fn a_name_contained_in_the_other_is_mostly_agreement() {
        let e = compare("Kestrel", "Kestrel Consulting", &[("consulting", 900)]);
        assert_eq!(e.query_extra, 0.0);
        assert!(
            e.record_extra < 0.4,
            "a common added word weighs little: {e:?}"
        );
        assert!(!e.replaced);
    }

    #[test]
    fn a_qualifier_naming_the_city_weighs_nothing() {
        let (q, r) = (words("Kestrel (Munich)", &[]), words("Kestrel GmbH", &[]));
        let city = normalize::place("München");
        let sides = Names {
            query: &q,
            record: &r,
            query_city: "",
            record_city: &city,
            n: 10_000.0,
        };
        let e = names(&sides, true, &mut Scratch::default());
        assert!(e.exact, "{e:?}");
        assert_eq!(e.qualifiers, 1);
    }

    #[test]
    fn a_replaced_word_is_told_apart_from_an_added_one() {
        let df = [("networks", 800), ("software", 900), ("filhos", 400)];
        let e = compare(
            "Fonseca e Filhos Networks",
            "Fonseca e Filhos Software",
            &df,
        );
        assert!(e.replaced, "{e:?}");
        assert_eq!(e.query_only, vec!["networks".to_string()]);
    }

    #[test]
    fn rare_words_weigh_more_than_common_ones() {
        let df = [("systems", 2_000)];
        let rare_differs = compare("Falcon Systems", "Harbor Systems", &df);
        let common_differs = compare("Falcon Systems", "Falcon Networks", &df);
        assert!(
            rare_differs.agree < common_differs.agree,
            "{rare_differs:?} {common_differs:?}"
        );
    }

    #[test]
    fn abbreviations_and_compounds_pair() {
        let e = compare("Art's Deli", "Arts Delicatessen", &[]);
        assert_eq!(e.approximate, 1, "{e:?}");
        assert!(e.agree > 0.9);
        let e = compare("Wal-Mart Stores", "Walmart Stores", &[]);
        assert!(e.exact, "{e:?}");
        let e = compare("BMW", "Bayerische Motoren Werke", &[]);
        assert!(e.initials, "{e:?}");
    }

    #[test]
    fn common_shared_words_are_counted() {
        let rare = compare("Kestrel Consulting", "Kestrel Consulting", &[]);
        let common = compare(
            "Global Consulting",
            "Global Consulting",
            &[("global", 3_000), ("consulting", 2_000)],
        );
        assert!(rare.commonness < 0.5, "{rare:?}");
        assert!(common.commonness > rare.commonness + 1.0, "{common:?}");
    }

    #[test]
    fn domains_compare_by_name_and_suffix() {
        assert_eq!(domains(Some("bmw.de"), Some("bmw.de")), DomainMatch::Same);
        assert_eq!(
            domains(Some("bmw.de"), Some("bmw.com")),
            DomainMatch::SameName
        );
        assert_eq!(domains(Some("bmw.de"), Some("vw.de")), DomainMatch::Other);
        assert_eq!(domains(None, Some("vw.de")), DomainMatch::Unknown);
    }
}
