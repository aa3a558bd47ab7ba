// oidcc-redirect-uri-query-mismatch: a different query than the registered one → 400 page.
import { setupServer } from './lib/careid.mjs';
import { forVariants, assertErrorPage } from './lib/rp.mjs';

const h = setupServer();

forVariants(h, 'oidcc-redirect-uri-query-mismatch', async ({ rp, browser }) => {
  for (const uri of ['http://127.0.0.1:9/cb?foo=baz', 'http://127.0.0.1:9/cb?foo=bar&foo=bar', 'http://127.0.0.1:9/cb?foo=bar&x=1', 'http://127.0.0.1:9/cb']) {
    const a = await rp.authorizationUrl({ scope: 'openid', redirect_uri: uri });
    assertErrorPage(await browser.get(a.url), `[${rp.name}] registered http://127.0.0.1:9/cb?foo=bar, requested ${uri}`);
  }
}, { reg: { redirectUris: ['http://127.0.0.1:9/cb?foo=bar'] } });
