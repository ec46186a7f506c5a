// Issue 5 in a real browser: Debian's Chromium via playwright-core, three separate
// browser contexts each with its own CDP virtual authenticator: a person, a support
// member and a supervisor. Staff register their console passkeys with `staff add` codes;
// the support member enrols the person after assisted proofing; later the person loses
// their device, support opens a recovery case, the supervisor approves it (the support
// member cannot), the person recovers on a new device, and the old passkey is refused.
// Screenshots go to tests/e2e/out/support-*.png.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { startServer, makePeople, freePort } from '../lib/server.mjs';
import { authRequest } from '../lib/flows.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const OUT = path.join(here, 'out');
const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const STEP_MS = 15000;

describe('support console and recovery in a real browser', { timeout: 300000 }, () => {
  const people = makePeople(3);
  let srv;
  let browser;
  let client;
  let rpServer; // answers the RP callback with a plain page
  const actors = [];

  // A fresh browser context with its own virtual authenticator.
  async function actor(name) {
    const context = await browser.newContext();
    context.setDefaultTimeout(STEP_MS);
    const page = await context.newPage();
    const cdp = await context.newCDPSession(page);
    await cdp.send('WebAuthn.enable');
    const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
      options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true },
    });
    const errors = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    const a = { name, context, page, cdp, authenticatorId, errors, shot: (n) => page.screenshot({ path: path.join(OUT, `support-${name}-${n}.png`), fullPage: true }) };
    actors.push(a);
    return a;
  }

  async function staffEnrol(a, role, name) {
    const r = await srv.run(['staff', 'add', '--name', name, '--role', role]);
    assert.equal(r.code, 0, r.stderr);
    const code = r.stdout.trim().split('\n').pop();
    await a.page.goto(`${srv.issuer}/support/`);
    await a.page.locator('#staff-enrol-link').click();
    await a.page.locator('#code').fill(code);
    await a.page.locator('button[type=submit]').click();
    await a.page.locator('#staff-passkey-create').click();
    await a.page.waitForURL((u) => u.pathname === '/support/');
    assert.ok((await a.page.textContent('main')).includes(name), 'signed in to the console');
  }

  async function openPerson(a, pn) {
    await a.page.goto(`${srv.issuer}/support/`);
    await a.page.locator('#person_number').fill(pn);
    await a.page.locator('#search-number button').click();
    await a.page.locator(`#results a[href*="${pn}"]`).click();
    await a.page.waitForURL((u) => u.pathname === '/support/person');
  }

  const atRp = (u) => u.pathname === '/cb';

  before(async () => {
    fs.mkdirSync(OUT, { recursive: true });
    srv = await startServer({ people });
    const port = await freePort();
    const reg = await srv.addClient({ id: 'rp-support', redirectUris: [`http://localhost:${port}/cb`], auth: 'client_secret_basic' });
    client = { ...reg, redirectUri: `http://localhost:${port}/cb` };
    rpServer = http.createServer((req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<!doctype html><html lang="en"><title>RP</title><h1 id="rp">RP reached</h1></html>');
    });
    await new Promise((resolve) => rpServer.listen(port, '127.0.0.1', resolve));
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      timeout: 30000,
    });
  });

  after(async () => {
    for (const a of actors) await a.context.close().catch(() => {});
    await browser?.close().catch(() => {});
    await new Promise((resolve) => (rpServer ? rpServer.close(resolve) : resolve()));
    await srv?.stop();
  });

  test('assisted enrolment, four-eyes recovery, old passkey refused', { timeout: 240000 }, async () => {
    const p = people[0];
    const support = await actor('support');
    const supervisor = await actor('supervisor');
    const person = await actor('person');
    await staffEnrol(support, 'support', 'Sam Support');
    await staffEnrol(supervisor, 'supervisor', 'Vera Supervisor');

    // Assisted enrolment: evidence recorded, code shown once.
    await openPerson(support, p.person_number);
    await support.page.locator('#e-doc').selectOption('passport');
    await support.page.locator('#e-country').fill('MA');
    await support.page.locator('#e-last4').fill('AB12');
    await support.page.locator('#issue-enrol-code').click();
    const enrolCode = (await support.page.locator('#issued-code').textContent()).trim();
    assert.match(enrolCode, /^[A-Z0-9]{4}-[A-Z0-9]{4}$/);
    await support.shot('01-enrol-code');

    // The person enrols with it and reaches the RP.
    await person.page.goto(authRequest(srv, client).url.href);
    await person.page.waitForURL((u) => u.pathname === '/login');
    await person.page.locator('a[href*="/enrol?"]').first().click();
    await person.page.locator('a[href*="/enrol/code?"]').first().click();
    await person.page.locator('#code').fill(enrolCode);
    await person.page.locator('button[type=submit]').click();
    await person.page.locator('#passkey-create').click();
    await person.page.waitForURL(atRp);

    // Support opens a recovery case after a verified video call; they cannot approve it.
    await openPerson(support, p.person_number);
    await support.page.locator('#r-reason').fill('Phone stolen, verified in a video call');
    await support.page.locator('#r-country').fill('MA');
    await support.page.locator('#r-last4').fill('AB12');
    await support.page.locator('#r-verified').check();
    await support.page.locator('#open-case-button').click();
    await support.page.locator('#notice').waitFor();
    assert.equal(await support.page.locator('button[name=approve]').count(), 0, 'no approve button for support');
    const caseId = await support.page.locator('[data-case]').first().getAttribute('data-case');
    const csrf = await support.page.locator('input[name=csrf]').first().inputValue();
    const wrongRole = await support.page.evaluate(async ([id, token]) => {
      const r = await fetch('/support/case/approve', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ csrf: token, case: id, delivery: 'read' }) });
      return { status: r.status, text: await r.text() };
    }, [caseId, csrf]);
    assert.equal(wrongRole.status, 403, 'wrong role refused');
    assert.match(wrongRole.text, /Only a supervisor/);
    await support.shot('02-case-opened');

    // The supervisor approves; the code is shown once to read out.
    await openPerson(supervisor, p.person_number);
    await supervisor.page.locator(`[data-case="${caseId}"] button[name=approve]`).click();
    const recoveryCode = (await supervisor.page.locator('#issued-code').textContent()).trim();
    assert.match(recoveryCode, /^[A-Z0-9]{4}-[A-Z0-9]{4}$/);
    await supervisor.shot('03-approved');

    // The person, on a new device, recovers and creates a new passkey.
    const newDevice = await actor('new-device');
    await newDevice.page.goto(authRequest(srv, client).url.href);
    await newDevice.page.waitForURL((u) => u.pathname === '/login');
    await newDevice.page.locator('a[href*="/recover?"]').click();
    await newDevice.page.locator('#recover-code-link').click();
    await newDevice.page.locator('#person_number').fill(p.person_number);
    await newDevice.page.locator('#code').fill(recoveryCode);
    await newDevice.page.locator('button[type=submit]').click();
    await newDevice.shot('04-recovered');
    await newDevice.page.locator('#passkey-create').click();
    await newDevice.page.waitForURL(atRp);

    // The old device's passkey is refused now.
    await person.context.clearCookies();
    await person.page.goto(authRequest(srv, client).url.href);
    await person.page.waitForURL((u) => u.pathname === '/login');
    await person.page.locator('#passkey-login').click();
    // The page's own message for the error code (catalog), not the server's description.
    const unknownMsg = JSON.parse(fs.readFileSync(path.join(here, '..', '..', 'templates', 'i18n', 'en', 'core.json'), 'utf8')).js_error_unknown;
    const said = person.page.locator('[data-status]').filter({ hasText: unknownMsg });
    await said.waitFor();
    assert.equal((await said.textContent()).trim(), unknownMsg);
    assert.equal(new URL(person.page.url()).pathname, '/login', 'stays on the login page');
    await person.shot('05-old-passkey-refused');

    // The new device signs in again; the audit chain is intact.
    await newDevice.context.clearCookies();
    await newDevice.page.goto(authRequest(srv, client).url.href);
    // The login page may start the ceremony by itself; click only if it has not.
    await newDevice.page.locator('#passkey-login').click({ timeout: 3000 }).catch(() => {});
    await newDevice.page.waitForURL(atRp);
    // The supervisor signs in to the console again with their passkey (a new browser session).
    await supervisor.context.clearCookies();
    await supervisor.page.goto(`${srv.issuer}/support/`);
    await supervisor.page.locator('#staff-login').click();
    await supervisor.page.locator('#search-number').waitFor();
    assert.ok((await supervisor.page.textContent('main')).includes('Vera Supervisor'), 'staff sign-in');
    const v = await srv.run(['audit', 'verify']);
    assert.equal(v.code, 0, v.stderr);
    // Every staff action is in the audit log, by the staff member who did it.
    const rows = execFileSync('sqlite3', [path.join(srv.dir, 'wp.db'), "SELECT DISTINCT event || '|' || actor FROM audit_log"])
      .toString().trim().split('\n');
    const byStaff = new Set(rows.filter((r) => r.includes('|staff:')).map((r) => r.split('|')[0]));
    for (const e of ['staff_passkey_registered', 'staff_signin', 'staff_search', 'staff_viewed_person', 'enrol_code_issued',
      'recovery_opened', 'recovery_approved']) {
      assert.ok(byStaff.has(e), `audit has ${e} by a staff member (has: ${[...byStaff].join(', ')})`);
    }
    for (const a of actors) assert.deepEqual(a.errors, [], `${a.name}: no script errors`);
  });
});
