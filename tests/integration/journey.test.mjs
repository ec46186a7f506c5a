// The login journey over real HTTP against a started server, with the
// software authenticator in the person's place and the RP done by hand:
// enrol with an invite code, register a passkey (ES256, EdDSA, RS256), get
// and exchange the code, check the ID token and userinfo, sign in again
// usernameless; then what the server must refuse.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { startServer, makePeople } from '../lib/server.mjs';
import { Walker, tokenRequest, formWith, hasId } from '../lib/browserless.mjs';
import { SoftAuthenticator, COSE_ALG } from '../lib/softauthn.mjs';
import { authRequest, checkRedirect, discovery, enrolWithInvite, exchange, signInWithPasskey } from '../lib/flows.mjs';

const ACR_SUBSTANTIAL = 'http://eidas.europa.eu/NotNotified/LoA/substantial';
// Digits 2-9 are in every look-alike-free code alphabet, so these wrong codes
// are well-formed guesses (a malformed code need not count as an attempt).
const CODE_ALPHABET = '23456789';
const T = { timeout: 60000 };

function randomCode() {
  const b = crypto.randomBytes(8);
  const c = [...b].map((x) => CODE_ALPHABET[x % CODE_ALPHABET.length]).join('');
  return `${c.slice(0, 4)}-${c.slice(4)}`;
}

// Asserts a JSON error answer: STATUS and (when given) the error code.
function assertJsonError(res, status, error) {
  assert.equal(res.status, status, `expected ${status}, got ${res.status}: ${res.text.slice(0, 300)}`);
  assert.match(res.headers.get('content-type') ?? '', /application\/json/, 'JSON error has a JSON content type');
  assert.equal(typeof res.json?.error, 'string', `body has "error": ${res.text.slice(0, 300)}`);
  if (error) assert.equal(res.json.error, error, `error code: ${res.text.slice(0, 300)}`);
}

// The sign-out form: the form holding the #logout button.
function forms_logout(html) {
  const f = formWith(html, 'csrf');
  assert.ok(f, 'logout page has a form with csrf');
  return f;
}

describe('login journey with the software authenticator', { timeout: 600000 }, () => {
  const people = makePeople(32);
  let nextPerson = 0;
  const person = () => people[nextPerson++];
  let srv;
  let meta;
  let jwks;
  let rp1;
  let rp2;
  const enrolled = {};

  before(async () => {
    srv = await startServer({ people });
    meta = await discovery(srv.issuer);
    jwks = createRemoteJWKSet(new URL(meta.jwks_uri));
    const r1 = await srv.addClient({ id: 'rp-one', redirectUris: ['https://rp-one.example.test/cb'], auth: 'client_secret_basic' });
    rp1 = { ...r1, redirectUri: 'https://rp-one.example.test/cb', method: 'basic' };
    const r2 = await srv.addClient({ id: 'rp-two', redirectUris: ['https://rp-two.example.test/cb'], auth: 'client_secret_basic' });
    rp2 = { ...r2, redirectUri: 'https://rp-two.example.test/cb', method: 'basic' };
  });

  after(async () => {
    await srv?.stop();
  });

  // Verifies an ID token's signature and claims; returns its payload.
  async function checkIdToken(idToken, { client, nonce, alg = 'RS256', p }) {
    const header = decodeProtectedHeader(idToken);
    assert.equal(header.alg, alg, 'ID token algorithm');
    assert.equal(typeof header.kid, 'string', 'ID token header has a kid');
    assert.ok(header.kid.length > 0);
    const { payload } = await jwtVerify(idToken, jwks, {
      issuer: srv.issuer,
      audience: client.client_id,
      algorithms: [alg],
    });
    assert.equal(payload.nonce, nonce, 'nonce');
    assert.equal(payload.acr, ACR_SUBSTANTIAL, 'acr for the assisted path');
    assert.ok(!('amr' in payload), 'no amr (NL GOV profile)');
    for (const k of ['sub', 'jti', 'sid']) assert.equal(typeof payload[k], 'string', `${k} is a string`);
    for (const k of ['exp', 'iat', 'nbf', 'auth_time']) assert.equal(typeof payload[k], 'number', `${k} is a number`);
    const now = Math.floor(Date.now() / 1000);
    assert.ok(Math.abs(payload.iat - now) < 60, 'iat is now');
    assert.ok(payload.exp > now && payload.exp - payload.iat <= 300, 'lifetime at most 5 minutes');
    assert.ok(payload.auth_time <= now + 5 && payload.auth_time > now - 600, 'auth_time recent');
    if (p) assert.ok(!payload.sub.includes(p.person_number), 'sub is never the person number');
    return payload;
  }

  function checkTokenResponse(tok) {
    assert.equal(tok.status, 200, `token endpoint: ${tok.text}`);
    assert.match(tok.headers.get('cache-control') ?? '', /no-store/, 'token response is Cache-Control: no-store');
    assert.equal(tok.json.token_type, 'Bearer');
    assert.equal(typeof tok.json.access_token, 'string');
    assert.equal(typeof tok.json.id_token, 'string');
    assert.equal(typeof tok.json.expires_in, 'number');
    assert.ok(tok.json.expires_in > 0);
  }

  async function userinfo(accessToken) {
    const res = await fetch(meta.userinfo_endpoint, {
      headers: { authorization: `Bearer ${accessToken}` },
      signal: AbortSignal.timeout(10000),
    });
    const text = await res.text();
    assert.equal(res.status, 200, `userinfo: ${text}`);
    return JSON.parse(text);
  }

  // A fresh code for CLIENT from a walker that has a session.
  async function codeFromSession(walker, client, extra) {
    const req = authRequest(srv, client, extra);
    const r = await walker.authorize(req.url);
    assert.equal(r.kind, 'redirect', `a live session answers at once (got ${r.kind} ${r.res?.status})`);
    return { req, code: checkRedirect(r.redirect, { redirectUri: client.redirectUri, state: req.state, issuer: srv.issuer }) };
  }

  test('discovery lists the endpoints and S256 only', T, () => {
    assert.equal(meta.issuer, srv.issuer);
    for (const k of ['authorization_endpoint', 'token_endpoint', 'userinfo_endpoint', 'jwks_uri', 'end_session_endpoint']) {
      assert.equal(typeof meta[k], 'string', `discovery has ${k}`);
      assert.ok(meta[k].startsWith(srv.issuer), `${k} on the issuer`);
    }
    assert.ok(meta.code_challenge_methods_supported?.includes('S256'), 'S256 supported');
    assert.ok(!meta.code_challenge_methods_supported?.includes('plain'), 'plain not offered');
    assert.ok(meta.id_token_signing_alg_values_supported?.includes('RS256'));
    assert.ok(meta.id_token_signing_alg_values_supported?.includes('ES256'));
    assert.deepEqual(meta.response_types_supported, ['code']);
  });

  for (const alg of ['ES256', 'EdDSA', 'RS256']) {
    test(`${alg} passkey: enrol with code, tokens, userinfo, usernameless sign-in`, T, async () => {
      const p = person();
      const req = authRequest(srv, rp1);
      const { authenticator, redirect, register, walker } = await enrolWithInvite(srv, { authorizeUrl: req.url, person: p, alg });

      const pk = register.options.publicKey;
      assert.equal(pk.rp.id, 'localhost', 'rp.id is the issuer host');
      assert.equal(typeof pk.rp.name, 'string');
      for (const k of ['id', 'name', 'displayName']) assert.equal(typeof pk.user[k], 'string', `user.${k}`);
      assert.ok(!pk.user.id.includes(p.person_number) && !pk.user.name.includes(p.person_number), 'no person number in user');
      assert.ok(Buffer.from(pk.challenge, 'base64url').length >= 16, 'challenge of at least 16 bytes');
      assert.match(pk.challenge, /^[A-Za-z0-9_-]+$/, 'challenge is base64url without padding');
      assert.equal(pk.authenticatorSelection.residentKey, 'required');
      assert.equal(pk.authenticatorSelection.userVerification, 'required');
      assert.ok(pk.pubKeyCredParams.some((x) => x.alg === COSE_ALG[alg]), `${alg} offered`);

      const code = checkRedirect(redirect, { redirectUri: rp1.redirectUri, state: req.state, issuer: srv.issuer });
      const tok = await exchange(meta, rp1, code, req.verifier);
      checkTokenResponse(tok);
      const claims = await checkIdToken(tok.json.id_token, { client: rp1, nonce: req.nonce, p });

      const at = decodeProtectedHeader(tok.json.access_token);
      assert.equal(at.typ, 'at+jwt', 'access token typ at+jwt (RFC 9068)');
      assert.equal(typeof at.kid, 'string', 'access token has a kid');
      await jwtVerify(tok.json.access_token, jwks, { issuer: srv.issuer, typ: 'at+jwt' });

      const info = await userinfo(tok.json.access_token);
      assert.equal(info.sub, claims.sub, 'userinfo sub is the ID token sub');
      assert.equal(info.given_name, p.given_names);
      assert.equal(info.family_name, p.family_name);
      assert.equal(info.birthdate, p.birthdate);
      assert.equal(typeof info.name, 'string');
      assert.ok(info.name.includes(p.family_name) && info.name.includes(p.given_names), `name: ${info.name}`);

      // A new browser: usernameless sign-in with the discoverable passkey.
      const req2 = authRequest(srv, rp1);
      const again = await signInWithPasskey(srv, { authorizeUrl: req2.url, authenticator });
      const ro = again.login.options.publicKey;
      assert.equal(ro.rpId, 'localhost');
      assert.equal(ro.userVerification, 'required');
      assert.deepEqual(ro.allowCredentials ?? [], [], 'no allowCredentials: discoverable');
      assert.notEqual(ro.challenge, pk.challenge, 'a fresh challenge');
      const code2 = checkRedirect(again.redirect, { redirectUri: rp1.redirectUri, state: req2.state, issuer: srv.issuer });
      const tok2 = await exchange(meta, rp1, code2, req2.verifier);
      checkTokenResponse(tok2);
      const claims2 = await checkIdToken(tok2.json.id_token, { client: rp1, nonce: req2.nonce, p });
      assert.equal(claims2.sub, claims.sub, 'same sub on the next sign-in');
      assert.notEqual(claims2.sid, claims.sid, 'a new browser gets a new session');

      enrolled[alg] = { p, authenticator, walker, sub: claims.sub, signInWalker: again.walker };
    });
  }

  test('a live session answers at once; sub is pairwise per client', T, async () => {
    const e = enrolled.ES256;
    assert.ok(e, 'needs the ES256 journey');
    const { req, code } = await codeFromSession(e.walker, rp2);
    const tok = await exchange(meta, rp2, code, req.verifier);
    checkTokenResponse(tok);
    const claims = await checkIdToken(tok.json.id_token, { client: rp2, nonce: req.nonce, p: e.p });
    assert.notEqual(claims.sub, e.sub, 'pairwise: another client sees another sub');
    const info = await userinfo(tok.json.access_token);
    assert.equal(info.family_name, e.p.family_name, 'but the same person');
  });

  test('prompt=login asks again despite a session', T, async () => {
    const e = enrolled.ES256;
    assert.ok(e, 'needs the ES256 journey');
    const r = await e.walker.authorize(authRequest(srv, rp1, { prompt: 'login' }).url);
    assert.equal(r.kind, 'login', 'prompt=login leads to /login');
  });

  test('prompt=none without a session redirects with login_required', T, async () => {
    const req = authRequest(srv, rp1, { prompt: 'none' });
    const r = await new Walker(srv.issuer).authorize(req.url);
    assert.equal(r.kind, 'redirect');
    assert.equal(r.redirect.searchParams.get('error'), 'login_required');
    assert.equal(r.redirect.searchParams.get('state'), req.state);
    assert.equal(r.redirect.searchParams.get('iss'), srv.issuer);
    assert.equal(r.redirect.searchParams.get('code'), null);
  });

  test('acr_values above what the person reached is refused, never lowered', T, async () => {
    const e = enrolled.ES256;
    assert.ok(e, 'needs the ES256 journey');
    const req = authRequest(srv, rp1, { acr_values: 'http://eidas.europa.eu/NotNotified/LoA/high' });
    const w = new Walker(srv.issuer);
    const start = await w.authorize(req.url);
    let redirect = start.redirect;
    if (start.kind === 'login') {
      const login = await w.loginPasskey(start.flow, e.authenticator);
      assert.equal(login.optionsRes.status, 200);
      if (login.res.status !== 200) {
        assert.ok(login.res.status >= 400 && login.res.status < 500, `refused: ${login.res.status}`);
        return;
      }
      redirect = await w.finish(login.res.json.next);
    }
    assert.ok(redirect, `a redirect or a refusal (got ${start.kind})`);
    assert.equal(redirect.searchParams.get('code'), null, 'no code at a lower level');
    assert.ok(redirect.searchParams.get('error'), 'an error for the RP');
    assert.equal(redirect.searchParams.get('state'), req.state);
    // With a live session too.
    const again = await e.walker.authorize(authRequest(srv, rp1, { acr_values: 'http://eidas.europa.eu/NotNotified/LoA/high' }).url);
    if (again.kind === 'redirect') assert.equal(again.redirect.searchParams.get('code'), null, 'no code from the session');
  });

  test('userinfo without a token is 401 with WWW-Authenticate', T, async () => {
    const res = await fetch(meta.userinfo_endpoint, { signal: AbortSignal.timeout(10000) });
    await res.text();
    assert.equal(res.status, 401);
    assert.match(res.headers.get('www-authenticate') ?? '', /^Bearer/);
  });

  // ---- refusals -------------------------------------------------------------

  test('a reused authorization code is invalid_grant', T, async () => {
    const e = enrolled.ES256;
    assert.ok(e, 'needs the ES256 journey');
    const { req, code } = await codeFromSession(e.walker, rp1);
    checkTokenResponse(await exchange(meta, rp1, code, req.verifier));
    const again = await exchange(meta, rp1, code, req.verifier);
    assert.equal(again.status, 400, again.text);
    assert.equal(again.json?.error, 'invalid_grant');
  });

  test('a wrong PKCE verifier is invalid_grant', T, async () => {
    const e = enrolled.ES256;
    assert.ok(e, 'needs the ES256 journey');
    const { code } = await codeFromSession(e.walker, rp1);
    const wrong = crypto.randomBytes(32).toString('base64url');
    const res = await exchange(meta, rp1, code, wrong);
    assert.equal(res.status, 400, res.text);
    assert.equal(res.json?.error, 'invalid_grant');
  });

  test('a missing PKCE verifier is refused', T, async () => {
    const e = enrolled.ES256;
    assert.ok(e, 'needs the ES256 journey');
    const { code } = await codeFromSession(e.walker, rp1);
    const res = await tokenRequest(
      meta.token_endpoint,
      { grant_type: 'authorization_code', code, redirect_uri: rp1.redirectUri },
      { method: 'basic', id: rp1.client_id, secret: rp1.client_secret },
    );
    assert.equal(res.status, 400, res.text);
    assert.ok(['invalid_grant', 'invalid_request'].includes(res.json?.error), res.text);
  });

  test('a wrong client secret is invalid_client (401)', T, async () => {
    const e = enrolled.ES256;
    assert.ok(e, 'needs the ES256 journey');
    const { req, code } = await codeFromSession(e.walker, rp1);
    const res = await exchange(meta, { ...rp1, client_secret: 'not-the-secret' }, code, req.verifier);
    assert.equal(res.status, 401, res.text);
    assert.equal(res.json?.error, 'invalid_client');
  });

  test('an unregistered redirect_uri gets an error page, never a redirect', T, async () => {
    const w = new Walker(srv.issuer);
    for (const client of [
      { ...rp1, redirectUri: 'https://evil.example.test/cb' },
      { ...rp1, redirectUri: `${rp1.redirectUri}/extra` },
      { ...rp1, client_id: 'no-such-client' },
    ]) {
      const res = await w.get(authRequest(srv, client).url);
      assert.equal(res.status, 400, `${client.client_id} ${client.redirectUri}: ${res.status}`);
      assert.equal(res.location, null, 'no Location header');
      assert.match(res.headers.get('content-type') ?? '', /text\/html/);
    }
  });

  const registrationBreaks = [
    ['wrong challenge', { wrongChallenge: true }],
    ['wrong origin', { origin: 'http://evil.example.test' }],
    ['wrong rpId hash', { wrongRpIdHash: true }],
    ['user verification missing', { uv: false }],
  ];
  for (const [name, knobs] of registrationBreaks) {
    test(`registration with ${name} is refused, no session`, T, async () => {
      const p = person();
      const code = await srv.invite(p.person_number);
      const w = new Walker(srv.issuer);
      const req = authRequest(srv, rp1);
      const start = await w.authorize(req.url);
      assert.equal(start.kind, 'login');
      const entered = await w.enrolWithCode(start.flow, code, { loginHtml: start.html });
      assert.ok(entered.ok, 'code accepted');
      const r = await w.registerPasskey(start.flow, new SoftAuthenticator({ origin: srv.issuer }), knobs);
      assert.equal(r.optionsRes.status, 200, r.optionsRes.text);
      assertJsonError(r.res, 400);
      const none = await w.authorize(authRequest(srv, rp1, { prompt: 'none' }).url);
      assert.equal(none.kind, 'redirect');
      assert.equal(none.redirect.searchParams.get('error'), 'login_required', 'no session after a refusal');
    });
  }

  const loginBreaks = [
    ['wrong challenge', { wrongChallenge: true }],
    ['wrong origin', { origin: 'http://evil.example.test' }],
    ['wrong rpId hash', { wrongRpIdHash: true }],
    ['user verification missing', { uv: false }],
    ['a bad signature', { badSignature: true }],
    ['a wrong type', { type: 'webauthn.create' }],
  ];
  for (const [name, knobs] of loginBreaks) {
    test(`sign-in with ${name} is refused, no session`, T, async () => {
      const p = person();
      const { authenticator } = await enrolWithInvite(srv, { authorizeUrl: authRequest(srv, rp1).url, person: p });
      const w = new Walker(srv.issuer);
      const start = await w.authorize(authRequest(srv, rp1).url);
      assert.equal(start.kind, 'login');
      const r = await w.loginPasskey(start.flow, authenticator, knobs);
      assert.equal(r.optionsRes.status, 200, r.optionsRes.text);
      assertJsonError(r.res, 400);
      const none = await w.authorize(authRequest(srv, rp1, { prompt: 'none' }).url);
      assert.equal(none.kind, 'redirect');
      assert.equal(none.redirect.searchParams.get('error'), 'login_required', 'no session after a refusal');
    });
  }

  test('an unknown credential is refused', T, async () => {
    const stranger = new SoftAuthenticator({ origin: srv.issuer });
    stranger.create({ publicKey: { challenge: 'AAAA', rp: { id: 'localhost' }, user: { id: 'AAAA' }, pubKeyCredParams: [{ alg: -7 }] } });
    const w = new Walker(srv.issuer);
    const start = await w.authorize(authRequest(srv, rp1).url);
    assert.equal(start.kind, 'login');
    const r = await w.loginPasskey(start.flow, stranger);
    assert.ok(r.res.status >= 400 && r.res.status < 500, `4xx: ${r.res.status}`);
    assert.equal(typeof r.res.json?.error, 'string');
  });

  test('a sign counter that does not increase is refused', T, async () => {
    const p = person();
    const { authenticator } = await enrolWithInvite(srv, { authorizeUrl: authRequest(srv, rp1).url, person: p });
    await signInWithPasskey(srv, { authorizeUrl: authRequest(srv, rp1).url, authenticator });
    const w = new Walker(srv.issuer);
    const start = await w.authorize(authRequest(srv, rp1).url);
    const r = await w.loginPasskey(start.flow, authenticator, { counterNotIncreasing: true });
    assertJsonError(r.res, 400);
  });

  test('a usernameless assertion without userHandle is refused (WebAuthn L3 §7.2 step 6)', T, async () => {
    const p = person();
    const { authenticator } = await enrolWithInvite(srv, { authorizeUrl: authRequest(srv, rp1).url, person: p });
    const w = new Walker(srv.issuer);
    const start = await w.authorize(authRequest(srv, rp1).url);
    const r = await w.loginPasskey(start.flow, authenticator, { userHandle: null });
    assert.deepEqual(r.options.publicKey.allowCredentials ?? [], [], 'the user was not identified before');
    assertJsonError(r.res, 400);
  });

  test("another person's userHandle is refused", T, async () => {
    const a = enrolled.ES256;
    const b = enrolled.EdDSA;
    assert.ok(a && b, 'needs the ES256 and EdDSA journeys');
    const w = new Walker(srv.issuer);
    const start = await w.authorize(authRequest(srv, rp1).url);
    const other = b.authenticator.credentials[0].userHandle;
    const r = await w.loginPasskey(start.flow, a.authenticator, { userHandle: other });
    assertJsonError(r.res, 400);
  });

  test('a replayed assertion is refused', T, async () => {
    const e = enrolled.RS256;
    assert.ok(e, 'needs the RS256 journey');
    const w = new Walker(srv.issuer);
    const start = await w.authorize(authRequest(srv, rp1).url);
    const first = await w.loginPasskey(start.flow, e.authenticator);
    assert.equal(first.res.status, 200, first.res.text);
    const again = await w.postJSON('/webauthn/login/verify', { flow: start.flow, credential: first.credential });
    assert.ok(again.status >= 400 && again.status < 500, `replay refused: ${again.status} ${again.text}`);
    // The same assertion in another browser's flow: its challenge is not that flow's.
    const w2 = new Walker(srv.issuer);
    const s2 = await w2.authorize(authRequest(srv, rp1).url);
    const opt = await w2.postJSON('/webauthn/login/options', { flow: s2.flow });
    assert.equal(opt.status, 200);
    const cross = await w2.postJSON('/webauthn/login/verify', { flow: s2.flow, credential: first.credential });
    assertJsonError(cross, 400);
  });

  test('a code is bound to its client and its redirect_uri', T, async () => {
    const e = enrolled.ES256;
    assert.ok(e, 'needs the ES256 journey');
    const a = await codeFromSession(e.walker, rp1);
    const byOther = await exchange(meta, { ...rp2, redirectUri: rp1.redirectUri }, a.code, a.req.verifier);
    assert.equal(byOther.status, 400, byOther.text);
    assert.equal(byOther.json?.error, 'invalid_grant');
    const b = await codeFromSession(e.walker, rp1);
    const otherUri = await exchange(meta, { ...rp1, redirectUri: rp2.redirectUri }, b.code, b.req.verifier);
    assert.equal(otherUri.status, 400, otherUri.text);
    assert.equal(otherUri.json?.error, 'invalid_grant');
  });

  for (const alg of ['ES256', 'PS256', 'EdDSA']) {
    test(`a client registered with --id-token-alg ${alg} gets ${alg} ID tokens`, T, async () => {
      const e = enrolled.ES256;
      assert.ok(e, 'needs the ES256 journey');
      const id = `rp-alg-${alg.toLowerCase()}`;
      const redirectUri = `https://${id}.example.test/cb`;
      const c = { ...(await srv.addClient({ id, redirectUris: [redirectUri], idTokenAlg: alg })), redirectUri, method: 'basic' };
      const { req, code } = await codeFromSession(e.walker, c);
      const tok = await exchange(meta, c, code, req.verifier);
      checkTokenResponse(tok);
      await checkIdToken(tok.json.id_token, { client: c, nonce: req.nonce, alg, p: e.p });
    });
  }

  test('clients registered with --subject public see the same sub', T, async () => {
    const e = enrolled.ES256;
    assert.ok(e, 'needs the ES256 journey');
    const subs = [];
    for (const id of ['rp-public-a', 'rp-public-b']) {
      const redirectUri = `https://${id}.example.test/cb`;
      const c = { ...(await srv.addClient({ id, redirectUris: [redirectUri], subject: 'public' })), redirectUri, method: 'basic' };
      const { req, code } = await codeFromSession(e.walker, c);
      const tok = await exchange(meta, c, code, req.verifier);
      checkTokenResponse(tok);
      subs.push((await checkIdToken(tok.json.id_token, { client: c, nonce: req.nonce, p: e.p })).sub);
    }
    assert.equal(subs[0], subs[1], 'public sub is the same for both clients');
    assert.notEqual(subs[0], e.sub, 'and differs from the pairwise one');
  });

  test('sign-out ends the session', T, async () => {
    const e = enrolled.EdDSA;
    assert.ok(e, 'needs the EdDSA journey');
    const w = e.signInWalker;
    await codeFromSession(w, rp1);
    const page = await w.get('/logout');
    assert.equal(page.status, 200);
    assert.ok(hasId(page.text, 'logout'), 'logout page has #logout');
    const form = forms_logout(page.text);
    const noCsrf = await w.postForm('/logout', {});
    assert.ok(noCsrf.status === 403 || noCsrf.status === 400, `logout without csrf refused: ${noCsrf.status}`);
    await codeFromSession(w, rp1); // still signed in
    const done = await w.postForm(new URL(form.attrs.action ?? '/logout', srv.issuer), form.hidden);
    assert.ok(done.status === 200 || (done.status >= 300 && done.status < 400), `logout: ${done.status}`);
    const none = await w.authorize(authRequest(srv, rp1, { prompt: 'none' }).url);
    assert.equal(none.kind, 'redirect');
    assert.equal(none.redirect.searchParams.get('error'), 'login_required', 'no session after sign-out');
  });

  test('a used enrolment code is refused in a second flow', T, async () => {
    const p = person();
    const { code } = await enrolWithInvite(srv, { authorizeUrl: authRequest(srv, rp1).url, person: p });
    const w = new Walker(srv.issuer);
    const start = await w.authorize(authRequest(srv, rp1).url);
    assert.equal(start.kind, 'login');
    const entered = await w.enrolWithCode(start.flow, code, { loginHtml: start.html });
    assert.ok(!entered.ok, 'no #passkey-create for a used code');
    assert.ok(entered.res.status === 200 || (entered.res.status >= 400 && entered.res.status < 500), `status ${entered.res.status}`);
    const r = await w.registerPasskey(start.flow, new SoftAuthenticator({ origin: srv.issuer }));
    assert.ok(r.optionsRes.status >= 400 && r.optionsRes.status < 500, `register/options refused: ${r.optionsRes.status}`);
  });

  test('the same code is refused in a second flow even before a passkey exists', T, async () => {
    const p = person();
    const code = await srv.invite(p.person_number);
    const w1 = new Walker(srv.issuer);
    const s1 = await w1.authorize(authRequest(srv, rp1).url);
    assert.ok((await w1.enrolWithCode(s1.flow, code, { loginHtml: s1.html })).ok, 'first use accepted');
    const w2 = new Walker(srv.issuer);
    const s2 = await w2.authorize(authRequest(srv, rp1).url);
    const second = await w2.enrolWithCode(s2.flow, code, { loginHtml: s2.html });
    assert.ok(!second.ok, 'second flow refused');
  });

  test('after five wrong codes the flow is locked, even for the right code', T, async () => {
    const p = person();
    const code = await srv.invite(p.person_number);
    const w = new Walker(srv.issuer);
    const start = await w.authorize(authRequest(srv, rp1).url);
    assert.equal(start.kind, 'login');
    const codeUrl = new URL(`/enrol/code?flow=${encodeURIComponent(start.flow)}`, srv.issuer);
    for (let i = 0; i < 5; i++) {
      let wrong;
      do wrong = randomCode();
      while (wrong === code);
      const r = await w.submitCode(codeUrl, wrong);
      assert.ok(!r.ok, `wrong code ${i + 1} refused`);
      assert.ok(r.res.status < 500, `no server error: ${r.res.status}`);
    }
    const r = await w.submitCode(codeUrl, code).catch((e) => ({ ok: false, error: e }));
    assert.ok(!r.ok, 'the 6th attempt is refused even with the right code');
  });

  test('a body over 64 KiB is 413', T, async () => {
    const w = new Walker(srv.issuer);
    const start = await w.authorize(authRequest(srv, rp1).url);
    const big = JSON.stringify({ flow: start.flow, pad: 'a'.repeat(70 * 1024) });
    const res = await w.request('/webauthn/register/options', {
      method: 'POST',
      body: big,
      headers: { 'content-type': 'application/json' },
    });
    assert.equal(res.status, 413, `webauthn: ${res.status} ${res.text.slice(0, 200)}`);
    const tok = await w.request(meta.token_endpoint, {
      method: 'POST',
      body: `grant_type=authorization_code&code=${'a'.repeat(70 * 1024)}`,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      origin: false,
    });
    assert.equal(tok.status, 413, `token: ${tok.status} ${tok.text.slice(0, 200)}`);
  });

  test('malformed JSON is 400 invalid_request', T, async () => {
    const w = new Walker(srv.issuer);
    const start = await w.authorize(authRequest(srv, rp1).url);
    for (const body of [`{"flow": "${start.flow}"`, 'not json', '[]', '{"flow": 5}', '']) {
      const res = await w.request('/webauthn/login/options', {
        method: 'POST',
        body,
        headers: { 'content-type': 'application/json' },
      });
      assertJsonError(res, 400, 'invalid_request');
    }
  });

  test('bad base64url in a credential is 400', T, async () => {
    const e = enrolled.ES256;
    assert.ok(e, 'needs the ES256 journey');
    const mutations = [
      (c) => void (c.response.clientDataJSON = '!!not*base64url'),
      (c) => void (c.response.authenticatorData = 'a=b=c'),
      (c) => void (c.response.signature = '%%%'),
      (c) => void (c.rawId = '***'),
      (c) => void (c.response.clientDataJSON = Buffer.from('{not json').toString('base64url')),
      (c) => void delete c.response.signature,
      (c) => void (c.response = 'x'),
    ];
    for (const [i, mutate] of mutations.entries()) {
      const w = new Walker(srv.issuer);
      const start = await w.authorize(authRequest(srv, rp1).url);
      const r = await w.loginPasskey(start.flow, e.authenticator, { mutate });
      assert.equal(r.optionsRes.status, 200);
      assert.equal(r.res.status, 400, `mutation ${i}: ${r.res.status} ${r.res.text.slice(0, 200)}`);
      assertJsonError(r.res, 400);
    }
  });

  test('WebAuthn endpoints need the flow cookie and a same-origin request', T, async () => {
    const w = new Walker(srv.issuer);
    const start = await w.authorize(authRequest(srv, rp1).url);
    const other = new Walker(srv.issuer);
    const noCookie = await other.postJSON('/webauthn/login/options', { flow: start.flow });
    assert.ok(noCookie.status >= 400 && noCookie.status < 500, `flow from another browser refused: ${noCookie.status}`);
    const crossSite = await w.postJSON('/webauthn/login/options', { flow: start.flow }, { headers: { origin: 'https://evil.example.test' } });
    assert.ok(crossSite.status >= 400 && crossSite.status < 500, `cross-origin refused: ${crossSite.status}`);
    const unknown = await w.postJSON('/webauthn/login/options', { flow: 'no-such-flow' });
    assert.ok(unknown.status >= 400 && unknown.status < 500, `unknown flow refused: ${unknown.status}`);
  });

  test('the audit log verifies after all of that', T, async () => {
    const r = await srv.run(['audit', 'verify']);
    assert.equal(r.code, 0, `audit verify: ${r.stdout} ${r.stderr}`);
    assert.match(r.stdout, /[1-9][0-9]*/, `prints the entry count: ${r.stdout}`);
  });

  test('the server still answers /healthz after all of that', T, async () => {
    const res = await fetch(`${srv.issuer}/healthz`, { signal: AbortSignal.timeout(5000) });
    await res.text();
    assert.equal(res.status, 200);
  });
});
