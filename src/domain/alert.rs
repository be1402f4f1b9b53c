//! Risk alerts and their handling by supervisors: 预警 → 分办 → 处置 → 反馈
//! (open → assigned → handled → closed).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Where an alert is in its handling.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertStatus {
    /// 预警: raised by a rule, waiting for a supervisor.
    Open,
    /// 分办: given to a supervisor to handle.
    Assigned,
    /// 处置: the assignee has handled it.
    Handled,
    /// 反馈: closed with the outcome.
    Closed,
}

impl AlertStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            AlertStatus::Open => "open",
            AlertStatus::Assigned => "assigned",
            AlertStatus::Handled => "handled",
            AlertStatus::Closed => "closed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Open, Self::Assigned, Self::Handled, Self::Closed]
            .into_iter()
            .find(|v| v.as_str() == s)
    }
}

/// A step of the workflow: what a supervisor did, with the note they wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertStep {
    Assign,
    Handle,
    Close,
}

impl AlertStep {
    pub fn as_str(self) -> &'static str {
        match self {
            AlertStep::Assign => "assign",
            AlertStep::Handle => "handle",
            AlertStep::Close => "close",
        }
    }

    /// The statuses the step may start from, and the status it leads to. An assigned
    /// alert may be reassigned.
    pub fn transition(self) -> (&'static [AlertStatus], AlertStatus) {
        match self {
            AlertStep::Assign => (
                &[AlertStatus::Open, AlertStatus::Assigned],
                AlertStatus::Assigned,
            ),
            AlertStep::Handle => (&[AlertStatus::Assigned], AlertStatus::Handled),
            AlertStep::Close => (&[AlertStatus::Handled], AlertStatus::Closed),
        }
    }
}

/// One step taken, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AlertHistory {
    /// The step's log entry.
    pub seq: i64,
    pub step: String,
    pub actor: String,
    pub note: String,
    pub assignee: Option<String>,
    #[serde(serialize_with = "crate::domain::clock::serde_rfc3339::serialize")]
    pub at: DateTime<Utc>,
}

/// A raised alert.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Alert {
    pub id: String,
    pub rule: String,
    pub severity: String,
    pub trade_id: String,
    pub region_code: String,
    pub status: AlertStatus,
    pub summary: String,
    /// The rule's finding: rule id, name, severity, basis, bidders concerned, evidence.
    pub finding: serde_json::Value,
    pub assignee: Option<String>,
    /// The `alert.raised` entry.
    pub raised_seq: i64,
    /// The entry whose arrival raised it (the opening).
    pub trigger_seq: i64,
    #[serde(serialize_with = "crate::domain::clock::serde_rfc3339::serialize")]
    pub raised_at: DateTime<Utc>,
    pub history: Vec<AlertHistory>,
}
