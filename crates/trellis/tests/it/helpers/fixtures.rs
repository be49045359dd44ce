//! The data tests start from, each built by a small named function through
//! the application layer (the way the product itself writes it).

use super::{operator, Backend, TestApp};
use trellis_core::deals::{Action, Registration, Side};
use trellis_core::org::PartnerStatus;
use trellis_core::org::Role;
use trellis_core::program::Checked;
use trellis_server::app::incentives::{import, ImportSummary, UnknownSku};
use trellis_server::app::{self, App};
use trellis_server::store::deals::Deal;
use trellis_server::store::partners::{NewPartner, Partner};
use trellis_server::store::programs::VersionMeta;
use trellis_server::store::Actor;

/// The cloud reseller example: tiers, a catalogue, rebates, a SPIF, fund accruals.
pub const CLOUD: &str = include_str!("../../../../../examples/programs/cloud-reseller.toml");

/// The header of a sales-out file.
pub const SALES_HEADER: &str = "transaction_id,date,partner,customer_name,customer_domain,customer_country,sku,quantity,unit_price,currency,deal_id,seller\n";

fn actor() -> Actor {
    Actor::system("test")
}

/// Saves and publishes a program.
pub async fn publish(app: &App, toml: &str) -> VersionMeta {
    let v = app::programs::save_draft(app, &actor(), &Checked::new(toml.to_string()).unwrap())
        .await
        .unwrap();
    app::programs::publish(app, &operator(), &actor(), &v.program, v.number)
        .await
        .unwrap()
}

/// Saves a program as a draft (not published).
pub async fn draft(app: &App, toml: &str) -> VersionMeta {
    app::programs::save_draft(app, &actor(), &Checked::new(toml.to_string()).unwrap())
        .await
        .unwrap()
}

/// An active partner in DACH named "`slug` partner".
pub async fn partner(app: &App, slug: &str, partner_type: &str) -> Partner {
    app::partners::create_many(
        app,
        &actor(),
        &[NewPartner {
            slug: slug.into(),
            name: format!("{slug} partner"),
            partner_type: partner_type.into(),
            region: "dach".into(),
            country: "DE".into(),
            status: PartnerStatus::Active,
            website: None,
            channel_manager_id: None,
        }],
    )
    .await
    .unwrap()
    .remove(0)
}

/// FX rates from CSV rows (`from,to,valid_from,rate`).
pub async fn fx(app: &App, rows: &str) {
    let text = format!("from_currency,to_currency,valid_from,rate\n{rows}");
    app::incentives::fx::import(app, "fx.csv", &text)
        .await
        .unwrap();
}

/// Imports sales lines (CSV rows under [`SALES_HEADER`]), holding unknown SKUs.
pub async fn sales(app: &App, rows: &str) -> ImportSummary {
    let text = format!("{SALES_HEADER}{rows}");
    import::import(
        app,
        &actor(),
        "fixture.csv",
        text.as_bytes(),
        UnknownSku::Hold,
        &mut |_, _| {},
    )
    .await
    .unwrap()
}

/// The cloud program published with two partners: `brightpath` (reseller)
/// and `alpine` (MSP); no FX rates, no sales.
pub struct Cloud {
    pub t: TestApp,
    pub bp: Partner,
    pub alpine: Partner,
}

pub async fn cloud(b: Backend) -> Cloud {
    let t = TestApp::spawn(b).await;
    publish(&t.app, CLOUD).await;
    let bp = partner(&t.app, "brightpath", "reseller").await;
    let alpine = partner(&t.app, "alpine", "msp").await;
    Cloud { t, bp, alpine }
}

/// A quarter of sales: 2027-Q1 for both partners (and 2026-Q1 for alpine's
/// growth), EUR converted at 1.085, one line of an unknown SKU held.
pub const Q1_SALES: &str =
    "T1,2027-01-15,brightpath,Müller GmbH,mueller.de,DE,AUR-CL-500,2,60000,EUR,,anna\n\
T2,2027-02-03,brightpath,Kovalo,kovalo.de,DE,AUR-AI-1,10,900,EUR,,anna\n\
T3,2027-03-20,brightpath,Kovalo,kovalo.de,DE,AUR-CL-100,-1,20000,EUR,,anna\n\
T4,2026-02-10,alpine,Brintex,brintex.ch,CH,AUR-CL-100,3,20000,USD,,\n\
T5,2027-02-10,alpine,Brintex,brintex.ch,CH,AUR-CL-500,3,40000,USD,,\n\
T6,2027-02-11,alpine,Brintex,brintex.ch,CH,LEGACY-9,1,100,USD,,\n";

/// [`cloud`] with the EUR rate and [`Q1_SALES`] imported.
pub async fn quarter(b: Backend) -> Cloud {
    let c = cloud(b).await;
    fx(&c.t.app, "EUR,USD,2026-01-01,1.0850\n").await;
    sales(&c.t.app, Q1_SALES).await;
    c
}

/// [`quarter`] with 2027-Q1 calculated and approved.
pub async fn approved_quarter(b: Backend) -> Cloud {
    let c = quarter(b).await;
    app::incentives::calculate::run(&c.t.app, "2027-Q1", None, false)
        .await
        .unwrap();
    app::incentives::statements::approve(&c.t.app, &operator(), &actor(), None, "2027-Q1", None)
        .await
        .unwrap();
    c
}

/// Writes a file in a temporary directory and returns its path.
pub fn file(dir: &tempfile::TempDir, name: &str, body: &str) -> String {
    let p = dir.path().join(name);
    std::fs::write(&p, body).unwrap();
    p.to_str().unwrap().to_string()
}

/// A date `days` from today, as the API writes dates (an expected close
/// that is always in the future).
pub fn days_ahead(days: u64) -> String {
    (chrono::Utc::now().date_naive() + chrono::Days::new(days))
        .format("%Y-%m-%d")
        .to_string()
}

/// A deal registration submitted by `partner`'s admin (made if need be) for
/// a German customer.
pub async fn registration(t: &TestApp, partner: &Partner, customer: &str, domain: &str) -> Deal {
    let email = format!("admin@{}.test", partner.slug);
    let known: Option<String> = sqlx::query_scalar("SELECT id FROM users WHERE email = $1")
        .bind(&email)
        .fetch_optional(t.db.pool())
        .await
        .unwrap();
    let admin = match known {
        Some(id) => trellis_server::store::users::get(&t.app.db, &id)
            .await
            .unwrap()
            .unwrap(),
        None => {
            t.user(&email, Role::PartnerAdmin, Some(&partner.id))
                .await
                .0
        }
    };
    let who = trellis_core::access::Principal {
        user_id: admin.id.clone(),
        role: admin.role,
        partner_id: admin.partner_id.clone(),
    };
    let r = Registration {
        customer_name: customer.into(),
        customer_domain: Some(domain.into()),
        country: "DE".into(),
        products: Some("Cloud".into()),
        amount: "1000".into(),
        currency: "USD".into(),
        expected_close: "2099-01-31".into(),
        ..Registration::default()
    };
    app::deals::register(&t.app, &who, &actor(), &r)
        .await
        .unwrap()
        .deal
}

/// [`registration`], approved by the vendor.
pub async fn approved_registration(
    t: &TestApp,
    partner: &Partner,
    customer: &str,
    domain: &str,
) -> Deal {
    let deal = registration(t, partner, customer, domain).await;
    app::deals::act(
        &t.app,
        &actor(),
        &deal,
        Action::Approve,
        Side::Vendor,
        Some("fine"),
    )
    .await
    .unwrap()
}
