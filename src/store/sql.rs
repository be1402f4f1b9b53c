//! The SQL both backends share. The statements are identical on SQLite and PostgreSQL
//! (`$n` placeholders, `ON CONFLICT`, `RETURNING`), so one macro body instantiates the
//! [`Store`](super::Store) trait for each backend type; only opening a write transaction
//! differs, and each backend supplies its own `begin_write`. See docs/adr/0002.

/// Implements `Store` for `$store`, whose inherent `begin_write(&self)` returns a
/// transaction holding the log's write lock and whose `pool`, `clock` and `appended`
/// fields are the connection pool, the clock and the commit signal.
macro_rules! impl_store {
    ($store:ty, $db:ty) => {
        impl $store {
            /// Commits a write and wakes whoever follows the log here ([`Store::appended`]).
            /// Other instances on the same PostgreSQL learn of it from the notification
            /// its log entries send (a trigger, `src/store/postgres.rs`).
            async fn commit(&self, tx: sqlx::Transaction<'static, $db>) -> $crate::store::Result<()> {
                tx.commit().await?;
                self.appended.send_modify(|n| *n = n.wrapping_add(1));
                Ok(())
            }

            /// The sequence number and time the next entry gets inside `tx`: `max + 1`, and
            /// `max(now, last)` so entry times never run backwards even if the host clock does.
            async fn next_entry(
                &self,
                tx: &mut sqlx::Transaction<'static, $db>,
            ) -> $crate::store::Result<(i64, i64)> {
                use $crate::domain::clock::to_millis;
                let last: Option<(i64, i64)> =
                    sqlx::query_as("SELECT seq, at FROM events ORDER BY seq DESC LIMIT 1")
                        .fetch_optional(&mut **tx)
                        .await?;
                Ok(match last {
                    Some((seq, at)) => (seq + 1, to_millis(self.clock.now()).max(at)),
                    None => (1, to_millis(self.clock.now())),
                })
            }

            /// Appends `event` inside `tx` as the next entry.
            async fn append_in(
                &self,
                tx: &mut sqlx::Transaction<'static, $db>,
                event: &$crate::domain::event::NewEvent,
            ) -> $crate::store::Result<i64> {
                let (seq, at) = self.next_entry(tx).await?;
                self.append_at(tx, event, seq, at).await?;
                Ok(seq)
            }

            /// Writes `event` as entry `seq` at `at` (from `next_entry` in the same `tx`).
            async fn append_at(
                &self,
                tx: &mut sqlx::Transaction<'static, $db>,
                event: &$crate::domain::event::NewEvent,
                seq: i64,
                at: i64,
            ) -> $crate::store::Result<()> {
                self.write_entries(tx, &[(event, seq, at)]).await
            }

            /// Writes `(event, seq, at)` entries, the next ones in order, with multi-row
            /// statements (at most 500 rows each), and grows the tree over them.
            async fn write_entries(
                &self,
                tx: &mut sqlx::Transaction<'static, $db>,
                entries: &[(&$crate::domain::event::NewEvent, i64, i64)],
            ) -> $crate::store::Result<()> {
                use $crate::domain::clock::from_millis;
                // Each trade's newest entry so far: an entry naming a trade links to it.
                let mut heads: std::collections::HashMap<String, Option<i64>> = std::collections::HashMap::new();
                for chunk in entries.chunks(500) {
                    for (event, _, _) in chunk {
                        if let Some(trade) = &event.trade_id {
                            if !heads.contains_key(trade) {
                                let (newest,): (Option<i64>,) =
                                    sqlx::query_as("SELECT MAX(seq) FROM events WHERE trade_id = $1")
                                        .bind(trade)
                                        .fetch_one(&mut **tx)
                                        .await?;
                                heads.insert(trade.clone(), newest);
                            }
                        }
                    }
                    let bytes: Vec<(i64, Vec<u8>)> = chunk
                        .iter()
                        .map(|(event, seq, at)| {
                            let prev = event
                                .trade_id
                                .as_ref()
                                .and_then(|trade| heads.insert(trade.clone(), Some(*seq)))
                                .flatten();
                            (*seq, $crate::domain::event::encode_entry(*seq, from_millis(*at), event, prev))
                        })
                        .collect();
                    let mut q = sqlx::QueryBuilder::<$db>::new("INSERT INTO events (seq, at, kind, trade_id, entry) ");
                    q.push_values(chunk.iter().zip(&bytes), |mut b, ((event, seq, at), (_, entry))| {
                        b.push_bind(*seq)
                            .push_bind(*at)
                            .push_bind(event.kind)
                            .push_bind(event.trade_id.clone())
                            .push_bind(entry.clone());
                    });
                    q.build().execute(&mut **tx).await?;
                    self.grow_tree(tx, &bytes).await?;
                    let mut q = sqlx::QueryBuilder::<$db>::new(
                        "INSERT INTO event_audit (seq, salt, actor, client_addr, request_id) ",
                    );
                    q.push_values(chunk, |mut b, (event, seq, _)| {
                        b.push_bind(*seq)
                            .push_bind(event.audit_salt.to_vec())
                            .push_bind(event.audit.actor.clone())
                            .push_bind(event.audit.client_addr.clone())
                            .push_bind(event.audit.request_id.clone());
                    });
                    q.build().execute(&mut **tx).await?;
                    for (event, seq, _) in chunk {
                        for sealed in &event.sealed {
                            sqlx::query("INSERT INTO event_sealed (seq, name, salt, data) VALUES ($1, $2, $3, $4)")
                                .bind(*seq)
                                .bind(sealed.name)
                                .bind(sealed.salt.to_vec())
                                .bind(sealed.data.clone())
                                .execute(&mut **tx)
                                .await?;
                        }
                    }
                }
                Ok(())
            }

            /// Appends `event` only if its time, taken under the log lock, is before the
            /// deadline of the published trade: the one place intake time is decided. A
            /// refusal appends nothing, so later work in the same `tx` may go on.
            async fn append_before_deadline(
                &self,
                tx: &mut sqlx::Transaction<'static, $db>,
                event: &$crate::domain::event::NewEvent,
                trade_id: &str,
            ) -> $crate::store::Result<(i64, i64)> {
                let (seq, at) = self.next_entry(tx).await?;
                let trade: Option<(i64, String)> =
                    sqlx::query_as("SELECT bid_deadline, status FROM trades WHERE id = $1")
                        .bind(trade_id)
                        .fetch_optional(&mut **tx)
                        .await?;
                if let Some(refusal) = $crate::store::sql::refuses_bids(&trade, at) {
                    return Err($crate::store::StoreError::Conflict(refusal.into()));
                }
                self.append_at(tx, event, seq, at).await?;
                Ok((seq, at))
            }

            /// Adds the entries `(seq, bytes)`, the next ones in order, to the log's Merkle
            /// tree inside `tx`: reads the current frontier once, writes the new nodes.
            async fn grow_tree(
                &self,
                tx: &mut sqlx::Transaction<'static, $db>,
                entries: &[(i64, Vec<u8>)],
            ) -> $crate::store::Result<()> {
                use $crate::domain::merkle::{self, NodeId};
                let Some((first, _)) = entries.first() else {
                    return Ok(());
                };
                let size = u64::try_from(first - 1).unwrap_or(0);
                let mut known: std::collections::HashMap<NodeId, merkle::Hash> = std::collections::HashMap::new();
                let frontier = merkle::range_nodes(0, size);
                if !frontier.is_empty() {
                    let mut q = sqlx::QueryBuilder::<$db>::new("SELECT level, idx, hash FROM log_nodes WHERE ");
                    let mut or = q.separated(" OR ");
                    for id in &frontier {
                        or.push("(level = ")
                            .push_bind_unseparated(id.level as i32)
                            .push_unseparated(" AND idx = ")
                            .push_bind_unseparated(id.index as i64)
                            .push_unseparated(")");
                    }
                    let rows: Vec<(i32, i64, Vec<u8>)> = q.build_query_as().fetch_all(&mut **tx).await?;
                    for (level, idx, hash) in rows {
                        let hash: merkle::Hash = hash
                            .try_into()
                            .map_err(|_| $crate::store::StoreError::Other("a stored log node is not 32 bytes".into()))?;
                        known.insert(NodeId { level: level as u32, index: idx as u64 }, hash);
                    }
                }
                let mut new = Vec::new();
                for (seq, entry) in entries {
                    let index = u64::try_from(seq - 1).unwrap_or(0);
                    let nodes = merkle::append_nodes(index, merkle::leaf_hash(entry), |id| known.get(&id).copied())
                        .ok_or_else(|| $crate::store::StoreError::Other("the log's Merkle tree is missing a node".into()))?;
                    for (id, hash) in nodes {
                        known.insert(id, hash);
                        new.push((id, hash));
                    }
                }
                for chunk in new.chunks(500) {
                    let mut q = sqlx::QueryBuilder::<$db>::new("INSERT INTO log_nodes (level, idx, hash) ");
                    q.push_values(chunk, |mut b, (id, hash)| {
                        b.push_bind(id.level as i32).push_bind(id.index as i64).push_bind(hash.to_vec());
                    });
                    q.build().execute(&mut **tx).await?;
                }
                Ok(())
            }

            /// Builds the tree for entries logged before it existed (a database from an
            /// earlier version), so every entry is a leaf. Idempotent.
            pub(crate) async fn ensure_tree(&self) -> $crate::store::Result<()> {
                let mut tx = self.begin_write().await?;
                // Leaf i is entry i + 1, so the last leaf's index is the last entry in the tree.
                let (last_leaf,): (Option<i64>,) = sqlx::query_as("SELECT MAX(idx) FROM log_nodes WHERE level = 0")
                    .fetch_one(&mut *tx)
                    .await?;
                let mut after = last_leaf.map_or(0, |i| i + 1);
                loop {
                    let rows: Vec<(i64, Vec<u8>)> =
                        sqlx::query_as("SELECT seq, entry FROM events WHERE seq > $1 ORDER BY seq LIMIT 1000")
                            .bind(after)
                            .fetch_all(&mut *tx)
                            .await?;
                    let Some((last, _)) = rows.last() else {
                        break;
                    };
                    after = *last;
                    self.grow_tree(&mut tx, &rows).await?;
                }
                self.commit(tx).await?;
                Ok(())
            }

            /// The trades of `rows` with their lots, custodians and live terms, read with
            /// one statement per table for every 500 trades.
            async fn load_trades(
                &self,
                rows: Vec<$crate::store::rows::TradeRow>,
            ) -> $crate::store::Result<Vec<$crate::domain::trade::Trade>> {
                use std::collections::HashMap;
                use $crate::store::rows::{LiveRow, LotRow};
                let mut lots: HashMap<String, Vec<LotRow>> = HashMap::new();
                let mut custodians: HashMap<String, Vec<String>> = HashMap::new();
                let mut live: HashMap<String, LiveRow> = HashMap::new();
                for chunk in rows.chunks(500) {
                    let ids: Vec<&str> = chunk.iter().map(|r| r.id.as_str()).collect();
                    let found: Vec<(String, String, String, i64)> = $crate::store::sql::where_in::<$db>(
                        "SELECT trade_id, lot_id, title, estimated_value FROM trade_lots WHERE trade_id IN ",
                        &ids,
                        " ORDER BY trade_id, position",
                    )
                    .build_query_as()
                    .fetch_all(&self.pool)
                    .await?;
                    for (trade_id, lot_id, title, estimated_value) in found {
                        lots.entry(trade_id).or_default().push(LotRow { lot_id, title, estimated_value });
                    }
                    let found: Vec<(String, String)> = $crate::store::sql::where_in::<$db>(
                        "SELECT trade_id, identity_id FROM trade_custodians WHERE trade_id IN ",
                        &ids,
                        " ORDER BY trade_id, position",
                    )
                    .build_query_as()
                    .fetch_all(&self.pool)
                    .await?;
                    for (trade_id, identity_id) in found {
                        custodians.entry(trade_id).or_default().push(identity_id);
                    }
                    let found: Vec<(String, i64, i64, i64, Option<i64>, i64)> = $crate::store::sql::where_in::<$db>(
                        "SELECT trade_id, start_price, increment, starts_at, ends_at, countdown_seconds FROM trade_live_terms WHERE trade_id IN ",
                        &ids,
                        "",
                    )
                    .build_query_as()
                    .fetch_all(&self.pool)
                    .await?;
                    for (trade_id, start_price, increment, starts_at, ends_at, countdown_seconds) in found {
                        live.insert(trade_id, LiveRow { start_price, increment, starts_at, ends_at, countdown_seconds });
                    }
                }
                rows.into_iter()
                    .map(|row| {
                        let lots = lots.remove(&row.id).unwrap_or_default();
                        let custodians = custodians.remove(&row.id).unwrap_or_default();
                        let live = live.remove(&row.id);
                        row.into_trade(lots, custodians, live)
                    })
                    .collect()
            }
        }

        #[async_trait::async_trait]
        impl $crate::store::Store for $store {
            async fn ping(&self) -> $crate::store::Result<()> {
                sqlx::query("SELECT 1").execute(&self.pool).await?;
                Ok(())
            }

            async fn insert_challenge(
                &self,
                nonce: &str,
                expires_at: chrono::DateTime<chrono::Utc>,
            ) -> $crate::store::Result<()> {
                sqlx::query("INSERT INTO auth_challenges (nonce, expires_at) VALUES ($1, $2)")
                    .bind(nonce)
                    .bind(expires_at.timestamp_millis())
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn consume_challenge(
                &self,
                nonce: &str,
                now: chrono::DateTime<chrono::Utc>,
            ) -> $crate::store::Result<$crate::store::ChallengeState> {
                use $crate::store::ChallengeState;
                let now = now.timestamp_millis();
                let spent = sqlx::query(
                    "UPDATE auth_challenges SET used_at = $1 WHERE nonce = $2 AND used_at IS NULL AND expires_at > $1",
                )
                .bind(now)
                .bind(nonce)
                .execute(&self.pool)
                .await?;
                if spent.rows_affected() == 1 {
                    return Ok(ChallengeState::Consumed);
                }
                let row: Option<(i64, Option<i64>)> =
                    sqlx::query_as("SELECT expires_at, used_at FROM auth_challenges WHERE nonce = $1")
                        .bind(nonce)
                        .fetch_optional(&self.pool)
                        .await?;
                Ok(match row {
                    None => ChallengeState::Unknown,
                    Some((_, Some(_))) => ChallengeState::Replayed,
                    Some((_, None)) => ChallengeState::Expired,
                })
            }

            async fn register_identity(
                &self,
                new: &$crate::store::NewIdentity,
                event: $crate::domain::event::NewEvent,
            ) -> $crate::store::Result<i64> {
                let id = &new.identity;
                let now = self.clock.now().timestamp_millis();
                let mut tx = self.begin_write().await?;
                let org: Option<(String, String)> =
                    sqlx::query_as("SELECT id, name FROM organizations WHERE usci = $1")
                        .bind(id.usci.as_str())
                        .fetch_optional(&mut *tx)
                        .await?;
                let org_id = match org {
                    Some((org_id, name)) if name == id.organization => org_id,
                    Some(_) => {
                        return Err($crate::store::StoreError::Conflict(
                            "organization_name_mismatch".into(),
                        ))
                    }
                    None => {
                        let org_id = uuid::Uuid::now_v7().to_string();
                        sqlx::query("INSERT INTO organizations (id, usci, name, created_at) VALUES ($1, $2, $3, $4)")
                            .bind(&org_id)
                            .bind(id.usci.as_str())
                            .bind(&id.organization)
                            .bind(now)
                            .execute(&mut *tx)
                            .await?;
                        org_id
                    }
                };
                sqlx::query(
                    "INSERT INTO identities (id, organization_id, cert_fingerprint, cert_der, subject, role, status, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                )
                .bind(&id.id)
                .bind(&org_id)
                .bind(&id.cert_fingerprint)
                .bind(new.cert_der.clone())
                .bind(&id.subject)
                .bind(id.role.as_str())
                .bind(id.status.as_str())
                .bind(now)
                .execute(&mut *tx)
                .await?;
                let seq = self.append_in(&mut tx, &event).await?;
                self.commit(tx).await?;
                Ok(seq)
            }

            async fn identity(
                &self,
                id: &str,
            ) -> $crate::store::Result<Option<$crate::domain::identity::Identity>> {
                let row: Option<$crate::store::rows::IdentityRow> = sqlx::query_as(concat!(
                    $crate::store::sql::IDENTITY_SELECT!(),
                    " WHERE i.id = $1"
                ))
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
                row.map(TryInto::try_into).transpose()
            }

            async fn identity_by_fingerprint(
                &self,
                fingerprint: &str,
            ) -> $crate::store::Result<Option<$crate::domain::identity::Identity>> {
                let row: Option<$crate::store::rows::IdentityRow> = sqlx::query_as(concat!(
                    $crate::store::sql::IDENTITY_SELECT!(),
                    " WHERE i.cert_fingerprint = $1"
                ))
                .bind(fingerprint)
                .fetch_optional(&self.pool)
                .await?;
                row.map(TryInto::try_into).transpose()
            }

            async fn identities(
                &self,
                status: $crate::domain::identity::IdentityStatus,
                role: Option<$crate::domain::identity::Role>,
            ) -> $crate::store::Result<Vec<$crate::domain::identity::Identity>> {
                let rows: Vec<$crate::store::rows::IdentityRow> = sqlx::query_as(concat!(
                    $crate::store::sql::IDENTITY_SELECT!(),
                    " WHERE i.status = $1 AND ($2 IS NULL OR i.role = $2) ORDER BY i.created_at, i.id"
                ))
                .bind(status.as_str())
                .bind(role.map(|r| r.as_str()))
                .fetch_all(&self.pool)
                .await?;
                rows.into_iter().map(TryInto::try_into).collect()
            }

            async fn grant_role(
                &self,
                id: &str,
                role: $crate::domain::identity::Role,
                region: Option<&$crate::domain::region::RegionCode>,
                event: $crate::domain::event::NewEvent,
            ) -> $crate::store::Result<i64> {
                let mut tx = self.begin_write().await?;
                let done = sqlx::query("UPDATE identities SET role = $1, status = 'active', region_code = $3 WHERE id = $2 AND status = 'pending'")
                    .bind(role.as_str())
                    .bind(id)
                    .bind(region.map(|r| r.as_str().to_owned()))
                    .execute(&mut *tx)
                    .await?;
                if done.rows_affected() == 0 {
                    return Err($crate::store::StoreError::Conflict("identity_not_pending".into()));
                }
                let seq = self.append_in(&mut tx, &event).await?;
                self.commit(tx).await?;
                Ok(seq)
            }

            async fn insert_session(
                &self,
                token_sha256: &str,
                identity_id: &str,
                expires_at: chrono::DateTime<chrono::Utc>,
                event: $crate::domain::event::NewEvent,
            ) -> $crate::store::Result<i64> {
                let mut tx = self.begin_write().await?;
                sqlx::query("INSERT INTO sessions (token_sha256, identity_id, expires_at) VALUES ($1, $2, $3)")
                    .bind(token_sha256)
                    .bind(identity_id)
                    .bind(expires_at.timestamp_millis())
                    .execute(&mut *tx)
                    .await?;
                let seq = self.append_in(&mut tx, &event).await?;
                self.commit(tx).await?;
                Ok(seq)
            }

            async fn end_session(&self, token_sha256: &str) -> $crate::store::Result<()> {
                sqlx::query("DELETE FROM sessions WHERE token_sha256 = $1")
                    .bind(token_sha256)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn session_identity(
                &self,
                token_sha256: &str,
                now: chrono::DateTime<chrono::Utc>,
            ) -> $crate::store::Result<
                Option<($crate::domain::identity::Identity, chrono::DateTime<chrono::Utc>)>,
            > {
                let row: Option<$crate::store::rows::SessionRow> = sqlx::query_as(concat!(
                    "SELECT s.expires_at, ",
                    $crate::store::sql::IDENTITY_COLUMNS!(),
                    " ",
                    $crate::store::sql::IDENTITY_FROM!(),
                    " JOIN sessions s ON s.identity_id = i.id WHERE s.token_sha256 = $1 AND s.expires_at > $2"
                ))
                .bind(token_sha256)
                .bind(now.timestamp_millis())
                .fetch_optional(&self.pool)
                .await?;
                row.map(TryInto::try_into).transpose()
            }

            async fn create_trade(
                &self,
                trade: &$crate::domain::trade::Trade,
                created_by: &str,
                event: $crate::domain::event::NewEvent,
            ) -> $crate::store::Result<i64> {
                let t = &trade.terms;
                let mut tx = self.begin_write().await?;
                sqlx::query(
                    "INSERT INTO trades (id, kind, procedure, title, principal_name, principal_usci, estimated_value, \
                     currency, region_code, bid_deadline, bond_amount, threshold, status, rulebook_version, \
                     rulebook_sha256, time_scale, created_by, created_at, published_at, evaluation, retender_of, \
                     invited, previous_round, announcement, suite) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25)",
                )
                .bind(&trade.id)
                .bind(&t.kind)
                .bind(&t.procedure)
                .bind(&t.title)
                .bind(&t.principal.name)
                .bind(t.principal.usci.as_str())
                .bind(t.estimated_value.minor_units())
                .bind(t.currency.code())
                .bind(t.region_code.as_str())
                .bind(t.bid_deadline.timestamp_millis())
                .bind(t.bond_amount.minor_units())
                .bind(i64::from(t.committee.threshold))
                .bind(trade.status.as_str())
                .bind(&trade.rulebook_version)
                .bind(&trade.rulebook_sha256)
                .bind(i64::from(trade.time_scale))
                .bind(created_by)
                .bind(trade.created_at.timestamp_millis())
                .bind(trade.published_at.map(|p| p.timestamp_millis()))
                .bind(t.evaluation.as_ref().map(|e| serde_json::to_string(e).unwrap_or_default()))
                .bind(&t.retender_of)
                .bind((!t.invited.is_empty()).then(|| serde_json::to_string(&t.invited).unwrap_or_default()))
                .bind(&t.previous_round)
                .bind(t.announcement.as_ref().map(|a| serde_json::to_string(a).unwrap_or_default()))
                .bind(i64::from(t.committee.suite.number()))
                .execute(&mut *tx)
                .await?;
                for (position, lot) in (0_i64..).zip(&t.lots) {
                    sqlx::query("INSERT INTO trade_lots (trade_id, position, lot_id, title, estimated_value) VALUES ($1, $2, $3, $4, $5)")
                        .bind(&trade.id)
                        .bind(position)
                        .bind(&lot.id)
                        .bind(&lot.title)
                        .bind(lot.estimated_value.minor_units())
                        .execute(&mut *tx)
                        .await?;
                }
                if let Some(live) = &t.live {
                    sqlx::query(
                        "INSERT INTO trade_live_terms (trade_id, start_price, increment, starts_at, ends_at, countdown_seconds) \
                         VALUES ($1, $2, $3, $4, $5, $6)",
                    )
                    .bind(&trade.id)
                    .bind(live.start_price.minor_units())
                    .bind(live.increment.minor_units())
                    .bind(live.starts_at.timestamp_millis())
                    .bind(live.ends_at.map(|e| e.timestamp_millis()))
                    .bind(i64::from(live.countdown_seconds.unwrap_or_default()))
                    .execute(&mut *tx)
                    .await?;
                }
                for (position, custodian) in (0_i64..).zip(&t.committee.custodians) {
                    sqlx::query("INSERT INTO trade_custodians (trade_id, position, identity_id) VALUES ($1, $2, $3)")
                        .bind(&trade.id)
                        .bind(position)
                        .bind(custodian)
                        .execute(&mut *tx)
                        .await?;
                }
                let seq = self.append_in(&mut tx, &event).await?;
                self.commit(tx).await?;
                Ok(seq)
            }

            async fn trade(
                &self,
                id: &str,
            ) -> $crate::store::Result<Option<$crate::domain::trade::Trade>> {
                let row: Option<$crate::store::rows::TradeRow> = sqlx::query_as(concat!(
                    $crate::store::sql::TRADE_SELECT!(),
                    " WHERE id = $1"
                ))
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
                match row {
                    Some(row) => Ok(self.load_trades(vec![row]).await?.pop()),
                    None => Ok(None),
                }
            }

            async fn trades(
                &self,
                ids: &[&str],
            ) -> $crate::store::Result<Vec<$crate::domain::trade::Trade>> {
                let mut rows: Vec<$crate::store::rows::TradeRow> = Vec::with_capacity(ids.len());
                for chunk in ids.chunks(500) {
                    rows.extend(
                        $crate::store::sql::where_in::<$db>(
                            concat!($crate::store::sql::TRADE_SELECT!(), " WHERE id IN "),
                            chunk,
                            "",
                        )
                        .build_query_as::<$crate::store::rows::TradeRow>()
                        .fetch_all(&self.pool)
                        .await?,
                    );
                }
                self.load_trades(rows).await
            }

            async fn list_trades(
                &self,
                q: &$crate::store::TradeQuery,
            ) -> $crate::store::Result<Vec<$crate::domain::trade::Trade>> {
                let (after_at, after_id) = match &q.after {
                    Some((at, id)) => (Some(*at), Some(id.clone())),
                    None => (None, None),
                };
                let region_like = q.region_prefix.as_ref().map(|p| format!("{p}%"));
                let rows: Vec<$crate::store::rows::TradeRow> = sqlx::query_as(concat!(
                    $crate::store::sql::TRADE_SELECT!(),
                    " WHERE ($1 OR status <> 'draft')",
                    " AND ($2 IS NULL OR kind = $2)",
                    " AND ($3 IS NULL OR status = $3)",
                    " AND ($4 IS NULL OR region_code LIKE $4)",
                    " AND ($5 IS NULL OR created_at < $5 OR (created_at = $5 AND id < $6))",
                    " AND ($8 IS NULL OR published_at >= $8)",
                    " AND ($9 IS NULL OR published_at < $9)",
                    " AND ($10 IS NULL OR COALESCE((SELECT l.starts_at FROM trade_live_terms l WHERE l.trade_id = trades.id), bid_deadline) >= $10)",
                    " AND ($11 IS NULL OR COALESCE((SELECT l.starts_at FROM trade_live_terms l WHERE l.trade_id = trades.id), bid_deadline) < $11)",
                    " ORDER BY created_at DESC, id DESC LIMIT $7"
                ))
                .bind(q.include_drafts)
                .bind(q.kind.as_deref())
                .bind(q.status.as_deref())
                .bind(region_like)
                .bind(after_at)
                .bind(after_id)
                .bind(q.limit)
                .bind(q.published_from)
                .bind(q.published_to)
                .bind(q.opening_from)
                .bind(q.opening_to)
                .fetch_all(&self.pool)
                .await?;
                self.load_trades(rows).await
            }

            async fn publish_trade(
                &self,
                id: &str,
                at: chrono::DateTime<chrono::Utc>,
                terms: &[String],
                event: $crate::domain::event::NewEvent,
            ) -> $crate::store::Result<i64> {
                let mut tx = self.begin_write().await?;
                let done = sqlx::query("UPDATE trades SET status = 'published', published_at = $1 WHERE id = $2 AND status = 'draft'")
                    .bind(at.timestamp_millis())
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                if done.rows_affected() == 0 {
                    return Err($crate::store::StoreError::Conflict("trade_not_draft".into()));
                }
                Self::insert_terms(&mut tx, id, at, terms).await?;
                let seq = self.append_in(&mut tx, &event).await?;
                self.commit(tx).await?;
                Ok(seq)
            }

            async fn add_document(
                &self,
                trade_id: &str,
                doc: &$crate::domain::trade::TradeDocument,
                content: &[u8],
                event: $crate::domain::event::NewEvent,
            ) -> $crate::store::Result<i64> {
                let mut tx = self.begin_write().await?;
                sqlx::query("INSERT INTO documents (sha256, size, content) VALUES ($1, $2, $3) ON CONFLICT (sha256) DO NOTHING")
                    .bind(&doc.sha256)
                    .bind(doc.size)
                    .bind(content.to_vec())
                    .execute(&mut *tx)
                    .await?;
                sqlx::query("INSERT INTO trade_documents (trade_id, name, sha256, media_type, size, added_at) VALUES ($1, $2, $3, $4, $5, $6)")
                    .bind(trade_id)
                    .bind(&doc.name)
                    .bind(&doc.sha256)
                    .bind(&doc.media_type)
                    .bind(doc.size)
                    .bind(doc.added_at.timestamp_millis())
                    .execute(&mut *tx)
                    .await?;
                let seq = self.append_in(&mut tx, &event).await?;
                self.commit(tx).await?;
                Ok(seq)
            }

            async fn trade_documents(
                &self,
                trade_id: &str,
            ) -> $crate::store::Result<Vec<$crate::domain::trade::TradeDocument>> {
                let rows: Vec<$crate::store::rows::DocumentRow> = sqlx::query_as(
                    "SELECT name, sha256, size, media_type, added_at FROM trade_documents WHERE trade_id = $1 ORDER BY added_at, name",
                )
                .bind(trade_id)
                .fetch_all(&self.pool)
                .await?;
                Ok(rows.into_iter().map(Into::into).collect())
            }

            async fn document(&self, sha256: &str, include_drafts: bool) -> $crate::store::Result<Option<(String, Vec<u8>)>> {
                Ok(sqlx::query_as(
                    // A version a change notice replaced stays downloadable.
                    "SELECT v.media_type, d.content FROM documents d JOIN \
                     (SELECT trade_id, sha256, media_type, added_at FROM trade_documents \
                      UNION ALL SELECT trade_id, previous_sha256, previous_media_type, 0 FROM changed_documents \
                      WHERE previous_sha256 IS NOT NULL) v ON v.sha256 = d.sha256 \
                     JOIN trades t ON t.id = v.trade_id \
                     WHERE d.sha256 = $1 AND ($2 OR t.status <> 'draft') ORDER BY v.added_at LIMIT 1",
                )
                .bind(sha256)
                .bind(include_drafts)
                .fetch_optional(&self.pool)
                .await?)
            }

            async fn ask_clarification(
                &self,
                c: &$crate::domain::trade::Clarification,
                asker_id: &str,
                question_salt: &[u8; 32],
                event: $crate::domain::event::NewEvent,
            ) -> $crate::store::Result<i64> {
                let mut tx = self.begin_write().await?;
                sqlx::query("INSERT INTO clarifications (id, trade_id, asker_id, question, question_salt, asked_at) VALUES ($1, $2, $3, $4, $5, $6)")
                    .bind(&c.id)
                    .bind(&c.trade_id)
                    .bind(asker_id)
                    .bind(&c.question)
                    .bind(question_salt.to_vec())
                    .bind(c.asked_at.timestamp_millis())
                    .execute(&mut *tx)
                    .await?;
                let seq = self.append_in(&mut tx, &event).await?;
                self.commit(tx).await?;
                Ok(seq)
            }

            async fn answer_clarification(
                &self,
                a: &$crate::store::ClarificationAnswer,
                events: Vec<$crate::domain::event::NewEvent>,
            ) -> $crate::store::Result<i64> {
                let mut tx = self.begin_write().await?;
                let done = sqlx::query("UPDATE clarifications SET answer = $1, answered_at = $2 WHERE id = $3 AND trade_id = $4 AND answer IS NULL")
                    .bind(&a.answer)
                    .bind(a.answered_at.timestamp_millis())
                    .bind(&a.clarification_id)
                    .bind(&a.trade_id)
                    .execute(&mut *tx)
                    .await?;
                if done.rows_affected() == 0 {
                    return Err($crate::store::StoreError::Conflict("clarification_already_answered".into()));
                }
                if let Some(deadline) = a.new_deadline {
                    sqlx::query("UPDATE trades SET bid_deadline = $1 WHERE id = $2")
                        .bind(deadline.timestamp_millis())
                        .bind(&a.trade_id)
                        .execute(&mut *tx)
                        .await?;
                }
                let mut last = 0;
                for event in &events {
                    last = self.append_in(&mut tx, event).await?;
                }
                self.commit(tx).await?;
                Ok(last)
            }

            async fn clarifications(
                &self,
                trade_id: &str,
            ) -> $crate::store::Result<Vec<$crate::domain::trade::Clarification>> {
                let rows: Vec<$crate::store::rows::ClarificationRow> = sqlx::query_as(
                    "SELECT id, trade_id, question, question_salt, asked_at, answer, answered_at FROM clarifications WHERE trade_id = $1 ORDER BY asked_at, id",
                )
                .bind(trade_id)
                .fetch_all(&self.pool)
                .await?;
                Ok(rows.into_iter().map(Into::into).collect())
            }

            async fn clarifications_asked_by(
                &self,
                asker_id: &str,
                limit: i64,
            ) -> $crate::store::Result<Vec<$crate::domain::trade::Clarification>> {
                let rows: Vec<$crate::store::rows::ClarificationRow> = sqlx::query_as(
                    "SELECT id, trade_id, question, question_salt, asked_at, answer, answered_at FROM clarifications WHERE asker_id = $1 ORDER BY asked_at DESC, id DESC LIMIT $2",
                )
                .bind(asker_id)
                .bind(limit)
                .fetch_all(&self.pool)
                .await?;
                Ok(rows.into_iter().map(Into::into).collect())
            }

            async fn clarification(
                &self,
                id: &str,
            ) -> $crate::store::Result<Option<($crate::domain::trade::Clarification, Vec<u8>)>> {
                let row: Option<$crate::store::rows::ClarificationRow> = sqlx::query_as(
                    "SELECT id, trade_id, question, question_salt, asked_at, answer, answered_at FROM clarifications WHERE id = $1",
                )
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
                Ok(row.map(|r| {
                    let salt = r.question_salt.clone();
                    (r.into(), salt)
                }))
            }

            async fn identity_certificate(&self, id: &str) -> $crate::store::Result<Option<Vec<u8>>> {
                let row: Option<(Vec<u8>,)> = sqlx::query_as("SELECT cert_der FROM identities WHERE id = $1")
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await?;
                Ok(row.map(|(der,)| der))
            }

            async fn register_custodian_key(
                &self,
                trade_id: &str,
                key: &$crate::domain::trade::CustodianKey,
                event: $crate::domain::event::NewEvent,
            ) -> $crate::store::Result<i64> {
                let mut tx = self.begin_write().await?;
                let (seq, at) = self.next_entry(&mut tx).await?;
                sqlx::query(
                    "INSERT INTO custodian_keys (trade_id, identity_id, public_key, key_id, signature, registered_at, seq, certificate) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                )
                .bind(trade_id)
                .bind(&key.custodian)
                .bind(key.public_key.clone())
                .bind(&key.key_id)
                .bind(key.signature.clone())
                .bind(key.registered_at.timestamp_millis())
                .bind(seq)
                .bind(key.certificate.clone())
                .execute(&mut *tx)
                .await?;
                self.append_at(&mut tx, &event, seq, at).await?;
                self.commit(tx).await?;
                Ok(seq)
            }

            async fn custodian_keys(
                &self,
                trade_id: &str,
            ) -> $crate::store::Result<Vec<$crate::domain::trade::CustodianKey>> {
                type Row = (String, String, Vec<u8>, Vec<u8>, i64, Vec<u8>, Option<i64>);
                let rows: Vec<Row> = sqlx::query_as(
                    "SELECT k.identity_id, k.key_id, k.public_key, k.signature, k.registered_at, COALESCE(k.certificate, i.cert_der), k.seq \
                     FROM custodian_keys k JOIN identities i ON i.id = k.identity_id \
                     WHERE k.trade_id = $1 ORDER BY k.registered_at, k.identity_id",
                )
                .bind(trade_id)
                .fetch_all(&self.pool)
                .await?;
                Ok(rows
                    .into_iter()
                    .map(|(custodian, key_id, public_key, signature, at, certificate, log_index)| $crate::domain::trade::CustodianKey {
                        custodian,
                        key_id,
                        public_key,
                        signature,
                        registered_at: $crate::domain::clock::from_millis(at),
                        certificate,
                        log_index,
                    })
                    .collect())
            }

            async fn submit_bids(
                &self,
                bids: &[$crate::store::NewBid],
            ) -> $crate::store::Result<Vec<$crate::store::Result<$crate::domain::trade::StoredBid>>> {
                use $crate::domain::clock::{from_millis, to_millis};
                /// Rows per multi-row statement (well under both backends' parameter limits).
                const ROWS: usize = 500;
                let mut tx = self.begin_write().await?;
                // Under the write lock nothing else appends: the batch numbers its entries
                // itself, reads each trade's deadline once, and writes each table with one
                // multi-row statement.
                let (mut seq, mut last_at) = self.next_entry(&mut tx).await?;
                let mut deadlines: std::collections::HashMap<&str, Option<(i64, String)>> =
                    std::collections::HashMap::new();
                let mut out = Vec::with_capacity(bids.len());
                let mut taken: Vec<(&$crate::store::NewBid, i64, i64)> = Vec::with_capacity(bids.len());
                for new in bids {
                    let trade_id = new.bid.trade_id.as_str();
                    let trade = match deadlines.get(trade_id) {
                        Some(t) => t.clone(),
                        None => {
                            let t: Option<(i64, String)> =
                                sqlx::query_as("SELECT bid_deadline, status FROM trades WHERE id = $1")
                                    .bind(trade_id)
                                    .fetch_optional(&mut *tx)
                                    .await?;
                            deadlines.insert(trade_id, t.clone());
                            t
                        }
                    };
                    // The receipt time is the log entry's time, taken under the log lock.
                    let at = to_millis(self.clock.now()).max(last_at);
                    if let Some(refusal) = $crate::store::sql::refuses_bids(&trade, at) {
                        out.push(Err($crate::store::StoreError::Conflict(refusal.into())));
                        continue;
                    }
                    taken.push((new, seq, at));
                    out.push(Ok($crate::domain::trade::StoredBid {
                        received_at: from_millis(at),
                        seq,
                        status: "active".into(),
                        ..new.bid.clone()
                    }));
                    seq += 1;
                    last_at = at;
                }
                for chunk in taken.chunks(ROWS) {
                    let entries: Vec<(&$crate::domain::event::NewEvent, i64, i64)> =
                        chunk.iter().map(|(new, seq, at)| (&new.event, *seq, *at)).collect();
                    self.write_entries(&mut tx, &entries).await?;
                    // Each bidder's earlier active bid is replaced, and within the batch only
                    // a bidder's last bid stays active.
                    let mut q = sqlx::QueryBuilder::<$db>::new(
                        "UPDATE bids SET status = 'replaced' WHERE status = 'active' AND (",
                    );
                    let mut or = q.separated(" OR ");
                    for (new, _, _) in chunk {
                        or.push("(trade_id = ")
                            .push_bind_unseparated(new.bid.trade_id.clone())
                            .push_unseparated(" AND bidder_id = ")
                            .push_bind_unseparated(new.bid.bidder_id.clone())
                            .push_unseparated(")");
                    }
                    q.push(")");
                    q.build().execute(&mut *tx).await?;
                    let mut q = sqlx::QueryBuilder::<$db>::new(
                        "INSERT INTO bids (id, trade_id, bidder_id, envelope_sha256, envelope_len, storage_path, salt, \
                         blinded_commitment, received_at, seq, status) ",
                    );
                    q.push_values(chunk.iter().enumerate(), |mut b, (i, (new, seq, at))| {
                        let later = chunk[i + 1..].iter().any(|(other, _, _)| {
                            other.bid.trade_id == new.bid.trade_id && other.bid.bidder_id == new.bid.bidder_id
                        });
                        b.push_bind(new.bid.id.clone())
                            .push_bind(new.bid.trade_id.clone())
                            .push_bind(new.bid.bidder_id.clone())
                            .push_bind(new.bid.envelope_sha256.clone())
                            .push_bind(new.bid.envelope_len)
                            .push_bind(new.bid.storage_path.clone())
                            .push_bind(new.bid.salt.to_vec())
                            .push_bind(new.bid.blinded_commitment.clone())
                            .push_bind(*at)
                            .push_bind(*seq)
                            .push_bind(if later { "replaced" } else { "active" });
                    });
                    q.build().execute(&mut *tx).await?;
                    let inline: Vec<_> = chunk.iter().filter(|(new, _, _)| new.envelope.is_some()).collect();
                    if !inline.is_empty() {
                        let mut q = sqlx::QueryBuilder::<$db>::new("INSERT INTO bid_envelopes (bid_id, envelope) ");
                        q.push_values(inline, |mut b, (new, _, _)| {
                            b.push_bind(new.bid.id.clone())
                                .push_bind(new.envelope.clone().unwrap_or_default());
                        });
                        q.build().execute(&mut *tx).await?;
                    }
                }
                self.commit(tx).await?;
                Ok(out)
            }

            async fn bid_envelope(&self, bid_id: &str) -> $crate::store::Result<Option<Vec<u8>>> {
                let row: Option<(Vec<u8>,)> = sqlx::query_as("SELECT envelope FROM bid_envelopes WHERE bid_id = $1")
                    .bind(bid_id)
                    .fetch_optional(&self.pool)
                    .await?;
                Ok(row.map(|(e,)| e))
            }

            async fn withdraw_bid(
                &self,
                trade_id: &str,
                bidder_id: &str,
                event: $crate::domain::event::NewEvent,
            ) -> $crate::store::Result<i64> {
                let mut tx = self.begin_write().await?;
                let (seq, _) = self.append_before_deadline(&mut tx, &event, trade_id).await?;
                let done = sqlx::query("UPDATE bids SET status = 'withdrawn' WHERE trade_id = $1 AND bidder_id = $2 AND status = 'active'")
                    .bind(trade_id)
                    .bind(bidder_id)
                    .execute(&mut *tx)
                    .await?;
                if done.rows_affected() == 0 {
                    return Err($crate::store::StoreError::Conflict("no_active_bid".into()));
                }
                self.commit(tx).await?;
                Ok(seq)
            }

            async fn active_bid(
                &self,
                trade_id: &str,
                bidder_id: &str,
            ) -> $crate::store::Result<Option<$crate::domain::trade::StoredBid>> {
                let row: Option<$crate::store::rows::BidRow> = sqlx::query_as(concat!(
                    $crate::store::sql::BID_SELECT!(),
                    " WHERE trade_id = $1 AND bidder_id = $2 AND status = 'active'"
                ))
                .bind(trade_id)
                .bind(bidder_id)
                .fetch_optional(&self.pool)
                .await?;
                row.map(TryInto::try_into).transpose()
            }

            async fn bids_of(
                &self,
                bidder_id: &str,
                limit: i64,
            ) -> $crate::store::Result<Vec<$crate::domain::trade::StoredBid>> {
                let rows: Vec<$crate::store::rows::BidRow> = sqlx::query_as(concat!(
                    $crate::store::sql::BID_SELECT!(),
                    " WHERE bidder_id = $1 AND status = 'active' ORDER BY seq DESC LIMIT $2"
                ))
                .bind(bidder_id)
                .bind(limit)
                .fetch_all(&self.pool)
                .await?;
                rows.into_iter().map(TryInto::try_into).collect()
            }

            async fn active_bids(
                &self,
                trade_id: &str,
            ) -> $crate::store::Result<Vec<$crate::domain::trade::StoredBid>> {
                let rows: Vec<$crate::store::rows::BidRow> = sqlx::query_as(concat!(
                    $crate::store::sql::BID_SELECT!(),
                    " WHERE trade_id = $1 AND status = 'active' ORDER BY seq"
                ))
                .bind(trade_id)
                .fetch_all(&self.pool)
                .await?;
                rows.into_iter().map(TryInto::try_into).collect()
            }

            async fn opening_extension(
                &self,
                trade_id: &str,
            ) -> $crate::store::Result<Option<chrono::DateTime<chrono::Utc>>> {
                let row: Option<(i64,)> = sqlx::query_as("SELECT ends_at FROM opening_windows WHERE trade_id = $1")
                    .bind(trade_id)
                    .fetch_optional(&self.pool)
                    .await?;
                Ok(row.map(|(at,)| $crate::domain::clock::from_millis(at)))
            }

            async fn opening_session(
                &self,
                trade_id: &str,
            ) -> $crate::store::Result<Option<$crate::store::OpeningSession>> {
                let row: Option<(String, String, String, i64)> = sqlx::query_as(
                    "SELECT key_id, instance_id, instance_url, started_at FROM opening_sessions WHERE trade_id = $1",
                )
                .bind(trade_id)
                .fetch_optional(&self.pool)
                .await?;
                Ok(row.map(|(key_id, instance_id, instance_url, at)| $crate::store::OpeningSession {
                    trade_id: trade_id.to_owned(),
                    key_id,
                    instance_id,
                    instance_url,
                    started_at: $crate::domain::clock::from_millis(at),
                }))
            }

            async fn start_opening_session(
                &self,
                session: &$crate::store::OpeningSession,
                replacing: Option<&str>,
                event: $crate::domain::event::NewEvent,
            ) -> $crate::store::Result<Option<i64>> {
                let mut tx = self.begin_write().await?;
                let current: Option<(String,)> =
                    sqlx::query_as("SELECT key_id FROM opening_sessions WHERE trade_id = $1")
                        .bind(&session.trade_id)
                        .fetch_optional(&mut *tx)
                        .await?;
                if current.map(|(k,)| k).as_deref() != replacing {
                    return Ok(None);
                }
                sqlx::query(
                    "INSERT INTO opening_sessions (trade_id, key_id, instance_id, instance_url, started_at) \
                     VALUES ($1, $2, $3, $4, $5) ON CONFLICT (trade_id) DO UPDATE SET key_id = excluded.key_id, \
                     instance_id = excluded.instance_id, instance_url = excluded.instance_url, started_at = excluded.started_at",
                )
                .bind(&session.trade_id)
                .bind(&session.key_id)
                .bind(&session.instance_id)
                .bind(&session.instance_url)
                .bind(session.started_at.timestamp_millis())
                .execute(&mut *tx)
                .await?;
                let seq = self.append_in(&mut tx, &event).await?;
                self.commit(tx).await?;
                Ok(Some(seq))
            }

            async fn extend_opening(
                &self,
                trade_id: &str,
                ends_at: chrono::DateTime<chrono::Utc>,
                event: $crate::domain::event::NewEvent,
            ) -> $crate::store::Result<i64> {
                let mut tx = self.begin_write().await?;
                let (status,): (String,) = sqlx::query_as("SELECT status FROM trades WHERE id = $1")
                    .bind(trade_id)
                    .fetch_one(&mut *tx)
                    .await?;
                if status != "published" {
                    return Err($crate::store::StoreError::Conflict("already_opened".into()));
                }
                sqlx::query(
                    "INSERT INTO opening_windows (trade_id, ends_at) VALUES ($1, $2) \
                     ON CONFLICT (trade_id) DO UPDATE SET ends_at = excluded.ends_at",
                )
                .bind(trade_id)
                .bind(ends_at.timestamp_millis())
                .execute(&mut *tx)
                .await?;
                let seq = self.append_in(&mut tx, &event).await?;
                self.commit(tx).await?;
                Ok(seq)
            }

            async fn record_opening(
                &self,
                trade_id: &str,
                opening: &$crate::store::StoredOpening,
                event: $crate::domain::event::NewEvent,
            ) -> $crate::store::Result<i64> {
                let mut tx = self.begin_write().await?;
                let moved = sqlx::query("UPDATE trades SET status = $2 WHERE id = $1 AND status = 'published'")
                    .bind(trade_id)
                    .bind(opening.outcome.as_str())
                    .execute(&mut *tx)
                    .await?;
                if moved.rows_affected() == 0 {
                    return Err($crate::store::StoreError::Conflict("already_opened".into()));
                }
                let seq = self.append_in(&mut tx, &event).await?;
                sqlx::query(
                    "INSERT INTO opening_records (trade_id, outcome, record, signature, key_id, seq, opened_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(trade_id)
                .bind(opening.outcome.as_str())
                .bind(opening.record.clone())
                .bind(opening.signature.clone())
                .bind(&opening.key_id)
                .bind(seq)
                .bind(opening.opened_at.timestamp_millis())
                .execute(&mut *tx)
                .await?;
                self.commit(tx).await?;
                Ok(seq)
            }

            async fn opening_record(
                &self,
                trade_id: &str,
            ) -> $crate::store::Result<Option<$crate::store::StoredOpening>> {
                let row: Option<(String, Vec<u8>, Vec<u8>, String, i64, i64)> = sqlx::query_as(
                    "SELECT outcome, record, signature, key_id, seq, opened_at FROM opening_records WHERE trade_id = $1",
                )
                .bind(trade_id)
                .fetch_optional(&self.pool)
                .await?;
                row.map(|(outcome, record, signature, key_id, seq, at)| {
                    Ok($crate::store::StoredOpening {
                        outcome: $crate::domain::trade::TradeStatus::parse(&outcome)
                            .ok_or_else(|| $crate::store::StoreError::Other("stored opening outcome is unknown".into()))?,
                        record,
                        signature,
                        key_id,
                        seq,
                        opened_at: $crate::domain::clock::from_millis(at),
                    })
                })
                .transpose()
            }

            async fn last_entry_at(&self) -> $crate::store::Result<Option<chrono::DateTime<chrono::Utc>>> {
                let (at,): (Option<i64>,) =
                    sqlx::query_as("SELECT at FROM events WHERE seq = (SELECT MAX(seq) FROM events)")
                        .fetch_optional(&self.pool)
                        .await?
                        .unwrap_or((None,));
                Ok(at.map($crate::domain::clock::from_millis))
            }

            async fn tree_size(&self) -> $crate::store::Result<u64> {
                let (last,): (Option<i64>,) = sqlx::query_as("SELECT MAX(idx) FROM log_nodes WHERE level = 0")
                    .fetch_one(&self.pool)
                    .await?;
                Ok(last.map_or(0, |i| u64::try_from(i + 1).unwrap_or(0)))
            }

            fn gate(&self) -> &$crate::store::LogGate {
                &self.gate
            }

            async fn log_size(&self) -> $crate::store::Result<u64> {
                let (size,): (Option<i64>,) = sqlx::query_as("SELECT MAX(seq) FROM events")
                    .fetch_one(&self.pool)
                    .await?;
                Ok(u64::try_from(size.unwrap_or(0)).unwrap_or(0))
            }

            async fn log_nodes(
                &self,
                ids: &[$crate::domain::merkle::NodeId],
            ) -> $crate::store::Result<std::collections::HashMap<$crate::domain::merkle::NodeId, $crate::domain::merkle::Hash>> {
                // One row per query: the hashes come back as one aggregated string, so
                // a proof costs one result hand-off from the driver, not one per node.
                let aggregate = if <$db as sqlx::Database>::NAME == "PostgreSQL" {
                    "SELECT string_agg(level || ',' || idx || ',' || encode(hash, 'hex'), ';') FROM log_nodes WHERE "
                } else {
                    "SELECT group_concat(level || ',' || idx || ',' || hex(hash), ';') FROM log_nodes WHERE "
                };
                let mut out = std::collections::HashMap::with_capacity(ids.len());
                for chunk in ids.chunks(500) {
                    let mut q = sqlx::QueryBuilder::<$db>::new(aggregate);
                    let mut or = q.separated(" OR ");
                    for id in chunk {
                        or.push("(level = ")
                            .push_bind_unseparated(id.level as i32)
                            .push_unseparated(" AND idx = ")
                            .push_bind_unseparated(id.index as i64)
                            .push_unseparated(")");
                    }
                    let (rows,): (Option<String>,) = q.build_query_as().fetch_one(&self.pool).await?;
                    for row in rows.iter().flat_map(|rows| rows.split(';')) {
                        let (id, hash) = $crate::store::rows::log_node(row)
                            .ok_or_else(|| $crate::store::StoreError::Other("a stored log node is malformed".into()))?;
                        out.insert(id, hash);
                    }
                }
                Ok(out)
            }

            async fn log_nodes_from(
                &self,
                from: $crate::domain::merkle::NodeId,
                limit: i64,
            ) -> $crate::store::Result<Vec<($crate::domain::merkle::NodeId, $crate::domain::merkle::Hash)>> {
                let rows: Vec<(i32, i64, Vec<u8>)> = sqlx::query_as(
                    "SELECT level, idx, hash FROM log_nodes WHERE (level = $1 AND idx >= $2) OR level > $1 \
                     ORDER BY level, idx LIMIT $3",
                )
                .bind(from.level as i32)
                .bind(from.index as i64)
                .bind(limit)
                .fetch_all(&self.pool)
                .await?;
                rows.into_iter()
                    .map(|(level, idx, hash)| {
                        let id = $crate::domain::merkle::NodeId {
                            level: u32::try_from(level).ok()?,
                            index: u64::try_from(idx).ok()?,
                        };
                        Some((id, <$crate::domain::merkle::Hash>::try_from(hash.as_slice()).ok()?))
                    })
                    .collect::<Option<Vec<_>>>()
                    .ok_or_else(|| $crate::store::StoreError::Other("a stored log node is malformed".into()))
            }

            async fn append(&self, event: $crate::domain::event::NewEvent) -> $crate::store::Result<i64> {
                let mut tx = self.begin_write().await?;
                let seq = self.append_in(&mut tx, &event).await?;
                self.commit(tx).await?;
                Ok(seq)
            }

            async fn audit(
                &self,
                seq: i64,
            ) -> $crate::store::Result<Option<($crate::domain::event::Audit, Vec<u8>)>> {
                let row: Option<(Vec<u8>, Option<String>, Option<String>, Option<String>)> = sqlx::query_as(
                    "SELECT salt, actor, client_addr, request_id FROM event_audit WHERE seq = $1",
                )
                .bind(seq)
                .fetch_optional(&self.pool)
                .await?;
                Ok(row.map(|(salt, actor, client_addr, request_id)| {
                    ($crate::domain::event::Audit { actor, client_addr, request_id }, salt)
                }))
            }

            async fn private_parts(
                &self,
                after: i64,
                upto: i64,
            ) -> $crate::store::Result<std::collections::BTreeMap<i64, $crate::domain::event::EntryPrivate>> {
                use $crate::domain::event::{Audit, EntryPrivate};
                let audits: Vec<(i64, Option<String>, Option<String>, Option<String>)> = sqlx::query_as(
                    "SELECT seq, actor, client_addr, request_id FROM event_audit WHERE seq > $1 AND seq <= $2",
                )
                .bind(after)
                .bind(upto)
                .fetch_all(&self.pool)
                .await?;
                let mut out = std::collections::BTreeMap::new();
                for (seq, actor, client_addr, request_id) in audits {
                    out.insert(seq, EntryPrivate {
                        audit: Audit { actor, client_addr, request_id },
                        sealed: Vec::new(),
                    });
                }
                let sealed: Vec<(i64, String, Vec<u8>)> = sqlx::query_as(
                    "SELECT seq, name, data FROM event_sealed WHERE seq > $1 AND seq <= $2 ORDER BY seq, name",
                )
                .bind(after)
                .bind(upto)
                .fetch_all(&self.pool)
                .await?;
                for (seq, name, data) in sealed {
                    out.entry(seq).or_insert_with(EntryPrivate::default).sealed.push((name, data));
                }
                Ok(out)
            }

            async fn append_batch(
                &self,
                events: &[$crate::domain::event::NewEvent],
            ) -> $crate::store::Result<Vec<i64>> {
                use $crate::domain::clock::to_millis;
                let mut tx = self.begin_write().await?;
                let (first, last_at) = self.next_entry(&mut tx).await?;
                let at = to_millis(self.clock.now()).max(last_at);
                let entries: Vec<(&$crate::domain::event::NewEvent, i64, i64)> = events
                    .iter()
                    .zip(first..)
                    .map(|(event, seq)| (event, seq, at))
                    .collect();
                self.write_entries(&mut tx, &entries).await?;
                self.commit(tx).await?;
                Ok(entries.iter().map(|(_, seq, _)| *seq).collect())
            }

            fn appended(&self) -> tokio::sync::watch::Receiver<u64> {
                self.appended.subscribe()
            }

            async fn events_after(
                &self,
                after: i64,
                limit: i64,
            ) -> $crate::store::Result<Vec<$crate::domain::event::LoggedEvent>> {
                let rows: Vec<$crate::store::rows::EventRow> = sqlx::query_as(
                    "SELECT seq, at, kind, trade_id, entry FROM events WHERE seq > $1 ORDER BY seq LIMIT $2",
                )
                .bind(after)
                .bind(limit)
                .fetch_all(&self.pool)
                .await?;
                Ok(rows.into_iter().map(Into::into).collect())
            }

            async fn events_of_kinds(
                &self,
                after: i64,
                kinds: &[&'static str],
                limit: i64,
            ) -> $crate::store::Result<Vec<$crate::domain::event::LoggedEvent>> {
                let sql = format!(
                    "SELECT seq, at, kind, trade_id, entry FROM events WHERE seq > $1 AND kind IN ({}) ORDER BY seq LIMIT $2",
                    $crate::store::sql::kind_list(kinds)?
                );
                let rows: Vec<$crate::store::rows::EventRow> = sqlx::query_as(&sql)
                    .bind(after)
                    .bind(limit)
                    .fetch_all(&self.pool)
                    .await?;
                Ok(rows.into_iter().map(Into::into).collect())
            }

            async fn trade_events(
                &self,
                trade_id: &str,
            ) -> $crate::store::Result<Vec<$crate::domain::event::LoggedEvent>> {
                let rows: Vec<$crate::store::rows::EventRow> = sqlx::query_as(
                    "SELECT seq, at, kind, trade_id, entry FROM events WHERE trade_id = $1 ORDER BY seq",
                )
                .bind(trade_id)
                .fetch_all(&self.pool)
                .await?;
                Ok(rows.into_iter().map(Into::into).collect())
            }

            async fn trade_events_of_kinds(
                &self,
                trade_id: &str,
                kinds: &[&'static str],
            ) -> $crate::store::Result<Vec<$crate::domain::event::LoggedEvent>> {
                let sql = format!(
                    "SELECT seq, at, kind, trade_id, entry FROM events WHERE trade_id = $1 AND kind IN ({}) ORDER BY seq",
                    $crate::store::sql::kind_list(kinds)?
                );
                let rows: Vec<$crate::store::rows::EventRow> = sqlx::query_as(&sql)
                    .bind(trade_id)
                    .fetch_all(&self.pool)
                    .await?;
                Ok(rows.into_iter().map(Into::into).collect())
            }
        }
    };
}

/// `head (?, ?, …) tail` with each of `values` bound: a statement over a set of ids. An
/// empty set gives `IN (NULL)`, which matches nothing. Callers keep sets to 500 values.
pub(crate) fn where_in<'a, DB: sqlx::Database>(
    head: &str,
    values: &[&'a str],
    tail: &str,
) -> sqlx::QueryBuilder<'a, DB>
where
    &'a str: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
{
    let mut q = sqlx::QueryBuilder::new(head);
    q.push("(");
    if values.is_empty() {
        q.push("NULL");
    }
    let mut list = q.separated(", ");
    for v in values {
        list.push_bind(*v);
    }
    q.push(")");
    q.push(tail);
    q
}

/// `'a', 'b'` for an SQL `IN` list of event kinds; kinds are constants of ours, and one
/// that is not `[a-z._]` is refused rather than quoted.
pub(crate) fn kind_list(kinds: &[&'static str]) -> crate::store::Result<String> {
    if kinds.is_empty()
        || kinds.iter().any(|k| {
            k.is_empty()
                || !k
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b == b'.' || b == b'_')
        })
    {
        return Err(crate::store::StoreError::Other(
            "event kinds are lowercase letters, dots and underscores".into(),
        ));
    }
    Ok(kinds
        .iter()
        .map(|k| format!("'{k}'"))
        .collect::<Vec<_>>()
        .join(", "))
}

/// Why a trade (its `bid_deadline` and `status` row, if it exists) does not take a bid
/// whose log entry is stamped `at`, as the code of a `Conflict`; `None` if it does.
/// 电子招标投标办法 第27条: late by one millisecond is late.
pub(crate) fn refuses_bids(trade: &Option<(i64, String)>, at: i64) -> Option<&'static str> {
    match trade {
        Some((_, status)) if status == "suspended" => Some("trade_suspended"),
        Some((_, status)) if status == "terminated" => Some("trade_terminated"),
        Some((deadline, status)) if status == "published" && at < *deadline => None,
        _ => Some("after_deadline"),
    }
}

/// Columns of an identity joined with its organisation (`IDENTITY_FROM!()`).
macro_rules! identity_columns {
    () => {
        "i.id, o.name, o.usci, i.role, i.status, i.cert_fingerprint, i.subject, i.region_code"
    };
}

/// An identity joined with its organisation.
macro_rules! identity_from {
    () => {
        "FROM identities i JOIN organizations o ON o.id = i.organization_id"
    };
}

/// Identities with their organisations: `IDENTITY_SELECT!()` then a `WHERE` clause.
macro_rules! identity_select {
    () => {
        concat!(
            "SELECT ",
            $crate::store::sql::IDENTITY_COLUMNS!(),
            " ",
            $crate::store::sql::IDENTITY_FROM!()
        )
    };
}

macro_rules! trade_select {
    () => {
        "SELECT id, kind, procedure, title, principal_name, principal_usci, estimated_value, currency, \
         region_code, bid_deadline, bond_amount, threshold, status, rulebook_version, rulebook_sha256, \
         time_scale, created_at, published_at, suspended_at, evaluation, retender_of, invited, previous_round, \
         announcement, suite FROM trades"
    };
}

macro_rules! bid_select {
    () => {
        "SELECT id, trade_id, bidder_id, envelope_sha256, envelope_len, storage_path, salt, blinded_commitment, \
         received_at, seq, status FROM bids"
    };
}

pub(crate) use bid_select as BID_SELECT;
pub(crate) use identity_columns as IDENTITY_COLUMNS;
pub(crate) use identity_from as IDENTITY_FROM;
pub(crate) use identity_select as IDENTITY_SELECT;
pub(crate) use impl_store;
pub(crate) use trade_select as TRADE_SELECT;
