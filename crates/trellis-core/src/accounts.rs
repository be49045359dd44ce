//! The vendor's accounts as they arrive (API, CSV) and as they are kept.

use crate::matching::normalize;
use crate::validate::{non_empty as text, FieldError, FieldErrors, Name};
use serde::Deserialize;

/// One of the vendor's accounts.
#[derive(Debug, Deserialize, Default, Clone)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct AccountInput {
    /// The id in the vendor's CRM: sending it again updates the account.
    pub external_id: Option<String>,
    pub name: String,
    pub domain: Option<String>,
    /// ISO 3166-1 alpha-2.
    pub country: String,
    pub city: Option<String>,
    /// Who owns the account at the vendor.
    pub owner: Option<String>,
    /// A house account: partners cannot register it.
    pub house: Option<bool>,
}

/// A validated account to create or update (by `external_id`).
#[derive(Debug, Clone, PartialEq)]
pub struct NewAccount {
    pub external_id: Option<String>,
    pub name: String,
    /// The registrable domain.
    pub domain: Option<String>,
    pub country: String,
    pub city: Option<String>,
    pub owner: Option<String>,
    pub house: bool,
}

impl AccountInput {
    /// Checks every field, naming each bad one.
    pub fn validate(&self) -> Result<NewAccount, FieldErrors> {
        let mut errs = FieldErrors::new();
        let name = errs.check(Name::parse("name", &self.name, 200));
        let country = errs.check(crate::country::parse("country", &self.country));
        let domain = match text(&self.domain) {
            Some(d) => match normalize::domain(&d) {
                Some(x) => Some(x.registrable),
                None => {
                    errs.push(FieldError::new(
                        "domain",
                        "invalid-domain",
                        "domain must be a web domain such as acme.de",
                    ));
                    None
                }
            },
            None => None,
        };
        errs.into_result()?;
        let (Some(name), Some(country)) = (name, country) else {
            unreachable!("every None recorded an error");
        };
        Ok(NewAccount {
            external_id: text(&self.external_id),
            name: name.into_string(),
            domain,
            country: country.to_string(),
            city: text(&self.city),
            owner: text(&self.owner),
            house: self.house.unwrap_or(false),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_account_is_normalised_and_bad_fields_are_named() {
        let a = AccountInput {
            name: " Österreichische Post AG ".into(),
            domain: Some("https://www.post.at/".into()),
            country: "at".into(),
            ..AccountInput::default()
        }
        .validate()
        .unwrap();
        assert_eq!(a.name, "Österreichische Post AG");
        assert_eq!(a.domain.as_deref(), Some("post.at"));
        assert_eq!(a.country, "AT");
        let errs = AccountInput {
            domain: Some("not a domain".into()),
            country: "XX".into(),
            ..AccountInput::default()
        }
        .validate()
        .unwrap_err();
        let fields: Vec<&str> = errs.0.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["name", "country", "domain"]);
    }
}
