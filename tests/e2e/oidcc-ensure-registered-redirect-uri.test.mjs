// oidcc-ensure-registered-redirect-uri: an unregistered redirect_uri gets a 400 page, never a
// redirect (exact matching: no prefix, case, port, slash or scheme variants).
import { setupServer } from './lib/careid.mjs';
import { forVariants, assertErrorPage } from './lib/rp.mjs';

const h = setupServer();

const BAD = [
  'https://evil.example/cb',
  'http://127.0.0.1:9/cb/',
  'http://127.0.0.1:9/CB',
  'http://127.0.0.1:10/cb',
  'http://localhost:9/cb',
  'http://127.0.0.1:9/cb/../cb2',
  'http://127.0.0.1:9/cbx',
  'http://127.0.0.1:9/cb#frag',
];

forVariants(h, 'oidcc-ensure-registered-redirect-uri: 400 page for unregistered URIs', async ({ rp, browser }) => {
  for (const uri of BAD) {
    const a = await rp.authorizationUrl({ scope: 'openid', redirect_uri: uri });
    const res = await browser.get(a.url);
    assertErrorPage(res, `[${rp.name}] redirect_uri=${uri}`);
  }
});
