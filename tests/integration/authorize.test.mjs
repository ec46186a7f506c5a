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
import { Walker, forms, hasId } from '../lib/browserless.mjs';
import { authRequest, discovery, enrolWithInvite, exchange, checkRedirect } from '../lib/flows.mjs';

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
    assert.equal(enc[0].alg, 'RSA-OAEP');
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

  test('discovery advertises request object encryption with RSA-OAEP and A256GCM', T, async () => {
    assert.deepEqual(meta.request_object_encryption_alg_values_supported, ['RSA-OAEP']);
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

  test('a request object encrypted with RSA-OAEP-256 is refused on the error page', T, async () => {
    const inner = authRequest(srv, jarClient);
    const jwt = await requestObject(Object.fromEntries(inner.url.searchParams));
    await refused(await encryptRequest(jwt, await encryptionKey(), { alg: 'RSA-OAEP-256' }));
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
