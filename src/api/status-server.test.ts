import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { isWeftError, silentLogger } from '../common/index.js';
import { createMeshMetrics, createRegistry } from '../metrics/index.js';
import { StatusServer, type Readiness } from './index.js';

function get(port: number, path: string, method = 'GET'): Promise<{ status: number; type: string; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => { text += c; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), text }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('status listener: /status, /metrics, /healthz, /readyz, 404 and read-only', async () => {
  const registry = createRegistry();
  createMeshMetrics(registry).setPeers(2);
  let readiness: Readiness = { ready: false, reason: 'awaiting IPAM consensus' };
  const server = new StatusServer({
    addr: '127.0.0.1:0', registry, logger: silentLogger(),
    status: () => ({ name: 'aa:bb:cc:dd:ee:ff', peers: [] }),
    readiness: () => readiness,
  });
  await server.start();
  try {
    const port = server.address()!.port;
    assert.ok(port > 0);
    const status = await get(port, '/status');
    assert.equal(status.status, 200);
    assert.match(status.type, /^application\/json/);
    assert.deepEqual(JSON.parse(status.text), { name: 'aa:bb:cc:dd:ee:ff', peers: [] });

    const metrics = await get(port, '/metrics');
    assert.equal(metrics.status, 200);
    assert.match(metrics.type, /^text\/plain/);
    assert.match(metrics.text, /^weft_peers 2$/m);

    assert.deepEqual(await get(port, '/healthz').then((r) => [r.status, r.text]), [200, 'ok\n']);
    const notReady = await get(port, '/readyz');
    assert.equal(notReady.status, 503);
    assert.equal(notReady.text, 'not ready: awaiting IPAM consensus\n');
    readiness = { ready: true };
    assert.deepEqual(await get(port, '/readyz').then((r) => [r.status, r.text]), [200, 'ready\n']);
    assert.equal((await get(port, '/readyz', 'HEAD')).status, 200);

    const missing = await get(port, '/stop');
    assert.equal(missing.status, 404);
    assert.equal(JSON.parse(missing.text).error.code, 'WEFT_ERR_NO_API_ROUTE');
    for (const method of ['POST', 'PUT', 'DELETE']) {
      for (const path of ['/status', '/stop', '/connect']) assert.equal((await get(port, path, method)).status, 405, `${method} ${path}`);
    }
  } finally {
    await server.stop();
    await server.stop();
  }
  assert.equal(server.address(), null);
});

test('status provider errors are 500 with an error body', async () => {
  const server = new StatusServer({
    addr: '127.0.0.1:0', registry: createRegistry(), logger: silentLogger(),
    status: () => { throw new Error('not yet'); }, readiness: () => ({ ready: true }),
  });
  await server.start();
  try {
    const r = await get(server.address()!.port, '/status');
    assert.equal(r.status, 500);
    assert.deepEqual(JSON.parse(r.text), { error: { code: 'WEFT_ERR_INTERNAL', message: 'internal error: not yet' } });
  } finally {
    await server.stop();
  }
});

test("'' disables the listener; bad addresses are rejected; a busy port fails start", async () => {
  const base = { registry: createRegistry(), logger: silentLogger(), status: () => ({}), readiness: () => ({ ready: true }) };
  const off = new StatusServer({ ...base, addr: '' });
  await off.start();
  assert.equal(off.address(), null);
  await off.stop();
  for (const addr of ['127.0.0.1', 'localhost:99999', '::1:6782']) {
    assert.throws(() => new StatusServer({ ...base, addr }), (e: unknown) => isWeftError(e, 'WEFT_ERR_BAD_ARGS'), addr);
  }
  const a = new StatusServer({ ...base, addr: '127.0.0.1:0' });
  await a.start();
  try {
    const b = new StatusServer({ ...base, addr: `127.0.0.1:${a.address()!.port}` });
    await assert.rejects(b.start(), (e: unknown) => isWeftError(e, 'WEFT_ERR_HOST') && /EADDRINUSE/.test(e.message));
    await b.stop();
  } finally {
    await a.stop();
  }
});
