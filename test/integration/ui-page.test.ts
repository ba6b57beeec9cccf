/**
 * The web page (/ui on the read-only status listener) in a real browser: Debian's headless
 * Chromium driven by playwright-core, run inside host 1's network namespace so it opens
 * http://127.0.0.1:6782/ui/ like an operator on that host. Three real daemons (weft launch,
 * with a cluster secret) in namespaces, pods attached with labels on each host. The page must
 * show the three hosts and their connections with the path /status reports, every pod with its
 * namespace and labels, update without reloading when a pod is attached, show a connection a
 * policy refuses as a highlighted drop naming the policy within seconds, only ever GET, and
 * never receive key material (the password, the identity keys).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Lab, isRoot, type LabHost } from '../support/lab.js';
import { waitFor } from '../support/wait.js';
import { browserInNetns, browserMissing, type NsBrowser } from '../support/browser.js';
import { keyMaterialFindings } from '../support/key-material.js';
import { buildUiWorld, DB_POLICY, UI_PASSWORD } from '../support/ui-world.js';

const skip = !isRoot() ? 'needs root (network namespaces): run the tests as root, e.g. sudo npm test'
  : browserMissing() ?? false;

const PAGE = 'http://127.0.0.1:6782/ui/';

test('web page: 3 hosts, their connections and paths, pods with labels, live updates, a policy drop with its policy, GET only, no key material',
  { skip, timeout: 180_000 }, async () => {
    const lab = new Lab();
    let browser: NsBrowser | null = null;
    try {
      const world = await buildUiWorld(lab);
      const [h1, h2, h3] = world.hosts;
      const names = world.names;
      const pod = (h: LabHost, name: string, ip: string, labels: string[]) => world.pod(h, name, ip, labels);

      browser = await browserInNetns(h1.ns, lab.dir);
      const { page } = browser;
      const methods = new Set<string>();
      const bodies: Promise<{ url: string; text: string }>[] = [];
      page.on('request', (r) => methods.add(r.method()));
      // Every reply's body, except the flow stream's (it never ends; it carries the same records as /flows).
      page.on('response', (r) => { if (!r.url().includes('/flows/stream')) bodies.push(r.text().then((text) => ({ url: r.url(), text }), () => ({ url: r.url(), text: '' }))); });
      const pageErrors: string[] = [];
      page.on('console', (m) => { if (m.type() === 'error') pageErrors.push(`console: ${m.text()}`); });
      page.on('pageerror', (e) => pageErrors.push(`uncaught: ${e.message}`));
      page.on('response', (r) => { if (r.status() >= 400) pageErrors.push(`HTTP ${r.status()}: ${r.url()}`); });
      let navigations = 0;
      page.on('framenavigated', (f) => { if (f === page.mainFrame()) navigations++; });
      await page.goto(PAGE, { waitUntil: 'load' });

      // The three hosts, this one marked.
      for (const n of names) await page.locator(`svg.graph g.node[data-peer="${n}"]`).waitFor({ timeout: 15_000 });
      assert.equal(await page.locator('svg.graph g.node').count(), 3);
      assert.equal(await page.locator('svg.graph g.node.self').getAttribute('data-peer'), names[0]);
      assert.match(await page.locator(`g.node[data-peer="${names[1]}"]`).textContent() ?? '', /host2/);

      // Every connection of the mesh is an edge; host 1's two carry the path /status reports.
      const key = (a: string, b: string) => (a < b ? `${a}|${b}` : `${b}|${a}`);
      for (const [a, b] of [[0, 1], [0, 2], [1, 2]] as const) {
        await page.locator(`g.edge[data-edge="${key(names[a]!, names[b]!)}"]`).waitFor({ timeout: 15_000 });
      }
      const st1 = await lab.status(h1);
      for (const c of st1.connections) {
        const edge = page.locator(`g.edge[data-edge="${key(names[0]!, c.peer)}"]`);
        await waitFor(async () => (await edge.getAttribute('data-mode')) === c.mode, { timeoutMs: 10_000, what: `edge to ${c.peer} drawn as ${c.mode}` });
        const label = await edge.locator('text').textContent();
        const enc = c.encrypted ? 'encrypted' : 'NOT encrypted';
        assert.equal(label, `${c.mode} · mtu ${c.mtu} · ${enc}`);
        const rowText = await page.locator(`#connections tr[data-conn="${c.peer}"]`).innerText();
        assert.match(rowText, new RegExp(`established\\s+${c.mode}\\s+direct\\s+${enc}\\s+${c.mtu}`), rowText);
      }
      const byPeer = new Map(st1.connections.map((c) => [c.peer, `${c.mode} ${c.encrypted}`]));
      assert.deepEqual([byPeer.get(names[1]!), byPeer.get(names[2]!)], ['vxlan false', 'sleeve true'], 'the paths this lab sets up');

      // Pods per host, with namespace and labels.
      const podRow = (host: string, name: string) => page.locator(`#pods [data-host="${host}"] tr[data-pod="shop/${name}"]`);
      await podRow(names[0]!, 'web').waitFor({ timeout: 15_000 });
      assert.deepEqual(await podRow(names[0]!, 'web').locator('.chip').allTextContents(), ['app=web', 'tier=front']);
      await podRow(names[2]!, 'db').waitFor({ timeout: 15_000 });
      assert.match(await podRow(names[2]!, 'db').innerText(), /shop\/[\s\S]*db[\s\S]*10\.32\.0\.13[\s\S]*app=db/);
      await podRow(names[1]!, 'api').waitFor({ timeout: 15_000 });

      // The IPAM ring: one legend row per owner the ring reports.
      await page.locator('#owners tr[data-owner]').first().waitFor({ timeout: 15_000 });
      const owners = new Set((st1.ipam?.entries ?? []).map((e) => e.owner));
      assert.equal(await page.locator('#owners tr[data-owner]').count(), owners.size);
      assert.ok(await page.locator('svg.ring path.arc').count() >= 1);

      // Live: a pod attached on host 3 appears without a reload.
      pod(h3, 'cache', '10.32.0.14', ['app=cache']);
      await podRow(names[2]!, 'cache').waitFor({ timeout: 15_000 });
      assert.equal(navigations, 1, 'the page was never reloaded');
      assert.match(await page.locator('#live').innerText(), /^live/);
      await page.screenshot({ path: join(lab.dir, 'page.png'), fullPage: true });

      // A policy lets only app=api reach the database: web's connection is dropped on host 3, and
      // the page on host 1 (cluster-wide flows) shows the drop with the policy's name.
      const policyFile = join(lab.dir, 'db-policy.yaml');
      writeFileSync(policyFile, DB_POLICY);
      world.weft(h1, ['policy', 'apply', '-f', policyFile]);
      await waitFor(() => !world.reachDb(world.pods.web), { timeoutMs: 20_000, what: 'the policy refusing web → db' });
      const drops = page.locator('#flows tr[data-verdict="dropped"][data-policy~="shop/db-from-api-only"]');
      const before = await drops.count();
      const t0 = Date.now();
      assert.equal(world.reachDb(world.pods.web, 300), false);
      await waitFor(async () => (await drops.count()) > before, { timeoutMs: 10_000, intervalMs: 50, what: 'the drop on the page' });
      console.log(`# a refused connection appeared on the page as a drop ${Date.now() - t0} ms after it was tried (300 ms connect attempt included)`);
      const dropText = await drops.first().innerText();
      assert.match(dropText, /dropped[\s\S]*shop\/web[\s\S]*10\.32\.0\.11[\s\S]*shop\/db[\s\S]*10\.32\.0\.13:5432[\s\S]*TCP[\s\S]*policy-denied[\s\S]*shop\/db-from-api-only/, dropText);
      assert.match(dropText, /host3\s*$/m, `observed on host 3 (the server's host): ${dropText}`);
      assert.ok(await drops.first().evaluate((el) => getComputedStyle(el.querySelector('td')!).backgroundColor !== 'rgba(0, 0, 0, 0)'), 'the drop is highlighted');
      assert.equal(world.reachDb(world.pods.api), true, 'the api pod still reaches the database');
      // The verdict filter: only drops are left.
      await page.selectOption('#flow-filters select[name="verdict"]', 'dropped');
      await waitFor(async () => {
        const v = await page.locator('#flows tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-verdict')));
        return v.length > 0 && v.every((x) => x === 'dropped');
      }, { timeoutMs: 10_000, what: 'only dropped flows listed' });

      // Peers are drawn in their colours (set through the CSSOM: the CSP refuses inline styles).
      const fill = await page.locator(`g.node[data-peer="${names[1]}"] circle`).evaluate((el) => getComputedStyle(el).fill);
      assert.match(fill, /^rgb\(/);
      assert.notEqual(fill, 'rgb(0, 0, 0)', 'the node has its colour');
      // No script error, no refused resource or style (CSP) on the way.
      assert.deepEqual(pageErrors, []);

      // Read-only, and nothing secret ever reached the page.
      assert.deepEqual([...methods], ['GET']);
      const secrets: (string | Buffer)[] = [UI_PASSWORD];
      for (const h of [h1, h2, h3]) {
        const file = readFileSync(join(h.dataDir, 'identity.key'));
        secrets.push(file.subarray(8, 40), file.subarray(40, 72));
      }
      const seen = await Promise.all(bodies);
      assert.ok(seen.some((b) => b.url.endsWith('/status')) && seen.some((b) => b.url.endsWith('/workloads')) && seen.some((b) => b.url.includes('/flows?')),
        'the page read /status, /workloads and /flows');
      const findings = seen.flatMap((b) => keyMaterialFindings(b.text, secrets, b.url));
      assert.deepEqual(findings, []);
    } finally {
      await browser?.close();
      lab.destroy();
    }
  });
