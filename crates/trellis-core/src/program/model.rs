//! The program definition: what a `program.toml` can say. Every item has a
//! stable `id`; ids carry their position in the file so findings can point at it.

use rust_decimal::Decimal;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use toml::Spanned;

/// A GTM value-delivery step (seed 002: develop, market, sell, deliver, support,
/// share risks and rewards).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum Step {
    Develop,
    Market,
    Sell,
    Deliver,
    Support,
    Share,
}

impl Step {
    pub const ALL: [Step; 6] = [
        Step::Develop,
        Step::Market,
        Step::Sell,
        Step::Deliver,
        Step::Support,
        Step::Share,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Step::Develop => "develop",
            Step::Market => "market",
            Step::Sell => "sell",
            Step::Deliver => "deliver",
            Step::Support => "support",
            Step::Share => "share",
        }
    }
}

/// Who performs a step for one partner type × segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Performer {
    Vendor,
    Partner,
    Joint,
    None,
}

impl Performer {
    /// The partner takes part (alone or jointly), so it must be enabled and motivated.
    pub fn involves_partner(self) -> bool {
        matches!(self, Performer::Partner | Performer::Joint)
    }
}

/// Stages of a partnership (seed 002).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Stage {
    Formation,
    Enablement,
    Performing,
    Renewal,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Purpose {
    Enable,
    Motivate,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Investment {
    Fulfillment,
    DemandCreation,
}

/// A whole program file.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Program {
    pub program: Identity,
    #[serde(default)]
    pub objectives: Vec<Objective>,
    #[serde(default)]
    pub profiles: Vec<Profile>,
    #[serde(default)]
    pub partner_types: Vec<PartnerType>,
    #[serde(default)]
    pub segments: Vec<Segment>,
    #[serde(default)]
    pub plays: Vec<Play>,
    #[serde(default)]
    pub elements: Vec<Element>,
    /// Ordered from entry level up.
    #[serde(default)]
    pub tiers: Vec<Level>,
    /// Tier-less tracks: parallel paths, not a ladder.
    #[serde(default)]
    pub tracks: Vec<Level>,
    #[serde(default)]
    pub rules: Rules,
    #[serde(default)]
    pub governance: Governance,
    #[serde(default)]
    pub economics: Vec<Economics>,
    #[serde(default)]
    pub competitors: Vec<Competitor>,
    /// Onboarding checklists, per partner type.
    #[serde(default)]
    pub onboarding: Vec<OnboardingPlan>,
    /// The product catalogue incentive rules refer to (SKU → family).
    #[serde(default)]
    pub products: Vec<Product>,
    /// Incentive rules: rebates, SPIFs, deal-registration uplifts, fund accruals.
    #[serde(default)]
    pub incentives: Incentives,
    #[serde(default)]
    pub check: CheckSettings,
}

/// A product partners sell.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Product {
    #[schemars(with = "String")]
    pub sku: Spanned<String>,
    #[serde(default)]
    pub name: String,
    /// e.g. `cloud`, `ai`, `hardware`.
    #[serde(default)]
    pub family: String,
}

/// Who and what an incentive rule applies to; empty lists mean "all".
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IncentiveEligibility {
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub skus: Vec<Spanned<String>>,
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub families: Vec<Spanned<String>>,
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub partner_types: Vec<Spanned<String>>,
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub segments: Vec<Spanned<String>>,
    /// Tier or track ids.
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub levels: Vec<Spanned<String>>,
}

/// How bands apply.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum RebateBasis {
    /// The rate of the band reached applies to the whole volume.
    #[default]
    Retroactive,
    /// Each band's rate applies to the volume within that band.
    Marginal,
}

/// A band: from this eligible revenue (inclusive), this rate.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Band {
    pub from: Decimal,
    pub rate_pct: Decimal,
}

/// A percentage of eligible revenue per period, by bands.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Rebate {
    #[schemars(with = "String")]
    pub id: Spanned<String>,
    /// The program element it implements (for totals by element).
    pub element: Option<String>,
    #[serde(default)]
    pub basis: RebateBasis,
    pub bands: Vec<Band>,
    /// At most this much per partner and period.
    pub cap: Option<Decimal>,
    /// Bands apply to the growth over the same period a year earlier.
    #[serde(default)]
    pub growth: bool,
    #[serde(default)]
    pub eligible: IncentiveEligibility,
}

/// Whom a SPIF pays.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum SpifCredit {
    #[default]
    Partner,
    /// The partner's seller named on the sale.
    Seller,
}

/// A real date written YYYY-MM-DD.
fn date<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let s = String::deserialize(d)?;
    if crate::incentives::is_date(&s) {
        Ok(s)
    } else {
        Err(serde::de::Error::custom(format!(
            "'{s}' is not a date like 2027-01-31"
        )))
    }
}

/// A fixed amount per unit or per deal for SKUs sold in a window (both ends inclusive).
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Spif {
    #[schemars(with = "String")]
    pub id: Spanned<String>,
    pub element: Option<String>,
    pub per_unit: Option<Decimal>,
    pub per_deal: Option<Decimal>,
    /// First day (YYYY-MM-DD), inclusive.
    #[serde(deserialize_with = "date")]
    #[schemars(regex(pattern = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"))]
    pub from: String,
    /// Last day (YYYY-MM-DD), inclusive.
    #[serde(deserialize_with = "date")]
    #[schemars(regex(pattern = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"))]
    pub to: String,
    #[serde(default)]
    pub credit: SpifCredit,
    #[serde(default)]
    pub eligible: IncentiveEligibility,
}

/// What a period whose returns outweigh its sales earns under a rate rule.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Floor {
    /// Nothing: a net-negative period pays zero (the default).
    #[default]
    Zero,
    /// A negative amount: the rate is clawed back on the net returns.
    None,
}

/// A percentage of eligible revenue (deal-registration uplift, fund accrual).
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RateRule {
    #[schemars(with = "String")]
    pub id: Spanned<String>,
    pub element: Option<String>,
    pub rate_pct: Decimal,
    #[serde(default)]
    pub eligible: IncentiveEligibility,
    /// `zero` (default): a net-negative period earns nothing; `none`: it
    /// claws the rate back on the net returns.
    #[serde(default)]
    pub floor: Floor,
}

/// The incentive rules of a program.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Incentives {
    #[serde(default)]
    pub rebates: Vec<Rebate>,
    #[serde(default)]
    pub spifs: Vec<Spif>,
    /// Extra percentage on revenue from approved registered deals.
    #[serde(default)]
    pub deal_registration_uplifts: Vec<RateRule>,
    /// Percentage of revenue accrued to the partner's market development fund.
    #[serde(default)]
    pub fund_accruals: Vec<RateRule>,
}

/// The onboarding checklist of a partner type; a plan without `partner_type`
/// applies to every type that has no plan of its own.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OnboardingPlan {
    #[schemars(with = "Option<String>")]
    pub partner_type: Option<Spanned<String>>,
    pub tasks: Vec<OnboardingTask>,
}

/// One item of an onboarding checklist.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OnboardingTask {
    #[schemars(with = "String")]
    pub id: Spanned<String>,
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// What completes the task by itself (`manual`: the channel manager or
    /// the partner ticks it).
    #[serde(default)]
    pub event: TaskEvent,
}

/// Events that complete onboarding tasks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum TaskEvent {
    /// The partner accepted the current agreement for its type.
    AgreementAccepted,
    /// One of the partner's users saved its profile, with a website.
    ProfileCompleted,
    /// The partner invited a user besides its admin.
    UserAdded,
    /// A training was completed (ticked by hand until Trellis has courses).
    TrainingCompleted,
    /// The partner registered a first deal.
    DealRegistered,
    #[default]
    Manual,
}

impl TaskEvent {
    pub fn as_str(self) -> &'static str {
        match self {
            TaskEvent::AgreementAccepted => "agreement-accepted",
            TaskEvent::ProfileCompleted => "profile-completed",
            TaskEvent::UserAdded => "user-added",
            TaskEvent::TrainingCompleted => "training-completed",
            TaskEvent::DealRegistered => "deal-registered",
            TaskEvent::Manual => "manual",
        }
    }
}

impl Program {
    /// The onboarding tasks of a partner type: its own plan, else the plan
    /// for every type, else none.
    pub fn onboarding_for(&self, partner_type: &str) -> &[OnboardingTask] {
        let own = self.onboarding.iter().find(|p| {
            p.partner_type
                .as_ref()
                .is_some_and(|t| t.get_ref() == partner_type)
        });
        own.or_else(|| self.onboarding.iter().find(|p| p.partner_type.is_none()))
            .map(|p| p.tasks.as_slice())
            .unwrap_or(&[])
    }
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Identity {
    #[schemars(with = "String")]
    pub id: Spanned<String>,
    pub name: String,
    /// A label such as `2027.1`.
    pub version: String,
    /// YYYY-MM-DD.
    pub effective: String,
    /// ISO 4217, e.g. `USD`.
    pub currency: String,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Objective {
    #[schemars(with = "String")]
    pub id: Spanned<String>,
    #[serde(default)]
    pub description: String,
    pub metric: Option<String>,
    pub target: Option<Decimal>,
    pub period: Option<String>,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    #[schemars(with = "String")]
    pub id: Spanned<String>,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub criteria: Vec<Criterion>,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Criterion {
    /// e.g. `employees`, `region`, `capabilities`, `industries`, `certifications`.
    pub attribute: String,
    pub weight: Decimal,
    #[serde(default)]
    pub values: Vec<String>,
    pub min: Option<Decimal>,
    pub max: Option<Decimal>,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PartnerType {
    #[schemars(with = "String")]
    pub id: Spanned<String>,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub description: String,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Segment {
    #[schemars(with = "String")]
    pub id: Spanned<String>,
    #[serde(default)]
    pub region: String,
    #[serde(default)]
    pub industry: String,
    #[serde(default)]
    pub size: String,
}

/// Who performs each step for one partner type in one segment.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Play {
    #[schemars(with = "String")]
    pub partner_type: Spanned<String>,
    #[schemars(with = "String")]
    pub segment: Spanned<String>,
    pub steps: Steps,
    #[serde(default)]
    pub handoffs: Vec<Handoff>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Steps {
    pub develop: Performer,
    pub market: Performer,
    pub sell: Performer,
    pub deliver: Performer,
    pub support: Performer,
    pub share: Performer,
}

impl Steps {
    pub fn get(&self, s: Step) -> Performer {
        match s {
            Step::Develop => self.develop,
            Step::Market => self.market,
            Step::Sell => self.sell,
            Step::Deliver => self.deliver,
            Step::Support => self.support,
            Step::Share => self.share,
        }
    }
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Handoff {
    pub from: Step,
    pub to: Step,
    #[serde(default)]
    pub note: String,
}

/// Who an element is for; an empty list means "all".
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Eligibility {
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub types: Vec<Spanned<String>>,
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub segments: Vec<Spanned<String>>,
    /// Tier or track ids.
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub levels: Vec<Spanned<String>>,
}

impl Eligibility {
    pub fn covers(&self, partner_type: &str, segment: &str) -> bool {
        (self.types.is_empty() || self.types.iter().any(|t| t.get_ref() == partner_type))
            && (self.segments.is_empty() || self.segments.iter().any(|s| s.get_ref() == segment))
    }
}

/// What an element costs the vendor per year.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Cost {
    #[serde(default)]
    pub fixed_per_year: Decimal,
    #[serde(default)]
    pub per_partner_per_year: Decimal,
    /// Expected number of partners using it (for the per-partner part).
    #[serde(default)]
    pub partners: Decimal,
}

impl Cost {
    pub fn annual(&self) -> Decimal {
        self.fixed_per_year + self.per_partner_per_year * self.partners
    }
}

/// What a motivating element pays the partner, per deal.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Value {
    #[serde(default)]
    pub margin_pct: Decimal,
    #[serde(default)]
    pub rebate_pct: Decimal,
    #[serde(default)]
    pub spif_per_deal: Decimal,
    #[serde(default)]
    pub deal_registration_uplift_pct: Decimal,
    #[serde(default)]
    pub funds_pct: Decimal,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Element {
    #[schemars(with = "String")]
    pub id: Spanned<String>,
    #[serde(default)]
    pub name: String,
    /// training, certification, content, tool, presales-support, mdf, rebate, spif,
    /// margin, deal-registration-uplift, recognition, joint-business-planning, …
    pub kind: String,
    pub purpose: Purpose,
    pub investment: Investment,
    #[serde(default)]
    pub steps: Vec<Step>,
    #[serde(default)]
    pub stages: Vec<Stage>,
    /// Partner roles and the vendor's own roles it serves.
    #[serde(default)]
    pub audience: Vec<String>,
    #[serde(default)]
    pub eligibility: Eligibility,
    #[serde(default)]
    pub cost: Cost,
    #[serde(default)]
    pub value: Value,
}

/// A tier, or a tier-less track.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Level {
    #[schemars(with = "String")]
    pub id: Spanned<String>,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub qualification: Qualification,
    /// Element ids.
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub benefits: Vec<Spanned<String>>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Qualification {
    #[serde(default)]
    pub thresholds: Vec<Threshold>,
    /// Element ids of kind `certification`.
    #[serde(default)]
    pub certifications: Vec<String>,
    #[serde(default)]
    pub grace_days: u32,
}

#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Threshold {
    /// e.g. `revenue` (annual, in the program currency) or `certified_people`.
    pub metric: String,
    pub min: Decimal,
    #[serde(default = "twelve")]
    pub window_months: u32,
}

fn twelve() -> u32 {
    12
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Rules {
    pub deal_registration: Option<DealRegistration>,
    #[serde(default)]
    pub lead_sharing: String,
    #[serde(default)]
    pub co_selling: String,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DealRegistration {
    #[serde(default)]
    pub required_fields: Vec<String>,
    #[serde(default)]
    pub optional_fields: Vec<String>,
    pub protection_days: Option<u32>,
    #[serde(default)]
    pub extension_days: u32,
    #[serde(default)]
    pub max_extensions: u32,
    /// Conflict score below which a registration is approved without review (0–1).
    pub auto_approve_below: Option<Decimal>,
    /// What a partner may learn of a conflicting registration: `nothing` or `existence`.
    #[serde(default = "existence")]
    pub conflict_visibility: String,
}

fn existence() -> String {
    "existence".into()
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Governance {
    #[serde(default)]
    pub owner: String,
    /// e.g. `quarterly`.
    #[serde(default)]
    pub review_cadence: String,
    #[serde(default)]
    pub feedback_channel: String,
    #[serde(default)]
    pub operating_model: OperatingModel,
}

/// Seed 003's operating-model dimensions, as structured notes.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OperatingModel {
    #[serde(default)]
    pub people: String,
    #[serde(default)]
    pub tools: String,
    #[serde(default)]
    pub processes: String,
    #[serde(default)]
    pub governance: String,
    #[serde(default)]
    pub metrics: String,
    #[serde(default)]
    pub culture: String,
}

/// Assumptions about one partner type in one segment.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Economics {
    #[schemars(with = "String")]
    pub partner_type: Spanned<String>,
    #[schemars(with = "String")]
    pub segment: Spanned<String>,
    pub avg_deal_size: Decimal,
    /// Share of pursued deals that are won, 0–1.
    pub win_rate: Decimal,
    /// Won deals per partner per year.
    pub deals_per_year: Decimal,
    #[serde(default)]
    pub presales_hours_per_deal: Decimal,
    #[serde(default)]
    pub hourly_cost: Decimal,
    #[serde(default)]
    pub enablement_cost_per_year: Decimal,
}

/// A competing program, described by what it pays per type × segment.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Competitor {
    #[schemars(with = "String")]
    pub id: Spanned<String>,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub offers: Vec<CompetitorOffer>,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CompetitorOffer {
    #[schemars(with = "String")]
    pub partner_type: Spanned<String>,
    #[schemars(with = "String")]
    pub segment: Spanned<String>,
    /// What that program pays per deal, in the same terms as an element's `value`.
    #[serde(default)]
    pub value: Value,
    /// Partner cost of sale under that program, if different from ours.
    pub presales_hours_per_deal: Option<Decimal>,
    /// Partner enablement cost under that program, if different from ours.
    pub enablement_cost_per_year: Option<Decimal>,
}

/// Thresholds of the checker, adjustable per program.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckSettings {
    #[serde(default = "eight")]
    pub max_deal_registration_fields: usize,
    /// Minimum share of element cost spent on demand creation (0–1).
    #[serde(default = "forty_pct")]
    pub min_demand_creation_share: Decimal,
}

impl Default for CheckSettings {
    fn default() -> Self {
        CheckSettings {
            max_deal_registration_fields: eight(),
            min_demand_creation_share: forty_pct(),
        }
    }
}

fn eight() -> usize {
    8
}

fn forty_pct() -> Decimal {
    Decimal::new(4, 1)
}
