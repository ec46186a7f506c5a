// Benchmark: the weight of every page and how long it takes to become usable on a
// slow mobile line. Figures only, no assertions.
//
// For each page and state (tests/lib/pages.mjs walks them in English) it prints the
// bytes of the document and of its CSS and JS, uncompressed and gzip-compressed
// (zlib, level 9: what a precompressed asset would weigh), and the times from the
// start of the navigation until DOMContentLoaded (the page's script has run: the page
// is usable; the main button is checked to be enabled) and load, under Chromium's
// network emulation: 400 ms round trip, 400 kbit/s down and up. Two walks: "cold"
// with the HTTP cache disabled (a first visit) and "warm" (CSS and JS cached after
// the first page of the walk).
//
//   WP_BIN=build/wereldpas node tests/bench/pages.mjs [lang]

import zlib from 'node:zlib';
import { startServer, makePeople, freePort } from '../lib/server.mjs';
import { LIMITS, addAuthenticator, launchChromium, startCallback, walkPages } from '../lib/pages.mjs';

const LANG = process.argv[2] ?? 'en';
const SLOW = { offline: false, latency: 400, downloadThroughput: 400000 / 8, uploadThroughput: 400000 / 8 };

const gz = (buf) => zlib.gzipSync(buf, { level: 9 }).byteLength;
const kb = (n) => (n / 1024).toFixed(1).padStart(5);
const ms = (n) => (Number.isFinite(n) && n > 0 ? String(Math.round(n)).padStart(6) : '     -');

const people = makePeople(4);
const srv = await startServer({ people, config: LIMITS });
const rp = await startCallback(await freePort());
const browser = await launchChromium();
try {
  const reg = await srv.addClient({ id: 'rp-bench', redirectUris: [rp.redirectUri], auth: 'client_secret_basic' });
  const client = { client_id: reg.client_id, redirectUri: rp.redirectUri };
  const assets = new Map(); // url -> Buffer
  const asset = async (url) => {
    if (!assets.has(url)) assets.set(url, Buffer.from(await (await fetch(url)).arrayBuffer()));
    return assets.get(url);
  };

  for (const [i, mode] of ['cold', 'warm'].entries()) {
    const context = await browser.newContext();
    context.setDefaultTimeout(60000);
    context.setDefaultNavigationTimeout(60000);
    await context.addCookies([{ name: 'wp_lang', value: LANG, url: srv.issuer }]);
    const page = await context.newPage();
    await addAuthenticator(context, page);
    const cdp = await context.newCDPSession(page);
    await cdp.send('Network.enable');
    await cdp.send('Network.emulateNetworkConditions', SLOW);
    await cdp.send('Network.setCacheDisabled', { cacheDisabled: mode === 'cold' });
    let lastDoc = null;
    page.on('response', (r) => {
      const redirect = r.status() >= 300 && r.status() < 400;
      if (r.request().resourceType() !== 'document' || r.frame() !== page.mainFrame() || redirect) return;
      lastDoc = r.body().catch(() => null);
    });

    const rows = [];
    const visit = async (name, { loaded } = {}) => {
      if (loaded !== false) await page.waitForLoadState('load');
      else await page.waitForFunction(() => getComputedStyle(document.body).marginTop === '0px');
      const usable = await page.evaluate(() => {
        const b = document.querySelector('main button.primary');
        return !b || !b.disabled || !!b.closest('[data-ceremony]')?.querySelector('[data-unsupported]:not([hidden])');
      });
      const t = await page.evaluate(() => {
        const n = performance.getEntriesByType('navigation')[0];
        return n ? { dcl: n.domContentLoadedEventEnd, load: n.loadEventEnd } : {};
      });
      const doc = (await lastDoc) ?? Buffer.alloc(0);
      const urls = await page.evaluate(() =>
        [...document.querySelectorAll('link[rel=stylesheet][href], script[src]')].map((e) => e.href || e.src),
      );
      let raw = doc.byteLength;
      let packed = gz(doc);
      for (const u of urls) {
        const b = await asset(u);
        raw += b.byteLength;
        packed += gz(b);
      }
      rows.push({ name, doc: doc.byteLength, docGz: gz(doc), raw, packed, ...t, usable });
    };
    const started = Date.now();
    await walkPages(page, { srv, client, rp, person: people[2 * i], diplomaPerson: people[2 * i + 1], visit });
    const took = ((Date.now() - started) / 1000).toFixed(1);
    await context.close();

    console.log(`\n== ${mode} cache, ${LANG}, 400 ms RTT, 400 kbit/s (walk took ${took} s)`);
    console.log('page              doc KB   gz   page+css+js KB   gz   usable (DOMContentLoaded) ms  load ms  main button');
    for (const r of rows) {
      console.log(
        `${r.name.padEnd(16)} ${kb(r.doc)}  ${kb(r.docGz)}   ${kb(r.raw)}          ${kb(r.packed)}                        ${ms(r.dcl)}   ${ms(r.load)}  ${r.usable ? 'enabled' : 'DISABLED'}`,
      );
    }
  }
  const css = [...assets].map(([u, b]) => `${new URL(u).pathname} ${b.byteLength} B (gzip ${gz(b)} B)`);
  console.log(`\nassets: ${css.join(', ')}`);
} finally {
  await browser.close().catch(() => {});
  await rp.close();
  await srv.stop();
}
