import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../common/index.js';
import { ApiServer } from '../api/index.js';
import { main } from './index.js';
import { formatAge, formatPolicyList } from './commands/policy.js';
import { testContext } from '../../test/support/cli/test-context.js';

let dir: string;
let api: ApiServer;
const calls: [string, unknown][] = [];
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'wft-pcli-'));
  api = new ApiServer({ socketPath: join(dir, 'weft.sock'), logger: silentLogger() });
  const record = (name: string, reply: unknown) => ({ body }: { body: unknown }) => { calls.push([name, body]); return reply; };
  api.route('POST', '/policy/apply', record('apply', { applied: ['default/p'], namespaces: ['prod'], unchanged: [] }));
  api.route('POST', '/policy/delete', record('delete', { deleted: ['default/p'], namespaces: [], unknown: ['default/q'] }));
  api.route('GET', '/policy/list', record('list', {
    source: 'mesh', namespaces: [],
    policies: [{ namespace: 'default', name: 'p', policyTypes: ['Ingress', 'Egress'], audit: true, origin: '02:00:00:00:00:01', stampMs: Date.now() - 90_000, policy: {} }],
  }));
  api.route('POST', '/policy/explain', record('explain', { text: 'denied by default/p', explanation: {} }));
  api.route('POST', '/label', record('label', { namespace: 'default', name: 'pod1', labels: { app: 'web' }, ports: [] }));
  api.route('POST', '/attach', record('attach', { ifname: 'ethwe', hostIfname: 'v', mac: 'm', cidr: '10.32.0.5/12', mtu: 1376, allocated: true, pod: { namespace: 'a', name: 'b', labels: {}, ports: [] } }));
  await api.start();
});
after(async () => {
  await api.stop();
  await rm(dir, { recursive: true, force: true });
});

async function run(argv: string[], extra = {}): Promise<{ code: number; out: string; err: string[] }> {
  calls.length = 0;
  const ctx = testContext({ env: { WEFT_API_SOCKET: join(dir, 'weft.sock') }, cwd: dir, ...extra });
  const code = await main(argv, ctx);
  return { code, out: ctx.stdout.join('\n'), err: ctx.stderr };
}

test('weft policy apply reads the file (or stdin) in the CLI and sends its text', async () => {
  await writeFile(join(dir, 'p.yaml'), 'kind: NetworkPolicy\n');
  const r = await run(['policy', 'apply', '-f', 'p.yaml']);
  assert.equal(r.code, 0);
  assert.deepEqual(calls, [['apply', { text: 'kind: NetworkPolicy\n', source: 'p.yaml' }]]);
  assert.equal(r.out, 'networkpolicy default/p applied\nnamespace prod applied');
  await run(['policy', 'apply', '-f', '-'], { readStdin: () => Promise.resolve('kind: Namespace\n') });
  assert.deepEqual(calls, [['apply', { text: 'kind: Namespace\n', source: '<stdin>' }]]);
});

test('weft policy: bad command lines get one-line errors before any call', async () => {
  const cases: [string[], number, RegExp][] = [
    [['policy'], 2, /^weft: missing subcommand: apply, delete, list or explain/],
    [['policy', 'frob'], 2, /^weft: unknown subcommand "frob"/],
    [['policy', 'apply'], 2, /^weft: missing -f FILE/],
    [['policy', 'apply', '-f', 'nope.yaml'], 1, /^weft: cannot read nope\.yaml: ENOENT/],
    [['policy', 'delete'], 2, /^weft: missing NS\/NAME or -f FILE/],
    [['policy', 'delete', 'a/b', '-f', 'x'], 2, /not both/],
    [['policy', 'explain', 'a/b', 'a/c'], 2, /^weft: missing SRC DST PORT/],
    [['policy', 'explain', 'a/b', 'a/c', '70000'], 1, /^weft: invalid port "70000": expected PORT or PORT\/PROTO/],
    [['policy', 'explain', 'a/b', 'a/c', '80/ICMP'], 1, /protocol must be TCP, UDP or SCTP/],
    [['policy', 'apply', '-f', '-'], 1, /is empty/],
    [['label', 'pod1'], 2, /^weft: missing label change/],
    [['label', 'pod1', 'bad key=x'], 1, /^weft: invalid label "bad key=x": label "bad key": /],
    [['label', 'pod1', 'app'], 1, /expected KEY=VALUE or KEY-/],
    [['attach', '--label', 'app-', 'ns1'], 1, /^weft: invalid --label "app-": expected KEY=VALUE/],
    [['attach', '--port', 'http=80/ICMP', 'ns1'], 1, /^weft: invalid --port "http=80\/ICMP": port "http": protocol/],
    [['attach', '--port', 'http', 'ns1'], 1, /expected NAME=PORT\/PROTO/],
  ];
  for (const [argv, code, re] of cases) {
    const r = await run(argv, { readStdin: () => Promise.resolve('  \n') });
    assert.equal(r.code, code, argv.join(' '));
    assert.equal(r.err.length, 1, `${argv.join(' ')}: one line: ${r.err.join(' | ')}`);
    assert.match(r.err[0]!, re, argv.join(' '));
    assert.deepEqual(calls, [], `${argv.join(' ')}: no call made`);
  }
});

test('weft policy delete, list, explain; weft label and attach send what was asked', async () => {
  const d = await run(['policy', 'delete', 'default/p', 'default/q']);
  assert.deepEqual(calls, [['delete', { refs: ['default/p', 'default/q'] }]]);
  assert.equal(d.out, 'networkpolicy default/p deleted');
  assert.deepEqual(d.err, ['weft: default/q not found']);
  const l = await run(['policy', 'list']);
  assert.match(l.out, /^NAMESPACE\s+NAME\s+TYPES\s+AUDIT\s+ORIGIN\s+AGE\ndefault\s+p\s+Ingress,Egress\s+yes\s+02:00:00:00:00:01\s+90s$/);
  assert.equal(JSON.parse((await run(['policy', 'list', '--json'])).out).source, 'mesh');
  assert.equal((await run(['policy', 'explain', 'default/a', '10.0.0.9', '53/udp'])).out, 'denied by default/p');
  assert.deepEqual(calls, [['explain', { src: 'default/a', dst: '10.0.0.9', port: 53, protocol: 'UDP' }]]);
  assert.equal((await run(['label', 'pod1', 'app=web', 'tier-'])).out, 'default/pod1 app=web');
  assert.deepEqual(calls, [['label', { netns: 'pod1', set: { app: 'web' }, remove: ['tier'] }]]);
  await run(['attach', '--namespace', 'prod', '--name', 'web-1', '--label', 'app=web', '--label', 'tier=fe', '--port', 'http=8080/tcp', 'ns1']);
  assert.deepEqual(calls, [['attach', { netns: 'ns1', namespace: 'prod', name: 'web-1', labels: { app: 'web', tier: 'fe' }, ports: [{ name: 'http', port: 8080, protocol: 'TCP' }] }]]);
});

test('policy list formatting', () => {
  assert.equal(formatPolicyList({ source: 'kube', policies: [], namespaces: [] }, 0), 'no policies (kube mode)');
  assert.deepEqual([formatAge(5_000), formatAge(600_000), formatAge(3 * 3600_000), formatAge(5 * 86_400_000)], ['5s', '10m', '3h', '5d']);
});
