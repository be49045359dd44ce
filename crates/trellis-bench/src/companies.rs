//! A seeded generator of realistic company records and noisy duplicates, for
//! the conflict benchmark and the matcher's quality tests.
//!
//! Records: many countries with their cities, TLDs and legal forms; brand
//! words, surnames and common industry words; subsidiaries (the same brand in
//! another country) and the same name in different countries. Queries:
//! duplicates of records with typos, dropped or swapped legal forms,
//! abbreviations, case and accent changes, domain variants and missing
//! cities, plus companies that are not in the records at all.

use trellis_core::matching::{normalize, Customer};

pub use crate::rng::Rng;

struct Country {
    code: &'static str,
    tld: &'static str,
    cities: &'static [&'static str],
    forms: &'static [&'static str],
}

const COUNTRIES: &[Country] = &[
    Country {
        code: "DE",
        tld: "de",
        cities: &[
            "Berlin",
            "Hamburg",
            "München",
            "Köln",
            "Frankfurt",
            "Stuttgart",
            "Düsseldorf",
            "Leipzig",
        ],
        forms: &["GmbH", "AG", "GmbH & Co. KG", "KG", "G.m.b.H."],
    },
    Country {
        code: "US",
        tld: "com",
        cities: &[
            "New York", "Austin", "Chicago", "Seattle", "Boston", "Denver", "Atlanta", "San Jose",
        ],
        forms: &["Inc.", "LLC", "Corp.", "Inc", "Corporation"],
    },
    Country {
        code: "GB",
        tld: "co.uk",
        cities: &[
            "London",
            "Manchester",
            "Leeds",
            "Bristol",
            "Edinburgh",
            "Glasgow",
            "Cambridge",
        ],
        forms: &["Ltd", "Limited", "PLC", "LLP", "Ltd."],
    },
    Country {
        code: "FR",
        tld: "fr",
        cities: &[
            "Paris",
            "Lyon",
            "Marseille",
            "Toulouse",
            "Nantes",
            "Lille",
            "Bordeaux",
        ],
        forms: &["SAS", "SA", "SARL", "S.A.S.", "S.A."],
    },
    Country {
        code: "NL",
        tld: "nl",
        cities: &["Amsterdam", "Rotterdam", "Utrecht", "Eindhoven", "Den Haag"],
        forms: &["B.V.", "N.V.", "BV"],
    },
    Country {
        code: "SE",
        tld: "se",
        cities: &["Stockholm", "Göteborg", "Malmö", "Uppsala"],
        forms: &["AB", "AB (publ)"],
    },
    Country {
        code: "NO",
        tld: "no",
        cities: &["Oslo", "Bergen", "Trondheim", "Stavanger"],
        forms: &["AS", "ASA"],
    },
    Country {
        code: "DK",
        tld: "dk",
        cities: &["København", "Aarhus", "Odense"],
        forms: &["A/S", "ApS"],
    },
    Country {
        code: "FI",
        tld: "fi",
        cities: &["Helsinki", "Espoo", "Tampere", "Turku"],
        forms: &["Oy", "Oyj"],
    },
    Country {
        code: "IT",
        tld: "it",
        cities: &["Milano", "Roma", "Torino", "Bologna", "Napoli"],
        forms: &["S.p.A.", "S.r.l.", "SpA", "Srl"],
    },
    Country {
        code: "ES",
        tld: "es",
        cities: &["Madrid", "Barcelona", "Valencia", "Sevilla", "Bilbao"],
        forms: &["S.L.", "S.A.", "SL"],
    },
    Country {
        code: "CH",
        tld: "ch",
        cities: &["Zürich", "Genève", "Basel", "Bern", "Lausanne"],
        forms: &["AG", "GmbH", "SA", "Sàrl"],
    },
    Country {
        code: "AT",
        tld: "at",
        cities: &["Wien", "Graz", "Linz", "Salzburg"],
        forms: &["GmbH", "AG"],
    },
    Country {
        code: "AU",
        tld: "com.au",
        cities: &["Sydney", "Melbourne", "Brisbane", "Perth", "Adelaide"],
        forms: &["Pty Ltd", "Pty. Ltd.", "Limited"],
    },
    Country {
        code: "JP",
        tld: "co.jp",
        cities: &["Tokyo", "Osaka", "Nagoya", "Fukuoka", "Yokohama"],
        forms: &["K.K.", "Co., Ltd.", "KK"],
    },
    Country {
        code: "BR",
        tld: "com.br",
        cities: &["São Paulo", "Rio de Janeiro", "Curitiba", "Belo Horizonte"],
        forms: &["Ltda", "S.A.", "Ltda."],
    },
    Country {
        code: "CA",
        tld: "ca",
        cities: &["Toronto", "Montréal", "Vancouver", "Calgary", "Ottawa"],
        forms: &["Inc.", "Ltd.", "Corp."],
    },
    Country {
        code: "IN",
        tld: "co.in",
        cities: &["Bengaluru", "Mumbai", "Pune", "Hyderabad", "Chennai"],
        forms: &["Pvt. Ltd.", "Private Limited", "Ltd"],
    },
    Country {
        code: "PL",
        tld: "pl",
        cities: &["Warszawa", "Kraków", "Wrocław", "Gdańsk"],
        forms: &["Sp. z o.o.", "S.A."],
    },
    Country {
        code: "SG",
        tld: "com.sg",
        cities: &["Singapore"],
        forms: &["Pte Ltd", "Pte. Ltd."],
    },
];

const ONSETS: &[&str] = &[
    "b", "br", "c", "ch", "d", "dr", "f", "g", "gr", "h", "j", "k", "kl", "l", "m", "n", "p", "pr",
    "qu", "r", "s", "st", "t", "tr", "v", "w", "z", "sk", "fl", "pl",
];
const VOWELS: &[&str] = &["a", "e", "i", "o", "u", "ai", "ea", "io", "y", "ou"];
const CODAS: &[&str] = &[
    "", "", "", "n", "r", "x", "s", "l", "m", "t", "nd", "rk", "ck",
];
const SURNAMES: &[&str] = &[
    "Müller",
    "Schmidt",
    "Schneider",
    "Fischer",
    "Weber",
    "Rossi",
    "Russo",
    "Bianchi",
    "Dubois",
    "Lefèvre",
    "Moreau",
    "Johansson",
    "Andersson",
    "Nilsson",
    "Tanaka",
    "Suzuki",
    "Watanabe",
    "Silva",
    "Santos",
    "Oliveira",
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "García",
    "Martínez",
    "López",
    "Nowak",
    "Kowalski",
    "Wiśniewski",
    "Jensen",
    "Nielsen",
    "Hansen",
    "Virtanen",
    "Korhonen",
    "Novak",
    "O'Brien",
    "Murphy",
    "Patel",
    "Sharma",
    "Tan",
    "Lim",
    "Van Dijk",
    "De Vries",
    "Bakker",
    "Gruber",
    "Huber",
    "Bauer",
];
const COMMON: &[&str] = &[
    "Systems",
    "Solutions",
    "Data",
    "Analytics",
    "Software",
    "Consulting",
    "Logistics",
    "Digital",
    "Technologies",
    "Networks",
    "Cloud",
    "Engineering",
    "Services",
    "Group",
    "International",
    "Partners",
    "Holdings",
    "Labs",
    "Security",
    "Energy",
    "Media",
    "Capital",
    "Health",
    "Industries",
    "Global",
    "Trading",
    "Automation",
    "Robotics",
    "Foods",
    "Pharma",
    "Finance",
    "Marine",
    "Motors",
    "Retail",
    "Design",
];
const REGION_WORDS: &[&str] = &[
    "Nordic",
    "Deutschland",
    "UK",
    "Iberia",
    "Benelux",
    "Americas",
    "Asia Pacific",
    "France",
    "Italia",
    "Japan",
    "Brasil",
    "Polska",
];
const ABBREVIATIONS: &[(&str, &str)] = &[
    ("International", "Intl"),
    ("Technologies", "Tech"),
    ("Services", "Svcs"),
    ("Systems", "Sys"),
    ("Group", "Grp"),
    ("Holdings", "Hldgs"),
    ("Industries", "Inds"),
    ("Engineering", "Eng."),
    ("Consulting", "Cons."),
];

/// Local and English names of the generator's cities.
const EXONYMS: &[(&str, &str)] = &[
    ("München", "Munich"),
    ("Köln", "Cologne"),
    ("Milano", "Milan"),
    ("Roma", "Rome"),
    ("Torino", "Turin"),
    ("Napoli", "Naples"),
    ("København", "Copenhagen"),
    ("Göteborg", "Gothenburg"),
    ("Warszawa", "Warsaw"),
    ("Genève", "Geneva"),
    ("Wien", "Vienna"),
    ("Sevilla", "Seville"),
];

/// A name without its legal form, and the form.
fn split_form<'a>(name: &'a str, country: &Country) -> (&'a str, Option<&'static str>) {
    for f in country.forms {
        if let Some(base) = name.strip_suffix(f) {
            let base = base.trim_end();
            if !base.is_empty() {
                return (base, Some(f));
            }
        }
    }
    (name, None)
}

fn join_form(base: &str, form: Option<&str>) -> String {
    match form {
        Some(f) => format!("{base} {f}"),
        None => base.to_string(),
    }
}

/// A company not in the records whose name is close to a record's: one
/// business word replaced by another, or one brand word by another
/// ("Fonseca Networks" / "Fonseca Software"). `None` when the record's name
/// has one word only.
fn near_name(rng: &mut Rng, r: &Company) -> Option<Company> {
    let country = COUNTRIES.iter().find(|k| k.code == r.country)?;
    let (base, form) = split_form(&r.name, country);
    let mut words: Vec<String> = base.split(' ').map(str::to_string).collect();
    if words.len() < 2 {
        return None;
    }
    let common: Vec<usize> = (0..words.len())
        .filter(|&i| COMMON.contains(&words[i].as_str()))
        .collect();
    if !common.is_empty() && rng.chance(0.7) {
        let i = rng.pick(&common);
        let other = loop {
            let w = rng.pick(COMMON);
            if w != words[i] {
                break w;
            }
        };
        words[i] = other.to_string();
    } else {
        // A word of the name proper, not "&" or "De".
        let proper: Vec<usize> = (0..words.len())
            .filter(|&i| words[i].chars().count() >= 3 && words[i].chars().all(char::is_alphabetic))
            .collect();
        if proper.is_empty() {
            return None;
        }
        let i = rng.pick(&proper);
        words[i] = brand(rng);
    }
    Some(Company {
        id: String::new(),
        name: join_form(&words.join(" "), form),
        domain: None,
        country: r.country,
        city: r.city.clone(),
    })
}

/// One generated company record.
#[derive(Debug, Clone, PartialEq)]
pub struct Company {
    pub id: String,
    pub name: String,
    pub domain: Option<String>,
    pub country: &'static str,
    pub city: Option<String>,
}

impl Company {
    pub fn customer(&self) -> Customer<'_> {
        Customer {
            name: &self.name,
            domain: self.domain.as_deref(),
            country: self.country,
            city: self.city.as_deref(),
        }
    }
}

/// A query and the record it duplicates (`None`: a company not in the records).
#[derive(Debug, Clone)]
pub struct Query {
    pub company: Company,
    pub truth: Option<String>,
}

fn brand(rng: &mut Rng) -> String {
    let syllables = 2 + rng.below(2);
    let mut w = String::new();
    for i in 0..syllables {
        w.push_str(rng.pick(ONSETS));
        w.push_str(rng.pick(VOWELS));
        if i + 1 == syllables || rng.chance(0.2) {
            w.push_str(rng.pick(CODAS));
        }
    }
    let mut c = w.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => w,
    }
}

fn base_name(rng: &mut Rng) -> (String, String) {
    // (name without legal form, domain stem)
    let b = brand(rng);
    let roll = rng.below(100);
    let name = if roll < 40 {
        let mut n = format!("{b} {}", rng.pick(COMMON));
        if rng.chance(0.25) {
            n.push(' ');
            n.push_str(rng.pick(COMMON));
        }
        n
    } else if roll < 58 {
        format!("{b} {}", brand(rng))
    } else if roll < 72 {
        let s = rng.pick(SURNAMES);
        if rng.chance(0.2) {
            format!("{s} & {}", rng.pick(SURNAMES))
        } else {
            format!("{s} {b} {}", rng.pick(COMMON))
        }
    } else if roll < 85 {
        b.clone()
    } else if roll < 98 {
        format!("{} {b}", rng.pick(COMMON))
    } else {
        format!(
            "{} {} {}",
            rng.pick(COMMON),
            rng.pick(COMMON),
            rng.pick(COMMON)
        )
    };
    let stem: String = name
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == ' ')
        .collect::<String>()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join("-")
        .to_ascii_lowercase();
    (name, stem)
}

fn company(rng: &mut Rng, id: String, name: &str, stem: &str, c: &'static Country) -> Company {
    let with_form = if rng.chance(0.9) {
        format!("{name} {}", rng.pick(c.forms))
    } else {
        name.to_string()
    };
    Company {
        id,
        name: with_form,
        domain: (rng.chance(0.75) && !stem.is_empty()).then(|| format!("{stem}.{}", c.tld)),
        country: c.code,
        city: rng.chance(0.9).then(|| rng.pick(c.cities).to_string()),
    }
}

/// `n` company records, deterministic for a seed. About one in ten has a
/// subsidiary in another country, and one in twenty the very same name abroad.
pub fn companies(n: usize, seed: u64) -> Vec<Company> {
    let mut rng = Rng::new(seed);
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        let (name, stem) = base_name(&mut rng);
        let home = &COUNTRIES[rng.below(COUNTRIES.len())];
        out.push(company(
            &mut rng,
            format!("c{}", out.len()),
            &name,
            &stem,
            home,
        ));
        // Another country than home, for subsidiaries and namesakes.
        let abroad = |rng: &mut Rng| loop {
            let c = &COUNTRIES[rng.below(COUNTRIES.len())];
            if c.code != home.code {
                break c;
            }
        };
        if out.len() < n && rng.chance(0.1) {
            let abroad = abroad(&mut rng);
            let sub = format!("{name} {}", rng.pick(REGION_WORDS));
            out.push(company(
                &mut rng,
                format!("c{}", out.len()),
                &sub,
                &stem,
                abroad,
            ));
        }
        if out.len() < n && rng.chance(0.05) {
            let abroad = abroad(&mut rng);
            out.push(company(
                &mut rng,
                format!("c{}", out.len()),
                &name,
                &stem,
                abroad,
            ));
        }
    }
    out
}

fn typo(rng: &mut Rng, word: &str) -> String {
    let mut chars: Vec<char> = word.chars().collect();
    if chars.len() < 4 {
        return word.to_string();
    }
    let i = 1 + rng.below(chars.len() - 2);
    match rng.below(4) {
        0 => {
            chars.remove(i);
        }
        1 => chars.insert(i, (b'a' + rng.below(26) as u8) as char),
        2 => chars[i] = (b'a' + rng.below(26) as u8) as char,
        _ => chars.swap(i, i + 1),
    }
    chars.into_iter().collect()
}

fn strip_accents(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            'ä' | 'à' | 'á' | 'â' | 'ã' => 'a',
            'ö' | 'ó' | 'ò' | 'ô' => 'o',
            'ü' | 'ú' | 'ù' => 'u',
            'é' | 'è' | 'ê' => 'e',
            'í' | 'ì' => 'i',
            'ś' => 's',
            'ç' => 'c',
            other => other,
        })
        .collect()
}

/// A noisy duplicate of `c`: one to three of the distortions partners make.
pub fn distort(rng: &mut Rng, c: &Company) -> Company {
    let country = COUNTRIES
        .iter()
        .find(|k| k.code == c.country)
        .unwrap_or(&COUNTRIES[0]);
    let mut name = c.name.clone();
    let mut domain = c.domain.clone();
    let mut city = c.city.clone();
    for _ in 0..1 + rng.below(3) {
        match rng.below(16) {
            0 | 1 => {
                // A typo in a word of four letters or more.
                let words: Vec<&str> = name.split(' ').collect();
                let long: Vec<usize> = (0..words.len())
                    .filter(|&i| words[i].chars().count() >= 4)
                    .collect();
                if !long.is_empty() {
                    let i = rng.pick(&long);
                    let mut w: Vec<String> = words.iter().map(|s| s.to_string()).collect();
                    w[i] = typo(rng, &w[i]);
                    name = w.join(" ");
                }
            }
            2 => {
                // Drop or swap the legal form.
                if let Some(f) = country.forms.iter().find(|f| name.ends_with(*f)) {
                    name = name[..name.len() - f.len()].trim_end().to_string();
                    if rng.chance(0.5) {
                        name = format!("{name} {}", rng.pick(country.forms));
                    }
                }
            }
            3 => {
                for (long, short) in ABBREVIATIONS {
                    if name.contains(long) {
                        name = name.replacen(long, short, 1);
                        break;
                    }
                }
                name = if name.contains(" & ") {
                    name.replacen(" & ", " and ", 1)
                } else {
                    name
                };
            }
            4 => {
                name = if rng.chance(0.5) {
                    name.to_uppercase()
                } else {
                    name.to_lowercase()
                };
            }
            5 => {
                name = if rng.chance(0.5) {
                    strip_accents(&name)
                } else {
                    name.replace('ü', "ue")
                        .replace('ö', "oe")
                        .replace('ä', "ae")
                }
            }
            6 if domain.as_deref().is_some_and(|d| !d.contains(['/', '@'])) => {
                domain = domain.map(|d| match rng.below(4) {
                    0 => format!("https://www.{d}/"),
                    1 => format!("sales@{d}"),
                    2 => format!("www.{d}"),
                    _ => format!("http://shop.{d}/contact"),
                });
            }
            6 => {}
            7 => domain = None,
            8 => city = None,
            9 => {
                // Two neighbouring words of the name swapped ("Bank Julius
                // Baer" / "Julius Baer Bank").
                let (base, form) = split_form(&name, country);
                let mut words: Vec<&str> = base.split(' ').collect();
                if words.len() >= 2 {
                    let i = rng.below(words.len() - 1);
                    words.swap(i, i + 1);
                    name = join_form(&words.join(" "), form);
                }
            }
            10 => {
                // A qualifier: the city or an office.
                let place = city
                    .clone()
                    .unwrap_or_else(|| rng.pick(country.cities).to_string());
                name = match rng.below(4) {
                    0 => format!("{name} ({place})"),
                    1 => format!("{name} - {place}"),
                    2 => format!("{name} {place} Office"),
                    _ => format!("{name} HQ"),
                };
            }
            11 => {
                // A business word dropped, or one added ("Kestrel" /
                // "Kestrel Consulting").
                let (base, form) = split_form(&name, country);
                let words: Vec<&str> = base.split(' ').collect();
                let common: Vec<usize> = (0..words.len())
                    .filter(|&i| COMMON.contains(&words[i]))
                    .collect();
                name = if words.len() >= 2 && !common.is_empty() {
                    let drop = rng.pick(&common);
                    let kept: Vec<&str> = (0..words.len())
                        .filter(|&i| i != drop)
                        .map(|i| words[i])
                        .collect();
                    join_form(&kept.join(" "), form)
                } else {
                    join_form(&format!("{base} {}", rng.pick(COMMON)), form)
                };
            }
            12 => {
                // The initials ("BMW"), now and then, and with the domain:
                // alone they are anyone's.
                let (base, _) = split_form(&name, country);
                let words: Vec<&str> = base.split(' ').collect();
                if (2..=4).contains(&words.len()) && c.domain.is_some() && rng.chance(0.4) {
                    domain = c.domain.clone();
                    name = words
                        .iter()
                        .filter_map(|w| w.chars().next())
                        .flat_map(char::to_uppercase)
                        .collect();
                }
            }
            13 => {
                // The city written otherwise: initials, English, a district.
                city = city.map(|c| {
                    let words: Vec<&str> = c.split(' ').collect();
                    if let Some(&(_, en)) = EXONYMS.iter().find(|(local, _)| *local == c) {
                        en.to_string()
                    } else if words.len() >= 2 {
                        words.iter().filter_map(|w| w.chars().next()).collect()
                    } else if rng.chance(0.5) {
                        format!("{c} City")
                    } else {
                        format!(
                            "{c}-{}",
                            rng.pick(&["Nord", "Süd", "West", "Ost", "Centre"])
                        )
                    }
                });
            }
            14 => {
                // Now and then another trading name, with the company's
                // domain (a contact's e-mail address).
                if let (Some(d), true) = (&c.domain, rng.chance(0.3)) {
                    let (base, _) = split_form(&c.name, country);
                    let initials: String = base
                        .split(' ')
                        .filter_map(|w| w.chars().next())
                        .flat_map(char::to_uppercase)
                        .collect();
                    name = format!("{initials} {}", rng.pick(COMMON));
                    domain = Some(format!("contact@{d}"));
                }
            }
            _ => {
                // Rarely, an office of the company in another city.
                if rng.chance(0.3) {
                    city = Some(rng.pick(country.cities).to_string());
                }
            }
        }
    }
    Company {
        id: format!("q-{}", c.id),
        name,
        domain,
        country: c.country,
        city,
    }
}

/// `q` queries against `records`: `dup_share` of them noisy duplicates of a
/// record, the rest new companies (whose normalised name does not occur in
/// the records of their country, so that "new" is true).
///
/// The new companies: 40 % fresh names, 30 % names close to a record's
/// ([`near_name`]), 20 % a record's very name in another city of its country
/// (another company), 10 % a record's name in another country.
pub fn queries(records: &[Company], q: usize, dup_share: f64, seed: u64) -> Vec<Query> {
    let mut rng = Rng::new(seed ^ 0x5eed);
    let key = |c: &Company| (c.country, normalize::name(&c.name).key);
    let candidates = companies(2 * q + 16, seed.wrapping_mul(31).wrapping_add(7));
    let mut near = Vec::new();
    let mut abroad = Vec::new();
    for _ in 0..q + 16 {
        let r = &records[rng.below(records.len())];
        if let Some(c) = near_name(&mut rng, r) {
            near.push(c);
        }
        let other = &COUNTRIES[rng.below(COUNTRIES.len())];
        if other.code != r.country {
            abroad.push(Company {
                id: String::new(),
                name: r.name.clone(),
                domain: None,
                country: other.code,
                city: rng.chance(0.8).then(|| rng.pick(other.cities).to_string()),
            });
        }
    }
    let wanted: std::collections::HashSet<_> = candidates
        .iter()
        .chain(&near)
        .chain(&abroad)
        .map(key)
        .collect();
    let taken: std::collections::HashSet<_> = records
        .iter()
        .filter_map(|r| {
            let k = key(r);
            wanted.contains(&k).then_some(k)
        })
        .collect();
    let mut fresh = candidates.into_iter().filter(|c| !taken.contains(&key(c)));
    let mut near = near.into_iter().filter(|c| !taken.contains(&key(c)));
    let mut abroad = abroad.into_iter().filter(|c| !taken.contains(&key(c)));
    (0..q)
        .map(|i| {
            if rng.chance(dup_share) {
                let r = &records[rng.below(records.len())];
                return Query {
                    company: distort(&mut rng, r),
                    truth: Some(r.id.clone()),
                };
            }
            let roll = rng.below(10);
            let c = match roll {
                4..=6 => near.next(),
                7 | 8 => other_city(&mut rng, records),
                9 => abroad.next(),
                _ => None,
            };
            let mut c =
                c.unwrap_or_else(|| fresh.next().expect("as many fresh companies as queries"));
            c.id = format!("new-{i}");
            Query {
                company: c,
                truth: None,
            }
        })
        .collect()
}

/// A record's very name in another city of its country: another company.
fn other_city(rng: &mut Rng, records: &[Company]) -> Option<Company> {
    for _ in 0..20 {
        let r = &records[rng.below(records.len())];
        let country = COUNTRIES.iter().find(|k| k.code == r.country)?;
        let Some(city) = &r.city else { continue };
        if country.cities.len() < 2 {
            continue;
        }
        let other = loop {
            let c = rng.pick(country.cities);
            if c != city {
                break c;
            }
        };
        return Some(Company {
            id: String::new(),
            name: r.name.clone(),
            domain: None,
            country: r.country,
            city: Some(other.to_string()),
        });
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generation_is_deterministic_and_varied() {
        let a = companies(2_000, 42);
        assert_eq!(a, companies(2_000, 42));
        assert_ne!(a, companies(2_000, 43));
        let countries: std::collections::BTreeSet<_> = a.iter().map(|c| c.country).collect();
        assert!(countries.len() >= 15);
        let names: std::collections::BTreeSet<_> = a.iter().map(|c| c.name.as_str()).collect();
        assert!(names.len() > 1_900, "few exact repeats");
        assert!(a.iter().filter(|c| c.domain.is_none()).count() > 200);
    }
}
