// Hostile HTTP against a running server: oversized and malformed requests, too many and
// repeated parameters, malformed cookies and bodies, a slow-loris crowd while a person
// signs in, and the browser-facing defences (security headers, cookie attributes, CSRF,
// Origin checks, no open redirects). Nothing may answer 5xx or crash the server (srv.stop
// fails on a sanitizer report). Prints what was tried and how often.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';

import { startServer, makePeople } from '../lib/server.mjs';
import { Walker } from '../lib/browserless.mjs';
import { authRequest, discovery, enrolWithInvite, signInWithPasskey } from '../lib/flows.mjs';

const T = { timeout: 120000 };
const CONNECTION_TIMEOUT = 3; // seconds, [limits] connection_timeout for this server
const REQUEST_DEADLINE = 5; // seconds, [limits] request_deadline for this server
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const counts = {};
const count = (what, n = 1) => (counts[what] = (counts[what] ?? 0) + n);

// Sends DATA on a fresh connection and reads until the server closes it or TIMEOUT_MS
// passes. Resolves { status, head, text, closed } (status 0 when no status line came).
function raw(port, data, { timeoutMs = 5000, localAddress } = {}) {
  return new Promise((resolve) => {
    const chunks = [];
    let done = false;
    const sock = net.connect({ port, host: '127.0.0.1', localAddress });
    const finish = (closed) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      const text = Buffer.concat(chunks).toString('latin1');
      const m = text.match(/^HTTP\/1\.[01] (\d{3})/);
      resolve({ status: m ? Number(m[1]) : 0, head: text.split('\r\n\r\n')[0], text, closed });
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    sock.on('connect', () => sock.write(data));
    sock.on('data', (d) => chunks.push(d));
    sock.on('end', () => finish(true));
    sock.on('close', () => finish(true));
    sock.on('error', () => finish(true));
  });
}

function get(path, headers = '') {
  return `GET ${path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n${headers}\r\n`;
}
function post(path, body, ctype = 'application/x-www-form-urlencoded', headers = '') {
  const b = Buffer.isBuffer(body) ? body : Buffer.from(body);
  return Buffer.concat([
    Buffer.from(`POST ${path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Type: ${ctype}\r\nContent-Length: ${b.length}\r\n${headers}\r\n`),
    b,
  ]);
}

describe('hostile HTTP', { timeout: 600000 }, () => {
  const people = makePeople(6);
  let next = 0;
  const person = () => people[next++];
  let srv, meta, rp;

  before(async () => {
    srv = await startServer({ people, config: `[limits]\nconnection_timeout = ${CONNECTION_TIMEOUT}\nrequest_deadline = ${REQUEST_DEADLINE}\n` });
    meta = await discovery(srv.issuer);
    const c = await srv.addClient({
      id: 'rp-limits',
      redirectUris: 'https://rp.example.test/cb',
      postLogoutRedirectUris: 'https://rp.example.test/bye',
      auth: 'client_secret_basic',
    });
    rp = { ...c, redirectUri: 'https://rp.example.test/cb', method: 'basic' };
  });

  after(async () => {
    const list = Object.entries(counts).map(([k, v]) => `${k}: ${v}`).join(', ');
    console.log(`limits: ${list}`);
    await srv?.stop();
  });

  // Sends one raw request; asserts it is not 5xx and, when ALLOWED is given, that the status
  // is one of them (0 = the server closed the connection without an answer).
  async function expectNo5xx(name, data, allowed, opts) {
    const r = await raw(srv.port, data, opts);
    count('raw requests');
    if (!allowed?.includes(r.status)) assert.ok(r.status < 500, `${name}: answered ${r.status}: ${r.head.slice(0, 200)}`);
    if (allowed) assert.ok(allowed.includes(r.status), `${name}: status ${r.status}, expected one of ${allowed}: ${r.head.slice(0, 300)}`);
    return r;
  }

  test('oversized requests are refused with 4xx or a closed connection', T, async () => {
    const big = 'a'.repeat(100 * 1024);
    await expectNo5xx('100 KB header', get('/healthz', `X-Big: ${big}\r\n`), [0, 400, 413, 431]);
    const many = Array.from({ length: 3000 }, (_, i) => `X-H${i}: v\r\n`).join('');
    await expectNo5xx('3000 headers', get('/healthz', many), [0, 400, 413, 431]);
    await expectNo5xx('20 KB URL', get(`/authorize?x=${'b'.repeat(20 * 1024)}`), [0, 400, 413, 414, 431]);
    await expectNo5xx('1 MB form body', post('/token', `grant_type=${'c'.repeat(1024 * 1024)}`), [0, 413]);
    await expectNo5xx('huge Content-Length, no body',
      'POST /token HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: 999999999999\r\n\r\n',
      [0, 400, 413]);
    const chunk = 'd'.repeat(60000);
    let chunked = 'POST /webauthn/login/options HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n';
    for (let i = 0; i < 20; i++) chunked += `${chunk.length.toString(16)}\r\n${chunk}\r\n`;
    chunked += '0\r\n\r\n';
    await expectNo5xx('1.2 MB chunked body', chunked, [0, 413]);
    await expectNo5xx('1 MB JSON string', post('/webauthn/login/verify', JSON.stringify({ flow: 'x', credential: { id: 'e'.repeat(1 << 20) } }), 'application/json'), [0, 413]);
  });

  test('malformed requests never get a 5xx', T, async () => {
    const cases = [
      ['garbage line', 'GARBAGE\r\n\r\n'],
      ['no version', 'GET /healthz\r\n\r\n'],
      ['DELETE', 'DELETE /token HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'],
      ['PUT with body', post('/token', 'a=b').toString().replace('POST', 'PUT')],
      ['negative length', 'POST /token HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: -1\r\n\r\n'],
      ['text length', 'POST /token HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: abc\r\n\r\n'],
      ['two lengths', 'POST /token HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 3\r\nContent-Length: 5\r\n\r\nabcde'],
      ['bad chunk size', 'POST /token HTTP/1.1\r\nHost: x\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n'],
      ['NUL in header', Buffer.from('GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: a\0b\r\nConnection: close\r\n\r\n', 'latin1')],
      ['NUL in path', Buffer.from('GET /heal\0thz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', 'latin1')],
      ['bare LF', 'GET /healthz HTTP/1.1\nHost: x\nConnection: close\n\n'],
      ['%00 in query', get('/authorize?client_id=%00&redirect_uri=%00')],
      ['bad escapes in query', get('/authorize?client_id=%ZZ&%=%&&&=&a')],
      ['invalid UTF-8 in query', get('/authorize?client_id=%C3%28&state=%FF%FE')],
      ['invalid UTF-8 in form', post('/token', 'grant_type=%C3%28&code=%FF')],
      ['NUL in form', post('/token', Buffer.from('grant_type=authorization_code\0&code=a'))],
      ['form with only separators', post('/token', '&&&===&&')],
      ['JSON deep nesting', post('/webauthn/login/options', '['.repeat(50000), 'application/json')],
      ['JSON object deep nesting', post('/webauthn/login/verify', '{"a":'.repeat(5000) + '1' + '}'.repeat(5000), 'application/json')],
      ['JSON not an object', post('/webauthn/login/options', '[1,2,3]', 'application/json')],
      ['JSON duplicate keys', post('/webauthn/login/options', '{"flow":"a","flow":"b"}', 'application/json')],
      ['JSON huge number', post('/webauthn/login/verify', '{"flow":1e99999,"credential":-1e99999}', 'application/json')],
      ['JSON invalid UTF-8', post('/webauthn/register/verify', Buffer.from([0x7b, 0x22, 0xc3, 0x28, 0x22, 0x3a, 0x31, 0x7d]), 'application/json')],
      ['JSON credential of wrong types', post('/webauthn/login/verify', JSON.stringify({ flow: 'x'.repeat(43), credential: { id: 1, rawId: [], response: 'x', type: null } }), 'application/json')],
      ['JSON as form', post('/token', '{"grant_type":"authorization_code"}', 'application/json')],
      ['form to JSON endpoint', post('/webauthn/register/options', 'flow=abc')],
      ['no Content-Type', 'POST /webauthn/login/options HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 2\r\n\r\n{}'],
      ['Basic garbage', post('/token', 'grant_type=authorization_code&code=a', undefined, 'Authorization: Basic %%%%\r\n')],
      ['Basic without colon', post('/token', 'grant_type=authorization_code&code=a', undefined, `Authorization: Basic ${Buffer.from('nocolon').toString('base64')}\r\n`)],
      ['Basic with bad escapes', post('/token', 'grant_type=authorization_code&code=a', undefined, `Authorization: Basic ${Buffer.from('%ZZ:%00').toString('base64')}\r\n`)],
      ['Basic 10 KB', post('/token', 'grant_type=authorization_code&code=a', undefined, `Authorization: Basic ${'Q'.repeat(10000)}\r\n`)],
      ['Bearer garbage', get('/userinfo', 'Authorization: Bearer a.b.c\r\n')],
      ['Bearer empty', get('/userinfo', 'Authorization: Bearer \r\n')],
      ['Bearer forged alg none', get('/userinfo', `Authorization: Bearer ${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from('{"sub":"x"}').toString('base64url')}.\r\n`)],
      ['path traversal static', get('/static/../../etc/passwd')],
      ['encoded traversal static', get('/static/%2e%2e/%2e%2e/etc/passwd')],
      ['long unknown path', get(`/${'p/'.repeat(1000)}`)],
      ['absolute URI', 'GET http://evil.example/healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'],
      ['id_token_hint garbage', get('/logout?id_token_hint=eyJ.eyJ.sig')],
      ['unknown grant', post('/token', 'grant_type=password&username=a&password=b')],
      ['PKCE verifier of 10 KB', post('/token', `grant_type=authorization_code&code=x&code_verifier=${'v'.repeat(10000)}`)],
    ];
    for (const [name, data] of cases) await expectNo5xx(name, data);
    // libmicrohttpd itself answers an unknown HTTP version with 505, as RFC 9110 says.
    await expectNo5xx('HTTP/9.9', 'GET / HTTP/9.9\r\nHost: x\r\n\r\n', [0, 400, 505]);
    const health = await fetch(`${srv.issuer}/healthz`);
    assert.equal(health.status, 200, 'the server still answers');
  });

  test('too many and repeated parameters are refused', T, async () => {
    const q = Array.from({ length: 200 }, (_, i) => `p${i}=v`).join('&');
    await expectNo5xx('200 query parameters', get(`/authorize?${q}`), [400]);
    await expectNo5xx('200 form parameters', post('/token', q), [400]);
    const req = authRequest(srv, rp);
    const dupQuery = `${req.url.pathname}${req.url.search}&client_id=other`;
    const r = await expectNo5xx('repeated client_id', get(dupQuery), [400]);
    assert.ok(!/\r\nlocation:/i.test(r.head), 'no redirect for a repeated parameter');
    const dupRedirect = `${req.url.pathname}${req.url.search}&redirect_uri=https%3A%2F%2Fevil.example%2Fcb`;
    const r2 = await expectNo5xx('repeated redirect_uri', get(dupRedirect), [400]);
    assert.ok(!/\r\nlocation:/i.test(r2.head), 'no redirect for a repeated redirect_uri');
    await expectNo5xx('repeated code at /token', post('/token', 'grant_type=authorization_code&code=a&code=b', undefined,
      `Authorization: Basic ${Buffer.from(`${rp.client_id}:${rp.client_secret}`).toString('base64')}\r\n`), [400]);
  });

  test('malformed cookies are ignored, never 5xx', T, async () => {
    const cookies = [
      'wp_browser=', 'wp_browser', '=', ';;;;', 'wp_browser=%%%; wp_session=%00',
      `wp_browser=${'A'.repeat(43)}; wp_browser=${'B'.repeat(43)}`,
      `wp_session=${'s'.repeat(8000)}`, 'wp_session="quoted"; wp_browser=\'x\'',
      `wp_browser=${'A'.repeat(42)}!`, 'wp_session=../../etc', 'a=b=c=d; ; =x',
      Array.from({ length: 500 }, (_, i) => `c${i}=v`).join('; '),
    ];
    const req = authRequest(srv, rp);
    const paths = ['/account', '/login?flow=abc', `${req.url.pathname}${req.url.search}`, '/logout', '/enrol/code?flow=abc'];
    for (const c of cookies) for (const p of paths) await expectNo5xx(`cookie ${c.slice(0, 30)} on ${p}`, get(p, `Cookie: ${c}\r\n`));
    count('malformed cookie headers', cookies.length * paths.length);
  });

  test('a slow-loris crowd does not stop a sign-in', { timeout: 120000 }, async () => {
    const N = 200;
    const attacker = '127.0.0.2'; // another address on the loopback, as another client
    const socks = [];
    let refusedAtOnce = 0;
    let closedByServer = 0;
    const opened = await Promise.all(
      Array.from({ length: N }, (_, i) => new Promise((resolve) => {
        const s = net.connect({ port: srv.port, host: '127.0.0.1', localAddress: attacker });
        const rec = { s, drip: i % 2 === 0, open: false, closed: false };
        s.on('connect', () => {
          rec.open = true;
          s.write('GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Slow: ');
          resolve(rec);
        });
        s.on('close', () => {
          rec.closed = true;
          closedByServer++;
        });
        s.on('error', () => resolve(rec));
        s.on('data', () => {});
        socks.push(rec);
      })),
    );
    // Half the crowd drips one byte every second; the other half goes silent.
    const dripper = setInterval(() => {
      for (const r of opened) if (r.drip && !r.closed) r.s.write('a');
    }, 1000);
    try {
      await sleep(300);
      refusedAtOnce = opened.filter((r) => r.closed).length;
      const t0 = Date.now();
      const p = person();
      const { authenticator } = await enrolWithInvite(srv, { authorizeUrl: authRequest(srv, rp).url, person: p });
      await signInWithPasskey(srv, { authorizeUrl: authRequest(srv, rp).url, authenticator });
      const took = Date.now() - t0;
      assert.ok(took < 20000, `sign-in took ${took} ms during the attack`);
      // Silent connections must be closed by the connection timeout.
      await sleep((CONNECTION_TIMEOUT + 3) * 1000);
      const silentOpen = opened.filter((r) => !r.drip && !r.closed).length;
      const dripOpen = opened.filter((r) => r.drip && !r.closed).length;
      console.log(`slow-loris: ${N} connections from ${attacker}, ${refusedAtOnce} refused at once, ` +
        `sign-in took ${took} ms, after ${CONNECTION_TIMEOUT + 3} s: ${silentOpen} silent and ${dripOpen} dripping still open`);
      count('slow connections', N);
      assert.equal(silentOpen, 0, 'silent connections are closed after the connection timeout');
      assert.ok(dripOpen <= 64, `at most the per-address limit of dripping connections stays open (${dripOpen})`);
    } finally {
      clearInterval(dripper);
      for (const r of socks) r.s.destroy();
    }
    assert.ok(closedByServer >= 0);
    const health = await fetch(`${srv.issuer}/healthz`);
    assert.equal(health.status, 200);
  });

  test('a request dripped one byte a second is cut at the request deadline', T, async () => {
    const metric = async () => {
      const text = await (await fetch(`${srv.issuer}/metrics`)).text();
      return Number(text.match(/^wereldpas_http_deadline_closed_total (\d+)$/m)[1]);
    };
    const before = await metric();
    const N = 10;
    const recs = [];
    for (let i = 0; i < N; i++) {
      const s = net.connect({ port: srv.port, host: '127.0.0.1', localAddress: '127.0.0.3' });
      const rec = { s, closedAt: 0 };
      s.on('connect', () => s.write('GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Drip: '));
      s.on('close', () => (rec.closedAt = Date.now()));
      s.on('error', () => {});
      s.on('data', () => {});
      recs.push(rec);
    }
    const t0 = Date.now();
    // Each connection sends a byte every 500 ms, well inside the idle timeout.
    const dripper = setInterval(() => {
      for (const r of recs) if (!r.closedAt) r.s.write('a');
    }, 500);
    // Meanwhile a slow but honest request, sent in three parts over two seconds, is answered.
    const honest = await new Promise((resolve) => {
      const parts = ['GET /healthz HTTP/1.1\r\n', 'Host: localhost\r\n', 'Connection: close\r\n\r\n'];
      let got = '';
      const s = net.connect({ port: srv.port, host: '127.0.0.1' });
      s.on('connect', async () => {
        for (const p of parts) {
          s.write(p);
          await sleep(1000);
        }
      });
      s.on('data', (d) => (got += d));
      s.on('close', () => resolve(got));
      s.on('error', () => resolve(got));
    });
    try {
      assert.match(honest, /^HTTP\/1\.1 200/, 'a slow request inside the deadline is answered');
      for (let i = 0; i < (REQUEST_DEADLINE + 4) * 4 && recs.some((r) => !r.closedAt); i++) await sleep(250);
      const open = recs.filter((r) => !r.closedAt).length;
      const lasted = recs.filter((r) => r.closedAt).map((r) => r.closedAt - t0);
      console.log(`deadline: ${N} dripping connections, ${open} still open after ${Date.now() - t0} ms; ` +
        `closed after ${Math.min(...lasted)}-${Math.max(...lasted)} ms (deadline ${REQUEST_DEADLINE} s)`);
      assert.equal(open, 0, 'every dripping connection is cut');
      assert.ok(Math.min(...lasted) >= (REQUEST_DEADLINE - 1) * 1000, 'none is cut before the deadline');
      assert.ok((await metric()) - before >= N, 'the metric counts the cut connections');
      count('dripping connections cut', N);
    } finally {
      clearInterval(dripper);
      for (const r of recs) r.s.destroy();
    }
    const health = await fetch(`${srv.issuer}/healthz`);
    assert.equal(health.status, 200);
  });

  test('HTML answers carry the security headers; cookies are HttpOnly and SameSite', T, async () => {
    const w = new Walker(srv.issuer);
    const seen = [];
    const orig = w.request.bind(w);
    w.request = async (url, opts) => {
      const r = await orig(url, opts);
      seen.push(r);
      return r;
    };
    const p = person();
    await enrolWithInvite(srv, { authorizeUrl: authRequest(srv, rp).url, person: p, walker: w });
    for (const path of ['/login?flow=nope', '/enrol?flow=nope', '/recover', '/account', '/logout', '/authorize', '/no-such-page']) {
      await w.get(path);
      await new Walker(srv.issuer).request(path).then((r) => seen.push(r));
    }
    let html = 0;
    let cookies = 0;
    for (const r of seen) {
      for (const c of r.headers.getSetCookie()) {
        cookies++;
        assert.match(c, /;\s*HttpOnly/i, `cookie HttpOnly: ${c}`);
        assert.match(c, /;\s*SameSite=(Lax|Strict)/i, `cookie SameSite: ${c}`);
        assert.match(c, /;\s*Path=\//i, `cookie Path=/: ${c}`);
      }
      if (!(r.headers.get('content-type') ?? '').startsWith('text/html')) continue;
      html++;
      const csp = r.headers.get('content-security-policy') ?? '';
      assert.ok(csp, `${r.url}: CSP present`);
      assert.ok(!/unsafe-inline|unsafe-eval/.test(csp), `${r.url}: no unsafe-inline in CSP: ${csp}`);
      assert.match(csp, /frame-ancestors 'none'/, `${r.url}: frame-ancestors 'none'`);
      assert.equal(r.headers.get('referrer-policy'), 'no-referrer', `${r.url}: Referrer-Policy`);
      assert.equal(r.headers.get('x-content-type-options'), 'nosniff', `${r.url}: nosniff`);
      assert.ok(!/<script(?![^>]*\bsrc=)[^>]*>/i.test(r.text), `${r.url}: no inline script`);
      assert.ok(!/<[a-z][^>]*\son[a-z]+\s*=/i.test(r.text), `${r.url}: no inline event handlers`);
      for (const f of r.text.match(/<form\b[^>]*method=["']?post[\s\S]*?<\/form>/gi) ?? []) {
        assert.match(f, /name="csrf"/, `${r.url}: every POST form has a csrf field`);
      }
    }
    assert.ok(html >= 8, `checked ${html} HTML answers`);
    assert.ok(cookies >= 1, 'saw cookies');
    count('HTML answers checked', html);
    count('cookies checked', cookies);
  });

  test('forms and JSON endpoints refuse cross-site requests', T, async () => {
    const w = new Walker(srv.issuer);
    const start = await w.authorize(authRequest(srv, rp).url);
    assert.equal(start.kind, 'login');
    for (const headers of [{ origin: 'https://evil.example' }, { origin: 'null' }, { 'sec-fetch-site': 'cross-site' }]) {
      const r = await w.request('/webauthn/login/options', { method: 'POST', json: { flow: start.flow }, headers });
      assert.equal(r.status, 403, `${JSON.stringify(headers)}: ${r.status} ${r.text}`);
      count('cross-site JSON requests refused');
    }
    const noCsrf = await w.postForm(`/enrol/code?flow=${start.flow}`, { flow: start.flow, code: 'ABCD-EFGH' });
    assert.ok(noCsrf.status === 403 || noCsrf.status === 400, `code form without csrf: ${noCsrf.status}`);
    const badCsrf = await w.postForm(`/enrol/code?flow=${start.flow}`, { flow: start.flow, code: 'ABCD-EFGH', csrf: 'f'.repeat(64) });
    assert.ok(badCsrf.status === 403 || badCsrf.status === 400, `code form with a wrong csrf: ${badCsrf.status}`);
    const logout = await w.postForm('/logout', { csrf: 'f'.repeat(64) });
    assert.equal(logout.status, 403, 'logout with a forged csrf');
    count('forged form posts refused', 3);
  });

  test('no open redirects: redirect_uri and post_logout_redirect_uri variants are refused', T, async () => {
    const good = rp.redirectUri;
    const variants = [
      'https://rp.example.test/cb/extra', 'https://rp.example.test/c', 'https://rp.example.test/cbx',
      'https://RP.example.test/cb', 'https://rp.example.test/CB', 'HTTPS://rp.example.test/cb',
      'https://evil.example@rp.example.test/cb', 'https://rp.example.test@evil.example/cb',
      'https://rp.example.test/cb#frag', 'https://rp.example.test/cb#', 'https://rp.example.test/cb/',
      'https://rp.example.test/cb?x=1', 'https://rp.example.test/cb?', 'https://rp.example.test/%63b',
      'https://rp.example.test:443/cb', 'http://rp.example.test/cb', 'https://rp.example.test./cb',
      '//evil.example/cb', 'https://evil.example/cb', 'https://rp.example.test/cb/../../evil',
      'https://rp.example.test/cb%2F..%2Fevil', ' https://rp.example.test/cb', 'https://rp.example.test/cb ',
      'https://rp.example.test/cb\t', 'javascript:alert(1)', 'data:text/html,x', 'https://rp.example.test\\@evil.example/cb',
      'https://rp.example.test%2F@evil.example/cb', '',
    ];
    let tried = 0;
    for (const v of variants) {
      const req = authRequest(srv, rp, { redirect_uri: v });
      const r = await new Walker(srv.issuer).get(req.url);
      tried++;
      assert.ok(r.status >= 400 && r.status < 500, `redirect_uri ${JSON.stringify(v)}: status ${r.status}`);
      assert.equal(r.location, null, `redirect_uri ${JSON.stringify(v)}: no Location (got ${r.location})`);
      assert.match(r.headers.get('content-type') ?? '', /text\/html/, `redirect_uri ${JSON.stringify(v)}: an error page`);
    }
    // An unknown client with a good-looking redirect_uri.
    const unknown = authRequest(srv, { client_id: 'no-such-client', redirectUri: good });
    const ru = await new Walker(srv.issuer).get(unknown.url);
    assert.equal(ru.location, null, 'unknown client: no redirect');
    tried++;
    const bye = 'https://rp.example.test/bye';
    for (const v of [...variants.map((x) => x.replace('/cb', '/bye')), 'https://evil.example/bye']) {
      if (v === bye) continue;
      const u = new URL('/logout', srv.issuer);
      u.searchParams.set('client_id', rp.client_id);
      u.searchParams.set('post_logout_redirect_uri', v);
      const r = await new Walker(srv.issuer).get(u);
      tried++;
      if (v === '') continue; // an empty value means none: the confirmation page
      assert.equal(r.location, null, `post_logout_redirect_uri ${JSON.stringify(v)}: no Location (got ${r.location})`);
      assert.ok(r.status >= 400 && r.status < 500, `post_logout_redirect_uri ${JSON.stringify(v)}: status ${r.status}`);
    }
    count('open-redirect attempts refused', tried);
  });
});
