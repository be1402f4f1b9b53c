// One risk alert on the supervision page: its rule, the trade by title and the region by
// name, the evidence as a readable table with links, its workflow (assign, handle,
// close), and the interventions the trade's state allows, each confirmed first.
import { useState } from 'preact/hooks';
import { html } from '../html.js';
import { api } from '../api.js';
import { t, lang, formatInstant, formatMoney, statusName } from '../i18n.js';
import { regionLabel } from '../regions.js';
import { reportError } from '../app.js';

/** Severity first (red, orange, yellow), open before closed, then the newest first. */
const SEVERITY = { red: 0, orange: 1, yellow: 2 };
export function byUrgency(a, b) {
  return (
    (a.status === 'closed') - (b.status === 'closed') ||
    (SEVERITY[a.severity] ?? 3) - (SEVERITY[b.severity] ?? 3) ||
    new Date(b.raised_at) - new Date(a.raised_at)
  );
}

const MONEY = /price|amount|mean|lowest|deposit/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/;

/** A risk rule's name: the platform's own (Chinese) in Chinese pages, ours in English. */
export function ruleTitle(alert) {
  const id = alert.finding?.rule?.id ?? alert.rule;
  const name = alert.finding?.rule?.name ?? id;
  if (lang() === 'zh-CN') return name;
  const key = `risk.rule.${id}`;
  return t(key) === key ? name : t(key);
}

/** What the rule found: the server's words in Chinese pages; in English, ours with the
 * number of bidders it concerns (the evidence below has the particulars). */
function summaryOf(alert) {
  if (lang() === 'zh-CN') return alert.summary;
  const id = alert.finding?.rule?.id ?? alert.rule;
  const key = `risk.summary.${id}`;
  const text = t(key, { n: alert.finding?.subjects?.length ?? '' });
  return text === key ? alert.summary : text;
}

/** A label for an evidence field: ours when we have one, else the field's own name. */
function label(key) {
  const text = t(`evidence.${key}`);
  return text === `evidence.${key}` ? key : text;
}

/** One evidence value, for people: money, instants, trades and log entries as links. */
function Value({ name, value, titles }) {
  if (value === null || value === undefined) return html`—`;
  if (typeof value === 'boolean') return value ? t('yes') : t('no');
  if (typeof value === 'number') {
    if (name === 'seq' || name === 'log_index') return html`<a href=${`#/log?entry=${value}`}>${value}</a>`;
    return MONEY.test(name) ? formatMoney(value) : String(value);
  }
  if (typeof value === 'string') {
    if (UUID.test(value)) return html`<a href=${`#/trades/${value}`} lang="zh-CN">${titles[value] ?? `${value.slice(0, 8)}…`}</a>`;
    if (INSTANT.test(value)) return formatInstant(value);
    if (/region/.test(name) && /^\d{6}$/.test(value)) return html`<span title=${value}>${regionLabel(value)}</span>`;
    // Text in Chinese is data (a name, an address), marked as such in English pages.
    return /[\u4e00-\u9fff]/.test(value) ? html`<span lang="zh-CN">${value}</span>` : value;
  }
  if (Array.isArray(value)) {
    if (value.every((v) => v === null || typeof v !== 'object')) {
      return html`${value.map((v, i) => html`${i ? '、' : ''}<${Value} name=${name} value=${v} titles=${titles} />`)}`;
    }
    const columns = [...new Set(value.flatMap((v) => (v && typeof v === 'object' ? Object.keys(v) : [])))];
    return html`<div class="table-wrap"><table class="evidence small">
      <thead><tr>${columns.map((c) => html`<th scope="col" key=${c}>${label(c)}</th>`)}</tr></thead>
      <tbody>${value.map((row, i) => html`<tr key=${i}>${columns.map((c) => html`<td key=${c}><${Value} name=${c} value=${row?.[c]} titles=${titles} /></td>`)}</tr>`)}</tbody>
    </table></div>`;
  }
  return html`<${Evidence} evidence=${value} titles=${titles} />`;
}

/** An alert's evidence as a table of its fields. */
export function Evidence({ evidence, titles }) {
  const entries = Object.entries(evidence ?? {});
  if (entries.length === 0) return html`<p class="muted small">${t('none')}</p>`;
  return html`<table class="evidence small"><tbody>${entries.map(
    ([key, value]) => html`<tr key=${key}><th scope="row">${label(key)}</th><td><${Value} name=${key} value=${value} titles=${titles} /></td></tr>`,
  )}</tbody></table>`;
}

/** What the trade's state allows: suspend a published trade, resume a suspended one, terminate either. */
function allowed(status) {
  return {
    suspend: status === 'published',
    resume: status === 'suspended',
    terminate: status === 'published' || status === 'suspended',
  };
}

function Intervene({ alertId, trade, token, onDone }) {
  const [reason, setReason] = useState('');
  const [pending, setPending] = useState(null);
  const [outcome, setOutcome] = useState(null);
  const [busy, setBusy] = useState(false);
  if (!trade) return null;
  const can = allowed(trade.status);
  const act = async () => {
    setBusy(true);
    try {
      const after = await api(`/api/v1/trades/${trade.id}/${pending}`, { method: 'POST', token, body: { reason: reason.trim() } });
      const done = { suspend: 'sup.suspended', resume: 'sup.resumed', terminate: 'sup.terminated' }[pending];
      setOutcome({ ok: true, done, status: after.status });
      setPending(null);
      setReason('');
      onDone();
    } catch (e) {
      setOutcome({ ok: false, error: e });
      setPending(null);
    } finally {
      setBusy(false);
    }
  };
  const id = `reason-${alertId}`;
  const ask = (action) => {
    setOutcome(null);
    if (reason.trim() === '') {
      setOutcome({ ok: false, key: 'sup.reason_required' });
      document.getElementById(id)?.focus();
      return;
    }
    setPending(action);
  };
  return html`<div class="intervene" data-testid="intervene">
    <span class="small">${t('sup.trade_status')}：<strong>${statusName(trade.status)}</strong></span>
    ${can.suspend || can.resume || can.terminate
      ? html`<label for=${id} class="small">${t('sup.reason')}</label>
          <input id=${id} value=${reason} maxlength="500" onInput=${(e) => setReason(e.currentTarget.value)} />
          ${can.suspend ? html`<button type="button" data-action="suspend" onClick=${() => ask('suspend')}>${t('sup.suspend')}</button>` : null}
          ${can.resume ? html`<button type="button" data-action="resume" onClick=${() => ask('resume')}>${t('sup.resume')}</button>` : null}
          ${can.terminate ? html`<button type="button" data-action="terminate" class="danger" onClick=${() => ask('terminate')}>${t('sup.terminate')}</button>` : null}`
      : html`<span class="muted small">${t('sup.no_intervention')}</span>`}
    ${pending
      ? html`<div class="confirm small" role="group" aria-labelledby=${`${id}-confirm`} data-testid="intervene-confirm">
          <p id=${`${id}-confirm`}><strong>${t(`sup.confirm_${pending}`, { title: trade.title })}</strong></p>
          <p>${t('sup.reason')}：${reason.trim()}</p>
          <div class="actions">
            <button type="button" class=${pending === 'terminate' ? 'danger' : 'primary'} data-testid="intervene-confirm-button" disabled=${busy} onClick=${act}>${t(`sup.${pending}`)}</button>
            <button type="button" disabled=${busy} onClick=${() => setPending(null)}>${t('amount.back')}</button>
          </div>
        </div>`
      : null}
    ${outcome
      ? html`<span class=${outcome.ok ? 'ok small' : 'error-text small'} role="status">${outcome.ok
          ? `${t(outcome.done)} · ${statusName(outcome.status)}`
          : outcome.error ? `${outcome.error.message} (${outcome.error.code})` : t(outcome.key)}</span>`
      : null}
  </div>`;
}

export function AlertRow({ alert, trade, titles, token, me, onChange }) {
  const [note, setNote] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  // Each step needs a note (the record of what was done); a refusal shows beside it.
  const step = async (action, body) => {
    setBusy(true);
    setError(null);
    try {
      await api(`/api/v1/alerts/${alert.id}/${action}`, { method: 'POST', token, body: { note: note.trim(), ...body } });
      setNote('');
      onChange();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  const off = busy || note.trim() === '';
  const noteId = `note-${alert.id}`;
  return html`<li class=${`alert sev-${alert.severity}`} data-testid="alert">
    <div class="alert-head">
      <span class=${`badge sev-${alert.severity}`}>${t(`sup.severity.${alert.severity}`)}</span>
      <strong>${ruleTitle(alert)}</strong>
      <span class="muted small">${formatInstant(alert.raised_at)} · ${t(`sup.alert_status.${alert.status}`)}</span>
    </div>
    <p>${summaryOf(alert)}</p>
    <p class="small"><a href=${`#/trades/${alert.trade_id}`} data-testid="alert-trade" lang="zh-CN">${trade?.title ?? `${t('sup.trade')} ${alert.trade_id.slice(0, 8)}…`}</a>
      · <span data-testid="alert-region">${regionLabel(alert.region_code)}</span>
      ${alert.finding?.rule?.basis ? html` · <span class="muted" lang="zh-CN">${alert.finding.rule.basis}</span>` : null}</p>
    <details><summary>${t('sup.evidence')}</summary><div data-testid="evidence"><${Evidence} evidence=${alert.finding?.evidence} titles=${titles} /></div></details>
    <div class="inline">
      <label for=${noteId} class="sr-only">${t('sup.note')}</label>
      <input id=${noteId} placeholder=${t('sup.note')} value=${note} maxlength="2000" onInput=${(e) => setNote(e.currentTarget.value)} />
      ${alert.status === 'open' || alert.status === 'assigned' ? html`<button type="button" data-testid="alert-assign" disabled=${off} onClick=${() => step('assign', { assignee: me })}>${t('sup.assign_me')}</button>` : null}
      ${alert.status === 'assigned' ? html`<button type="button" data-testid="alert-handle" disabled=${off} onClick=${() => step('handle', {})}>${t('sup.handle')}</button>` : null}
      ${alert.status !== 'closed' ? html`<button type="button" data-testid="alert-close" disabled=${off} onClick=${() => step('close', {})}>${t('sup.close')}</button>` : null}
      ${alert.status !== 'closed' ? html`<span class="small muted">${t('sup.note_needed')}</span>` : null}
    </div>
    ${error ? html`<p class="notice error" role="alert">${error.message} (${error.code})</p>` : null}
    <${Intervene} alertId=${alert.id} trade=${trade} token=${token} onDone=${onChange} />
  </li>`;
}
