//! Who acts on the platform: organisations, their certificate identities and roles.

use serde::{Deserialize, Serialize};

use super::usci::Usci;

/// What an identity may do. Bidders register themselves; every other role is granted by an
/// administrator named in the server configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Bidder,
    TradingCentre,
    Supervisor,
    Custodian,
    /// An evaluation expert (评标专家) of the pool committees are drawn from.
    Expert,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Bidder => "bidder",
            Role::TradingCentre => "trading_centre",
            Role::Supervisor => "supervisor",
            Role::Custodian => "custodian",
            Role::Expert => "expert",
            Role::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        [
            Role::Bidder,
            Role::TradingCentre,
            Role::Supervisor,
            Role::Custodian,
            Role::Expert,
            Role::Admin,
        ]
        .into_iter()
        .find(|r| r.as_str() == s)
    }

    /// Officer roles need an administrator's grant before they take effect.
    pub fn needs_grant(self) -> bool {
        !matches!(self, Role::Bidder)
    }
}

/// Whether an identity may act in its role yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IdentityStatus {
    Active,
    /// Registered, waiting for an administrator to grant the requested officer role.
    Pending,
}

impl IdentityStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            IdentityStatus::Active => "active",
            IdentityStatus::Pending => "pending",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "active" => Some(Self::Active),
            "pending" => Some(Self::Pending),
            _ => None,
        }
    }
}

/// A registered certificate identity of an organisation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Identity {
    pub id: String,
    pub organization: String,
    pub usci: Usci,
    pub role: Role,
    pub status: IdentityStatus,
    /// SHA-256 of the certificate (DER), hex.
    pub cert_fingerprint: String,
    pub subject: String,
    /// The division a supervisor supervises (a 650000 supervisor sees the whole region, a
    /// 650100 supervisor that city); `None` for other roles.
    pub region: Option<super::region::RegionCode>,
}

impl Identity {
    /// Whether this identity may act as `role` now.
    pub fn acts_as(&self, role: Role) -> bool {
        self.status == IdentityStatus::Active && self.role == role
    }
}
