// Whole journeys built from the walker (browserless.mjs) and the software
// authenticator (softauthn.mjs), shared by the integration and e2e tests.

import assert from 'node:assert/strict';
import { Walker, authorizationRequest, formWith, tokenRequest } from './browserless.mjs';
import { SoftAuthenticator } from './softauthn.mjs';

// GETs the discovery document.
export async function discovery(issuer) {
  const res = await fetch(new URL('/.well-known/openid-configuration', issuer), {
    signal: AbortSignal.timeout(10000),
  });
  assert.equal(res.status, 200, 'discovery answers 200');
  return res.json();
}

// Enrols PERSON with an invite code and registers a passkey, starting at
// AUTHORIZE_URL (a URL object or string) in WALKER. Returns
// { walker, authenticator, redirect, flow, register } where redirect is the
// URL the provider sent the browser to at the end (the RP's redirect_uri).
export async function enrolWithInvite(srv, { authorizeUrl, person, alg = 'ES256', walker, authenticator, knobs }) {
  walker ??= new Walker(srv.issuer);
  authenticator ??= new SoftAuthenticator({ alg, origin: srv.issuer });
  const code = await srv.invite(person.person_number);
  const start = await walker.authorize(authorizeUrl);
  assert.equal(start.kind, 'login', `authorize leads to /login (got ${start.kind}: ${start.res?.status} ${start.res?.text?.slice(0, 300)})`);
  const entered = await walker.enrolWithCode(start.flow, code, { loginHtml: start.html });
  assert.equal(entered.res.status, 200, `code accepted: ${entered.res.text.slice(0, 300)}`);
  assert.ok(entered.ok, 'code page shows #passkey-create');
  const register = await walker.registerPasskey(start.flow, authenticator, knobs);
  assert.equal(register.optionsRes.status, 200, `register/options: ${register.optionsRes.text}`);
  assert.equal(register.res.status, 200, `register/verify: ${register.res.text}`);
  assert.equal(typeof register.res.json?.next, 'string', 'register/verify answers {"next"}');
  const redirect = await walker.finish(register.res.json.next);
  return { walker, authenticator, redirect, flow: start.flow, register, code };
}

// Signs in with a discoverable passkey held by AUTHENTICATOR, from
// AUTHORIZE_URL in WALKER (a fresh one when not given).
export async function signInWithPasskey(srv, { authorizeUrl, authenticator, walker, knobs }) {
  walker ??= new Walker(srv.issuer);
  const start = await walker.authorize(authorizeUrl);
  assert.equal(start.kind, 'login', `authorize leads to /login (got ${start.kind})`);
  const login = await walker.loginPasskey(start.flow, authenticator, knobs);
  assert.equal(login.optionsRes.status, 200, `login/options: ${login.optionsRes.text}`);
  assert.equal(login.res.status, 200, `login/verify: ${login.res.text}`);
  const redirect = await walker.finish(login.res.json.next);
  return { walker, redirect, flow: start.flow, login };
}

// Checks the redirect to the RP: code present, state and iss as expected.
export function checkRedirect(redirect, { redirectUri, state, issuer }) {
  assert.equal(`${redirect.origin}${redirect.pathname}`, redirectUri, 'redirected to the redirect_uri');
  assert.equal(redirect.searchParams.get('error'), null, `no error: ${redirect.searchParams.get('error_description')}`);
  assert.equal(redirect.searchParams.get('state'), state, 'state echoed');
  assert.equal(redirect.searchParams.get('iss'), issuer, 'iss is the issuer (RFC 9207)');
  const code = redirect.searchParams.get('code');
  assert.ok(code && code.length >= 16, 'a code of some length');
  return code;
}

// Builds an authorization request for CLIENT ({ client_id, redirectUri }).
export function authRequest(srv, client, extra) {
  return authorizationRequest(srv.issuer, {
    clientId: client.client_id,
    redirectUri: client.redirectUri,
    scope: client.scope ?? 'openid profile',
    extra,
  });
}

// Exchanges CODE at the token endpoint with client_secret_basic (or the
// client's method).
export function exchange(meta, client, code, verifier, extraParams = {}) {
  return tokenRequest(
    meta.token_endpoint,
    { grant_type: 'authorization_code', code, redirect_uri: client.redirectUri, code_verifier: verifier, ...extraParams },
    { method: client.method ?? 'basic', id: client.client_id, secret: client.client_secret },
  );
}

// A staff member of ROLE with a console session in a browserless Walker (software
// authenticator), from a `staff add` code.
export async function staffWalker(srv, name, role) {
  const r = await srv.run(['staff', 'add', '--name', name, '--role', role]);
  assert.equal(r.code, 0, r.stderr);
  const code = r.stdout.trim().split('\n').pop().trim();
  const walker = new Walker(srv.issuer);
  const enrol = await walker.get('/support/enrol');
  const form = formWith(enrol.text, 'code');
  const ready = await walker.postForm(new URL(form.attrs.action ?? '/support/enrol', srv.issuer), { ...form.hidden, code });
  assert.equal(ready.status, 200, ready.text.slice(0, 300));
  const opts = await walker.postJSON('/support/webauthn/register/options', {});
  const auth = new SoftAuthenticator({ origin: srv.issuer });
  const done = await walker.postJSON('/support/webauthn/register/verify', { credential: auth.create(opts.json) });
  assert.equal(done.status, 200, done.text);
  return walker;
}

// Opens a recovery case for person number PN from the console of WALKER (a staff
// member's walker, see staffWalker); with verified (a verified call) the code works at
// once, else after the cooling-off.
export async function openRecoveryCase(srv, walker, pn, verified) {
  const page = await walker.get(`/support/person?person_number=${pn}`);
  const form = formWith(page.text, 'reason');
  assert.ok(form, 'the person page offers to open a case');
  const res = await walker.postForm(new URL(form.attrs.action, srv.issuer), {
    ...form.hidden, reason: 'Lost phone', document_type: 'passport', country: 'NL', document_last4: 'XY34', method: 'video',
    ...(verified ? { verified_call: '1' } : {}),
  });
  assert.equal(res.status, 200, res.text.slice(0, 300));
}
