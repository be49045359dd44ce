//! The application layer and the store on their own, without HTTP: typed
//! errors, strict decoding of stored values, transactions that are all or
//! nothing, unique constraints named by field. Each on both backends.

use crate::helpers::fixtures::{self, approved_quarter, quarter, CLOUD};
use crate::helpers::{operator, Backend, TestApp};
use trellis_core::deals::{Action, Side};
use trellis_core::org::{PartnerStatus, Role};
use trellis_server::app::{self, AppError};
use trellis_server::store::partners::NewPartner;
use trellis_server::store::{self, Actor};

crate::on_both_backends!(
    a_taken_slug_is_a_conflict_on_the_slug_field,
    a_taken_email_is_a_conflict_on_the_email_field,
    a_stale_deal_action_is_a_conflict_and_changes_nothing,
    damaged_deal_fields_are_an_error_not_empty,
    damaged_statement_lines_are_an_error_not_zero,
    approving_a_period_is_all_or_nothing_across_programs,
    a_rolled_back_unknown_batch_is_not_found,
    the_command_line_application_builds_its_matcher_on_first_use,
);

fn actor() -> Actor {
    Actor::system("test")
}

fn new_partner(slug: &str) -> NewPartner {
    NewPartner {
        slug: slug.into(),
        name: format!("{slug} partner"),
        partner_type: "reseller".into(),
        region: "dach".into(),
        country: "DE".into(),
        status: PartnerStatus::Active,
        website: None,
        channel_manager_id: None,
    }
}

async fn a_taken_slug_is_a_conflict_on_the_slug_field(b: Backend) {
    let t = TestApp::spawn(b).await;
    fixtures::partner(&t.app, "acme", "reseller").await;
    let e = app::partners::create_many(&t.app, &actor(), &[new_partner("acme")])
        .await
        .unwrap_err();
    match e {
        AppError::Conflict { field, message } => {
            assert_eq!(field, "slug");
            assert!(message.contains("'acme' already exists"), "{message}");
        }
        other => panic!("expected a conflict on slug, got {other:?}"),
    }
    assert_eq!(t.count("partners").await, 1);
}

async fn a_taken_email_is_a_conflict_on_the_email_field(b: Backend) {
    let t = TestApp::spawn(b).await;
    t.user("ana@vendor.test", Role::VendorAdmin, None).await;
    let e = app::users::create(
        &t.app,
        &actor(),
        store::users::NewUser {
            email: "ana@vendor.test".into(),
            name: "Ana".into(),
            role: Role::ChannelManager,
            partner_id: None,
            password_hash: Some("x".into()),
        },
    )
    .await
    .unwrap_err();
    assert!(
        matches!(&e, AppError::Conflict { field: "email", .. }),
        "{e:?}"
    );
}

/// A registration of `partner`'s admin, submitted.
async fn registered(t: &TestApp, partner: &store::partners::Partner) -> store::deals::Deal {
    fixtures::registration(t, partner, "Kunde AG", "kunde.de").await
}

async fn a_stale_deal_action_is_a_conflict_and_changes_nothing(b: Backend) {
    let t = TestApp::spawn(b).await;
    fixtures::publish(&t.app, CLOUD).await;
    let p = fixtures::partner(&t.app, "acme", "reseller").await;
    let deal = registered(&t, &p).await;
    // Decided by someone else meanwhile.
    app::deals::act(
        &t.app,
        &actor(),
        &deal,
        Action::Approve,
        Side::Vendor,
        Some("fine"),
    )
    .await
    .unwrap();
    let e = app::deals::act(
        &t.app,
        &actor(),
        &deal,
        Action::Reject,
        Side::Vendor,
        Some("no"),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(
            &e,
            AppError::Conflict {
                field: "status",
                ..
            }
        ),
        "{e:?}"
    );
    let now = store::deals::get(&t.db, &deal.id).await.unwrap().unwrap();
    assert_eq!(now.status.as_str(), "approved");
}

async fn damaged_deal_fields_are_an_error_not_empty(b: Backend) {
    let t = TestApp::spawn(b).await;
    fixtures::publish(&t.app, CLOUD).await;
    let p = fixtures::partner(&t.app, "acme", "reseller").await;
    let deal = registered(&t, &p).await;
    // (An unknown status cannot be stored: the table checks it.)
    sqlx::query("UPDATE deals SET extra = '{\"use_case\": ' WHERE id = $1")
        .bind(&deal.id)
        .execute(t.db.pool())
        .await
        .unwrap();
    let e = store::deals::get(&t.db, &deal.id).await.unwrap_err();
    assert!(e.to_string().contains("stored deal fields"), "{e}");
}

async fn damaged_statement_lines_are_an_error_not_zero(b: Backend) {
    let c = approved_quarter(b).await;
    sqlx::query(
        "UPDATE statements SET lines = REPLACE(lines, '\"2170.00\"', '\"21,70\"') WHERE partner_id = $1",
    )
    .bind(&c.bp.id)
    .execute(c.t.db.pool())
    .await
    .unwrap();
    let e = app::incentives::statements::payout_csv(&c.t.app, &operator(), None, "2027-Q1")
        .await
        .unwrap_err();
    assert!(
        matches!(&e, AppError::Internal(m) if m.contains("stored statement lines")),
        "{e:?}"
    );
}

async fn approving_a_period_is_all_or_nothing_across_programs(b: Backend) {
    let c = quarter(b).await;
    app::incentives::calculate::run(&c.t.app, "2027-Q1", None, false)
        .await
        .unwrap();
    // A second program with a draft and an approved statement of the same
    // partner and period: approving that program must fail.
    let other = CLOUD.replacen("id = \"aurora-cloud\"", "id = \"second-cloud\"", 1);
    fixtures::publish(&c.t.app, &other).await;
    let run = app::incentives::calculate::run(&c.t.app, "2027-Q1", Some("second-cloud"), false)
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO statements (id, program_id, version, partner_id, period, status, total, funds, lines, next_bands, calculated_at) \
         SELECT id || '-approved', program_id, version, partner_id, period, 'approved', total, funds, lines, next_bands, calculated_at \
         FROM statements WHERE program_id = $1 AND partner_id = $2",
    )
    .bind(&run.program_id)
    .bind(&c.bp.id)
    .execute(c.t.db.pool())
    .await
    .unwrap();
    let drafts = || {
        sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM statements WHERE status = 'draft'")
            .fetch_one(c.t.db.pool())
    };
    let before = drafts().await.unwrap();
    let e = app::incentives::statements::approve(
        &c.t.app,
        &operator(),
        &actor(),
        None,
        "2027-Q1",
        None,
    )
    .await
    .unwrap_err();
    assert!(matches!(&e, AppError::Conflict { .. }), "{e:?}");
    assert_eq!(
        drafts().await.unwrap(),
        before,
        "no program's drafts were approved"
    );
}

async fn a_rolled_back_unknown_batch_is_not_found(b: Backend) {
    let c = quarter(b).await;
    let e = app::incentives::import::rollback(&c.t.app, &actor(), "no-such-batch")
        .await
        .unwrap_err();
    assert!(matches!(e, AppError::NotFound("sales batch")), "{e:?}");
}

async fn the_command_line_application_builds_its_matcher_on_first_use(b: Backend) {
    let t = TestApp::spawn(b).await;
    fixtures::publish(&t.app, CLOUD).await;
    let p = fixtures::partner(&t.app, "acme", "reseller").await;
    registered(&t, &p).await;
    let cli = app::App::open(t.db.clone(), Default::default());
    assert!(
        cli.matcher.is_empty(),
        "nothing is read before it is needed"
    );
    let found = app::deals::conflicts(
        &cli,
        &trellis_core::matching::Customer {
            name: "Kunde AG",
            domain: Some("kunde.de"),
            country: "DE",
            city: None,
        },
        None,
    )
    .await
    .unwrap();
    assert_eq!(found.len(), 1, "the registration is found");
}
