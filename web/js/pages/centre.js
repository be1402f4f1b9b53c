// The trading centre's page (交易中心): a new trade from a form for every kind and
// procedure of the rulebook, checked against the rulebook as it is filled in (the rule
// and its article, by the server's own check, POST /api/v1/trades/check); the centre's
// trades; for a draft its documents and its publication, confirmed; for a published
// trade the tasks its state asks for (web/js/pages/centre-tasks.js).
import { useEffect, useRef, useState } from 'preact/hooks';
import { html, written } from '../html.js';
import { api, ApiError } from '../api.js';
import { t, formatInstant, formatMoney, statusName, principalLabel } from '../i18n.js';
import { currentSession } from '../session.js';
import { rulebook, procedureName } from '../rulebook.js';
import { ruleName } from '../rule-names.js';
import { parseAmount } from '../money.js';
import { AmountField } from '../price-guard.js';
import { regionLabel, regionTree } from '../regions.js';
import { reportError } from '../app.js';
import { CentreTasks } from './centre-tasks.js';


/** "2026-12-28" and "10:00" in Beijing time → RFC 3339 with its offset; null if incomplete. */
function beijing(date, time) {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(date) || !/^\d{2}:\d{2}$/.test(time)) return null;
  return `${date}T${time}:00+08:00`;
}

const EMPTY = {
  kind: '', procedure: '', title: '', principal: '', principalUsci: '', region: '650100',
  estimate: '', bond: '', date: '', time: '10:00', custodians: [], threshold: '2', suite: '1',
  lots: [{ title: '', estimate: '' }], invited: '', method: 'lowest_evaluated_price', priceWeight: '30',
  criteria: [{ id: 'technical', name: '技术', weight: '60' }, { id: 'business', name: '商务', weight: '10' }],
  startPrice: '', increment: '', startDate: '', startTime: '10:00', endDate: '', endTime: '10:00',
  overview: '', qualifications: '', contactName: '', contactPhone: '', contactAddress: '',
  parcelLocation: '', parcelArea: '', parcelUse: '', parcelTerm: '',
};

/** The announcement's words as the terms take them (ADR 0037), or undefined if none. */
function announcementOf(f, live) {
  const a = {};
  if (f.overview.trim()) a.overview = f.overview.trim();
  if (f.qualifications.trim()) a.qualifications = f.qualifications.trim();
  if (f.contactName.trim() || f.contactPhone.trim()) {
    a.contact = { name: f.contactName.trim(), phone: f.contactPhone.trim() };
    if (f.contactAddress.trim()) a.contact.address = f.contactAddress.trim();
  }
  if (live && (f.parcelLocation.trim() || f.parcelArea.trim())) {
    a.parcel = { location: f.parcelLocation.trim(), area_m2: f.parcelArea.trim().replace(/,/g, ''), land_use: f.parcelUse.trim(), term_years: Number(f.parcelTerm) };
  }
  return Object.keys(a).length ? a : undefined;
}

/** The terms the form states, as POST /api/v1/trades takes them; `missing` names what is not filled in yet. */
function termsOf(f, procedure) {
  const missing = [];
  const need = (value, key) => {
    if (value === null || value === '' || value === undefined) missing.push(key);
    return value;
  };
  const live = procedure?.engine === 'live';
  const lots = f.lots.map((l, i) => ({ id: String(i + 1), title: need(l.title.trim(), 'centre.lot_title'), estimated_value: need(parseAmount(l.estimate), 'centre.lot_estimate') }));
  const terms = {
    kind: need(f.kind, 'centre.kind'),
    procedure: need(f.procedure, 'centre.procedure'),
    title: need(f.title.trim(), 'centre.title_field'),
    principal: { name: need(f.principal.trim(), 'centre.principal'), usci: need(f.principalUsci.trim().toUpperCase(), 'centre.principal_usci') },
    estimated_value: need(parseAmount(f.estimate), 'centre.estimate'),
    lots,
    region_code: f.region,
    bid_deadline: need(beijing(f.date, f.time), live ? 'centre.cutoff' : 'centre.deadline'),
    bond_amount: need(parseAmount(f.bond), live ? 'centre.deposit' : 'centre.bond'),
    committee: { custodians: f.custodians, threshold: Number(f.threshold), suite: Number(f.suite) },
  };
  if (f.custodians.length === 0) missing.push('centre.custodians');
  if (live) {
    terms.live = {
      start_price: need(parseAmount(f.startPrice), 'centre.start_price'),
      increment: need(parseAmount(f.increment), 'centre.increment'),
      starts_at: need(beijing(f.startDate, f.startTime), 'centre.starts_at'),
    };
    const ends = beijing(f.endDate, f.endTime);
    if (ends) terms.live.ends_at = ends;
  } else if (f.method === 'comprehensive_scoring') {
    terms.evaluation = {
      method: 'comprehensive_scoring',
      price_weight: Number(f.priceWeight),
      criteria: f.criteria.map((c) => ({ id: c.id.trim(), name: c.name.trim(), weight: Number(c.weight) })),
    };
  }
  const announcement = announcementOf(f, live);
  if (announcement) terms.announcement = announcement;
  if (procedure && procedure.participation !== 'open') {
    terms.invited = f.invited.split(/[\s,，;；]+/).map((s) => s.trim().toUpperCase()).filter(Boolean);
  }
  return { terms, missing: [...new Set(missing)] };
}

/** What the server's check says of the terms as they stand, shown as the form is filled in. */
function RuleCheck({ state }) {
  if (state.missing?.length) {
    return html`<p class="muted small" data-testid="rule-check">${t('centre.fill_in')}：${state.missing.map((k) => t(k)).join('、')}</p>`;
  }
  if (state.checking) return html`<p class="muted small" data-testid="rule-check">${t('centre.checking')}</p>`;
  if (state.ok) return html`<p class="ok small" data-testid="rule-check" role="status">✓ ${t('centre.rules_ok')}</p>`;
  if (state.error) {
    const { rule } = state.error.detail;
    return html`<div class="notice error" data-testid="rule-check" role="alert">
      <p><strong>${t('centre.rule_broken')}</strong>${rule ? html`：${ruleName(rule)} <code>${rule}</code>` : null}</p>
      ${rule ? null : html`<p class="small">${state.error.message} (${state.error.code})</p>`}
      ${state.error.detail.article ? html`<p class="small">${t('centre.article')}：${state.error.detail.article}</p>` : null}
    </div>`;
  }
  return null;
}

function TradeForm({ token, onCreated }) {
  const [f, setF] = useState(EMPTY);
  const [kinds, setKinds] = useState([]);
  const [custodians, setCustodians] = useState([]);
  const [check, setCheck] = useState({});
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const timer = useRef(null);
  useEffect(() => {
    rulebook().then((book) => setKinds(book.kinds)).catch(reportError);
    api('/api/v1/identities?status=active&role=custodian', { token }).then(setCustodians).catch(reportError);
  }, []);
  const kind = kinds.find((k) => k.id === f.kind);
  const procedure = kind?.procedures.find((p) => p.id === f.procedure);
  const live = procedure?.engine === 'live';
  const set = (patch) => setF((prev) => ({ ...prev, ...patch }));
  const { terms, missing } = termsOf(f, procedure);

  // The server checks the terms a moment after the last change; the newest answer wins.
  const key = JSON.stringify(terms);
  const keyRef = useRef(key);
  keyRef.current = key;
  useEffect(() => {
    clearTimeout(timer.current);
    if (missing.length) {
      setCheck({ missing });
      return undefined;
    }
    setCheck({ checking: true });
    const sent = key;
    timer.current = setTimeout(() => {
      fetch('/api/v1/trades/check', { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: sent })
        .then(async (r) => {
          const body = await r.json();
          if (sent !== keyRef.current) return;
          setCheck(body.ok ? { ok: true } : { error: ApiError.from(r.status, body) });
        })
        .catch(reportError);
    }, 400);
    return () => clearTimeout(timer.current);
  }, [key]);

  const submit = async (e) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const created = await api('/api/v1/trades', { method: 'POST', token, body: terms });
      setF(EMPTY);
      onCreated(created);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  const setLot = (i, patch) => set({ lots: f.lots.map((l, j) => (i === j ? { ...l, ...patch } : l)) });
  const setCriterion = (i, patch) => set({ criteria: f.criteria.map((c, j) => (i === j ? { ...c, ...patch } : c)) });
  const toggleCustodian = (id) => set({ custodians: f.custodians.includes(id) ? f.custodians.filter((c) => c !== id) : [...f.custodians, id] });

  return html`<form class="trade-form" onSubmit=${submit} data-testid="trade-form">
    <div class="grid">
      <div class="field"><label for="tf-kind">${t('centre.kind')}</label>
        <select id="tf-kind" value=${f.kind} onChange=${(e) => set({ kind: e.currentTarget.value, procedure: '' })} required>
          <option value="">—</option>${kinds.map((k) => html`<option key=${k.id} value=${k.id}>${k.name}</option>`)}</select></div>
      <div class="field"><label for="tf-procedure">${t('centre.procedure')}</label>
        <select id="tf-procedure" value=${f.procedure} onChange=${(e) => set({ procedure: e.currentTarget.value })} required>
          <option value="">—</option>${(kind?.procedures ?? []).map((p) => html`<option key=${p.id} value=${p.id}>${p.name}</option>`)}</select></div>
    </div>
    <div class="field"><label for="tf-title">${t('centre.title_field')}</label><input id="tf-title" value=${f.title} required onInput=${(e) => set({ title: e.currentTarget.value })} /></div>
    <div class="grid">
      <div class="field"><label for="tf-principal">${f.kind ? principalLabel(f.kind) : t('centre.principal')}</label><input id="tf-principal" value=${f.principal} required onInput=${(e) => set({ principal: e.currentTarget.value })} /></div>
      <div class="field"><label for="tf-usci">${t('centre.principal_usci')}</label><input id="tf-usci" value=${f.principalUsci} maxlength="18" required onInput=${(e) => set({ principalUsci: e.currentTarget.value })} /></div>
      <div class="field"><label for="tf-region">${t('centre.region')}</label>
        <select id="tf-region" value=${f.region} onChange=${(e) => set({ region: e.currentTarget.value })}>${regionTree().filter((r) => r.depth > 0).map((r) => html`<option key=${r.code} value=${r.code}>${'\u3000'.repeat(r.depth - 1)}${r.name}</option>`)}</select></div>
    </div>
    <fieldset class="field" data-testid="tf-announcement"><legend>${t('centre.announcement')}</legend>
      <div class="field"><label for="tf-overview">${t('notice.overview')}</label><textarea id="tf-overview" rows="4" maxlength="4000" value=${f.overview} onInput=${(e) => set({ overview: e.currentTarget.value })}></textarea></div>
      <div class="field"><label for="tf-qualifications">${live ? t('notice.qualifications_sale') : t('notice.qualifications')}</label><textarea id="tf-qualifications" rows="3" maxlength="4000" value=${f.qualifications} onInput=${(e) => set({ qualifications: e.currentTarget.value })}></textarea></div>
      <div class="grid">
        <div class="field"><label for="tf-contact-name">${t('notice.contact_name')}</label><input id="tf-contact-name" maxlength="200" value=${f.contactName} onInput=${(e) => set({ contactName: e.currentTarget.value })} /></div>
        <div class="field"><label for="tf-contact-phone">${t('notice.contact_phone')}</label><input id="tf-contact-phone" type="tel" maxlength="32" value=${f.contactPhone} onInput=${(e) => set({ contactPhone: e.currentTarget.value })} /></div>
        <div class="field"><label for="tf-contact-address">${t('notice.contact_address')}</label><input id="tf-contact-address" maxlength="200" value=${f.contactAddress} onInput=${(e) => set({ contactAddress: e.currentTarget.value })} /></div>
      </div>
      ${live
        ? html`<div class="grid">
            <div class="field"><label for="tf-parcel-location">${t('notice.parcel.location')}</label><input id="tf-parcel-location" maxlength="200" value=${f.parcelLocation} onInput=${(e) => set({ parcelLocation: e.currentTarget.value })} /></div>
            <div class="field"><label for="tf-parcel-area">${t('centre.parcel_area')}</label><input id="tf-parcel-area" inputmode="decimal" value=${f.parcelArea} onInput=${(e) => set({ parcelArea: e.currentTarget.value })} /></div>
            <div class="field"><label for="tf-parcel-use">${t('notice.parcel.use')}</label><input id="tf-parcel-use" maxlength="200" value=${f.parcelUse} onInput=${(e) => set({ parcelUse: e.currentTarget.value })} /></div>
            <div class="field"><label for="tf-parcel-term">${t('centre.parcel_term')}</label><input id="tf-parcel-term" inputmode="numeric" size="4" value=${f.parcelTerm} onInput=${(e) => set({ parcelTerm: e.currentTarget.value })} /></div>
          </div>`
        : null}
    </fieldset>
    <${AmountField} id="tf-estimate" label=${t('centre.estimate')} value=${f.estimate} onInput=${(v) => set({ estimate: v })} />
    <fieldset class="field"><legend>${t('centre.lots')}</legend>
      ${f.lots.map((l, i) => html`<div class="lot" key=${i}>
        <div class="field"><label for=${`tf-lot-${i}-title`}>${t('centre.lot_title')} ${i + 1}</label><input id=${`tf-lot-${i}-title`} value=${l.title} required onInput=${(e) => setLot(i, { title: e.currentTarget.value })} /></div>
        <${AmountField} id=${`tf-lot-${i}-estimate`} label=${`${t('centre.lot_estimate')} ${i + 1}`} value=${l.estimate} onInput=${(v) => setLot(i, { estimate: v })} />
        ${f.lots.length > 1 ? html`<button type="button" onClick=${() => set({ lots: f.lots.filter((_, j) => j !== i) })}>${t('centre.remove_lot')} ${i + 1}</button>` : null}
      </div>`)}
      <button type="button" data-testid="add-lot" onClick=${() => set({ lots: [...f.lots, { title: '', estimate: '' }] })}>${t('centre.add_lot')}</button>
    </fieldset>
    <div class="grid">
      <div class="field"><label for="tf-date">${live ? t('centre.cutoff') : t('centre.deadline')}</label><input id="tf-date" type="date" value=${f.date} required onInput=${(e) => set({ date: e.currentTarget.value })} /></div>
      <div class="field"><label for="tf-time">${t('centre.time')}</label><input id="tf-time" type="time" value=${f.time} required onInput=${(e) => set({ time: e.currentTarget.value })} /></div>
    </div>
    <${AmountField} id="tf-bond" label=${live ? t('centre.deposit') : t('centre.bond')} value=${f.bond} onInput=${(v) => set({ bond: v })} />
    ${live
      ? html`<fieldset class="field"><legend>${t('centre.sale_terms')}</legend>
          <${AmountField} id="tf-start-price" label=${t('centre.start_price')} value=${f.startPrice} onInput=${(v) => set({ startPrice: v })} />
          <${AmountField} id="tf-increment" label=${t('centre.increment')} value=${f.increment} onInput=${(v) => set({ increment: v })} />
          <div class="grid">
            <div class="field"><label for="tf-start-date">${t('centre.starts_at')}</label><input id="tf-start-date" type="date" value=${f.startDate} onInput=${(e) => set({ startDate: e.currentTarget.value })} /></div>
            <div class="field"><label for="tf-start-time">${t('centre.time')}</label><input id="tf-start-time" type="time" value=${f.startTime} onInput=${(e) => set({ startTime: e.currentTarget.value })} /></div>
            <div class="field"><label for="tf-end-date">${t('centre.ends_at')}</label><input id="tf-end-date" type="date" value=${f.endDate} onInput=${(e) => set({ endDate: e.currentTarget.value })} /></div>
            <div class="field"><label for="tf-end-time">${t('centre.time')}</label><input id="tf-end-time" type="time" value=${f.endTime} onInput=${(e) => set({ endTime: e.currentTarget.value })} /></div>
          </div></fieldset>`
      : html`<fieldset class="field"><legend>${t('centre.evaluation')}</legend>
          <label class="check"><input type="radio" name="tf-method" value="lowest_evaluated_price" checked=${f.method === 'lowest_evaluated_price'} onChange=${() => set({ method: 'lowest_evaluated_price' })} /> ${t('expert.method.lowest_evaluated_price')}</label>
          <label class="check"><input type="radio" name="tf-method" value="comprehensive_scoring" checked=${f.method === 'comprehensive_scoring'} onChange=${() => set({ method: 'comprehensive_scoring' })} /> ${t('expert.method.comprehensive_scoring')}</label>
          ${f.method === 'comprehensive_scoring'
            ? html`<div class="field inline"><label for="tf-price-weight">${t('centre.price_weight')}</label><input id="tf-price-weight" size="4" value=${f.priceWeight} onInput=${(e) => set({ priceWeight: e.currentTarget.value })} /></div>
                ${f.criteria.map((c, i) => html`<div class="field inline" key=${i}>
                  <label for=${`tf-criterion-${i}-name`}>${t('centre.criterion')} ${i + 1}</label><input id=${`tf-criterion-${i}-name`} value=${c.name} onInput=${(e) => setCriterion(i, { name: e.currentTarget.value })} />
                  <label for=${`tf-criterion-${i}-id`}>${t('centre.criterion_id')}</label><input id=${`tf-criterion-${i}-id`} size="10" value=${c.id} onInput=${(e) => setCriterion(i, { id: e.currentTarget.value })} />
                  <label for=${`tf-criterion-${i}-weight`}>${t('centre.weight')}</label><input id=${`tf-criterion-${i}-weight`} size="4" value=${c.weight} onInput=${(e) => setCriterion(i, { weight: e.currentTarget.value })} /></div>`)}
                <button type="button" onClick=${() => set({ criteria: [...f.criteria, { id: '', name: '', weight: '' }] })}>${t('centre.add_criterion')}</button>`
            : null}</fieldset>`}
    ${procedure && procedure.participation !== 'open'
      ? html`<div class="field"><label for="tf-invited">${t('centre.invited')}</label><textarea id="tf-invited" rows="3" value=${f.invited} onInput=${(e) => set({ invited: e.currentTarget.value })}></textarea>
          <p class="small muted">${t('centre.invited_hint')}</p></div>`
      : null}
    <fieldset class="field" data-testid="tf-custodians"><legend>${t('centre.custodians')}</legend>
      ${custodians.length === 0 ? html`<p class="muted small">${t('none')}</p>` : null}
      ${custodians.map((c) => html`<label class="check" key=${c.id}><input type="checkbox" value=${c.id} checked=${f.custodians.includes(c.id)} onChange=${() => toggleCustodian(c.id)} /> ${written(c.organization)} <span class="small muted" lang="zh-CN">${c.subject}</span></label>`)}
      <div class="field inline"><label for="tf-threshold">${t('centre.threshold')}</label><input id="tf-threshold" size="3" inputmode="numeric" value=${f.threshold} onInput=${(e) => set({ threshold: e.currentTarget.value })} /></div>
      <div class="field"><label for="tf-suite">${t('centre.suite')}</label>
        <select id="tf-suite" value=${f.suite} onChange=${(e) => set({ suite: e.currentTarget.value })}>
          <option value="1">${t('centre.suite_1')}</option>
          <option value="2">${t('centre.suite_2')}</option>
        </select>
        <p class="small muted">${t('centre.suite_hint')}</p></div>
    </fieldset>
    <${RuleCheck} state=${check} />
    <button type="submit" class="primary" disabled=${busy || !check.ok}>${t('centre.create')}</button>
    ${error ? html`<p class="notice error" role="alert">${error.message} (${error.code})</p>` : null}
  </form>`;
}

/** A draft's documents (uploaded as they are) and its publication, confirmed. */
function Draft({ trade, token, onChange }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const [confirming, setConfirming] = useState(false);
  const upload = async (e) => {
    e.preventDefault();
    const file = e.currentTarget.elements.document.files?.[0];
    if (!file) return;
    setBusy(true);
    setError(null);
    try {
      await api(`/api/v1/trades/${trade.id}/documents/${encodeURIComponent(file.name)}`, {
        method: 'PUT', token, bytes: file, contentType: file.type || 'application/octet-stream',
      });
      e.target.reset();
      onChange();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  const publish = async () => {
    setBusy(true);
    setError(null);
    try {
      await api(`/api/v1/trades/${trade.id}/publish`, { method: 'POST', token });
      setConfirming(false);
      onChange();
    } catch (err) {
      setError(err);
      setConfirming(false);
    } finally {
      setBusy(false);
    }
  };
  return html`<div class="draft" data-testid="draft">
    <ul class="plain">${trade.documents.map((d) => html`<li key=${d.sha256}>${d.name} <span class="small muted">${d.sha256.slice(0, 16)}…</span></li>`)}</ul>
    <form class="inline" onSubmit=${upload}>
      <label for=${`doc-${trade.id}`}>${t('centre.document')}</label>
      <input id=${`doc-${trade.id}`} name="document" type="file" required />
      <button type="submit" disabled=${busy}>${t('centre.upload')}</button>
    </form>
    ${confirming
      ? html`<div class="confirm" role="group" aria-labelledby=${`publish-${trade.id}`} data-testid="publish-confirm">
          <p id=${`publish-${trade.id}`}><strong>${t('centre.confirm_publish', { title: trade.title })}</strong></p>
          <p class="small">${t('centre.publish_restated', { deadline: formatInstant(trade.bid_deadline), documents: trade.documents.length })}</p>
          <div class="actions">
            <button type="button" class="primary" data-testid="publish-confirm-button" disabled=${busy} onClick=${publish}>${t('centre.publish')}</button>
            <button type="button" disabled=${busy} onClick=${() => setConfirming(false)}>${t('amount.back')}</button>
          </div></div>`
      : html`<button type="button" class="primary" data-testid="publish" disabled=${busy || trade.documents.length === 0} onClick=${() => setConfirming(true)}>${t('centre.publish')}</button>`}
    ${error ? html`<p class="notice error" role="alert" data-testid="draft-error">${error.message}${error.code ? ` (${error.code})` : ''}</p>` : null}
  </div>`;
}

export function CentrePage() {
  const session = currentSession();
  const [trades, setTrades] = useState(null);
  const [kinds, setKinds] = useState([]);
  const token = session?.token;
  const load = () => api('/api/v1/trades?limit=50', { token }).then((page) => setTrades(page.trades)).catch(reportError);
  useEffect(() => {
    if (session?.identity.role !== 'trading_centre') return;
    load();
    rulebook().then((book) => setKinds(book.kinds)).catch(reportError);
  }, [token]);
  if (!session) return html`<section><p><a href="#/signin?next=/centre">${t('signin.title')}</a></p></section>`;
  if (session.identity.role !== 'trading_centre') return html`<section><p class="notice error">${t('centre.centre_only')}</p></section>`;
  const refresh = async (id) => {
    if (!id) return load();
    const fresh = await api(`/api/v1/trades/${id}`, { token });
    setTrades((prev) => (prev ?? []).map((tr) => (tr.id === id ? fresh : tr)));
    return null;
  };
  return html`<section>
    <h1>${t('centre.title')}</h1>
    <section aria-labelledby="h-trades"><h2 id="h-trades">${t('centre.trades')}</h2>
      <ul class="centre-trades plain" data-testid="centre-trades">${trades === null
        ? html`<li class="muted">${t('loading')}</li>`
        : trades.length === 0
          ? html`<li class="muted">${t('none')}</li>`
          : trades.map((tr) => html`<li key=${tr.id} data-testid="centre-trade">
              <p><a href=${`#/trades/${tr.id}`} lang="zh-CN">${tr.title}</a> <span class=${`status s-${tr.status}`}>${statusName(tr.status)}</span>
                <span class="small muted">${procedureName(kinds, tr.kind, tr.procedure)} · ${regionLabel(tr.region_code)} · ${formatMoney(tr.estimated_value)} · ${formatInstant(tr.bid_deadline)}</span></p>
              ${tr.status === 'draft'
                ? html`<${Draft} trade=${tr} token=${token} onChange=${() => refresh(tr.id).catch(reportError)} />`
                : html`<${CentreTasks} trade=${tr} session=${session} onChange=${() => refresh(tr.id).catch(reportError)} />`}
            </li>`)}</ul>
    </section>
    <section aria-labelledby="h-new"><h2 id="h-new">${t('centre.new')}</h2>
      <${TradeForm} token=${token} onCreated=${() => load()} />
    </section>
  </section>`;
}
