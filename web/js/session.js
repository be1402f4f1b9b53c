// Sign-in with an X.509 certificate whose private key never leaves the browser: the PKCS#8
// key file is imported into WebCrypto as a non-extractable key and signs the login
// challenge (docs/api.md, "What is signed"). The signature goes to the server as WebCrypto
// makes it: ECDSA as fixed-width r‖s, Ed25519 as its 64 bytes, standard base64.
import { api, serverNow } from './api.js';
import { bytesToBase64 as base64 } from './bytes.js';

const SESSION_KEY = 'tradehall.session';
const utf8 = new TextEncoder();

/** A sign-in step that failed on this side; `code` names it for the page. */
export class SignInError extends Error {
  constructor(code, message) {
    super(message);
    this.code = code;
  }
}

/** The DER bytes of the first PEM block labelled `label` in `text` (other lines ignored). */
export function pemBlock(text, label) {
  const match = new RegExp(`-----BEGIN ${label}-----([^-]+)-----END ${label}-----`).exec(text);
  if (!match) return null;
  const b64 = match[1].replace(/\s+/g, '');
  try {
    return Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  } catch {
    return null;
  }
}

const ALGORITHMS = [
  { import: { name: 'ECDSA', namedCurve: 'P-256' }, sign: { name: 'ECDSA', hash: 'SHA-256' } },
  { import: { name: 'ECDSA', namedCurve: 'P-384' }, sign: { name: 'ECDSA', hash: 'SHA-384' } },
  { import: { name: 'Ed25519' }, sign: { name: 'Ed25519' } },
];

/** `{key, curve, sign}` for a WebCrypto signing key of one of ALGORITHMS. */
function signerOf(key) {
  const curve = key.algorithm.namedCurve ?? key.algorithm.name;
  const algorithm = ALGORITHMS.find((a) => (a.import.namedCurve ?? a.import.name) === curve);
  return { key, curve, sign: async (bytes) => new Uint8Array(await crypto.subtle.sign(algorithm.sign, key, bytes)) };
}

/**
 * Imports a PKCS#8 private key (PEM) as a non-extractable signing key. Returns
 * `{key, sign}`; `sign(bytes)` gives the raw signature WebCrypto makes.
 */
export async function importPrivateKey(pem) {
  if (/-----BEGIN ENCRYPTED PRIVATE KEY-----/.test(pem)) {
    throw new SignInError('key_encrypted', 'passphrase-protected key files cannot be used in the browser');
  }
  const der = pemBlock(pem, 'PRIVATE KEY');
  if (!der) throw new SignInError('key_malformed', 'not a PKCS#8 private key (-----BEGIN PRIVATE KEY-----)');
  for (const algorithm of ALGORITHMS) {
    try {
      const key = await crypto.subtle.importKey('pkcs8', der, algorithm.import, false, ['sign']);
      return signerOf(key);
    } catch {
      // Not this algorithm; try the next.
    }
  }
  throw new SignInError('key_unsupported', 'the key is not ECDSA P-256, P-384 or Ed25519');
}


// The signing key of this tab's session, for actions that need the user's signature. The
// non-extractable CryptoKey is also kept in IndexedDB (structured clone keeps it a
// CryptoKey, its bytes unreadable to script) under the session's token, so a reload does
// not ask for the key file again; sign-out, an expired session or another sign-in forgets it.
let signer = null;
export const sessionSigner = () => signer;

const KEY_DB = 'tradehall.keys';
const KEY_STORE = 'session';

function keyStore(mode, use) {
  return new Promise((resolve, reject) => {
    const open = indexedDB.open(KEY_DB, 1);
    open.onupgradeneeded = () => open.result.createObjectStore(KEY_STORE);
    open.onerror = () => reject(open.error);
    open.onsuccess = () => {
      const db = open.result;
      const tx = db.transaction(KEY_STORE, mode);
      const request = use(tx.objectStore(KEY_STORE));
      tx.oncomplete = () => {
        db.close();
        resolve(request?.result);
      };
      tx.onerror = () => {
        db.close();
        reject(tx.error);
      };
    };
  });
}

const keepKey = (token, expiresAt, key) => keyStore('readwrite', (store) => store.put({ token, expires_at: expiresAt, key }, 'signer'));
const forgetKey = () => keyStore('readwrite', (store) => store.delete('signer')).catch(() => {});

/**
 * Called once as the app starts: takes back the signing key kept for this tab's session,
 * and forgets a kept key that belongs to no live session.
 */
export async function restoreSigner() {
  try {
    const kept = await keyStore('readonly', (store) => store.get('signer'));
    if (!kept) return;
    const session = currentSession();
    if (session && kept.token === session.token && new Date(kept.expires_at) > serverNow()) {
      signer = signerOf(kept.key);
    } else {
      await forgetKey();
    }
  } catch {
    // No IndexedDB (a private window may refuse it): the key file is asked for again.
  }
}

/** Signs in: challenge, signature in the browser, login. Keeps the session for this tab. */
export async function signIn(certificatePem, keyPem) {
  if (!pemBlock(certificatePem, 'CERTIFICATE')) {
    throw new SignInError('certificate_malformed', 'not a PEM certificate (-----BEGIN CERTIFICATE-----)');
  }
  const imported = await importPrivateKey(keyPem);
  const challenge = await api('/api/v1/auth/challenge', { method: 'POST' });
  const message = challenge.sign.replace('<purpose>', 'login');
  const signature = await imported.sign(utf8.encode(message));
  const login = await api('/api/v1/auth/login', {
    method: 'POST',
    body: { certificate_chain: certificatePem, nonce: challenge.nonce, signature: base64(signature) },
  });
  signer = imported;
  await keepKey(login.token, login.expires_at, imported.key).catch(() => {});
  // The certificate is public; kept so the tab can seal bids without asking for it again.
  const session = { token: login.token, expires_at: login.expires_at, identity: login.identity, certificate: certificatePem };
  sessionStorage.setItem(SESSION_KEY, JSON.stringify(session));
  notify();
  return session;
}

/** This tab's session, if it has one that has not expired. */
export function currentSession() {
  try {
    const session = JSON.parse(sessionStorage.getItem(SESSION_KEY) ?? 'null');
    if (session && new Date(session.expires_at) > serverNow()) return session;
  } catch {
    // A damaged entry is no session.
  }
  return null;
}

export function signOut() {
  const session = currentSession();
  // The server ends the session and clears the WebSocket cookie; the tab forgets at once.
  if (session) api('/api/v1/auth/logout', { method: 'POST', token: session.token }).catch(() => {});
  sessionStorage.removeItem(SESSION_KEY);
  signer = null;
  forgetKey();
  notify();
}

// The header follows sign-in and sign-out.
const listeners = new Set();
export const onSessionChange = (listener) => {
  listeners.add(listener);
  return () => listeners.delete(listener);
};
const notify = () => listeners.forEach((l) => l(currentSession()));
