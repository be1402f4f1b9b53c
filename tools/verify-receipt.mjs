#!/usr/bin/env node
// An independent verifier of a tradehall bid receipt, written from docs/transparency-log.md
// and docs/protocol.md with nothing but the platform's standard Web Crypto (SHA-256,
// Ed25519). The checks are web/js/verify.js, the module the web log explorer runs in the
// browser: one implementation, two places.
//
//   node tools/verify-receipt.mjs receipt.json keys.json
//
// keys.json is a saved GET /api/v1/platform/keys. Checks, in order: the receipt's platform
// signature; the checkpoint's signed-note signature; that the entry is the receipt's
// bid.received entry; and the RFC 9162 inclusion proof of the entry in the checkpoint's
// tree. Exits 0 and prints "receipt OK …" if all hold, else exits 1 and says what broke.
import { readFileSync } from 'node:fs';
import { verifyReceipt } from '../web/js/verify.js';

const fail = (why) => {
  console.error(`receipt NOT OK: ${why}`);
  process.exit(1);
};

const [receiptPath, keysPath] = process.argv.slice(2);
if (!receiptPath || !keysPath) fail('usage: verify-receipt.mjs receipt.json keys.json');
const receipt = JSON.parse(readFileSync(receiptPath, 'utf8'));
const keys = JSON.parse(readFileSync(keysPath, 'utf8')).keys;
try {
  const ok = await verifyReceipt(receipt, keys);
  console.log(`receipt OK: entry ${ok.logIndex} is in the ${ok.size}-entry tree of ${ok.origin}, signed by key ${ok.keyId}`);
} catch (e) {
  fail(e.message);
}
