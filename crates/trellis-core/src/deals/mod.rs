//! Deal registration: the lifecycle state machine, validation of what a
//! partner registers, and the rules of engagement that decide a submitted
//! registration (auto-approval, first-come precedence, house accounts).

use crate::validate::FieldError;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::str::FromStr;

mod registration;
mod rules;

pub use registration::{NewDeal, Registration};
pub use rules::*;

/// Where a registration stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = DealStatus))]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    Draft,
    Submitted,
    Approved,
    Rejected,
    MoreInfo,
    Won,
    Lost,
    Expired,
}

impl Status {
    pub const ALL: [Status; 8] = [
        Status::Draft,
        Status::Submitted,
        Status::Approved,
        Status::Rejected,
        Status::MoreInfo,
        Status::Won,
        Status::Lost,
        Status::Expired,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Draft => "draft",
            Status::Submitted => "submitted",
            Status::Approved => "approved",
            Status::Rejected => "rejected",
            Status::MoreInfo => "more-info",
            Status::Won => "won",
            Status::Lost => "lost",
            Status::Expired => "expired",
        }
    }

    pub fn parse(field: &str, raw: &str) -> Result<Status, FieldError> {
        Status::ALL
            .into_iter()
            .find(|s| s.as_str() == raw.trim())
            .ok_or_else(|| {
                FieldError::new(
                    field,
                    "invalid-value",
                    format!(
                        "{field} must be one of: {}",
                        Status::ALL.map(Status::as_str).join(", ")
                    ),
                )
            })
    }

    /// The registration claims the customer: it blocks others (first come).
    pub fn holds_claim(self) -> bool {
        matches!(
            self,
            Status::Submitted | Status::Approved | Status::MoreInfo
        )
    }
}

/// Something someone does to a registration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    Submit,
    Approve,
    Reject,
    RequestInfo,
    Win,
    Lose,
    Expire,
    RequestExtension,
    ApproveExtension,
}

impl Action {
    pub const ALL: [Action; 9] = [
        Action::Submit,
        Action::Approve,
        Action::Reject,
        Action::RequestInfo,
        Action::Win,
        Action::Lose,
        Action::Expire,
        Action::RequestExtension,
        Action::ApproveExtension,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Action::Submit => "submit",
            Action::Approve => "approve",
            Action::Reject => "reject",
            Action::RequestInfo => "request-info",
            Action::Win => "win",
            Action::Lose => "lose",
            Action::Expire => "expire",
            Action::RequestExtension => "request-extension",
            Action::ApproveExtension => "approve-extension",
        }
    }

    pub fn parse(field: &str, raw: &str) -> Result<Action, FieldError> {
        Action::ALL
            .into_iter()
            .find(|a| a.as_str() == raw.trim())
            .ok_or_else(|| {
                FieldError::new(
                    field,
                    "invalid-value",
                    format!(
                        "{field} must be one of: {}",
                        Action::ALL.map(Action::as_str).join(", ")
                    ),
                )
            })
    }

    /// Decisions of the vendor need a reason.
    pub fn needs_reason(self) -> bool {
        matches!(
            self,
            Action::Approve | Action::Reject | Action::RequestInfo | Action::ApproveExtension
        )
    }
}

/// Who acts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The registering partner's users.
    Partner,
    /// Vendor admins and channel managers.
    Vendor,
    /// Trellis itself (the expiry job).
    System,
}

/// Why a transition is not possible.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotAllowed(pub String);

/// The state machine: the status after `action`, if `side` may take it now.
/// Extension actions keep the status (they move the protection date).
pub fn transition(from: Status, action: Action, side: Side) -> Result<Status, NotAllowed> {
    use Action as A;
    use Side::*;
    use Status as S;
    let to = match (from, action, side) {
        (S::Draft | S::MoreInfo, A::Submit, Partner | Vendor) => S::Submitted,
        (S::Submitted | S::MoreInfo, A::Approve, Vendor) => S::Approved,
        (S::Submitted | S::MoreInfo, A::Reject, Vendor) => S::Rejected,
        (S::Submitted, A::RequestInfo, Vendor) => S::MoreInfo,
        (S::Approved, A::Win, Partner | Vendor) => S::Won,
        (S::Approved, A::Lose, Partner | Vendor) => S::Lost,
        (S::Approved, A::Expire, System | Vendor) => S::Expired,
        (S::Approved, A::RequestExtension, Partner) => S::Approved,
        (S::Approved, A::ApproveExtension, Vendor) => S::Approved,
        (_, a, side) => {
            let who = match side {
                Partner => "the partner",
                Vendor => "the vendor",
                System => "Trellis",
            };
            return Err(NotAllowed(format!(
                "{who} cannot {} a registration that is {}",
                a.as_str().replace('-', " "),
                from.as_str()
            )));
        }
    };
    Ok(to)
}

/// ISO 4217 currency codes in use.
const CURRENCIES: &str = "AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BTN BWP BYN BZD CAD CDF CHF CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD UYU UZS VES VND VUV WST XAF XCD XOF XPF YER ZAR ZMW ZWL";

/// An ISO 4217 currency code, upper case.
pub fn currency(field: &str, raw: &str) -> Result<String, FieldError> {
    let c = raw.trim().to_ascii_uppercase();
    if c.is_empty() {
        return Err(FieldError::new(
            field,
            "required",
            format!("{field} is required"),
        ));
    }
    if c.len() == 3 && CURRENCIES.split(' ').any(|x| x == c) {
        Ok(c)
    } else {
        Err(FieldError::new(
            field,
            "invalid-currency",
            format!("{field} must be an ISO 4217 currency code such as EUR, USD or JPY"),
        ))
    }
}

/// A calendar date `YYYY-MM-DD`.
pub fn date(field: &str, raw: &str) -> Result<String, FieldError> {
    let bad = || {
        FieldError::new(
            field,
            "invalid-date",
            format!("{field} must be a date written YYYY-MM-DD"),
        )
    };
    let s = raw.trim();
    let parts: Vec<&str> = s.split('-').collect();
    if parts.len() != 3 || parts[0].len() != 4 || parts[1].len() != 2 || parts[2].len() != 2 {
        return Err(bad());
    }
    let n = |p: &str| p.parse::<u32>().map_err(|_| bad());
    let (y, m, d) = (n(parts[0])?, n(parts[1])?, n(parts[2])?);
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return Err(bad()),
    };
    if !(1..=days).contains(&d) || y < 1900 {
        return Err(bad());
    }
    Ok(s.to_string())
}

/// A positive amount of money, at most two decimals.
pub fn amount(field: &str, raw: &str) -> Result<Decimal, FieldError> {
    let s = raw.trim();
    let d = Decimal::from_str(s).map_err(|_| {
        FieldError::new(
            field,
            "invalid-number",
            format!("{field} must be a number such as 12500.00"),
        )
    })?;
    if d <= Decimal::ZERO {
        return Err(FieldError::new(
            field,
            "not-positive",
            format!("{field} must be more than 0"),
        ));
    }
    if d.scale() > 2 {
        return Err(FieldError::new(
            field,
            "too-precise",
            format!("{field} has at most two decimals"),
        ));
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matching::Reason;
    use crate::matching::{Candidate, Kind};

    fn cand(kind: Kind, score: f64) -> Candidate {
        Candidate {
            id: "x".into(),
            kind,
            score,
            reasons: vec![Reason::SameCountry],
        }
    }

    #[test]
    fn lifecycle() {
        use Action as A;
        use Side::*;
        use Status as S;
        assert_eq!(transition(S::Draft, A::Submit, Partner), Ok(S::Submitted));
        assert_eq!(
            transition(S::Submitted, A::Approve, Vendor),
            Ok(S::Approved)
        );
        assert!(
            transition(S::Submitted, A::Approve, Partner).is_err(),
            "partners do not approve"
        );
        assert_eq!(
            transition(S::Submitted, A::RequestInfo, Vendor),
            Ok(S::MoreInfo)
        );
        assert_eq!(
            transition(S::MoreInfo, A::Submit, Partner),
            Ok(S::Submitted)
        );
        assert_eq!(transition(S::Approved, A::Win, Partner), Ok(S::Won));
        assert_eq!(transition(S::Approved, A::Expire, System), Ok(S::Expired));
        let e = transition(S::Won, A::Approve, Vendor).unwrap_err();
        assert_eq!(e.0, "the vendor cannot approve a registration that is won");
        for s in [S::Rejected, S::Won, S::Lost, S::Expired] {
            for a in Action::ALL {
                for side in [Partner, Vendor, System] {
                    assert!(transition(s, a, side).is_err(), "{s:?} is final");
                }
            }
        }
    }

    #[test]
    fn field_checks() {
        assert_eq!(currency("c", "eur").unwrap(), "EUR");
        assert!(currency("c", "EUX").is_err());
        assert!(date("d", "2027-02-29").is_err());
        assert!(date("d", "2028-02-29").is_ok());
        assert!(date("d", "27-01-01").is_err());
        assert_eq!(amount("a", "0").unwrap_err().code, "not-positive");
        assert_eq!(amount("a", "-5").unwrap_err().code, "not-positive");
        assert_eq!(amount("a", "1.005").unwrap_err().code, "too-precise");
        assert_eq!(amount("a", "abc").unwrap_err().code, "invalid-number");
        assert_eq!(amount("a", "12500.50").unwrap().to_string(), "12500.50");
    }

    #[test]
    fn rules_of_engagement_in_order() {
        let rules = Rules {
            auto_approve: true,
            ..Rules::default()
        };
        assert_eq!(decide(&rules, &[]).rule, "auto-approve");
        assert_eq!(decide(&rules, &[]).status, Status::Approved);
        let low = cand(Kind::Registration, 0.5);
        let c = [Conflict {
            candidate: &low,
            other_partner: true,
            holds_claim: true,
            house: false,
        }];
        assert_eq!(
            decide(&rules, &c).status,
            Status::Approved,
            "below the threshold"
        );
        let high = cand(Kind::Registration, 0.93);
        let c = [Conflict {
            candidate: &high,
            other_partner: true,
            holds_claim: true,
            house: false,
        }];
        let d = decide(&rules, &c);
        assert_eq!((d.status, d.rule), (Status::Rejected, "first-come"));
        let c = [Conflict {
            candidate: &high,
            other_partner: false,
            holds_claim: true,
            house: false,
        }];
        assert_eq!(
            decide(&rules, &c).rule,
            "review",
            "the partner's own earlier registration"
        );
        let acct = cand(Kind::Account, 0.9);
        let c = [
            Conflict {
                candidate: &high,
                other_partner: true,
                holds_claim: true,
                house: false,
            },
            Conflict {
                candidate: &acct,
                other_partner: false,
                holds_claim: false,
                house: true,
            },
        ];
        assert_eq!(
            decide(&rules, &c).rule,
            "house-account",
            "house accounts come first"
        );
        let c = [Conflict {
            candidate: &acct,
            other_partner: false,
            holds_claim: false,
            house: false,
        }];
        assert_eq!(decide(&rules, &c).status, Status::Submitted);
        assert_eq!(
            decide(&Rules::default(), &[]).status,
            Status::Submitted,
            "no auto-approval"
        );
    }
}
