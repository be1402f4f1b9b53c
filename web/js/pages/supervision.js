// The supervision dashboard (监管大屏): the live event stream of the supervisor's regions
// (the feed's supervisor view, over the session cookie), risk alerts coloured by severity
// with their evidence and workflow, interventions (suspend, resume, terminate with a
// reason), and charts of the recent log.
import { useEffect, useRef, useState } from 'preact/hooks';
import { html } from '../html.js';
import { api, noteServerTime } from '../api.js';
import { t, formatInstant, statusName } from '../i18n.js';
import { currentSession } from '../session.js';
import { reportError } from '../app.js';

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
      <${Bars} title=${t('sup.chart_kinds')} data=${countBy(trades, (tr) => tr.kind_name)} testid="chart-kinds" />
      <${Bars} title=${t('sup.chart_regions')} data=${countBy(trades, (tr) => tr.region_code)} testid="chart-regions" />
      <${Bars} title=${t('sup.chart_rules')} data=${countBy(alerts, (a) => a.finding?.rule?.name ?? a.rule)} testid="chart-rules" />
      <${Bars} title=${t('sup.chart_openings')} data=${countBy(trades.filter((tr) => ['opened', 'failed', 'publicity', 'awarded', 'contracted', 'sold'].includes(tr.status)), (tr) => statusName(tr.status))} testid="chart-openings" />
    </div></section>`;
}

function Intervene({ tradeId, token, onDone }) {
  const [reason, setReason] = useState('');
  const [outcome, setOutcome] = useState(null);
  const act = async (action) => {
    try {
      const trade = await api(`/api/v1/trades/${tradeId}/${action}`, { method: 'POST', token, body: { reason } });
      const done = { suspend: 'sup.suspended', resume: 'sup.resumed', terminate: 'sup.terminated' }[action];
      setOutcome({ ok: true, text: `${t(done)} · ${statusName(trade.status)}` });
      onDone();
    } catch (e) {
      setOutcome({ ok: false, text: `${e.message} (${e.code})` });
    }
  };
  return html`<div class="intervene" data-testid="intervene">
    <label for=${`reason-${tradeId}`} class="small">${t('sup.reason')}</label>
    <input id=${`reason-${tradeId}`} value=${reason} maxlength="500" onInput=${(e) => setReason(e.currentTarget.value)} />
    <button type="button" onClick=${() => act('suspend')}>${t('sup.suspend')}</button>
    <button type="button" onClick=${() => act('resume')}>${t('sup.resume')}</button>
    <button type="button" class="danger" onClick=${() => act('terminate')}>${t('sup.terminate')}</button>
    ${outcome ? html`<span class=${outcome.ok ? 'ok small' : 'error-text small'} role="status">${outcome.text}</span>` : null}
  </div>`;
}

function AlertRow({ alert, token, me, onChange }) {
  const [note, setNote] = useState('');
  const step = (action, body) =>
    api(`/api/v1/alerts/${alert.id}/${action}`, { method: 'POST', token, body: { note, ...body } })
      .then(onChange)
      .catch(reportError);
  return html`<li class=${`alert sev-${alert.severity}`} data-testid="alert">
    <div class="alert-head">
      <span class=${`badge sev-${alert.severity}`}>${t(`sup.severity.${alert.severity}`)}</span>
      <strong>${alert.finding?.rule?.name ?? alert.rule}</strong>
      <span class="muted small">${formatInstant(alert.raised_at)} · ${t(`sup.alert_status.${alert.status}`)}</span>
    </div>
    <p>${alert.summary}</p>
    <p class="small"><a href=${`#/trades/${alert.trade_id}`}>${t('sup.trade')} ${alert.trade_id.slice(0, 8)}…</a> · ${alert.region_code}
      ${alert.finding?.rule?.basis ? html` · <span class="muted">${alert.finding.rule.basis}</span>` : null}</p>
    <details><summary>${t('sup.evidence')}</summary><pre class="entry">${JSON.stringify(alert.finding?.evidence ?? {}, null, 2)}</pre></details>
    <div class="inline">
      <input aria-label=${t('sup.note')} placeholder=${t('sup.note')} value=${note} maxlength="2000" onInput=${(e) => setNote(e.currentTarget.value)} />
      ${alert.status === 'open' || alert.status === 'assigned' ? html`<button type="button" onClick=${() => step('assign', { assignee: me })}>${t('sup.assign_me')}</button>` : null}
      ${alert.status === 'assigned' ? html`<button type="button" onClick=${() => step('handle', {})}>${t('sup.handle')}</button>` : null}
      ${alert.status !== 'closed' ? html`<button type="button" onClick=${() => step('close', {})}>${t('sup.close')}</button>` : null}
    </div>
    <${Intervene} tradeId=${alert.trade_id} token=${token} onDone=${onChange} />
  </li>`;
}

export function Supervision() {
  const session = currentSession();
  const [alerts, setAlerts] = useState([]);
  const [trades, setTrades] = useState([]);
  const token = session?.token;
  const loadAlerts = () => api('/api/v1/alerts?limit=100', { token }).then((page) => setAlerts(page.alerts)).catch(reportError);
  const loadTrades = () =>
    api(`/api/v1/trades?limit=100&region=${session.identity.region}`, { token }).then((page) => setTrades(page.trades)).catch(reportError);
  const { events, view } = useFeed((m) => {
    const kind = m.entry.kind;
    if (kind.startsWith('alert.')) loadAlerts();
    if (kind.startsWith('trade.') || kind === 'opening.completed' || kind === 'sale.closed') loadTrades();
  });
  useEffect(() => {
    if (session?.identity.role === 'supervisor') {
      loadAlerts();
      loadTrades();
    }
  }, []);
  if (!session) return html`<section><p><a href="#/signin?next=/supervision">${t('signin.title')}</a></p></section>`;
  if (session.identity.role !== 'supervisor') return html`<section><p class="notice error">${t('sup.supervisors_only')}</p></section>`;
  const recent = events.slice(-STREAM_KEEP).reverse();
  return html`<section class="supervision">
    <h1>${t('sup.title')} <span class="muted small">${session.identity.region}</span></h1>
    <p class="small"><span class=${view === 'supervisor' ? 'ok' : 'error-text'} data-testid="feed-view">● ${view === 'supervisor' ? t('sup.live') : t('room.reconnecting')}</span></p>
    <div class="columns">
      <section aria-labelledby="h-alerts"><h2 id="h-alerts">${t('sup.alerts')} <span class="muted small">${alerts.filter((a) => a.status !== 'closed').length}</span></h2>
        <ul class="alerts" data-testid="alerts">${alerts.length === 0
          ? html`<li class="muted">${t('none')}</li>`
          : alerts.map((a) => html`<${AlertRow} key=${a.id} alert=${a} token=${token} me=${session.identity.id} onChange=${loadAlerts} />`)}</ul>
      </section>
      <section aria-labelledby="h-stream"><h2 id="h-stream">${t('sup.stream')}</h2>
        <ol class="stream" data-testid="stream" aria-live="polite">${recent.map((e) => html`<li key=${e.seq}>
          <span class="muted small">#${e.seq} ${formatInstant(e.entry.at).slice(11, 19)}</span>
          <code>${e.entry.kind}</code>
          ${e.entry.trade ? html` <a class="small" href=${`#/trades/${e.entry.trade}`}>${e.entry.trade.slice(0, 8)}…</a>` : null}
        </li>`)}</ol>
      </section>
    </div>
    <${Charts} events=${events} alerts=${alerts} trades=${trades} />
  </section>`;
}
