// The auction room (拍卖厅) of a live sale: the best quote, the countdown that restarts on
// every valid quote (in server time), the quote history under bidder numbers, and for a
// bidder with a number its standing and a quote button with the next minimum filled in.
// It follows the sale over the live-room WebSocket and reconnects from the last entry it
// saw, so a dropped connection loses nothing.
import { useEffect, useRef, useState } from 'preact/hooks';
import { html } from '../html.js';
import { api, ApiError, noteServerTime, serverNow } from '../api.js';
import { t, formatInstant, formatMoney, formatCountdown } from '../i18n.js';
import { currentSession } from '../session.js';
import { parseAmount, fenToYuan } from '../money.js';
import { AmountField, Confirmation } from '../price-guard.js';


/** When the current period ends, if it has an end. */
function periodEnd(sale) {
  if (sale.phase === 'timed') return sale.deadline;
  if (sale.phase === 'frozen' || sale.phase === 'free_quote') return sale.until;
  if (sale.phase === 'listing') return sale.rules.ends_at;
  if (sale.phase === 'announced') return sale.rules.starts_at;
  return null;
}


/** The live room's state, kept current from the WebSocket; reconnects with `after`. */
function useLiveSale(id) {
  const [sale, setSale] = useState(null);
  const [connected, setConnected] = useState(false);
  const last = useRef(null);
  // The sale's own view, whole; never older than the entries already applied.
  const refresh = () =>
    api(`/api/v1/trades/${id}/sale`).then((s) => {
      setSale((prev) => ({ ...s, seq: Math.max(s.seq, prev?.seq ?? 0) }));
    });
  useEffect(() => {
    let socket;
    let retry;
    let closed = false;
    const connect = () => {
      const scheme = window.location.protocol === 'https:' ? 'wss' : 'ws';
      const after = last.current === null ? '' : `?after=${last.current}`;
      socket = new WebSocket(`${scheme}://${window.location.host}/api/v1/trades/${id}/live${after}`);
      socket.onopen = () => setConnected(true);
      socket.onmessage = (message) => {
        const m = JSON.parse(message.data);
        if (m.server_time) noteServerTime(m.server_time, Date.now(), Date.now());
        if (m.type === 'snapshot') {
          last.current = m.seq;
          setSale(m);
        } else if (m.type === 'quote') {
          // A quote, in brief: the whole entry is in the log under the same seq.
          last.current = m.seq;
          setSale((prev) => prev && {
            ...prev,
            seq: m.seq,
            best: { bidder_number: m.bidder_number, amount: m.amount },
            next_minimum: m.amount + prev.rules.increment,
            deadline: m.deadline ?? prev.deadline,
            quotes: [...prev.quotes, { seq: m.seq, bidder_number: m.bidder_number, amount: m.amount, at: m.at }],
          });
        } else if (m.type === 'event') {
          // Periods, the close, suspension: rare; the sale's own view has them whole.
          last.current = m.seq;
          refresh().catch(() => {});
        }
      };
      socket.onclose = () => {
        setConnected(false);
        if (!closed) retry = setTimeout(connect, 1000);
      };
    };
    connect();
    return () => {
      closed = true;
      clearTimeout(retry);
      socket?.close();
    };
  }, [id]);
  return { sale, connected, refresh };
}

/** Warnings for a quote: far above the next minimum (a slip of a digit, most often). */
function quoteWarnings(fen, sale) {
  const minimum = sale.next_minimum;
  const steps = Math.round((fen - minimum) / sale.rules.increment);
  if (fen >= minimum * 1.1 && steps > 10) {
    return [{ key: 'room.far_above', params: { minimum: formatMoney(minimum), steps } }];
  }
  return [];
}

function QuoteForm({ id, sale, title, token }) {
  const [amount, setAmount] = useState(fenToYuan(sale.next_minimum));
  const [outcome, setOutcome] = useState(null);
  const [busy, setBusy] = useState(false);
  // The quote waiting for the bidder's confirmation.
  const [pending, setPending] = useState(null);
  const minimum = sale.next_minimum;
  useEffect(() => {
    // Keep the field at least at the next minimum as others quote.
    setAmount((text) => {
      const fen = parseAmount(text);
      return fen === null || fen < minimum ? fenToYuan(minimum) : text;
    });
  }, [minimum]);
  useEffect(() => {
    if (pending) document.getElementById('quote-confirm-title')?.focus();
  }, [pending]);
  const prepare = (e) => {
    e.preventDefault();
    const fen = parseAmount(amount);
    if (fen === null) {
      setOutcome({ ok: false, text: () => t('bid.price_invalid') });
      return;
    }
    setOutcome(null);
    setPending({ fen, warnings: quoteWarnings(fen, sale) });
  };
  const send = async () => {
    setBusy(true);
    try {
      const answer = await api(`/api/v1/trades/${id}/quotes`, { method: 'POST', token, body: { client_quote_id: crypto.randomUUID(), amount: pending.fen } });
      setOutcome({ ok: true, text: () => (answer.became_best ? t('room.quote_best', { amount: formatMoney(answer.amount) }) : t('room.quote_taken')) });
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      setOutcome({ ok: false, text: () => `${err.message} (${err.code})` });
    } finally {
      setBusy(false);
      setPending(null);
    }
  };
  const step = (n) => setAmount(fenToYuan(Math.max(minimum, (parseAmount(amount) ?? minimum) + n * sale.rules.increment)));
  if (pending) {
    return html`<${Confirmation} id="quote-confirm" title=${t('room.confirm_title')}
      facts=${[[t('bid.confirm_trade'), title], [t('room.minimum_short'), formatMoney(minimum)]]}
      fen=${pending.fen} warnings=${pending.warnings} busy=${busy}
      confirmLabel=${t('room.confirm_quote')} onConfirm=${send} onCancel=${() => setPending(null)} />`;
  }
  return html`<form class="quote" onSubmit=${prepare} data-testid="quote-form">
    <div class="inline">
      <button type="button" aria-label=${t('room.minus')} onClick=${() => step(-1)}>−</button>
      <${AmountField} id="quote-amount" label=${t('room.your_quote')} value=${amount} onInput=${setAmount}
        warnings=${(fen) => quoteWarnings(fen, sale)} />
      <button type="button" aria-label=${t('room.plus')} onClick=${() => step(1)}>+</button>
      <button type="submit" class="primary" disabled=${busy}>${t('room.quote')}</button>
    </div>
    <p class="small muted">${t('room.increment', { amount: formatMoney(sale.rules.increment) })} · ${t('room.minimum', { amount: formatMoney(minimum) })}</p>
    ${outcome ? html`<p class=${outcome.ok ? 'notice ok' : 'notice error'} role="status" data-testid="quote-outcome">${outcome.text()}</p>` : null}
  </form>`;
}

export function AuctionRoom({ id }) {
  const session = currentSession();
  const { sale, connected, refresh } = useLiveSale(id);
  const [trade, setTrade] = useState(null);
  const [number, setNumber] = useState(null);
  const [now, setNow] = useState(serverNow());
  useEffect(() => {
    api(`/api/v1/trades/${id}`).then(setTrade).catch(() => {});
    if (session?.identity.role === 'bidder') {
      api(`/api/v1/trades/${id}/applications/mine`, { token: session.token })
        .then((a) => setNumber(a.bidder_number ?? null))
        .catch(() => setNumber(null));
    }
    const tick = setInterval(() => setNow(serverNow()), 200);
    return () => clearInterval(tick);
  }, [id]);
  if (!sale || !trade) return html`<p class="muted" aria-busy="true">${t('loading')}</p>`;

  const end = periodEnd(sale);
  const left = end ? new Date(end) - now : null;
  const mine = number && sale.best?.bidder_number === number;
  const canQuote = number && !sale.suspended && ['listing', 'free_quote', 'timed'].includes(sale.phase);
  return html`<article class="room" data-testid="room">
    <p><a href=${`#/trades/${id}`}>← <span lang="zh-CN">${trade.title}</span></a></p>
    <h1>${t('room.title')}</h1>
    <p><span class=${`status s-${sale.phase}`} data-testid="room-phase">${t(`room.phase.${sale.phase}`)}</span>
      ${sale.suspended ? html` <span class="status s-suspended" data-testid="room-suspended">${t('status.suspended')}</span>` : null}
      <span class=${connected ? 'ok small' : 'error-text small'}> · ${connected ? t('room.live') : t('room.reconnecting')}</span></p>
    <div class="board">
      <div class="tile"><div class="muted">${t('trade.best')}</div>
        <div class="big" data-testid="room-best">${sale.best ? formatMoney(sale.best.amount) : formatMoney(sale.rules.start_price)}</div>
        <div class="small muted">${sale.best ? t('room.by', { n: sale.best.bidder_number }) : t('room.start_price')}</div></div>
      <div class="tile"><div class="muted">${t(sale.phase === 'timed' ? 'room.countdown' : 'room.period_ends')}</div>
        <div class="big countdown" data-testid="room-countdown">${left === null ? '—' : formatCountdown(left)}</div>
        <div class="small muted">${end ? formatInstant(end) : ''}</div></div>
      ${number
        ? html`<div class=${mine ? 'tile ok-tile' : 'tile'} data-testid="room-standing"><div class="muted">${t('room.your_number', { n: number })}</div>
            <div class="big">${mine ? t('room.you_lead') : t('room.outbid')}</div></div>`
        : null}
    </div>
    ${sale.result
      ? html`<p class="notice ok" data-testid="room-result">${sale.result.outcome === 'sold'
          ? t('room.sold', { n: sale.result.bidder_number, amount: formatMoney(sale.result.amount) })
          : `${t('trade.sale_failed')} · ${sale.result.reason}`}</p>`
      : null}
    ${canQuote ? html`<${QuoteForm} id=${id} sale=${sale} title=${`${trade.title}（${t('room.your_number', { n: number })}）`} token=${session.token} />` : null}
    <h2>${t('room.history')}</h2>
    <div class="table-wrap"><table data-testid="room-history">
      <thead><tr><th scope="col">${t('room.bidder_number')}</th><th scope="col" class="num">${t('trade.price')}</th><th scope="col">${t('room.at')}</th></tr></thead>
      <tbody>${[...sale.quotes].reverse().map((q) => html`<tr key=${q.seq} class=${q.bidder_number === number ? 'mine' : ''}>
        <td><span data-number>${q.bidder_number}</span>${q.bidder_number === number ? ` (${t('room.me')})` : ''}</td><td class="num">${formatMoney(q.amount)}</td><td>${formatInstant(q.at)}</td></tr>`)}</tbody>
    </table></div>
    <button type="button" class="link" onClick=${() => refresh()}>${t('log.refresh')}</button>
  </article>`;
}
