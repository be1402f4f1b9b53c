//! Open data in the Open Contracting Data Standard 1.1 (docs/ocds.md): each public log
//! entry that moves a trade becomes one release, built only from that entry (and, for
//! an opening, the public opening record), so nothing reaches the open data before it is
//! in the public log. A record compiles a trade's releases by the OCDS merge rules.
//!
//! Tenders use the core schema with the lots, bid and bid-opening extensions; land,
//! mining and state-asset sales also carry `tender.publicResource`, our extension
//! (`docs/ocds-extension/extension.json`).

use serde_json::{json, Map, Value};

use super::opening::{OpeningRecord, RecordOrganization};

/// The OCDS version of our packages.
pub const VERSION: &str = "1.1";

/// The extensions our releases use.
pub const EXTENSIONS: [&str; 3] = [
    "https://raw.githubusercontent.com/open-contracting-extensions/ocds_lots_extension/v1.1.5/extension.json",
    "https://raw.githubusercontent.com/open-contracting-extensions/ocds_bid_extension/v1.1.5/extension.json",
    "https://raw.githubusercontent.com/open-contracting-extensions/ocds_bidOpening_extension/master/extension.json",
];

/// Log kinds that produce a release.
pub const RELEASE_KINDS: [&str; 9] = [
    "trade.published",
    "opening.completed",
    "evaluation.failed",
    "candidates.published",
    "award.notified",
    "contract.recorded",
    "complaint.ruled",
    "sale.closed",
    "trade.terminated",
];

/// A public log entry as a release reads it.
#[derive(Debug, Clone, Copy)]
pub struct Entry<'a> {
    pub seq: i64,
    /// RFC 3339.
    pub at: &'a str,
    pub kind: &'a str,
    pub trade_id: &'a str,
    pub data: &'a Value,
}

/// What a release needs beyond its entry.
#[derive(Debug, Clone, Copy, Default)]
pub struct Context<'a> {
    pub ocid_prefix: &'a str,
    /// The procedure's name in the rulebook (e.g. 公开招标, 挂牌出让).
    pub procedure_name: Option<&'a str>,
    /// Whether the trade is run by the live engine (a sale).
    pub live: bool,
    /// The opening record, for `opening.completed`.
    pub opening: Option<&'a OpeningRecord>,
    /// Where documents can be downloaded (`{base}/api/v1/documents/{sha256}`).
    pub base_url: &'a str,
}

pub fn ocid(prefix: &str, trade_id: &str) -> String {
    format!("{prefix}-{trade_id}")
}

/// Minor units as an OCDS value in yuan.
fn value(fen: i64) -> Value {
    // Exact to the 分 for any amount below 2^53 分.
    #[allow(clippy::cast_precision_loss)]
    let amount = fen as f64 / 100.0;
    json!({ "amount": amount, "currency": "CNY" })
}

fn party_id(usci: &str) -> String {
    format!("CN-USCC-{usci}")
}

fn org_ref(name: &str, usci: &str) -> Value {
    json!({ "id": party_id(usci), "name": name })
}

fn party(name: &str, usci: &str, roles: &[&str]) -> Value {
    json!({
        "id": party_id(usci),
        "name": name,
        "identifier": { "scheme": "CN-USCC", "id": usci, "legalName": name },
        "roles": roles,
    })
}

/// The OCDS address of a trade's region by name (GB/T 2260, regions/xinjiang.json): the
/// autonomous region as `region`, and below it the prefecture or city as `locality` (a
/// county's with the county first, "天山区，乌鲁木齐市"); None for a code the list lacks.
fn address(code: &str) -> Option<Value> {
    let list = super::region::Divisions::builtin();
    let division = list.get(code)?;
    let mut chain = vec![division];
    while let Some(parent) = chain.last().and_then(|d| d.parent.as_deref()) {
        chain.push(list.get(parent)?);
    }
    let top = chain.last()?;
    let mut address = json!({ "region": top.name, "countryName": "中国" });
    let below: Vec<&str> = chain[..chain.len() - 1]
        .iter()
        .map(|d| d.name.as_str())
        .collect();
    if !below.is_empty() {
        address["locality"] = json!(below.join("，"));
    }
    Some(address)
}

fn str_of<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key].as_str().unwrap_or_default()
}

fn award_id(trade_id: &str, rank: i64) -> String {
    format!("{trade_id}-award-{rank}")
}

/// The release an entry makes, if its kind makes one.
pub fn release(entry: Entry<'_>, cx: Context<'_>) -> Option<Value> {
    let ocid = ocid(cx.ocid_prefix, entry.trade_id);
    let data = entry.data;
    let id = entry.trade_id;
    let (tags, body): (Vec<&str>, Map<String, Value>) = match entry.kind {
        "trade.published" => (vec!["tender"], tender_release(data, cx)?),
        "opening.completed" => {
            if cx.live {
                // A sale's sealed reserve, not a bid opening: its result is `sale.closed`.
                return None;
            }
            (vec!["tenderUpdate"], opening_release(id, cx.opening?))
        }
        "evaluation.failed" => (vec!["tenderUpdate"], tender_status(id, "unsuccessful")),
        "complaint.ruled" if data["trade_failed"] == true => {
            (vec!["tenderUpdate"], tender_status(id, "unsuccessful"))
        }
        "trade.terminated" => (vec!["tenderCancellation"], tender_status(id, "cancelled")),
        "candidates.published" => {
            let awards: Vec<Value> = data["candidates"]
                .as_array()?
                .iter()
                .map(|c| {
                    let rank = c["rank"].as_i64().unwrap_or_default();
                    let org = &c["organization"];
                    json!({
                        "id": award_id(id, rank),
                        "title": format!("第{rank}中标候选人"),
                        "status": "pending",
                        "date": entry.at,
                        "value": value(c["price"].as_i64().unwrap_or_default()),
                        "suppliers": [org_ref(str_of(org, "name"), str_of(org, "usci"))],
                    })
                })
                .collect();
            let mut body = Map::new();
            body.insert("awards".into(), Value::Array(awards));
            body.insert(
                "tender".into(),
                json!({ "id": id, "awardPeriod": {
                    "startDate": data["publicity_from"], "endDate": data["publicity_until"],
                } }),
            );
            (vec!["award"], body)
        }
        "award.notified" => {
            let award = &data["award"];
            let winner = &award["winner"];
            let rank = award["rank"].as_i64().unwrap_or(1);
            let others: Vec<Value> = data["revealed"]["report"]["candidates"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|c| c["rank"].as_i64())
                .filter(|r| *r != rank)
                .map(|r| json!({ "id": award_id(id, r), "status": "unsuccessful" }))
                .collect();
            let org = &winner["organization"];
            let mut awards = vec![json!({
                "id": award_id(id, rank),
                "status": "active",
                "date": award["awarded_at"],
                "value": value(winner["price"].as_i64().unwrap_or_default()),
                "suppliers": [org_ref(str_of(org, "name"), str_of(org, "usci"))],
                "contractPeriod": { "maxExtentDate": award["contract_due"] },
            })];
            awards.extend(others);
            let mut body = Map::new();
            body.insert(
                "parties".into(),
                json!([party(
                    str_of(org, "name"),
                    str_of(org, "usci"),
                    &["tenderer", "supplier"]
                )]),
            );
            body.insert("awards".into(), Value::Array(awards));
            (vec!["award"], body)
        }
        "contract.recorded" => {
            let c = &data["contract"];
            let mut body = Map::new();
            body.insert(
                "contracts".into(),
                json!([{
                    "id": format!("{id}-contract"),
                    "awardID": award_id(id, c["award_rank"].as_i64().unwrap_or(1)),
                    "status": "active",
                    "dateSigned": c["signed_at"],
                    "value": value(c["amount"].as_i64().unwrap_or_default()),
                    "documents": [{
                        "id": c["document_sha256"],
                        "documentType": "contractSigned",
                        "title": "合同文本 SHA-256",
                        "description": c["document_sha256"],
                    }],
                }]),
            );
            body.insert("tender".into(), json!({ "id": id, "status": "complete" }));
            (vec!["contract"], body)
        }
        "sale.closed" => {
            let result = &data["result"];
            if result["outcome"] == "sold" {
                let number = str_of(result, "bidder_number");
                let mut body = Map::new();
                body.insert(
                    "awards".into(),
                    json!([{
                        "id": format!("{id}-sale"),
                        "title": "成交",
                        "status": "active",
                        "date": entry.at,
                        "value": value(result["amount"].as_i64().unwrap_or_default()),
                        "suppliers": [{ "id": format!("{id}-bidder-{number}"), "name": format!("竞买号 {number}") }],
                    }]),
                );
                body.insert("tender".into(), json!({ "id": id, "status": "complete" }));
                (vec!["award"], body)
            } else {
                let mut body = tender_status(id, "unsuccessful");
                if let Some(t) = body.get_mut("tender") {
                    t["statusDetails"] = result["reason"].clone();
                }
                (vec!["tenderUpdate"], body)
            }
        }
        _ => return None,
    };
    let mut release = Map::new();
    release.insert("ocid".into(), Value::String(ocid.clone()));
    release.insert("id".into(), Value::String(format!("{ocid}-{}", entry.seq)));
    release.insert("date".into(), Value::String(entry.at.to_owned()));
    release.insert("tag".into(), json!(tags));
    release.insert("initiationType".into(), json!("tender"));
    release.insert("language".into(), json!("zh"));
    release.extend(body);
    Some(Value::Object(release))
}

fn tender_status(trade_id: &str, status: &str) -> Map<String, Value> {
    let mut body = Map::new();
    body.insert("tender".into(), json!({ "id": trade_id, "status": status }));
    body
}

/// `tender`, `parties` and `buyer` from a `trade.published` announcement.
fn tender_release(data: &Value, cx: Context<'_>) -> Option<Map<String, Value>> {
    let trade = &data["announcement"]["trade"];
    let id = trade["id"].as_str()?;
    let principal = &trade["principal"];
    let (name, usci) = (str_of(principal, "name"), str_of(principal, "usci"));
    let kind = str_of(trade, "kind");
    let mut tender = json!({
        "id": id,
        "title": trade["title"],
        "status": "active",
        "procuringEntity": org_ref(name, usci),
        "procurementMethod": "open",
        "procurementMethodDetails": cx.procedure_name.unwrap_or(str_of(trade, "procedure")),
        "tenderPeriod": { "startDate": trade["published_at"], "endDate": trade["bid_deadline"] },
        "submissionMethod": ["electronicSubmission"],
        "documents": data["announcement"]["documents"].as_array().into_iter().flatten().map(|d| json!({
            "id": d["sha256"],
            "documentType": "tenderNotice",
            "title": d["name"],
            "format": d["media_type"],
            "datePublished": d["added_at"],
            "url": format!("{}/api/v1/documents/{}", cx.base_url, str_of(d, "sha256")),
        })).collect::<Vec<_>>(),
        "lots": trade["lots"].as_array().into_iter().flatten().map(|l| json!({
            "id": l["id"],
            "title": l["title"],
            "value": value(l["estimated_value"].as_i64().unwrap_or_default()),
        })).collect::<Vec<_>>(),
    });
    let estimated = trade["estimated_value"].as_i64().unwrap_or_default();
    let mut roles = vec!["procuringEntity"];
    if cx.live {
        let sale = &trade["live"];
        tender["minValue"] = value(sale["start_price"].as_i64().unwrap_or_default());
        tender["awardCriteria"] = json!("priceOnly");
        tender["awardCriteriaDetails"] = json!("价高者得");
        tender["publicResource"] = json!({
            "kind": kind,
            "procedure": trade["procedure"],
            "regionCode": trade["region_code"],
            "startPrice": value(sale["start_price"].as_i64().unwrap_or_default()),
            "increment": value(sale["increment"].as_i64().unwrap_or_default()),
            "deposit": value(trade["bond_amount"].as_i64().unwrap_or_default()),
            "applicationDeadline": trade["bid_deadline"],
            "startsAt": sale["starts_at"],
            "endsAt": sale["ends_at"],
            "countdownSeconds": sale["countdown_seconds"],
            "rulebook": { "version": trade["rulebook_version"], "sha256": trade["rulebook_sha256"] },
        });
    } else {
        roles.push("buyer");
        tender["value"] = value(estimated);
        tender["mainProcurementCategory"] = json!(if kind == "construction_tender" {
            "works"
        } else {
            "goods"
        });
        let method = trade["evaluation"]["method"].as_str();
        tender["awardCriteria"] = json!(if method == Some("comprehensive_scoring") {
            "ratedCriteria"
        } else {
            "lowestCost"
        });
    }
    let mut body = Map::new();
    if let Some(prior) = trade["retender_of"].as_str() {
        body.insert(
            "relatedProcesses".into(),
            json!([{
                "id": "1",
                "relationship": ["priorProcess"],
                "title": "重新招标前的招标",
                "scheme": "ocid",
                "identifier": ocid(cx.ocid_prefix, prior),
            }]),
        );
    }
    let mut entity = party(name, usci, &roles);
    if let Some(address) = address(str_of(trade, "region_code")) {
        entity["address"] = address;
    }
    body.insert("parties".into(), json!([entity]));
    if !cx.live {
        body.insert("buyer".into(), org_ref(name, usci));
    }
    body.insert("tender".into(), tender);
    Some(body)
}

/// `tender` (tenderers, bid opening, status), `bids` and `parties` from an opening record.
fn opening_release(trade_id: &str, record: &OpeningRecord) -> Map<String, Value> {
    let org = |o: &RecordOrganization| org_ref(&o.name, &o.usci);
    let mut tenderers: Vec<&RecordOrganization> =
        record.bids.iter().map(|b| &b.organization).collect();
    tenderers.sort_by(|a, b| a.usci.cmp(&b.usci));
    tenderers.dedup_by(|a, b| a.usci == b.usci);
    let mut body = Map::new();
    body.insert(
        "parties".into(),
        Value::Array(
            tenderers
                .iter()
                .map(|o| party(&o.name, &o.usci, &["tenderer"]))
                .collect(),
        ),
    );
    body.insert(
        "tender".into(),
        json!({
            "id": trade_id,
            "status": if record.outcome == "opened" { "active" } else { "unsuccessful" },
            "numberOfTenderers": tenderers.len(),
            "tenderers": tenderers.iter().map(|o| org(o)).collect::<Vec<_>>(),
            "bidOpening": { "date": record.opened_at },
        }),
    );
    body.insert(
        "bids".into(),
        json!({
            "details": record.bids.iter().map(|b| {
                let mut bid = json!({
                    "id": format!("{trade_id}-bid-{}", b.log_index),
                    "date": b.received_at,
                    "status": if b.valid { "valid" } else { "disqualified" },
                    "tenderers": [org(&b.organization)],
                });
                if let Some(price) = b.price {
                    bid["value"] = value(price);
                }
                if !b.lots.is_empty() {
                    bid["relatedLots"] = json!(b.lots);
                }
                bid
            }).collect::<Vec<_>>(),
        }),
    );
    body
}

/// Merges `release` into `compiled` by the OCDS merge rules: objects field by field,
/// arrays of objects that all have an `id` item by item, anything else replaced.
fn merge(compiled: &mut Value, release: &Value) {
    match (compiled, release) {
        (Value::Object(into), Value::Object(from)) => {
            for (key, value) in from {
                match into.get_mut(key) {
                    Some(existing) => merge(existing, value),
                    None => {
                        into.insert(key.clone(), value.clone());
                    }
                }
            }
        }
        (Value::Array(into), Value::Array(from))
            if from.iter().all(|v| v.get("id").is_some())
                && into.iter().all(|v| v.get("id").is_some()) =>
        {
            for item in from {
                match into.iter_mut().find(|v| v.get("id") == item.get("id")) {
                    Some(existing) => merge(existing, item),
                    None => into.push(item.clone()),
                }
            }
        }
        (into, from) => *into = from.clone(),
    }
}

/// The compiled release of a trade's releases (oldest first).
pub fn compile(releases: &[Value]) -> Option<Value> {
    let last = releases.last()?;
    let mut compiled = json!({});
    for r in releases {
        let mut body = r.clone();
        if let Some(o) = body.as_object_mut() {
            o.remove("id");
            o.remove("date");
            o.remove("tag");
        }
        merge(&mut compiled, &body);
    }
    let ocid = last["ocid"].as_str().unwrap_or_default();
    compiled["id"] = json!(format!("{ocid}-compiled"));
    compiled["date"] = last["date"].clone();
    compiled["tag"] = json!(["compiled"]);
    Some(compiled)
}

/// Package metadata.
#[derive(Debug, Clone, Copy)]
pub struct Publisher<'a> {
    pub name: &'a str,
    pub uri: &'a str,
    pub published_date: &'a str,
}

/// The package members before its releases or records.
fn package(publisher: Publisher<'_>) -> Map<String, Value> {
    let mut package = Map::new();
    package.insert("uri".into(), json!(publisher.uri));
    package.insert("version".into(), json!(VERSION));
    package.insert("extensions".into(), json!(EXTENSIONS));
    package.insert("publishedDate".into(), json!(publisher.published_date));
    package.insert("publisher".into(), json!({ "name": publisher.name }));
    package
}

/// A release package.
pub fn release_package(publisher: Publisher<'_>, releases: Vec<Value>) -> Value {
    let mut package = package(publisher);
    package.insert("releases".into(), Value::Array(releases));
    Value::Object(package)
}

/// A record package with one record: the trade's releases and their compiled release.
pub fn record_package(publisher: Publisher<'_>, ocid: &str, releases: Vec<Value>) -> Value {
    let compiled = compile(&releases);
    let mut record = Map::new();
    record.insert("ocid".into(), json!(ocid));
    record.insert("releases".into(), Value::Array(releases));
    record.insert("compiledRelease".into(), compiled.unwrap_or_default());
    let mut package = package(publisher);
    package.insert("records".into(), json!([Value::Object(record)]));
    Value::Object(package)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_updates_items_by_id_and_replaces_other_arrays() {
        let a = json!({ "ocid": "o", "id": "1", "date": "d1", "tag": ["award"],
            "awards": [{ "id": "x", "status": "pending", "value": { "amount": 1.0 } }, { "id": "y", "status": "pending" }],
            "tender": { "id": "t", "submissionMethod": ["a"] } });
        let b = json!({ "ocid": "o", "id": "2", "date": "d2", "tag": ["award"],
            "awards": [{ "id": "x", "status": "active" }, { "id": "y", "status": "unsuccessful" }],
            "tender": { "id": "t", "submissionMethod": ["b"] } });
        let compiled = compile(&[a, b]).unwrap_or_default();
        assert_eq!(compiled["awards"][0]["status"], "active");
        assert_eq!(compiled["awards"][0]["value"]["amount"], 1.0);
        assert_eq!(compiled["awards"][1]["status"], "unsuccessful");
        assert_eq!(compiled["tender"]["submissionMethod"], json!(["b"]));
        assert_eq!(compiled["id"], "o-compiled");
        assert_eq!(compiled["date"], "d2");
        assert_eq!(compiled["tag"], json!(["compiled"]));
    }

    #[test]
    fn a_region_is_addressed_by_its_names_from_the_autonomous_region_down() {
        assert_eq!(
            address("650102"),
            Some(
                json!({"region": "新疆维吾尔自治区", "locality": "天山区，乌鲁木齐市", "countryName": "中国"})
            )
        );
        assert_eq!(
            address("650100"),
            Some(
                json!({"region": "新疆维吾尔自治区", "locality": "乌鲁木齐市", "countryName": "中国"})
            )
        );
        assert_eq!(
            address("650000"),
            Some(json!({"region": "新疆维吾尔自治区", "countryName": "中国"}))
        );
        assert_eq!(address("640100"), None);
    }

    #[test]
    fn amounts_are_yuan_exact_to_the_fen() {
        assert_eq!(value(9_870_000_001)["amount"].to_string(), "98700000.01");
        assert_eq!(value(5)["amount"].to_string(), "0.05");
    }
}
