// The supervision dashboard (监管大屏): the live event stream of the supervisor's regions
// (the feed's supervisor view, over the session cookie) in words, with filters; risk
// alerts by severity then time, with their evidence and workflow; interventions
// (suspend, resume, terminate with a reason, confirmed); and charts of the recent log.
import { useEffect, useRef, useState } from 'preact/hooks';
import { html } from '../html.js';
import { api, noteServerTime } from '../api.js';
import { t, formatInstant, statusName } from '../i18n.js';
import { currentSession } from '../session.js';
import { useTrades } from '../titles.js';
import { reportError } from '../app.js';
import { regionLabel } from '../regions.js';
import { kindName as tradeKindName } from '../rulebook.js';
import { AlertRow, byUrgency, ruleTitle } from './supervision-alerts.js';

/** How many recent entries the stream keeps, and how far back the charts look. */
const STREAM_KEEP = 60;
const CATCH_UP = 2000;

/** The feed's supervisor view: recent entries, then live ones; reconnects with `after`. */
function useFeed(onEntry) {
  const [events, setEvents] = useState([]);
  const [view, setView] = useState(null);
  const last = useRef(null);
  const handler = useRef(onEntry);
  handler.current = onEntry;
  useEffect(() => {
    let socket;
    let retry;
    let closed = false;
    const connect = async () => {
      if (last.current === null) {
        const note = await api('/api/v1/log/checkpoint');
        last.current = Math.max(0, Number(note.split('\n')[1]) - CATCH_UP);
      }
      const scheme = window.location.protocol === 'https:' ? 'wss' : 'ws';
      // The session cookie set at sign-in authenticates this socket (docs/api.md).
      socket = new WebSocket(`${scheme}://${window.location.host}/api/v1/feed?after=${last.current}&heartbeat=5`);
      socket.onmessage = (message) => {
        const m = JSON.parse(message.data);
        if (m.server_time) noteServerTime(m.server_time, Date.now(), Date.now());
        if (m.type === 'hello') setView(m.view);
        if (m.type !== 'event') return;
        last.current = m.seq;
        setEvents((prev) => [...prev.slice(-(CATCH_UP - 1)), m]);
        handler.current(m);
      };
      socket.onclose = () => {
        setView(null);
        if (!closed) retry = setTimeout(() => connect().catch(() => {}), 1000);
      };
    };
    connect().catch(reportError);
    return () => {
      closed = true;
      clearTimeout(retry);
      socket?.close();
    };
  }, []);
  return { events, view };
}

/** A bar chart of `[label, count]` pairs, as SVG with the numbers written out. */
function Bars({ title, data, testid }) {
  const max = Math.max(1, ...data.map(([, n]) => n));
  const row = 22;
  return html`<figure class="chart" data-testid=${testid}>
    <figcaption>${title}</figcaption>
    ${data.length === 0
      ? html`<p class="muted small">${t('none')}</p>`
      : html`<svg viewBox=${`0 0 320 ${data.length * row}`} role="img" aria-label=${title} width="100%">
          ${data.map(([label, n], i) => html`<g key=${label} transform=${`translate(0 ${i * row})`}>
            <text x="0" y="15" font-size="12">${label}</text>
            <rect x="120" y="4" height="14" width=${(170 * n) / max} fill="#a4262c"></rect>
            <text x=${126 + (170 * n) / max} y="15" font-size="12">${n}</text>
          </g>`)}
        </svg>`}
  </figure>`;
}

const countBy = (items, key) => {
  const counts = new Map();
  for (const item of items) {
    const k = key(item);
    if (k !== null && k !== undefined) counts.set(k, (counts.get(k) ?? 0) + 1);
  }
  return [...counts.entries()].sort((a, b) => b[1] - a[1]);
};

function Charts({ events, alerts, trades }) {
  const hour = (e) => formatInstant(e.entry.at).slice(5, 13) + 'h';
  const activity = countBy(events.filter((e) => e.entry.kind === 'bid.received' || e.entry.kind === 'sale.quote'), hour).sort((a, b) => (a[0] < b[0] ? -1 : 1)).slice(-12);
  return html`<section aria-labelledby="h-charts"><h2 id="h-charts">${t('sup.charts')}</h2>
    <div class="charts">
      <${Bars} title=${t('sup.chart_activity')} data=${activity} testid="chart-activity" />
      <${Bars} title=${t('sup.chart_kinds')} data=${countBy(trades, (tr) => tradeKindName(tr.kind, tr.kind_name))} testid="chart-kinds" />
      <${Bars} title=${t('sup.chart_regions')} data=${countBy(trades, (tr) => regionLabel(tr.region_code))} testid="chart-regions" />
      <${Bars} title=${t('sup.chart_rules')} data=${countBy(alerts, ruleTitle)} testid="chart-rules" />
      <${Bars} title=${t('sup.chart_openings')} data=${countBy(trades.filter((tr) => ['opened', 'failed', 'publicity', 'awarded', 'contracted', 'sold'].includes(tr.status)), (tr) => statusName(tr.status))} testid="chart-openings" />
    </div></section>`;
}

/** What the stream can be narrowed to, by the entry kind's prefix. */
const STREAM_FILTERS = {
  all: () => true,
  trades: (k) => k.startsWith('trade.') || k.startsWith('clarification.') || k.startsWith('document.'),
  bids: (k) => k.startsWith('bid.') || k.startsWith('opening.') || k.startsWith('evaluation.') || k.startsWith('candidates.') || k.startsWith('award.') || k.startsWith('contract.') || k.startsWith('objection.') || k.startsWith('complaint.'),
  sales: (k) => k.startsWith('sale.') || k.startsWith('application.') || k.startsWith('reserve.'),
  money: (k) => k.startsWith('bank.') || k.startsWith('refund.'),
  supervision: (k) => k.startsWith('alert.') || k.startsWith('supervision.') || k === 'confidential.read',
};

/** The supervisor's own page views: its subscriptions and its reads of confidential data. */
const ownRead = (e, me) => e.private?.actor === me && (e.entry.kind === 'supervision.feed_opened' || e.entry.kind === 'confidential.read');

/** An entry kind in words, or the kind itself when it has none yet. */
function kindName(kind) {
  const text = t(`kind.${kind}`);
  return text === `kind.${kind}` ? kind : text;
}


/** The supervision desk; it asks the server for nothing before the caller is known to be a
 * supervisor (a bidder who opens it sees a refusal and sends no request). */
export function Supervision() {
  const session = currentSession();
  if (!session) return html`<section><p><a href="#/signin?next=/supervision">${t('signin.title')}</a></p></section>`;
  if (session.identity.role !== 'supervisor') return html`<section><p class="notice error">${t('sup.supervisors_only')}</p></section>`;
  return html`<${Desk} session=${session} />`;
}

function Desk({ session }) {
  const [alerts, setAlerts] = useState([]);
  const [trades, setTrades] = useState([]);
  const [filter, setFilter] = useState('all');
  const [showOwn, setShowOwn] = useState(false);
  const token = session.token;
  const me = session.identity.id;
  const loadAlerts = () => api('/api/v1/alerts?limit=100', { token }).then((page) => setAlerts(page.alerts)).catch(reportError);
  const loadTrades = () =>
    api(`/api/v1/trades?limit=100&region=${session.identity.region}`, { token }).then((page) => setTrades(page.trades)).catch(reportError);
  const { byId, reload } = useTrades(alerts.map((a) => a.trade_id), token);
  const { events, view } = useFeed((m) => {
    const kind = m.entry.kind;
    if (kind.startsWith('alert.')) loadAlerts();
    if (kind.startsWith('trade.') || kind === 'opening.completed' || kind === 'sale.closed') {
      loadTrades();
      if (m.entry.trade) reload(m.entry.trade);
    }
  });
  useEffect(() => {
    loadAlerts();
    loadTrades();
  }, []);
  const titles = Object.fromEntries([...trades, ...Object.values(byId)].map((tr) => [tr.id, tr.title]));
  const shown = events.filter((e) => STREAM_FILTERS[filter](e.entry.kind) && (showOwn || !ownRead(e, me)));
  const recent = shown.slice(-STREAM_KEEP).reverse();
  const sorted = [...alerts].sort(byUrgency);
  return html`<section class="supervision">
    <h1>${t('sup.title')} <span class="muted small" data-testid="sup-region">${regionLabel(session.identity.region)}</span></h1>
    <p class="small"><span class=${view === 'supervisor' ? 'ok' : 'error-text'} data-testid="feed-view">● ${view === 'supervisor' ? t('sup.live') : t('room.reconnecting')}</span></p>
    <div class="columns">
      <section aria-labelledby="h-alerts"><h2 id="h-alerts">${t('sup.alerts')} <span class="muted small">${alerts.filter((a) => a.status !== 'closed').length}</span></h2>
        <ul class="alerts" data-testid="alerts">${sorted.length === 0
          ? html`<li class="muted">${t('none')}</li>`
          : sorted.map((a) => html`<${AlertRow} key=${a.id} alert=${a} trade=${byId[a.trade_id]} titles=${titles} token=${token} me=${me}
              onChange=${() => { loadAlerts(); reload(a.trade_id); }} />`)}</ul>
      </section>
      <section aria-labelledby="h-stream"><h2 id="h-stream">${t('sup.stream')}</h2>
        <div class="inline small">
          <label for="stream-filter">${t('sup.stream_filter')}</label>
          <select id="stream-filter" value=${filter} onChange=${(e) => setFilter(e.currentTarget.value)}>
            ${Object.keys(STREAM_FILTERS).map((f) => html`<option key=${f} value=${f}>${t(`sup.filter.${f}`)}</option>`)}
          </select>
          <label class="check"><input type="checkbox" id="stream-own" checked=${showOwn} onChange=${(e) => setShowOwn(e.currentTarget.checked)} /> ${t('sup.show_own')}</label>
        </div>
        <ol class="stream" data-testid="stream" aria-live="polite">${recent.length === 0
          ? html`<li class="muted">${t('none')}</li>`
          : recent.map((e) => html`<li key=${e.seq}>
          <span class="muted small"><a href=${`#/log?entry=${e.seq}`}>#${e.seq}</a> ${formatInstant(e.entry.at).slice(11, 19)}</span>
          <span title=${e.entry.kind}>${kindName(e.entry.kind)}</span>
          ${e.entry.trade ? html` <a class="small" href=${`#/trades/${e.entry.trade}`} lang="zh-CN">${titles[e.entry.trade] ?? `${e.entry.trade.slice(0, 8)}…`}</a>` : null}
        </li>`)}</ol>
      </section>
    </div>
    <${Charts} events=${events} alerts=${alerts} trades=${trades} />
  </section>`;
}
