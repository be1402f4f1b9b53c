// Preact with htm's tagged templates: components without a build step.
import { h } from 'preact';
import htm from 'htm';
import { t } from './i18n.js';

export const html = htm.bind(h);

/**
 * The message `key` with the parameters named in `names` (an organisation, a title) set
 * apart as what they are, Chinese names, in the page of either language
 * (`<span lang="zh-CN">`): screen readers say them right, and an English page shows no
 * other Chinese.
 */
export function tNames(key, params, names) {
  const marks = Object.fromEntries(names.map((n, i) => [n, `\u0001${i}\u0002`]));
  return t(key, { ...params, ...marks })
    .split(/\u0001(\d+)\u0002/)
    .map((part, i) => (i % 2 ? h('span', { lang: 'zh-CN' }, params[names[Number(part)]]) : part));
}

/** What people wrote (a question, an answer, an objection, a ruling, a name) as written,
 * marked as Chinese, the language our users write in. */
export const written = (text) => h('span', { lang: 'zh-CN' }, text);
