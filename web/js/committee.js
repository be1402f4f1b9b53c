// Before a bid is sealed in this browser, every key of the trade's opening committee is
// checked here, trusting the platform for nothing it could have changed: an operator who
// swapped a key in the database would read every bid sealed after. The same checks as
// `tradehall bid seal` (docs/protocol.md, "Custodian keys"):
//
// 1. the custodian's certificate was issued by a recognised CA (`GET /api/v1/trust/roots`)
//    and valid when the key was registered, and it signed the key
//    ("tradehall-custodian-key-v1" 0x00 trade 0x00 key);
// 2. the key is the one its registration entry in the transparency log names, and that
//    entry is in the newest checkpoint signed by a published platform key.

import { concat, equal, utf8 } from './bytes.js';
import { base64ToBytes, hexToBytes, leafHash, verifyCheckpoint, verifyInclusion } from './verify.js';
import { verifyIssuedBy, verifyWithCertificate } from './x509.js';

/**
 * A committee key that did not check out: `custodian` names whose, `code` what failed
 * (the page translates it as `committee.<code>`), `n` the log entry where one is named.
 */
export class CommitteeError extends Error {
  constructor(custodian, code, message, n = null) {
    super(message);
    this.custodian = custodian;
    this.code = code;
    this.n = n;
  }
}

const LABEL = utf8.encode('tradehall-custodian-key-v1');

/**
 * The checked committee of `trade` (its JSON): `keys` ({ id, publicKey }) in committee
 * order, `threshold`, and for each custodian who holds the key (`holders`: id, name,
 * organisation, issuing CA, log entry). `get(path)` fetches JSON, or text for the
 * checkpoint. Throws CommitteeError naming the first key that fails.
 */
export async function checkCommittee(trade, get) {
  if ((trade.committee.suite ?? 1) !== 1) throw new CommitteeError(null, 'suite_cli', `the trade seals with envelope suite ${trade.committee.suite}, which this page cannot`);
  if (trade.committee_ready !== true) throw new CommitteeError(null, 'not_ready', 'the opening committee has not registered all its keys yet');
  const [{ roots }, { keys: platformKeys }, note] = await Promise.all([get('/api/v1/trust/roots'), get('/api/v1/platform/keys'), get('/api/v1/log/checkpoint')]);
  const checkpoint = await verifyCheckpoint(note, platformKeys);
  const rootDers = roots.map(base64ToBytes);
  const keys = [];
  const holders = [];
  for (const custodian of trade.committee.custodians) {
    const key = trade.custodian_keys.find((k) => k.custodian === custodian);
    const fail = (code, why, n = null) => new CommitteeError(custodian, code, `custodian ${custodian}: ${why}`, n);
    if (!key) throw fail('no_key', 'no key registered');
    const publicKey = base64ToBytes(key.public_key);
    if (publicKey.length !== 32) throw fail('key_malformed', 'the key is not 32 bytes');

    let certificate;
    try {
      certificate = await verifyIssuedBy(base64ToBytes(key.certificate ?? ''), rootDers, new Date(key.registered_at));
    } catch (err) {
      throw fail('certificate', err.message);
    }
    const message = concat(LABEL, Uint8Array.of(0), utf8.encode(trade.id), Uint8Array.of(0), publicKey);
    if (!(await verifyWithCertificate(certificate, message, base64ToBytes(key.signature)))) throw fail('signature', 'its certificate did not sign this key');

    if (!Number.isSafeInteger(key.log_index) || key.log_index < 1) throw fail('not_logged', 'its registration is not in the log');
    const leaf = key.log_index - 1;
    if (BigInt(leaf) >= checkpoint.size) throw fail('not_logged', 'its registration is not in the newest checkpoint');
    const { entries } = await get(`/api/v1/log/entries?start=${leaf}&end=${leaf + 1}`);
    const bytes = base64ToBytes(entries?.[0]?.entry ?? '');
    let entry;
    try {
      entry = JSON.parse(new TextDecoder().decode(bytes));
    } catch {
      throw fail('entry_mismatch', `log entry ${key.log_index} is not JSON`, key.log_index);
    }
    const logged = entry?.data?.key ?? {};
    const same =
      entry.kind === 'trade.custodian_key_registered' &&
      entry.trade === trade.id &&
      entry.data?.custodian === custodian &&
      logged.public_key === key.public_key &&
      logged.signature === key.signature &&
      logged.certificate === key.certificate;
    if (!same) throw fail('entry_mismatch', `it is not the key its registration entry ${key.log_index} in the log names`, key.log_index);
    const { proof } = await get(`/api/v1/log/proof/inclusion?index=${leaf}&size=${checkpoint.size}`);
    if (!(await verifyInclusion(leaf, checkpoint.size, await leafHash(bytes), proof.map(hexToBytes), checkpoint.root))) {
      throw fail('not_included', `its registration entry ${key.log_index} is not in the signed log`, key.log_index);
    }
    if (keys.some((k) => equal(k.publicKey, publicKey))) throw fail('duplicate', 'two custodians registered the same key');
    keys.push({ id: key.key_id, publicKey });
    holders.push({
      custodian,
      name: certificate.subjectName.CN ?? '',
      organization: certificate.subjectName.O ?? '',
      issuer: certificate.issuerName.O ?? certificate.issuerName.CN ?? '',
      logIndex: key.log_index,
    });
  }
  return { keys, threshold: trade.committee.threshold, holders, checkpointSize: checkpoint.size };
}
