//! The example program checks clean; for every lint code, a broken variant of
//! it triggers that code and nothing else.

use super::economics;
use super::lint::{check, CODES};
use super::parse::parse;
use rust_decimal::Decimal;
use std::collections::BTreeSet;

const EXAMPLE: &str = include_str!("../../../../examples/programs/cloud-reseller.toml");

fn codes(src: &str) -> BTreeSet<&'static str> {
    let p = parse(src).unwrap_or_else(|e| panic!("variant does not parse: {e}"));
    check(&p, src).into_iter().map(|f| f.code).collect()
}

fn variant(replacements: &[(&str, &str)]) -> String {
    let mut s = EXAMPLE.to_string();
    for (from, to) in replacements {
        assert!(s.contains(from), "example no longer contains {from:?}");
        s = s.replacen(from, to, 1);
    }
    s
}

/// Every program in `examples/programs/` (the demo loads them all).
pub(crate) const EXAMPLES: &[(&str, &str)] = &[
    ("cloud-reseller.toml", EXAMPLE),
    (
        "manufacturer-distributor.toml",
        include_str!("../../../../examples/programs/manufacturer-distributor.toml"),
    ),
    (
        "alliance-tierless.toml",
        include_str!("../../../../examples/programs/alliance-tierless.toml"),
    ),
];

#[test]
fn examples_check_clean() {
    for (name, src) in EXAMPLES {
        let p = parse(src).unwrap_or_else(|e| panic!("{name}: {e}"));
        let findings = check(&p, src);
        assert!(findings.is_empty(), "{name}: {findings:#?}");
    }
    let alliance = parse(EXAMPLES[2].1).unwrap();
    assert!(
        alliance.tiers.is_empty() && !alliance.tracks.is_empty(),
        "the alliance program is tier-less"
    );
}

#[test]
fn example_directory_holds_exactly_the_tested_examples() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/programs");
    let mut on_disk: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".toml"))
        .collect();
    on_disk.sort();
    let mut tested: Vec<String> = EXAMPLES.iter().map(|(n, _)| n.to_string()).collect();
    tested.sort();
    assert_eq!(on_disk, tested);
}

#[test]
fn each_code_has_a_variant_that_triggers_only_it() {
    let msp_play = "steps = { develop = \"joint\", market = \"partner\", sell = \"joint\", deliver = \"partner\", support = \"partner\", share = \"joint\" }";
    let reseller_play = "steps = { develop = \"vendor\", market = \"joint\", sell = \"partner\", deliver = \"partner\", support = \"joint\", share = \"joint\" }";
    let cases: Vec<(&str, Vec<(&str, &str)>)> = vec![
        ("gtm-step-not-enabled", vec![("steps = [\"deliver\", \"support\", \"develop\"]", "steps = [\"support\", \"develop\"]")]),
        ("gtm-step-not-motivated", vec![("steps = [\"develop\", \"sell\", \"deliver\", \"support\", \"share\"]", "steps = [\"develop\", \"sell\", \"deliver\", \"support\"]")]),
        ("objective-unmeasurable", vec![("target = 40\nperiod = \"FY2027\"\n", "target = 40\n")]),
        (
            "one-size-fits-all",
            vec![
                (msp_play, reseller_play),
                ("eligibility = { types = [\"reseller\"] }\n", ""),
                ("eligibility = { types = [\"msp\"] }\n", ""),
            ],
        ),
        ("deal-registration-too-complex", vec![("protection_days = 90", "protection_days = 0")]),
        ("enablement-gated-by-tier", vec![("audience = [\"partner-seller\", \"channel-manager\"]\n", "audience = [\"partner-seller\"]\neligibility = { levels = [\"gold\"] }\n")]),
        ("no-feedback-channel", vec![("feedback_channel = \"partner advisory council each quarter and an in-portal survey after every deal\"\n", "")]),
        ("no-review-cadence", vec![("review_cadence = \"quarterly\"\n", "")]),
        ("fulfillment-heavy", vec![("cost = { fixed_per_year = 400000 }", "cost = { fixed_per_year = 4000 }"), ("cost = { fixed_per_year = 120000 }", "cost = { fixed_per_year = 10000 }")]),
        ("negative-partner-economics", vec![("enablement_cost_per_year = 12000", "enablement_cost_per_year = 50000")]),
        ("tier-unreachable", vec![("min = 250000", "min = 5000000")]),
        (
            "overlapping-tiers",
            vec![("qualification = { thresholds = [{ metric = \"revenue\", min = 250000, window_months = 12 }], certifications = [\"technical-certification\"], grace_days = 90 }\n", "")],
        ),
        ("unknown-reference", vec![("benefits = [\"deal-reg-uplift\"]", "benefits = [\"deal-reg-upl1ft\"]")]),
        ("duplicate-id", vec![("id = \"rival-cloud\"", "id = \"reseller\"")]),
        (
            "incentive-bands-out-of-order",
            vec![("{ from = 100000, rate_pct = 2 }, { from = 250000, rate_pct = 4 }", "{ from = 250000, rate_pct = 2 }, { from = 100000, rate_pct = 4 }")],
        ),
        ("incentive-window-empty", vec![("to = \"2027-03-31\"", "to = \"2027-01-31\"")]),
        ("incentive-negative-amount", vec![("per_unit = 50", "per_unit = -50")]),
    ];
    let covered: BTreeSet<&str> = cases.iter().map(|(c, _)| *c).collect();
    assert_eq!(
        covered,
        CODES.iter().copied().collect(),
        "every code has a variant"
    );
    for (code, reps) in cases {
        let src = variant(&reps);
        assert_eq!(codes(&src), BTreeSet::from([code]), "variant for {code}");
    }
}

#[test]
fn findings_point_at_the_item() {
    let src = variant(&[(
        "benefits = [\"deal-reg-uplift\"]",
        "benefits = [\"deal-reg-upl1ft\"]",
    )]);
    let p = parse(&src).unwrap();
    let f = &check(&p, &src)[0];
    let line = src.lines().nth(f.location.line - 1).unwrap();
    assert!(line.contains("deal-reg-upl1ft"), "{line}");
    assert_eq!(
        &line[f.location.column - 1..f.location.column + 15],
        "\"deal-reg-upl1ft"
    );
}

#[test]
fn economics_are_exact() {
    let p = parse(EXAMPLE).unwrap();
    let rows = economics::table(&p);
    let r = &rows[0];
    assert_eq!(
        (r.partner_type.as_str(), r.segment.as_str()),
        ("reseller", "dach-midmarket")
    );
    // 20 % margin + 2 % funds + 5 % uplift on 40,000 = 10,800; cost of sale 20 h × 90 ÷ 0.3 = 6,000.
    assert_eq!(r.ours.earnings_per_deal.total(), Decimal::from(10800));
    assert_eq!(r.ours.cost_of_sale_per_deal, Decimal::from(6000));
    assert_eq!(r.ours.net_per_deal, Decimal::from(4800));
    assert_eq!(r.ours.net_per_year, Decimal::from(4800 * 12 - 5000));
    // Rival: 25 % margin = 10,000; 35 h × 90 ÷ 0.3 = 10,500 → −500 per deal.
    assert_eq!(r.competitors[0].net_per_deal, Decimal::from(-500));
    let msp = &rows[1];
    assert_eq!(
        msp.ours.net_per_year,
        Decimal::from((30000 - 26400) * 4 - 12000)
    );
}

#[test]
fn onboarding_plans_are_checked_and_chosen_by_type() {
    let unknown = variant(&[(
        "[[onboarding]]\npartner_type = \"reseller\"",
        "[[onboarding]]\npartner_type = \"wholesaler\"",
    )]);
    assert_eq!(codes(&unknown), BTreeSet::from(["unknown-reference"]));
    let twice = variant(&[(
        "{ id = \"add-sellers\", name = \"Invite your sellers\"",
        "{ id = \"complete-profile\", name = \"Invite your sellers\"",
    )]);
    assert_eq!(codes(&twice), BTreeSet::from(["duplicate-id"]));
    let p = parse(EXAMPLE).unwrap();
    let ids = |ty: &str| -> Vec<String> {
        p.onboarding_for(ty)
            .iter()
            .map(|t| t.id.get_ref().clone())
            .collect()
    };
    assert_eq!(ids("reseller").len(), 5);
    assert_eq!(
        ids("msp"),
        vec!["accept-agreement", "kickoff", "first-deal"]
    );
    assert_eq!(
        p.onboarding_for("reseller")[0].event,
        super::model::TaskEvent::AgreementAccepted
    );
    assert_eq!(
        p.onboarding_for("msp")[1].event,
        super::model::TaskEvent::Manual
    );
}

#[test]
fn incentive_rules_name_real_elements() {
    let typo = variant(&[(
        "element = \"margin\"\nbasis = \"retroactive\"",
        "element = \"marjin\"\nbasis = \"retroactive\"",
    )]);
    assert_eq!(codes(&typo), BTreeSet::from(["unknown-reference"]));
    let p = parse(EXAMPLE).unwrap();
    assert_eq!(p.incentives.rebates.len(), 2);
    assert_eq!(p.products.len(), 4);
}

/// Each typo in an incentive rule is a finding at the typo (issue 19: a
/// what-if with such typos silently moved a quarter by millions).
#[test]
fn incentive_rule_typos_are_findings_at_their_place() {
    for (from, to, at) in [
        (
            "eligible = { skus = [\"AUR-AI-1\"] }",
            "eligible = { skus = [\"AUR-AI-2\"] }",
            "AUR-AI-2",
        ),
        (
            "families = [\"cloud\", \"ai\"]",
            "families = [\"cloud\", \"a1\"]",
            "a1",
        ),
        (
            "partner_types = [\"reseller\"], families",
            "partner_types = [\"resellers\"], families",
            "resellers",
        ),
        (
            "eligible = { families = [\"cloud\", \"ai\"] }",
            "eligible = { segments = [\"dach-smb\"] }",
            "dach-smb",
        ),
        (
            "eligible = { skus = [\"AUR-AI-1\"] }",
            "eligible = { levels = [\"platinum\"] }",
            "platinum",
        ),
    ] {
        let src = variant(&[(from, to)]);
        let p = parse(&src).unwrap();
        let found = check(&p, &src);
        assert_eq!(found.len(), 1, "{to}: {found:?}");
        let f = &found[0];
        assert_eq!(f.code, "unknown-reference", "{to}");
        assert!(f.message.contains(at), "{to}: {}", f.message);
        let line = src.lines().nth(f.location.line - 1).unwrap();
        assert_eq!(
            &line[f.location.column - 1..f.location.column + at.len()],
            format!("\"{at}"),
            "{to}: points at the name"
        );
    }
    // Two rules with one id, and a negative rate.
    let src = variant(&[
        ("id = \"mdf-accrual\"", "id = \"registered-deals\""),
        ("rate_pct = 3\n", "rate_pct = -3\n"),
    ]);
    let p = parse(&src).unwrap();
    let codes: Vec<&str> = check(&p, &src).iter().map(|f| f.code).collect();
    assert_eq!(codes, ["incentive-negative-amount", "duplicate-id"]);
}
