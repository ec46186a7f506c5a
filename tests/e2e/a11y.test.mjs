// Accessibility, language direction, weight and origin of every page and
// state, in every language, in headless Chromium (playwright-core).
//
// - axe-core (WCAG 2.1 A and AA rules) reports no violation;
// - <html lang> is the chosen language and dir="rtl" exactly for Arabic;
// - each page has a title of its own, not just the name of the service;
// - the document with its CSS and JS stays under 30 KB (uncompressed);
// - no request leaves the origin, and the CSP forbids inline code;
// - at 320 CSS px (400 % zoom of 1280 px) nothing scrolls sideways or is clipped;
// - dates (<time data-local>) show in the device's time zone where Intl knows the
//   language, with the instant kept in datetime;
// - screenshots of each page in en, nl and ar go to tests/e2e/out/.
// Then, in en and ar, the states the walk does not reach: the diploma form locked after
// wrong tries, a journey that ended, /recover/code (wrong code, cooling-off, accepted)
// and the support console (sign-in, staff passkey, home, person, codes issued).
// Then a keyboard-only enrolment and sign-in (Tab, Enter and typing only).
//
// WP_A11Y_LANGS=en,nl,ar limits the languages (default: all nine).

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { startServer, makePeople, freePort } from '../lib/server.mjs';
import { authRequest, enrolWithInvite, openRecoveryCase, staffWalker } from '../lib/flows.mjs';
import { LANGS, LIMITS, addAuthenticator, authorize, launchChromium, startCallback, submitForm, walkPages } from '../lib/pages.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const OUT = path.join(here, 'out');
const require = createRequire(import.meta.url);
const AXE = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const AXE_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];
const BUDGET = 30 * 1024;
const SHOT_LANGS = new Set(['en', 'nl', 'ar']);
const ERROR_STATES = new Set(['code-error', 'code-locked', 'diploma-errors', 'diploma-locked', 'recover-code-error', 'recover-code-cooling']);
const TIME_ZONE = 'Pacific/Kiritimati'; // UTC+14: every local time differs from UTC
const langs = (process.env.WP_A11Y_LANGS ?? LANGS.join(',')).split(',').filter(Boolean);

// The merged message catalog of LANG (templates/i18n/LANG/*.json).
function catalog(lang) {
  const dir = path.join(here, '..', '..', 'templates', 'i18n', lang);
  return Object.assign({}, ...fs.readdirSync(dir).filter((f) => f.endsWith('.json')).map((f) => JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8'))));
}

// Runs axe-core in PAGE; returns the violations as short strings.
async function axeViolations(page) {
  await page.addScriptTag({ content: AXE });
  const violations = await page.evaluate(async (tags) => {
    const r = await window.axe.run(document, { runOnly: { type: 'tag', values: tags }, resultTypes: ['violations'] });
    return r.violations.map((v) => ({
      id: v.id,
      help: v.help,
      nodes: v.nodes.map((n) => `${n.target.join(' ')}: ${n.failureSummary.replace(/\s+/g, ' ')}`),
    }));
  }, AXE_TAGS);
  return violations.map((v) => `${v.id} (${v.help})\n      ${v.nodes.slice(0, 4).join('\n      ')}`);
}

// In the page: the problems of its <time data-local> elements (see above).
function checkLocalDates(zone) {
  const lang = document.documentElement.lang;
  const known = Intl.DateTimeFormat.supportedLocalesOf([lang]).length > 0;
  const out = [];
  for (const t of document.querySelectorAll('time[data-local]')) {
    const iso = t.getAttribute('datetime');
    const when = new Date(iso);
    if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/.test(iso) || Number.isNaN(when.getTime())) out.push(`datetime "${iso}" is not ISO 8601 UTC`);
    const local = new Intl.DateTimeFormat(lang, { dateStyle: 'medium', timeStyle: 'short', timeZone: zone }).format(when);
    if (known && t.textContent !== local) out.push(`<time> shows "${t.textContent}", not the local "${local}"`);
    if (!known && !t.textContent.includes('UTC')) out.push(`<time> lost the server's text: "${t.textContent}"`);
  }
  return out;
}

// The size of an asset of the provider, fetched once (it is the same for all pages).
const assetSizes = new Map();
async function assetSize(url) {
  if (!assetSizes.has(url)) {
    const res = await fetch(url);
    assetSizes.set(url, (await res.arrayBuffer()).byteLength);
  }
  return assetSizes.get(url);
}

// Watches PAGE (of a context with the wp_lang cookie LANG) and returns visit(name),
// which checks the page shown now (see the top of this file) and adds each problem to
// FAILURES as "LANG NAME (PATH): ..."; offsite and errors collect requests to other
// hosts and script errors. onBytes(name, bytes), when given, gets each page's weight.
function pageChecker({ srv, rp, page, lang, failures, onBytes }) {
  const offsite = [];
  const errors = [];
  let lastDoc = null;
  page.on('request', (r) => {
    const u = new URL(r.url());
    if (u.origin !== srv.issuer && u.origin !== rp.origin && !['data:', 'blob:'].includes(u.protocol)) offsite.push(r.url());
  });
  page.on('response', (r) => {
    const redirect = r.status() >= 300 && r.status() < 400;
    if (r.request().resourceType() !== 'document' || r.frame() !== page.mainFrame() || redirect) return;
    lastDoc = { url: r.url(), headers: r.headers(), body: r.body().catch(() => null) };
  });
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => {
    // Error pages answer 4xx on purpose; Chromium logs each as a failed load.
    if (m.type() !== 'error' || /^Failed to load resource: the server responded/.test(m.text())) return;
    if (!(m.location().url ?? '').endsWith('/favicon.ico')) errors.push(`${m.location().url}: ${m.text()}`);
  });

  const visit = async (name, { loaded } = {}) => {
    if (loaded === false) await page.waitForFunction(() => getComputedStyle(document.body).marginTop === '0px');
    else await page.waitForLoadState('load');
    const where = `${lang} ${name} (${new URL(page.url()).pathname})`;
    const html = page.locator('html');
    const gotLang = await html.getAttribute('lang');
    const dir = await html.getAttribute('dir');
    if (gotLang !== lang) failures.push(`${where}: <html lang="${gotLang}">`);
    if (dir !== (lang === 'ar' ? 'rtl' : 'ltr')) failures.push(`${where}: <html dir="${dir}">`);
    const title = await page.title();
    if (!title || title.trim() === 'Wereldpas') failures.push(`${where}: no title of its own ("${title}")`);

    // Weight: the document and every stylesheet and script it loads.
    let bytes = 0;
    const doc = lastDoc;
    const body = doc && doc.url.startsWith(srv.issuer) ? await doc.body : null;
    if (body) {
      bytes += body.byteLength;
      const csp = doc.headers['content-security-policy'] ?? '';
      if (!/default-src 'self'/.test(csp) || /unsafe-inline/.test(csp)) failures.push(`${where}: CSP "${csp}"`);
    } else failures.push(`${where}: no document response recorded`);
    const assets = await page.evaluate(() =>
      [...document.querySelectorAll('link[rel=stylesheet][href], script[src], img[src], link[rel~=icon][href]')].map(
        (e) => e.href || e.src,
      ),
    );
    for (const a of assets) {
      if (new URL(a).origin !== srv.issuer) failures.push(`${where}: asset from another host ${a}`);
      else bytes += await assetSize(a);
    }
    if (bytes > BUDGET) failures.push(`${where}: ${bytes} bytes, over the ${BUDGET} byte budget`);
    if (onBytes) onBytes(name, bytes);

    for (const v of await axeViolations(page)) failures.push(`${where}: axe ${v}`);

    // Dates: each <time data-local> keeps its instant in datetime (UTC) and, where
    // Intl knows the language, shows it in the device's zone; else the server's text.
    for (const p of await page.evaluate(checkLocalDates, TIME_ZONE)) failures.push(`${where}: ${p}`);
    if (name === 'account' && (await page.locator('time[data-local]').count()) === 0) failures.push(`${where}: no <time data-local>`);

    // A failed form: the error summary comes first in main, has the focus,
    // and each of its links leads to a field of the form.
    if (ERROR_STATES.has(name)) {
      const problem = await page.evaluate(() => {
        const summary = document.getElementById('error-summary');
        if (!summary) return 'no #error-summary';
        if (document.querySelector('main').firstElementChild !== summary) return '#error-summary is not first in main';
        if (document.activeElement !== summary) return `focus is on ${document.activeElement?.tagName}, not #error-summary`;
        for (const a of summary.querySelectorAll('a[href^="#"]')) {
          const field = document.getElementById(a.getAttribute('href').slice(1));
          if (!field || !['INPUT', 'SELECT', 'TEXTAREA'].includes(field.tagName)) return `${a.getAttribute('href')} is not a field`;
        }
        return null;
      });
      if (problem) failures.push(`${where}: ${problem}`);
    }

    if (SHOT_LANGS.has(lang)) await page.screenshot({ path: path.join(OUT, `a11y-${lang}-${name}.png`), fullPage: true });

    // Reflow: at 320 CSS px nothing may need horizontal scrolling.
    await page.setViewportSize({ width: 320, height: 640 });
    const over = await page.evaluate(() => {
      const s = document.scrollingElement;
      return s.scrollWidth > s.clientWidth ? `${s.scrollWidth} > ${s.clientWidth}` : null;
    });
    if (over) failures.push(`${where}: scrolls sideways at 320 px (${over})`);
    // Nothing clipped: no element cuts off its own content sideways (overflow
    // hidden or clip) except the visually hidden ones (skip link, table heads).
    const clipped = await page.evaluate(() => {
      const out = [];
      for (const e of document.querySelectorAll('body *')) {
        const st = getComputedStyle(e);
        if (!['hidden', 'clip'].includes(st.overflowX) || e.getClientRects().length === 0) continue;
        if (e.clientWidth <= 1 || st.clipPath !== 'none') continue;
        if (e.scrollWidth > e.clientWidth + 1) out.push(`${e.tagName.toLowerCase()}${e.id ? `#${e.id}` : ''} ${e.scrollWidth} > ${e.clientWidth}`);
      }
      const vw = document.documentElement.clientWidth;
      const hidden = (e) => {
        for (let a = e; a; a = a.parentElement) if (a.matches('.skip') || getComputedStyle(a).clipPath !== 'none') return true;
        return false;
      };
      for (const e of document.querySelectorAll('main *, header *, footer *')) {
        const r = e.getBoundingClientRect();
        if (r.width > 0 && (r.right > vw + 1 || r.left < -1) && !hidden(e)) out.push(`${e.tagName.toLowerCase()} outside the viewport (${Math.round(r.left)}..${Math.round(r.right)} of ${vw})`);
      }
      return out.slice(0, 5);
    });
    for (const c of clipped) failures.push(`${where}: clipped at 320 px: ${c}`);
    if (SHOT_LANGS.has(lang)) await page.screenshot({ path: path.join(OUT, `a11y-${lang}-${name}-320.png`), fullPage: true });
    await page.setViewportSize({ width: 1024, height: 768 });
  };
  return { visit, offsite, errors };
}

describe('every page in every language: axe-core, RTL, bytes, origin', { timeout: 600000 }, () => {
  const people = makePeople(2 * langs.length + 2);
  let srv;
  let rp;
  let client;
  let browser;
  const failures = [];
  const table = [];

  before(async () => {
    fs.mkdirSync(OUT, { recursive: true });
    srv = await startServer({ people, config: LIMITS });
    const port = await freePort();
    rp = await startCallback(port);
    const reg = await srv.addClient({ id: 'rp-a11y', redirectUris: [rp.redirectUri], auth: 'client_secret_basic' });
    client = { client_id: reg.client_id, redirectUri: rp.redirectUri };
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close().catch(() => {});
    await rp?.close();
    if (table.length) {
      console.log('bytes per page (document + CSS + JS, uncompressed), first language:');
      for (const row of table) console.log(`  ${row}`);
    }
    await srv?.stop();
  });

  for (const [li, lang] of langs.entries()) {
    test(`pages in ${lang}`, { timeout: 180000 }, async () => {
      // A time zone far from UTC, so that dates shown in the device's zone differ.
      const context = await browser.newContext({ bypassCSP: true, viewport: { width: 1024, height: 768 }, timezoneId: TIME_ZONE });
      context.setDefaultTimeout(20000);
      await context.addCookies([{ name: 'wp_lang', value: lang, url: srv.issuer }]);
      const page = await context.newPage();
      await addAuthenticator(context, page);
      const { visit, offsite, errors } = pageChecker({ srv, rp, page, lang, failures, onBytes: li === 0 ? (name, bytes) => table.push(`${name.padEnd(16)} ${String(bytes).padStart(6)} B`) : null });

      await walkPages(page, {
        srv,
        client,
        rp,
        person: people[2 * li],
        diplomaPerson: people[2 * li + 1],
        visit,
      });
      await context.close();
      const mine = failures.filter((f) => f.startsWith(`${lang} `));
      assert.equal(mine.length, 0, `${mine.length} problems:\n  ${mine.join('\n  ')}`);
      assert.deepEqual(offsite, [], 'no request to another host');
      assert.deepEqual(errors, [], 'no script errors');
    });
  }
});

describe('more states in en and ar: diploma lockout, ended journey, /recover/code, support console', { timeout: 600000 }, () => {
  const STATE_LANGS = ['en', 'ar'];
  const people = makePeople(3 * STATE_LANGS.length);
  let srv;
  let rp;
  let client;
  let browser;
  let support;
  const failures = [];

  before(async () => {
    fs.mkdirSync(OUT, { recursive: true });
    // One wrong diploma form locks that person number; codes of unverified cases wait an hour.
    srv = await startServer({ people, config: `${LIMITS}diploma_fail_per_person = 1\ndiploma_min_answer_ms = 0\nrecovery_cooling_off = 3600\n` });
    rp = await startCallback(await freePort());
    const reg = await srv.addClient({ id: 'rp-states', redirectUris: [rp.redirectUri], auth: 'client_secret_basic' });
    client = { client_id: reg.client_id, redirectUri: rp.redirectUri };
    browser = await launchChromium();
    support = await staffWalker(srv, 'Sam Support', 'support');
  });

  after(async () => {
    await browser?.close().catch(() => {});
    await rp?.close();
    await srv?.stop();
  });

  for (const [li, lang] of STATE_LANGS.entries()) {
    test(`states in ${lang}`, { timeout: 240000 }, async () => {
      const [dip, waiting, verified] = people.slice(3 * li, 3 * li + 3);
      for (const p of [waiting, verified]) await enrolWithInvite(srv, { authorizeUrl: authRequest(srv, client).url, person: p });
      await openRecoveryCase(srv, support, waiting.person_number, false);
      await openRecoveryCase(srv, support, verified.person_number, true);

      const context = await browser.newContext({ bypassCSP: true, viewport: { width: 1024, height: 768 }, timezoneId: TIME_ZONE });
      context.setDefaultTimeout(20000);
      await context.addCookies([{ name: 'wp_lang', value: lang, url: srv.issuer }]);
      const page = await context.newPage();
      await addAuthenticator(context, page);
      const { visit, offsite, errors } = pageChecker({ srv, rp, page, lang, failures });
      const at = (p) => `${srv.issuer}${p}`;

      // The diploma form after a wrong try: locked, until a date in the page's language.
      const flow = await authorize(page, srv, client);
      for (let i = 0; i < 2; i++) {
        await page.goto(at(`/enrol/diploma?flow=${flow}`));
        await page.locator('[name=person_number]').fill(dip.person_number);
        await page.locator('[name=birthdate]').fill(dip.birthdate);
        await page.locator('[name=diploma_date]').fill('1999-01');
        await submitForm(page, 'person_number');
      }
      assert.equal(await page.locator('#error-summary time[data-local]').count(), 1, 'the lockout names its end as a <time>');
      await visit('diploma-locked');

      // A journey that ended: the page says so and leads back to the service.
      await page.goto(at('/enrol/code?flow=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'));
      assert.equal(await page.locator('#restart').count(), 1, 'a way back to the service');
      await visit('journey-ended');

      // What the scripts say comes from the page's catalog, chosen by the error code,
      // never the server's own (English) description.
      const msg = catalog(lang);
      const refuse = (status, error, headers = {}) => (route) =>
        route.fulfill({ status, headers, contentType: 'application/json', body: JSON.stringify({ error, error_description: 'SERVER TEXT' }) });
      await page.route('**/webauthn/login/options', refuse(400, 'invalid_flow'));
      await page.goto(at(`/login?flow=${await authorize(page, srv, client)}`));
      await page.locator('#passkey-login').click();
      await page.locator('[data-status]').filter({ hasText: msg.js_error_expired }).waitFor();
      await page.unroute('**/webauthn/login/options');

      // The support console: sign-in page, enrolment of the staff member's passkey,
      // home, a person, an enrolment code and an approved recovery code.
      await page.goto(at('/support/'));
      await visit('support-login');
      await page.route('**/support/webauthn/login/options', refuse(429, 'slow_down', { 'Retry-After': '600' }));
      await page.locator('#staff-login').click();
      const [before] = msg.sup_js_locked.split('{time}');
      const locked = page.locator('[data-status]').filter({ hasText: before.trim() });
      await locked.waitFor();
      const said = await locked.textContent();
      assert.ok(!said.includes('{time}') && !said.includes('SERVER TEXT'), said);
      await page.unroute('**/support/webauthn/login/options');
      const r = await srv.run(['staff', 'add', '--name', `Vera ${lang}`, '--role', 'supervisor']);
      assert.equal(r.code, 0, r.stderr);
      await page.goto(at('/support/enrol'));
      await page.locator('#code').fill(r.stdout.trim().split('\n').pop().trim());
      await submitForm(page, 'code');
      await visit('support-enrol');
      await page.locator('#staff-passkey-create').click();
      await page.waitForURL((u) => u.pathname === '/support/');
      await visit('support-home');
      await page.goto(at(`/support/person?person_number=${dip.person_number}`));
      await visit('support-person');
      await page.locator('#e-country').fill('MA');
      await page.locator('#e-last4').fill('AB12');
      await Promise.all([page.waitForNavigation(), page.locator('#issue-enrol-code').click()]);
      assert.equal(await page.locator('#issued-code').count(), 1);
      await visit('support-code');
      const codes = {};
      for (const p of [waiting, verified]) {
        await page.goto(at(`/support/person?person_number=${p.person_number}`));
        await Promise.all([page.waitForNavigation(), page.locator('[data-case] button[name=approve]').first().click()]);
        codes[p.person_number] = (await page.locator('#issued-code').textContent()).trim();
        await visit(p === waiting ? 'support-code-cooling' : 'support-code-recovery');
      }
      assert.equal(await page.locator('#cooling-off').count(), 0, 'a verified case needs no cooling-off');
      await page.goto(at(`/support/person?person_number=${waiting.person_number}`));
      await visit('support-person-case');

      // /recover/code: a wrong code, a code still in its cooling-off, a good one.
      const rflow = await authorize(page, srv, client);
      const recover = async (pn, code) => {
        await page.goto(at(`/recover/code?flow=${rflow}`));
        await page.locator('#person_number').fill(pn);
        await page.locator('#code').fill(code);
        await submitForm(page, 'code');
      };
      await recover(verified.person_number, 'ABCD-2345');
      await visit('recover-code-error');
      await recover(waiting.person_number, codes[waiting.person_number]);
      assert.equal(await page.locator('#error-summary time[data-local]').count(), 1, 'the cooling-off names its end as a <time>');
      await visit('recover-code-cooling');
      await recover(verified.person_number, codes[verified.person_number]);
      assert.equal(await page.locator('#passkey-create').count(), 1, 'the verified code is accepted');
      await visit('recover-code-proofed');

      await context.close();
      const mine = failures.filter((f) => f.startsWith(`${lang} `));
      assert.equal(mine.length, 0, `${mine.length} problems:\n  ${mine.join('\n  ')}`);
      assert.deepEqual(offsite, [], 'no request to another host');
      assert.deepEqual(errors, [], 'no script errors');
    });
  }
});

test('the stylesheet uses logical properties only (right-to-left)', async () => {
  const css = fs.readFileSync(path.join(here, '..', '..', 'templates', 'static', 'wereldpas.css'), 'utf8');
  const physical = css.match(
    /(?:margin|padding|border)-(?:left|right|top|bottom)\b|[{;\s](?:left|right|top|bottom)\s*:|(?:text-align|float|clear)\s*:\s*(?:left|right)/g,
  );
  assert.equal(physical, null, `physical properties: ${physical}`);
});

// Presses Tab (at most MAX times) until the focused element matches SELECTOR;
// every element focused on the way must show a focus indicator (outline or ring).
async function tabTo(page, selector, max = 40) {
  for (let i = 0; i < max; i++) {
    await page.keyboard.press('Tab');
    const at = await page.evaluate((s) => {
      const e = document.activeElement;
      if (!e || e === document.body) return { match: false, shown: true };
      const st = getComputedStyle(e);
      const shown = (st.outlineStyle !== 'none' && parseFloat(st.outlineWidth) >= 2) || st.boxShadow !== 'none';
      return { match: e.matches(s), shown, what: e.outerHTML.slice(0, 80) };
    }, selector);
    assert.ok(at.shown, `no visible focus on ${at.what} (${page.url()})`);
    if (at.match) return;
  }
  const at = await page.evaluate(() => document.activeElement?.outerHTML.slice(0, 120));
  assert.fail(`${selector} not reached with Tab on ${page.url()} (focus on ${at})`);
}

describe('keyboard only, autofill, no WebAuthn, no JavaScript', { timeout: 240000 }, () => {
  const people = makePeople(2);
  let srv;
  let rp;
  let client;
  let browser;

  before(async () => {
    srv = await startServer({ people });
    rp = await startCallback(await freePort());
    const reg = await srv.addClient({ id: 'rp-keys', redirectUris: [rp.redirectUri], auth: 'client_secret_basic' });
    client = { client_id: reg.client_id, redirectUri: rp.redirectUri };
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close().catch(() => {});
    await rp?.close();
    await srv?.stop();
  });

  test('Tab and Enter from the authorize URL to the RP, twice', { timeout: 120000 }, async () => {
    const context = await browser.newContext(); // the real CSP applies here
    context.setDefaultTimeout(20000);
    const page = await context.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    page.on('console', (m) => {
      if (m.type() === 'error' && !(m.location().url ?? '').endsWith('/favicon.ico')) errors.push(m.text());
    });
    // Chromium's virtual authenticator answers a conditional (autofill) request
    // by itself at once; a person has to pick the passkey. Turn the autofill
    // offer off here to sign in with the button; the next test covers autofill.
    await page.addInitScript(() => {
      if (window.PublicKeyCredential) PublicKeyCredential.isConditionalMediationAvailable = () => Promise.resolve(false);
    });
    const { cdp, authenticatorId } = await addAuthenticator(context, page);
    const atRp = (u) => `${u.origin}${u.pathname}` === rp.redirectUri;
    const onPath = (p) => (u) => u.origin === srv.issuer && u.pathname === p;

    const first = authRequest(srv, client);
    await page.goto(first.url.href);
    await page.waitForURL(onPath('/login'));
    await tabTo(page, 'a[href^="/enrol?"]');
    await page.keyboard.press('Enter');
    await page.waitForURL(onPath('/enrol'));
    await tabTo(page, 'a[href^="/enrol/code?"]');
    await page.keyboard.press('Enter');
    await page.waitForURL(onPath('/enrol/code'));
    await tabTo(page, '#code');
    await page.keyboard.type(await srv.invite(people[0].person_number));
    await Promise.all([page.waitForNavigation(), page.keyboard.press('Enter')]);
    await page.locator('#passkey-create').waitFor();
    await tabTo(page, '#passkey-create');
    await page.keyboard.press('Enter');
    await page.waitForURL(atRp, { timeout: 30000 });
    assert.equal(new URL(page.url()).searchParams.get('state'), first.state, 'back at the RP with the state');
    assert.ok(new URL(page.url()).searchParams.get('code'), 'with a code');

    await context.clearCookies(); // a new visit; the passkey stays in the authenticator
    const second = authRequest(srv, client);
    await page.goto(second.url.href);
    await page.waitForURL(onPath('/login'));
    await tabTo(page, '#passkey-login');
    await page.keyboard.press('Enter');
    await page.waitForURL(atRp, { timeout: 30000 });
    assert.equal(new URL(page.url()).searchParams.get('state'), second.state, 'signed in again by keyboard');

    // Autofill (conditional mediation): a page whose browser offers the passkey
    // in the field; the virtual authenticator picks it, with no key pressed.
    const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
    assert.equal(credentials.length, 1, 'one passkey');
    await context.clearCookies();
    const auto = await context.newPage();
    auto.on('pageerror', (e) => errors.push(String(e)));
    const other = await addAuthenticator(context, auto);
    await other.cdp.send('WebAuthn.addCredential', { authenticatorId: other.authenticatorId, credential: credentials[0] });
    const third = authRequest(srv, client);
    await auto.goto(third.url.href);
    await auto.waitForURL(atRp, { timeout: 30000 });
    assert.equal(new URL(auto.url()).searchParams.get('state'), third.state, 'signed in from the autofill');
    await context.close();
    assert.deepEqual(errors, [], 'no script or CSP errors');
  });
  test('a browser without WebAuthn gets an explanation and the way on, not a dead button', async () => {
    const context = await browser.newContext({ bypassCSP: true });
    await context.addInitScript(() => {
      delete window.PublicKeyCredential;
    });
    const page = await context.newPage();
    const { url } = authRequest(srv, client);
    await page.goto(url.href);
    await page.waitForURL((u) => u.pathname === '/login');
    await page.waitForLoadState('load');
    assert.equal(await page.locator('#passkey-login').isVisible(), false, 'no passkey button');
    const help = page.locator('[data-unsupported]');
    assert.equal(await help.isVisible(), true, 'the explanation is shown');
    assert.match(await help.textContent(), /helpdesk/i, 'it names the helpdesk');
    assert.equal(await page.locator('[data-autofill]').isVisible(), false, 'no autofill field');
    const violations = await axeViolations(page);
    assert.deepEqual(violations, [], 'axe-core on the page without WebAuthn');
    await context.close();
  });

  test('without JavaScript every page works up to the passkey step', async () => {
    const context = await browser.newContext({ javaScriptEnabled: false });
    context.setDefaultTimeout(20000);
    const page = await context.newPage();
    const { url } = authRequest(srv, client);
    await page.goto(url.href);
    await page.waitForURL((u) => u.pathname === '/login');
    await Promise.all([page.waitForNavigation(), page.locator('a[href^="/enrol?"]').click()]);
    await Promise.all([page.waitForNavigation(), page.locator('a[href^="/enrol/code?"]').click()]);
    await page.locator('#code').fill('ABCD-2345');
    await Promise.all([page.waitForNavigation(), page.locator('#code').press('Enter')]);
    const first = await page.evaluate(() => document.querySelector('main').firstElementChild?.id);
    assert.equal(first, 'error-summary', 'without JS the error summary is first in main');
    await page.locator('#code').fill(await srv.invite(people[1].person_number));
    await Promise.all([page.waitForNavigation(), page.locator('#code').press('Enter')]);
    assert.equal(await page.locator('#passkey-create').count(), 1, 'the passkey step is reached');
    assert.equal(await page.locator('noscript').count() > 0, true, 'it explains that passkeys need JavaScript');
    await context.close();
  });
});
