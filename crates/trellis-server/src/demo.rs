//! The demo: a fictional vendor (Aurora Analytics), a dozen partners of
//! different types and regions, and users for every role. Loading is
//! idempotent: a database that already has the demo is left alone.

use crate::app::{self, App, AppError, AppResult};
use crate::auth;
use crate::store::partners::{self, NewPartner};
use crate::store::users::NewUser;
use crate::store::Actor;
use trellis_core::access::Principal;
use trellis_core::org::{PartnerStatus, Role};
use trellis_core::program::Checked;

/// The password of every demo user. Printed at start-up; never use it for real data.
pub const DEMO_PASSWORD: &str = "trellis-demo-2027";

/// A demo login to print.
pub struct DemoLogin {
    pub email: String,
    pub role: Role,
    pub organisation: String,
}

struct P {
    slug: &'static str,
    name: &'static str,
    partner_type: &'static str,
    region: &'static str,
    country: &'static str,
    status: PartnerStatus,
    website: &'static str,
    manager: usize,
}

const PARTNERS: &[P] = &[
    P {
        slug: "brightpath-it",
        name: "BrightPath IT GmbH",
        partner_type: "reseller",
        region: "dach",
        country: "DE",
        status: PartnerStatus::Active,
        website: "https://brightpath-it.example",
        manager: 1,
    },
    P {
        slug: "alpine-cloudworks",
        name: "Alpine Cloudworks AG",
        partner_type: "msp",
        region: "dach",
        country: "CH",
        status: PartnerStatus::Active,
        website: "https://alpine-cloudworks.example",
        manager: 1,
    },
    P {
        slug: "nordlys-data",
        name: "Nordlys Data AS",
        partner_type: "integrator",
        region: "nordics",
        country: "NO",
        status: PartnerStatus::Onboarding,
        website: "https://nordlys.example",
        manager: 1,
    },
    P {
        slug: "lumiere-conseil",
        name: "Lumière Conseil SAS",
        partner_type: "integrator",
        region: "western-europe",
        country: "FR",
        status: PartnerStatus::Active,
        website: "https://lumiere-conseil.example",
        manager: 1,
    },
    P {
        slug: "thames-valley-solutions",
        name: "Thames Valley Solutions Ltd",
        partner_type: "reseller",
        region: "uk-ireland",
        country: "GB",
        status: PartnerStatus::Suspended,
        website: "https://tvs.example",
        manager: 1,
    },
    P {
        slug: "great-lakes-systems",
        name: "Great Lakes Systems Inc",
        partner_type: "reseller",
        region: "north-america",
        country: "US",
        status: PartnerStatus::Active,
        website: "https://greatlakes.example",
        manager: 2,
    },
    P {
        slug: "maple-leaf-analytics",
        name: "Maple Leaf Analytics Corp",
        partner_type: "referral",
        region: "north-america",
        country: "CA",
        status: PartnerStatus::Prospect,
        website: "https://mapleleaf.example",
        manager: 2,
    },
    P {
        slug: "andes-digital",
        name: "Andes Digital S.A.",
        partner_type: "distributor",
        region: "latam",
        country: "CL",
        status: PartnerStatus::Active,
        website: "https://andes-digital.example",
        manager: 2,
    },
    P {
        slug: "sao-paulo-tech",
        name: "São Paulo Tech Ltda",
        partner_type: "msp",
        region: "latam",
        country: "BR",
        status: PartnerStatus::Onboarding,
        website: "https://sptech.example",
        manager: 2,
    },
    P {
        slug: "sakura-integration",
        name: "Sakura Integration K.K.",
        partner_type: "integrator",
        region: "apac",
        country: "JP",
        status: PartnerStatus::Active,
        website: "https://sakura-int.example",
        manager: 3,
    },
    P {
        slug: "southern-cross-cloud",
        name: "Southern Cross Cloud Pty Ltd",
        partner_type: "marketplace",
        region: "apac",
        country: "AU",
        status: PartnerStatus::Active,
        website: "https://southerncross.example",
        manager: 3,
    },
    P {
        slug: "lion-city-alliances",
        name: "Lion City Alliances Pte Ltd",
        partner_type: "technology-alliance",
        region: "apac",
        country: "SG",
        status: PartnerStatus::Terminated,
        website: "https://lioncity.example",
        manager: 3,
    },
];

/// The example programs of `examples/programs/`, all published in the demo.
pub const PROGRAMS: &[&str] = &[
    include_str!("../../../examples/programs/cloud-reseller.toml"),
    include_str!("../../../examples/programs/manufacturer-distributor.toml"),
    include_str!("../../../examples/programs/alliance-tierless.toml"),
];

/// Demo enrollments: partner slug, program, partner type, segment, tier or track.
const ENROLLMENTS: &[(&str, &str, &str, &str, Option<&str>)] = &[
    (
        "brightpath-it",
        "aurora-cloud",
        "reseller",
        "dach-midmarket",
        Some("registered"),
    ),
    (
        "thames-valley-solutions",
        "aurora-cloud",
        "reseller",
        "dach-midmarket",
        Some("gold"),
    ),
    (
        "great-lakes-systems",
        "aurora-cloud",
        "msp",
        "na-enterprise",
        Some("gold"),
    ),
    (
        "alpine-cloudworks",
        "northwind-alliance",
        "managed-service-provider",
        "emea-midmarket",
        Some("operate"),
    ),
    (
        "nordlys-data",
        "northwind-alliance",
        "implementation-partner",
        "emea-midmarket",
        Some("deliver"),
    ),
    (
        "lumiere-conseil",
        "northwind-alliance",
        "technology-partner",
        "emea-midmarket",
        Some("build"),
    ),
    (
        "andes-digital",
        "helix-motion-channel",
        "distributor",
        "southern-europe-smb",
        Some("authorized"),
    ),
    (
        "sakura-integration",
        "helix-motion-channel",
        "system-integrator",
        "dach-enterprise",
        Some("preferred"),
    ),
];

/// Publishes the example programs, adds a draft with a change to the first
/// (so history, diff and the incentives what-if have something to show) and
/// enrolls demo partners.
async fn load_programs(app: &App, who: &Principal, actor: &Actor) -> AppResult<()> {
    let invalid = |e: trellis_core::program::ParseError| {
        AppError::internal(format!("a demo program does not parse: {e}"))
    };
    for src in PROGRAMS {
        let checked = Checked::new(src.to_string()).map_err(invalid)?;
        let v = app::programs::save_draft(app, actor, &checked).await?;
        app::programs::publish(app, who, actor, &v.program, v.number).await?;
    }
    let next = PROGRAMS[0]
        .replacen("version = \"2027.1\"", "version = \"2027.2\"", 1)
        .replacen(
            "cost = { fixed_per_year = 400000 }\nvalue = { funds_pct = 2 }",
            "cost = { fixed_per_year = 550000 }\nvalue = { funds_pct = 3 }",
            1,
        )
        // The richer fund accrual the draft's cost is for: the Incentives
        // page's what-if shows what it would pay.
        .replacen(
            "element = \"mdf\"\nrate_pct = 2",
            "element = \"mdf\"\nrate_pct = 3",
            1,
        );
    app::programs::save_draft(app, actor, &Checked::new(next).map_err(invalid)?).await?;
    for (slug, program, ty, segment, level) in ENROLLMENTS {
        let partner = demo_partner(app, slug).await?;
        let body = app::programs::EnrollRequest {
            partner_type: ty.to_string(),
            segment: segment.to_string(),
            level: level.map(str::to_string),
        };
        app::programs::enroll(app, who, actor, &partner, program, &body).await?;
        // Established partners went through onboarding long ago; the one
        // still in formation works through its checklist in the demo.
        if partner.stage != trellis_core::recruit::Stage::Formation {
            let open = app::onboarding::get(app, &partner.id).await?.tasks;
            for t in open.iter().filter(|t| t.done_at.is_none()) {
                app::onboarding::tick(app, who, actor, &partner, &t.task_id, true).await?;
            }
        }
    }
    Ok(())
}

const AGREEMENT: &str = "# Aurora partner agreement\n\n\
This agreement sets out how Aurora Analytics and the partner work together.\n\n\
## 1. Deal registration\n\n\
A registration approved by Aurora is protected for the period the partner program sets. \
Aurora does not sell directly on a protected opportunity.\n\n\
## 2. Payment\n\n\
Margins, rebates and funds are paid **30 days** after the end of the period they are earned in, \
as shown on the partner's statement.\n\n\
## 3. Term\n\n\
One year, renewed unless either side ends it with 90 days' notice.\n";

/// Agreements and two applications waiting for review (one a likely duplicate).
async fn load_recruiting(app: &App, who: &Principal, actor: &Actor) -> AppResult<()> {
    for (partner_type, title, body) in [
        ("*", "Aurora partner agreement", AGREEMENT.to_string()),
        (
            "reseller",
            "Aurora reseller agreement",
            AGREEMENT.replace("# Aurora partner agreement", "# Aurora reseller agreement"),
        ),
    ] {
        let new = app::agreements::NewAgreement {
            partner_type: partner_type.into(),
            title: title.into(),
            body,
        };
        app::agreements::create(app, who, actor, &new).await?;
    }
    let program = trellis_core::program::parse(PROGRAMS[0])
        .map_err(|e| AppError::internal(format!("demo program: {e}")))?;
    let applicants = [
        (
            "Kovalo Cloud GmbH",
            "kovalo-cloud.de",
            "DE",
            "120",
            "cloud-migration, managed-services",
            "Jana Vogel",
            "jana.vogel@kovalo-cloud.de",
        ),
        (
            "BrightPath IT",
            "brightpath-it.de",
            "DE",
            "45",
            "cloud-migration",
            "Tom Becker",
            "tom@brightpath-it.de",
        ),
    ];
    for (company, domain, country, employees, caps, name, email) in applicants {
        let input = trellis_core::recruit::ApplicationInput {
            company: company.into(),
            domain: domain.into(),
            country: country.into(),
            employees: employees.into(),
            partner_type: "reseller".into(),
            capabilities: vec![caps.into()],
            segments: vec!["dach-midmarket".into()],
            contact_name: name.into(),
            contact_email: email.into(),
            ..Default::default()
        };
        // Submitted as the public form would, without its per-address limit.
        let a = trellis_core::recruit::validate(&input, Some(&program))?;
        let fit = trellis_core::recruit::fit(&program, &a);
        let duplicates = app::recruit::duplicates(app, &a).await?;
        app::recruit::submit(
            app,
            crate::store::applications::Submission {
                program: Some("aurora-cloud"),
                application: &a,
                fit: &fit,
                duplicates: &duplicates,
                ip: "192.0.2.10",
            },
        )
        .await?;
    }
    Ok(())
}

const DEMO_SALES: &str = "transaction_id,date,partner,customer_name,customer_domain,customer_country,sku,quantity,unit_price,currency,deal_id,seller
D-1001,2027-01-15,brightpath-it,Müller Maschinenbau GmbH,mueller-mb.de,DE,AUR-CL-500,2,60000,EUR,,anna
D-1002,2027-02-03,brightpath-it,Kovalo Analytics,kovalo.de,DE,AUR-AI-1,10,900,EUR,,anna
D-1003,2027-02-20,brightpath-it,Brintex Systems GmbH,brintex.de,DE,AUR-AI-1,4,900,EUR,,jonas
D-1004,2027-03-20,brightpath-it,Kovalo Analytics,kovalo.de,DE,AUR-CL-100,-1,20000,EUR,,anna
D-1005,2026-02-10,alpine-cloudworks,Helvetia Logistik AG,helvetia-logistik.ch,CH,AUR-CL-100,3,20000,USD,,
D-1006,2027-02-10,alpine-cloudworks,Helvetia Logistik AG,helvetia-logistik.ch,CH,AUR-CL-500,3,40000,USD,,
D-1007,2027-03-02,thames-valley-solutions,Avon Freight Ltd,avonfreight.co.uk,GB,AUR-CL-100,2,18000,GBP,,
";

/// Sales-out lines, FX rates and draft statements for 2027-Q1.
async fn load_sales(app: &App, actor: &Actor) -> AppResult<()> {
    use app::incentives::{calculate, fx, import, UnknownSku};
    fx::import(
        app,
        "demo-fx.csv",
        "from_currency,to_currency,valid_from,rate\nEUR,USD,2026-01-01,1.0850\nGBP,USD,2026-01-01,1.2700\n",
    )
    .await?;
    import::import(
        app,
        actor,
        "demo-sales.csv",
        DEMO_SALES.as_bytes(),
        UnknownSku::Reject,
        &mut |_, _| {},
    )
    .await?;
    calculate::run(app, "2027-Q1", Some("aurora-cloud"), false).await?;
    Ok(())
}

async fn demo_partner(app: &App, slug: &str) -> AppResult<partners::Partner> {
    partners::get_by_slug(&app.db, slug)
        .await?
        .ok_or(AppError::NotFound("demo partner"))
}

/// The vendor's accounts and a few registrations, one of them in conflict.
async fn load_deals(app: &App, actor: &Actor) -> AppResult<()> {
    use trellis_core::accounts::NewAccount;
    use trellis_core::deals::Registration;
    let account =
        |x: &str, name: &str, domain: &str, country: &str, city: &str, house: bool| NewAccount {
            external_id: Some(x.into()),
            name: name.into(),
            domain: Some(domain.into()),
            country: country.into(),
            city: Some(city.into()),
            owner: Some("Key accounts team".into()),
            house,
        };
    app::deals::save_accounts(
        app,
        actor,
        &[
            account(
                "crm-0001",
                "Bayerische Motorenwerke AG",
                "bmw.de",
                "DE",
                "München",
                true,
            ),
            account(
                "crm-0002",
                "Nordic Freight Lines AB",
                "nordicfreight.se",
                "SE",
                "Göteborg",
                false,
            ),
            account(
                "crm-0003",
                "Atlantic Health Partners Inc.",
                "atlantichealth.com",
                "US",
                "Boston",
                false,
            ),
        ],
    )
    .await?;
    let close = (chrono::Utc::now().date_naive() + chrono::Days::new(45))
        .format("%Y-%m-%d")
        .to_string();
    let deal = |name: &str, domain: &str, country: &str, city: &str, amount: &str| Registration {
        customer_name: name.into(),
        customer_domain: Some(domain.into()),
        country: country.into(),
        city: Some(city.into()),
        products: Some("Aurora Cloud Analytics".into()),
        amount: amount.into(),
        currency: "USD".into(),
        expected_close: close.clone(),
        ..Registration::default()
    };
    let mut fields = std::collections::BTreeMap::new();
    fields.insert("use_case".to_string(), "Claims analytics".to_string());
    for (slug, d) in [
        (
            "brightpath-it",
            deal(
                "Müller Maschinenbau GmbH",
                "mueller-mb.de",
                "DE",
                "Stuttgart",
                "48000.00",
            ),
        ),
        (
            "brightpath-it",
            deal(
                "Hamburger Hafenlogistik GmbH",
                "hh-logistik.de",
                "DE",
                "Hamburg",
                "27500.00",
            ),
        ),
        (
            "alpine-cloudworks",
            Registration {
                fields: Some([("use_case".to_string(), "Shop-floor analytics".to_string())].into()),
                ..deal(
                    "Mueller Maschinenbau",
                    "mueller-mb.de",
                    "DE",
                    "Stuttgart",
                    "52000.00",
                )
            },
        ),
        (
            "nordlys-data",
            Registration {
                fields: Some(fields.clone()),
                ..deal(
                    "Fjord Insurance ASA",
                    "fjordinsurance.no",
                    "NO",
                    "Bergen",
                    "61000.00",
                )
            },
        ),
        (
            "great-lakes-systems",
            deal(
                "Atlantic Health Partners",
                "atlantichealth.com",
                "US",
                "Boston",
                "90000.00",
            ),
        ),
    ] {
        let partner = demo_partner(app, slug).await?;
        let filter = crate::store::users::UserFilter {
            limit: Some(5),
            ..Default::default()
        };
        let admin = app::users::list_of_partner(app, &partner, filter)
            .await?
            .0
            .into_iter()
            .find(|u| u.role == Role::PartnerAdmin);
        let Some(admin) = admin else {
            return Err(AppError::internal(format!(
                "demo partner {slug} has no admin"
            )));
        };
        // Registered by the partner's admin, through the same path as the portal.
        let who = Principal {
            user_id: admin.id.clone(),
            role: admin.role,
            partner_id: admin.partner_id.clone(),
        };
        let as_partner = Actor {
            user_id: Some(admin.id.clone()),
            email: admin.email.clone(),
            request_id: None,
        };
        app::deals::register(app, &who, &as_partner, &d).await?;
    }
    Ok(())
}

const VENDOR_USERS: &[(&str, &str, Role)] = &[
    ("admin@aurora.example", "Avery Admin", Role::VendorAdmin),
    (
        "emea.cm@aurora.example",
        "Elena Marchetti",
        Role::ChannelManager,
    ),
    (
        "americas.cm@aurora.example",
        "Marcus Reed",
        Role::ChannelManager,
    ),
    (
        "apac.cm@aurora.example",
        "Priya Raman",
        Role::ChannelManager,
    ),
];

/// Loads the demo unless it is already there; returns the logins either way.
pub async fn load(app: &App) -> AppResult<Vec<DemoLogin>> {
    let mut logins: Vec<DemoLogin> = VENDOR_USERS
        .iter()
        .map(|(email, _, role)| DemoLogin {
            email: email.to_string(),
            role: *role,
            organisation: "Aurora Analytics (vendor)".into(),
        })
        .collect();
    for p in PARTNERS.iter().take(3) {
        logins.push(DemoLogin {
            email: format!("admin@{}.example", p.slug),
            role: Role::PartnerAdmin,
            organisation: p.name.into(),
        });
        logins.push(DemoLogin {
            email: format!("seller@{}.example", p.slug),
            role: Role::PartnerUser,
            organisation: p.name.into(),
        });
    }
    if crate::store::settings::get(&app.db, "demo_loaded")
        .await?
        .is_some()
    {
        return Ok(logins);
    }
    let actor = Actor::system("demo");
    // One hash for every demo user keeps start-up quick; the demo password is public anyway.
    let hash = auth::hash_password(DEMO_PASSWORD.to_string())
        .await
        .map_err(AppError::internal)?;
    let mut vendor_ids = Vec::new();
    for (email, name, role) in VENDOR_USERS {
        let u = app::users::create(
            app,
            &actor,
            NewUser {
                email: email.to_string(),
                name: name.to_string(),
                role: *role,
                partner_id: None,
                password_hash: Some(hash.clone()),
            },
        )
        .await?;
        vendor_ids.push(u.id);
    }
    let new: Vec<NewPartner> = PARTNERS
        .iter()
        .map(|p| NewPartner {
            slug: p.slug.into(),
            name: p.name.into(),
            partner_type: p.partner_type.into(),
            region: p.region.into(),
            country: p.country.into(),
            status: p.status,
            website: Some(p.website.into()),
            channel_manager_id: Some(vendor_ids[p.manager].clone()),
        })
        .collect();
    let created = app::partners::create_many(app, &actor, &new).await?;
    for (p, spec) in created.iter().zip(PARTNERS) {
        let first = spec.name.split_whitespace().next().unwrap_or("Partner");
        app::users::create(
            app,
            &actor,
            NewUser {
                email: format!("admin@{}.example", spec.slug),
                name: format!("{first} Admin"),
                role: Role::PartnerAdmin,
                partner_id: Some(p.id.clone()),
                password_hash: Some(hash.clone()),
            },
        )
        .await?;
        app::users::create(
            app,
            &actor,
            NewUser {
                email: format!("seller@{}.example", spec.slug),
                name: format!("{first} Seller"),
                role: Role::PartnerUser,
                partner_id: Some(p.id.clone()),
                password_hash: Some(hash.clone()),
            },
        )
        .await?;
    }
    // Programs, agreements and applications are the vendor admin's doing.
    let admin = Principal {
        user_id: vendor_ids[0].clone(),
        role: Role::VendorAdmin,
        partner_id: None,
    };
    load_programs(app, &admin, &actor).await?;
    load_deals(app, &actor).await?;
    load_recruiting(app, &admin, &actor).await?;
    load_sales(app, &actor).await?;
    crate::store::settings::set(&app.db, "demo_loaded", &crate::db::now()).await?;
    Ok(logins)
}
