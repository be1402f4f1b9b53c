// The rulebook's rules by key (rulebook/rulebook.toml) in the page's language.
import { lang } from './i18n.js';

// Chinese, then English.
const RULES = {
  min_days_to_deadline: ['自发布至投标截止的最短天数', 'Least days from publication to the bid deadline'],
  min_working_days_to_deadline: ['自发布至截止的最短工作日数', 'Least working days from publication to the deadline'],
  clarification_cutoff_days: ['澄清或修改须在截止前的天数', 'Days before the deadline a clarification must come'],
  bond_cap_basis_points: ['投标保证金上限（占估算价比例）', 'Bid bond cap (share of the estimate)'],
  bond_cap_amount: ['投标保证金上限金额', 'Bid bond cap (amount)'],
  min_bidders: ['最少投标人数', 'Least number of bidders'],
  min_bidders_for_timed: ['进入限时竞价的最少竞买人数', 'Least bidders for timed bidding'],
  opening_window_minutes: ['开标时间窗口（分钟）', 'Opening window (minutes)'],
  min_custodians: ['最少开标人数', 'Least number of opening custodians'],
  min_threshold: ['开标所需最少人数', 'Least custodians needed to open'],
  resume_shift_percent: ['暂停后恢复的顺延比例', 'Deadline shift after a suspension'],
  min_qualified_bids: ['最少有效投标数', 'Least number of valid bids'],
  max_candidates: ['中标候选人最多人数', 'Most candidates'],
  candidate_publicity_days: ['中标候选人公示天数', 'Days the candidates are published'],
  objection_answer_days: ['异议答复期限（天）', 'Days to answer an objection'],
  complaint_days: ['投诉期限（天）', 'Days to file a complaint'],
  contract_days: ['签订合同期限（天）', 'Days to sign the contract'],
  bond_refund_days: ['保证金退还期限（天）', 'Days to return the bonds'],
  min_days_announcement_to_start: ['自公告至出让活动开始的最短天数', 'Least days from announcement to the sale'],
  min_listing_working_days: ['挂牌最短工作日数', 'Least working days of a listing'],
  min_disclosure_working_days: ['信息披露最短工作日数', 'Least working days of disclosure'],
  min_countdown_seconds: ['限时竞价倒计时最短秒数', 'Least countdown of timed bidding (seconds)'],
  countdown_seconds: ['限时竞价倒计时（秒）', 'Countdown of timed bidding (seconds)'],
  free_quote_minutes: ['自由报价时长（分钟）', 'Free quoting (minutes)'],
  freeze_minutes: ['限时竞价前的冻结时长（分钟）', 'Freeze before timed bidding (minutes)'],
  last_minutes: ['挂牌最后阶段（分钟）', 'Last minutes of a listing'],
  min_invited: ['邀请的最少单位数', 'Least number invited'],
  reserve_price: ['底价', 'Reserve price'],
  low_price_below_mean_percent: ['低于平均价的异常低价比例', 'Abnormally low: below the mean by'],
  low_price_below_next_percent: ['低于次低价的异常低价比例', 'Abnormally low: below the next price by'],
  close_prices_spread_per_mille: ['报价过于接近的预警阈值', 'Alert: prices too close together'],
  price_pushing_min_sales: ['哄抬价格预警的最少场次', 'Alert: least sales for price pushing'],
  progression_tolerance_per_mille: ['报价规律性预警的容差', 'Alert: tolerance of a regular progression'],
  rotation_min_trades: ['轮流中标预警的最少项目数', 'Alert: least trades for bid rotation'],
};

/** A rule of the rulebook by its key, in the page's language (the key if we have no words). */
export const ruleName = (key) => RULES[key]?.[lang() === 'zh-CN' ? 0 : 1] ?? key;
