#!/usr/bin/env node
// An independent verifier of a tradehall bid receipt, written from docs/transparency-log.md
// and docs/protocol.md with nothing but Node's standard library (crypto: SHA-256, Ed25519).
//
//   node tools/verify-receipt.mjs receipt.json keys.json
//
// keys.json is a saved GET /api/v1/platform/keys. Checks, in order: the receipt's platform
// signature; the checkpoint's signed-note signature; that the entry is the receipt's
// bid.received entry; and the RFC 9162 inclusion proof of the entry in the checkpoint's
// tree. Exits 0 and prints "receipt OK …" if all hold, else exits 1 and says what broke.
import { createHash, createPublicKey, verify } from 'node:crypto';
import { readFileSync } from 'node:fs';

const sha256 = (...parts) => createHash('sha256').update(Buffer.concat(parts.map((p) => Buffer.from(p)))).digest();
const fail = (why) => { console.error(`receipt NOT OK: ${why}`); process.exit(1); };
const ed25519 = (publicKeyHex, message, signature) => verify(null, Buffer.from(message), createPublicKey({
  key: Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), Buffer.from(publicKeyHex, 'hex')]),
  format: 'der', type: 'spki',
}), Buffer.from(signature));

const [receiptPath, keysPath] = process.argv.slice(2);
if (!receiptPath || !keysPath) fail('usage: verify-receipt.mjs receipt.json keys.json');
const receipt = JSON.parse(readFileSync(receiptPath, 'utf8'));
const keys = JSON.parse(readFileSync(keysPath, 'utf8')).keys;

// 1. The receipt's signature (docs/protocol.md, "Receipts").
const fields = [receipt.trade, receipt.envelope_sha256, receipt.received_at, String(receipt.log_index), receipt.blinded_commitment, receipt.key_id];
const message = Buffer.concat([Buffer.from('tradehall-receipt-v1'), ...fields.flatMap((f) => [Buffer.from([0]), Buffer.from(f, 'utf8')])]);
const signer = keys.find((k) => k.key_id === receipt.key_id);
if (!signer) fail(`unknown platform key ${receipt.key_id}`);
if (!ed25519(signer.public_key, message, Buffer.from(receipt.signature, 'hex'))) fail('the receipt signature does not verify');

// 2. The checkpoint: a C2SP signed note (docs/transparency-log.md, "Checkpoints").
const inclusion = receipt.inclusion;
if (!inclusion) fail('the receipt carries no inclusion proof');
const split = inclusion.checkpoint.indexOf('\n\n');
if (split < 0) fail('the checkpoint has no signature block');
const body = inclusion.checkpoint.slice(0, split + 1);
const [origin, sizeText, rootB64] = body.split('\n');
const size = BigInt(sizeText);
const root = Buffer.from(rootB64, 'base64');
const signed = inclusion.checkpoint.slice(split + 2).split('\n').filter((l) => l.startsWith('\u2014 ')).some((line) => {
  const [name, blobB64] = line.slice(2).split(' ');
  const blob = Buffer.from(blobB64, 'base64');
  if (name !== origin || blob.length !== 68) return false;
  return keys.some((k) => {
    const keyHash = sha256(Buffer.from(`${name}\n`), Buffer.from([1]), Buffer.from(k.public_key, 'hex')).subarray(0, 4);
    return keyHash.equals(blob.subarray(0, 4)) && ed25519(k.public_key, body, blob.subarray(4));
  });
});
if (!signed) fail('the checkpoint is not signed by a published platform key');

// 3. The entry is the receipt's bid.received entry (docs/event-log.md).
const entry = Buffer.from(inclusion.entry, 'base64');
const parsed = JSON.parse(entry.toString('utf8'));
if (parsed.seq !== receipt.log_index || parsed.kind !== 'bid.received' || parsed.data.commitment !== receipt.blinded_commitment) {
  fail('the entry is not the receipt\'s bid.received entry');
}

// 4. RFC 9162 §2.1.3.2: the inclusion proof from the leaf to the signed root.
let fn = BigInt(receipt.log_index - 1);
if (fn >= size) fail('the checkpoint does not cover the entry');
let sn = size - 1n;
let r = sha256(Buffer.from([0]), entry);
for (const hex of inclusion.proof) {
  const p = Buffer.from(hex, 'hex');
  if (sn === 0n) fail('the proof is too long');
  if ((fn & 1n) === 1n || fn === sn) {
    r = sha256(Buffer.from([1]), p, r);
    if ((fn & 1n) === 0n) { while ((fn & 1n) === 0n && fn !== 0n) { fn >>= 1n; sn >>= 1n; } }
  } else {
    r = sha256(Buffer.from([1]), r, p);
  }
  fn >>= 1n; sn >>= 1n;
}
if (sn !== 0n || !r.equals(root)) fail('the inclusion proof does not lead to the signed root');
console.log(`receipt OK: entry ${receipt.log_index} is in the ${size}-entry tree of ${origin}, signed by key ${signer.key_id}`);
