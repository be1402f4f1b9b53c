//! Upgrades keep what was accepted: a database made by an older version, with data in it,
//! is migrated to this one without losing or altering a row.

use sqlx::Connection as _;

/// Migration 0029 remakes SQLite's `alerts` table (to drop its reference to our trades):
/// alerts and their history survive, `alert_history` still references `alerts`, and an
/// alert may now name a followed platform's trade.
#[tokio::test]
async fn the_alerts_of_an_older_sqlite_database_survive_migration_0029() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("old.db").display());
    let mut db = sqlx::SqliteConnection::connect(&url)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    sqlx::query("PRAGMA foreign_keys = ON")
        .execute(&mut db)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let all = sqlx::migrate!("migrations/sqlite");
    let mut older = sqlx::migrate!("migrations/sqlite");
    older.migrations = all
        .migrations
        .iter()
        .filter(|m| m.version < 29)
        .cloned()
        .collect::<Vec<_>>()
        .into();
    older.run(&mut db).await.unwrap_or_else(|e| panic!("{e}"));

    // An alert on a trade of ours, with one step of handling, as version 28 kept them.
    for sql in [
        "PRAGMA foreign_keys = OFF",
        "INSERT INTO alerts (id, dedup_key, rule, severity, trade_id, region_code, status, summary, finding, assignee, raised_seq, trigger_seq, raised_at) \
         VALUES ('a1', 'k1', 'rotating_winner', 'red', 't1', '650100', 'assigned', '陪标', '{}', NULL, 7, 5, 1000)",
        "INSERT INTO alert_history (alert_id, seq, step, actor, note, assignee, at) VALUES ('a1', 8, 'assign', 's1', '分办', 's2', 1001)",
        "PRAGMA foreign_keys = ON",
    ] {
        sqlx::query(sql)
            .execute(&mut db)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }

    all.run(&mut db).await.unwrap_or_else(|e| panic!("{e}"));

    let alert: (String, String, String, i64, i64) = sqlx::query_as(
        "SELECT trade_id, status, summary, raised_seq, trigger_seq FROM alerts WHERE id = 'a1'",
    )
    .fetch_one(&mut db)
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(alert, ("t1".into(), "assigned".into(), "陪标".into(), 7, 5));
    let (steps,): (i64,) =
        sqlx::query_as("SELECT count(*) FROM alert_history WHERE alert_id = 'a1'")
            .fetch_one(&mut db)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(steps, 1);
    // The history still references alerts; an alert may name a followed platform's trade.
    let orphan = sqlx::query(
        "INSERT INTO alert_history (alert_id, seq, step, actor, note, assignee, at) VALUES ('nope', 9, 'close', 's1', 'x', NULL, 1002)",
    )
    .execute(&mut db)
    .await;
    assert!(
        orphan.is_err(),
        "alert_history lost its reference to alerts"
    );
    sqlx::query(
        "INSERT INTO alerts (id, dedup_key, rule, severity, trade_id, region_code, status, summary, finding, assignee, raised_seq, trigger_seq, raised_at) \
         VALUES ('a2', 'k2', 'mirror_halted', 'red', '650100', '650100', 'open', 'halted', '{}', NULL, 9, 8, 1003)",
    )
    .execute(&mut db)
    .await
    .unwrap_or_else(|e| panic!("an alert about a followed platform: {e}"));
    let (duplicate,): (i64,) =
        sqlx::query_as("SELECT count(*) FROM sqlite_master WHERE name = 'alerts_region'")
            .fetch_one(&mut db)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(duplicate, 1);
}
