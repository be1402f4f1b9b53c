//! Command-line and environment configuration (clap). Secrets are redacted in `Debug`.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;

/// tradehall — public-resource e-trading platform (公共资源交易平台).
#[derive(Debug, Parser)]
#[command(name = "tradehall", version, about, long_about = None)]
pub struct Cli {
    /// Log format on stderr.
    #[arg(long, env = "TRADEHALL_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text, global = true)]
    pub log_format: LogFormat,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

// Parsed once at start-up: the size of the largest variant does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the platform server.
    Serve(ServeArgs),
    /// Run a self-contained demo: a dev PKI, SQLite, demo organisations and one trade of
    /// each kind, played to the end by automatic participants while you watch.
    Demo(DemoArgs),
    /// Certificate tooling.
    #[command(subcommand)]
    Pki(PkiCommand),
    /// What an opening custodian runs on their own machine.
    #[command(subcommand)]
    Custodian(CustodianCommand),
    /// What a bidder runs on their own machine.
    #[command(subcommand)]
    Bid(BidCommand),
    /// The platform signing key.
    #[command(subcommand)]
    Key(KeyCommand),
    /// Bid receipts.
    #[command(subcommand)]
    Receipt(ReceiptCommand),
    /// The transparency log.
    #[command(subcommand)]
    Log(LogCommand),
    /// Independent checks of what the platform did.
    #[command(subcommand)]
    Verify(VerifyCommand),
    /// Quote in a live sale (a bidder with a bidder number). Prints the server's answer
    /// as JSON: whether the quote became best, the next minimum and the countdown.
    Quote {
        /// Trade id.
        #[arg(long)]
        trade: String,
        /// The amount in yuan, e.g. 360,500,000.00 (a whole multiple of the increment).
        #[arg(long)]
        amount: String,
        /// Your id for this quote: sending it again returns the first answer instead of
        /// quoting twice (default: a new random id).
        #[arg(long)]
        client_quote_id: Option<String>,
        #[command(flatten)]
        login: BidderLogin,
    },
    /// Seal a live sale's reserve price (底价) to the trade's opening committee on this
    /// machine and hand it to the server (the trading centre, before the sale starts;
    /// sealing again replaces it until then). The committee opens it when quoting ends:
    /// a best quote below it fails the sale (流拍). Prints the server's answer as JSON.
    Reserve {
        /// Trade id (a live sale whose procedure seals its reserve).
        #[arg(long)]
        trade: String,
        /// The reserve price in yuan, e.g. 380,000,000.00.
        #[arg(long)]
        price: String,
        #[command(flatten)]
        login: BidderLogin,
    },
    /// An expert of a trade's evaluation committee: read the report, sign and submit a
    /// score sheet, sign the report (docs/protocol.md "Evaluation"). Signing happens on
    /// this machine.
    #[command(subcommand)]
    Expert(ExpertCommand),
    /// Download a trade's archive (一项一档): every document, the opening record, the
    /// evaluation, the result and contract, and every log entry of the trade with its
    /// inclusion proof in one signed checkpoint (the trading centre or a supervisor of
    /// the trade's region). Check it with `tradehall verify archive`.
    Archive {
        /// Trade id.
        #[arg(long)]
        trade: String,
        /// Where to write the tar file.
        #[arg(long, default_value = "trade.tar")]
        out: PathBuf,
        #[command(flatten)]
        login: BidderLogin,
    },
    /// Re-run a live sale from the transparency log: verify the log against its signed
    /// checkpoint, replay the sale's period ends and quotes through the quoting engine,
    /// and check the result against the log and the server. Exits non-zero and names the
    /// entry where anything differs.
    Replay {
        /// Server URL.
        #[arg(long, env = "TRADEHALL_SERVER")]
        server: String,
        /// The trade (a live sale) to replay.
        #[arg(long)]
        trade: String,
        /// A saved copy of GET /api/v1/platform/keys (default: fetch it from the server).
        #[arg(long)]
        keys: Option<PathBuf>,
    },
    /// Measure the speed and memory targets (docs/benchmarks.md). Each bench runs its own
    /// throwaway server on SQLite in a temporary directory.
    #[command(subcommand)]
    Bench(BenchCommand),
}

#[derive(Debug, Subcommand)]
pub enum ExpertCommand {
    /// Sign a score sheet (JSON: {"v": 1, "trade": ID, "bids": [{"log_index", "pass",
    /// "reason"?, "scores"?}]}) with your certificate key and submit it, once. Prints
    /// the server's acknowledgement.
    Score {
        /// Trade id.
        #[arg(long)]
        trade: String,
        /// The sheet (JSON file).
        #[arg(long)]
        sheet: PathBuf,
        #[command(flatten)]
        login: BidderLogin,
    },
    /// Print the evaluation report and its SHA-256 (once every sheet is in).
    Report {
        /// Trade id.
        #[arg(long)]
        trade: String,
        #[command(flatten)]
        login: BidderLogin,
    },
    /// Sign the report you read (its SHA-256 from `tradehall expert report`), with your
    /// dissent if you disagree, and submit the signature, once.
    SignReport {
        /// Trade id.
        #[arg(long)]
        trade: String,
        /// The report's SHA-256 as you read it; refused if the server's differs.
        #[arg(long)]
        sha256: String,
        /// Your dissent and its reasons (实施条例 第53条).
        #[arg(long)]
        dissent: Option<String>,
        #[command(flatten)]
        login: BidderLogin,
    },
}

#[derive(Debug, Subcommand)]
pub enum VerifyCommand {
    /// Rerun a trade's expert draw: verify the log against its signed checkpoint,
    /// recompute the seed (the root of the log up to the opening), check the draw's log
    /// entry, its commitment and the pool digest, and draw again. Exits non-zero and says
    /// what differs. Until the result the pool is sealed: a supervisor of the trade's
    /// region or the trading centre passes --cert and --key.
    Draw {
        /// Server URL.
        #[arg(long, env = "TRADEHALL_SERVER")]
        server: String,
        /// The trade whose draw to verify.
        #[arg(long)]
        trade: String,
        /// A saved copy of GET /api/v1/platform/keys (default: fetch it from the server).
        #[arg(long)]
        keys: Option<PathBuf>,
        /// Your certificate (PEM), to see the sealed pool and result.
        #[arg(long, requires = "key")]
        cert: Option<PathBuf>,
        /// The certificate's private key.
        #[arg(long, requires = "cert")]
        key: Option<PathBuf>,
    },
    /// Check a trade archive offline: the platform's signature over its manifest and
    /// every file's digest, every log entry's inclusion in the signed checkpoint, the
    /// documents against the announcement, the opening record and every bid against
    /// their logged commitments, the draw, sheets and report against theirs (with the
    /// experts' signatures), and the award and contract against the log. Exits non-zero
    /// and says what does not verify.
    Archive {
        /// The archive (tar) from `tradehall archive`.
        file: PathBuf,
        /// A saved copy of GET /api/v1/platform/keys to trust (default: the keys in the
        /// archive; compare their ids with the published ones).
        #[arg(long)]
        keys: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub enum LogCommand {
    /// Witness the log: check the newest signed checkpoint, that it extends the last one
    /// seen (kept in --state), and that the entries not seen before hash to its root; then
    /// look again at entries seen before (a random sample, or all with --full), which a
    /// state file alone would take on trust. Exits non-zero and says what broke if
    /// anything does not verify.
    Verify {
        /// Server URL.
        #[arg(long, env = "TRADEHALL_SERVER")]
        server: String,
        /// Where the witness keeps the last verified size, root and frontier. Without it,
        /// every run re-hashes the whole log.
        #[arg(long)]
        state: Option<PathBuf>,
        /// A saved copy of GET /api/v1/platform/keys (default: fetch it from the server).
        #[arg(long)]
        keys: Option<PathBuf>,
        /// A bid receipt whose log entry must be in the newest checkpoint, and whose own
        /// checkpoint that one must extend. Repeat for several receipts.
        #[arg(long = "receipt", value_name = "FILE")]
        receipts: Vec<PathBuf>,
        /// Re-hash every entry, the ones seen before too, against the newest checkpoint.
        #[arg(long)]
        full: bool,
        /// How many entries seen before (below the state's size) to check at random,
        /// each against the newest checkpoint with its inclusion proof.
        #[arg(long, default_value_t = 32)]
        sample: usize,
        /// A witness of the log (its log origin, e.g. the region's platform): the log must
        /// be consistent with the newest checkpoint it cosigned, as the platform publishes
        /// it (GET /api/v1/log/cosignatures). Needs --witness-keys.
        #[arg(long, requires = "witness_keys")]
        witness: Option<String>,
        /// The witness's published keys (its GET /api/v1/platform/keys, saved).
        #[arg(long, requires = "witness")]
        witness_keys: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// WebSocket subscribers of the live feed while events are logged at a fixed rate:
    /// delivery latency p50/p99, messages/s, gaps, and memory of each side.
    Feed(crate::bench::feed::FeedOptions),
    /// One hot auction: bidders quoting over HTTP and watchers in its live room; quotes
    /// per second, acknowledgement and broadcast latency, memory, and the single-writer
    /// ceiling in the same run. `--postgres URL` runs it on PostgreSQL.
    Auction(crate::bench::auction::AuctionOptions),
    /// The transparency log at size: appends/s into the Merkle log, memory as it grows,
    /// and inclusion and consistency proofs served per second.
    Log(crate::bench::log::LogOptions),
    /// The subscriber side of `bench feed`, run by it as a child process.
    #[command(hide = true)]
    FeedSubscribers(crate::bench::feed::SubscriberOptions),
    /// The primitives of the two envelope suites on one core each, in the same run: SM2
    /// against ECDSA P-256 signing and verifying, SM4-GCM against AES-256-GCM, SM3
    /// against SHA-256, and a custodian's share opening (SM2 against HPKE X25519).
    Crypto(crate::bench::primitives::CryptoOptions),
    /// Sealed bids submitted over HTTP by concurrent clients: accepted bids/s, latency
    /// p50/p99, peak memory, and the per-bid cryptography ceiling in the same run.
    Intake(crate::bench::intake::IntakeOptions),
    /// One, two and three instances on one PostgreSQL database in the same run: intake
    /// bids/s and acknowledgement latency, and each bid's delivery on every instance's
    /// feed, with the throughput ratio to one instance.
    Cluster(crate::bench::cluster::ClusterOptions),
    /// Bids opened by a 2-of-3 committee, deadline to signed record including the
    /// custodians' work, against the raw decrypt-and-verify ceiling.
    Opening(crate::bench::opening::OpeningOptions),
    /// One bid with a large attachment sealed and submitted by the CLI (separate
    /// processes): throughput and peak memory of client and server.
    LargeFile(crate::bench::large::LargeOptions),
    /// Many published trades (100,000 by default): public search latency p50/p99 over a
    /// mix of queries, and the OCDS export of every release (time, releases/s, memory).
    /// `--postgres URL` runs it on PostgreSQL.
    OpenData(crate::bench::open_data::OpenDataOptions),
}

#[derive(Debug, Subcommand)]
pub enum ReceiptCommand {
    /// Check a bid receipt offline: the platform's signature (by key id), the blinded
    /// commitment, and with --envelope that it is that envelope's receipt.
    Verify {
        /// The receipt (JSON).
        receipt: PathBuf,
        /// A saved copy of GET /api/v1/platform/keys (offline verification).
        #[arg(long, conflicts_with = "server", required_unless_present = "server")]
        keys: Option<PathBuf>,
        /// Fetch the platform's keys from this server instead.
        #[arg(long)]
        server: Option<String>,
        /// The sealed envelope the receipt should be for.
        #[arg(long)]
        envelope: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub enum KeyCommand {
    /// Retire the platform signing key (its public half stays published, so old receipts
    /// and checkpoints still verify) and generate a new one; restart the servers after.
    Rotate {
        /// The platform key directory (as given to `serve --key-dir`).
        #[arg(long, env = "TRADEHALL_KEY_DIR")]
        key_dir: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub enum BidCommand {
    /// Seal a bid on this machine: sign the manifest, encrypt price, lots and files, and
    /// split the key among the trade's opening committee. Nothing is sent but a login.
    Seal {
        /// Trade id.
        #[arg(long)]
        trade: String,
        /// Price in yuan, e.g. 12345678.90 (stored exactly, in 分).
        #[arg(long)]
        price: String,
        /// Lot id; repeat for several. Default: the trade's only lot.
        #[arg(long = "lot")]
        lots: Vec<String>,
        /// A file to attach (any size; streamed); repeat for several.
        #[arg(long = "file")]
        files: Vec<PathBuf>,
        /// Your certificate (PEM chain, end-entity first).
        #[arg(long)]
        cert: PathBuf,
        /// The certificate's private key: a PKCS#8 file (PEM or DER; P-256 or SM2), or a
        /// key on a PKCS#11 token as `pkcs11:token=..;object=..?module-path=..` (PIN in
        /// TRADEHALL_PKCS11_PIN).
        #[arg(long)]
        key: PathBuf,
        /// Server URL, e.g. https://ggzy.example.cn
        #[arg(long, env = "TRADEHALL_SERVER")]
        server: String,
        /// Where to write the sealed envelope.
        #[arg(long, default_value = "bid.sealed")]
        out: PathBuf,
        /// A certification authority you recognise (PEM or DER), to check the opening
        /// committee's certificates against before sealing; repeat for several. Without
        /// it, the roots the platform publishes are used.
        #[arg(long = "trust-ca", value_name = "FILE")]
        trust_ca: Vec<PathBuf>,
    },
    /// Submit a sealed envelope (streamed) to the trade it names; the platform-signed
    /// receipt is checked and saved.
    Submit {
        /// The sealed envelope.
        envelope: PathBuf,
        #[command(flatten)]
        login: BidderLogin,
        /// Where to save the receipt (default: the envelope's path + .receipt.json).
        #[arg(long)]
        receipt: Option<PathBuf>,
    },
    /// Withdraw your bid before the deadline.
    Withdraw {
        /// Trade id.
        #[arg(long)]
        trade: String,
        #[command(flatten)]
        login: BidderLogin,
    },
    /// Show the receipt of your active bid.
    Status {
        /// Trade id.
        #[arg(long)]
        trade: String,
        #[command(flatten)]
        login: BidderLogin,
    },
}

/// How a bidder signs in.
#[derive(Debug, Clone, Args)]
pub struct BidderLogin {
    /// Your certificate (PEM chain, end-entity first).
    #[arg(long)]
    pub cert: PathBuf,
    /// The certificate's private key: a PKCS#8 file (PEM or DER; P-256 or SM2), or a key
    /// on a PKCS#11 token as `pkcs11:token=..;object=..?module-path=..` (PIN in
    /// TRADEHALL_PKCS11_PIN).
    #[arg(long)]
    pub key: PathBuf,
    /// Server URL, e.g. https://ggzy.example.cn
    #[arg(long, env = "TRADEHALL_SERVER")]
    pub server: String,
}

/// Who a custodian command acts as, for which trade, and where its key store is.
#[derive(Debug, Args)]
pub struct CustodianArgs {
    /// Trade id.
    #[arg(long)]
    pub trade: String,
    /// Server URL, e.g. https://ggzy.example.cn
    #[arg(long, env = "TRADEHALL_SERVER")]
    pub server: String,
    /// The custodian's certificate (PEM chain, end-entity first).
    #[arg(long)]
    pub cert: PathBuf,
    /// The certificate's private key: a PKCS#8 file (PEM or DER; P-256 or SM2), or a key
    /// on a PKCS#11 token as `pkcs11:token=..;object=..?module-path=..` (PIN in
    /// TRADEHALL_PKCS11_PIN).
    #[arg(long)]
    pub key: PathBuf,
    /// The per-trade key store: created by `keygen`, read by `open`
    /// (default: custodian-<trade>.key).
    #[arg(long)]
    pub keystore: Option<PathBuf>,
}

impl CustodianArgs {
    pub fn keystore(&self) -> PathBuf {
        self.keystore
            .clone()
            .unwrap_or_else(|| format!("custodian-{}.key", self.trade).into())
    }
}

#[derive(Debug, Subcommand)]
pub enum CustodianCommand {
    /// Generate this custodian's key pair for a trade, keep the private key in a
    /// passphrase-protected key store (never sent anywhere), and register the public key,
    /// signed with the custodian's certificate. The passphrase is read from
    /// TRADEHALL_KEYSTORE_PASSPHRASE or asked on the terminal.
    Keygen {
        #[command(flatten)]
        custodian: CustodianArgs,
    },
    /// At the opening (after the bid deadline): fetch this custodian's sealed key shares,
    /// open them locally with the key store, and return them sealed to the server's
    /// one-time opening key (checked against the platform's published keys). The k-th
    /// custodian to contribute completes the opening; its record is printed.
    Open {
        #[command(flatten)]
        custodian: CustodianArgs,
        /// A saved copy of GET /api/v1/platform/keys to check the opening key against
        /// (default: fetch it from the server).
        #[arg(long)]
        platform_keys: Option<PathBuf>,
    },
    /// Write the per-trade private key from the key store as an unencrypted PKCS#8 PEM
    /// file (mode 0600), for opening the shares in the web page's custodian form, where
    /// the browser reads it and it never leaves the machine. Keep it as carefully as the
    /// key store, and delete it after the opening.
    ExportKey {
        /// The per-trade key store (made by `keygen`).
        #[arg(long)]
        keystore: PathBuf,
        /// Where to write the PEM file (refused if it exists).
        #[arg(long)]
        out: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub enum PkiCommand {
    /// Write a DEV ONLY PKI: two root CAs (keeping their keys) with CRLs, and
    /// administrator, trading-centre, supervisor, custodian, expert and bidder identities
    /// with their keys. Never trust it in production.
    Init {
        /// Directory to write into (created if missing).
        dir: PathBuf,
        /// Overwrite an existing PKI in that directory.
        #[arg(long)]
        force: bool,
    },
    /// Issue one more DEV ONLY identity, of any role, with a root key the PKI kept (the
    /// demo's is demo-data/pki), and list it in its identities.json. With --server,
    /// also register it there and have the PKI's administrator grant its role.
    Issue {
        /// The PKI directory (written by `pki init` or the demo).
        dir: PathBuf,
        /// The identity's directory name under the PKI, e.g. expert-8 (a-z, 0-9, -, _).
        #[arg(long)]
        name: String,
        /// bidder, trading_centre, supervisor, custodian, expert or admin.
        #[arg(long, value_parser = parse_role)]
        role: crate::domain::identity::Role,
        /// The organisation's name, as in the certificate (e.g. 喀什地区发展和改革委员会).
        #[arg(long)]
        organization: String,
        /// The organisation's 统一社会信用代码 (18 characters, check digit checked).
        /// Without it, one is made up in --region with a valid check digit.
        #[arg(long, value_parser = parse_usci)]
        usci: Option<crate::domain::usci::Usci>,
        /// The 行政区划代码 of the organisation (six digits); a supervisor is granted
        /// this division.
        #[arg(long, default_value = "650000", value_parser = parse_region)]
        region: crate::domain::region::RegionCode,
        /// The issuing root: ca-a or ca-b.
        #[arg(long, default_value = "ca-a")]
        ca: String,
        /// Register the identity at this server (e.g. http://127.0.0.1:8080) and, for
        /// an officer role, grant it as the PKI's administrator (the server's
        /// --admin-cert).
        #[arg(long, env = "TRADEHALL_SERVER")]
        server: Option<String>,
    },
}

fn parse_role(s: &str) -> Result<crate::domain::identity::Role, String> {
    crate::domain::identity::Role::parse(s).ok_or_else(|| {
        format!(
            "{s:?} is not a role: bidder, trading_centre, supervisor, custodian, expert or admin"
        )
    })
}

fn parse_usci(s: &str) -> Result<crate::domain::usci::Usci, String> {
    crate::domain::usci::Usci::parse(s).map_err(|e| e.to_string())
}

fn parse_region(s: &str) -> Result<crate::domain::region::RegionCode, String> {
    crate::domain::region::RegionCode::parse(s).map_err(|e| e.0)
}

/// Whether development conveniences are allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Mode {
    /// Real trades only: no time acceleration, no DEV ONLY certificate authorities.
    Production,
    /// Allows accelerated demo trades and the generated DEV ONLY PKI; trades are marked.
    Demo,
}

#[derive(Clone, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "TRADEHALL_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Serve HTTPS with this certificate chain (PEM). Needs --tls-key. Without it the server
    /// speaks plain HTTP, for use behind a TLS-terminating reverse proxy.
    #[arg(long, env = "TRADEHALL_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// Private key (PEM, PKCS#8, SEC1 or PKCS#1) for --tls-cert.
    #[arg(long, env = "TRADEHALL_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Database URL: `sqlite:PATH` or `postgres://user@host/db`. Default: a SQLite file
    /// `tradehall.db` in the data directory.
    #[arg(long, env = "TRADEHALL_DATABASE_URL")]
    pub database_url: Option<String>,
    /// A PostgreSQL read replica of --database-url for the public read-heavy endpoints
    /// (trade listing and search, open data). They may lag the primary by the replica's
    /// delay (docs/operations.md); everything else reads the primary.
    #[arg(long, env = "TRADEHALL_READ_DATABASE_URL")]
    pub read_database_url: Option<String>,
    /// This instance's address as the other instances on the same database reach it,
    /// e.g. http://10.0.0.5:8080: a custodian's opening request that lands on another
    /// instance is forwarded here when this one holds the opening (docs/adr/0018).
    /// Default: http:// and the --listen address.
    #[arg(long, env = "TRADEHALL_INSTANCE_URL")]
    pub instance_url: Option<String>,
    /// Directory for the SQLite database and local state. With several instances on one
    /// PostgreSQL database, its `bids` directory (large envelopes) must be shared storage.
    #[arg(long, env = "TRADEHALL_DATA_DIR", default_value = "data")]
    pub data_dir: PathBuf,
    /// Directory of the platform signing key (Ed25519, generated on first start, mode
    /// 0600) and its retired public keys. Default: `keys` in the data directory. Every
    /// instance of one platform uses the same key.
    #[arg(long, env = "TRADEHALL_KEY_DIR")]
    pub key_dir: Option<PathBuf>,
    /// A recognised CA root certificate (PEM). Repeat for several CAs (mutual recognition).
    #[arg(long = "trust-ca", env = "TRADEHALL_TRUST_CA", value_delimiter = ',')]
    pub trust_ca: Vec<PathBuf>,
    /// A CRL (PEM or DER) for a recognised CA. Every CA needs one: certificates whose
    /// revocation status is unknown are refused.
    #[arg(long = "crl", env = "TRADEHALL_CRL", value_delimiter = ',')]
    pub crl: Vec<PathBuf>,
    /// Re-read the --trust-ca and --crl files this often (seconds; 0 = never), so fresh
    /// CRLs take effect without a restart.
    #[arg(long, env = "TRADEHALL_TRUST_RELOAD_SECONDS", default_value_t = 300)]
    pub trust_reload_seconds: u64,
    /// Hash every log entry again against the stored tree and the newest checkpoint
    /// signed, one pass this many seconds after the last ended (0 = only at start). On a
    /// disagreement the log halts (docs/operations.md, "The log halted").
    #[arg(long, env = "TRADEHALL_LOG_AUDIT_SECONDS", default_value_t = 60)]
    pub log_audit_seconds: u64,
    /// Certificate (PEM) of an administrator, who grants officer roles. Repeatable.
    #[arg(
        long = "admin-cert",
        env = "TRADEHALL_ADMIN_CERT",
        value_delimiter = ','
    )]
    pub admin_cert: Vec<PathBuf>,
    /// Rulebook file (TOML) replacing the built-in one.
    #[arg(long, env = "TRADEHALL_RULEBOOK")]
    pub rulebook: Option<PathBuf>,
    /// The region's unified rulebook (统一交易规则), as its platform publishes it at
    /// GET /api/v1/rulebook/source. A prefecture's --rulebook may only tighten it: a
    /// looser rule stops the server. Without --rulebook, the region's applies as it is.
    #[arg(long, env = "TRADEHALL_REGION_RULEBOOK")]
    pub region_rulebook: Option<PathBuf>,
    /// Platforms to follow (a region its prefectures): a TOML file of `[[platform]]`
    /// entries with `name`, `url` and `keys` (that platform's GET /api/v1/platform/keys,
    /// saved). Their logs are verified and mirrored; one that ever fails to verify stops
    /// its mirror with a `mirror.halted` entry on the feed (docs/adr/0019).
    #[arg(long, env = "TRADEHALL_FOLLOW")]
    pub follow: Option<PathBuf>,
    /// Witnesses of this platform's log (the region's platform, for a prefecture): a
    /// TOML file of `[[witness]]` entries with `name` (the witness's --log-origin) and
    /// `keys` (its GET /api/v1/platform/keys, saved). Their cosignatures of this log's
    /// checkpoints are taken at POST /api/v1/log/cosignatures and published.
    #[arg(long, env = "TRADEHALL_WITNESSES")]
    pub witnesses: Option<PathBuf>,
    /// Working-day calendar file (TOML) replacing the built-in one: public holidays and
    /// adjusted working days per year (see calendar/calendar.toml).
    #[arg(long, env = "TRADEHALL_CALENDAR")]
    pub calendar: Option<PathBuf>,
    /// Secrets the banks sign deposit and refund notifications with (TOML: a `[banks]`
    /// table of bank id = hex secret of at least 32 bytes). Without it, a demo server
    /// makes a DEV ONLY bank `DEVBANK` in `<data-dir>/dev-bank-secrets.toml`, and a
    /// production server refuses every notification.
    #[arg(long, env = "TRADEHALL_BANK_SECRETS")]
    pub bank_secrets: Option<PathBuf>,
    /// `production` or `demo`.
    #[arg(long, env = "TRADEHALL_MODE", value_enum, default_value_t = Mode::Production)]
    pub mode: Mode,
    /// Largest JSON request body in bytes (413 above).
    #[arg(long, env = "TRADEHALL_MAX_BODY_BYTES", default_value_t = 1024 * 1024)]
    pub max_body_bytes: usize,
    /// Largest tender document upload in bytes (413 above).
    #[arg(long, env = "TRADEHALL_MAX_DOCUMENT_BYTES", default_value_t = 64 * 1024 * 1024)]
    pub max_document_bytes: usize,
    /// Largest sealed-bid envelope in bytes (413 above). Envelopes stream to disk.
    #[arg(long, env = "TRADEHALL_MAX_ENVELOPE_BYTES", default_value_t = 4 * 1024 * 1024 * 1024)]
    pub max_envelope_bytes: u64,
    /// The transparency log's origin: the first line of every signed checkpoint and the
    /// signature's key name. Set it to this platform's host name and path, e.g.
    /// ggzy.example.cn/tradehall; every instance of one platform uses the same.
    #[arg(
        long,
        env = "TRADEHALL_LOG_ORIGIN",
        default_value = "tradehall.local/log"
    )]
    pub log_origin: String,
    /// The platform's public address, for links in open data (OCDS package and document
    /// URIs), e.g. https://ggzy.example.cn.
    #[arg(
        long,
        env = "TRADEHALL_PUBLIC_URL",
        default_value = "https://tradehall.local"
    )]
    pub public_url: String,
    /// The OCDS ocid prefix registered for this publisher (ocds- and six characters).
    #[arg(long, env = "TRADEHALL_OCDS_PREFIX", default_value = "ocds-th0dev")]
    pub ocds_prefix: String,
    /// The publisher named in OCDS packages.
    #[arg(
        long,
        env = "TRADEHALL_OCDS_PUBLISHER",
        default_value = "tradehall 公共资源交易平台"
    )]
    pub ocds_publisher: String,
    /// Directory of the web pages served at `/`.
    #[arg(long, env = "TRADEHALL_WEB_DIR", default_value = "web")]
    pub web_dir: PathBuf,
    /// Lifetime of a login token, in minutes.
    #[arg(long, env = "TRADEHALL_SESSION_MINUTES", default_value_t = 480)]
    pub session_minutes: i64,
    /// Lifetime of a login challenge nonce, in seconds.
    #[arg(long, env = "TRADEHALL_CHALLENGE_SECONDS", default_value_t = 120)]
    pub challenge_seconds: i64,
    #[command(flatten)]
    pub limits: LimitArgs,
}

/// Rate limits, connection limits and WebSocket caps against abuse (docs/security.md,
/// "Limits"). A rate is a number of requests per minute, any of which may come at once;
/// 0 turns that limit off. Rate limits are kept by each instance.
#[derive(Debug, Clone, Args)]
pub struct LimitArgs {
    /// Login attempts (challenge, login, registration) per minute from one client address.
    #[arg(long, env = "TRADEHALL_LOGIN_PER_ADDRESS", default_value_t = DEFAULT_LIMITS.login_per_address)]
    pub login_per_address: u32,
    /// Logins per minute with one certificate.
    #[arg(long, env = "TRADEHALL_LOGIN_PER_IDENTITY", default_value_t = DEFAULT_LIMITS.login_per_identity)]
    pub login_per_identity: u32,
    /// Bid submissions and withdrawals per minute from one client address.
    #[arg(long, env = "TRADEHALL_SUBMIT_PER_ADDRESS", default_value_t = DEFAULT_LIMITS.submit_per_address)]
    pub submit_per_address: u32,
    /// Bid submissions and withdrawals per minute by one identity.
    #[arg(long, env = "TRADEHALL_SUBMIT_PER_IDENTITY", default_value_t = DEFAULT_LIMITS.submit_per_identity)]
    pub submit_per_identity: u32,
    /// Quotes per minute from one client address.
    #[arg(long, env = "TRADEHALL_QUOTE_PER_ADDRESS", default_value_t = DEFAULT_LIMITS.quote_per_address)]
    pub quote_per_address: u32,
    /// Quotes per minute by one identity.
    #[arg(long, env = "TRADEHALL_QUOTE_PER_IDENTITY", default_value_t = DEFAULT_LIMITS.quote_per_identity)]
    pub quote_per_identity: u32,
    /// Other actions per minute by one identity that go into the permanent log: every
    /// write but logins, bids and quotes (questions, objections, applications, steps of
    /// an evaluation, …), and the logged reads (a bidder's document downloads, reads of
    /// alerts, applications, the expert pool, a draw or report before the award, the
    /// archive).
    #[arg(long, env = "TRADEHALL_LOGGED_PER_IDENTITY", default_value_t = DEFAULT_LIMITS.logged_per_identity)]
    pub logged_per_identity: u32,
    /// WebSocket subscriptions (feed and live rooms) open at once per identity, or per
    /// client address for anonymous ones.
    #[arg(long, env = "TRADEHALL_SUBSCRIBERS_PER_IDENTITY", default_value_t = DEFAULT_LIMITS.subscribers_per_identity)]
    pub subscribers_per_identity: u32,
    /// TCP connections open at once from one client address.
    #[arg(long, env = "TRADEHALL_CONNECTIONS_PER_ADDRESS", default_value_t = DEFAULT_LIMITS.connections_per_address)]
    pub connections_per_address: u32,
    /// Seconds a client may take to send a request's headers.
    #[arg(long, env = "TRADEHALL_HEADER_SECONDS", default_value_t = DEFAULT_LIMITS.header_seconds)]
    pub header_seconds: u64,
    /// Seconds a request body may go without sending a byte before it is cut off (a
    /// trickling upload holds nothing that honest bidders need, and not forever).
    #[arg(long, env = "TRADEHALL_BODY_IDLE_SECONDS", default_value_t = DEFAULT_LIMITS.body_idle_seconds)]
    pub body_idle_seconds: u64,
}

impl LimitArgs {
    /// No rate limits or caps, for benchmarks that drive thousands of clients from one
    /// address; the timeouts stay.
    pub fn unlimited() -> Self {
        Self {
            login_per_address: 0,
            login_per_identity: 0,
            submit_per_address: 0,
            submit_per_identity: 0,
            quote_per_address: 0,
            quote_per_identity: 0,
            logged_per_identity: 0,
            subscribers_per_identity: 0,
            connections_per_address: 0,
            ..DEFAULT_LIMITS
        }
    }
}

impl Default for LimitArgs {
    fn default() -> Self {
        DEFAULT_LIMITS
    }
}

/// The defaults of the command line.
pub const DEFAULT_LIMITS: LimitArgs = LimitArgs {
    login_per_address: 60,
    login_per_identity: 10,
    submit_per_address: 120,
    submit_per_identity: 20,
    quote_per_address: 1200,
    quote_per_identity: 120,
    logged_per_identity: 120,
    subscribers_per_identity: 16,
    connections_per_address: 256,
    header_seconds: 10,
    body_idle_seconds: 30,
};

impl ServeArgs {
    /// The platform key directory in effect.
    pub fn key_dir(&self) -> PathBuf {
        self.key_dir
            .clone()
            .unwrap_or_else(|| self.data_dir.join("keys"))
    }

    /// The database URL in effect.
    pub fn database_url(&self) -> String {
        self.database_url
            .clone()
            .unwrap_or_else(|| format!("sqlite:{}", self.data_dir.join("tradehall.db").display()))
    }

    /// Where the other instances reach this one.
    pub fn instance_url(&self) -> String {
        self.instance_url.clone().unwrap_or_else(|| {
            let scheme = if self.tls_cert.is_some() {
                "https"
            } else {
                "http"
            };
            format!("{scheme}://{}", self.listen)
        })
    }
}

/// `postgres://user:secret@host/db` → `postgres://user:***@host/db`.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

impl fmt::Debug for ServeArgs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServeArgs")
            .field("listen", &self.listen)
            .field("tls_cert", &self.tls_cert)
            .field(
                "database_url",
                &self.database_url.as_deref().map(redact_url),
            )
            .field(
                "read_database_url",
                &self.read_database_url.as_deref().map(redact_url),
            )
            .field("instance_url", &self.instance_url)
            .field("data_dir", &self.data_dir)
            .field("trust_ca", &self.trust_ca)
            .field("crl", &self.crl)
            .field("admin_cert", &self.admin_cert)
            .field("rulebook", &self.rulebook)
            .field("calendar", &self.calendar)
            .field("bank_secrets", &self.bank_secrets)
            .field("mode", &self.mode)
            .field("max_body_bytes", &self.max_body_bytes)
            .field("max_document_bytes", &self.max_document_bytes)
            .field("web_dir", &self.web_dir)
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, Args)]
pub struct DemoArgs {
    /// Address to listen on.
    #[arg(long, env = "TRADEHALL_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Directory for the demo's database and generated DEV ONLY PKI.
    #[arg(long, env = "TRADEHALL_DEMO_DIR", default_value = "demo-data")]
    pub data_dir: PathBuf,
    /// Run the demo on this database instead of SQLite in the data directory, e.g. a
    /// PostgreSQL database that several demo instances share (the first one seeds it).
    #[arg(long, env = "TRADEHALL_DATABASE_URL")]
    pub database_url: Option<String>,
    /// Witnesses of the demo platform's log (see `serve --witnesses`).
    #[arg(long, env = "TRADEHALL_WITNESSES")]
    pub witnesses: Option<PathBuf>,
    /// Directory of the web pages served at `/`.
    #[arg(long, env = "TRADEHALL_WEB_DIR", default_value = "web")]
    pub web_dir: PathBuf,
    /// Set up the demo, print what was created, and exit instead of serving.
    #[arg(long)]
    pub setup_only: bool,
    /// Do not run the demo's automatic participants (custodians, bidders, experts, the
    /// centre, the supervisor, the bank): play the trades by hand with the CLI and the
    /// pages (see the README walkthrough).
    #[arg(long, env = "TRADEHALL_DEMO_MANUAL")]
    pub manual: bool,
    /// The pause between two steps of the automatic participants, in milliseconds, so a
    /// person can follow them.
    #[arg(long, env = "TRADEHALL_DEMO_PACE_MS", default_value_t = 1500, value_parser = clap::value_parser!(u64).range(0..=60_000))]
    pub pace_ms: u64,
    /// Acceleration of the demo tender (2 to 86400): its deadline is 30 statutory days
    /// away, three minutes at the default 14400.
    #[arg(long, default_value_t = crate::demo::ROUND_TIME_SCALE, value_parser = clap::value_parser!(u32).range(2..=86_400))]
    pub tender_time_scale: u32,
    /// Acceleration of the demo's live sales (2 to 86400): a listing's 20 statutory days
    /// of announcement and 10 working days of listing last 90 s at the default 28800, the
    /// state asset's 20 working days of disclosure 60 s; their countdown is 15 s at that
    /// scale, shorter in proportion above it.
    #[arg(long, default_value_t = crate::demo::LISTING_TIME_SCALE, value_parser = clap::value_parser!(u32).range(2..=86_400))]
    pub listing_time_scale: u32,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_redacted_from_database_urls() {
        assert_eq!(
            redact_url("postgres://app:s3cret@db:5432/th"),
            "postgres://app:***@db:5432/th"
        );
        assert_eq!(redact_url("postgres://app@db/th"), "postgres://app@db/th");
        assert_eq!(redact_url("sqlite:data/x.db"), "sqlite:data/x.db");
    }
}
