// Writes the synthetic seed corpus of every fuzz target into tests/fuzz/corpus/<target>/,
// made with the software authenticator (tests/lib/softauthn.mjs) for the relying party
// and challenge the targets expect (fuzz_util.h: http://localhost:8080, 32 zero bytes).
// Run once by hand: node tests/fuzz/make_corpus.mjs. Everything is random and synthetic.

import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SoftAuthenticator, b64u, unb64u, cborEncode } from '../lib/softauthn.mjs';
import { makePeople, registerCsv } from '../lib/server.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const SEP = Buffer.from([0, 0x57, 0x50, 0]);
const ORIGIN = 'http://localhost:8080';
const CHALLENGE = b64u(Buffer.alloc(32));

function write(target, name, data) {
  const dir = path.join(here, 'corpus', target);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, name), typeof data === 'string' ? Buffer.from(data, 'utf8') : data);
}
const join = (...parts) => Buffer.concat(parts.flatMap((p, i) => (i ? [SEP, Buffer.from(p)] : [Buffer.from(p)])));

const createOptions = {
  publicKey: {
    rp: { id: 'localhost', name: 'Wereldpas' },
    user: { id: b64u(crypto.randomBytes(16)), name: 'fuzz', displayName: 'Fuzz' },
    challenge: CHALLENGE,
    pubKeyCredParams: [-7, -8, -257].map((alg) => ({ type: 'public-key', alg })),
  },
};
const getOptions = { publicKey: { rpId: 'localhost', challenge: CHALLENGE } };

for (const alg of ['ES256', 'EdDSA', 'RS256']) {
  for (const attestation of ['none', 'packed']) {
    const auth = new SoftAuthenticator({ alg, origin: ORIGIN });
    const cred = auth.create(createOptions, { attestation });
    const tag = `${alg}-${attestation}`;
    const ao = unb64u(cred.response.attestationObject);
    const ad = unb64u(cred.response.authenticatorData);
    write('fuzz_attestation', tag, ao);
    write('fuzz_registration', tag, JSON.stringify({ flow: 'x'.repeat(43), credential: cred }));
    if (attestation === 'none') {
      write('fuzz_authdata', `${tag}-create`, ad);
      write('fuzz_clientdata', `${tag}-create`, unb64u(cred.response.clientDataJSON));
      // The COSE key sits after rpIdHash(32) flags(1) count(4) aaguid(16) len(2) id.
      const idLen = ad.readUInt16BE(53);
      const cose = ad.subarray(55 + idLen);
      const a = auth.get(getOptions);
      const gad = unb64u(a.response.authenticatorData);
      const gcd = unb64u(a.response.clientDataJSON);
      const sig = unb64u(a.response.signature);
      write('fuzz_authdata', `${tag}-get`, gad);
      write('fuzz_clientdata', `${tag}-get`, gcd);
      write('fuzz_assertion', `${tag}-json`, JSON.stringify({ storedKey: b64u(cose), credential: a }));
      write('fuzz_assertion', `${tag}-parts`, join(cose, gad, sig, gcd));
      const msg = Buffer.concat([gad, crypto.createHash('sha256').update(gcd).digest()]);
      write('fuzz_cose', tag, join(cose, msg, sig));
    }
  }
}
write('fuzz_authdata', 'short', Buffer.alloc(37));
write('fuzz_cose', 'empty-map', Buffer.from([0xa0]));
write('fuzz_cose', 'huge-map', Buffer.from([0xbb, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]));
write('fuzz_attestation', 'huge-array', Buffer.from([0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]));
write('fuzz_attestation', 'deep', Buffer.from(new Array(64).fill(0x81)));
write('fuzz_clientdata', 'cross-origin', JSON.stringify({ type: 'webauthn.get', challenge: CHALLENGE, origin: ORIGIN, crossOrigin: true, topOrigin: 'https://evil.example' }));
write('fuzz_registration', 'empty', '{}');

// JWS: a signed token with a key the target does not hold, its parts damaged, alg none.
const { privateKey, publicKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
const hdr = (h) => b64u(Buffer.from(JSON.stringify(h)));
const claims = b64u(Buffer.from(JSON.stringify({ iss: 'rp', sub: 'rp', aud: 'https://op', jti: 'j1', exp: 2e9 })));
const input = `${hdr({ alg: 'ES256', kid: 'k1', typ: 'JWT' })}.${claims}`;
const sig = crypto.sign('sha256', Buffer.from(input), { key: privateKey, dsaEncoding: 'ieee-p1363' });
write('fuzz_jws', 'es256', `${input}.${b64u(sig)}`);
write('fuzz_jws', 'none', `${hdr({ alg: 'none' })}.${claims}.`);
write('fuzz_jws', 'hs256', `${hdr({ alg: 'HS256', kid: 'k1' })}.${claims}.${b64u(crypto.randomBytes(32))}`);
write('fuzz_jws', 'json-serialization', JSON.stringify({ payload: claims, signatures: [] }).replace(/^\{/, ' {'));
write('fuzz_jws', 'jwk-ec', JSON.stringify(publicKey.export({ format: 'jwk' })));
write('fuzz_jws', 'jwk-okp', JSON.stringify(crypto.generateKeyPairSync('ed25519').publicKey.export({ format: 'jwk' })));
write('fuzz_jws', 'jwk-rsa', JSON.stringify(crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ format: 'jwk' })));

write('fuzz_b64url', 'plain', b64u(crypto.randomBytes(33)));
write('fuzz_b64url', 'tail', 'QUJD-_x');
write('fuzz_b64url', 'padded', 'QUI=');

const verifier = b64u(crypto.randomBytes(32));
write('fuzz_pkce', 'good', join(verifier, crypto.createHash('sha256').update(verifier).digest('base64url')));
write('fuzz_pkce', 'long', join('~'.repeat(129), 'A'.repeat(43)));

write('fuzz_token', 'code', 'ABCD-EFGH');
write('fuzz_token', 'spaced', ' abcd efgh ');
write('fuzz_token', 'lookalike', join('O0I1-L2ZZ', 'O0I1-L2ZZ'));

const people = makePeople(3);
write('fuzz_register_csv', 'three', registerCsv(people));
write('fuzz_register_csv', 'quoted-crlf-bom', '\ufeff' + registerCsv(people).replaceAll('\n', '\r\n').replace('Jansen', '"Jan ""J"", sen"'));
write('fuzz_register_csv', 'header-only', registerCsv([]));

write('fuzz_form', 'auth', 'response_type=code&client_id=rp&redirect_uri=https%3A%2F%2Frp.example%2Fcb&scope=openid+profile&state=s');
write('fuzz_form', 'dup', 'a=1&a=2&b&=c&%ZZ=%&x=%C3%28');
write('fuzz_form', 'token', 'grant_type=authorization_code&code=abc&code_verifier=' + verifier);

write('fuzz_render', 'ctx', JSON.stringify({ message: '<script>alert(1)</script>', flow: '"><img>', params: [{ name: 'a', value: '</form>' }] }));
write('fuzz_render', 'text', 'nl-NL,nl;q=0.9,en;q=0.8');
write('fuzz_render', 'braces', '{{{content}}}{{#x}}{{/y}}');
// Raw HTTP requests for fuzz_http (the server it starts has no clients or flows).
const cookie = `Cookie: wp_browser=${b64u(crypto.randomBytes(32))}; wp_session=${b64u(crypto.randomBytes(32))}\r\n`;
const httpPost = (p, ctype, body, extra = '') =>
  `POST ${p} HTTP/1.1\r\nHost: localhost\r\nContent-Type: ${ctype}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n${extra}\r\n${body}`;
write('fuzz_http', 'authorize', `GET /authorize?response_type=code&client_id=rp&redirect_uri=https%3A%2F%2Frp.example%2Fcb&scope=openid&state=s&nonce=n&code_challenge=${'A'.repeat(43)}&code_challenge_method=S256 HTTP/1.1\r\nHost: localhost\r\n${cookie}\r\n`);
write('fuzz_http', 'token', httpPost('/token', 'application/x-www-form-urlencoded', `grant_type=authorization_code&code=abc&redirect_uri=https%3A%2F%2Frp.example%2Fcb&code_verifier=${verifier}`, `Authorization: Basic ${Buffer.from('rp:secret').toString('base64')}\r\n`));
write('fuzz_http', 'login-options', httpPost('/webauthn/login/options', 'application/json', JSON.stringify({ flow: b64u(crypto.randomBytes(32)) }), `Origin: http://localhost\r\n${cookie}`));
write('fuzz_http', 'register-verify', httpPost('/webauthn/register/verify', 'application/json', JSON.stringify({ flow: 'f', credential: { id: 'AAAA', rawId: 'AAAA', type: 'public-key', response: {} } }), cookie));
write('fuzz_http', 'enrol-code', httpPost('/enrol/code', 'application/x-www-form-urlencoded', 'flow=abc&csrf=def&code=ABCD-EFGH', cookie));
write('fuzz_http', 'login-page', `GET /login?flow=${b64u(crypto.randomBytes(32))} HTTP/1.1\r\nHost: localhost\r\nAccept-Language: nl-NL,nl;q=0.9\r\n${cookie}\r\n`);
write('fuzz_http', 'logout', `GET /logout?client_id=rp&post_logout_redirect_uri=https%3A%2F%2Frp.example%2Fbye&state=x&id_token_hint=a.b.c HTTP/1.1\r\nHost: localhost\r\n\r\n`);
write('fuzz_http', 'userinfo', `GET /userinfo HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${input}.${b64u(sig)}\r\n\r\n`);
write('fuzz_http', 'discovery', 'GET /.well-known/openid-configuration HTTP/1.1\r\nHost: localhost\r\n\r\n');
write('fuzz_http', 'chunked', 'POST /token HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\n5\r\na=b&c\r\n0\r\n\r\n');
write('fuzz_http', 'account', `GET /account HTTP/1.1\r\nHost: localhost\r\n${cookie}\r\n`);
console.log('corpus written to', path.join(here, 'corpus'));
