// Starts a real Wereldpas server for a test, in its own temporary folder,
// with a synthetic diploma register, and stops it afterwards.
//
// const srv = await startServer();
// srv.issuer, srv.port, srv.dir, srv.cfgPath, srv.people
// await srv.run(['client', 'list'])  -> { code, stdout, stderr }
// await srv.invite(personNumber)     -> 'XXXX-XXXX'
// await srv.addClient({ id, redirectUris, auth, pkce, idTokenAlg, ... })
//                                    -> { client_id, client_secret? }
// await srv.stop()                   -> throws if the server did not exit 0 or
//                                       printed a sanitizer report

import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '..', '..');

const SANITIZER_MARKS = ['ERROR: AddressSanitizer', 'runtime error:', 'ERROR: LeakSanitizer'];

// The binary under test: $WP_BIN, else build/wereldpas in the repository.
export function binaryPath() {
  const bin = process.env.WP_BIN || path.join(repo, 'build', 'wereldpas');
  if (!fs.existsSync(bin)) {
    throw new Error(`wereldpas binary not found at ${bin} (set WP_BIN)`);
  }
  return path.resolve(bin);
}

// Returns a free TCP port on 127.0.0.1 (listen on 0, read it, close).
export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

// Makes a random 9-digit person number that passes the 11-test:
// d1*9 + d2*8 + ... + d8*2 - d9*1 is divisible by 11 and not 0.
export function personNumber() {
  for (;;) {
    const d = [...crypto.randomBytes(8)].map((b) => b % 10);
    if (d[0] === 0) d[0] = 1;
    let sum = 0;
    for (let i = 0; i < 8; i++) sum += d[i] * (9 - i);
    const last = sum % 11;
    if (last > 9) continue;
    if (sum - last === 0) continue;
    return d.join('') + String(last);
  }
}

// Checks the 11-test (used to test personNumber itself).
export function elevenTest(n) {
  if (!/^[0-9]{9}$/.test(n)) return false;
  let sum = 0;
  for (let i = 0; i < 8; i++) sum += Number(n[i]) * (9 - i);
  sum -= Number(n[8]);
  return sum !== 0 && sum % 11 === 0;
}

const GIVEN = ['Anna Maria', 'Jan', 'Fatima', 'Chen', 'Pieter Jan', 'Noor', 'Mateo', 'Aïsha'];
const FAMILY = ['de Vries', 'Jansen', 'El Amrani', 'Wang', 'van den Berg', 'Bakker', 'García', 'Öztürk'];

// Makes N synthetic register rows.
export function makePeople(n) {
  const people = [];
  const seen = new Set();
  for (let i = 0; i < n; i++) {
    let pn;
    do pn = personNumber();
    while (seen.has(pn));
    seen.add(pn);
    const year = 1960 + (i % 40);
    people.push({
      person_number: pn,
      family_name: FAMILY[i % FAMILY.length],
      given_names: GIVEN[i % GIVEN.length],
      birthdate: `${year}-0${1 + (i % 9)}-1${i % 10}`,
      institution: 'Universiteit Testdam',
      programme: 'Synthetic Studies',
      diploma_date: `${year + 23}-07-0${1 + (i % 9)}`,
      contact_email: `person${i}@example.test`,
      preferred_language: i % 2 ? 'en' : 'nl',
    });
  }
  return people;
}

const CSV_HEADER = [
  'person_number',
  'family_name',
  'given_names',
  'birthdate',
  'institution',
  'programme',
  'diploma_date',
  'contact_email',
  'preferred_language',
];

function csvField(v) {
  const s = String(v ?? '');
  return /[",\n\r]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

export function registerCsv(people) {
  const lines = [CSV_HEADER.join(',')];
  for (const p of people) lines.push(CSV_HEADER.map((k) => csvField(p[k])).join(','));
  return lines.join('\n') + '\n';
}

// Runs the binary with ARGS; resolves { code, signal, stdout, stderr }.
export function runBinary(args, { timeoutMs = 30000, env } = {}) {
  const bin = binaryPath();
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`wereldpas ${args.join(' ')}: timed out after ${timeoutMs} ms\n${stderr}`));
    }, timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

function sanitizerReport(text) {
  return SANITIZER_MARKS.some((m) => text.includes(m));
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Starts a server. Options:
//   people    register rows (default: 12 synthetic people)
//   config    extra INI text appended to the config (e.g. '[limits]\n...')
//   env       extra environment for the server
export async function startServer(opts = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wp-test-'));
  const port = await freePort();
  const issuer = `http://localhost:${port}`;
  const cfgPath = path.join(dir, 'wereldpas.ini');
  const outbox = path.join(dir, 'outbox');
  fs.mkdirSync(outbox);
  const config = [
    '[server]',
    `issuer = ${issuer}`,
    `listen = 127.0.0.1:${port}`,
    '[storage]',
    `url = sqlite:${path.join(dir, 'wp.db')}`,
    '[secrets]',
    `master_key_file = ${path.join(dir, 'master.key')}`,
    '[mail]',
    'transport = dir',
    `outbox = ${outbox}`,
    '',
    opts.config ?? '',
  ].join('\n');
  fs.writeFileSync(cfgPath, config);

  const env = { UBSAN_OPTIONS: 'print_stacktrace=1', ...opts.env };
  const toolErrors = [];
  const run = async (args, runOpts = {}) => {
    const r = await runBinary(['--config', cfgPath, ...args], { env, ...runOpts });
    if (sanitizerReport(r.stderr)) toolErrors.push(`wereldpas ${args.join(' ')}:\n${r.stderr}`);
    return r;
  };
  const must = async (args) => {
    const r = await run(args);
    if (r.code !== 0) {
      throw new Error(`wereldpas ${args.join(' ')} exited ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
    }
    return r;
  };

  const people = opts.people ?? makePeople(12);
  const csvPath = path.join(dir, 'register.csv');
  fs.writeFileSync(csvPath, registerCsv(people));
  await must(['register', 'import', csvPath]);

  const srv = {
    issuer,
    port,
    dir,
    cfgPath,
    outbox,
    people,
    run,
    serverStderr: '',
    serverStdout: '',
  };

  // Returns the one-time enrolment code for PERSON_NUMBER (last stdout line).
  srv.invite = async (pn) => {
    const r = await must(['person', 'invite', '--person-number', pn]);
    const lines = r.stdout.split('\n').map((l) => l.trim()).filter(Boolean);
    const code = lines[lines.length - 1];
    if (!/^[A-Z0-9]{4}-[A-Z0-9]{4}$/.test(code ?? '')) {
      throw new Error(`person invite: last line is not a code: ${JSON.stringify(r.stdout)}`);
    }
    return code;
  };

  // Registers a client; returns the JSON object printed on stdout.
  srv.addClient = async (c) => {
    const args = ['client', 'add', '--id', c.id];
    for (const u of [].concat(c.redirectUris ?? c.redirectUri ?? [])) args.push('--redirect-uri', u);
    for (const u of [].concat(c.postLogoutRedirectUris ?? [])) args.push('--post-logout-redirect-uri', u);
    if (c.auth) args.push('--auth', c.auth);
    if (c.pkce) args.push('--pkce', c.pkce);
    if (c.idTokenAlg) args.push('--id-token-alg', c.idTokenAlg);
    if (c.subject) args.push('--subject', c.subject);
    for (const s of [].concat(c.scopes ?? [])) args.push('--scope', s);
    if (c.name) args.push('--name', c.name);
    if (c.extra) args.push(...c.extra);
    const r = await must(args);
    const text = r.stdout.trim();
    const start = text.indexOf('{');
    const end = text.lastIndexOf('}');
    if (start < 0 || end < start) throw new Error(`client add: no JSON on stdout: ${JSON.stringify(r.stdout)}`);
    return JSON.parse(text.slice(start, end + 1));
  };

  // Lists the mail messages in the outbox (file name and text).
  srv.mail = () =>
    fs
      .readdirSync(outbox)
      .filter((f) => f.endsWith('.eml'))
      .sort()
      .map((f) => ({ file: f, text: fs.readFileSync(path.join(outbox, f), 'utf8') }));

  // $WP_WRAP runs the server under a tool, e.g. tests/valgrind.sh's memcheck command
  // line (split on spaces); the tool's own exit status then counts in srv.stop.
  const wrap = (process.env.WP_WRAP || '').split(' ').filter(Boolean);
  const slow = wrap.length ? 10 : 1;
  const child = spawn(wrap[0] || binaryPath(), [...wrap.slice(1), ...(wrap.length ? [binaryPath()] : []), '--config', cfgPath, 'serve'], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  srv.child = child;
  child.stdout.on('data', (d) => (srv.serverStdout += d));
  child.stderr.on('data', (d) => (srv.serverStderr += d));
  const exited = new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal })));
  let exitInfo = null;
  exited.then((e) => (exitInfo = e));

  const deadline = Date.now() + 20000 * slow;
  for (;;) {
    if (exitInfo) {
      throw new Error(`wereldpas serve exited early (${JSON.stringify(exitInfo)}, dir ${dir}):\n${srv.serverStderr}`);
    }
    try {
      const res = await fetch(`${issuer}/healthz`, { signal: AbortSignal.timeout(1000) });
      await res.arrayBuffer();
      if (res.status === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`wereldpas serve: /healthz not 200 within ${20 * slow} s:\n${srv.serverStderr}`);
    }
    await sleep(100);
  }

  // Stops the server with SIGTERM; throws if it did not exit 0 within 15 s,
  // or if it or any command printed a sanitizer report.
  srv.stop = async ({ keepDir = false } = {}) => {
    if (!exitInfo) child.kill('SIGTERM');
    let timer;
    const timeout = new Promise((resolve) => (timer = setTimeout(() => resolve('timeout'), 15000 * slow)));
    const r = await Promise.race([exited, timeout]);
    clearTimeout(timer);
    const problems = [...toolErrors];
    if (r === 'timeout') {
      child.kill('SIGKILL');
      await exited;
      problems.push(`wereldpas serve did not exit within ${15 * slow} s of SIGTERM`);
    } else if (r.code !== 0) {
      problems.push(`wereldpas serve exited with ${JSON.stringify(r)}`);
    }
    if (sanitizerReport(srv.serverStderr)) problems.push('sanitizer report on the server stderr');
    if (!keepDir && !problems.length) fs.rmSync(dir, { recursive: true, force: true });
    if (problems.length) {
      throw new Error(`${problems.join('\n')}\n--- server stderr (dir ${dir}) ---\n${srv.serverStderr.slice(-8000)}`);
    }
  };

  return srv;
}
