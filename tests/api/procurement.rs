//! Government procurement methods beyond the open tender, on the sealed-bid engine:
//! invitation (邀请招标), inquiry (询价), competitive negotiation (竞争性谈判) with a
//! second round, and single source (单一来源). Numbers come from the rulebook.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::evaluation::Evaluation;
use crate::helpers::{code, Backend, TestApp, User};

crate::on_both_backends!(
    an_invitation_takes_bids_from_invited_suppliers_only,
    an_inquiry_among_invited_suppliers_goes_to_contract_at_the_lowest_price,
    a_single_source_waits_five_working_days_and_opens_with_one_bid,
    a_competitive_negotiation_runs_a_second_round_among_the_valid_bidders
);

fn usci(user: &User) -> String {
    user.identity["usci"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

fn procurement(terms: &mut Value, procedure: &str, invited: &[&User]) {
    terms["kind"] = "government_procurement".into();
    terms["procedure"] = procedure.into();
    terms["title"] = "乌鲁木齐市第一中学教学设备采购".into();
    terms["invited"] = invited.iter().map(|u| usci(u)).collect::<Vec<_>>().into();
}

async fn bidders(app: &TestApp) -> [User; 3] {
    [
        app.user("bidder").await,
        app.user("bidder").await,
        app.user("bidder").await,
    ]
}

async fn create(app: &TestApp, officer: &User, terms: &Value) -> (StatusCode, Value) {
    app.post("/api/v1/trades", Some(&officer.token), terms)
        .await
}

async fn an_invitation_takes_bids_from_invited_suppliers_only(backend: Backend) {
    let app = crate::helpers::spawn_app(backend).await;
    let invited = bidders(&app).await;
    let outsider = app.user("bidder").await;
    let (officer, committee) = app.officer_and_committee().await;

    // The rulebook's numbers: three invited at least; an open tender invites no one.
    let mut terms = app.tender_terms(&committee);
    procurement(&mut terms, "invitation", &[&invited[0], &invited[1]]);
    let (status, body) = create(&app, &officer, &terms).await;
    assert_eq!(
        (status, body["error"]["rule"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("min_invited")),
        "{body}"
    );
    let mut terms = app.tender_terms(&committee);
    procurement(&mut terms, "open_tender", &[&invited[0]]);
    let (status, body) = create(&app, &officer, &terms).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid_participation")
    );

    let refs = [&invited[0], &invited[1], &invited[2]];
    let r = crate::opening::round_with(app, |t| procurement(t, "invitation", &refs)).await;
    let envelope = r.seal(&outsider, 9_000_000_000, &["1"]);
    let (status, body) = crate::helpers::put_bid(&r.app, &outsider.token, &r.trade, envelope).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::FORBIDDEN, "not_invited"),
        "{body}"
    );
    for (bidder, price) in invited
        .iter()
        .zip([9_100_000_000, 9_200_000_000, 9_300_000_000])
    {
        r.bid(bidder, price).await;
    }
    r.open_now().await;
    let (_, view) = r
        .app
        .get(&format!("/api/v1/trades/{}", r.trade), None)
        .await;
    assert_eq!(view["status"], "opened", "{view}");
    assert_eq!(view["invited"].as_array().map(Vec::len), Some(3));
    let e = Evaluation::drawn(r, invited.into()).await;
    e.through_contract().await;
    let (_, result) =
        e.r.app
            .get(&format!("/api/v1/trades/{}/result", e.r.trade), None)
            .await;
    assert_eq!(result["status"], "contracted", "{result}");
    assert_eq!(result["award"]["winner"]["price"], 9_100_000_000_i64);
}

async fn an_inquiry_among_invited_suppliers_goes_to_contract_at_the_lowest_price(backend: Backend) {
    let app = crate::helpers::spawn_app(backend).await;
    let invited = bidders(&app).await;
    let (officer, committee) = app.officer_and_committee().await;
    // An inquiry's deadline is at least 3 working days after the notice.
    let mut terms = app.tender_terms(&committee);
    procurement(
        &mut terms,
        "inquiry",
        &[&invited[0], &invited[1], &invited[2]],
    );
    terms["bid_deadline"] =
        tradehall::domain::clock::rfc3339(app.clock_now() + chrono::Duration::days(2)).into();
    let (status, body) = create(&app, &officer, &terms).await;
    assert_eq!(
        (status, body["error"]["rule"].as_str()),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("min_working_days_to_deadline")
        ),
        "{body}"
    );

    let ids: Vec<String> = invited.iter().map(usci).collect();
    let e = Evaluation::open(app, invited, |t| {
        t["kind"] = "government_procurement".into();
        t["procedure"] = "inquiry".into();
        t["invited"] = ids.into();
    })
    .await;
    e.through_contract().await;
    let (_, result) =
        e.r.app
            .get(&format!("/api/v1/trades/{}/result", e.r.trade), None)
            .await;
    // The lowest valid price wins: bidder 1 quoted 9,650,000.02 yuan.
    assert_eq!(
        result["award"]["winner"]["organization"]["usci"],
        usci(&e.bidders[1]),
        "{result}"
    );
    assert_eq!(result["status"], "contracted");
    let releases = crate::ocds::valid_open_data(&e.r.app).await;
    assert_eq!(
        releases[0]["tender"]["procurementMethodDetails"], "询价",
        "{}",
        releases[0]
    );
}

async fn a_single_source_waits_five_working_days_and_opens_with_one_bid(backend: Backend) {
    let app = crate::helpers::spawn_app(backend).await;
    let supplier = app.user("bidder").await;
    let other = app.user("bidder").await;
    let (officer, committee) = app.officer_and_committee().await;
    let mut terms = app.tender_terms(&committee);
    procurement(&mut terms, "single_source", &[&supplier]);
    // Published on Saturday 2026-11-28: five working days end Friday 2026-12-04.
    terms["bid_deadline"] = "2026-12-03T10:00:00Z".into();
    let (status, body) = create(&app, &officer, &terms).await;
    assert_eq!(
        (status, body["error"]["rule"].as_str()),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("min_working_days_to_deadline")
        ),
        "{body}"
    );
    let mut two = app.tender_terms(&committee);
    procurement(&mut two, "single_source", &[&supplier, &other]);
    let (status, body) = create(&app, &officer, &two).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid_participation")
    );

    let r =
        crate::opening::round_with(app, |t| procurement(t, "single_source", &[&supplier])).await;
    let envelope = r.seal(&other, 9_000_000_000, &["1"]);
    let (status, _) = crate::helpers::put_bid(&r.app, &other.token, &r.trade, envelope).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    r.bid(&supplier, 9_500_000_000).await;
    r.open_now().await;
    let (_, opening) = r
        .app
        .get(&format!("/api/v1/trades/{}/opening", r.trade), None)
        .await;
    let record = &opening["opening"]["record"];
    assert_eq!(record["outcome"], "opened", "one bid is enough: {record}");
    assert_eq!(record["valid_bids"], 1);
    assert_eq!(record["min_valid_bids"]["value"], 1);
    // Evaluated, awarded and contracted with the one supplier.
    let e = Evaluation::drawn(r, vec![supplier]).await;
    e.through_contract().await;
    let (_, result) =
        e.r.app
            .get(&format!("/api/v1/trades/{}/result", e.r.trade), None)
            .await;
    assert_eq!(result["candidates"].as_array().map(Vec::len), Some(1));
    assert_eq!(result["status"], "contracted", "{result}");
}

async fn a_competitive_negotiation_runs_a_second_round_among_the_valid_bidders(backend: Backend) {
    let app = crate::helpers::spawn_app(backend).await;
    let invited = bidders(&app).await;
    let refs = [&invited[0], &invited[1], &invited[2]];
    let mut r =
        crate::opening::round_with(app, |t| procurement(t, "competitive_negotiation", &refs)).await;
    let officer = r.app.user("trading_centre").await;
    for (bidder, price) in invited
        .iter()
        .zip([9_870_000_001, 9_650_000_002, 9_990_000_003])
    {
        r.bid(bidder, price).await;
    }
    r.open_now().await;
    let first = r.trade.clone();

    // The second round: among the first round's valid bidders, same terms and documents.
    let deadline = r.app.clock_now() + chrono::Duration::hours(4);
    let order = json!({ "bid_deadline": tradehall::domain::clock::rfc3339(deadline) });
    let path = format!("/api/v1/trades/{first}/rounds");
    let (status, second) = r.app.post(&path, Some(&officer.token), &order).await;
    assert_eq!(status, StatusCode::CREATED, "{second}");
    assert_eq!(second["previous_round"], first.as_str());
    let mut expected: Vec<String> = invited.iter().map(usci).collect();
    expected.sort();
    assert_eq!(second["invited"], json!(expected));
    let (status, body) = r.app.post(&path, Some(&officer.token), &order).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::CONFLICT, "next_round_exists")
    );
    // The first round is not evaluated any more.
    let (status, body) = r
        .app
        .post(
            &format!("/api/v1/trades/{first}/evaluation/draw"),
            Some(&officer.token),
            &json!({ "specialty": "construction.road", "experts": 5 }),
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::CONFLICT, "next_round_exists")
    );
    let second_id = second["id"].as_str().unwrap_or_default().to_owned();
    let (status, body) = r
        .app
        .post(
            &format!("/api/v1/trades/{second_id}/publish"),
            Some(&officer.token),
            &json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let custodians = std::mem::take(&mut r.committee.custodians);
    r.committee = crate::opening::register_committee(&r.app, &second_id, custodians).await;
    r.trade = second_id;
    r.deadline = deadline;
    // Final quotes, lower; the third supplier now quotes lowest.
    for (bidder, price) in invited
        .iter()
        .zip([9_500_000_000, 9_400_000_000, 9_300_000_000])
    {
        r.bid(bidder, price).await;
    }
    r.open_now().await;
    // The last round is evaluated and awarded as usual.
    let e = Evaluation::drawn(r, invited.into()).await;
    e.through_contract().await;
    let (_, result) =
        e.r.app
            .get(&format!("/api/v1/trades/{}/result", e.r.trade), None)
            .await;
    assert_eq!(
        result["award"]["winner"]["price"], 9_300_000_000_i64,
        "{result}"
    );
    assert_eq!(
        result["award"]["winner"]["organization"]["usci"],
        usci(&e.bidders[2])
    );
}
