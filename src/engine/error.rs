//! What a use case can refuse, with the stable code the API reports for it.

use crate::crypto::cert::CertError;
use crate::domain::identity::Role;
use crate::domain::rulebook::RuleViolation;
use crate::store::StoreError;

/// Every refusal of a use case. The HTTP layer maps each to a status; `code()` is stable.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("{0}")]
    Certificate(#[from] CertError),
    #[error("this login nonce was never issued")]
    NonceUnknown,
    #[error("this login nonce has expired; ask for a new challenge")]
    NonceExpired,
    #[error("this login nonce has already been used")]
    NonceReplayed,
    #[error("no identity is registered for this certificate")]
    NotRegistered,
    #[error("authentication required: send a bearer token from /api/v1/auth/login")]
    Unauthenticated,
    #[error("this action needs an active {} identity", .needed.as_str())]
    Forbidden { needed: Role },
    #[error("only the suppliers this trade invites may bid in it")]
    NotInvited,
    #[error("the certificate does not carry the 统一社会信用代码 {0} in its subject")]
    UsciNotInCertificate(String),
    #[error("this certificate is already registered")]
    AlreadyRegistered,
    #[error("the 统一社会信用代码 is registered under another organisation name")]
    OrganizationNameMismatch,
    #[error("the admin role can only be taken by a certificate named in the server configuration")]
    AdminNotConfigured,
    #[error("{message}")]
    Invalid { code: &'static str, message: String },
    #[error("{0}")]
    RuleViolation(RuleViolation),
    #[error("{what} not found")]
    NotFound {
        code: &'static str,
        what: &'static str,
    },
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    #[error("accelerated (demo) trades are only allowed when the server runs in demo mode")]
    DemoModeRequired,
    /// A bank notification that does not authenticate: unknown bank, bad signature, or
    /// a timestamp outside the window.
    #[error("{message}")]
    BankRefused { code: &'static str, message: String },
    /// The trade's opening session lives in another server instance, which the HTTP
    /// layer forwards to (docs/adr/0018); a client sees it only if that failed.
    #[error("the opening runs on another server instance; retry shortly")]
    OpeningElsewhere {
        instance_url: String,
        key_id: String,
    },
    #[error("storage failure")]
    Store(#[source] StoreError),
}

impl EngineError {
    pub fn invalid(code: &'static str, message: impl Into<String>) -> Self {
        Self::Invalid {
            code,
            message: message.into(),
        }
    }

    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::Conflict {
            code,
            message: message.into(),
        }
    }

    /// The stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Certificate(e) => e.code(),
            Self::NonceUnknown => "nonce_unknown",
            Self::NonceExpired => "nonce_expired",
            Self::NonceReplayed => "nonce_replayed",
            Self::NotRegistered => "identity_not_registered",
            Self::Unauthenticated => "unauthenticated",
            Self::Forbidden { .. } => "forbidden",
            Self::NotInvited => "not_invited",
            Self::UsciNotInCertificate(_) => "usci_not_in_certificate",
            Self::AlreadyRegistered => "already_registered",
            Self::OrganizationNameMismatch => "organization_name_mismatch",
            Self::AdminNotConfigured => "admin_not_configured",
            Self::Invalid { code, .. }
            | Self::BankRefused { code, .. }
            | Self::NotFound { code, .. }
            | Self::Conflict { code, .. } => code,
            Self::RuleViolation(_) => "rule_violation",
            Self::DemoModeRequired => "demo_mode_required",
            Self::OpeningElsewhere { .. } => "opening_elsewhere",
            Self::Store(StoreError::Unavailable(_)) => "database_unavailable",
            Self::Store(StoreError::Full(_)) => "storage_full",
            Self::Store(StoreError::Halted(_)) => "log_halted",
            Self::Store(_) => "internal",
        }
    }
}

impl From<StoreError> for EngineError {
    fn from(e: StoreError) -> Self {
        EngineError::Store(e)
    }
}

impl From<RuleViolation> for EngineError {
    fn from(v: RuleViolation) -> Self {
        EngineError::RuleViolation(v)
    }
}
