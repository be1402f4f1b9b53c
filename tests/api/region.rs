//! The region-wide view (issue 8, docs/interconnection.md) in one process: a region
//! follows a prefecture whose land listing ended without a bidder (流拍); it finds the
//! trade by search, shows its result, and serves its open data as valid OCDS that says
//! what the prefecture's own does.

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{code, spawn_app, spawn_app_with, tamper, write, Backend};
use crate::live::listing;
use crate::ocds::{assert_valid, valid_open_data, validator};
use crate::quotes::{at, fire, sale};
use tradehall::config::Mode;
use tradehall::engine::MirrorRun;

crate::on_both_backends!(a_region_finds_a_prefecture_trade_its_result_and_open_data);

async fn a_region_finds_a_prefecture_trade_its_result_and_open_data(backend: Backend) {
    let prefecture = spawn_app(backend).await;
    let (officer, custodians) = prefecture.officer_and_committee().await;
    let trade = prefecture
        .published_trade_with(&officer, &listing(&prefecture, &custodians))
        .await;
    prefecture.clock.set(at("2026-12-18T01:00:01Z"));
    fire(&prefecture).await;
    prefecture.clock.set(at("2027-01-04T09:00:01Z"));
    fire(&prefecture).await;
    let result = sale(&prefecture, &trade).await["result"].clone();
    assert!(result.is_object(), "{}", sale(&prefecture, &trade).await);
    let own = valid_open_data(&prefecture).await;

    // The region follows it with the keys it published.
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let (_, keys) = prefecture.get("/api/v1/platform/keys", None).await;
    write(dir.path(), "650100-keys.json", keys.to_string().as_bytes());
    let follow = write(
        dir.path(),
        "follow.toml",
        format!(
            "[[platform]]\nname = \"650100\"\nurl = \"{}\"\nkeys = \"650100-keys.json\"\n",
            prefecture.base
        )
        .as_bytes(),
    );
    let region = spawn_app_with(backend, Mode::Demo, |args| args.follow = Some(follow)).await;
    let followed = region.platform.settings.follow[0].clone();
    // A checkpoint is a signed note: origin, size, root, signatures.
    let checkpoint = prefecture.text("/api/v1/log/checkpoint").await;
    let size: u64 = checkpoint
        .lines()
        .nth(1)
        .and_then(|l| l.parse().ok())
        .unwrap_or_default();
    assert!(size > 0, "{checkpoint}");
    loop {
        match region.platform.mirror_once(&followed).await {
            Ok(MirrorRun::Advanced(n)) if n >= size => break,
            Ok(MirrorRun::Advanced(_) | MirrorRun::Unchanged) => {
                let (_, platforms) = region.get("/api/v1/region/platforms", None).await;
                if platforms["platforms"][0]["size"].as_u64() >= Some(size) {
                    break;
                }
            }
            other => panic!("the region did not mirror the prefecture: {other:?}"),
        }
    }

    // Search: by the lot's number and the procedure's name, on every platform or this one.
    for q in ["2026-041 号地块", "挂牌出让 高新区"] {
        for platform in ["", "&platform=650100"] {
            let (status, found) = region
                .get(&format!("/api/v1/region/trades?q={q}{platform}"), None)
                .await;
            assert_eq!(status, StatusCode::OK, "{found}");
            let hits = found["trades"].as_array().cloned().unwrap_or_default();
            assert_eq!(hits.len(), 1, "{q}: {found}");
            assert_eq!(hits[0]["platform"], "650100");
            assert_eq!(hits[0]["trade"]["id"], trade.as_str());
        }
    }
    let (_, none) = region.get("/api/v1/region/trades?q=矿业权", None).await;
    assert_eq!(none["trades"], serde_json::json!([]), "{none}");
    let (status, unknown) = region
        .get("/api/v1/region/trades?platform=653100", None)
        .await;
    assert_eq!(
        (status, code(&unknown)),
        (StatusCode::NOT_FOUND, "platform_not_followed")
    );
    let (status, long) = region
        .get(
            &format!("/api/v1/region/trades?q={}", "地".repeat(300)),
            None,
        )
        .await;
    assert_eq!(
        (status, code(&long)),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid_query")
    );

    // The trade with its result, as the prefecture's log states it.
    let (status, detail) = region
        .get(&format!("/api/v1/region/trades/650100/{trade}"), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{detail}");
    assert_eq!(detail["trade"]["id"], trade.as_str());
    let last = detail["results"].as_array().and_then(|r| r.last()).cloned();
    let last = last.unwrap_or_default();
    assert_eq!(last["kind"], "sale.closed", "{detail}");
    assert_eq!(last["data"]["result"], result);

    // Open data: valid OCDS, one release for each of the prefecture's own, with the same
    // tags and dates, under the region's ocids.
    let (status, package) = region
        .get(
            "/api/v1/region/ocds/releases?platform=650100&after=0&limit=1000",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{package}");
    assert_valid(
        &validator("release-package-schema.json"),
        "a region release package",
        &package,
    );
    let releases = package["releases"].as_array().cloned().unwrap_or_default();
    assert_eq!(releases.len(), own.len(), "{package:#}");
    for (theirs, ours) in own.iter().zip(&releases) {
        assert_eq!(theirs["tag"], ours["tag"]);
        assert_eq!(theirs["date"], ours["date"]);
        let ocid = theirs["ocid"].as_str().unwrap_or_default();
        let expected = ocid.replacen(&format!("-{trade}"), &format!("-650100-{trade}"), 1);
        assert_eq!(ours["ocid"].as_str(), Some(expected.as_str()));
    }
    let tags: Vec<&Value> = releases.iter().map(|r| &r["tag"]).collect();
    assert!(tags.len() >= 2, "a tender and its result: {tags:?}");

    // The prefecture rewrites its last entry and grows past it: the region stops
    // following it and alerts the supervisors of its region, once.
    for sql in [
        format!("DELETE FROM event_audit WHERE seq >= {size}"),
        format!("DELETE FROM event_sealed WHERE seq >= {size}"),
        format!("DELETE FROM events WHERE seq >= {size}"),
        format!(
            "DELETE FROM log_nodes WHERE ((idx + 1) << level) > {}",
            size - 1
        ),
    ] {
        tamper(&prefecture, &sql, &[]).await;
    }
    // (Back to a day its test CA's revocation list covers, to register someone.)
    prefecture.clock.set(at("2026-11-28T02:00:00Z"));
    prefecture.user("bidder").await;
    prefecture.user("bidder").await;
    let halted = region.platform.mirror_once(&followed).await;
    assert!(
        matches!(&halted, Ok(MirrorRun::Halted(why)) if why.contains("rewritten")),
        "{halted:?}"
    );
    assert!(matches!(
        region.platform.mirror_once(&followed).await,
        Ok(MirrorRun::Halted(_))
    ));
    let supervisor = region.supervisor_of("650000").await;
    let (status, alerts) = region
        .get("/api/v1/alerts?rule=mirror_halted", Some(&supervisor.token))
        .await;
    assert_eq!(status, StatusCode::OK, "{alerts}");
    let alerts = alerts["alerts"].as_array().cloned().unwrap_or_default();
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert_eq!(alerts[0]["trade_id"], "650100");
    assert_eq!(alerts[0]["severity"], "red");
    assert_eq!(alerts[0]["status"], "open");
    assert_eq!(alerts[0]["finding"]["evidence"]["verified_size"], size);
    let elsewhere = region.supervisor_of("650200").await;
    let (_, none) = region
        .get("/api/v1/alerts?rule=mirror_halted", Some(&elsewhere.token))
        .await;
    assert_eq!(none["alerts"], serde_json::json!([]), "{none}");
}

/// The same three companies (by their codes) in one awarded tender in each of three
/// prefectures, the lowest price going round them: no prefecture sees more than one
/// trade of it. The region follows the three logs with its running mirror loop, and its
/// supervisors get one `rotating_winner` alert naming the three; a prefecture's
/// supervisor on the region does not (the finding concerns the whole region).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_taking_turns_to_win_across_prefectures_is_alerted_by_the_regions_mirror_loop() {
    use crate::evaluation::Evaluation;
    use crate::helpers::{spec, usci, TestApp, User};
    use tradehall::crypto::pki::KeyUsageProfile;

    let group = [
        ("新疆天山建设工程有限公司", "91650100MA0000011"),
        ("新疆昆仑路桥工程有限责任公司", "91650100MA0000022"),
        ("新疆博格达市政工程有限公司", "91650100MA0000033"),
    ];
    async fn company(app: &TestApp, (name, code): (&str, &str)) -> User {
        let code = usci(code);
        let issued = app
            .ca_a
            .issue(&spec(name, name, Some(&code), KeyUsageProfile::Signing))
            .unwrap_or_else(|e| panic!("{e}"));
        app.enroll(&issued, name, &code, "bidder").await
    }
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let mut follow = String::new();
    let mut prefectures = Vec::new();
    for (turn, name) in ["650100", "650200", "654000"].into_iter().enumerate() {
        let app = spawn_app(Backend::Sqlite).await;
        // The lowest price goes to the second bidder: a different company each time.
        let mut bidders = Vec::new();
        for k in 0..3 {
            bidders.push(company(&app, group[(turn + k + 2) % 3]).await);
        }
        let bidders: [User; 3] = bidders
            .try_into()
            .unwrap_or_else(|_| panic!("three bidders"));
        let e = Evaluation::open(app, bidders, |_| {}).await;
        e.through_contract().await;
        let app = &e.r.app;
        let (_, keys) = app.get("/api/v1/platform/keys", None).await;
        let keys_file = format!("{name}-keys.json");
        write(dir.path(), &keys_file, keys.to_string().as_bytes());
        follow.push_str(&format!(
            "[[platform]]\nname = \"{name}\"\nurl = \"{}\"\nkeys = \"{keys_file}\"\n",
            app.base
        ));
        prefectures.push(e);
    }
    let follow = write(dir.path(), "follow.toml", follow.as_bytes());
    let region = spawn_app_with(Backend::Sqlite, Mode::Demo, |args| {
        args.follow = Some(follow);
    })
    .await;
    let supervisor = region.supervisor_of("650000").await;
    let started = std::time::Instant::now();
    let alerts = loop {
        let (status, alerts) = region
            .get(
                "/api/v1/alerts?rule=rotating_winner",
                Some(&supervisor.token),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{alerts}");
        let alerts = alerts["alerts"].as_array().cloned().unwrap_or_default();
        if !alerts.is_empty() {
            break alerts;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(60),
            "the region's mirror loop raised no alert"
        );
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    };
    let finding = &alerts[0]["finding"];
    let mut subjects: Vec<String> = serde_json::from_value(finding["subjects"].clone())
        .unwrap_or_else(|e| panic!("{e}: {finding}"));
    subjects.sort();
    let mut expected: Vec<String> = group.iter().map(|(_, c)| usci(c).to_string()).collect();
    expected.sort();
    assert_eq!(subjects, expected, "{alerts:?}");
    // Raised once for a trade, however often the loop looks again: at most one alert
    // per trade of the group, each naming the same three.
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    let (_, again) = region
        .get(
            "/api/v1/alerts?rule=rotating_winner",
            Some(&supervisor.token),
        )
        .await;
    let again = again["alerts"].as_array().cloned().unwrap_or_default();
    let mut trades: Vec<&str> = again
        .iter()
        .filter_map(|a| a["trade_id"].as_str())
        .collect();
    trades.sort_unstable();
    let all = trades.len();
    trades.dedup();
    assert!((1..=3).contains(&all) && trades.len() == all, "{again:?}");
    assert!(
        again
            .iter()
            .all(|a| a["finding"]["subjects"] == alerts[0]["finding"]["subjects"]),
        "{again:?}"
    );
    let prefecture_supervisor = region.supervisor_of("650100").await;
    let (_, theirs) = region
        .get(
            "/api/v1/alerts?rule=rotating_winner",
            Some(&prefecture_supervisor.token),
        )
        .await;
    assert_eq!(theirs["alerts"], serde_json::json!([]), "{theirs}");
    drop(prefectures);
}
