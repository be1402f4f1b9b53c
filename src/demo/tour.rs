//! The short tour the demo prints at start: the trades and where to watch them, and for
//! each role the page to open and the certificate and key to sign in with, then the CLI
//! commands to try. Paths are shown as the user gave the data directory, so they can be
//! pasted from where the demo was started.

use std::fmt::Write as _;

use super::seed::DemoTrades;
use crate::config::DemoArgs;

/// The tour for a demo on `args`, with `trades`, served at `server`.
pub fn text(args: &DemoArgs, trades: &DemoTrades, server: &str) -> String {
    let pki = args.data_dir.join("pki");
    let files = |name: &str| {
        let dir = pki.join(name);
        format!(
            "{} + {}",
            dir.join("cert.pem").display(),
            dir.join("key.pem").display()
        )
    };
    let seconds_per_day = |scale: u32| 86_400.0 / f64::from(scale.max(1));
    let mut out = String::new();
    let _ = writeln!(
        out,
        "tradehall demo — DEV ONLY: generated certificates, accelerated trades, a dev bank; state in {}",
        args.data_dir.display()
    );
    let _ = writeln!(
        out,
        "\n  Portal     {server}/   (中文; English in the header)\n  Log        {server}/#/log   the transparency log, verified in your browser\n"
    );
    let _ = writeln!(
        out,
        "  The trades (a statutory day lasts {:.0} s for the tender, {:.0} s for the sales, 60 s for the procurement):",
        seconds_per_day(args.tender_time_scale),
        seconds_per_day(args.listing_time_scale)
    );
    let pages = [
        (
            "opening",
            "sealed bids, opening at the deadline, experts, award, contract",
        ),
        ("bid", "open for your bid: sign in as a bidder and seal one"),
        (
            "auction",
            "listing, then timed bidding; the reserve decides",
        ),
        (
            "auction",
            "disclosure, suspended and resumed by the supervisor, then 网络竞价",
        ),
        ("auction", "one bidder under a sealed reserve: 流拍"),
    ];
    for ((kind, id), (page, what)) in trades.each().into_iter().zip(pages) {
        let _ = writeln!(
            out,
            "    {kind:<8} {server}/#/trades/{id}/{page}\n             {what}"
        );
    }
    let _ = writeln!(
        out,
        "\n  Sign in at {server}/#/signin with a certificate and its key ({}):",
        pki.display()
    );
    let tender = &trades.tender;
    let roles = [
        ("bidder", files("bidder-1"), "#/workspace: bids, receipts, applications; bid on the procurement".to_owned()),
        ("centre", files("officer"), format!("#/trades/{tender}/opening: the opening hall, on a projector")),
        ("custodian", files("custodian-2"), format!(
            "#/trades/{}/custodian, with the key file of\n             TRADEHALL_KEYSTORE_PASSPHRASE={} tradehall custodian export-key --keystore {} --out custodian-2.pem",
            trades.procurement,
            super::cast::DEMO_PASSPHRASE,
            args.data_dir.join("actors").join(&trades.procurement).join("custodian-2.key").display()
        )),
        ("expert", files("expert-1"), "#/workspace; sheets and reports: tradehall expert score|report|sign-report".to_owned()),
        ("supervisor", files("supervisor"), "#/supervision: the live feed, alerts, suspend and resume".to_owned()),
    ];
    for (role, files, page) in roles {
        let _ = writeln!(out, "    {role:<10} {files}\n             {page}");
    }
    let _ = writeln!(
        out,
        "\n  Try the CLI (target/debug/tradehall; every command has --help):\n    \
         tradehall log verify --server {server}\n    \
         tradehall verify draw --server {server} --trade {tender}\n    \
         tradehall replay --server {server} --trade {}\n    \
         tradehall pki issue {} --name expert-8 --role expert --organization 新疆大学 --server {server}",
        trades.land,
        pki.display()
    );
    let _ = writeln!(
        out,
        "\n  At the default speeds the story takes about five minutes. Ctrl-C stops it; `demo` again on {} resumes it where it was; delete that directory to start over.",
        args.data_dir.display()
    );
    out
}
