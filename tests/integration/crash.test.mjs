// Crash safety: enrolments and sign-ins run concurrently while the server is killed with
// SIGKILL at random moments and restarted on the same database. Afterwards every passkey
// whose registration the client saw acknowledged (200 from /webauthn/register/verify)
// must still sign in, the database must hold no half-written account or credential, and
// `wereldpas audit verify` must pass. Prints "kills survived: N".

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

import { binaryPath, startServer, makePeople } from '../lib/server.mjs';
import { authRequest, enrolWithInvite, signInWithPasskey } from '../lib/flows.mjs';

const KILLS = Number(process.env.WP_CRASH_KILLS ?? 10);
const WORKERS = 4;
const SANITIZER = ['ERROR: AddressSanitizer', 'runtime error:', 'ERROR: LeakSanitizer'];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Starts `wereldpas serve` on srv's config and waits for /healthz. Returns the child and a
// promise of its exit.
async function serve(srv, log) {
  const child = spawn(binaryPath(), ['--config', srv.cfgPath, 'serve'], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.on('data', (d) => (log.text += d));
  child.stderr.on('data', (d) => (log.text += d));
  const exited = new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal })));
  let gone = null;
  exited.then((e) => (gone = e));
  const deadline = Date.now() + 20000;
  for (;;) {
    if (gone) throw new Error(`serve exited at start: ${JSON.stringify(gone)}\n${log.text.slice(-3000)}`);
    try {
      const r = await fetch(`${srv.issuer}/healthz`, { signal: AbortSignal.timeout(1000) });
      await r.arrayBuffer();
      if (r.status === 200) return { child, exited };
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`serve: no /healthz within 20 s\n${log.text.slice(-3000)}`);
    }
    await sleep(50);
  }
}

function sql(db, query) {
  return execFileSync('sqlite3', ['-batch', '-noheader', db, query], { encoding: 'utf8' }).trim();
}

test('acknowledged enrolments survive SIGKILL at random moments', { timeout: 600000 }, async () => {
  const people = makePeople(120);
  const srv = await startServer({ people });
  const client = await srv.addClient({ id: 'rp-crash', redirectUris: 'https://rp.example.test/cb' });
  client.redirectUri = 'https://rp.example.test/cb';
  // The helper's server is replaced by ours, which we kill and restart.
  srv.child.kill('SIGKILL');
  await new Promise((r) => srv.child.once('close', r));
  const log = { text: '' };
  let server = await serve(srv, log);

  const acknowledged = []; // { person, authenticator }
  const stats = { enrolments: 0, enrolFailures: 0, signIns: 0, signInFailures: 0 };
  let nextPerson = 0;
  let stop = false;

  async function worker(id) {
    while (!stop) {
      const known = acknowledged.length && id % 2 === 1 && crypto.randomInt(3) === 0;
      try {
        if (known) {
          const a = acknowledged[crypto.randomInt(acknowledged.length)];
          await signInWithPasskey(srv, { authorizeUrl: authRequest(srv, client).url, authenticator: a.authenticator });
          stats.signIns++;
        } else {
          if (nextPerson >= people.length) return;
          const person = people[nextPerson++];
          const r = await enrolWithInvite(srv, { authorizeUrl: authRequest(srv, client).url, person });
          // enrolWithInvite asserted the 200 of register/verify: acknowledged from here on.
          acknowledged.push({ person, authenticator: r.authenticator });
          stats.enrolments++;
        }
      } catch {
        if (known) stats.signInFailures++;
        else stats.enrolFailures++;
        await sleep(20);
      }
    }
  }

  const workers = Array.from({ length: WORKERS }, (_, i) => worker(i));
  let survived = 0;
  try {
    for (let k = 0; k < KILLS; k++) {
      await sleep(200 + crypto.randomInt(1200));
      server.child.kill('SIGKILL');
      await server.exited;
      await sleep(crypto.randomInt(200));
      server = await serve(srv, log);
      survived++;
    }
  } finally {
    stop = true;
    await Promise.all(workers);
  }

  // Every acknowledged passkey still signs in.
  let verified = 0;
  for (const a of acknowledged) {
    const r = await signInWithPasskey(srv, { authorizeUrl: authRequest(srv, client).url, authenticator: a.authenticator });
    assert.ok(r.redirect.searchParams.get('code'), `person ${a.person.person_number} signs in after the kills`);
    verified++;
  }

  server.child.kill('SIGTERM');
  const end = await server.exited;
  assert.equal(end.code, 0, `clean stop after the test: ${JSON.stringify(end)}`);
  assert.ok(!SANITIZER.some((m) => log.text.includes(m)), `no sanitizer report:\n${log.text.slice(-4000)}`);

  // Nothing half-written.
  const db = path.join(srv.dir, 'wp.db');
  assert.equal(sql(db, 'PRAGMA integrity_check'), 'ok', 'SQLite integrity_check');
  assert.equal(sql(db, 'PRAGMA foreign_key_check'), '', 'no dangling foreign keys');
  const orphanAccounts = Number(sql(db, 'SELECT count(*) FROM accounts a WHERE NOT EXISTS (SELECT 1 FROM credentials c WHERE c.account_id = a.id)'));
  const orphanCreds = Number(sql(db, 'SELECT count(*) FROM credentials c WHERE NOT EXISTS (SELECT 1 FROM accounts a WHERE a.id = c.account_id)'));
  assert.equal(orphanAccounts, 0, 'no account without a passkey');
  assert.equal(orphanCreds, 0, 'no passkey without an account');
  const accounts = Number(sql(db, 'SELECT count(*) FROM accounts'));
  assert.ok(accounts >= acknowledged.length, `${accounts} accounts for ${acknowledged.length} acknowledged enrolments`);

  let audit = 'absent';
  const help = await srv.run(['--help']);
  if (/audit verify/.test(help.stdout + help.stderr)) {
    const r = await srv.run(['audit', 'verify']);
    assert.equal(r.code, 0, `audit verify: ${r.stdout} ${r.stderr}`);
    audit = r.stdout.trim();
  }
  console.log(`kills survived: ${survived}; acknowledged enrolments ${acknowledged.length} (all ${verified} sign in again), ` +
    `accounts ${accounts}, failed enrolments ${stats.enrolFailures}, sign-ins ${stats.signIns} ` +
    `(${stats.signInFailures} cut off), audit: ${audit}`);
  assert.equal(survived, KILLS);
  assert.ok(acknowledged.length > 0, 'some enrolments were acknowledged');
  fs.rmSync(srv.dir, { recursive: true, force: true });
});
