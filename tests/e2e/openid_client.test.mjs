// The RP side done by a certified RP library, openid-client (v6), with jose
// checking the ID token against the published JWKS; the person side is the
// browserless walker with the software authenticator.
//
// Three clients: client_secret_basic with ES256 ID tokens, client_secret_post
// with the default RS256, and a public client (auth none, PKCE only).

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as oidc from 'openid-client';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { startServer, makePeople } from '../lib/server.mjs';
import { Walker } from '../lib/browserless.mjs';
import { SoftAuthenticator } from '../lib/softauthn.mjs';
import { enrolWithInvite, signInWithPasskey } from '../lib/flows.mjs';

const ACR_SUBSTANTIAL = 'http://eidas.europa.eu/NotNotified/LoA/substantial';
const T = { timeout: 60000 };

describe('openid-client as the relying party', { timeout: 300000 }, () => {
  const people = makePeople(6);
  let srv;
  const rps = {};

  // Registers a client and makes its openid-client Configuration.
  async function makeRp(name, { auth, idTokenAlg, clientAuth }) {
    const redirectUri = `https://${name}.example.test/cb`;
    const reg = await srv.addClient({ id: name, redirectUris: [redirectUri], auth, idTokenAlg });
    assert.equal(reg.client_id, name);
    if (auth === 'none') assert.equal(reg.client_secret, undefined, 'no secret for a public client');
    else assert.equal(typeof reg.client_secret, 'string', 'a secret for a confidential client');
    const metadata = { redirect_uris: [redirectUri], response_types: ['code'] };
    if (idTokenAlg) metadata.id_token_signed_response_alg = idTokenAlg;
    const config = await oidc.discovery(new URL(srv.issuer), reg.client_id, metadata, clientAuth(reg.client_secret), {
      execute: [oidc.allowInsecureRequests],
      timeout: 10,
    });
    return { name, redirectUri, reg, config, alg: idTokenAlg ?? 'RS256' };
  }

  before(async () => {
    srv = await startServer({ people });
    rps.basicEs256 = await makeRp('rp-basic-es256', {
      auth: 'client_secret_basic',
      idTokenAlg: 'ES256',
      clientAuth: (s) => oidc.ClientSecretBasic(s),
    });
    rps.post = await makeRp('rp-post', { auth: 'client_secret_post', clientAuth: (s) => oidc.ClientSecretPost(s) });
    rps.public = await makeRp('rp-public', { auth: 'none', clientAuth: () => oidc.None() });
  });

  after(async () => {
    await srv?.stop();
  });

  // Starts a login at RP: returns the authorization URL and the checks.
  async function begin(rp, extra = {}) {
    const pkceCodeVerifier = oidc.randomPKCECodeVerifier();
    const expectedState = oidc.randomState();
    const expectedNonce = oidc.randomNonce();
    const url = oidc.buildAuthorizationUrl(rp.config, {
      redirect_uri: rp.redirectUri,
      scope: 'openid profile',
      code_challenge: await oidc.calculatePKCECodeChallenge(pkceCodeVerifier),
      code_challenge_method: 'S256',
      state: expectedState,
      nonce: expectedNonce,
      ...extra,
    });
    return { url, checks: { pkceCodeVerifier, expectedState, expectedNonce, idTokenExpected: true } };
  }

  // Completes a login at RP from the callback URL; checks the ID token with
  // jose and userinfo with openid-client; returns the claims.
  async function complete(rp, callbackUrl, checks, person) {
    const tokens = await oidc.authorizationCodeGrant(rp.config, callbackUrl, checks);
    assert.equal(tokens.token_type.toLowerCase(), 'bearer');
    const claims = tokens.claims();
    assert.equal(claims.iss, srv.issuer);
    assert.equal(claims.aud === rp.reg.client_id || claims.aud.includes(rp.reg.client_id), true);
    assert.equal(claims.nonce, checks.expectedNonce);
    assert.equal(claims.acr, ACR_SUBSTANTIAL);
    assert.ok(!('amr' in claims), 'no amr');

    const header = decodeProtectedHeader(tokens.id_token);
    assert.equal(header.alg, rp.alg, 'ID token signed with the registered algorithm');
    assert.ok(header.kid, 'kid present');
    const jwks = createRemoteJWKSet(new URL(rp.config.serverMetadata().jwks_uri));
    const { payload } = await jwtVerify(tokens.id_token, jwks, {
      issuer: srv.issuer,
      audience: rp.reg.client_id,
      algorithms: [rp.alg],
    });
    assert.equal(payload.sub, claims.sub);

    const info = await oidc.fetchUserInfo(rp.config, tokens.access_token, claims.sub);
    assert.equal(info.given_name, person.given_names);
    assert.equal(info.family_name, person.family_name);
    assert.equal(info.birthdate, person.birthdate);
    return claims;
  }

  test('discovery through openid-client', T, () => {
    const m = rps.post.config.serverMetadata();
    assert.equal(m.issuer, srv.issuer);
    assert.ok(m.token_endpoint_auth_methods_supported.includes('client_secret_basic'));
    assert.ok(m.token_endpoint_auth_methods_supported.includes('client_secret_post'));
    assert.ok(m.token_endpoint_auth_methods_supported.includes('none'));
    assert.ok(m.id_token_signing_alg_values_supported.includes('ES256'));
  });

  const state = {};

  test('enrol via the ES256 client (client_secret_basic), then the other clients by session and passkey', T, async () => {
    const person = people[0];
    const a = await begin(rps.basicEs256);
    const authenticator = new SoftAuthenticator({ alg: 'EdDSA', origin: srv.issuer });
    const { walker, redirect } = await enrolWithInvite(srv, { authorizeUrl: a.url, person, authenticator });
    const c1 = await complete(rps.basicEs256, redirect, a.checks, person);

    // Same browser, another client: answered at once from the session.
    const b = await begin(rps.post);
    const r = await walker.authorize(b.url);
    assert.equal(r.kind, 'redirect', 'session answers at once');
    const c2 = await complete(rps.post, r.redirect, b.checks, person);
    assert.notEqual(c2.sub, c1.sub, 'pairwise sub per client');

    // A new browser at the public client: usernameless passkey sign-in.
    const c = await begin(rps.public);
    const again = await signInWithPasskey(srv, { authorizeUrl: c.url, authenticator });
    const c3 = await complete(rps.public, again.redirect, c.checks, person);
    assert.notEqual(c3.sub, c1.sub);
    assert.notEqual(c3.sub, c2.sub);

    // And back at the first client from that new browser: the same sub.
    const d = await begin(rps.basicEs256);
    const r2 = await again.walker.authorize(d.url);
    assert.equal(r2.kind, 'redirect');
    const c4 = await complete(rps.basicEs256, r2.redirect, d.checks, person);
    assert.equal(c4.sub, c1.sub, 'stable sub for the same client');
    state.walker = walker;
  });

  test('openid-client refuses a callback with a tampered state', T, async () => {
    assert.ok(state.walker, 'needs the enrolment test');
    const a = await begin(rps.post);
    const r = await state.walker.authorize(a.url);
    assert.equal(r.kind, 'redirect');
    await assert.rejects(oidc.authorizationCodeGrant(rps.post.config, r.redirect, { ...a.checks, expectedState: 'other' }));
  });

  test('a public client without a PKCE verifier cannot redeem its code', T, async () => {
    assert.ok(state.walker, 'needs the enrolment test');
    const a = await begin(rps.public);
    const r = await state.walker.authorize(a.url);
    assert.equal(r.kind, 'redirect');
    await assert.rejects(
      oidc.authorizationCodeGrant(rps.public.config, r.redirect, { ...a.checks, pkceCodeVerifier: oidc.randomPKCECodeVerifier() }),
      (e) => e?.error === 'invalid_grant' || e?.cause?.error === 'invalid_grant' || /invalid_grant/.test(String(e)),
    );
  });

  test('a public client must send PKCE at /authorize', T, async () => {
    const w = new Walker(srv.issuer);
    const url = oidc.buildAuthorizationUrl(rps.public.config, {
      redirect_uri: rps.public.redirectUri,
      scope: 'openid',
      state: 's1',
      nonce: 'n1',
    });
    const r = await w.authorize(url);
    assert.equal(r.kind, 'redirect', 'error goes back to the valid redirect_uri');
    assert.equal(r.redirect.searchParams.get('error'), 'invalid_request');
    assert.equal(r.redirect.searchParams.get('state'), 's1');
  });

  test('code_challenge_method=plain is refused', T, async () => {
    const w = new Walker(srv.issuer);
    const url = oidc.buildAuthorizationUrl(rps.post.config, {
      redirect_uri: rps.post.redirectUri,
      scope: 'openid',
      state: 's2',
      nonce: 'n2',
      code_challenge: oidc.randomPKCECodeVerifier(),
      code_challenge_method: 'plain',
    });
    const r = await w.authorize(url);
    assert.equal(r.kind, 'redirect');
    assert.equal(r.redirect.searchParams.get('error'), 'invalid_request');
  });
});
