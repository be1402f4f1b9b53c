//! The `tradehall` binary: parse configuration, initialise tracing, run a subcommand.
#![forbid(unsafe_code)]

use anyhow::Context as _;
use clap::Parser;
use std::path::Path;
use std::sync::Arc;
use tracing_subscriber::EnvFilter;

use tradehall::config::{
    BenchCommand, BidCommand, BidderLogin, Cli, Command, CustodianCommand, ExpertCommand,
    KeyCommand, LogCommand, LogFormat, PkiCommand, ReceiptCommand, VerifyCommand,
};
use tradehall::domain::clock::SystemClock;

fn init_tracing(format: LogFormat) {
    let filter = EnvFilter::try_from_env("TRADEHALL_LOG")
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => builder.init(),
    }
}

/// Resolves on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! { () = ctrl_c => {}, () = terminate => {} }
    tracing::info!("shutting down: finishing requests in flight");
}

/// Binds `listen` and serves `router`, over HTTPS when a certificate and key are given.
async fn serve(
    listen: std::net::SocketAddr,
    tls: Option<(&Path, &Path)>,
    limits: tradehall::http::ConnectionLimits,
    router: axum::Router,
) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    let address = listener.local_addr()?;
    match tls {
        Some((cert, key)) => {
            tracing::info!(%address, "tradehall listening (HTTPS)");
            tradehall::http::serve_tls(listener, router, limits, cert, key, shutdown_signal())
                .await
                .with_context(|| format!("TLS with {} and {}", cert.display(), key.display()))?;
        }
        None => {
            tracing::info!(%address, "tradehall listening (HTTP)");
            tradehall::http::serve(listener, router, limits, shutdown_signal()).await?;
        }
    }
    Ok(())
}

/// The bidder's sign-in as the client library takes it.
fn credentials(login: &BidderLogin) -> tradehall::client::bid::Credentials<'_> {
    tradehall::client::bid::Credentials {
        server: &login.server,
        cert: &login.cert,
        key: &login.key,
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    init_tracing(cli.log_format);
    match cli.command {
        Command::Serve(args) => {
            tracing::info!(config = ?args, "starting");
            let (_, router) = tradehall::server::build(&args, Arc::new(SystemClock)).await?;
            let tls = args.tls_cert.as_deref().zip(args.tls_key.as_deref());
            serve(args.listen, tls, (&args.limits).into(), router).await
        }
        Command::Log(LogCommand::Verify {
            server,
            state,
            keys,
            receipts,
            full,
            sample,
            witness,
            witness_keys,
        }) => {
            use tradehall::client::witness::Again;
            let again = if full {
                Again::All
            } else {
                Again::Sample(sample)
            };
            let (v, thorough) = tradehall::client::witness::verify_thoroughly(
                &server,
                state.as_deref(),
                keys.as_deref(),
                &receipts,
                again,
                witness.as_deref().zip(witness_keys.as_deref()),
            )
            .await?;
            let checked = thorough.checked_again;
            println!(
                "log OK: {} entries (was {}), root {}",
                v.size,
                v.previous_size,
                hex::encode(v.root)
            );
            match again {
                Again::All => println!("re-hashed every entry again: {checked} entries"),
                Again::Sample(_) if v.previous_size > 0 => println!(
                    "checked {checked} entries seen before, at random, against the newest checkpoint"
                ),
                Again::Sample(_) => {}
            }
            if let (Some(name), Some(size)) = (&witness, thorough.cosigned) {
                println!("consistent with the checkpoint of {size} entries that {name} cosigned");
            }
            for r in &v.receipts {
                println!("receipt OK: log index {} is in the log", r);
            }
            Ok(())
        }
        Command::Quote {
            trade,
            amount,
            client_quote_id,
            login,
        } => {
            let amount = tradehall::domain::money::Money::parse_yuan(&amount)?;
            let id = client_quote_id.unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
            let answer =
                tradehall::client::quote::quote(&credentials(&login), &trade, amount, &id).await?;
            println!("{}", serde_json::to_string_pretty(&answer)?);
            Ok(())
        }
        Command::Verify(VerifyCommand::Draw {
            server,
            trade,
            keys,
            cert,
            key,
        }) => {
            let credentials = match (&cert, &key) {
                (Some(cert), Some(key)) => Some(tradehall::client::bid::Credentials {
                    server: &server,
                    cert,
                    key,
                }),
                _ => None,
            };
            let verified = tradehall::client::draw::verify(
                &server,
                &trade,
                keys.as_deref(),
                credentials.as_ref(),
            )
            .await?;
            println!(
                "log OK: {} entries; seed = root of the first {} (ends with the opening)",
                verified.log_size, verified.seed_size
            );
            println!(
                "draw OK: commitment, pool digest and rerun agree; experts {}",
                verified.experts.join(", ")
            );
            Ok(())
        }
        Command::Reserve {
            trade,
            price,
            login,
        } => {
            let price = tradehall::domain::money::Money::parse_yuan(&price)?;
            let answer =
                tradehall::client::reserve::seal_and_submit(&credentials(&login), &trade, price)
                    .await?;
            println!("{}", serde_json::to_string_pretty(&answer)?);
            Ok(())
        }
        Command::Expert(command) => {
            let answer = match command {
                ExpertCommand::Score {
                    trade,
                    sheet,
                    login,
                } => {
                    tradehall::client::expert::submit_sheet(&credentials(&login), &trade, &sheet)
                        .await?
                }
                ExpertCommand::Report { trade, login } => {
                    tradehall::client::expert::report(&credentials(&login), &trade).await?
                }
                ExpertCommand::SignReport {
                    trade,
                    sha256,
                    dissent,
                    login,
                } => {
                    tradehall::client::expert::sign_report(
                        &credentials(&login),
                        &trade,
                        &sha256,
                        dissent.as_deref(),
                    )
                    .await?
                }
            };
            println!("{}", serde_json::to_string_pretty(&answer)?);
            Ok(())
        }
        Command::Archive { trade, out, login } => {
            let bytes = tradehall::client::archive::download(&credentials(&login), &trade).await?;
            std::fs::write(&out, &bytes).with_context(|| format!("writing {}", out.display()))?;
            println!(
                "archive of trade {trade}: {} ({} bytes)",
                out.display(),
                bytes.len()
            );
            Ok(())
        }
        Command::Verify(VerifyCommand::Archive { file, keys }) => {
            let meta =
                std::fs::metadata(&file).with_context(|| format!("reading {}", file.display()))?;
            if meta.len() > tradehall::client::archive::MAX_ARCHIVE_BYTES {
                anyhow::bail!("{} is larger than an archive can be", file.display());
            }
            let bytes = std::fs::read(&file)?;
            let trusted = match &keys {
                Some(path) => Some(tradehall::client::archive::load_keys(path)?),
                None => None,
            };
            let verified = tradehall::client::archive::verify(&bytes, trusted)?;
            for check in &verified.checks {
                println!("ok: {check}");
            }
            println!(
                "archive OK: trade {}, {} log entries, {} documents",
                verified.trade, verified.entries, verified.documents
            );
            Ok(())
        }
        Command::Replay {
            server,
            trade,
            keys,
        } => {
            let (replayed, log) =
                tradehall::client::replay::replay(&server, &trade, keys.as_deref()).await?;
            println!(
                "log OK: {} entries, root {}",
                log.size,
                hex::encode(log.root)
            );
            println!(
                "replay OK: {} period ends and {} quotes reproduce the log",
                replayed.periods, replayed.quotes
            );
            match replayed.result {
                Some(result) => println!("result: {}", serde_json::to_string(&result)?),
                None => println!("result: the sale has not closed"),
            }
            Ok(())
        }
        Command::Bench(bench) => {
            let report = match bench {
                BenchCommand::Auction(o) => {
                    serde_json::to_value(tradehall::bench::auction::run(&o).await?)?
                }
                BenchCommand::Feed(o) => {
                    serde_json::to_value(tradehall::bench::feed::run(&o).await?)?
                }
                BenchCommand::FeedSubscribers(o) => {
                    tradehall::bench::feed::subscribers(&o).await?;
                    return Ok(());
                }
                BenchCommand::Log(o) => {
                    serde_json::to_value(tradehall::bench::log::run(&o).await?)?
                }
                BenchCommand::Crypto(o) => {
                    serde_json::to_value(tradehall::bench::primitives::run(&o)?)?
                }
                BenchCommand::Intake(o) => {
                    serde_json::to_value(tradehall::bench::intake::run(&o).await?)?
                }
                BenchCommand::Cluster(o) => {
                    serde_json::to_value(tradehall::bench::cluster::run(&o).await?)?
                }
                BenchCommand::Opening(o) => {
                    serde_json::to_value(tradehall::bench::opening::run(&o).await?)?
                }
                BenchCommand::LargeFile(o) => {
                    serde_json::to_value(tradehall::bench::large::run(&o).await?)?
                }
                BenchCommand::OpenData(o) => {
                    serde_json::to_value(tradehall::bench::open_data::run(&o).await?)?
                }
            };
            println!("{}", serde_json::to_string_pretty(&report)?);
            Ok(())
        }
        Command::Demo(args) => {
            let prepared = tradehall::demo::prepare(&args).await?;
            let server = format!("http://{}", args.listen);
            print!(
                "{}",
                tradehall::demo::tour::text(&args, &prepared.trades, &server)
            );
            if args.setup_only {
                return Ok(());
            }
            if !args.manual {
                if !prepared.seeded {
                    println!("[demo] resuming the story where it was");
                }
                let cast = tradehall::demo::cast(&args, &prepared, server);
                tokio::spawn(tradehall::demo::play(cast, prepared.trades.clone()));
            }
            serve(args.listen, None, prepared.limits, prepared.router).await
        }
        Command::Custodian(CustodianCommand::Keygen { custodian: c }) => {
            let keystore = c.keystore();
            let passphrase = tradehall::client::custodian::passphrase(true)?;
            let key_id = tradehall::client::custodian::keygen(
                &c.server,
                &c.trade,
                &c.cert,
                &c.key,
                &keystore,
                &passphrase,
            )
            .await?;
            println!(
                "registered custodian key {key_id} for trade {}; private key in {}",
                c.trade,
                keystore.display()
            );
            Ok(())
        }
        Command::Custodian(CustodianCommand::ExportKey { keystore, out }) => {
            use std::io::Write as _;
            use std::os::unix::fs::OpenOptionsExt as _;
            let passphrase = tradehall::client::custodian::passphrase(false)?;
            let (key_id, secret, _) = tradehall::client::keystore::open(&keystore, &passphrase)?;
            let Some(pem) = secret.to_pkcs8_pem() else {
                anyhow::bail!(
                    "custodian key {key_id} is an SM2 key (suite 2): a browser cannot import it; \
                     open with `tradehall custodian open` instead"
                );
            };
            let mut file = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&out)
                .map_err(|e| anyhow::anyhow!("{}: {e}", out.display()))?;
            file.write_all(pem.as_bytes())?;
            file.sync_all()?;
            println!("wrote the private key of custodian key {key_id} to {} (mode 0600); delete it after the opening", out.display());
            Ok(())
        }
        Command::Custodian(CustodianCommand::Open {
            custodian: c,
            platform_keys,
        }) => {
            let passphrase = tradehall::client::custodian::passphrase(false)?;
            let outcome = tradehall::client::custodian::open(
                &c.server,
                &c.trade,
                &c.cert,
                &c.key,
                &c.keystore(),
                &passphrase,
                platform_keys.as_deref(),
            )
            .await?;
            println!(
                "opened {} of {} key shares and contributed them ({} of {} contributions)",
                outcome.opened,
                outcome.shares,
                outcome.answer["contributions"],
                outcome.answer["threshold"]
            );
            if !outcome.answer["opening"].is_null() {
                println!(
                    "the opening is complete:\n{}",
                    serde_json::to_string_pretty(&outcome.answer["opening"])?
                );
            }
            Ok(())
        }
        Command::Bid(BidCommand::Seal {
            trade,
            price,
            lots,
            files,
            cert,
            key,
            server,
            out,
            trust_ca,
        }) => {
            let price = tradehall::domain::money::Money::parse_yuan(&price)?;
            let options = tradehall::client::bid::SealOptions {
                trust_ca,
                server,
                trade,
                price,
                lots,
                files,
                cert,
                key,
                out,
            };
            let sealed = tradehall::client::bid::seal(&options).await?;
            println!(
                "sealed {} ({} bytes); commitment {}",
                options.out.display(),
                sealed.len,
                hex::encode(sealed.commitment)
            );
            Ok(())
        }
        Command::Bid(BidCommand::Submit {
            envelope,
            login,
            receipt,
        }) => {
            let receipt_path = receipt.unwrap_or_else(|| {
                let mut p = envelope.clone().into_os_string();
                p.push(".receipt.json");
                p.into()
            });
            let r = tradehall::client::bid::submit(&credentials(&login), &envelope, &receipt_path)
                .await?;
            println!(
                "bid received {} at log index {}; receipt verified and saved to {}",
                r.received_at,
                r.log_index,
                receipt_path.display()
            );
            Ok(())
        }
        Command::Bid(BidCommand::Withdraw { trade, login }) => {
            tradehall::client::bid::withdraw(&credentials(&login), &trade).await?;
            println!("bid withdrawn from trade {trade}");
            Ok(())
        }
        Command::Bid(BidCommand::Status { trade, login }) => {
            let receipt = tradehall::client::bid::status(&credentials(&login), &trade).await?;
            println!("{}", serde_json::to_string_pretty(&receipt)?);
            Ok(())
        }
        Command::Receipt(ReceiptCommand::Verify {
            receipt,
            keys,
            server,
            envelope,
        }) => {
            use tradehall::client::receipt::{verify, KeySource};
            let source = match (&keys, &server) {
                (Some(path), _) => KeySource::File(path),
                (None, Some(url)) => KeySource::Server(url),
                (None, None) => anyhow::bail!("give --keys FILE or --server URL"),
            };
            let r = verify(&receipt, source, envelope.as_deref()).await?;
            println!(
                "receipt OK: envelope {} for trade {} received {} at log index {}, signed by platform key {}",
                r.envelope_sha256, r.trade, r.received_at, r.log_index, r.key_id
            );
            if r.inclusion.is_some() {
                println!("log inclusion OK: the entry is in the receipt's signed checkpoint");
            }
            Ok(())
        }
        Command::Key(KeyCommand::Rotate { key_dir }) => {
            let new = tradehall::crypto::platform_key::PlatformKey::rotate(&key_dir)?;
            println!("new platform key {}; the old one stays published for verification. Restart the servers.", new.key_id);
            Ok(())
        }
        Command::Pki(PkiCommand::Init { dir, force }) => {
            print!("{}", tradehall::client::pki::init(&dir, force)?);
            Ok(())
        }
        Command::Pki(PkiCommand::Issue {
            dir,
            name,
            role,
            organization,
            usci,
            region,
            ca,
            server,
        }) => {
            let request = tradehall::client::pki::IssueRequest {
                name,
                role,
                organization,
                usci,
                region,
                ca,
                server,
            };
            print!("{}", tradehall::client::pki::issue(&dir, &request).await?);
            Ok(())
        }
    }
}
