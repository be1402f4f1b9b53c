//! A PostgreSQL database that exists for one bench run or test and is dropped after it,
//! even if the run panics.

use anyhow::Context as _;

pub struct ThrowawayPg {
    admin_url: String,
    name: String,
    /// The new database's URL.
    pub url: String,
}

impl ThrowawayPg {
    /// Creates a database with a random name on the server of `admin_url` (a database
    /// URL the user may `CREATE DATABASE` from).
    pub async fn create(admin_url: &str) -> anyhow::Result<Self> {
        use sqlx::Connection as _;
        let name = format!("tradehall_tmp_{}", uuid::Uuid::new_v4().simple());
        let mut conn = sqlx::PgConnection::connect(admin_url)
            .await
            .with_context(|| format!("connecting to PostgreSQL at {admin_url}"))?;
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut conn)
            .await
            .context("creating a throwaway database")?;
        let base = admin_url.rsplit_once('/').map_or(admin_url, |(b, _)| b);
        Ok(Self {
            url: format!("{base}/{name}"),
            admin_url: admin_url.to_owned(),
            name,
        })
    }
}

impl Drop for ThrowawayPg {
    fn drop(&mut self) {
        let admin_url = self.admin_url.clone();
        let name = self.name.clone();
        // Drop may run inside a runtime; use a thread with its own.
        let _ = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async {
                use sqlx::Connection as _;
                if let Ok(mut conn) = sqlx::PgConnection::connect(&admin_url).await {
                    let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .execute(&mut conn)
                        .await;
                }
            });
        })
        .join();
    }
}
