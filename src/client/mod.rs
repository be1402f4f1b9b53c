//! What the `tradehall` CLI runs on a user's own machine, talking to the server over
//! HTTP only, never touching its store or engine: one module per job. Bidders seal,
//! submit and withdraw bids ([`bid`]) and quote ([`quote`]); custodians keep their
//! per-trade keys ([`keystore`]) and open ([`custodian`]); the centre seals a reserve
//! price ([`reserve`]); experts sign sheets and reports ([`expert`]); anyone verifies
//! receipts ([`receipt`]), the log ([`witness`]), a draw ([`draw`]), a sale ([`replay`])
//! and an archive ([`archive`]); developers make a DEV ONLY PKI ([`pki`]). All of them
//! sign in through [`session`].

pub mod archive;
pub mod bid;
pub mod committee;
pub mod custodian;
pub mod draw;
pub mod expert;
pub mod keystore;
pub mod pki;
pub mod quote;
pub mod receipt;
pub mod replay;
pub mod reserve;
pub mod session;
pub mod witness;
