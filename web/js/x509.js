// Just enough X.509 for a client to check a certificate itself with WebCrypto: DER
// reading, the fields of a certificate (RFC 5280 §4.1), and a check that a certificate was
// issued by one of a set of roots and was valid at a given time. Signature algorithms are
// those WebCrypto verifies: ECDSA P-256/P-384 with SHA-256/384, RSA PKCS#1 v1.5 with
// SHA-256, and Ed25519.

import { concat, equal } from './bytes.js';

const subtle = globalThis.crypto.subtle;

export class CertificateError extends Error {}

/** One DER element at `offset` of `bytes`: its tag, its contents and the whole element. */
function element(bytes, offset = 0) {
  if (offset + 2 > bytes.length) throw new CertificateError('truncated DER');
  const tag = bytes[offset];
  let length = bytes[offset + 1];
  let header = 2;
  if (length & 0x80) {
    const octets = length & 0x7f;
    if (octets === 0 || octets > 4) throw new CertificateError('unsupported DER length');
    length = 0;
    for (let i = 0; i < octets; i += 1) length = length * 256 + bytes[offset + 2 + i];
    header += octets;
  }
  const end = offset + header + length;
  if (end > bytes.length) throw new CertificateError('truncated DER');
  return { tag, contents: bytes.subarray(offset + header, end), whole: bytes.subarray(offset, end), end };
}

/** The elements inside a constructed element's contents, in order. */
function children(contents) {
  const out = [];
  for (let offset = 0; offset < contents.length; ) {
    const child = element(contents, offset);
    out.push(child);
    offset = child.end;
  }
  return out;
}

/** An OBJECT IDENTIFIER's contents in dotted form. */
function oid(contents) {
  const parts = [Math.floor(contents[0] / 40), contents[0] % 40];
  let value = 0;
  for (const byte of contents.subarray(1)) {
    value = value * 128 + (byte & 0x7f);
    if (!(byte & 0x80)) {
      parts.push(value);
      value = 0;
    }
  }
  return parts.join('.');
}

/** UTCTime (YYMMDDHHMMSSZ) or GeneralizedTime (YYYYMMDDHHMMSSZ) as a Date. */
function time({ tag, contents }) {
  const text = new TextDecoder().decode(contents);
  const match = tag === 0x17 ? /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(text) : /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(text);
  if (!match) throw new CertificateError(`malformed time ${text}`);
  let year = Number(match[1]);
  if (tag === 0x17) year += year < 50 ? 2000 : 1900;
  return new Date(Date.UTC(year, Number(match[2]) - 1, Number(match[3]), Number(match[4]), Number(match[5]), Number(match[6])));
}

const NAME_ATTRIBUTES = { '2.5.4.3': 'CN', '2.5.4.10': 'O', '2.5.4.11': 'OU', '2.5.4.6': 'C', '2.5.4.8': 'ST', '2.5.4.7': 'L' };

/** A distinguished name's attributes a person reads, e.g. { CN: '…', O: '…' }. */
function nameAttributes(contents) {
  const out = {};
  for (const rdn of children(contents)) {
    for (const attribute of children(rdn.contents)) {
      const [type, value] = children(attribute.contents);
      const short = NAME_ATTRIBUTES[oid(type.contents)];
      if (short && !(short in out)) out[short] = new TextDecoder().decode(value.contents);
    }
  }
  return out;
}

/** The parts of a DER certificate this module checks. */
export function parseCertificate(der) {
  try {
    const certificate = element(der);
    if (certificate.tag !== 0x30 || certificate.end !== der.length) throw new CertificateError('not a DER certificate');
    const [tbs, signatureAlgorithm, signature] = children(certificate.contents);
    const fields = children(tbs.contents);
    const rest = fields[0].tag === 0xa0 ? fields.slice(1) : fields; // [0] version
    const [, , issuer, validity, subject, spki] = rest;
    const [notBefore, notAfter] = children(validity.contents);
    const [spkiAlgorithm] = children(spki.contents);
    const [keyType, keyParameter] = children(spkiAlgorithm.contents);
    return {
      der,
      tbs: tbs.whole,
      signatureAlgorithm: oid(children(signatureAlgorithm.contents)[0].contents),
      signature: signature.contents.subarray(1), // BIT STRING: no unused bits
      issuer: issuer.whole,
      subject: subject.whole,
      subjectName: nameAttributes(subject.contents),
      issuerName: nameAttributes(issuer.contents),
      notBefore: time(notBefore),
      notAfter: time(notAfter),
      spki: spki.whole,
      keyType: oid(keyType.contents),
      curve: keyParameter?.tag === 0x06 ? oid(keyParameter.contents) : null,
    };
  } catch (err) {
    if (err instanceof CertificateError) throw err;
    throw new CertificateError('not a DER certificate');
  }
}

const CURVES = { '1.2.840.10045.3.1.7': ['P-256', 32], '1.3.132.0.34': ['P-384', 48] };
const ECDSA_HASHES = { '1.2.840.10045.4.3.2': 'SHA-256', '1.2.840.10045.4.3.3': 'SHA-384' };

/** DER `SEQUENCE { INTEGER r, INTEGER s }` → WebCrypto's fixed-width r‖s. */
function ecdsaRaw(der, width) {
  const sequence = element(der);
  if (sequence.tag !== 0x30 || sequence.end !== der.length) throw new CertificateError('not a DER ECDSA signature');
  const [r, s] = children(sequence.contents).map(({ contents }) => {
    const trimmed = contents[0] === 0 ? contents.subarray(1) : contents;
    if (trimmed.length > width) throw new CertificateError('ECDSA integer too long');
    return concat(new Uint8Array(width - trimmed.length), trimmed);
  });
  return concat(r, s);
}

/**
 * Does `signature` over `message` verify with the key of `certificate` (parsed)?
 * `algorithm` is the signature algorithm's OID, or null for the key's usual one (SHA-256,
 * as our protocol signs); an ECDSA signature may be DER or fixed-width r‖s.
 */
export async function verifyWithCertificate(certificate, message, signature, algorithm = null) {
  let importParams;
  let verifyParams;
  // ECDSA signatures come DER-encoded or as r‖s: try each reading that fits.
  let candidates = [signature];
  if (certificate.keyType === '1.2.840.10045.2.1') {
    const curve = CURVES[certificate.curve];
    if (!curve) throw new CertificateError(`unsupported curve ${certificate.curve}`);
    const hash = algorithm === null ? 'SHA-256' : ECDSA_HASHES[algorithm];
    if (!hash) throw new CertificateError(`unsupported signature algorithm ${algorithm}`);
    importParams = { name: 'ECDSA', namedCurve: curve[0] };
    verifyParams = { name: 'ECDSA', hash };
    candidates = signature.length === 2 * curve[1] ? [signature] : [];
    try {
      candidates.push(ecdsaRaw(signature, curve[1]));
    } catch {
      // not DER
    }
  } else if (certificate.keyType === '1.3.101.112') {
    if (algorithm !== null && algorithm !== '1.3.101.112') throw new CertificateError(`unsupported signature algorithm ${algorithm}`);
    importParams = { name: 'Ed25519' };
    verifyParams = { name: 'Ed25519' };
  } else if (certificate.keyType === '1.2.840.113549.1.1.1') {
    if (algorithm !== null && algorithm !== '1.2.840.113549.1.1.11') throw new CertificateError(`unsupported signature algorithm ${algorithm}`);
    importParams = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' };
    verifyParams = { name: 'RSASSA-PKCS1-v1_5' };
  } else {
    throw new CertificateError(`unsupported key type ${certificate.keyType}`);
  }
  const key = await subtle.importKey('spki', certificate.spki, importParams, false, ['verify']);
  for (const candidate of candidates) {
    if (await subtle.verify(verifyParams, key, candidate, message)) return true;
  }
  return false;
}

/**
 * Checks that `der` was issued by one of `roots` (DER) and that both were valid at `at`.
 * Returns the parsed certificate. Revocation is not checked: the platform checked it with
 * the CAs' lists when the certificate was used.
 */
export async function verifyIssuedBy(der, roots, at) {
  const certificate = parseCertificate(der);
  const within = (c) => c.notBefore <= at && at <= c.notAfter;
  if (!within(certificate)) throw new CertificateError(`the certificate was not valid at ${at.toISOString()}`);
  for (const rootDer of roots) {
    const root = parseCertificate(rootDer);
    if (!equal(root.subject, certificate.issuer) || !within(root)) continue;
    if (await verifyWithCertificate(root, certificate.tbs, certificate.signature, certificate.signatureAlgorithm)) return certificate;
  }
  throw new CertificateError(`the certificate is not issued by a recognised CA (issuer ${certificate.issuerName.O ?? ''} ${certificate.issuerName.CN ?? ''})`);
}
