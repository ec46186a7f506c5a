// A software WebAuthn authenticator for tests.
//
// It makes discoverable credentials (ES256 on P-256, EdDSA on Ed25519, RS256 on
// RSA-2048) and answers creation and request options in the WebAuthn Level 3
// JSON forms (RegistrationResponseJSON, AuthenticationResponseJSON), so a test
// can play the browser and the authenticator at once. Every ceremony takes
// "knobs" that break one thing on purpose, so the server's checks can be
// tested one by one.
//
// Keys and signatures: node:crypto. CBOR (attestation object, COSE keys):
// cborg (pure JavaScript), always with Map values so that COSE keys get integer map keys;
// cborg writes the shortest form and sorts map keys canonically (CTAP2 canonical CBOR).

import crypto from 'node:crypto';
import * as cborg from 'cborg';

const cbor = { encode: (value) => cborg.encode(value) };
const decode = (buf) => cborg.decode(buf, { useMaps: true });

// COSE algorithm identifiers (RFC 9053, RFC 8812).
export const COSE_ALG = { ES256: -7, EdDSA: -8, RS256: -257 };

const FLAG_UP = 0x01;
const FLAG_UV = 0x04;
const FLAG_BE = 0x08;
const FLAG_BS = 0x10;
const FLAG_AT = 0x40;

// Encodes bytes as base64url without padding.
export function b64u(buf) {
  return Buffer.from(buf).toString('base64url');
}

// Decodes base64url (padding tolerated) into a Buffer.
export function unb64u(s) {
  return Buffer.from(s, 'base64url');
}

// Encodes a value as CBOR; plain objects should be passed as Map to keep
// canonical form.
export function cborEncode(value) {
  return Buffer.from(cbor.encode(value));
}

export function cborDecode(buf) {
  return decode(buf);
}

function sha256(data) {
  return crypto.createHash('sha256').update(data).digest();
}

function u32be(n) {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
}

function u16be(n) {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
}

// Makes a key pair for ALG ('ES256', 'EdDSA', 'RS256').
function generateKey(alg) {
  if (alg === 'ES256') return crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  if (alg === 'EdDSA') return crypto.generateKeyPairSync('ed25519');
  if (alg === 'RS256') return crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  throw new Error(`softauthn: unsupported algorithm ${alg}`);
}

// Returns the COSE_Key (as a Map with integer keys) for a public KeyObject.
export function coseKey(alg, publicKey) {
  const jwk = publicKey.export({ format: 'jwk' });
  if (alg === 'ES256') {
    return new Map([
      [1, 2], // kty: EC2
      [3, COSE_ALG.ES256],
      [-1, 1], // crv: P-256
      [-2, unb64u(jwk.x)],
      [-3, unb64u(jwk.y)],
    ]);
  }
  if (alg === 'EdDSA') {
    return new Map([
      [1, 1], // kty: OKP
      [3, COSE_ALG.EdDSA],
      [-1, 6], // crv: Ed25519
      [-2, unb64u(jwk.x)],
    ]);
  }
  if (alg === 'RS256') {
    return new Map([
      [1, 3], // kty: RSA
      [3, COSE_ALG.RS256],
      [-1, unb64u(jwk.n)],
      [-2, unb64u(jwk.e)],
    ]);
  }
  throw new Error(`softauthn: unsupported algorithm ${alg}`);
}

// Turns a decoded COSE_Key (Map or object) back into a node:crypto KeyObject
// and the algorithm name. Used by the self-checks.
export function publicKeyFromCose(cose) {
  const get = (k) => (cose instanceof Map ? cose.get(k) : cose[k]);
  const kty = get(1);
  const alg = get(3);
  if (kty === 2 && alg === COSE_ALG.ES256 && get(-1) === 1) {
    const jwk = { kty: 'EC', crv: 'P-256', x: b64u(get(-2)), y: b64u(get(-3)) };
    return { alg: 'ES256', key: crypto.createPublicKey({ key: jwk, format: 'jwk' }) };
  }
  if (kty === 1 && alg === COSE_ALG.EdDSA && get(-1) === 6) {
    const jwk = { kty: 'OKP', crv: 'Ed25519', x: b64u(get(-2)) };
    return { alg: 'EdDSA', key: crypto.createPublicKey({ key: jwk, format: 'jwk' }) };
  }
  if (kty === 3 && alg === COSE_ALG.RS256) {
    const jwk = { kty: 'RSA', n: b64u(get(-1)), e: b64u(get(-2)) };
    return { alg: 'RS256', key: crypto.createPublicKey({ key: jwk, format: 'jwk' }) };
  }
  throw new Error(`softauthn: unknown COSE key kty=${kty} alg=${alg}`);
}

// Signs DATA with the credential's key: DER ECDSA for ES256, raw Ed25519,
// PKCS#1 v1.5 for RS256 (what WebAuthn expects for each).
export function signWith(alg, privateKey, data) {
  if (alg === 'EdDSA') return crypto.sign(null, data, privateKey);
  return crypto.sign('sha256', data, privateKey);
}

export function verifyWith(alg, publicKey, data, signature) {
  if (alg === 'EdDSA') return crypto.verify(null, data, publicKey, signature);
  return crypto.verify('sha256', data, publicKey, signature);
}

// Parses authenticator data into its parts (and the COSE key when present).
export function parseAuthData(buf) {
  buf = Buffer.from(buf);
  const out = {
    rpIdHash: buf.subarray(0, 32),
    flags: buf[32],
    signCount: buf.readUInt32BE(33),
  };
  if (out.flags & FLAG_AT) {
    out.aaguid = buf.subarray(37, 53);
    const len = buf.readUInt16BE(53);
    out.credentialId = buf.subarray(55, 55 + len);
    const rest = buf.subarray(55 + len);
    out.coseKey = decode(rest);
  }
  return out;
}

function randomChallenge() {
  return b64u(crypto.randomBytes(32));
}

// A software authenticator holding any number of discoverable credentials.
//
// new SoftAuthenticator({ alg: 'ES256' | 'EdDSA' | 'RS256', origin })
//   alg      the key type of new credentials (default ES256)
//   origin   the origin the "browser" reports in clientDataJSON
//
// create(publicKeyOptionsJSON, knobs) -> RegistrationResponseJSON
// get(publicKeyOptionsJSON, knobs)    -> AuthenticationResponseJSON
//
// Knobs (all optional), each breaking one thing:
//   challenge        the challenge to put in clientDataJSON (string, base64url)
//   wrongChallenge   true: a random challenge instead of the server's
//   origin           another origin in clientDataJSON
//   type             another clientDataJSON type (e.g. 'webauthn.get' on create)
//   rpId             hash this RP ID instead of the one in the options
//   wrongRpIdHash    true: hash 'evil.example' instead
//   uv               false: leave the user-verified flag unset
//   up               false: leave the user-present flag unset
//   badSignature     true: corrupt the signature (get, and packed attestation)
//   signCount        the exact counter to report
//   counterNotIncreasing true: report the last counter again (no increase)
//   ignoreAlgs       true: create even if the options do not list our algorithm
//   attestation      'none' (default) or 'packed' (self attestation)
//   credentialId     get: use this credential (base64url) from our store
//   userHandle       get: report this user handle instead (base64url, or null)
//   crossOrigin      put crossOrigin: true in clientDataJSON
//   backup           set the backup-eligible and backed-up flags (synced passkey)
export class SoftAuthenticator {
  constructor({ alg = 'ES256', origin } = {}) {
    this.alg = alg;
    this.origin = origin;
    this.credentials = [];
    this.aaguid = Buffer.alloc(16);
  }

  clientData(type, challenge, knobs) {
    const data = {
      type: knobs.type ?? type,
      challenge: knobs.wrongChallenge ? randomChallenge() : (knobs.challenge ?? challenge),
      origin: knobs.origin ?? this.origin,
      crossOrigin: knobs.crossOrigin === true,
    };
    if (!data.origin) throw new Error('softauthn: no origin');
    return Buffer.from(JSON.stringify(data), 'utf8');
  }

  flags(knobs, extra) {
    let f = extra;
    if (knobs.backup) f |= FLAG_BE | FLAG_BS;
    if (knobs.up !== false) f |= FLAG_UP;
    if (knobs.uv !== false) f |= FLAG_UV;
    return f;
  }

  rpIdHash(rpId, knobs) {
    if (knobs.wrongRpIdHash) return sha256('evil.example');
    return sha256(knobs.rpId ?? rpId);
  }

  create(options, knobs = {}) {
    const pk = options.publicKey ?? options;
    const rpId = pk.rp?.id ?? new URL(knobs.origin ?? this.origin).hostname;
    const algs = (pk.pubKeyCredParams ?? []).map((p) => p.alg);
    if (!knobs.ignoreAlgs && !algs.includes(COSE_ALG[this.alg])) {
      throw new Error(`softauthn: options do not allow ${this.alg} (${algs.join(',')})`);
    }
    const excluded = new Set((pk.excludeCredentials ?? []).map((c) => c.id));
    for (const c of this.credentials) {
      if (c.rpId === rpId && excluded.has(c.id)) {
        throw new Error('softauthn: InvalidStateError (credential excluded)');
      }
    }
    const { publicKey, privateKey } = generateKey(this.alg);
    const rawId = crypto.randomBytes(32);
    const cred = {
      id: b64u(rawId),
      rawId,
      rpId,
      alg: this.alg,
      userHandle: pk.user?.id ?? null,
      userName: pk.user?.name ?? null,
      publicKey,
      privateKey,
      signCount: knobs.signCount ?? 1,
    };
    const cose = cborEncode(coseKey(this.alg, publicKey));
    const authData = Buffer.concat([
      this.rpIdHash(rpId, knobs),
      Buffer.from([this.flags(knobs, FLAG_AT)]),
      u32be(cred.signCount),
      this.aaguid,
      u16be(rawId.length),
      rawId,
      cose,
    ]);
    const clientDataJSON = this.clientData('webauthn.create', pk.challenge, knobs);
    let fmt = 'none';
    let attStmt = new Map();
    if (knobs.attestation === 'packed') {
      fmt = 'packed';
      let sig = signWith(this.alg, privateKey, Buffer.concat([authData, sha256(clientDataJSON)]));
      if (knobs.badSignature) sig = corrupt(sig);
      attStmt = new Map([
        ['alg', COSE_ALG[this.alg]],
        ['sig', sig],
      ]);
    }
    const attestationObject = cborEncode(
      new Map([
        ['fmt', fmt],
        ['attStmt', attStmt],
        ['authData', authData],
      ]),
    );
    if (!knobs.dontStore) this.credentials.push(cred);
    this.lastCreated = cred;
    return {
      id: cred.id,
      rawId: cred.id,
      type: 'public-key',
      response: {
        clientDataJSON: b64u(clientDataJSON),
        attestationObject: b64u(attestationObject),
        authenticatorData: b64u(authData),
        transports: ['internal'],
        publicKeyAlgorithm: COSE_ALG[this.alg],
        publicKey: b64u(publicKey.export({ format: 'der', type: 'spki' })),
      },
      clientExtensionResults: {},
      authenticatorAttachment: 'platform',
    };
  }

  // Picks the credential for a request: the named one, one from
  // allowCredentials, or (discoverable) the newest one for the RP ID.
  pick(rpId, pk, knobs) {
    if (knobs.credentialId) {
      const c = this.credentials.find((x) => x.id === knobs.credentialId);
      if (!c) throw new Error('softauthn: no such credential');
      return c;
    }
    const allow = (pk.allowCredentials ?? []).map((c) => c.id);
    const mine = this.credentials.filter((c) => c.rpId === rpId);
    const usable = allow.length ? mine.filter((c) => allow.includes(c.id)) : mine;
    if (!usable.length) throw new Error(`softauthn: NotAllowedError (no credential for ${rpId})`);
    return usable[usable.length - 1];
  }

  get(options, knobs = {}) {
    const pk = options.publicKey ?? options;
    const rpId = pk.rpId ?? new URL(knobs.origin ?? this.origin).hostname;
    const cred = this.pick(rpId, pk, knobs);
    let count;
    if (knobs.signCount !== undefined) count = knobs.signCount;
    else if (knobs.counterNotIncreasing) count = cred.signCount;
    else count = cred.signCount + 1;
    const authData = Buffer.concat([
      this.rpIdHash(rpId, knobs),
      Buffer.from([this.flags(knobs, 0)]),
      u32be(count),
    ]);
    const clientDataJSON = this.clientData('webauthn.get', pk.challenge, knobs);
    let signature = signWith(cred.alg, cred.privateKey, Buffer.concat([authData, sha256(clientDataJSON)]));
    if (knobs.badSignature) signature = corrupt(signature);
    if (count > cred.signCount) cred.signCount = count;
    const userHandle = knobs.userHandle !== undefined ? knobs.userHandle : cred.userHandle;
    return {
      id: cred.id,
      rawId: cred.id,
      type: 'public-key',
      response: {
        clientDataJSON: b64u(clientDataJSON),
        authenticatorData: b64u(authData),
        signature: b64u(signature),
        userHandle,
      },
      clientExtensionResults: {},
      authenticatorAttachment: 'platform',
    };
  }
}

// Flips bits in the middle of a signature so it no longer verifies but keeps
// its length (and, for DER, usually its structure).
function corrupt(sig) {
  const s = Buffer.from(sig);
  const i = Math.floor(s.length / 2) + 4 < s.length ? Math.floor(s.length / 2) + 4 : s.length - 1;
  s[i] ^= 0x5a;
  return s;
}

// Checks a RegistrationResponseJSON as a relying party would (used to test
// this authenticator itself). Returns { credentialId, publicKey, alg,
// signCount, flags } or throws.
export function checkRegistration(resp, { challenge, origin, rpId }) {
  const cd = JSON.parse(unb64u(resp.response.clientDataJSON).toString('utf8'));
  if (cd.type !== 'webauthn.create') throw new Error('type');
  if (cd.challenge !== challenge) throw new Error('challenge');
  if (cd.origin !== origin) throw new Error('origin');
  const att = decode(unb64u(resp.response.attestationObject));
  const fmt = att.get('fmt');
  const authDataRaw = att.get('authData');
  const ad = parseAuthData(authDataRaw);
  if (!ad.rpIdHash.equals(sha256(rpId))) throw new Error('rpIdHash');
  if (!(ad.flags & FLAG_UP)) throw new Error('UP');
  if (!(ad.flags & FLAG_UV)) throw new Error('UV');
  if (b64u(ad.credentialId) !== resp.id) throw new Error('credential id');
  const { alg, key } = publicKeyFromCose(ad.coseKey);
  if (fmt === 'packed') {
    const st = att.get('attStmt');
    const data = Buffer.concat([Buffer.from(authDataRaw), sha256(unb64u(resp.response.clientDataJSON))]);
    if (!verifyWith(alg, key, data, st.get('sig'))) throw new Error('attestation signature');
  } else if (fmt !== 'none') {
    throw new Error(`fmt ${fmt}`);
  }
  return { credentialId: resp.id, publicKey: key, alg, signCount: ad.signCount, flags: ad.flags };
}

// Checks an AuthenticationResponseJSON against a stored credential (see
// checkRegistration). Returns the new counter or throws.
export function checkAssertion(resp, stored, { challenge, origin, rpId }) {
  const cdRaw = unb64u(resp.response.clientDataJSON);
  const cd = JSON.parse(cdRaw.toString('utf8'));
  if (cd.type !== 'webauthn.get') throw new Error('type');
  if (cd.challenge !== challenge) throw new Error('challenge');
  if (cd.origin !== origin) throw new Error('origin');
  const adRaw = unb64u(resp.response.authenticatorData);
  const ad = parseAuthData(adRaw);
  if (!ad.rpIdHash.equals(sha256(rpId))) throw new Error('rpIdHash');
  if (!(ad.flags & FLAG_UP)) throw new Error('UP');
  if (!(ad.flags & FLAG_UV)) throw new Error('UV');
  const data = Buffer.concat([adRaw, sha256(cdRaw)]);
  if (!verifyWith(stored.alg, stored.publicKey, data, unb64u(resp.response.signature))) {
    throw new Error('signature');
  }
  if ((ad.signCount !== 0 || stored.signCount !== 0) && ad.signCount <= stored.signCount) {
    throw new Error('counter');
  }
  return ad.signCount;
}
