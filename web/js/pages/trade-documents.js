// A trade's documents on its page: the current versions with their hashes, the change
// notices (变更公告) that added or replaced them, and, for a signed-in bidder, which
// versions it downloaded and what changed since (GET /api/v1/trades/{id}/downloads/mine).
// A bidder downloads with its token, so the platform can tell it later what changed.
import { useEffect, useState } from 'preact/hooks';
import { html } from '../html.js';
import { api, ApiError } from '../api.js';
import { t, formatInstant, formatBytes } from '../i18n.js';
import { reportError } from '../app.js';

/** Saves the document `d` through the bidder's session, then calls `done`. */
async function downloadAsBidder(d, token) {
  const response = await fetch(`/api/v1/documents/${d.sha256}`, { headers: { authorization: `Bearer ${token}` } });
  if (!response.ok) {
    throw ApiError.from(response.status, await response.json().catch(() => ({})));
  }
  const a = document.createElement('a');
  a.href = URL.createObjectURL(await response.blob());
  a.download = d.name;
  a.click();
  URL.revokeObjectURL(a.href);
}

function Standing({ mine }) {
  if (!mine) return null;
  if (mine.downloaded_at) return html`<span class="badge ok" data-testid="doc-downloaded">${t('docs.downloaded', { at: formatInstant(mine.downloaded_at) })}</span>`;
  if (mine.outdated) return html`<span class="badge warn" data-testid="doc-outdated">${t('docs.outdated')}</span>`;
  return html`<span class="badge" data-testid="doc-not-downloaded">${t('docs.not_downloaded')}</span>`;
}

function Notices({ notices, since }) {
  if (notices.length === 0) return null;
  const isNew = (n) => since?.some((s) => s.number === n.number);
  return html`<section aria-labelledby="h-notices" data-testid="notices">
    <h2 id="h-notices">${t('docs.notices')}</h2>
    <ol class="notices">${notices.map((n) => html`<li key=${n.number} data-testid="notice">
      <p><strong>${t('docs.notice_number', { n: n.number })}</strong>
        <span class="muted small"> · ${formatInstant(n.issued_at)}</span>
        ${isNew(n) ? html` <span class="badge warn" data-testid="notice-new">${t('docs.notice_new')}</span>` : null}</p>
      <p class="notice-text" lang="zh-CN">${n.notice}</p>
      ${n.new_deadline ? html`<p class="small"><strong>${t('docs.deadline_moved', { at: formatInstant(n.new_deadline) })}</strong></p>` : null}
      ${n.documents.length
        ? html`<ul class="plain small">${n.documents.map((d) => html`<li key=${d.name}>
            ${d.previous_sha256 ? t('docs.replaced') : t('docs.added')}：<span lang="zh-CN">${d.name}</span>
            ${d.previous_sha256 ? html` <a href=${`/api/v1/documents/${d.previous_sha256}`} download=${d.name}>${t('docs.previous_version')}</a>` : null}
          </li>`)}</ul>`
        : null}
    </li>`)}</ol>
  </section>`;
}

/** The documents and change notices; `session` is the signed-in identity, if any. */
export function Documents({ trade, session }) {
  const bidder = session?.identity.role === 'bidder' ? session : null;
  const [mine, setMine] = useState(null);
  const [error, setError] = useState(null);
  const load = () =>
    bidder
      ? api(`/api/v1/trades/${trade.id}/downloads/mine`, { token: bidder.token }).then(setMine).catch(reportError)
      : Promise.resolve();
  useEffect(() => {
    load();
  }, [trade.id, trade.notices.length, bidder?.token]);
  const standing = (d) => mine?.documents.find((m) => m.sha256 === d.sha256);
  const download = (d) => (e) => {
    e.preventDefault();
    setError(null);
    downloadAsBidder(d, bidder.token).then(load).catch(setError);
  };
  const since = mine?.notices_since_download ?? [];
  return html`<section aria-labelledby="h-docs">
    <h2 id="h-docs">${t('trade.documents')}</h2>
    ${since.length
      ? html`<p class="notice warn" role="status" data-testid="changed-since">${t('docs.changed_since', { n: since.length, at: formatInstant(mine.first_download) })}</p>`
      : null}
    ${trade.documents.length === 0
      ? html`<p class="muted">${t('none')}</p>`
      : html`<ul class="documents" data-testid="documents">${trade.documents.map((d) => html`<li key=${d.sha256}>
          <a href=${`/api/v1/documents/${d.sha256}`} download=${d.name} onClick=${bidder ? download(d) : undefined} lang="zh-CN">${d.name}</a>
          <span class="muted"> · ${formatBytes(d.size)}</span>
          ${bidder ? html` <${Standing} mine=${standing(d)} />` : null}
          <div class="hash"><span class="muted">${t('trade.document_hash')}</span> <code>${d.sha256}</code></div>
        </li>`)}</ul>`}
    ${error ? html`<p class="notice error" role="alert">${error.message} (${error.code})</p>` : null}
  </section>
  <${Notices} notices=${trade.notices} since=${since} />`;
}
