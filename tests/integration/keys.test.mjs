// Key rotation and retirement as relying parties see them (issue 3): a rotated key is
// published before it signs; a retired key stops signing at once but stays in the JWKS
// until every token it signed has expired; `keys retire --now` removes a compromised key
// at once; SIGHUP (systemctl reload) makes the servers load the change immediately.
// jose verifies every ID token against the JWKS the provider serves at that moment.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';

import { startServer, makePeople } from '../lib/server.mjs';
import { authRequest, checkRedirect, discovery, enrolWithInvite, exchange, signInWithPasskey } from '../lib/flows.mjs';

const T = { timeout: 60000 };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

describe('signing keys: rotate, retire, reload', { timeout: 300000 }, () => {
  const people = makePeople(1);
  let srv, meta, rp, authenticator;

  before(async () => {
    srv = await startServer({ people });
    meta = await discovery(srv.issuer);
    const reg = await srv.addClient({ id: 'rp-keys', redirectUris: 'https://rp-keys.example.test/cb' });
    rp = { ...reg, redirectUri: 'https://rp-keys.example.test/cb' };
    const a = authRequest(srv, rp);
    ({ authenticator } = await enrolWithInvite(srv, { authorizeUrl: a.url, person: people[0] }));
  });
  after(async () => {
    await srv?.stop();
  });

  const jwks = async () => (await (await fetch(meta.jwks_uri)).json()).keys;
  const kids = async () => (await jwks()).map((k) => k.kid);

  // Signs in and returns the ID token.
  async function idToken() {
    const a = authRequest(srv, rp);
    const { redirect } = await signInWithPasskey(srv, { authorizeUrl: a.url, authenticator });
    const code = checkRedirect(redirect, { redirectUri: rp.redirectUri, state: a.state, issuer: srv.issuer });
    const res = await exchange(meta, rp, code, a.verifier);
    assert.equal(res.status, 200, res.text);
    return res.json.id_token;
  }
  const verify = async (jwt) => jwtVerify(jwt, createLocalJWKSet({ keys: await jwks() }), { issuer: srv.issuer, audience: rp.client_id });

  // Sends SIGHUP and waits until the JWKS shows (or no longer shows) KID.
  async function reloadUntil(kid, present) {
    srv.child.kill('SIGHUP');
    for (let i = 0; i < 50; i++) {
      if ((await kids()).includes(kid) === present) return;
      await sleep(100);
    }
    assert.fail(`after SIGHUP the JWKS ${present ? 'lacks' : 'still has'} ${kid}`);
  }

  let first, second, early;

  test('a rotated key is published at once but does not sign yet', T, async () => {
    early = await idToken();
    first = decodeProtectedHeader(early).kid;
    const r = await srv.run(['keys', 'rotate', '--alg', 'RS256']);
    assert.equal(r.code, 0, r.stderr);
    second = r.stdout.trim().split('\n').pop();
    assert.notEqual(second, first);
    await reloadUntil(second, true);
    assert.ok((await kids()).includes(first));
    const next = await idToken();
    assert.equal(decodeProtectedHeader(next).kid, first, 'the older key still signs during the publish delay');
    const list = await srv.run(['keys', 'list']);
    assert.match(list.stdout, new RegExp(`^${second} RS256 \\S+ pending$`, 'm'));
    assert.match(list.stdout, new RegExp(`^${first} RS256 \\S+ signing$`, 'm'));
  });

  test('a retired key stops signing at once and stays in the JWKS until its tokens expired', T, async () => {
    const r = await srv.run(['keys', 'retire', first]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /leaves the JWKS at \d{4}-\d\d-\d\dT/);
    srv.child.kill('SIGHUP');
    let next;
    for (let i = 0; i < 50; i++) {
      next = await idToken();
      if (decodeProtectedHeader(next).kid === second) break;
      await sleep(100);
    }
    assert.equal(decodeProtectedHeader(next).kid, second, 'the newer key signs once the older is retired');
    assert.ok((await kids()).includes(first), 'the retiring key is still published');
    await verify(early); // a token it signed before still verifies
    await verify(next);
    const list = await srv.run(['keys', 'list']);
    assert.match(list.stdout, new RegExp(`^${first} RS256 \\S+ retiring until \\d{4}-`, 'm'));
  });

  test('the last signing key of an algorithm cannot be retired', T, async () => {
    const r = await srv.run(['keys', 'retire', second]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /last RS256 key/);
    assert.ok((await kids()).includes(second));
  });

  test('--now removes a key at once (a compromised key); an unknown kid is refused', T, async () => {
    const r = await srv.run(['keys', 'retire', '--now', first]);
    assert.equal(r.code, 0, r.stderr);
    await reloadUntil(first, false);
    await assert.rejects(verify(early), /no applicable key|JWKSNoMatchingKey/i, 'its tokens no longer verify');
    const again = await srv.run(['keys', 'retire', first]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /no published key/);
  });

  test('a key that never signed leaves the JWKS at once', T, async () => {
    const r = await srv.run(['keys', 'rotate', '--alg', 'ES256']);
    assert.equal(r.code, 0, r.stderr);
    const kid = r.stdout.trim().split('\n').pop();
    await reloadUntil(kid, true);
    const gone = await srv.run(['keys', 'retire', kid]);
    assert.equal(gone.code, 0, gone.stderr);
    assert.match(gone.stderr, /^retired /m);
    await reloadUntil(kid, false);
  });
});
