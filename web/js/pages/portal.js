// The public portal: trades with filters (kind, status, region, publication dates) and
// full-text search. The filters live in the URL, so a filtered list can be linked.
import { useEffect, useState } from 'preact/hooks';
import { html } from '../html.js';
import { regionName, regionTree } from '../regions.js';
import { api, query } from '../api.js';
import { t, statusName, formatInstant, formatMoney } from '../i18n.js';
import { navigate, reportError } from '../app.js';
import { rulebook, procedureName } from '../rulebook.js';

/** The notice categories people look for, each the trades at the stage that publishes it. */
const CATEGORIES = [
  ['', 'portal.category.all'],
  ['published', 'portal.category.announcements'],
  ['publicity', 'portal.category.candidates'],
  ['awarded', 'portal.category.awards'],
  ['contracted', 'portal.category.contracts'],
  ['sold', 'portal.category.sold'],
  ['failed', 'portal.category.failed'],
  ['terminated', 'portal.category.terminated'],
];

const STATUSES = ['published', 'opened', 'publicity', 'awarded', 'contracted', 'sold', 'failed', 'suspended', 'terminated'];
const FIELDS = ['q', 'kind', 'status', 'region', 'from', 'to'];

// A date picked in the form is a day in Beijing; the API takes instants.
const dayStart = (day) => (day ? `${day}T00:00:00+08:00` : undefined);
const dayAfter = (day) => {
  if (!day) return undefined;
  const next = new Date(`${day}T00:00:00+08:00`);
  next.setUTCDate(next.getUTCDate() + 1);
  return next.toISOString();
};

/** One page of rows: the search when there are words, else the listing. */
async function fetchPage(filters, cursor) {
  const common = { kind: filters.kind, status: filters.status, from: dayStart(filters.from), to: dayAfter(filters.to) };
  if (filters.q) {
    const page = await api(`/api/v1/search${query({ ...common, q: filters.q, region: filters.region, cursor })}`);
    return {
      rows: page.results.map((r) => ({ id: r.trade_id, title: r.title, kind: r.kind, procedure: r.procedure, region: r.region_code, status: r.status, published: r.published_at, estimate: r.estimated_value })),
      next: page.next ?? null,
    };
  }
  const page = await api(`/api/v1/trades${query({ ...common, region: filters.region, cursor, limit: 20 })}`);
  return {
    rows: page.trades.map((tr) => ({ id: tr.id, title: tr.title, kind: tr.kind, procedure: tr.procedure, region: tr.region_code, status: tr.phase ?? tr.status, published: tr.published_at, deadline: tr.bid_deadline, estimate: tr.estimated_value, demo: tr.demo })),
    next: page.next_cursor ?? null,
  };
}

function Filters({ filters, kinds }) {
  const [form, setForm] = useState(filters);
  useEffect(() => setForm(filters), [JSON.stringify(filters)]);
  const field = (name) => ({ id: `f-${name}`, name, value: form[name] ?? '', onInput: (e) => setForm({ ...form, [name]: e.currentTarget.value }) });
  const submit = (e) => {
    e.preventDefault();
    navigate('/', Object.fromEntries(FIELDS.map((f) => [f, (form[f] ?? '').trim()])));
  };
  return html`<form class="filters" role="search" onSubmit=${submit}>
    <div class="field grow"><label for="f-q">${t('portal.search')}</label>
      <input type="search" placeholder=${t('portal.search_placeholder')} maxlength="100" ...${field('q')} /></div>
    <div class="field"><label for="f-kind">${t('portal.kind')}</label>
      <select ...${field('kind')}><option value="">${t('portal.any')}</option>
        ${kinds.map((k) => html`<option value=${k.id}>${k.name}</option>`)}</select></div>
    <div class="field"><label for="f-status">${t('portal.status')}</label>
      <select ...${field('status')}><option value="">${t('portal.any')}</option>
        ${STATUSES.map((s) => html`<option value=${s}>${statusName(s)}</option>`)}</select></div>
    <div class="field"><label for="f-region">${t('portal.region')}</label>
      <select ...${field('region')}><option value="">${t('portal.any')}</option>
        ${regionTree().map((r) => html`<option key=${r.code} value=${r.code}>${'\u3000'.repeat(r.depth)}${r.name}</option>`)}</select></div>
    <div class="field"><label for="f-from">${t('portal.from')}</label><input type="date" ...${field('from')} /></div>
    <div class="field"><label for="f-to">${t('portal.to')}</label><input type="date" ...${field('to')} /></div>
    <div class="actions">
      <button type="submit" class="primary">${t('portal.apply')}</button>
      <button type="button" onClick=${() => navigate('/')}>${t('portal.reset')}</button>
    </div>
  </form>`;
}

export function Portal({ params }) {
  const filters = Object.fromEntries(FIELDS.map((f) => [f, params[f] ?? '']));
  const key = JSON.stringify(filters);
  const [kinds, setKinds] = useState([]);
  const [rows, setRows] = useState(null);
  const [next, setNext] = useState(null);
  const [error, setError] = useState(null);

  useEffect(() => {
    rulebook().then((book) => setKinds(book.kinds)).catch(reportError);
  }, []);
  useEffect(() => {
    const ctl = { live: true };
    setRows(null);
    setError(null);
    fetchPage(filters, undefined)
      .then((page) => {
        if (!ctl.live) return;
        setRows(page.rows);
        setNext(page.next);
      })
      .catch((e) => ctl.live && setError(e));
    return () => {
      ctl.live = false;
    };
  }, [key]);

  const more = () =>
    fetchPage(filters, next)
      .then((page) => {
        setRows([...rows, ...page.rows]);
        setNext(page.next);
      })
      .catch(reportError);

  return html`<section>
    <h1>${t('portal.title')}</h1>
    <${Filters} filters=${filters} kinds=${kinds} />
    ${error ? html`<p class="notice error" role="alert">${error.message}</p>` : null}
    <nav class="tabs" aria-label=${t('portal.category_tabs')} data-testid="category-tabs">
      ${CATEGORIES.map(([status, key]) => html`<a key=${status || 'all'} href=${`#/${query({ ...filters, status })}`}
        aria-current=${filters.status === status ? 'page' : undefined}>${t(key)}</a>`)}
    </nav>
    <nav class="tabs" aria-label=${t('portal.kind_tabs')} data-testid="kind-tabs">
      ${[{ id: '', name: t('portal.all_kinds') }, ...kinds].map((k) => html`<a key=${k.id || 'all'} href=${`#/${query({ ...filters, kind: k.id })}`}
        aria-current=${filters.kind === k.id ? 'page' : undefined}>${k.name}</a>`)}
    </nav>
    <div class="table-wrap">
    <table class="trades" data-testid="trade-list" aria-busy=${rows === null}>
      <caption class="sr-only">${t('portal.results')}</caption>
      <thead><tr><th scope="col">${t('col.title')}</th><th scope="col">${t('col.kind')}</th><th scope="col">${t('col.region')}</th>
        <th scope="col">${t('col.status')}</th><th scope="col">${t('col.published')}</th><th scope="col">${t('col.deadline')}</th><th scope="col" class="num">${t('col.estimate')}</th></tr></thead>
      <tbody>
        ${rows === null
          ? html`<tr><td colspan="7" class="muted">${t('loading')}</td></tr>`
          : rows.length === 0
            ? html`<tr><td colspan="7" class="muted">${t('portal.empty')}</td></tr>`
            : rows.map((r) => html`<tr key=${r.id}>
                <td><a href=${`#/trades/${r.id}`} lang="zh-CN">${r.title}</a>${r.demo ? html` <span class="badge demo">DEMO</span>` : null}</td>
                <td>${procedureName(kinds, r.kind, r.procedure)}</td>
                <td>${regionName(r.region)}</td>
                <td><span class=${`status s-${r.status}`}>${statusName(r.status)}</span></td>
                <td>${formatInstant(r.published)}</td>
                <td>${r.deadline ? formatInstant(r.deadline) : '—'}</td>
                <td class="num">${formatMoney(r.estimate)}</td>
              </tr>`)}
      </tbody>
    </table>
    </div>
    ${next ? html`<p><button type="button" onClick=${more}>${t('more')}</button></p>` : null}
    <p class="muted">${t('portal.open_data')}: <a href="/api/v1/ocds/releases">${t('portal.ocds')}</a> · <a href="/api/v1/events">${t('portal.events')}</a> · <a href="#/log">${t('nav.log')}</a></p>
  </section>`;
}
