//! The envelope suites: which algorithms seal a bid (docs/protocol.md, "Suites"). A
//! trade's opening committee names one; its custodians register keys of that suite and
//! every bid for the trade is sealed with it.

use serde::{Deserialize, Serialize};

/// An envelope suite, numbered as the trade terms and the CLI name it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "u8", into = "u8")]
pub enum Suite {
    /// 1: shares sealed with HPKE (X25519, HKDF-SHA256, AES-256-GCM), the payload in
    /// AES-256-GCM, SHA-256 digests.
    #[default]
    Hpke,
    /// 2 (国密): shares sealed with SM2 public-key encryption (C1C3C2), the payload in
    /// SM4-GCM, SM3 digests.
    Gm,
}

impl Suite {
    pub const ALL: [Suite; 2] = [Suite::Hpke, Suite::Gm];

    /// The suite's number: 1 or 2.
    pub fn number(self) -> u8 {
        match self {
            Suite::Hpke => 1,
            Suite::Gm => 2,
        }
    }

    /// The name an envelope header carries in `suite`.
    pub fn name(self) -> &'static str {
        match self {
            Suite::Hpke => "DHKEM(X25519,HKDF-SHA256)/HKDF-SHA256/AES-256-GCM",
            Suite::Gm => "SM2-C1C3C2/SM3/SM4-GCM",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.name() == name)
    }
}

impl TryFrom<u8> for Suite {
    type Error = String;

    fn try_from(n: u8) -> Result<Self, Self::Error> {
        Self::ALL
            .into_iter()
            .find(|s| s.number() == n)
            .ok_or_else(|| format!("envelope suite {n} does not exist (1 or 2)"))
    }
}

impl From<Suite> for u8 {
    fn from(suite: Suite) -> u8 {
        suite.number()
    }
}

impl std::fmt::Display for Suite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.number())
    }
}

impl std::str::FromStr for Suite {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.parse::<u8>()
            .map_err(|_| format!("envelope suite {s:?} is not 1 or 2"))?
            .try_into()
    }
}
