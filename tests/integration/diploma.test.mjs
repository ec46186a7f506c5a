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
import { startServer, makePeople } from '../lib/server.mjs';
import { Walker, formWith, hasId, linkTo } from '../lib/browserless.mjs';
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
