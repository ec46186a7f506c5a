// The verified-diploma path: a register match mails a one-time code to the
// contact address on file; entering it lets the person register a passkey,
// and the ID token carries acr .../LoA/low. A record that does not match gets
// the same page and no mail.
//
// Assumption beyond the contract: the mailed code is entered in a form with a
// field named "code", either on the page answering the diploma form or, when
// that page has none, at /enrol/code?flow=F.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { startServer, makePeople, freePort, registerCsv } from '../lib/server.mjs';
import { Walker, formWith, hasId, linkTo } from '../lib/browserless.mjs';
import { signInWithPasskey } from '../lib/flows.mjs';
import { SoftAuthenticator } from '../lib/softauthn.mjs';
import { authRequest, checkRedirect, discovery, exchange } from '../lib/flows.mjs';

const ACR_LOW = 'http://eidas.europa.eu/NotNotified/LoA/low';
const T = { timeout: 60000 };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

describe('enrolment by verified diploma and mailed code', { timeout: 180000 }, () => {
  const people = makePeople(4);
  let srv;
  let meta;
  let rp;
  const state = {};

  before(async () => {
    srv = await startServer({ people });
    meta = await discovery(srv.issuer);
    const redirectUri = 'https://rp-diploma.example.test/cb';
    rp = { ...(await srv.addClient({ id: 'rp-diploma', redirectUris: [redirectUri] })), redirectUri, method: 'basic' };
  });

  after(async () => {
    await srv?.stop();
  });

  // Opens the diploma form in a new flow; returns { walker, flow, url, form }.
  async function diplomaForm(req) {
    const walker = new Walker(srv.issuer);
    const start = await walker.authorize(req.url);
    assert.equal(start.kind, 'login');
    const enrolUrl = linkTo(start.html, start.url, '/enrol');
    assert.ok(enrolUrl, 'login links to /enrol');
    const enrol = await walker.get(enrolUrl);
    const url = linkTo(enrol.text, enrolUrl, '/enrol/diploma');
    assert.ok(url, 'enrol page links to /enrol/diploma');
    const page = await walker.get(url);
    assert.equal(page.status, 200);
    const form = formWith(page.text, 'person_number');
    assert.ok(form, `diploma page has a form with person_number: ${page.text.slice(0, 400)}`);
    for (const f of ['birthdate', 'diploma_date']) assert.ok(form.inputs.some((i) => i.name === f), `field ${f}`);
    assert.ok('csrf' in form.hidden, 'hidden csrf');
    return { walker, flow: start.flow, url, form };
  }

  async function submitDiploma(d, p) {
    const action = new URL(d.form.attrs.action ?? d.url, d.url);
    return d.walker.postForm(action, {
      ...d.form.hidden,
      person_number: p.person_number,
      birthdate: p.birthdate,
      diploma_date: p.diploma_date,
    });
  }

  // Strips per-flow values so two answers can be compared.
  function normalise(html, d) {
    let out = html.split(d.flow).join('FLOW');
    out = out.replace(/(name=["']?csrf["']?\s+value=)["'][^"']*["']/g, '$1"CSRF"');
    out = out.replace(/(value=)["'][^"']*["'](\s+name=["']?csrf)/g, '$1"CSRF"$2');
    return out;
  }

  async function waitForMail(count) {
    for (let i = 0; i < 50; i++) {
      const mail = srv.mail();
      if (mail.length >= count) return mail;
      await sleep(100);
    }
    return srv.mail();
  }

  test('a match mails a code; a mismatch gets the same page and no mail', T, async () => {
    const p = people[0];
    const req = authRequest(srv, rp);
    const good = await diplomaForm(req);
    const goodRes = await submitDiploma(good, p);

    const bad = await diplomaForm(authRequest(srv, rp));
    const badRes = await submitDiploma(bad, { ...people[1], diploma_date: '1999-12-31' });

    assert.equal(badRes.status, goodRes.status, 'same status whether or not the record matched');
    assert.equal(normalise(badRes.text, bad), normalise(goodRes.text, good), 'same page whether or not the record matched');

    const mail = await waitForMail(1);
    await sleep(300);
    assert.equal(srv.mail().length, 1, 'exactly one mail (none for the mismatch)');
    const text = mail[0].text;
    assert.match(text, new RegExp(`^To:.*${p.contact_email.replace('.', '\\.')}`, 'mi'), 'sent to the contact address');
    const codes = text.match(/\b[A-Z0-9]{4}-[A-Z0-9]{4}\b/g);
    assert.ok(codes?.length, 'the mail holds a XXXX-XXXX code');
    for (const secret of [p.person_number, p.birthdate, p.diploma_date]) {
      assert.ok(!text.includes(secret), `no personal data in the mail (${secret})`);
    }

    // Enter the code: on the answer page if it has a code form, else at /enrol/code.
    let entered;
    const inline = formWith(goodRes.text, 'code');
    if (inline) {
      const action = new URL(inline.attrs.action ?? goodRes.url, goodRes.url);
      const res = await good.walker.postForm(action, { ...inline.hidden, code: codes[0] });
      entered = { res, ok: res.status === 200 && hasId(res.text, 'passkey-create') };
    } else {
      entered = await good.walker.submitCode(new URL(`/enrol/code?flow=${encodeURIComponent(good.flow)}`, srv.issuer), codes[0]);
    }
    assert.ok(entered.ok, `mailed code accepted: ${entered.res.status} ${entered.res.text.slice(0, 300)}`);

    const auth = new SoftAuthenticator({ alg: 'ES256', origin: srv.issuer });
    state.auth = auth;
    const reg = await good.walker.registerPasskey(good.flow, auth);
    assert.equal(reg.res.status, 200, reg.res.text);
    const redirect = await good.walker.finish(reg.res.json.next);
    const code = checkRedirect(redirect, { redirectUri: rp.redirectUri, state: req.state, issuer: srv.issuer });
    const tok = await exchange(meta, rp, code, req.verifier);
    assert.equal(tok.status, 200, tok.text);
    const { payload } = await jwtVerify(tok.json.id_token, createRemoteJWKSet(new URL(meta.jwks_uri)), {
      issuer: srv.issuer,
      audience: rp.client_id,
    });
    assert.equal(payload.acr, ACR_LOW, 'acr low for the diploma path');
    assert.equal(payload.nonce, req.nonce);
  });

  test('acr_values asking for substantial is refused for a diploma-only person, never lowered', T, async () => {
    assert.ok(state.auth, 'needs the first test');
    const req = authRequest(srv, rp, { acr_values: 'http://eidas.europa.eu/NotNotified/LoA/substantial' });
    const w = new Walker(srv.issuer);
    const start = await w.authorize(req.url);
    let redirect = start.redirect;
    if (start.kind === 'login') {
      const login = await w.loginPasskey(start.flow, state.auth);
      assert.equal(login.optionsRes.status, 200);
      if (login.res.status !== 200) {
        assert.ok(login.res.status >= 400 && login.res.status < 500, `refused: ${login.res.status}`);
        return;
      }
      redirect = await w.finish(login.res.json.next);
    }
    assert.ok(redirect, `a redirect or a refusal (got ${start.kind})`);
    assert.equal(redirect.searchParams.get('code'), null, 'no code at a lower level');
    assert.ok(redirect.searchParams.get('error'), 'an error for the RP');
    assert.equal(redirect.searchParams.get('state'), req.state);
  });
});

// ---- negative cases, throttling, expiry and SMTP (issue 4) --------------------------

// Helpers bound to one server: open the diploma form in a new flow, submit it, read mail.
function diplomaKit(getSrv, getRp) {
  const kit = {};
  kit.open = async (walker = new Walker(getSrv().issuer)) => {
    const srv = getSrv();
    const start = await walker.authorize(authRequest(srv, getRp()).url);
    assert.equal(start.kind, 'login');
    const url = new URL(`/enrol/diploma?flow=${encodeURIComponent(start.flow)}`, srv.issuer);
    const page = await walker.get(url);
    assert.equal(page.status, 200);
    const form = formWith(page.text, 'person_number');
    assert.ok(form && 'csrf' in form.hidden);
    return { walker, flow: start.flow, url, form };
  };
  kit.submit = async (d, fields) => {
    const t0 = Date.now();
    const res = await d.walker.postForm(new URL(d.form.attrs.action ?? d.url, d.url), { ...d.form.hidden, ...fields });
    res.ms = Date.now() - t0;
    return res;
  };
  kit.normalise = (html, d) =>
    html
      .split(d.flow)
      .join('FLOW')
      .replace(/(name=["']?csrf["']?\s+value=)["'][^"']*["']/g, '$1"CSRF"');
  // Enters CODE in the code form of an answer page RES.
  kit.enterCode = async (d, res, code) => {
    const form = formWith(res.text, 'code');
    assert.ok(form, 'the answer page has a code form');
    const r = await d.walker.postForm(new URL(form.attrs.action, res.url), { ...form.hidden, code });
    r.ok = r.status === 200 && hasId(r.text, 'passkey-create');
    return r;
  };
  kit.waitMail = async (count, read = () => getSrv().mail()) => {
    for (let i = 0; i < 100; i++) {
      const m = read();
      if (m.length >= count) return m;
      await sleep(100);
    }
    return read();
  };
  kit.codeOf = (mail) => {
    // quoted-printable soft breaks never split the code line (it is short)
    const m = mail.text.match(/\b[A-Z0-9]{4}-[A-Z0-9]{4}\b/);
    assert.ok(m, 'a code in the mail');
    return m[0];
  };
  return kit;
}

function fields(p, over = {}) {
  return { person_number: p.person_number, birthdate: p.birthdate, diploma_date: p.diploma_date.slice(0, 7), ...over };
}

// A valid person number (11-test) that is not in the register.
function unknownNumber(people) {
  for (;;) {
    const [n] = makePeople(1);
    if (!people.some((p) => p.person_number === n.person_number)) return n.person_number;
  }
}

describe('diploma path: identical answers, codes, throttling, withdrawal', { timeout: 240000 }, () => {
  const people = makePeople(8);
  // people[4] has a second diploma in the register: any of them may be used.
  const second = { ...people[4], programme: 'Second Programme', diploma_date: '2011-02-14' };
  let srv;
  let rp;
  const kit = diplomaKit(() => srv, () => rp);

  before(async () => {
    srv = await startServer({ people: [...people, second] });
    rp = { ...(await srv.addClient({ id: 'rp-neg', redirectUris: ['https://rp-neg.example.test/cb'] })), redirectUri: 'https://rp-neg.example.test/cb' };
  });
  after(async () => {
    await srv?.stop();
  });

  test('wrong birth date, wrong diploma date and unknown number answer exactly like a match', T, async () => {
    const p = people[0];
    const cases = [
      fields(p),
      fields(p, { birthdate: '1950-01-01' }),
      fields(p, { diploma_date: '1999-12' }),
      fields(p, { person_number: unknownNumber(people) }),
    ];
    const answers = [];
    for (const f of cases) {
      const d = await kit.open();
      const res = await kit.submit(d, f);
      answers.push({ d, res });
    }
    const [match, ...others] = answers;
    assert.equal(match.res.status, 200);
    assert.match(match.res.text, /If your details match|Als uw gegevens kloppen/);
    for (const o of others) {
      assert.equal(o.res.status, match.res.status, 'same status');
      assert.equal(kit.normalise(o.res.text, o.d), kit.normalise(match.res.text, match.d), 'same page');
      assert.ok(o.res.ms >= 380, `padded to the minimum answer time (${o.res.ms} ms)`);
    }
    assert.ok(match.res.ms >= 380, `padded (${match.res.ms} ms)`);
    assert.ok(!match.res.text.includes(p.contact_email), 'the address is never shown');
    assert.ok(!match.res.text.includes('example.test'), 'not even masked');
    const mail = await kit.waitMail(1);
    await sleep(500);
    assert.equal(srv.mail().length, 1, 'one mail, for the match only');
    assert.match(mail[0].text, /^Subject: Uw code voor Wereldpas/m, 'in the preferred language (nl)');
    assert.match(mail[0].text, /^Beste Anna,/m, 'greeting by first given name only');
    assert.ok(!mail[0].text.includes('Maria') && !mail[0].text.includes('de Vries'), 'no other names');
  });

  test('a typo in the person number gets a clear message and no check', T, async () => {
    const p = people[1];
    const d = await kit.open();
    const typo = p.person_number.slice(0, 8) + String((Number(p.person_number[8]) + 1) % 10);
    const res = await kit.submit(d, fields(p, { person_number: typo }));
    assert.equal(res.status, 400);
    assert.match(res.text, /probably one digit is wrong|waarschijnlijk is één cijfer fout/);
    assert.match(res.text, /id="person_number"[^>]*aria-invalid="true"/);
    const short = await kit.submit(await kit.open(), fields(p, { person_number: '12345' }));
    assert.equal(short.status, 400);
    assert.match(short.text, /9 digits|9 cijfers/);
  });

  test('any diploma of the person matches; the code is accepted once, a replay is refused', T, async () => {
    const before = srv.mail().length;
    const d = await kit.open();
    const res = await kit.submit(d, fields(second));
    const mail = await kit.waitMail(before + 1);
    const code = kit.codeOf(mail[mail.length - 1]);
    const ok = await kit.enterCode(d, res, code);
    assert.ok(ok.ok, `code accepted: ${ok.status}`);
    const d2 = await kit.open();
    const res2 = await kit.submit(d2, fields(people[5], { birthdate: '1950-01-01' }));
    const replay = await kit.enterCode(d2, res2, code);
    assert.equal(replay.status, 400, 'a used code is refused');
    assert.ok(!replay.ok);
  });

  test('the sixth attempt is refused even with the right code, in any flow', T, async () => {
    const p = people[2];
    const before = srv.mail().length;
    const d = await kit.open();
    const res = await kit.submit(d, fields(p));
    const mail = await kit.waitMail(before + 1);
    const code = kit.codeOf(mail[mail.length - 1]);
    const wrong = code === 'ABCD-2345' ? 'ABCD-2346' : 'ABCD-2345';
    for (let i = 0; i < 5; i++) {
      const r = await kit.enterCode(d, res, wrong);
      assert.ok(r.status === 400 || (i === 4 && r.status === 429), `wrong code ${i + 1}: ${r.status}`);
    }
    const sixth = await kit.enterCode(d, res, code);
    assert.equal(sixth.status, 429, 'sixth attempt refused');
    assert.ok(!sixth.ok);
    // A new flow for the same person: a new code, but the person's attempts are used up.
    const d2 = await kit.open();
    const res2 = await kit.submit(d2, fields(p));
    const mail2 = await kit.waitMail(before + 2);
    const again = await kit.enterCode(d2, res2, kit.codeOf(mail2[mail2.length - 1]));
    assert.equal(again.status, 429, 'still locked for this person');
  });

  test('failed forms per person number lock it, with the time the lock ends', T, async () => {
    const p = people[3];
    for (let i = 0; i < 5; i++) {
      const r = await kit.submit(await kit.open(), fields(p, { birthdate: `1950-01-0${i + 1}` }));
      assert.equal(r.status, 200);
    }
    const before = srv.mail().length;
    const locked = await kit.submit(await kit.open(), fields(p));
    assert.equal(locked.status, 429, 'locked even with the right details');
    assert.match(locked.text, /\d\d:\d\d UTC/, 'says when the lock ends');
    await sleep(600);
    assert.equal(srv.mail().length, before, 'no mail while locked');
    // another person is not affected
    const other = await kit.submit(await kit.open(), fields(people[6]));
    assert.equal(other.status, 200);
  });

  test('re-proofing adds a passkey, keeps the old one, and mails a notice', T, async () => {
    const p = people[7];
    const first = new SoftAuthenticator({ alg: 'ES256', origin: srv.issuer });
    const secondAuth = new SoftAuthenticator({ alg: 'ES256', origin: srv.issuer });
    for (const auth of [first, secondAuth]) {
      const before = srv.mail().length;
      const d = await kit.open();
      const res = await kit.submit(d, fields(p));
      const mail = await kit.waitMail(before + 1);
      const ok = await kit.enterCode(d, res, kit.codeOf(mail[mail.length - 1]));
      assert.ok(ok.ok);
      const reg = await d.walker.registerPasskey(d.flow, auth);
      assert.equal(reg.res.status, 200, reg.res.text);
    }
    const notice = await kit.waitMail(1, () => srv.mail().filter((m) => /passkey/i.test(m.text.split('\r\n\r\n')[0])));
    assert.equal(notice.length, 1, 'one notice for the added passkey');
    assert.match(notice[0].text, new RegExp(`^To: <${p.contact_email}>`, 'm'));
    for (const auth of [first, secondAuth]) {
      const r = await signInWithPasskey(srv, { authorizeUrl: authRequest(srv, rp).url, authenticator: auth });
      assert.equal(r.redirect.searchParams.get('error'), null, 'both passkeys sign in');
    }
  });

  test('a row that vanishes from a new import is withdrawn: no code any more', T, async () => {
    const gone = people[5];
    const keep = people.filter((p) => p !== gone);
    const csv = path.join(srv.dir, 'register2.csv');
    fs.writeFileSync(csv, registerCsv([...keep, second]));
    const r = await srv.run(['register', 'import', csv]);
    assert.equal(r.code, 0, r.stderr);
    const before = srv.mail().length;
    const res = await kit.submit(await kit.open(), fields(gone));
    assert.equal(res.status, 200, 'the same answer');
    await sleep(800);
    assert.equal(srv.mail().length, before, 'no mail for a withdrawn record');
  });
});

describe('diploma path: expiry and the global limit', { timeout: 120000 }, () => {
  const people = makePeople(5);
  let srv;
  let rp;
  const kit = diplomaKit(() => srv, () => rp);

  before(async () => {
    srv = await startServer({
      people,
      config: '[limits]\ndiploma_code_ttl = 1\ndiploma_min_answer_ms = 0\ndiploma_fail_global = 3\n',
    });
    rp = { ...(await srv.addClient({ id: 'rp-exp', redirectUris: ['https://rp-exp.example.test/cb'] })), redirectUri: 'https://rp-exp.example.test/cb' };
  });
  after(async () => {
    await srv?.stop();
  });

  test('an expired code is refused with advice to ask again', T, async () => {
    const d = await kit.open();
    const res = await kit.submit(d, fields(people[0]));
    const mail = await kit.waitMail(1);
    await sleep(2200);
    const r = await kit.enterCode(d, res, kit.codeOf(mail[0]));
    assert.equal(r.status, 400);
    assert.ok(!r.ok);
    assert.match(r.text, /too old|te oud/);
  });

  test('failed forms of everyone together hit the global limit', T, async () => {
    for (let i = 1; i <= 3; i++) {
      const r = await kit.submit(await kit.open(), fields(people[i], { birthdate: '1950-01-01' }));
      assert.equal(r.status, 200);
    }
    const r = await kit.submit(await kit.open(), fields(people[4]));
    assert.equal(r.status, 429);
    assert.match(r.text, /too many tries right now|te veel pogingen/);
  });
});

// Starts a real SMTP server (Debian package python3-aiosmtpd) writing a maildir.
async function startSmtp(port, dir) {
  const python = fs.existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
  const child = spawn(python, ['-m', 'aiosmtpd', '-n', '-l', `127.0.0.1:${port}`, '-c', 'aiosmtpd.handlers.Mailbox', dir], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  for (let i = 0; i < 100; i++) {
    const up = await new Promise((resolve) => {
      const s = new net.Socket();
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
      s.connect(port, '127.0.0.1');
    });
    if (up) return child;
    if (child.exitCode !== null) throw new Error(`aiosmtpd exited: ${err}`);
    await sleep(100);
  }
  child.kill('SIGKILL');
  throw new Error(`aiosmtpd did not listen: ${err}`);
}


describe('diploma path over SMTP: down, then delivered to a real SMTP server', { timeout: 120000 }, () => {
  const people = makePeople(2);
  let srv;
  let rp;
  let smtp;
  let port;
  let maildir;
  const kit = diplomaKit(() => srv, () => rp);
  const readMaildir = () => {
    const dir = path.join(maildir, 'new');
    if (!fs.existsSync(dir)) return [];
    return fs.readdirSync(dir).map((f) => ({ file: f, text: fs.readFileSync(path.join(dir, f), 'utf8') }));
  };

  before(async () => {
    port = await freePort();
    srv = await startServer({
      people,
      config: `[mail]\ntransport = smtp\nsmtp_url = smtp://127.0.0.1:${port}\n[limits]\nmail_retry_min = 1\nmail_retry_max = 1\n`,
    });
    maildir = path.join(srv.dir, 'maildir');
    rp = { ...(await srv.addClient({ id: 'rp-smtp', redirectUris: ['https://rp-smtp.example.test/cb'] })), redirectUri: 'https://rp-smtp.example.test/cb' };
  });
  after(async () => {
    smtp?.kill('SIGTERM');
    await srv?.stop();
  });

  test('with the SMTP server down the code stays queued; once it is up the mail arrives', T, async () => {
    const p = people[0];
    const d = await kit.open();
    const res = await kit.submit(d, fields(p));
    assert.equal(res.status, 200);
    assert.match(res.text, /If your details match|Als uw gegevens kloppen/, 'never claims the mail was sent');
    await sleep(2500);
    assert.match(srv.serverStderr, /not delivered/, 'the failed delivery is logged and retried');
    smtp = await startSmtp(port, maildir);
    const mail = await kit.waitMail(1, readMaildir);
    assert.equal(mail.length, 1, 'delivered after the server came up');
    assert.match(mail[0].text, new RegExp(`^To: <${p.contact_email}>`, 'm'));
    const ok = await kit.enterCode(d, res, kit.codeOf(mail[0]));
    assert.ok(ok.ok, 'the queued code still works');
  });
});

// ---- hardening: a mailed code belongs to its journey, and only the newest one works ----

describe('diploma path: a mailed code works only in its own journey, and only the newest', { timeout: 180000 }, () => {
  const people = makePeople(4);
  let srv;
  let rp;
  const kit = diplomaKit(() => srv, () => rp);

  before(async () => {
    srv = await startServer({ people, config: '[limits]\ndiploma_min_answer_ms = 0\n' });
    rp = { ...(await srv.addClient({ id: 'rp-bound', redirectUris: ['https://rp-bound.example.test/cb'] })), redirectUri: 'https://rp-bound.example.test/cb' };
  });
  after(async () => {
    await srv?.stop();
  });

  // Asks for a code for person P in a new flow (of WALKER, else a new browser); returns
  // { d, res, code }.
  async function askCode(p, walker) {
    const before = srv.mail().length;
    const d = await kit.open(walker);
    const res = await kit.submit(d, fields(p));
    assert.equal(res.status, 200);
    const mail = await kit.waitMail(before + 1);
    assert.equal(mail.length, before + 1, 'one mail');
    return { d, res, code: kit.codeOf(mail[mail.length - 1]) };
  }

  // Enters CODE on the /enrol/code page of flow D.
  const enterAt = (d, code) => d.walker.submitCode(new URL(`/enrol/code?flow=${encodeURIComponent(d.flow)}`, srv.issuer), code);
  // The error message of a code page (next to the field).
  const errorOf = (html) => /id="code-error"[^>]*>([^<]*)</.exec(html)?.[1]?.trim();

  test('in another browser or a new journey the code fails exactly like a wrong one, and counts', T, async () => {
    const asked = await askCode(people[0]);
    const wrong = asked.code === 'ABCD-2345' ? 'ABCD-2346' : 'ABCD-2345';

    // Another browser, a flow of its own.
    const other = await kit.open();
    const foreign = await enterAt(other, asked.code);
    assert.equal(foreign.res.status, 400, `refused in another browser: ${foreign.res.status}`);
    assert.ok(!foreign.ok, 'no passkey step');
    const control = await kit.open();
    const bad = await enterAt(control, wrong);
    assert.equal(bad.res.status, 400);
    assert.equal(kit.normalise(foreign.res.text, other), kit.normalise(bad.res.text, control), 'the same page as a wrong code');
    assert.ok(errorOf(foreign.res.text), 'an error is shown');

    // A new journey in the same browser.
    const again = await kit.open(asked.d.walker);
    const sameBrowser = await enterAt(again, asked.code);
    assert.equal(sameBrowser.res.status, 400, 'refused in a new journey of the same browser');
    assert.ok(!sameBrowser.ok);
    assert.equal(errorOf(sameBrowser.res.text), errorOf(bad.res.text), 'the wrong-code message');

    // Each try counts as a failed attempt of that flow: the fifth locks it.
    const statuses = [foreign.res.status];
    for (let i = 1; i < 6; i++) statuses.push((await enterAt(other, asked.code)).res.status);
    assert.deepEqual(statuses, [400, 400, 400, 400, 429, 429], 'counted like wrong codes');

    // In its own journey it still works (it was never used up elsewhere).
    const own = await kit.enterCode(asked.d, asked.res, asked.code);
    assert.ok(own.ok, `accepted in its own journey: ${own.status}`);
  });

  test('a code from support staff still works in any flow', T, async () => {
    const code = await srv.invite(people[1].person_number);
    const d = await kit.open();
    const r = await enterAt(d, code);
    assert.ok(r.ok, `support code accepted: ${r.res.status}`);
  });

  test('a new mailed code cancels the older ones of that person', T, async () => {
    // Two journeys, one after the other: the first code no longer works.
    const first = await askCode(people[2]);
    const second = await askCode(people[2]);
    const old = await kit.enterCode(first.d, first.res, first.code);
    assert.equal(old.status, 400, 'the older code is cancelled');
    assert.ok(!old.ok);
    const newest = await kit.enterCode(second.d, second.res, second.code);
    assert.ok(newest.ok, `the newest code works: ${newest.status}`);

    // Asking twice in one journey: only the second code works there.
    const a = await askCode(people[3]);
    const before = srv.mail().length;
    const res = await kit.submit(a.d, fields(people[3]));
    assert.equal(res.status, 200);
    const mail = await kit.waitMail(before + 1);
    const b = kit.codeOf(mail[mail.length - 1]);
    assert.notEqual(b, a.code);
    const stale = await kit.enterCode(a.d, res, a.code);
    assert.equal(stale.status, 400, 'the first code of the journey is cancelled');
    const fresh = await kit.enterCode(a.d, res, b);
    assert.ok(fresh.ok, `the second code works: ${fresh.status}`);
  });
});
