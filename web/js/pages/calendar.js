// The openings and auctions of today and the next six days (开标/竞价日历), by day in
// Beijing time: a tender opens at its bid deadline, a sale's bidding starts at its start.
import { useEffect, useState } from 'preact/hooks';
import { html } from '../html.js';
import { api, query, serverNow } from '../api.js';
import { t, formatInstant, statusName } from '../i18n.js';
import { rulebook, procedureName } from '../rulebook.js';
import { regionName } from '../regions.js';
import { reportError } from '../app.js';

const DAYS = 7;

/** The calendar day of `date` in Beijing, as YYYY-MM-DD. */
const beijingDay = (date) => new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Shanghai' }).format(date);

/** The instant a Beijing day starts. */
const dayStart = (day) => new Date(`${day}T00:00:00+08:00`);

/** When the trade opens: a sale's start, a tender's deadline. */
const opensAt = (trade) => trade.live?.starts_at ?? trade.bid_deadline;

export function CalendarPage() {
  const [trades, setTrades] = useState(null);
  const [kinds, setKinds] = useState([]);
  const today = beijingDay(serverNow());
  const from = dayStart(today);
  const to = new Date(from.getTime() + DAYS * 86_400_000);
  useEffect(() => {
    rulebook().then((book) => setKinds(book.kinds)).catch(reportError);
    api(`/api/v1/trades${query({ opening_from: from.toISOString(), opening_to: to.toISOString(), limit: 100 })}`)
      .then((page) => setTrades(page.trades))
      .catch(reportError);
  }, [today]);
  const days = Array.from({ length: DAYS }, (_, i) => beijingDay(new Date(from.getTime() + i * 86_400_000 + 3_600_000)));
  const byDay = (day) => (trades ?? []).filter((tr) => beijingDay(new Date(opensAt(tr))) === day).sort((a, b) => new Date(opensAt(a)) - new Date(opensAt(b)));
  return html`<section data-testid="calendar">
    <h1>${t('calendar.title')}</h1>
    <p class="muted small">${t('calendar.note')}</p>
    ${trades === null
      ? html`<p class="muted" aria-busy="true">${t('loading')}</p>`
      : days.map((day, i) => {
          const items = byDay(day);
          return html`<section key=${day} aria-labelledby=${`h-day-${day}`}>
            <h2 id=${`h-day-${day}`}>${i === 0 ? t('calendar.today') : day} <span class="muted small">${i === 0 ? day : ''}</span></h2>
            ${items.length === 0
              ? html`<p class="muted">${t('calendar.none')}</p>`
              : html`<div class="table-wrap"><table>
                  <thead><tr><th scope="col">${t('calendar.time')}</th><th scope="col">${t('calendar.what')}</th><th scope="col">${t('col.title')}</th><th scope="col">${t('col.kind')}</th><th scope="col">${t('col.region')}</th><th scope="col">${t('col.status')}</th></tr></thead>
                  <tbody>${items.map((tr) => html`<tr key=${tr.id}>
                    <td class="num"><time datetime=${opensAt(tr)}>${formatInstant(opensAt(tr)).slice(11, 16)}</time></td>
                    <td>${tr.live ? html`<a href=${`#/trades/${tr.id}/auction`}>${t('calendar.auction')}</a>` : html`<a href=${`#/trades/${tr.id}/opening`}>${t('calendar.opening')}</a>`}</td>
                    <td><a href=${`#/trades/${tr.id}`} lang="zh-CN">${tr.title}</a></td>
                    <td>${procedureName(kinds, tr.kind, tr.procedure)}</td>
                    <td>${regionName(tr.region_code)}</td>
                    <td><span class=${`status s-${tr.phase ?? tr.status}`}>${statusName(tr.phase ?? tr.status)}</span></td>
                  </tr>`)}</tbody>
                </table></div>`}
          </section>`;
        })}
  </section>`;
}
