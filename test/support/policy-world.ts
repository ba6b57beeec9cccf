/**
 * The world of the upstream network-policy conformance tests, built from real parts on a
 * {@link Lab}: namespaces x, y, z (labelled `ns=NAME`), pods a, b, c in each (labelled
 * `pod=NAME`), every pod serving TCP and UDP on ports 80 and 81 (named `serve-80-tcp`, …),
 * spread over the lab's hosts so that both same-host and cross-host pairs exist. Pods are
 * attached with `weft attach --namespace --name --label --port`, their servers are
 * `policy-server.js` inside the pod namespace, and {@link PolicyWorld.probeAll} probes every
 * ordered pod pair on every port and protocol at once (one `policy-prober.js` per source pod).
 *
 * Lifecycle: `build()` once after the daemons run; everything it starts is tracked by the lab
 * and removed by `lab.destroy()`.
 */
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { REPO, WEFT, type Lab, type LabHost } from './lab.js';
import { waitFor } from './wait.js';

export const WORLD_NAMESPACES = ['x', 'y', 'z'] as const;
export const WORLD_PODS = ['a', 'b', 'c'] as const;
export const WORLD_PORTS = [80, 81] as const;
export const WORLD_PROTOCOLS = ['TCP', 'UDP'] as const;
export type WorldProtocol = (typeof WORLD_PROTOCOLS)[number];

const SERVER = join(REPO, 'dist', 'test', 'support', 'policy-server.js');
const PROBER = join(REPO, 'dist', 'test', 'support', 'policy-prober.js');

/** One pod of the world. */
export interface WorldPod {
  readonly namespace: string;
  readonly name: string;
  /** `NS/NAME`. */
  readonly key: string;
  readonly netns: string;
  readonly host: LabHost;
  ip: string;
}

/** `SRC->DST PORT/PROTO`, SRC and DST as `NS/NAME`. */
export function probeKey(src: string, dst: string, port: number, protocol: string): string {
  return `${src}->${dst} ${port}/${protocol}`;
}

export class PolicyWorld {
  readonly pods: WorldPod[] = [];

  constructor(private readonly lab: Lab, private readonly hosts: readonly LabHost[]) {}

  /** Attach the 9 pods (pod i of namespace j on host (i + j) mod hosts) and start their servers. */
  async build(): Promise<void> {
    for (const [j, ns] of WORLD_NAMESPACES.entries()) {
      for (const [i, name] of WORLD_PODS.entries()) {
        const host = this.hosts[(i + j) % this.hosts.length]!;
        const netns = this.lab.netns(`${ns}${name}`);
        const args = ['attach', '--api-socket', host.socket, '--namespace', ns, '--name', name, '--label', `pod=${name}`];
        for (const port of WORLD_PORTS) for (const proto of WORLD_PROTOCOLS) args.push('--port', `serve-${port}-${proto.toLowerCase()}=${port}/${proto}`);
        const out = this.lab.exec(host, process.execPath, [WEFT, ...args, `/run/netns/${netns}`], { timeoutMs: 20_000 });
        const ip = /(\d+\.\d+\.\d+\.\d+)/.exec(out)?.[1] ?? this.podIp(netns);
        this.pods.push({ namespace: ns, name, key: `${ns}/${name}`, netns, host, ip });
      }
    }
    for (const p of this.pods) {
      const proc = this.lab.track(spawn('ip', ['netns', 'exec', p.netns, process.execPath, SERVER, p.key, ...WORLD_PORTS.map(String)], { stdio: ['pipe', 'pipe', 'inherit'] }));
      let out = '';
      proc.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
      await waitFor(() => out.includes('ready'), { timeoutMs: 10_000, intervalMs: 20, what: `the servers of ${p.key}` });
    }
  }

  /** The pod's overlay address as its namespace shows it (`ethwe`). */
  private podIp(netns: string): string {
    const r = spawnSync('ip', ['-n', netns, '-j', '-4', 'addr', 'show', 'dev', 'ethwe'], { encoding: 'utf8' });
    const ip = (JSON.parse(r.stdout || '[]') as { addr_info?: { local?: string }[] }[])[0]?.addr_info?.[0]?.local;
    if (!ip) throw new Error(`world: no address on ethwe in ${netns}`);
    return ip;
  }

  pod(key: string): WorldPod {
    const p = this.pods.find((q) => q.key === key);
    if (!p) throw new Error(`world: no pod ${key}`);
    return p;
  }

  /**
   * Probe every ordered pair of distinct pods on every port and protocol, all at once.
   * Returns {@link probeKey} → reachable.
   */
  async probeAll(timeoutMs = 800): Promise<Map<string, boolean>> {
    const results = await Promise.all(this.pods.map((src) => this.probeFrom(src, this.pods.filter((d) => d !== src), timeoutMs)));
    return new Map(results.flat());
  }

  /** Probe from `src` to each of `dsts` on every port and protocol. */
  probeFrom(src: WorldPod, dsts: readonly WorldPod[], timeoutMs = 800): Promise<[string, boolean][]> {
    const probes = dsts.flatMap((d) => WORLD_PORTS.flatMap((port) => WORLD_PROTOCOLS.map((protocol) => ({ ip: d.ip, port, protocol, dst: d.key }))));
    return new Promise((resolve, reject) => {
      const p = spawn('ip', ['netns', 'exec', src.netns, process.execPath, PROBER, String(timeoutMs)], { stdio: ['pipe', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      p.stdout.on('data', (d: Buffer) => { out += d.toString(); });
      p.stderr.on('data', (d: Buffer) => { err += d.toString(); });
      const killer = setTimeout(() => p.kill('SIGKILL'), timeoutMs + 10_000);
      p.on('close', (code) => {
        clearTimeout(killer);
        if (code !== 0) { reject(new Error(`prober in ${src.key} exited ${code}: ${err.trim()}`)); return; }
        const r = JSON.parse(out) as { ip: string; port: number; protocol: string; ok: boolean; answer: string }[];
        resolve(r.map((x, i) => {
          const want = probes[i]!;
          // A reply must come from the pod probed (a wrong answer is a bug, not a pass).
          const ok = x.ok && x.answer === `ok ${want.dst} ${want.port}`;
          return [probeKey(src.key, want.dst, want.port, want.protocol), ok];
        }));
      });
      p.stdin.end(JSON.stringify(probes.map(({ ip, port, protocol }) => ({ ip, port, protocol }))));
    });
  }
}
