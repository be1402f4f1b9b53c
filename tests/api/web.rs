//! The web pages in a real browser (issue 7): the public portal with the result of a
//! trade taken to contract, and the transparency log explorer verifying a receipt with
//! WebCrypto. Screenshots land in `target/screenshots/`.

use serde_json::Value;

use crate::browser::Browser;
use crate::evaluation::Evaluation;
use crate::helpers::Backend;

crate::on_both_backends!(
    the_public_portal_finds_a_trade_and_shows_its_result,
    the_log_explorer_verifies_a_receipt_in_the_browser,
    a_bidder_signs_in_with_a_certificate_and_checks_its_receipts,
    a_bid_sealed_in_the_browser_opens_with_bids_sealed_by_the_cli,
    a_bidder_prices_with_the_guard_replaces_and_withdraws_keeping_its_key_over_a_reload,
    a_bidder_asks_objects_complains_and_reads_its_award_notice_on_the_trade_page,
    an_expert_scores_and_signs_the_report_with_a_dissent_from_the_browser,
    a_centre_creates_a_tender_from_the_form_checked_live_against_the_rules_and_publishes_it,
    a_centre_answers_draws_answers_objections_awards_and_records_the_contract_on_its_page,
    the_browser_refuses_to_seal_to_a_committee_key_swapped_in_the_database,
    a_suite_2_trade_sends_its_bidders_and_custodians_to_the_tradehall_client,
    a_live_auction_is_quoted_from_two_browser_sessions_until_it_ends,
    a_land_bidder_applies_from_the_page_and_follows_its_deposit_back_after_the_sale,
    a_centre_seals_a_land_sales_reserve_and_qualifies_its_applicant_on_its_page,
    a_supervisor_sees_an_alert_live_and_suspends_the_trade_the_bidder_watches
);

fn label(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    }
}

async fn the_public_portal_finds_a_trade_and_shows_its_result(backend: Backend) {
    let e = Evaluation::start(backend, None).await;
    e.through_contract().await;
    let app = &e.r.app;
    let (_, trade) = app
        .get(&format!("/api/v1/trades/{}", e.r.trade), None)
        .await;
    let (_, result) = app
        .get(&format!("/api/v1/trades/{}/result", e.r.trade), None)
        .await;
    let title = trade["title"].as_str().unwrap_or_default().to_owned();
    let winner = result["award"]["winner"]["organization"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(!title.is_empty() && !winner.is_empty(), "{trade} {result}");

    let mut browser = Browser::open(&format!("portal-{}", label(backend))).await;
    browser.goto(&format!("{}/#/", app.base)).await;
    browser.wait_text("[data-testid=trade-list]", &title).await;
    browser
        .wait_text("[data-testid=server-time]", "北京时间")
        .await;
    browser.screenshot("portal").await;
    // The first load with a cold cache (a new browser profile): the pages' files come
    // compressed and only the portal's modules load (docs/web.md, "Weight").
    let load = browser.save_page_metrics("portal").await;
    let bytes = load["transfer_bytes"].as_u64().unwrap_or(u64::MAX);
    assert!(
        bytes <= 120_000,
        "the portal's first load took {bytes} bytes: {load}"
    );

    // Keyboard only: the first Tab reaches the skip link, Enter moves to the page, the
    // next Tab to the search field; Enter searches; Tabs reach the trade's link.
    {
        use fantoccini::key::Key;
        browser.goto(&format!("{}/#/", app.base)).await;
        browser.wait_text("[data-testid=trade-list]", &title).await;
        browser.press(Key::Tab).await;
        assert!(
            browser.focused().await.contains("|skip|"),
            "{}",
            browser.focused().await
        );
        browser.press(Key::Enter).await;
        assert!(
            browser.focused().await.starts_with("main|main|"),
            "{}",
            browser.focused().await
        );
        browser.press(Key::Tab).await;
        assert!(
            browser.focused().await.starts_with("input|f-q|"),
            "{}",
            browser.focused().await
        );
        browser.type_text("河滩路").await;
        browser.press(Key::Enter).await;
        browser.wait_text("[data-testid=trade-list]", &title).await;
        let link = format!("#/trades/{}", e.r.trade);
        let mut reached = false;
        for _ in 0..30 {
            browser.press(Key::Tab).await;
            if browser.focused().await.ends_with(&link) {
                reached = true;
                break;
            }
        }
        assert!(reached, "Tab never reached the trade's link");
        browser.press(Key::Enter).await;
        browser
            .wait_text("[data-testid=trade-status]", "已签约")
            .await;
        browser.goto(&format!("{}/#/", app.base)).await;
        browser.wait_text("[data-testid=trade-list]", &title).await;
    }

    // Tabs by notice category: the contracted trade is under 合同公告, not under 流标.
    browser
        .click("[data-testid=category-tabs] a[href*='status=contracted']")
        .await;
    browser.wait_text("[data-testid=trade-list]", &title).await;
    browser
        .click("[data-testid=category-tabs] a[href*='status=failed']")
        .await;
    browser
        .wait_text("[data-testid=trade-list]", "没有符合条件的交易")
        .await;
    browser.goto(&format!("{}/#/", app.base)).await;
    browser.wait_text("[data-testid=trade-list]", &title).await;

    // Search by words of the title: the query goes into the link and the list.
    browser.fill("#f-q", "河滩路").await;
    browser.click("form.filters button[type=submit]").await;
    let url = browser
        .client
        .current_url()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(url.fragment().unwrap_or_default().contains("q="), "{url}");
    let listed = browser.wait_text("[data-testid=trade-list]", &title).await;
    assert!(listed.contains("已签约"), "the status is shown: {listed}");
    // Nothing matches a word that is in no trade.
    browser.fill("#f-q", "不存在的项目").await;
    browser.click("form.filters button[type=submit]").await;
    browser
        .wait_text("[data-testid=trade-list]", "没有符合条件的交易")
        .await;
    browser.fill("#f-q", "河滩路").await;
    browser.click("form.filters button[type=submit]").await;

    // The trade page: documents with hashes, the opening record, the candidates, the winner.
    browser
        .click(&format!("a[href='#/trades/{}']", e.r.trade))
        .await;
    browser.wait_text("[data-testid=award]", &winner).await;
    let opening = browser.wait_text("[data-testid=opening]", "有效").await;
    for bidder in &e.bidders {
        let name = bidder.identity["organization"].as_str().unwrap_or_default();
        assert!(opening.contains(name), "{name} in {opening}");
    }
    let result_text = browser.wait_text("[data-testid=result]", &winner).await;
    assert!(result_text.contains("中标候选人"), "{result_text}");
    let documents = browser
        .wait_text("[data-testid=documents]", "SHA-256")
        .await;
    let sha = trade["documents"][0]["sha256"].as_str().unwrap_or_default();
    assert!(!sha.is_empty() && documents.contains(sha), "{documents}");
    browser
        .wait_text("[data-testid=trade-status]", "已签约")
        .await;
    browser.screenshot("trade").await;

    // English on request; the choice is remembered.
    browser.click("button.lang").await;
    browser
        .wait_text("[data-testid=result]", "Candidates")
        .await;
    browser
        .wait_text("[data-testid=trade-status]", "Contracted")
        .await;
    browser.assert_english("trade").await;
    browser.screenshot("trade-en").await;
    browser.reload().await;
    browser
        .wait_text("[data-testid=result]", "Candidates")
        .await;
    // The list in English: kinds, regions, statuses and the footer's open data in words,
    // Chinese only in the titles.
    browser.goto(&format!("{}/#/", app.base)).await;
    browser.wait_text("[data-testid=trade-list]", &title).await;
    browser.assert_english("portal").await;
    browser.screenshot("portal-en").await;
    browser
        .goto(&format!("{}/#/trades/{}", app.base, e.r.trade))
        .await;
    browser
        .wait_text("[data-testid=result]", "Candidates")
        .await;

    // A phone-width screen: the page reflows instead of scrolling sideways.
    browser.set_size(390, 844).await;
    let fits = browser
        .client
        .execute(
            "return document.documentElement.scrollWidth <= window.innerWidth;",
            vec![],
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(fits, Value::Bool(true), "the page is wider than a phone");
    browser.screenshot("trade-phone").await;
    browser.finish().await;
}

async fn the_log_explorer_verifies_a_receipt_in_the_browser(backend: Backend) {
    let r = crate::opening::round(backend).await;
    let bidder = r.app.user("bidder").await;
    let receipt = r.bid(&bidder, 9_870_000_001).await;
    let index = receipt["log_index"].as_i64().unwrap_or_default();

    let mut browser = Browser::open(&format!("log-{}", label(backend))).await;
    browser.goto(&format!("{}/#/log", r.app.base)).await;
    let (_, keys) = r.app.get("/api/v1/platform/keys", None).await;
    let key_id = keys["keys"][0]["key_id"].as_str().unwrap_or_default();
    browser
        .wait_text("[data-testid=checkpoint]", "签名有效")
        .await;
    browser.wait_text("[data-testid=checkpoint]", key_id).await;
    browser.wait_text("[data-testid=witness]", "首次看到").await;
    // No witness cosigned this platform's log (tests/api/log_tree.rs has one that does).
    browser
        .wait_text("[data-testid=cosigned]", "尚无见证方")
        .await;

    // The log grows; this browser checks the new checkpoint is consistent with the old.
    let _ = r.app.user("bidder").await;
    browser.click("[data-testid=checkpoint] h2 button").await;
    browser.wait_text("[data-testid=witness]", "一致").await;

    // A pasted receipt verifies.
    browser.paste("#receipt-text", &receipt.to_string()).await;
    browser.click("#h-receipt ~ form button[type=submit]").await;
    let ok = browser
        .wait_text("[data-testid=receipt-outcome]", "回执有效")
        .await;
    assert!(ok.contains(&format!("条目 {index}")), "{ok}");
    browser.screenshot("receipt-verified").await;

    // A receipt with a changed proof does not, and the page says which check failed.
    let mut forged = receipt.clone();
    forged["inclusion"]["proof"][0] = Value::String(hex::encode([7u8; 32]));
    browser.paste("#receipt-text", &forged.to_string()).await;
    browser.click("#h-receipt ~ form button[type=submit]").await;
    browser
        .wait_text("[data-testid=receipt-outcome]", "包含证明无效")
        .await;
    // Nor one whose signed fields were changed.
    let mut later = receipt.clone();
    later["received_at"] = Value::String("2026-11-27T01:00:00.000Z".into());
    browser.paste("#receipt-text", &later.to_string()).await;
    browser.click("#h-receipt ~ form button[type=submit]").await;
    browser
        .wait_text("[data-testid=receipt-outcome]", "回执签名无效")
        .await;
    browser.screenshot("receipt-forged").await;

    // A receipt file chosen from disk verifies too.
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = crate::helpers::write(dir.path(), "receipt.json", receipt.to_string().as_bytes());
    browser
        .find("#receipt-file")
        .await
        .send_keys(&path.display().to_string())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    browser
        .wait_text("[data-testid=receipt-outcome]", "回执有效")
        .await;

    // The receipt's entry, looked up and its inclusion checked.
    browser.fill("#entry-index", &index.to_string()).await;
    browser.click("#h-entry ~ form button[type=submit]").await;
    let entry = browser
        .wait_text("[data-testid=entry]", "bid.received")
        .await;
    assert!(entry.contains("✓"), "{entry}");
    browser.screenshot("entry").await;
    // The same screen in English: only names and titles in Chinese.
    browser.switch_to_english("last").await;
    // The same screen on a phone (nothing wider than 390 px).
    browser.set_size(390, 844).await;
    browser.screenshot("phone").await;
    browser.finish().await;
}

/// PEM of DER bytes, 64 characters a line.
pub(crate) fn pem(label: &str, der: &[u8]) -> String {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap_or_default())
        .collect();
    format!(
        "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
        lines.join("\n")
    )
}

async fn a_bidder_signs_in_with_a_certificate_and_checks_its_receipts(backend: Backend) {
    let r = crate::opening::round(backend).await;
    let bidder = r.app.user("bidder").await;
    let other = r.app.user("bidder").await;
    let receipt = r.bid(&bidder, 9_870_000_001).await;
    let (status, asked) = r
        .app
        .post(
            &format!("/api/v1/trades/{}/clarifications", r.trade),
            Some(&bidder.token),
            &serde_json::json!({"question": "第二标段桥梁工程是否允许分包？"}),
        )
        .await;
    assert_eq!(status, reqwest::StatusCode::CREATED, "{asked}");
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let write = |name: &str, text: &str| {
        crate::helpers::write(dir.path(), name, text.as_bytes())
            .display()
            .to_string()
    };
    let cert = write("cert.pem", &bidder.cert_pem);
    let key = write("key.pem", &pem("PRIVATE KEY", &bidder.key_pkcs8));
    let wrong_key = write("other-key.pem", &pem("PRIVATE KEY", &other.key_pkcs8));
    let not_a_key = write("notes.txt", "not a key");
    let organization = bidder.identity["organization"].as_str().unwrap_or_default();

    let mut browser = Browser::open(&format!("signin-{}", label(backend))).await;
    browser.goto(&format!("{}/#/signin", r.app.base)).await;
    // Another organisation's key does not sign for this certificate: the server refuses.
    browser.choose_file("#signin-cert", &cert).await;
    browser.choose_file("#signin-key", &wrong_key).await;
    browser
        .click("[data-testid=signin] button[type=submit]")
        .await;
    browser
        .wait_text("[data-testid=signin-error]", "signature_invalid")
        .await;
    browser.expect_console_error(
        "/api/v1/auth/login - Failed to load resource: the server responded with a status of 401",
    );
    // A file that is no key is refused in the browser, before anything is sent.
    browser.choose_file("#signin-key", &not_a_key).await;
    browser
        .click("[data-testid=signin] button[type=submit]")
        .await;
    browser
        .wait_text("[data-testid=signin-error]", "PKCS#8")
        .await;
    browser.screenshot("refused").await;

    browser.choose_file("#signin-key", &key).await;
    browser
        .click("[data-testid=signin] button[type=submit]")
        .await;
    browser
        .wait_text("[data-testid=signed-in]", organization)
        .await;
    let identity = browser.wait_text("[data-testid=identity]", "投标人").await;
    assert!(
        identity.contains(bidder.identity["usci"].as_str().unwrap_or_default()),
        "{identity}"
    );
    let bids = browser
        .wait_text("[data-testid=my-bids]", &receipt["log_index"].to_string())
        .await;
    assert!(bids.contains("河滩路改造工程施工招标"), "{bids}");
    browser.click("[data-testid=my-bids] td button").await;
    browser.wait_text("[data-testid=my-bids]", "回执有效").await;
    let questions = browser
        .wait_text("[data-testid=my-questions]", "是否允许分包")
        .await;
    assert!(questions.contains("待答复"), "{questions}");
    // Each question names its trade by title, never by an id.
    browser
        .wait_text("[data-testid=my-questions]", "河滩路改造工程施工招标")
        .await;
    browser.screenshot("workspace").await;

    // Only the bidder's own bids are listed, and only to a signed-in bidder.
    let (_, theirs) = r.app.get("/api/v1/bids/mine", Some(&other.token)).await;
    assert_eq!(theirs["bids"], serde_json::json!([]), "{theirs}");
    let (_, theirs) = r
        .app
        .get("/api/v1/clarifications/mine", Some(&other.token))
        .await;
    assert_eq!(theirs["clarifications"], serde_json::json!([]), "{theirs}");
    let (status, _) = r.app.get("/api/v1/bids/mine", None).await;
    assert_eq!(status, reqwest::StatusCode::UNAUTHORIZED);

    // From the workspace to the trade, still open for bids: nothing about any bid shows.
    browser.click("[data-testid=my-bids] td a").await;
    browser
        .wait_text("[data-testid=trade-status]", "投标中")
        .await;
    browser.wait_text("[data-testid=opening]", "尚未开标").await;

    // The session lasts for the tab; signing out ends it.
    browser.click("[data-testid=signed-in] button").await;
    browser.wait_text("header.top", "登录").await;
    // The same screen in English: only names and titles in Chinese.
    browser.switch_to_english("last").await;
    // The same screen on a phone (nothing wider than 390 px).
    browser.set_size(390, 844).await;
    browser.screenshot("phone").await;
    browser.finish().await;
}

/// Signs `user` in through the sign-in page with key files written to `dir`.
pub(crate) async fn sign_in(
    browser: &Browser,
    base: &str,
    user: &crate::helpers::User,
    dir: &std::path::Path,
) {
    let cert = crate::helpers::write(dir, "browser-cert.pem", user.cert_pem.as_bytes());
    let key = crate::helpers::write(
        dir,
        "browser-key.pem",
        pem("PRIVATE KEY", &user.key_pkcs8).as_bytes(),
    );
    browser.goto(&format!("{base}/#/signin")).await;
    browser
        .choose_file("#signin-cert", &cert.display().to_string())
        .await;
    browser
        .choose_file("#signin-key", &key.display().to_string())
        .await;
    browser
        .click("[data-testid=signin] button[type=submit]")
        .await;
    let organization = user.identity["organization"].as_str().unwrap_or_default();
    browser
        .wait_text("[data-testid=signed-in]", organization)
        .await;
}

/// A 国密 trade (its committee seals with suite 2), which this browser cannot seal or open:
/// the bid page says so in the page's language and names the client's commands, and has no
/// form to seal with; the custodian page says the opening needs the client. On a
/// desktop and a phone, in Chinese and in English.
async fn a_suite_2_trade_sends_its_bidders_and_custodians_to_the_tradehall_client(
    backend: Backend,
) {
    let app = crate::helpers::spawn_app(backend).await;
    let r = crate::opening::round_with(app, |terms| {
        terms["committee"]["suite"] = serde_json::json!(2);
    })
    .await;
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let bidder = r.app.user("bidder").await;
    let mut browser = Browser::open(&format!("suite-2-bid-{}", label(backend))).await;
    sign_in(&browser, &r.app.base, &bidder, dir.path()).await;
    browser
        .goto(&format!("{}/#/trades/{}/bid", r.app.base, r.trade))
        .await;
    let notice = browser.wait_text("[data-testid=suite-cli]", "国密").await;
    assert!(
        notice.contains("tradehall bid seal") && notice.contains("tradehall bid submit"),
        "{notice}"
    );
    let form = browser
        .client
        .execute(
            "return document.querySelector('[data-testid=bid-form]') !== null;",
            vec![],
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        form,
        serde_json::json!(false),
        "no form to seal in the browser"
    );
    browser.screenshot("bid").await;
    browser.switch_to_english("bid").await;
    browser
        .wait_text("[data-testid=suite-cli]", "Chinese national algorithms")
        .await;
    browser.set_size(390, 844).await;
    browser.screenshot("bid-phone").await;
    browser.finish().await;

    let custodian = &r.committee.custodians[0];
    let mut browser = Browser::open(&format!("suite-2-custodian-{}", label(backend))).await;
    sign_in(&browser, &r.app.base, custodian, dir.path()).await;
    browser
        .goto(&format!("{}/#/trades/{}/custodian", r.app.base, r.trade))
        .await;
    let notice = browser.wait_text("[data-testid=suite-cli]", "SM2").await;
    assert!(notice.contains("tradehall custodian open"), "{notice}");
    browser.screenshot("custodian").await;
    browser.switch_to_english("custodian").await;
    browser.set_size(390, 844).await;
    browser.screenshot("custodian-phone").await;
    browser.finish().await;
}

/// A key swapped in the database behind the platform's back (here by an insider whose
/// certificate is real and who signed the operator's key) does not match the log: the
/// bid page says so, names the custodian and does not seal.
async fn the_browser_refuses_to_seal_to_a_committee_key_swapped_in_the_database(backend: Backend) {
    use tradehall::crypto::threshold::{custodian_key_message, CustodianSecretKey};
    let r = crate::opening::round(backend).await;
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let victim = r.committee.custodians[1].id();
    let insider = r.app.user("custodian").await;
    let (_, theirs) = CustodianSecretKey::generate();
    let certificate = tradehall::crypto::cert::parse_pem_certificates(&insider.cert_pem)
        .unwrap_or_else(|e| panic!("{e}"))
        .remove(0);
    crate::helpers::tamper(
        &r.app,
        &format!(
            "UPDATE custodian_keys SET public_key = $1, signature = $2, certificate = $3, key_id = '{}' \
             WHERE trade_id = '{}' AND identity_id = '{victim}'",
            theirs.key_id(),
            r.trade
        ),
        &[
            theirs.as_bytes().to_vec(),
            insider.signer.sign(&custodian_key_message(&r.trade, &theirs)).unwrap_or_else(|e| panic!("{e}")),
            certificate,
        ],
    )
    .await;

    let bidder = r.app.user("bidder").await;
    let mut browser = Browser::open(&format!("swapped-key-{}", label(backend))).await;
    sign_in(&browser, &r.app.base, &bidder, dir.path()).await;
    browser
        .goto(&format!("{}/#/trades/{}/bid", r.app.base, r.trade))
        .await;
    let refusal = browser
        .wait_text("[data-testid=committee-refused]", &victim)
        .await;
    assert!(refusal.contains("开标委员会的密钥未通过核验"), "{refusal}");
    assert!(
        refusal.contains("与公开日志第") && refusal.contains("可能被替换"),
        "{refusal}"
    );
    browser.screenshot("committee-refused").await;
    let submit = browser
        .find("[data-testid=bid-form] button[type=submit]")
        .await;
    assert!(
        !submit.is_enabled().await.unwrap_or(true),
        "the seal button is disabled"
    );
    let (_, bids) = r
        .app
        .get(
            &format!("/api/v1/trades/{}/bid", r.trade),
            Some(&bidder.token),
        )
        .await;
    assert_eq!(
        bids["error"]["code"], "bid_not_found",
        "nothing was submitted: {bids}"
    );
    browser.finish().await;
}

/// `tradehall bid seal` then `tradehall bid submit`, as a bidder does on its own machine.
pub async fn cli_bid(
    r: &crate::opening::Round,
    bidder: &crate::helpers::User,
    yuan: &str,
    dir: &std::path::Path,
) {
    let key = crate::helpers::write(dir, &format!("{}.der", bidder.id()), &bidder.key_pkcs8);
    cli_bid_with_key(r, bidder, yuan, dir, key.into_os_string(), Vec::new()).await;
}

/// [`cli_bid`] with `--key key` (a file, or a PKCS#11 URI) and environment `env`.
pub async fn cli_bid_with_key(
    r: &crate::opening::Round,
    bidder: &crate::helpers::User,
    yuan: &str,
    dir: &std::path::Path,
    key: std::ffi::OsString,
    env: Vec<(String, String)>,
) {
    let name = bidder.id();
    let cert = crate::helpers::write(dir, &format!("{name}.pem"), bidder.cert_pem.as_bytes());
    let out = dir.join(format!("{name}.sealed"));
    let who = |args: &[&str]| -> Vec<std::ffi::OsString> {
        let mut all: Vec<std::ffi::OsString> = args.iter().map(Into::into).collect();
        all.extend([
            "--cert".into(),
            cert.clone().into_os_string(),
            "--key".into(),
            key.clone(),
        ]);
        all.extend(["--server".into(), r.app.base.clone().into()]);
        all
    };
    let out_text = out.display().to_string();
    for args in [
        who(&[
            "bid", "seal", "--trade", &r.trade, "--price", yuan, "--lot", "1", "--out", &out_text,
        ]),
        who(&["bid", "submit", &out_text]),
    ] {
        let run = crate::helpers::run_cli_with(args, env.clone()).await;
        assert!(
            run.status.success(),
            "{}",
            String::from_utf8_lossy(&run.stderr)
        );
    }
}

/// The bidder's own bid, as the server holds it: the receipt's envelope hash, or None.
async fn stored_bid(r: &crate::opening::Round, bidder: &crate::helpers::User) -> Option<String> {
    let (status, body) = r
        .app
        .get(
            &format!("/api/v1/trades/{}/bid", r.trade),
            Some(&bidder.token),
        )
        .await;
    match status {
        reqwest::StatusCode::OK => body["envelope_sha256"].as_str().map(str::to_owned),
        reqwest::StatusCode::NOT_FOUND => {
            assert_eq!(body["error"]["code"], "bid_not_found", "{body}");
            None
        }
        other => panic!("GET bid: {other} {body}"),
    }
}

/// What the sign-in kept in IndexedDB for the session: "none", or the key's algorithm.
async fn kept_key(browser: &Browser) -> String {
    browser
        .client
        .execute_async(
            "const done = arguments[arguments.length - 1];
             const open = indexedDB.open('tradehall.keys', 1);
             open.onupgradeneeded = () => open.result.createObjectStore('session');
             open.onsuccess = () => {
               const get = open.result.transaction('session').objectStore('session').get('signer');
               get.onsuccess = () => done(get.result ? `${get.result.key.algorithm.name} extractable=${get.result.key.extractable}` : 'none');
               get.onerror = () => done('error');
             };
             open.onerror = () => done('error');",
            vec![],
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// A tender with an estimate of ¥3,500,000.00 (issue 31's example): each form people
/// type reads as the same amount in figures and in 大写; a price ten times the estimate is
/// flagged and cannot be sealed without ticking that it was checked; nothing is signed or
/// sent before the confirmation. The bid is then sealed, replaced after a reload (the key
/// kept for the session) and withdrawn, each confirmed, each as the server records it.
async fn a_bidder_prices_with_the_guard_replaces_and_withdraws_keeping_its_key_over_a_reload(
    backend: Backend,
) {
    let app = crate::helpers::spawn_app(backend).await;
    let r = crate::opening::round_with(app, |terms| {
        terms["estimated_value"] = serde_json::json!(350_000_000_i64);
        terms["bond_amount"] = serde_json::json!(7_000_000_i64);
        terms["lots"] = serde_json::json!([
            { "id": "1", "title": "道路", "estimated_value": 200_000_000_i64 },
            { "id": "2", "title": "桥梁", "estimated_value": 150_000_000_i64 }
        ]);
    })
    .await;
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let bidder = r.app.user("bidder").await;
    let mut browser = Browser::open(&format!("price-guard-{}", label(backend))).await;
    sign_in(&browser, &r.app.base, &bidder, dir.path()).await;
    assert_eq!(kept_key(&browser).await, "ECDSA extractable=false");
    let page = format!("{}/#/trades/{}/bid", r.app.base, r.trade);
    browser.goto(&page).await;
    browser
        .wait_text("[data-testid=committee-checked]", "✓")
        .await;

    // Every form people type is the same ¥3,200,000.00, restated in capital numerals.
    for typed in [
        "3,200,000.00",
        "3200000",
        "320万",
        "３２０万",
        "¥3,200,000 元",
    ] {
        browser.fill("#bid-price", typed).await;
        let echo = browser
            .wait_text("[data-testid=bid-price-echo]", "叁佰贰拾万元整")
            .await;
        assert!(echo.contains("3,200,000.00"), "{typed}: {echo}");
    }
    browser.screenshot("price-words").await;

    // A slip of a digit: ¥32,000,000.00 on a ¥3,500,000.00 tender. The page says so as it
    // is typed, the confirmation restates it, and the seal button stays off until the
    // bidder ticks that it checked the amount; going back leaves nothing sealed or sent.
    browser.fill("#bid-price", "32000000").await;
    browser
        .wait_text("[data-testid=bid-price-echo]", "叁仟贰佰万元整")
        .await;
    let warning = browser
        .wait_text("[data-testid=bid-price-warnings]", "高于估算金额")
        .await;
    assert!(
        warning.contains("3,500,000.00") && warning.contains("814%"),
        "{warning}"
    );
    browser
        .click("[data-testid=bid-form] button[type=submit]")
        .await;
    let confirm = browser
        .wait_text("[data-testid=seal]", "请确认投标内容")
        .await;
    for restated in [
        "河滩路",
        "1. 道路",
        "2. 桥梁",
        "32,000,000.00",
        "叁仟贰佰万元整",
        "高于估算金额",
    ] {
        assert!(confirm.contains(restated), "{restated}: {confirm}");
    }
    let seal = browser.find("[data-testid=seal-confirm]").await;
    assert!(
        !seal.is_enabled().await.unwrap_or(true),
        "no sealing a flagged amount before it is ticked as checked"
    );
    browser.screenshot("confirm-flagged").await;
    browser.click("[data-testid=seal-cancel]").await;
    assert_eq!(stored_bid(&r, &bidder).await, None, "nothing was sent");

    // Not an amount: refused before any confirmation.
    browser.fill("#bid-price", "3200,000").await;
    browser
        .wait_text("[data-testid=bid-price-echo]", "无法识别的金额")
        .await;
    browser
        .click("[data-testid=bid-form] button[type=submit]")
        .await;
    browser
        .wait_text("[data-testid=bid-error]", "无法识别的报价")
        .await;
    assert!(
        browser
            .client
            .find(fantoccini::Locator::Css("[data-testid=seal]"))
            .await
            .is_err(),
        "no confirmation for an unreadable amount"
    );

    // The right amount, confirmed: sealed, sent, and its receipt checked in the browser.
    browser.fill("#bid-price", "320万").await;
    browser
        .click("[data-testid=bid-form] button[type=submit]")
        .await;
    let confirm = browser
        .wait_text("[data-testid=seal]", "叁佰贰拾万元整")
        .await;
    assert!(!confirm.contains("高于估算金额"), "{confirm}");
    browser.click("[data-testid=seal-confirm]").await;
    let receipt = browser
        .wait_text("[data-testid=bid-receipt]", "投标已送达")
        .await;
    assert!(receipt.contains("3,200,000.00"), "{receipt}");
    let first = stored_bid(&r, &bidder)
        .await
        .unwrap_or_else(|| panic!("the bid is stored"));
    assert!(receipt.contains(&first), "{receipt}");

    // A reload keeps the session's key: the page does not ask for the key file again,
    // and shows the bid in force.
    browser.reload().await;
    browser.find("[data-testid=key-kept]").await;
    browser
        .wait_text("[data-testid=current-bid]", "有效投标")
        .await;
    assert!(
        browser
            .client
            .find(fantoccini::Locator::Css("#bid-key"))
            .await
            .is_err(),
        "no key file asked for after a reload"
    );

    // Replaced with ¥3,180,000.00, signed with the kept key.
    browser.fill("#bid-price", "318万").await;
    browser
        .click("[data-testid=bid-form] button[type=submit]")
        .await;
    browser
        .wait_text("[data-testid=seal]", "将替换已递交的投标")
        .await;
    browser.screenshot("confirm-replace").await;
    browser.click("[data-testid=seal-confirm]").await;
    browser
        .wait_text("[data-testid=bid-receipt]", "替换原投标")
        .await;
    let second = stored_bid(&r, &bidder)
        .await
        .unwrap_or_else(|| panic!("the new bid is stored"));
    assert_ne!(first, second, "the new envelope replaced the first");

    // Withdrawn, after a confirmation that names the trade.
    browser.click("[data-testid=withdraw]").await;
    let restated = browser
        .wait_text("[data-testid=withdraw-confirm]", "不参加开标")
        .await;
    assert!(restated.contains("河滩路"), "{restated}");
    browser.click("[data-testid=withdraw-confirm-button]").await;
    browser
        .wait_text("[data-testid=bid-withdrawn]", "已撤回")
        .await;
    assert_eq!(
        stored_bid(&r, &bidder).await,
        None,
        "withdrawn on the server"
    );
    browser.screenshot("withdrawn").await;

    // Signing out forgets the key.
    browser.click("[data-testid=signed-in] button").await;
    browser.wait_text("header.top", "登录").await;
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
    while kept_key(&browser).await != "none" {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the key outlived the sign-out"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    // The same screen in English: only names and titles in Chinese.
    browser.switch_to_english("last").await;
    // The same screen on a phone (nothing wider than 390 px).
    browser.set_size(390, 844).await;
    browser.screenshot("phone").await;
    browser.finish().await;
}

/// A tender from two bidders' pages (issue 31): one asks a question while bids are open
/// and reads the answer; once the candidates are publicised the runner-up objects, reads
/// the centre's answer and complains to the supervisor, whose ruling it reads; after the
/// award the runner-up reads that it did not win, and after the contract follows its bond
/// back; the winner reads its award notice with the contract's due date. Each step from the page, each checked against the server.
async fn a_bidder_asks_objects_complains_and_reads_its_award_notice_on_the_trade_page(
    backend: Backend,
) {
    use crate::evaluation::{pass, Evaluation};
    let app = crate::helpers::spawn_app(backend).await;
    let bidders = [
        app.user("bidder").await,
        app.user("bidder").await,
        app.user("bidder").await,
    ];
    let r = crate::opening::round_on(app).await;
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let runner_up = &bidders[0];
    let mut browser = Browser::open(&format!("bidder-tender-{}", label(backend))).await;
    sign_in(&browser, &r.app.base, runner_up, dir.path()).await;
    let page = format!("{}/#/trades/{}", r.app.base, r.trade);
    browser.goto(&page).await;

    // A question while bids are open; the centre answers; the page shows the answer.
    browser
        .fill("#ask-text", "第二标段桥梁工程是否允许分包？")
        .await;
    browser.scroll_to("[data-testid=my-part]").await;
    browser.screenshot("ask").await;
    browser.click("[data-testid=ask] button[type=submit]").await;
    browser
        .wait_text("[data-testid=my-trade-questions]", "是否允许分包")
        .await;
    let (_, mine) = r
        .app
        .get("/api/v1/clarifications/mine", Some(&runner_up.token))
        .await;
    let question = mine["clarifications"][0].clone();
    assert_eq!(question["trade_id"], r.trade.as_str(), "{mine}");
    let officer = r.app.user("trading_centre").await;
    let (status, body) = r
        .app
        .post(
            &format!(
                "/api/v1/trades/{}/clarifications/{}/answer",
                r.trade,
                question["id"].as_str().unwrap_or_default()
            ),
            Some(&officer.token),
            &serde_json::json!({"answer": "不允许分包。"}),
        )
        .await;
    assert_eq!(status, reqwest::StatusCode::OK, "{body}");
    browser.reload().await;
    browser
        .wait_text("[data-testid=my-trade-questions]", "不允许分包")
        .await;

    // It downloads the documents from the page; the centre then replaces them by a change
    // notice (变更公告): the page says what changed since the download, and which
    // document to download again.
    browser.click("[data-testid=documents] a").await;
    browser
        .wait_text("[data-testid=doc-downloaded]", "已下载")
        .await;
    let (_, view) = r
        .app
        .get(&format!("/api/v1/trades/{}", r.trade), None)
        .await;
    let name = view["documents"][0]["name"].as_str().unwrap_or_default();
    r.app.clock.advance(chrono::Duration::hours(2));
    let (status, body) = r
        .app
        .post(
            &format!("/api/v1/trades/{}/notices", r.trade),
            Some(&officer.token),
            &serde_json::json!({
                "notice": "第二标段桥梁工程量清单更正，见更新后的招标文件。",
                "documents": [{"name": name, "media_type": "application/pdf", "content": "JVBERi0xLjcgdjI="}],
            }),
        )
        .await;
    assert_eq!(status, reqwest::StatusCode::CREATED, "{body}");
    browser.reload().await;
    browser
        .wait_text("[data-testid=changed-since]", "1 份变更公告")
        .await;
    browser
        .wait_text("[data-testid=doc-outdated]", "请重新下载")
        .await;
    browser
        .wait_text("[data-testid=notice]", "工程量清单更正")
        .await;
    browser.scroll_to("[data-testid=documents]").await;
    browser.screenshot("changed-since-download").await;
    browser.click("[data-testid=documents] a").await;
    browser
        .wait_text("[data-testid=doc-downloaded]", "已下载")
        .await;

    // Bids, opening, scoring and the report: the candidates are publicised.
    let e = Evaluation::on_round(r, bidders).await;
    let (bidders, runner_up) = (&e.bidders, &e.bidders[0]);
    let judged: Vec<Value> = e.bids.iter().map(|b| pass(*b)).collect();
    for expert in &e.committee {
        let (status, body) = e.submit(expert, &judged).await;
        assert_eq!(status, reqwest::StatusCode::OK, "{body}");
    }
    e.sign_all().await;
    let app = &e.r.app;

    // The runner-up objects from the page.
    // The same address: only a reload shows the trade as it is now.
    browser.reload().await;
    browser.wait_text("[data-testid=result]", "1").await;
    browser
        .fill("#object-text", "第一中标候选人的类似工程业绩与事实不符。")
        .await;
    browser.scroll_to("[data-testid=my-part]").await;
    browser.screenshot("object").await;
    browser
        .click("[data-testid=object] button[type=submit]")
        .await;
    browser
        .wait_text("[data-testid=my-objection]", "业绩与事实不符")
        .await;
    let (_, listed) = app
        .get(&e.path("/objections"), Some(&e.officer.token))
        .await;
    let objection = listed["objections"][0].clone();
    assert_eq!(
        objection["text"], "第一中标候选人的类似工程业绩与事实不符。",
        "{listed}"
    );
    let (status, body) = app
        .post(
            &e.path(&format!(
                "/objections/{}/answer",
                objection["id"].as_str().unwrap_or_default()
            )),
            Some(&e.officer.token),
            &serde_json::json!({"text": "经核查，业绩证明材料真实有效。"}),
        )
        .await;
    assert_eq!(status, reqwest::StatusCode::OK, "{body}");

    // It reads the answer and complains to the supervisor, who rules.
    browser.reload().await;
    browser
        .wait_text("[data-testid=my-objection]", "业绩证明材料真实有效")
        .await;
    let complain = format!(
        "#complain-{}-text",
        objection["id"].as_str().unwrap_or_default()
    );
    browser
        .fill(&complain, "答复未附核查依据，请求行政监督部门调查。")
        .await;
    browser
        .click(&format!(
            "[data-testid=complain-{}] button[type=submit]",
            objection["id"].as_str().unwrap_or_default()
        ))
        .await;
    browser
        .wait_text("[data-testid=my-objection]", "等待行政监督部门处理")
        .await;
    browser.scroll_to("[data-testid=my-part]").await;
    browser.screenshot("complained").await;
    let (_, listed) = app.get(&e.path("/objections"), Some(&e.city.token)).await;
    let complaint = listed["objections"][0]["complaint"].clone();
    assert_eq!(
        complaint["text"], "答复未附核查依据，请求行政监督部门调查。",
        "{listed}"
    );
    let (status, body) = app
        .post(
            &e.path(&format!(
                "/complaints/{}/ruling",
                complaint["id"].as_str().unwrap_or_default()
            )),
            Some(&e.city.token),
            &serde_json::json!({"upheld": false, "ruling": "经调查，投诉事项缺乏事实根据，予以驳回。"}),
        )
        .await;
    assert_eq!(status, reqwest::StatusCode::OK, "{body}");

    // The award, once the publicity is over.
    app.clock.set(app.clock_now() + chrono::Duration::days(3));
    let (status, result) = app
        .post(
            &e.path("/award"),
            Some(&e.officer.token),
            &serde_json::json!({}),
        )
        .await;
    assert_eq!(status, reqwest::StatusCode::OK, "{result}");
    let winner_usci = result["award"]["winner"]["organization"]["usci"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let winner = bidders
        .iter()
        .find(|b| b.identity["usci"] == winner_usci.as_str())
        .unwrap_or_else(|| panic!("the winner is a bidder: {result}"));
    assert_ne!(winner.id(), runner_up.id(), "{result}");
    // The same address: only a reload shows the trade as it is now.
    browser.reload().await;
    browser
        .wait_text("[data-testid=my-objection]", "投诉驳回")
        .await;
    let notice = browser
        .wait_text("[data-testid=award-notice]", "未中标")
        .await;
    assert!(
        notice.contains(winner.identity["organization"].as_str().unwrap_or("-")),
        "{notice}"
    );
    browser.screenshot("not-won").await;

    // The winner, in its own browser, before the contract.
    let mut won = Browser::open(&format!("bidder-won-{}", label(backend))).await;
    sign_in(&won, &app.base, winner, dir.path()).await;
    won.goto(&page).await;
    let notice = won
        .wait_text("[data-testid=award-notice]", "中标通知")
        .await;
    assert!(notice.contains("签订书面合同"), "{notice}");
    won.screenshot("award-notice").await;
    // The same screen in English: only names and titles in Chinese.
    won.switch_to_english("last").await;
    // The same screen on a phone (nothing wider than 390 px).
    won.set_size(390, 844).await;
    won.screenshot("phone").await;
    won.finish().await;

    // The contract, then the bonds go back: the runner-up follows its own on the page.
    let held = browser
        .wait_text("[data-testid=my-money]", "投标保证金")
        .await;
    assert!(held.contains("2,000,000.00"), "{held}");
    let document = e.upload_contract(b"%PDF-1.7 signed contract").await;
    let contract = serde_json::json!({
        "signed_at": tradehall::domain::clock::rfc3339(app.clock_now()),
        "amount": result["award"]["winner"]["price"],
        "document_sha256": document,
    });
    let (status, body) = app
        .post(&e.path("/contract"), Some(&e.officer.token), &contract)
        .await;
    assert_eq!(status, reqwest::StatusCode::OK, "{body}");
    let (_, money) = app.get(&e.path("/money"), Some(&e.officer.token)).await;
    let (status, claimed) = crate::deposits::bank_post(
        app,
        "/api/v1/bank/refund-claims",
        &serde_json::json!({ "claim_id": "bonds-web" }),
    )
    .await;
    assert_eq!(status, reqwest::StatusCode::OK, "{claimed}");
    for (i, refund) in money["refunds"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
    {
        let body = crate::deposits::notification(
            &e.r.trade,
            &format!("BOND-BACK-WEB-{i}"),
            refund["account"].as_str().unwrap_or_default(),
            &serde_json::json!({ "kind": "refund", "refund": refund["id"], "amount": refund["amount"] }),
        );
        let (_, back) = crate::deposits::notify(app, body).await;
        assert_eq!(back["outcome"], "refund_confirmed", "{back}");
    }
    browser.reload().await;
    let refunds = browser
        .wait_text("[data-testid=my-refunds]", "已退还")
        .await;
    assert!(refunds.contains("合同已签订"), "{refunds}");
    browser
        .wait_text("[data-testid=my-money]", "保证金已全部结清")
        .await;
    browser.scroll_to("[data-testid=my-money]").await;
    browser.screenshot("bond-refunded").await;
    // The same screen in English: only names and titles in Chinese.
    browser.switch_to_english("last").await;
    // The same screen on a phone (nothing wider than 390 px).
    browser.set_size(390, 844).await;
    browser.screenshot("phone").await;
    browser.finish().await;
}

/// An expert's whole job from its page (issue 31): it finds the trade it was drawn for,
/// fills a comprehensive-scoring sheet (one bid failed with its reason, the others
/// scored per criterion; a score over the criterion's weight is refused before anything
/// is signed), signs it in the browser, and once the others' sheets are in signs the
/// report with a dissent. The server verifies both signatures as it does the CLI's.
async fn an_expert_scores_and_signs_the_report_with_a_dissent_from_the_browser(backend: Backend) {
    use crate::evaluation::Evaluation;
    let terms = serde_json::json!({
        "method": "comprehensive_scoring",
        "price_weight": 30,
        "criteria": [
            { "id": "technical", "name": "技术", "weight": 60 },
            { "id": "business", "name": "商务", "weight": 10 }
        ]
    });
    let e = Evaluation::start(backend, Some(terms)).await;
    let app = &e.r.app;
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let expert = &e.committee[0];
    let mut browser = Browser::open(&format!("expert-{}", label(backend))).await;
    sign_in(&browser, &app.base, expert, dir.path()).await;
    browser.click("header.top nav a[href='#/expert']").await;
    browser
        .wait_text("[data-testid=assignment]", "河滩路改造工程施工招标")
        .await;
    browser
        .wait_text("[data-testid=assignment]", "评分中")
        .await;
    browser.find("[data-testid=score-sheet]").await;

    // Bid a passes with 52.5 and 8; bid b fails with its reason; bid c passes with 48 and
    // first a mistyped 80 technical points (out of 60).
    let [a, b, c] = e.bids[..] else {
        panic!("three bids")
    };
    let field = |bid: i64, rest: &str| format!("#judge-{}-{bid}{rest}", e.r.trade);
    let radio =
        |bid: i64, value: &str| format!("input[name='judge-{}-{bid}'][value='{value}']", e.r.trade);
    browser.click(&radio(a, "pass")).await;
    browser.fill(&field(a, "-technical"), "52.5").await;
    browser.fill(&field(a, "-business"), "8").await;
    browser.click(&radio(b, "fail")).await;
    browser
        .fill(&field(b, "-reason"), "项目经理资格证书未按要求提供")
        .await;
    browser.click(&radio(c, "pass")).await;
    browser.fill(&field(c, "-technical"), "80").await;
    browser.fill(&field(c, "-business"), "7").await;
    browser
        .click("[data-testid=score-sheet] button[type=submit]")
        .await;
    browser
        .wait_text("[data-testid=sheet-error]", "0 到 60")
        .await;
    let (_, progress) = app.get(&e.path("/evaluation"), None).await;
    assert_eq!(progress["sheets"], 0, "nothing sent: {progress}");
    browser.fill(&field(c, "-technical"), "48").await;
    browser.screenshot("score-sheet").await;
    browser
        .click("[data-testid=score-sheet] button[type=submit]")
        .await;
    browser.wait_text("[data-testid=my-sheet]", "✓").await;
    let (_, progress) = app.get(&e.path("/evaluation"), None).await;
    assert_eq!(progress["sheets"], 1, "{progress}");

    // The others score through the API; the report is then the expert's to sign.
    for other in &e.committee[1..] {
        let judged = vec![
            serde_json::json!({ "log_index": a, "pass": true, "scores": { "technical": 50, "business": 8 } }),
            serde_json::json!({ "log_index": b, "pass": true, "scores": { "technical": 40, "business": 6 } }),
            serde_json::json!({ "log_index": c, "pass": true, "scores": { "technical": 45, "business": 7 } }),
        ];
        let (status, body) = e.submit(other, &judged).await;
        assert_eq!(status, reqwest::StatusCode::OK, "{body}");
    }
    browser.reload().await;
    browser
        .wait_text("[data-testid=report-digest]", "已核对")
        .await;
    let ranking = browser
        .wait_text("[data-testid=report-ranking]", "1 人不通过")
        .await;
    assert!(
        ranking.contains("项目经理资格证书未按要求提供"),
        "{ranking}"
    );
    browser
        .fill(
            &format!("#dissent-{}", e.r.trade),
            "乙单位资格证书问题应否决其投标",
        )
        .await;
    browser.screenshot("report").await;
    browser
        .click("[data-testid=report-signing] button[type=submit]")
        .await;
    let signed = browser.wait_text("[data-testid=my-signature]", "✓").await;
    assert!(signed.contains("乙单位资格证书问题"), "{signed}");
    let (_, view) = app
        .get(&e.path("/evaluation/report"), Some(&expert.token))
        .await;
    let mine = view["signatures"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|s| s["expert"] == expert.id().as_str())
        .cloned()
        .unwrap_or_default();
    assert_eq!(mine["dissent"], "乙单位资格证书问题应否决其投标", "{view}");
    // The sheet the server keeps is the one typed here.
    let sheet = view["report"]["sheets"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|s| s["expert"] == expert.id().as_str())
        .cloned()
        .unwrap_or_default();
    assert!(sheet["sha256"].is_string(), "{view}");
    let bid_a = view["report"]["ranking"]["bids"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|x| x["log_index"] == a)
        .cloned()
        .unwrap_or_default();
    assert_eq!(bid_a["passed_by"], 5, "{bid_a}");
    let bid_b = view["report"]["ranking"]["bids"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|x| x["log_index"] == b)
        .cloned()
        .unwrap_or_default();
    assert_eq!(bid_b["failed_by"], 1, "{bid_b}");
    browser.screenshot("signed").await;
    // The same screen in English: only names and titles in Chinese.
    browser.switch_to_english("last").await;
    // The same screen on a phone (nothing wider than 390 px).
    browser.set_size(390, 844).await;
    browser.screenshot("phone").await;
    browser.finish().await;
}

/// A trading centre's first steps from its page (issue 31): a tender typed into the form
/// as people write amounts (1亿, 6000万), sealed with 国密 (suite 2), checked against the
/// rulebook as it is filled in
/// (a deadline 19 days out breaks 招标投标法 第二十四条 and the form says so before anything
/// is saved), saved as a draft once it keeps the rules, its document uploaded, and the
/// announcement published after a confirmation. The server holds the terms as typed.
async fn a_centre_creates_a_tender_from_the_form_checked_live_against_the_rules_and_publishes_it(
    backend: Backend,
) {
    let app = crate::helpers::spawn_app(backend).await;
    let (officer, custodians) = app.officer_and_committee().await;
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let mut browser = Browser::open(&format!("centre-{}", label(backend))).await;
    sign_in(&browser, &app.base, &officer, dir.path()).await;
    browser.click("header.top nav a[href='#/centre']").await;
    browser.find("[data-testid=trade-form]").await;
    browser.select("#tf-kind", "construction_tender").await;
    browser.select("#tf-procedure", "open_tender").await;
    browser
        .fill("#tf-title", "西山路排水管网改造工程施工招标")
        .await;
    browser
        .fill("#tf-principal", "乌鲁木齐市城市建设投资（集团）有限公司")
        .await;
    let principal = crate::helpers::usci("91650100BUYER0001");
    browser.fill("#tf-usci", principal.as_str()).await;
    browser.fill("#tf-estimate", "1亿").await;
    browser.fill("#tf-lot-0-title", "管网工程").await;
    browser.fill("#tf-lot-0-estimate", "6000万").await;
    browser.click("[data-testid=add-lot]").await;
    browser.fill("#tf-lot-1-title", "泵站工程").await;
    browser.fill("#tf-lot-1-estimate", "4,000,000.00万").await;
    browser.fill("#tf-lot-1-estimate", "4000万").await;
    browser.fill("#tf-bond", "200万").await;
    // What the announcement says in words (项目概况, 资格要求, 联系方式).
    browser
        .fill("#tf-overview", "西山路排水管网改造，全长 2.4 公里。")
        .await;
    browser
        .fill(
            "#tf-qualifications",
            "具备市政公用工程施工总承包三级及以上资质。",
        )
        .await;
    browser
        .fill("#tf-contact-name", "城投集团招标办 赵工")
        .await;
    browser.fill("#tf-contact-phone", "0991-4567891").await;
    for id in &custodians {
        browser
            .click(&format!("[data-testid=tf-custodians] input[value='{id}']"))
            .await;
    }
    // This centre seals with the Chinese national algorithms (国密, suite 2).
    browser.select("#tf-suite", "2").await;
    let day = |days: i64| {
        (app.clock_now() + chrono::Duration::days(days))
            .with_timezone(
                &chrono::FixedOffset::east_opt(8 * 3600).unwrap_or_else(|| panic!("+08:00")),
            )
            .format("%Y-%m-%d")
            .to_string()
    };
    browser.paste("#tf-date", &day(19)).await;
    let refused = browser
        .wait_text("[data-testid=rule-check]", "不符合交易规则")
        .await;
    assert!(
        refused.contains("自发布至投标截止的最短天数")
            && refused.contains("min_days_to_deadline")
            && refused.contains("招标投标法 第二十四条"),
        "{refused}"
    );
    let create = browser
        .find("[data-testid=trade-form] button[type=submit]")
        .await;
    assert!(
        !create.is_enabled().await.unwrap_or(true),
        "no saving a trade that breaks a rule"
    );
    browser.scroll_to("[data-testid=rule-check]").await;
    browser.screenshot("rule-broken").await;
    browser.paste("#tf-date", &day(25)).await;
    browser
        .wait_text("[data-testid=rule-check]", "符合现行交易规则")
        .await;
    browser
        .click("[data-testid=trade-form] button[type=submit]")
        .await;
    browser
        .wait_text(
            "[data-testid=centre-trades]",
            "西山路排水管网改造工程施工招标",
        )
        .await;

    // The draft as the server holds it: the amounts and the deadline as typed.
    let (_, drafts) = app
        .get("/api/v1/trades?status=draft", Some(&officer.token))
        .await;
    let draft = drafts["trades"][0].clone();
    let id = draft["id"].as_str().unwrap_or_default().to_owned();
    assert_eq!(draft["estimated_value"], 10_000_000_000_i64, "{draft}");
    assert_eq!(draft["bond_amount"], 200_000_000_i64, "{draft}");
    assert_eq!(
        draft["lots"],
        serde_json::json!([
            { "id": "1", "title": "管网工程", "estimated_value": 6_000_000_000_i64 },
            { "id": "2", "title": "泵站工程", "estimated_value": 4_000_000_000_i64 }
        ])
    );
    assert_eq!(
        draft["bid_deadline"],
        format!("{}T02:00:00.000Z", day(25)),
        "10:00 Beijing time"
    );
    assert_eq!(
        draft["committee"]["custodians"].as_array().map(Vec::len),
        Some(3)
    );
    assert_eq!(draft["committee"]["suite"], 2, "{draft}");

    // Its document, then the announcement, confirmed.
    let document = crate::helpers::write(dir.path(), "招标文件.pdf", b"%PDF-1.7 tender documents");
    browser
        .choose_file(&format!("#doc-{id}"), &document.display().to_string())
        .await;
    browser
        .click("[data-testid=draft] form button[type=submit]")
        .await;
    browser
        .wait_text("[data-testid=draft]", "招标文件.pdf")
        .await;
    browser.click("[data-testid=publish]").await;
    let confirm = browser
        .wait_text("[data-testid=publish-confirm]", "确认发布")
        .await;
    assert!(
        confirm.contains("西山路排水管网改造工程施工招标"),
        "{confirm}"
    );
    browser.screenshot("confirm-publish").await;
    browser.click("[data-testid=publish-confirm-button]").await;
    browser
        .wait_text("[data-testid=centre-trade]", "已发布")
        .await;
    let (status, published) = app.get(&format!("/api/v1/trades/{id}"), None).await;
    assert_eq!(status, reqwest::StatusCode::OK, "{published}");
    assert_eq!(published["status"], "published", "{published}");
    assert_eq!(
        published["documents"][0]["name"], "招标文件.pdf",
        "{published}"
    );
    assert_eq!(
        published["announcement"]["contact"],
        serde_json::json!({"name": "城投集团招标办 赵工", "phone": "0991-4567891"}),
        "{published}"
    );
    browser.screenshot("published").await;
    // The public reads it as the 招标公告, its words in their parts.
    browser
        .goto(&format!("{}/#/trades/{id}/notices/announcement", app.base))
        .await;
    let notice = browser
        .wait_text("[data-testid=notice-page]", "全长 2.4 公里")
        .await;
    for part in [
        "招标公告",
        "二、投标人资格要求",
        "三级及以上资质",
        "六、联系方式",
        "0991-4567891",
    ] {
        assert!(notice.contains(part), "{part}: {notice}");
    }
    // The same screen in English: only names and titles in Chinese.
    browser.switch_to_english("last").await;
    // The same screen on a phone (nothing wider than 390 px).
    browser.set_size(390, 844).await;
    browser.screenshot("phone").await;
    browser.finish().await;
}

/// The trading centre's work on a published tender, from its page (issue 31): it answers
/// a bidder's question; after the opening it draws the experts; during the candidates'
/// publicity it answers an objection; after the publicity it issues the award notice and
/// records the signed contract. Each step is then what the server holds.
async fn a_centre_answers_draws_answers_objections_awards_and_records_the_contract_on_its_page(
    backend: Backend,
) {
    use crate::evaluation::{pass, Evaluation};
    let app = crate::helpers::spawn_app(backend).await;
    let bidders = [
        app.user("bidder").await,
        app.user("bidder").await,
        app.user("bidder").await,
    ];
    let r = crate::opening::round_on(app).await;
    let trade = r.trade.clone();
    let (status, asked) = r
        .app
        .post(
            &format!("/api/v1/trades/{trade}/clarifications"),
            Some(&bidders[0].token),
            &serde_json::json!({"question": "工期是否可以顺延？"}),
        )
        .await;
    assert_eq!(status, reqwest::StatusCode::CREATED, "{asked}");
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let (officer, pool, size) = Evaluation::pool_for(&r).await;
    let mut browser = Browser::open(&format!("centre-tasks-{}", label(backend))).await;
    sign_in(&browser, &r.app.base, &officer, dir.path()).await;
    let page = format!("{}/#/centre", r.app.base);
    browser.goto(&page).await;
    let answer = format!("#answer-{}-text", asked["id"].as_str().unwrap_or_default());
    browser.fill(&answer, "工期不得顺延。").await;
    browser.scroll_to("[data-testid=centre-questions]").await;
    browser.screenshot("question").await;
    browser
        .click(&format!(
            "[data-testid=answer-{}] button[type=submit]",
            asked["id"].as_str().unwrap_or_default()
        ))
        .await;
    let (_, view) = r.app.get(&format!("/api/v1/trades/{trade}"), None).await;
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    let mut answered = view["clarifications"][0]["answer"].clone();
    while answered != "工期不得顺延。" && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        let (_, view) = r.app.get(&format!("/api/v1/trades/{trade}"), None).await;
        answered = view["clarifications"][0]["answer"].clone();
    }
    assert_eq!(answered, "工期不得顺延。");

    // A change notice (变更公告) with a corrected document, from the same card.
    let corrected = dir.path().join("补充说明.pdf");
    std::fs::write(&corrected, b"%PDF-1.7 addendum").unwrap_or_else(|e| panic!("{e}"));
    browser
        .fill(
            &format!("#notice-{trade}-text"),
            "增加补充说明，开标地点不变。",
        )
        .await;
    browser
        .choose_file(
            &format!("#notice-{trade}-files"),
            &corrected.display().to_string(),
        )
        .await;
    browser.scroll_to("[data-testid=centre-notice]").await;
    browser.screenshot("change-notice").await;
    browser
        .click("[data-testid=centre-notice] button[type=submit]")
        .await;
    browser
        .wait_text("[data-testid=notice-issued]", "第 1 号变更公告已发布")
        .await;
    let (_, view) = r.app.get(&format!("/api/v1/trades/{trade}"), None).await;
    assert_eq!(view["notices"][0]["notice"], "增加补充说明，开标地点不变。");
    assert_eq!(
        view["notices"][0]["documents"][0]["sha256"],
        tradehall::crypto::digest::sha256_hex(b"%PDF-1.7 addendum")
    );
    // The public reads them as notices of their own: the change notice with its file,
    // the clarifications, and the announcement's versions naming the change.
    browser
        .goto(&format!("{}/#/trades/{trade}/notices/change-1", r.app.base))
        .await;
    let change = browser
        .wait_text("[data-testid=notice-page]", "增加补充说明，开标地点不变。")
        .await;
    assert!(
        change.contains("变更公告（第 1 号）") && change.contains("补充说明.pdf"),
        "{change}"
    );
    browser.screenshot("change-notice-page").await;
    browser
        .goto(&format!(
            "{}/#/trades/{trade}/notices/clarifications",
            r.app.base
        ))
        .await;
    browser
        .wait_text("[data-testid=notice-page]", "工期不得顺延。")
        .await;
    browser.screenshot("clarifications-page").await;
    browser
        .goto(&format!(
            "{}/#/trades/{trade}/notices/announcement",
            r.app.base
        ))
        .await;
    let versions = browser
        .wait_text("[data-testid=versions]", "变更公告（第 1 号）")
        .await;
    assert!(versions.contains("原公告"), "{versions}");
    browser.goto(&page).await;

    // Bids and the opening; the centre draws the experts from its page.
    Evaluation::bid_and_open(&r, &bidders).await;
    browser.reload().await;
    browser
        .fill(&format!("#draw-specialty-{trade}"), "construction.road")
        .await;
    browser
        .fill(&format!("#draw-experts-{trade}"), &size.to_string())
        .await;
    browser.scroll_to("[data-testid=centre-draw]").await;
    browser.screenshot("draw").await;
    browser
        .click("[data-testid=centre-draw] button[type=submit]")
        .await;
    browser
        .wait_text("[data-testid=centre-evaluating]", "评审中")
        .await;
    let mut drawn = Vec::new();
    for expert in &pool {
        let (_, mine) = r
            .app
            .get("/api/v1/experts/me/assignments", Some(&expert.token))
            .await;
        if mine["assignments"]
            .as_array()
            .is_some_and(|a| !a.is_empty())
        {
            drawn.push(expert.id());
        }
    }
    assert_eq!(drawn.len(), size, "the page drew the committee");
    let e = Evaluation::with_committee(r, bidders.into(), officer, pool, &drawn).await;
    let judged: Vec<Value> = e.bids.iter().map(|b| pass(*b)).collect();
    for expert in &e.committee {
        let (status, body) = e.submit(expert, &judged).await;
        assert_eq!(status, reqwest::StatusCode::OK, "{body}");
    }
    e.sign_all().await;
    let app = &e.r.app;

    // An objection, answered from the page.
    let (status, objection) = app
        .post(
            &e.path("/objections"),
            Some(&e.bidders[0].token),
            &serde_json::json!({"text": "第一中标候选人报价低于成本。"}),
        )
        .await;
    assert_eq!(status, reqwest::StatusCode::OK, "{objection}");
    browser.reload().await;
    let oid = objection["id"].as_str().unwrap_or_default();
    browser
        .fill(
            &format!("#objection-{oid}-text"),
            "经评标委员会复核，报价不低于成本。",
        )
        .await;
    browser.scroll_to("[data-testid=centre-objections]").await;
    browser.screenshot("objection").await;
    browser
        .click(&format!(
            "[data-testid=objection-{oid}] button[type=submit]"
        ))
        .await;
    browser
        .wait_text("[data-testid=centre-award]", "公示期至")
        .await;

    // After the publicity: the award notice, then the contract.
    app.clock.set(app.clock_now() + chrono::Duration::days(3));
    browser.reload().await;
    browser.click("[data-testid=award]").await;
    browser.find("[data-testid=centre-contract]").await;
    let contract = crate::helpers::write(dir.path(), "合同.pdf", b"%PDF-1.7 the signed contract");
    browser
        .choose_file(
            &format!("#contract-{}", e.r.trade),
            &contract.display().to_string(),
        )
        .await;
    // Signed the moment of the award (the test's clock stands still): Beijing time.
    let (_, awarded) = app.get(&e.path("/result"), None).await;
    let at = chrono::DateTime::parse_from_rfc3339(
        awarded["award"]["awarded_at"].as_str().unwrap_or_default(),
    )
    .unwrap_or_else(|e| panic!("{e}"))
    .with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).unwrap_or_else(|| panic!("+08:00")));
    browser
        .paste(
            &format!("#contract-date-{}", e.r.trade),
            &at.format("%Y-%m-%d").to_string(),
        )
        .await;
    browser
        .paste(
            &format!("#contract-time-{}", e.r.trade),
            &at.format("%H:%M").to_string(),
        )
        .await;
    browser.scroll_to("[data-testid=centre-contract]").await;
    browser.screenshot("contract").await;
    browser
        .click("[data-testid=centre-contract] button[type=submit]")
        .await;
    browser
        .wait_text("[data-testid=centre-contracted]", "合同已于")
        .await;
    let (_, result) = app.get(&e.path("/result"), None).await;
    assert_eq!(result["status"], "contracted", "{result}");
    assert_eq!(
        result["contract"]["amount"], result["award"]["winner"]["price"],
        "{result}"
    );
    let (_, listed) = app
        .get(&e.path("/objections"), Some(&e.officer.token))
        .await;
    assert_eq!(
        listed["objections"][0]["answer"], "经评标委员会复核，报价不低于成本。",
        "{listed}"
    );
    // The same screen in English: only names and titles in Chinese.
    browser.switch_to_english("last").await;
    // The same screen on a phone (nothing wider than 390 px).
    browser.set_size(390, 844).await;
    browser.screenshot("phone").await;
    browser.finish().await;
}

async fn a_bid_sealed_in_the_browser_opens_with_bids_sealed_by_the_cli(backend: Backend) {
    let r = crate::opening::round(backend).await;
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let by_cli = [r.app.user("bidder").await, r.app.user("bidder").await];
    cli_bid(&r, &by_cli[0], "96,500,000.02", dir.path()).await;
    cli_bid(&r, &by_cli[1], "99,900,000.03", dir.path()).await;

    // The third bidder seals in the browser, with an attachment.
    let bidder = r.app.user("bidder").await;
    let mut browser = Browser::open(&format!("seal-{}", label(backend))).await;
    sign_in(&browser, &r.app.base, &bidder, dir.path()).await;
    browser
        .goto(&format!("{}/#/trades/{}", r.app.base, r.trade))
        .await;
    browser.click("[data-testid=bid-link]").await;
    browser.find("[data-testid=countdown]").await;
    // The browser checked every committee key itself before offering to seal.
    let checked = browser
        .wait_text("[data-testid=committee-checked]", "3")
        .await;
    assert!(checked.contains("✓"), "{checked}");
    let attachment = crate::helpers::write(dir.path(), "技术标.pdf", &vec![0x25; 150_000]);
    browser.fill("#bid-price", "98700000.01").await;
    browser
        .choose_file("#bid-files", &attachment.display().to_string())
        .await;
    browser.screenshot("bid-form").await;
    browser
        .click("[data-testid=bid-form] button[type=submit]")
        .await;
    browser.wait_text("[data-testid=seal]", "技术标.pdf").await;
    browser.click("[data-testid=seal-confirm]").await;
    let receipt = browser.wait_text("[data-testid=bid-receipt]", "✓").await;
    browser.screenshot("bid-receipt").await;
    let (status, stored) = r
        .app
        .get(
            &format!("/api/v1/trades/{}/bid", r.trade),
            Some(&bidder.token),
        )
        .await;
    assert_eq!(status, reqwest::StatusCode::OK, "{stored}");
    assert!(
        receipt.contains(stored["envelope_sha256"].as_str().unwrap_or("-")),
        "the page shows the stored envelope's hash: {receipt}"
    );

    // The opening hall, watched from before the deadline to the reveal.
    browser
        .goto(&format!("{}/#/trades/{}/opening", r.app.base, r.trade))
        .await;
    browser.find("[data-testid=hall-countdown]").await;
    let before = browser.wait_text("[data-testid=hall]", "开标大厅").await;
    for b in by_cli.iter().chain([&bidder]) {
        let name = b.identity["organization"].as_str().unwrap_or("-");
        assert!(
            !before.contains(name),
            "nothing about a bid before the deadline: {before}"
        );
    }
    browser.screenshot("hall-before").await;
    r.app.clock.set(r.deadline);
    browser
        .wait_text("[data-testid=progress]", "已有 0 位")
        .await;
    // The first custodian opens its shares in its own browser, from its per-trade key file.
    let mut custodian = Browser::open(&format!("custodian-{}", label(backend))).await;
    let keeper = &r.committee.custodians[0];
    sign_in(&custodian, &r.app.base, keeper, dir.path()).await;
    let trade_key = crate::helpers::write(
        dir.path(),
        "custodian-trade-key.pem",
        r.committee.secrets[0]
            .0
            .to_pkcs8_pem()
            .unwrap_or_else(|| panic!("an X25519 key"))
            .as_bytes(),
    );
    custodian
        .goto(&format!("{}/#/trades/{}/opening", r.app.base, r.trade))
        .await;
    custodian.click("[data-testid=custodian-link]").await;
    custodian
        .choose_file("#custodian-key", &trade_key.display().to_string())
        .await;
    custodian
        .click("[data-testid=custodian-form] button[type=submit]")
        .await;
    custodian
        .wait_text("[data-testid=custodian-outcome]", "已解开 3 / 3 份")
        .await;
    custodian.screenshot("contributed").await;
    browser
        .wait_text("[data-testid=progress]", "已有 1 位")
        .await;
    browser.screenshot("hall-progress").await;
    let (status, body) = r.contribute(1).await;
    assert_eq!(status, reqwest::StatusCode::OK, "{body}");
    let reveal = browser
        .wait_text("[data-testid=reveal]", "98,700,000.01")
        .await;
    for (b, price) in by_cli.iter().zip(["96,500,000.02", "99,900,000.03"]) {
        let name = b.identity["organization"].as_str().unwrap_or("-");
        assert!(reveal.contains(name) && reveal.contains(price), "{reveal}");
    }
    browser
        .wait_text("[data-testid=record-check]", "开标记录签名有效")
        .await;
    browser.screenshot("hall-reveal").await;

    // The opening treats it like the others: valid, at the price typed, with the file.
    let (_, opening) = r
        .app
        .get(&format!("/api/v1/trades/{}/opening", r.trade), None)
        .await;
    let record = &opening["opening"]["record"];
    assert_eq!(record["outcome"], "opened", "{record}");
    assert_eq!(record["valid_bids"], 3, "{record}");
    let mine = record["bids"]
        .as_array()
        .and_then(|bids| {
            bids.iter()
                .find(|b| b["organization"]["name"] == bidder.identity["organization"])
        })
        .unwrap_or_else(|| panic!("the browser's bid is in the record: {record}"));
    assert_eq!(mine["valid"], true, "{mine}");
    assert_eq!(mine["price"], 9_870_000_001_i64);
    assert_eq!(mine["lots"], serde_json::json!(["1", "2"]));
    assert_eq!(mine["files"][0]["name"], "技术标.pdf");
    assert_eq!(mine["files"][0]["size"], 150_000);
    assert_eq!(
        mine["files"][0]["sha256"],
        tradehall::crypto::digest::sha256_hex(&vec![0x25; 150_000])
    );
    assert!(
        mine["machine"]
            .as_str()
            .is_some_and(|m| m.starts_with("browser-sha256:")),
        "{mine}"
    );

    browser
        .goto(&format!("{}/#/trades/{}", r.app.base, r.trade))
        .await;
    browser
        .wait_text("[data-testid=opening]", "98,700,000.01")
        .await;
    browser.screenshot("opened").await;
    // The same screen in English: only names and titles in Chinese.
    custodian.switch_to_english("last").await;
    // The same screen on a phone (nothing wider than 390 px).
    custodian.set_size(390, 844).await;
    custodian.screenshot("phone").await;
    browser.finish().await;
    custodian.finish().await;
}

async fn a_live_auction_is_quoted_from_two_browser_sessions_until_it_ends(backend: Backend) {
    use crate::quotes::{at, auction, fire, numbered};
    let app = crate::helpers::spawn_app(backend).await;
    let (officer, custodians) = app.officer_and_committee().await;
    let id = app
        .published_trade_with(&officer, &auction(&app, &custodians))
        .await;
    let bidders = numbered(&app, &officer, &id, 2).await;
    let ((first, number_a), (second, number_b)) = (&bidders[0], &bidders[1]);
    app.clock.set(at("2026-12-18T01:01:00Z"));
    fire(&app).await;

    let dirs =
        [tempfile::tempdir(), tempfile::tempdir()].map(|d| d.unwrap_or_else(|e| panic!("{e}")));
    let mut a = Browser::open(&format!("auction-a-{}", label(backend))).await;
    let mut b = Browser::open(&format!("auction-b-{}", label(backend))).await;
    sign_in(&a, &app.base, first, dirs[0].path()).await;
    sign_in(&b, &app.base, second, dirs[1].path()).await;
    for browser in [&a, &b] {
        browser
            .goto(&format!("{}/#/trades/{id}/auction", app.base))
            .await;
        browser
            .wait_text("[data-testid=room-phase]", "限时竞价")
            .await;
        browser.find("[data-testid=quote-form]").await;
    }

    // A quotes the start price, filled in for it; B sees it at once, under A's number.
    a.click("[data-testid=quote-form] button[type=submit]")
        .await;
    a.wait_text("[data-testid=quote-confirm]", "请确认报价")
        .await;
    a.screenshot("confirm-quote").await;
    a.click("[data-testid=quote-confirm-confirm]").await;
    a.wait_text("[data-testid=quote-outcome]", "报价成功").await;
    a.wait_text("[data-testid=room-standing]", "您当前最高")
        .await;
    b.wait_text("[data-testid=room-history]", number_a).await;
    b.wait_text("[data-testid=room-standing]", "您未领先").await;

    // B slips a digit (ten times the next minimum): flagged as typed, restated in 大写,
    // and not sent unless ticked as checked; B goes back.
    let sale = crate::quotes::sale(&app, &id).await;
    let minimum = sale["next_minimum"].as_i64().unwrap_or(0);
    b.fill("#quote-amount", &(minimum / 10).to_string()).await;
    b.wait_text("[data-testid=quote-amount-warnings]", "多输了位数")
        .await;
    b.click("[data-testid=quote-form] button[type=submit]")
        .await;
    b.wait_text("[data-testid=quote-confirm]", "多输了位数")
        .await;
    let confirm = b.find("[data-testid=quote-confirm-confirm]").await;
    assert!(!confirm.is_enabled().await.unwrap_or(true), "{sale}");
    b.screenshot("quote-flagged").await;
    b.click("[data-testid=quote-confirm-cancel]").await;
    b.fill(
        "#quote-amount",
        &format!("{}.{:02}", minimum / 100, minimum % 100),
    )
    .await;

    // B raises by one increment more than the minimum: A is outbid, live.
    b.click("[data-testid=quote-form] button[aria-label='加一个增价幅度']")
        .await;
    b.click("[data-testid=quote-form] button[type=submit]")
        .await;
    b.click("[data-testid=quote-confirm-confirm]").await;
    b.wait_text("[data-testid=quote-outcome]", "报价成功").await;
    a.wait_text("[data-testid=room-history]", number_b).await;
    a.wait_text("[data-testid=room-standing]", "您未领先").await;
    let sale = crate::quotes::sale(&app, &id).await;
    assert_eq!(sale["best"]["bidder_number"], number_b.as_str(), "{sale}");
    assert_eq!(
        sale["best"]["amount"],
        serde_json::json!(
            sale["rules"]["start_price"].as_i64().unwrap_or(0)
                + 2 * sale["rules"]["increment"].as_i64().unwrap_or(0)
        ),
        "{sale}"
    );
    a.screenshot("outbid").await;
    b.screenshot("leading").await;

    // The countdown runs out: both rooms show the result.
    app.clock.set(at("2026-12-18T01:10:00Z"));
    fire(&app).await;
    for browser in [&a, &b] {
        browser
            .wait_text("[data-testid=room-result]", number_b)
            .await;
    }
    a.screenshot("closed").await;
    // The same screen in English: only names and titles in Chinese.
    a.switch_to_english("last").await;
    // The same screen on a phone (nothing wider than 390 px).
    a.set_size(390, 844).await;
    a.screenshot("phone").await;
    a.finish().await;
    b.finish().await;
}

/// A land auction from the centre's page (issue 31): the officer seals the reserve price
/// (底价) in the browser, typed as people type it and confirmed in 大写, and qualifies an
/// applicant; the committee then opens the browser-sealed reserve when quoting ends and
/// the sale is decided on it.
async fn a_centre_seals_a_land_sales_reserve_and_qualifies_its_applicant_on_its_page(
    backend: Backend,
) {
    use crate::helpers::User;
    use crate::quotes::{at, auction, fire, numbered, quote, sale};
    let app = crate::helpers::spawn_app(backend).await;
    let (officer, custodians) = app.officer_and_custodians().await;
    let ids: Vec<String> = custodians.iter().map(User::id).collect();
    let trade = app
        .published_trade_with(&officer, &auction(&app, &ids))
        .await;
    let committee = crate::opening::register_committee(&app, &trade, custodians).await;
    let round = crate::opening::Round {
        app,
        trade: trade.clone(),
        deadline: at("2026-12-18T01:00:00Z"),
        committee,
    };
    let app = &round.app;
    let applicant = app.user("bidder").await;
    let application = crate::deposits::apply(app, &applicant, &trade, "6222020200007777777").await;

    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let mut browser = Browser::open(&format!("centre-land-{}", label(backend))).await;
    sign_in(&browser, &app.base, &officer, dir.path()).await;
    browser.goto(&format!("{}/#/centre", app.base)).await;
    // 36,050万 = ¥360,500,000.00: the start price plus one increment.
    let field = format!("#reserve-{trade}");
    browser.fill(&field, "36050万").await;
    browser
        .wait_text(
            &format!("[data-testid=reserve-{trade}-echo]"),
            "叁亿陆仟零伍拾万元整",
        )
        .await;
    browser
        .click("[data-testid=reserve-form] button[type=submit]")
        .await;
    let confirm = format!("[data-testid=reserve-{trade}-confirm-words]");
    browser.wait_text(&confirm, "叁亿陆仟零伍拾万元整").await;
    browser
        .scroll_to(&format!("[data-testid=reserve-{trade}-confirm]"))
        .await;
    browser.screenshot("reserve-confirm").await;
    browser
        .click(&format!("[data-testid=reserve-{trade}-confirm-confirm]"))
        .await;
    browser
        .wait_text("[data-testid=reserve-state]", "已于")
        .await;
    let (_, shown) = app
        .get(&format!("/api/v1/trades/{trade}/reserve"), None)
        .await;
    assert_eq!(shown["sealed"], true, "{shown}");

    // The applicant, pending, is qualified from the same card.
    browser
        .wait_text("[data-testid=centre-applicants]", "待审核")
        .await;
    browser.scroll_to("[data-testid=centre-applicants]").await;
    browser.screenshot("applicant").await;
    browser
        .click("[data-testid=centre-applicants] [data-testid=qualify]")
        .await;
    browser
        .wait_text("[data-testid=centre-applicants]", "已通过")
        .await;
    let (_, mine) = app
        .get(
            &format!("/api/v1/trades/{trade}/applications/mine"),
            Some(&applicant.token),
        )
        .await;
    assert_eq!(mine["id"], application["id"]);
    assert_eq!(mine["status"], "qualified", "{mine}");

    // Two numbered bidders quote the start price and one increment more; quoting ends on
    // a quote and the committee opens the reserve the browser sealed: it is met, so sold.
    let bidders = numbered(app, &officer, &trade, 2).await;
    app.clock.set(at("2026-12-18T01:00:00Z"));
    let start = sale(app, &trade).await["rules"]["start_price"]
        .as_i64()
        .unwrap_or_default();
    assert_eq!(start, 36_000_000_000);
    let (status, body) = quote(app, &bidders[0].0, &trade, "a-1", start).await;
    assert_eq!(status, reqwest::StatusCode::OK, "{body}");
    let (status, body) = quote(app, &bidders[1].0, &trade, "b-1", 36_050_000_000).await;
    assert_eq!(status, reqwest::StatusCode::OK, "{body}");
    app.clock
        .set(at("2026-12-18T01:00:00Z") + chrono::Duration::seconds(241));
    fire(app).await;
    let signed = crate::reserve::open(&round).await;
    assert_eq!(signed.record.bids[0].price, Some(36_050_000_000));
    assert_eq!(signed.record.outcome, "sold", "{:?}", signed.record);
    // The same screen in English: only names and titles in Chinese.
    browser.switch_to_english("last").await;
    // The same screen on a phone (nothing wider than 390 px).
    browser.set_size(390, 844).await;
    browser.screenshot("phone").await;
    browser.finish().await;
}

/// A land auction from a bidder's page (issue 31): it applies naming the paying account,
/// sees the application pending, then qualified with its deposit and bidder number as the
/// centre and the bank move it on; another bidder wins the sale; the page shows its
/// deposit refunded (未成交) once the bank has paid it back, and settled.
async fn a_land_bidder_applies_from_the_page_and_follows_its_deposit_back_after_the_sale(
    backend: Backend,
) {
    use crate::quotes::{at, auction, fire, numbered, quote};
    let app = crate::helpers::spawn_app(backend).await;
    let (officer, custodians) = app.officer_and_committee().await;
    let id = app
        .published_trade_with(&officer, &auction(&app, &custodians))
        .await;
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let bidder = app.user("bidder").await;
    let mut browser = Browser::open(&format!("land-bidder-{}", label(backend))).await;
    sign_in(&browser, &app.base, &bidder, dir.path()).await;
    let page = format!("{}/#/trades/{id}", app.base);
    browser.goto(&page).await;
    let account = "6222 0202 0000 5555 555";
    browser.fill("#apply-account", account).await;
    browser
        .fill("#apply-payer", "新疆某某房地产开发有限公司")
        .await;
    browser.scroll_to("[data-testid=apply]").await;
    browser.screenshot("apply").await;
    browser
        .click("[data-testid=apply] button[type=submit]")
        .await;
    browser
        .wait_text("[data-testid=my-application]", "待审核")
        .await;
    let (_, mine) = app
        .get(
            &format!("/api/v1/trades/{id}/applications/mine"),
            Some(&bidder.token),
        )
        .await;
    assert_eq!(mine["payer_account"], "6222020200005555555", "{mine}");
    assert_eq!(mine["payer_name"], "新疆某某房地产开发有限公司", "{mine}");

    // The centre qualifies it and the bank reports the deposit: a bidder number.
    crate::deposits::qualify(&app, &officer, &mine).await;
    let (_, paid) = crate::deposits::notify(
        &app,
        crate::deposits::notification(
            &id,
            "LAND-WEB-1",
            "6222020200005555555",
            &serde_json::json!({}),
        ),
    )
    .await;
    assert_eq!(paid["outcome"], "deposit_confirmed", "{paid}");
    let (_, mine) = app
        .get(
            &format!("/api/v1/trades/{id}/applications/mine"),
            Some(&bidder.token),
        )
        .await;
    let number = mine["bidder_number"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    browser.reload().await;
    let shown = browser
        .wait_text("[data-testid=my-application]", &number)
        .await;
    assert!(shown.contains("已通过"), "{shown}");
    browser
        .wait_text("[data-testid=my-money]", "竞买保证金")
        .await;
    browser.scroll_to("[data-testid=my-part]").await;
    browser.screenshot("numbered").await;

    // Another bidder wins the auction; this one's deposit is instructed back, then paid.
    let others = numbered(&app, &officer, &id, 1).await;
    app.clock.set(at("2026-12-18T01:01:00Z"));
    fire(&app).await;
    let (_, sale) = app.get(&format!("/api/v1/trades/{id}/sale"), None).await;
    let (status, body) = quote(
        &app,
        &others[0].0,
        &id,
        "land-web-1",
        sale["next_minimum"].as_i64().unwrap_or(0),
    )
    .await;
    assert_eq!(status, reqwest::StatusCode::OK, "{body}");
    app.clock.set(at("2026-12-18T01:10:00Z"));
    fire(&app).await;
    let (_, money) = app
        .get(&format!("/api/v1/trades/{id}/money"), Some(&officer.token))
        .await;
    let (status, claimed) = crate::deposits::bank_post(
        &app,
        "/api/v1/bank/refund-claims",
        &serde_json::json!({ "claim_id": "land-web" }),
    )
    .await;
    assert_eq!(status, reqwest::StatusCode::OK, "{claimed}");
    for (i, refund) in money["refunds"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
    {
        let body = crate::deposits::notification(
            &id,
            &format!("LAND-WEB-BACK-{i}"),
            refund["account"].as_str().unwrap_or_default(),
            &serde_json::json!({ "kind": "refund", "refund": refund["id"], "amount": refund["amount"] }),
        );
        let (_, back) = crate::deposits::notify(&app, body).await;
        assert_eq!(back["outcome"], "refund_confirmed", "{back}");
    }
    browser.reload().await;
    let refunds = browser
        .wait_text("[data-testid=my-refunds]", "已退还")
        .await;
    assert!(refunds.contains("未成交"), "{refunds}");
    browser
        .wait_text("[data-testid=sale-outcome]", "您未成交")
        .await;
    browser
        .wait_text("[data-testid=my-money]", "保证金已全部结清")
        .await;
    browser.scroll_to("[data-testid=my-part]").await;
    browser.screenshot("deposit-back").await;
    // The same screen in English: only names and titles in Chinese.
    browser.switch_to_english("last").await;
    // The same screen on a phone (nothing wider than 390 px).
    browser.set_size(390, 844).await;
    browser.screenshot("phone").await;
    browser.finish().await;

    // The winner's page: 成交 at its price, its deposit become part of the price.
    let (winner, _) = &others[0];
    let mut browser = Browser::open(&format!("land-winner-{}", label(backend))).await;
    sign_in(&browser, &app.base, winner, dir.path()).await;
    browser.goto(&page).await;
    let outcome = browser
        .wait_text("[data-testid=sale-outcome]", "您已成交")
        .await;
    let (_, closed) = app.get(&format!("/api/v1/trades/{id}/sale"), None).await;
    let price = closed["result"]["amount"].as_i64().unwrap_or_default();
    assert_eq!(closed["result"]["bidder_number"], others[0].1.as_str());
    assert!(
        outcome.contains(&format!("{}.{:02} 元", thousands(price / 100), price % 100)),
        "{outcome} names the price {price}"
    );
    browser
        .wait_text("[data-testid=my-money]", "转为成交价款")
        .await;
    browser.scroll_to("[data-testid=my-part]").await;
    browser.screenshot("won").await;
    browser.finish().await;
}

/// `n` with a comma between thousands, as the pages write yuan.
fn thousands(n: i64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

async fn a_supervisor_sees_an_alert_live_and_suspends_the_trade_the_bidder_watches(
    backend: Backend,
) {
    use crate::deposits::{apply, notification, notify, qualify};
    let app = crate::helpers::spawn_app(backend).await;
    let (officer, custodians) = app.officer_and_committee().await;
    let id = app
        .published_trade_with(&officer, &crate::live::listing(&app, &custodians))
        .await;
    let (a, c) = (app.user("bidder").await, app.user("bidder").await);
    let city = app.supervisor_of("650100").await;
    let account = "6222020200007777777";
    let application = apply(&app, &a, &id, account).await;
    qualify(&app, &officer, &application).await;
    let (_, paid) = notify(
        &app,
        notification(&id, "DEV-W1", account, &serde_json::json!({})),
    )
    .await;
    assert_eq!(paid["outcome"], "deposit_confirmed", "{paid}");

    // The supervisor watches; the bidder waits in the sale's room.
    let dirs =
        [tempfile::tempdir(), tempfile::tempdir()].map(|d| d.unwrap_or_else(|e| panic!("{e}")));
    let mut supervisor = Browser::open(&format!("supervision-{}", label(backend))).await;
    let mut bidder = Browser::open(&format!("suspended-{}", label(backend))).await;
    sign_in(&supervisor, &app.base, &city, dirs[0].path()).await;
    sign_in(&bidder, &app.base, &a, dirs[1].path()).await;
    supervisor
        .goto(&format!("{}/#/supervision", app.base))
        .await;
    supervisor
        .wait_text("[data-testid=feed-view]", "实时监控中")
        .await;
    supervisor.wait_text("[data-testid=alerts]", "暂无").await;
    bidder
        .goto(&format!("{}/#/trades/{id}/auction", app.base))
        .await;
    bidder.find("[data-testid=room-phase]").await;

    // A second bidder pays its deposit from the first one's account: a red alert, live.
    let application = apply(&app, &c, &id, account).await;
    qualify(&app, &officer, &application).await;
    let (_, paid) = notify(
        &app,
        notification(&id, "DEV-W2", account, &serde_json::json!({})),
    )
    .await;
    assert_eq!(paid["outcome"], "deposit_confirmed", "{paid}");
    let (_, trade) = app.get(&format!("/api/v1/trades/{id}"), None).await;
    let title = trade["title"].as_str().unwrap_or("-").to_owned();
    let alert = supervisor.wait_text("[data-testid=alert]", "红色").await;
    assert!(
        alert.contains(&title) && alert.contains("乌鲁木齐市") && !alert.contains("650100"),
        "the alert names the trade by title and the region by name: {alert}"
    );
    // The stream in words; the supervisor's own subscription only on request.
    let stream = supervisor
        .wait_text("[data-testid=stream]", "风险预警")
        .await;
    assert!(!stream.contains("监管人员打开实时监控"), "{stream}");
    supervisor.click("#stream-own").await;
    supervisor
        .wait_text("[data-testid=stream]", "监管人员打开实时监控")
        .await;
    supervisor.click("#stream-own").await;
    // The evidence as a table: the shared account and both bidders.
    supervisor
        .click("[data-testid=alert] details summary")
        .await;
    let evidence = supervisor
        .wait_text("[data-testid=evidence]", account)
        .await;
    for (bidder, _) in [(&a, 0), (&c, 1)] {
        let name = bidder.identity["organization"].as_str().unwrap_or("-");
        assert!(evidence.contains(name), "{name}: {evidence}");
    }
    supervisor.screenshot("alert").await;

    // Alerts sort by severity, then the newest first, closed ones last.
    let order = supervisor
        .client
        .execute_async(
            "const done = arguments[arguments.length - 1];
             import('/js/pages/supervision-alerts.js').then(({ byUrgency }) => done([
               { id: 'y', severity: 'yellow', status: 'open', raised_at: '2026-12-18T03:00:00Z' },
               { id: 'r-old', severity: 'red', status: 'open', raised_at: '2026-12-18T01:00:00Z' },
               { id: 'r-closed', severity: 'red', status: 'closed', raised_at: '2026-12-18T04:00:00Z' },
               { id: 'o', severity: 'orange', status: 'assigned', raised_at: '2026-12-18T02:00:00Z' },
               { id: 'r-new', severity: 'red', status: 'open', raised_at: '2026-12-18T02:30:00Z' },
             ].sort(byUrgency).map((a) => a.id)));",
            vec![],
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        order,
        serde_json::json!(["r-new", "r-old", "o", "y", "r-closed"])
    );

    // The supervisor suspends the trade: a reason first, then a confirmation that names
    // the trade; the bidder's room shows it at once. Only resumption and termination are
    // offered after.
    supervisor
        .click("[data-testid=intervene] button[data-action=suspend]")
        .await;
    supervisor
        .wait_text("[data-testid=intervene]", "请先填写理由")
        .await;
    supervisor
        .fill(
            "[data-testid=intervene] input",
            "同一账户缴纳两家保证金，暂停核查",
        )
        .await;
    supervisor
        .click("[data-testid=intervene] button[data-action=suspend]")
        .await;
    let confirm = supervisor
        .wait_text("[data-testid=intervene-confirm]", "确认暂停")
        .await;
    assert!(
        confirm.contains(&title) && confirm.contains("暂停核查"),
        "{confirm}"
    );
    let (_, still) = app.get(&format!("/api/v1/trades/{id}"), None).await;
    assert_eq!(
        still["status"], "published",
        "nothing before the confirmation"
    );
    supervisor.screenshot("confirm-suspend").await;
    supervisor
        .click("[data-testid=intervene-confirm-button]")
        .await;
    supervisor
        .wait_text("[data-testid=intervene]", "已暂停")
        .await;
    supervisor
        .find("[data-testid=intervene] button[data-action=resume]")
        .await;
    assert!(
        supervisor
            .client
            .find(fantoccini::Locator::Css(
                "[data-testid=intervene] button[data-action=suspend]"
            ))
            .await
            .is_err(),
        "a suspended trade cannot be suspended again"
    );
    bidder
        .wait_text("[data-testid=room-suspended]", "已暂停")
        .await;
    let (_, trade) = app.get(&format!("/api/v1/trades/{id}"), None).await;
    assert_eq!(trade["status"], "suspended", "{trade}");
    supervisor.screenshot("suspended").await;
    bidder.screenshot("room-suspended").await;

    // The charts count what the dashboard saw.
    supervisor.wait_text("[data-testid=chart-rules]", "1").await;

    // The alert's own workflow from its row, each step with its note (no note, no step):
    // assigned to this supervisor, handled, closed.
    let (_, listed) = app.get("/api/v1/alerts", Some(&city.token)).await;
    let alert_id = listed["alerts"][0]["id"].as_str().unwrap_or("-").to_owned();
    let enabled = |css: &'static str| {
        let supervisor = &supervisor;
        async move {
            supervisor
                .find(css)
                .await
                .is_enabled()
                .await
                .unwrap_or_else(|e| panic!("{e}"))
        }
    };
    assert!(
        !enabled("[data-testid=alert-assign]").await,
        "a step needs a note"
    );
    for (button, note, status, shown) in [
        (
            "alert-assign",
            "共用付款账户，由我核查。",
            "assigned",
            "处理中",
        ),
        (
            "alert-handle",
            "已约谈两家竞买人，移交纪检。",
            "handled",
            "已处理",
        ),
        ("alert-close", "核查完毕，交易已暂停。", "closed", "已关闭"),
    ] {
        supervisor.fill(&format!("#note-{alert_id}"), note).await;
        supervisor.click(&format!("[data-testid={button}]")).await;
        supervisor
            .wait_text("[data-testid=alert] .alert-head", shown)
            .await;
        let (_, alert) = app
            .get(&format!("/api/v1/alerts/{alert_id}"), Some(&city.token))
            .await;
        assert_eq!(alert["status"], status, "{alert}");
    }
    supervisor.scroll_to("[data-testid=alert]").await;
    supervisor.screenshot("alert-closed").await;

    // The bidder's workspace shows its application, deposit and bidder number.
    let (_, mine) = app
        .get(
            &format!("/api/v1/trades/{id}/applications/mine"),
            Some(&a.token),
        )
        .await;
    let number = mine["bidder_number"].as_str().unwrap_or("-").to_owned();
    bidder.goto(&format!("{}/#/workspace", app.base)).await;
    let applications = bidder
        .wait_text("[data-testid=my-applications]", &number)
        .await;
    assert!(
        applications.contains("已通过") && applications.contains(account),
        "{applications}"
    );
    // The application names its trade by title, never by an id.
    let (_, sale) = app.get(&format!("/api/v1/trades/{id}"), None).await;
    bidder
        .wait_text(
            "[data-testid=my-applications]",
            sale["title"].as_str().unwrap_or("-"),
        )
        .await;
    bidder.screenshot("workspace").await;
    // The same screen in English: only names and titles in Chinese.
    supervisor.switch_to_english("last").await;
    // The same screen on a phone (nothing wider than 390 px).
    supervisor.set_size(390, 844).await;
    supervisor.screenshot("phone").await;
    supervisor.finish().await;
    // The same screen in English: only names and titles in Chinese.
    bidder.switch_to_english("last").await;
    // The same screen on a phone (nothing wider than 390 px).
    bidder.set_size(390, 844).await;
    bidder.screenshot("phone").await;
    bidder.finish().await;
}
