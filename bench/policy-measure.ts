/**
 * Measures the policy edge (run as root: `node dist/bench/policy-measure.js`): apply() time for a
 * ruleset of 1,000 rules / 100 local pods / 5,000 peer addresses (full build, then one pod-label
 * change: elements only), and TCP throughput (iperf3, one stream) and new-connection rate (a
 * connect loop: bench/conn-loop.c, CONN_RATE_THREADS threads) between two pods on one bridge with (a) no policy edge and
 * bridge-nf-call off, (b) an empty ruleset (br_netfilter + conntrack on), (c) the big ruleset
 * with the allowing rule last in its chain. Namespaces and servers are its own; all removed.
 */
import { spawn } from 'node:child_process';
import { PolicyEdge, netlinkKernel } from '../src/host/index.js';
import { silentLogger } from '../src/common/index.js';
import type { CompiledRule, PolicyRuleset } from '../src/policy/index.js';
import { sh } from '../test/support/lab.js';
import { PolicyLab } from '../test/support/policy-lab.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isListening, waitUntil } from './wait.js';
import { buildConnLoop, connServerArgv, runConnRate } from './conn-rate.js';

const SECONDS = Number(process.env.SECONDS_PER_RUN ?? 3);
const ROUNDS = Number(process.env.ROUNDS ?? 3);

function bigRuleset(p1: string, p2: string, extraPeer?: string): PolicyRuleset {
  const local = [p1, p2, ...Array.from({ length: 98 }, (_, i) => `10.60.1.${i + 1}`)];
  const peer = (i: number): string => `10.100.${Math.floor(i / 250)}.${(i % 250) + 1}`;
  const rules: CompiledRule[] = [];
  const isolations = [];
  for (let pi = 0; pi < 100; pi++) {
    const target = local[pi]!;
    const policy = pi === 1 ? 'ns/zz-p2' : `ns/pol-${String(pi).padStart(3, '0')}`;
    isolations.push({ policy, direction: 'ingress' as const, audit: false, targets: [target] });
    if (pi % 2 === 0) isolations.push({ policy, direction: 'egress' as const, audit: false, targets: [target] });
    for (let ri = 0; ri < 10; ri++) {
      const n = pi * 10 + ri;
      const direction = ri < 8 || pi % 2 === 1 ? 'ingress' : 'egress';
      const peers = Array.from({ length: 5 }, (_, k) => `${peer(n * 5 + k)}/32`);
      if (extraPeer && ri === 0) peers.push(`${extraPeer}/32`);
      rules.push({ id: `${policy}/${direction}/${ri}`, policy, direction, audit: false, targets: [target], peers, ports: [{ protocol: 'TCP', port: 8000 + ri }, { protocol: 'UDP', port: 53 }], destPorts: [] });
    }
  }
  // p1 → p2 on TCP 5201 and 7000 (p1's policy isolates egress: allow it too).
  rules.push({ id: 'ns/zz-p2/ingress/99', policy: 'ns/zz-p2', direction: 'ingress', audit: false, targets: [p2], peers: [`${p1}/32`], ports: [{ protocol: 'TCP', port: 5201 }, { protocol: 'TCP', port: 7000 }], destPorts: [] });
  rules.push({ id: 'ns/pol-000/egress/99', policy: 'ns/pol-000', direction: 'egress', audit: false, targets: [p1], peers: [`${p2}/32`], ports: 'any', destPorts: [] });
  return { localPods: local, isolations, rules: rules.slice(0, 998).concat(rules.slice(-2)) };
}


function run(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    c.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    c.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`${cmd} ${args.join(' ')}: exit ${code}`))));
  });
}

async function traffic(client: string, server: string, bin: string): Promise<[number, number]> {
  const j = JSON.parse(await run('ip', ['netns', 'exec', client, 'iperf3', '-c', server, '-t', String(SECONDS), '-J'])) as { end: { sum_received: { bits_per_second: number } } };
  const conns = await runConnRate(client, bin, server, 7000, { seconds: SECONDS });
  if (conns.errors > 0) throw new Error(`connection rate: ${conns.errors} failed attempts`);
  return [j.end.sum_received.bits_per_second / 1e9, conns.perSecond];
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  const lab = new PolicyLab();
  try {
    const h = lab.host('h', '10.60.0.254', 'fd60::fe');
    const p1 = lab.pod(h, 'p1', '10.60.0.1', 'fd60::1');
    const p2 = lab.pod(h, 'p2', '10.60.0.2', 'fd60::2');
    const dir = mkdtempSync(join(tmpdir(), 'weft-policy-measure-'));
    const bin = await buildConnLoop(dir);
    const server = spawn('ip', ['netns', 'exec', p2.ns, ...connServerArgv(bin, p2.ip4, 7000)], { stdio: 'ignore' });
    const iperf = spawn('ip', ['netns', 'exec', p2.ns, 'iperf3', '-s'], { stdio: 'ignore' });
    const kernel = netlinkKernel({ nsPath: `/run/netns/${h}` });
    const big = bigRuleset(p1.ip4, p2.ip4);
    const results: Record<string, [number, number][]> = { a: [], b: [], c: [] };
    try {
      await waitUntil('servers listening', 10_000, async () => (await isListening(p2.ns, 'tcp', 7000)) && isListening(p2.ns, 'tcp', 5201));
      for (let round = 0; round < ROUNDS; round++) {
        sh('ip', ['netns', 'exec', h, 'sysctl', '-qw', 'net.bridge.bridge-nf-call-iptables=0', 'net.bridge.bridge-nf-call-ip6tables=0']);
        results.a!.push(await traffic(p1.ns, p2.ip4, bin));
        const edge = new PolicyEdge({ kernel, log: silentLogger() });
        await edge.start();
        results.b!.push(await traffic(p1.ns, p2.ip4, bin));
        let t = performance.now();
        const full = await edge.apply(big);
        if (round === 0) {
          console.log(`ruleset: ${big.rules.length} rules, ${big.localPods.length} local pods, ${new Set(big.rules.flatMap((r) => (r.peers === 'any' ? [] : r.peers))).size} peer addresses`);
          console.log(`apply, full build: ${(performance.now() - t).toFixed(0)} ms (${full.elementsAdded} elements, ${full.rulesChanged} rules)`);
          t = performance.now();
          const change = await edge.apply(bigRuleset(p1.ip4, p2.ip4, '10.60.1.50'));
          console.log(`apply, one pod label change: ${(performance.now() - t).toFixed(1)} ms (+${change.elementsAdded}/-${change.elementsRemoved} elements, ${change.rulesChanged} rules)`);
          t = performance.now();
          await edge.apply(big);
          console.log(`apply, label change back: ${(performance.now() - t).toFixed(1)} ms`);
        }
        results.c!.push(await traffic(p1.ns, p2.ip4, bin));
        await edge.stop();
      }
    } finally {
      iperf.kill('SIGKILL');
      server.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
    const names: Record<string, string> = {
      a: '(a) no policy edge, bridge-nf-call off', b: '(b) empty ruleset (br_netfilter, conntrack)', c: '(c) 1,000 rules, allowing rule last',
    };
    for (const k of ['a', 'b', 'c']) {
      const r = results[k]!;
      console.log(`${names[k]!.padEnd(44)} iperf3 median ${median(r.map((x) => x[0])).toFixed(2)} Gbit/s [${r.map((x) => x[0].toFixed(2)).join(' ')}]   new connections median ${median(r.map((x) => x[1])).toFixed(0)}/s [${r.map((x) => x[1].toFixed(0)).join(' ')}]`);
    }
  } finally {
    lab.cleanup();
  }
}

await main();
