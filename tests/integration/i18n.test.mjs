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
