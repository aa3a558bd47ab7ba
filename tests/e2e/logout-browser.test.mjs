// The sign-out pages in a real browser (Debian chromium through playwright-core): the
// confirmation page RP-initiated logout shows without a current id_token_hint, and the signed-out
// page after it; both pass axe-core's WCAG 2.2 A/AA rules, and pressing the button ends the
// session. CAREID_SCREENSHOTS=1 saves docs/screenshots/logout-confirm.png and signed-out.png.
import assert from 'node:assert/strict';
import { setupServer, USERS, DEMO_PASSWORD } from './lib/careid.mjs';
import { launch, axeWcag, screenshot } from './lib/a11y.mjs';

const h = setupServer();

h.test('sign-out pages in Chromium: confirm, then signed out; axe finds nothing', { timeout: 60000 }, async (t, server) => {
  const b = await launch();
  try {
    const page = await b.ctx.newPage();
    page.setDefaultTimeout(15000);
    await page.route((u) => !['localhost', '127.0.0.1'].includes(u.hostname), (route) => route.abort());
    // a session in mock through the demo relying party
    await page.goto(`${server.url}/demo/`);
    await page.getByRole('link', { name: /sign in/i }).or(page.getByRole('button', { name: /sign in/i })).first().click();
    await page.locator('#username').fill(USERS.single);
    await page.locator('#password').fill(DEMO_PASSWORD);
    await Promise.all([page.waitForLoadState('load'), page.locator('#password-form button[type="submit"]').click()]);

    await page.goto(`${server.issuer('mock')}/connect/endSession`);
    assert.equal(await page.locator('h1').innerText(), 'Sign out');
    await axeWcag(page, 'sign-out confirmation');
    await screenshot(page, 'logout-confirm.png');
    await Promise.all([page.waitForLoadState('load'), page.locator('#sign-out').click()]);
    assert.equal(await page.locator('h1').innerText(), 'You have signed out');
    assert.match(await page.locator('#signed-out').innerText(), /services that use it have been told/);
    await axeWcag(page, 'signed-out page');
    await screenshot(page, 'signed-out.png');
    const list = await server.cli('session list', ['--env', 'mock', '--uid', USERS.single]);
    assert.deepEqual(list.json, [], 'no live session left');
  } finally {
    await b.close();
  }
});
