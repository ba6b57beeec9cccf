import { join } from 'node:path';
import { mkdir } from 'node:fs/promises';
import { BENCH_IPERF_PORT, WeftError } from '../../src/common/index.js';
import { API_ROUTES, ApiClient, type PolicyStatus, type StatusReport } from '../../src/api/index.js';
import { podMtu } from '../../src/dataplane/index.js';
import { CONN_RATE_PORT, buildConnLoop, connServerArgv, waitTcpReachable } from '../conn-rate.js';
import { exec, missingCommands } from '../netns.js';
import { waitReachable } from '../ping.js';
import { policyApplyTexts } from '../policy-documents.js';
import { scaleWorld } from '../policy-scale-world.js';
import { THIS_BUILD, type WeftBuild } from './weft-build.js';
import type { Daemon, Scenario, ScenarioEndpoints, ScenarioEnv } from '../types.js';
import { isListening, waitUntil } from '../wait.js';

/** weft's data paths as the policy rows run them. */
export type PolicyPath = 'sleeve' | 'vxlan' | 'hostgw';

const READY_WAIT_MS = 30_000;
/** Budget for 1,000 policies to be applied, gossiped and enforced on both hosts. ms */
const ENFORCE_WAIT_MS = 60_000;
const POD_IPS = ['10.61.0.1', '10.61.0.2'] as const;
const POD_PREFIX_LEN = 24;

/** The policy rows' names: `weft-PATH-nopolicy` and `weft-PATH-policy1k`. */
export function policyRowName(path: PolicyPath, policies: boolean, build: WeftBuild = THIS_BUILD): string {
  return `weft-${path}-${policies ? 'policy1k' : 'nopolicy'}${build.suffix}`;
}

/**
 * One of weft's data paths between two real daemons, with the pods plumbed by the daemons
 * themselves (`weft attach` over the API, with identities: bench/client `app=bench-client` on
 * host 1, bench/server `app=bench-server` on host 2, weft's default pod settings), measured with
 * and without network policy: with `policies`, the 1,000 policies of bench/policy-scale-world.ts
 * (a default-deny for the bench namespace, and rules that allow exactly the bench ports between
 * the two pods) are applied with `weft policy apply` on host 1 (JSON List texts under the API
 * limit) and the row waits until both daemons enforce them. Setup then checks that the pods
 * ARE isolated (ICMP, which no rule allows, is dropped) and allowed (TCP to the bench ports
 * connects). Both variants skip ping (the policed pods drop it) and measure the new-connection
 * rate. Paths select as the other weft rows: `sleeve` encrypted with --no-fastdp, `vxlan`
 * --no-hostgw, `hostgw` the defaults.
 */
export function weftPolicyScenario(path: PolicyPath, policies: boolean, build: WeftBuild = THIS_BUILD): Scenario {
  const daemons: Daemon[] = [];
  const encrypted = path === 'sleeve';
  return {
    name: policyRowName(path, policies, build),
    description: `${build.label}weft ${path}, pods attached by weft${policies ? ', 1,000 network policies in force' : ', no network policy'}`,
    userspace: path === 'sleeve',
    ...(policies ? { pairedWith: policyRowName(path, false, build) } : {}),
    check: async () => missingCommands(['cc', 'nft']),
    async setup(env: ScenarioEnv): Promise<ScenarioEndpoints> {
      const mtu = podMtu(1500, encrypted);
      const bin = await buildConnLoop(env.tmpDir, env.signal);
      const podNs = [await env.podNetns('p1'), await env.podNetns('p2')] as const;
      const clients: ApiClient[] = [];
      for (let i = 0; i < 2; i++) {
        const dir = join(env.tmpDir, `weft-${path}-h${i + 1}`);
        await mkdir(dir, { recursive: true, mode: 0o700 });
        const socket = join(dir, 'api.sock');
        const argv = [process.execPath, build.cli, 'launch', '--foreground', '--data-dir', dir, '--api-socket', socket, '--no-docker-plugin',
          '--mtu', String(mtu), '--status-addr', '', '--nickname', `bench${i + 1}`, '--log-level', 'warn', '--backoff-scale', '0.1',
          ...(path === 'sleeve' ? ['--no-fastdp'] : path === 'vxlan' ? ['--no-hostgw'] : []),
          ...(i === 1 ? [env.hosts[0].underlayIp] : [])];
        const d = env.spawnDaemon(env.hosts[i]!.ns, `weft h${i + 1}`, argv,
          encrypted ? { env: { WEFT_PASSWORD: `weft-bench-secret-${env.prefix}-0123456789` } } : {});
        daemons.push(d);
        clients.push(new ApiClient({ socketPath: socket, timeoutMs: 30_000 }));
        await waitUntil(`weft h${i + 1} API`, READY_WAIT_MS, () => clients[i]!.isRunning(), { daemons: [d], signal: env.signal });
      }
      const [c1, c2] = clients as [ApiClient, ApiClient];
      await c1.call(API_ROUTES.attach, { netns: podNs[0], ip: `${POD_IPS[0]}/${POD_PREFIX_LEN}`, namespace: 'bench', name: 'client', labels: { app: 'bench-client' } });
      await c2.call(API_ROUTES.attach, { netns: podNs[1], ip: `${POD_IPS[1]}/${POD_PREFIX_LEN}`, namespace: 'bench', name: 'server', labels: { app: 'bench-server' } });
      await waitUntil(`weft ${path} path up and programmed on both hosts`, READY_WAIT_MS, async () => {
        for (const c of clients) if (!pathReady(await c.status(), path)) return false;
        return true;
      }, { daemons, signal: env.signal });
      await waitReachable(podNs[0], POD_IPS[1], READY_WAIT_MS, env.signal);
      env.spawnDaemon(podNs[1], 'conn-loop server', connServerArgv(bin, POD_IPS[1], CONN_RATE_PORT));
      await waitUntil('conn-loop server', 10_000, () => isListening(podNs[1], 'tcp', CONN_RATE_PORT, env.signal), { signal: env.signal });
      let detail = `weft ${path}${encrypted ? ' (encrypted)' : ''}, pods by weft attach (default TX offload), no policy`;
      if (policies) detail = await applyWorld(env, clients, podNs[0], bin, path);
      return {
        clientNs: podNs[0], serverNs: podNs[1], serverIp: POD_IPS[1], mtu, detail,
        icmp: false, connRate: { bin, port: CONN_RATE_PORT },
      };
    },
    async teardown(): Promise<void> {
      await Promise.all(daemons.splice(0).map((d) => d.stop())); // setup runs again next round
    },
  };
}

/** The connection reports the wanted path and the peer's pod is programmed (else frames flood). */
function pathReady(s: StatusReport, path: PolicyPath): boolean {
  if (path === 'sleeve') return s.connections.some((c) => c.state === 'established' && c.mode === 'sleeve' && !c.reason);
  if (!s.connections.some((c) => c.state === 'established' && c.mode === path)) return false;
  const k = (s as { dataplane?: { fastpath?: { kernel?: { vxlanEntries?: number; hostGwRoutes?: number } } } }).dataplane?.fastpath?.kernel;
  return (path === 'vxlan' ? (k?.vxlanEntries ?? 0) : (k?.hostGwRoutes ?? 0)) >= 1;
}

/**
 * Applies the 1,000-policy world on host 1, waits until both hosts enforce it, and proves the
 * pods are isolated (ICMP dropped) and allowed (TCP connects). Returns the row's detail line.
 */
async function applyWorld(env: ScenarioEnv, clients: ApiClient[], clientNs: string, bin: string, path: PolicyPath): Promise<string> {
  const world = scaleWorld({ benchPods: { client: POD_IPS[0], server: POD_IPS[1], ports: [BENCH_IPERF_PORT, CONN_RATE_PORT] } });
  const texts = policyApplyTexts(world.input);
  const t0 = performance.now();
  for (const text of texts) await clients[0]!.call(API_ROUTES.policyApply, { text, source: 'bench' });
  const want = world.input.policies.length;
  let last: (PolicyStatus | undefined)[] = [];
  await waitUntil(`${want} policies enforced on both hosts`, ENFORCE_WAIT_MS, async () => {
    last = await Promise.all(clients.map(async (c) => (await c.status()).policy));
    return last.every((p) => p !== undefined && p.enforcing && p.policies === want && p.localPods === 1 && p.rules >= 1 && p.errors === 0);
  }, { signal: env.signal, intervalMs: 200 });
  const enforcedMs = performance.now() - t0;
  // Isolated: no rule allows ICMP, so echo requests must now be dropped (give the edge a moment).
  await waitUntil('ICMP dropped between the isolated pods', 10_000, async () =>
    (await exec(clientNs, ['ping', '-q', '-n', '-c', '1', '-W', '1', POD_IPS[1]], { allowFail: true, timeoutMs: 5_000, signal: env.signal })).code !== 0,
  { signal: env.signal });
  await waitTcpReachable(clientNs, bin, POD_IPS[1], CONN_RATE_PORT, 10_000, env.signal);
  const p = last.filter((x): x is PolicyStatus => x !== undefined);
  if (p.length !== 2) throw new WeftError('WEFT_ERR_INTERNAL', 'policy status missing');
  return `weft ${path}, ${want} policies in ${texts.length} applies, enforced on both hosts after ${Math.round(enforcedMs)} ms; ` +
    `kernel rules h1/h2 ${p[0]!.rules}/${p[1]!.rules}, isolations ${p[0]!.isolations}/${p[1]!.isolations}`;
}
