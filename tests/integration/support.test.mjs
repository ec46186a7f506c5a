// Issue 5 over real HTTP with software authenticators: /account (list, rename, add a
// second passkey, remove with a warning for the last, sign out everywhere, CSRF), the
// support console (staff enrolment with `staff add`, staff sign-in, person search and
// page, assisted enrolment with evidence), recovery with four-eyes approval (wrong role
// and self-approval refused, cooling-off, expired code), the old passkey refused after
// recovery, and `audit verify` (intact, then a tampered entry found).

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { startServer, makePeople } from '../lib/server.mjs';
import { Walker, formWith, forms, hasId } from '../lib/browserless.mjs';
import { SoftAuthenticator } from '../lib/softauthn.mjs';
import http from 'node:http';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { authRequest, checkRedirect, discovery, enrolWithInvite, exchange, signInWithPasskey } from '../lib/flows.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const lastLine = (s) => s.trim().split('\n').pop().trim();

// Submits the form of PAGE (html) that has FIELD (or the given form), with VALUES added.
async function submit(walker, pageUrl, html, field, values = {}, pick) {
  const form = pick ? forms(html).find(pick) : formWith(html, field);
  assert.ok(form, `a form with ${field} on ${pageUrl}`);
  const action = new URL(form.attrs.action ?? pageUrl, new URL(pageUrl, walker.issuer));
  return walker.postForm(action, { ...form.hidden, ...values });
}

// Adds a staff member and registers their passkey; returns { walker, auth, id }.
async function addStaff(srv, name, role) {
  const r = await srv.run(['staff', 'add', '--name', name, '--role', role]);
  assert.equal(r.code, 0, r.stderr);
  const code = lastLine(r.stdout);
  assert.match(code, /^[A-Z0-9]{4}-[A-Z0-9]{4}$/);
  const walker = new Walker(srv.issuer);
  const auth = new SoftAuthenticator({ origin: srv.issuer });
  const page = await walker.get('/support/enrol');
  assert.equal(page.status, 200);
  const ready = await submit(walker, '/support/enrol', page.text, 'code', { code });
  assert.equal(ready.status, 200, ready.text.slice(0, 400));
  assert.ok(hasId(ready.text, 'staff-passkey-create'), 'code accepted, passkey step shown');
  const opts = await walker.postJSON('/support/webauthn/register/options', {});
  assert.equal(opts.status, 200, opts.text);
  const res = await walker.postJSON('/support/webauthn/register/verify', { credential: auth.create(opts.json) });
  assert.equal(res.status, 200, res.text);
  assert.equal(res.json.next, '/support/');
  const home = await walker.get('/support/');
  assert.ok(home.text.includes(name), 'console shows who is signed in');
  // The code was single use.
  const again = await new Walker(srv.issuer).get('/support/enrol');
  const w2 = new Walker(srv.issuer);
  const p2 = await w2.get('/support/enrol');
  const reuse = await submit(w2, '/support/enrol', p2.text, 'code', { code });
  assert.equal(reuse.status, 400, 'a staff code works once');
  assert.equal(again.status, 200);
  return { walker, auth, name };
}

describe('issue 5: account, support console, recovery, audit', { timeout: 600000 }, () => {
  const people = makePeople(8);
  let srv;
  let rp;
  let person; // enrolled person: { walker, authenticator }
  let support;
  let supervisor;
  let supervisor2;

  // A relying party that registered for back-channel logout: it records what it is sent.
  const receiver = { got: [], server: null, port: 0 };

  before(async () => {
    receiver.server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (d) => (body += d));
      req.on('end', () => {
        receiver.got.push({ path: req.url, body });
        res.writeHead(200).end();
      });
    });
    await new Promise((r) => receiver.server.listen(0, '127.0.0.1', r));
    receiver.port = receiver.server.address().port;
    srv = await startServer({ people, config: '[limits]\nrecovery_cooling_off = 3600\n' });
    const c = await srv.addClient({ id: 'rp-five', redirectUris: ['https://rp-five.example.test/cb'], auth: 'client_secret_basic' });
    rp = { ...c, redirectUri: 'https://rp-five.example.test/cb' };
    person = await enrolWithInvite(srv, { authorizeUrl: authRequest(srv, rp).url, person: people[0] });
  });

  after(async () => {
    await srv?.stop();
    receiver.server?.close();
  });

  test('/account lists, renames, adds and removes passkeys, with CSRF', async () => {
    const w = person.walker;
    let page = await w.get('/account');
    assert.equal(page.status, 200, page.text.slice(0, 300));
    assert.ok(hasId(page.text, 'passkeys'));
    // Without a cookie or ui_locales the page follows the person's register language (nl).
    assert.match(page.text, /<html[^>]* lang="nl"/, 'the saved language of the person');
    assert.ok(page.text.includes('Nog niet ingelogd.'), 'enrolment is not a sign-in');
    const cred = page.text.match(/data-credential="([^"]+)"/)[1];
    // Missing CSRF: refused.
    const nocsrf = await w.postForm('/account', { action: 'rename', credential: cred, name: 'X' });
    assert.equal(nocsrf.status, 403);
    const renamed = await submit(w, '/account', page.text, 'name', { name: 'My phone' });
    assert.equal(renamed.status, 200, renamed.text.slice(0, 300));
    assert.ok(renamed.text.includes('My phone'));
    // The last passkey is removed only after confirming.
    const warn = await submit(w, '/account', renamed.text, null, {}, (f) => f.hidden.action === 'remove');
    assert.equal(warn.status, 200);
    assert.ok(hasId(warn.text, 'confirm-remove'), 'a clear warning for the last passkey');
    assert.ok(warn.text.includes('My phone'), 'not removed yet');
    // Add a second passkey through the register endpoints.
    const start = await submit(w, '/account', warn.text, null, {}, (f) => f.hidden.action === 'add');
    assert.equal(start.status, 200);
    const flow = start.text.match(/data-flow="([^"]+)"/)[1];
    const second = new SoftAuthenticator({ origin: srv.issuer, alg: 'EdDSA' });
    const reg = await w.registerPasskey(flow, second);
    assert.equal(reg.res.status, 200, reg.res.text);
    assert.equal(reg.res.json.next, '/account?notice=added');
    page = await w.get('/account?notice=added');
    assert.equal((page.text.match(/data-credential=/g) ?? []).length, 2);
    // With two, removing one needs no confirmation.
    const removed = await submit(w, '/account', page.text, null, {}, (f) => f.hidden.action === 'remove');
    assert.equal(removed.status, 200);
    assert.equal((removed.text.match(/data-credential=/g) ?? []).length, 1);
    person.authenticator = second; // the first passkey is gone
    // The remaining passkey signs in; the sign-in shows on /account.
    const again = await signInWithPasskey(srv, { authorizeUrl: authRequest(srv, rp).url, authenticator: second });
    assert.ok(again.redirect.searchParams.get('code'));
    page = await w.get('/account');
    assert.ok(page.text.includes('rp-five'), 'recent sign-in names the service');
  });

  test('sign out everywhere ends every session', async () => {
    const other = await signInWithPasskey(srv, { authorizeUrl: authRequest(srv, rp).url, authenticator: person.authenticator });
    assert.equal((await other.walker.get('/account')).status, 200);
    const page = await person.walker.get('/account');
    const out = await submit(person.walker, '/account', page.text, null, {}, (f) => f.hidden.action === 'signout_all');
    assert.equal(out.status, 200);
    assert.equal((await person.walker.get('/account')).status, 401);
    assert.equal((await other.walker.get('/account')).status, 401, 'the other browser is signed out too');
  });

  test('staff enrol with a one-time code and sign in with their own passkeys', async () => {
    support = await addStaff(srv, 'Sam Support', 'support');
    supervisor = await addStaff(srv, 'Vera Supervisor', 'supervisor');
    supervisor2 = await addStaff(srv, 'Wim Supervisor', 'supervisor');
    // A fresh browser signs in with the staff passkey.
    const w = new Walker(srv.issuer);
    const login = await w.get('/support/');
    assert.ok(hasId(login.text, 'staff-login'));
    const opts = await w.postJSON('/support/webauthn/login/options', {});
    const res = await w.postJSON('/support/webauthn/login/verify', { credential: support.auth.get(opts.json) });
    assert.equal(res.status, 200, res.text);
    assert.ok((await w.get('/support/')).text.includes('Sam Support'));
    // A person's passkey never opens the console ...
    const o2 = await w.postJSON('/support/webauthn/login/options', {});
    const r2 = await w.postJSON('/support/webauthn/login/verify', { credential: person.authenticator.get(o2.json) });
    assert.equal(r2.status, 400);
    assert.equal(r2.json.error, 'unknown_credential');
    // ... and a staff passkey never signs a person in.
    const p = new Walker(srv.issuer);
    const start = await p.authorize(authRequest(srv, rp).url);
    const l = await p.loginPasskey(start.flow, support.auth);
    assert.equal(l.res.status, 400);
    // Console pages without a staff session show the sign-in page only.
    const anon = await new Walker(srv.issuer).get(`/support/person?person_number=${people[0].person_number}`);
    assert.ok(hasId(anon.text, 'staff-login'));
    assert.ok(!anon.text.includes(people[0].family_name));
  });

  test('search and assisted enrolment from the console', async () => {
    const w = support.walker;
    const p = people[1];
    const byName = await w.get(`/support/search?family_name=${encodeURIComponent(p.family_name)}&birthdate=${p.birthdate}`);
    assert.equal(byName.status, 200);
    assert.ok(byName.text.includes(p.person_number));
    const page = await w.get(`/support/person?person_number=${p.person_number}`);
    assert.equal(page.status, 200);
    const bad = await submit(w, '/support/person', page.text, 'document_last4', { document_type: 'passport', country: 'NL', document_last4: '12', method: 'video' });
    assert.equal(bad.status, 400, 'last four must be four');
    const nocsrf = await w.postForm('/support/enrol-code', { person_number: p.person_number, document_type: 'passport', country: 'NL', document_last4: 'AB12', method: 'video' });
    assert.equal(nocsrf.status, 403, 'CSRF missing');
    const issued = await submit(w, '/support/person', page.text, 'document_last4', { document_type: 'passport', country: 'MA', document_last4: 'AB12', method: 'video' });
    assert.equal(issued.status, 200, issued.text.slice(0, 400));
    const code = issued.text.match(/<strong>([A-Z0-9]{4}-[A-Z0-9]{4})<\/strong>/)[1];
    // The person enrols with it.
    const pw = new Walker(srv.issuer);
    const start = await pw.authorize(authRequest(srv, rp).url);
    const entered = await pw.enrolWithCode(start.flow, code, { loginHtml: start.html });
    assert.ok(entered.ok, 'console code accepted');
    const reg = await pw.registerPasskey(start.flow, new SoftAuthenticator({ origin: srv.issuer }));
    assert.equal(reg.res.status, 200, reg.res.text);
    // The person page shows the proofing and the audit trail with the evidence.
    const after = await w.get(`/support/person?person_number=${p.person_number}`);
    assert.ok(after.text.includes('assisted'));
    assert.ok(after.text.includes('enrol_code_issued') && after.text.includes('AB12'));
    assert.ok(after.text.includes('passkey_registered'));
  });

  test('recovery: four eyes, wrong role, self-approval, then the old passkey is refused', async () => {
    const p = people[0];
    const oldAuth = person.authenticator;
    // Before: the person is signed in at a relying party that wants back-channel logout.
    const bclUri = `http://localhost:${receiver.port}/bcl`;
    const bc = await srv.addClient({ id: 'rp-bcl', redirectUris: ['https://rp-bcl.example.test/cb'], extra: ['--backchannel-logout-uri', bclUri] });
    const bcl = { ...bc, redirectUri: 'https://rp-bcl.example.test/cb' };
    const meta = await discovery(srv.issuer);
    const bcReq = authRequest(srv, bcl);
    const signed = await signInWithPasskey(srv, { authorizeUrl: bcReq.url, authenticator: oldAuth });
    const bcCode = checkRedirect(signed.redirect, { redirectUri: bcl.redirectUri, state: bcReq.state, issuer: srv.issuer });
    const bcTok = await exchange(meta, bcl, bcCode, bcReq.verifier);
    assert.equal(bcTok.status, 200, bcTok.text);
    const bcSub = JSON.parse(Buffer.from(bcTok.json.id_token.split('.')[1], 'base64url')).sub;
    receiver.got.length = 0;
    // Support opens a case after a verified call.
    let page = await support.walker.get(`/support/person?person_number=${p.person_number}`);
    const opened = await submit(support.walker, '/support/person', page.text, 'reason', {
      reason: 'Phone stolen', document_type: 'passport', country: 'NL', document_last4: 'XY34', method: 'video', verified_call: '1',
    });
    assert.equal(opened.status, 200, opened.text.slice(0, 400));
    assert.ok(hasId(opened.text, 'notice'));
    const caseId = opened.text.match(/data-case="([^"]+)"/)[1];
    // Wrong role: a support member cannot approve (even by posting the form by hand).
    const wrong = await support.walker.postForm('/support/case/approve', {
      csrf: formWith(opened.text, 'reason').hidden.csrf, case: caseId, delivery: 'read',
    });
    assert.equal(wrong.status, 403);
    assert.ok(wrong.text.includes('supervisor'));
    // Self-approval: supervisor opens a case and may not approve it.
    page = await supervisor.walker.get(`/support/person?person_number=${p.person_number}`);
    const own = await submit(supervisor.walker, '/support/person', page.text, 'reason', {
      reason: 'Lost phone', document_type: 'id_card', country: 'NL', document_last4: 'XY34', method: 'desk', verified_call: '1',
    });
    const ownId = own.text.match(/data-case="([^"]+)"/)[1]; // newest first
    assert.notEqual(ownId, caseId);
    const self = await supervisor.walker.postForm('/support/case/approve', {
      csrf: formWith(own.text, 'reason').hidden.csrf, case: ownId, delivery: 'read',
    });
    assert.equal(self.status, 403);
    assert.ok(self.text.includes('four-eyes'));
    // The other supervisor approves the support member's case; the code is shown once.
    page = await supervisor2.walker.get(`/support/person?person_number=${p.person_number}`);
    const approve = forms(page.text).find((f) => f.hidden.case === caseId);
    assert.ok(approve, 'approve form offered to another supervisor');
    const done = await supervisor2.walker.postForm('/support/case/approve', { ...approve.hidden, delivery: 'read' });
    assert.equal(done.status, 200, done.text.slice(0, 400));
    const code = done.text.match(/<strong>([A-Z0-9]{4}-[A-Z0-9]{4})<\/strong>/)[1];
    // The person redeems it at /recover and creates a new passkey.
    const pw = new Walker(srv.issuer);
    const req = authRequest(srv, rp);
    const start = await pw.authorize(req.url);
    const rec = await pw.get(`/recover?flow=${start.flow}`);
    assert.ok(hasId(rec.text, 'recover-code-link'));
    const form = await pw.get(`/recover/code?flow=${start.flow}`);
    const wrongCode = await submit(pw, `/recover/code?flow=${start.flow}`, form.text, 'code', { person_number: p.person_number, code: 'ABCD-EFGH' });
    assert.equal(wrongCode.status, 400);
    const ok = await submit(pw, `/recover/code?flow=${start.flow}`, form.text, 'code', { person_number: p.person_number, code });
    assert.equal(ok.status, 200, ok.text.slice(0, 400));
    assert.ok(hasId(ok.text, 'passkey-create'));
    const fresh = new SoftAuthenticator({ origin: srv.issuer });
    const reg = await pw.registerPasskey(start.flow, fresh);
    assert.equal(reg.res.status, 200, reg.res.text);
    const redirect = await pw.finish(reg.res.json.next);
    assert.ok(redirect.searchParams.get('code'), 'the journey continues to the RP');
    // The relying party heard that the person's sessions ended (back-channel logout).
    for (let i = 0; i < 100 && receiver.got.length === 0; i++) await sleep(100);
    assert.equal(receiver.got.length, 1, 'one logout token for the relying party');
    const logoutToken = new URLSearchParams(receiver.got[0].body).get('logout_token');
    const { payload } = await jwtVerify(logoutToken, createRemoteJWKSet(new URL(meta.jwks_uri)), {
      issuer: srv.issuer, audience: bcl.client_id, typ: 'logout+jwt',
    });
    assert.equal(payload.sub, bcSub);
    assert.deepEqual(payload.events, { 'http://schemas.openid.net/event/backchannel-logout': {} });
    // The old passkey is refused; the new one works; the code is spent.
    const ow = new Walker(srv.issuer);
    const s2 = await ow.authorize(authRequest(srv, rp).url);
    const refused = await ow.loginPasskey(s2.flow, oldAuth);
    assert.equal(refused.res.status, 400);
    assert.equal(refused.res.json.error, 'unknown_credential');
    await signInWithPasskey(srv, { authorizeUrl: authRequest(srv, rp).url, authenticator: fresh });
    const reuse = await submit(pw, `/recover/code?flow=${start.flow}`, form.text, 'code', { person_number: p.person_number, code });
    assert.equal(reuse.status, 400, 'a recovery code works once');
    // A notice went to the contact address.
    let noticed = false;
    for (let i = 0; i < 50 && !noticed; i++) {
      noticed = srv.mail().some((m) => /Subject: (Your Wereldpas was recovered|Uw Wereldpas is hersteld)/.test(m.text));
      if (!noticed) await sleep(100);
    }
    assert.ok(noticed, `recovery notice mailed: ${srv.mail().map((m) => m.text.slice(0, 400)).join("\n---\n")}`);
  });

  test('cooling-off without a verified call', async () => {
    const p = people[1];
    let page = await support.walker.get(`/support/person?person_number=${p.person_number}`);
    const opened = await submit(support.walker, '/support/person', page.text, 'reason', {
      reason: 'Lost phone, mail only', document_type: 'residence_permit', country: 'DE', document_last4: '9Z9Z', method: 'desk',
    });
    const caseId = opened.text.match(/data-case="([^"]+)"/)[1];
    page = await supervisor.walker.get(`/support/person?person_number=${p.person_number}`);
    const approve = forms(page.text).find((f) => f.hidden.case === caseId);
    const done = await supervisor.walker.postForm('/support/case/approve', { ...approve.hidden, delivery: 'read' });
    assert.ok(hasId(done.text, 'cooling-off'));
    const code = done.text.match(/<strong>([A-Z0-9]{4}-[A-Z0-9]{4})<\/strong>/)[1];
    const pw = new Walker(srv.issuer);
    const start = await pw.authorize(authRequest(srv, rp).url);
    const form = await pw.get(`/recover/code?flow=${start.flow}`);
    const early = await submit(pw, `/recover/code?flow=${start.flow}`, form.text, 'code', { person_number: p.person_number, code });
    assert.equal(early.status, 403);
    assert.ok(early.text.includes('waiting period'));
  });

  test('audit verify: intact chain, then a tampered entry is named', async () => {
    let r = await srv.run(['audit', 'verify']);
    assert.equal(r.code, 0, r.stderr);
    const n = Number(r.stdout.match(/(\d+) entries/)[1]);
    assert.ok(n > 15, `many events recorded (${n})`);
    // Every staff action of issue 5 left an entry, by the staff member who did it.
    const rows = execFileSync('sqlite3', [path.join(srv.dir, 'wp.db'), 'SELECT DISTINCT event || \'|\' || actor FROM audit_log'])
      .toString().trim().split('\n');
    const byStaff = new Set(rows.filter((r) => r.includes('|staff:')).map((r) => r.split('|')[0]));
    for (const e of ['staff_passkey_registered', 'staff_signin', 'staff_search', 'staff_viewed_person', 'enrol_code_issued',
      'recovery_opened', 'recovery_approved']) {
      assert.ok(byStaff.has(e), `audit has ${e} by a staff member (has: ${[...byStaff].join(', ')})`);
    }
        execFileSync('sqlite3', [path.join(srv.dir, 'wp.db'), "UPDATE audit_log SET actor = 'staff:mallory' WHERE seq = 5"]);
    r = await srv.run(['audit', 'verify']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /entry 5/);
  });
});

describe('issue 5: an expired recovery code', { timeout: 120000 }, () => {
  test('is refused after recovery_code_ttl', async () => {
    const people = makePeople(2);
    const srv = await startServer({ people, config: '[limits]\nrecovery_code_ttl = 1\n' });
    try {
      const c = await srv.addClient({ id: 'rp-x', redirectUris: ['https://rp-x.example.test/cb'], auth: 'client_secret_basic' });
      const rp = { ...c, redirectUri: 'https://rp-x.example.test/cb' };
      await enrolWithInvite(srv, { authorizeUrl: authRequest(srv, rp).url, person: people[0] });
      const s = await addStaff(srv, 'S', 'support');
      const v = await addStaff(srv, 'V', 'supervisor');
      const pn = people[0].person_number;
      let page = await s.walker.get(`/support/person?person_number=${pn}`);
      const opened = await submit(s.walker, '/support/person', page.text, 'reason', {
        reason: 'Lost', document_type: 'passport', country: 'NL', document_last4: 'AAAA', method: 'video', verified_call: '1',
      });
      const caseId = opened.text.match(/data-case="([^"]+)"/)[1];
      page = await v.walker.get(`/support/person?person_number=${pn}`);
      const approve = forms(page.text).find((f) => f.hidden.case === caseId);
      const done = await v.walker.postForm('/support/case/approve', { ...approve.hidden, delivery: 'read' });
      const code = done.text.match(/<strong>([A-Z0-9]{4}-[A-Z0-9]{4})<\/strong>/)[1];
      await sleep(2100);
      const pw = new Walker(srv.issuer);
      const start = await pw.authorize(authRequest(srv, rp).url);
      const form = await pw.get(`/recover/code?flow=${start.flow}`);
      const late = await submit(pw, `/recover/code?flow=${start.flow}`, form.text, 'code', { person_number: pn, code });
      assert.equal(late.status, 400);
      assert.ok(/expired|no longer/i.test(late.text), late.text.slice(0, 500));
    } finally {
      await srv.stop();
    }
  });
});

// Reads one value from the server's database with the sqlite3 shell.
function sql(srv, query) {
  return execFileSync('sqlite3', [path.join(srv.dir, 'wp.db'), query]).toString().trim();
}

describe('issue 5: staff rate limits, a mail that cannot go out, re-authentication for a new passkey', { timeout: 300000 }, () => {
  const people = makePeople(3);
  // A contact address the register accepts but the mail queue refuses: no mail can go.
  people[2].contact_email = 'no(mail)@example.test';
  let srv;
  let rp;
  let s; // support
  let v; // supervisor
  let person;
  const limits = ['[limits]', 'staff_searches_per_minute = 3', 'staff_cases_per_hour = 1',
    'staff_fail_per_credential = 2', 'staff_fail_per_ip = 6', 'staff_fail_window = 600'].join('\n');

  before(async () => {
    srv = await startServer({ people, config: `${limits}\n` });
    const c = await srv.addClient({ id: 'rp-lim', redirectUris: ['https://rp-lim.example.test/cb'], auth: 'client_secret_basic' });
    rp = { ...c, redirectUri: 'https://rp-lim.example.test/cb' };
    person = await enrolWithInvite(srv, { authorizeUrl: authRequest(srv, rp).url, person: people[0] });
    await enrolWithInvite(srv, { authorizeUrl: authRequest(srv, rp).url, person: people[2] });
    s = await addStaff(srv, 'Sol Support', 'support');
    v = await addStaff(srv, 'Ved Supervisor', 'supervisor');
  });

  after(async () => {
    await srv?.stop();
  });

  test('searches per minute: the refusal says why and until when', async () => {
    const q = `/support/search?person_number=${people[1].person_number}`;
    // Stay inside one minute window: the limit counts in fixed windows.
    const sec = new Date().getUTCSeconds();
    if (sec > 50) await sleep((61 - sec) * 1000);
    for (let i = 0; i < 3; i++) assert.equal((await s.walker.get(q)).status, 200, `search ${i + 1} allowed`);
    const refused = await s.walker.get(q);
    assert.equal(refused.status, 429);
    assert.ok(refused.text.includes('searched very often'), refused.text.slice(0, 600));
    assert.match(refused.text, /id="retry-until"[^<]*<time datetime="\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z" data-local>[^<]+ UTC<\/time>/);
    assert.ok(Number(refused.headers.get('retry-after')) > 0 && Number(refused.headers.get('retry-after')) <= 60);
    // Another staff member is not affected.
    assert.equal((await v.walker.get(q)).status, 200);
    assert.match(sql(srv, "SELECT details FROM audit_log WHERE event = 'staff_rate_limited'"), /"searches"/);
  });

  test('a mailed approval that cannot go out leaves the case approvable; cases per hour are limited', async () => {
    const pn = people[2].person_number;
    let page = await s.walker.get(`/support/person?person_number=${pn}`);
    const evidence = { document_type: 'passport', country: 'NL', document_last4: 'QQ11', method: 'video', verified_call: '1' };
    const opened = await submit(s.walker, '/support/person', page.text, 'reason', { reason: 'Lost phone', ...evidence });
    assert.equal(opened.status, 200, opened.text.slice(0, 400));
    const caseId = opened.text.match(/data-case="([^"]+)"/)[1];
    // A second case within the hour: refused with the reason and the time it ends.
    const second = await submit(s.walker, '/support/person', opened.text, 'reason', { reason: 'Again', ...evidence });
    assert.equal(second.status, 429);
    assert.ok(second.text.includes('many recovery cases'), second.text.slice(0, 600));
    assert.ok(second.text.includes('id="retry-until"'));
    assert.equal((second.text.match(/data-case=/g) ?? []).length, 1, 'no second case was opened');
    // The supervisor asks for the code by mail: it cannot be queued for this address.
    page = await v.walker.get(`/support/person?person_number=${pn}`);
    let approve = forms(page.text).find((f) => f.hidden.case === caseId);
    const mailed = await v.walker.postForm('/support/case/approve', { ...approve.hidden, delivery: 'mail' });
    assert.equal(mailed.status, 409, mailed.text.slice(0, 400));
    assert.ok(mailed.text.includes('case is open again'), mailed.text.slice(0, 600));
    assert.ok(!/<strong>[A-Z0-9]{4}-[A-Z0-9]{4}<\/strong>/.test(mailed.text), 'no code shown');
    assert.equal(sql(srv, `SELECT status FROM recovery_cases WHERE id = '${caseId}'`), 'open');
    assert.equal(srv.mail().filter((m) => m.text.includes('no(mail)')).length, 0, 'nothing queued');
    // The case is approvable again; read out, the code is shown.
    approve = forms(mailed.text).find((f) => f.hidden.case === caseId);
    assert.ok(approve, 'approve form offered again');
    const read = await v.walker.postForm('/support/case/approve', { ...approve.hidden, delivery: 'read' });
    assert.equal(read.status, 200, read.text.slice(0, 400));
    assert.match(read.text, /<strong>[A-Z0-9]{4}-[A-Z0-9]{4}<\/strong>/);
    assert.equal(sql(srv, `SELECT status FROM recovery_cases WHERE id = '${caseId}'`), 'approved');
    assert.match(sql(srv, "SELECT details FROM audit_log WHERE event = 'recovery_approval_undone'"), /no_contact_address/);
  });

  test('adding a passkey needs a recent sign-in and keeps the current session', async () => {
    const w = person.walker;
    const sessions = () => Number(sql(srv, 'SELECT count(*) FROM sessions'));
    // Every sign-in is 11 minutes old: adding is refused until the person signs in again.
    sql(srv, 'UPDATE sessions SET auth_time = auth_time - 660');
    let page = await w.get('/account');
    let start = await submit(w, '/account', page.text, null, {}, (f) => f.hidden.action === 'add');
    assert.equal(start.status, 401);
    assert.ok(hasId(start.text, 'reauth'), start.text.slice(0, 600));
    assert.ok(!start.text.includes('data-ceremony="register"'), 'no passkey can be created yet');
    const reauthFlow = start.text.match(/data-flow="([^"]+)" data-ceremony="login"/)[1];
    // Registering on that flow is refused: it is not proofed.
    const early = await w.registerPasskey(reauthFlow, new SoftAuthenticator({ origin: srv.issuer }));
    assert.notEqual(early.res.status, 200);
    // Another person's passkey does not answer the question.
    const other = new SoftAuthenticator({ origin: srv.issuer });
    await enrolWithInvite(srv, { authorizeUrl: authRequest(srv, rp).url, person: people[1], authenticator: other });
    const wrong = await w.loginPasskey(reauthFlow, other);
    assert.equal(wrong.res.status, 400, wrong.res.text);
    // The person's own passkey does (a fresh flow: the first challenge was spent).
    page = await w.get('/account');
    start = await submit(w, '/account', page.text, null, {}, (f) => f.hidden.action === 'add');
    const flow2 = start.text.match(/data-flow="([^"]+)" data-ceremony="login"/)[1];
    const again = await w.loginPasskey(flow2, person.authenticator);
    assert.equal(again.res.status, 200, again.res.text);
    assert.equal(again.res.json.next, '/account?notice=reauth');
    page = await w.get(again.res.json.next);
    assert.ok(page.text.includes('you confirmed that it is you') || page.text.includes('bevestigd'), page.text.slice(0, 600));
    // Now the ceremony starts; finishing it adds the passkey and no session.
    start = await submit(w, '/account', page.text, null, {}, (f) => f.hidden.action === 'add');
    assert.equal(start.status, 200, start.text.slice(0, 400));
    const addFlow = start.text.match(/data-flow="([^"]+)" data-ceremony="register"/)[1];
    const cookieBefore = w.jar.list().find((c) => c.name === 'wp_session').value;
    const before = sessions();
    const reg = await w.registerPasskey(addFlow, new SoftAuthenticator({ origin: srv.issuer }));
    assert.equal(reg.res.status, 200, reg.res.text);
    assert.equal(reg.res.json.next, '/account?notice=added');
    assert.equal(sessions(), before, 'no second session');
    assert.equal(w.jar.list().find((c) => c.name === 'wp_session').value, cookieBefore, 'the session cookie is kept');
    page = await w.get('/account');
    assert.equal(page.status, 200);
    assert.equal((page.text.match(/data-credential=/g) ?? []).length, 2);
    // The flow worked once.
    const twice = await w.registerPasskey(addFlow, new SoftAuthenticator({ origin: srv.issuer }));
    assert.notEqual(twice.res.status, 200);
  });

  test('failed staff sign-ins are limited per passkey and per address', async () => {
    const w = new Walker(srv.issuer);
    await w.get('/support/');
    const attempt = async (auth, knobs) => {
      const o = await w.postJSON('/support/webauthn/login/options', {});
      assert.equal(o.status, 200, o.text);
      return w.postJSON('/support/webauthn/login/verify', { credential: auth.get(o.json, knobs) });
    };
    for (let i = 0; i < 2; i++) assert.equal((await attempt(s.auth, { badSignature: true })).status, 400);
    // Even the right signature is refused now, with the time it ends.
    const limited = await attempt(s.auth);
    assert.equal(limited.status, 429, limited.text);
    assert.match(limited.json.error_description, /this passkey.*refused for \d+ seconds/);
    assert.ok(Number(limited.headers.get('retry-after')) > 0);
    // Another staff passkey still works from here ...
    assert.equal((await attempt(v.auth)).status, 200);
    // ... until the address has failed too often (2 so far, 4 more with a person's passkey).
    for (let i = 0; i < 4; i++) assert.equal((await attempt(person.authenticator)).status, 400);
    const byIp = await attempt(v.auth);
    assert.equal(byIp.status, 429, byIp.text);
    assert.match(byIp.json.error_description, /this address/);
    const events = sql(srv, "SELECT event FROM audit_log WHERE event LIKE 'staff_signin%'").split('\n');
    assert.ok(events.includes('staff_signin_failed') && events.includes('staff_signin_limited'), events.join(','));
  });
});

describe('issue 5: staff sessions end after the idle timeout', { timeout: 120000 }, () => {
  test('an idle console session is ended and deleted', async () => {
    const srv = await startServer({ people: makePeople(1), config: '[limits]\nstaff_idle_timeout = 2\n' });
    try {
      const st = await addStaff(srv, 'Ida Idle', 'support');
      const count = () => Number(sql(srv, 'SELECT count(*) FROM staff_sessions'));
      assert.equal(count(), 1);
      // Activity within the timeout keeps the session.
      for (let i = 0; i < 3; i++) {
        await sleep(1000);
        assert.ok((await st.walker.get('/support/')).text.includes('Ida Idle'), 'still signed in');
      }
      await sleep(3100);
      const ended = await st.walker.get('/support/');
      assert.equal(ended.status, 401);
      assert.ok(hasId(ended.text, 'staff-login'));
      assert.ok(ended.text.includes('without activity'), ended.text.slice(0, 400));
      assert.equal(count(), 0, 'the ended session is deleted');
    } finally {
      await srv.stop();
    }
  });
});
