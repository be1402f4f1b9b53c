// A live sale's sealed reserve price (底价), on its card of the centre's page: sealed in
// this browser exactly as `tradehall reserve` seals it (an envelope like a bid's, signed
// with the officer's certificate, to the trade's committee keys as web/js/committee.js
// checks them), after a confirmation that restates the amount in figures and in 大写.
// The amount never leaves the browser in the clear; sealing again replaces it until the
// sale starts.
import { useEffect, useState } from 'preact/hooks';
import { html } from '../html.js';
import { api, serverNow } from '../api.js';
import { t, formatInstant, formatMoney } from '../i18n.js';
import { sessionSigner } from '../session.js';
import { parseAmount } from '../money.js';
import { AmountField, Confirmation } from '../price-guard.js';
import { sealBid } from '../seal.js';
import { checkCommittee } from '../committee.js';
import { reportError } from '../app.js';

/** Warnings for a reserve below the start price: the sale could never fail on it. */
const reserveWarnings = (start) => (fen) => (start && fen < start ? [{ key: 'reserve.below_start', params: { start: formatMoney(start) } }] : []);

export function SealedReserve({ trade, session }) {
  const [state, setState] = useState(null);
  const [amount, setAmount] = useState('');
  const [pending, setPending] = useState(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const id = `reserve-${trade.id}`;
  const load = () => api(`/api/v1/trades/${trade.id}/reserve`).then(setState).catch(reportError);
  useEffect(() => {
    load();
  }, [trade.id]);
  const start = trade.live?.start_price;
  const open = new Date(trade.live.starts_at) > serverNow();

  const prepare = (e) => {
    e.preventDefault();
    setError(null);
    const fen = parseAmount(amount);
    if (fen === null || fen <= 0) {
      setError(new Error(t('bid.price_invalid')));
      return;
    }
    setPending({ fen, warnings: reserveWarnings(start)(fen) });
  };
  const seal = async () => {
    setBusy(true);
    setError(null);
    try {
      const signer = sessionSigner();
      if (!signer) throw new Error(t('reserve.key_needed'));
      const latest = await api(`/api/v1/trades/${trade.id}`);
      const committee = await checkCommittee(latest, api);
      const sealed = await sealBid({
        trade: latest,
        committee,
        organization: { name: session.identity.organization, usci: session.identity.usci },
        certificatePem: session.certificate,
        signingKey: signer.key,
        price: pending.fen,
        lots: latest.lots.map((l) => l.id),
      });
      const body = await api(`/api/v1/trades/${trade.id}/reserve`, { method: 'PUT', token: session.token, bytes: sealed.envelope });
      if (body.envelope_sha256 !== sealed.commitment) throw new Error(t('bid.receipt_mismatch'));
      setPending(null);
      setAmount('');
      await load();
    } catch (err) {
      setError(err);
      setPending(null);
    } finally {
      setBusy(false);
    }
  };

  const sealedAt = state?.reserve?.sealed_at;
  return html`<div data-testid="centre-reserve"><h3>${t('reserve.title')}</h3>
    <p class="small" data-testid="reserve-state">${sealedAt
      ? html`<span class="ok">✓ ${t('reserve.sealed', { at: formatInstant(sealedAt) })}</span> <code class="small">${state.reserve.envelope_sha256.slice(0, 16)}…</code>`
      : t('reserve.not_sealed')}</p>
    ${open
      ? html`${pending
          ? html`<${Confirmation} id=${`${id}-confirm`} title=${sealedAt ? t('reserve.confirm_replace') : t('reserve.confirm')}
              facts=${[[t('bid.confirm_trade'), `${trade.title}（${trade.id}）`], [t('reserve.start'), formatMoney(start)]]}
              fen=${pending.fen} warnings=${pending.warnings} busy=${busy}
              confirmLabel=${busy ? t('bid.sealing') : t('reserve.do_seal')} onConfirm=${seal} onCancel=${() => setPending(null)} />`
          : html`<form onSubmit=${prepare} data-testid="reserve-form">
              <${AmountField} id=${id} label=${t('reserve.amount')} value=${amount} onInput=${setAmount}
                warnings=${reserveWarnings(start)} hint=${t('reserve.hint')} />
              <button type="submit" class="primary" disabled=${busy || !trade.committee_ready}>${sealedAt ? t('reserve.replace') : t('reserve.seal')}</button>
              ${trade.committee_ready ? null : html`<p class="small muted">${t('reserve.committee_pending')}</p>`}
            </form>`}`
      : html`<p class="small muted">${t('reserve.locked')}</p>`}
    ${error ? html`<p class="notice error" role="alert">${error.message}${error.code ? ` (${error.code})` : ''}</p>` : null}
  </div>`;
}
