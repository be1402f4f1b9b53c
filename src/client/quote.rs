//! `tradehall quote`: a numbered bidder quotes in a live sale from a script.

use serde_json::{json, Value};

use super::session::{login, Credentials};
use crate::domain::money::Money;

/// Quotes `amount` in `trade` under `client_quote_id` (a retry with the same id gets the
/// first answer) and returns the server's answer: whether it became best, the next
/// minimum and the countdown.
pub async fn quote(
    credentials: &Credentials<'_>,
    trade: &str,
    amount: Money,
    client_quote_id: &str,
) -> anyhow::Result<Value> {
    login(credentials)
        .await?
        .post(
            &format!("/api/v1/trades/{trade}/quotes"),
            &json!({ "client_quote_id": client_quote_id, "amount": amount }),
        )
        .await
}
