// A real browser: Debian's Chromium driven by playwright-core, with a CDP
// virtual authenticator (CTAP2, internal, resident keys, user verification)
// in place of a person's phone or laptop. The RP is a tiny Node server in
// this test that uses openid-client. Screenshots go to tests/e2e/out/.
//
// Journey: RP start -> /login -> enrol -> code -> #passkey-create -> RP
// callback with claims -> /logout #logout -> RP start -> #passkey-login ->
// RP callback with the same sub.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as oidc from 'openid-client';
import { chromium } from 'playwright-core';
import { CHROMIUM_OPTIONS } from '../lib/pages.mjs';
import { startServer, makePeople, freePort } from '../lib/server.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const OUT = path.join(here, 'out');
const ACR_SUBSTANTIAL = 'http://eidas.europa.eu/NotNotified/LoA/substantial';
const STEP_MS = 15000;

function escapeHtml(s) {
  return String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

// A minimal RP: /start redirects to the provider, /cb exchanges the code and
// shows the claims in <pre id="claims"> (or the error in <pre id="error">).
async function startRp(issuer, clientId, clientSecret, port) {
  const redirectUri = `http://localhost:${port}/cb`;
  const config = await oidc.discovery(new URL(issuer), clientId, { redirect_uris: [redirectUri] }, oidc.ClientSecretBasic(clientSecret), {
    execute: [oidc.allowInsecureRequests],
    timeout: 10,
  });
  const pending = new Map(); // state -> { verifier, nonce }
  const logins = [];
  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url, `http://localhost:${port}`);
    try {
      if (url.pathname === '/start') {
        const verifier = oidc.randomPKCECodeVerifier();
        const state = oidc.randomState();
        const nonce = oidc.randomNonce();
        pending.set(state, { verifier, nonce });
        const to = oidc.buildAuthorizationUrl(config, {
          redirect_uri: redirectUri,
          scope: 'openid profile',
          state,
          nonce,
          code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
          code_challenge_method: 'S256',
        });
        res.writeHead(302, { location: to.href }).end();
        return;
      }
      if (url.pathname === '/cb') {
        const st = url.searchParams.get('state');
        const p = pending.get(st);
        if (!p) throw new Error(`unknown state ${st}`);
        pending.delete(st);
        const tokens = await oidc.authorizationCodeGrant(config, url, {
          pkceCodeVerifier: p.verifier,
          expectedState: st,
          expectedNonce: p.nonce,
          idTokenExpected: true,
        });
        const claims = tokens.claims();
        const info = await oidc.fetchUserInfo(config, tokens.access_token, claims.sub);
        logins.push({ claims, info });
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
        res.end(
          `<!doctype html><html lang="en"><title>RP signed in</title><h1 id="signed-in">Signed in</h1>` +
            `<p>Welcome, <span id="name">${escapeHtml(info.name ?? '')}</span></p>` +
            `<pre id="claims">${escapeHtml(JSON.stringify(claims, null, 2))}</pre>`,
        );
        return;
      }
      res.writeHead(404).end('not found');
    } catch (e) {
      res.writeHead(500, { 'content-type': 'text/html; charset=utf-8' });
      res.end(`<!doctype html><title>RP error</title><pre id="error">${escapeHtml(e?.stack ?? e)}\n${escapeHtml(JSON.stringify(e?.cause ?? null))}</pre>`);
    }
  });
  await new Promise((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    origin: `http://localhost:${port}`,
    redirectUri,
    logins,
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

describe('a real browser with a virtual authenticator', { timeout: 240000 }, () => {
  const people = makePeople(3);
  let srv;
  let rp;
  let context;
  let userDataDir;
  const summary = [];

  before(async () => {
    fs.mkdirSync(OUT, { recursive: true });
    srv = await startServer({ people });
    const rpPort = await freePort();
    const reg = await srv.addClient({ id: 'rp-browser', redirectUris: [`http://localhost:${rpPort}/cb`], auth: 'client_secret_basic' });
    rp = await startRp(srv.issuer, reg.client_id, reg.client_secret, rpPort);
    userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'wp-chromium-'));
    context = await chromium.launchPersistentContext(userDataDir, CHROMIUM_OPTIONS);
    context.setDefaultTimeout(STEP_MS);
    context.setDefaultNavigationTimeout(STEP_MS);
  });

  after(async () => {
    await context?.close().catch(() => {});
    if (userDataDir) fs.rmSync(userDataDir, { recursive: true, force: true });
    await rp?.close();
    if (summary.length) console.log(`browser journey:\n  ${summary.join('\n  ')}`);
    await srv?.stop();
  });

  test('enrol with a code, create a passkey, sign out, sign in with it', { timeout: 180000 }, async () => {
    const person = people[0];
    const code = await srv.invite(person.person_number);
    const page = context.pages()[0] ?? (await context.newPage());
    const consoleErrors = [];
    page.on('console', (m) => {
      if (m.type() !== 'error' || (m.location().url ?? '').endsWith('/favicon.ico')) return;
      consoleErrors.push(`${m.location().url}: ${m.text()}`);
    });
    page.on('pageerror', (e) => consoleErrors.push(String(e)));
    const shot = (name) => page.screenshot({ path: path.join(OUT, `${name}.png`), fullPage: true });

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

    const onProvider = (p) => (u) => u.origin === srv.issuer && u.pathname === p;
    const atRp = (u) => u.origin === rp.origin && u.pathname === '/cb';

    await page.goto(`${rp.origin}/start`);
    await page.waitForURL(onProvider('/login'));
    await shot('01-login');
    summary.push(`RP start -> ${new URL(page.url()).pathname}`);
    assert.equal(await page.locator('#passkey-login').count(), 1, '#passkey-login on the login page');

    await page.locator('a[href*="/enrol?"]').first().click();
    await page.waitForURL(onProvider('/enrol'));
    await shot('02-enrol');

    await page.locator('a[href*="/enrol/code?"]').first().click();
    await page.waitForURL(onProvider('/enrol/code'));
    await page.locator('[name=code]').fill(code);
    await shot('03-code');
    const form = page.locator('form', { has: page.locator('[name=code]') });
    await form.locator('button[type=submit], input[type=submit], button:not([type])').first().click();
    await page.locator('#passkey-create').waitFor();
    await shot('04-passkey-create');
    summary.push('code accepted, #passkey-create shown');

    await page.locator('#passkey-create').click();
    await page.waitForURL(atRp, { timeout: 30000 });
    await shot('05-rp-signed-in');
    const err1 = await page.locator('#error').textContent({ timeout: 1000 }).catch(() => null);
    assert.equal(err1, null, `RP callback failed: ${err1}`);
    const claims1 = JSON.parse(await page.locator('#claims').textContent());
    assert.equal(claims1.iss, srv.issuer);
    assert.equal(claims1.acr, ACR_SUBSTANTIAL);
    assert.ok(!('amr' in claims1));
    assert.equal(rp.logins.length, 1);
    assert.equal(rp.logins[0].info.family_name, person.family_name);
    summary.push(`passkey created, RP signed in, sub ${claims1.sub.slice(0, 12)}…`);

    const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
    assert.equal(credentials.length, 1, 'one credential in the virtual authenticator');
    assert.equal(credentials[0].isResidentCredential, true, 'a discoverable credential');
    assert.equal(credentials[0].rpId, 'localhost');

    await page.goto(`${srv.issuer}/logout`);
    await shot('06-logout');
    await page.locator('#logout').click();
    await page.waitForLoadState('load');
    await shot('07-signed-out');
    assert.equal(await page.locator('#logout').count(), 0, 'the signed-out page is another page');
    summary.push('signed out at /logout');

    // Chromium's virtual authenticator would answer the page's passkey-autofill request
    // by itself; a person picks the passkey. Test the button path here (a11y.test.mjs
    // tests the autofill path).
    await page.addInitScript(() => {
      if (window.PublicKeyCredential) PublicKeyCredential.isConditionalMediationAvailable = () => Promise.resolve(false);
    });
    await page.goto(`${rp.origin}/start`);
    await page.waitForURL(onProvider('/login'));
    await shot('08-login-again');
    await page.locator('#passkey-login').click();
    await page.waitForURL(atRp, { timeout: 30000 });
    await shot('09-rp-signed-in-again');
    const err2 = await page.locator('#error').textContent({ timeout: 1000 }).catch(() => null);
    assert.equal(err2, null, `RP callback failed: ${err2}`);
    const claims2 = JSON.parse(await page.locator('#claims').textContent());
    assert.equal(claims2.sub, claims1.sub, 'the same sub after signing in with the passkey');
    assert.notEqual(claims2.sid, claims1.sid, 'a new session after signing out');
    summary.push('signed in again with #passkey-login, same sub');

    assert.deepEqual(consoleErrors, [], 'no script errors in the pages');
  });
});
