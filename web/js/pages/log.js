// The transparency log explorer. Everything shown as verified is verified here, in the
// browser, with WebCrypto (web/js/verify.js): the checkpoint's Ed25519 signature, its
// consistency with the last checkpoint this browser saw (a witness in every browser), an
// entry's inclusion, and a bid receipt pasted or loaded from a file.
import { useEffect, useState } from 'preact/hooks';
import { html } from '../html.js';
import { api, query } from '../api.js';
import { t, formatInstant } from '../i18n.js';
import { reportError } from '../app.js';
import * as verify from '../verify.js';

const SEEN_KEY = 'tradehall.log.seen';

const loadSeen = () => {
  try {
    return JSON.parse(localStorage.getItem(SEEN_KEY) ?? 'null');
  } catch {
    return null;
  }
};

/** The latest checkpoint, verified, and checked against the last one this browser saw. */
async function latestCheckpoint() {
  const [note, { keys }] = await Promise.all([api('/api/v1/log/checkpoint'), api('/api/v1/platform/keys')]);
  const checkpoint = await verify.verifyCheckpoint(note, keys);
  const seen = loadSeen();
  let witness = { state: 'first' };
  if (seen && seen.origin === checkpoint.origin) {
    const first = BigInt(seen.size);
    let consistent = false;
    if (first <= checkpoint.size) {
      const proof = await api(`/api/v1/log/proof/consistency${query({ first: seen.size, second: String(checkpoint.size) })}`);
      consistent = await verify.verifyConsistency(first, checkpoint.size, verify.hexToBytes(seen.root), checkpoint.root, proof.proof.map(verify.hexToBytes));
    }
    witness = { state: consistent ? 'consistent' : 'inconsistent', size: seen.size };
  }
  if (witness.state !== 'inconsistent') {
    try {
      localStorage.setItem(SEEN_KEY, JSON.stringify({ origin: checkpoint.origin, size: String(checkpoint.size), root: verify.bytesToHex(checkpoint.root) }));
    } catch {
      // Without storage the browser cannot remember; the other checks still hold.
    }
  }
  const cosigned = await cosignedCheckpoints(keys, checkpoint);
  return { note, keys, checkpoint, witness, cosigned };
}

/**
 * The checkpoints the platform's witnesses cosigned, as it publishes them: each checked
 * here to be signed by the platform and consistent with the newest checkpoint. (The
 * witness's own signature needs the witness's key: `tradehall log verify --witness`.)
 */
async function cosignedCheckpoints(keys, newest) {
  const { cosignatures } = await api('/api/v1/log/cosignatures');
  const out = [];
  for (const c of cosignatures) {
    let consistent = false;
    try {
      const cp = await verify.verifyCheckpoint(c.note, keys);
      if (cp.size === newest.size) {
        consistent = verify.bytesToHex(cp.root) === verify.bytesToHex(newest.root);
      } else {
        const [first, second] = cp.size < newest.size ? [cp, newest] : [newest, cp];
        const proof = await api(`/api/v1/log/proof/consistency${query({ first: String(first.size), second: String(second.size) })}`);
        consistent = await verify.verifyConsistency(first.size, second.size, first.root, second.root, proof.proof.map(verify.hexToBytes));
      }
    } catch (e) {
      if (!(e instanceof verify.VerifyError)) throw e;
    }
    out.push({ witness: c.witness, size: String(c.size), at: c.cosigned_at, consistent });
  }
  return out;
}

function Cosigned({ cosigned }) {
  return html`<section aria-labelledby="h-cosigned" data-testid="cosigned">
    <h2 id="h-cosigned">${t('log.cosignatures')}</h2>
    ${cosigned.length === 0
      ? html`<p class="muted">${t('log.no_cosignatures')}</p>`
      : html`<ul>${cosigned.map((c) => html`<li class=${c.consistent ? 'ok' : 'error'} role=${c.consistent ? null : 'alert'}>
          ${c.consistent ? '✓ ' : '✗ '}${t(c.consistent ? 'log.cosigned' : 'log.cosigned_inconsistent', { w: c.witness, size: c.size })}
          <span class="small muted"> (${formatInstant(c.at)})</span></li>`)}</ul>
        <p class="small muted">${t('log.cosignature_note')}</p>`}
  </section>`;
}

function Checkpoint({ state, onRefresh }) {
  const { checkpoint, witness } = state;
  return html`<section aria-labelledby="h-cp" data-testid="checkpoint">
    <h2 id="h-cp">${t('log.checkpoint')} <button type="button" onClick=${onRefresh}>${t('log.refresh')}</button></h2>
    <dl class="facts">
      <dt>${t('log.origin')}</dt><dd><code>${checkpoint.origin}</code></dd>
      <dt>${t('log.size')}</dt><dd data-testid="log-size">${String(checkpoint.size)}</dd>
      <dt>${t('log.root')}</dt><dd><code class="wrap">${verify.bytesToHex(checkpoint.root)}</code></dd>
      <dt>${t('log.signed_at')}</dt><dd>${formatInstant(checkpoint.time)}</dd>
      <dt>${t('log.key')}</dt><dd><code class="wrap">${checkpoint.keyId}</code> <span class="ok">✓ ${t('log.signature_ok')}</span></dd>
    </dl>
    <p class=${witness.state === 'inconsistent' ? 'notice error' : 'notice ok'} role=${witness.state === 'inconsistent' ? 'alert' : 'status'} data-testid="witness">
      ${witness.state === 'consistent' ? t('log.consistent', { n: witness.size }) : witness.state === 'first' ? t('log.first_seen') : t('log.inconsistent')}
    </p>
  </section>`;
}

function EntryLookup({ state, initial }) {
  const [index, setIndex] = useState(initial ?? '');
  const [found, setFound] = useState(null);
  const lookup = async (seq) => {
    const n = Number(seq);
    if (!Number.isSafeInteger(n) || n < 1 || BigInt(n) > state.checkpoint.size) {
      setFound({ error: `1 – ${state.checkpoint.size}` });
      return;
    }
    const size = String(state.checkpoint.size);
    const [entries, proof] = await Promise.all([
      api(`/api/v1/log/entries${query({ start: n - 1, end: n })}`),
      api(`/api/v1/log/proof/inclusion${query({ index: n - 1, size })}`),
    ]);
    const bytes = verify.base64ToBytes(entries.entries[0].entry);
    const leaf = await verify.leafHash(bytes);
    const included = await verify.verifyInclusion(BigInt(n - 1), state.checkpoint.size, leaf, proof.proof.map(verify.hexToBytes), state.checkpoint.root);
    const text = new TextDecoder().decode(bytes);
    let pretty = text;
    try {
      pretty = JSON.stringify(JSON.parse(text), null, 2);
    } catch {
      // Shown as stored.
    }
    setFound({ n, included, pretty, leaf: verify.bytesToHex(leaf) });
  };
  useEffect(() => {
    if (initial) lookup(initial).catch(reportError);
  }, [initial, state.checkpoint.size]);
  const submit = (e) => {
    e.preventDefault();
    lookup(index).catch(reportError);
  };
  return html`<section aria-labelledby="h-entry">
    <h2 id="h-entry">${t('log.entry')}</h2>
    <form class="inline" onSubmit=${submit}>
      <label for="entry-index">${t('log.entry_index')}</label>
      <input id="entry-index" inputmode="numeric" pattern="[0-9]+" required value=${index} onInput=${(e) => setIndex(e.currentTarget.value)} />
      <button type="submit" class="primary">${t('log.lookup')}</button>
    </form>
    ${found?.error ? html`<p class="notice error" role="alert">${found.error}</p>` : null}
    ${found && !found.error
      ? html`<div data-testid="entry">
          <p class=${found.included ? 'notice ok' : 'notice error'} role="status">
            ${found.included ? `✓ ${t('log.entry_included', { n: found.n, size: String(state.checkpoint.size) })}` : t('log.entry_not_included')}</p>
          <p class="small muted">leaf hash <code class="wrap">${found.leaf}</code></p>
          <pre class="entry">${found.pretty}</pre>
        </div>`
      : null}
  </section>`;
}

function ReceiptCheck({ state }) {
  const [text, setText] = useState('');
  const [outcome, setOutcome] = useState(null);
  const check = async (source) => {
    setOutcome(null);
    let receipt;
    try {
      receipt = JSON.parse(source);
    } catch {
      setOutcome({ ok: false, message: () => t('verify.malformed') });
      return;
    }
    try {
      const ok = await verify.verifyReceipt(receipt, state.keys);
      setOutcome({ ok: true, message: () => t('log.receipt_ok', { n: ok.logIndex, size: String(ok.size), key: ok.keyId.slice(0, 16) + '…' }), receivedAt: ok.receivedAt });
    } catch (e) {
      if (!(e instanceof verify.VerifyError)) throw e;
      setOutcome({ ok: false, message: () => t(`verify.${e.code}`) });
    }
  };
  const onFile = async (e) => {
    const file = e.currentTarget.files?.[0];
    if (!file) return;
    const content = await file.text();
    setText(content);
    await check(content);
  };
  const submit = (e) => {
    e.preventDefault();
    check(text).catch(reportError);
  };
  return html`<section aria-labelledby="h-receipt">
    <h2 id="h-receipt">${t('log.receipt')}</h2>
    <form onSubmit=${submit}>
      <label for="receipt-text">${t('log.receipt_paste')}</label>
      <textarea id="receipt-text" rows="6" spellcheck="false" value=${text} onInput=${(e) => setText(e.currentTarget.value)}></textarea>
      <div class="inline">
        <label for="receipt-file">${t('log.receipt_file')}</label>
        <input id="receipt-file" type="file" accept="application/json,.json" onChange=${(e) => onFile(e).catch(reportError)} />
        <button type="submit" class="primary">${t('log.verify')}</button>
      </div>
    </form>
    ${outcome
      ? html`<p class=${outcome.ok ? 'notice ok' : 'notice error'} role=${outcome.ok ? 'status' : 'alert'} data-testid="receipt-outcome">
          ${outcome.ok ? '✓ ' : '✗ '}${outcome.message()}
          ${outcome.receivedAt ? html`<br /><span class="small">${t('log.receipt_received')}: ${formatInstant(outcome.receivedAt)}</span>` : null}</p>`
      : null}
  </section>`;
}

export function LogExplorer({ params }) {
  const [state, setState] = useState(null);
  const [error, setError] = useState(null);
  const refresh = () => {
    setError(null);
    latestCheckpoint().then(setState).catch(setError);
  };
  useEffect(refresh, []);
  return html`<section class="log">
    <h1>${t('log.title')}</h1>
    <p class="muted">${t('log.intro')}</p>
    ${error ? html`<p class="notice error" role="alert">${error instanceof verify.VerifyError ? t(`verify.${error.code}`) : error.message}</p>` : null}
    ${state
      ? html`<${Checkpoint} state=${state} onRefresh=${refresh} />
          <${Cosigned} cosigned=${state.cosigned} />
          <${EntryLookup} state=${state} initial=${params.entry} />
          <${ReceiptCheck} state=${state} />`
      : error ? null : html`<p class="muted" aria-busy="true">${t('loading')}</p>`}
  </section>`;
}
