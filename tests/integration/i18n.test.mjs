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
const { Walker } = await import('../lib/browserless.mjs');
const { authRequest, enrolWithInvite } = await import('../lib/flows.mjs');

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
