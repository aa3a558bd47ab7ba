// RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0) helpers: a signed-in browser with
// its ID token, the end-session request, and checks that a session ended or lives on.
import assert from 'node:assert/strict';
import { Browser, describeRes, textOf } from './browser.mjs';
import { makeRp } from './rp.mjs';
import { USERS } from './careid.mjs';

export const POST_LOGOUT_URI = 'http://127.0.0.1:9/logged-out';

/** A client registered with a post-logout redirect URI, and a browser signed in to it. */
export async function signedIn(server, { postLogoutUris = [POST_LOGOUT_URI], user = USERS.single, extraFlags = [], env = 'mock' } = {}) {
  const flags = [...extraFlags];
  for (const u of postLogoutUris) flags.push('--post-logout-redirect-uri', u);
  const rp = await makeRp(server, undefined, { env, extraFlags: flags });
  const browser = new Browser(server.url);
  const flow = await rp.codeFlow(browser, { user });
  return { rp, browser, idToken: flow.idToken, claims: flow.claims };
}

/** GET the end-session endpoint with `params` (null values left out). */
export function endSession(rp, browser, params = {}) {
  const u = new URL(rp.meta.end_session_endpoint);
  for (const [k, v] of Object.entries(params)) if (v !== null && v !== undefined) u.searchParams.set(k, v);
  return browser.get(u.href);
}

/** True when the browser's session still answers prompt=none with a code. */
export async function sessionAlive(rp, browser) {
  const a = await rp.authorizationUrl({ scope: 'openid', prompt: 'none' });
  const r = await browser.signIn(a.url, {});
  if (r.code) return true;
  assert.equal(r.error, 'login_required', `prompt=none answers a code or login_required: ${describeRes(r.page)}`);
  return false;
}

/** The confirmation page: a form posting confirm=yes with a CSRF token. */
export function assertConfirmPage(res, what) {
  assert.equal(res.status, 200, `${what}: the confirmation page: ${describeRes(res)}`);
  const form = res.forms.find((f) => f.hidden.confirm === 'yes');
  assert.ok(form && form.hidden.csrf, `${what}: a sign-out form with confirm and csrf: ${describeRes(res)}`);
  return form;
}

/** The signed-out page (no redirect). */
export function assertSignedOutPage(res, what) {
  assert.equal(res.status, 200, `${what}: ${describeRes(res)}`);
  assert.equal(res.location, undefined, `${what}: no redirect`);
  assert.match(textOf(res.body), /signed out|not signed in/i, `${what}: the signed-out page`);
}

/** A 400 error page and nothing else. */
export function assertRefused(res, pattern, what) {
  assert.equal(res.status, 400, `${what}: ${describeRes(res)}`);
  assert.equal(res.location, undefined, `${what}: no redirect`);
  assert.match(textOf(res.body), pattern, what);
}
