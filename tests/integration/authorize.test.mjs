// The authorization side of OpenID Connect beyond the basic path: response_mode=form_post,
// id_token_hint, the claims parameter with an essential acr, signed request objects (JAR,
// RFC 9101), also encrypted to the provider, request_uri, repeated parameters, and
// RP-initiated logout.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import * as jose from 'jose';

import { startServer, makePeople } from '../lib/server.mjs';
import { Walker, forms, hasId, tokenRequest } from '../lib/browserless.mjs';
import { authRequest, discovery, enrolWithInvite, exchange, checkRedirect, signInWithPasskey } from '../lib/flows.mjs';

const T = { timeout: 60000 };
const SUBSTANTIAL = 'http://eidas.europa.eu/NotNotified/LoA/substantial';
const HIGH = 'http://eidas.europa.eu/NotNotified/LoA/high';

describe('authorization requests and logout', { timeout: 240000 }, () => {
  let srv, meta, rp, jarClient, jarKey, person, signedIn, people;

  before(async () => {
    people = makePeople(3);
    srv = await startServer({ people });
    meta = await discovery(srv.issuer);
    rp = await srv.addClient({
      id: 'rp-authz',
      redirectUris: 'http://localhost:9/cb',
      postLogoutRedirectUris: 'http://localhost:9/bye',
    });
    rp.redirectUri = 'http://localhost:9/cb';
    // A client that signs its request objects with an ES256 key.
    const { publicKey, privateKey } = await jose.generateKeyPair('ES256', { extractable: true });
    const jwk = { ...(await jose.exportJWK(publicKey)), kid: 'jar-1', alg: 'ES256', use: 'sig' };
    const jwksFile = path.join(srv.dir, 'jar-jwks.json');
    fs.writeFileSync(jwksFile, JSON.stringify({ keys: [jwk] }));
    jarClient = await srv.addClient({
      id: 'rp-jar',
      redirectUris: 'http://localhost:9/jar',
      extra: ['--jwks-file', jwksFile],
    });
    jarClient.redirectUri = 'http://localhost:9/jar';
    jarKey = privateKey;
    person = people[0];
    signedIn = await enrolWithInvite(srv, { authorizeUrl: authRequest(srv, rp).url, person });
  });

  after(async () => {
    await srv?.stop();
  });

  test('response_mode=form_post answers with a self-submitting form carrying code, state, iss', T, async () => {
    const req = authRequest(srv, rp, { response_mode: 'form_post' });
    const res = await signedIn.walker.request(req.url);
    assert.equal(res.status, 200);
    const form = forms(res.text).find((f) => 'code' in f.hidden);
    assert.ok(form, 'a form with a hidden code');
    assert.equal(form.attrs.action, rp.redirectUri);
    assert.equal((form.attrs.method ?? '').toLowerCase(), 'post');
    assert.equal(form.hidden.state, req.state);
    assert.equal(form.hidden.iss, srv.issuer);
    assert.ok(/<button[^>]*type="submit"/.test(res.text), 'a submit button works without JavaScript');
    assert.ok(!/<script>/.test(res.text), 'no inline script');
    const tok = await exchange(meta, rp, form.hidden.code, req.verifier);
    assert.equal(tok.status, 200, tok.text);
  });

  test('form_post also carries errors', T, async () => {
    const w = new Walker(srv.issuer);
    const req = authRequest(srv, rp, { response_mode: 'form_post', prompt: 'none' });
    const res = await w.request(req.url);
    assert.equal(res.status, 200);
    const form = forms(res.text).find((f) => 'error' in f.hidden);
    assert.equal(form.hidden.error, 'login_required');
    assert.equal(form.hidden.state, req.state);
  });

  async function idToken() {
    const req = authRequest(srv, rp);
    const r = await signedIn.walker.authorize(req.url);
    assert.equal(r.kind, 'redirect');
    const code = checkRedirect(r.redirect, { redirectUri: rp.redirectUri, state: req.state, issuer: srv.issuer });
    const tok = await exchange(meta, rp, code, req.verifier);
    assert.equal(tok.status, 200, tok.text);
    return tok.json.id_token;
  }

  test('id_token_hint of the signed-in person lets prompt=none answer', T, async () => {
    const hint = await idToken();
    const req = authRequest(srv, rp, { prompt: 'none', id_token_hint: hint });
    const r = await signedIn.walker.authorize(req.url);
    assert.equal(r.kind, 'redirect');
    checkRedirect(r.redirect, { redirectUri: rp.redirectUri, state: req.state, issuer: srv.issuer });
  });

  test('id_token_hint of someone else with prompt=none is login_required', T, async () => {
    const other = people[1];
    const second = await enrolWithInvite(srv, { authorizeUrl: authRequest(srv, rp).url, person: other });
    const hint = await idToken();
    const req = authRequest(srv, rp, { prompt: 'none', id_token_hint: hint });
    const r = await second.walker.authorize(req.url);
    assert.equal(r.kind, 'redirect');
    assert.equal(r.redirect.searchParams.get('error'), 'login_required');
    assert.equal(r.redirect.searchParams.get('state'), req.state);
  });

  test('a forged id_token_hint is invalid_request', T, async () => {
    const hint = (await idToken()).replace(/.$/, (c) => (c === 'A' ? 'B' : 'A'));
    const req = authRequest(srv, rp, { id_token_hint: hint });
    const r = await signedIn.walker.authorize(req.url);
    assert.equal(r.kind, 'redirect');
    assert.equal(r.redirect.searchParams.get('error'), 'invalid_request');
  });

  test('an essential acr the person does not reach is refused, never lowered', T, async () => {
    const claims = JSON.stringify({ id_token: { acr: { essential: true, values: [HIGH] } } });
    const req = authRequest(srv, rp, { claims });
    const r = await signedIn.walker.authorize(req.url);
    // The live session does not reach it, so a new sign-in is asked; a fresh ceremony
    // would not reach it either. With prompt=none the answer is immediate:
    const none = await signedIn.walker.authorize(authRequest(srv, rp, { claims, prompt: 'none' }).url);
    assert.equal(none.kind, 'redirect');
    assert.equal(none.redirect.searchParams.get('error'), 'login_required');
    assert.equal(r.kind, 'login', 'no code is issued for an unreached essential level');
  });

  test('an essential acr the person reaches gives a code and that acr', T, async () => {
    const claims = JSON.stringify({ id_token: { acr: { essential: true, values: [SUBSTANTIAL] } } });
    const req = authRequest(srv, rp, { claims });
    const r = await signedIn.walker.authorize(req.url);
    assert.equal(r.kind, 'redirect');
    const code = checkRedirect(r.redirect, { redirectUri: rp.redirectUri, state: req.state, issuer: srv.issuer });
    const tok = await exchange(meta, rp, code, req.verifier);
    assert.equal(jose.decodeJwt(tok.json.id_token).acr, SUBSTANTIAL);
  });

  test('the claims parameter puts asked-for claims in the ID token and at userinfo', T, async () => {
    const claims = JSON.stringify({
      id_token: { family_name: null, duo_person_number: { essential: true } },
      userinfo: { given_name: null, birthdate: null },
    });
    const req = authRequest(srv, { ...rp, scope: 'openid' }, { claims });
    const r = await signedIn.walker.authorize(req.url);
    const code = checkRedirect(r.redirect, { redirectUri: rp.redirectUri, state: req.state, issuer: srv.issuer });
    const tok = await exchange(meta, rp, code, req.verifier);
    assert.equal(tok.status, 200, tok.text);
    const id = jose.decodeJwt(tok.json.id_token);
    assert.equal(id.family_name, person.family_name, 'family_name in the ID token');
    assert.equal(id.given_name, undefined, 'only what was asked');
    assert.equal(id.duo_person_number, undefined, 'never the person number for a client without duo');
    const ui = await fetch(meta.userinfo_endpoint, { headers: { authorization: `Bearer ${tok.json.access_token}` } });
    const info = await ui.json();
    assert.equal(info.given_name, person.given_names);
    assert.equal(info.birthdate, person.birthdate);
    assert.equal(info.family_name, undefined, 'scope openid alone adds nothing else');
  });

  test('acr_values above the person\'s level is access_denied', T, async () => {
    // A fresh sign-in at a level that is too low: the session cannot be used, so the
    // walker signs in again and the answer is an error, not a lowered acr.
    const req = authRequest(srv, rp, { acr_values: HIGH, prompt: 'none' });
    const r = await signedIn.walker.authorize(req.url);
    assert.equal(r.kind, 'redirect');
    assert.ok(['login_required', 'access_denied'].includes(r.redirect.searchParams.get('error')));
  });

  async function requestObject(claims, key = jarKey, kid = 'jar-1') {
    return new jose.SignJWT(claims)
      .setProtectedHeader({ alg: 'ES256', kid })
      .setIssuer(jarClient.client_id)
      .setAudience(srv.issuer)
      .setIssuedAt()
      .setExpirationTime('2m')
      .sign(key);
  }

  test('a signed request object (JAR) is honoured and its parameters win', T, async () => {
    const inner = authRequest(srv, jarClient);
    const params = Object.fromEntries(inner.url.searchParams);
    const jwt = await requestObject(params);
    const url = new URL('/authorize', srv.issuer);
    url.searchParams.set('client_id', jarClient.client_id);
    url.searchParams.set('request', jwt);
    url.searchParams.set('state', 'outer-state-is-ignored');
    const r = await signedIn.walker.authorize(url);
    assert.equal(r.kind, 'redirect');
    assert.equal(r.redirect.searchParams.get('state'), inner.state);
    checkRedirect(r.redirect, { redirectUri: jarClient.redirectUri, state: inner.state, issuer: srv.issuer });
  });

  test('a request object signed by another key is refused on the error page', T, async () => {
    const inner = authRequest(srv, jarClient);
    const { privateKey } = await jose.generateKeyPair('ES256');
    const jwt = await requestObject(Object.fromEntries(inner.url.searchParams), privateKey);
    const url = new URL('/authorize', srv.issuer);
    url.searchParams.set('client_id', jarClient.client_id);
    url.searchParams.set('request', jwt);
    const res = await signedIn.walker.request(url);
    assert.equal(res.status, 400);
    assert.equal(res.location, null, 'no redirect');
  });

  // ---- request objects encrypted to the provider (RFC 9101 §6.1, OIDC Core §6.3.3)

  async function encryptionKey() {
    const res = await fetch(meta.jwks_uri);
    const { keys } = await res.json();
    const enc = keys.filter((k) => k.use === 'enc');
    assert.equal(enc.length, 1, 'one encryption key in the JWKS');
    assert.equal(enc[0].alg, undefined, 'no alg: RSA-OAEP and RSA-OAEP-256 both go');
    assert.equal(enc[0].kty, 'RSA');
    return enc[0];
  }

  async function encryptRequest(plaintext, jwk, { alg = 'RSA-OAEP', kid = jwk.kid, key } = {}) {
    const to = key ?? (await jose.importJWK({ ...jwk, alg }, alg));
    return new jose.CompactEncrypt(new TextEncoder().encode(plaintext))
      .setProtectedHeader({ alg, enc: 'A256GCM', cty: 'JWT', ...(kid ? { kid } : {}) })
      .encrypt(to);
  }

  function requestUrl(request) {
    const url = new URL('/authorize', srv.issuer);
    url.searchParams.set('client_id', jarClient.client_id);
    url.searchParams.set('request', request);
    return url;
  }

  async function refused(request) {
    const res = await signedIn.walker.request(requestUrl(request));
    assert.equal(res.status, 400);
    assert.equal(res.location, null, 'no redirect');
  }

  test('discovery advertises request object encryption with RSA-OAEP(-256) and A256GCM', T, async () => {
    assert.deepEqual(meta.request_object_encryption_alg_values_supported, ['RSA-OAEP', 'RSA-OAEP-256']);
    assert.deepEqual(meta.request_object_encryption_enc_values_supported, ['A256GCM']);
    const jwk = await encryptionKey();
    assert.ok(!('d' in jwk), 'only the public half');
    assert.equal(jwk.kid, await jose.calculateJwkThumbprint(jwk), 'kid is the RFC 7638 thumbprint');
  });

  test('a signed request object encrypted to the provider is honoured', T, async () => {
    const inner = authRequest(srv, jarClient);
    const jwt = await requestObject(Object.fromEntries(inner.url.searchParams));
    const jwe = await encryptRequest(jwt, await encryptionKey());
    assert.equal(jwe.split('.').length, 5);
    const url = requestUrl(jwe);
    url.searchParams.set('state', 'outer-state-is-ignored');
    const r = await signedIn.walker.authorize(url);
    assert.equal(r.kind, 'redirect');
    const code = checkRedirect(r.redirect, { redirectUri: jarClient.redirectUri, state: inner.state, issuer: srv.issuer });
    assert.ok(code);
  });

  test('a request object encrypted with RSA-OAEP-256 is honoured too', T, async () => {
    const inner = authRequest(srv, jarClient);
    const jwt = await requestObject(Object.fromEntries(inner.url.searchParams));
    const r = await signedIn.walker.authorize(requestUrl(await encryptRequest(jwt, await encryptionKey(), { alg: 'RSA-OAEP-256' })));
    assert.equal(r.kind, 'redirect');
    assert.ok(checkRedirect(r.redirect, { redirectUri: jarClient.redirectUri, state: inner.state, issuer: srv.issuer }));
  });

  test('a request object with an encryption algorithm we do not take is refused', T, async () => {
    const inner = authRequest(srv, jarClient);
    const jwt = await requestObject(Object.fromEntries(inner.url.searchParams));
    await refused(await encryptRequest(jwt, await encryptionKey(), { alg: 'RSA-OAEP-384' }));
  });

  test('an encrypted but unsigned request object is refused', T, async () => {
    const inner = authRequest(srv, jarClient);
    const unsigned = new jose.UnsecuredJWT(Object.fromEntries(inner.url.searchParams))
      .setIssuer(jarClient.client_id)
      .setAudience(srv.issuer)
      .setIssuedAt()
      .setExpirationTime('2m')
      .encode();
    await refused(await encryptRequest(unsigned, await encryptionKey()));
  });

  test('a request object encrypted to another key is refused', T, async () => {
    const inner = authRequest(srv, jarClient);
    const jwt = await requestObject(Object.fromEntries(inner.url.searchParams));
    const ours = await encryptionKey();
    const { publicKey } = await jose.generateKeyPair('RSA-OAEP', { modulusLength: 3072 });
    // Under our kid, and without a kid.
    await refused(await encryptRequest(jwt, ours, { key: publicKey }));
    await refused(await encryptRequest(jwt, ours, { key: publicKey, kid: null }));
    // A correct one under an unknown kid is refused too.
    await refused(await encryptRequest(jwt, ours, { kid: 'not-our-key' }));
  });

  test('a request object signed by another key is refused even when encrypted to us', T, async () => {
    const inner = authRequest(srv, jarClient);
    const { privateKey } = await jose.generateKeyPair('ES256');
    const jwt = await requestObject(Object.fromEntries(inner.url.searchParams), privateKey);
    await refused(await encryptRequest(jwt, await encryptionKey()));
  });

  test('keys rotate --alg RSA-OAEP adds an encryption key; RSA-OAEP-256 is not an option', T, async () => {
    const before = await encryptionKey();
    const r = await srv.run(['keys', 'rotate', '--alg', 'RSA-OAEP']);
    assert.equal(r.code, 0, r.stderr);
    const kid = r.stdout.trim().split('\n').pop();
    assert.notEqual(kid, before.kid);
    const list = await srv.run(['keys', 'list']);
    assert.equal(list.code, 0, list.stderr);
    const enc = list.stdout.split('\n').filter((l) => l.split(' ')[1] === 'RSA-OAEP').map((l) => l.split(' ')[0]);
    assert.deepEqual(enc.sort(), [before.kid, kid].sort());
    const bad = await srv.run(['keys', 'rotate', '--alg', 'RSA-OAEP-256']);
    assert.notEqual(bad.code, 0);
  });

  test('an unknown request_uri is refused on the error page', T, async () => {
    const url = new URL('/authorize', srv.issuer);
    url.searchParams.set('client_id', rp.client_id);
    url.searchParams.set('request_uri', 'urn:ietf:params:oauth:request_uri:nothing-here');
    const res = await signedIn.walker.request(url);
    assert.equal(res.status, 400);
    assert.equal(res.location, null);
  });

  test('a repeated parameter is invalid_request', T, async () => {
    const req = authRequest(srv, rp);
    const url = new URL(req.url);
    url.searchParams.append('scope', 'openid');
    const r = await signedIn.walker.authorize(url);
    assert.equal(r.kind, 'redirect');
    assert.equal(r.redirect.searchParams.get('error'), 'invalid_request');
  });

  test('logout to an unregistered post_logout_redirect_uri is refused', T, async () => {
    const url = new URL('/logout', srv.issuer);
    url.searchParams.set('client_id', rp.client_id);
    url.searchParams.set('post_logout_redirect_uri', 'http://localhost:9/elsewhere');
    const res = await signedIn.walker.request(url);
    assert.equal(res.status, 400);
    assert.equal(res.location, null);
  });

  test('logout without a hint asks first, then returns to the registered URI with state', T, async () => {
    const url = new URL('/logout', srv.issuer);
    url.searchParams.set('client_id', rp.client_id);
    url.searchParams.set('post_logout_redirect_uri', 'http://localhost:9/bye');
    url.searchParams.set('state', 'bye-state');
    const page = await signedIn.walker.request(url);
    assert.equal(page.status, 200);
    assert.ok(hasId(page.text, 'logout'));
    const form = forms(page.text).find((f) => 'csrf' in f.hidden);
    // The session is still there until the person confirms.
    const still = await signedIn.walker.authorize(authRequest(srv, rp, { prompt: 'none' }).url);
    assert.equal(still.redirect.searchParams.get('error'), null);
    const done = await signedIn.walker.request(new URL(form.attrs.action, srv.issuer), { form: form.hidden });
    assert.equal(done.status, 302);
    const to = new URL(done.location);
    assert.equal(`${to.origin}${to.pathname}`, 'http://localhost:9/bye');
    assert.equal(to.searchParams.get('state'), 'bye-state');
  });

  test('logout with the id_token_hint of the session needs no confirmation', T, async () => {
    const again = await enrolWithInvite(srv, { authorizeUrl: authRequest(srv, rp).url, person: people[2] });
    const req = authRequest(srv, rp);
    const r = await again.walker.authorize(req.url);
    const code = checkRedirect(r.redirect, { redirectUri: rp.redirectUri, state: req.state, issuer: srv.issuer });
    const tok = await exchange(meta, rp, code, req.verifier);
    const url = new URL('/logout', srv.issuer);
    url.searchParams.set('id_token_hint', tok.json.id_token);
    url.searchParams.set('post_logout_redirect_uri', 'http://localhost:9/bye');
    const res = await again.walker.request(url);
    assert.equal(res.status, 302);
    assert.ok(res.location.startsWith('http://localhost:9/bye'));
    const none = await again.walker.authorize(authRequest(srv, rp, { prompt: 'none' }).url);
    assert.equal(none.redirect.searchParams.get('error'), 'login_required');
  });
});

// The authorization-request modules of the OpenID Foundation's Basic OP and Form Post OP
// plans (module names in each test's title), login_hint, and the errors of RFC 6749
// §4.1.2.1 and OIDC Core §3.1.2.6 in their right place.
describe('authorization requests as the OpenID conformance suite sends them', { timeout: 300000 }, () => {
  let srv, meta, rp, pkceOptional, signedIn, other, people;
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

  before(async () => {
    people = makePeople(3);
    srv = await startServer({ people });
    meta = await discovery(srv.issuer);
    rp = await srv.addClient({ id: 'rp-oidf', redirectUris: 'http://localhost:9/cb' });
    rp.redirectUri = 'http://localhost:9/cb';
    pkceOptional = await srv.addClient({ id: 'rp-oidf-nopkce', redirectUris: 'http://localhost:9/np', pkce: 'optional' });
    pkceOptional.redirectUri = 'http://localhost:9/np';
    signedIn = await enrolWithInvite(srv, { authorizeUrl: authRequest(srv, rp).url, person: people[0] });
    other = await enrolWithInvite(srv, { authorizeUrl: authRequest(srv, rp).url, person: people[1] });
  });

  after(async () => {
    await srv?.stop();
  });

  // A code for REQ answered at once by WALKER's session; returns the decoded ID token
  // and the token response.
  async function tokensFor(walker, req, client = rp) {
    const r = await walker.authorize(req.url);
    assert.equal(r.kind, 'redirect', `answered at once (${r.kind})`);
    const code = checkRedirect(r.redirect, { redirectUri: client.redirectUri, state: req.state, issuer: srv.issuer });
    const tok = await exchange(meta, client, code, req.verifier);
    assert.equal(tok.status, 200, tok.text);
    return { id: jose.decodeJwt(tok.json.id_token), tok };
  }

  // The error redirect for REQ (state and iss checked); returns its error code.
  async function errorFor(walker, url, state) {
    const r = await walker.authorize(url);
    assert.equal(r.kind, 'redirect', `an error redirect (${r.kind} ${r.res?.status})`);
    assert.equal(`${r.redirect.origin}${r.redirect.pathname}`, rp.redirectUri);
    assert.equal(r.redirect.searchParams.get('code'), null, 'no code');
    assert.equal(r.redirect.searchParams.get('state'), state, 'state echoed');
    assert.equal(r.redirect.searchParams.get('iss'), srv.issuer, 'iss (RFC 9207)');
    return r.redirect.searchParams.get('error');
  }

  async function errorPage(url) {
    const res = await signedIn.walker.request(url);
    assert.equal(res.status, 400);
    assert.equal(res.location, null, 'no redirect to an untrusted place');
    assert.ok(/<html/.test(res.text), 'a readable page');
  }

  test('oidcc-response-type-missing: invalid_request redirected in the query, also when form_post was asked', T, async () => {
    const req = authRequest(srv, rp, { response_type: null });
    assert.equal(await errorFor(signedIn.walker, req.url, req.state), 'invalid_request');
    const fp = authRequest(srv, rp, { response_type: null, response_mode: 'form_post' });
    assert.equal(await errorFor(signedIn.walker, fp.url, fp.state), 'invalid_request');
  });

  test('an unknown response_type is unsupported_response_type with state and iss', T, async () => {
    const req = authRequest(srv, rp, { response_type: 'token' });
    assert.equal(await errorFor(signedIn.walker, req.url, req.state), 'unsupported_response_type');
  });

  test('oidcc-ensure-registered-redirect-uri: an unregistered redirect_uri gets the error page', T, async () => {
    await errorPage(authRequest(srv, { ...rp, redirectUri: 'http://localhost:9/cb/other' }).url);
  });

  test('oidcc-ensure-redirect-uri-in-authorization-request: a missing redirect_uri gets the error page', T, async () => {
    await errorPage(authRequest(srv, rp, { redirect_uri: null }).url);
  });

  test('an unknown client_id gets the error page', T, async () => {
    await errorPage(authRequest(srv, { ...rp, client_id: 'nobody' }).url);
  });

  test('a scope without openid is invalid_scope, redirected', T, async () => {
    const req = authRequest(srv, { ...rp, scope: 'profile email' });
    assert.equal(await errorFor(signedIn.walker, req.url, req.state), 'invalid_scope');
  });

  test('an unknown prompt value is invalid_request; prompt=none with login is invalid_request', T, async () => {
    const a = authRequest(srv, rp, { prompt: 'sometimes' });
    assert.equal(await errorFor(signedIn.walker, a.url, a.state), 'invalid_request');
    const b = authRequest(srv, rp, { prompt: 'none login' });
    assert.equal(await errorFor(signedIn.walker, b.url, b.state), 'invalid_request');
  });

  test('a bad max_age is invalid_request', T, async () => {
    const req = authRequest(srv, rp, { max_age: '-5' });
    assert.equal(await errorFor(signedIn.walker, req.url, req.state), 'invalid_request');
  });

  test('a request_uri that is not ours is request_uri_not_supported (OIDC Core §3.1.2.6)', T, async () => {
    const req = authRequest(srv, rp, { request_uri: 'https://rp.example.test/request.jwt' });
    assert.equal(await errorFor(signedIn.walker, req.url, req.state), 'request_uri_not_supported');
  });

  test('oidcc-unsigned-request-object-supported-correctly-or-rejected-as-unsupported: alg none is never accepted', T, async () => {
    assert.ok(!meta.request_object_signing_alg_values_supported.includes('none'), 'none is not advertised');
    const inner = authRequest(srv, rp);
    const unsigned = new jose.UnsecuredJWT(Object.fromEntries(inner.url.searchParams))
      .setIssuer(rp.client_id)
      .setAudience(srv.issuer)
      .encode();
    const url = new URL('/authorize', srv.issuer);
    url.searchParams.set('client_id', rp.client_id);
    url.searchParams.set('request', unsigned);
    await errorPage(url);
  });

  test('oidcc-ensure-request-with-unknown-parameter-succeeds', T, async () => {
    const req = authRequest(srv, rp, { not_a_parameter: 'ignored', another_one: '1' });
    await tokensFor(signedIn.walker, req);
  });

  test('oidcc-ensure-other-scope-order-succeeds', T, async () => {
    const req = authRequest(srv, { ...rp, scope: 'email profile openid' });
    const { tok } = await tokensFor(signedIn.walker, req);
    assert.ok(tok.json.scope.split(' ').includes('openid'));
  });

  test('oidcc-ensure-request-without-nonce-succeeds-for-code-flow', T, async () => {
    const req = authRequest(srv, rp, { nonce: null });
    const { id } = await tokensFor(signedIn.walker, req);
    assert.equal(id.nonce, undefined, 'no nonce when none was sent');
  });

  test('oidcc-display-page and oidcc-display-popup: display is accepted', T, async () => {
    for (const display of ['page', 'popup']) await tokensFor(signedIn.walker, authRequest(srv, rp, { display }));
  });

  test('oidcc-ui-locales: the login page speaks the asked language', T, async () => {
    const w = new Walker(srv.issuer);
    const r = await w.authorize(authRequest(srv, rp, { ui_locales: 'de-CH fr' }).url);
    assert.equal(r.kind, 'login');
    assert.match(r.html, /<html lang="de"/);
    await tokensFor(signedIn.walker, authRequest(srv, rp, { ui_locales: 'nl' }));
    assert.ok(meta.ui_locales_supported.includes('zh-Hans') && meta.ui_locales_supported.length === 9);
  });

  test('oidcc-claims-locales: claims_locales is accepted', T, async () => {
    await tokensFor(signedIn.walker, authRequest(srv, rp, { claims_locales: 'nl en' }));
  });

  test('oidcc-ensure-request-with-acr-values-succeeds: the acr is in the ID token', T, async () => {
    const req = authRequest(srv, rp, { acr_values: `${meta.acr_values_supported[0]} ${meta.acr_values_supported[1]}` });
    const { id } = await tokensFor(signedIn.walker, req);
    assert.ok(meta.acr_values_supported.includes(id.acr), `acr ${id.acr}`);
  });

  test('oidcc-claims-essential: an essential userinfo claim is returned', T, async () => {
    const claims = JSON.stringify({ userinfo: { name: { essential: true } } });
    const { tok } = await tokensFor(signedIn.walker, authRequest(srv, { ...rp, scope: 'openid' }, { claims }));
    const info = await (await fetch(meta.userinfo_endpoint, { headers: { authorization: `Bearer ${tok.json.access_token}` } })).json();
    assert.equal(info.name, `${people[0].given_names} ${people[0].family_name}`);
  });

  test('oidcc-prompt-none-not-logged-in: login_required with state and iss', T, async () => {
    const req = authRequest(srv, rp, { prompt: 'none' });
    assert.equal(await errorFor(new Walker(srv.issuer), req.url, req.state), 'login_required');
  });

  test('oidcc-prompt-none-logged-in: a code at once', T, async () => {
    await tokensFor(signedIn.walker, authRequest(srv, rp, { prompt: 'none' }));
  });

  test('oidcc-max-age-10000: the session answers and auth_time is in the ID token', T, async () => {
    const { id } = await tokensFor(signedIn.walker, authRequest(srv, rp, { max_age: '10000' }));
    assert.equal(typeof id.auth_time, 'number');
    assert.ok(id.auth_time <= id.iat);
  });

  test('oidcc-prompt-login: a new passkey ceremony and a newer auth_time', T, async () => {
    const { id: before } = await tokensFor(signedIn.walker, authRequest(srv, rp));
    await sleep(1100); // auth_time counts whole seconds
    const req = authRequest(srv, rp, { prompt: 'login' });
    const again = await signInWithPasskey(srv, { authorizeUrl: req.url, authenticator: signedIn.authenticator, walker: signedIn.walker });
    const code = checkRedirect(again.redirect, { redirectUri: rp.redirectUri, state: req.state, issuer: srv.issuer });
    const tok = await exchange(meta, rp, code, req.verifier);
    const after = jose.decodeJwt(tok.json.id_token);
    assert.ok(after.auth_time > before.auth_time, `auth_time ${after.auth_time} > ${before.auth_time}`);
    assert.equal(after.sub, before.sub);
  });

  test('prompt=select_account asks for a new ceremony (the passkey chooser picks the account)', T, async () => {
    const r = await signedIn.walker.authorize(authRequest(srv, rp, { prompt: 'select_account' }).url);
    assert.equal(r.kind, 'login');
    const req = authRequest(srv, rp, { prompt: 'consent' });
    await tokensFor(signedIn.walker, req);
  });

  test('oidcc-max-age-1: an older session is not used; the new auth_time is in the ID token', T, async () => {
    const { id: before } = await tokensFor(signedIn.walker, authRequest(srv, rp));
    await sleep(2100); // the session must be more than one whole second old
    const none = authRequest(srv, rp, { max_age: '1', prompt: 'none' });
    assert.equal(await errorFor(signedIn.walker, none.url, none.state), 'login_required');
    const req = authRequest(srv, rp, { max_age: '1' });
    const again = await signInWithPasskey(srv, { authorizeUrl: req.url, authenticator: signedIn.authenticator, walker: signedIn.walker });
    const code = checkRedirect(again.redirect, { redirectUri: rp.redirectUri, state: req.state, issuer: srv.issuer });
    const after = jose.decodeJwt((await exchange(meta, rp, code, req.verifier)).json.id_token);
    assert.ok(after.auth_time > before.auth_time);
  });

  test('oidcc-ensure-post-request-succeeds: the authorization request as a POSTed form', T, async () => {
    const req = authRequest(srv, rp);
    const res = await signedIn.walker.request('/authorize', { form: Object.fromEntries(req.url.searchParams) });
    assert.equal(res.status, 302);
    const code = checkRedirect(new URL(res.location), { redirectUri: rp.redirectUri, state: req.state, issuer: srv.issuer });
    assert.equal((await exchange(meta, rp, code, req.verifier)).status, 200);
  });

  test('form_post plan: a POSTed request with response_mode=form_post answers with the form', T, async () => {
    const req = authRequest(srv, rp, { response_mode: 'form_post' });
    const res = await signedIn.walker.request('/authorize', { form: Object.fromEntries(req.url.searchParams) });
    assert.equal(res.status, 200);
    const form = forms(res.text).find((f) => 'code' in f.hidden);
    assert.equal(form.attrs.action, rp.redirectUri);
    assert.equal(form.hidden.state, req.state);
    assert.equal(form.hidden.iss, srv.issuer);
  });

  test('form_post plan: an unsupported response_type comes back in the form', T, async () => {
    const req = authRequest(srv, rp, { response_mode: 'form_post', response_type: 'id_token' });
    const res = await signedIn.walker.request(req.url);
    assert.equal(res.status, 200);
    const form = forms(res.text).find((f) => 'error' in f.hidden);
    assert.equal(form.hidden.error, 'unsupported_response_type');
    assert.equal(form.hidden.state, req.state);
    assert.equal(form.hidden.iss, srv.issuer);
  });

  test('oidcc-ensure-request-with-valid-pkce-succeeds and PKCE is optional only for clients registered so', T, async () => {
    await tokensFor(signedIn.walker, authRequest(srv, rp));
    const missing = authRequest(srv, rp, { code_challenge: null, code_challenge_method: null });
    assert.equal(await errorFor(signedIn.walker, missing.url, missing.state), 'invalid_request');
    const plain = authRequest(srv, rp, { code_challenge_method: 'plain' });
    assert.equal(await errorFor(signedIn.walker, plain.url, plain.state), 'invalid_request');
    const req = authRequest(srv, pkceOptional, { code_challenge: null, code_challenge_method: null });
    const r = await signedIn.walker.authorize(req.url);
    const code = checkRedirect(r.redirect, { redirectUri: pkceOptional.redirectUri, state: req.state, issuer: srv.issuer });
    const tok = await tokenRequest(
      meta.token_endpoint,
      { grant_type: 'authorization_code', code, redirect_uri: pkceOptional.redirectUri },
      { method: 'basic', id: pkceOptional.client_id, secret: pkceOptional.client_secret },
    );
    assert.equal(tok.status, 200, tok.text);
  });

  // ---- login_hint (OIDC Core §3.1.2.1): the session's own person, or a new sign-in

  test('oidcc-login-hint: a hint without a session leads to the login page, not an error', T, async () => {
    const r = await new Walker(srv.issuer).authorize(authRequest(srv, rp, { login_hint: `buffy@${new URL(srv.issuer).hostname}` }).url);
    assert.equal(r.kind, 'login');
  });

  test('login_hint with the session person\'s own sub or email (any case) lets prompt=none answer', T, async () => {
    const { id } = await tokensFor(signedIn.walker, authRequest(srv, rp));
    await tokensFor(signedIn.walker, authRequest(srv, rp, { prompt: 'none', login_hint: id.sub }));
    await tokensFor(signedIn.walker, authRequest(srv, rp, { prompt: 'none', login_hint: people[0].contact_email.toUpperCase() }));
  });

  test('login_hint naming someone else means a new sign-in: login_required with prompt=none', T, async () => {
    const { id: theirs } = await tokensFor(other.walker, authRequest(srv, rp));
    for (const hint of [theirs.sub, people[1].contact_email]) {
      const none = authRequest(srv, rp, { prompt: 'none', login_hint: hint });
      assert.equal(await errorFor(signedIn.walker, none.url, none.state), 'login_required');
      const r = await signedIn.walker.authorize(authRequest(srv, rp, { login_hint: hint }).url);
      assert.equal(r.kind, 'login', 'the session is not used for another person');
    }
  });

  test('login_hint never reveals whether a hinted person exists', T, async () => {
    // A known person who is not the session's and an unknown address get the same answer.
    const known = authRequest(srv, rp, { prompt: 'none', login_hint: people[2].contact_email });
    const unknown = authRequest(srv, rp, { prompt: 'none', login_hint: 'nobody-at-all@example.test' });
    const a = await signedIn.walker.authorize(known.url);
    const b = await signedIn.walker.authorize(unknown.url);
    assert.equal(a.redirect.searchParams.get('error'), 'login_required');
    assert.equal(b.redirect.searchParams.get('error'), a.redirect.searchParams.get('error'));
    assert.equal(b.redirect.searchParams.get('error_description'), a.redirect.searchParams.get('error_description'));
    const fresh = await new Walker(srv.issuer).authorize(authRequest(srv, rp, { login_hint: people[2].contact_email }).url);
    const fresh2 = await new Walker(srv.issuer).authorize(authRequest(srv, rp, { login_hint: 'nobody-at-all@example.test' }).url);
    assert.equal(fresh.kind, 'login');
    assert.equal(fresh2.kind, 'login');
    const page = (r) => r.html.replaceAll(r.flow, 'F').replace(/value="[^"]*"/g, '');
    assert.equal(page(fresh), page(fresh2), 'the same login page');
  });
});
