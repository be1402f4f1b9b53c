// The single page: header (navigation, server time, language), the routed page, and an
// error banner. Routes live in the URL's hash so every page has a link and the server
// serves one file.
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { html } from './html.js';
import { t, lang, setLang, formatInstant } from './i18n.js';
import { syncClock, serverNow, isDemo } from './api.js';
import { Portal } from './pages/portal.js';
import { TradePage } from './pages/trade.js';
import { LogExplorer } from './pages/log.js';
import { SignIn } from './pages/signin.js';
import { Workspace } from './pages/workspace.js';
import { BidPage } from './pages/bid.js';
import { OpeningHall } from './pages/opening.js';
import { AuctionRoom } from './pages/auction.js';
import { Supervision } from './pages/supervision.js';
import { CustodianPage } from './pages/custodian.js';
import { ExpertPage } from './pages/expert.js';
import { CentrePage } from './pages/centre.js';
import { currentSession, onSessionChange, signOut, restoreSigner } from './session.js';
import { loadRegions } from './regions.js';

const ROUTES = [
  { path: /^\/$/, nav: 'portal', page: (_, params) => html`<${Portal} params=${params} />` },
  { path: /^\/trades\/([0-9a-fA-F-]{36})$/, nav: 'portal', page: (m) => html`<${TradePage} id=${m[1]} />` },
  { path: /^\/trades\/([0-9a-fA-F-]{36})\/bid$/, nav: 'portal', page: (m) => html`<${BidPage} id=${m[1]} />` },
  { path: /^\/trades\/([0-9a-fA-F-]{36})\/opening$/, nav: 'portal', page: (m) => html`<${OpeningHall} id=${m[1]} />` },
  { path: /^\/trades\/([0-9a-fA-F-]{36})\/auction$/, nav: 'portal', page: (m) => html`<${AuctionRoom} id=${m[1]} />` },
  { path: /^\/trades\/([0-9a-fA-F-]{36})\/custodian$/, nav: 'portal', page: (m) => html`<${CustodianPage} id=${m[1]} />` },
  { path: /^\/log$/, nav: 'log', page: (_, params) => html`<${LogExplorer} params=${params} />` },
  { path: /^\/signin$/, nav: 'signin', page: (_, params) => html`<${SignIn} params=${params} />` },
  { path: /^\/supervision$/, nav: 'supervision', page: () => html`<${Supervision} />` },
  { path: /^\/workspace$/, nav: 'workspace', page: () => html`<${Workspace} />` },
  { path: /^\/expert$/, nav: 'expert', page: () => html`<${ExpertPage} />` },
  { path: /^\/centre$/, nav: 'centre', page: () => html`<${CentrePage} />` },
];

/** The hash route: its path and its query parameters. */
function currentRoute() {
  const hash = window.location.hash.replace(/^#/, '') || '/';
  const [path, search = ''] = hash.split('?');
  return { path, params: Object.fromEntries(new URLSearchParams(search)) };
}

/** Navigates to `path` with `params` as the hash's query. */
export function navigate(path, params = {}) {
  const search = new URLSearchParams(Object.entries(params).filter(([, v]) => v !== undefined && v !== '')).toString();
  window.location.hash = search ? `${path}?${search}` : path;
}

// Errors nobody handled reach the banner instead of vanishing into the console.
let showError = () => {};
export const reportError = (error) => showError(error);

function ServerClock() {
  const [now, setNow] = useState(null);
  useEffect(() => {
    let timer;
    // Re-read the server's clock now and then; pages that poll the server also update it.
    const resync = setInterval(() => syncClock().catch(() => {}), 30_000);
    syncClock()
      .then(() => {
        setNow(serverNow());
        timer = setInterval(() => setNow(serverNow()), 1000);
      })
      .catch(reportError);
    return () => {
      clearInterval(timer);
      clearInterval(resync);
    };
  }, []);
  return html`<div class="clock" title=${t('server_time.note')}>
    <span class="muted">${t('server_time')}</span>
    <time data-testid="server-time" datetime=${now ? now.toISOString() : ''}>${now ? formatInstant(now.toISOString()) : '—'}</time>
    ${isDemo() ? html`<span class="badge demo">DEMO</span>` : null}
  </div>`;
}

function NotFound() {
  return html`<section><h1>404</h1><p><a href="#/">${t('trade.back')}</a></p></section>`;
}

function App() {
  const [route, setRoute] = useState(currentRoute());
  const [, setLanguage] = useState(lang());
  const [error, setError] = useState(null);
  const [session, setSession] = useState(currentSession());
  useEffect(() => onSessionChange(setSession), []);
  showError = (e) => setError(e instanceof Error ? e : new Error(String(e)));

  useEffect(() => {
    const onHash = () => {
      setRoute(currentRoute());
      setError(null);
      document.getElementById('main')?.focus();
    };
    const onRejection = (event) => {
      event.preventDefault();
      setError(event.reason instanceof Error ? event.reason : new Error(String(event.reason)));
    };
    window.addEventListener('hashchange', onHash);
    window.addEventListener('unhandledrejection', onRejection);
    return () => {
      window.removeEventListener('hashchange', onHash);
      window.removeEventListener('unhandledrejection', onRejection);
    };
  }, []);

  const switchLanguage = () => {
    setLang(lang() === 'zh-CN' ? 'en' : 'zh-CN');
    setLanguage(lang());
    document.title = t('app.title');
  };
  const match = ROUTES.map((r) => ({ r, m: route.path.match(r.path) })).find((x) => x.m);
  const navLink = (id, href) => html`<a href=${href} aria-current=${match?.r.nav === id ? 'page' : undefined}>${t(`nav.${id}`)}</a>`;

  return html`
    <a class="skip" href="#main" onClick=${(e) => { e.preventDefault(); document.getElementById('main')?.focus(); }}>${t('app.skip')}</a>
    <header class="top">
      <a class="brand" href="#/">${t('app.title')}</a>
      <nav aria-label=${t('nav.label')}>${navLink('portal', '#/')}${navLink('log', '#/log')}${session ? navLink('workspace', '#/workspace') : null}${session?.identity.role === 'supervisor' ? navLink('supervision', '#/supervision') : null}${session?.identity.role === 'expert' ? navLink('expert', '#/expert') : null}${session?.identity.role === 'trading_centre' ? navLink('centre', '#/centre') : null}</nav>
      <${ServerClock} />
      ${session
        ? html`<div class="who" data-testid="signed-in"><span>${session.identity.organization}</span>
            <button type="button" class="lang" onClick=${() => { signOut(); navigate('/'); }}>${t('nav.signout')}</button></div>`
        : html`<a class="signin" href="#/signin">${t('nav.signin')}</a>`}
      <button type="button" class="lang" lang=${lang() === 'zh-CN' ? 'en' : 'zh-CN'} aria-label=${t('lang.switch_label')} onClick=${switchLanguage}>${t('lang.switch')}</button>
    </header>
    ${error
      ? html`<div class="banner error" role="alert" data-testid="error-banner">
          <strong>${t('error.title')}：</strong>${error.code === 'network' ? t('error.network') : error.message}
          <button type="button" onClick=${() => setError(null)}>${t('error.dismiss')}</button>
        </div>`
      : null}
    <main id="main" tabindex="-1">${match ? match.r.page(match.m, route.params) : html`<${NotFound} />`}</main>
  `;
}

document.title = t('app.title');
// The session's signing key, if this tab kept one, before any page asks for it.
// The divisions' names too: no page shows a bare region code.
await Promise.all([restoreSigner(), loadRegions().catch(() => {})]);
render(html`<${App} />`, document.getElementById('app'));
