// Debian's Firefox ESR (firefox-esr) in the tests, next to Chromium.
//
// Firefox is driven by puppeteer-core over WebDriver BiDi. The passkey comes
// from Firefox's own virtual authenticator (CTAP2, internal, resident keys,
// user verification), which only the WebDriver-classic WebAuthn extension
// commands reach: they are sent over Marionette, Firefox's own WebDriver
// port, by the small client below. Firefox holds one WebDriver session at a
// time, so the Marionette session adds the authenticator and ends, and then
// puppeteer opens its BiDi session; the authenticator belongs to the browser
// and stays. The pref security.webauth.webauthn_enable_softtoken routes
// WebAuthn requests to the virtual authenticators instead of USB tokens.
//
// Three browsers: one with WebAuthn (every page of the journey without
// console errors, CSP violations or failed requests; enrolment and sign-in to
// the RP with a code), one with WebAuthn turned off (the explanation and the
// assisted path instead of the button), one with JavaScript off, driven over
// Marionette alone (the forms up to the passkey step).
//
// playwright-core 1.65 is not used for Firefox: its BiDi Firefox channel
// sends emulation.setMediaFeaturesOverride, which Firefox ESR 153 does not
// know. puppeteer-core stays on 24.x, the last line that runs on Node 20. FIREFOX_PATH overrides /usr/bin/firefox-esr; a
// missing Firefox fails the suite (tests/run.sh installs it).

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import puppeteer from 'puppeteer-core';
import { startServer, makePeople, freePort } from '../lib/server.mjs';
import { startCallback } from '../lib/pages.mjs';
import { authRequest, discovery, exchange } from '../lib/flows.mjs';

const FIREFOX = process.env.FIREFOX_PATH || '/usr/bin/firefox-esr';
const STEP_MS = 20000;

// A Marionette client: "LEN:JSON" frames; a command is [0, id, name, params],
// its answer [1, id, error, result]. The server greets first.
class Marionette {
  static async connect(port) {
    const m = new Marionette();
    m.sock = net.connect(port, '127.0.0.1');
    m.buf = Buffer.alloc(0);
    m.id = 0;
    m.waiting = new Map();
    const greeted = new Promise((resolve) => (m.greet = resolve));
    m.sock.on('data', (d) => m.onData(d));
    m.sock.on('error', (e) => {
      for (const w of m.waiting.values()) w.reject(e);
      m.waiting.clear();
    });
    await greeted;
    return m;
  }

  onData(d) {
    this.buf = Buffer.concat([this.buf, d]);
    for (;;) {
      const colon = this.buf.indexOf(0x3a);
      if (colon < 0) return;
      const len = Number(this.buf.subarray(0, colon).toString());
      if (this.buf.length < colon + 1 + len) return;
      const msg = JSON.parse(this.buf.subarray(colon + 1, colon + 1 + len).toString());
      this.buf = this.buf.subarray(colon + 1 + len);
      if (!Array.isArray(msg)) {
        this.greet(msg);
        continue;
      }
      const [, id, err, result] = msg;
      const w = this.waiting.get(id);
      this.waiting.delete(id);
      if (err) w?.reject(new Error(`Marionette: ${err.error}: ${err.message}`));
      else w?.resolve(result);
    }
  }

  send(name, params = {}) {
    const id = ++this.id;
    const body = Buffer.from(JSON.stringify([0, id, name, params]));
    this.sock.write(Buffer.concat([Buffer.from(`${body.length}:`), body]));
    return new Promise((resolve, reject) => this.waiting.set(id, { resolve, reject }));
  }

  close() {
    this.sock.destroy();
  }
}

async function waitUntil(what, fn, ms = STEP_MS) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`gave up waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

// Starts Firefox headless with PREFS in a fresh profile. With AUTHENTICATOR,
// adds a virtual authenticator over Marionette first. Resolves
// { browser, version, close() } (puppeteer over BiDi), or with MARIONETTE
// { marionette, close() } (the Marionette session stays, and is the one).
async function launchFirefox({ prefs = {}, authenticator = false, marionette = false } = {}) {
  assert.ok(fs.existsSync(FIREFOX), `Firefox not found at ${FIREFOX} (apt-get install firefox-esr, or set FIREFOX_PATH)`);
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'wp-firefox-'));
  const all = {
    'browser.shell.checkDefaultBrowser': false,
    'browser.startup.homepage_override.mstone': 'ignore',
    'datareporting.policy.dataSubmissionEnabled': false,
    'toolkit.telemetry.reportingpolicy.firstRun': false,
    'app.update.disabledForTesting': true,
    'network.http.http3.enable': false,
    'marionette.port': 0, // the chosen port is written to MarionetteActivePort
    ...prefs,
  };
  fs.writeFileSync(
    path.join(profile, 'user.js'),
    Object.entries(all)
      .map(([k, v]) => `user_pref(${JSON.stringify(k)}, ${JSON.stringify(v)});\n`)
      .join(''),
  );
  const args = ['--headless', '--remote-debugging-port=0', '--no-remote', '--profile', profile];
  if (authenticator || marionette) args.push('--marionette');
  const child = spawn(FIREFOX, [...args, 'about:blank'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, MOZ_CRASHREPORTER_DISABLE: '1' },
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const close = async () => {
    child.kill('SIGTERM');
    await exited;
    fs.rmSync(profile, { recursive: true, force: true });
  };
  try {
    const ws = await new Promise((resolve, reject) => {
      let log = '';
      const timer = setTimeout(() => reject(new Error(`Firefox did not start:\n${log}`)), 30000);
      const onData = (d) => {
        log += d;
        const m = log.match(/WebDriver BiDi listening on (ws:\/\/\S+)/);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]);
        }
      };
      child.stdout.on('data', onData);
      child.stderr.on('data', onData);
      child.once('exit', (code) => reject(new Error(`Firefox exited with ${code}:\n${log}`)));
    });
    if (authenticator || marionette) {
      const portFile = path.join(profile, 'MarionetteActivePort');
      const port = await waitUntil('MarionetteActivePort', () => fs.existsSync(portFile) && Number(fs.readFileSync(portFile, 'utf8')));
      const mn = await Marionette.connect(port);
      if (marionette) {
        await mn.send('WebDriver:NewSession', { capabilities: {} });
        return { marionette: mn, close: async () => (mn.close(), close()) };
      }
      try {
        await mn.send('WebDriver:NewSession', { capabilities: { alwaysMatch: { 'webauthn:virtualAuthenticators': true } } });
        await mn.send('WebAuthn:AddVirtualAuthenticator', {
          protocol: 'ctap2',
          transport: 'internal',
          hasResidentKey: true,
          hasUserVerification: true,
          isUserVerified: true,
        });
        await mn.send('WebDriver:DeleteSession');
      } finally {
        mn.close();
      }
    }
    const browser = await puppeteer.connect({ browserWSEndpoint: `${ws}/session`, protocol: 'webDriverBiDi' });
    const version = await browser.version();
    return {
      browser,
      version,
      close: async () => {
        await browser.disconnect().catch(() => {});
        await close();
      },
    };
  } catch (e) {
    await close();
    throw e;
  }
}

// Watches PAGE: console errors, uncaught errors, CSP violations (a
// securitypolicyviolation listener put in every document before its
// scripts), failed requests and subresources answered >= 400.
async function watch(page) {
  const problems = [];
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e?.message ?? e}`));
  // Firefox asks for /favicon.ico by itself (the pages link no icon), and drops
  // that request when the next page comes: neither is the page's.
  const own = (u) => new URL(u).pathname !== '/favicon.ico';
  page.on('requestfailed', (r) => {
    if (own(r.url())) problems.push(`failed: ${r.url()} ${r.failure()?.errorText ?? ''}`);
  });
  page.on('response', (r) => {
    if (own(r.url()) && !r.request().isNavigationRequest() && r.status() >= 400) problems.push(`${r.status()}: ${r.url()}`);
  });
  await page.evaluateOnNewDocument(() => {
    window.__wpCsp = [];
    document.addEventListener('securitypolicyviolation', (e) => window.__wpCsp.push(`${e.violatedDirective} ${e.blockedURI}`));
  });
  // Problems so far, with the CSP violations of the current document.
  return async () => {
    const csp = await page.evaluate(() => window.__wpCsp ?? ['no CSP listener']);
    return [...problems.splice(0), ...csp.map((v) => `CSP: ${v}`)];
  };
}

// Loads URL and waits for the document. Returns its HTTP status.
async function visit(page, url) {
  const res = await page.goto(url, { waitUntil: 'load', timeout: STEP_MS });
  return res?.status();
}

async function clickAndLoad(page, selector) {
  const [res] = await Promise.all([page.waitForNavigation({ waitUntil: 'load', timeout: STEP_MS }), page.click(selector)]);
  return res?.status();
}

const visible = (page, selector) =>
  page.evaluate((s) => {
    const el = document.querySelector(s);
    return !!el && !el.hidden && !el.closest('[hidden]') && getComputedStyle(el).display !== 'none';
  }, selector);

describe('Firefox ESR (puppeteer-core over WebDriver BiDi)', { timeout: 120000 }, () => {
  const people = makePeople(3);
  let srv;
  let rp;
  let client;
  let meta;

  before(async () => {
    srv = await startServer({ people });
    rp = await startCallback(await freePort());
    const reg = await srv.addClient({ id: 'rp-firefox', redirectUris: [rp.redirectUri], auth: 'client_secret_basic' });
    client = { client_id: reg.client_id, client_secret: reg.client_secret, redirectUri: rp.redirectUri };
    meta = await discovery(srv.issuer);
  });

  after(async () => {
    await rp?.close();
    await srv?.stop();
  });

  test('every page loads clean; enrol with a code, create a passkey, sign in with it', { timeout: 90000 }, async () => {
    const ff = await launchFirefox({
      authenticator: true,
      prefs: {
        'security.webauth.webauthn_enable_softtoken': true,
        'security.webauth.webauthn_enable_usbtoken': false,
      },
    });
    try {
      assert.match(ff.version, /firefox\/\d+/i, 'the browser is Firefox');
      const page = await ff.browser.newPage();
      const problems = await watch(page);
      const at = (p) => `${srv.issuer}${p}`;
      const clean = async (name) => assert.deepEqual(await problems(), [], `${name}: no console error, CSP violation or failed request`);

      // The detector itself: an inline script is refused by the CSP and reported.
      const start = authRequest(srv, client);
      assert.equal(await visit(page, start.url.href), 200);
      assert.equal(new URL(page.url()).pathname, '/login');
      await page.evaluate(() => {
        const s = document.createElement('script');
        s.textContent = 'window.__inline = 1';
        document.body.append(s);
      });
      await waitUntil('the CSP report', () => page.evaluate(() => window.__wpCsp.length > 0));
      assert.equal(await page.evaluate(() => window.__inline), undefined, 'the inline script did not run');
      assert.match((await problems()).join('\n'), /CSP: script-src/, 'a CSP violation is seen');

      // Every page of the journey.
      const flow = new URL(page.url()).searchParams.get('flow');
      assert.equal(await visit(page, page.url()), 200);
      assert.equal(await visible(page, '#passkey-login'), true, 'the passkey button is offered');
      assert.equal(await visible(page, '[data-unsupported]'), false, 'no "unsupported" notice');
      await clean('login');

      assert.equal(await clickAndLoad(page, 'nav.langs a[hreflang="nl"]'), 200);
      assert.equal(await page.evaluate(() => document.documentElement.lang), 'nl', 'the switcher changes the language');
      assert.equal(new URL(page.url()).pathname, '/login', 'and goes back to the same page');
      await clean('language switch');
      assert.equal(await clickAndLoad(page, 'nav.langs a[hreflang="en"]'), 200);
      assert.equal(await page.evaluate(() => document.documentElement.lang), 'en');

      for (const [p, sel] of [
        ['/enrol', 'a[href^="/enrol/code?"]'],
        ['/enrol/diploma', '[name=person_number]'],
        ['/enrol/code', '[name=code]'],
        ['/recover', 'main'],
        ['/recover/code', 'main'],
      ]) {
        assert.equal(await visit(page, at(`${p}?flow=${flow}`)), 200, `${p} answers 200`);
        assert.ok(await page.$(sel), `${p} has ${sel}`);
        await clean(p);
      }
      assert.equal(await visit(page, at('/account')), 401, 'account without a session: not signed in');
      await clean('account, not signed in');
      assert.equal(await visit(page, at('/login')), 400, 'login without a flow is an error page');
      assert.ok(await page.$('main h1'), 'the error page has a heading');
      await clean('error page');

      // Enrolment with a code from support staff, then the passkey.
      assert.equal(await visit(page, at(`/enrol/code?flow=${flow}`)), 200);
      await page.type('[name=code]', await srv.invite(people[0].person_number));
      await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), page.click('form:has([name=code]) button[type=submit]')]);
      assert.ok(await page.$('#passkey-create'), 'the code is accepted: #passkey-create');
      await clean('passkey step');
      await page.click('#passkey-create');
      const hit1 = await waitUntil('the RP callback after enrolment', () => rp.hits.find((h) => h.path === '/cb'));
      const back1 = new URLSearchParams(hit1.query);
      assert.equal(back1.get('error'), null, `no error: ${back1.get('error_description')}`);
      assert.equal(back1.get('state'), start.state, 'back at the RP with the state');
      assert.equal(back1.get('iss'), srv.issuer);
      const tok1 = await exchange(meta, { ...client, method: 'basic' }, back1.get('code'), start.verifier);
      assert.equal(tok1.status, 200, `the code is good at the token endpoint: ${JSON.stringify(tok1.json ?? tok1.text)}`);

      // The account page of the person just signed in, with the one passkey.
      assert.equal(await visit(page, at('/account')), 200, 'the account page');
      assert.equal(await page.$$eval('#passkeys tbody tr[data-credential]', (rows) => rows.length), 1, 'one passkey listed');
      await clean('account');

      // A new visit: the cookies go, the passkey stays in the authenticator.
      // The button path (Firefox offers autofill too; the button is what
      // everyone gets).
      await page.deleteCookie(...(await page.cookies(srv.issuer)));
      await page.evaluateOnNewDocument(() => {
        if (window.PublicKeyCredential) PublicKeyCredential.isConditionalMediationAvailable = () => Promise.resolve(false);
      });
      const again = authRequest(srv, client);
      rp.hits.length = 0;
      assert.equal(await visit(page, again.url.href), 200);
      assert.equal(new URL(page.url()).pathname, '/login', 'a new sign-in starts at /login');
      await page.click('#passkey-login');
      const hit2 = await waitUntil('the RP callback after sign-in', () => rp.hits.find((h) => h.path === '/cb'));
      const back2 = new URLSearchParams(hit2.query);
      assert.equal(back2.get('state'), again.state, 'signed in with the passkey, back at the RP');
      const tok2 = await exchange(meta, { ...client, method: 'basic' }, back2.get('code'), again.verifier);
      assert.equal(tok2.status, 200);
      const sub = (t) => JSON.parse(Buffer.from(t.json.id_token.split('.')[1], 'base64url')).sub;
      assert.equal(sub(tok2), sub(tok1), 'the same person');
      assert.deepEqual(await problems(), [], 'no errors during the ceremonies');
    } finally {
      await ff.close();
    }
  });

  test('with WebAuthn turned off: the explanation and the assisted path, no dead button', { timeout: 60000 }, async () => {
    const ff = await launchFirefox({ prefs: { 'security.webauth.webauthn': false } });
    try {
      const page = await ff.browser.newPage();
      const problems = await watch(page);
      const { url } = authRequest(srv, client);
      assert.equal(await visit(page, url.href), 200);
      assert.equal(await page.evaluate(() => typeof window.PublicKeyCredential), 'undefined', 'the pref removed WebAuthn');
      assert.equal(await visible(page, '#passkey-login'), false, 'no passkey button');
      assert.equal(await visible(page, '[data-unsupported]'), true, 'the explanation is shown');
      assert.match(await page.$eval('[data-unsupported]', (e) => e.textContent), /helpdesk/i, 'it names the helpdesk');
      assert.ok(await page.$('a[href^="/enrol?"]'), 'the way to enrol (and the assisted path) is there');
      assert.deepEqual(await problems(), [], 'no errors');
    } finally {
      await ff.close();
    }
  });

  // Marionette here: with javascript.enabled off, puppeteer's BiDi clicks never
  // return in Firefox 153 (and BiDi's emulation.setScriptingEnabled is not there
  // yet); WebDriver-classic clicks and keys work.
  test('without JavaScript the forms work up to the passkey step', { timeout: 60000 }, async () => {
    const ff = await launchFirefox({ marionette: true, prefs: { 'javascript.enabled': false } });
    const mn = ff.marionette;
    const find = async (css) => Object.values((await mn.send('WebDriver:FindElement', { using: 'css selector', value: css })).value)[0];
    const count = async (css) => (await mn.send('WebDriver:FindElements', { using: 'css selector', value: css })).length;
    const click = async (css) => mn.send('WebDriver:ElementClick', { id: await find(css) });
    const type = async (css, text) => {
      const id = await find(css);
      await mn.send('WebDriver:ElementClear', { id });
      await mn.send('WebDriver:ElementSendKeys', { id, text });
    };
    const where = async () => new URL((await mn.send('WebDriver:GetCurrentURL')).value).pathname;
    try {
      const { url } = authRequest(srv, client);
      await mn.send('WebDriver:Navigate', { url: url.href });
      assert.equal(await where(), '/login');
      assert.equal(await count('noscript'), 1, 'the login page explains that passkeys need JavaScript');
      await click('a[href^="/enrol?"]');
      assert.equal(await where(), '/enrol');
      await click('a[href^="/enrol/code?"]');
      assert.equal(await where(), '/enrol/code');
      await type('#code', 'ABCD-2345');
      await click('form:has(#code) button[type=submit]');
      assert.equal(await count('#error-summary'), 1, 'a wrong code is refused, with an error summary');
      assert.equal(await count('#passkey-create'), 0);
      await type('#code', await srv.invite(people[1].person_number));
      await click('form:has(#code) button[type=submit]');
      assert.equal(await count('#error-summary'), 0, 'the code is accepted');
      assert.equal(await count('#passkey-create'), 1, 'the passkey step is reached');
      assert.equal(await count('noscript'), 1, 'it explains that passkeys need JavaScript');
    } finally {
      await ff.close();
    }
  });
});
