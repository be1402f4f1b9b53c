//! Quotes share write transactions (ADR 0023). Quotes that reach the single writer while
//! it is busy wait in one queue, in order of receipt ([`GroupCommit`]); the next write
//! transaction takes up to [`MAX_QUOTES_PER_WRITE`] of them and judges them one after
//! another, each as if it had its own transaction. A hot auction's quotes then share the
//! fixed costs of a transaction (the write lock, reading the sale, the commit and its disk
//! flush) instead of queueing for them one by one.

use std::sync::Arc;

use super::group_commit::GroupCommit;
use super::sales::{sale_events, step_together_or_each};
use super::Caller;
use crate::domain::auction::Rules;
use crate::domain::trade::Trade;
use crate::store::sale::{QuoteIntake, SaleStep, Stepped};
use crate::store::{Result, Store, StoreError};

/// The most quotes one write transaction takes: enough to drain a deadline's queue in a
/// few transactions, few enough that the first of them is not kept waiting long.
pub const MAX_QUOTES_PER_WRITE: usize = 64;

/// A quote on its way to the writer, with what its step needs.
struct QuoteJob {
    caller: Caller,
    trade: Arc<Trade>,
    rules: Rules,
    intake: QuoteIntake,
}

/// The queue of quotes in front of the writer.
#[derive(Default)]
pub struct QuoteWriter(GroupCommit<QuoteJob, Result<Stepped>>);

impl QuoteWriter {
    /// Judges `intake` on `trade`'s sale in the next write transaction, after every quote
    /// received before it.
    pub(crate) async fn write(
        &self,
        store: &Arc<dyn Store>,
        caller: &Caller,
        trade: Arc<Trade>,
        rules: Rules,
        intake: QuoteIntake,
    ) -> Result<Stepped> {
        let job = QuoteJob {
            caller: caller.clone(),
            trade,
            rules,
            intake,
        };
        self.0
            .submit(job, MAX_QUOTES_PER_WRITE, |jobs| {
                write(Arc::clone(store), jobs)
            })
            .await
            .unwrap_or_else(|| Err(StoreError::Other("the quote's write was lost".into())))
    }
}

/// Writes `jobs` in one transaction, or one by one if that fails, so one failing quote
/// does not fail the others; an answer for each, in order.
async fn write(store: Arc<dyn Store>, jobs: Vec<QuoteJob>) -> Vec<Result<Stepped>> {
    let builds: Vec<_> = jobs
        .iter()
        .map(|j| sale_events(&j.caller, &j.trade.id, &j.rules, None))
        .collect();
    let steps: Vec<SaleStep<'_>> = jobs
        .iter()
        .zip(&builds)
        .map(|(j, build)| SaleStep {
            trade_id: &j.trade.id,
            rules: &j.rules,
            deposit: j.trade.terms.bond_amount,
            quote: Some(&j.intake),
            event: build,
        })
        .collect();
    step_together_or_each(&*store, &steps, "quotes").await
}
