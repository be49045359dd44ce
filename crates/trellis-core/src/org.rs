//! The organisation model: one vendor, many partners, users in exactly one of them.

use crate::validate::FieldError;
use serde::{Deserialize, Serialize};

macro_rules! string_enum {
    ($(#[$m:meta])* $name:ident { $($variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum $name { $(#[serde(rename = $text)] $variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            /// Parses the wire form, naming `field` and the accepted values on failure.
            pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
                match raw.trim() {
                    $($text => Ok($name::$variant),)+
                    "" => Err(FieldError::new(field, "required", format!("{field} is required"))),
                    _ => Err(FieldError::new(
                        field,
                        "invalid-value",
                        format!("{field} must be one of: {}", [$($text),+].join(", ")),
                    )),
                }
            }
        }

        // By hand: the derive does not see the renames made inside a macro.
        #[cfg(feature = "openapi")]
        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::schema::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .enum_values(Some([$($text),+]))
                    .into()
            }
        }

        #[cfg(feature = "openapi")]
        impl utoipa::ToSchema for $name {
            fn name() -> std::borrow::Cow<'static, str> {
                std::borrow::Cow::Borrowed(stringify!($name))
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

string_enum!(
    /// What a user may do; vendor roles have no partner, partner roles exactly one.
    Role {
        VendorAdmin = "vendor-admin",
        ChannelManager = "channel-manager",
        PartnerAdmin = "partner-admin",
        PartnerUser = "partner-user",
    }
);

impl Role {
    pub fn is_vendor(self) -> bool {
        matches!(self, Role::VendorAdmin | Role::ChannelManager)
    }

    pub fn is_partner(self) -> bool {
        !self.is_vendor()
    }

    pub fn label(self) -> &'static str {
        match self {
            Role::VendorAdmin => "Vendor admin",
            Role::ChannelManager => "Channel manager",
            Role::PartnerAdmin => "Partner admin",
            Role::PartnerUser => "Partner user",
        }
    }
}

string_enum!(
    /// Where a partner organisation stands with the vendor.
    PartnerStatus {
        Prospect = "prospect",
        Onboarding = "onboarding",
        Active = "active",
        Suspended = "suspended",
        Terminated = "terminated",
    }
);

string_enum!(
    /// What an API token may be used for: `read` (every read), `deals`
    /// (deal registrations, accounts and conflict checks, read and write),
    /// `incentives` (sales imports, calculations and statements, read and
    /// write), `admin` (everything its user may do). A token holds one or more.
    TokenScope {
        Read = "read",
        Deals = "deals",
        Incentives = "incentives",
        Admin = "admin",
    }
);

string_enum!(
    /// Whether a user can sign in.
    UserStatus {
        Invited = "invited",
        Active = "active",
        Disabled = "disabled",
    }
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        for r in Role::ALL {
            assert_eq!(Role::parse("role", r.as_str()).unwrap(), *r);
        }
        for s in PartnerStatus::ALL {
            assert_eq!(PartnerStatus::parse("status", s.as_str()).unwrap(), *s);
        }
        let e = Role::parse("role", "admin").unwrap_err();
        assert_eq!(e.field, "role");
        assert!(e.message.contains("vendor-admin"));
    }
}
