// The HTTP API (docs/api.md) from the browser: one error shape, and the server's clock.
import { errorText } from './errors.js';

/** A refusal from the server, with its stable code (docs/api.md, "Errors"). `message` is
 * what a person reads, in the page's language; `serverMessage` is the server's own words
 * (English, for operators); `detail` the rest of the answer's `error` (a rule, its article). */
export class ApiError extends Error {
  constructor(status, code, serverMessage, detail = {}) {
    super();
    this.status = status;
    this.code = code;
    this.serverMessage = serverMessage;
    this.detail = detail;
  }

  /** What a person reads, in the page's language as it is when read. */
  get message() {
    return errorText(this.code, { ...this.detail, status: this.status });
  }

  /** The refusal from a JSON answer's body (`{"error": {…}}`) and its HTTP status. */
  static from(status, body) {
    const error = body?.error ?? {};
    return new ApiError(status, error.code ?? 'http_' + status, error.message ?? String(body), error);
  }
}

/** Fetches `path` and returns the parsed JSON (or text for `text/plain`). `body` is sent as
 * JSON; `bytes` (a Blob, File or Uint8Array) as they are, with `contentType`. */
export async function api(path, { method = 'GET', body, bytes, contentType = 'application/octet-stream', token, signal } = {}) {
  const headers = {};
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (bytes !== undefined) headers['content-type'] = contentType;
  if (token) headers.authorization = `Bearer ${token}`;
  let response;
  try {
    response = await fetch(path, { method, headers, body: bytes ?? (body === undefined ? undefined : JSON.stringify(body)), signal });
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    throw new ApiError(0, 'network', e.message);
  }
  const type = response.headers.get('content-type') ?? '';
  const payload = type.includes('json') ? await response.json() : await response.text();
  if (!response.ok) throw ApiError.from(response.status, payload);
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
