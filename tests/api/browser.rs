//! A real browser for the web pages: Debian's headless Chromium, driven over WebDriver by
//! its chromedriver (fantoccini). Each test gets its own chromedriver and browser profile,
//! saves screenshots of its key screens under `target/screenshots/`, and fails on any
//! console error of the pages it visited.
//!
//! `./test.sh` (the README's test command) installs `chromium`, `chromium-driver` and
//! `fonts-noto-cjk`. A test never installs anything: without them it fails and says so.

use std::os::unix::process::CommandExt as _;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// How long a page may take to show what a test waits for.
const WAIT: Duration = Duration::from_secs(15);

/// The browser and its driver must be there; `./test.sh` installs them.
fn ensure_installed() {
    for program in [CHROMIUM, CHROMEDRIVER] {
        assert!(
            std::path::Path::new(program).exists(),
            "{program} is missing: the browser tests need Debian's chromium, chromium-driver and fonts-noto-cjk, which ./test.sh (the README's test command) installs"
        );
    }
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
    listener
        .local_addr()
        .unwrap_or_else(|e| panic!("{e}"))
        .port()
}

/// chromedriver's non-standard log endpoint: the browser console since the last call.
#[derive(Debug)]
struct BrowserLog;

impl fantoccini::wd::WebDriverCompatibleCommand for BrowserLog {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/se/log",
            session_id.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        (
            http::Method::POST,
            Some(json!({"type": "browser"}).to_string()),
        )
    }
}

/// One browser session for one test.
pub struct Browser {
    pub client: Client,
    driver: Child,
    _profile: tempfile::TempDir,
    name: String,
    shots: u32,
    /// Console messages read so far (reading clears chromedriver's buffer).
    console: Vec<Value>,
    /// Console errors the test causes on purpose (a refused request logs one).
    expected: Vec<String>,
}

impl Drop for Browser {
    /// Ends chromedriver and the Chromium it started, also when the test failed before
    /// closing its session: they run in a process group of their own, killed as one, so
    /// no browser outlives its test to slow down the ones after it.
    fn drop(&mut self) {
        // `--` before the negative id: without it procps-ng's kill does not take `-PGID`
        // for a process group, and signals far more than the group.
        let _ = Command::new("kill")
            .args(["-s", "KILL", "--"])
            .arg(format!("-{}", self.driver.id()))
            .stderr(Stdio::null())
            .status();
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

impl Browser {
    /// A headless Chromium at 1280×800, named after the test (for its screenshots).
    pub async fn open(name: &str) -> Browser {
        ensure_installed();
        let port = free_port();
        let mut driver = Command::new(CHROMEDRIVER)
            .process_group(0)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("start {CHROMEDRIVER}: {e}"));
        let profile = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let webdriver = format!("http://127.0.0.1:{port}");
        let caps: serde_json::Map<String, Value> = serde_json::from_value(json!({
            "browserName": "chrome",
            "goog:loggingPrefs": {"browser": "ALL"},
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--disable-quic", "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync", "--disable-extensions",
                    "--window-size=1280,800", "--lang=zh-CN",
                    format!("--user-data-dir={}", profile.path().display()),
                ],
            },
        }))
        .unwrap_or_else(|e| panic!("{e}"));
        let mut builder =
            ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new());
        builder.capabilities(caps);
        // chromedriver takes a moment to listen.
        let mut last = None;
        for _ in 0..100 {
            match builder.connect(&webdriver).await {
                Ok(client) => {
                    return Browser {
                        client,
                        driver,
                        _profile: profile,
                        name: name.to_owned(),
                        shots: 0,
                        console: Vec::new(),
                        expected: Vec::new(),
                    };
                }
                Err(e) => last = Some(e),
            }
            if let Ok(Some(status)) = driver.try_wait() {
                panic!("chromedriver exited: {status}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("no WebDriver session: {last:?}");
    }

    pub async fn goto(&self, url: &str) {
        self.client
            .goto(url)
            .await
            .unwrap_or_else(|e| panic!("goto {url}: {e}"));
    }

    /// Reloads the page (a `goto` to the same URL does not).
    pub async fn reload(&self) {
        self.client
            .refresh()
            .await
            .unwrap_or_else(|e| panic!("reload: {e}"));
    }

    /// The element `css` once it is on the page.
    pub async fn find(&self, css: &str) -> Element {
        self.client
            .wait()
            .at_most(WAIT)
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no element {css}: {e}"))
    }

    /// The text of `css` once it contains `needle`.
    pub async fn wait_text(&self, css: &str, needle: &str) -> String {
        let deadline = tokio::time::Instant::now() + WAIT;
        let mut seen = String::new();
        while tokio::time::Instant::now() < deadline {
            if let Ok(element) = self.client.find(Locator::Css(css)).await {
                if let Ok(text) = element.text().await {
                    if text.contains(needle) {
                        return text;
                    }
                    seen = text;
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("{css} never showed {needle:?}; it shows {seen:?}");
    }

    /// Types `text` into the field `css`, replacing what it held. The old text is deleted
    /// as a user deletes it, with an input event: WebDriver's own clear sends none, and a
    /// page that re-renders its fields from state (Preact) would put the old text back.
    pub async fn fill(&self, css: &str, text: &str) {
        let field = self.find(css).await;
        self.client
            .execute(
                "const el = document.querySelector(arguments[0]); el.value = '';
                 el.dispatchEvent(new Event('input', {bubbles: true}));",
                vec![json!(css)],
            )
            .await
            .unwrap_or_else(|e| panic!("clear {css}: {e}"));
        field
            .send_keys(text)
            .await
            .unwrap_or_else(|e| panic!("type into {css}: {e}"));
    }

    /// Sets a field's value the way a paste does (one input event), for long text.
    pub async fn paste(&self, css: &str, text: &str) {
        self.find(css).await;
        self.client
            .execute(
                "const el = document.querySelector(arguments[0]); el.value = arguments[1];
                 el.dispatchEvent(new Event('input', {bubbles: true}));",
                vec![json!(css), json!(text)],
            )
            .await
            .unwrap_or_else(|e| panic!("paste into {css}: {e}"));
    }

    /// Chooses the option `value` of the select `css`, as a user picking it does.
    pub async fn select(&self, css: &str, value: &str) {
        self.find(&format!("{css} option[value='{value}']")).await;
        self.find(css)
            .await
            .select_by_value(value)
            .await
            .unwrap_or_else(|e| panic!("select {value} in {css}: {e}"));
    }

    /// Presses and releases one key (`fantoccini::key::Key` for Tab, Enter…), as a
    /// keyboard-only user does: it goes to whatever has the focus.
    pub async fn press(&self, key: fantoccini::key::Key) {
        use fantoccini::actions::{InputSource as _, KeyAction, KeyActions};
        let value = char::from(key);
        let keys = KeyActions::new("keyboard".into())
            .then(KeyAction::Down { value })
            .then(KeyAction::Up { value });
        self.client
            .perform_actions(keys)
            .await
            .unwrap_or_else(|e| panic!("press {key:?}: {e}"));
    }

    /// Types `text` into whatever has the focus.
    pub async fn type_text(&self, text: &str) {
        self.client
            .active_element()
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .send_keys(text)
            .await
            .unwrap_or_else(|e| panic!("type {text:?}: {e}"));
    }

    /// A short description of the focused element: tag, id, class, href.
    pub async fn focused(&self) -> String {
        self.client
            .execute(
                "const e = document.activeElement;
                 return [e.tagName.toLowerCase(), e.id, e.className, e.getAttribute('href') || ''].join('|');",
                vec![],
            )
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// Chooses the file at `path` in the file input `css`.
    pub async fn choose_file(&self, css: &str, path: &str) {
        let input = self.find(css).await;
        input.clear().await.unwrap_or_else(|e| panic!("{e}"));
        input
            .send_keys(path)
            .await
            .unwrap_or_else(|e| panic!("choose {path} in {css}: {e}"));
    }

    pub async fn click(&self, css: &str) {
        self.find(css)
            .await
            .click()
            .await
            .unwrap_or_else(|e| panic!("click {css}: {e}"));
    }

    /// Scrolls the element `css` to the top of the window (for the screenshot that follows).
    pub async fn scroll_to(&self, css: &str) {
        self.find(css).await;
        self.client
            .execute(
                "document.querySelector(arguments[0]).scrollIntoView({block: 'start'});",
                vec![json!(css)],
            )
            .await
            .unwrap_or_else(|e| panic!("scroll to {css}: {e}"));
    }

    pub async fn set_size(&self, width: u32, height: u32) {
        self.client
            .set_window_size(width, height)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }

    /// Saves a screenshot as `target/screenshots/<test>-<n>-<label>.png`, after checking
    /// the screen with axe-core: every screen a test shows is one it checked.
    pub async fn screenshot(&mut self, label: &str) {
        self.check_accessibility(label).await;
        let png = self
            .client
            .screenshot()
            .await
            .unwrap_or_else(|e| panic!("screenshot: {e}"));
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
        self.shots += 1;
        let path = dir.join(format!("{}-{:02}-{label}.png", self.name, self.shots));
        std::fs::write(&path, png).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    }

    /// Records how fast the page came up and what it loaded (first contentful paint,
    /// DOM ready, bytes of script and style, and every request with the bytes it took over
    /// the wire, compressed, headers included) as `target/screenshots/<test>-metrics.json`,
    /// and returns them. The timings are a measurement for docs/benchmarks.md, never
    /// asserted on; the bytes do not depend on the machine's load.
    pub async fn save_page_metrics(&self, label: &str) -> Value {
        let metrics = self
            .client
            .execute(
                "const nav = performance.getEntriesByType('navigation')[0];
                 const paint = performance.getEntriesByType('paint').find(p => p.name === 'first-contentful-paint');
                 const res = performance.getEntriesByType('resource');
                 const bytes = (kind) => res.filter(r => r.initiatorType === kind || r.name.endsWith(kind === 'script' ? '.js' : '.css'))
                   .reduce((n, r) => n + (r.encodedBodySize || 0), 0);
                 return { first_contentful_paint_ms: paint ? paint.startTime : null,
                          dom_content_loaded_ms: nav ? nav.domContentLoadedEventEnd : null,
                          resources: res.length, script_bytes: bytes('script'), style_bytes: bytes('css'),
                          document_bytes: nav ? nav.encodedBodySize : null,
                          requests: res.length + 1,
                          transfer_bytes: res.reduce((n, r) => n + (r.transferSize || 0), nav ? nav.transferSize : 0),
                          decoded_bytes: res.reduce((n, r) => n + (r.decodedBodySize || 0), nav ? nav.decodedBodySize : 0) };",
                vec![],
            )
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
        let path = dir.join(format!("{}-{label}-metrics.json", self.name));
        std::fs::write(&path, metrics.to_string()).unwrap_or_else(|e| panic!("{e}"));
        metrics
    }

    /// Runs axe-core (vendored in `tests/vendor/axe-core/`) on the page as it is now and
    /// fails on any violation of WCAG 2.1 A/AA or axe's best practices, naming each rule,
    /// its help and the elements it found. `label` says which screen it was.
    pub async fn check_accessibility(&self, label: &str) {
        const AXE: &str = include_str!("../vendor/axe-core/axe.min.js");
        let script = format!(
            "{AXE}\n;const done = arguments[arguments.length - 1];
             axe.run(document, {{ resultTypes: ['violations'],
                 runOnly: {{ type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] }} }})
               .then(r => done(r.violations.map(v => ({{ id: v.id, impact: v.impact, help: v.help,
                   nodes: v.nodes.slice(0, 5).map(n => n.target.join(' ') + ' — ' + n.failureSummary) }}))))
               .catch(e => done([{{ id: 'axe-error', help: String(e), nodes: [] }}]));"
        );
        let violations = self
            .client
            .execute_async(&script, vec![])
            .await
            .unwrap_or_else(|e| panic!("run axe-core on {label}: {e}"));
        let list = violations.as_array().cloned().unwrap_or_default();
        // axe 4.10 no longer checks that ids are unique; a label or a fragment link that
        // finds the wrong twin is as bad as a missing one.
        let duplicates = self
            .client
            .execute(
                "const seen = new Map();
                 for (const el of document.querySelectorAll('[id]')) seen.set(el.id, (seen.get(el.id) ?? 0) + 1);
                 return [...seen].filter(([, n]) => n > 1).map(([id]) => id);",
                vec![],
            )
            .await
            .unwrap_or_else(|e| panic!("look for duplicate ids on {label}: {e}"));
        assert_eq!(
            duplicates,
            json!([]),
            "ids used more than once on {} ({label})",
            self.name
        );
        // A person reads divisions by name (web/js/regions.js); a bare 行政区划代码 on the
        // screen (65xxxx standing alone, not inside a longer number or id) is a miss.
        let codes = self
            .client
            .execute(
                "const text = document.body.innerText;
                 // A bidder number (竞买号) is six digits too: marked where it stands alone,
                 // named where a sentence carries it.
                 const numbers = new Set([...document.querySelectorAll('[data-number]')].map(e => e.textContent.trim()));
                 return [...text.matchAll(/(?<![0-9A-Za-z-])65[0-9]{4}(?![0-9A-Za-z-])/g)]
                   .filter(m => !numbers.has(m[0]) && !/(竞买号|bidder no\\.|number)\\s*[:：]?\\s*$/i.test(text.slice(Math.max(0, m.index - 14), m.index)))
                   .map(m => text.slice(Math.max(0, m.index - 30), m.index + 36).replace(/\\s+/g, ' '));",
                vec![],
            )
            .await
            .unwrap_or_else(|e| panic!("read the text of {label}: {e}"));
        assert_eq!(
            codes,
            json!([]),
            "region codes shown without their names on {} ({label})",
            self.name
        );
        // A Chinese page says nothing in English: no run of three lower-case English words
        // outside code and what is marked as another language (a server's message left
        // untranslated would be one; a name in capitals, "tradehall DEV ONLY", is not).
        let english = self
            .client
            .execute(
                "if (document.documentElement.lang !== 'zh-CN') return [];
                 const out = [];
                 const walk = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
                 for (let n = walk.nextNode(); n; n = walk.nextNode()) {
                   if (!/[a-z]{3,}[ ,.'’]+[a-z]{3,}[ ,.'’]+[a-z]{3,}/.test(n.textContent)) continue;
                   const el = n.parentElement;
                   if (el.closest('code, pre, noscript, script, style, [hidden], option')) continue;
                   if ((el.closest('[lang]')?.getAttribute('lang') ?? 'zh-CN') !== 'zh-CN') continue;
                   out.push(`${el.tagName.toLowerCase()}: ${n.textContent.trim().slice(0, 80)}`);
                 }
                 return out;",
                vec![],
            )
            .await
            .unwrap_or_else(|e| panic!("read {label}: {e}"));
        assert_eq!(
            english,
            json!([]),
            "English left in the Chinese page {} ({label})",
            self.name
        );
        // Nothing makes the page wider than the window (a phone at 390 px included): the
        // elements that stick out are named.
        let wider = self
            .client
            .execute(
                "const width = document.documentElement.clientWidth;
                 if (document.documentElement.scrollWidth <= width) return [];
                 return [...document.querySelectorAll('body *')]
                   .filter(el => el.getBoundingClientRect().right > width + 1)
                   .slice(-6)
                   .map(el => `${el.tagName.toLowerCase()}${el.className ? '.' + String(el.className).split(' ').join('.') : ''}`
                     + ` right=${Math.round(el.getBoundingClientRect().right)} of ${width}: ${(el.innerText ?? '').slice(0, 40)}`);",
                vec![],
            )
            .await
            .unwrap_or_else(|e| panic!("measure {label}: {e}"));
        assert_eq!(
            wider,
            json!([]),
            "the page is wider than the window on {} ({label})",
            self.name
        );
        assert!(
            list.is_empty(),
            "axe-core found {} accessibility violation(s) on {} ({label}):\n{}",
            list.len(),
            self.name,
            serde_json::to_string_pretty(&violations).unwrap_or_default()
        );
    }

    /// Fails if the English page shows Chinese outside what is marked as Chinese: names and
    /// titles (an organisation, a trade, a law's article) carry `lang="zh-CN"`, and any
    /// other Chinese text is a string left untranslated. Returns the page's text.
    pub async fn assert_english(&self, label: &str) -> String {
        let found = self
            .client
            .execute(
                "if (document.documentElement.lang !== 'en') return ['the page is not in English'];
                 const out = [];
                 const walk = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
                 for (let n = walk.nextNode(); n; n = walk.nextNode()) {
                   if (!/[\\u4e00-\\u9fff]/.test(n.textContent)) continue;
                   const el = n.parentElement;
                   if (el.closest('[lang]')?.getAttribute('lang') !== 'en') continue;
                   if (el.closest('noscript, script, style, [hidden]')) continue;
                   out.push(`${el.tagName.toLowerCase()}: ${n.textContent.trim().slice(0, 60)}`);
                 }
                 return out;",
                vec![],
            )
            .await
            .unwrap_or_else(|e| panic!("read {label}: {e}"));
        assert_eq!(
            found,
            json!([]),
            "Chinese left untranslated in the English page {} ({label})",
            self.name
        );
        self.client
            .find(Locator::Css("body"))
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .text()
            .await
            .unwrap_or_default()
    }

    /// Switches the page to English with the header's button, then checks it as
    /// `assert_english` does and takes its screenshot.
    pub async fn switch_to_english(&mut self, label: &str) {
        self.click("header > button.lang").await;
        for _ in 0..50 {
            let lang = self
                .client
                .execute("return document.documentElement.lang;", vec![])
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            if lang == "en" {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        // Let the page render its words again (and anything it loads for them).
        tokio::time::sleep(Duration::from_millis(300)).await;
        self.assert_english(label).await;
        self.screenshot(&format!("{label}-en")).await;
    }

    /// Every console message of level SEVERE (errors, failed loads) so far.
    pub async fn console_errors(&mut self) -> Vec<String> {
        let log = self
            .client
            .issue_cmd(BrowserLog)
            .await
            .unwrap_or_else(|e| panic!("read the browser console: {e}"));
        if let Value::Array(entries) = log {
            self.console.extend(entries);
        }
        self.console
            .iter()
            .filter(|e| e["level"] == "SEVERE")
            .map(|e| e["message"].as_str().unwrap_or_default().to_owned())
            .collect()
    }

    /// Declares a console error the test provokes on purpose: Chromium logs every
    /// refused request (a 401 for a wrong key) as one. It must then appear.
    pub fn expect_console_error(&mut self, containing: &str) {
        self.expected.push(containing.to_owned());
    }

    /// Ends the test: no console errors on any page it visited but the expected ones, and
    /// no error banner on the page it ends on (an exception while rendering lands there,
    /// not in the console).
    pub async fn finish(mut self) {
        if let Ok(banner) = self
            .client
            .find(Locator::Css("[data-testid=error-banner]"))
            .await
        {
            let text = banner.text().await.unwrap_or_default();
            panic!("the page ends with an error banner: {text}");
        }
        let errors = self.console_errors().await;
        for expected in &self.expected {
            assert!(
                errors.iter().any(|e| e.contains(expected.as_str())),
                "the expected console error {expected:?} did not appear: {errors:#?}"
            );
        }
        let unexpected: Vec<&String> = errors
            .iter()
            .filter(|e| !self.expected.iter().any(|x| e.contains(x.as_str())))
            .collect();
        assert!(unexpected.is_empty(), "console errors: {unexpected:#?}");
        let client = self.client.clone();
        let _ = client.close().await;
    }
}
