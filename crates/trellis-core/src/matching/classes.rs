//! The matcher on each failure class of issue 13, with names of real
//! companies and places (none from the tuning generator), in an index that
//! also holds enough other companies for word frequencies to mean something.

use super::{Candidate, Customer, Index, Kind, Reason};

const BACKGROUND: &[(&str, &str, &str)] = &[
    ("Harbor Systems Inc.", "US", "Boston"),
    ("Summit Systems LLC", "US", "Denver"),
    ("Pioneer Systems Inc.", "US", "Austin"),
    ("Atlas Systems GmbH", "DE", "Hamburg"),
    ("Nordwind Systems GmbH", "DE", "Bremen"),
    ("Vertex Systems AG", "DE", "Köln"),
    ("Orbit Software GmbH", "DE", "Berlin"),
    ("Lumen Software GmbH", "DE", "Leipzig"),
    ("Quarz Software AG", "DE", "Dresden"),
    ("Cobalt Services Ltd", "GB", "Leeds"),
    ("Meridian Services Ltd", "GB", "Bristol"),
    ("Beacon Group plc", "GB", "London"),
    ("Heron Group Ltd", "GB", "York"),
    ("Fonseca e Filhos Software Ltda", "BR", "São Paulo"),
    ("Oliveira e Filhos Networks Ltda", "BR", "Curitiba"),
    ("Pereira e Filhos Ltda", "BR", "Recife"),
    ("Santos e Filhos Software Ltda", "BR", "Salvador"),
    ("Bank Julius Baer & Co. Ltd.", "CH", "Zürich"),
    ("Bank Vontobel AG", "CH", "Zürich"),
    ("Bank Cler AG", "CH", "Basel"),
    ("Kestrel Consulting GmbH", "DE", "München"),
    ("Falcon Systems GmbH", "DE", "Berlin"),
    ("Kestrel Technologies Inc.", "US", "Seattle"),
    ("Art's Delicatessen", "US", "Studio City"),
    ("Arnie Morton's of Chicago", "US", "Los Angeles"),
    ("Bayerische Motoren Werke AG", "DE", "München"),
    ("Granite Falls Energy", "US", "Granite Falls"),
    ("Blue Ribbon Bakery", "US", "New York"),
    ("Apex Consulting GmbH", "DE", "Köln"),
    ("Nova Consulting AG", "DE", "Bonn"),
    ("Borealis Consulting GmbH", "DE", "Kiel"),
    ("Ember Consulting Ltd", "GB", "Leeds"),
    ("Solace Consulting Inc.", "US", "Austin"),
    ("Tamarind Consulting LLC", "US", "Miami"),
];

fn index() -> Index {
    let mut ix = Index::default();
    for (i, (name, country, city)) in BACKGROUND.iter().enumerate() {
        let domain = (*name == "Bayerische Motoren Werke AG").then_some("bmw.de");
        ix.upsert(
            &format!("b{i}"),
            Kind::Account,
            &Customer {
                name,
                domain,
                country,
                city: Some(city),
            },
        );
    }
    ix
}

fn id_of(name: &str) -> String {
    let i = BACKGROUND
        .iter()
        .position(|(n, _, _)| *n == name)
        .expect("a background company");
    format!("b{i}")
}

fn search(ix: &Index, name: &str, country: &str, city: Option<&str>) -> Vec<Candidate> {
    ix.search(
        &Customer {
            name,
            domain: None,
            country,
            city,
        },
        5,
        0.0,
    )
}

/// The best candidate is `record` and scores at least `min`.
fn assert_found(hits: &[Candidate], record: &str, min: f64) {
    assert_eq!(
        hits.first().map(|c| c.id.clone()),
        Some(id_of(record)),
        "{hits:#?}"
    );
    assert!(hits[0].score >= min, "{record}: {hits:#?}");
}

#[test]
fn word_order_does_not_hide_a_company() {
    let ix = index();
    let hits = search(&ix, "Julius Baer Bank", "CH", Some("Zurich"));
    assert_found(&hits, "Bank Julius Baer & Co. Ltd.", 0.8);
    assert!(hits[0].reasons.contains(&Reason::Reordered), "{hits:#?}");
}

#[test]
fn a_name_contained_with_qualifiers_is_the_same_company() {
    let ix = index();
    for query in [
        "Kestrel",
        "Kestrel (Munich)",
        "Kestrel Consulting München",
        "KESTREL CONSULTING - Munich office",
    ] {
        let hits = search(&ix, query, "DE", Some("Munich"));
        assert_found(&hits, "Kestrel Consulting GmbH", 0.8);
    }
    let hits = search(&ix, "Art's", "US", Some("Studio City"));
    assert_found(&hits, "Art's Delicatessen", 0.5);
}

#[test]
fn generic_words_weigh_by_their_frequency_in_the_index() {
    let ix = index();
    // The rare word decides, not the common one.
    let hits = search(&ix, "Falcon Systems (Berlin)", "DE", Some("Berlin"));
    assert_found(&hits, "Falcon Systems GmbH", 0.8);
    assert!(hits.iter().skip(1).all(|c| c.score < 0.2), "{hits:#?}");
    // A business word replaced by another is another company.
    let hits = search(&ix, "Fonseca e Filhos Networks", "BR", Some("São Paulo"));
    assert!(hits.iter().all(|c| c.score < 0.5), "{hits:#?}");
}

#[test]
fn abbreviations_and_initials_are_the_same_words() {
    let ix = index();
    let hits = search(&ix, "Kestrel Tech", "US", Some("Seattle"));
    assert_found(&hits, "Kestrel Technologies Inc.", 0.8);
    let hits = search(&ix, "Art's Deli", "US", Some("Studio City"));
    assert_found(&hits, "Art's Delicatessen", 0.8);
    let hits = ix.search(
        &Customer {
            name: "BMW",
            domain: Some("einkauf@bmw.de"),
            country: "DE",
            city: None,
        },
        5,
        0.0,
    );
    assert_found(&hits, "Bayerische Motoren Werke AG", 0.8);
    assert!(hits[0].reasons.contains(&Reason::Initials), "{hits:#?}");
}

#[test]
fn a_city_written_otherwise_agrees_and_another_city_disagrees() {
    let ix = index();
    let hits = search(&ix, "Arnie Morton's of Chicago", "US", Some("LA"));
    assert_found(&hits, "Arnie Morton's of Chicago", 0.9);
    assert!(hits[0].reasons.contains(&Reason::NearCity), "{hits:#?}");

    let same = search(&ix, "Falcon Systems", "DE", Some("Berlin"));
    let unknown = search(&ix, "Falcon Systems", "DE", None);
    let other = search(&ix, "Falcon Systems", "DE", Some("Stuttgart"));
    assert!(same[0].score > unknown[0].score, "{same:?} {unknown:?}");
    assert!(unknown[0].score > other[0].score, "{unknown:?} {other:?}");
    assert!(
        other[0].score < 0.8,
        "another city is not a conflict by name alone: {other:?}"
    );
    assert!(other[0].reasons.contains(&Reason::OtherCity));
    // A city's name inside a company's name is not a contradiction.
    let hits = search(&ix, "Granite Falls Energy", "US", Some("Granite Falls"));
    assert_found(&hits, "Granite Falls Energy", 0.9);
}

#[test]
fn scores_read_as_probabilities() {
    let ix = index();
    let exact = search(&ix, "Blue Ribbon Bakery", "US", Some("New York"));
    assert!(exact[0].score > 0.95, "{exact:?}");
    let unrelated = search(&ix, "Zanzibar Shipping", "US", Some("New York"));
    assert!(unrelated.iter().all(|c| c.score < 0.05), "{unrelated:?}");
    let abroad = search(&ix, "Blue Ribbon Bakery", "FR", Some("Paris"));
    assert!(abroad.iter().all(|c| c.score < 0.5), "{abroad:?}");
}

#[test]
fn reasons_say_nothing_the_query_does_not_say() {
    let ix = index();
    // The record is "Kestrel Consulting GmbH" in München: none of its own
    // words or its city may appear.
    let hits = search(&ix, "Kestrel", "DE", Some("Hamburg"));
    assert_eq!(hits[0].id, id_of("Kestrel Consulting GmbH"));
    for r in &hits[0].reasons {
        let text = r.to_string().to_lowercase();
        for secret in ["consulting", "munchen", "münchen", "gmbh"] {
            assert!(!text.contains(secret), "{text}");
        }
    }
}
