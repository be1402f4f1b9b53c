// Amounts as people type and read them: a price typed as "3,200,000.00", "3200000",
// "320万" or "0.32亿" becomes exact minor units (分), and an amount in 分 is written in
// Chinese capital numerals (大写金额, e.g. 叁佰贰拾万元整) the way a cheque or a bid form
// states it. Exact throughout: BigInt, never a binary fraction of a yuan.

/** The largest amount accepted: 10¹⁵ 分 (ten trillion yuan), within the server's i64. */
export const MAX_FEN = 10n ** 15n;

const FULL_WIDTH = /[０-９，．]/g;

/** Full-width digits and punctuation (as a Chinese input method types them) to ASCII. */
function halfWidth(text) {
  return text.replace(FULL_WIDTH, (c) => {
    if (c === '，') return ',';
    if (c === '．') return '.';
    return String.fromCharCode(c.charCodeAt(0) - 0xfee0);
  });
}

/** `digits.fraction` × 10^`scale` as an exact integer, or null when it has a remainder. */
function scaled(whole, fraction, scale) {
  if (fraction.length > scale) return null;
  return BigInt(whole + fraction.padEnd(scale, '0'));
}

/**
 * A price as typed, in 分, or null when it is not an amount. Accepted: plain yuan with at
 * most two decimals ("3200000", "3200000.5"), thousands separated by commas
 * ("3,200,000.00"), and yuan in 万 or 亿 ("320万", "32.5万", "0.32亿") as long as the result
 * is whole 分. A leading ¥/￥, a trailing 元, spaces and full-width digits are allowed.
 */
export function parseAmount(text) {
  const s = halfWidth(String(text ?? ''))
    .replace(/\s+/g, '')
    .replace(/^[¥￥]/, '')
    .replace(/元$/, '');
  let fen = null;
  const unit = /^(\d{1,13})(?:\.(\d{1,12}))?(万|亿)$/.exec(s);
  if (unit) {
    // 1万元 = 10⁶ 分, 1亿元 = 10¹⁰ 分.
    fen = scaled(unit[1], unit[2] ?? '', unit[3] === '万' ? 6 : 10);
  } else {
    const plain = /^(\d{1,3}(?:,\d{3})+|\d{1,16})(?:\.(\d{1,2}))?$/.exec(s);
    if (plain) fen = scaled(plain[1].replace(/,/g, ''), plain[2] ?? '', 2);
  }
  if (fen === null || fen > MAX_FEN) return null;
  return Number(fen);
}

const DIGITS = '零壹贰叁肆伍陆柒捌玖';
const PLACES = ['', '拾', '佰', '仟'];
const SECTIONS = ['', '万', '亿', '万亿'];

/** One section of up to four digits (1–9999), with 零 for the zeros inside it. */
function section(n) {
  let out = '';
  let zero = false;
  for (let place = 3; place >= 0; place -= 1) {
    const d = Math.floor(n / 10 ** place) % 10;
    if (d === 0) {
      zero = out !== '';
    } else {
      out += (zero ? '零' : '') + DIGITS[d] + PLACES[place];
      zero = false;
    }
  }
  return out;
}

/**
 * An amount in 分 in Chinese capital numerals, as the People's Bank's rules for written
 * amounts have it: 3 200 000.00 → 叁佰贰拾万元整, 1 005.30 → 壹仟零伍元叁角整,
 * 10.05 → 壹拾元零伍分, 100 000 001.00 → 壹亿零壹元整.
 */
export function capitalAmount(fen) {
  let rest = BigInt(fen);
  if (rest < 0n) return `负${capitalAmount(-rest)}`;
  const jiao = Number((rest / 10n) % 10n);
  const cents = Number(rest % 10n);
  let yuan = rest / 100n;
  const groups = [];
  while (yuan > 0n) {
    groups.push(Number(yuan % 10000n));
    yuan /= 10000n;
  }
  let words = '';
  let gap = false;
  for (let i = groups.length - 1; i >= 0; i -= 1) {
    const n = groups[i];
    if (n === 0) {
      gap = words !== '';
      continue;
    }
    if (words !== '' && (gap || n < 1000)) words += '零';
    words += section(n) + SECTIONS[i];
    gap = false;
  }
  if (words === '' && jiao === 0 && cents === 0) return '零元整';
  if (words !== '') words += '元';
  if (jiao === 0 && cents === 0) return `${words}整`;
  if (jiao > 0) words += `${DIGITS[jiao]}角`;
  if (cents === 0) return `${words}整`;
  if (jiao === 0 && words !== '') words += '零';
  return `${words}${DIGITS[cents]}分`;
}

/** 分 as the plain yuan a form field holds: 320000000 → "3200000.00". */
export function fenToYuan(fen) {
  const n = BigInt(fen);
  return `${n / 100n}.${String(n % 100n).padStart(2, '0')}`;
}
