// The expert's page (评标专家): the trades it was drawn for; for each one being scored, the
// score sheet (pass or fail with a reason for every valid bid of the opening record, and
// under comprehensive scoring the points for each of the tender's criteria), signed in
// the browser with the expert's certificate key as `tradehall expert score` signs it; and
// once every sheet is in, the report, checked here against its digest and signed, with a
// dissent if the expert disagrees (docs/protocol.md, "Evaluation").
import { useEffect, useState } from 'preact/hooks';
import { html, written } from '../html.js';
import { api } from '../api.js';
import { t, formatInstant, formatMoney, statusName } from '../i18n.js';
import { currentSession, sessionSigner, importPrivateKey } from '../session.js';
import { canonicalJson } from '../verify.js';
import { bytesToBase64, bytesToHex, concat, utf8 } from '../bytes.js';
import { reportError } from '../app.js';

/** label ‖ (0x00 ‖ part)…, as every signed message of the protocol. */
const labelled = (label, ...parts) => concat(utf8.encode(label), ...parts.flatMap((p) => [Uint8Array.of(0), typeof p === 'string' ? utf8.encode(p) : p]));

/** The session's signer, or one from the key file the expert picks. */
async function signerFrom(form) {
  const kept = sessionSigner();
  if (kept) return kept;
  const file = form.elements.key?.files?.[0];
  if (!file) throw new Error(t('bid.key_required'));
  return importPrivateKey(await file.text());
}

function KeyField({ id }) {
  if (sessionSigner()) return html`<p class="small muted">${t('bid.key_kept')}</p>`;
  return html`<div class="field"><label for=${id}>${t('signin.key')}</label><input id=${id} name="key" type="file" accept=".pem,.key" required /></div>`;
}

/** Points typed as "52.5" → the number the sheet carries; null if not 0–max with ≤ 2 decimals. */
function points(text, max) {
  if (!/^\d{1,3}(\.\d{1,2})?$/.test(text.trim())) return null;
  const n = Number(text);
  return n >= 0 && n <= max ? n : null;
}

function ScoreSheet({ assignment, token, onDone }) {
  const [trade, setTrade] = useState(null);
  const [bids, setBids] = useState(null);
  const [judged, setJudged] = useState({});
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const id = assignment.trade_id;
  useEffect(() => {
    Promise.all([api(`/api/v1/trades/${id}`), api(`/api/v1/trades/${id}/opening`)])
      .then(([tr, opening]) => {
        setTrade(tr);
        setBids(opening.opening.record.bids.filter((b) => b.valid));
      })
      .catch(reportError);
  }, [id]);
  if (!trade || !bids) return html`<p class="muted">${t('loading')}</p>`;
  const criteria = trade.evaluation?.method === 'comprehensive_scoring' ? trade.evaluation.criteria : [];
  const set = (logIndex, patch) => setJudged((prev) => ({ ...prev, [logIndex]: { ...prev[logIndex], ...patch } }));

  const submit = async (e) => {
    e.preventDefault();
    setError(null);
    const lines = [];
    for (const b of bids) {
      const j = judged[b.log_index] ?? {};
      if (j.pass === undefined) return setError(new Error(t('expert.judge_every', { name: b.organization.name })));
      if (!j.pass) {
        if (!j.reason?.trim()) return setError(new Error(t('expert.reason_needed', { name: b.organization.name })));
        lines.push({ log_index: b.log_index, pass: false, reason: j.reason.trim() });
        continue;
      }
      const scores = {};
      for (const c of criteria) {
        const p = points(j[`c-${c.id}`] ?? '', c.weight);
        if (p === null) return setError(new Error(t('expert.points_invalid', { name: b.organization.name, criterion: c.name, max: c.weight })));
        scores[c.id] = p;
      }
      lines.push(criteria.length ? { log_index: b.log_index, pass: true, scores } : { log_index: b.log_index, pass: true });
    }
    const sheet = { v: 1, trade: id, bids: lines };
    setBusy(true);
    try {
      const signer = await signerFrom(e.currentTarget);
      const signature = await signer.sign(labelled('tradehall-evaluation-sheet-v1', utf8.encode(canonicalJson(sheet))));
      await api(`/api/v1/trades/${id}/evaluation/sheets`, { method: 'POST', token, body: { sheet, signature: bytesToBase64(signature) } });
      onDone();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return html`<form class="sheet" onSubmit=${submit} data-testid="score-sheet">
    <p class="small muted">${t(`expert.method.${trade.evaluation?.method ?? 'lowest_evaluated_price'}`)}${criteria.length ? ` · ${t('expert.price_weight', { n: trade.evaluation.price_weight })}` : ''}</p>
    ${bids.map((b) => {
      const j = judged[b.log_index] ?? {};
      const name = `judge-${id}-${b.log_index}`;
      return html`<fieldset class="field bid-judgement" key=${b.log_index}>
        <legend>${b.organization.name} · ${formatMoney(b.price)} <span class="small muted">#${b.log_index}</span></legend>
        <label class="check"><input type="radio" name=${name} value="pass" checked=${j.pass === true} onChange=${() => set(b.log_index, { pass: true })} /> ${t('expert.pass')}</label>
        <label class="check"><input type="radio" name=${name} value="fail" checked=${j.pass === false} onChange=${() => set(b.log_index, { pass: false })} /> ${t('expert.fail')}</label>
        ${j.pass === false
          ? html`<div class="field"><label for=${`${name}-reason`}>${t('expert.reason')}</label>
              <textarea id=${`${name}-reason`} rows="2" maxlength="1000" required value=${j.reason ?? ''} onInput=${(e) => set(b.log_index, { reason: e.currentTarget.value })}></textarea></div>`
          : null}
        ${j.pass === true
          ? criteria.map((c) => html`<div class="field inline" key=${c.id}><label for=${`${name}-${c.id}`}>${c.name}（${t('expert.max_points', { n: c.weight })}）</label>
              <input id=${`${name}-${c.id}`} inputmode="decimal" autocomplete="off" size="6" required value=${j[`c-${c.id}`] ?? ''} onInput=${(e) => set(b.log_index, { [`c-${c.id}`]: e.currentTarget.value })} /></div>`)
          : null}
      </fieldset>`;
    })}
    <${KeyField} id=${`sheet-key-${id}`} />
    <p class="small muted">${t('expert.sheet_once')}</p>
    <button type="submit" class="primary" disabled=${busy}>${t('expert.sign_sheet')}</button>
    ${error ? html`<p class="notice error" role="alert" data-testid="sheet-error">${error.message}${error.code ? ` (${error.code})` : ''}</p>` : null}
  </form>`;
}

async function sha256Hex(bytes) {
  return bytesToHex(new Uint8Array(await crypto.subtle.digest('SHA-256', bytes)));
}

function ReportSigning({ assignment, token, onDone }) {
  const [view, setView] = useState(null);
  const [checked, setChecked] = useState(null);
  const [dissent, setDissent] = useState('');
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const id = assignment.trade_id;
  useEffect(() => {
    api(`/api/v1/trades/${id}/evaluation/report`, { token })
      .then(async (v) => {
        setView(v);
        // What is signed is what is shown: the digest is computed here from the report.
        setChecked((await sha256Hex(utf8.encode(canonicalJson(v.report)))) === v.sha256);
      })
      .catch(reportError);
  }, [id]);
  if (!view) return html`<p class="muted">${t('loading')}</p>`;
  const sign = async (e) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const signer = await signerFrom(e.currentTarget);
      const text = dissent.trim();
      const signature = await signer.sign(labelled('tradehall-evaluation-report-v1', id, view.sha256, text));
      await api(`/api/v1/trades/${id}/evaluation/report/signatures`, {
        method: 'POST',
        token,
        body: { report_sha256: view.sha256, signature: bytesToBase64(signature), ...(text ? { dissent: text } : {}) },
      });
      onDone();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  const { report } = view;
  return html`<form onSubmit=${sign} data-testid="report-signing">
    <div class="table-wrap"><table data-testid="report-ranking">
      <caption class="sr-only">${t('expert.ranking')}</caption>
      <thead><tr><th scope="col">${t('trade.rank')}</th><th scope="col">${t('trade.bidder')}</th><th scope="col" class="num">${t('trade.price')}</th><th scope="col" class="num">${t('trade.total')}</th><th scope="col">${t('expert.votes')}</th></tr></thead>
      <tbody>${report.ranking.bids.map((b) => html`<tr key=${b.log_index}>
        <td>${b.rank ?? '—'}</td><td>${b.organization.name}</td><td class="num">${formatMoney(b.price)}</td><td class="num">${b.total ?? '—'}</td>
        <td>${t('expert.passed_by', { pass: b.passed_by, fail: b.failed_by })}${b.reasons?.length ? html`<br /><span class="small muted">${b.reasons.join('；')}</span>` : null}</td>
      </tr>`)}</tbody>
    </table></div>
    <p class=${checked ? 'ok small' : 'error-text small'} data-testid="report-digest">${checked ? '✓' : '✗'} ${t(checked ? 'expert.digest_ok' : 'expert.digest_bad')} <code class="wrap">${view.sha256}</code></p>
    <div class="field"><label for=${`dissent-${id}`}>${t('expert.dissent')}</label>
      <textarea id=${`dissent-${id}`} rows="2" maxlength="2000" value=${dissent} onInput=${(e) => setDissent(e.currentTarget.value)}></textarea>
      <p class="small muted">${t('expert.dissent_hint')}</p></div>
    <${KeyField} id=${`report-key-${id}`} />
    <button type="submit" class="primary" disabled=${busy || !checked}>${t('expert.sign_report')}</button>
    ${error ? html`<p class="notice error" role="alert">${error.message}${error.code ? ` (${error.code})` : ''}</p>` : null}
  </form>`;
}

function AssignmentCard({ assignment, token, onChange }) {
  const a = assignment;
  const scoring = a.stage === 'scoring' && !a.sheet_submitted_at && a.trade_status === 'opened';
  const signing = a.stage === 'signing' && !a.signed_at;
  return html`<li class="assignment" data-testid="assignment">
    <h2><a href=${`#/trades/${a.trade_id}`} lang="zh-CN">${a.title}</a></h2>
    <dl class="facts">
      <dt>${t('col.status')}</dt><dd>${statusName(a.trade_status)} · ${t(`expert.stage.${a.stage}`)}</dd>
      <dt>${t('expert.committee')}</dt><dd>${t('expert.members', { n: a.committee_size })}</dd>
      <dt>${t('expert.my_sheet')}</dt><dd data-testid="my-sheet">${a.sheet_submitted_at ? `✓ ${formatInstant(a.sheet_submitted_at)}` : t('expert.not_yet')}</dd>
      <dt>${t('expert.my_signature')}</dt><dd data-testid="my-signature">${a.signed_at ? html`✓ ${formatInstant(a.signed_at)}${a.dissent ? html` · ${t('expert.with_dissent')}：${written(a.dissent)}` : ''}` : t('expert.not_yet')}</dd>
    </dl>
    ${scoring ? html`<${ScoreSheet} assignment=${a} token=${token} onDone=${onChange} />` : null}
    ${signing ? html`<${ReportSigning} assignment=${a} token=${token} onDone=${onChange} />` : null}
  </li>`;
}

export function ExpertPage() {
  const session = currentSession();
  const [items, setItems] = useState(null);
  const token = session?.token;
  const load = () => api('/api/v1/experts/me/assignments', { token }).then((page) => setItems(page.assignments)).catch(reportError);
  useEffect(() => {
    if (session?.identity.role === 'expert') load();
  }, [token]);
  if (!session) return html`<section><p><a href="#/signin?next=/expert">${t('signin.title')}</a></p></section>`;
  if (session.identity.role !== 'expert') return html`<section><p class="notice error">${t('expert.experts_only')}</p></section>`;
  return html`<section>
    <h1>${t('expert.title')}</h1>
    <ul class="assignments plain" data-testid="assignments">${items === null
      ? html`<li class="muted">${t('loading')}</li>`
      : items.length === 0
        ? html`<li class="muted">${t('expert.none')}</li>`
        : items.map((a) => html`<${AssignmentCard} key=${a.trade_id} assignment=${a} token=${token} onChange=${load} />`)}</ul>
  </section>`;
}
