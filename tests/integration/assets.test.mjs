// Static assets: content-hashed URLs, long cache lifetimes, precompressed gzip for clients
// that accept it, identical content either way.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import zlib from 'node:zlib';

import { startServer, makePeople } from '../lib/server.mjs';

// node's fetch always asks for compression; a raw request shows exactly what was sent.
function get(url, headers) {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.setTimeout(10000, () => req.destroy(new Error('timeout')));
  });
}

describe('static assets', { timeout: 60000 }, () => {
  let srv, assets;

  before(async () => {
    srv = await startServer({ people: makePeople(1) });
    const page = await get(new URL('/accessibility', srv.issuer), {});
    assets = [...page.body.toString().matchAll(/(?:href|src)="(\/static\/[^"]+)"/g)].map((m) => m[1]);
  });

  after(async () => {
    await srv?.stop();
  });

  test('pages name their CSS and JS with a content hash', () => {
    assert.ok(assets.length >= 2, `assets: ${assets}`);
    for (const a of assets) assert.match(a, /\?v=[0-9a-f]{12}$/);
  });

  test('gzip when accepted, the same bytes once inflated, cached for a year', async () => {
    for (const a of assets) {
      const url = new URL(a.replace(/&amp;/g, '&'), srv.issuer);
      const plain = await get(url, { 'accept-encoding': 'identity' });
      const gz = await get(url, { 'accept-encoding': 'gzip, deflate, br' });
      assert.equal(plain.status, 200);
      assert.equal(gz.status, 200);
      assert.equal(plain.headers['content-encoding'], undefined);
      assert.equal(gz.headers['content-encoding'], 'gzip');
      assert.match(gz.headers.vary ?? '', /Accept-Encoding/);
      assert.match(gz.headers['cache-control'], /max-age=31536000/);
      assert.ok(gz.body.length < plain.body.length / 2, `${a}: ${gz.body.length} of ${plain.body.length} bytes`);
      assert.deepEqual(zlib.gunzipSync(gz.body), plain.body);
    }
  });

  test('gzip;q=0 is honoured', async () => {
    const url = new URL(assets[0].replace(/&amp;/g, '&'), srv.issuer);
    const res = await get(url, { 'accept-encoding': 'gzip;q=0' });
    assert.equal(res.headers['content-encoding'], undefined);
  });
});
