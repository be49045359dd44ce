//! Synthetic partners for load tests (`trellis seed partners`).

use trellis_core::org::PartnerStatus;
use trellis_server::store::partners::NewPartner;

/// `n` synthetic partners for load tests: deterministic names, types, regions and countries.
pub fn synthetic(n: usize) -> Vec<NewPartner> {
    const TYPES: [&str; 6] = [
        "reseller",
        "msp",
        "integrator",
        "referral",
        "distributor",
        "marketplace",
    ];
    const PLACES: [(&str, &str); 8] = [
        ("dach", "DE"),
        ("dach", "AT"),
        ("nordics", "SE"),
        ("western-europe", "FR"),
        ("north-america", "US"),
        ("north-america", "CA"),
        ("latam", "BR"),
        ("apac", "JP"),
    ];
    const WORDS: [&str; 12] = [
        "Apex", "Blue", "Cedar", "Delta", "Ember", "Falcon", "Granite", "Harbor", "Iris",
        "Juniper", "Keystone", "Lumen",
    ];
    const STATUSES: [PartnerStatus; 5] = [
        PartnerStatus::Active,
        PartnerStatus::Active,
        PartnerStatus::Onboarding,
        PartnerStatus::Prospect,
        PartnerStatus::Suspended,
    ];
    (0..n)
        .map(|i| {
            let (region, country) = PLACES[i % PLACES.len()];
            NewPartner {
                slug: format!("load-{i:07}"),
                name: format!(
                    "{} {} Systems {i}",
                    WORDS[i % WORDS.len()],
                    WORDS[(i / WORDS.len()) % WORDS.len()]
                ),
                partner_type: TYPES[i % TYPES.len()].into(),
                region: region.into(),
                country: country.into(),
                status: STATUSES[i % STATUSES.len()],
                website: None,
                channel_manager_id: None,
            }
        })
        .collect()
}
