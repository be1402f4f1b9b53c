// Sealing a bid in the browser: exactly the envelope docs/protocol.md specifies (version 1),
// with WebCrypto only. The content key is split k-of-n (Shamir over GF(2⁸)), each share is
// sealed to a custodian's X25519 key with HPKE (RFC 9180 base mode, DHKEM(X25519,
// HKDF-SHA256), HKDF-SHA256, AES-256-GCM), the plaintext is encrypted in 64 KiB AES-256-GCM
// chunks (STREAM), and the manifest and the envelope are signed with the bidder's ECDSA
// P-256 key, DER-encoded. The price never leaves this page unencrypted.

import { bytesToBase64 as base64, bytesToHex as hex, concat, u16, u32, u64, utf8 } from './bytes.js';
import { base64ToBytes as fromBase64, sha256 } from './verify.js';

const subtle = globalThis.crypto.subtle;
const CHUNK = 65536;
const SUITE = 'DHKEM(X25519,HKDF-SHA256)/HKDF-SHA256/AES-256-GCM';

const random = (n) => crypto.getRandomValues(new Uint8Array(n));

// ---- Shamir's secret sharing over GF(2⁸), polynomial x⁸+x⁴+x³+x²+1 (0x11d) ----

function gfMul(a, b) {
  let product = 0;
  for (let i = 0; i < 8; i += 1) {
    if (b & 1) product ^= a;
    const carry = a & 0x80;
    a = (a << 1) & 0xff;
    if (carry) a ^= 0x1d;
    b >>= 1;
  }
  return product;
}

/** Share i (1..n) is `i ‖ f₀(i) ‖ … ‖ f₃₁(i)`, each fⱼ of degree k−1 with fⱼ(0) = key[j]. */
export function splitKey(key, k, n) {
  const coefficients = Array.from(key, (secret) => [secret, ...random(k - 1)]);
  const shares = [];
  for (let x = 1; x <= n; x += 1) {
    const share = new Uint8Array(1 + key.length);
    share[0] = x;
    coefficients.forEach((c, j) => {
      let y = 0;
      for (let m = c.length - 1; m >= 0; m -= 1) y = gfMul(y, x) ^ c[m];
      share[1 + j] = y;
    });
    shares.push(share);
  }
  return shares;
}

// ---- HPKE, RFC 9180, base mode ----

const hmac = async (key, data) => {
  const k = await subtle.importKey('raw', key.length ? key : new Uint8Array(32), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  return new Uint8Array(await subtle.sign('HMAC', k, data));
};
const KEM_ID = u16(0x0020);
const KEM_SUITE = concat(utf8.encode('KEM'), KEM_ID);
const HPKE_SUITE = concat(utf8.encode('HPKE'), KEM_ID, u16(0x0001), u16(0x0002));
const labeledExtract = (suite, salt, label, ikm) => hmac(salt, concat(utf8.encode('HPKE-v1'), suite, utf8.encode(label), ikm));
const labeledExpand = async (suite, prk, label, info, length) => {
  // One HKDF-Expand block suffices: every length here is at most 32.
  const t = await hmac(prk, concat(u16(length), utf8.encode('HPKE-v1'), suite, utf8.encode(label), info, Uint8Array.of(1)));
  return t.subarray(0, length);
};

/** The base-mode key schedule: the AEAD key and nonce for sequence number 0. */
async function keySchedule(dh, enc, recipientPublicKey, info, usage) {
  if (dh.every((b) => b === 0)) throw new Error('the X25519 key is a low-order point');
  const eaePrk = await labeledExtract(KEM_SUITE, new Uint8Array(0), 'eae_prk', dh);
  const sharedSecret = await labeledExpand(KEM_SUITE, eaePrk, 'shared_secret', concat(enc, recipientPublicKey), 32);
  const pskIdHash = await labeledExtract(HPKE_SUITE, new Uint8Array(0), 'psk_id_hash', new Uint8Array(0));
  const infoHash = await labeledExtract(HPKE_SUITE, new Uint8Array(0), 'info_hash', info);
  const context = concat(Uint8Array.of(0), pskIdHash, infoHash);
  const secret = await labeledExtract(HPKE_SUITE, sharedSecret, 'secret', new Uint8Array(0));
  const key = await labeledExpand(HPKE_SUITE, secret, 'key', context, 32);
  const nonce = await labeledExpand(HPKE_SUITE, secret, 'base_nonce', context, 12);
  return { aead: await subtle.importKey('raw', key, 'AES-GCM', false, [usage]), nonce };
}

/** SealBase(pkR, info, aad = "", pt) → {enc, ct}. */
export async function hpkeSealBase(recipientPublicKey, info, plaintext) {
  const pkR = await subtle.importKey('raw', recipientPublicKey, { name: 'X25519' }, true, []);
  const ephemeral = await subtle.generateKey({ name: 'X25519' }, true, ['deriveBits']);
  const dh = new Uint8Array(await subtle.deriveBits({ name: 'X25519', public: pkR }, ephemeral.privateKey, 256));
  const enc = new Uint8Array(await subtle.exportKey('raw', ephemeral.publicKey));
  const { aead, nonce } = await keySchedule(dh, enc, recipientPublicKey, info, 'encrypt');
  const ct = new Uint8Array(await subtle.encrypt({ name: 'AES-GCM', iv: nonce, additionalData: new Uint8Array(0) }, aead, plaintext));
  return { enc, ct };
}

/** OpenBase(enc, skR, info, aad = "", ct) → the plaintext; throws if it does not open. */
export async function hpkeOpenBase(privateKey, recipientPublicKey, enc, info, ciphertext) {
  const pkE = await subtle.importKey('raw', enc, { name: 'X25519' }, true, []);
  const dh = new Uint8Array(await subtle.deriveBits({ name: 'X25519', public: pkE }, privateKey, 256));
  const { aead, nonce } = await keySchedule(dh, enc, recipientPublicKey, info, 'decrypt');
  return new Uint8Array(await subtle.decrypt({ name: 'AES-GCM', iv: nonce, additionalData: new Uint8Array(0) }, aead, ciphertext));
}

// ---- ECDSA signatures, DER-encoded (Ecdsa-Sig-Value) ----

/** WebCrypto's fixed-width r‖s as DER `SEQUENCE { INTEGER r, INTEGER s }`. */
export function ecdsaDer(raw) {
  const integer = (bytes) => {
    let i = 0;
    while (i < bytes.length - 1 && bytes[i] === 0) i += 1;
    const body = bytes[i] & 0x80 ? concat(Uint8Array.of(0), bytes.subarray(i)) : bytes.subarray(i);
    return concat(Uint8Array.of(0x02, body.length), body);
  };
  const half = raw.length / 2;
  const body = concat(integer(raw.subarray(0, half)), integer(raw.subarray(half)));
  return concat(Uint8Array.of(0x30, body.length), body);
}

const ECDSA_P256 = { name: 'ECDSA', hash: 'SHA-256' };
export const signDer = async (key, message) => ecdsaDer(new Uint8Array(await subtle.sign(ECDSA_P256, key, message)));

/** The DER certificates of a PEM chain, end-entity first. */
export function pemCertificates(pem) {
  return [...pem.matchAll(/-----BEGIN CERTIFICATE-----([^-]+)-----END CERTIFICATE-----/g)].map((m) => fromBase64(m[1].replace(/\s+/g, '')));
}

/** A fingerprint of this browser, for the collusion checks after the opening. */
export async function machineFingerprint() {
  const traits = [navigator.userAgent, navigator.language, String(navigator.hardwareConcurrency ?? ''), Intl.DateTimeFormat().resolvedOptions().timeZone, `${screen.width}x${screen.height}`];
  return `browser-sha256:${hex(await sha256(utf8.encode(traits.join('\n'))))}`;
}

/**
 * Seals a bid to `committee`, the trade's committee as web/js/committee.js checked it.
 * `files` are File objects (or Blobs with a name). Returns the envelope as a Blob and its
 * commitment (hex SHA-256 of the whole envelope), which the receipt names.
 */
export async function sealBid({ trade, committee, organization, certificatePem, signingKey, price, lots, files = [], machine }) {
  if (!Number.isSafeInteger(price) || price <= 0) throw new Error('the price must be a positive whole number of fen');
  const chain = pemCertificates(certificatePem);
  if (chain.length === 0) throw new Error('no certificate');
  const { keys, threshold } = committee;
  const bidderFingerprint = hex(await sha256(chain[0]));

  // The content key, split and sealed to each custodian for this trade and this bidder.
  const contentKey = random(32);
  const shares = splitKey(contentKey, threshold, keys.length);
  const aes = await subtle.importKey('raw', contentKey, 'AES-GCM', false, ['encrypt']);
  contentKey.fill(0);
  const sealedShares = [];
  for (const [i, key] of keys.entries()) {
    const info = concat(utf8.encode('tradehall-bid-share-v1'), Uint8Array.of(0), utf8.encode(trade.id), Uint8Array.of(0), utf8.encode(key.id), Uint8Array.of(0), utf8.encode(bidderFingerprint));
    const { enc, ct } = await hpkeSealBase(key.publicKey, info, shares[i]);
    sealedShares.push({ custodian_key: key.id, enc: base64(enc), ct: base64(ct) });
  }
  shares.forEach((share) => share.fill(0));

  const header = utf8.encode(
    JSON.stringify({
      trade: trade.id,
      organization,
      certificate_chain: chain.map(base64),
      suite: SUITE,
      threshold,
      shares: sealedShares,
      chunk_len: CHUNK,
    }),
  );
  const preamble = concat(utf8.encode('THSEALED'), u16(1), u32(header.length), header);
  const headerDigest = await sha256(preamble);

  // The plaintext: manifest, its signature, then the files' bytes.
  const entries = [];
  for (const file of files) entries.push({ name: file.name, sha256: hex(await sha256(new Uint8Array(await file.arrayBuffer()))), size: file.size });
  const manifest = utf8.encode(
    JSON.stringify({ v: 1, trade: trade.id, lots, price, currency: 'CNY', organization, machine: machine ?? (await machineFingerprint()), files: entries }),
  );
  const manifestSignature = await signDer(signingKey, concat(utf8.encode('tradehall-manifest-v1'), Uint8Array.of(0), manifest));
  const plaintext = new Blob([u32(manifest.length), manifest, u16(manifestSignature.length), manifestSignature, ...files]);

  // STREAM: 64 KiB chunks, each under its counter and the final flag, bound to the header.
  const count = Math.max(1, Math.ceil(plaintext.size / CHUNK));
  const payload = [];
  for (let c = 0; c < count; c += 1) {
    const chunk = new Uint8Array(await plaintext.slice(c * CHUNK, (c + 1) * CHUNK).arrayBuffer());
    const nonce = concat(new Uint8Array(7), u32(c), Uint8Array.of(c === count - 1 ? 1 : 0));
    payload.push(new Uint8Array(await subtle.encrypt({ name: 'AES-GCM', iv: nonce, additionalData: headerDigest }, aes, chunk)));
  }
  const payloadLength = payload.reduce((n, p) => n + p.length, 0);

  // The outer signature over the body digest, then the whole envelope.
  const body = new Blob([preamble, u64(payloadLength), ...payload]);
  const bodyDigest = await sha256(new Uint8Array(await body.arrayBuffer()));
  const signature = await signDer(signingKey, concat(utf8.encode('tradehall-envelope-v1'), Uint8Array.of(0), bodyDigest));
  const envelope = new Blob([body, u16(signature.length), signature], { type: 'application/octet-stream' });
  const commitment = hex(await sha256(new Uint8Array(await envelope.arrayBuffer())));
  return { envelope, commitment, size: envelope.size };
}
