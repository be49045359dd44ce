//! Whether two cities written by different people are the same place: "LA",
//! "Los Angeles" and "West LA" are; "München" and "Munich" are; "Hamburg" and
//! "Berlin" are not. Works on [`super::normalize::place`] output.

use super::similarity::Scratch;

/// How two cities compare.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    /// Written the same (after folding).
    Same,
    /// Another spelling of the same place, or a part of it: initials
    /// ("LA"), a district or qualifier ("West LA", "New York City"), an
    /// abbreviation ("W. Hollywood"), the local name ("München"), a typo.
    Near,
    /// Two different places.
    Other,
    /// One side has no city.
    Unknown,
}

/// English and local names of cities that partners write both ways (folded).
const EXONYMS: &[(&str, &str)] = &[
    ("munich", "munchen"),
    ("cologne", "koln"),
    ("nuremberg", "nurnberg"),
    ("hanover", "hannover"),
    ("vienna", "wien"),
    ("geneva", "geneve"),
    ("basle", "basel"),
    ("berne", "bern"),
    ("milan", "milano"),
    ("rome", "roma"),
    ("turin", "torino"),
    ("florence", "firenze"),
    ("naples", "napoli"),
    ("venice", "venezia"),
    ("genoa", "genova"),
    ("lisbon", "lisboa"),
    ("seville", "sevilla"),
    ("saragossa", "zaragoza"),
    ("copenhagen", "kobenhavn"),
    ("gothenburg", "goteborg"),
    ("prague", "praha"),
    ("warsaw", "warszawa"),
    ("cracow", "krakow"),
    ("brussels", "bruxelles"),
    ("brussels", "brussel"),
    ("antwerp", "antwerpen"),
    ("the hague", "den haag"),
    ("athens", "athina"),
    ("moscow", "moskva"),
    ("bangalore", "bengaluru"),
    ("bombay", "mumbai"),
    ("calcutta", "kolkata"),
    ("madras", "chennai"),
    ("peking", "beijing"),
    ("canton", "guangzhou"),
];

/// Words that qualify a place without naming another one.
const PLACE_QUALIFIERS: &[&str] = &[
    "city", "west", "east", "north", "south", "downtown", "greater", "central", "upper", "lower",
    "new", "am", "an", "der", "de", "del", "la", "le", "sur", "im", "on", "upon", "bad", "st",
    "saint", "sankt", "main", "rhein", "metro", "area",
];

fn exonym(a: &str) -> Option<&'static str> {
    EXONYMS.iter().find_map(|&(en, local)| match a {
        _ if a == en => Some(local),
        _ if a == local => Some(en),
        _ => None,
    })
}

/// Two single words naming the same place: equal, one the other's
/// abbreviation ("w" for "west", "ffm"), exonyms, or one typo apart.
fn words_agree(a: &str, b: &str, scratch: &mut Scratch) -> bool {
    if a == b || exonym(a) == Some(b) {
        return true;
    }
    let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    if long.starts_with(short) && (short.len() <= 2 || short.len() >= 4) {
        return true;
    }
    short.len() >= 5 && scratch.distance(a, b) <= 1
}

/// Initials of a multi-word place ("los angeles" → "la", "new york city" →
/// "nyc").
fn initials(words: &[&str]) -> String {
    words.iter().filter_map(|w| w.chars().next()).collect()
}

/// Compares two cities (each already [`super::normalize::place`]d).
pub fn compare(a: &str, b: &str, scratch: &mut Scratch) -> Place {
    if a.is_empty() || b.is_empty() {
        return Place::Unknown;
    }
    if a == b {
        return Place::Same;
    }
    if exonym(a) == Some(b) {
        return Place::Near;
    }
    let wa: Vec<&str> = a.split(' ').collect();
    let wb: Vec<&str> = b.split(' ').collect();
    // Initials of one written as the other ("LA", "NYC" for New York
    // City or New York), possibly within a qualifier ("West LA").
    let abbreviates = |words: &[&str], other: &[&str]| {
        let i = initials(words);
        words.len() >= 2 && other.iter().any(|o| *o == i || *o == format!("{i}c"))
    };
    if abbreviates(&wa, &wb) || abbreviates(&wb, &wa) {
        return Place::Near;
    }
    // Every distinctive word of the shorter has a counterpart in the longer;
    // the rest are qualifiers ("New York City", "Frankfurt am Main", "W.
    // Hollywood").
    let (short, long) = if wa.len() <= wb.len() {
        (&wa, &wb)
    } else {
        (&wb, &wa)
    };
    let distinctive: Vec<&&str> = short
        .iter()
        .filter(|w| !PLACE_QUALIFIERS.contains(w))
        .collect();
    let covered = |w: &str, scratch: &mut Scratch| long.iter().any(|l| words_agree(w, l, scratch));
    if !distinctive.is_empty() && distinctive.iter().all(|w| covered(w, scratch)) {
        return Place::Near;
    }
    if distinctive.is_empty() && short.iter().all(|w| covered(w, scratch)) {
        return Place::Near;
    }
    // One typo in a long name.
    let longest = a.chars().count().max(b.chars().count());
    if longest >= 6 && scratch.distance(a, b) <= 1 + usize::from(longest >= 12) {
        return Place::Near;
    }
    Place::Other
}

/// Whether a word of a company name names the place (`city`, already
/// [`super::normalize::place`]d): "Kestrel (Munich)" in München.
pub fn names_place(word: &str, city: &str, scratch: &mut Scratch) -> bool {
    if city.is_empty() || word.len() < 2 {
        return false;
    }
    let words: Vec<&str> = city.split(' ').collect();
    words.iter().any(|w| {
        !PLACE_QUALIFIERS.contains(w)
            && (*w == word || exonym(w) == Some(word) || {
                word.len() >= 5 && scratch.distance(w, word) <= 1
            })
    }) || (words.len() >= 2 && initials(&words) == word)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matching::normalize::place;

    fn cmp(a: &str, b: &str) -> Place {
        compare(&place(a), &place(b), &mut Scratch::default())
    }

    #[test]
    fn spellings_of_one_place_are_near() {
        for (a, b) in [
            ("LA", "Los Angeles"),
            ("West LA", "Los Angeles"),
            ("New York City", "New York"),
            ("NYC", "New York"),
            ("W. Hollywood", "West Hollywood"),
            ("Munich", "München"),
            ("Frankfurt am Main", "Frankfurt"),
            ("Duesseldorf", "Düsseldorf"),
            ("Gothenburg", "Göteborg"),
            ("Rueil Malmaison", "Rueil-Malmaison"),
        ] {
            assert!(
                matches!(cmp(a, b), Place::Near | Place::Same),
                "{a} / {b}: {:?}",
                cmp(a, b)
            );
        }
    }

    #[test]
    fn different_places_are_other() {
        for (a, b) in [
            ("Hamburg", "Berlin"),
            ("Boston", "New York"),
            ("Santa Monica", "Sherman Oaks"),
            ("San Jose", "San Francisco"),
            ("Santa Clara", "Santa Monica"),
            ("Newcastle", "New York"),
        ] {
            assert_eq!(cmp(a, b), Place::Other, "{a} / {b}");
        }
    }

    #[test]
    fn a_missing_city_is_unknown_and_case_does_not_matter() {
        assert_eq!(cmp("", "Berlin"), Place::Unknown);
        assert_eq!(cmp("BERLIN", "berlin"), Place::Same);
    }

    #[test]
    fn words_of_a_name_that_name_the_place() {
        let names = |w: &str, c: &str| names_place(w, &place(c), &mut Scratch::default());
        assert!(names("munich", "München"));
        assert!(names("berlin", "Berlin"));
        assert!(names("la", "Los Angeles"));
        assert!(!names("consulting", "Berlin"));
        assert!(!names("new", "New York"));
    }
}
