// A signed-in bidder's own part in a tender, on the trade's page: its questions and the
// form to ask one while bids are open; once the candidates are publicised, its objections
// (异议) with their answers and the complaint (投诉) that may follow; and the award notice
// (中标通知) when it is the winner, shown at the top of the page.
import { useEffect, useState } from 'preact/hooks';
import { html } from '../html.js';
import { api } from '../api.js';
import { t, formatInstant, formatMoney } from '../i18n.js';
import { reportError } from '../app.js';

/** A text box with its own label and a submit button; `onSend(text)` returns a promise. */
function TextForm({ id, label, hint, submit, onSend }) {
  const [text, setText] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const send = async (e) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await onSend(text.trim());
      setText('');
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return html`<form class="text-form" onSubmit=${send} data-testid=${id}>
    <div class="field"><label for=${`${id}-text`}>${label}</label>
      <textarea id=${`${id}-text`} rows="3" maxlength="4000" required value=${text} onInput=${(e) => setText(e.currentTarget.value)}></textarea>
      ${hint ? html`<p class="small muted">${hint}</p>` : null}</div>
    <button type="submit" class="primary" disabled=${busy || text.trim() === ''}>${submit}</button>
    ${error ? html`<p class="notice error" role="alert">${error.message} ${error.code ? `(${error.code})` : ''}</p>` : null}
  </form>`;
}

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
          <dt key=${`q${c.id}`}><span class="badge">${t('trade.question')}</span> ${c.question} <span class="small muted">· ${formatInstant(c.asked_at)}</span></dt>
          <dd key=${`a${c.id}`}><span class="badge">${t('trade.answer')}</span> ${c.answer ?? html`<span class="muted">${t('workspace.unanswered')}</span>`}</dd>`)}</dl>`
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
      <p><span class="badge">${t('mine.objection')}</span> ${o.text} <span class="small muted">· ${formatInstant(o.filed_at)}</span></p>
      <p>${o.answer
        ? html`<span class="badge">${t('mine.answer')}</span> ${o.answer} <span class="small muted">· ${formatInstant(o.answered_at)}</span>`
        : html`<span class="muted">${t('mine.answer_due', { at: formatInstant(o.answer_due) })}</span>`}</p>
      ${o.complaint
        ? html`<p><span class="badge">${t('mine.complaint')}</span> ${o.complaint.text} <span class="small muted">· ${formatInstant(o.complaint.filed_at)}</span><br />
            ${o.complaint.ruling
              ? html`<strong>${o.complaint.upheld ? t('mine.upheld') : t('mine.dismissed')}</strong>：${o.complaint.ruling}`
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
export function AwardNotice({ result, usci, currency }) {
  const award = result.award;
  if (!award) return null;
  if (award.winner.organization.usci === usci) {
    return html`<div class="notice ok" role="status" data-testid="award-notice">
      <p><strong>${t('mine.won')}</strong></p>
      <p>${t('mine.won_detail', { price: formatMoney(award.winner.price, currency), at: formatInstant(award.awarded_at) })}</p>
      ${award.contract_due && !result.contract ? html`<p>${t('mine.contract_due', { at: formatInstant(award.contract_due) })}</p>` : null}
      ${result.contract ? html`<p>${t('mine.contract_signed', { at: formatInstant(result.contract.signed_at) })}</p>` : null}
    </div>`;
  }
  return html`<p class="notice" data-testid="award-notice">${t('mine.not_won', { winner: award.winner.organization.name })}</p>`;
}

/** The bidder's part in a tender; nothing for a live sale (its room has it). */
export function BidderPart({ trade, result, session }) {
  if (trade.live) return null;
  const token = session.token;
  return html`<section aria-labelledby="h-mine" data-testid="my-part">
    <h2 id="h-mine">${t('mine.title')}</h2>
    <${Questions} trade=${trade} token=${token} />
    ${result ? html`<${Objections} trade=${trade} result=${result} token=${token} />` : null}
  </section>`;
}
