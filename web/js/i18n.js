// Language and formats: Chinese (zh-CN) by default, English on request; instants in the
// trade's time zone (Asia/Shanghai unless the trade says otherwise), money from minor units.

const STORAGE_KEY = 'tradehall.lang';
export const LANGS = ['zh-CN', 'en'];
export const DEFAULT_TIME_ZONE = 'Asia/Shanghai';

const messages = {
  'zh-CN': {
    'app.title': '公共资源交易平台',
    'app.skip': '跳到正文',
    'nav.portal': '交易公告',
    'nav.log': '透明日志',
    'nav.label': '主导航',
    'lang.switch': 'English',
    'lang.switch_label': 'Switch to English',
    'server_time': '服务器时间',
    'time_zone.beijing': '北京时间',
    'server_time.note': '以服务器时间为准',
    'loading': '加载中…',
    'error.title': '出错了',
    'error.network': '无法连接服务器',
    'error.dismiss': '关闭',
    'none': '暂无',
    'more': '加载更多',
    'portal.title': '交易公告',
    'portal.search': '搜索',
    'portal.search_placeholder': '项目名称、招标人、中标人…',
    'portal.kind': '交易类别',
    'portal.status': '状态',
    'portal.region': '行政区划代码',
    'portal.region_placeholder': '如 650100',
    'portal.from': '发布日期自',
    'portal.to': '至',
    'portal.any': '全部',
    'portal.apply': '查询',
    'portal.reset': '重置',
    'portal.empty': '没有符合条件的交易',
    'portal.results': '查询结果',
    'portal.open_data': '开放数据',
    'col.title': '项目名称',
    'col.kind': '类别 · 方式',
    'col.region': '行政区划',
    'col.status': '状态',
    'col.published': '发布时间',
    'col.deadline': '截止时间',
    'col.estimate': '估算金额',
    'trade.back': '返回公告列表',
    'trade.announcement': '交易公告',
    'trade.principal': '招标人 / 转让方',
    'trade.kind': '交易类别',
    'trade.procedure': '交易方式',
    'trade.region': '行政区划',
    'trade.estimate': '估算金额',
    'trade.bond': '保证金',
    'trade.lots': '标段',
    'trade.rulebook': '规则版本',
    'trade.documents': '交易文件',
    'trade.document_hash': 'SHA-256',
    'trade.document_size': '大小',
    'trade.clarifications': '澄清与答疑',
    'trade.question': '问',
    'trade.answer': '答',
    'trade.schedule': '时间安排',
    'trade.schedule_note': '工作日按平台工作日历计算（节假日、调休）。',
    'trade.published_at': '公告发布',
    'trade.deadline': '投标截止 / 开标',
    'trade.cutoff': '报名及保证金截止',
    'trade.sale_starts': '竞价开始',
    'trade.sale_ends': '挂牌截止',
    'trade.publicity_until': '公示截止',
    'trade.working_days': '{n} 个工作日',
    'trade.calendar_days': '{n} 日',
    'trade.opening': '开标记录',
    'trade.opening_none': '尚未开标',
    'trade.opening_download': '下载签名开标记录',
    'trade.bids': '投标文件',
    'trade.bidder': '投标人',
    'trade.price': '报价',
    'trade.valid': '有效',
    'trade.invalid': '无效',
    'trade.result': '结果',
    'trade.candidates': '中标候选人',
    'trade.rank': '排名',
    'trade.total': '得分',
    'trade.award': '中标通知',
    'trade.winner': '中标人',
    'trade.contract': '合同',
    'trade.sale': '竞价',
    'trade.best': '当前最高价',
    'trade.sold_to': '成交：竞买号 {n}',
    'trade.sale_failed': '流拍',
    'trade.log_link': '日志',
    'status.draft': '草稿',
    'status.published': '已发布',
    'status.bidding': '投标中',
    'status.opening': '开标中',
    'status.opened': '已开标',
    'status.failed': '流标/流拍',
    'status.sold': '已成交',
    'status.suspended': '已暂停',
    'status.terminated': '已终止',
    'status.publicity': '候选人公示',
    'status.awarded': '已定标',
    'status.contracted': '已签约',
    'status.announced': '公告中',
    'status.listing': '挂牌中',
    'status.closing': '竞价收尾',
    'log.title': '透明日志',
    'log.intro': '平台的每一次状态变化都写入 Merkle 树日志（RFC 9162）。以下核验均在您的浏览器中完成（WebCrypto），无需信任本服务器。',
    'log.checkpoint': '最新检查点',
    'log.refresh': '刷新',
    'log.size': '日志条目',
    'log.root': '根哈希',
    'log.signed_at': '签名时间',
    'log.origin': '日志名称',
    'log.key': '签名公钥',
    'log.signature_ok': '签名有效',
    'log.consistent': '与本浏览器上次所见的检查点（{n} 条）一致',
    'log.first_seen': '本浏览器首次看到此日志',
    'log.inconsistent': '警告：与本浏览器上次所见的检查点不一致！',
    'log.entry': '查询条目',
    'log.entry_index': '条目序号',
    'log.lookup': '查询并核验',
    'log.entry_included': '条目 {n} 已包含在 {size} 条的日志树中（包含证明已核验）',
    'log.entry_not_included': '包含证明未通过核验！',
    'log.receipt': '核验投标回执',
    'log.receipt_paste': '粘贴回执 JSON',
    'log.receipt_file': '或选择回执文件',
    'log.verify': '核验',
    'log.receipt_ok': '回执有效：条目 {n} 在 {size} 条的日志树中，由平台密钥 {key} 签名',
    'log.receipt_received': '接收时间',
    'verify.malformed': '格式错误：这不是有效的回执',
    'verify.unknown_key': '回执由未知的平台密钥签名',
    'verify.receipt_signature': '回执签名无效',
    'verify.no_inclusion': '回执不含包含证明',
    'verify.checkpoint_malformed': '检查点格式错误',
    'verify.checkpoint_unsigned': '检查点未经平台密钥签名',
    'verify.entry_mismatch': '日志条目与回执不符',
    'verify.not_covered': '检查点未覆盖该条目',
    'verify.proof_invalid': '包含证明无效',
  },
  en: {
    'app.title': 'Public Resource Trading Platform',
    'app.skip': 'Skip to content',
    'nav.portal': 'Announcements',
    'nav.log': 'Transparency log',
    'nav.label': 'Main navigation',
    'lang.switch': '中文',
    'lang.switch_label': '切换到中文',
    'server_time': 'Server time',
    'time_zone.beijing': 'Beijing time',
    'server_time.note': 'Server time rules',
    'loading': 'Loading…',
    'error.title': 'Something went wrong',
    'error.network': 'Cannot reach the server',
    'error.dismiss': 'Dismiss',
    'none': 'None',
    'more': 'Load more',
    'portal.title': 'Trade announcements',
    'portal.search': 'Search',
    'portal.search_placeholder': 'Title, principal, winner…',
    'portal.kind': 'Kind',
    'portal.status': 'Status',
    'portal.region': 'Region code',
    'portal.region_placeholder': 'e.g. 650100',
    'portal.from': 'Published from',
    'portal.to': 'to',
    'portal.any': 'Any',
    'portal.apply': 'Apply',
    'portal.reset': 'Reset',
    'portal.empty': 'No trade matches',
    'portal.results': 'Results',
    'portal.open_data': 'Open data',
    'col.title': 'Title',
    'col.kind': 'Kind · procedure',
    'col.region': 'Region',
    'col.status': 'Status',
    'col.published': 'Published',
    'col.deadline': 'Deadline',
    'col.estimate': 'Estimated value',
    'trade.back': 'Back to the announcements',
    'trade.announcement': 'Announcement',
    'trade.principal': 'Principal',
    'trade.kind': 'Kind',
    'trade.procedure': 'Procedure',
    'trade.region': 'Region',
    'trade.estimate': 'Estimated value',
    'trade.bond': 'Bond / deposit',
    'trade.lots': 'Lots',
    'trade.rulebook': 'Rulebook',
    'trade.documents': 'Documents',
    'trade.document_hash': 'SHA-256',
    'trade.document_size': 'Size',
    'trade.clarifications': 'Clarifications',
    'trade.question': 'Q',
    'trade.answer': 'A',
    'trade.schedule': 'Schedule',
    'trade.schedule_note': 'Working days follow the platform calendar (holidays and adjusted working days).',
    'trade.published_at': 'Announced',
    'trade.deadline': 'Bid deadline / opening',
    'trade.cutoff': 'Applications and deposits close',
    'trade.sale_starts': 'Bidding starts',
    'trade.sale_ends': 'Listing ends',
    'trade.publicity_until': 'Publicity ends',
    'trade.working_days': '{n} working days',
    'trade.calendar_days': '{n} days',
    'trade.opening': 'Opening record',
    'trade.opening_none': 'Not opened yet',
    'trade.opening_download': 'Download the signed opening record',
    'trade.bids': 'Bids',
    'trade.bidder': 'Bidder',
    'trade.price': 'Price',
    'trade.valid': 'valid',
    'trade.invalid': 'invalid',
    'trade.result': 'Result',
    'trade.candidates': 'Candidates',
    'trade.rank': 'Rank',
    'trade.total': 'Score',
    'trade.award': 'Award',
    'trade.winner': 'Winner',
    'trade.contract': 'Contract',
    'trade.sale': 'Bidding',
    'trade.best': 'Best quote',
    'trade.sold_to': 'Sold to bidder no. {n}',
    'trade.sale_failed': 'Unsold',
    'trade.log_link': 'log',
    'status.draft': 'Draft',
    'status.published': 'Published',
    'status.bidding': 'Bidding',
    'status.opening': 'Opening',
    'status.opened': 'Opened',
    'status.failed': 'Failed',
    'status.sold': 'Sold',
    'status.suspended': 'Suspended',
    'status.terminated': 'Terminated',
    'status.publicity': 'Candidates publicised',
    'status.awarded': 'Awarded',
    'status.contracted': 'Contracted',
    'status.announced': 'Announced',
    'status.listing': 'Listing',
    'status.closing': 'Closing',
    'log.title': 'Transparency log',
    'log.intro': 'Every state change of the platform goes into a Merkle tree log (RFC 9162). The checks below run in your browser (WebCrypto): you need not trust this server.',
    'log.checkpoint': 'Latest checkpoint',
    'log.refresh': 'Refresh',
    'log.size': 'Entries',
    'log.root': 'Root hash',
    'log.signed_at': 'Signed at',
    'log.origin': 'Log name',
    'log.key': 'Signing key',
    'log.signature_ok': 'Signature valid',
    'log.consistent': 'Consistent with the checkpoint this browser saw last ({n} entries)',
    'log.first_seen': 'This browser sees this log for the first time',
    'log.inconsistent': 'WARNING: not consistent with the checkpoint this browser saw last!',
    'log.entry': 'Look up an entry',
    'log.entry_index': 'Entry number',
    'log.lookup': 'Look up and verify',
    'log.entry_included': 'Entry {n} is in the {size}-entry tree (inclusion proof verified)',
    'log.entry_not_included': 'The inclusion proof does not verify!',
    'log.receipt': 'Verify a bid receipt',
    'log.receipt_paste': 'Paste the receipt JSON',
    'log.receipt_file': 'or choose a receipt file',
    'log.verify': 'Verify',
    'log.receipt_ok': 'Receipt valid: entry {n} is in the {size}-entry tree, signed by platform key {key}',
    'log.receipt_received': 'Received',
    'verify.malformed': 'Malformed: this is not a receipt',
    'verify.unknown_key': 'Signed by an unknown platform key',
    'verify.receipt_signature': 'The receipt signature is invalid',
    'verify.no_inclusion': 'The receipt carries no inclusion proof',
    'verify.checkpoint_malformed': 'The checkpoint is malformed',
    'verify.checkpoint_unsigned': 'The checkpoint is not signed by a platform key',
    'verify.entry_mismatch': 'The log entry does not match the receipt',
    'verify.not_covered': 'The checkpoint does not cover the entry',
    'verify.proof_invalid': 'The inclusion proof is invalid',
  },
};

let current = (() => {
  try {
    const saved = localStorage.getItem(STORAGE_KEY);
    return LANGS.includes(saved) ? saved : 'zh-CN';
  } catch {
    return 'zh-CN';
  }
})();

export const lang = () => current;

export function setLang(next) {
  current = LANGS.includes(next) ? next : 'zh-CN';
  document.documentElement.lang = current;
  try {
    localStorage.setItem(STORAGE_KEY, current);
  } catch {
    // Private windows may refuse storage; the choice then lasts for this page.
  }
}

/** The message `key` in the current language, with `{name}` filled from `params`. */
export function t(key, params = {}) {
  const text = messages[current][key] ?? messages['zh-CN'][key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => String(params[name] ?? ''));
}

/** A status or phase in words. */
export const statusName = (status) => t(`status.${status}`);

/** An instant in the given time zone, with the zone named: "2026-12-28 10:00:00 北京时间". */
export function formatInstant(iso, timeZone = DEFAULT_TIME_ZONE) {
  if (!iso) return '—';
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return String(iso);
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-CA', {
      timeZone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      hourCycle: 'h23',
      timeZoneName: 'short',
    })
      .formatToParts(date)
      .map((p) => [p.type, p.value]),
  );
  const zone = timeZone === DEFAULT_TIME_ZONE ? t('time_zone.beijing') : parts.timeZoneName;
  return `${parts.year}-${parts.month}-${parts.day} ${parts.hour}:${parts.minute}:${parts.second} ${zone}`;
}

/** Money given in minor units (分): exact, never through a fraction of a yuan. */
export function formatMoney(minor, currency = 'CNY') {
  if (minor === null || minor === undefined) return '—';
  const whole = BigInt(minor);
  const sign = whole < 0n ? '-' : '';
  const abs = whole < 0n ? -whole : whole;
  const units = new Intl.NumberFormat(current, { style: 'currency', currency }).formatToParts(0).find((p) => p.type === 'currency')?.value ?? currency;
  const yuan = new Intl.NumberFormat(current).format(abs / 100n);
  const fen = String(abs % 100n).padStart(2, '0');
  return `${sign}${units}${yuan}.${fen}`;
}

/** A byte count for people. */
export function formatBytes(n) {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

document.documentElement.lang = current;
