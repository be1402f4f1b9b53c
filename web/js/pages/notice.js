// One notice (公告) of a trade as a page of its own, its full text composed from the
// trade's data: the announcement (项目概况, 资格要求, 时间安排, 保证金, 文件获取, 联系方式)
// with its version history, a change notice, the clarifications, the opening record,
// the candidates' publicity, the result, the contract, a failure, a sale's outcome.
import { useEffect, useState } from 'preact/hooks';
import { html } from '../html.js';
import { t, formatInstant, formatMoney, formatBytes, principalLabel, statusName } from '../i18n.js';
import { rulebook, procedureName } from '../rulebook.js';
import { regionLabel } from '../regions.js';
import { reportError } from '../app.js';
import { loadTradeRecord, noticesOf, scheduleSteps, saleReason } from '../notices.js';

/** A name or title as written (Chinese in the English pages too). */
const name = (text) => html`<span lang="zh-CN">${text}</span>`;

/** Text of several lines as paragraphs. */
const paragraphs = (text) => text.split(/\n+/).filter((p) => p.trim()).map((p) => html`<p lang="zh-CN">${p}</p>`);

const facts = (rows) => html`<dl class="facts">${rows.filter(Boolean).map(([dt, dd]) => html`<dt>${dt}</dt><dd>${dd}</dd>`)}</dl>`;

function Section({ n, title, children }) {
  return html`<section class="notice-part"><h2>${t(`notice.part.${n}`)}${title}</h2>${children}</section>`;
}

function Announcement({ trade, procedure }) {
  const a = trade.announcement ?? {};
  const live = trade.live;
  const parcel = a.parcel;
  const money = (minor) => formatMoney(minor, { wan: Boolean(live) });
  return html`
    <${Section} n="1" title=${t('notice.overview')}>
      ${facts([
        [t('notice.project'), name(trade.title)],
        [t('notice.procedure'), procedure],
        [principalLabel(trade.kind), name(trade.principal.name)],
        [t('trade.region'), regionLabel(trade.region_code)],
        live ? [t('notice.start_price'), money(live.start_price)] : [t('trade.estimate'), money(trade.estimated_value)],
        live ? [t('notice.increment'), money(live.increment)] : null,
        parcel ? [t('notice.parcel.location'), name(parcel.location)] : null,
        parcel ? [t('notice.parcel.area'), t('notice.parcel.area_value', { m2: Number(parcel.area_m2).toLocaleString('en'), mu: (Number(parcel.area_m2) / 666.67).toFixed(2) })] : null,
        parcel ? [t('notice.parcel.use'), name(parcel.land_use)] : null,
        parcel ? [t('notice.parcel.term'), t('notice.parcel.years', { n: parcel.term_years })] : null,
      ])}
      ${a.overview ? paragraphs(a.overview) : null}
      ${trade.lots.length > 1
        ? html`<div class="table-wrap"><table>
            <thead><tr><th scope="col">${t('notice.lot')}</th><th scope="col">${t('notice.lot_title')}</th><th scope="col" class="num">${t('trade.estimate')}</th></tr></thead>
            <tbody>${trade.lots.map((l) => html`<tr key=${l.id}><td>${l.id}</td><td>${name(l.title)}</td><td class="num">${formatMoney(l.estimated_value)}</td></tr>`)}</tbody>
          </table></div>`
        : null}
    <//>
    <${Section} n="2" title=${t(live ? 'notice.qualifications_sale' : 'notice.qualifications')}>
      ${a.qualifications ? paragraphs(a.qualifications) : html`<p>${t('notice.see_documents')}</p>`}
    <//>
    <${Section} n="3" title=${t('trade.schedule')}>
      <ol class="schedule">${scheduleSteps(trade).map((s) => html`<li key=${s.key}><span class="what">${t(`trade.${s.key}`)}</span> <time datetime=${s.at}>${formatInstant(s.at)}</time></li>`)}</ol>
    <//>
    <${Section} n="4" title=${t(live ? 'notice.deposit' : 'notice.bond')}>
      <p>${t(live ? 'notice.deposit_text' : 'notice.bond_text', { amount: money(trade.bond_amount), at: formatInstant(trade.bid_deadline) })}</p>
    <//>
    <${Section} n="5" title=${t('notice.documents')}>
      <ul class="plain">${trade.documents.map((d) => html`<li key=${d.sha256}>${name(d.name)} <span class="muted small">${formatBytes(d.size)} · SHA-256 <code>${d.sha256.slice(0, 16)}…</code></span></li>`)}</ul>
      <p class="small"><a href=${`#/trades/${trade.id}`}>${t('notice.documents_where')}</a></p>
    <//>
    <${Section} n="6" title=${t('notice.contact')}>
      ${a.contact
        ? facts([
            [principalLabel(trade.kind), name(trade.principal.name)],
            [t('notice.contact_name'), name(a.contact.name)],
            [t('notice.contact_phone'), a.contact.phone],
            a.contact.address ? [t('notice.contact_address'), name(a.contact.address)] : null,
          ])
        : html`<p>${name(trade.principal.name)}</p>`}
      <p class="small muted">${t('notice.complaints')}</p>
    <//>
    <${Section} n="7" title=${t('notice.rules')}>
      <p>${t('notice.rules_text', { version: trade.rulebook_version })} <code class="small">${trade.rulebook_sha256.slice(0, 16)}…</code></p>
    <//>
    <${Versions} trade=${trade} />`;
}

/** The announcement as first published and each change notice that amended it. */
function Versions({ trade }) {
  return html`<section aria-labelledby="h-versions" data-testid="versions">
    <h2 id="h-versions">${t('notice.versions')}</h2>
    <div class="table-wrap"><table>
      <thead><tr><th scope="col">${t('notice.version')}</th><th scope="col">${t('notice.version_at')}</th><th scope="col">${t('notice.version_what')}</th></tr></thead>
      <tbody>
        <tr><td>1</td><td>${formatInstant(trade.published_at)}</td><td>${t('notice.original')}</td></tr>
        ${trade.notices.map((n) => html`<tr key=${n.number}><td>${n.number + 1}</td><td>${formatInstant(n.issued_at)}</td>
          <td><a href=${`#/trades/${trade.id}/notices/change-${n.number}`}>${t('notice.change', { n: n.number })}</a>${n.new_deadline ? ` · ${t('docs.deadline_moved', { at: formatInstant(n.new_deadline) })}` : ''}</td></tr>`)}
      </tbody>
    </table></div>
  </section>`;
}

function Change({ trade, number }) {
  const n = trade.notices.find((x) => x.number === number);
  if (!n) return html`<p class="notice error" role="alert">${t('notice.missing')}</p>`;
  return html`
    <${Section} n="1" title=${t('notice.change_text')}>${paragraphs(n.notice)}<//>
    ${n.documents.length
      ? html`<${Section} n="2" title=${t('notice.change_documents')}>
          <ul class="plain">${n.documents.map((d) => html`<li key=${d.sha256}>${d.previous_sha256 ? t('docs.replaced') : t('docs.added')}：${name(d.name)} <span class="muted small">${formatBytes(d.size)} · SHA-256 <code>${d.sha256.slice(0, 16)}…</code></span></li>`)}</ul>
        <//>`
      : null}
    ${n.new_deadline ? html`<p><strong>${t('docs.deadline_moved', { at: formatInstant(n.new_deadline) })}</strong></p>` : null}`;
}

function Clarifications({ trade }) {
  return html`<dl class="clarifications">${trade.clarifications.filter((c) => c.answer).map((c) => html`
    <dt key=${`q${c.id}`}><span class="badge">${t('trade.question')}</span> <span lang="zh-CN">${c.question}</span></dt>
    <dd key=${`a${c.id}`}><span class="badge">${t('trade.answer')}</span> <span lang="zh-CN">${c.answer}</span> <span class="muted small">${formatInstant(c.answered_at)}</span></dd>`)}</dl>`;
}

function OpeningRecord({ opening }) {
  const record = opening.opening.record;
  return html`
    ${facts([
      [t('notice.opened_at'), formatInstant(record.opened_at)],
      [t('notice.outcome'), statusName(record.outcome)],
      record.reason ? [t('notice.reason'), record.reason] : null,
    ])}
    <div class="table-wrap"><table>
      <thead><tr><th scope="col">${t('trade.bidder')}</th><th scope="col" class="num">${t('trade.price')}</th><th scope="col">${t('col.status')}</th></tr></thead>
      <tbody>${record.bids.map((b) => html`<tr key=${b.log_index}><td>${name(b.organization.name)}</td><td class="num">${b.price === null ? '—' : formatMoney(b.price)}</td><td>${b.valid ? t('trade.valid') : t('trade.invalid')}</td></tr>`)}</tbody>
    </table></div>`;
}

function Candidates({ result }) {
  return html`
    <p>${t('notice.publicity', { from: formatInstant(result.publicity_from), until: formatInstant(result.publicity_until) })}</p>
    <div class="table-wrap"><table>
      <thead><tr><th scope="col">${t('trade.rank')}</th><th scope="col">${t('trade.bidder')}</th><th scope="col" class="num">${t('trade.price')}</th><th scope="col" class="num">${t('trade.total')}</th></tr></thead>
      <tbody>${result.candidates.map((c) => html`<tr key=${c.rank}><td>${c.rank}</td><td>${name(c.organization.name)}</td><td class="num">${formatMoney(c.price)}</td><td class="num">${c.total ?? '—'}</td></tr>`)}</tbody>
    </table></div>
    <p class="small">${t('notice.objections')}</p>`;
}

const Award = ({ result }) => facts([
  [t('trade.winner'), name(result.award.winner.organization.name)],
  [t('trade.price'), formatMoney(result.award.winner.price)],
  [t('notice.awarded_at'), formatInstant(result.award.awarded_at)],
]);

const Contract = ({ result }) => facts([
  [t('trade.winner'), name(result.award.winner.organization.name)],
  [t('notice.contract_amount'), formatMoney(result.contract.amount)],
  [t('notice.signed_at'), formatInstant(result.contract.signed_at)],
]);

const Sold = ({ sale }) => facts([
  [t('notice.bidder_number'), html`<span data-number>${sale.result.bidder_number}</span>`],
  [t('notice.deal_price'), formatMoney(sale.result.amount, { wan: true })],
]);

/** The body of the notice `key`, or null if the trade has none by that key. */
function body(key, record, procedure) {
  const { trade, opening, result, sale } = record;
  if (key === 'announcement') return html`<${Announcement} trade=${trade} procedure=${procedure} />`;
  if (key.startsWith('change-')) return html`<${Change} trade=${trade} number=${Number(key.slice(7))} />`;
  if (key === 'clarifications') return html`<${Clarifications} trade=${trade} />`;
  if (key === 'opening' && opening?.opening) return html`<${OpeningRecord} opening=${opening} />`;
  if (key === 'candidates' && result) return html`<${Candidates} result=${result} />`;
  if (key === 'award' && result?.award) return html`<${Award} result=${result} />`;
  if (key === 'contract' && result?.contract) return html`<${Contract} result=${result} />`;
  if (key === 'sold' && sale?.result?.outcome === 'sold') return html`<${Sold} sale=${sale} />`;
  if (key === 'unsold' && sale?.result) return html`<p>${t('notice.unsold_text', { reason: saleReason(sale.result.reason) })}</p>`;
  if (key === 'failed') return html`<p>${t('notice.failed_text')}${opening?.opening?.record.reason ? html` <span lang="zh-CN">${opening.opening.record.reason}</span>` : null}</p>`;
  if (key === 'terminated') return html`<p>${t('notice.terminated_text')}</p>`;
  return null;
}

export function NoticePage({ id, noticeKey }) {
  const [record, setRecord] = useState(null);
  const [kinds, setKinds] = useState([]);
  const [error, setError] = useState(null);
  useEffect(() => {
    rulebook().then((book) => setKinds(book.kinds)).catch(reportError);
  }, []);
  useEffect(() => {
    let live = true;
    loadTradeRecord(id)
      .then((r) => live && setRecord(r))
      .catch((e) => live && setError(e));
    return () => {
      live = false;
    };
  }, [id]);
  if (error) return html`<section><p class="notice error" role="alert">${error.message} (${error.code})</p></section>`;
  if (!record) return html`<p class="muted" aria-busy="true">${t('loading')}</p>`;
  const list = noticesOf(record);
  const notice = list.find((n) => n.key === noticeKey);
  const { trade } = record;
  const procedure = procedureName(kinds, trade.kind, trade.procedure);
  return html`<article class="notice-page" data-testid="notice-page">
    <p><a href=${`#/trades/${trade.id}`}>← ${t('notice.back')}</a></p>
    <h1>${name(trade.title)} <span class="category">${notice?.category ?? t('notice.missing')}</span></h1>
    ${notice?.at ? html`<p class="muted">${t('notice.issued_at', { at: formatInstant(notice.at) })}</p>` : null}
    ${notice ? body(noticeKey, record, procedure) : html`<p class="notice error" role="alert">${t('notice.missing')}</p>`}
    <nav aria-label=${t('notice.list')} class="notice-nav">
      <h2>${t('notice.list')}</h2>
      <ul class="notice-list">${list.map((n) => html`<li key=${n.key}>
        ${n.key === noticeKey ? html`<strong aria-current="page">${n.category}</strong>` : html`<a href=${`#/trades/${trade.id}/notices/${n.key}`}>${n.category}</a>`}
        ${n.at ? html` <time class="muted small" datetime=${n.at}>${formatInstant(n.at)}</time>` : null}
      </li>`)}</ul>
    </nav>
  </article>`;
}
