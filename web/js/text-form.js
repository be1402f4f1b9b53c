// A text and its submit button, for answers, questions, objections and reasons:
// `onSend(text)` returns a promise; the text is cleared once it resolves, and a refusal
// is shown beside the form. `inline` makes it a one-line field instead of a text area.
import { useState } from 'preact/hooks';
import { html } from './html.js';

export function TextForm({ id, label, hint, submit, onSend, inline = false }) {
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
  const onInput = (e) => setText(e.currentTarget.value);
  const refusal = error ? html`<p class="notice error" role="alert">${error.message}${error.code ? ` (${error.code})` : ''}</p>` : null;
  const button = html`<button type="submit" class=${inline ? '' : 'primary'} disabled=${busy || text.trim() === ''}>${submit}</button>`;
  if (inline) {
    return html`<form class="inline" onSubmit=${send} data-testid=${id}>
      <label for=${`${id}-text`}>${label}</label>
      <input id=${`${id}-text`} value=${text} required maxlength="4000" onInput=${onInput} />
      ${button}${refusal}
    </form>`;
  }
  return html`<form class="text-form" onSubmit=${send} data-testid=${id}>
    <div class="field"><label for=${`${id}-text`}>${label}</label>
      <textarea id=${`${id}-text`} rows="3" maxlength="4000" required value=${text} onInput=${onInput}></textarea>
      ${hint ? html`<p class="small muted">${hint}</p>` : null}</div>
    ${button}${refusal}
  </form>`;
}
