// Self-checks of the test tools: the software authenticator verifies under an
// independent check (node:crypto), its knobs break what they say, COSE keys
// are canonical CBOR with integer keys, and the HTML/cookie helpers and
// person numbers behave. No server needed.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import {
  SoftAuthenticator,
  checkRegistration,
  checkAssertion,
  cborEncode,
  coseKey,
  parseAuthData,
  unb64u,
} from '../lib/softauthn.mjs';
import { CookieJar, forms, formWith, hasId, linkTo, basicAuth } from '../lib/browserless.mjs';
import { personNumber, elevenTest, makePeople, registerCsv } from '../lib/server.mjs';

const origin = 'http://localhost:8080';
const rpId = 'localhost';
const challenge = () => crypto.randomBytes(32).toString('base64url');

function creationOptions(ch) {
  return {
    publicKey: {
      challenge: ch,
      rp: { id: rpId, name: 'Wereldpas' },
      user: { id: crypto.randomBytes(16).toString('base64url'), name: 'test', displayName: 'Test' },
      pubKeyCredParams: [-7, -8, -257].map((alg) => ({ type: 'public-key', alg })),
      authenticatorSelection: { residentKey: 'required', userVerification: 'required' },
      attestation: 'none',
    },
  };
}

function requestOptions(ch) {
  return { publicKey: { challenge: ch, rpId, userVerification: 'required', allowCredentials: [] } };
}

describe('software authenticator', { timeout: 30000 }, () => {
  for (const alg of ['ES256', 'EdDSA', 'RS256']) {
    test(`${alg}: registration and assertions verify`, () => {
      const a = new SoftAuthenticator({ alg, origin });
      for (const attestation of ['none', 'packed']) {
        const ch = challenge();
        const opts = creationOptions(ch);
        const reg = a.create(opts, { attestation });
        assert.equal(reg.type, 'public-key');
        assert.equal(reg.id, reg.rawId);
        assert.match(reg.response.attestationObject, /^[A-Za-z0-9_-]+$/);
        const stored = checkRegistration(reg, { challenge: ch, origin, rpId });
        assert.equal(stored.alg, alg);
        // SPKI public key in the response is the same key as the COSE key.
        const spki = crypto.createPublicKey({ key: unb64u(reg.response.publicKey), format: 'der', type: 'spki' });
        assert.deepEqual(spki.export({ format: 'jwk' }), stored.publicKey.export({ format: 'jwk' }));
        for (let i = 0; i < 3; i++) {
          const ch2 = challenge();
          const as = a.get(requestOptions(ch2));
          assert.equal(as.id, reg.id, 'discoverable: newest credential is used');
          assert.equal(as.response.userHandle, opts.publicKey.user.id);
          stored.signCount = checkAssertion(as, stored, { challenge: ch2, origin, rpId });
        }
      }
    });
  }

  test('COSE keys are canonical CBOR maps with integer keys', () => {
    const { publicKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const bytes = cborEncode(coseKey('ES256', publicKey));
    // a5: map(5); 01 02: kty EC2; 03 26: alg -7; 20 01: crv P-256; 21 58 20: x bstr(32)
    assert.equal(bytes.subarray(0, 9).toString('hex'), 'a50102032620012158');
    assert.equal(bytes[9], 0x20);
    const ed = crypto.generateKeyPairSync('ed25519');
    assert.equal(cborEncode(coseKey('EdDSA', ed.publicKey)).subarray(0, 10).toString('hex'), 'a4010103272006215820');
    const rsa = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
    // a4 01 03 03 39 0100: alg -257; 20 59 0100: n bstr(256)
    assert.equal(cborEncode(coseKey('RS256', rsa.publicKey)).subarray(0, 11).toString('hex'), 'a401030339010020590100');
  });

  test('attestation object is canonical: map(3) fmt, attStmt, authData', () => {
    const a = new SoftAuthenticator({ origin });
    const reg = a.create(creationOptions(challenge()));
    const att = unb64u(reg.response.attestationObject);
    // a3 "fmt" "none" "attStmt" {} "authData" bstr
    assert.equal(att.subarray(0, 19).toString('hex'), 'a363666d74646e6f6e656761747453746d74a0');
    assert.equal(att.subarray(19, 29).toString('hex'), '68617574684461746158');
  });

  const knobCases = [
    ['wrongChallenge', { wrongChallenge: true }, 'challenge'],
    ['origin', { origin: 'http://evil.example' }, 'origin'],
    ['wrongRpIdHash', { wrongRpIdHash: true }, 'rpIdHash'],
    ['uv false', { uv: false }, 'UV'],
    ['up false', { up: false }, 'UP'],
    ['type', { type: 'webauthn.create' }, 'type'],
    ['badSignature', { badSignature: true }, 'signature'],
    ['counterNotIncreasing', { counterNotIncreasing: true }, 'counter'],
  ];
  for (const [name, knobs, expected] of knobCases) {
    test(`assertion knob ${name} is caught`, () => {
      const a = new SoftAuthenticator({ origin });
      const ch = challenge();
      const stored = checkRegistration(a.create(creationOptions(ch)), { challenge: ch, origin, rpId });
      const ch2 = challenge();
      assert.throws(() => checkAssertion(a.get(requestOptions(ch2), knobs), stored, { challenge: ch2, origin, rpId }), {
        message: expected,
      });
    });
  }

  for (const [name, knobs, expected] of knobCases.slice(0, 5)) {
    test(`registration knob ${name} is caught`, () => {
      const a = new SoftAuthenticator({ origin });
      const ch = challenge();
      assert.throws(() => checkRegistration(a.create(creationOptions(ch), knobs), { challenge: ch, origin, rpId }), {
        message: expected,
      });
    });
  }

  test('packed attestation with a bad signature is caught', () => {
    const a = new SoftAuthenticator({ alg: 'EdDSA', origin });
    const ch = challenge();
    assert.throws(
      () => checkRegistration(a.create(creationOptions(ch), { attestation: 'packed', badSignature: true }), { challenge: ch, origin, rpId }),
      { message: 'attestation signature' },
    );
  });

  test('refuses options without its algorithm, honours allowCredentials', () => {
    const a = new SoftAuthenticator({ alg: 'EdDSA', origin });
    const opts = creationOptions(challenge());
    opts.publicKey.pubKeyCredParams = [{ type: 'public-key', alg: -7 }];
    assert.throws(() => a.create(opts), /do not allow EdDSA/);
    const first = a.create(creationOptions(challenge()));
    a.create(creationOptions(challenge()));
    const req = requestOptions(challenge());
    req.publicKey.allowCredentials = [{ type: 'public-key', id: first.id }];
    assert.equal(a.get(req).id, first.id);
    const ad = parseAuthData(unb64u(a.get(req).response.authenticatorData));
    assert.equal(ad.flags & 0x05, 0x05);
    assert.equal(ad.flags & 0x40, 0);
  });
});

describe('test helpers', () => {
  test('person numbers pass the 11-test', () => {
    for (let i = 0; i < 200; i++) assert.ok(elevenTest(personNumber()));
    assert.equal(elevenTest('123456782'), true); // 9+16+21+24+25+24+21+16-2 = 154 = 14*11
    assert.equal(elevenTest('123456781'), false);
    assert.equal(elevenTest('000000000'), false);
  });

  test('register CSV has the contract header and quotes commas', () => {
    const people = makePeople(3);
    people[0].family_name = 'Smit, de';
    const csv = registerCsv(people).split('\n');
    assert.equal(
      csv[0],
      'person_number,family_name,given_names,birthdate,institution,programme,diploma_date,contact_email,preferred_language',
    );
    assert.ok(csv[1].includes('"Smit, de"'));
    assert.equal(csv.length, 5);
  });

  test('HTML helpers find forms, hidden inputs, ids and links', () => {
    const html = `<a href="/enrol?flow=F1&amp;x=1">x</a>
      <form method="post" action="/enrol/code"><input type=hidden name="flow" value="F1">
      <input type="hidden" name='csrf' value="a&amp;b"><input name="code" autocomplete="one-time-code">
      <button type="submit">Go</button></form><button id="passkey-create">Make</button>`;
    const f = formWith(html, 'code');
    assert.deepEqual(f.hidden, { flow: 'F1', csrf: 'a&b' });
    assert.equal(f.attrs.action, '/enrol/code');
    assert.equal(forms(html).length, 1);
    assert.ok(hasId(html, 'passkey-create'));
    assert.ok(!hasId(html, 'passkey'));
    const u = linkTo(html, 'http://localhost:1/login?flow=F1', '/enrol');
    assert.equal(u.searchParams.get('flow'), 'F1');
    assert.equal(u.searchParams.get('x'), '1');
  });

  test('cookie jar stores, scopes and expires cookies', () => {
    const jar = new CookieJar();
    jar.store('http://localhost:1/authorize', ['flow=abc; Path=/; HttpOnly; SameSite=Lax', 'x=1; Path=/account']);
    assert.equal(jar.header('http://localhost:1/login'), 'flow=abc');
    assert.equal(jar.header('http://localhost:1/account/keys'), 'flow=abc; x=1');
    assert.equal(jar.header('http://example.org/'), '');
    jar.store('http://localhost:1/logout', ['flow=; Path=/; Max-Age=0']);
    assert.equal(jar.header('http://localhost:1/login'), '');
  });

  test('basic auth form-encodes before base64', () => {
    assert.equal(basicAuth('a b', 'c:d'), `Basic ${Buffer.from('a+b:c%3Ad').toString('base64')}`);
  });
});
