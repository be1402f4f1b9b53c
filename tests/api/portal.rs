//! The portal as people meet it (issue 32): one language at a time, and no page asking
//! the server for what its visitor may not see.

use crate::browser::Browser;
use crate::helpers::Backend;

crate::on_both_backends!(
    every_refusal_reads_in_the_pages_language_and_role_pages_ask_nothing_they_may_not,
    the_guides_and_the_rulebook_read_in_both_languages_on_a_desktop_and_a_phone
);

/// 办事指南 for every role, certificates, questions, complaints, and the rulebook with each
/// rule's number and article: in Chinese and in English, at 1280 and at 390 px.
async fn the_guides_and_the_rulebook_read_in_both_languages_on_a_desktop_and_a_phone(
    backend: Backend,
) {
    let app = crate::helpers::spawn_app(backend).await;
    let name = match backend {
        Backend::Sqlite => "help-sqlite",
        Backend::Postgres => "help-postgres",
    };
    let mut browser = Browser::open(name).await;
    browser.goto(&format!("{}/#/help", app.base)).await;
    let topics = [
        ("bidder", "投标人", "bidders"),
        ("centre", "交易中心", "trading centres"),
        ("expert", "评标专家", "experts"),
        ("custodian", "开标人", "custodians"),
        ("supervisor", "监督人员", "supervisors"),
        ("certificates", "数字证书", "Certificates"),
        ("faq", "常见问题", "Questions"),
        ("contact", "投诉", "complaints"),
    ];
    for (english, phone) in [(false, false), (false, true), (true, true), (true, false)] {
        browser
            .set_size(
                if phone { 390 } else { 1280 },
                if phone { 844 } else { 900 },
            )
            .await;
        let label = |what: &str| {
            format!(
                "{what}-{}-{}",
                if english { "en" } else { "zh" },
                if phone { "phone" } else { "desktop" }
            )
        };
        for (topic, zh, en) in topics {
            browser.goto(&format!("{}/#/help/{topic}", app.base)).await;
            browser
                .wait_text("[data-testid=help-topic] h2", if english { en } else { zh })
                .await;
            if english {
                browser.assert_english(topic).await;
            }
            if topic == "bidder" || topic == "certificates" {
                browser.screenshot(&label(topic)).await;
            }
        }
        browser.goto(&format!("{}/#/rules", app.base)).await;
        let rules = browser
            .wait_text(
                "[data-testid=rules]",
                if english {
                    "Least days from publication to the bid deadline"
                } else {
                    "自发布至投标截止的最短天数"
                },
            )
            .await;
        assert!(
            rules.contains("中华人民共和国招标投标法 第二十四条"),
            "the article is cited"
        );
        if english {
            browser.assert_english("rules").await;
        }
        browser.screenshot(&label("rules")).await;
        if !english {
            // The next passes read in English.
            if phone {
                browser.click("header > button.lang").await;
                browser.wait_text("header", "Help").await;
            }
        }
    }
    browser.finish().await;
}

/// Whether `text` has a Chinese character.
fn han(text: &str) -> bool {
    text.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c))
}

/// Every code of the pages' table (web/js/errors.js, held to docs/api.md by
/// tests/error_codes.rs) as a refusal the page builds from a server answer, with its words.
async fn refusals(browser: &Browser) -> Vec<(String, String)> {
    let answer = browser
        .client
        .execute_async(
            "const done = arguments[arguments.length - 1];
             Promise.all([import('/js/errors.js'), import('/js/api.js')]).then(([errors, api]) =>
               done(errors.CODES.map((code) => [code, api.ApiError.from(409, {error: {
                 code, message: 'the server says this in English',
                 rule: 'min_days_to_deadline', article: '中华人民共和国招标投标法 第二十四条'}}).message])))
             .catch((e) => done([['load', String(e)]]));",
            vec![],
        )
        .await
        .unwrap_or_else(|e| panic!("render the refusals: {e}"));
    serde_json::from_value::<Vec<(String, String)>>(answer.clone())
        .unwrap_or_else(|e| panic!("{e}: {answer}"))
}

/// Every refusal the server defines is rendered by the pages in the page's language:
/// Chinese words in the Chinese pages, no Chinese in the English ones (a rule's article is
/// a title and stays as the law names it). A real refusal reads the same way, and a
/// bidder who opens the pages of other roles is told so without a request being sent
/// (a refused request would show as a console error and fail the test).
async fn every_refusal_reads_in_the_pages_language_and_role_pages_ask_nothing_they_may_not(
    backend: Backend,
) {
    let r = crate::opening::round(backend).await;
    let bidder = r.app.user("bidder").await;
    let other = r.app.user("bidder").await;
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let cert = crate::helpers::write(dir.path(), "cert.pem", bidder.cert_pem.as_bytes());
    let wrong_key = crate::helpers::write(
        dir.path(),
        "other-key.pem",
        crate::web::pem("PRIVATE KEY", &other.key_pkcs8).as_bytes(),
    );
    let name = match backend {
        Backend::Sqlite => "refusals-sqlite",
        Backend::Postgres => "refusals-postgres",
    };
    let mut browser = Browser::open(name).await;
    browser.goto(&format!("{}/#/", r.app.base)).await;
    browser.find("[data-testid=trade-list]").await;

    let chinese = refusals(&browser).await;
    assert!(chinese.len() > 150, "{chinese:?}");
    for (code, text) in &chinese {
        assert!(han(text), "{code} in the Chinese pages: {text}");
        assert!(!text.contains("English"), "{code}: {text}");
    }
    let rule = &chinese
        .iter()
        .find(|(c, _)| c == "rule_violation")
        .expect("rule_violation")
        .1;
    assert!(
        rule.contains("自发布至投标截止的最短天数") && rule.contains("第二十四条"),
        "{rule}"
    );

    // A real refusal, through the sign-in page: another organisation's key.
    let files = (cert.display().to_string(), wrong_key.display().to_string());
    let said = refuse_sign_in(&browser, &r.app.base, &files, "签名验证失败").await;
    assert!(said.contains("signature_invalid"), "{said}");
    browser.expect_console_error(
        "/api/v1/auth/login - Failed to load resource: the server responded with a status of 401",
    );

    browser.click("header > button.lang").await;
    browser.wait_text("header", "Sign in").await;
    let english = refusals(&browser).await;
    assert_eq!(english.len(), chinese.len());
    for (code, text) in &english {
        let without_article = text.replace("中华人民共和国招标投标法 第二十四条", "");
        assert!(
            !han(&without_article),
            "{code} in the English pages: {text}"
        );
        assert!(!text.contains("the server says"), "{code}: {text}");
    }
    refuse_sign_in(
        &browser,
        &r.app.base,
        &files,
        "The signature does not verify",
    )
    .await;
    browser.assert_english("sign-in refused").await;
    browser.screenshot("refused-in-english").await;

    // Signed in as a bidder, the other roles' pages refuse without asking the server.
    crate::web::sign_in(&browser, &r.app.base, &bidder, dir.path()).await;
    for (page, says) in [
        ("#/supervision", "Only supervisors"),
        ("#/centre", "Only trading-centre officers"),
        ("#/expert", "Only evaluation experts"),
        (
            &*format!("#/trades/{}/custodian", r.trade),
            "Only the trade's key custodians",
        ),
    ] {
        browser.goto(&format!("{}/{page}", r.app.base)).await;
        browser.wait_text("main", says).await;
        browser.assert_english(page).await;
    }
    // Give a stray request time to be answered and logged.
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    browser.finish().await;
}

/// Signs in with a certificate and another organisation's key; what the page says.
async fn refuse_sign_in(
    browser: &Browser,
    base: &str,
    (cert, wrong_key): &(String, String),
    expect: &str,
) -> String {
    browser.goto(&format!("{base}/#/signin")).await;
    browser.choose_file("#signin-cert", cert).await;
    browser.choose_file("#signin-key", wrong_key).await;
    browser
        .click("[data-testid=signin] button[type=submit]")
        .await;
    browser
        .wait_text("[data-testid=signin-error]", expect)
        .await
}
