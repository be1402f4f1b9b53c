// Verification of the transparency log and of bid receipts with WebCrypto only (SHA-256,
// Ed25519), written from docs/transparency-log.md and docs/protocol.md. The log explorer
// runs it in the browser; tools/verify-receipt.mjs runs the same module on Node.js, so
// the page and the independent command-line check are one implementation.

import { bytesToBase64, bytesToHex, concat, equal, utf8 } from './bytes.js';

export { bytesToHex };

const subtle = globalThis.crypto.subtle;

/** A check that did not hold; `code` names the step (the pages translate it). */
export class VerifyError extends Error {
  constructor(code, message) {
    super(message);
    this.code = code;
  }
}

export const hexToBytes = (hex) => {
  if (typeof hex !== 'string' || hex.length % 2 !== 0 || /[^0-9a-fA-F]/.test(hex)) {
    throw new VerifyError('malformed', `not hex: ${String(hex).slice(0, 16)}`);
  }
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i += 1) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
};

export const base64ToBytes = (text) => {
  let binary;
  try {
    binary = atob(text);
  } catch {
    throw new VerifyError('malformed', 'not base64');
  }
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
};

export const sha256 = async (...parts) => new Uint8Array(await subtle.digest('SHA-256', concat(...parts)));

/** RFC 9162 §2.1.1: the leaf hash of an entry's bytes. */
export const leafHash = (entry) => sha256(Uint8Array.of(0), entry);

const nodeHash = (left, right) => sha256(Uint8Array.of(1), left, right);

export async function ed25519Verify(publicKeyHex, message, signature) {
  const key = await subtle.importKey('raw', hexToBytes(publicKeyHex), { name: 'Ed25519' }, false, ['verify']);
  return subtle.verify({ name: 'Ed25519' }, key, signature, message);
}

/** Splits a C2SP signed note holding a tlog checkpoint into its parts. */
export function parseCheckpoint(note) {
  const split = note.indexOf('\n\n');
  if (split < 0) throw new VerifyError('checkpoint_malformed', 'the checkpoint has no signature block');
  const body = note.slice(0, split + 1);
  // Exactly origin, size, root and the time line (docs/transparency-log.md), as signed.
  const lines = body.split('\n');
  if (lines.length !== 5 || lines[0] === '' || !/^(0|[1-9][0-9]*)$/.test(lines[1]) || !lines[3].startsWith('time ')) {
    throw new VerifyError('checkpoint_malformed', 'the checkpoint body is not origin, size, root and time');
  }
  const root = base64ToBytes(lines[2]);
  if (root.length !== 32 || bytesToBase64(root) !== lines[2]) throw new VerifyError('checkpoint_malformed', 'the root is not 32 bytes of base64');
  const time = lines[3].slice(5);
  const signatures = note
    .slice(split + 2)
    .split('\n')
    .filter((l) => l.startsWith('\u2014 '))
    .map((l) => {
      const [name, blob] = l.slice(2).split(' ');
      return { name, blob: base64ToBytes(blob ?? '') };
    });
  return { body, origin: lines[0], size: BigInt(lines[1]), root, time, signatures };
}

/**
 * Checks a checkpoint's signature against the published platform keys
 * (`GET /api/v1/platform/keys`). Returns the parsed checkpoint and the signing key's id.
 * A signature line of a known key that does not verify rejects the note (C2SP
 * signed-note): a known key never signs wrongly.
 */
export async function verifyCheckpoint(note, keys) {
  const checkpoint = parseCheckpoint(note);
  const body = utf8.encode(checkpoint.body);
  let signedBy = null;
  for (const { name, blob } of checkpoint.signatures) {
    if (name !== checkpoint.origin || blob.length !== 68) continue;
    let known = false;
    let good = null;
    for (const key of keys) {
      const keyHash = (await sha256(utf8.encode(`${name}\n`), Uint8Array.of(1), hexToBytes(key.public_key))).subarray(0, 4);
      if (!equal(keyHash, blob.subarray(0, 4))) continue;
      known = true;
      if (await ed25519Verify(key.public_key, body, blob.subarray(4))) good = key;
    }
    if (known && !good) {
      throw new VerifyError('checkpoint_bad_signature', 'a signature by a published platform key does not verify');
    }
    signedBy = signedBy || good;
  }
  if (signedBy) return { ...checkpoint, keyId: signedBy.key_id };
  throw new VerifyError('checkpoint_unsigned', 'the checkpoint is not signed by a published platform key');
}

/** RFC 9162 §2.1.3.2: does `proof` lead from leaf `index` to `root` in a tree of `size`? */
export async function verifyInclusion(index, size, leaf, proof, root) {
  let fn = BigInt(index);
  let sn = BigInt(size) - 1n;
  if (fn > sn) return false;
  let r = leaf;
  for (const p of proof) {
    if (sn === 0n) return false;
    if ((fn & 1n) === 1n || fn === sn) {
      r = await nodeHash(p, r);
      while ((fn & 1n) === 0n && fn !== 0n) {
        fn >>= 1n;
        sn >>= 1n;
      }
    } else {
      r = await nodeHash(r, p);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  return sn === 0n && equal(r, root);
}

/** RFC 9162 §2.1.4.2: does `proof` show the tree of `first` is a prefix of the tree of `second`? */
export async function verifyConsistency(first, second, firstRoot, secondRoot, proof) {
  let fn = BigInt(first) - 1n;
  let sn = BigInt(second) - 1n;
  if (fn < 0n || fn > sn) return false;
  if (fn === sn) return proof.length === 0 && equal(firstRoot, secondRoot);
  let path = proof;
  // A first tree that is a complete subtree is its own first node.
  if ((BigInt(first) & (BigInt(first) - 1n)) === 0n) path = [firstRoot, ...proof];
  if (path.length === 0) return false;
  while ((fn & 1n) === 1n) {
    fn >>= 1n;
    sn >>= 1n;
  }
  let fr = path[0];
  let sr = path[0];
  for (const c of path.slice(1)) {
    if (sn === 0n) return false;
    if ((fn & 1n) === 1n || fn === sn) {
      fr = await nodeHash(c, fr);
      sr = await nodeHash(c, sr);
      while ((fn & 1n) === 0n && fn !== 0n) {
        fn >>= 1n;
        sn >>= 1n;
      }
    } else {
      sr = await nodeHash(sr, c);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  return sn === 0n && equal(fr, firstRoot) && equal(sr, secondRoot);
}

/** The bytes a receipt's platform signature covers (docs/protocol.md, "Receipts"). */
export function receiptMessage(receipt) {
  const fields = [receipt.trade, receipt.envelope_sha256, receipt.received_at, String(receipt.log_index), receipt.blinded_commitment, receipt.key_id];
  return concat(utf8.encode('tradehall-receipt-v1'), ...fields.flatMap((f) => [Uint8Array.of(0), utf8.encode(String(f))]));
}

/**
 * Verifies a bid receipt end to end: its platform signature, its checkpoint's signature,
 * that the entry is the receipt's `bid.received` entry, and the entry's inclusion in the
 * checkpoint's tree. Returns what was proven; throws a VerifyError naming the step that
 * failed.
 */
export async function verifyReceipt(receipt, keys) {
  if (typeof receipt !== 'object' || receipt === null || !Number.isSafeInteger(receipt.log_index)) {
    throw new VerifyError('malformed', 'this is not a receipt');
  }
  const signer = keys.find((k) => k.key_id === receipt.key_id);
  if (!signer) throw new VerifyError('unknown_key', `unknown platform key ${receipt.key_id}`);
  if (!(await ed25519Verify(signer.public_key, receiptMessage(receipt), hexToBytes(receipt.signature)))) {
    throw new VerifyError('receipt_signature', 'the receipt signature does not verify');
  }
  const inclusion = receipt.inclusion;
  if (!inclusion) throw new VerifyError('no_inclusion', 'the receipt carries no inclusion proof');
  const checkpoint = await verifyCheckpoint(inclusion.checkpoint, keys);
  const entry = base64ToBytes(inclusion.entry);
  let parsed;
  try {
    parsed = JSON.parse(new TextDecoder().decode(entry));
  } catch {
    throw new VerifyError('entry_mismatch', 'the entry is not JSON');
  }
  if (parsed.seq !== receipt.log_index || parsed.kind !== 'bid.received' || parsed.data?.commitment !== receipt.blinded_commitment) {
    throw new VerifyError('entry_mismatch', "the entry is not the receipt's bid.received entry");
  }
  const index = BigInt(receipt.log_index - 1);
  if (index >= checkpoint.size) throw new VerifyError('not_covered', 'the checkpoint does not cover the entry');
  const proof = inclusion.proof.map(hexToBytes);
  if (!(await verifyInclusion(index, checkpoint.size, await leafHash(entry), proof, checkpoint.root))) {
    throw new VerifyError('proof_invalid', 'the inclusion proof does not lead to the signed root');
  }
  return { logIndex: receipt.log_index, size: checkpoint.size, origin: checkpoint.origin, keyId: signer.key_id, trade: receipt.trade, receivedAt: receipt.received_at };
}

/** RFC 8785 (JCS) canonical JSON of a parsed value: members sorted, ECMAScript numbers. */
export function canonicalJson(value) {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const members = Object.keys(value)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${canonicalJson(value[k])}`);
  return `{${members.join(',')}}`;
}

/**
 * Checks a signed opening record (docs/protocol.md, "How to verify an opening record"):
 * the platform's signature over its canonical JSON, every bid's blinded commitment
 * against its revealed salt, and the record's arithmetic. Throws a VerifyError naming
 * what does not hold.
 */
export async function verifyOpeningRecord(opening, keys) {
  const { record } = opening;
  const signer = keys.find((k) => k.key_id === opening.key_id);
  if (!signer) throw new VerifyError('unknown_key', `unknown platform key ${opening.key_id}`);
  const message = concat(utf8.encode('tradehall-opening-record-v1'), Uint8Array.of(0), utf8.encode(canonicalJson(record)));
  if (!(await ed25519Verify(signer.public_key, message, base64ToBytes(opening.signature)))) {
    throw new VerifyError('opening_signature', 'the opening record signature does not verify');
  }
  for (const bid of record.bids) {
    if (bid.commitment === '') continue; // A sealed reserve price has no blinded commitment.
    const commitment = await sha256(
      utf8.encode('tradehall-bid-commitment-v1'), Uint8Array.of(0), utf8.encode(record.trade), Uint8Array.of(0),
      utf8.encode(bid.envelope_sha256), Uint8Array.of(0), hexToBytes(bid.salt),
    );
    if (bytesToHex(commitment) !== bid.commitment) {
      throw new VerifyError('opening_commitment', `bid ${bid.log_index}: the salt does not open its commitment`);
    }
  }
  const valid = record.bids.filter((b) => b.valid).length;
  const contributed = record.committee.custodians.filter((c) => c.contributed).length;
  const tooFew = record.min_valid_bids !== null && valid < record.min_valid_bids.value;
  if (valid !== record.valid_bids || contributed < record.committee.threshold || (record.min_valid_bids !== null && tooFew !== (record.outcome === 'failed'))) {
    throw new VerifyError('opening_arithmetic', 'the counts of the record do not add up');
  }
  return { keyId: signer.key_id, bids: record.bids.length, valid };
}
