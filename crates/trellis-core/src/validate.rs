//! Parsing of user input into domain values. Each constructor names the field
//! it failed on so the API and the portal can point at it.

use serde::Serialize;
use std::fmt;

/// One problem with one input field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// The field as the client named it (`email`, `slug`, `users[2].email`).
    pub field: String,
    /// Stable machine-readable code (`required`, `too-long`, `invalid-format`, …).
    pub code: &'static str,
    /// Human-readable explanation.
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            code,
            message: message.into(),
        }
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

impl std::error::Error for FieldError {}

/// Collects every field problem of one input so the client sees them all at once.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct FieldErrors(pub Vec<FieldError>);

impl FieldErrors {
    pub fn new() -> Self {
        Self::default()
    }

    /// Runs a parse and records its error, returning the value when it parsed.
    pub fn check<T>(&mut self, r: Result<T, FieldError>) -> Option<T> {
        match r {
            Ok(v) => Some(v),
            Err(e) => {
                self.0.push(e);
                None
            }
        }
    }

    pub fn push(&mut self, e: FieldError) {
        self.0.push(e);
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `Ok(())` when nothing was recorded.
    pub fn into_result(self) -> Result<(), FieldErrors> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(self)
        }
    }
}

impl fmt::Display for FieldErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self.0.iter().map(ToString::to_string).collect();
        f.write_str(&parts.join("; "))
    }
}

impl std::error::Error for FieldErrors {}

impl From<FieldError> for FieldErrors {
    fn from(e: FieldError) -> Self {
        Self(vec![e])
    }
}

/// Trimmed text of an optional field, `None` when absent or blank.
pub fn non_empty(s: &Option<String>) -> Option<String> {
    s.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// Free text that must be given, trimmed, of at most `max` characters.
pub fn text(field: &str, raw: &str, max: usize) -> Result<String, FieldError> {
    required(field, raw)?;
    let t = raw.trim();
    max_chars(field, t, max)?;
    Ok(t.to_string())
}

pub fn required(field: &str, raw: &str) -> Result<(), FieldError> {
    if raw.trim().is_empty() {
        Err(FieldError::new(
            field,
            "required",
            format!("{field} is required"),
        ))
    } else {
        Ok(())
    }
}

pub fn max_chars(field: &str, raw: &str, max: usize) -> Result<(), FieldError> {
    if raw.chars().count() > max {
        Err(FieldError::new(
            field,
            "too-long",
            format!("{field} must be at most {max} characters"),
        ))
    } else {
        Ok(())
    }
}

/// A lower-cased, syntactically plausible e-mail address.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct Email(String);

impl Email {
    /// Parses an address: trimmed and lower-cased, one `@`, a local part of
    /// 1–64 characters that neither starts nor ends with a dot nor has two
    /// dots in a row, and a domain of at least two dot-separated labels, each
    /// non-empty, of letters, digits and hyphens, not starting or ending with a
    /// hyphen. Every failure names the field and says what is wrong.
    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        required(field, raw)?;
        let s = raw.trim().to_lowercase();
        max_chars(field, &s, 254)?;
        let invalid = |why: &str| {
            FieldError::new(
                field,
                "invalid-email",
                format!("{field} must be an e-mail address like name@example.com ({why})"),
            )
        };
        if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(invalid("no spaces"));
        }
        let (local, domain) = s.rsplit_once('@').ok_or_else(|| invalid("no @"))?;
        if local.contains('@') {
            return Err(invalid("more than one @"));
        }
        if local.is_empty() {
            return Err(invalid("nothing before the @"));
        }
        if local.len() > 64 {
            return Err(invalid("more than 64 characters before the @"));
        }
        if local.starts_with('.') || local.ends_with('.') {
            return Err(invalid("the part before the @ starts or ends with a dot"));
        }
        if local.contains("..") {
            return Err(invalid("two dots in a row before the @"));
        }
        if domain.is_empty() {
            return Err(invalid("nothing after the @"));
        }
        let labels: Vec<&str> = domain.split('.').collect();
        if labels.len() < 2 {
            return Err(invalid("the domain has no dot"));
        }
        if labels.iter().any(|l| l.is_empty()) {
            return Err(invalid("the domain has an empty part between dots"));
        }
        if labels
            .iter()
            .any(|l| !l.chars().all(|c| c.is_alphanumeric() || c == '-'))
        {
            return Err(invalid(
                "the domain may hold only letters, digits, hyphens and dots",
            ));
        }
        if labels
            .iter()
            .any(|l| l.starts_with('-') || l.ends_with('-'))
        {
            return Err(invalid("a part of the domain starts or ends with a hyphen"));
        }
        if labels.iter().any(|l| l.len() > 63) {
            return Err(invalid("a part of the domain is longer than 63 characters"));
        }
        Ok(Self(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn local_part(&self) -> &str {
        self.0.split('@').next().unwrap_or_default()
    }
}

/// A URL-safe identifier: lower-case ASCII letters, digits and single hyphens.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct Slug(String);

impl Slug {
    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        required(field, raw)?;
        let s = raw.trim();
        if s.len() < 2 || s.len() > 63 {
            return Err(FieldError::new(
                field,
                "invalid-length",
                format!("{field} must be 2 to 63 characters"),
            ));
        }
        let ok_chars = s
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !ok_chars || s.starts_with('-') || s.ends_with('-') || s.contains("--") {
            return Err(FieldError::new(
                field,
                "invalid-format",
                format!(
                    "{field} may contain only lower-case letters a-z, digits and single hyphens, \
                     not at the start or end (e.g. acme-systems)"
                ),
            ));
        }
        Ok(Self(s.to_string()))
    }

    /// Derives a slug from a display name ("Müller & Söhne GmbH" → "muller-sohne-gmbh").
    pub fn suggest(name: &str) -> String {
        let mut out = String::new();
        for c in name.chars() {
            let c = fold_accent(c).to_ascii_lowercase();
            if c.is_ascii_alphanumeric() {
                out.push(c);
            } else if !out.ends_with('-') && !out.is_empty() {
                out.push('-');
            }
        }
        let out = out.trim_end_matches('-');
        out.chars()
            .take(63)
            .collect::<String>()
            .trim_end_matches('-')
            .to_string()
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn fold_accent(c: char) -> char {
    match c {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'À' | 'Á' | 'Â' | 'Ã' | 'Ä' | 'Å' => 'a',
        'ç' | 'Ç' => 'c',
        'è' | 'é' | 'ê' | 'ë' | 'È' | 'É' | 'Ê' | 'Ë' => 'e',
        'ì' | 'í' | 'î' | 'ï' | 'Ì' | 'Í' | 'Î' | 'Ï' => 'i',
        'ñ' | 'Ñ' => 'n',
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'Ò' | 'Ó' | 'Ô' | 'Õ' | 'Ö' | 'Ø' => 'o',
        'ù' | 'ú' | 'û' | 'ü' | 'Ù' | 'Ú' | 'Û' | 'Ü' => 'u',
        'ý' | 'ÿ' | 'Ý' => 'y',
        'ß' => 's',
        other => other,
    }
}

/// A short human-facing name (organisation or person): trimmed, 1–`max` characters,
/// no control characters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Name(String);

impl Name {
    pub fn parse(field: &str, raw: &str, max: usize) -> Result<Self, FieldError> {
        required(field, raw)?;
        let s = raw.trim();
        max_chars(field, s, max)?;
        if s.chars().any(char::is_control) {
            return Err(FieldError::new(
                field,
                "invalid-characters",
                format!("{field} must not contain control characters"),
            ));
        }
        Ok(Self(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

/// A short owner-defined label such as a partner type (`reseller`) or a region
/// (`dach`, `north-america`): same syntax as a slug, at most 40 characters.
pub fn label(field: &str, raw: &str) -> Result<String, FieldError> {
    let s = Slug::parse(field, raw).map_err(|mut e| {
        e.message = format!(
            "{field} must be a short lower-case label such as 'reseller' or 'north-america' \
             (letters a-z, digits, single hyphens)"
        );
        e
    })?;
    max_chars(field, s.as_str(), 40)?;
    Ok(s.0)
}

/// The lower-cased form used for search and for a stable, locale-independent sort.
pub fn search_key(name: &str) -> String {
    name.trim().to_lowercase()
}

/// An optional web address, `https://` or `http://`, at most 255 characters.
pub fn website(field: &str, raw: &str) -> Result<Option<String>, FieldError> {
    let s = raw.trim();
    if s.is_empty() {
        return Ok(None);
    }
    max_chars(field, s, 255)?;
    let rest = s
        .strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"))
        .ok_or_else(|| {
            FieldError::new(
                field,
                "invalid-url",
                format!("{field} must start with https:// or http://"),
            )
        })?;
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if host.is_empty() || !host.contains('.') || host.chars().any(|c| c.is_whitespace()) {
        return Err(FieldError::new(
            field,
            "invalid-url",
            format!("{field} must be a web address like https://example.com"),
        ));
    }
    Ok(Some(s.to_string()))
}

const COMMON_PASSWORDS: &[&str] = &[
    "password",
    "password1",
    "password123",
    "passw0rd",
    "123456789012",
    "qwertyuiopas",
    "iloveyou1234",
    "letmein12345",
    "welcome12345",
    "changeme1234",
    "administrator",
    "trustno1trustno1",
    "correcthorsebatterystaple",
    "qwerty123456",
    "123456123456",
    "abc123abc123",
    "passwordpassword",
    "partnerportal",
    "trellis12345",
];

/// Checks a new password: 12–128 characters, not trivially guessable. Returns the
/// reason when it is too weak; the password itself is never echoed.
pub fn check_password(
    field: &str,
    password: &str,
    email: Option<&Email>,
) -> Result<(), FieldError> {
    let weak = |msg: &str| FieldError::new(field, "weak-password", format!("{field} {msg}"));
    let n = password.chars().count();
    if n < 12 {
        return Err(weak("must be at least 12 characters long"));
    }
    if n > 128 {
        return Err(FieldError::new(
            field,
            "too-long",
            format!("{field} must be at most 128 characters"),
        ));
    }
    let distinct: std::collections::BTreeSet<char> = password.chars().collect();
    if distinct.len() < 5 {
        return Err(weak("uses too few different characters"));
    }
    let lower = password.to_lowercase();
    if COMMON_PASSWORDS.iter().any(|p| lower == *p) {
        return Err(weak("is a commonly used password; choose another"));
    }
    if let Some(email) = email {
        let local = email.local_part();
        if local.len() >= 4 && lower.contains(local) {
            return Err(weak("must not contain your e-mail address"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn email_accepts_and_lowercases() {
        let e = Email::parse("email", "  Ada.Lovelace@Example.COM ").unwrap();
        assert_eq!(e.as_str(), "ada.lovelace@example.com");
        assert_eq!(e.local_part(), "ada.lovelace");
    }

    #[test]
    fn email_rejects_bad_shapes() {
        for bad in [
            "",
            "ada",
            "ada@",
            "@example.com",
            "ada@example",
            "a b@example.com",
            "ada@exa mple.com",
            "ada@.example.com",
            "ada@example..com",
            "ada@@example.com",
            "ada@example.com.",
            ".a@x.com",
            "a.@x.com",
            "a..b@x.com",
            "a@-x.com",
            "a@x-.com",
            "a@x.-y.com",
            "a@x.com-",
            "a@x_y.com",
        ] {
            let err = Email::parse("email", bad).unwrap_err();
            assert_eq!(err.field, "email", "{bad}");
            assert!(err.message.starts_with("email "), "{bad}: {}", err.message);
        }
        assert_eq!(Email::parse("email", "").unwrap_err().code, "required");
        for (bad, why) in [
            (".a@x.com", "starts or ends with a dot"),
            ("a..b@x.com", "two dots in a row"),
            ("a@-x.com", "starts or ends with a hyphen"),
            ("a@x..com", "empty part"),
        ] {
            let err = Email::parse("contact_email", bad).unwrap_err();
            assert_eq!(
                (err.field.as_str(), err.code),
                ("contact_email", "invalid-email"),
                "{bad}"
            );
            assert!(
                err.message.starts_with("contact_email "),
                "{bad}: {}",
                err.message
            );
            assert!(err.message.contains(why), "{bad}: {}", err.message);
        }
    }

    #[test]
    fn email_accepts_edge_shapes() {
        for good in [
            "a.b@x.com",
            "a+tag@x-y.example.co.uk",
            "a-@x.com",
            "_a_@1x.com",
            "a@x.y",
        ] {
            assert_eq!(Email::parse("email", good).unwrap().as_str(), good);
        }
    }

    #[test]
    fn slug_rules() {
        assert!(Slug::parse("slug", "acme-systems").is_ok());
        assert!(Slug::parse("slug", "a1").is_ok());
        for bad in [
            "A", "Acme", "acme--x", "-acme", "acme-", "acme_x", "ac me", "a",
        ] {
            assert!(Slug::parse("slug", bad).is_err(), "{bad}");
        }
        assert_eq!(Slug::parse("slug", "").unwrap_err().code, "required");
    }

    #[test]
    fn slug_suggestion() {
        assert_eq!(Slug::suggest("Müller & Söhne GmbH"), "muller-sohne-gmbh");
        assert_eq!(Slug::suggest("  ACME, Inc. "), "acme-inc");
    }

    #[test]
    fn password_policy() {
        assert!(check_password("password", "short", None).is_err());
        assert!(check_password("password", "aaaaaaaaaaaaaaa", None).is_err());
        assert!(check_password("password", "PasswordPassword", None).is_err());
        let e = Email::parse("email", "jonathan@example.com").unwrap();
        assert!(check_password("password", "jonathan-2027-xyz", Some(&e)).is_err());
        assert!(check_password("password", "violet-harbour-42", Some(&e)).is_ok());
    }

    #[test]
    fn website_rules() {
        assert_eq!(website("website", "").unwrap(), None);
        assert!(website("website", "https://acme.example")
            .unwrap()
            .is_some());
        assert!(website("website", "ftp://acme.example").is_err());
        assert!(website("website", "https://").is_err());
    }

    proptest! {
        #[test]
        fn suggested_slugs_parse(name in "\\PC{1,80}") {
            let s = Slug::suggest(&name);
            if s.len() >= 2 {
                prop_assert!(Slug::parse("slug", &s).is_ok(), "{s}");
            }
        }

        /// Every well-formed address parses, trimmed and lower-cased.
        #[test]
        fn parsed_emails_are_lowercase_and_trimmed(
            local in "[a-zA-Z0-9_+-]{1,8}(\\.[a-zA-Z0-9_+-]{1,8}){0,2}",
            labels in prop::collection::vec("[a-zA-Z0-9]([a-zA-Z0-9-]{0,8}[a-zA-Z0-9])?", 1..4),
        ) {
            let raw = format!(" {local}@{}.com ", labels.join("."));
            match Email::parse("email", &raw) {
                Ok(e) => prop_assert_eq!(e.as_str(), raw.trim().to_lowercase()),
                Err(err) => prop_assert!(false, "{raw:?} is well-formed but was rejected: {err}"),
            }
        }

        /// A dot or hyphen in a forbidden place makes any well-formed address invalid.
        #[test]
        fn misplaced_dots_and_hyphens_are_rejected(
            local in "[a-z0-9]{1,8}",
            dom in "[a-z0-9]{1,8}",
            flaw in 0..6usize,
        ) {
            let raw = match flaw {
                0 => format!(".{local}@{dom}.com"),
                1 => format!("{local}.@{dom}.com"),
                2 => format!("{local}..{local}@{dom}.com"),
                3 => format!("{local}@-{dom}.com"),
                4 => format!("{local}@{dom}-.com"),
                _ => format!("{local}@{dom}..com"),
            };
            let err = Email::parse("email", &raw);
            prop_assert!(err.is_err(), "{raw:?} was accepted");
        }
    }
}
