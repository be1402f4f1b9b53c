// The single page: header (navigation, server time, language), the routed page, and an
// error banner. Routes live in the URL's hash so every page has a link and the server
// serves one file.
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { html } from './html.js';
import { t, lang, setLang, formatInstant } from './i18n.js';
import { syncClock, serverNow, isDemo } from './api.js';
import { Portal } from './pages/portal.js';
import { currentSession, onSessionChange, signOut, restoreSigner } from './session.js';
import { loadRegions } from './regions.js';
import { labelTables } from './cards.js';

/** A page whose module loads when it is first visited (the portal, the first page most
 * people see, comes with this module): `load` imports it, `name` is its export. */
function lazy(load, name) {
  let component = null;
  return function LazyPage(props) {
    const [, setLoaded] = useState(false);
    useEffect(() => {
      if (!component) {
        load()
          .then((module) => {
            component = module[name];
            setLoaded(true);
          })
          .catch(reportError);
      }
    }, []);
    return component ? html`<${component} ...${props} />` : html`<p class="muted">${t('loading')}</p>`;
  };
}

const TradePage = lazy(() => import('./pages/trade.js'), 'TradePage');
const BidPage = lazy(() => import('./pages/bid.js'), 'BidPage');
const OpeningHall = lazy(() => import('./pages/opening.js'), 'OpeningHall');
const AuctionRoom = lazy(() => import('./pages/auction.js'), 'AuctionRoom');
const HelpPage = lazy(() => import('./pages/help.js'), 'HelpPage');
const RulesPage = lazy(() => import('./pages/rules.js'), 'RulesPage');
const CalendarPage = lazy(() => import('./pages/calendar.js'), 'CalendarPage');
const NoticePage = lazy(() => import('./pages/notice.js'), 'NoticePage');
const CustodianPage = lazy(() => import('./pages/custodian.js'), 'CustodianPage');
const LogExplorer = lazy(() => import('./pages/log.js'), 'LogExplorer');
const SignIn = lazy(() => import('./pages/signin.js'), 'SignIn');
const Supervision = lazy(() => import('./pages/supervision.js'), 'Supervision');
const Workspace = lazy(() => import('./pages/workspace.js'), 'Workspace');
const ExpertPage = lazy(() => import('./pages/expert.js'), 'ExpertPage');
const CentrePage = lazy(() => import('./pages/centre.js'), 'CentrePage');

const ROUTES = [
  { path: /^\/$/, nav: 'portal', page: (_, params) => html`<${Portal} params=${params} />` },
  { path: /^\/trades\/([0-9a-fA-F-]{36})$/, nav: 'portal', page: (m) => html`<${TradePage} id=${m[1]} />` },
  { path: /^\/trades\/([0-9a-fA-F-]{36})\/bid$/, nav: 'portal', page: (m) => html`<${BidPage} id=${m[1]} />` },
  { path: /^\/trades\/([0-9a-fA-F-]{36})\/opening$/, nav: 'portal', page: (m) => html`<${OpeningHall} id=${m[1]} />` },
  { path: /^\/trades\/([0-9a-fA-F-]{36})\/auction$/, nav: 'portal', page: (m) => html`<${AuctionRoom} id=${m[1]} />` },
  { path: /^\/trades\/([0-9a-fA-F-]{36})\/notices\/([a-z0-9-]+)$/, nav: 'portal', page: (m) => html`<${NoticePage} id=${m[1]} noticeKey=${m[2]} />` },
  { path: /^\/trades\/([0-9a-fA-F-]{36})\/custodian$/, nav: 'portal', page: (m) => html`<${CustodianPage} id=${m[1]} />` },
  { path: /^\/help(?:\/([a-z]+))?$/, nav: 'help', page: (m) => html`<${HelpPage} topic=${m[1]} />` },
  { path: /^\/rules$/, nav: 'help', page: () => html`<${RulesPage} />` },
  { path: /^\/calendar$/, nav: 'calendar', page: () => html`<${CalendarPage} />` },
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
      <nav aria-label=${t('nav.label')}>${navLink('portal', '#/')}${navLink('calendar', '#/calendar')}${navLink('log', '#/log')}${navLink('help', '#/help')}${session ? navLink('workspace', '#/workspace') : null}${session?.identity.role === 'supervisor' ? navLink('supervision', '#/supervision') : null}${session?.identity.role === 'expert' ? navLink('expert', '#/expert') : null}${session?.identity.role === 'trading_centre' ? navLink('centre', '#/centre') : null}</nav>
      <${ServerClock} />
      ${session
        ? html`<div class="who" data-testid="signed-in"><span lang="zh-CN">${session.identity.organization}</span>
            <button type="button" class="lang" onClick=${() => { signOut(); navigate('/'); }}>${t('nav.signout')}</button></div>`
        : html`<a class="signin" href="#/signin">${t('nav.signin')}</a>`}
      <button type="button" class="lang" lang=${lang() === 'zh-CN' ? 'en' : 'zh-CN'} aria-label=${t('lang.switch_label')} onClick=${switchLanguage}>${t('lang.switch')}</button>
    </header>
    ${error
      ? html`<div class="banner error" role="alert" data-testid="error-banner">
          <strong>${t('error.title')}：</strong>${error.message}
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
labelTables(document.getElementById('app'));
