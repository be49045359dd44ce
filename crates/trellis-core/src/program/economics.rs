//! Partner economics (seed 004): for each partner type × segment, what a partner
//! nets per deal and per year under this program, beside competing programs.
//!
//! gross per deal = deal size × (margin + rebate + deal-registration uplift + funds) % + SPIF
//! cost of sale per won deal = presales hours × hourly cost ÷ win rate
//! net per deal = gross − cost of sale
//! net per year = net per deal × won deals per year − enablement cost per year

use super::model::{Economics, Program, Value};
use rust_decimal::Decimal;
use serde::Serialize;

/// The money one program pays on one deal, split by source.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Earnings {
    pub margin: Decimal,
    pub rebates: Decimal,
    pub spifs: Decimal,
    pub deal_registration_uplift: Decimal,
    pub funds: Decimal,
}

impl Earnings {
    fn add(&mut self, deal: Decimal, v: &Value) {
        let pct = |p: Decimal| deal * p / Decimal::ONE_HUNDRED;
        self.margin += pct(v.margin_pct);
        self.rebates += pct(v.rebate_pct);
        self.spifs += v.spif_per_deal;
        self.deal_registration_uplift += pct(v.deal_registration_uplift_pct);
        self.funds += pct(v.funds_pct);
    }

    pub fn total(&self) -> Decimal {
        self.margin + self.rebates + self.spifs + self.deal_registration_uplift + self.funds
    }
}

/// One program's result for one type × segment.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Outcome {
    pub program: String,
    /// Everything the program pays on one deal (the sum of `earnings_per_deal`).
    pub earned_per_deal: Decimal,
    pub earnings_per_deal: Earnings,
    pub cost_of_sale_per_deal: Decimal,
    pub net_per_deal: Decimal,
    pub enablement_cost_per_year: Decimal,
    pub net_per_year: Decimal,
}

/// Our program and each competitor for one partner type × segment.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Row {
    pub partner_type: String,
    pub segment: String,
    pub currency: String,
    pub avg_deal_size: Decimal,
    pub deals_per_year: Decimal,
    pub ours: Outcome,
    pub competitors: Vec<Outcome>,
}

/// Rounded half-even to the cent and always shown with two decimals.
pub fn cents(d: Decimal) -> Decimal {
    let mut r = d.round_dp(2);
    r.rescale(2);
    r
}

fn outcome(
    name: &str,
    e: &Economics,
    earnings: Earnings,
    presales_hours: Decimal,
    enablement: Decimal,
) -> Outcome {
    let cost_of_sale = if e.win_rate > Decimal::ZERO {
        presales_hours * e.hourly_cost / e.win_rate
    } else {
        presales_hours * e.hourly_cost
    };
    let net_per_deal = earnings.total() - cost_of_sale;
    Outcome {
        program: name.to_string(),
        earned_per_deal: cents(earnings.total()),
        net_per_year: cents(net_per_deal * e.deals_per_year - enablement),
        net_per_deal: cents(net_per_deal),
        cost_of_sale_per_deal: cents(cost_of_sale),
        enablement_cost_per_year: cents(enablement),
        earnings_per_deal: Earnings {
            margin: cents(earnings.margin),
            rebates: cents(earnings.rebates),
            spifs: cents(earnings.spifs),
            deal_registration_uplift: cents(earnings.deal_registration_uplift),
            funds: cents(earnings.funds),
        },
    }
}

/// The economics table: one row per declared `[[economics]]` entry, in file order.
pub fn table(p: &Program) -> Vec<Row> {
    p.economics
        .iter()
        .map(|e| {
            let (ty, seg) = (
                e.partner_type.get_ref().as_str(),
                e.segment.get_ref().as_str(),
            );
            let mut ours = Earnings::default();
            for el in p
                .elements
                .iter()
                .filter(|el| el.eligibility.covers(ty, seg))
            {
                ours.add(e.avg_deal_size, &el.value);
            }
            let competitors =
                p.competitors
                    .iter()
                    .filter_map(|c| {
                        let offer = c.offers.iter().find(|o| {
                            o.partner_type.get_ref() == ty && o.segment.get_ref() == seg
                        })?;
                        let mut earn = Earnings::default();
                        earn.add(e.avg_deal_size, &offer.value);
                        let name = if c.name.is_empty() {
                            c.id.get_ref().clone()
                        } else {
                            c.name.clone()
                        };
                        Some(outcome(
                            &name,
                            e,
                            earn,
                            offer
                                .presales_hours_per_deal
                                .unwrap_or(e.presales_hours_per_deal),
                            offer
                                .enablement_cost_per_year
                                .unwrap_or(e.enablement_cost_per_year),
                        ))
                    })
                    .collect();
            let name = if p.program.name.is_empty() {
                p.program.id.get_ref().clone()
            } else {
                p.program.name.clone()
            };
            Row {
                partner_type: ty.to_string(),
                segment: seg.to_string(),
                currency: p.program.currency.clone(),
                avg_deal_size: e.avg_deal_size,
                deals_per_year: e.deals_per_year,
                ours: outcome(
                    &name,
                    e,
                    ours,
                    e.presales_hours_per_deal,
                    e.enablement_cost_per_year,
                ),
                competitors,
            }
        })
        .collect()
}
