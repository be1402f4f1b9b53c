//! Open data (OCDS 1.1): every package the platform serves validates against the
//! standard's schemas (`ocds/1.1.5`, copied unchanged from ../shared/ocds), and nothing
//! reaches it before it is public. `valid_open_data` is called at the end of the
//! scenarios that take a trade through its life (tender to contract, a failed
//! evaluation, a sold listing).

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{Backend, TestApp};

crate::on_both_backends!(nothing_about_bids_is_open_before_the_opening);

const RELEASE_SCHEMA_URI: &str =
    "https://standard.open-contracting.org/schema/1__1__5/release-schema.json";

fn schema(name: &str) -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("ocds/1.1.5")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path:?}: {e}"))
}

const VERSIONED_SCHEMA_URI: &str =
    "https://standard.open-contracting.org/schema/1__1__5/versioned-release-validation-schema.json";

/// Resolves the packages' references to our copy of the schemas; nothing else.
struct Local;

impl jsonschema::Retrieve for Local {
    fn retrieve(
        &self,
        uri: &jsonschema::Uri<String>,
    ) -> Result<Value, Box<dyn std::error::Error + Send + Sync>> {
        if uri.as_str() == RELEASE_SCHEMA_URI {
            Ok(schema("release-schema.json"))
        } else if uri.as_str() == VERSIONED_SCHEMA_URI {
            // Not shipped with the schemas, and we publish no versioned releases: a
            // record that had one would still have to be an object.
            Ok(serde_json::json!({ "type": "object" }))
        } else {
            Err(format!("no network: {uri}").into())
        }
    }
}

pub(crate) fn validator(name: &str) -> jsonschema::Validator {
    jsonschema::draft4::options()
        .with_retriever(Local)
        .should_validate_formats(true)
        .build(&schema(name))
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}

pub(crate) fn assert_valid(validator: &jsonschema::Validator, what: &str, instance: &Value) {
    let errors: Vec<String> = validator
        .iter_errors(instance)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{what} is not valid OCDS: {errors:#?}\n{instance:#}"
    );
}

/// Every release page, every trade's record and the bulk download validate; returns the
/// releases.
pub async fn valid_open_data(app: &TestApp) -> Vec<Value> {
    let releases_schema = validator("release-package-schema.json");
    let records_schema = validator("record-package-schema.json");
    let mut releases = Vec::new();
    let mut after = 0;
    loop {
        let resp = app
            .http
            .get(app.url(&format!("/api/v1/ocds/releases?after={after}&limit=3")))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let status = resp.status();
        let next = resp
            .headers()
            .get("link")
            .and_then(|l| l.to_str().ok())
            .and_then(|l| l.split("after=").nth(1))
            .and_then(|l| l.split('&').next())
            .and_then(|n| n.parse::<i64>().ok())
            .unwrap_or_else(|| panic!("no next link"));
        if status == StatusCode::NO_CONTENT {
            if next == after {
                break;
            }
        } else {
            assert_eq!(status, StatusCode::OK);
            let package: Value = resp.json().await.unwrap_or_default();
            assert_valid(&releases_schema, "a release package", &package);
            releases.extend(package["releases"].as_array().cloned().unwrap_or_default());
        }
        assert!(next > after || status == StatusCode::NO_CONTENT);
        after = next;
    }
    assert!(!releases.is_empty(), "the scenario made no releases");
    let mut ocids: Vec<&str> = releases.iter().filter_map(|r| r["ocid"].as_str()).collect();
    ocids.sort_unstable();
    ocids.dedup();
    for ocid in &ocids {
        let (status, record) = app.get(&format!("/api/v1/ocds/records/{ocid}"), None).await;
        assert_eq!(status, StatusCode::OK, "{record}");
        assert_valid(&records_schema, "a record package", &record);
        let count = releases.iter().filter(|r| r["ocid"] == *ocid).count();
        assert_eq!(
            record["records"][0]["releases"].as_array().map(Vec::len),
            Some(count)
        );
    }
    let bulk = app.text("/api/v1/ocds/bulk").await;
    let mut in_bulk = 0;
    for line in bulk.lines() {
        let package: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        assert_valid(&releases_schema, "a bulk package", &package);
        in_bulk += package["releases"].as_array().map_or(0, Vec::len);
    }
    assert_eq!(in_bulk, releases.len());
    releases
}

async fn nothing_about_bids_is_open_before_the_opening(backend: Backend) {
    let r = crate::opening::round(backend).await;
    let app = &r.app;
    let bidders = r.three_bids().await;
    let releases = valid_open_data(app).await;
    assert_eq!(releases.len(), 1, "the tender only");
    // The check can fail: a release with a tag outside the codelist does not validate.
    let mut broken = releases[0].clone();
    broken["tag"] = serde_json::json!(["sold"]);
    let package = serde_json::json!({
        "uri": "https://tradehall.local/x", "version": "1.1", "publishedDate": "2026-11-28T01:00:00Z",
        "publisher": { "name": "x" }, "releases": [broken],
    });
    assert!(!validator("release-package-schema.json").is_valid(&package));
    let tender = &releases[0];
    assert_eq!(tender["tag"], serde_json::json!(["tender"]));
    assert_eq!(tender["tender"]["value"]["amount"], 100_000_000.0);
    assert!(tender["tender"]["lots"]
        .as_array()
        .is_some_and(|l| l.len() == 2));
    // Before the opening nothing in the open data tells who bid, how many or at what: no
    // bidder's code, name or id, no bid, tenderer or count of them, no tenderer party, in
    // any release, in the trade's record or in the bulk download.
    let ocid = tender["ocid"].as_str().unwrap_or_default();
    let (_, record) = app.get(&format!("/api/v1/ocds/records/{ocid}"), None).await;
    let bulk = app.text("/api/v1/ocds/bulk").await;
    let published = [
        serde_json::to_string(&releases).unwrap_or_default(),
        record.to_string(),
        bulk,
    ];
    for text in &published {
        for bidder in &bidders {
            for secret in [
                bidder.identity["usci"].as_str().unwrap_or_default(),
                bidder.identity["organization"].as_str().unwrap_or_default(),
                bidder.identity["id"].as_str().unwrap_or_default(),
            ] {
                assert!(
                    !secret.is_empty() && !text.contains(secret),
                    "a bidder ({secret}) is in the open data before the opening"
                );
            }
        }
        for field in [
            "\"bids\"",
            "\"tenderers\"",
            "\"numberOfTenderers\"",
            "\"tenderer\"",
            "\"awards\"",
        ] {
            assert!(
                !text.contains(field),
                "{field} is in the open data before the opening"
            );
        }
    }

    // The opening makes the bids public, and the open data with them.
    r.open_now().await;
    let releases = valid_open_data(app).await;
    let opening = releases.last().cloned().unwrap_or_default();
    assert_eq!(opening["tag"], serde_json::json!(["tenderUpdate"]));
    assert_eq!(opening["tender"]["numberOfTenderers"], 3);
    assert_eq!(opening["bids"]["details"].as_array().map(Vec::len), Some(3));
    let prices: Vec<f64> = opening["bids"]["details"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|b| b["value"]["amount"].as_f64())
        .collect();
    assert!(prices.contains(&96_500_000.02), "{prices:?}");
    let ocid = opening["ocid"].as_str().unwrap_or_default();
    assert_eq!(ocid, format!("ocds-th0dev-{}", r.trade));
    let (_, record) = app.get(&format!("/api/v1/ocds/records/{ocid}"), None).await;
    let compiled = &record["records"][0]["compiledRelease"];
    assert_eq!(compiled["tender"]["title"], "河滩路改造工程施工招标");
    assert_eq!(compiled["tender"]["numberOfTenderers"], 3);
    let (status, _) = app
        .get("/api/v1/ocds/records/ocds-th0dev-unknown", None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
