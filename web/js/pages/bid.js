// Sealing, replacing and withdrawing a bid from the browser. The price and files are
// encrypted here (web/js/seal.js) to the trade's opening committee; the server receives
// only the sealed envelope and answers with a receipt, which this page verifies before
// showing it. The price goes through the price guard (web/js/price-guard.js): read in the
// forms people type, restated in 大写, checked against the estimate, and confirmed.
import { useEffect, useState } from 'preact/hooks';
import { html, written } from '../html.js';
import { downloadJson } from '../download.js';
import { api, serverNow } from '../api.js';
import { t, formatInstant, formatMoney, formatBytes, formatCountdown } from '../i18n.js';
import { currentSession, sessionSigner, importPrivateKey, SignInError } from '../session.js';
import { rulebook } from '../rulebook.js';
import { parseAmount } from '../money.js';
import { AmountField, Confirmation, estimateWarnings } from '../price-guard.js';
import { sealBid } from '../seal.js';
import { checkCommittee } from '../committee.js';
import { verifyReceipt } from '../verify.js';

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
  if (error?.code === 'suite_cli') {
    return html`<div class="notice" role="status" data-testid="suite-cli">
      <p><strong>${t('bid.suite_cli_title')}</strong></p>
      <p class="small">${t('bid.suite_cli')} <code>tradehall bid seal</code> → <code>tradehall bid submit</code></p>
    </div>`;
  }
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

/** The estimate of the lots chosen: their own estimates when every one has one. */
function estimateOf(trade, lots) {
  const chosen = trade.lots.filter((l) => lots.includes(l.id));
  if (chosen.length > 0 && chosen.every((l) => l.estimated_value > 0)) return chosen.reduce((n, l) => n + l.estimated_value, 0);
  return trade.estimated_value;
}

/** The bidder's active bid on this trade, from its receipt. */
function CurrentBid({ bid, onWithdraw, busy }) {
  return html`<div class="notice ok" data-testid="current-bid">
    <p><strong>${t('bid.current', { n: bid.log_index })}</strong></p>
    <p class="small">${formatInstant(bid.received_at)}</p>
    <p class="small">${t('bid.commitment')} <code class="wrap">${bid.envelope_sha256}</code></p>
    <div class="actions">
      <button type="button" onClick=${() => downloadJson(`receipt-${bid.log_index}.json`, bid)}>${t('workspace.download')}</button>
      <button type="button" class="danger" data-testid="withdraw" disabled=${busy} onClick=${onWithdraw}>${t('bid.withdraw')}</button>
    </div>
  </div>`;
}

export function BidPage({ id }) {
  const session = currentSession();
  const [trade, setTrade] = useState(null);
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const [receipt, setReceipt] = useState(null);
  // The active bid as the server has it (its receipt), or null.
  const [current, setCurrent] = useState(null);
  const [withdrawn, setWithdrawn] = useState(false);
  const [price, setPrice] = useState('');
  const [lowPercent, setLowPercent] = useState(40);
  // What is about to be sealed, waiting for the bidder's confirmation; or a withdrawal.
  const [pending, setPending] = useState(null);
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
    rulebook()
      .then((book) => setLowPercent(book.risk?.low_price_below_mean_percent?.value ?? 40))
      .catch(() => {});
  }, [id]);
  useEffect(() => {
    if (!session || session.identity.role !== 'bidder') return;
    // The bidder's active bids; no 404 for "none yet".
    api('/api/v1/bids/mine', { token: session.token })
      .then((mine) => setCurrent(mine.bids.find((b) => b.trade_id === id)?.receipt ?? null))
      .catch(setError);
  }, [id, session?.token]);
  useEffect(() => {
    if (pending) document.getElementById(`${pending.kind}-title`)?.focus();
  }, [pending]);

  if (!session) return html`<section><p><a href=${`#/signin?next=/trades/${id}/bid`}>${t('signin.title')}</a></p></section>`;
  if (session.identity.role !== 'bidder') return html`<section><p class="notice error">${t('bid.bidders_only')}</p></section>`;
  if (!trade) return error ? html`<p class="notice error" role="alert">${error.message}</p>` : html`<p class="muted">${t('loading')}</p>`;

  const chosenLots = (form) =>
    trade.lots.length > 1 ? trade.lots.filter((l) => form.elements[`lot-${l.id}`]?.checked).map((l) => l.id) : trade.lots.map((l) => l.id);
  const warningsFor = (fen, lots) => estimateWarnings(fen, estimateOf(trade, lots), lowPercent);

  // The form only prepares: nothing is signed or sent before the confirmation.
  const prepare = (e) => {
    e.preventDefault();
    const form = e.currentTarget;
    setError(null);
    setReceipt(null);
    const fen = parseAmount(price);
    if (fen === null || fen <= 0) {
      setError(new Error(t('bid.price_invalid')));
      return;
    }
    const lots = chosenLots(form);
    if (lots.length === 0) {
      setError(new Error(t('bid.lots_required')));
      return;
    }
    const keyFile = sessionSigner() ? null : form.elements.key?.files?.[0];
    if (!sessionSigner() && !keyFile) {
      setError(new Error(t('bid.key_required')));
      return;
    }
    setPending({ kind: 'seal', fen, lots, files: [...(form.elements.files.files ?? [])], keyFile, warnings: warningsFor(fen, lots) });
  };

  const seal = async () => {
    const { fen, lots, files, keyFile } = pending;
    setBusy(true);
    setError(null);
    try {
      let signer = sessionSigner();
      if (!signer) signer = await importPrivateKey(await keyFile.text());
      if (signer.curve !== 'P-256') throw new Error(t('bid.key_p256'));
      // Checked again now, on the trade as it is now: what is sealed to is what was checked.
      const latest = await api(`/api/v1/trades/${id}`);
      let checked;
      try {
        checked = await checkCommittee(latest, api);
      } catch (err) {
        setCommitteeError(err);
        throw new Error(t('bid.committee_refused'));
      }
      const sealed = await sealBid({
        trade: latest,
        committee: checked,
        organization: { name: session.identity.organization, usci: session.identity.usci },
        certificatePem: session.certificate,
        signingKey: signer.key,
        price: fen,
        lots,
        files,
      });
      const body = await api(`/api/v1/trades/${id}/bid`, { method: 'PUT', token: session.token, bytes: sealed.envelope });
      const { keys } = await api('/api/v1/platform/keys');
      await verifyReceipt(body, keys);
      if (body.envelope_sha256 !== sealed.commitment) throw new Error(t('bid.receipt_mismatch'));
      setReceipt({ ...body, size: sealed.size, price: fen, replaced: current !== null });
      setCurrent(body);
      setWithdrawn(false);
      setPrice('');
      setPending(null);
    } catch (err) {
      setError(err instanceof SignInError ? new Error(t(`signin.${err.code}`)) : err);
      setPending(null);
    } finally {
      setBusy(false);
    }
  };

  const withdraw = async () => {
    setBusy(true);
    setError(null);
    try {
      await api(`/api/v1/trades/${id}/bid`, { method: 'DELETE', token: session.token });
      setCurrent(null);
      setReceipt(null);
      setWithdrawn(true);
      setPending(null);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  const lotNames = (lots) => trade.lots.filter((l) => lots.includes(l.id)).map((l) => `${l.id}. ${l.title}`).join('；');
  const open = trade.phase === 'bidding';
  // A suite-2 (国密) trade is sealed with the tradehall client: CommitteeCheck says so.
  const sealsHere = (trade.committee.suite ?? 1) === 1;
  return html`<section class="narrow wide">
    <p><a href=${`#/trades/${id}`}>← ${written(trade.title)}</a></p>
    <h1>${current ? t('bid.replace_title') : t('bid.title')}</h1>
    <dl class="facts">
      <dt>${t('trade.deadline')}</dt><dd>${formatInstant(trade.bid_deadline)} · <${Countdown} until=${trade.bid_deadline} /></dd>
      ${trade.estimated_value ? html`<dt>${t('trade.estimate')}</dt><dd>${formatMoney(trade.estimated_value)}</dd>` : null}
      <dt>${t('bid.committee')}</dt><dd>${t('bid.committee_keys', { k: trade.committee.threshold, n: trade.committee.custodians.length })}</dd>
    </dl>
    ${open ? html`<${CommitteeCheck} committee=${committee} error=${committeeError} />` : null}
    ${current && !pending ? html`<${CurrentBid} bid=${current} busy=${busy || !open} onWithdraw=${() => setPending({ kind: 'withdraw' })} />` : null}
    ${withdrawn ? html`<p class="notice" role="status" data-testid="bid-withdrawn">${t('bid.withdrawn')}</p>` : null}
    ${sealsHere ? html`<p class="muted small">${t('bid.sealed_here')}</p>` : null}
    ${pending?.kind === 'seal'
      ? html`<${Confirmation} id="seal" title=${current ? t('bid.confirm_replace') : t('bid.confirm_title')}
          facts=${[[t('bid.confirm_trade'), `${trade.title}（${trade.id}）`], [t('trade.lots'), lotNames(pending.lots)], [t('bid.files'), pending.files.length ? pending.files.map((f) => `${f.name}（${formatBytes(f.size)}）`).join('；') : t('bid.no_files')]]}
          fen=${pending.fen} warnings=${pending.warnings} busy=${busy}
          confirmLabel=${busy ? t('bid.sealing') : t('bid.confirm_seal')} onConfirm=${seal} onCancel=${() => setPending(null)} />`
      : null}
    ${pending?.kind === 'withdraw'
      ? html`<section class="confirm" role="region" aria-labelledby="withdraw-title" data-testid="withdraw-confirm">
          <h2 id="withdraw-title" tabindex="-1">${t('bid.confirm_withdraw')}</h2>
          <p>${t('bid.withdraw_restated', { title: trade.title, n: current?.log_index ?? '' })}</p>
          <div class="actions">
            <button type="button" class="danger" data-testid="withdraw-confirm-button" disabled=${busy} onClick=${withdraw}>${t('bid.withdraw')}</button>
            <button type="button" disabled=${busy} onClick=${() => setPending(null)}>${t('amount.back')}</button>
          </div>
        </section>`
      : null}
    ${open && !sealsHere ? null : open
      ? html`<form onSubmit=${prepare} data-testid="bid-form" hidden=${pending !== null}>
          <${AmountField} id="bid-price" label=${t('bid.price')} value=${price} onInput=${setPrice}
            warnings=${(fen) => warningsFor(fen, trade.lots.map((l) => l.id))} />
          ${trade.lots.length > 1
            ? html`<fieldset class="field"><legend>${t('trade.lots')}</legend>
                ${trade.lots.map((l) => html`<label key=${l.id} class="check"><input type="checkbox" name=${`lot-${l.id}`} checked /> ${l.id}. ${written(l.title)}</label>`)}</fieldset>`
            : null}
          <div class="field"><label for="bid-files">${t('bid.files')}</label><input id="bid-files" name="files" type="file" multiple /></div>
          ${sessionSigner()
            ? html`<p class="small muted" data-testid="key-kept">${t('bid.key_kept')}</p>`
            : html`<div class="field"><label for="bid-key">${t('signin.key')}</label><input id="bid-key" name="key" type="file" accept=".pem,.key" required />
                <p class="small muted">${t('signin.key_stays')}</p></div>`}
          <button type="submit" class="primary" disabled=${busy || committeeError !== null}>${current ? t('bid.replace') : t('bid.submit')}</button>
        </form>`
      : html`<p class="notice">${t('bid.closed')}</p>`}
    ${error ? html`<p class="notice error" role="alert" data-testid="bid-error">${error.message}</p>` : null}
    ${receipt
      ? html`<div class="notice ok" role="status" data-testid="bid-receipt">
          <p><strong>✓ ${t(receipt.replaced ? 'bid.replaced' : 'bid.received', { n: receipt.log_index })}</strong></p>
          <p class="small">${formatMoney(receipt.price)} · ${formatBytes(receipt.size)} · ${formatInstant(receipt.received_at)}</p>
          <p class="small">${t('bid.commitment')} <code class="wrap">${receipt.envelope_sha256}</code></p>
        </div>`
      : null}
  </section>`;
}
