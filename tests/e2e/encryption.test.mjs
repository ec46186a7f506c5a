// Encryption (issue 3): ID tokens and userinfo responses encrypted to a client's
// registered key with RSA-OAEP and RSA-OAEP-256 (A256GCM), signed userinfo nested in a
// JWE, and request objects (RFC 9101) encrypted to the provider's published key with
// either algorithm. jose, a widely used RP library that shares no code with the provider,
// opens and makes every JWE here, so this is the independent check of crypto/jwe.c.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import * as jose from 'jose';
import { startServer, makePeople, freePort } from '../lib/server.mjs';
import { authorizationRequest } from '../lib/browserless.mjs';
import { enrolWithInvite, exchange } from '../lib/flows.mjs';

const T = { timeout: 60000 };
const ALGS = ['RSA-OAEP', 'RSA-OAEP-256'];

describe('encryption: ID tokens, userinfo and request objects (issue 3)', { timeout: 600000 }, () => {
  let srv, meta, walker, jwks, jwksServer;
  const rp = {}; // per algorithm: { enc (key pair), plain, signed } clients
  let sigKey, jar, uriClient, uriKey;

  // A key pair with its public JWK (kid, use, and alg when given).
  async function keyPair(alg, jwk) {
    const opts = alg.startsWith('RS') ? { modulusLength: 2048 } : {};
    const { publicKey, privateKey } = await jose.generateKeyPair(alg, { extractable: true, ...opts });
    return { publicKey, privateKey, jwk: { ...(await jose.exportJWK(publicKey)), ...jwk } };
  }

  function jwksFile(name, ...keys) {
    const file = path.join(srv.dir, `${name}.jwks.json`);
    fs.writeFileSync(file, JSON.stringify({ keys }));
    return file;
  }

  async function client(id, extra, scopes = ['openid', 'profile', 'email']) {
    const redirectUri = `https://${id}.example.test/cb`;
    const reg = await srv.addClient({ id, redirectUris: [redirectUri], scopes, extra });
    return { ...reg, redirectUri };
  }

  // An authorization code for CL from the signed-in session, redeemed: the token answer.
  async function tokens(cl) {
    const a = authorizationRequest(srv.issuer, { clientId: cl.client_id, redirectUri: cl.redirectUri });
    const r = await walker.authorize(a.url);
    assert.equal(r.kind, 'redirect', `the session answers at once (${r.kind})`);
    assert.equal(r.redirect.searchParams.get('error'), null, r.redirect.searchParams.get('error_description') ?? '');
    const res = await exchange(meta, cl, r.redirect.searchParams.get('code'), a.verifier);
    assert.equal(res.status, 200, JSON.stringify(res.json));
    return { ...res.json, nonce: a.nonce };
  }

  async function userinfo(accessToken) {
    const res = await fetch(meta.userinfo_endpoint, { headers: { authorization: `Bearer ${accessToken}` } });
    return { status: res.status, type: res.headers.get('content-type'), text: await res.text() };
  }

  // Opens a JWE made for KEY with ALG; checks its header; returns { header, text }.
  async function open(jwe, key, alg, { cty, kid }) {
    assert.equal(jwe.split('.').length, 5, 'a compact JWE');
    const header = jose.decodeProtectedHeader(jwe);
    assert.equal(header.alg, alg);
    assert.equal(header.enc, 'A256GCM');
    assert.equal(header.cty, cty);
    assert.equal(header.kid, kid);
    const { plaintext } = await jose.compactDecrypt(jwe, key.privateKey, {
      keyManagementAlgorithms: [alg],
      contentEncryptionAlgorithms: ['A256GCM'],
    });
    return { header, text: new TextDecoder().decode(plaintext) };
  }

  before(async () => {
    srv = await startServer({ people: makePeople(2) });
    sigKey = await keyPair('ES256', { kid: 'rp-sig', use: 'sig', alg: 'ES256' });
    for (const alg of ALGS) {
      // The key says which algorithm it is for; the provider must honour that.
      const enc = await keyPair(alg, { kid: `rp-enc-${alg}`, use: 'enc', alg });
      const file = jwksFile(`enc-${alg}`, sigKey.jwk, enc.jwk);
      const ids = ['--id-token-enc-alg', alg, '--userinfo-enc-alg', alg];
      rp[alg] = {
        enc,
        // ID token and userinfo encrypted (userinfo: the JSON claims).
        plain: await client(`enc-${alg.toLowerCase()}`, ['--jwks-file', file, ...ids, '--id-token-enc-enc', 'A256GCM']),
        // Userinfo signed (ES256) and then encrypted; ID token signed PS256.
        signed: await client(`encsig-${alg.toLowerCase()}`, [
          '--jwks-file', file, ...ids, '--userinfo-alg', 'ES256', '--id-token-alg', 'PS256', '--userinfo-enc-enc', 'A256GCM',
        ]),
      };
    }
    jar = await client('jar', ['--jwks-file', jwksFile('jar', sigKey.jwk)]);

    // A client whose encryption key comes from its jwks_uri (no "alg" on the key).
    uriKey = await keyPair('RSA-OAEP-256', { kid: 'rp-uri-enc', use: 'enc' });
    const port = await freePort();
    jwksServer = http.createServer((req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ keys: [uriKey.jwk] }));
    });
    await new Promise((r) => jwksServer.listen(port, '127.0.0.1', r));
    uriClient = await client('enc-uri', ['--jwks-uri', `http://127.0.0.1:${port}/jwks`, '--id-token-enc-alg', 'RSA-OAEP-256']);

    meta = await (await fetch(`${srv.issuer}/.well-known/openid-configuration`)).json();
    jwks = jose.createRemoteJWKSet(new URL(meta.jwks_uri));
    const first = rp['RSA-OAEP'].plain;
    const a = authorizationRequest(srv.issuer, { clientId: first.client_id, redirectUri: first.redirectUri });
    const enrolled = await enrolWithInvite(srv, { authorizeUrl: a.url, person: srv.people[0] });
    walker = enrolled.walker;
    assert.ok(enrolled.redirect.searchParams.get('code'), 'enrolment ends with a code');
  });

  after(async () => {
    await new Promise((r) => (jwksServer ? jwksServer.close(r) : r()));
    await srv?.stop();
  });

  test('discovery lists RSA-OAEP and RSA-OAEP-256 with A256GCM, and nothing else', T, async () => {
    for (const what of ['id_token', 'userinfo', 'request_object']) {
      assert.deepEqual(meta[`${what}_encryption_alg_values_supported`], ALGS, what);
      assert.deepEqual(meta[`${what}_encryption_enc_values_supported`], ['A256GCM'], what);
    }
  });

  test('the provider publishes its encryption key with use enc and no alg', T, async () => {
    const { keys } = await (await fetch(meta.jwks_uri)).json();
    const enc = keys.filter((k) => k.use === 'enc');
    assert.equal(enc.length, 1);
    assert.equal(enc[0].kty, 'RSA');
    assert.equal(enc[0].alg, undefined, 'usable with RSA-OAEP and RSA-OAEP-256 alike');
    assert.ok(!('d' in enc[0]));
  });

  for (const alg of ALGS) {
    test(`${alg}: the ID token is a JWE that jose opens, with a signed JWT inside`, T, async () => {
      const cl = rp[alg].plain;
      const t = await tokens(cl);
      const { text } = await open(t.id_token, rp[alg].enc, alg, { cty: 'JWT', kid: `rp-enc-${alg}` });
      const { payload, protectedHeader } = await jwtVerify(text, cl);
      assert.equal(protectedHeader.alg, 'RS256');
      assert.equal(payload.nonce, t.nonce);
      // A second code gives a fresh JWE (new content key and IV).
      const again = await tokens(cl);
      assert.notEqual(again.id_token.split('.')[1], t.id_token.split('.')[1]);
    });

    test(`${alg}: the ID token of a PS256 client is signed PS256 inside the JWE`, T, async () => {
      const cl = rp[alg].signed;
      const t = await tokens(cl);
      const { text } = await open(t.id_token, rp[alg].enc, alg, { cty: 'JWT', kid: `rp-enc-${alg}` });
      const { protectedHeader } = await jwtVerify(text, cl);
      assert.equal(protectedHeader.alg, 'PS256');
    });

    test(`${alg}: userinfo with only encryption registered is encrypted JSON claims`, T, async () => {
      const cl = rp[alg].plain;
      const t = await tokens(cl);
      const idSub = jose.decodeJwt((await open(t.id_token, rp[alg].enc, alg, { cty: 'JWT', kid: `rp-enc-${alg}` })).text).sub;
      const res = await userinfo(t.access_token);
      assert.equal(res.status, 200);
      assert.match(res.type, /^application\/jwt/);
      const { text } = await open(res.text, rp[alg].enc, alg, { cty: undefined, kid: `rp-enc-${alg}` });
      const claims = JSON.parse(text);
      assert.equal(claims.sub, idSub);
      assert.equal(claims.given_name, srv.people[0].given_names);
    });

    test(`${alg}: userinfo with signing and encryption registered is signed, then encrypted`, T, async () => {
      const cl = rp[alg].signed;
      const t = await tokens(cl);
      const res = await userinfo(t.access_token);
      assert.equal(res.status, 200);
      assert.match(res.type, /^application\/jwt/);
      const { text } = await open(res.text, rp[alg].enc, alg, { cty: 'JWT', kid: `rp-enc-${alg}` });
      const { payload, protectedHeader } = await jose.jwtVerify(text, jwks, { issuer: srv.issuer, audience: cl.client_id });
      assert.equal(protectedHeader.alg, 'ES256');
      assert.equal(payload.family_name, srv.people[0].family_name);
    });
  }

  test('the encryption key can come from the client\'s jwks_uri', T, async () => {
    const t = await tokens(uriClient);
    const { text } = await open(t.id_token, uriKey, 'RSA-OAEP-256', { cty: 'JWT', kid: 'rp-uri-enc' });
    await jwtVerify(text, uriClient);
  });

  // Verifies an ID token for CL: our signature, issuer, audience.
  async function jwtVerify(text, cl) {
    return jose.jwtVerify(text, jwks, { issuer: srv.issuer, audience: cl.client_id });
  }

  // ---- request objects encrypted to the provider

  async function providerKey() {
    const { keys } = await (await fetch(meta.jwks_uri)).json();
    return keys.find((k) => k.use === 'enc');
  }

  // A request object signed by the jar client, encrypted to the provider with ALG.
  async function encryptedRequest(alg, inner) {
    const jwt = await new jose.SignJWT(Object.fromEntries(inner.url.searchParams))
      .setProtectedHeader({ alg: 'ES256', kid: 'rp-sig' })
      .setIssuer(jar.client_id)
      .setAudience(srv.issuer)
      .setIssuedAt()
      .setExpirationTime('2m')
      .sign(sigKey.privateKey);
    const jwk = await providerKey();
    // jose takes the published JWK as it is: it has no "alg" to contradict ALG.
    return new jose.CompactEncrypt(new TextEncoder().encode(jwt))
      .setProtectedHeader({ alg, enc: 'A256GCM', cty: 'JWT', kid: jwk.kid })
      .encrypt(jwk);
  }

  function requestUrl(request, outer = {}) {
    const url = new URL('/authorize', srv.issuer);
    url.searchParams.set('client_id', jar.client_id);
    url.searchParams.set('request', request);
    for (const [k, v] of Object.entries(outer)) url.searchParams.set(k, v);
    return url;
  }

  // Changes one base64url character in part INDEX of a compact JWE.
  function tamper(jwe, index) {
    const parts = jwe.split('.');
    const p = parts[index];
    const at = Math.floor(p.length / 2);
    parts[index] = p.slice(0, at) + (p[at] === 'A' ? 'B' : 'A') + p.slice(at + 1);
    return parts.join('.');
  }

  for (const alg of ALGS) {
    test(`a request object encrypted with ${alg} to the provider's key is honoured`, T, async () => {
      const inner = authorizationRequest(srv.issuer, { clientId: jar.client_id, redirectUri: jar.redirectUri });
      const jwe = await encryptedRequest(alg, inner);
      const r = await walker.authorize(requestUrl(jwe));
      assert.equal(r.kind, 'redirect');
      assert.equal(`${r.redirect.origin}${r.redirect.pathname}`, jar.redirectUri);
      assert.equal(r.redirect.searchParams.get('error'), null, r.redirect.searchParams.get('error_description') ?? '');
      assert.equal(r.redirect.searchParams.get('state'), inner.state, 'the state inside the request object');
      const res = await exchange(meta, jar, r.redirect.searchParams.get('code'), inner.verifier);
      assert.equal(res.status, 200, JSON.stringify(res.json));
    });

    test(`a tampered ${alg} request object is refused with invalid_request_object`, T, async () => {
      const inner = authorizationRequest(srv.issuer, { clientId: jar.client_id, redirectUri: jar.redirectUri });
      const jwe = await encryptedRequest(alg, inner);
      // 0 header, 1 wrapped key, 2 IV, 3 ciphertext, 4 tag.
      for (const index of [0, 1, 2, 3, 4]) {
        const outer = { redirect_uri: jar.redirectUri, state: `outer-${index}`, response_type: 'code', scope: 'openid' };
        const r = await walker.authorize(requestUrl(tamper(jwe, index), outer));
        assert.equal(r.kind, 'redirect', `part ${index}: an error redirect (${r.kind} ${r.res?.status})`);
        assert.equal(`${r.redirect.origin}${r.redirect.pathname}`, jar.redirectUri);
        assert.equal(r.redirect.searchParams.get('error'), 'invalid_request_object', `part ${index}`);
        assert.equal(r.redirect.searchParams.get('state'), `outer-${index}`);
        assert.equal(r.redirect.searchParams.get('code'), null);
      }
      // Without a redirect_uri outside the object, the error page (no redirect).
      const r = await walker.authorize(requestUrl(tamper(jwe, 4)));
      assert.equal(r.kind, 'page');
      assert.equal(r.res.status, 400);
    });
  }

  test('a request object under an unregistered outer redirect_uri is refused without a redirect', T, async () => {
    const inner = authorizationRequest(srv.issuer, { clientId: jar.client_id, redirectUri: jar.redirectUri });
    const jwe = tamper(await encryptedRequest('RSA-OAEP-256', inner), 3);
    const r = await walker.authorize(requestUrl(jwe, { redirect_uri: 'https://attacker.example.test/cb' }));
    assert.equal(r.kind, 'page');
    assert.equal(r.res.status, 400);
  });

  // ---- registration

  test('client add refuses what it could not honour', T, async () => {
    const sigOnly = jwksFile('sig-only', sigKey.jwk);
    const pinned = jwksFile('pinned', rp['RSA-OAEP'].enc.jwk); // alg RSA-OAEP on the key
    const rsaEnc = jwksFile('rsa-enc', rp['RSA-OAEP-256'].enc.jwk);
    const cases = [
      { name: 'no RSA enc key', args: ['--jwks-file', sigOnly, '--id-token-enc-alg', 'RSA-OAEP-256'], code: 1 },
      { name: 'key pinned to the other alg', args: ['--jwks-file', pinned, '--userinfo-enc-alg', 'RSA-OAEP-256'], code: 1 },
      { name: 'RSA1_5', args: ['--jwks-file', rsaEnc, '--id-token-enc-alg', 'RSA1_5'], code: 2 },
      { name: 'unknown userinfo alg', args: ['--jwks-file', rsaEnc, '--userinfo-enc-alg', 'rsa-oaep-256'], code: 2 },
      { name: 'enc other than A256GCM', args: ['--jwks-file', rsaEnc, '--id-token-enc-alg', 'RSA-OAEP-256', '--id-token-enc-enc', 'A128CBC-HS256'], code: 2 },
      { name: 'enc without alg', args: ['--jwks-file', rsaEnc, '--userinfo-enc-enc', 'A256GCM'], code: 2 },
      { name: 'alg without any JWKS', args: ['--userinfo-enc-alg', 'RSA-OAEP'], code: 2 },
    ];
    for (const [i, c] of cases.entries()) {
      const r = await srv.run(['client', 'add', '--id', `refused-${i}`, '--redirect-uri', 'https://refused.example.test/cb', ...c.args]);
      assert.equal(r.code, c.code, `${c.name}: ${r.stderr}`);
      assert.ok(r.stderr.trim().length > 0, `${c.name}: says why`);
    }
    const shown = await srv.run(['client', 'show', rp['RSA-OAEP-256'].signed.client_id]);
    assert.equal(shown.code, 0, shown.stderr);
    for (const member of ['id_token_encrypted_response_alg', 'userinfo_encrypted_response_alg']) {
      assert.match(shown.stdout, new RegExp(`"${member}":\\s*"RSA-OAEP-256"`), member);
    }
    assert.match(shown.stdout, /"userinfo_encrypted_response_enc":\s*"A256GCM"/);
  });
});
