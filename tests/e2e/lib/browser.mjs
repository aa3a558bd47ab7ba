// A small cookie-jar HTTP "browser" for careid's sign-in pages: no JavaScript, manual
// redirects, one form per page. Enough to drive /authorize → sign-in → role → redirect_uri
// the way the OpenID conformance suite drives a provider.

import net from 'node:net';

const ENTITIES = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: '\u00a0' };

/** Decode the HTML character references a server-rendered attribute or text may contain. */
export function decodeEntities(s) {
  return s.replace(/&(#x[0-9a-f]+|#[0-9]+|[a-z]+);/gi, (m, ent) => {
    if (ent[0] === '#') {
      const n = ent[1] === 'x' || ent[1] === 'X' ? parseInt(ent.slice(2), 16) : parseInt(ent.slice(1), 10);
      return Number.isFinite(n) ? String.fromCodePoint(n) : m;
    }
    const v = ENTITIES[ent.toLowerCase()];
    return v === undefined ? m : v;
  });
}

/** Attributes of one start tag's attribute text → {name: value} (names lower-cased; boolean attrs → ''). */
export function parseAttributes(text) {
  const attrs = {};
  const re = /([^\s=/>"']+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+)))?/g;
  let m;
  while ((m = re.exec(text))) {
    const name = m[1].toLowerCase();
    if (name in attrs) continue; // HTML: the first occurrence wins
    const raw = m[2] ?? m[3] ?? m[4] ?? '';
    attrs[name] = decodeEntities(raw);
  }
  return attrs;
}

/** Strip tags (for label text and messages). */
export function textOf(html) {
  return decodeEntities(html.replace(/<script[\s\S]*?<\/script>/gi, '').replace(/<style[\s\S]*?<\/style>/gi, '')
    .replace(/<[^>]*>/g, ' ')).replace(/\s+/g, ' ').trim();
}

/**
 * Every <form> of a page: [{action (absolute URL), method, attrs, inputs, hidden, radios, html}].
 *   inputs: [{type, name, value, checked, attrs, id}] (input, button with a name, textarea, select)
 *   hidden: {name: value}; radios: {name: [{value, checked, id, label}]}
 */
export function parseForms(html, pageUrl) {
  const forms = [];
  const formRe = /<form\b([^>]*)>([\s\S]*?)<\/form\s*>/gi;
  let fm;
  while ((fm = formRe.exec(html))) {
    const attrs = parseAttributes(fm[1]);
    const body = fm[2];
    const action = new URL(attrs.action === undefined || attrs.action === '' ? pageUrl : attrs.action, pageUrl).href;
    const method = (attrs.method || 'get').toLowerCase();
    const inputs = [];
    const tagRe = /<(input|button|textarea|select)\b([^>]*)>/gi;
    let tm;
    while ((tm = tagRe.exec(body))) {
      const tag = tm[1].toLowerCase();
      const a = parseAttributes(tm[2]);
      if (tag === 'input') {
        inputs.push({ tag, type: (a.type || 'text').toLowerCase(), name: a.name, value: a.value ?? '', checked: 'checked' in a, id: a.id, attrs: a });
      } else if (tag === 'button') {
        inputs.push({ tag, type: (a.type || 'submit').toLowerCase(), name: a.name, value: a.value ?? '', id: a.id, attrs: a });
      } else if (tag === 'textarea') {
        const end = body.indexOf('</textarea', tagRe.lastIndex);
        inputs.push({ tag, type: 'textarea', name: a.name, value: decodeEntities(body.slice(tagRe.lastIndex, end < 0 ? undefined : end)), id: a.id, attrs: a });
      } else if (tag === 'select') {
        const end = body.indexOf('</select', tagRe.lastIndex);
        const opts = body.slice(tagRe.lastIndex, end < 0 ? undefined : end);
        const optRe = /<option\b([^>]*)>([^<]*)/gi;
        let om; let value; let first;
        while ((om = optRe.exec(opts))) {
          const oa = parseAttributes(om[1]);
          const v = oa.value ?? decodeEntities(om[2]).trim();
          if (first === undefined) first = v;
          if ('selected' in oa) value = v;
        }
        inputs.push({ tag, type: 'select', name: a.name, value: value ?? first ?? '', id: a.id, attrs: a });
      }
    }
    const labels = {};
    const labelRe = /<label\b([^>]*)>([\s\S]*?)<\/label\s*>/gi;
    let lm;
    while ((lm = labelRe.exec(body))) {
      const la = parseAttributes(lm[1]);
      if (la.for) labels[la.for] = textOf(lm[2]);
    }
    const hidden = {};
    const radios = {};
    for (const i of inputs) {
      if (!i.name) continue;
      if (i.type === 'hidden') hidden[i.name] = i.value;
      if (i.type === 'radio') {
        (radios[i.name] ||= []).push({ value: i.value, checked: i.checked, id: i.id, label: i.id ? labels[i.id] : undefined, hint: describedBy(body, i.attrs['aria-describedby']) });
      }
    }
    forms.push({ action, method, attrs, inputs, hidden, radios, labels, html: fm[0] });
  }
  return forms;
}

/** Text of the elements an aria-describedby attribute names (space-separated ids). */
function describedBy(html, ids) {
  if (!ids) return undefined;
  const texts = [];
  for (const id of ids.split(/\s+/).filter(Boolean)) {
    const esc = id.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    const m = new RegExp(`<([a-z][a-z0-9]*)\\b[^>]*\\bid\\s*=\\s*["']${esc}["'][^>]*>([\\s\\S]*?)</\\1\\s*>`, 'i').exec(html);
    if (m) texts.push(textOf(m[2]));
  }
  return texts.length ? texts.join(' ') : undefined;
}

/** Which kind of careid page a form is: 'login' (password input), 'role' (radios named role) or 'other'. */
export function formKind(form) {
  if (!form) return 'none';
  if (form.inputs.some((i) => i.type === 'password')) return 'login';
  if (form.radios.role?.length) return 'role';
  return 'other';
}

/**
 * The fields a browser would submit for this form, with `values` overriding/adding
 * (a value of null removes the field). Radios are included only when checked (or set
 * through `values`); the first named submit button is included.
 */
export function formFields(form, values = {}) {
  const fields = [];
  let buttonDone = false;
  for (const i of form.inputs) {
    if (!i.name || 'disabled' in i.attrs) continue;
    if (i.type === 'radio' || i.type === 'checkbox') {
      if (i.checked && !(i.name in values)) fields.push([i.name, i.value || 'on']);
      continue;
    }
    if (i.type === 'submit' || i.type === 'image' || i.type === 'button' || i.type === 'reset') {
      if (i.type === 'submit' && !buttonDone) { buttonDone = true; if (!(i.name in values)) fields.push([i.name, i.value]); }
      continue;
    }
    if (i.type === 'file') continue;
    if (i.name in values) continue;
    fields.push([i.name, i.value]);
  }
  for (const [k, v] of Object.entries(values)) {
    if (v === null || v === undefined) continue;
    fields.push([k, String(v)]);
  }
  return fields;
}

/** Parse an authorization response redirect (query, or fragment when the query has none). */
export function parseRedirect(location) {
  const u = new URL(location);
  let p = u.searchParams;
  if (!p.has('code') && !p.has('error') && u.hash.length > 1) p = new URLSearchParams(u.hash.slice(1));
  const get = (k) => p.get(k) ?? undefined;
  return { url: u, code: get('code'), state: get('state'), error: get('error'), error_description: get('error_description'), iss: get('iss'), params: p };
}

export class Browser {
  /** origin: the careid origin; redirects elsewhere end a flow (they go to the RP). */
  constructor(origin) {
    this.origin = new URL(origin).origin;
    this.cookies = new Map(); // `${name}\u0000${path}` → {name, value, path, attrs}
    this.history = [];
    this.userAgent = 'careid-e2e/1 (node)';
  }

  cookieNames() { return [...this.cookies.values()].map((c) => c.name); }

  cookieHeader(url) {
    const path = new URL(url).pathname;
    const pairs = [];
    const list = [...this.cookies.values()].filter((c) => path === c.path || path.startsWith(c.path.endsWith('/') ? c.path : `${c.path}/`));
    list.sort((a, b) => b.path.length - a.path.length);
    for (const c of list) pairs.push(`${c.name}=${c.value}`);
    return pairs.join('; ');
  }

  storeCookies(url, response) {
    const set = typeof response.headers.getSetCookie === 'function' ? response.headers.getSetCookie() : [];
    const stored = [];
    for (const line of set) {
      const parts = line.split(';');
      const eq = parts[0].indexOf('=');
      if (eq < 0) continue;
      const name = parts[0].slice(0, eq).trim();
      const value = parts[0].slice(eq + 1).trim();
      const attrs = {};
      for (const p of parts.slice(1)) {
        const i = p.indexOf('=');
        const k = (i < 0 ? p : p.slice(0, i)).trim().toLowerCase();
        attrs[k] = i < 0 ? '' : p.slice(i + 1).trim();
      }
      let path = attrs.path && attrs.path.startsWith('/') ? attrs.path : new URL(url).pathname.replace(/\/[^/]*$/, '') || '/';
      const key = `${name}\u0000${path}`;
      const expired = ('max-age' in attrs && Number(attrs['max-age']) <= 0) || (attrs.expires && Date.parse(attrs.expires) < Date.now());
      if (expired) this.cookies.delete(key);
      else this.cookies.set(key, { name, value, path, attrs, raw: line });
      stored.push({ name, value, path, attrs, raw: line, deleted: !!expired });
    }
    return stored;
  }

  /**
   * One request, no redirect following. opts: {method, form (object or [[k,v]]), body,
   * headers, contentType}. Resolves {status, headers, body, url, location, setCookies, forms, form, kind, text}.
   */
  async request(url, { method = 'GET', form, body, headers = {}, contentType } = {}) {
    url = new URL(url, this.origin).href;
    const h = { 'user-agent': this.userAgent, accept: 'text/html,application/json;q=0.9,*/*;q=0.8', ...headers };
    if (new URL(url).origin === this.origin) {
      const c = this.cookieHeader(url);
      if (c) h.cookie = c;
    }
    if (form !== undefined) {
      body = new URLSearchParams(Array.isArray(form) ? form : Object.entries(form)).toString();
      contentType ||= 'application/x-www-form-urlencoded';
    }
    if (contentType) h['content-type'] = contentType;
    const r = await fetch(url, { method, headers: h, body, redirect: 'manual', signal: AbortSignal.timeout(15000) });
    const text = await r.text();
    const setCookies = this.storeCookies(url, r);
    const loc = r.headers.get('location');
    const res = {
      status: r.status,
      headers: r.headers,
      body: text,
      url,
      method,
      location: loc ? new URL(loc, url).href : undefined,
      setCookies,
    };
    const ct = r.headers.get('content-type') || '';
    if (ct.includes('html')) {
      res.forms = parseForms(text, url);
      res.form = res.forms.find((f) => formKind(f) !== 'other') || res.forms[0];
      res.kind = formKind(res.form);
    } else {
      res.forms = [];
      res.kind = 'none';
    }
    if (ct.includes('json')) { try { res.json = JSON.parse(text); } catch { /* not JSON */ } }
    this.history.push({ method, url, status: r.status, location: res.location, kind: res.kind });
    return res;
  }

  get(url, opts = {}) { return this.request(url, { ...opts, method: 'GET' }); }
  post(url, form, opts = {}) { return this.request(url, { ...opts, method: 'POST', form }); }

  /** Submit a parsed form with overrides (see formFields). */
  submit(form, values = {}, opts = {}) {
    const fields = formFields(form, values);
    if (form.method === 'post') return this.request(form.action, { ...opts, method: 'POST', form: fields });
    const u = new URL(form.action);
    u.search = new URLSearchParams(fields).toString();
    return this.get(u.href, opts);
  }

  /**
   * Follow same-origin redirects from a response; stops at a page (non-3xx) or at a
   * redirect leaving careid's origin (the RP's redirect_uri). Returns {res, pages}.
   */
  async follow(res, pages = [], maxHops = 10) {
    pages.push(summary(res));
    for (let hop = 0; res.status >= 300 && res.status < 400 && res.location; hop++) {
      if (new URL(res.location).origin !== this.origin) break;
      if (hop >= maxHops) throw new Error(`too many redirects: ${pages.map((p) => `${p.status} ${p.url}`).join(' → ')}`);
      res = await this.get(res.location);
      pages.push(summary(res));
    }
    return { res, pages };
  }

  /**
   * Drive an authorization request to its end, as a user would.
   *   start: the /authorize URL (GET) or {url, form} (POST form to /authorize)
   *   username/password: used on the sign-in form (username omitted → keep the pre-filled value)
   *   role: person_roleid to choose, or {index: n}; default: the first radio
   *   stopAt: 'login' | 'role' → return as soon as that page is shown (result.page has it)
   * Resolves {location, code, state, error, error_description, iss, redirect, page, pages,
   *   sawLogin, sawRole, roleOptions, loginErrors}.
   */
  async signIn(start, { username, password, role, stopAt, maxSteps = 8 } = {}) {
    let res = typeof start === 'string' || start instanceof URL
      ? await this.get(String(start))
      : await this.request(start.url, { method: 'POST', form: start.form });
    const out = { pages: [], sawLogin: 0, sawRole: 0, roleOptions: undefined, loginErrors: [] };
    for (let step = 0; ; step++) {
      ({ res } = await this.follow(res, out.pages));
      out.page = res;
      if (res.status >= 300 && res.status < 400 && res.location) {
        Object.assign(out, parseRedirect(res.location), { location: res.location });
        out.redirect = out.url;
        return out;
      }
      if (step >= maxSteps) return out;
      if (res.status !== 200 || !res.form) return out;
      if (res.kind === 'login') {
        out.sawLogin += 1;
        if (out.sawLogin > 1) {
          // the sign-in form came back after we submitted it: wrong credentials (the caller inspects the page)
          const m = textOf(res.body).match(/[^.]*incorrect[^.]*/i);
          if (m) out.loginErrors.push(m[0].trim());
          return out;
        }
        if (stopAt === 'login' || password === undefined) return out;
        const values = { password };
        if (username !== undefined) values.username = username;
        res = await this.submit(res.form, values);
        continue;
      }
      if (res.kind === 'role') {
        out.sawRole += 1;
        out.roleOptions = res.form.radios.role;
        if (stopAt === 'role' || out.sawRole > 1) return out;
        let value;
        if (role === undefined) value = res.form.radios.role[0].value;
        else if (typeof role === 'object') value = res.form.radios.role[role.index]?.value;
        else value = String(role);
        res = await this.submit(res.form, { role: value });
        continue;
      }
      return out;
    }
  }
}

function summary(res) {
  return { method: res.method, url: res.url, status: res.status, location: res.location, kind: res.kind };
}

/** One line per visited page, for assertion messages. */
export function describePages(pages) {
  return (pages || []).map((p) => `${p.method} ${p.url} → ${p.status}${p.location ? ` Location: ${p.location}` : ''}${p.kind && p.kind !== 'none' ? ` [${p.kind} page]` : ''}`).join('\n    ');
}

/** Describe a response for assertion messages (status, location, start of the body). */
export function describeRes(res) {
  if (!res) return '(no response)';
  const body = (res.body || '').replace(/\s+/g, ' ').slice(0, 400);
  return `${res.method || ''} ${res.url || ''} → ${res.status}${res.location ? ` Location: ${res.location}` : ''} body: ${body}`;
}

/**
 * A raw HTTP/1.1 request over a socket, for inputs fetch will not send (huge headers,
 * malformed request lines, bodies larger than announced…). `head` is the request head
 * without the final CRLFCRLF; `body` a Buffer/string. Resolves {status, headers, body, raw, error}.
 * A connection reset after a status line was received is not an error.
 * waitBeforeBodyMs: after the head, wait this long for an early answer (e.g. 413 on the
 * Content-Length alone) and do not send the body when one came.
 */
export function rawRequest(origin, head, body, { timeoutMs = 10000, waitBeforeBodyMs = 0 } = {}) {
  const u = new URL(origin);
  return new Promise((resolve) => {
    const chunks = [];
    let done = false;
    const sock = net.connect({ host: u.hostname, port: Number(u.port) });
    const finish = (error) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      const raw = Buffer.concat(chunks);
      const text = raw.toString('latin1');
      const m = /^HTTP\/1\.[01] (\d{3})[^\r\n]*\r\n/.exec(text);
      const headerEnd = text.indexOf('\r\n\r\n');
      const headers = {};
      if (m) {
        for (const line of text.slice(0, headerEnd < 0 ? undefined : headerEnd).split('\r\n').slice(1)) {
          const i = line.indexOf(':');
          if (i > 0) {
            const k = line.slice(0, i).trim().toLowerCase();
            headers[k] = headers[k] ? `${headers[k]}, ${line.slice(i + 1).trim()}` : line.slice(i + 1).trim();
          }
        }
      }
      resolve({
        status: m ? Number(m[1]) : undefined,
        headers,
        body: headerEnd < 0 ? '' : raw.subarray(headerEnd + 4).toString('utf8'),
        raw: text,
        error: m ? undefined : (error?.code || error?.message || 'no HTTP response'),
      });
    };
    const timer = setTimeout(() => finish(new Error('timeout')), timeoutMs);
    sock.on('data', (d) => {
      chunks.push(d);
      // a complete response with Content-Length lets us stop early
      const text = Buffer.concat(chunks).toString('latin1');
      const he = text.indexOf('\r\n\r\n');
      if (he >= 0) {
        const cl = /\r\ncontent-length:\s*(\d+)/i.exec(text.slice(0, he));
        if (cl && Buffer.concat(chunks).length >= he + 4 + Number(cl[1])) finish();
      }
    });
    sock.on('end', () => finish());
    sock.on('close', () => finish());
    sock.on('error', (e) => finish(e));
    sock.on('connect', async () => {
      sock.write(`${head}\r\n\r\n`);
      if (waitBeforeBodyMs > 0) await new Promise((r) => setTimeout(r, waitBeforeBodyMs));
      if (done || chunks.length > 0) return; // answered on the head alone
      if (body && body.length) {
        // write in pieces; the server may answer (413) and close before taking it all
        const buf = Buffer.isBuffer(body) ? body : Buffer.from(body);
        let off = 0;
        const pump = () => {
          while (off < buf.length && !sock.destroyed) {
            const piece = buf.subarray(off, off + 16384);
            off += piece.length;
            if (!sock.write(piece)) { sock.once('drain', pump); return; }
          }
        };
        pump();
      }
    });
  });
}
