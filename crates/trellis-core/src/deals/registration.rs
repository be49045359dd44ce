//! What a partner registers, checked against the program's rules of
//! engagement: which fields are required, the program's own fields, the
//! currency, bounds on every value.

use super::Rules;
use crate::matching::{normalize, Customer};
use crate::validate::{non_empty as text, Email, FieldError, FieldErrors, Name};
use serde::Deserialize;
use std::collections::BTreeMap;

/// A deal to register. Which fields are required comes from the
/// rules of engagement of the partner's program (by default: customer_name,
/// customer_domain or contact_email, country, amount, currency, expected_close).
#[derive(Debug, Deserialize, Default, Clone)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = RegisterDeal))]
#[serde(deny_unknown_fields)]
pub struct Registration {
    /// Vendor users register on behalf of this partner; partner users omit it.
    pub partner_id: Option<String>,
    pub customer_name: String,
    /// The customer's web domain or URL.
    pub customer_domain: Option<String>,
    /// A contact's e-mail address; its domain stands in for customer_domain.
    pub contact_email: Option<String>,
    /// ISO 3166-1 alpha-2 country code of the customer.
    pub country: String,
    pub city: Option<String>,
    pub address: Option<String>,
    /// Tax or DUNS number.
    pub tax_id: Option<String>,
    /// Products or lines, free text.
    pub products: Option<String>,
    /// More than 0, at most two decimals, as a string ("12500.00").
    pub amount: String,
    /// ISO 4217; defaults to the program's currency.
    #[serde(default)]
    pub currency: String,
    /// YYYY-MM-DD, today or later.
    pub expected_close: String,
    /// The partner's seller.
    pub seller: Option<String>,
    pub notes: Option<String>,
    /// The program's own fields (e.g. `use_case`), by the names its rules of engagement use.
    pub fields: Option<BTreeMap<String, String>>,
    /// Submit now (default) or keep as a draft.
    pub submit: Option<bool>,
}

/// A registration that passed [`Registration::validate`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NewDeal {
    pub customer_name: String,
    pub customer_domain: Option<String>,
    pub customer_country: String,
    pub customer_city: Option<String>,
    pub customer_address: Option<String>,
    pub customer_tax_id: Option<String>,
    pub products: Option<String>,
    /// Decimal with two places, as text.
    pub amount: String,
    pub currency: String,
    pub expected_close: String,
    pub seller: Option<String>,
    pub notes: Option<String>,
    pub fields: BTreeMap<String, String>,
}

impl NewDeal {
    pub fn customer(&self) -> Customer<'_> {
        Customer {
            name: &self.customer_name,
            domain: self.customer_domain.as_deref(),
            country: &self.customer_country,
            city: self.customer_city.as_deref(),
        }
    }
}

impl Registration {
    /// The value of a field by the name rules of engagement use.
    fn value(&self, field: &str) -> Option<&str> {
        match field {
            "customer_name" => Some(self.customer_name.as_str()),
            "customer_domain" => self.customer_domain.as_deref(),
            "contact_email" => self.contact_email.as_deref(),
            "country" => Some(self.country.as_str()),
            "city" => self.city.as_deref(),
            "address" => self.address.as_deref(),
            "tax_id" => self.tax_id.as_deref(),
            "products" => self.products.as_deref(),
            "amount" => Some(self.amount.as_str()),
            "currency" => Some(self.currency.as_str()),
            "expected_close" => Some(self.expected_close.as_str()),
            "seller" => self.seller.as_deref(),
            "notes" => self.notes.as_deref(),
            other => self
                .fields
                .as_ref()
                .and_then(|m| m.get(other))
                .map(String::as_str),
        }
    }

    /// Validates every field against `rules` (`today` is YYYY-MM-DD), naming
    /// each bad one.
    pub fn validate(&self, rules: &Rules, today: &str) -> Result<NewDeal, FieldErrors> {
        let mut errs = FieldErrors::new();
        super::require(
            rules,
            |f| self.value(f).is_some_and(|s| !s.trim().is_empty()),
            &mut errs,
        );
        let missing: Vec<String> = errs.0.iter().map(|e| e.field.clone()).collect();
        let required = |f: &str| missing.iter().any(|m| m == f);
        let name = if required("customer_name") {
            None
        } else {
            errs.check(Name::parse("customer_name", &self.customer_name, 200))
        };
        let country = if required("country") {
            None
        } else {
            errs.check(crate::country::parse("country", &self.country))
        };
        let mut domain = None;
        if let Some(d) = text(&self.customer_domain) {
            match normalize::domain(&d) {
                Some(x) => domain = Some(x.registrable),
                None => errs.push(FieldError::new(
                    "customer_domain",
                    "invalid-domain",
                    "customer_domain must be a web domain such as acme.de or https://www.acme.co.uk",
                )),
            }
        }
        if let Some(e) = text(&self.contact_email) {
            if let Some(email) = errs.check(Email::parse("contact_email", &e)) {
                if domain.is_none() {
                    match normalize::domain(email.as_str()) {
                        Some(x) if !x.free_mail => domain = Some(x.registrable),
                        Some(_) if rules.required_fields.iter().any(|f| f == "customer_domain") => {
                            errs.push(FieldError::new(
                                "contact_email",
                                "free-mail",
                                "a webmail address says nothing about the company: give customer_domain or a company e-mail",
                            ));
                        }
                        _ => {}
                    }
                }
            }
        }
        let amount = if required("amount") {
            None
        } else {
            errs.check(super::amount("amount", &self.amount))
        };
        let currency = if required("currency") {
            None
        } else if self.currency.trim().is_empty() && rules.currency.is_some() {
            rules.currency.clone()
        } else {
            errs.check(super::currency("currency", &self.currency))
        };
        let close = if required("expected_close") {
            None
        } else {
            errs.check(super::date("expected_close", &self.expected_close))
        };
        if let Some(c) = &close {
            if c.as_str() < today {
                errs.push(FieldError::new(
                    "expected_close",
                    "in-the-past",
                    format!("expected_close is in the past (today is {today})"),
                ));
            }
        }
        for (field, value, max) in [
            ("city", &self.city, 100),
            ("address", &self.address, 300),
            ("tax_id", &self.tax_id, 50),
            ("products", &self.products, 500),
            ("seller", &self.seller, 200),
            ("notes", &self.notes, 4000),
        ] {
            if value.as_ref().is_some_and(|v| v.chars().count() > max) {
                errs.push(FieldError::new(
                    field,
                    "too-long",
                    format!("{field} is limited to {max} characters"),
                ));
            }
        }
        let extra = self.custom_fields(rules, &mut errs);
        errs.into_result()?;
        let (Some(name), Some(country), Some(amount), Some(currency), Some(close)) =
            (name, country, amount, currency, close)
        else {
            unreachable!("every None recorded an error");
        };
        Ok(NewDeal {
            fields: extra,
            customer_name: name.into_string(),
            customer_domain: domain,
            customer_country: country.to_string(),
            customer_city: text(&self.city),
            customer_address: text(&self.address),
            customer_tax_id: text(&self.tax_id),
            products: text(&self.products),
            amount: crate::program::economics::cents(amount).to_string(),
            currency,
            expected_close: close,
            seller: text(&self.seller),
            notes: text(&self.notes),
        })
    }

    /// The program's own fields: known to the rules, at most 1000 characters.
    fn custom_fields(&self, rules: &Rules, errs: &mut FieldErrors) -> BTreeMap<String, String> {
        let custom = rules.custom_fields();
        let mut extra = BTreeMap::new();
        for (k, v) in self.fields.iter().flatten() {
            if !custom.iter().any(|(f, _)| f == k) {
                let known = if custom.is_empty() {
                    "none".to_string()
                } else {
                    custom
                        .iter()
                        .map(|(f, _)| *f)
                        .collect::<Vec<_>>()
                        .join(", ")
                };
                errs.push(FieldError::new(
                    format!("fields.{k}"),
                    "unknown-field",
                    format!("{k} is not a field of the program's registrations (its own fields: {known})"),
                ));
            } else if v.chars().count() > 1000 {
                errs.push(FieldError::new(
                    format!("fields.{k}"),
                    "too-long",
                    format!("{k} is limited to 1000 characters"),
                ));
            } else if !v.trim().is_empty() {
                extra.insert(k.clone(), v.trim().to_string());
            }
        }
        extra
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn full() -> Registration {
        Registration {
            customer_name: "Acme GmbH".into(),
            customer_domain: Some("https://www.acme.de/".into()),
            country: "de".into(),
            amount: "12500".into(),
            currency: "EUR".into(),
            expected_close: "2030-01-31".into(),
            ..Registration::default()
        }
    }

    #[test]
    fn a_complete_registration_is_normalised() {
        let d = full().validate(&Rules::default(), "2029-12-01").unwrap();
        assert_eq!(d.customer_domain.as_deref(), Some("acme.de"));
        assert_eq!(d.customer_country, "DE");
        assert_eq!(d.amount, "12500.00");
    }

    #[test]
    fn missing_required_fields_are_each_named_once() {
        let r = Registration::default();
        let errs = r.validate(&Rules::default(), "2029-12-01").unwrap_err();
        let fields: Vec<&str> = errs.0.iter().map(|e| e.field.as_str()).collect();
        for f in [
            "customer_name",
            "customer_domain",
            "country",
            "amount",
            "currency",
            "expected_close",
        ] {
            assert_eq!(
                fields.iter().filter(|x| **x == f).count(),
                1,
                "{f} in {fields:?}"
            );
        }
    }

    #[test]
    fn a_company_email_stands_in_for_the_domain_and_webmail_does_not() {
        let mut r = full();
        r.customer_domain = None;
        r.contact_email = Some("jane@acme.co.uk".into());
        let d = r.validate(&Rules::default(), "2029-12-01").unwrap();
        assert_eq!(d.customer_domain.as_deref(), Some("acme.co.uk"));
        r.contact_email = Some("jane@gmail.com".into());
        let errs = r.validate(&Rules::default(), "2029-12-01").unwrap_err();
        assert_eq!(errs.0[0].code, "free-mail");
    }

    #[test]
    fn a_close_date_in_the_past_and_unknown_program_fields_are_refused() {
        let mut r = full();
        r.expected_close = "2029-11-30".into();
        r.fields = Some(BTreeMap::from([("use_case".to_string(), "x".to_string())]));
        let errs = r.validate(&Rules::default(), "2029-12-01").unwrap_err();
        let codes: Vec<&str> = errs.0.iter().map(|e| e.code).collect();
        assert_eq!(codes, ["in-the-past", "unknown-field"]);
    }

    #[test]
    fn the_programs_currency_fills_an_empty_one() {
        let mut r = full();
        r.currency = String::new();
        let rules = Rules {
            currency: Some("USD".into()),
            ..Rules::default()
        };
        assert_eq!(r.validate(&rules, "2029-12-01").unwrap().currency, "USD");
    }
}
