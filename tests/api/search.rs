//! Public search of announcements and results (ADR 0015): Chinese by characters and
//! pairs, filters by kind, region, status and dates, pages newest first, the winner
//! found once awarded, and the index rebuilt when its rules change.

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{code, Backend, TestApp};

crate::on_both_backends!(
    published_trades_are_found_by_their_words_and_filters,
    an_awarded_trade_is_found_by_its_winner
);

async fn ids(app: &TestApp, query: &str) -> Vec<String> {
    let (status, body) = app.get(&format!("/api/v1/search?{query}"), None).await;
    assert_eq!(status, StatusCode::OK, "{query}: {body}");
    body["results"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r["trade_id"].as_str().map(str::to_owned))
        .collect()
}

fn q(text: &str) -> String {
    format!("q={}", urlencode(text))
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

async fn published_trades_are_found_by_their_words_and_filters(backend: Backend) {
    let app = crate::helpers::spawn_app(backend).await;
    let (officer, committee) = app.officer_and_committee().await;
    let mut made = Vec::new();
    for (title, region) in [
        ("河滩路改造工程施工招标", "650100"),
        ("克拉玛依市供水管网改造工程 EPC", "650200"),
        ("乌鲁木齐市第一中学教学设备采购", "650100"),
    ] {
        app.clock
            .set(app.clock_now() + chrono::Duration::minutes(1));
        let mut terms = app.tender_terms(&committee);
        terms["title"] = title.into();
        terms["region_code"] = region.into();
        made.push(app.published_trade_with(&officer, &terms).await);
    }
    // A draft is never found.
    let mut draft = app.tender_terms(&committee);
    draft["title"] = "河滩路草稿".into();
    let (status, _) = app
        .post("/api/v1/trades", Some(&officer.token), &draft)
        .await;
    assert_eq!(status, StatusCode::CREATED);

    assert_eq!(ids(&app, &q("河滩路")).await, vec![made[0].clone()]);
    // Newest first; a pair of characters, a single character, a Latin word.
    assert_eq!(
        ids(&app, &q("改造")).await,
        vec![made[1].clone(), made[0].clone()]
    );
    assert_eq!(ids(&app, &q("epc")).await, vec![made[1].clone()]);
    assert_eq!(ids(&app, &q("管")).await, vec![made[1].clone()]);
    assert_eq!(ids(&app, &q("改造 供水")).await, vec![made[1].clone()]);
    assert!(ids(&app, &q("河路")).await.is_empty(), "not adjacent");
    // The principal and the kind's name are searchable too.
    assert_eq!(ids(&app, &q("城市建设投资")).await.len(), 3);
    assert_eq!(ids(&app, &q("工程建设")).await.len(), 3);
    // Filters.
    let by_region = ids(&app, &format!("{}&region=6502", q("改造"))).await;
    assert_eq!(by_region, vec![made[1].clone()]);
    let kind = ids(&app, &format!("{}&kind=government_procurement", q("改造"))).await;
    assert!(kind.is_empty());
    let status = ids(&app, &format!("{}&status=published", q("改造"))).await;
    assert_eq!(status.len(), 2);
    let (_, first) = app.get(&format!("/api/v1/trades/{}", made[0]), None).await;
    let published = first["published_at"].as_str().unwrap_or_default();
    let after_first = ids(
        &app,
        &format!("{}&from={}", q("改造"), urlencode(published)),
    )
    .await;
    assert_eq!(after_first.len(), 2);
    let before_first = ids(&app, &format!("{}&to={}", q("改造"), urlencode(published))).await;
    assert!(before_first.is_empty());
    // Pages.
    let (_, page) = app
        .get(&format!("/api/v1/search?{}&limit=1", q("改造")), None)
        .await;
    assert_eq!(page["results"].as_array().map(Vec::len), Some(1));
    let next = page["next"].as_str().unwrap_or_default().to_owned();
    let rest = ids(&app, &format!("{}&limit=1&cursor={next}", q("改造"))).await;
    assert_eq!(rest, vec![made[0].clone()]);
    // Bad queries.
    for bad in [
        "q=",
        "q=%20%2C",
        &format!("{}&limit=51", q("改造")),
        &format!("q={}", "x".repeat(101)),
        &format!("{}&region=65x", q("改造")),
    ] {
        let (status, body) = app.get(&format!("/api/v1/search?{bad}"), None).await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::UNPROCESSABLE_ENTITY, "invalid_query"),
            "{bad}: {body}"
        );
    }

    // Rules changed (or an index lost): the server builds it again at start.
    crate::helpers::tamper(&app, "DELETE FROM search_terms", &[]).await;
    crate::helpers::tamper(&app, "UPDATE search_state SET version = 0", &[]).await;
    assert!(ids(&app, &q("河滩路")).await.is_empty());
    let rebuilt = app
        .platform
        .ensure_search_index()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(rebuilt, 3);
    assert_eq!(ids(&app, &q("河滩路")).await, vec![made[0].clone()]);
}

async fn an_awarded_trade_is_found_by_its_winner(backend: Backend) {
    let e = crate::evaluation::Evaluation::start(backend, None).await;
    let app = &e.r.app;
    let winner = e.bidders[1].identity["organization"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(ids(app, &q(&winner)).await.is_empty());
    e.through_contract().await;
    assert_eq!(ids(app, &q(&winner)).await, vec![e.r.trade.clone()]);
    let (_, body): (StatusCode, Value) = app
        .get(&format!("/api/v1/search?{}", q(&winner)), None)
        .await;
    assert_eq!(body["results"][0]["status"], "contracted", "{body}");
}
