// Trades by title, never by an id prefix: the titles of the trades a page names, fetched
// once each (GET /api/v1/trades/{id}) and kept for the page's life.
import { useEffect, useState } from 'preact/hooks';
import { api } from './api.js';
import { reportError } from './app.js';

/** `{byId, reload}`: the trades of `ids` as they load (`byId[id]` is the trade), and
 * `reload(id)` to read one again after it changed. `token` reads drafts where allowed. */
export function useTrades(ids, token) {
  const [byId, setById] = useState({});
  const unique = [...new Set(ids)].sort();
  const key = unique.join(',');
  const load = (only) =>
    Promise.all(only.map((id) => api(`/api/v1/trades/${id}`, { token }).catch(() => null))).then((loaded) =>
      setById((prev) => ({ ...prev, ...Object.fromEntries(loaded.filter(Boolean).map((tr) => [tr.id, tr])) })),
    );
  useEffect(() => {
    load(unique.filter((id) => !byId[id])).catch(reportError);
  }, [key]);
  return { byId, reload: (id) => load([id]).catch(reportError) };
}
