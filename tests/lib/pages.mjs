// Every page and state a person can reach today, walked in a real browser
// (Debian's Chromium driven by playwright-core, with a CDP virtual
// authenticator). Shared by tests/e2e/a11y.test.mjs (axe-core, bytes, RTL,
// screenshots) and tests/bench/pages.mjs (timing under a slow network).
//
// const browser = await launchChromium();
// const rp = await startCallback(port);          // the RP's redirect_uri
// await walkPages(page, { srv, client, rp, person, diplomaPerson, visit });
//
// visit(name, { page, loaded }) is called once the page of each state has
// loaded (loaded === false: for the form_post page, whose load event never
// fires because its script submits the form at once; the RP is blocked).

import http from 'node:http';
import { chromium } from 'playwright-core';
import { authRequest } from './flows.mjs';

export const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
export const LANGS = ['en', 'nl', 'de', 'fr', 'es', 'tr', 'ar', 'zh-Hans', 'pap'];
export const LIMITS = '[limits]\nenrol_code_attempts = 2\nfail_per_ip = 100000\n';
const STEP_MS = 20000;

// How every test launches Debian's Chromium: headless, quiet, no network of its own.
export const CHROMIUM_OPTIONS = {
  executablePath: CHROMIUM,
  headless: true,
  args: [
    '--headless=new',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
  ],
  timeout: 30000,
};

// Launches headless Chromium. Close with browser.close().
export function launchChromium() {
  return chromium.launch(CHROMIUM_OPTIONS);
}

// A tiny RP: answers the redirect_uri (GET or POST /cb) with a small page.
// Resolves { origin, redirectUri, hits, close() }.
export async function startCallback(port) {
  const hits = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      const url = new URL(req.url, `http://localhost:${port}`);
      hits.push({ method: req.method, path: url.pathname, query: url.search, body });
      if (url.pathname !== '/cb') {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end('<!doctype html><html lang="en"><title>RP</title><h1 id="rp-signed-in">Back at the service</h1>');
    });
  });
  await new Promise((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    origin: `http://localhost:${port}`,
    redirectUri: `http://localhost:${port}/cb`,
    hits,
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

// Adds a CTAP2 platform authenticator with resident keys and user
// verification to PAGE (it answers every ceremony by itself).
export async function addAuthenticator(context, page) {
  const cdp = await context.newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2',
      transport: 'internal',
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
    },
  });
  return { cdp, authenticatorId };
}

// Clicks the submit button of the form holding FIELD (or the only form).
export async function submitForm(page, field) {
  const form = field ? page.locator('form', { has: page.locator(`[name=${field}]`) }) : page.locator('form');
  await Promise.all([page.waitForNavigation(), form.locator('button[type=submit]').first().click()]);
}

// Starts a journey of CLIENT in PAGE; returns the flow id of /login.
export async function authorize(page, srv, client, extra) {
  const { url } = authRequest(srv, client, extra);
  await page.goto(url.href);
  await page.waitForURL((u) => u.pathname === '/login', { timeout: STEP_MS });
  return new URL(page.url()).searchParams.get('flow');
}

// Walks every page and state: login, recovery, enrolment (choices, diploma
// with errors and sent, code empty / wrong / locked, passkey step), the RP
// return, account (plus adding a passkey), form_post, logout, signed out,
// error pages, accessibility statement. ENV: { srv, client: { client_id,
// redirectUri }, rp, person, diplomaPerson, visit(name, ctx) }.
export async function walkPages(page, env) {
  const { srv, client, rp, person, diplomaPerson, visit } = env;
  const issuer = srv.issuer;
  const at = (p) => `${issuer}${p}`;

  const flow = await authorize(page, srv, client);
  await visit('login', { page });
  await page.goto(at(`/recover?flow=${flow}`));
  await visit('recover', { page });
  await page.goto(at(`/recover/code?flow=${flow}`));
  await visit('recover-code', { page });
  await page.goto(at(`/enrol?flow=${flow}`));
  await visit('enrol', { page });

  await page.goto(at(`/enrol/diploma?flow=${flow}`));
  await visit('diploma', { page });
  if ((await page.locator('[name=person_number]').count()) > 0) {
    await submitForm(page, 'person_number');
    await visit('diploma-errors', { page });
    if (diplomaPerson) {
      await page.locator('[name=person_number]').fill(diplomaPerson.person_number);
      await page.locator('[name=birthdate]').fill(diplomaPerson.birthdate);
      await page.locator('[name=diploma_date]').fill(diplomaPerson.diploma_date.slice(0, 7));
      await submitForm(page, 'person_number');
      await visit('diploma-sent', { page });
    }
  }

  await page.goto(at(`/enrol/code?flow=${flow}`));
  await visit('code', { page });
  await page.locator('[name=code]').fill('ABCD-2345');
  await submitForm(page, 'code');
  await visit('code-error', { page });

  // A second flow, locked by wrong codes (enrol_code_attempts = 2 in LIMITS).
  const locked = await authorize(page, srv, client);
  await page.goto(at(`/enrol/code?flow=${locked}`));
  for (let i = 0; i < 2; i++) {
    await page.locator('[name=code]').fill('ABCD-2345');
    await submitForm(page, 'code');
  }
  await visit('code-locked', { page });

  // The real enrolment on the first flow.
  await page.goto(at(`/enrol/code?flow=${flow}`));
  await page.locator('[name=code]').fill(await srv.invite(person.person_number));
  await submitForm(page, 'code');
  await page.locator('#passkey-create').waitFor();
  await visit('passkey-create', { page });
  await page.locator('#passkey-create').click();
  await page.waitForURL((u) => u.origin === rp.origin, { timeout: STEP_MS });

  await page.goto(at('/account'));
  await visit('account', { page });
  if ((await page.locator('#passkey-add-start').count()) > 0) {
    await Promise.all([page.waitForNavigation(), page.locator('#passkey-add-start').click()]);
    await visit('account-add', { page });
  }

  // form_post: with a session the provider answers at once with the
  // self-submitting form; the RP is blocked so that the page stays.
  let blocked;
  const submitted = new Promise((resolve) => (blocked = resolve));
  const blockRp = (route) => route.abort('aborted').then(blocked);
  await page.route(`${rp.origin}/**`, blockRp);
  const { url } = authRequest(srv, client, { response_mode: 'form_post' });
  await page.goto(url.href, { waitUntil: 'commit' });
  await page.locator('form[data-autosubmit]').waitFor();
  await submitted;
  await visit('form-post', { page, loaded: false });
  await page.unroute(`${rp.origin}/**`, blockRp);

  await page.goto(at('/logout'));
  await visit('logout', { page });
  await Promise.all([page.waitForNavigation(), page.locator('#logout').click()]);
  await visit('signed-out', { page });

  await page.goto(at('/login'));
  await visit('error', { page });
  await page.goto(at('/accessibility'));
  await visit('accessibility', { page });
}
