//! The authorization policy. Handlers ask these questions and nothing else
//! decides who may see or change what.
//!
//! - vendor admins read and change everything;
//! - channel managers read every partner and change only partners assigned to them;
//! - partner users see only their own organisation; partner admins also change it
//!   (its profile, never its status or manager) and invite its users;
//! - vendor admins design programs; every vendor user reads them; partners see
//!   only the published versions of programs they are enrolled in.

use crate::org::{Role, TokenScope};

/// The part of the API an operation belongs to, for token scopes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiArea {
    /// Who am I: any valid token.
    Me,
    /// Managing tokens: only with `admin` (a narrower token must not mint a
    /// wider one).
    Tokens,
    /// A person's data, read out or erased: only with `admin`.
    PersonalData,
    Deals,
    Incentives,
    Other,
}

/// Whether a token with `scopes` may make a request to `area` (`write`: any
/// method but GET and HEAD). On top of this the user's role decides, as
/// for any caller.
pub fn scopes_permit(scopes: &[TokenScope], area: ApiArea, write: bool) -> bool {
    let has = |s: TokenScope| scopes.contains(&s);
    match area {
        _ if has(TokenScope::Admin) => true,
        ApiArea::Me => true,
        ApiArea::Tokens | ApiArea::PersonalData => false,
        ApiArea::Deals if has(TokenScope::Deals) => true,
        ApiArea::Incentives if has(TokenScope::Incentives) => true,
        _ => !write && has(TokenScope::Read),
    }
}

/// The authenticated caller, as the policy needs to see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub user_id: String,
    pub role: Role,
    /// Set exactly for partner roles.
    pub partner_id: Option<String>,
}

/// What the policy needs to know about a partner organisation.
#[derive(Debug, Clone, Copy)]
pub struct PartnerRef<'a> {
    pub id: &'a str,
    pub channel_manager_id: Option<&'a str>,
}

/// Which partners a caller may list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PartnerScope {
    All,
    Only(String),
}

impl Principal {
    pub fn is_vendor(&self) -> bool {
        self.role.is_vendor()
    }

    fn is_member_of(&self, partner_id: &str) -> bool {
        self.partner_id.as_deref() == Some(partner_id)
    }

    pub fn partner_scope(&self) -> PartnerScope {
        match (&self.partner_id, self.is_vendor()) {
            (_, true) => PartnerScope::All,
            (Some(p), false) => PartnerScope::Only(p.clone()),
            // A partner role without a partner cannot exist (the store enforces it);
            // if it ever did, it sees nothing.
            (None, false) => PartnerScope::Only(String::new()),
        }
    }

    /// May see the partner at all. When this is false the API answers 404.
    pub fn can_read_partner(&self, p: PartnerRef<'_>) -> bool {
        self.is_vendor() || self.is_member_of(p.id)
    }

    /// May change the partner's profile (name, website, country, region).
    pub fn can_edit_partner_profile(&self, p: PartnerRef<'_>) -> bool {
        match self.role {
            Role::VendorAdmin => true,
            Role::ChannelManager => p.channel_manager_id == Some(self.user_id.as_str()),
            Role::PartnerAdmin => self.is_member_of(p.id),
            Role::PartnerUser => false,
        }
    }

    /// May change the commercial fields: status, partner type, channel manager, slug.
    pub fn can_manage_partner(&self, p: PartnerRef<'_>) -> bool {
        match self.role {
            Role::VendorAdmin => true,
            Role::ChannelManager => p.channel_manager_id == Some(self.user_id.as_str()),
            Role::PartnerAdmin | Role::PartnerUser => false,
        }
    }

    pub fn can_create_partner(&self) -> bool {
        self.is_vendor()
    }

    /// May list the partner's users.
    pub fn can_read_partner_users(&self, p: PartnerRef<'_>) -> bool {
        self.can_read_partner(p)
    }

    /// May invite a user with `role` into the partner.
    pub fn can_invite(&self, p: PartnerRef<'_>, role: Role) -> bool {
        role.is_partner() && (self.can_manage_partner(p) || self.can_edit_partner_profile(p))
    }

    /// May read the audit trail and the vendor-wide user list.
    pub fn can_read_audit(&self) -> bool {
        self.role == Role::VendorAdmin
    }

    /// May create vendor users and see every user.
    pub fn can_manage_vendor_users(&self) -> bool {
        self.role == Role::VendorAdmin
    }

    /// May see every program version, drafts and findings included.
    pub fn can_read_program_versions(&self) -> bool {
        self.is_vendor()
    }

    /// May upload, publish and retire program versions.
    pub fn can_manage_programs(&self) -> bool {
        self.role == Role::VendorAdmin
    }

    /// May enroll the partner in a program (type, segment, tier or track).
    pub fn can_enroll_partner(&self, p: PartnerRef<'_>) -> bool {
        self.can_manage_partner(p)
    }

    /// May read and decide applications to become a partner.
    pub fn can_review_applications(&self) -> bool {
        self.is_vendor()
    }

    /// May publish new versions of partner agreements.
    pub fn can_manage_agreements(&self) -> bool {
        self.role == Role::VendorAdmin
    }

    /// May accept the partner's agreement on its behalf.
    pub fn can_accept_agreement(&self, p: PartnerRef<'_>) -> bool {
        self.role == Role::PartnerAdmin && self.is_member_of(p.id)
    }

    /// May move the partnership to another lifecycle stage.
    pub fn can_move_stage(&self, p: PartnerRef<'_>) -> bool {
        self.can_manage_partner(p)
    }

    /// May tick (or reopen) the partner's onboarding tasks by hand.
    pub fn can_tick_onboarding(&self, p: PartnerRef<'_>) -> bool {
        self.can_manage_partner(p) || self.can_accept_agreement(p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn who(role: Role, partner: Option<&str>) -> Principal {
        Principal {
            user_id: "u1".into(),
            role,
            partner_id: partner.map(str::to_string),
        }
    }

    const MINE: PartnerRef<'static> = PartnerRef {
        id: "p1",
        channel_manager_id: Some("u1"),
    };
    const OTHER: PartnerRef<'static> = PartnerRef {
        id: "p2",
        channel_manager_id: Some("u9"),
    };

    #[test]
    fn vendor_admin_does_everything() {
        let a = who(Role::VendorAdmin, None);
        assert!(a.can_read_partner(OTHER) && a.can_manage_partner(OTHER) && a.can_read_audit());
        assert_eq!(a.partner_scope(), PartnerScope::All);
    }

    #[test]
    fn channel_manager_changes_only_assigned() {
        let cm = who(Role::ChannelManager, None);
        assert!(cm.can_read_partner(OTHER));
        assert!(!cm.can_manage_partner(OTHER));
        assert!(!cm.can_edit_partner_profile(OTHER));
        assert!(cm.can_manage_partner(MINE));
        assert!(cm.can_invite(MINE, Role::PartnerAdmin));
        assert!(!cm.can_invite(OTHER, Role::PartnerAdmin));
        assert!(!cm.can_read_audit());
    }

    #[test]
    fn partner_users_are_confined() {
        let pa = who(Role::PartnerAdmin, Some("p1"));
        assert!(pa.can_read_partner(MINE));
        assert!(!pa.can_read_partner(OTHER));
        assert!(pa.can_edit_partner_profile(MINE));
        assert!(!pa.can_manage_partner(MINE));
        assert!(pa.can_invite(MINE, Role::PartnerUser));
        assert!(!pa.can_invite(MINE, Role::VendorAdmin));
        assert!(!pa.can_invite(OTHER, Role::PartnerUser));
        assert_eq!(pa.partner_scope(), PartnerScope::Only("p1".into()));

        let pu = who(Role::PartnerUser, Some("p1"));
        assert!(pu.can_read_partner(MINE));
        assert!(!pu.can_edit_partner_profile(MINE));
        assert!(!pu.can_invite(MINE, Role::PartnerUser));
    }

    #[test]
    fn only_vendor_admins_design_programs() {
        let a = who(Role::VendorAdmin, None);
        let cm = who(Role::ChannelManager, None);
        let pa = who(Role::PartnerAdmin, Some("p1"));
        assert!(a.can_manage_programs() && a.can_read_program_versions());
        assert!(!cm.can_manage_programs() && cm.can_read_program_versions());
        assert!(cm.can_enroll_partner(MINE) && !cm.can_enroll_partner(OTHER));
        assert!(!pa.can_manage_programs() && !pa.can_read_program_versions());
        assert!(!pa.can_enroll_partner(MINE));
    }

    #[test]
    fn orphan_partner_role_sees_nothing() {
        let ghost = who(Role::PartnerUser, None);
        assert!(!ghost.can_read_partner(MINE));
        assert_eq!(ghost.partner_scope(), PartnerScope::Only(String::new()));
    }
}

#[cfg(test)]
mod scope_tests {
    use super::*;
    use TokenScope::*;

    #[test]
    fn scopes_allow_only_their_area() {
        let cases = [
            (&[Read][..], ApiArea::Other, false, true),
            (&[Read], ApiArea::Deals, true, false),
            (&[Read], ApiArea::Tokens, false, false),
            (&[Read], ApiArea::Me, false, true),
            (&[Deals], ApiArea::Deals, true, true),
            (&[Deals], ApiArea::Deals, false, true),
            (&[Deals], ApiArea::Other, false, false),
            (&[Deals], ApiArea::Incentives, true, false),
            (&[Deals, Read], ApiArea::Other, false, true),
            (&[Deals, Read], ApiArea::Other, true, false),
            (&[Incentives], ApiArea::Incentives, true, true),
            (&[Incentives], ApiArea::Tokens, true, false),
            (&[Admin], ApiArea::Tokens, true, true),
            (&[Admin], ApiArea::Other, true, true),
            (&[], ApiArea::Other, false, false),
        ];
        for (scopes, area, write, ok) in cases {
            assert_eq!(
                scopes_permit(scopes, area, write),
                ok,
                "{scopes:?} {area:?} {write}"
            );
        }
    }
}
