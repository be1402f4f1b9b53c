// The opening hall (开标大厅): the countdown to the bid deadline in server time, then the
// custodians' progress (k of n), then every bid revealed at once from the signed opening
// record, whose signature and commitments this page checks with WebCrypto. Before the
// record exists the page shows nothing about any bid: the server has nothing to show.
import { useEffect, useState } from 'preact/hooks';
import { html } from '../html.js';
import { downloadJson } from '../download.js';
import { api, noteServerTime, serverNow } from '../api.js';
import { t, statusName, formatInstant, formatMoney, formatCountdown } from '../i18n.js';
import { verifyOpeningRecord, VerifyError } from '../verify.js';
import { currentSession } from '../session.js';

/** How often the hall asks for the opening's state while it is not final. */
const POLL_MS = 1000;



function Reveal({ hall }) {
  const signed = hall.opening;
  const [check, setCheck] = useState(null);
  useEffect(() => {
    api('/api/v1/platform/keys')
      .then(({ keys }) => verifyOpeningRecord(signed, keys))
      .then((ok) => setCheck({ ok: true, text: t('hall.record_ok', { n: ok.bids }) }))
      .catch((e) => setCheck({ ok: false, text: e instanceof VerifyError ? t(`hall.${e.code}`) : e.message }));
  }, [signed.signature]);
  const record = signed.record;
  return html`<section aria-labelledby="h-reveal" data-testid="reveal">
    <h2 id="h-reveal">${t('hall.reveal')}</h2>
    <p><span class=${`status s-${record.outcome}`}>${statusName(record.outcome)}</span>
      <span class="muted"> · ${formatInstant(record.opened_at)} · ${t('hall.valid_bids', { n: record.valid_bids, total: record.bids.length })}</span>
      ${record.reason ? html`<br /><span class="small">${record.reason}</span>` : null}</p>
    ${check ? html`<p class=${check.ok ? 'notice ok' : 'notice error'} role="status" data-testid="record-check">${check.ok ? '✓ ' : '✗ '}${check.text}</p>` : null}
    <div class="table-wrap"><table class="reveal">
      <thead><tr><th scope="col">${t('workspace.log_index')}</th><th scope="col">${t('trade.bidder')}</th><th scope="col" class="num">${t('trade.price')}</th>
        <th scope="col">${t('trade.lots')}</th><th scope="col">${t('col.status')}</th></tr></thead>
      <tbody>${record.bids.map((b) => html`<tr key=${b.log_index} class=${b.valid ? '' : 'invalid'}>
        <td>${b.log_index}</td>
        <td>${b.organization.name}<br /><span class="small muted">${b.organization.usci}</span></td>
        <td class="num">${b.price === null ? '—' : formatMoney(b.price)}</td>
        <td>${b.lots.join(', ')}</td>
        <td>${b.valid ? t('trade.valid') : html`${t('trade.invalid')}<br /><span class="small">${b.reason}</span>`}</td>
      </tr>`)}</tbody>
    </table></div>
    <p><button type="button" onClick=${() => downloadJson(`opening-record-${record.trade}.json`, signed)}>${t('trade.opening_download')}</button></p>
  </section>`;
}

function Progress({ hall }) {
  const done = hall.custodians.filter((c) => c.contributed).length;
  return html`<section aria-labelledby="h-progress" data-testid="progress">
    <h2 id="h-progress">${t('hall.progress')}</h2>
    <p class="big" aria-live="polite">${t('hall.contributed', { done, k: hall.threshold, n: hall.custodians.length })}</p>
    <progress max=${hall.threshold} value=${Math.min(done, hall.threshold)} aria-label=${t('hall.progress')}></progress>
    <ol class="custodians">${hall.custodians.map((c, i) => html`<li key=${c.custodian} class=${c.contributed ? 'ok' : 'muted'}>
      ${t('hall.custodian', { n: i + 1 })} · ${c.contributed ? `✓ ${t('hall.done')}` : t('hall.waiting')}</li>`)}</ol>
    ${hall.window_ends_at ? html`<p class="muted small">${t('hall.window_ends')} ${formatInstant(hall.window_ends_at)}</p>` : null}
    ${hall.phase === 'window_expired' ? html`<p class="notice error" role="alert">${t('hall.window_expired')}</p>` : null}
  </section>`;
}

export function OpeningHall({ id }) {
  const [trade, setTrade] = useState(null);
  const [hall, setHall] = useState(null);
  const [error, setError] = useState(null);
  const [now, setNow] = useState(serverNow());

  useEffect(() => {
    api(`/api/v1/trades/${id}`).then(setTrade).catch(setError);
  }, [id]);
  useEffect(() => {
    let stopped = false;
    let timer;
    const poll = async () => {
      try {
        const sent = Date.now();
        const next = await api(`/api/v1/trades/${id}/opening`);
        // The hall's clock is the server's, re-read with every answer.
        noteServerTime(next.server_time, sent, Date.now());
        if (!stopped) setHall(next);
        if (next.opening) return;
      } catch (e) {
        if (!stopped) setError(e);
      }
      if (!stopped) timer = setTimeout(poll, POLL_MS);
    };
    poll();
    const tick = setInterval(() => setNow(serverNow()), 250);
    return () => {
      stopped = true;
      clearTimeout(timer);
      clearInterval(tick);
    };
  }, [id]);

  if (error && !hall) return html`<p class="notice error" role="alert">${error.message}</p>`;
  if (!hall || !trade) return html`<p class="muted" aria-busy="true">${t('loading')}</p>`;
  const left = new Date(hall.deadline).getTime() - now.getTime();
  return html`<article class="hall" data-testid="hall">
    <p><a href=${`#/trades/${id}`}>← ${trade.title}</a></p>
    <h1>${t('hall.title')}</h1>
    <p class="muted">${trade.title}</p>
    <section aria-labelledby="h-deadline">
      <h2 id="h-deadline">${t('trade.deadline')}</h2>
      <p>${formatInstant(hall.deadline)}</p>
      ${hall.phase === 'bidding'
        ? html`<p class="big countdown" data-testid="hall-countdown">${left > 0 ? formatCountdown(left) : t('hall.deadline_reached')}</p>
            <p class="muted small">${t('hall.before_deadline')}</p>`
        : null}
    </section>
    ${hall.phase !== 'bidding' ? html`<${Progress} hall=${hall} />` : null}
    ${hall.phase === 'awaiting_contributions' && currentSession()?.identity.role === 'custodian'
      ? html`<p><a class="button primary" href=${`#/trades/${id}/custodian`} data-testid="custodian-link">${t('custodian.link')}</a></p>`
      : null}
    ${hall.opening ? html`<${Reveal} hall=${hall} />` : null}
  </article>`;
}
