// The notices (公告) of one trade, by category, composed from its data as the portals
// people know publish them: the announcement with its versions, each change notice, the
// clarifications, the opening record, the candidates' publicity, the result, a failure,
// the contract, a termination; for a sale its announcement, its result or 流拍.
import { t } from './i18n.js';
import { api, ApiError } from './api.js';

/** The announcement's category by kind and procedure (招标公告, 采购公告, 挂牌出让公告, …). */
export function announcementName(trade) {
  const key = `notice.announcement.${trade.kind}.${trade.procedure}`;
  const specific = t(key);
  if (specific !== key) return specific;
  const byKind = t(`notice.announcement.${trade.kind}`);
  return byKind === `notice.announcement.${trade.kind}` ? t('notice.announcement') : byKind;
}

/** Whether the trade is government procurement by a method other than tendering, whose
 * results are 成交 rather than 中标. */
const dealt = (trade) => trade.kind === 'government_procurement' && trade.procedure !== 'open_tender' && trade.procedure !== 'invitation';

/** The schedule of the announcement in time order, each step with its words. */
export function scheduleSteps(trade) {
  const live = trade.live;
  const steps = [
    { key: 'published_at', at: trade.published_at },
    live ? { key: 'cutoff', at: trade.bid_deadline } : { key: 'deadline', at: trade.bid_deadline },
    live ? { key: 'sale_starts', at: live.starts_at } : null,
    live?.ends_at ? { key: 'sale_ends', at: live.ends_at } : null,
  ].filter((s) => s && s.at);
  return steps.sort((a, b) => new Date(a.at) - new Date(b.at));
}

/**
 * Every notice the trade has so far, oldest first: `{key, category, at}` where `key` names
 * it in the URL (`#/trades/{id}/notices/{key}`). `opening`, `result` and `sale` are the
 * public answers of those endpoints, or null.
 */
export function noticesOf({ trade, opening, result, sale }) {
  const list = [];
  if (trade.published_at) list.push({ key: 'announcement', category: announcementName(trade), at: trade.published_at });
  for (const n of trade.notices ?? []) {
    list.push({ key: `change-${n.number}`, category: t('notice.change', { n: n.number }), at: n.issued_at, number: n.number });
  }
  const answered = (trade.clarifications ?? []).filter((c) => c.answer);
  if (answered.length) {
    const at = answered.map((c) => c.answered_at).sort().at(-1);
    list.push({ key: 'clarifications', category: t('notice.clarifications'), at });
  }
  const record = opening?.opening?.record;
  if (record) {
    list.push({ key: 'opening', category: t('notice.opening'), at: record.opened_at });
    if (record.outcome === 'failed') list.push({ key: 'failed', category: t(dealt(trade) ? 'notice.failed_procurement' : 'notice.failed'), at: record.opened_at });
  }
  if (result) {
    list.push({ key: 'candidates', category: t(dealt(trade) ? 'notice.candidates_dealt' : 'notice.candidates'), at: result.publicity_from });
    if (result.award) list.push({ key: 'award', category: t(dealt(trade) ? 'notice.award_dealt' : 'notice.award'), at: result.award.awarded_at });
    if (result.contract) list.push({ key: 'contract', category: t('notice.contract'), at: result.contract.recorded_at ?? result.contract.signed_at });
  }
  if (!record && trade.status === 'failed' && !trade.live) list.push({ key: 'failed', category: t(dealt(trade) ? 'notice.failed_procurement' : 'notice.failed'), at: null });
  const outcome = sale?.result;
  if (outcome) list.push({ key: outcome.outcome === 'sold' ? 'sold' : 'unsold', category: t(outcome.outcome === 'sold' ? 'notice.sold' : 'notice.unsold'), at: sale.closed_at ?? null });
  if (trade.status === 'terminated') list.push({ key: 'terminated', category: t('notice.terminated'), at: null });
  return list;
}

/** The words of a sale's failure reason. */
export const saleReason = (reason) => {
  const key = `notice.reason.${reason}`;
  const text = t(key);
  return text === key ? reason : text;
};


/** The trade with what the public may read of its course: the opening record, the
 * result from the candidates' publicity on, a sale's state. */
export async function loadTradeRecord(id) {
  const optional = (path, code) =>
    api(path).catch((e) => {
      if (e instanceof ApiError && e.status === 404 && e.code === code) return null;
      throw e;
    });
  const trade = await api(`/api/v1/trades/${id}`);
  const [opening, result, sale] = await Promise.all([
    trade.live ? null : optional(`/api/v1/trades/${id}/opening`, 'trade_not_found'),
    // The result exists from the candidates' publicity on; asking earlier is a 404.
    !trade.live && RESULT_STATUSES.includes(trade.status) ? optional(`/api/v1/trades/${id}/result`, 'result_not_found') : null,
    trade.live ? api(`/api/v1/trades/${id}/sale`) : null,
  ]);
  return { trade, opening, result, sale };
}

const RESULT_STATUSES = ['publicity', 'awarded', 'contracted'];
