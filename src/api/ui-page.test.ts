import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Value } from '@sinclair/typebox/value';
import { packageRoot, silentLogger } from '../common/index.js';
import { createRegistry } from '../metrics/index.js';
import { StatusServer, type WorkloadsReply } from './index.js';
import { WorkloadsReplySchema } from './cluster-schema.js';
import { loadUiAssets, UI_HEADERS } from './ui-assets.js';

const UI_DIR = join(packageRoot()!, 'ui');

function get(port: number, path: string, method = 'GET'): Promise<{ status: number; headers: Record<string, unknown>; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => { text += c; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
    });
    req.on('error', reject);
    req.end();
  });
}

const WORKLOADS: WorkloadsReply = {
  source: 'mesh', synced: true,
  pods: [{ namespace: 'shop', name: 'web', labels: { app: 'web' }, ips: ['10.32.0.11'], ports: [{ name: 'http', port: 80, protocol: 'TCP' }], host: 'aa:bb:cc:dd:ee:ff' }],
};

async function withServer(uiDir: string, fn: (port: number) => Promise<void>): Promise<void> {
  const server = new StatusServer({
    addr: '127.0.0.1:0', registry: createRegistry(), logger: silentLogger(),
    status: () => ({ name: 'aa:bb:cc:dd:ee:ff' }), readiness: () => ({ ready: true }), workloads: () => WORKLOADS, uiDir,
  });
  await server.start();
  try { await fn(server.address()!.port); } finally { await server.stop(); }
}

test('the page is served from the package: /ui redirects, files with their types and locked-down headers, nothing else', async () => {
  await withServer(UI_DIR, async (port) => {
    const redirect = await get(port, '/ui');
    assert.equal(redirect.status, 308);
    assert.equal(redirect.headers.location, '/ui/');
    const index = await get(port, '/ui/');
    assert.equal(index.status, 200);
    assert.match(String(index.headers['content-type']), /^text\/html/);
    assert.match(index.text, /<script type="module" src="app.js">/);
    for (const [k, v] of Object.entries(UI_HEADERS)) assert.equal(index.headers[k], v, k);
    assert.match(String(index.headers['content-security-policy']), /script-src 'self';/);
    const js = await get(port, '/ui/app.js');
    assert.equal(js.status, 200);
    assert.match(String(js.headers['content-type']), /^text\/javascript/);
    assert.equal(js.text, readFileSync(join(UI_DIR, 'app.js'), 'utf8'));
    assert.equal((await get(port, '/ui/style.css')).headers['content-type'], 'text/css; charset=utf-8');
    const head = await get(port, '/ui/', 'HEAD');
    assert.equal(head.status, 200);
    assert.equal(head.text, '');
    for (const path of ['/ui/../package.json', '/ui/%2e%2e/package.json', '/ui/nope.js', '/ui/sub/app.js', '/ui//etc/passwd', '/uix']) {
      assert.equal((await get(port, path)).status, 404, path);
    }
    assert.equal((await get(port, '/ui/app.js', 'POST')).status, 405);
    const wl = await get(port, '/workloads');
    assert.equal(wl.status, 200);
    assert.deepEqual(JSON.parse(wl.text), WORKLOADS);
  });
});

test('/workloads matches its schema; a missing page directory is a 503 naming it, the rest still serves', async () => {
  assert.ok(Value.Check(WorkloadsReplySchema, WORKLOADS));
  assert.ok(!Value.Check(WorkloadsReplySchema, { ...WORKLOADS, pods: [{ ...WORKLOADS.pods[0], labels: { app: 1 } }] }));
  const missing = join(tmpdir(), `weft-no-ui-${process.pid}`);
  await withServer(missing, async (port) => {
    const r = await get(port, '/ui/');
    assert.equal(r.status, 503);
    assert.match(JSON.parse(r.text).error.message, new RegExp(`web page files not readable: .*${missing}`));
    assert.equal((await get(port, '/status')).status, 200);
  });
});

test('loadUiAssets takes flat files of known types only (no symlinked directories, no dotfiles) and needs index.html', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'weft-ui-'));
  try {
    await assert.rejects(loadUiAssets(dir), /no index\.html/);
    writeFileSync(join(dir, 'index.html'), '<!doctype html>');
    writeFileSync(join(dir, '.secret.js'), 'x');
    writeFileSync(join(dir, 'notes.txt'), 'x');
    writeFileSync(join(dir, 'Upper.js'), 'x');
    symlinkSync('/etc', join(dir, 'etc.css'));
    const a = await loadUiAssets(dir);
    assert.deepEqual(a.names(), ['index.html']);
    assert.equal(a.get('')?.body.toString(), '<!doctype html>');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the shipped page needs nothing from outside: every reference is a file of ui/, no external URL, no inline script, no innerHTML', async () => {
  const assets = await loadUiAssets(UI_DIR);
  const names = new Set(assets.names());
  assert.deepEqual(new Set(readdirSync(UI_DIR)), names, 'every file of ui/ is served');
  for (const name of names) {
    const text = assets.get(name)!.body.toString('utf8');
    const urls = [...text.matchAll(/\b(?:https?:)?\/\/[a-z0-9.-]+\.[a-z]{2,}[^\s'"`)]*/gi)].map((m) => m[0])
      .filter((u) => u !== 'http://www.w3.org/2000/svg');
    assert.deepEqual(urls, [], `${name} refers to nothing outside the package`);
    const refs = [
      ...[...text.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!),
      ...[...text.matchAll(/^\s*import\b[^'"]*['"]([^'"]+)['"]/gm)].map((m) => m[1]!),
    ];
    for (const r of refs) assert.ok(names.has(r.replace(/^\.\//, '')), `${name}: ${r} is a file of ui/`);
    if (name.endsWith('.html')) assert.doesNotMatch(text, /<script(?![^>]*\bsrc=)[^>]*>|\son[a-z]+=/i, `${name}: no inline script or handler`);
    if (name.endsWith('.js')) assert.doesNotMatch(text, /innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function/, `${name}: data is only ever text`);
  }
});

test('the page model: graph from /status (edges from gossip, paths from our connections, relays from routes), ring arcs, pods by host', async () => {
  // Plain JS for the browser, untyped here: the assertions are the types.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const model = await import(join(UI_DIR, 'model.js')) as any;
  const [a, b, c] = ['02:00:00:00:00:01', '02:00:00:00:00:02', '02:00:00:00:00:03'];
  const status = {
    name: a, nickname: 'one',
    peers: [
      { name: a, nickname: 'one', connections: [{ name: b, established: true }] },
      { name: b, nickname: 'two', connections: [{ name: a, established: true }, { name: c, established: true }] },
      { name: c, nickname: 'three', connections: [{ name: b, established: true }] },
    ],
    connections: [{ peer: b, address: '198.18.1.2:6783', outbound: true, state: 'established', encrypted: true, mtu: 1376, mode: 'sleeve', paths: [] }],
    routes: { unicast: { [b]: b, [c]: b } },
  };
  const topo = model.topology(status);
  assert.deepEqual(topo.nodes.map((n: { name: string; self: boolean }) => [n.name, n.self]), [[a, true], [b, false], [c, false]]);
  assert.deepEqual(topo.edges.map((e: { key: string }) => e.key), [`${a}|${b}`, `${b}|${c}`]);
  assert.equal(topo.edges[0].local.mode, 'sleeve');
  assert.equal(topo.edges[1].local, undefined);
  assert.deepEqual(topo.relayed, [{ peer: c, via: b }]);

  const ring = model.ringArcs({ range: '10.32.0.0/12', entries: [
    { start: '10.32.0.0', end: '10.39.255.255', owner: a, nickname: 'one', free: 10 },
    { start: '10.40.0.0', end: '10.47.255.255', owner: b, free: 20 },
  ] });
  assert.deepEqual(ring.arcs.map((x: { from: number; to: number }) => [x.from, x.to]), [[0, 0.5], [0.5, 1]]);
  assert.deepEqual(ring.owners.map((o: { addresses: bigint; free: number }) => [o.addresses, o.free]), [[524288n, 10], [524288n, 20]]);
  assert.equal(model.ipToBig('fd00::1'), (0xfd00n << 112n) + 1n);
  assert.equal(model.cidrSize('fd00::/64'), 1n << 64n);

  const by = model.podsByHost({ pods: [{ host: c, namespace: 'x', name: 'b' }, { host: c, namespace: 'x', name: 'a' }, { host: 'gone', namespace: 'y', name: 'z' }] }, [a, b, c]);
  assert.deepEqual([...by.keys()], [a, b, c, 'gone']);
  assert.deepEqual(by.get(c).map((p: { name: string }) => p.name), ['a', 'b']);
});

test('the page ships in the package: npm pack lists every file of ui/, and the daemon finds them from its own module', { timeout: 60_000 }, async () => {
  const { execFileSync } = await import('node:child_process');
  const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: packageRoot()!, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  const packed = new Set((JSON.parse(out) as { files: { path: string }[] }[])[0]!.files.map((f) => f.path));
  for (const name of readdirSync(UI_DIR)) assert.ok(packed.has(`ui/${name}`), `ui/${name} is in the package`);
  assert.ok(packed.has('package.json'));
});
