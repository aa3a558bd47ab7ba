// The smartcard (AAL3) through the identity agent, end to end with no mocks: careid serve,
// real `careid agent` processes holding PKCS#12 cards from `careid card issue` (and the demo
// cards --demo writes) or a card issued onto a SoftHSM v2 token (PKCS#11, the key made on the
// token and signing there), openid-client as the relying party, and Chromium running the
// sign-in page's own script against the agent (CORS). Proves: the assurance class, amr and
// level of a card sign-in in int and mock, from a file and from a token; the page in a real
// browser (axe WCAG 2.2 AA, the message when no agent runs); each refusal (expired, revoked,
// foreign CA, wrong key, replayed challenge, no answer from the agent) with its message and no
// session; the agent's own Origin checks; removing the card (deleting the file, deleting the
// token) ends the session; a step-up from an authenticator app keeps the session.
import assert from 'node:assert/strict';
import http from 'node:http';
import { copyFile, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, after } from 'node:test';
import { setupServer, DEMO_PASSWORD, describeCli, sleep } from './lib/careid.mjs';
import { Browser, describeRes, describePages, textOf } from './lib/browser.mjs';
import { makeRp } from './lib/rp.mjs';
import { startAgent, agentSign, agentPost, freePort, smartcardForm, softhsmToken } from './lib/agent.mjs';
import { launch, axeWcag, screenshot } from './lib/a11y.mjs';
import { totpAt } from './lib/totp.mjs';

const UID = '656005750108'; // the demo user with a smartcard in mock and int
let agentPort; // where careid tells the sign-in page the agent is (--smartcard-agent)
const h = setupServer({
  prepare: async (o) => {
    agentPort = await freePort();
    o.extraArgs = [...(o.extraArgs || []), '--smartcard-agent', `http://127.0.0.1:${agentPort}`];
  },
});

let chromium;
before(async () => { chromium = await launch(); });
after(async () => { await chromium?.close(); });

const MSG = {
  expired: "Your smartcard could not sign you in: the smartcard's certificate has expired.",
  revoked: "Your smartcard could not sign you in: the smartcard's certificate has been revoked.",
  foreign: "Your smartcard could not sign you in: the smartcard was not issued by this environment's certificate authority.",
  badSignature: "Your smartcard could not sign you in: the challenge was not signed by the card's key.",
  replayed: 'This sign-in attempt was already used: its challenge is valid once. Try again.',
  noAnswer: 'Your smartcard could not be read: the identity agent did not answer. Start it with "careid agent --card FILE" and try again (the page needs JavaScript to reach it).',
};

const demoCard = (server, env) => join(server.dir, 'demo', `card-${UID}-${env}.p12`);

/** Run fn(agent) with an agent holding `card`; the agent is stopped (exit 0 asserted) after. */
async function withAgent(opts, fn) {
  const agent = await startAgent(opts);
  let failed = false;
  try {
    return await fn(agent);
  } catch (e) {
    failed = true;
    process.stderr.write(`--- careid agent (${opts.card || `token ${opts.token.label}`}) stderr:\n${agent.logs.join('\n')}\n`);
    throw e;
  } finally {
    if (failed) await agent.stop().catch(() => {});
    else await agent.stop();
  }
}

/** `careid card issue` → {serial, file, …}. */
async function issueCard(server, { env = 'mock', uid = UID, name, flags = [] }) {
  const file = join(server.dir, `${name}.p12`);
  const r = await server.cli('card issue', ['--env', env, '--uid', uid, '--out', file, ...flags]);
  assert.equal(r.code, 0, describeCli(r));
  assert.equal(r.json.file, file);
  return r.json;
}

/** The authorization request up to the sign-in page with its smartcard form. */
async function toCardPage(rp, b, params = {}) {
  const authz = await rp.authorizationUrl({ scope: 'openid', ...params });
  const s = await b.signIn(authz.url, {});
  const trail = `${describePages(s.pages)}\n    last: ${describeRes(s.page)}`;
  assert.equal(s.page.status, 200, trail);
  smartcardForm(s.page);
  return { authz, page: s.page };
}

/** Sign-in page → the agent signs → the form is submitted → the code is exchanged. */
async function cardFlow(rp, b, agent, params = {}) {
  const { authz, page } = await toCardPage(rp, b, params);
  const { form, fields } = await agentSign(page, { agentUrl: agent.url });
  const res = await b.submit(form, fields);
  assert.equal(res.status, 303, `the card signs in: ${describeRes(res)}`);
  assert.ok(res.location.startsWith(rp.client.redirectUri), `back to the client: ${res.location}`);
  assert.ok(res.setCookies.some((c) => c.name === `careid_session_${rp.client.env}`), 'a session cookie');
  const tokens = await rp.exchange(res.location, { expectedState: authz.state, expectedNonce: authz.nonce, pkceCodeVerifier: authz.verifier });
  return { tokens, claims: tokens.claims() };
}

/** The text of the smartcard form's status line (#smartcard-status). */
function cardStatus(res) {
  const m = /<p\b[^>]*\bid="smartcard-status"[^>]*>([\s\S]*?)<\/p>/.exec(res.body || '');
  return m ? textOf(m[1]) : undefined;
}

/** The sign-in page again, with `message` for the smartcard and no session. */
function assertRefused(res, message, what) {
  assert.equal(res.status, 200, `${what}: the sign-in page again: ${describeRes(res)}`);
  assert.equal(res.location, undefined, `${what}: no redirect`);
  assert.equal(cardStatus(res), message, `${what}: the message under the smartcard button`);
  assert.ok(!res.setCookies.some((c) => c.name.startsWith('careid_session')), `${what}: no session cookie was set: ${res.setCookies.map((c) => c.raw)}`);
  smartcardForm(res); // another try is offered, with a new challenge
}

/**
 * Authorize with prompt=none from browser `b` every 100 ms until careid answers login_required
 * (at most 5 s, then fail with the agent's log). Returns the milliseconds it took.
 */
async function untilLoginRequired(rp, b, params, agent) {
  const start = Date.now();
  for (;;) {
    const authz = await rp.authorizationUrl({ scope: 'openid', ...params, prompt: 'none' });
    const s = await b.signIn(authz.url, {});
    if (s.error === 'login_required') return Date.now() - start;
    if (Date.now() - start > 5000) assert.fail(`no login_required within 5 s of the card's removal: ${s.location}\n--- agent log:\n${agent.logs.join('\n')}`);
    await sleep(100);
  }
}

/** Rows of the store's audit trail after `seq`: [{seq, action, subject, detail}]. */
async function auditSince(server, seq = 0) {
  const rows = await server.sql(`SELECT seq, action, subject, detail FROM audit_events WHERE seq > ${Number(seq)} ORDER BY seq`);
  return rows.map((r) => ({ ...r, detail: JSON.parse(r.detail) }));
}
const auditMark = async (server) => Number((await server.sql('SELECT COALESCE(MAX(seq), 0) AS m FROM audit_events'))[0].m);

h.test('smartcard in int with no acr_values: AAL3_ANY, amr N3_SMARTCARD, level 3', async (t, server) => {
  const rp = await makeRp(server, undefined, { env: 'int' });
  await withAgent({ card: demoCard(server, 'int') }, async (agent) => {
    const { claims } = await cardFlow(rp, new Browser(server.url), agent);
    assert.equal(claims.sub, UID);
    assert.equal(claims.acr, 'AAL3_ANY');
    assert.deepEqual(claims.amr, ['N3_SMARTCARD']);
    assert.equal(claims.authentication_assurance_level, '3');
  });
  const list = await server.cli('card list', ['--env', 'int', '--uid', UID]);
  assert.equal(list.code, 0, describeCli(list));
  assert.ok(list.json.some((c) => c.last_used_at > 0), `the card's last use is recorded: ${list.stdout}`);
});

h.test('smartcard in mock: each smartcard class, and AAL2_OR_AAL3_ANY at level 3; a card with a passphrase', async (t, server) => {
  const rp = await makeRp(server);
  const check = (claims, acr) => {
    assert.equal(claims.sub, UID, acr);
    assert.equal(claims.acr, acr, `acr for acr_values=${acr}`);
    assert.deepEqual(claims.amr, ['N3_SMARTCARD'], acr);
    assert.equal(claims.authentication_assurance_level, '3', acr);
  };
  await withAgent({ card: demoCard(server, 'mock') }, async (agent) => {
    for (const acr of ['AAL3_N3_SMARTCARD', 'AAL3_CIS2_SMARTCARD', 'AAL3_SMARTCARD', 'AAL2_OR_AAL3_ANY']) {
      check((await cardFlow(rp, new Browser(server.url), agent, { acr_values: acr })).claims, acr);
    }
  });
  // the same passphrase file for `careid card issue` and `careid agent`
  const passphraseFile = join(server.dir, 'card-passphrase.txt');
  await writeFile(passphraseFile, 'correct horse battery\n');
  const card = await issueCard(server, { name: 'with-passphrase', flags: ['--passphrase-file', passphraseFile] });
  await withAgent({ card: card.file, passphraseFile }, async (agent) => {
    check((await cardFlow(rp, new Browser(server.url), agent, { acr_values: 'AAL3_SMARTCARD' })).claims, 'AAL3_SMARTCARD');
  });
  await assert.rejects(startAgent({ card: card.file }), /exited early \(\{"code":1,[^]*careid: wrong passphrase for the card file/, 'no passphrase: the agent does not start');
});

/**
 * The client's redirect URI for Chromium: a real listener on 127.0.0.1 answering a small page
 * (Playwright's page.route does not see the target of a redirect). {url, hits, close()}.
 */
function clientCallback() {
  return new Promise((resolve) => {
    const hits = [];
    const srv = http.createServer((req, res) => {
      hits.push(new URL(req.url, `http://${req.headers.host}`).href);
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end('<!DOCTYPE html><html lang="en"><title>client</title><p>back at the client</p></html>');
    });
    srv.listen(0, '127.0.0.1', () => resolve({
      url: `http://127.0.0.1:${srv.address().port}/cb`,
      hits,
      close: () => new Promise((r) => { srv.closeAllConnections(); srv.close(r); }),
    }));
  });
}

h.test('Chromium: the page\'s script asks the running agent (CORS), lands on the client with a code; axe passes', async (t, server) => {
  await chromium.ctx.clearCookies();
  const client = await clientCallback();
  const rp = await makeRp(server, undefined, { redirectUris: [client.url], name: 'Example Clinical System' });
  const authz = await rp.authorizationUrl({ scope: 'openid', acr_values: 'AAL3_SMARTCARD' });
  const page = await chromium.ctx.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  try {
    await withAgent({ card: demoCard(server, 'mock'), port: agentPort }, async (agent) => {
      const resp = await page.goto(authz.url, { timeout: 10000 });
      assert.equal(resp.status(), 200);
      assert.equal(new URL(page.url()).origin, server.origin, `the sign-in page on careid: ${page.url()}`);
      // the page may reach the agent: its CSP allows it (the test browser bypasses CSP for axe)
      const csp = (await resp.allHeaders())['content-security-policy'] || '';
      assert.match(csp, new RegExp(`connect-src [^;]*http://127\\.0\\.0\\.1:${agentPort}`), `CSP connect-src names the agent: ${csp}`);
      const button = page.getByRole('button', { name: 'Sign in with your smartcard' });
      await button.waitFor({ timeout: 5000 });
      await axeWcag(page, 'sign-in page (smartcard)');
      await screenshot(page, 'signin-smartcard.png');
      await Promise.all([page.waitForURL((u) => u.href.startsWith(rp.client.redirectUri), { timeout: 10000 }), button.click()]);
      // Chromium's CORS preflight, then the signature, both for the careid page's origin
      const seen = agent.logs.map((l) => JSON.parse(l));
      assert.ok(seen.some((e) => e.event === 'request' && e.method === 'OPTIONS' && e.path === '/sign' && e.status === 204), `a preflight: ${agent.logs.join('\n')}`);
      assert.ok(seen.some((e) => e.event === 'signed' && e.origin === server.origin && e.issuer === server.issuer('mock')), `signed for careid's page: ${agent.logs.join('\n')}`);
    });
    const landed = page.url();
    assert.deepEqual(client.hits.filter((u) => u.startsWith(client.url)), [landed], 'the browser went to the client once');
    const tokens = await rp.exchange(landed, { expectedState: authz.state, expectedNonce: authz.nonce, pkceCodeVerifier: authz.verifier });
    const claims = tokens.claims();
    assert.equal(claims.sub, UID);
    assert.equal(claims.acr, 'AAL3_SMARTCARD');
    assert.deepEqual(claims.amr, ['N3_SMARTCARD']);
    assert.deepEqual(errors, [], 'no script errors');
  } finally {
    await page.close();
    await client.close();
  }
});

h.test('Chromium with no agent running: the page says so and submits nothing', async (t, server) => {
  await chromium.ctx.clearCookies(); // no session from the test before
  const rp = await makeRp(server);
  const authz = await rp.authorizationUrl({ scope: 'openid', acr_values: 'AAL3_SMARTCARD' });
  const page = await chromium.ctx.newPage();
  const posts = [];
  page.on('request', (r) => { if (r.method() === 'POST' && r.url().startsWith(server.url)) posts.push(r.url()); });
  try {
    await page.goto(authz.url, { timeout: 10000 });
    const signinUrl = page.url();
    await page.getByRole('button', { name: 'Sign in with your smartcard' }).click();
    const status = page.locator('#smartcard-status');
    await status.filter({ hasText: 'not running' }).waitFor({ timeout: 5000 });
    assert.equal((await status.innerText()).trim(),
      `The identity agent is not running on this computer (nothing answers at http://127.0.0.1:${agentPort}). Start it with "careid agent --card FILE", then try again.`);
    await sleep(200); // a submission would have started by now
    assert.deepEqual(posts, [], 'nothing was submitted');
    assert.equal(page.url(), signinUrl, 'still on the sign-in page');
    await axeWcag(page, 'sign-in page with the agent message');
  } finally {
    await page.close();
  }
});

h.test('smartcard bad input: expired, revoked, foreign CA, another key, replayed challenge, no answer — each refused with its message, no session', async (t, server) => {
  const rp = await makeRp(server);
  const mark = await auditMark(server);
  const expired = await issueCard(server, { name: 'expired', flags: ['--valid-from', '2020-01-01', '--valid-until', '2020-12-31'] });
  const revoked = await issueCard(server, { name: 'revoked', uid: '656005750107' });
  const other = await issueCard(server, { name: 'other-key' });
  const rv = await server.cli('card revoke', ['--env', 'mock', '--serial', revoked.serial]);
  assert.equal(rv.code, 0, describeCli(rv));
  assert.deepEqual(rv.json.revoked, [revoked.serial]);

  /** A fresh browser's sign-in page, signed by `agent`, submitted (with `fields` overrides). */
  const attempt = async (agent, override = (f) => f) => {
    const b = new Browser(server.url);
    const { page } = await toCardPage(rp, b, { acr_values: 'AAL3_SMARTCARD' });
    const { form, fields } = await agentSign(page, { agentUrl: agent.url });
    return { b, form, fields, res: await b.submit(form, override(fields)) };
  };

  await withAgent({ card: expired.file }, async (agent) => {
    assertRefused((await attempt(agent)).res, MSG.expired, 'an expired card');
  });
  await withAgent({ card: revoked.file }, async (agent) => {
    assertRefused((await attempt(agent)).res, MSG.revoked, 'a revoked card');
  });
  await withAgent({ card: demoCard(server, 'int') }, async (agent) => {
    assertRefused((await attempt(agent)).res, MSG.foreign, 'a card of int\'s CA used in mock');
  });
  await withAgent({ card: demoCard(server, 'mock') }, async (cardA) => {
    await withAgent({ card: other.file }, async (cardB) => {
      // card A's certificate with card B's signature over the same text
      const b = new Browser(server.url);
      const { page } = await toCardPage(rp, b, { acr_values: 'AAL3_SMARTCARD' });
      const a = await agentSign(page, { agentUrl: cardA.url });
      const bSig = await agentSign(page, { agentUrl: cardB.url });
      assert.notEqual(a.fields.signature, bSig.fields.signature);
      assertRefused(await b.submit(a.form, { ...a.fields, signature: bSig.fields.signature }), MSG.badSignature, 'a signature by another key');
    });

    // the agent did not answer: the script would not submit, a forged post has no signature
    const { b, form, fields, res } = await attempt(cardA, (f) => ({ ...f, certificate: '', signature: '' }));
    assertRefused(res, MSG.noAnswer, 'a form posted without a signature');
    // that challenge was used by the attempt: the same form, now signed, is refused
    assertRefused(await b.submit(form, fields), MSG.replayed, 'a replayed challenge');
    assert.ok(!b.cookieNames().some((n) => n.startsWith('careid_session')), 'no session in that browser');

    // a form replayed after it signed in: the sign-in is over, nothing more is issued
    const ok = await attempt(cardA);
    assert.equal(ok.res.status, 303, describeRes(ok.res));
    const again = await new Browser(server.url).submit(ok.form, ok.fields);
    assert.equal(again.status, 400, `a finished sign-in cannot be replayed: ${describeRes(again)}`);
    assert.match(textOf(again.body), /This sign-in has expired/);
    assert.equal(again.location, undefined);
    assert.ok(!again.setCookies.some((c) => c.name.startsWith('careid_session')), 'no session from a replay');
  });

  const reasons = (await auditSince(server, mark)).filter((r) => r.action === 'signin.failed').map((r) => r.detail.reason);
  assert.deepEqual(reasons, ['card_expired', 'card_revoked', 'foreign_ca', 'bad_signature', 'agent_not_answering', 'challenge_replayed'],
    'every refusal is in the audit trail with its reason');
});

h.test('smartcard: an agent answer without a removal token signs in (signin.js then posts removal_token="")', async (t, server) => {
  // signin.js fills `removal_token` with `body.removal_token || ''`: an agent that gives no
  // token still signs the user in; the session just cannot be ended by the card's removal
  const rp = await makeRp(server);
  await withAgent({ card: demoCard(server, 'mock') }, async (agent) => {
    const b = new Browser(server.url);
    const { authz, page } = await toCardPage(rp, b, { acr_values: 'AAL3_SMARTCARD' });
    const { form, fields } = await agentSign(page, { agentUrl: agent.url });
    const res = await b.submit(form, { ...fields, removal_token: '' });
    assert.equal(res.status, 303, `signed in without a removal token: ${describeRes(res)} — status line: ${cardStatus(res)}`);
    const c = (await rp.exchange(res.location, { expectedState: authz.state, expectedNonce: authz.nonce, pkceCodeVerifier: authz.verifier })).claims();
    assert.equal(c.acr, 'AAL3_SMARTCARD');
  });
});

h.test('agent: refuses a page of a foreign origin, and an origin to sign that is not the page\'s', async (t, server) => {
  await withAgent({ card: demoCard(server, 'mock') }, async (agent) => {
    const body = { challenge: 'A'.repeat(43), origin: server.origin, issuer: server.issuer('mock') };
    let r = await agentPost(agent.url, { ...body, origin: 'https://evil.example', issuer: 'https://evil.example/realms/mock' }, { origin: 'https://evil.example' });
    assert.equal(r.status, 403, r.text);
    assert.equal(r.json?.error, 'origin_not_allowed');
    assert.equal(r.headers.get('access-control-allow-origin'), null, 'no CORS grant for a foreign origin');
    r = await agentPost(agent.url, body, { origin: 'http://127.0.0.1:1' });
    assert.equal(r.status, 403, r.text);
    assert.equal(r.json?.error, 'origin_mismatch');
    assert.ok(!r.json.signature, 'nothing signed');
    r = await agentPost(agent.url, body, { origin: server.origin });
    assert.equal(r.status, 200, `the page's own origin is answered: ${r.text}`);
  });
});

h.test('smartcard removal ends the session: prompt=none then answers login_required; session.ended audited', async (t, server) => {
  const card = join(server.dir, 'removable.p12');
  await copyFile(demoCard(server, 'mock'), card);
  const rp = await makeRp(server);
  const b = new Browser(server.url);
  const mark = await auditMark(server);
  await withAgent({ card }, async (agent) => {
    const first = await cardFlow(rp, b, agent, { acr_values: 'AAL3_SMARTCARD' });
    const silent = async () => {
      const authz = await rp.authorizationUrl({ scope: 'openid', acr_values: 'AAL3_SMARTCARD', prompt: 'none' });
      return { authz, s: await b.signIn(authz.url, {}) };
    };
    const whileIn = await silent();
    assert.ok(whileIn.s.code, `the session answers prompt=none while the card is in: ${whileIn.s.location}`);
    const { authz: az } = whileIn;
    const sso = await rp.exchange(whileIn.s.location, { expectedState: az.state, expectedNonce: az.nonce, pkceCodeVerifier: az.verifier });
    assert.equal(sso.claims().sid, first.claims.sid, 'the same session');

    await unlink(card);
    t.diagnostic(`session ended ${await untilLoginRequired(rp, b, { acr_values: 'AAL3_SMARTCARD' }, agent)} ms after the card file was deleted`);
    const status = await (await fetch(`${agent.url}/status`, { signal: AbortSignal.timeout(5000) })).json();
    assert.equal(status.card, 'removed');
    assert.ok(agent.logs.some((l) => l.includes('"removal_delivered"') && l.includes('"status":200')), `the agent told careid: ${agent.logs.join('\n')}`);
  });
  const ended = (await auditSince(server, mark)).filter((r) => r.action === 'session.ended');
  assert.equal(ended.length, 1, JSON.stringify(ended));
  assert.equal(ended[0].subject, `user:${UID}`);
  assert.equal(ended[0].detail.env, 'mock');
  assert.equal(ended[0].detail.reason, 'card_removed');
  assert.equal(typeof ended[0].detail.sid, 'string');
});

h.test('step-up from an authenticator app to the smartcard keeps the session (same sid); removing the card then ends it', async (t, server) => {
  const r = await server.cli(`user authenticators ${UID}`, ['--env', 'mock', '--add-totp']);
  assert.equal(r.code, 0, describeCli(r));
  const secret = r.json.secret;
  const rp = await makeRp(server);
  const b = new Browser(server.url);

  const authz = await rp.authorizationUrl({ scope: 'openid', acr_values: 'AAL2_TOTP' });
  const s = await b.signIn(authz.url, { username: UID, password: DEMO_PASSWORD });
  assert.ok(s.page.form?.inputs.some((i) => i.name === 'code'), `the code page after the password: ${describeRes(s.page)}`);
  let res = await b.submit(s.page.form, { code: totpAt(secret) });
  assert.equal(res.status, 303, describeRes(res));
  const first = (await rp.exchange(res.location, { expectedState: authz.state, expectedNonce: authz.nonce, pkceCodeVerifier: authz.verifier })).claims();
  assert.equal(first.acr, 'AAL2_TOTP');

  const card = join(server.dir, 'step-up.p12');
  await copyFile(demoCard(server, 'mock'), card);
  await withAgent({ card }, async (agent) => {
    const { authz: az, page } = await toCardPage(rp, b, { acr_values: 'AAL3_ANY' });
    assert.match(textOf(page.body), /sign in again, with a stronger way of signing in\. You will stay signed in\./, 'the step-up page');
    const { form, fields } = await agentSign(page, { agentUrl: agent.url });
    res = await b.submit(form, fields);
    assert.equal(res.status, 303, describeRes(res));
    const c = (await rp.exchange(res.location, { expectedState: az.state, expectedNonce: az.nonce, pkceCodeVerifier: az.verifier })).claims();
    assert.equal(c.sub, UID);
    assert.equal(c.acr, 'AAL3_ANY');
    assert.equal(c.authentication_assurance_level, '3');
    assert.ok(c.amr.includes('N3_SMARTCARD'), `amr: ${c.amr}`);
    assert.equal(c.sid, first.sid, 'step-up keeps the session');
    assert.ok(c.auth_time >= first.auth_time, `auth_time ${c.auth_time} ≥ ${first.auth_time}`);

    // the session is now also the card's: taking the card out ends it
    await unlink(card);
    await untilLoginRequired(rp, b, { acr_values: 'AAL2_TOTP' }, agent);
  });
});

/** `careid card issue` onto `token` (a softhsmToken()) → the command's JSON. */
async function issueOnToken(server, token, { env = 'int', uid = UID } = {}) {
  const r = await server.cli('card issue', ['--env', env, '--uid', uid, '--pkcs11-module', token.module,
    '--token-label', token.label, '--pin-file', token.pinFile], { env: token.env });
  assert.equal(r.code, 0, describeCli(r));
  assert.equal(r.json.token, token.label);
  assert.equal(r.json.file, undefined, 'no card file: the key is on the token');
  assert.equal(r.json.uid, uid);
  return r.json;
}

h.test('a card on a PKCS#11 token (SoftHSM): issued onto the token, the agent signs there, AAL3_ANY in int; deleting the token ends the session', async (t, server) => {
  const token = await softhsmToken(server.dir, { label: 'sam-patel-card' });
  token.init();
  const issued = await issueOnToken(server, token);
  const list = await server.cli('card list', ['--env', 'int', '--uid', UID]);
  assert.equal(list.code, 0, describeCli(list));
  assert.ok(list.json.some((c) => c.serial === issued.serial && c.revoked_at === null), `the card is recorded in int: ${list.stdout}`);

  const rp = await makeRp(server, undefined, { env: 'int' });
  const b = new Browser(server.url);
  const mark = await auditMark(server);
  await withAgent({ token }, async (agent) => {
    const status = await (await fetch(`${agent.url}/status`, { signal: AbortSignal.timeout(5000) })).json();
    assert.deepEqual({ card: status.card, uid: status.uid, serial: status.serial }, { card: 'present', uid: UID, serial: issued.serial }, 'the agent holds the token\'s card');

    const first = await cardFlow(rp, b, agent, { acr_values: 'AAL3_ANY' });
    assert.equal(first.claims.sub, UID);
    assert.equal(first.claims.acr, 'AAL3_ANY');
    assert.deepEqual(first.claims.amr, ['N3_SMARTCARD']);
    assert.equal(first.claims.authentication_assurance_level, '3');
    assert.ok(agent.logs.some((l) => l.includes('"card_present"') && l.includes(`"token":"${token.label}"`) && l.includes(`"serial":"${issued.serial}"`)), `the agent read the card from the token: ${agent.logs.join('\n')}`);

    // while the token is in, the session answers prompt=none
    const az = await rp.authorizationUrl({ scope: 'openid', acr_values: 'AAL3_ANY', prompt: 'none' });
    const s = await b.signIn(az.url, {});
    assert.ok(s.code, `prompt=none while the token is in: ${s.location}`);
    const sso = await rp.exchange(s.location, { expectedState: az.state, expectedNonce: az.nonce, pkceCodeVerifier: az.verifier });
    assert.equal(sso.claims().sid, first.claims.sid, 'the same session');

    // the token taken out: the agent reports it and careid ends the session
    token.remove();
    t.diagnostic(`session ended ${await untilLoginRequired(rp, b, { acr_values: 'AAL3_ANY' }, agent)} ms after the token was deleted`);
    const gone = await (await fetch(`${agent.url}/status`, { signal: AbortSignal.timeout(5000) })).json();
    assert.equal(gone.card, 'removed');
    assert.ok(agent.logs.some((l) => l.includes('"card_removed"') && l.includes(`"token":"${token.label}"`)), `the agent saw the token go: ${agent.logs.join('\n')}`);
    assert.ok(agent.logs.some((l) => l.includes('"removal_delivered"') && l.includes('"status":200')), `the agent told careid: ${agent.logs.join('\n')}`);
    const r = await agentPost(agent.url, { challenge: 'A'.repeat(43), origin: server.origin, issuer: server.issuer('int') }, { origin: server.origin });
    assert.equal(r.status, 409, r.text);
    assert.equal(r.json?.error, 'card_removed');

    // a token with a new card in the same slot: the card is present again, and signs in
    token.init();
    const again = await issueOnToken(server, token);
    const deadline = Date.now() + 5000;
    let st;
    while ((st = await (await fetch(`${agent.url}/status`, { signal: AbortSignal.timeout(5000) })).json()).serial !== again.serial) {
      if (Date.now() > deadline) assert.fail(`the new token's card within 5 s: ${JSON.stringify(st)}\n${agent.logs.join('\n')}`);
      await sleep(100);
    }
    const second = await cardFlow(rp, new Browser(server.url), agent, { acr_values: 'AAL3_ANY' });
    assert.equal(second.claims.sub, UID);
    assert.equal(second.claims.acr, 'AAL3_ANY');
  });
  const ended = (await auditSince(server, mark)).filter((r) => r.action === 'session.ended');
  assert.equal(ended.length, 1, JSON.stringify(ended));
  assert.equal(ended[0].detail.env, 'int');
  assert.equal(ended[0].detail.reason, 'card_removed');
});

h.test('a card on a PKCS#11 token: a wrong PIN issues nothing and starts no agent; an unknown token is named', async (t, server) => {
  const token = await softhsmToken(server.dir, { label: 'pin-check-card' });
  token.init();
  const wrong = join(server.dir, 'wrong.pin');
  await writeFile(wrong, '000000\n');
  const before = (await server.cli('card list', ['--env', 'int', '--uid', UID])).json.length;
  let r = await server.cli('card issue', ['--env', 'int', '--uid', UID, '--pkcs11-module', token.module,
    '--token-label', token.label, '--pin-file', wrong], { env: token.env });
  assert.equal(r.code, 1, describeCli(r));
  assert.match(r.stderr, /careid: wrong PIN for token 'pin-check-card'/);
  r = await server.cli('card issue', ['--env', 'int', '--uid', UID, '--pkcs11-module', token.module,
    '--token-label', 'no-such-card', '--pin-file', token.pinFile], { env: token.env });
  assert.equal(r.code, 1, describeCli(r));
  assert.match(r.stderr, /careid: no token labelled 'no-such-card'/);
  r = await server.cli('card issue', ['--env', 'int', '--uid', UID, '--pkcs11-module', token.module, '--out', join(server.dir, 'x.p12')]);
  assert.equal(r.code, 2, describeCli(r));
  assert.equal((await server.cli('card list', ['--env', 'int', '--uid', UID])).json.length, before, 'no card recorded');

  await issueOnToken(server, token);
  await assert.rejects(startAgent({ token: { ...token, pinFile: wrong } }), /exited early \(\{"code":1,[^]*careid: wrong PIN for token 'pin-check-card'/, 'a wrong PIN: the agent does not start');
  await assert.rejects(startAgent({ token: { ...token, label: 'no-such-card' } }), /exited early \(\{"code":1,[^]*careid: no token labelled 'no-such-card'/, 'no such token: the agent does not start');
});
