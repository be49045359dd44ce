//! Why a candidate matched, in words an operator reads. No reason names
//! anything of the record that the query does not say itself (its words,
//! city or domain), so that a partner shown the reasons learns nothing of
//! another partner's customer; the record's country is the one exception,
//! and callers generalise it for partners.

use serde::Serialize;

/// One piece of evidence for or against a candidate.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Reason {
    SameDomain {
        domain: String,
    },
    /// The same domain name under another suffix (`acme.de` / `acme.com`).
    SameDomainName {
        name: String,
    },
    OtherDomain,
    /// Weighted share of the words that agree.
    NameSimilar {
        similarity: f64,
    },
    /// The query's words that the record's name has too.
    SharedWords {
        words: Vec<String>,
    },
    Reordered,
    /// Words that pair as abbreviations or with typos.
    Approximate {
        words: usize,
    },
    /// Words naming the place, a branch or a legal form, set aside.
    Qualifiers,
    Initials,
    /// The query's words that the record's name lacks.
    QueryOnly {
        words: Vec<String>,
    },
    RecordHasMore,
    /// The shared words are common among the records.
    CommonWords,
    SameCity,
    /// The same city written differently ("LA" / "Los Angeles").
    NearCity,
    OtherCity,
    SameCountry,
    OtherCountry {
        country: String,
    },
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Reason::SameDomain { domain } => write!(f, "same registrable domain ({domain})"),
            Reason::SameDomainName { name } => {
                write!(f, "same domain name under another suffix ({name})")
            }
            Reason::OtherDomain => f.write_str("different domain"),
            Reason::NameSimilar { similarity } => {
                write!(f, "name {similarity:.2} similar after normalisation")
            }
            Reason::SharedWords { words } => write!(f, "words in common: {}", words.join(", ")),
            Reason::Reordered => f.write_str("the same words in another order"),
            Reason::Approximate { words } => {
                write!(f, "{words} word(s) abbreviated or misspelt")
            }
            Reason::Qualifiers => f.write_str("place, branch or legal-form words set aside"),
            Reason::Initials => f.write_str("one name is the initials of the other"),
            Reason::QueryOnly { words } => {
                write!(f, "not in the other name: {}", words.join(", "))
            }
            Reason::RecordHasMore => f.write_str("the other name has more words"),
            Reason::CommonWords => f.write_str("the words in common are frequent in company names"),
            Reason::SameCity => f.write_str("same city"),
            Reason::NearCity => f.write_str("same city, written differently"),
            Reason::OtherCity => f.write_str("different city"),
            Reason::SameCountry => f.write_str("same country"),
            Reason::OtherCountry { country } => write!(f, "different country ({country})"),
        }
    }
}
