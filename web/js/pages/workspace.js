// The signed-in user's workspace: who the platform knows them as, and for a bidder every
// active bid with its receipt, verified here in the browser and downloadable.
import { useEffect, useState } from 'preact/hooks';
import { html, written } from '../html.js';
import { regionLabel } from '../regions.js';
import { downloadJson } from '../download.js';
import { api } from '../api.js';
import { t, statusName, formatInstant } from '../i18n.js';
import { currentSession } from '../session.js';
import { reportError } from '../app.js';
import { verifyReceipt, VerifyError } from '../verify.js';
import { useTrades } from '../titles.js';


function ReceiptCell({ receipt }) {
  const [outcome, setOutcome] = useState(null);
  const check = async () => {
    const { keys } = await api('/api/v1/platform/keys');
    try {
      await verifyReceipt(receipt, keys);
      setOutcome({ ok: true, text: () => `✓ ${t('workspace.receipt_ok')}` });
    } catch (e) {
      if (!(e instanceof VerifyError)) throw e;
      setOutcome({ ok: false, text: () => `✗ ${t(`verify.${e.code}`)}` });
    }
  };
  return html`<td>
    <button type="button" onClick=${() => check().catch(reportError)}>${t('workspace.verify')}</button>
    <button type="button" onClick=${() => downloadJson(`receipt-${receipt.log_index}.json`, receipt)}>${t('workspace.download')}</button>
    ${outcome ? html` <span class=${outcome.ok ? 'ok' : 'error-text'} role="status">${outcome.text()}</span>` : null}
  </td>`;
}

function MyBids({ token }) {
  const [bids, setBids] = useState(null);
  useEffect(() => {
    api('/api/v1/bids/mine', { token }).then((page) => setBids(page.bids)).catch(reportError);
  }, [token]);
  return html`<section aria-labelledby="h-bids">
    <h2 id="h-bids">${t('workspace.bids')}</h2>
    <div class="table-wrap"><table data-testid="my-bids">
      <thead><tr><th scope="col">${t('col.title')}</th><th scope="col">${t('col.status')}</th><th scope="col">${t('col.deadline')}</th>
        <th scope="col">${t('workspace.received')}</th><th scope="col">${t('workspace.receipt')}</th></tr></thead>
      <tbody>${bids === null
        ? html`<tr><td colspan="5" class="muted">${t('loading')}</td></tr>`
        : bids.length === 0
          ? html`<tr><td colspan="5" class="muted">${t('workspace.no_bids')}</td></tr>`
          : bids.map((b) => html`<tr key=${b.receipt.log_index}>
              <td><a href=${`#/trades/${b.trade_id}`} lang="zh-CN">${b.title}</a></td>
              <td><span class=${`status s-${b.phase}`}>${statusName(b.phase)}</span></td>
              <td>${formatInstant(b.bid_deadline)}</td>
              <td>${formatInstant(b.receipt.received_at)}<br /><span class="small muted">${t('workspace.log_index')} ${b.receipt.log_index}</span></td>
              <${ReceiptCell} receipt=${b.receipt} />
            </tr>`)}</tbody>
    </table></div>
  </section>`;
}

function MyApplications({ token }) {
  const [items, setItems] = useState(null);
  const { byId } = useTrades((items ?? []).map((a) => a.trade_id));
  useEffect(() => {
    api('/api/v1/applications/mine', { token }).then((page) => setItems(page.applications)).catch(reportError);
  }, [token]);
  if (items !== null && items.length === 0) return null;
  return html`<section aria-labelledby="h-apps">
    <h2 id="h-apps">${t('workspace.applications')}</h2>
    <div class="table-wrap"><table data-testid="my-applications">
      <thead><tr><th scope="col">${t('col.title')}</th><th scope="col">${t('workspace.application_status')}</th>
        <th scope="col">${t('workspace.deposit')}</th><th scope="col">${t('room.bidder_number')}</th></tr></thead>
      <tbody>${items === null
        ? html`<tr><td colspan="4" class="muted">${t('loading')}</td></tr>`
        : items.map((a) => html`<tr key=${a.id}>
            <td><a href=${`#/trades/${a.trade_id}`} lang="zh-CN">${byId[a.trade_id]?.title ?? t('loading')}</a> · <a href=${`#/trades/${a.trade_id}/auction`}>${t('room.title')}</a></td>
            <td>${t(`workspace.application.${a.status}`)}${a.reason ? html`<br /><span class="small muted">${a.reason}</span>` : null}</td>
            <td>${a.deposit_at ? formatInstant(a.deposit_at) : t('workspace.deposit_none')}<br /><span class="small muted">${a.payer_account}</span></td>
            <td><strong data-number>${a.bidder_number ?? '—'}</strong></td>
          </tr>`)}</tbody>
    </table></div>
  </section>`;
}

function MyQuestions({ token }) {
  const [items, setItems] = useState(null);
  const { byId } = useTrades((items ?? []).map((c) => c.trade_id));
  useEffect(() => {
    api('/api/v1/clarifications/mine', { token }).then((page) => setItems(page.clarifications)).catch(reportError);
  }, [token]);
  if (items !== null && items.length === 0) return null;
  return html`<section aria-labelledby="h-questions">
    <h2 id="h-questions">${t('workspace.questions')}</h2>
    <dl class="clarifications" data-testid="my-questions">${(items ?? []).map((c) => html`
      <dt key=${`q${c.id}`}><span class="badge">${t('trade.question')}</span> ${written(c.question)}
        <span class="small muted"> · <a href=${`#/trades/${c.trade_id}`} lang="zh-CN">${byId[c.trade_id]?.title ?? t('loading')}</a> · ${formatInstant(c.asked_at)}</span></dt>
      <dd key=${`a${c.id}`}><span class="badge">${t('trade.answer')}</span> ${c.answer ? written(c.answer) : html`<span class="muted">${t('workspace.unanswered')}</span>`}</dd>`)}</dl>
  </section>`;
}

export function Workspace() {
  const session = currentSession();
  if (!session) {
    return html`<section><h1>${t('workspace.title')}</h1><p><a href="#/signin?next=/workspace">${t('signin.title')}</a></p></section>`;
  }
  const who = session.identity;
  return html`<section>
    <h1>${t('workspace.title')}</h1>
    <dl class="facts" data-testid="identity">
      <dt>${t('workspace.organization')}</dt><dd>${written(who.organization)}</dd>
      <dt>${t('workspace.usci')}</dt><dd>${who.usci}</dd>
      <dt>${t('workspace.role')}</dt><dd>${t(`role.${who.role}`)}${who.region ? ` · ${regionLabel(who.region)}` : ''}</dd>
      <dt>${t('workspace.certificate')}</dt><dd><code class="wrap small" lang="zh-CN">${who.subject}</code><br /><code class="wrap small">${who.cert_fingerprint}</code></dd>
      <dt>${t('workspace.session_until')}</dt><dd>${formatInstant(session.expires_at)}</dd>
    </dl>
    ${who.role === 'bidder'
      ? html`<${MyBids} token=${session.token} /><${MyApplications} token=${session.token} /><${MyQuestions} token=${session.token} />`
      : null}
  </section>`;
}
