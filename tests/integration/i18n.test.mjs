// Message catalogs: every language folder under templates/i18n must mirror en/, the
// source language. Per language this checks the same files and the same keys (in the
// same order), non-empty string values, the same placeholders and markup as the English
// text, no key defined in two files (the server refuses such a catalog), and that the
// texts are really translated: at most 20% of the values may be identical to English,
// not counting values made only of proper names, codes and placeholders.
//
// Reads files only; needs no server.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const I18N = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'templates', 'i18n');
const SOURCE = 'en';
const MAX_IDENTICAL = 0.2;

// Words that may stay as they are in every language: names of services, products and
// standards. A value made only of these (plus placeholders, digits and punctuation) is
// not counted when comparing with English.
const PROPER_NAMES = new Set(['wereldpas', 'duo', 'mijn', 'digid', 'passkey', 'passkeys', 'bsn', 'javascript']);

// Placeholders ({name}, {{name}}, %s, %d) and markup (tags, entities) that a translation
// must keep exactly.
const TOKEN_RE = /\{\{?[A-Za-z0-9_.]+\}?\}|%[sd]|<[^>]+>|&[A-Za-z0-9#]+;/g;

function readCatalog(lang, file) {
  const path = join(I18N, lang, file);
  const text = readFileSync(path, 'utf8');
  assert.ok(!text.includes('\uFFFD'), `${lang}/${file}: not valid UTF-8`);
  let data;
  try {
    data = JSON.parse(text);
  } catch (e) {
    assert.fail(`${lang}/${file}: invalid JSON: ${e.message}`);
  }
  assert.ok(data && typeof data === 'object' && !Array.isArray(data), `${lang}/${file}: not a JSON object`);
  return data;
}

function catalogFiles(lang) {
  return readdirSync(join(I18N, lang))
    .filter((f) => f.endsWith('.json'))
    .sort();
}

function tokens(s) {
  return (s.match(TOKEN_RE) ?? []).sort();
}

function isProperNameOnly(s) {
  const rest = s
    .replace(TOKEN_RE, ' ')
    .split(/[^\p{L}]+/u)
    .filter((w) => w && !PROPER_NAMES.has(w.toLowerCase()));
  return rest.length === 0;
}

const languages = readdirSync(I18N)
  .filter((d) => statSync(join(I18N, d)).isDirectory())
  .sort();
const sourceFiles = catalogFiles(SOURCE);
const source = Object.fromEntries(sourceFiles.map((f) => [f, readCatalog(SOURCE, f)]));

describe('message catalogs', () => {
  test('the source language has catalogs with string values', () => {
    assert.ok(sourceFiles.length > 0, 'templates/i18n/en has no *.json');
    for (const [file, cat] of Object.entries(source)) {
      for (const [key, value] of Object.entries(cat)) {
        assert.equal(typeof value, 'string', `en/${file}: ${key} is not a string`);
        assert.ok(value.trim().length > 0, `en/${file}: ${key} is empty`);
      }
    }
  });

  test('there are languages besides the source', () => {
    assert.ok(languages.includes(SOURCE), 'no en/ folder');
    assert.ok(languages.length > 1, 'only en/ exists');
  });

  for (const lang of languages) {
    describe(`language ${lang}`, () => {
      test('folder name is a language tag', () => {
        assert.match(lang, /^[a-z]{2,3}(-[A-Z][a-z]{3})?(-[A-Z]{2})?$/);
      });

      test('no key is defined in two files', () => {
        const seen = new Map();
        for (const file of catalogFiles(lang)) {
          for (const key of Object.keys(readCatalog(lang, file))) {
            assert.ok(!seen.has(key), `${lang}: key ${key} is in both ${seen.get(key)} and ${file}`);
            seen.set(key, file);
          }
        }
      });

      if (lang === SOURCE) return;

      test('has the same files as en', () => {
        assert.deepEqual(catalogFiles(lang), sourceFiles);
      });

      for (const file of sourceFiles) {
        test(`${file}: same keys in the same order, non-empty, same placeholders`, () => {
          const cat = readCatalog(lang, file);
          const want = Object.keys(source[file]);
          const got = Object.keys(cat);
          const missing = want.filter((k) => !(k in cat));
          const extra = got.filter((k) => !(k in source[file]));
          assert.deepEqual({ missing, extra }, { missing: [], extra: [] }, `${lang}/${file}: keys differ from en`);
          assert.deepEqual(got, want, `${lang}/${file}: keys not in the order of en`);
          for (const key of want) {
            const value = cat[key];
            assert.equal(typeof value, 'string', `${lang}/${file}: ${key} is not a string`);
            assert.ok(value.trim().length > 0, `${lang}/${file}: ${key} is empty`);
            assert.deepEqual(tokens(value), tokens(source[file][key]), `${lang}/${file}: ${key}: placeholders or markup differ from en`);
          }
        });
      }

      test(`at most ${MAX_IDENTICAL * 100}% of the values are identical to English`, () => {
        let counted = 0;
        const same = [];
        for (const file of sourceFiles) {
          const cat = readCatalog(lang, file);
          for (const [key, en] of Object.entries(source[file])) {
            if (isProperNameOnly(en)) continue;
            counted++;
            if (typeof cat[key] === 'string' && cat[key].trim() === en.trim()) same.push(`${file}:${key}`);
          }
        }
        assert.ok(counted > 0);
        const share = same.length / counted;
        assert.ok(
          share <= MAX_IDENTICAL,
          `${lang}: ${same.length} of ${counted} values (${Math.round(share * 100)}%) are identical to English: ${same.slice(0, 20).join(', ')}`,
        );
      });
    });
  }
});

// The checks above must be able to fail: a few hand-made cases for the helpers.
describe('catalog check helpers', () => {
  test('placeholders and markup are found', () => {
    assert.deepEqual(tokens('Hi {name}, <b>{{t.x}}</b> &amp; %s'), ['%s', '&amp;', '<b>', '</b>', '{name}', '{{t.x}}'].sort());
    assert.deepEqual(tokens('plain text'), []);
  });

  test('proper-name-only values are recognised', () => {
    assert.equal(isProperNameOnly('Wereldpas'), true);
    assert.equal(isProperNameOnly('Mijn DUO'), true);
    assert.equal(isProperNameOnly('Passkey'), true);
    assert.equal(isProperNameOnly('{code}'), true);
    assert.equal(isProperNameOnly('Sign in'), false);
    assert.equal(isProperNameOnly('Your Wereldpas'), false);
  });
});

// ---- with a server: the choice of language, dates, and a journey that stops ----------

const { before, after } = await import('node:test');
const { execFileSync } = await import('node:child_process');
const { startServer, makePeople } = await import('../lib/server.mjs');
const { Walker, formWith } = await import('../lib/browserless.mjs');
const { authRequest, enrolWithInvite, openRecoveryCase, staffWalker } = await import('../lib/flows.mjs');
const { SoftAuthenticator } = await import('../lib/softauthn.mjs');

const pageLang = (html) => /<html lang="([^"]+)"/.exec(html)?.[1];
const catalogValue = (lang, key) => {
  for (const file of catalogFiles(lang)) {
    const cat = readCatalog(lang, file);
    if (key in cat) return cat[key];
  }
  return undefined;
};

describe('choice of language (ui_locales, saved choice, Accept-Language, English)', { timeout: 120000 }, () => {
  let srv, rp;

  before(async () => {
    srv = await startServer({ people: makePeople(2) });
    rp = await srv.addClient({ id: 'rp-lang', name: 'Mijn DUO', redirectUris: 'http://localhost:9/cb' });
    rp.redirectUri = 'http://localhost:9/cb';
  });
  after(() => srv?.stop());

  // A walker with the switcher's cookie already set to LANG.
  function walkerWithCookie(lang) {
    const w = new Walker(srv.issuer);
    if (lang) w.jar.store(srv.issuer, [`wp_lang=${lang}; Path=/`]);
    return w;
  }

  test('ui_locales wins over the saved choice; the switcher inside the flow then wins for that flow', async () => {
    const w = walkerWithCookie('nl');
    const start = await w.authorize(authRequest(srv, rp, { ui_locales: 'ar' }).url);
    assert.equal(start.kind, 'login');
    assert.equal(pageLang(start.html), 'ar', 'ui_locales=ar beats the cookie nl');
    assert.match(start.html, /dir="rtl"/);

    const back = `/login?flow=${start.flow}`;
    const switched = await w.get(`/lang?to=de&back=${encodeURIComponent(back)}`);
    assert.equal(switched.status, 303);
    assert.equal(new URL(switched.location).pathname + new URL(switched.location).search, back);
    for (const page of [back, `/enrol?flow=${start.flow}`, `/enrol/code?flow=${start.flow}`, `/recover?flow=${start.flow}`]) {
      const res = await w.get(page);
      assert.equal(res.status, 200, page);
      assert.equal(pageLang(res.text), 'de', `${page} stays German after the switch`);
    }

    // A new journey with ui_locales=ar is Arabic again: the switch belonged to that flow.
    const again = await w.authorize(authRequest(srv, rp, { ui_locales: 'ar' }).url);
    assert.equal(pageLang(again.html), 'ar');
  });

  test('without ui_locales the saved choice beats Accept-Language', async () => {
    const w = walkerWithCookie('nl');
    const start = await w.authorize(authRequest(srv, rp).url);
    const res = await w.get(`/login?flow=${start.flow}`, { headers: { 'accept-language': 'fr' } });
    assert.equal(pageLang(res.text), 'nl');
  });

  test('without ui_locales or a saved choice Accept-Language decides, else English', async () => {
    const w = walkerWithCookie(null);
    const start = await w.authorize(authRequest(srv, rp).url);
    const fr = await w.get(`/login?flow=${start.flow}`, { headers: { 'accept-language': 'fr-CA, en;q=0.5' } });
    assert.equal(pageLang(fr.text), 'fr');
    const none = await w.get(`/login?flow=${start.flow}`, { headers: { 'accept-language': '' } });
    assert.equal(pageLang(none.text), 'en');
    const unsupported = await w.get(`/login?flow=${start.flow}`, { headers: { 'accept-language': 'ja, ko;q=0.8' } });
    assert.equal(pageLang(unsupported.text), 'en');
  });

  test('an error page of /authorize follows the same order', async () => {
    const w = walkerWithCookie('nl');
    const bad = authRequest(srv, { client_id: 'no-such-client', redirectUri: 'http://localhost:9/cb' }, { ui_locales: 'tr' });
    const res = await w.get(bad.url, { headers: { 'accept-language': 'fr' } });
    assert.equal(res.status, 400);
    assert.equal(pageLang(res.text), 'tr');
    assert.ok(res.text.includes(catalogValue('tr', 'error_unknown_client').replace(/'/g, '&#39;')));
    const noUi = authRequest(srv, { client_id: 'no-such-client', redirectUri: 'http://localhost:9/cb' });
    assert.equal(pageLang((await w.get(noUi.url, { headers: { 'accept-language': 'fr' } })).text), 'nl');
  });
});

describe('dates in the page language', { timeout: 120000 }, () => {
  let srv, rp, walker;

  before(async () => {
    const people = makePeople(1);
    srv = await startServer({ people });
    rp = await srv.addClient({ id: 'rp-dates', redirectUris: 'http://localhost:9/cb' });
    rp.redirectUri = 'http://localhost:9/cb';
    ({ walker } = await enrolWithInvite(srv, { authorizeUrl: authRequest(srv, rp).url, person: people[0] }));
  });
  after(() => srv?.stop());

  for (const lang of ['nl', 'ar', 'zh-Hans', 'en']) {
    test(`/account in ${lang}: <time datetime> with the month named in ${lang} and UTC stated`, async () => {
      walker.jar.store(srv.issuer, [`wp_lang=${lang}; Path=/`]);
      const res = await walker.get('/account');
      assert.equal(res.status, 200);
      assert.equal(pageLang(res.text), lang);
      const times = [...res.text.matchAll(/<time datetime="([^"]+)" data-local>([^<]+)<\/time>/g)];
      assert.ok(times.length >= 1, 'the passkey\'s creation carries a <time>');
      for (const [, iso, text] of times) {
        const when = new Date(iso);
        assert.ok(/Z$/.test(iso) && !Number.isNaN(when.getTime()), `datetime is ISO 8601 UTC: ${iso}`);
        const month = catalogValue(lang, `date_month_${when.getUTCMonth() + 1}`);
        assert.ok(text.includes(month), `"${text}" names the month as ${month}`);
        assert.ok(text.includes(String(when.getUTCFullYear())), text);
        assert.ok(text.includes('UTC'), `"${text}" states the time zone`);
        assert.ok(!/\d{4}-\d{2}-\d{2}/.test(text), 'not the ISO form');
      }
    });
  }
});

describe('a journey that waits, and one that stopped', { timeout: 120000 }, () => {
  let srv, rp;
  const sql = (q) => execFileSync('sqlite3', [join(srv.dir, 'wp.db'), q]).toString().trim();

  before(async () => {
    srv = await startServer({ people: makePeople(1), config: '[limits]\nflow_ttl = 900\n' });
    rp = await srv.addClient({ id: 'rp-stop', name: 'Mijn DUO', redirectUris: 'http://localhost:9/cb' });
    rp.redirectUri = 'http://localhost:9/cb';
  });
  after(() => srv?.stop());

  test('a page of the flow extends its lifetime; an expired flow leads back to the service, in the person\'s language', async () => {
    const w = new Walker(srv.issuer);
    const start = await w.authorize(authRequest(srv, rp).url);
    assert.equal(start.kind, 'login');
    const now = Math.floor(Date.now() / 1000);
    sql(`UPDATE flows SET expires_at = ${now + 30}`);
    const enrol = await w.get(`/enrol?flow=${start.flow}`);
    assert.equal(enrol.status, 200);
    const extended = Number(sql('SELECT expires_at FROM flows'));
    assert.ok(extended >= now + 900 - 5, `activity extends the flow (expires_at ${extended - now} s ahead)`);

    sql(`UPDATE flows SET expires_at = ${now - 1}`);
    w.jar.store(srv.issuer, ['wp_lang=es; Path=/']);
    const gone = await w.get(`/enrol/code?flow=${start.flow}`);
    assert.equal(gone.status, 400);
    assert.equal(pageLang(gone.text), 'es');
    assert.ok(gone.text.includes(catalogValue('es', 'error_flow')), 'says the sign-in has stopped');
    const restart = /<a href="([^"]+)" id="restart">([^<]+)<\/a>/.exec(gone.text);
    assert.ok(restart, 'offers a way back to the service');
    assert.equal(restart[1], 'http://localhost:9/');
    assert.equal(restart[2], catalogValue('es', 'error_restart').replace('{client}', 'Mijn DUO'));
  });
});

// ---- mail in the chosen language ------------------------------------------------------

// Splits a message of the outbox into unfolded headers (name in lower case -> raw value),
// the decoded subject (RFC 2047 B words, UTF-8) and the body (quoted-printable, UTF-8).
function parseMail(text) {
  const split = text.indexOf('\r\n\r\n');
  assert.ok(split > 0, 'a header block ending in an empty line');
  const head = text.slice(0, split);
  const headers = {};
  for (const line of head.replace(/\r\n[ \t]/g, ' ').split('\r\n')) {
    const colon = line.indexOf(':');
    headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
  }
  const subject = headers.subject
    .replace(/\?=\s+=\?/g, '?==?') // white space between encoded words is not text
    .replace(/=\?UTF-8\?B\?([A-Za-z0-9+/=]*)\?=/gi, (_, b64) => Buffer.from(b64, 'base64').toString('utf8'));
  const qp = text.slice(split + 4).replace(/=\r\n/g, '');
  const bytes = [];
  for (let i = 0; i < qp.length; i++) {
    if (qp[i] === '=' && /^[0-9A-F]{2}$/.test(qp.slice(i + 1, i + 3))) {
      bytes.push(parseInt(qp.slice(i + 1, i + 3), 16));
      i += 2;
    } else bytes.push(qp.charCodeAt(i));
  }
  const body = new TextDecoder('utf-8', { fatal: true }).decode(Uint8Array.from(bytes)).replace(/\r\n/g, '\n');
  return { head, headers, subject, body };
}

// Asserts that MAIL (outbox text) is the message KIND in LANG, from the catalogs, with
// the MIME headers for UTF-8 text. Returns the parsed mail.
function assertMailIn(mail, lang, kind, person, { code, hours = '24' } = {}) {
  const m = parseMail(mail.text);
  assert.match(m.head, /^[\x20-\x7e\r\n\t]*$/, 'headers are 7-bit ASCII');
  assert.match(m.headers['content-type'], /^text\/plain;\s*charset="?utf-8"?$/i);
  assert.equal(m.headers['content-transfer-encoding'].toLowerCase(), 'quoted-printable');
  assert.equal(m.headers['mime-version'], '1.0');
  const subject = catalogValue(lang, `mail_${kind}_subject`);
  if (/[^\x00-\x7f]/.test(subject)) {
    assert.match(m.headers.subject, /^(=\?UTF-8\?B\?[A-Za-z0-9+/=]+\?=\s*)+$/i, `the ${lang} subject is RFC 2047-encoded`);
  }
  assert.equal(m.subject, subject, `Subject in ${lang}`);
  const first = person.given_names.split(' ')[0];
  assert.ok(m.body.startsWith(catalogValue(lang, 'mail_greeting').replace('{name}', first)), `greeting in ${lang}: ${m.body.slice(0, 80)}`);
  const text = catalogValue(lang, `mail_${kind}_body`).replace('{code}', code ?? '').replace('{hours}', hours);
  assert.ok(m.body.includes(text), `body in ${lang}:\n${m.body}`);
  assert.ok(m.body.includes(catalogValue(lang, 'mail_signoff')), `sign-off in ${lang}`);
  return m;
}

describe('mail follows the same choice of language', { timeout: 180000 }, () => {
  const people = makePeople(5);
  people[2].preferred_language = 'tr';
  people[3].preferred_language = 'zh-Hans';
  people[4].preferred_language = 'ar';
  let srv, rp;

  before(async () => {
    // A recovery code works 5 hours here: the mail must say so, not a fixed number.
    srv = await startServer({ people, config: '[limits]\ndiploma_min_answer_ms = 0\nrecovery_code_ttl = 18000\n' });
    rp = await srv.addClient({ id: 'rp-mail', redirectUris: 'http://localhost:9/cb' });
    rp.redirectUri = 'http://localhost:9/cb';
  });
  after(() => srv?.stop());

  // The mails to person P of kind (by subject in any language), waiting for count.
  async function mailsTo(p, kind, count = 1) {
    const subjects = readdirSync(I18N).map((l) => catalogValue(l, `mail_${kind}_subject`));
    let found = [];
    for (let i = 0; i < 100; i++) {
      found = srv.mail().filter((m) => m.text.includes(`To: <${p.contact_email}>`) && subjects.includes(parseMail(m.text).subject));
      if (found.length >= count) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(found.length, count, `${count} ${kind} mail(s) to ${p.contact_email}`);
    return found;
  }

  // Fills in the diploma form of FLOW with P's details (headers: extra request headers).
  async function askCode(w, flow, p, headers) {
    const url = new URL(`/enrol/diploma?flow=${flow}`, srv.issuer);
    const page = await w.get(url, { headers });
    assert.equal(page.status, 200);
    const form = formWith(page.text, 'person_number');
    const res = await w.postForm(new URL(form.attrs.action ?? url, url), {
      ...form.hidden, person_number: p.person_number, birthdate: p.birthdate, diploma_date: p.diploma_date.slice(0, 7),
    }, { headers });
    assert.equal(res.status, 200, res.text.slice(0, 300));
  }

  const codeIn = (m) => /\b[A-Z0-9]{4}-[A-Z0-9]{4}\b/.exec(m.body)?.[0];

  test('a code asked for in a journey with ui_locales=tr arrives in Turkish', async () => {
    const p = people[0]; // register language nl
    const w = new Walker(srv.issuer);
    const start = await w.authorize(authRequest(srv, rp, { ui_locales: 'tr' }).url);
    await askCode(w, start.flow, p, { 'accept-language': 'fr' });
    const [mail] = await mailsTo(p, 'code');
    const code = codeIn(parseMail(mail.text));
    assertMailIn(mail, 'tr', 'code', p, { code });
  });

  test('after a switch to German inside the journey the code arrives in German', async () => {
    const p = people[1];
    const w = new Walker(srv.issuer);
    const start = await w.authorize(authRequest(srv, rp, { ui_locales: 'tr' }).url);
    const back = `/enrol/diploma?flow=${start.flow}`;
    assert.equal((await w.get(`/lang?to=de&back=${encodeURIComponent(back)}`)).status, 303);
    await askCode(w, start.flow, p);
    const [mail] = await mailsTo(p, 'code');
    const m = assertMailIn(mail, 'de', 'code', p, { code: codeIn(parseMail(mail.text)) });
    assert.match(m.headers.subject, /^=\?UTF-8\?B\?/i, '"für" makes the German subject an encoded word');
  });

  test('without a choice in the journey, mail is in the register language (tr), also the notice of a new passkey', async () => {
    const p = people[2];
    await enrolWithInvite(srv, { authorizeUrl: authRequest(srv, rp).url, person: p });
    // A new device, whose browser asks for French: the register's language comes first.
    const w = new Walker(srv.issuer);
    const start = await w.authorize(authRequest(srv, rp).url);
    await askCode(w, start.flow, p, { 'accept-language': 'fr' });
    const [mail] = await mailsTo(p, 'code');
    const code = codeIn(parseMail(mail.text));
    assertMailIn(mail, 'tr', 'code', p, { code });
    const entered = await w.submitCode(new URL(`/enrol/code?flow=${start.flow}`, srv.issuer), code);
    assert.ok(entered.ok, entered.res.text.slice(0, 300));
    const reg = await w.registerPasskey(start.flow, new SoftAuthenticator({ origin: srv.issuer }));
    assert.equal(reg.res.status, 200, reg.res.text);
    const [notice] = await mailsTo(p, 'passkey_added');
    const n = assertMailIn(notice, 'tr', 'passkey_added', p);
    assert.match(n.headers.subject, /^=\?UTF-8\?B\?/i, 'the Turkish subject (with ı and ş) is an encoded word');
  });

  test('a recovery code the helpdesk mails (no journey at all) is in the register language (ar)', async () => {
    const p = people[4];
    await enrolWithInvite(srv, { authorizeUrl: authRequest(srv, rp).url, person: p });
    const support = await staffWalker(srv, 'Sam Support', 'support');
    const supervisor = await staffWalker(srv, 'Vera Supervisor', 'supervisor');
    await openRecoveryCase(srv, support, p.person_number, true);
    // The supervisor's console is in Dutch: that does not change the person's mail.
    supervisor.jar.store(srv.issuer, ['wp_lang=nl; Path=/']);
    const page = await supervisor.get(`/support/person?person_number=${p.person_number}`);
    const approve = formWith(page.text, 'delivery');
    assert.ok(approve, 'the supervisor may approve');
    const done = await supervisor.postForm(new URL(approve.attrs.action, srv.issuer), { ...approve.hidden, delivery: 'mail' });
    assert.equal(done.status, 200, done.text.slice(0, 300));
    const [mail] = await mailsTo(p, 'recovery');
    const m = assertMailIn(mail, 'ar', 'recovery', p, { code: codeIn(parseMail(mail.text)), hours: '5' });
    assert.match(m.headers.subject, /^=\?UTF-8\?B\?/i, 'the Arabic subject is an encoded word');
  });

  test('a person whose register language is zh-Hans gets the code in Chinese, the subject encoded', async () => {
    const p = people[3];
    const w = new Walker(srv.issuer);
    const start = await w.authorize(authRequest(srv, rp).url);
    await askCode(w, start.flow, p, { 'accept-language': 'en' });
    const [mail] = await mailsTo(p, 'code');
    assertMailIn(mail, 'zh-Hans', 'code', p, { code: codeIn(parseMail(mail.text)) });
  });
});

describe('sentences around values are one message', () => {
  const TEMPLATES = join(I18N, '..');
  const html = readdirSync(TEMPLATES).filter((f) => f.endsWith('.html')).map((f) => [f, readFileSync(join(TEMPLATES, f), 'utf8')]);

  test('no template puts a catalog text and an inserted value side by side in one sentence', () => {
    // {{t.a}} {{value}} or {{value}} {{t.b}} within one element's text.
    const split = /\{\{t\.[a-z0-9_]+\}\}[^<>{"=]*\{\{(?![#^/%!]|t\.)[a-z0-9_.]+\}\}|\{\{(?![#^/%!]|t\.)[a-z0-9_.]+\}\}[^<>{"=]*\{\{t\.[a-z0-9_]+\}\}/g;
    const found = html.flatMap(([f, text]) => (text.match(split) ?? []).map((m) => `${f}: ${m}`))
      // "label: value" pairs are not sentences.
      .filter((m) => !/\}\}: \{\{/.test(m));
    assert.deepEqual(found, []);
  });

  test('every {{%t.KEY}} names an English message with a placeholder', () => {
    const keys = html.flatMap(([, text]) => [...text.matchAll(/\{\{%t\.([a-z0-9_]+)\}\}/g)].map((m) => m[1]));
    assert.ok(keys.length >= 8);
    for (const key of keys) {
      const en = catalogValue('en', key);
      assert.equal(typeof en, 'string', `${key} is in the English catalog`);
      assert.match(en, /\{[a-z_]+\}/, `${key} has a {placeholder}`);
    }
  });
});
