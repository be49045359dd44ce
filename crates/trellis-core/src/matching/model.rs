//! From evidence to a score: a logistic model over fixed, documented
//! features, fitted on labelled pairs (`trellis bench conflicts-fit`, see
//! docs/matching.md), so that the score reads as the probability that the
//! record is the same company. Every score comes with the reasons that moved
//! it, none of which reveals anything of the record that the query does not
//! already say.

use super::evidence::{DomainMatch, Features};
use super::location::Place;
use super::Reason;

/// The features in the order of [`WEIGHTS`], with what each one is.
pub const FEATURES: [&str; 16] = [
    "bias",
    "agree: weighted share of the words that pair (0-1)",
    "query_extra: share of the query's weight the record lacks",
    "record_extra: share of the record's weight the query lacks",
    "replaced: both names have words the other lacks (0/1)",
    "exact: every word pairs exactly, in any order (0/1)",
    "chars: edit-distance ratio of the names with sorted words",
    "commonness: ln of the records sharing the paired words by chance (0-10)",
    "initials: one name is the initials of the other (0/1)",
    "domain_same (0/1)",
    "domain_same_name: the same name under another suffix (0/1)",
    "domain_other: both known and different (0/1)",
    "city_same (0/1)",
    "city_near: another spelling or a part of the same place (0/1)",
    "city_other: both known and different (0/1)",
    "country_other (0/1)",
];

/// Fitted by `trellis bench conflicts-fit` (the command and its output are
/// in docs/matching.md); do not edit by hand.
pub const WEIGHTS: [f64; 16] = [
    -1.617, 2.713, 2.188, 0.098, -5.905, -0.013, 2.155, -0.852, -1.430, 8.132, -0.991, -3.157,
    0.981, 1.228, -5.284, -6.859,
];

/// The feature vector of [`FEATURES`].
pub fn vector(f: &Features) -> [f64; 16] {
    let b = |x: bool| f64::from(u8::from(x));
    let n = &f.name;
    [
        1.0,
        n.agree,
        n.query_extra,
        n.record_extra,
        b(n.replaced),
        b(n.exact),
        f.chars,
        n.commonness.min(10.0),
        b(n.initials),
        b(f.domain == DomainMatch::Same),
        b(f.domain == DomainMatch::SameName),
        b(f.domain == DomainMatch::Other),
        b(f.city == Place::Same),
        b(f.city == Place::Near),
        b(f.city == Place::Other),
        b(!f.same_country),
    ]
}

/// The probability under `weights`.
pub fn probability_with(weights: &[f64; 16], x: &[f64; 16]) -> f64 {
    let z: f64 = weights.iter().zip(x).map(|(w, x)| w * x).sum();
    1.0 / (1.0 + (-z).exp())
}

/// The score of a candidate: the probability that it is the same company.
pub fn score(f: &Features) -> f64 {
    probability_with(&WEIGHTS, &vector(f))
}

/// Why: the evidence in words, strongest kinds first. `domain` is the
/// query's own registrable domain; `other_country` the record's country,
/// which callers hide from partners.
pub fn reasons(f: &Features, domain: Option<&str>, other_country: &str) -> Vec<Reason> {
    let mut out = Vec::new();
    let n = &f.name;
    match f.domain {
        DomainMatch::Same => out.push(Reason::SameDomain {
            domain: domain.unwrap_or_default().to_string(),
        }),
        DomainMatch::SameName => out.push(Reason::SameDomainName {
            name: domain
                .and_then(|d| d.split('.').next())
                .unwrap_or_default()
                .to_string(),
        }),
        DomainMatch::Other => out.push(Reason::OtherDomain),
        DomainMatch::Unknown => {}
    }
    out.push(Reason::NameSimilar {
        similarity: (n.agree * 100.0).round() / 100.0,
    });
    if n.initials {
        out.push(Reason::Initials);
    }
    if !n.shared.is_empty() {
        out.push(Reason::SharedWords {
            words: n.shared.clone(),
        });
    }
    if n.reordered {
        out.push(Reason::Reordered);
    }
    if n.approximate > 0 {
        out.push(Reason::Approximate {
            words: n.approximate,
        });
    }
    if n.qualifiers > 0 {
        out.push(Reason::Qualifiers);
    }
    if !n.query_only.is_empty() {
        out.push(Reason::QueryOnly {
            words: n.query_only.clone(),
        });
    }
    if n.record_extra > 0.0 {
        out.push(Reason::RecordHasMore);
    }
    if n.commonness >= 2.0 {
        out.push(Reason::CommonWords);
    }
    match f.city {
        Place::Same => out.push(Reason::SameCity),
        Place::Near => out.push(Reason::NearCity),
        Place::Other => out.push(Reason::OtherCity),
        Place::Unknown => {}
    }
    if f.same_country {
        out.push(Reason::SameCountry);
    } else {
        out.push(Reason::OtherCountry {
            country: other_country.to_string(),
        });
    }
    out
}
