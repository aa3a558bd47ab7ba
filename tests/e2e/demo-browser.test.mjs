// A real browser (Debian chromium through playwright-core) signs in to the demo RP at /demo/ as a
// multi-role user, picks a role and sees the ID token claims; axe-core finds no serious or
// critical accessibility violation on the sign-in and role pages.
// CAREID_SCREENSHOTS=1 saves docs/screenshots/signin.png and select-role.png.
import assert from 'node:assert/strict';
import { before, after } from 'node:test';
import { mkdtemp, mkdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { setupServer, USERS, DEMO_PASSWORD, REPO } from './lib/careid.mjs';

const h = setupServer();
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const AXE = join(REPO, 'node_modules', 'axe-core', 'axe.min.js');
const SHOTS = process.env.CAREID_SCREENSHOTS ? join(REPO, 'docs', 'screenshots') : undefined;
let ctx;
let profile;

before(async () => {
  profile = await mkdtemp(join(tmpdir(), 'careid-chromium-'));
  ctx = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1000, height: 800 },
    // careid's pages forbid inline scripts (CSP); axe-core is injected as one
    bypassCSP: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
});

after(async () => {
  await ctx?.close();
  if (profile) await rm(profile, { recursive: true, force: true });
});

/** Run axe-core on the page; print every violation; fail on serious/critical ones. */
async function axeCheck(page, what) {
  await page.addScriptTag({ path: AXE });
  const result = await page.evaluate(async () => {
    // eslint-disable-next-line no-undef
    const r = await axe.run(document, { resultTypes: ['violations'] });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => n.target.join(' ')).slice(0, 5) }));
  });
  for (const v of result) process.stderr.write(`axe [${what}] ${v.impact} ${v.id}: ${v.help} — ${v.nodes.join(', ')}\n`);
  const bad = result.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  assert.deepEqual(bad, [], `${what}: axe-core violations with impact serious or critical`);
  return result;
}

async function screenshot(page, name) {
  if (!SHOTS) return;
  await mkdir(SHOTS, { recursive: true });
  await page.screenshot({ path: join(SHOTS, name), fullPage: true });
}

h.test('demo: sign in with a real browser, choose a role, see the claims; pages pass axe', { timeout: 90000 }, async (t, server) => {
  const page = await ctx.newPage();
  const consoleErrors = [];
  page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
  page.on('pageerror', (e) => consoleErrors.push(String(e)));
  try {
    const resp = await page.goto(`${server.url}/demo/`);
    assert.equal(resp.status(), 200, `GET /demo/: ${resp.status()}`);

    const signInControl = page.getByRole('link', { name: /sign in/i }).or(page.getByRole('button', { name: /sign in/i })).first();
    await signInControl.click();

    // the sign-in page of careid
    const password = page.locator('input[name="password"]');
    await password.waitFor({ timeout: 15000 });
    assert.equal(new URL(page.url()).origin, server.origin, `sign-in page on careid's origin: ${page.url()}`);
    // mock offers every authenticator to a request naming no class: a form each
    assert.equal(await page.locator('form:has(input[name="password"])').count(), 1, 'one password form on the sign-in page');
    assert.equal(await page.locator('#webauthn-form').count(), 1, 'a security key form');
    assert.equal(await page.locator('#smartcard-form').count(), 1, 'a smartcard form');
    assert.ok(await page.locator('html[lang]').count(), 'the page declares its language');
    await axeCheck(page, 'sign-in page');
    await screenshot(page, 'signin.png');

    await page.locator('input[name="username"]').fill(USERS.multi);
    await password.fill(DEMO_PASSWORD);
    const submit = page.locator('#password-form').locator('button[type="submit"], input[type="submit"], button:not([type])').first();
    await Promise.all([page.waitForLoadState('load'), (await submit.count()) ? submit.click() : password.press('Enter')]);

    // the role page
    const radios = page.locator('input[type="radio"][name="role"]');
    await radios.first().waitFor({ timeout: 15000 });
    assert.equal(await radios.count(), 3, 'three roles to choose from');
    await axeCheck(page, 'role page');
    await screenshot(page, 'select-role.png');

    const second = radios.nth(1);
    const chosen = await second.getAttribute('value');
    const id = await second.getAttribute('id');
    if (id && (await page.locator(`label[for="${id}"]`).count())) await page.locator(`label[for="${id}"]`).click();
    else await second.check({ force: true });
    assert.ok(await second.isChecked(), 'the second role is selected');
    const go = page.locator('form').locator('button[type="submit"], input[type="submit"], button:not([type])').first();
    await go.click();

    // back at the demo RP, showing the ID token claims
    await page.waitForURL((u) => u.origin === server.origin && u.pathname.startsWith('/demo/'), { timeout: 15000 });
    await page.waitForFunction(() => document.body && document.body.innerText.includes('selected_roleid'), null, { timeout: 15000 });
    const url = new URL(page.url());
    assert.ok(url.pathname.startsWith('/demo/'), `landed back under /demo/: ${page.url()}`);
    const text = await page.locator('body').innerText();
    assert.ok(text.includes('selected_roleid'), 'the claims page shows selected_roleid');
    assert.ok(text.includes('nhsid_nrbac_roles'), 'the claims page shows nhsid_nrbac_roles');
    assert.ok(text.includes(chosen), `the chosen person_roleid ${chosen} is shown`);
    assert.ok(text.includes(USERS.multi), 'the user UID is shown');
    t.diagnostic(`console errors: ${consoleErrors.length ? consoleErrors.join(' | ') : 'none'}`);
  } catch (e) {
    const shot = join(tmpdir(), `careid-demo-failure-${process.pid}.png`);
    await page.screenshot({ path: shot, fullPage: true }).catch(() => {});
    process.stderr.write(`demo-browser failure at ${page.url()} (screenshot ${shot})\n${(await page.content().catch(() => '')).slice(0, 3000)}\n`);
    throw e;
  } finally {
    await page.close();
  }
});
