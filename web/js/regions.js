// Administrative divisions by their GB/T 2260 code, named as people name them: the
// platform's list (GET /api/v1/regions, from regions/xinjiang.json) is loaded once before
// the first page renders; a page shows a division's name in the page's language, never
// its bare code (the code stays in a tooltip, for those who search by it). A code the
// list does not know shows as the nearest division it lies in.
import { api } from './api.js';
import { lang } from './i18n.js';

let divisions = new Map();

/** Loads the divisions; a page that renders before this resolves shows codes' enclosing names. */
export async function loadRegions() {
  const list = await api('/api/v1/regions');
  divisions = new Map(list.regions.map((r) => [r.code, r]));
  return list;
}

/** The division of `code`, or of the nearest enclosing code the list knows. */
function known(code) {
  if (!code) return null;
  for (const c of [code, `${code.slice(0, 4)}00`, `${code.slice(0, 2)}0000`]) {
    if (divisions.has(c)) return divisions.get(c);
  }
  return null;
}

const nameOf = (d) => (lang() === 'zh-CN' ? d.name : d.name_en);

/** The division's name in the page's language: "乌鲁木齐市", or "Ürümqi". */
export function regionName(code) {
  const d = known(code);
  if (!d) return code ?? '—';
  return d.code === code ? nameOf(d) : `${nameOf(d)} · ${code}`;
}

/** The name, with the parent for a county: "天山区，乌鲁木齐市". */
export function regionLabel(code) {
  const d = known(code);
  if (!d || d.code !== code) return regionName(code);
  const parent = d.level === 'county' ? divisions.get(d.parent) : null;
  return parent ? `${nameOf(d)}${lang() === 'zh-CN' ? '，' : ', '}${nameOf(parent)}` : nameOf(d);
}

/**
 * The divisions as a tree for a picker: the region, then each prefecture-level division
 * followed by its counties, each `{code, name, depth}`.
 */
export function regionTree() {
  const all = [...divisions.values()];
  const children = (parent) => all.filter((d) => d.parent === parent).sort((a, b) => a.code.localeCompare(b.code));
  const out = [];
  const walk = (d, depth) => {
    out.push({ code: d.code, name: nameOf(d), depth });
    for (const c of children(d.code)) walk(c, depth + 1);
  };
  for (const root of all.filter((d) => !d.parent)) walk(root, 0);
  return out;
}
