//! `tradehall pki …`: the DEV ONLY PKI on a developer's machine. `init` writes one;
//! `issue` adds an identity of any role with the PKI's kept root keys and, given a
//! server, registers it there and has the PKI's administrator grant its role.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::Context as _;
use base64::Engine as _;
use serde_json::{json, Value};

use super::session::{body_of, read_credentials, refused_code, Session};
use crate::crypto::digest::random_bytes;
use crate::crypto::pki::{self, DevIdentity, NewDevIdentity};
use crate::domain::identity::Role;
use crate::domain::region::RegionCode;
use crate::domain::usci::Usci;

/// `tradehall pki init DIR`: writes the DEV ONLY PKI and describes what it wrote.
pub fn init(dir: &Path, force: bool) -> anyhow::Result<String> {
    let layout = pki::init_dev_pki(dir, chrono::Utc::now(), force)?;
    let mut out = format!(
        "DEV ONLY PKI written to {} — never trust it in production\n",
        dir.display()
    );
    for (name, ca, crl) in &layout.cas {
        let _ = writeln!(out, "  CA {name}: {} (CRL {})", ca.display(), crl.display());
    }
    for i in &layout.identities {
        let _ = writeln!(
            out,
            "  {:<12} {:<15} {} {}",
            i.name, i.role, i.usci, i.organization
        );
    }
    Ok(out)
}

/// What `tradehall pki issue` is asked for.
#[derive(Debug, Clone)]
pub struct IssueRequest {
    pub name: String,
    pub role: Role,
    pub organization: String,
    /// The whole 统一社会信用代码, or None to make one in `region`.
    pub usci: Option<Usci>,
    /// Where the organisation is; a supervisor supervises this division.
    pub region: RegionCode,
    pub ca: String,
    /// Register the identity there and have its role granted.
    pub server: Option<String>,
}

/// A made-up 统一社会信用代码 in `region` with a valid check digit (GB 32100-2015): the
/// registering authority and kind from the role (9 1 an enterprise, 1 1 an organ of
/// state, 1 2 a public institution), the region, a random organisation code.
pub fn made_up_usci(role: Role, region: &RegionCode) -> anyhow::Result<Usci> {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
    let kind = match role {
        Role::Bidder => "91",
        Role::Supervisor => "11",
        _ => "12",
    };
    let code: String = random_bytes::<9>()
        .iter()
        .map(|b| char::from(ALPHABET[usize::from(*b) % ALPHABET.len()]))
        .collect();
    Ok(Usci::complete(&format!("{kind}{}{code}", region.as_str()))?)
}

/// `tradehall pki issue DIR …`: issues the identity into the PKI at `dir` and, with a
/// server, registers and grants it; describes what it did.
pub async fn issue(dir: &Path, request: &IssueRequest) -> anyhow::Result<String> {
    let usci = match &request.usci {
        Some(usci) => usci.clone(),
        None => made_up_usci(request.role, &request.region)?,
    };
    let issued = pki::issue_dev_identity(
        dir,
        &NewDevIdentity {
            name: request.name.clone(),
            role: request.role,
            organization: request.organization.clone(),
            usci,
            ca: request.ca.clone(),
        },
        chrono::Utc::now(),
    )?;
    // The files as the user names them: under the directory they gave.
    let shown = |file: &str| dir.join(&issued.name).join(file);
    let mut out = format!(
        "DEV ONLY identity {} ({}), {} {}, issued by {}\n  certificate {}\n  key         {}\n",
        issued.name,
        issued.role,
        issued.organization,
        issued.usci,
        issued.ca,
        shown("cert.pem").display(),
        shown("key.pem").display(),
    );
    if let Some(server) = &request.server {
        let layout = pki::load_dev_pki(dir)?;
        let identity = register(server, &issued, request.role).await?;
        let id = identity["id"].as_str().unwrap_or_default().to_owned();
        let _ = writeln!(out, "  registered at {server} as identity {id}");
        if request.role.needs_grant() && request.role != Role::Admin {
            let admin = layout
                .identities
                .iter()
                .find(|i| i.role == Role::Admin.as_str())
                .context("the PKI has no administrator to grant the role")?;
            let session = admin_session(server, admin).await?;
            let mut grant = json!({ "role": request.role.as_str() });
            if request.role == Role::Supervisor {
                grant["region"] = json!(request.region.as_str());
            }
            session
                .post(&format!("/api/v1/identities/{id}/grant"), &grant)
                .await
                .context("granting the role")?;
            let _ = writeln!(
                out,
                "  granted {} by the administrator{}",
                request.role.as_str(),
                if request.role == Role::Supervisor {
                    format!(" for region {}", request.region.as_str())
                } else {
                    String::new()
                }
            );
        }
    }
    Ok(out)
}

/// A session of the PKI's administrator, registering it first on a server that has not
/// seen it yet.
async fn admin_session(server: &str, admin: &DevIdentity) -> anyhow::Result<Session> {
    let (cert, signer) = read_credentials(&admin.cert_path, &admin.key_path)?;
    match Session::login(server, &cert, &signer).await {
        Err(e) if refused_code(&e) == Some("identity_not_registered") => {
            register(server, admin, Role::Admin).await.context(
                "registering the PKI's administrator (is it the server's --admin-cert?)",
            )?;
            Ok(Session::login(server, &cert, &signer).await?)
        }
        other => other.context("signing in as the PKI's administrator"),
    }
}

/// Registers `who` at `server` in `role` (challenge, signature, registration).
async fn register(server: &str, who: &DevIdentity, role: Role) -> anyhow::Result<Value> {
    let (cert_pem, signer) = read_credentials(&who.cert_path, &who.key_path)?;
    let http = reqwest::Client::new();
    let base = server.trim_end_matches('/');
    let challenge = body_of(
        http.post(format!("{base}/api/v1/auth/challenge"))
            .send()
            .await
            .context("cannot reach the server")?,
    )
    .await?;
    let nonce = challenge["nonce"]
        .as_str()
        .context("no nonce in the challenge")?;
    let message = crate::crypto::signer::auth_message("register", nonce);
    let body = json!({
        "proof": {
            "certificate_chain": cert_pem,
            "nonce": nonce,
            "signature": base64::engine::general_purpose::STANDARD.encode(signer.sign(message.as_bytes())?),
        },
        "organization": { "name": who.organization, "usci": who.usci.as_str() },
        "role": role.as_str(),
    });
    body_of(
        http.post(format!("{base}/api/v1/registrations"))
            .json(&body)
            .send()
            .await?,
    )
    .await
    .context("registering")
}
