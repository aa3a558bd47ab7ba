// oidcc-redirect-uri-query-added: adding a query to a registered URI without one → 400 page.
import { setupServer } from './lib/careid.mjs';
import { forVariants, assertErrorPage } from './lib/rp.mjs';

const h = setupServer();

forVariants(h, 'oidcc-redirect-uri-query-added', async ({ rp, browser }) => {
  for (const uri of ['http://127.0.0.1:9/cb?foo=bar', 'http://127.0.0.1:9/cb?']) {
    const a = await rp.authorizationUrl({ scope: 'openid', redirect_uri: uri });
    assertErrorPage(await browser.get(a.url), `[${rp.name}] registered http://127.0.0.1:9/cb, requested ${uri}`);
  }
});
