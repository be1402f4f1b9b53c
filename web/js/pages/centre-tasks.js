// What a published trade asks of the trading centre, on its card of the centre's page:
// questions to answer (澄清答复); a change notice (变更公告) before the deadline; a live sale's sealed reserve (底价) before it starts; applicants to qualify or reject (a sale); after the
// opening, the expert draw; during the candidates' publicity, objections to answer; then
// the award (中标通知) and the signed contract. Each step is the documented API call.
import { useEffect, useState } from 'preact/hooks';
import { html, written, tNames } from '../html.js';
import { api, ApiError, serverNow } from '../api.js';
import { t, formatInstant, formatMoney } from '../i18n.js';
import { reportError } from '../app.js';
import { TextForm } from '../text-form.js';
import { bytesToBase64 } from '../bytes.js';
import { rulebook } from '../rulebook.js';
import { SealedReserve } from './centre-reserve.js';

function Questions({ trade, token, onChange }) {
  const open = trade.clarifications.filter((c) => !c.answer);
  if (open.length === 0) return null;
  return html`<div data-testid="centre-questions"><h3>${t('tasks.questions', { n: open.length })}</h3>
    ${open.map((c) => html`<div key=${c.id} class="task">
      <p><span class="badge">${t('trade.question')}</span> ${written(c.question)} <span class="small muted">${formatInstant(c.asked_at)}</span></p>
      <${TextForm} inline id=${`answer-${c.id}`} label=${t('tasks.answer')} submit=${t('tasks.send_answer')}
        onSend=${(answer) => api(`/api/v1/trades/${trade.id}/clarifications/${c.id}/answer`, { method: 'POST', token, body: { answer } }).then(onChange)} />
    </div>`)}</div>`;
}

/** A change notice (变更公告): its text and the documents it adds or replaces, by name. */
function ChangeNotice({ trade, token, onChange }) {
  const [text, setText] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const [issued, setIssued] = useState(null);
  const id = `notice-${trade.id}`;
  const issue = async (e) => {
    e.preventDefault();
    const form = e.currentTarget;
    setBusy(true);
    setError(null);
    try {
      const documents = await Promise.all(
        [...form.elements.files.files].map(async (f) => ({
          name: f.name,
          media_type: f.type || 'application/octet-stream',
          content: bytesToBase64(new Uint8Array(await f.arrayBuffer())),
        })),
      );
      const answer = await api(`/api/v1/trades/${trade.id}/notices`, { method: 'POST', token, body: { notice: text.trim(), documents } });
      setIssued(answer.notice);
      setText('');
      form.reset();
      onChange();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return html`<form class="text-form" onSubmit=${issue} data-testid="centre-notice">
    <h3>${t('tasks.notice')}</h3>
    <div class="field"><label for=${`${id}-text`}>${t('tasks.notice_text')}</label>
      <textarea id=${`${id}-text`} rows="3" maxlength="4000" required value=${text} onInput=${(e) => setText(e.currentTarget.value)}></textarea>
      <p class="small muted">${t('tasks.notice_hint')}</p></div>
    <div class="field"><label for=${`${id}-files`}>${t('tasks.notice_files')}</label>
      <input id=${`${id}-files`} name="files" type="file" multiple /></div>
    <button type="submit" class="primary" disabled=${busy || text.trim() === ''}>${t('tasks.issue_notice')}</button>
    ${issued ? html`<p class="notice ok" role="status" data-testid="notice-issued">${t('tasks.notice_issued', { n: issued.number })}${issued.new_deadline ? ` ${t('docs.deadline_moved', { at: formatInstant(issued.new_deadline) })}` : ''}</p>` : null}
    ${error ? html`<p class="notice error" role="alert">${error.message} (${error.code})</p>` : null}
  </form>`;
}

function Applicants({ trade, token }) {
  const [items, setItems] = useState(null);
  const load = () => api(`/api/v1/trades/${trade.id}/applications`, { token }).then((page) => setItems(page.applications)).catch(reportError);
  useEffect(() => {
    load();
  }, [trade.id]);
  const pending = (items ?? []).filter((a) => a.status === 'pending');
  if (!items || items.length === 0) return null;
  const decide = (a, action, reason) =>
    api(`/api/v1/applications/${a.id}/${action}`, { method: 'POST', token, body: reason ? { reason } : {} }).then(load);
  return html`<div data-testid="centre-applicants"><h3>${t('tasks.applicants', { n: items.length, pending: pending.length })}</h3>
    <div class="table-wrap"><table>
      <thead><tr><th scope="col">${t('trade.bidder')}</th><th scope="col">${t('apply.account')}</th><th scope="col">${t('workspace.deposit')}</th><th scope="col">${t('col.status')}</th><th scope="col">${t('tasks.decision')}</th></tr></thead>
      <tbody>${items.map((a) => html`<tr key=${a.id}>
        <td>${written(a.organization)}<br /><span class="small muted">${a.usci}</span></td>
        <td>${a.payer_account}<br /><span class="small muted" lang="zh-CN">${a.payer_name}</span></td>
        <td>${a.deposit_at ? formatInstant(a.deposit_at) : t('workspace.deposit_none')}</td>
        <td>${t(`workspace.application.${a.status}`)}${a.bidder_number ? html`<br /><span class="small muted">${t('room.bidder_number')} <span data-number>${a.bidder_number}</span></span>` : null}</td>
        <td>${a.status === 'pending'
          ? html`<button type="button" data-testid="qualify" onClick=${() => decide(a, 'qualify').catch(reportError)}>${t('tasks.qualify')}</button>
              <${TextForm} inline id=${`reject-${a.id}`} label=${t('tasks.reject_reason')} submit=${t('tasks.reject')} onSend=${(reason) => decide(a, 'reject', reason)} />`
          : '—'}</td>
      </tr>`)}</tbody>
    </table></div></div>`;
}

function Draw({ trade, token, onChange }) {
  const [specialty, setSpecialty] = useState('');
  const [experts, setExperts] = useState('5');
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const draw = async (e) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await api(`/api/v1/trades/${trade.id}/evaluation/draw`, { method: 'POST', token, body: { specialty: specialty.trim(), experts: Number(experts) } });
      onChange();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return html`<form class="inline" onSubmit=${draw} data-testid="centre-draw">
    <h3>${t('tasks.draw')}</h3>
    <label for=${`draw-specialty-${trade.id}`}>${t('tasks.specialty')}</label>
    <input id=${`draw-specialty-${trade.id}`} value=${specialty} required placeholder="construction.road" onInput=${(e) => setSpecialty(e.currentTarget.value)} />
    <label for=${`draw-experts-${trade.id}`}>${t('tasks.experts')}</label>
    <input id=${`draw-experts-${trade.id}`} size="3" inputmode="numeric" value=${experts} onInput=${(e) => setExperts(e.currentTarget.value)} />
    <button type="submit" class="primary" disabled=${busy}>${t('tasks.do_draw')}</button>
    ${error ? html`<p class="notice error" role="alert">${error.message} (${error.code})</p>` : null}
  </form>`;
}

function Objections({ trade, token }) {
  const [items, setItems] = useState(null);
  const load = () => api(`/api/v1/trades/${trade.id}/objections`, { token }).then((page) => setItems(page.objections)).catch(reportError);
  useEffect(() => {
    load();
  }, [trade.id]);
  const open = (items ?? []).filter((o) => !o.answer);
  if (open.length === 0) return null;
  return html`<div data-testid="centre-objections"><h3>${t('tasks.objections', { n: open.length })}</h3>
    ${open.map((o) => html`<div key=${o.id} class="task">
      <p><span class="badge">${t('mine.objection')}</span> ${o.text} <span class="small muted">${t('mine.answer_due', { at: formatInstant(o.answer_due) })}</span></p>
      <${TextForm} inline id=${`objection-${o.id}`} label=${t('tasks.answer')} submit=${t('tasks.send_answer')}
        onSend=${(text) => api(`/api/v1/trades/${trade.id}/objections/${o.id}/answer`, { method: 'POST', token, body: { text } }).then(load)} />
    </div>`)}</div>`;
}

/** The award once the publicity is over, then the contract with its signed document. */
function AwardAndContract({ trade, result, token, onChange }) {
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const step = async (fn) => {
    setBusy(true);
    setError(null);
    try {
      await fn();
      onChange();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  const first = result.candidates[0];
  if (result.status === 'publicity') {
    const over = new Date(result.publicity_until) <= serverNow();
    return html`<div data-testid="centre-award"><h3>${t('tasks.award')}</h3>
      <p class="small">${tNames('tasks.first_candidate', { name: first?.organization.name ?? '—', price: first ? formatMoney(first.price) : '—' }, ['name'])}</p>
      ${over
        ? html`<button type="button" class="primary" data-testid="award" disabled=${busy || result.objections_open > 0 || result.complaints_open > 0}
            onClick=${() => step(() => api(`/api/v1/trades/${trade.id}/award`, { method: 'POST', token, body: {} }))}>${t('tasks.do_award')}</button>`
        : html`<p class="muted small">${t('tasks.publicity_running', { at: formatInstant(result.publicity_until) })}</p>`}
      ${error ? html`<p class="notice error" role="alert">${error.message} (${error.code})</p>` : null}</div>`;
  }
  if (result.status !== 'awarded') return null;
  // The day and time the contract was signed, Beijing time; today unless the officer says otherwise.
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Shanghai', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' })
      .formatToParts(serverNow())
      .map((p) => [p.type, p.value]),
  );
  const today = { date: `${parts.year}-${parts.month}-${parts.day}`, time: `${parts.hour}:${parts.minute}` };
  const record = (e) => {
    e.preventDefault();
    const form = e.currentTarget;
    const file = form.elements.contract.files?.[0];
    const signedAt = `${form.elements.date.value}T${form.elements.time.value}:00+08:00`;
    step(async () => {
      // A document already uploaded (a retry after a refused contract) is kept as it is.
      const uploaded = await api(`/api/v1/trades/${trade.id}/contract/document/${encodeURIComponent(file.name)}`, {
        method: 'PUT', token, bytes: file, contentType: file.type || 'application/pdf',
      }).catch((err) => {
        if (err instanceof ApiError && err.code === 'document_exists') return {};
        throw err;
      });
      const sha256 = uploaded.sha256 ?? [...new Uint8Array(await crypto.subtle.digest('SHA-256', await file.arrayBuffer()))].map((b) => b.toString(16).padStart(2, '0')).join('');
      await api(`/api/v1/trades/${trade.id}/contract`, {
        method: 'POST',
        token,
        body: { signed_at: signedAt, amount: result.award.winner.price, document_sha256: sha256 },
      });
    });
  };
  return html`<form onSubmit=${record} data-testid="centre-contract"><h3>${t('tasks.contract')}</h3>
    <p class="small">${tNames('tasks.contract_due', { name: result.award.winner.organization.name, price: formatMoney(result.award.winner.price), at: formatInstant(result.award.contract_due) }, ['name'])}</p>
    <div class="field inline"><label for=${`contract-${trade.id}`}>${t('tasks.contract_file')}</label><input id=${`contract-${trade.id}`} name="contract" type="file" required /></div>
    <div class="field inline">
      <label for=${`contract-date-${trade.id}`}>${t('tasks.signed_on')}</label><input id=${`contract-date-${trade.id}`} name="date" type="date" required defaultValue=${today.date} />
      <label for=${`contract-time-${trade.id}`}>${t('centre.time')}</label><input id=${`contract-time-${trade.id}`} name="time" type="time" required defaultValue=${today.time} />
    </div>
    <button type="submit" class="primary" disabled=${busy}>${t('tasks.record_contract')}</button>
    ${error ? html`<p class="notice error" role="alert">${error.message} (${error.code})</p>` : null}
  </form>`;
}

/** The centre's tasks on a published trade, as its state asks for them. */
export function CentreTasks({ trade, session, onChange }) {
  const token = session.token;
  const [reserve, setReserve] = useState(null);
  const [result, setResult] = useState(null);
  const [drawn, setDrawn] = useState(null);
  const [version, setVersion] = useState(0);
  const changed = () => {
    setVersion((v) => v + 1);
    onChange();
  };
  useEffect(() => {
    if (!trade.live) return;
    rulebook()
      .then((book) => setReserve(book.kinds.find((k) => k.id === trade.kind)?.procedures.find((p) => p.id === trade.procedure)?.reserve ?? null))
      .catch(reportError);
  }, [trade.kind, trade.procedure]);
  useEffect(() => {
    if (['publicity', 'awarded', 'contracted'].includes(trade.status)) {
      api(`/api/v1/trades/${trade.id}/result`).then(setResult).catch(reportError);
    }
    if (trade.status === 'opened') {
      api(`/api/v1/trades/${trade.id}/evaluation`).then((s) => setDrawn(s.stage !== 'not_drawn')).catch(reportError);
    }
  }, [trade.id, trade.status, version]);
  return html`<div class="tasks" data-testid="centre-tasks">
    ${trade.clarifications ? html`<${Questions} trade=${trade} token=${token} onChange=${changed} />` : null}
    ${trade.status === 'published' && new Date(trade.bid_deadline) > serverNow() ? html`<${ChangeNotice} trade=${trade} token=${token} onChange=${changed} />` : null}
    ${trade.live && reserve === 'sealed' && trade.status === 'published' ? html`<${SealedReserve} trade=${trade} session=${session} />` : null}
    ${trade.live ? html`<${Applicants} trade=${trade} token=${token} />` : null}
    ${trade.status === 'opened' && drawn === false ? html`<${Draw} trade=${trade} token=${token} onChange=${changed} />` : null}
    ${trade.status === 'opened' && drawn ? html`<p class="small muted" data-testid="centre-evaluating">${t('tasks.evaluating')}</p>` : null}
    ${result?.status === 'publicity' ? html`<${Objections} trade=${trade} token=${token} />` : null}
    ${result ? html`<${AwardAndContract} trade=${trade} result=${result} token=${token} onChange=${changed} />` : null}
    ${result?.status === 'contracted' ? html`<p class="ok small" data-testid="centre-contracted">✓ ${t('tasks.contracted', { at: formatInstant(result.contract.signed_at) })}</p>` : null}
  </div>`;
}
