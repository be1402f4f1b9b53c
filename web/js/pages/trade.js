// One trade for the public: the announcement, its documents with their hashes and change
// notices, the answered clarifications, the schedule on the working-day calendar, and afterwards the opening
// record, the candidates and the result (or a live sale's outcome).
import { useEffect, useState } from 'preact/hooks';
import { html } from '../html.js';
import { downloadJson } from '../download.js';
import { api, query } from '../api.js';
import { loadTradeRecord, noticesOf, scheduleSteps } from '../notices.js';
import { t, statusName, formatInstant, formatMoney, principalLabel } from '../i18n.js';
import { rulebook, procedureName } from '../rulebook.js';
import { reportError } from '../app.js';
import { currentSession } from '../session.js';
import { BidderPart, AwardNotice } from './trade-bidder.js';
import { Documents } from './trade-documents.js';
import { regionLabel } from '../regions.js';


/** Working days after `from` up to and including the day of `to`, on the platform calendar. */
async function workingDays(from, to) {
  const day = (iso) => new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Shanghai' }).format(new Date(iso));
  const start = new Date(from);
  start.setUTCDate(start.getUTCDate() + 1);
  if (new Date(to) <= start) return 0;
  const days = await api(`/api/v1/calendar/days${query({ from: day(start.toISOString()), to: day(to) })}`);
  return days.days.filter((d) => d.working).length;
}

function Schedule({ trade, result }) {
  const [counts, setCounts] = useState({});
  const steps = [
    ...scheduleSteps(trade),
    ...(result?.publicity_until ? [{ key: 'publicity_until', at: result.publicity_until, from: result.publicity_from }] : []),
  ];

  useEffect(() => {
    const ctl = { live: true };
    const spans = steps.slice(1).map((s, i) => ({ key: s.key, from: s.from ?? steps[i].at, to: s.at }));
    Promise.all(spans.map((s) => workingDays(s.from, s.to).then((n) => [s.key, { n, days: Math.round((new Date(s.to) - new Date(s.from)) / 86_400_000) }])))
      .then((pairs) => ctl.live && setCounts(Object.fromEntries(pairs)))
      .catch(() => {}); // A year the calendar does not know: the instants still show.
    return () => {
      ctl.live = false;
    };
  }, [trade.id, trade.bid_deadline, result?.publicity_until]);

  return html`<section aria-labelledby="h-schedule">
    <h2 id="h-schedule">${t('trade.schedule')}</h2>
    <ol class="schedule">
      ${steps.map((s) => html`<li key=${s.key}>
        <span class="what">${t(`trade.${s.key}`)}</span>
        <time datetime=${s.at}>${formatInstant(s.at)}</time>
        ${counts[s.key] ? html`<span class="muted">${t('trade.working_days', { n: counts[s.key].n })} · ${t('trade.calendar_days', { n: counts[s.key].days })}</span>` : null}
      </li>`)}
    </ol>
    <p class="muted small">${t('trade.schedule_note')}</p>
  </section>`;
}

/** The trade's notices (公告) by category, each a page of its own. */
function NoticeList({ record }) {
  const list = noticesOf(record);
  if (list.length === 0) return null;
  return html`<section aria-labelledby="h-notice-list" data-testid="notice-list">
    <h2 id="h-notice-list">${t('notice.list')}</h2>
    <ul class="notice-list">${list.map((n) => html`<li key=${n.key}>
      <a href=${`#/trades/${record.trade.id}/notices/${n.key}`}>${n.category}</a>
      ${n.at ? html` <time class="muted small" datetime=${n.at}>${formatInstant(n.at)}</time>` : null}
    </li>`)}</ul>
  </section>`;
}

function Clarifications({ items }) {
  if (items.length === 0) return null;
  return html`<section aria-labelledby="h-clar">
    <h2 id="h-clar">${t('trade.clarifications')}</h2>
    <dl class="clarifications">${items.map((c) => html`
      <dt key=${`q${c.id}`}><span class="badge">${t('trade.question')}</span> <span lang="zh-CN">${c.question}</span></dt>
      <dd key=${`a${c.id}`}><span class="badge">${t('trade.answer')}</span> <span lang="zh-CN">${c.answer}</span> <span class="muted small">${formatInstant(c.answered_at)}</span></dd>`)}</dl>
  </section>`;
}

function Opening({ opening }) {
  const signed = opening?.opening;
  const download = () => downloadJson(`opening-record-${signed.record.trade}.json`, signed);
  return html`<section aria-labelledby="h-opening" data-testid="opening">
    <h2 id="h-opening">${t('trade.opening')}</h2>
    ${!signed
      ? html`<p class="muted">${t('trade.opening_none')}</p>`
      : html`<p><span class=${`status s-${signed.record.outcome}`}>${statusName(signed.record.outcome)}</span>
          <span class="muted"> · ${formatInstant(signed.record.opened_at)}</span>
          ${signed.record.reason ? html` · ${signed.record.reason}` : null}
          <button type="button" class="link" onClick=${download}>${t('trade.opening_download')}</button></p>
        <div class="table-wrap"><table>
          <thead><tr><th scope="col">#</th><th scope="col">${t('trade.bidder')}</th><th scope="col" class="num">${t('trade.price')}</th><th scope="col">${t('col.status')}</th></tr></thead>
          <tbody>${signed.record.bids.map((b) => html`<tr key=${b.log_index}>
            <td><a href=${`#/log?entry=${b.log_index}`} title=${t('trade.log_link')}>${b.log_index}</a></td>
            <td lang="zh-CN">${b.organization.name}</td>
            <td class="num">${b.price === null ? '—' : formatMoney(b.price)}</td>
            <td>${b.valid ? t('trade.valid') : html`${t('trade.invalid')} <span class="muted small">${b.reason}</span>`}</td>
          </tr>`)}</tbody>
        </table></div>`}
  </section>`;
}

function Result({ result }) {
  if (!result) return null;
  return html`<section aria-labelledby="h-result" data-testid="result">
    <h2 id="h-result">${t('trade.result')}</h2>
    <h3>${t('trade.candidates')}</h3>
    <div class="table-wrap"><table>
      <thead><tr><th scope="col">${t('trade.rank')}</th><th scope="col">${t('trade.bidder')}</th><th scope="col" class="num">${t('trade.price')}</th><th scope="col" class="num">${t('trade.total')}</th></tr></thead>
      <tbody>${result.candidates.map((c) => html`<tr key=${c.rank}>
        <td>${c.rank}</td><td lang="zh-CN">${c.organization.name}</td><td class="num">${formatMoney(c.price)}</td><td class="num">${c.total ?? '—'}</td>
      </tr>`)}</tbody>
    </table></div>
    ${result.award
      ? html`<p data-testid="award"><strong>${t('trade.winner')}：</strong><span lang="zh-CN">${result.award.winner.organization.name}</span>
          · ${formatMoney(result.award.winner.price)} <span class="muted">${formatInstant(result.award.awarded_at)}</span></p>`
      : null}
    ${result.contract
      ? html`<p><strong>${t('trade.contract')}：</strong>${formatMoney(result.contract.amount)} · ${formatInstant(result.contract.signed_at)}</p>`
      : null}
  </section>`;
}

function Sale({ sale }) {
  if (!sale) return null;
  const outcome = sale.result;
  return html`<section aria-labelledby="h-sale" data-testid="sale">
    <h2 id="h-sale">${t('trade.sale')}</h2>
    ${outcome
      ? html`<p>${outcome.outcome === 'sold'
          ? html`<strong>${t('trade.sold_to', { n: outcome.bidder_number })}</strong> · ${formatMoney(outcome.amount)}`
          : html`<strong>${t('trade.sale_failed')}</strong> · ${outcome.reason}`}</p>`
      : html`<p>${t('trade.best')}：${sale.best ? formatMoney(sale.best.amount) : '—'}</p>`}
  </section>`;
}

export function TradePage({ id }) {
  const [state, setState] = useState(null);
  const [kinds, setKinds] = useState([]);
  const [error, setError] = useState(null);

  useEffect(() => {
    rulebook().then((book) => setKinds(book.kinds)).catch(reportError);
  }, []);
  useEffect(() => {
    const ctl = { live: true };
    setState(null);
    setError(null);
    loadTradeRecord(id)
      .then((record) => ctl.live && setState(record))
      .catch((e) => ctl.live && setError(e));
    return () => {
      ctl.live = false;
    };
  }, [id]);

  if (error) return html`<section><p class="notice error" role="alert">${error.message}</p><p><a href="#/">${t('trade.back')}</a></p></section>`;
  if (!state) return html`<p class="muted" aria-busy="true">${t('loading')}</p>`;
  const { trade, opening, result, sale } = state;
  const phase = trade.phase ?? trade.status;
  const session = currentSession();
  return html`<article class="trade" data-testid="trade">
    <p><a href="#/">← ${t('trade.back')}</a></p>
    <h1><span lang="zh-CN">${trade.title}</span> ${trade.demo ? html`<span class="badge demo">DEMO</span>` : null}</h1>
    <p><span class=${`status s-${phase}`} data-testid="trade-status">${statusName(phase)}</span>
      <span class="muted"> · ${procedureName(kinds, trade.kind, trade.procedure)}</span>
      ${phase === 'bidding' && session?.identity.role === 'bidder'
        ? html` <a class="button primary" href=${`#/trades/${trade.id}/bid`} data-testid="bid-link">${t('bid.link')}</a>`
        : null}
      ${!trade.live ? html` <a class="button" href=${`#/trades/${trade.id}/opening`} data-testid="hall-link">${t('hall.link')}</a>` : null}
      ${trade.live ? html` <a class="button" href=${`#/trades/${trade.id}/auction`} data-testid="room-link">${t('room.link')}</a>` : null}</p>
    ${result?.award && session?.identity.role === 'bidder' ? html`<${AwardNotice} result=${result} usci=${session.identity.usci} />` : null}
    <${NoticeList} record=${state} />
    <section aria-labelledby="h-ann">
      <h2 id="h-ann">${t('trade.announcement')}</h2>
      <dl class="facts">
        <dt>${principalLabel(trade.kind)}</dt><dd><span lang="zh-CN">${trade.principal.name}</span> <span class="muted small">${trade.principal.usci}</span></dd>
        <dt>${t('trade.region')}</dt><dd title=${trade.region_code}>${regionLabel(trade.region_code)}</dd>
        <dt>${t('trade.estimate')}</dt><dd>${formatMoney(trade.estimated_value)}</dd>
        ${trade.bond_amount ? html`<dt>${t('trade.bond')}</dt><dd>${formatMoney(trade.bond_amount)}</dd>` : null}
        ${trade.lots?.length > 1
          ? html`<dt>${t('trade.lots')}</dt><dd><ul class="plain">${trade.lots.map((l) => html`<li key=${l.id}>${l.id}. <span lang="zh-CN">${l.title}</span> · ${formatMoney(l.estimated_value)}</li>`)}</ul></dd>`
          : null}
        <dt>${t('trade.rulebook')}</dt><dd>${trade.rulebook_version} <code class="small">${trade.rulebook_sha256.slice(0, 16)}…</code></dd>
      </dl>
    </section>
    <${Schedule} trade=${trade} result=${result} />
    <${Documents} trade=${trade} session=${session} />
    <${Clarifications} items=${trade.clarifications} />
    ${trade.live ? html`<${Sale} sale=${sale} />` : html`<${Opening} opening=${opening} />`}
    <${Result} result=${result} />
    ${session?.identity.role === 'bidder' ? html`<${BidderPart} trade=${trade} result=${result} sale=${sale} session=${session} />` : null}
  </article>`;
}
