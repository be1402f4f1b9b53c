//! Pure rules and types of public-resource trading: no HTTP, no SQL, no I/O.
//!
//! Rules of law live here as plain functions so they can be read next to the article they
//! cite and tested without a server.

pub mod alert;
pub mod announcement;
pub mod application;
pub mod auction;
pub mod bank;
pub mod calendar;
pub mod clock;
pub mod evaluation;
pub mod event;
pub mod expert_draw;
pub mod identity;
pub mod ledger;
pub mod merkle;
pub mod money;
pub mod ocds;
pub mod opening;
pub mod region;
pub mod replay;
pub mod risk;
pub mod rulebook;
pub mod search;
pub mod suite;
pub mod text;
pub mod trade;
pub mod usci;
