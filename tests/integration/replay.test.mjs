// Replay: every single-use value is used once successfully and then sent again; the
// second use must fail. Enrolment codes, WebAuthn challenges (registration and sign-in),
// authorization codes, and, when the server offers them, refresh tokens, client-assertion
// jti values and PAR request_uri values (skipped as todo while those features are absent).
// Prints "replays refused: N".

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import * as jose from 'jose';

import { startServer, makePeople } from '../lib/server.mjs';
import { Walker, hasId, tokenRequest, basicAuth } from '../lib/browserless.mjs';
import { SoftAuthenticator } from '../lib/softauthn.mjs';
import { authRequest, checkRedirect, discovery, enrolWithInvite, exchange, signInWithPasskey } from '../lib/flows.mjs';

const T = { timeout: 90000 };
let refused = 0;
const tried = [];

// Records that the second use of WHAT was refused (asserting it first).
function refusedReplay(what, ok, detail) {
  assert.ok(ok, `replayed ${what} was accepted: ${detail}`);
  refused++;
  tried.push(what);
}

describe('single-use values cannot be replayed', { timeout: 600000 }, () => {
  const people = makePeople(10);
  let next = 0;
  const person = () => people[next++];
  let srv, meta, rp;

  before(async () => {
    srv = await startServer({ people });
    meta = await discovery(srv.issuer);
    const c = await srv.addClient({ id: 'rp-replay', redirectUris: 'https://rp.example.test/cb', auth: 'client_secret_basic', scopes: ['openid', 'profile', 'email', 'offline_access'] });
    rp = { ...c, redirectUri: 'https://rp.example.test/cb', method: 'basic' };
  });

  after(async () => {
    console.log(`replays refused: ${refused} (${tried.join(', ')})`);
    await srv?.stop();
  });

  test('an enrolment code works once', T, async () => {
    const p = person();
    const { code } = await enrolWithInvite(srv, { authorizeUrl: authRequest(srv, rp).url, person: p });
    const w = new Walker(srv.issuer);
    const start = await w.authorize(authRequest(srv, rp).url);
    assert.equal(start.kind, 'login');
    const again = await w.enrolWithCode(start.flow, code, { loginHtml: start.html });
    refusedReplay('enrolment code after enrolment', !again.ok && !hasId(again.res.text, 'passkey-create'),
      `${again.res.status} ${again.res.text.slice(0, 200)}`);
  });

  test('an enrolment code entered in two browsers registers at most one passkey', T, async () => {
    const p = person();
    const code = await srv.invite(p.person_number);
    const browsers = [];
    for (let i = 0; i < 2; i++) {
      const w = new Walker(srv.issuer);
      const start = await w.authorize(authRequest(srv, rp).url);
      const entered = await w.enrolWithCode(start.flow, code, { loginHtml: start.html });
      browsers.push({ w, start, entered });
    }
    let registered = 0;
    for (const b of browsers) {
      if (!b.entered.ok) continue;
      const auth = new SoftAuthenticator({ origin: srv.issuer });
      const r = await b.w.registerPasskey(b.start.flow, auth);
      if (r.res.status === 200) registered++;
    }
    assert.equal(registered, 1, 'exactly one browser registered a passkey with one code');
    refusedReplay('enrolment code in a second browser', true, '');
  });

  test('a registration challenge works once', T, async () => {
    const p = person();
    const { walker, flow, register } = await enrolWithInvite(srv, { authorizeUrl: authRequest(srv, rp).url, person: p });
    const again = await walker.postJSON('/webauthn/register/verify', { flow, credential: register.credential });
    refusedReplay('registration response', again.status >= 400 && again.status < 500, `${again.status} ${again.text}`);
  });

  test('a registration challenge is spent by a failed attempt too', T, async () => {
    const p = person();
    const code = await srv.invite(p.person_number);
    const w = new Walker(srv.issuer);
    const start = await w.authorize(authRequest(srv, rp).url);
    const entered = await w.enrolWithCode(start.flow, code, { loginHtml: start.html });
    assert.ok(entered.ok);
    const auth = new SoftAuthenticator({ origin: srv.issuer });
    const opts = await w.postJSON('/webauthn/register/options', { flow: start.flow });
    assert.equal(opts.status, 200);
    const good = auth.create(opts.json, { dontStore: true });
    const bad = structuredClone(good);
    bad.response.clientDataJSON = Buffer.from('{"type":"webauthn.create"}').toString('base64url');
    const first = await w.postJSON('/webauthn/register/verify', { flow: start.flow, credential: bad });
    assert.ok(first.status >= 400 && first.status < 500, `broken response refused: ${first.status}`);
    const second = await w.postJSON('/webauthn/register/verify', { flow: start.flow, credential: good });
    refusedReplay('registration challenge after a failed attempt', second.status >= 400 && second.status < 500,
      `${second.status} ${second.text}`);
  });

  test('a sign-in challenge and assertion work once', T, async () => {
    const p = person();
    const { authenticator } = await enrolWithInvite(srv, { authorizeUrl: authRequest(srv, rp).url, person: p });
    const { walker, flow, login } = await signInWithPasskey(srv, { authorizeUrl: authRequest(srv, rp).url, authenticator });
    const again = await walker.postJSON('/webauthn/login/verify', { flow, credential: login.credential });
    refusedReplay('sign-in assertion in the same flow', again.status >= 400 && again.status < 500, `${again.status} ${again.text}`);

    // The same assertion in a new flow (a new challenge) from another browser.
    const w2 = new Walker(srv.issuer);
    const start = await w2.authorize(authRequest(srv, rp).url);
    const opts = await w2.postJSON('/webauthn/login/options', { flow: start.flow });
    assert.equal(opts.status, 200);
    const other = await w2.postJSON('/webauthn/login/verify', { flow: start.flow, credential: login.credential });
    refusedReplay('sign-in assertion in another flow', other.status >= 400 && other.status < 500, `${other.status} ${other.text}`);
  });

  test('an authorization code works once', T, async () => {
    const p = person();
    const req = authRequest(srv, rp);
    const { redirect } = await enrolWithInvite(srv, { authorizeUrl: req.url, person: p });
    const code = checkRedirect(redirect, { redirectUri: rp.redirectUri, state: req.state, issuer: srv.issuer });
    const first = await exchange(meta, rp, code, req.verifier);
    assert.equal(first.status, 200, first.text);
    const second = await exchange(meta, rp, code, req.verifier);
    refusedReplay('authorization code', second.status === 400 && second.json?.error === 'invalid_grant', `${second.status} ${second.text}`);
  });

  test('a refresh token works once (rotation)', T, async (t) => {
    if (!meta.grant_types_supported?.includes('refresh_token')) {
      t.todo('refresh tokens are not offered yet (no refresh_token in grant_types_supported)');
      return;
    }
    const p = person();
    const req = authRequest(srv, { ...rp, scope: 'openid offline_access' }, { prompt: 'consent' });
    const { redirect } = await enrolWithInvite(srv, { authorizeUrl: req.url, person: p });
    const code = checkRedirect(redirect, { redirectUri: rp.redirectUri, state: req.state, issuer: srv.issuer });
    const tok = await exchange(meta, rp, code, req.verifier);
    assert.equal(tok.status, 200, tok.text);
    assert.ok(tok.json.refresh_token, 'a refresh token for scope offline_access');
    const auth = { method: 'basic', id: rp.client_id, secret: rp.client_secret };
    const r1 = await tokenRequest(meta.token_endpoint, { grant_type: 'refresh_token', refresh_token: tok.json.refresh_token }, auth);
    assert.equal(r1.status, 200, `first refresh: ${r1.text}`);
    const r2 = await tokenRequest(meta.token_endpoint, { grant_type: 'refresh_token', refresh_token: tok.json.refresh_token }, auth);
    refusedReplay('refresh token', r2.status === 400, `${r2.status} ${r2.text}`);
  });

  test('a client assertion jti works once', T, async (t) => {
    if (!meta.token_endpoint_auth_methods_supported?.includes('private_key_jwt')) {
      t.todo('private_key_jwt is not offered yet');
      return;
    }
    const { publicKey, privateKey } = await jose.generateKeyPair('ES256', { extractable: true });
    const jwk = { ...(await jose.exportJWK(publicKey)), kid: 'replay-1', alg: 'ES256', use: 'sig' };
    const jwksFile = path.join(srv.dir, 'replay-jwks.json');
    fs.writeFileSync(jwksFile, JSON.stringify({ keys: [jwk] }));
    const c = await srv.addClient({ id: 'rp-pkjwt', redirectUris: 'https://rp.example.test/pk', auth: 'private_key_jwt', extra: ['--jwks-file', jwksFile] });
    const client = { ...c, redirectUri: 'https://rp.example.test/pk' };
    const assertion = await new jose.SignJWT({ jti: `jti-${Date.now()}` })
      .setProtectedHeader({ alg: 'ES256', kid: 'replay-1' })
      .setIssuer(client.client_id)
      .setSubject(client.client_id)
      .setAudience(meta.token_endpoint)
      .setIssuedAt()
      .setExpirationTime('60s')
      .sign(privateKey);
    const p = person();
    const { authenticator } = await enrolWithInvite(srv, { authorizeUrl: authRequest(srv, client).url, person: p });
    const codes = [];
    for (let i = 0; i < 2; i++) {
      const req = authRequest(srv, client);
      const { redirect } = await signInWithPasskey(srv, { authorizeUrl: req.url, authenticator });
      codes.push({ req, code: checkRedirect(redirect, { redirectUri: client.redirectUri, state: req.state, issuer: srv.issuer }) });
    }
    const send = ({ req, code }) =>
      tokenRequest(meta.token_endpoint, {
        grant_type: 'authorization_code', code, redirect_uri: client.redirectUri, code_verifier: req.verifier,
        client_id: client.client_id,
        client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
        client_assertion: assertion,
      }, { method: 'none', id: client.client_id });
    const first = await send(codes[0]);
    assert.equal(first.status, 200, `first use of the assertion: ${first.text}`);
    const second = await send(codes[1]);
    refusedReplay('client assertion jti', second.status === 400 || second.status === 401, `${second.status} ${second.text}`);
  });

  test('a PAR request_uri works once', T, async (t) => {
    const par = meta.pushed_authorization_request_endpoint;
    if (!par) {
      t.todo('PAR is not offered yet (no pushed_authorization_request_endpoint)');
      return;
    }
    const req = authRequest(srv, rp);
    const params = Object.fromEntries(req.url.searchParams);
    const res = await fetch(par, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basicAuth(rp.client_id, rp.client_secret) },
      body: new URLSearchParams(params).toString(),
    });
    const body = await res.json();
    assert.equal(res.status, 201, `PAR: ${JSON.stringify(body)}`);
    const url = new URL(meta.authorization_endpoint);
    url.searchParams.set('client_id', rp.client_id);
    url.searchParams.set('request_uri', body.request_uri);
    const w = new Walker(srv.issuer);
    const first = await w.authorize(url);
    assert.equal(first.kind, 'login', `the first use reaches the login page: ${first.res?.status} ${first.res?.text?.replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ').slice(0, 400)}`);
    const w2 = new Walker(srv.issuer);
    const second = await w2.authorize(url);
    refusedReplay('PAR request_uri', second.kind !== 'login' && second.kind !== 'redirect',
      `${second.kind} ${second.res?.status}`);
  });

  test('a session cookie stops working once the browser signs in again', T, async () => {
    const p = person();
    const { walker, authenticator } = await enrolWithInvite(srv, { authorizeUrl: authRequest(srv, rp).url, person: p });
    const sessionOf = (w) => w.jar.list().find((c) => c.name === 'wp_session')?.value;
    // A browser holding only COOKIE as its session: prompt=none answers from the session
    // (a code) or not (login_required); /account shows the account or refuses.
    const withCookie = async (cookie) => {
      const w = new Walker(srv.issuer);
      w.jar.store(srv.issuer, [`wp_session=${cookie}; Path=/; HttpOnly`]);
      const start = await w.authorize(authRequest(srv, rp, { prompt: 'none' }).url);
      assert.equal(start.kind, 'redirect', `prompt=none redirects (got ${start.kind})`);
      const account = await w.get(new URL('/account', srv.issuer));
      return { code: start.redirect.searchParams.get('code'), error: start.redirect.searchParams.get('error'), account: account.status };
    };
    const old = sessionOf(walker);
    assert.ok(old, 'enrolment left a session cookie');
    const before = await withCookie(old);
    assert.ok(before.code, 'the first session is in use');
    assert.equal(before.account, 200);

    // Signing in again in the same browser (prompt=login) replaces the cookie.
    const again = await signInWithPasskey(srv, { authorizeUrl: authRequest(srv, rp, { prompt: 'login' }).url, authenticator, walker });
    assert.equal(again.redirect.searchParams.get('error'), null);
    const current = sessionOf(walker);
    assert.ok(current && current !== old, 'a new session cookie');
    const now = await withCookie(current);
    assert.ok(now.code, 'the new session works');
    const replayed = await withCookie(old);
    assert.equal(replayed.error, 'login_required', 'the old cookie no longer signs anyone in');
    assert.equal(replayed.code, null);
    refusedReplay('session cookie after a new sign-in', replayed.account === 401, `account ${replayed.account}`);
  });
});
