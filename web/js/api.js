// The HTTP API (docs/api.md) from the browser: one error shape, and the server's clock.

/** A refusal from the server, with its stable code (docs/api.md, "Errors"). */
export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/** Fetches `path` and returns the parsed JSON (or text for `text/plain`). */
export async function api(path, { method = 'GET', body, token, signal } = {}) {
  const headers = {};
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (token) headers.authorization = `Bearer ${token}`;
  let response;
  try {
    response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal });
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    throw new ApiError(0, 'network', e.message);
  }
  const type = response.headers.get('content-type') ?? '';
  const payload = type.includes('json') ? await response.json() : await response.text();
  if (!response.ok) {
    const error = payload?.error ?? {};
    throw new ApiError(response.status, error.code ?? 'http_' + response.status, error.message ?? String(payload));
  }
  return payload;
}

/** Query string from the set members of `params`. */
export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== '') q.set(k, v);
  }
  const text = q.toString();
  return text ? `?${text}` : '';
}

// Server time rules: the offset between the server's clock and this one, from /healthz.
let offsetMs = 0;
let demoMode = false;

/** Takes the server's time from an answer sent at `sent` and received at `received`. */
export function noteServerTime(serverTime, sent, received) {
  const at = new Date(serverTime).getTime();
  if (!Number.isNaN(at)) offsetMs = at - (sent + received) / 2;
}

export async function syncClock() {
  const sent = Date.now();
  const health = await api('/healthz');
  noteServerTime(health.server_time, sent, Date.now());
  demoMode = Boolean(health.demo_mode);
  return health;
}

/** The server's time now, as this browser estimates it. */
export const serverNow = () => new Date(Date.now() + offsetMs);
export const isDemo = () => demoMode;
