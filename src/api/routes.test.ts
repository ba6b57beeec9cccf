/**
 * The API contract: every route's request schema accepts a good request and refuses bad ones
 * with one line naming the field; the daemon-side server refuses (and counts) them before a
 * handler runs; docs/api.md has a section for every route and none for a route that is gone.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isWeftError, silentLogger } from '../common/index.js';
import { ApiClient, ApiServer, ROUTES, validate, type RouteName } from './index.js';

/** A good request per route, and bad ones with the field the error must name. Typed by RouteName: a new route without samples does not compile. */
const SAMPLES: Record<RouteName, { good: Record<string, unknown>; bad: [Record<string, unknown>, RegExp][] }> = {
  status: { good: {}, bad: [[{ x: 1 }, /unknown field "x"/]] },
  report: { good: {}, bad: [[{ x: 1 }, /unknown field "x"/]] },
  stop: { good: {}, bad: [[{ now: true }, /unknown field "now"/]] },
  connect: { good: { peers: ['10.0.0.1'], replace: true }, bad: [[{}, /missing field "peers"/], [{ peers: [1] }, /field "peers.0"/], [{ peers: [], replace: 'y' }, /field "replace"/]] },
  forget: { good: { peers: ['a:1'] }, bad: [[{ peers: 'a' }, /field "peers"/]] },
  ping: { good: { peer: '8e:1f:00:00:00:01' }, bad: [[{}, /missing field "peer"/], [{ peer: '' }, /field "peer": must be a non-empty string/]] },
  attach: { good: { netns: '/run/netns/p', ifname: 'eth0', ip: '10.32.0.5/12' }, bad: [[{}, /missing field "netns"/], [{ netns: 5 }, /field "netns"/], [{ netns: 'p', ifnam: 'x' }, /unknown field "ifnam"/]] },
  detach: { good: { netns: 'p' }, bad: [[{ netns: 'p', ifname: '' }, /field "ifname"/]] },
  expose: { good: { cidr: '10.32.0.1/12' }, bad: [[{ cidr: 1 }, /field "cidr"/]] },
  hide: { good: {}, bad: [[{ cidr: null }, /field "cidr"/]] },
  endpoints: { good: {}, bad: [[{ all: '1' }, /unknown field "all"/]] },
  network: { good: {}, bad: [[{ x: '1' }, /unknown field "x"/]] },
  allocate: { good: { owner: 'cni/n/c/eth0' }, bad: [[{}, /missing field "owner"/], [{ owner: 'x'.repeat(300) }, /field "owner": must be at most 256 bytes/]] },
  release: { good: { owner: 'o', address: '10.32.0.5' }, bad: [[{ owner: 'o', address: 7 }, /field "address"/]] },
  lookup: { good: { owner: 'o' }, bad: [[{}, /missing field "owner"/]] },
  gc: { good: { ownerPrefix: 'cni/n/', keep: [] }, bad: [[{ ownerPrefix: 'cni/n/' }, /missing field "keep"/], [{ ownerPrefix: '', keep: [] }, /field "ownerPrefix"/]] },
  allocations: { good: {}, bad: [[{ x: '1' }, /unknown field "x"/]] },
  ipamStatus: { good: {}, bad: [[{ x: '1' }, /unknown field "x"/]] },
  rmpeer: { good: { peer: 'alpha' }, bad: [[{ peer: 3 }, /field "peer"/]] },
  reset: { good: {}, bad: [[{ force: true }, /unknown field "force"/]] },
  metrics: { good: {}, bad: [[{ x: '1' }, /unknown field "x"/]] },
};

test('every route schema: the good request passes, each bad one is refused with one line naming the field', () => {
  for (const [name, spec] of Object.entries(ROUTES) as [RouteName, (typeof ROUTES)[RouteName]][]) {
    const { good, bad } = SAMPLES[name];
    assert.equal(validate(spec.request, good).ok, true, `${name}: good request refused: ${JSON.stringify(validate(spec.request, good))}`);
    for (const [body, re] of bad) {
      const r = validate(spec.request, body);
      assert.equal(r.ok, false, `${name}: ${JSON.stringify(body)} accepted`);
      if (!r.ok) {
        assert.match(r.problem, re, name);
        assert.ok(!r.problem.includes('\n'), 'one line');
      }
    }
    assert.equal(validate(spec.request, null).ok, false, `${name}: null body accepted`);
  }
});

test('the server validates before the handler: bad bodies are 400 naming the field, counted; GET queries too', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'weft-routes-'));
  const server = new ApiServer({ socketPath: join(dir, 'api.sock'), logger: silentLogger() });
  const seen: string[] = [];
  server.serve(ROUTES.attach, ({ input }) => {
    seen.push(input.netns);
    return { ifname: input.ifname ?? 'ethwe', hostIfname: 'vethwepl1', mac: '02:00:00:00:00:01', cidr: input.ip ?? '10.32.0.2/12', mtu: 1376, allocated: !input.ip };
  });
  server.serve(ROUTES.lookup, ({ input }) => ({ owner: input.owner, addresses: [] }));
  await server.start();
  try {
    const client = new ApiClient({ socketPath: server.socketPath });
    const good = await client.callChecked(ROUTES.attach, { netns: '/run/netns/p' });
    assert.equal(good.cidr, '10.32.0.2/12');
    assert.deepEqual(seen, ['/run/netns/p']);
    await assert.rejects(client.request('POST', '/attach', { netns: 7 }),
      (e: unknown) => isWeftError(e, 'WEFT_ERR_BAD_ARGS') && /^POST \/attach: field "netns": /.test(e.message) && !e.message.includes('\n'));
    await assert.rejects(client.request('POST', '/attach', { netns: 'p', mtu: 1 }),
      (e: unknown) => isWeftError(e, 'WEFT_ERR_BAD_ARGS') && e.message === 'POST /attach: unknown field "mtu"');
    await assert.rejects(client.request('GET', '/ipam/lookup'), (e: unknown) => isWeftError(e, 'WEFT_ERR_BAD_ARGS') && /missing field "owner"/.test(e.message));
    assert.deepEqual(await client.call(ROUTES.lookup, { owner: 'cni/x/y/eth0' }), { owner: 'cni/x/y/eth0', addresses: [] });
    await assert.rejects(client.request('GET', '/nope'), (e: unknown) => isWeftError(e, 'WEFT_ERR_NO_ENDPOINT'));
    assert.deepEqual(seen, ['/run/netns/p'], 'the handler never saw a bad request');
    assert.equal(server.badRequests, 3);
  } finally {
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  }
});

test('docs/api.md documents exactly the routes of the contract', async () => {
  const md = await readFile(new URL('../../../docs/api.md', import.meta.url), 'utf8');
  const documented = [...md.matchAll(/^### (GET|POST) (\/\S+)$/gm)].map((m) => `${m[1]} ${m[2]}`).sort();
  const routes = Object.values(ROUTES).map((r) => `${r.method} ${r.path}`).sort();
  assert.deepEqual(documented, routes, 'every route has a "### METHOD /path" section in docs/api.md, and no section names a route that does not exist');
});
