// A second, independent relying party: Apache httpd with mod_auth_openidc (Debian
// packages apache2 and libapache2-mod-auth-openidc) protects a page with Wereldpas as
// its provider. A person signs in with the software authenticator; the page then shows
// the pairwise sub. Once with client_secret_basic, once with private_key_jwt (RS256).
// Skipped, with a message, when apache2 or the module is not installed.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { startServer, makePeople, freePort } from '../lib/server.mjs';
import { Walker } from '../lib/browserless.mjs';
import { SoftAuthenticator } from '../lib/softauthn.mjs';
import { enrolWithInvite, signInWithPasskey } from '../lib/flows.mjs';

const T = { timeout: 90000 };
const APACHE = '/usr/sbin/apache2';
const MODULES = '/usr/lib/apache2/modules';
const missing = !fs.existsSync(APACHE) || !fs.existsSync(path.join(MODULES, 'mod_auth_openidc.so'));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Starts Apache in the foreground on PORT with one protected location for CLIENT
// ({ id, secret } or { id, keyFile, publicFile, kid }). Resolves to { url, redirectUri, stop, log }.
async function startApache(port, issuer, client) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wp-apache-'));
  fs.chmodSync(dir, 0o755);
  const url = `http://127.0.0.1:${port}`;
  fs.mkdirSync(path.join(dir, 'htdocs', 'protected'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'htdocs', 'protected', 'index.html'), '<p>protected by mod_auth_openidc</p>\n');
  const auth = client.secret
    ? ['OIDCProviderTokenEndpointAuth client_secret_basic', `OIDCClientSecret ${client.secret}`]
    : [
        // 2.4.12 dereferences the public key list when it builds the assertion: give both.
        `OIDCPrivateKeyFiles ${client.kid}#${client.keyFile}`,
        `OIDCPublicKeyFiles ${client.kid}#${client.publicFile}`,
        'OIDCProviderTokenEndpointAuth private_key_jwt',
      ];
  const conf = [
    `ServerRoot ${dir}`,
    `DefaultRuntimeDir ${dir}`,
    `PidFile ${dir}/httpd.pid`,
    `Listen 127.0.0.1:${port}`,
    'ServerName 127.0.0.1',
    'User www-data',
    'Group www-data',
    `ErrorLog ${dir}/error.log`,
    process.env.WP_APACHE_DEBUG ? 'LogLevel warn auth_openidc:debug' : 'LogLevel warn auth_openidc:info',
    `LoadModule mpm_event_module ${MODULES}/mod_mpm_event.so`,
    `LoadModule authn_core_module ${MODULES}/mod_authn_core.so`,
    `LoadModule authz_core_module ${MODULES}/mod_authz_core.so`,
    `LoadModule authz_user_module ${MODULES}/mod_authz_user.so`,
    `LoadModule auth_openidc_module ${MODULES}/mod_auth_openidc.so`,
    `LoadModule headers_module ${MODULES}/mod_headers.so`,
    `LoadModule dir_module ${MODULES}/mod_dir.so`,
    `DocumentRoot ${dir}/htdocs`,
    'DirectoryIndex index.html',
    `OIDCProviderMetadataURL ${issuer}/.well-known/openid-configuration`,
    `OIDCClientID ${client.id}`,
    ...auth,
    `OIDCRedirectURI ${url}/protected/redirect_uri`,
    `OIDCCryptoPassphrase ${crypto.randomBytes(24).toString('hex')}`,
    'OIDCScope "openid profile"',
    'OIDCPKCEMethod S256',
    'OIDCResponseType code',
    '<Location /protected/>',
    '  AuthType openid-connect',
    '  Require valid-user',
    '  Header always set X-Oidc-Sub "%{OIDC_CLAIM_sub}e"',
    '  Header always set X-Oidc-Given-Name "%{OIDC_CLAIM_given_name}e"',
    '</Location>',
    '',
  ].join('\n');
  const confFile = path.join(dir, 'httpd.conf');
  fs.writeFileSync(confFile, conf);
  const child = spawn(APACHE, ['-f', confFile, '-DFOREGROUND'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const exited = new Promise((r) => child.on('close', r));
  const log = () => `${out}\n${fs.existsSync(`${dir}/error.log`) ? fs.readFileSync(`${dir}/error.log`, 'utf8') : ''}`;
  const deadline = Date.now() + 15000;
  for (;;) {
    try {
      const res = await fetch(`${url}/`, { signal: AbortSignal.timeout(1000) });
      await res.arrayBuffer();
      break;
    } catch {
      if (child.exitCode !== null || Date.now() > deadline) throw new Error(`apache did not start:\n${log()}`);
      await sleep(100);
    }
  }
  return {
    url,
    redirectUri: `${url}/protected/redirect_uri`,
    log,
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

// A browser navigation to Apache with the walker's cookies. fetch() cannot be used:
// it always sends Sec-Fetch-Mode: cors, which mod_auth_openidc answers with 401 instead
// of a redirect (not a top-level navigation). Resolves to { status, location, headers, text }.
function navigate(walker, url) {
  return new Promise((resolve, reject) => {
    const headers = { accept: 'text/html', 'sec-fetch-mode': 'navigate', 'sec-fetch-dest': 'document' };
    const cookie = walker.jar.header(url);
    if (cookie) headers.cookie = cookie;
    const req = http.get(url, { headers, timeout: 15000 }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (text += d));
      res.on('end', () => {
        const set = res.headers['set-cookie'] ?? [];
        walker.jar.store(url, set);
        const h = new Headers();
        for (const [k, v] of Object.entries(res.headers)) if (k !== 'set-cookie') h.set(k, String(v));
        resolve({ status: res.statusCode, location: res.headers.location, headers: h, text });
      });
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

// Walks from the protected page through Wereldpas and back; returns the final response.
async function visit(walker, apache, signIn) {
  const first = await navigate(walker, `${apache.url}/protected/`);
  assert.equal(first.status, 302, `apache redirects to the provider (${first.status})\n${apache.log().slice(-2000)}`);
  const authorizeUrl = new URL(first.location, apache.url);
  const redirect = await signIn(authorizeUrl);
  assert.equal(`${redirect.origin}${redirect.pathname}`, apache.redirectUri);
  assert.equal(redirect.searchParams.get('error'), null, redirect.searchParams.get('error_description') ?? '');
  let res = await navigate(walker, redirect.toString());
  for (let i = 0; i < 5 && res.status >= 300 && res.status < 400; i++) res = await navigate(walker, new URL(res.location, apache.url).toString());
  return res;
}

describe('mod_auth_openidc as a second relying party', { timeout: 300000, skip: missing && 'apache2 or libapache2-mod-auth-openidc is not installed' }, () => {
  const people = makePeople(2);
  let srv;
  const authenticator = { current: null };
  const apaches = [];

  before(async () => {
    srv = await startServer({ people });
  });
  after(async () => {
    for (const a of apaches) await a.stop();
    await srv?.stop();
  });

  test('client_secret_basic: sign in through mod_auth_openidc with a new passkey', T, async () => {
    const id = 'apache-basic';
    // The client is registered with the redirect URI on the port Apache will listen on.
    const port = await freePort();
    const redirectUri = `http://127.0.0.1:${port}/protected/redirect_uri`;
    const reg = await srv.addClient({ id, redirectUris: [redirectUri], auth: 'client_secret_basic', pkce: 'required' });
    const apache = await startApache(port, srv.issuer, { id, secret: reg.client_secret });
    apaches.push(apache);
    const walker = new Walker(srv.issuer);
    authenticator.current = new SoftAuthenticator({ alg: 'ES256', origin: srv.issuer });
    const res = await visit(walker, apache, async (authorizeUrl) => {
      const r = await enrolWithInvite(srv, { authorizeUrl, person: people[0], walker, authenticator: authenticator.current });
      return r.redirect;
    });
    assert.equal(res.status, 200, `protected page: ${res.status} ${res.text?.slice(0, 200)}\n${apache.log().slice(-3000)}`);
    assert.match(res.text, /protected by mod_auth_openidc/);
    assert.match(res.headers.get('x-oidc-sub') ?? '', /^[0-9a-f]{64}$/, 'pairwise sub');
    assert.equal(res.headers.get('x-oidc-given-name'), people[0].given_names);
  });

  test('private_key_jwt: sign in through mod_auth_openidc with the same passkey', T, async () => {
    assert.ok(authenticator.current, 'needs the first test');
    const id = 'apache-pkjwt';
    const kid = 'apache-rs256';
    const { privateKey, publicKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wp-apache-key-'));
    fs.chmodSync(dir, 0o755);
    const keyFile = path.join(dir, 'rp.pem');
    fs.writeFileSync(keyFile, privateKey.export({ type: 'pkcs1', format: 'pem' }), { mode: 0o644 });
    const publicFile = path.join(dir, 'rp.pub.pem');
    fs.writeFileSync(publicFile, publicKey.export({ type: 'spki', format: 'pem' }), { mode: 0o644 });
    const jwksFile = path.join(srv.dir, 'apache.jwks.json');
    fs.writeFileSync(jwksFile, JSON.stringify({ keys: [{ ...publicKey.export({ format: 'jwk' }), kid, alg: 'RS256', use: 'sig' }] }));
    const port = await freePort();
    const redirectUri = `http://127.0.0.1:${port}/protected/redirect_uri`;
    await srv.addClient({ id, redirectUris: [redirectUri], auth: 'private_key_jwt', extra: ['--jwks-file', jwksFile] });
    const apache = await startApache(port, srv.issuer, { id, keyFile, publicFile, kid });
    apaches.push(apache);
    const walker = new Walker(srv.issuer);
    const res = await visit(walker, apache, async (authorizeUrl) => {
      const r = await signInWithPasskey(srv, { authorizeUrl, authenticator: authenticator.current, walker });
      return r.redirect;
    }).catch(async (e) => {
      await sleep(1000);
      throw new Error(`${e.message}\n--- apache log ---\n${apache.log().slice(-3000)}`);
    });
    fs.rmSync(dir, { recursive: true, force: true });
    assert.equal(res.status, 200, `protected page: ${res.status}\n${apache.log().slice(-3000)}`);
    assert.match(res.text, /protected by mod_auth_openidc/, `${res.text.slice(0, 300)}\n${apache.log().slice(-3000)}\n${srv.serverStderr.slice(-1500)}`);
    assert.match(res.headers.get('x-oidc-sub') ?? '', /^[0-9a-f]{64}$/);
  });

  test('mod_auth_openidc refuses a callback with a forged code', T, async () => {
    const apache = apaches[0];
    assert.ok(apache, 'needs the first test');
    const walker = new Walker(srv.issuer);
    const first = await navigate(walker, `${apache.url}/protected/`);
    const state = new URL(first.location).searchParams.get('state');
    const res = await navigate(walker, `${apache.redirectUri}?code=forged&state=${state}&iss=${encodeURIComponent(srv.issuer)}`);
    assert.doesNotMatch(res.text, /protected by mod_auth_openidc/, 'no access with a forged code');
    assert.ok(!res.headers.get('x-oidc-sub'), 'no subject');
  });
});
