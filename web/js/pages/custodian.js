// A custodian's part of the opening, in the browser (docs/protocol.md, "What the custodian
// does"): the per-trade X25519 key file is read into WebCrypto here and never sent; the
// page checks the platform's signature on the one-time opening key, opens each bid's key
// share, seals the shares to the opening key, signs the contribution with the custodian's
// certificate key and posts it.
import { useEffect, useState } from 'preact/hooks';
import { html } from '../html.js';
import { api } from '../api.js';
import { t } from '../i18n.js';
import { currentSession, sessionSigner, importPrivateKey, pemBlock, SignInError } from '../session.js';
import { hpkeOpenBase, hpkeSealBase, signDer } from '../seal.js';
import { ed25519Verify, sha256, base64ToBytes } from '../verify.js';
import { bytesToBase64 as base64, bytesToHex, concat, u32, utf8 } from '../bytes.js';

const zero = Uint8Array.of(0);

/** The per-trade key (PKCS#8 X25519 PEM) and its public half, checked against `keyId`. */
async function custodianKey(pem, keyId) {
  const der = pemBlock(pem, 'PRIVATE KEY');
  if (!der) throw new Error(t('custodian.key_malformed'));
  let jwk;
  try {
    const extractable = await crypto.subtle.importKey('pkcs8', der, { name: 'X25519' }, true, ['deriveBits']);
    jwk = await crypto.subtle.exportKey('jwk', extractable);
  } catch {
    throw new Error(t('custodian.key_malformed'));
  }
  const publicKey = base64ToBytes(jwk.x.replace(/-/g, '+').replace(/_/g, '/').padEnd(44, '='));
  if (bytesToHex(await sha256(publicKey)) !== keyId) throw new Error(t('custodian.key_mismatch'));
  const privateKey = await crypto.subtle.importKey('pkcs8', der, { name: 'X25519' }, false, ['deriveBits']);
  return { privateKey, publicKey };
}

/** Opens the caller's shares and posts its contribution. Returns the server's answer. */
export async function contribute({ trade, token, keyPem, signingKey }) {
  const bundle = await api(`/api/v1/trades/${trade}/opening/shares`, { token });
  const opening = bundle.opening_key;
  const openingKey = base64ToBytes(opening.public_key);
  if (openingKey.length !== 32 || bytesToHex(await sha256(openingKey)) !== opening.key_id) {
    throw new Error(t('custodian.opening_key_invalid'));
  }
  const { keys } = await api('/api/v1/platform/keys');
  const platform = keys.find((k) => k.key_id === opening.platform_key_id);
  const signed = concat(utf8.encode('tradehall-opening-key-v1'), zero, utf8.encode(trade), zero, openingKey);
  if (!platform || !(await ed25519Verify(platform.public_key, signed, base64ToBytes(opening.signature)))) {
    throw new Error(t('custodian.opening_key_invalid'));
  }
  const own = await custodianKey(keyPem, bundle.custodian_key);

  // The contribution plaintext: one entry per share, opened or not.
  const entries = [];
  let opened = 0;
  for (const share of bundle.shares) {
    const info = concat(utf8.encode('tradehall-bid-share-v1'), zero, utf8.encode(trade), zero, utf8.encode(bundle.custodian_key), zero, utf8.encode(share.bidder_certificate));
    let plain = null;
    try {
      plain = await hpkeOpenBase(own.privateKey, own.publicKey, base64ToBytes(share.enc), info, base64ToBytes(share.ct));
    } catch {
      plain = null;
    }
    const ok = plain !== null && plain.length === 33;
    if (ok) opened += 1;
    const bid = utf8.encode(share.bid);
    entries.push(concat(Uint8Array.of(bid.length), bid, Uint8Array.of(ok ? 1 : 0), ok ? plain : new Uint8Array(33)));
  }
  const count = bundle.shares.length;
  const plaintext = concat(u32(count), ...entries);
  const info = concat(utf8.encode('tradehall-opening-contribution-v1'), zero, utf8.encode(trade), zero, utf8.encode(bundle.custodian_key), zero, utf8.encode(opening.key_id));
  const { enc, ct } = await hpkeSealBase(openingKey, info, plaintext);
  entries.forEach((e) => e.fill(0));
  plaintext.fill(0);
  const message = concat(utf8.encode('tradehall-contribution-v1'), zero, utf8.encode(trade), zero, utf8.encode(opening.key_id), zero, utf8.encode(bytesToHex(await sha256(ct))));
  const signature = await signDer(signingKey, message);
  const answer = await api(`/api/v1/trades/${trade}/opening/contributions`, {
    method: 'POST',
    token,
    body: { opening_key: opening.key_id, enc: base64(enc), ct: base64(ct), signature: base64(signature) },
  });
  return { answer, opened, shares: count };
}

export function CustodianPage({ id }) {
  const session = currentSession();
  const [trade, setTrade] = useState(null);
  const [busy, setBusy] = useState(false);
  const [outcome, setOutcome] = useState(null);
  useEffect(() => {
    api(`/api/v1/trades/${id}`).then(setTrade).catch((e) => setOutcome({ ok: false, text: () => e.message }));
  }, [id]);
  if (!session) return html`<section><p><a href=${`#/signin?next=/trades/${id}/custodian`}>${t('signin.title')}</a></p></section>`;
  if (session.identity.role !== 'custodian') return html`<section><p class="notice error">${t('custodian.only')}</p></section>`;
  const submit = async (e) => {
    e.preventDefault();
    const form = e.currentTarget;
    setBusy(true);
    setOutcome(null);
    try {
      let signer = sessionSigner();
      if (!signer) {
        const file = form.elements.identity?.files?.[0];
        if (!file) throw new Error(t('bid.key_required'));
        signer = await importPrivateKey(await file.text());
      }
      const keyFile = form.elements.tradekey.files?.[0];
      if (!keyFile) throw new Error(t('custodian.key_required'));
      const done = await contribute({ trade: id, token: session.token, keyPem: await keyFile.text(), signingKey: signer.key });
      setOutcome({ ok: true, text: () => t('custodian.done', { opened: done.opened, shares: done.shares, n: done.answer.contributions, k: done.answer.threshold }) });
    } catch (err) {
      setOutcome({ ok: false, text: () => (err instanceof SignInError ? t(`signin.${err.code}`) : `${err.message}${err.code ? ` (${err.code})` : ''}`) });
    } finally {
      setBusy(false);
    }
  };
  return html`<section class="narrow wide">
    <p><a href=${`#/trades/${id}/opening`}>← ${t('hall.title')}</a></p>
    <h1>${t('custodian.title')}</h1>
    ${trade ? html`<p class="muted" lang="zh-CN">${trade.title}</p>` : null}
    ${(trade?.committee?.suite ?? 1) !== 1
      ? html`<div class="notice" role="status" data-testid="suite-cli">
          <p><strong>${t('custodian.suite_cli_title')}</strong></p>
          <p class="small">${t('custodian.suite_cli')} <code>tradehall custodian open</code></p>
        </div>`
      : html`<p class="muted small">${t('custodian.intro')}</p>
    <form onSubmit=${submit} data-testid="custodian-form">
      <div class="field"><label for="custodian-key">${t('custodian.key')}</label>
        <input id="custodian-key" name="tradekey" type="file" accept=".pem,.key" required />
        <p class="small muted">${t('signin.key_stays')}</p></div>
      ${sessionSigner()
        ? null
        : html`<div class="field"><label for="custodian-identity">${t('signin.key')}</label><input id="custodian-identity" name="identity" type="file" accept=".pem,.key" required /></div>`}
      <button type="submit" class="primary" disabled=${busy}>${busy ? t('loading') : t('custodian.submit')}</button>
    </form>`}
    ${outcome ? html`<p class=${outcome.ok ? 'notice ok' : 'notice error'} role="status" data-testid="custodian-outcome">${outcome.ok ? '✓ ' : '✗ '}${outcome.text()}</p>` : null}
  </section>`;
}
