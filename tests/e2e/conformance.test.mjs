// Conformance of the token side (issue 3): client authentication (RFC 6749 §2.3.1,
// RFC 7523), refresh tokens with rotation and reuse detection, code reuse, revocation
// (RFC 7009), introspection (RFC 7662), PAR (RFC 9126), ID token encryption, signed
// userinfo, back-channel logout and discovery. openid-client drives the happy paths as
// a real RP, jose checks every token independently, raw fetch sends what is wrong.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import * as oidc from 'openid-client';
import { SignJWT, compactDecrypt, createRemoteJWKSet, decodeProtectedHeader, exportJWK, generateKeyPair, jwtVerify } from 'jose';
import { startServer, makePeople, freePort } from '../lib/server.mjs';
import { Walker, authorizationRequest, basicAuth } from '../lib/browserless.mjs';
import { enrolWithInvite } from '../lib/flows.mjs';

const T = { timeout: 60000 };
const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
const BCL_EVENT = 'http://schemas.openid.net/event/backchannel-logout';

// POSTs a form to URL; AUTH is { basic: [id, secret] } or nothing. Resolves to
// { status, headers, text, json }.
async function post(url, form, { basic, headers = {} } = {}) {
  const h = { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json', ...headers };
  if (basic) h.authorization = basicAuth(basic[0], basic[1]);
  const res = await fetch(url, {
    method: 'POST',
    headers: h,
    body: new URLSearchParams(form).toString(),
    signal: AbortSignal.timeout(15000),
  });
  const text = await res.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}

// A tiny relying-party back-channel endpoint that records what it receives.
async function startReceiver() {
  const port = await freePort();
  const got = [];
  const served = { jwks: { keys: [] } };
  const server = http.createServer((req, res) => {
    if (req.method === 'GET' && req.url === '/jwks') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(served.jwks));
      return;
    }
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      got.push({ path: req.url, type: req.headers['content-type'], body });
      res.writeHead(200, { 'cache-control': 'no-store' });
      res.end();
    });
  });
  await new Promise((r) => server.listen(port, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${port}`, got, served, close: () => new Promise((r) => server.close(r)) };
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

describe('conformance: tokens, client authentication and logout (issue 3)', { timeout: 600000 }, () => {
  const people = makePeople(4);
  const person = people[0];
  let srv, meta, walker, receiver, jwks;
  const keys = {};
  const c = {};

  // Registers a client; remembers its redirect URI and secret.
  async function client(id, opts = {}) {
    const redirectUri = `https://${id}.example.test/cb`;
    const reg = await srv.addClient({ id, redirectUris: [redirectUri], ...opts });
    return { id, redirectUri, secret: reg.client_secret, ...opts };
  }

  // Writes a JWKS file of public JWKs and returns its path.
  function jwksFile(name, ...publicJwks) {
    const file = path.join(srv.dir, `${name}.jwks.json`);
    fs.writeFileSync(file, JSON.stringify({ keys: publicJwks }));
    return file;
  }

  // Makes a key pair and its public JWK with kid.
  async function keyPair(alg, kid, extra = {}) {
    const opts = alg.startsWith('RS') || alg.startsWith('PS') || alg.startsWith('RSA') ? { modulusLength: 2048 } : {};
    const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true, ...opts });
    const jwk = { ...(await exportJWK(publicKey)), kid, alg, ...extra };
    return { publicKey, privateKey, jwk, kid, alg };
  }

  // A signed client assertion for client id with key; OVER replaces claims or header.
  async function assertion(id, key, over = {}) {
    const now = Math.floor(Date.now() / 1000);
    const claims = { iss: id, sub: id, aud: `${srv.issuer}/token`, jti: crypto.randomUUID(), iat: now, exp: now + 60, ...over.claims };
    for (const [k, v] of Object.entries(claims)) if (v === undefined) delete claims[k];
    return new SignJWT(claims).setProtectedHeader({ alg: key.alg, kid: key.kid, ...over.header }).sign(key.privateKey);
  }

  // Gets an authorization code for CLIENT from the signed-in walker.
  async function code(cl, { scope = 'openid profile', extra = {} } = {}) {
    const a = authorizationRequest(srv.issuer, { clientId: cl.id, redirectUri: cl.redirectUri, scope, extra });
    const r = await walker.authorize(a.url);
    assert.equal(r.kind, 'redirect', `session answers at once (${r.kind} ${r.res?.status})`);
    assert.equal(r.redirect.searchParams.get('error'), null, r.redirect.searchParams.get('error_description') ?? '');
    return { code: r.redirect.searchParams.get('code'), verifier: a.verifier, nonce: a.nonce, state: a.state, url: a.url };
  }

  // Redeems a code with client_secret_basic (or AUTH: form fields / basic override).
  function redeem(cl, got, { form = {}, basic } = {}) {
    const f = { grant_type: 'authorization_code', code: got.code, redirect_uri: cl.redirectUri, code_verifier: got.verifier, ...form };
    return post(meta.token_endpoint, f, { basic: basic === undefined ? (cl.secret ? [cl.id, cl.secret] : undefined) : basic });
  }

  function refresh(cl, token, extra = {}) {
    return post(meta.token_endpoint, { grant_type: 'refresh_token', refresh_token: token, ...extra }, { basic: [cl.id, cl.secret] });
  }

  function userinfo(token) {
    return fetch(meta.userinfo_endpoint, { headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(15000) });
  }

  before(async () => {
    receiver = await startReceiver();
    srv = await startServer({ people });
    keys.es = await keyPair('ES256', 'rp-es-1');
    keys.ed = await keyPair('EdDSA', 'rp-ed-1');
    keys.other = await keyPair('ES256', 'rp-es-1'); // same kid, other key
    keys.enc = await keyPair('RSA-OAEP', 'rp-enc-1', { use: 'enc' });
    c.basic = await client('c-basic', {
      auth: 'client_secret_basic',
      scopes: ['openid', 'profile', 'offline_access'],
      extra: ['--backchannel-logout-uri', `${receiver.url}/bcl/basic`],
    });
    c.post = await client('c-post', { auth: 'client_secret_post' });
    c.pub = await client('c-public', { auth: 'none', scopes: ['openid', 'profile', 'offline_access'] });
    c.pkjwt = await client('c-pkjwt', {
      auth: 'private_key_jwt',
      idTokenAlg: 'ES256',
      scopes: ['openid', 'profile', 'offline_access'],
      extra: ['--jwks-file', jwksFile('pkjwt', keys.es.jwk), '--backchannel-logout-uri', `${receiver.url}/bcl/pkjwt`],
    });
    c.ed = await client('c-eddsa', { auth: 'private_key_jwt', extra: ['--jwks-file', jwksFile('ed', keys.ed.jwk)] });
    c.enc = await client('c-enc', {
      auth: 'client_secret_basic',
      extra: ['--jwks-file', jwksFile('enc', keys.enc.jwk), '--id-token-enc-alg', 'RSA-OAEP', '--userinfo-alg', 'ES256'],
    });
    keys.uri = await keyPair('PS256', 'rp-ps-1');
    receiver.served.jwks = { keys: [keys.uri.jwk] };
    c.uri = await client('c-jwks-uri', { auth: 'private_key_jwt', extra: ['--jwks-uri', `${receiver.url}/jwks`] });
    c.par = await client('c-par', { auth: 'client_secret_basic', extra: ['--require-par'] });
    meta = await (await fetch(`${srv.issuer}/.well-known/openid-configuration`)).json();
    jwks = createRemoteJWKSet(new URL(meta.jwks_uri));

    // One person signs in once (enrolment); every later code comes from the session.
    const a = authorizationRequest(srv.issuer, { clientId: c.basic.id, redirectUri: c.basic.redirectUri });
    const enrolled = await enrolWithInvite(srv, { authorizeUrl: a.url, person });
    walker = enrolled.walker;
    assert.ok(enrolled.redirect.searchParams.get('code'), 'enrolment ends with a code');
  });

  after(async () => {
    await receiver?.close();
    await srv?.stop();
  });

  // ---- discovery and headers

  test('discovery lists the token-side endpoints and methods', T, async () => {
    const res = await fetch(`${srv.issuer}/.well-known/openid-configuration`);
    assert.match(res.headers.get('cache-control') ?? '', /max-age=\d+/);
    for (const k of ['revocation_endpoint', 'introspection_endpoint', 'pushed_authorization_request_endpoint']) {
      assert.ok(meta[k]?.startsWith(srv.issuer), k);
    }
    assert.equal(meta.require_pushed_authorization_requests, false);
    assert.deepEqual([...meta.token_endpoint_auth_methods_supported].sort(), ['client_secret_basic', 'client_secret_post', 'none', 'private_key_jwt']);
    assert.deepEqual([...meta.token_endpoint_auth_signing_alg_values_supported].sort(), ['ES256', 'EdDSA', 'PS256', 'RS256']);
    assert.ok(meta.grant_types_supported.includes('refresh_token'));
    assert.ok(meta.scopes_supported.includes('offline_access'));
    assert.equal(meta.backchannel_logout_supported, true);
    assert.equal(meta.backchannel_logout_session_supported, true);
    assert.equal(meta.request_uri_parameter_supported, false, 'we never fetch request_uri by URL');
    assert.deepEqual(meta.id_token_encryption_alg_values_supported, ['RSA-OAEP']);
  });

  test('the JWKS carries cache headers and only public keys', T, async () => {
    const res = await fetch(meta.jwks_uri);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('cache-control') ?? '', /max-age=\d+/);
    const doc = await res.json();
    for (const k of doc.keys) for (const p of ['d', 'p', 'q', 'dp', 'dq', 'qi']) assert.ok(!(p in k), `no private ${p}`);
  });

  test('token responses carry Cache-Control: no-store and Pragma: no-cache', T, async () => {
    const got = await code(c.basic);
    const r = await redeem(c.basic, got);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.headers.get('cache-control'), 'no-store');
    assert.equal(r.headers.get('pragma'), 'no-cache');
    const bad = await redeem(c.basic, got);
    assert.equal(bad.status, 400);
    assert.equal(bad.headers.get('cache-control'), 'no-store');
  });

  // ---- client authentication

  test('client_secret_basic through openid-client', T, async () => {
    const config = await oidc.discovery(new URL(srv.issuer), c.basic.id, { redirect_uris: [c.basic.redirectUri] }, oidc.ClientSecretBasic(c.basic.secret), {
      execute: [oidc.allowInsecureRequests],
    });
    const got = await code(c.basic);
    const cb = new URL(`${c.basic.redirectUri}?code=${encodeURIComponent(got.code)}&state=${got.state}&iss=${encodeURIComponent(srv.issuer)}`);
    const tokens = await oidc.authorizationCodeGrant(config, cb, { pkceCodeVerifier: got.verifier, expectedState: got.state, expectedNonce: got.nonce });
    const { payload } = await jwtVerify(tokens.id_token, jwks, { issuer: srv.issuer, audience: c.basic.id });
    assert.equal(payload.nonce, got.nonce);
    assert.ok(payload.sid, 'sid in the ID token');
  });

  test('client_secret_basic with a wrong secret is 401 invalid_client with WWW-Authenticate', T, async () => {
    const r = await post(meta.token_endpoint, { grant_type: 'authorization_code', code: 'x', redirect_uri: c.basic.redirectUri }, { basic: [c.basic.id, 'wrong'] });
    assert.equal(r.status, 401);
    assert.equal(r.json.error, 'invalid_client');
    assert.match(r.headers.get('www-authenticate') ?? '', /^Basic /);
  });

  test('client_secret_basic decodes form-urlencoded id and secret', T, async () => {
    // basicAuth form-encodes; a raw (not encoded) secret with reserved characters would differ.
    const got = await code(c.basic);
    const r = await redeem(c.basic, got);
    assert.equal(r.status, 200, r.text);
  });

  test('client_secret_post through openid-client', T, async () => {
    const config = await oidc.discovery(new URL(srv.issuer), c.post.id, { redirect_uris: [c.post.redirectUri] }, oidc.ClientSecretPost(c.post.secret), {
      execute: [oidc.allowInsecureRequests],
    });
    const got = await code(c.post);
    const cb = new URL(`${c.post.redirectUri}?code=${encodeURIComponent(got.code)}&state=${got.state}&iss=${encodeURIComponent(srv.issuer)}`);
    const tokens = await oidc.authorizationCodeGrant(config, cb, { pkceCodeVerifier: got.verifier, expectedState: got.state, expectedNonce: got.nonce });
    assert.ok(tokens.access_token);
  });

  test('a client_secret_post client cannot use Basic (not its registered method)', T, async () => {
    const got = await code(c.post);
    const r = await redeem(c.post, got, { basic: [c.post.id, c.post.secret] });
    assert.equal(r.status, 401);
    assert.equal(r.json.error, 'invalid_client');
  });

  test('two authentication methods at once are invalid_request', T, async () => {
    const r = await post(meta.token_endpoint, { grant_type: 'authorization_code', code: 'x', client_secret: c.basic.secret }, { basic: [c.basic.id, c.basic.secret] });
    assert.equal(r.status, 400);
    assert.equal(r.json.error, 'invalid_request');
  });

  test('none: a public client redeems with PKCE and gets no secret-less bypass', T, async () => {
    const got = await code(c.pub);
    const bad = await post(meta.token_endpoint, { grant_type: 'authorization_code', code: got.code, redirect_uri: c.pub.redirectUri, client_id: c.pub.id });
    assert.equal(bad.status, 400, 'no verifier');
    assert.equal(bad.json.error, 'invalid_grant');
    const got2 = await code(c.pub);
    const ok = await post(meta.token_endpoint, { grant_type: 'authorization_code', code: got2.code, redirect_uri: c.pub.redirectUri, client_id: c.pub.id, code_verifier: got2.verifier });
    assert.equal(ok.status, 200, ok.text);
  });

  test('private_key_jwt (ES256) through openid-client', T, async () => {
    const config = await oidc.discovery(
      new URL(srv.issuer),
      c.pkjwt.id,
      { redirect_uris: [c.pkjwt.redirectUri], id_token_signed_response_alg: 'ES256' },
      oidc.PrivateKeyJwt({ key: keys.es.privateKey, kid: keys.es.kid }),
      { execute: [oidc.allowInsecureRequests] },
    );
    const got = await code(c.pkjwt);
    const cb = new URL(`${c.pkjwt.redirectUri}?code=${encodeURIComponent(got.code)}&state=${got.state}&iss=${encodeURIComponent(srv.issuer)}`);
    const tokens = await oidc.authorizationCodeGrant(config, cb, { pkceCodeVerifier: got.verifier, expectedState: got.state, expectedNonce: got.nonce });
    assert.equal(decodeProtectedHeader(tokens.id_token).alg, 'ES256');
  });

  // Redeems a fresh code of client cl with a client assertion made by make().
  async function withAssertion(cl, jwt, extra = {}) {
    const got = await code(cl);
    return post(meta.token_endpoint, {
      grant_type: 'authorization_code',
      code: got.code,
      redirect_uri: cl.redirectUri,
      code_verifier: got.verifier,
      client_assertion_type: ASSERTION_TYPE,
      client_assertion: jwt,
      ...extra,
    });
  }

  test('private_key_jwt (EdDSA) with aud = issuer', T, async () => {
    const r = await withAssertion(c.ed, await assertion(c.ed.id, keys.ed, { claims: { aud: srv.issuer } }));
    assert.equal(r.status, 200, r.text);
  });

  test('private_key_jwt (PS256) with keys from the client jwks_uri', T, async () => {
    const r = await withAssertion(c.uri, await assertion(c.uri.id, keys.uri));
    assert.equal(r.status, 200, r.text);
    const stranger = await keyPair('PS256', 'rp-ps-2');
    const bad = await withAssertion(c.uri, await assertion(c.uri.id, stranger));
    assert.equal(bad.status, 401, 'a key not in the jwks_uri document');
  });

  test('private_key_jwt: a jti is never accepted twice', T, async () => {
    const jwt = await assertion(c.pkjwt.id, keys.es);
    assert.equal((await withAssertion(c.pkjwt, jwt)).status, 200);
    const again = await withAssertion(c.pkjwt, jwt);
    assert.equal(again.status, 401);
    assert.equal(again.json.error, 'invalid_client');
  });

  const badAssertions = [
    ['wrong aud', { claims: { aud: 'https://elsewhere.example/token' } }],
    ['no exp', { claims: { exp: undefined } }],
    ['expired', { claims: { exp: Math.floor(Date.now() / 1000) - 3600 } }],
    ['exp too far ahead', { claims: { exp: Math.floor(Date.now() / 1000) + 86400 } }],
    ['iss is not sub', { claims: { sub: 'someone-else' } }],
    ['no jti', { claims: { jti: undefined } }],
  ];
  for (const [name, over] of badAssertions) {
    test(`private_key_jwt refused: ${name}`, T, async () => {
      const r = await withAssertion(c.pkjwt, await assertion(c.pkjwt.id, keys.es, over));
      assert.equal(r.status, 401, r.text);
      assert.equal(r.json.error, 'invalid_client');
    });
  }

  test('private_key_jwt refused: signed by an unregistered key with the same kid', T, async () => {
    const r = await withAssertion(c.pkjwt, await assertion(c.pkjwt.id, keys.other));
    assert.equal(r.status, 401);
  });

  test('private_key_jwt refused: HS256 with a guessable secret (alg not registered)', T, async () => {
    const now = Math.floor(Date.now() / 1000);
    const jwt = await new SignJWT({ iss: c.pkjwt.id, sub: c.pkjwt.id, aud: `${srv.issuer}/token`, jti: crypto.randomUUID(), exp: now + 60 })
      .setProtectedHeader({ alg: 'HS256', kid: keys.es.kid })
      .sign(new TextEncoder().encode('x'.repeat(32)));
    const r = await withAssertion(c.pkjwt, jwt);
    assert.equal(r.status, 401);
  });

  test('private_key_jwt refused: wrong client_assertion_type', T, async () => {
    const r = await withAssertion(c.pkjwt, await assertion(c.pkjwt.id, keys.es), { client_assertion_type: 'urn:example:other' });
    assert.equal(r.status, 400);
    assert.equal(r.json.error, 'invalid_request');
  });

  test('a private_key_jwt client cannot fall back to a secret', T, async () => {
    const got = await code(c.pkjwt);
    const r = await redeem(c.pkjwt, got, { basic: [c.pkjwt.id, 'anything'] });
    assert.equal(r.status, 401);
  });

  // ---- refresh tokens

  test('offline_access gives a refresh token to an allowed client, not otherwise', T, async () => {
    const withOffline = await redeem(c.basic, await code(c.basic, { scope: 'openid offline_access' }));
    assert.equal(withOffline.status, 200, withOffline.text);
    assert.equal(typeof withOffline.json.refresh_token, 'string');
    const without = await redeem(c.basic, await code(c.basic, { scope: 'openid' }));
    assert.equal(without.json.refresh_token, undefined);
    const notAllowed = await redeem(c.post, await code(c.post, { scope: 'openid offline_access' }), {
      basic: null,
      form: { client_id: c.post.id, client_secret: c.post.secret },
    });
    assert.equal(notAllowed.status, 200, notAllowed.text);
    assert.equal(notAllowed.json.refresh_token, undefined, 'client not registered for offline_access');
  });

  test('refresh tokens rotate through openid-client, with a fresh ID token', T, async () => {
    const config = await oidc.discovery(new URL(srv.issuer), c.basic.id, { redirect_uris: [c.basic.redirectUri] }, oidc.ClientSecretBasic(c.basic.secret), {
      execute: [oidc.allowInsecureRequests],
    });
    const first = await redeem(c.basic, await code(c.basic, { scope: 'openid profile offline_access' }));
    const next = await oidc.refreshTokenGrant(config, first.json.refresh_token);
    assert.ok(next.refresh_token && next.refresh_token !== first.json.refresh_token, 'rotated');
    assert.ok(next.access_token);
    const { payload } = await jwtVerify(next.id_token, jwks, { issuer: srv.issuer, audience: c.basic.id });
    const firstSub = JSON.parse(Buffer.from(first.json.id_token.split('.')[1], 'base64url')).sub;
    assert.equal(payload.sub, firstSub, 'same sub after refresh');
    assert.equal(payload.nonce, undefined, 'no nonce in a refreshed ID token');
  });

  test('a reused refresh token revokes the whole family', T, async () => {
    const first = await redeem(c.basic, await code(c.basic, { scope: 'openid profile offline_access' }));
    const r1 = await refresh(c.basic, first.json.refresh_token);
    assert.equal(r1.status, 200, r1.text);
    const reuse = await refresh(c.basic, first.json.refresh_token);
    assert.equal(reuse.status, 400);
    assert.equal(reuse.json.error, 'invalid_grant');
    const r2 = await refresh(c.basic, r1.json.refresh_token);
    assert.equal(r2.status, 400, 'the newest token died with its family');
    assert.equal((await userinfo(r1.json.access_token)).status, 401, 'access tokens of the family too');
    assert.equal((await userinfo(first.json.access_token)).status, 401);
  });

  test('a refresh token is bound to its client', T, async () => {
    const first = await redeem(c.basic, await code(c.basic, { scope: 'openid offline_access' }));
    const other = await post(meta.token_endpoint, { grant_type: 'refresh_token', refresh_token: first.json.refresh_token, client_id: c.post.id, client_secret: c.post.secret });
    assert.equal(other.status, 400);
    assert.equal(other.json.error, 'invalid_grant');
    const mine = await refresh(c.basic, first.json.refresh_token);
    assert.equal(mine.status, 200, 'the wrong client did not consume it');
  });

  test('refresh may narrow the scope but not widen it', T, async () => {
    const first = await redeem(c.basic, await code(c.basic, { scope: 'openid offline_access' }));
    const wider = await refresh(c.basic, first.json.refresh_token, { scope: 'openid profile offline_access' });
    assert.equal(wider.status, 400);
    assert.equal(wider.json.error, 'invalid_scope');
  });

  test('a public client refreshes with its client_id only', T, async () => {
    const got = await code(c.pub, { scope: 'openid offline_access' });
    const first = await post(meta.token_endpoint, { grant_type: 'authorization_code', code: got.code, redirect_uri: c.pub.redirectUri, client_id: c.pub.id, code_verifier: got.verifier });
    assert.equal(typeof first.json.refresh_token, 'string');
    const r = await post(meta.token_endpoint, { grant_type: 'refresh_token', refresh_token: first.json.refresh_token, client_id: c.pub.id });
    assert.equal(r.status, 200, r.text);
  });

  test('a garbage refresh token is invalid_grant', T, async () => {
    const r = await refresh(c.basic, 'not-a-token');
    assert.equal(r.status, 400);
    assert.equal(r.json.error, 'invalid_grant');
  });

  // ---- code reuse

  test('a reused code is refused and revokes the tokens issued from it', T, async () => {
    const got = await code(c.basic, { scope: 'openid profile offline_access' });
    const first = await redeem(c.basic, got);
    assert.equal(first.status, 200);
    assert.equal((await userinfo(first.json.access_token)).status, 200);
    const second = await redeem(c.basic, got);
    assert.equal(second.status, 400);
    assert.equal(second.json.error, 'invalid_grant');
    assert.equal((await userinfo(first.json.access_token)).status, 401, 'access token revoked');
    assert.equal((await refresh(c.basic, first.json.refresh_token)).status, 400, 'refresh token revoked');
  });

  // ---- userinfo errors

  test('userinfo without a token is 401 with a Bearer challenge', T, async () => {
    const res = await fetch(meta.userinfo_endpoint);
    assert.equal(res.status, 401);
    assert.match(res.headers.get('www-authenticate') ?? '', /^Bearer/);
  });

  test('userinfo with a bad token is 401 error="invalid_token"', T, async () => {
    const res = await userinfo('abc.def.ghi');
    assert.equal(res.status, 401);
    assert.match(res.headers.get('www-authenticate') ?? '', /error="invalid_token"/);
  });

  // ---- revocation

  test('revoke an access token (RFC 7009): userinfo and introspection stop', T, async () => {
    const t = await redeem(c.basic, await code(c.basic));
    const r = await post(meta.revocation_endpoint, { token: t.json.access_token, token_type_hint: 'access_token' }, { basic: [c.basic.id, c.basic.secret] });
    assert.equal(r.status, 200);
    assert.equal((await userinfo(t.json.access_token)).status, 401);
    const i = await post(meta.introspection_endpoint, { token: t.json.access_token }, { basic: [c.basic.id, c.basic.secret] });
    assert.equal(i.json.active, false);
  });

  test('revoke a refresh token ends its grant (wrong hint is searched past)', T, async () => {
    const t = await redeem(c.basic, await code(c.basic, { scope: 'openid offline_access' }));
    const r = await post(meta.revocation_endpoint, { token: t.json.refresh_token, token_type_hint: 'access_token' }, { basic: [c.basic.id, c.basic.secret] });
    assert.equal(r.status, 200);
    assert.equal((await refresh(c.basic, t.json.refresh_token)).status, 400);
    assert.equal((await userinfo(t.json.access_token)).status, 401);
  });

  test('revoke answers 200 for an unknown token', T, async () => {
    const r = await post(meta.revocation_endpoint, { token: 'unknown-token' }, { basic: [c.basic.id, c.basic.secret] });
    assert.equal(r.status, 200);
  });

  test('revoke needs client authentication and a token', T, async () => {
    const r = await post(meta.revocation_endpoint, { token: 'x' }, { basic: [c.basic.id, 'wrong'] });
    assert.equal(r.status, 401);
    assert.equal(r.json.error, 'invalid_client');
    const none = await post(meta.revocation_endpoint, {}, { basic: [c.basic.id, c.basic.secret] });
    assert.equal(none.status, 400);
    assert.equal(none.json.error, 'invalid_request');
  });

  test("revoke refuses another client's token and leaves it working", T, async () => {
    const t = await redeem(c.basic, await code(c.basic));
    const other = await post(meta.revocation_endpoint, { token: t.json.access_token, client_id: c.post.id, client_secret: c.post.secret });
    assert.notEqual(other.status, 200);
    assert.equal((await userinfo(t.json.access_token)).status, 200);
  });

  // ---- introspection

  test('introspection of an active access token', T, async () => {
    const t = await redeem(c.basic, await code(c.basic));
    const i = await post(meta.introspection_endpoint, { token: t.json.access_token }, { basic: [c.basic.id, c.basic.secret] });
    assert.equal(i.status, 200);
    assert.equal(i.headers.get('cache-control'), 'no-store');
    assert.equal(i.json.active, true);
    assert.equal(i.json.client_id, c.basic.id);
    assert.equal(i.json.token_type, 'Bearer');
    assert.equal(typeof i.json.scope, 'string');
    assert.equal(typeof i.json.sub, 'string');
    assert.equal(typeof i.json.exp, 'number');
    assert.equal(typeof i.json.iat, 'number');
  });

  test('introspection of an active refresh token', T, async () => {
    const t = await redeem(c.basic, await code(c.basic, { scope: 'openid offline_access' }));
    const i = await post(meta.introspection_endpoint, { token: t.json.refresh_token, token_type_hint: 'refresh_token' }, { basic: [c.basic.id, c.basic.secret] });
    assert.equal(i.json.active, true);
    assert.ok(i.json.scope.includes('offline_access'));
  });

  test('introspection says active false for garbage and for other clients', T, async () => {
    const g = await post(meta.introspection_endpoint, { token: 'garbage' }, { basic: [c.basic.id, c.basic.secret] });
    assert.deepEqual(g.json, { active: false });
    const t = await redeem(c.basic, await code(c.basic));
    const other = await post(meta.introspection_endpoint, { token: t.json.access_token, client_id: c.post.id, client_secret: c.post.secret });
    assert.deepEqual(other.json, { active: false });
  });

  test('introspection needs an authenticated (not public) client', T, async () => {
    const anon = await post(meta.introspection_endpoint, { token: 'x' });
    assert.equal(anon.status, 401);
    const pub = await post(meta.introspection_endpoint, { token: 'x', client_id: c.pub.id });
    assert.equal(pub.status, 401);
    assert.equal(pub.json.error, 'invalid_client');
  });

  // ---- PAR

  function parForm(cl, extra = {}) {
    const a = authorizationRequest(srv.issuer, { clientId: cl.id, redirectUri: cl.redirectUri });
    const form = Object.fromEntries(a.url.searchParams);
    return { a, form: { ...form, ...extra } };
  }

  test('PAR returns a one-time request_uri (201, expires_in 60)', T, async () => {
    const { form } = parForm(c.par);
    const r = await post(meta.pushed_authorization_request_endpoint, form, { basic: [c.par.id, c.par.secret] });
    assert.equal(r.status, 201, r.text);
    assert.match(r.json.request_uri, /^urn:ietf:params:oauth:request_uri:[A-Za-z0-9_-]{32,}$/);
    assert.equal(r.json.expires_in, 60);
    assert.equal(r.headers.get('cache-control'), 'no-store');
  });

  test('PAR needs client authentication', T, async () => {
    const { form } = parForm(c.par);
    const r = await post(meta.pushed_authorization_request_endpoint, form, { basic: [c.par.id, 'wrong'] });
    assert.equal(r.status, 401);
  });

  test('PAR refuses an unregistered redirect_uri and a request_uri parameter', T, async () => {
    const bad = await post(meta.pushed_authorization_request_endpoint, parForm(c.par, { redirect_uri: 'https://evil.example/cb' }).form, { basic: [c.par.id, c.par.secret] });
    assert.equal(bad.status, 400);
    assert.equal(bad.json.error, 'invalid_request');
    const nested = await post(meta.pushed_authorization_request_endpoint, parForm(c.par, { request_uri: 'urn:ietf:params:oauth:request_uri:abc' }).form, { basic: [c.par.id, c.par.secret] });
    assert.equal(nested.status, 400);
  });

  test('PAR through openid-client: the request_uri works once at /authorize', T, async () => {
    const config = await oidc.discovery(new URL(srv.issuer), c.par.id, { redirect_uris: [c.par.redirectUri] }, oidc.ClientSecretBasic(c.par.secret), {
      execute: [oidc.allowInsecureRequests],
    });
    const verifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const url = await oidc.buildAuthorizationUrlWithPAR(config, {
      redirect_uri: c.par.redirectUri,
      scope: 'openid profile',
      state,
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
    });
    assert.ok(url.searchParams.get('request_uri'));
    const r = await walker.authorize(url);
    assert.equal(r.kind, 'redirect', `authorize answered ${r.kind} ${r.res?.status}`);
    const tokens = await oidc.authorizationCodeGrant(config, r.redirect, { pkceCodeVerifier: verifier, expectedState: state });
    assert.ok(tokens.id_token);
    const again = await walker.authorize(url);
    assert.ok(!(again.kind === 'redirect' && again.redirect.searchParams.get('code')), 'request_uri is single use');
  });

  test('a client registered with --require-par cannot send a plain request', T, async () => {
    const a = authorizationRequest(srv.issuer, { clientId: c.par.id, redirectUri: c.par.redirectUri });
    const r = await walker.authorize(a.url);
    assert.ok(!(r.kind === 'redirect' && r.redirect.searchParams.get('code')), 'no code without PAR');
    if (r.kind === 'redirect') assert.equal(r.redirect.searchParams.get('error'), 'invalid_request');
  });

  // ---- ID token encryption and signed userinfo

  test('ID token encrypted with RSA-OAEP + A256GCM to the client key', T, async () => {
    const t = await redeem(c.enc, await code(c.enc));
    assert.equal(t.status, 200, t.text);
    assert.equal(t.json.id_token.split('.').length, 5, 'a JWE');
    const header = decodeProtectedHeader(t.json.id_token);
    assert.equal(header.alg, 'RSA-OAEP');
    assert.equal(header.enc, 'A256GCM');
    const { plaintext } = await compactDecrypt(t.json.id_token, keys.enc.privateKey);
    const { payload } = await jwtVerify(new TextDecoder().decode(plaintext), jwks, { issuer: srv.issuer, audience: c.enc.id });
    assert.ok(payload.sub);
  });

  test('userinfo signed per client (application/jwt)', T, async () => {
    const t = await redeem(c.enc, await code(c.enc));
    const res = await userinfo(t.json.access_token);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^application\/jwt/);
    const { payload, protectedHeader } = await jwtVerify(await res.text(), jwks, { issuer: srv.issuer, audience: c.enc.id });
    assert.equal(protectedHeader.alg, 'ES256');
    assert.equal(payload.given_name, person.given_names);
  });

  // ---- back-channel logout (last: it ends the session)

  test('back-channel logout POSTs a signed logout token to each client of the session', T, async () => {
    const b = await redeem(c.basic, await code(c.basic));
    const idClaims = JSON.parse(Buffer.from(b.json.id_token.split('.')[1], 'base64url'));
    await withAssertion(c.pkjwt, await assertion(c.pkjwt.id, keys.es));
    receiver.got.length = 0;
    const logout = new URL('/logout', srv.issuer);
    logout.searchParams.set('id_token_hint', b.json.id_token);
    logout.searchParams.set('client_id', c.basic.id);
    await walker.follow(logout.toString()).catch(() => null);
    const deadline = Date.now() + 10000;
    while (receiver.got.length < 2 && Date.now() < deadline) await sleep(100);
    const paths = receiver.got.map((g) => g.path).sort();
    assert.deepEqual(paths, ['/bcl/basic', '/bcl/pkjwt']);
    for (const g of receiver.got) {
      assert.match(g.type, /application\/x-www-form-urlencoded/);
      const token = new URLSearchParams(g.body).get('logout_token');
      const aud = g.path.endsWith('basic') ? c.basic.id : c.pkjwt.id;
      const { payload, protectedHeader } = await jwtVerify(token, jwks, { issuer: srv.issuer, audience: aud, typ: 'logout+jwt' });
      assert.deepEqual(payload.events, { [BCL_EVENT]: {} });
      assert.equal(payload.sid, idClaims.sid);
      assert.ok(payload.jti && payload.iat && payload.exp && payload.sub);
      assert.ok(!('nonce' in payload));
      assert.equal(protectedHeader.alg, aud === c.basic.id ? 'RS256' : 'ES256');
    }
  });
});

describe('conformance: confidential_auth = private_key_jwt and rate limits', { timeout: 120000 }, () => {
  let srv, meta;

  before(async () => {
    srv = await startServer({ people: makePeople(1), config: '[oidc]\nconfidential_auth = private_key_jwt\n[limits]\nfail_per_client = 3\n' });
    meta = await (await fetch(`${srv.issuer}/.well-known/openid-configuration`)).json();
  });
  after(async () => {
    await srv?.stop();
  });

  test('discovery offers only private_key_jwt (and none) when secrets are off', T, () => {
    assert.deepEqual([...meta.token_endpoint_auth_methods_supported].sort(), ['none', 'private_key_jwt']);
  });

  test('a client_secret_basic client is refused when secrets are off', T, async () => {
    const reg = await srv.addClient({ id: 'legacy', redirectUris: ['https://legacy.example.test/cb'], auth: 'client_secret_basic' });
    const r = await post(meta.token_endpoint, { grant_type: 'authorization_code', code: 'x', redirect_uri: 'https://legacy.example.test/cb' }, { basic: ['legacy', reg.client_secret] });
    assert.equal(r.status, 401);
    assert.equal(r.json.error, 'invalid_client');
  });

  test('failed client authentication is rate limited per client', T, async () => {
    const reg = await srv.addClient({ id: 'target', redirectUris: ['https://t.example.test/cb'], auth: 'client_secret_post' });
    assert.ok(reg.client_id);
    const statuses = [];
    for (let i = 0; i < 4; i++) {
      const r = await post(meta.token_endpoint, { grant_type: 'refresh_token', refresh_token: 'x', client_id: 'target', client_secret: 'wrong' });
      statuses.push(r.status);
    }
    assert.deepEqual(statuses, [401, 401, 401, 429]);
  });
});
