// A browser without a browser: fetch with a cookie jar and manual redirects,
// plus small HTML helpers, enough to walk the Wereldpas login journey with
// the software authenticator (softauthn.mjs) in the person's place.

import crypto from 'node:crypto';

// ---- HTML helpers -------------------------------------------------------

const ENTITIES = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: '\u00a0' };

export function decodeEntities(s) {
  return s.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[a-zA-Z]+);/g, (m, e) => {
    if (e[0] === '#') {
      const cp = e[1] === 'x' || e[1] === 'X' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10);
      return String.fromCodePoint(cp);
    }
    return ENTITIES[e.toLowerCase()] ?? m;
  });
}

// Parses the attributes of one start tag ('<input a="b" c>') into an object.
export function attributes(tag) {
  const out = {};
  const body = tag.replace(/^<\s*[a-zA-Z0-9-]+/, '').replace(/\/?>$/, '');
  const re = /([^\s"'=<>`/]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+)))?/g;
  let m;
  while ((m = re.exec(body))) {
    const v = m[2] ?? m[3] ?? m[4] ?? '';
    out[m[1].toLowerCase()] = decodeEntities(v);
  }
  return out;
}

// All start tags named NAME, as { tag, attrs, index }.
export function tags(html, name) {
  const re = new RegExp(`<${name}\\b[^>]*>`, 'gi');
  const out = [];
  let m;
  while ((m = re.exec(html))) out.push({ tag: m[0], attrs: attributes(m[0]), index: m.index });
  return out;
}

// All forms: { attrs, html, inputs: [{name,type,value}] , hidden: {name: value} }.
export function forms(html) {
  const out = [];
  const re = /<form\b[^>]*>([\s\S]*?)<\/form\s*>/gi;
  let m;
  while ((m = re.exec(html))) {
    const open = m[0].match(/^<form\b[^>]*>/i)[0];
    const inner = m[1];
    const inputs = [
      ...tags(inner, 'input').map((t) => ({
        name: t.attrs.name,
        type: (t.attrs.type ?? 'text').toLowerCase(),
        value: t.attrs.value ?? '',
        attrs: t.attrs,
      })),
      ...tags(inner, 'button').map((t) => ({
        name: t.attrs.name,
        type: (t.attrs.type ?? 'submit').toLowerCase(),
        value: t.attrs.value ?? '',
        attrs: t.attrs,
      })),
    ];
    const hidden = {};
    for (const i of inputs) if (i.type === 'hidden' && i.name) hidden[i.name] = i.value;
    out.push({ attrs: attributes(open), html: m[0], inputs, hidden });
  }
  return out;
}

// The first form that has a field named FIELD (or null).
export function formWith(html, field) {
  return forms(html).find((f) => f.inputs.some((i) => i.name === field)) ?? null;
}

// All link targets (<a href>), entity-decoded.
export function links(html) {
  return tags(html, 'a')
    .map((t) => t.attrs.href)
    .filter(Boolean);
}

// True when some element has id="ID".
export function hasId(html, id) {
  return new RegExp(`\\bid\\s*=\\s*["']?${id.replace(/[-]/g, '\\-')}["'\\s>]`).test(html);
}

// The first link whose path is PATHNAME (relative to BASE).
export function linkTo(html, base, pathname) {
  for (const href of links(html)) {
    const u = new URL(href, base);
    if (u.pathname === pathname) return u;
  }
  return null;
}

// ---- cookie jar -----------------------------------------------------------

export class CookieJar {
  constructor() {
    this.cookies = new Map(); // key host|path|name -> {name, value, host, path, expires}
  }

  // Stores the cookies of Set-Cookie headers received from URL.
  store(url, setCookies) {
    const u = new URL(url);
    for (const line of setCookies) {
      const parts = line.split(';').map((p) => p.trim());
      const [nv, ...attrs] = parts;
      const eq = nv.indexOf('=');
      if (eq <= 0) continue;
      const name = nv.slice(0, eq).trim();
      const value = nv.slice(eq + 1).trim();
      let path = '/';
      let expires = null;
      let domain = null;
      const defaultPath = u.pathname.replace(/\/[^/]*$/, '') || '/';
      path = defaultPath;
      for (const a of attrs) {
        const [k, ...rest] = a.split('=');
        const v = rest.join('=');
        const key = k.trim().toLowerCase();
        if (key === 'path' && v.startsWith('/')) path = v;
        else if (key === 'max-age') expires = Date.now() + Number(v) * 1000;
        else if (key === 'expires' && expires === null) expires = Date.parse(v);
        else if (key === 'domain') domain = v.replace(/^\./, '').toLowerCase();
      }
      const host = domain ?? u.hostname;
      const k = `${host}|${path}|${name}`;
      if (expires !== null && expires <= Date.now()) this.cookies.delete(k);
      else this.cookies.set(k, { name, value, host, path, expires, line });
    }
  }

  // The Cookie header value for URL ('' when none).
  header(url) {
    const u = new URL(url);
    const now = Date.now();
    const out = [];
    for (const [k, c] of this.cookies) {
      if (c.expires !== null && c.expires <= now) {
        this.cookies.delete(k);
        continue;
      }
      if (u.hostname !== c.host && !u.hostname.endsWith(`.${c.host}`)) continue;
      if (!(u.pathname === c.path || u.pathname.startsWith(c.path.endsWith('/') ? c.path : `${c.path}/`))) {
        continue;
      }
      out.push(`${c.name}=${c.value}`);
    }
    return out.join('; ');
  }

  list() {
    return [...this.cookies.values()];
  }
}

// ---- the walker -----------------------------------------------------------

const TIMEOUT_MS = 15000;

// One "browser": a cookie jar and the requests it makes.
export class Walker {
  constructor(issuer) {
    this.issuer = issuer;
    this.origin = new URL(issuer).origin;
    this.jar = new CookieJar();
    this.log = [];
  }

  // Makes one request (no redirect following). OPTS: method, headers, body,
  // form (object, sent urlencoded), json (value, sent as JSON), origin (false
  // to leave out the Origin header on POST). Resolves to
  // { status, headers, location, text, json, url }.
  async request(url, opts = {}) {
    url = new URL(url, this.issuer).toString();
    const method = opts.method ?? (opts.form || opts.json !== undefined || opts.body ? 'POST' : 'GET');
    const headers = { ...opts.headers };
    const cookie = this.jar.header(url);
    if (cookie) headers.cookie = cookie;
    let body = opts.body;
    if (opts.form) {
      body = new URLSearchParams(opts.form).toString();
      headers['content-type'] ??= 'application/x-www-form-urlencoded';
    } else if (opts.json !== undefined) {
      body = JSON.stringify(opts.json);
      headers['content-type'] ??= 'application/json';
    }
    if (method === 'POST' && opts.origin !== false && !('origin' in headers)) headers.origin = this.origin;
    headers.accept ??= opts.json !== undefined ? 'application/json' : 'text/html,application/json;q=0.9,*/*;q=0.8';
    const res = await fetch(url, {
      method,
      headers,
      body,
      redirect: 'manual',
      signal: AbortSignal.timeout(opts.timeoutMs ?? TIMEOUT_MS),
    });
    this.jar.store(url, res.headers.getSetCookie());
    const text = await res.text();
    let json;
    if ((res.headers.get('content-type') ?? '').includes('json')) {
      try {
        json = JSON.parse(text);
      } catch {
        json = undefined;
      }
    }
    const location = res.headers.get('location');
    const out = {
      status: res.status,
      headers: res.headers,
      location: location ? new URL(location, url).toString() : null,
      text,
      json,
      url,
    };
    this.log.push({ method, url, status: res.status, location: out.location });
    return out;
  }

  get(url, opts) {
    return this.request(url, { ...opts, method: 'GET' });
  }

  postForm(url, form, opts) {
    return this.request(url, { ...opts, method: 'POST', form });
  }

  postJSON(url, json, opts) {
    return this.request(url, { ...opts, method: 'POST', json });
  }

  // Follows redirects from URL while they stay on the provider. Resolves to
  // { res, redirect } where redirect is the off-provider URL (the RP's
  // redirect_uri with its query) or null when a page was reached.
  async follow(url, { max = 10 } = {}) {
    let res = await this.get(url);
    for (let i = 0; i < max; i++) {
      if (res.status < 300 || res.status > 399 || !res.location) return { res, redirect: null };
      const next = new URL(res.location);
      if (next.origin !== this.origin) return { res, redirect: next };
      res = await this.get(next);
    }
    throw new Error(`too many redirects from ${url}`);
  }

  // Opens an authorization URL. Resolves to
  //   { kind: 'login', flow, html, url }  a login page was reached
  //   { kind: 'redirect', redirect }      the provider answered at once
  //   { kind: 'page', res }               anything else (an error page)
  async authorize(authorizeUrl) {
    const { res, redirect } = await this.follow(authorizeUrl);
    if (redirect) return { kind: 'redirect', redirect, res };
    const last = new URL(this.log[this.log.length - 1].url);
    if (res.status === 200 && last.pathname === '/login' && last.searchParams.get('flow')) {
      return { kind: 'login', flow: last.searchParams.get('flow'), html: res.text, url: last };
    }
    return { kind: 'page', res };
  }

  // From the login page, goes to /enrol, then /enrol/code, and submits CODE.
  // Resolves to { res, ok } where ok says the page offers #passkey-create.
  async enrolWithCode(flow, code, { loginHtml } = {}) {
    const loginUrl = new URL(`/login?flow=${encodeURIComponent(flow)}`, this.issuer);
    const login = loginHtml ?? (await this.get(loginUrl)).text;
    const enrolUrl = linkTo(login, loginUrl, '/enrol');
    if (!enrolUrl) throw new Error('login page has no link to /enrol');
    const enrol = await this.get(enrolUrl);
    if (enrol.status !== 200) throw new Error(`GET ${enrolUrl} -> ${enrol.status}`);
    const codeUrl = linkTo(enrol.text, enrolUrl, '/enrol/code');
    if (!codeUrl) throw new Error('enrol page has no link to /enrol/code');
    return this.submitCode(codeUrl, code);
  }

  // GETs the code page at CODE_URL and submits CODE with its hidden fields.
  async submitCode(codeUrl, code) {
    const page = await this.get(codeUrl);
    if (page.status !== 200) throw new Error(`GET ${codeUrl} -> ${page.status}`);
    const form = formWith(page.text, 'code');
    if (!form) throw new Error(`no form with a "code" field at ${codeUrl}`);
    if (!('csrf' in form.hidden)) throw new Error('code form has no hidden csrf input');
    if (!('flow' in form.hidden)) throw new Error('code form has no hidden flow input');
    const action = new URL(form.attrs.action ?? codeUrl, codeUrl);
    const res = await this.postForm(action, { ...form.hidden, code });
    return { res, ok: res.status === 200 && hasId(res.text, 'passkey-create'), form };
  }

  // Runs the registration ceremony with AUTHENTICATOR. Resolves to
  // { options, optionsRes, credential, res } (res is the verify answer).
  async registerPasskey(flow, authenticator, knobs = {}) {
    const optionsRes = await this.postJSON('/webauthn/register/options', { flow });
    if (optionsRes.status !== 200 || !optionsRes.json?.publicKey) {
      return { optionsRes, res: optionsRes, options: null };
    }
    const options = optionsRes.json;
    const credential = mutate(authenticator.create(options, knobs), knobs.mutate);
    const res = await this.postJSON('/webauthn/register/verify', { flow, credential });
    return { options, optionsRes, credential, res };
  }

  // Runs the authentication ceremony with AUTHENTICATOR (see registerPasskey).
  async loginPasskey(flow, authenticator, knobs = {}) {
    const optionsRes = await this.postJSON('/webauthn/login/options', { flow });
    if (optionsRes.status !== 200 || !optionsRes.json?.publicKey) {
      return { optionsRes, res: optionsRes, options: null };
    }
    const options = optionsRes.json;
    const credential = mutate(authenticator.get(options, knobs), knobs.mutate);
    const res = await this.postJSON('/webauthn/login/verify', { flow, credential });
    return { options, optionsRes, credential, res };
  }

  // Follows a "next" URL to the redirect to the RP; resolves to that URL
  // (throws when a page is reached instead).
  async finish(next) {
    const { res, redirect } = await this.follow(new URL(next, this.issuer));
    if (!redirect) {
      throw new Error(`following ${next} ended at a page (${res.status}): ${res.text.slice(0, 500)}`);
    }
    return redirect;
  }
}

function mutate(credential, fn) {
  if (!fn) return credential;
  const copy = structuredClone(credential);
  return fn(copy) ?? copy;
}

// ---- the RP side, by hand ----------------------------------------------------

export function pkcePair() {
  const verifier = crypto.randomBytes(32).toString('base64url');
  const challenge = crypto.createHash('sha256').update(verifier).digest('base64url');
  return { verifier, challenge };
}

export function randomToken() {
  return crypto.randomBytes(16).toString('base64url');
}

// Builds an authorization request. Returns { url, state, nonce, verifier }.
export function authorizationRequest(issuer, { clientId, redirectUri, scope = 'openid profile', extra = {} }) {
  const { verifier, challenge } = pkcePair();
  const state = randomToken();
  const nonce = randomToken();
  const url = new URL('/authorize', issuer);
  const params = {
    response_type: 'code',
    client_id: clientId,
    redirect_uri: redirectUri,
    scope,
    state,
    nonce,
    code_challenge: challenge,
    code_challenge_method: 'S256',
    ...extra,
  };
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null) url.searchParams.set(k, v);
  return { url, state, nonce, verifier, challenge };
}

// The HTTP Basic credentials of RFC 6749 §2.3.1 (form-encoded, then base64).
export function basicAuth(id, secret) {
  const enc = (s) => encodeURIComponent(s).replace(/%20/g, '+');
  return `Basic ${Buffer.from(`${enc(id)}:${enc(secret)}`).toString('base64')}`;
}

// POSTs to the token endpoint. AUTH: { method: 'basic'|'post'|'none', id, secret }.
export async function tokenRequest(tokenEndpoint, params, auth) {
  const headers = { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' };
  const form = { ...params };
  if (auth.method === 'basic') headers.authorization = basicAuth(auth.id, auth.secret);
  else if (auth.method === 'post') Object.assign(form, { client_id: auth.id, client_secret: auth.secret });
  else form.client_id = auth.id;
  const res = await fetch(tokenEndpoint, {
    method: 'POST',
    headers,
    body: new URLSearchParams(form).toString(),
    signal: AbortSignal.timeout(TIMEOUT_MS),
  });
  const text = await res.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}
