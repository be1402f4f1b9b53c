//! The demo's land listing, played by its automatic bidders against a real demo server
//! (system clock, accelerated): applications, deposits from the DEV ONLY bank, quotes,
//! timed bidding, the close, the committee opening the sealed reserve price; then the
//! sale replays from the log.

use tradehall::config::DemoArgs;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_land_listing_runs_to_a_sale_that_replays() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let addr = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
    let args = DemoArgs {
        listen: addr,
        data_dir: dir.path().to_path_buf(),
        database_url: None,
        witnesses: None,
        web_dir: "web".into(),
        setup_only: false,
        manual: false,
        tender_time_scale: tradehall::demo::ROUND_TIME_SCALE,
        // 20 days of announcement in 20 s, 10 working days of listing in 10 s, a 5 s
        // countdown.
        listing_time_scale: 86_400,
    };
    let prepared = tradehall::demo::prepare(&args)
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    assert!(prepared.seeded);
    let listing = prepared.trades.get(2).cloned().unwrap_or_default();
    let secret = prepared
        .platform
        .settings
        .bank_secrets
        .get(tradehall::server::DEV_BANK)
        .map(<[u8]>::to_vec)
        .unwrap_or_default();
    tokio::spawn(tradehall::http::serve(
        listener,
        prepared.router.clone(),
        prepared.limits,
        std::future::pending::<()>(),
    ));
    let server = format!("http://{addr}");
    let result = tokio::time::timeout(
        std::time::Duration::from_secs(120),
        tradehall::demo::auction::play(
            &server,
            &prepared.layout,
            &listing,
            &secret,
            &dir.path().join("listing-actors"),
        ),
    )
    .await
    .unwrap_or_else(|_| panic!("the demo listing did not end within two minutes"))
    .unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!(result["outcome"], "sold", "{result}");
    let record = prepared
        .platform
        .opening_record(&listing)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|| panic!("the reserve was opened in a signed record"));
    assert_eq!(record.record.outcome, "sold");
    assert!(record.record.bids[0].valid, "{:?}", record.record.bids);

    let (replayed, _) = tradehall::client::replay::replay(&server, &listing, None)
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    assert!(replayed.quotes >= 1, "{replayed:?}");
    let money = prepared
        .platform
        .store
        .refunds(&listing)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        money.len(),
        2,
        "the two losers' deposits go back: {money:?}"
    );
}
