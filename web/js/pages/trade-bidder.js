// A signed-in bidder's own part in a trade, on the trade's page: its deposit or bond and
// their refunds; for a tender its questions and the
// form to ask one while bids are open; once the candidates are publicised, its objections
// (异议) with their answers and the complaint (投诉) that may follow; and the award notice
// (中标通知) when it is the winner, shown at the top of the page.
import { useEffect, useState } from 'preact/hooks';
import { html, tNames, written } from '../html.js';
import { api, serverNow } from '../api.js';
import { t, formatInstant, formatMoney } from '../i18n.js';
import { reportError } from '../app.js';
import { TextForm } from '../text-form.js';

function Questions({ trade, token }) {
  const [mine, setMine] = useState(null);
  const load = () =>
    api('/api/v1/clarifications/mine', { token })
      .then((page) => setMine(page.clarifications.filter((c) => c.trade_id === trade.id)))
      .catch(reportError);
  useEffect(() => {
    load();
  }, [trade.id]);
  const ask = async (question) => {
    await api(`/api/v1/trades/${trade.id}/clarifications`, { method: 'POST', token, body: { question } });
    await load();
  };
  return html`<div>
    <h3>${t('mine.questions')}</h3>
    ${mine?.length
      ? html`<dl class="clarifications" data-testid="my-trade-questions">${mine.map((c) => html`
          <dt key=${`q${c.id}`}><span class="badge">${t('trade.question')}</span> ${written(c.question)} <span class="small muted">· ${formatInstant(c.asked_at)}</span></dt>
          <dd key=${`a${c.id}`}><span class="badge">${t('trade.answer')}</span> ${c.answer ? written(c.answer) : html`<span class="muted">${t('workspace.unanswered')}</span>`}</dd>`)}</dl>`
      : null}
    ${trade.phase === 'bidding'
      ? html`<${TextForm} id="ask" label=${t('mine.ask')} hint=${t('mine.ask_hint')} submit=${t('mine.ask_submit')} onSend=${ask} />`
      : null}
  </div>`;
}

function Objections({ trade, result, token }) {
  const [mine, setMine] = useState(null);
  const load = () =>
    api(`/api/v1/trades/${trade.id}/objections`, { token })
      .then((page) => setMine(page.objections))
      .catch(reportError);
  useEffect(() => {
    load();
  }, [trade.id]);
  const object = async (text) => {
    await api(`/api/v1/trades/${trade.id}/objections`, { method: 'POST', token, body: { text } });
    await load();
  };
  const complain = (objection) => async (text) => {
    await api(`/api/v1/trades/${trade.id}/complaints`, { method: 'POST', token, body: { objection_id: objection.id, text } });
    await load();
  };
  const inPublicity = result.status === 'publicity';
  return html`<div>
    <h3>${t('mine.objections')}</h3>
    ${inPublicity ? html`<p class="small muted">${t('mine.publicity_until', { at: formatInstant(result.publicity_until) })}</p>` : null}
    ${(mine ?? []).map((o) => html`<div class="objection" key=${o.id} data-testid="my-objection">
      <p><span class="badge">${t('mine.objection')}</span> ${written(o.text)} <span class="small muted">· ${formatInstant(o.filed_at)}</span></p>
      <p>${o.answer
        ? html`<span class="badge">${t('mine.answer')}</span> ${written(o.answer)} <span class="small muted">· ${formatInstant(o.answered_at)}</span>`
        : html`<span class="muted">${t('mine.answer_due', { at: formatInstant(o.answer_due) })}</span>`}</p>
      ${o.complaint
        ? html`<p><span class="badge">${t('mine.complaint')}</span> ${written(o.complaint.text)} <span class="small muted">· ${formatInstant(o.complaint.filed_at)}</span><br />
            ${o.complaint.ruling
              ? html`<strong>${o.complaint.upheld ? t('mine.upheld') : t('mine.dismissed')}</strong>：${written(o.complaint.ruling)}`
              : html`<span class="muted">${t('mine.ruling_pending')}</span>`}</p>`
        : inPublicity && (o.answer || new Date(o.answer_due) < new Date())
          ? html`<${TextForm} id=${`complain-${o.id}`} label=${t('mine.complain')} hint=${t('mine.complain_hint')} submit=${t('mine.complain_submit')} onSend=${complain(o)} />`
          : null}
    </div>`)}
    ${inPublicity
      ? html`<${TextForm} id="object" label=${t('mine.object')} hint=${t('mine.object_hint')} submit=${t('mine.object_submit')} onSend=${object} />`
      : null}
  </div>`;
}

/** The award as it concerns the signed-in bidder: its award notice, or who won. */
export function AwardNotice({ result, usci }) {
  const award = result.award;
  if (!award) return null;
  if (award.winner.organization.usci === usci) {
    return html`<div class="notice ok" role="status" data-testid="award-notice">
      <p><strong>${t('mine.won')}</strong></p>
      <p>${t('mine.won_detail', { price: formatMoney(award.winner.price), at: formatInstant(award.awarded_at) })}</p>
      ${award.contract_due && !result.contract ? html`<p>${t('mine.contract_due', { at: formatInstant(award.contract_due) })}</p>` : null}
      ${result.contract ? html`<p>${t('mine.contract_signed', { at: formatInstant(result.contract.signed_at) })}</p>` : null}
    </div>`;
  }
  return html`<p class="notice" data-testid="award-notice">${tNames('mine.not_won', { winner: award.winner.organization.name }, ['winner'])}</p>`;
}

/** The bidder's deposit (a sale) or bond (a tender): due, received, and each refund. */
function Money({ trade, token }) {
  const [money, setMoney] = useState(null);
  useEffect(() => {
    api(`/api/v1/trades/${trade.id}/money/mine`, { token }).then(setMoney).catch(reportError);
  }, [trade.id]);
  if (!money || trade.bond_amount === 0) return null;
  const received = money.ledger.filter((e) => e.kind === 'deposit_received');
  return html`<div data-testid="my-money">
    <h3>${t(`money.${money.kind}`)}</h3>
    <dl class="facts">
      <dt>${t('money.due')}</dt><dd>${formatMoney(money.due)}</dd>
      <dt>${t('money.received')}</dt><dd>${received.length
        ? received.map((e) => html`<div key=${e.id}>${formatMoney(e.amount)} · ${formatInstant(e.at)} · <span class="small muted">${e.account}</span></div>`)
        : html`<span class="muted">${t('workspace.deposit_none')}</span>`}</dd>
      ${money.ledger.some((e) => e.kind === 'converted_to_payment')
        ? html`<dt>${t('money.converted')}</dt><dd>${formatMoney(money.balance.converted)}</dd>`
        : null}
    </dl>
    ${money.refunds.length
      ? html`<div class="table-wrap"><table data-testid="my-refunds">
          <caption class="sr-only">${t('money.refunds')}</caption>
          <thead><tr><th scope="col">${t('money.refund')}</th><th scope="col" class="num">${t('money.amount')}</th><th scope="col">${t('col.status')}</th><th scope="col">${t('money.due_at')}</th></tr></thead>
          <tbody>${money.refunds.map((r) => html`<tr key=${r.id}>
            <td>${t(`money.reason.${r.reason}`)}<br /><span class="small muted">${r.account}</span></td>
            <td class="num">${formatMoney(r.amount)}</td>
            <td>${t(`money.status.${r.status}`)}${r.confirmed_at ? html`<br /><span class="small muted">${formatInstant(r.confirmed_at)}</span>` : null}</td>
            <td>${r.due_at ? formatInstant(r.due_at) : '—'}</td>
          </tr>`)}</tbody>
        </table></div>`
      : null}
    ${money.settled && money.balance.received > 0 ? html`<p class="ok small">✓ ${t('money.settled')}</p>` : null}
  </div>`;
}

/** A closed sale as it concerns the bidder with `number`: 成交, or what happens to its deposit. */
function SaleOutcome({ sale, number }) {
  const result = sale?.result;
  if (!result || !number) return null;
  if (result.outcome === 'sold' && result.bidder_number === number) {
    return html`<div class="notice ok" role="status" data-testid="sale-outcome">
      <p><strong>${t('mine.sold_to_you', { amount: formatMoney(result.amount) })}</strong></p>
      <p class="small">${t('mine.sold_next')}</p></div>`;
  }
  return html`<p class="notice" data-testid="sale-outcome">${result.outcome === 'sold' ? t('mine.sold_to_other') : t('mine.unsold')}</p>`;
}

/**
 * A live sale's application (竞买申请): the form naming the account the deposit will come
 * from while applications are open, then the application's status, the deposit and the
 * bidder number as the centre and the bank move it on.
 */
function Application({ trade, sale, token, onChange }) {
  const [application, setApplication] = useState(undefined);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const load = () =>
    api('/api/v1/applications/mine', { token })
      .then((page) => setApplication(page.applications.find((a) => a.trade_id === trade.id) ?? null))
      .catch(reportError);
  useEffect(() => {
    load();
  }, [trade.id]);
  if (application === undefined) return null;
  const apply = async (e) => {
    e.preventDefault();
    const form = e.currentTarget;
    setBusy(true);
    setError(null);
    try {
      await api(`/api/v1/trades/${trade.id}/applications`, {
        method: 'POST',
        token,
        body: { payer_account: form.elements.account.value.replace(/\s+/g, ''), payer_name: form.elements.payer.value.trim() },
      });
      await load();
      onChange?.();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  const open = trade.status === 'published' && new Date(trade.bid_deadline) > serverNow();
  if (!application) {
    if (!open) return html`<p class="muted" data-testid="my-application">${t('apply.closed')}</p>`;
    return html`<form class="text-form" onSubmit=${apply} data-testid="apply">
      <h3>${t('apply.title')}</h3>
      <p class="small muted">${t('apply.intro', { deposit: formatMoney(trade.bond_amount), at: formatInstant(trade.bid_deadline) })}</p>
      <div class="field"><label for="apply-account">${t('apply.account')}</label>
        <input id="apply-account" name="account" inputmode="numeric" autocomplete="off" required pattern="[0-9A-Za-z ]{8,40}" /></div>
      <div class="field"><label for="apply-payer">${t('apply.payer')}</label>
        <input id="apply-payer" name="payer" autocomplete="organization" required /></div>
      <button type="submit" class="primary" disabled=${busy}>${t('apply.submit')}</button>
      ${error ? html`<p class="notice error" role="alert">${error.message} (${error.code})</p>` : null}
    </form>`;
  }
  return html`<div data-testid="my-application">
    <h3>${t('apply.mine')}</h3>
    <dl class="facts">
      <dt>${t('workspace.application_status')}</dt><dd>${t(`workspace.application.${application.status}`)}${application.reason ? html` · <span class="small">${application.reason}</span>` : null}</dd>
      <dt>${t('apply.account')}</dt><dd>${application.payer_account} · ${written(application.payer_name)}</dd>
      <dt>${t('workspace.deposit')}</dt><dd>${application.deposit_at ? formatInstant(application.deposit_at) : t('workspace.deposit_none')}</dd>
      <dt>${t('room.bidder_number')}</dt><dd><strong data-number>${application.bidder_number ?? '—'}</strong>
        ${application.bidder_number ? html` · <a href=${`#/trades/${trade.id}/auction`}>${t('room.title')}</a>` : null}</dd>
    </dl>
    <${SaleOutcome} sale=${sale} number=${application.bidder_number} />
  </div>`;
}

/** The bidder's part in a trade: its money; for a tender, its questions and objections. */
export function BidderPart({ trade, result, sale, session }) {
  const token = session.token;
  return html`<section aria-labelledby="h-mine" data-testid="my-part">
    <h2 id="h-mine">${t('mine.title')}</h2>
    ${trade.live ? html`<${Application} trade=${trade} sale=${sale} token=${token} />` : null}
    <${Money} trade=${trade} token=${token} />
    ${trade.live ? null : html`<${Questions} trade=${trade} token=${token} />`}
    ${result && !trade.live ? html`<${Objections} trade=${trade} result=${result} token=${token} />` : null}
  </section>`;
}
