// Benchmark: complete passkey sign-ins against a real server (Release build), the way a
// relying party and a browser drive them: /authorize, /login, WebAuthn options and verify,
// /continue, /token, /userinfo. Prints latency percentiles per sign-in, throughput at a
// few concurrency levels, and the server's resident memory. Bounded: a fixed number of
// sign-ins per level, on 127.0.0.1 only.
//
//   WP_BIN=build/wereldpas node tests/bench/signin.mjs [sign-ins-per-level]

import fs from 'node:fs';
import { performance } from 'node:perf_hooks';

import { startServer, makePeople } from '../lib/server.mjs';
import { Walker } from '../lib/browserless.mjs';
import { SoftAuthenticator } from '../lib/softauthn.mjs';
import { authRequest, discovery, enrolWithInvite, exchange, signInWithPasskey, checkRedirect } from '../lib/flows.mjs';

const PER_LEVEL = Math.min(Number(process.argv[2] ?? 200), 2000);
const LEVELS = [1, 4, 16];

function rssKiB(pid) {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = /VmRSS:\s+(\d+) kB/.exec(status);
  return m ? Number(m[1]) : NaN;
}

function pct(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

const people = makePeople(Math.max(...LEVELS));
const srv = await startServer({ people });
try {
  const meta = await discovery(srv.issuer);
  const rp = await srv.addClient({ id: 'bench', redirectUris: 'http://localhost:9/cb' });
  rp.redirectUri = 'http://localhost:9/cb';
  console.log(`server pid ${srv.child.pid}, RSS after start ${rssKiB(srv.child.pid)} KiB`);

  // One enrolled authenticator per concurrent worker.
  const auths = [];
  for (let i = 0; i < Math.max(...LEVELS); i++) {
    const authenticator = new SoftAuthenticator({ alg: 'ES256', origin: srv.issuer });
    await enrolWithInvite(srv, { authorizeUrl: authRequest(srv, rp).url, person: people[i], authenticator });
    auths.push(authenticator);
  }

  async function oneSignIn(authenticator) {
    const t0 = performance.now();
    const req = authRequest(srv, rp);
    const { redirect } = await signInWithPasskey(srv, { authorizeUrl: req.url, authenticator, walker: new Walker(srv.issuer) });
    const code = checkRedirect(redirect, { redirectUri: rp.redirectUri, state: req.state, issuer: srv.issuer });
    const tok = await exchange(meta, rp, code, req.verifier);
    if (tok.status !== 200) throw new Error(`token: ${tok.status}`);
    const ui = await fetch(meta.userinfo_endpoint, { headers: { authorization: `Bearer ${tok.json.access_token}` } });
    if (ui.status !== 200) throw new Error(`userinfo: ${ui.status}`);
    return performance.now() - t0;
  }

  console.log(`sign-ins per level: ${PER_LEVEL} (each: 7 HTTP requests incl. token and userinfo)`);
  for (const level of LEVELS) {
    const times = [];
    let next = 0;
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: level }, async (_, w) => {
        while (next < PER_LEVEL) {
          next++;
          times.push(await oneSignIn(auths[w]));
        }
      }),
    );
    const wall = (performance.now() - t0) / 1000;
    times.sort((a, b) => a - b);
    console.log(
      `concurrency ${String(level).padStart(2)}: ${(times.length / wall).toFixed(1)} sign-ins/s, ` +
        `p50 ${pct(times, 50).toFixed(1)} ms, p95 ${pct(times, 95).toFixed(1)} ms, p99 ${pct(times, 99).toFixed(1)} ms, ` +
        `server RSS ${rssKiB(srv.child.pid)} KiB`,
    );
  }
} finally {
  await srv.stop();
}
