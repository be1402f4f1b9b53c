// Sealing and submitting a bid from the browser. The price and files are encrypted here
// (web/js/seal.js) to the trade's opening committee; the server receives only the sealed
// envelope and answers with a receipt, which this page verifies before showing it.
import { useEffect, useState } from 'preact/hooks';
import { html } from '../html.js';
import { downloadJson } from '../download.js';
import { api, serverNow } from '../api.js';
import { t, formatInstant, formatMoney, formatBytes, formatCountdown } from '../i18n.js';
import { currentSession, sessionSigner, importPrivateKey, SignInError } from '../session.js';
import { sealBid } from '../seal.js';
import { checkCommittee } from '../committee.js';
import { verifyReceipt } from '../verify.js';

/** "1234.5" yuan → 123450 fen, exactly (no float); null when malformed. */
export function yuanToFen(text) {
  const match = /^\s*(\d{1,13})(?:\.(\d{1,2}))?\s*$/.exec(text);
  if (!match) return null;
  return Number(match[1]) * 100 + Number((match[2] ?? '').padEnd(2, '0'));
}

function Countdown({ until }) {
  const [now, setNow] = useState(serverNow());
  useEffect(() => {
    const timer = setInterval(() => setNow(serverNow()), 1000);
    return () => clearInterval(timer);
  }, []);
  const left = new Date(until) - now;
  return html`<span class="countdown" data-testid="countdown" aria-live="off">${left > 0 ? formatCountdown(left) : t('bid.closed')}</span>`;
}


/** What this browser found when it checked the committee's keys itself. */
function CommitteeCheck({ committee, error }) {
  if (error) {
    return html`<div class="notice error" role="alert" data-testid="committee-refused">
      <p><strong>${t('bid.committee_refused')}</strong></p>
      <p class="small">${error.code ? t(`committee.${error.code}`, { custodian: error.custodian ?? '', n: error.n ?? '' }) : error.message}</p>
      ${error.code === 'certificate' ? html`<p class="small muted">${error.message}</p>` : null}
    </div>`;
  }
  if (!committee) return html`<p class="muted small" data-testid="committee-checking">${t('bid.committee_checking')}</p>`;
  return html`<details class="small" data-testid="committee-checked">
    <summary>✓ ${t('bid.committee_checked', { n: committee.holders.length })}</summary>
    <ul>
      ${committee.holders.map(
        (h) => html`<li key=${h.custodian}>${h.name}${h.organization ? ` · ${h.organization}` : ''} — ${t('bid.committee_holder', { issuer: h.issuer, n: h.logIndex })}</li>`,
      )}
    </ul>
  </details>`;
}

export function BidPage({ id }) {
  const session = currentSession();
  const [trade, setTrade] = useState(null);
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const [receipt, setReceipt] = useState(null);
  // The committee as this browser checked it, or why it does not check out.
  const [committee, setCommittee] = useState(null);
  const [committeeError, setCommitteeError] = useState(null);
  useEffect(() => {
    api(`/api/v1/trades/${id}`)
      .then((loaded) => {
        setTrade(loaded);
        if (loaded.phase === 'bidding') return checkCommittee(loaded, api).then(setCommittee, setCommitteeError);
        return null;
      })
      .catch(setError);
  }, [id]);

  if (!session) return html`<section><p><a href=${`#/signin?next=/trades/${id}/bid`}>${t('signin.title')}</a></p></section>`;
  if (session.identity.role !== 'bidder') return html`<section><p class="notice error">${t('bid.bidders_only')}</p></section>`;
  if (!trade) return error ? html`<p class="notice error" role="alert">${error.message}</p>` : html`<p class="muted">${t('loading')}</p>`;

  const submit = async (e) => {
    e.preventDefault();
    const form = e.currentTarget;
    setError(null);
    setReceipt(null);
    const price = yuanToFen(form.elements.price.value);
    if (price === null || price <= 0) {
      setError(new Error(t('bid.price_invalid')));
      return;
    }
    const lots = trade.lots.length > 1 ? trade.lots.filter((l) => form.elements[`lot-${l.id}`]?.checked).map((l) => l.id) : trade.lots.map((l) => l.id);
    if (lots.length === 0) {
      setError(new Error(t('bid.lots_required')));
      return;
    }
    setBusy(true);
    try {
      let signer = sessionSigner();
      if (!signer) {
        const keyFile = form.elements.key?.files?.[0];
        if (!keyFile) throw new Error(t('bid.key_required'));
        signer = await importPrivateKey(await keyFile.text());
      }
      if (signer.curve !== 'P-256') throw new Error(t('bid.key_p256'));
      // Checked again now, on the trade as it is now: what is sealed to is what was checked.
      const current = await api(`/api/v1/trades/${id}`);
      let checked;
      try {
        checked = await checkCommittee(current, api);
      } catch (err) {
        setCommitteeError(err);
        throw new Error(t('bid.committee_refused'));
      }
      const sealed = await sealBid({
        trade: current,
        committee: checked,
        organization: { name: session.identity.organization, usci: session.identity.usci },
        certificatePem: session.certificate,
        signingKey: signer.key,
        price,
        lots,
        files: [...(form.elements.files.files ?? [])],
      });
      const response = await fetch(`/api/v1/trades/${id}/bid`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${session.token}`, 'content-type': 'application/octet-stream' },
        body: sealed.envelope,
      });
      const body = await response.json();
      if (!response.ok) throw new Error(`${body.error?.message ?? response.status} (${body.error?.code ?? 'http'})`);
      const { keys } = await api('/api/v1/platform/keys');
      await verifyReceipt(body, keys);
      if (body.envelope_sha256 !== sealed.commitment) throw new Error(t('bid.receipt_mismatch'));
      setReceipt({ ...body, size: sealed.size, price });
    } catch (err) {
      setError(err instanceof SignInError ? new Error(t(`signin.${err.code}`)) : err);
    } finally {
      setBusy(false);
    }
  };

  const open = trade.phase === 'bidding';
  return html`<section class="narrow wide">
    <p><a href=${`#/trades/${id}`}>← ${trade.title}</a></p>
    <h1>${t('bid.title')}</h1>
    <dl class="facts">
      <dt>${t('trade.deadline')}</dt><dd>${formatInstant(trade.bid_deadline)} · <${Countdown} until=${trade.bid_deadline} /></dd>
      <dt>${t('bid.committee')}</dt><dd>${t('bid.committee_keys', { k: trade.committee.threshold, n: trade.committee.custodians.length })}</dd>
    </dl>
    ${open ? html`<${CommitteeCheck} committee=${committee} error=${committeeError} />` : null}
    <p class="muted small">${t('bid.sealed_here')}</p>
    ${open
      ? html`<form onSubmit=${submit} data-testid="bid-form">
          <div class="field"><label for="bid-price">${t('bid.price')}</label>
            <input id="bid-price" name="price" inputmode="decimal" autocomplete="off" required placeholder="12345678.90" /></div>
          ${trade.lots.length > 1
            ? html`<fieldset class="field"><legend>${t('trade.lots')}</legend>
                ${trade.lots.map((l) => html`<label key=${l.id} class="check"><input type="checkbox" name=${`lot-${l.id}`} checked /> ${l.id}. ${l.title}</label>`)}</fieldset>`
            : null}
          <div class="field"><label for="bid-files">${t('bid.files')}</label><input id="bid-files" name="files" type="file" multiple /></div>
          ${sessionSigner()
            ? null
            : html`<div class="field"><label for="bid-key">${t('signin.key')}</label><input id="bid-key" name="key" type="file" accept=".pem,.key" required />
                <p class="small muted">${t('signin.key_stays')}</p></div>`}
          <button type="submit" class="primary" disabled=${busy || committeeError !== null}>${busy ? t('bid.sealing') : t('bid.submit')}</button>
        </form>`
      : html`<p class="notice">${t('bid.closed')}</p>`}
    ${error ? html`<p class="notice error" role="alert" data-testid="bid-error">${error.message}</p>` : null}
    ${receipt
      ? html`<div class="notice ok" role="status" data-testid="bid-receipt">
          <p><strong>✓ ${t('bid.received', { n: receipt.log_index })}</strong></p>
          <p class="small">${formatMoney(receipt.price)} · ${formatBytes(receipt.size)} · ${formatInstant(receipt.received_at)}</p>
          <p class="small">${t('bid.commitment')} <code class="wrap">${receipt.envelope_sha256}</code></p>
          <button type="button" onClick=${() => downloadJson(`receipt-${receipt.log_index}.json`, receipt)}>${t('workspace.download')}</button>
        </div>`
      : null}
  </section>`;
}
