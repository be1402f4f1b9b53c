// The safeguard on every amount a bidder commits to (a sealed bid, an auction quote): the
// field reads the forms people type (web/js/money.js), restates the amount in figures and
// in Chinese capital numerals as it is typed, names what looks wrong, and the page asks
// for a confirmation that restates what is about to be committed before anything is signed.
import { useState } from 'preact/hooks';
import { html } from './html.js';
import { t, formatMoney } from './i18n.js';
import { parseAmount, capitalAmount } from './money.js';

/**
 * The amount field. `warnings(fen)` gives the page's warnings for an amount (each
 * `{key, params}`); `id` names the input so each page's label is its own.
 */
export function AmountField({ id, label, value, onInput, warnings = () => [], placeholder, hint }) {
  const fen = parseAmount(value);
  const typed = String(value ?? '').trim() !== '';
  const found = fen === null ? [] : warnings(fen);
  const describedBy = `${id}-echo${found.length ? ` ${id}-warnings` : ''}${hint ? ` ${id}-hint` : ''}`;
  return html`<div class="field amount">
    <label for=${id}>${label}</label>
    <input id=${id} name="amount" inputmode="decimal" autocomplete="off" spellcheck="false" required
      placeholder=${placeholder ?? '3,200,000.00 / 3200000 / 320万'}
      aria-invalid=${typed && fen === null ? 'true' : 'false'} aria-describedby=${describedBy}
      value=${value} onInput=${(e) => onInput(e.currentTarget.value)} />
    ${hint ? html`<p class="small muted" id=${`${id}-hint`}>${hint}</p>` : null}
    <p class="echo" id=${`${id}-echo`} aria-live="polite" data-testid=${`${id}-echo`}>
      ${fen !== null
        ? html`<span class="figures">${formatMoney(fen)}</span> <span class="words" lang="zh-CN">${capitalAmount(fen)}</span>`
        : typed
          ? html`<span class="error-text">${t('amount.unreadable')}</span>`
          : html`<span class="muted">${t('amount.forms')}</span>`}
    </p>
    ${found.length
      ? html`<ul class="warnings" id=${`${id}-warnings`} data-testid=${`${id}-warnings`}>
          ${found.map((w) => html`<li key=${w.key}>⚠ ${t(w.key, w.params)}</li>`)}
        </ul>`
      : null}
  </div>`;
}

/**
 * Warnings for a price against an estimate (分): above it, or more than `lowPercent`
 * below it (the rulebook's abnormally-low-price threshold).
 */
export function estimateWarnings(fen, estimate, lowPercent) {
  if (!estimate || estimate <= 0) return [];
  const out = [];
  const ratio = (fen / estimate) * 100;
  if (fen > estimate) {
    out.push({ key: 'amount.above_estimate', params: { estimate: formatMoney(estimate), percent: Math.round(ratio - 100) } });
  } else if (fen * 100 < estimate * (100 - lowPercent)) {
    out.push({ key: 'amount.below_estimate', params: { estimate: formatMoney(estimate), percent: Math.round(100 - ratio) } });
  }
  return out;
}

/**
 * The confirmation step: what is about to be committed, restated, with the warnings; when
 * there are any, the bidder ticks that it checked them before the confirm button works.
 * `facts` is a list of `[term, description]`.
 */
export function Confirmation({ id, title, facts, fen, warnings, confirmLabel, busy, onConfirm, onCancel }) {
  const [checked, setChecked] = useState(false);
  const needsTick = warnings.length > 0;
  return html`<section class="confirm" role="region" aria-labelledby=${`${id}-title`} data-testid=${id}>
    <h2 id=${`${id}-title`} tabindex="-1">${title}</h2>
    <dl class="facts">
      ${facts.map(([term, text]) => html`<dt key=${`t-${term}`}>${term}</dt><dd key=${`d-${term}`}>${text}</dd>`)}
      <dt>${t('amount.figures')}</dt><dd class="big" data-testid=${`${id}-figures`}>${formatMoney(fen)}</dd>
      <dt>${t('amount.words')}</dt><dd class="big" lang="zh-CN" data-testid=${`${id}-words`}>${capitalAmount(fen)}</dd>
    </dl>
    ${needsTick
      ? html`<ul class="warnings">${warnings.map((w) => html`<li key=${w.key}>⚠ ${t(w.key, w.params)}</li>`)}</ul>
          <label class="check"><input type="checkbox" id=${`${id}-checked`} checked=${checked} onChange=${(e) => setChecked(e.currentTarget.checked)} /> ${t('amount.checked')}</label>`
      : null}
    <div class="actions">
      <button type="button" class="primary" data-testid=${`${id}-confirm`} disabled=${busy || (needsTick && !checked)} onClick=${onConfirm}>${confirmLabel}</button>
      <button type="button" data-testid=${`${id}-cancel`} disabled=${busy} onClick=${onCancel}>${t('amount.back')}</button>
    </div>
  </section>`;
}
