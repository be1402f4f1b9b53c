// The platform's rulebook (统一交易规则) as a page: every kind of trade and its
// procedures, each rule with its number and the article of law or platform rule it
// comes from, and the SHA-256 of the exact text in force.
import { useEffect, useState } from 'preact/hooks';
import { html } from '../html.js';
import { api } from '../api.js';
import { t } from '../i18n.js';
import { kindName, procedureLabel } from '../rulebook.js';
import { ruleName } from '../rule-names.js';
import { reportError } from '../app.js';

export function RulesPage() {
  const [book, setBook] = useState(null);
  useEffect(() => {
    api('/api/v1/rulebook').then(setBook).catch(reportError);
  }, []);
  if (!book) return html`<p class="muted" aria-busy="true">${t('loading')}</p>`;
  const kinds = [...new Set(book.procedures.map((p) => p.kind))];
  return html`<section class="rules" data-testid="rules">
    <h1>${t('rules.title')}</h1>
    <p><span lang="zh-CN">${book.title}</span></p>
    <p class="small muted">${t('rules.version', { version: book.version })} · SHA-256 <code class="wrap">${book.sha256}</code></p>
    <p class="small"><a href="#/help">${t('help.title')}</a></p>
    ${kinds.map((kind) => {
      const procedures = book.procedures.filter((p) => p.kind === kind);
      return html`<section key=${kind} aria-labelledby=${`h-${kind}`}>
        <h2 id=${`h-${kind}`}>${kindName(kind, procedures[0].kind_name)}</h2>
        ${procedures.map((p) => html`<div key=${p.procedure}>
          <h3>${procedureLabel(p.procedure, p.procedure_name)}</h3>
          <div class="table-wrap"><table>
            <thead><tr><th scope="col">${t('rules.rule')}</th><th scope="col" class="num">${t('rules.value')}</th><th scope="col">${t('rules.article')}</th></tr></thead>
            <tbody>${Object.entries(p.rules).filter(([, rule]) => rule).map(([key, rule]) => html`<tr key=${key}>
              <td>${ruleName(key)} <code class="small">${key}</code></td>
              <td class="num">${rule.value}</td>
              <td lang="zh-CN">${rule.article}</td>
            </tr>`)}</tbody>
          </table></div>
        </div>`)}
      </section>`;
    })}
  </section>`;
}
