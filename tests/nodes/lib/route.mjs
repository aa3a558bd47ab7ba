// Sending each request of a flow to a chosen careid node, or through HAProxy, while every URL
// the flow sees stays the public one (the issuer's, HAProxy's): a cookie-keeping browser
// (tests/e2e/lib/browser.mjs) and a fetch for openid-client whose target is switched between
// requests. Optionally every request is recorded with its start and end time and outcome.
import { Browser } from '../../e2e/lib/browser.mjs';

/** url with its origin replaced by `origin` when it is `from`'s; else url unchanged. */
export function rehome(url, from, origin) {
  const u = new URL(url);
  if (!origin || u.origin !== new URL(from).origin) return u.href;
  const t = new URL(origin);
  u.protocol = t.protocol;
  u.host = t.host;
  return u.href;
}

/** A failed fetch's cause, e.g. "UND_ERR_SOCKET (other side closed; socket 127.0.0.1:50312 → :8080, read 0 B)". */
export function failure(e) {
  const c = e?.cause;
  if (!c) return e?.name === 'TimeoutError' ? 'timeout' : (e?.message || String(e));
  const s = c.socket;
  const where = s ? `; socket ${s.localAddress}:${s.localPort} → :${s.remotePort}, written ${s.bytesWritten} B, read ${s.bytesRead} B` : '';
  return `${c.code || c.name} (${c.message}${where})`;
}

let nextId = 0;
/** A request id unique in this process, sent as x-test-id (HAProxy logs it). */
export const requestId = (tag = 'r') => `${tag}${process.pid}-${++nextId}`;

/**
 * Records of HTTP requests: {id, worker, op, step, method, url, start, end, status, error, ok}.
 * ok is false for a network error, a timeout, a 5xx, or an answer the flow could not go on
 * with (markBad).
 */
export class Recorder {
  constructor() { this.records = []; }
  begin(fields) {
    const rec = { id: requestId(), start: Date.now(), end: undefined, status: undefined, error: undefined, ok: undefined, ...fields };
    this.records.push(rec);
    return rec;
  }
  end(rec, { status, error }) {
    rec.end = Date.now();
    rec.status = status;
    rec.error = error;
    rec.ok = error === undefined && status !== undefined && status < 500;
  }
  /** The flow could not use this answer (e.g. a 400 where a code was due). */
  markBad(rec, why) {
    if (!rec) return;
    rec.ok = false;
    rec.error ||= why;
  }
}

/** fetch with a timeout, an x-test-id header and a record; resolves {status, headers, text, json, rec}. */
export async function recordedFetch(recorder, fields, url, init = {}, timeoutMs = 15000) {
  const rec = recorder.begin({ method: init.method || 'GET', url, ...fields });
  const headers = new Headers(init.headers || {});
  headers.set('x-test-id', rec.id);
  try {
    const r = await fetch(url, { ...init, headers, redirect: 'manual', signal: AbortSignal.timeout(timeoutMs) });
    const text = await r.text();
    recorder.end(rec, { status: r.status });
    let json;
    try { json = JSON.parse(text); } catch { /* not JSON */ }
    return { status: r.status, headers: r.headers, text, json, rec };
  } catch (e) {
    recorder.end(rec, { error: failure(e) });
    e.rec = rec;
    throw e;
  }
}

/**
 * A Browser whose requests go to `route` (a node's origin; undefined: the public URL, i.e.
 * HAProxy) while its URLs, cookies and forms stay the public URL's. With a recorder, every
 * request is recorded (fields from `tags`, set between steps: {worker, op, step}).
 */
export class NodeBrowser extends Browser {
  constructor(publicUrl, { recorder, tags = {} } = {}) {
    super(publicUrl);
    this.publicOrigin = this.origin;
    this.route = undefined;
    this.recorder = recorder;
    this.tags = tags;
    this.last = undefined; // the last request's record
  }

  async request(url, opts = {}) {
    const pub = new URL(url, this.publicOrigin).href;
    const target = rehome(pub, this.publicOrigin, this.route);
    const rec = this.recorder?.begin({ method: opts.method || 'GET', url: pub, via: this.route || 'haproxy', ...this.tags });
    this.last = rec;
    const headers = { ...(opts.headers || {}) };
    if (rec) headers['x-test-id'] = rec.id;
    // cookies are sent when the target's origin is this.origin: the node's, for this request
    this.origin = new URL(target).origin;
    let res;
    try {
      res = await super.request(target, { ...opts, headers });
    } catch (e) {
      if (rec) this.recorder.end(rec, { error: failure(e) });
      if (e && typeof e === 'object') e.rec = rec;
      throw e;
    } finally {
      this.origin = this.publicOrigin;
    }
    if (rec) this.recorder.end(rec, { status: res.status });
    res.rec = rec;
    // what the node answered, seen at the public URL
    const back = (u) => (u ? rehome(u, target, this.publicOrigin) : u);
    res.url = pub;
    res.location = back(res.location);
    for (const f of res.forms || []) f.action = back(f.action);
    const h = this.history[this.history.length - 1];
    if (h) Object.assign(h, { url: pub, location: res.location, via: this.route || 'haproxy' });
    return res;
  }
}

/**
 * A fetch for openid-client (its customFetch) that sends each request to holder.route (a
 * node's origin) or, when unset, to the public URL.
 */
export function routedFetch(publicUrl, holder) {
  return (url, options) => fetch(rehome(String(url), publicUrl, holder.route), options);
}
