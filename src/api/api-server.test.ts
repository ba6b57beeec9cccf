import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, stat, writeFile, readFile, rename } from 'node:fs/promises';
import { createServer } from 'node:net';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WeftError, isWeftError, silentLogger, type WeftErrorCode } from '../common/index.js';
import { ApiClient, ApiServer } from './index.js';

let dir: string;
before(async () => { dir = await mkdtemp(join(tmpdir(), 'wft-api-')); });
after(async () => { await rm(dir, { recursive: true, force: true }); });

let n = 0;
const sockPath = (): string => join(dir, `d${++n}`, 'weft.sock');

/** Raw request over the socket: status, headers and body text. */
function raw(socketPath: string, method: string, path: string, body?: string): Promise<{ status: number; headers: Record<string, unknown>; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, method, path, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => { text += c; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function withServer(setup: (s: ApiServer) => void, fn: (client: ApiClient, server: ApiServer) => Promise<void>, maxBodyBytes?: number): Promise<void> {
  const server = new ApiServer({ socketPath: sockPath(), logger: silentLogger(), maxBodyBytes });
  setup(server);
  await server.start();
  try {
    await fn(new ApiClient({ socketPath: server.socketPath, timeoutMs: 2_000 }), server);
  } finally {
    await server.stop();
  }
}

const rejectsWith = (p: Promise<unknown>, code: WeftErrorCode, msg?: RegExp): Promise<void> =>
  assert.rejects(p, (e: unknown) => isWeftError(e, code) && (!msg || msg.test(e.message)));

test('round trip: JSON in and out, path params, query, 204, socket mode 0600 and parent dir 0700', async () => {
  await withServer((s) => {
    s.route('GET', '/status', () => ({ name: 'aa:bb:cc:dd:ee:ff' }));
    s.route('POST', '/echo', ({ body, query }) => ({ body, q: query.get('q') }));
    s.route('GET', '/ip/:owner', ({ params }) => ({ owner: params.owner }));
    s.route('GET', '/ip/all', () => ({ all: true }));
    s.route('DELETE', '/ip/:owner/:addr', ({ params }) => ({ ...params }));
    s.route('POST', '/nothing', () => undefined);
  }, async (client, server) => {
    assert.equal((await stat(server.socketPath)).mode & 0o777, 0o600);
    assert.equal((await stat(join(server.socketPath, '..'))).mode & 0o777, 0o700);
    assert.deepEqual(await client.request('GET', '/status'), { name: 'aa:bb:cc:dd:ee:ff' });
    assert.deepEqual(await client.request('POST', '/echo?q=1', { a: [1, 2] }), { body: { a: [1, 2] }, q: '1' });
    assert.deepEqual(await client.request('GET', '/ip/c%2F1/'), { owner: 'c/1' });
    assert.deepEqual(await client.request('GET', '/ip/all'), { all: true });
    assert.deepEqual(await client.request('DELETE', '/ip/c1/10.0.0.1'), { owner: 'c1', addr: '10.0.0.1' });
    assert.equal(await client.request('POST', '/nothing', {}), undefined);
    assert.equal((await raw(server.socketPath, 'POST', '/nothing')).status, 204);
    assert.equal(await client.isRunning(), true);
  });
});

test('thrown errors map to status codes and come back as WeftError with code and message', async () => {
  const cases: [WeftErrorCode, number][] = [
    ['WEFT_ERR_BAD_ARGS', 400], ['WEFT_ERR_NOT_FOUND', 404], ['WEFT_ERR_IPAM_NOT_READY', 503],
    ['WEFT_ERR_ALREADY_RUNNING', 409], ['WEFT_ERR_HOST', 500],
  ];
  await withServer((s) => {
    s.route('GET', '/fail/:code', ({ params }) => { throw new WeftError(params.code as WeftErrorCode, `failed with ${params.code}`); });
    s.route('GET', '/plain', () => { throw new Error('boom\nsecond line'); });
    s.route('GET', '/async', async () => { await Promise.resolve(); throw new WeftError('WEFT_ERR_BAD_ARGS', 'async bad'); });
  }, async (client, server) => {
    for (const [code, status] of cases) {
      const r = await raw(server.socketPath, 'GET', `/fail/${code}`);
      assert.equal(r.status, status, code);
      assert.deepEqual(JSON.parse(r.text), { error: { code, message: `failed with ${code}` } });
      await rejectsWith(client.request('GET', `/fail/${code}`), code, new RegExp(`^failed with ${code}$`));
    }
    const plain = await raw(server.socketPath, 'GET', '/plain');
    assert.equal(plain.status, 500);
    assert.deepEqual(JSON.parse(plain.text), { error: { code: 'WEFT_ERR_INTERNAL', message: 'internal error: boom' } });
    await rejectsWith(client.request('GET', '/async'), 'WEFT_ERR_BAD_ARGS', /^async bad$/);
  });
});

test('unknown path is 404, wrong method is 405 with Allow', async () => {
  await withServer((s) => { s.route('GET', '/status', () => ({})); s.route('DELETE', '/status', () => ({})); }, async (client, server) => {
    await rejectsWith(client.request('GET', '/nope'), 'WEFT_ERR_NO_API_ROUTE', /^no API route GET \/nope$/);
    const r = await raw(server.socketPath, 'POST', '/status', '{}');
    assert.equal(r.status, 405);
    assert.equal(r.headers.allow, 'GET, DELETE');
    assert.equal(JSON.parse(r.text).error.code, 'WEFT_ERR_NO_API_ROUTE');
  });
});

test('bodies: invalid JSON and non-objects are 400, empty body is {}, over the cap is 413', async () => {
  await withServer((s) => { s.route('POST', '/echo', ({ body }) => ({ body })); }, async (client, server) => {
    for (const bad of ['{not json', '[1,2]', '42', 'null', '"s"']) {
      const r = await raw(server.socketPath, 'POST', '/echo', bad);
      assert.equal(r.status, 400, bad);
      assert.equal(JSON.parse(r.text).error.code, 'WEFT_ERR_BAD_ARGS');
    }
    assert.match((await raw(server.socketPath, 'POST', '/echo', '{x')).text, /not valid JSON/);
    assert.deepEqual(JSON.parse((await raw(server.socketPath, 'POST', '/echo')).text), { body: {} });
    const big = await raw(server.socketPath, 'POST', '/echo', JSON.stringify({ pad: 'x'.repeat(2048) }));
    assert.equal(big.status, 413);
    assert.equal(JSON.parse(big.text).error.code, 'WEFT_ERR_TOO_BIG');
    await rejectsWith(client.request('POST', '/echo', { pad: 'y'.repeat(4096) }), 'WEFT_ERR_TOO_BIG');
    assert.deepEqual(await client.request('POST', '/echo', { pad: 'ok' }), { body: { pad: 'ok' } });
  }, 1024);
});

test('client: NOT_RUNNING without a socket, TIMEOUT on a slow handler (whose signal aborts)', async () => {
  const missing = sockPath();
  await rejectsWith(new ApiClient({ socketPath: missing }).status(), 'WEFT_ERR_NOT_RUNNING',
    new RegExp(`^weft is not running \\(no API socket at ${missing}\\)$`));
  assert.equal(await new ApiClient({ socketPath: missing }).isRunning(), false);
  let aborted: Promise<void> | undefined;
  await withServer((s) => {
    s.route('GET', '/slow', ({ signal }) => {
      aborted = new Promise((resolve) => signal.addEventListener('abort', () => resolve()));
      return new Promise(() => undefined);
    });
  }, async (_client, server) => {
    const client = new ApiClient({ socketPath: server.socketPath, timeoutMs: 150 });
    await rejectsWith(client.request('GET', '/slow'), 'WEFT_ERR_TIMEOUT');
    await aborted;
  });
});

test('start removes a stale socket, refuses a live one (ALREADY_RUNNING) and a non-socket file', async () => {
  // A stale socket: bind, move the file away so close() cannot unlink it, move it back.
  const path = sockPath();
  const first = new ApiServer({ socketPath: path, logger: silentLogger() });
  await first.start();
  await rename(path, path + '.moved');
  await first.stop();
  await rename(path + '.moved', path);
  await rejectsWith(new ApiClient({ socketPath: path }).status(), 'WEFT_ERR_NOT_RUNNING');

  const second = new ApiServer({ socketPath: path, logger: silentLogger() }).route('GET', '/status', () => ({ ok: 1 }));
  await second.start();
  try {
    assert.deepEqual(await new ApiClient({ socketPath: path }).status(), { ok: 1 });
    const third = new ApiServer({ socketPath: path, logger: silentLogger() });
    await rejectsWith(third.start(), 'WEFT_ERR_ALREADY_RUNNING', /already running/);
    await third.stop();
    assert.deepEqual(await new ApiClient({ socketPath: path }).status(), { ok: 1 }, 'the live daemon keeps its socket');
  } finally {
    await second.stop();
    await second.stop(); // idempotent
  }
  await assert.rejects(stat(path), /ENOENT/, 'stop removes the socket file');

  const file = join(dir, 'plain-file');
  await writeFile(file, 'keep me');
  await rejectsWith(new ApiServer({ socketPath: file, logger: silentLogger() }).start(), 'WEFT_ERR_BAD_CONFIG');
  assert.equal(await readFile(file, 'utf8'), 'keep me');
  await rejectsWith(new ApiServer({ socketPath: join(dir, 'x'.repeat(120)), logger: silentLogger() }).start(), 'WEFT_ERR_BAD_ARGS');
});

test('a handler may trigger stop(): its reply is still delivered; stop before start is fine', async () => {
  const server = new ApiServer({ socketPath: sockPath(), logger: silentLogger() });
  server.route('POST', '/stop', () => { void server.stop(); return { stopping: true }; });
  await server.start();
  const client = new ApiClient({ socketPath: server.socketPath });
  assert.deepEqual(await client.stop(), { stopping: true });
  await server.stop();
  assert.equal(await client.isRunning(), false);
  await rejectsWith(server.start(), 'WEFT_ERR_CLOSED');
  await new ApiServer({ socketPath: sockPath(), logger: silentLogger() }).stop();
});

test('a foreign listener on the path counts as live', async () => {
  const path = sockPath();
  await mkdir(join(path, '..'), { recursive: true });
  const foreign = createServer((c) => c.destroy());
  await new Promise<void>((r) => foreign.listen(path, r));
  try {
    await rejectsWith(new ApiServer({ socketPath: path, logger: silentLogger() }).start(), 'WEFT_ERR_ALREADY_RUNNING');
  } finally {
    await new Promise((r) => foreign.close(r));
  }
});

test('typed routes: bodies and queries checked against the route schema, refusals counted by reason', async () => {
  const { API_ROUTES } = await import('./index.js');
  const refused: string[] = [];
  const server = new ApiServer({ socketPath: sockPath(), logger: silentLogger(), maxBodyBytes: 1024, onBadInput: (r) => refused.push(r) });
  server.handle(API_ROUTES.ipamAllocate, ({ request }) => ({ owner: request.owner, address: '10.32.0.5', prefixLength: 12, cidr: '10.32.0.5/12' }));
  server.handle(API_ROUTES.ipamLookup, ({ request }) => ({ owner: request.owner, addresses: [] }));
  await server.start();
  try {
    const client = new ApiClient({ socketPath: server.socketPath, timeoutMs: 2_000 });
    assert.equal((await client.call(API_ROUTES.ipamAllocate, { owner: 'o1' })).cidr, '10.32.0.5/12');
    assert.deepEqual(await client.call(API_ROUTES.ipamLookup, { owner: 'a b/c' }), { owner: 'a b/c', addresses: [] });
    const bad = await raw(server.socketPath, 'POST', '/ipam/allocate', JSON.stringify({ owner: 42 }));
    assert.equal(bad.status, 400);
    assert.deepEqual(JSON.parse(bad.text), { error: { code: 'WEFT_ERR_BAD_ARGS', message: 'bad request to POST /ipam/allocate: field "owner": Expected string' } });
    await rejectsWith(client.request('POST', '/ipam/allocate', { owner: 'o', color: 'red' }), 'WEFT_ERR_BAD_ARGS', /^bad request to POST \/ipam\/allocate: field "color": /);
    await rejectsWith(client.request('GET', '/ipam/lookup'), 'WEFT_ERR_BAD_ARGS', /^bad request to GET \/ipam\/lookup: field "owner": /);
    await rejectsWith(client.request('POST', '/ipam/allocate', { owner: 'x'.repeat(2000) }), 'WEFT_ERR_TOO_BIG');
    assert.equal((await raw(server.socketPath, 'POST', '/ipam/allocate', '{nope')).status, 400);
    const none = await raw(server.socketPath, 'POST', '/attach', '{}');
    assert.equal(none.status, 404);
    assert.equal(JSON.parse(none.text).error.code, 'WEFT_ERR_NO_API_ROUTE');
    const wrong = await raw(server.socketPath, 'GET', '/ipam/allocate');
    assert.equal(wrong.status, 405);
    assert.equal(JSON.parse(wrong.text).error.code, 'WEFT_ERR_NO_API_ROUTE');
    assert.deepEqual(refused, ['bad_request', 'bad_request', 'bad_request', 'too_big', 'bad_json', 'no_route', 'bad_method']);
    assert.equal((await client.call(API_ROUTES.ipamAllocate, { owner: 'still-serving' })).owner, 'still-serving');
  } finally {
    await server.stop();
  }
});
