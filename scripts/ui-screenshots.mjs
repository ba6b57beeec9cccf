#!/usr/bin/env node
// Screenshots of the web page (/ui) for the docs: builds the small world of
// test/support/ui-world.ts (3 hosts in network namespaces, pods with labels, a database server),
// applies its policy, makes one allowed and a few refused connections, opens the page in
// Debian's headless Chromium inside host 1's namespace, and writes PNGs. Root only; needs
// `npm ci` (build + playwright-core) and /usr/bin/chromium (scripts/setup-system.sh).
//
//   node scripts/ui-screenshots.mjs [--out docs/img]
//
// Writes ui-overview.png (the whole page) and ui-flows.png (the flows table, drops only).
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const root = resolve(new URL('..', import.meta.url).pathname);
const outArg = process.argv.indexOf('--out');
const out = resolve(outArg > 0 ? process.argv[outArg + 1] : join(root, 'docs', 'img'));
if (process.getuid?.() !== 0) {
  console.error('ui-screenshots: needs root (network namespaces)');
  process.exit(2);
}
if (!existsSync(join(root, 'dist', 'test', 'support', 'ui-world.js'))) {
  console.error('ui-screenshots: run npm ci (or npx tsc -p tsconfig.json) first');
  process.exit(2);
}
const { Lab, waitFor } = await import(join(root, 'dist', 'test', 'support', 'lab.js'));
const { buildUiWorld, DB_POLICY } = await import(join(root, 'dist', 'test', 'support', 'ui-world.js'));
const { browserInNetns, browserMissing } = await import(join(root, 'dist', 'test', 'support', 'browser.js'));
const missing = browserMissing();
if (missing) {
  console.error(`ui-screenshots: ${missing}`);
  process.exit(2);
}

mkdirSync(out, { recursive: true });
const lab = new Lab({ dirPrefix: 'weft-ui-shots-' });
let browser = null;
const stop = () => { void browser?.close(); lab.destroy(); process.exit(130); };
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
try {
  const world = await buildUiWorld(lab);
  const [h1] = world.hosts;
  const { web, api } = world.pods;
  const policyFile = join(lab.dir, 'db-policy.yaml');
  writeFileSync(policyFile, DB_POLICY);
  world.weft(h1, ['policy', 'apply', '-f', policyFile]);
  await waitFor(() => !world.reachDb(web), { timeoutMs: 20_000, what: 'the policy refusing web → db' });
  await waitFor(() => world.reachDb(api), { timeoutMs: 20_000, what: 'api → db allowed' });
  for (let i = 0; i < 3; i++) world.reachDb(web, 300);

  browser = await browserInNetns(h1.ns, lab.dir, { width: 1400, height: 1100 });
  const { page } = browser;
  await page.goto('http://127.0.0.1:6782/ui/', { waitUntil: 'load' });
  await page.locator('svg.graph g.node').nth(2).waitFor({ timeout: 20_000 });
  await page.locator('#pods tr[data-pod="shop/db"]').waitFor({ timeout: 20_000 });
  await page.locator('#flows tr[data-verdict="dropped"]').first().waitFor({ timeout: 20_000 }).catch(() => {
    console.error('ui-screenshots: no dropped flow on the page (are flow records on in this build?)');
  });
  await page.screenshot({ path: join(out, 'ui-overview.png'), fullPage: true });
  await page.selectOption('#flow-filters select[name="verdict"]', 'dropped');
  await page.locator('#flows tbody tr').first().waitFor({ timeout: 10_000 }).catch(() => undefined);
  await page.locator('#flows-section').screenshot({ path: join(out, 'ui-flows.png') });
  console.log(`ui-screenshots: wrote ${join(out, 'ui-overview.png')} and ${join(out, 'ui-flows.png')}`);
} finally {
  await browser?.close();
  lab.destroy();
}

