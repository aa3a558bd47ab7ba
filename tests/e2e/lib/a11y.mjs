// A real browser for page tests: Debian chromium through playwright-core, with the flags this
// machine needs, and axe-core for WCAG checks.
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { REPO } from './careid.mjs';

const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const AXE = join(REPO, 'node_modules', 'axe-core', 'axe.min.js');
export const SHOTS = process.env.CAREID_SCREENSHOTS ? join(REPO, 'docs', 'screenshots') : undefined;
/** The WCAG 2.2 A and AA rules (and the 2.0/2.1 ones they include). */
export const WCAG_AA = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22a', 'wcag22aa'];

/** A fresh browser profile; close() removes it. */
export async function launch() {
  const profile = await mkdtemp(join(tmpdir(), 'careid-chromium-'));
  const ctx = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1000, height: 800 },
    // careid's pages forbid inline scripts (CSP); axe-core is injected as one
    bypassCSP: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  return {
    ctx,
    async close() { await ctx.close(); await rm(profile, { recursive: true, force: true }); },
  };
}

/** axe-core on the page with the WCAG 2.2 A/AA rules: every violation fails the test. */
export async function axeWcag(page, what) {
  await page.addScriptTag({ path: AXE });
  const result = await page.evaluate(async (tags) => {
    // eslint-disable-next-line no-undef
    const r = await axe.run(document, { runOnly: { type: 'tag', values: tags }, resultTypes: ['violations'] });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => n.target.join(' ')).slice(0, 5) }));
  }, WCAG_AA);
  for (const v of result) process.stderr.write(`axe [${what}] ${v.impact} ${v.id}: ${v.help} — ${v.nodes.join(', ')}\n`);
  assert.deepEqual(result, [], `${what}: WCAG 2.2 A/AA violations found by axe-core`);
}

export async function screenshot(page, name) {
  if (!SHOTS) return;
  await mkdir(SHOTS, { recursive: true });
  await page.screenshot({ path: join(SHOTS, name), fullPage: true });
}
