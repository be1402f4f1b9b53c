//! Storage for live sales (ADR 0010): applications so far. A third trait on the same
//! backends, with the same one-SQL-body-for-both approach as `sql.rs`.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::Result;
use crate::domain::application::{Application, ApplicationStatus};
use crate::domain::event::NewEvent;

#[async_trait]
pub trait LiveStore: Send + Sync {
    /// Records an application with its log entry (`Conflict` if the organisation has
    /// applied to this trade already).
    async fn insert_application(&self, application: &Application, event: NewEvent) -> Result<i64>;
    async fn application(&self, id: &str) -> Result<Option<Application>>;
    /// A trade's applications, oldest first.
    async fn applications(&self, trade_id: &str) -> Result<Vec<Application>>;
    /// Decides a pending application (else `Conflict("application_not_pending")`).
    async fn decide_application(
        &self,
        id: &str,
        status: ApplicationStatus,
        reason: Option<&str>,
        by: &str,
        at: DateTime<Utc>,
        event: NewEvent,
    ) -> Result<i64>;
}

pub(crate) type ApplicationRow = (
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    Option<String>,
    i64,
    Option<i64>,
    Option<String>,
);

pub(crate) const APPLICATION_SELECT: &str = "SELECT id, trade_id, identity_id, usci, organization, payer_account, payer_name, status, reason, applied_at, decided_at, decided_by FROM applications";

pub(crate) fn application_from(row: ApplicationRow) -> Result<Application> {
    use crate::domain::clock::from_millis;
    let (
        id,
        trade_id,
        identity_id,
        usci,
        organization,
        payer_account,
        payer_name,
        status,
        reason,
        applied_at,
        decided_at,
        decided_by,
    ) = row;
    Ok(Application {
        id,
        trade_id,
        identity_id,
        usci,
        organization,
        payer_account,
        payer_name,
        status: ApplicationStatus::parse(&status).ok_or_else(|| {
            super::StoreError::Other("a stored application has an unknown status".into())
        })?,
        reason,
        applied_at: from_millis(applied_at),
        decided_at: decided_at.map(from_millis),
        decided_by,
    })
}

/// Implements `LiveStore` for a store type that `impl_store!` was applied to.
macro_rules! impl_live_store {
    ($store:ty, $db:ty) => {
        #[async_trait::async_trait]
        impl $crate::store::live::LiveStore for $store {
            async fn insert_application(
                &self,
                a: &$crate::domain::application::Application,
                event: $crate::domain::event::NewEvent,
            ) -> $crate::store::Result<i64> {
                let mut tx = self.begin_write().await?;
                sqlx::query(
                    "INSERT INTO applications (id, trade_id, identity_id, usci, organization, payer_account, payer_name, status, applied_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                )
                .bind(&a.id)
                .bind(&a.trade_id)
                .bind(&a.identity_id)
                .bind(&a.usci)
                .bind(&a.organization)
                .bind(&a.payer_account)
                .bind(&a.payer_name)
                .bind(a.status.as_str())
                .bind(a.applied_at.timestamp_millis())
                .execute(&mut *tx)
                .await?;
                let seq = self.append_in(&mut tx, &event).await?;
                self.commit(tx).await?;
                Ok(seq)
            }

            async fn application(
                &self,
                id: &str,
            ) -> $crate::store::Result<Option<$crate::domain::application::Application>> {
                let row: Option<$crate::store::live::ApplicationRow> =
                    sqlx::query_as(&format!("{} WHERE id = $1", $crate::store::live::APPLICATION_SELECT))
                        .bind(id)
                        .fetch_optional(&self.pool)
                        .await?;
                row.map($crate::store::live::application_from).transpose()
            }

            async fn applications(
                &self,
                trade_id: &str,
            ) -> $crate::store::Result<Vec<$crate::domain::application::Application>> {
                let rows: Vec<$crate::store::live::ApplicationRow> = sqlx::query_as(&format!(
                    "{} WHERE trade_id = $1 ORDER BY applied_at, id",
                    $crate::store::live::APPLICATION_SELECT
                ))
                .bind(trade_id)
                .fetch_all(&self.pool)
                .await?;
                rows.into_iter().map($crate::store::live::application_from).collect()
            }

            async fn decide_application(
                &self,
                id: &str,
                status: $crate::domain::application::ApplicationStatus,
                reason: Option<&str>,
                by: &str,
                at: chrono::DateTime<chrono::Utc>,
                event: $crate::domain::event::NewEvent,
            ) -> $crate::store::Result<i64> {
                let mut tx = self.begin_write().await?;
                let done = sqlx::query(
                    "UPDATE applications SET status = $2, reason = $3, decided_by = $4, decided_at = $5 \
                     WHERE id = $1 AND status = 'pending'",
                )
                .bind(id)
                .bind(status.as_str())
                .bind(reason)
                .bind(by)
                .bind(at.timestamp_millis())
                .execute(&mut *tx)
                .await?;
                if done.rows_affected() == 0 {
                    return Err($crate::store::StoreError::Conflict("application_not_pending".into()));
                }
                let seq = self.append_in(&mut tx, &event).await?;
                self.commit(tx).await?;
                Ok(seq)
            }
        }
    };
}

pub(crate) use impl_live_store;
