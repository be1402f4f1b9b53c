// The published rulebook (GET /api/v1/rulebook): the kinds of trade and their procedures,
// fetched once per page load.
import { api } from './api.js';
import { t, lang } from './i18n.js';

let loaded = null;

/** `{version, sha256, kinds: [{id, name, procedures: [{id, name, engine, participation, reserve}]}]}`;
 * `reserve` is a live procedure's reserve-price policy (`sealed`, `public`) or null. */
export function rulebook() {
  loaded ??= api('/api/v1/rulebook').then((book) => {
    const kinds = new Map();
    for (const p of book.procedures) {
      if (!kinds.has(p.kind)) kinds.set(p.kind, { id: p.kind, zh: p.kind_name, get name() { return kindName(this.id, this.zh); }, procedures: [] });
      kinds.get(p.kind).procedures.push({
        id: p.procedure, zh: p.procedure_name, get name() { return local('procedure', this.id, this.zh); },
        engine: p.engine, participation: p.participation ?? 'open', reserve: p.reserve_price?.policy ?? null,
      });
    }
    return { version: book.version, sha256: book.sha256, kinds: [...kinds.values()] };
  });
  loaded.catch(() => {
    loaded = null;
  });
  return loaded;
}

/** The rulebook's Chinese name in Chinese pages; in English pages our translation of the id. */
function local(group, id, zh) {
  if (lang() === 'zh-CN') return zh;
  const key = `rulebook.${group}.${id}`;
  const text = t(key);
  return text === key ? zh : text;
}

/** A kind of trade by its id, in the page's language (`zh` is the rulebook's name). */
export const kindName = (id, zh) => local('kind', id, zh);

/** A procedure by its id, in the page's language (`zh` is the rulebook's name). */
export const procedureLabel = (id, zh) => local('procedure', id, zh);

/** "kind · procedure" in the rulebook's words, or the ids while it loads. */
export function procedureName(kinds, kind, procedure) {
  const k = kinds.find((x) => x.id === kind);
  const p = k?.procedures.find((x) => x.id === procedure);
  return `${k?.name ?? kind} · ${p?.name ?? procedure}`;
}
