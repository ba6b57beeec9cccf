/**
 * The world of the upstream network-policy conformance tests, built from real parts on a
 * {@link Lab}: namespaces x, y, z, pods a, b, c in each (labelled `pod=NAME`), every pod
 * serving TCP and UDP on ports 80 and 81 and carrying the named ports of the fixture's world
 * (`serve-80-tcp`, …, SCTP ones included: the model needs them, this kernel cannot serve SCTP),
 * spread over three hosts by {@link WORLD_LAYOUT} so that every host has pods of several
 * namespaces and there are same-host pairs within one namespace and across namespaces. Pods
 * are attached with `weft attach --namespace --name --label --port`, their servers are
 * `policy-server.js` inside the pod namespace, and {@link PolicyWorld.probeAll} probes every
 * ordered pod pair on every port and protocol at once (a long-lived `policy-prober.js` in each
 * pod gets one request per round).
 * {@link PolicyWorld.model} is the same world as a {@link PolicyInput} with the real addresses,
 * for the reference model and for the digest the daemons report.
 *
 * Lifecycle: `build()` once after the daemons run; everything it starts is tracked by the lab
 * and removed by `lab.destroy()`.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { conformancePorts, NAMESPACE_NAME_LABEL, type PolicyInput, type PolicyProtocol } from '../../src/policy/index.js';
import { REPO, WEFT, type Lab, type LabHost } from './lab.js';
import { waitFor } from './wait.js';

export const WORLD_NAMESPACES = ['x', 'y', 'z'] as const;
export const WORLD_PODS = ['a', 'b', 'c'] as const;
export const WORLD_PORTS = [80, 81] as const;
/** What is probed (SCTP is in the model only: no SCTP sockets on this kernel). */
export const WORLD_PROTOCOLS = ['TCP', 'UDP'] as const;
/** The named ports' protocols (the fixture's world). */
export const WORLD_PORT_PROTOCOLS: readonly PolicyProtocol[] = ['TCP', 'UDP', 'SCTP'];
export type WorldProtocol = (typeof WORLD_PROTOCOLS)[number];

/**
 * Pod → host index. Host 0: x/a, x/b, y/c; host 1: x/c, y/a, z/b; host 2: y/b, z/a, z/c. So
 * x/a (the target of most cases) has a same-namespace neighbour on its host (x/b) and one
 * elsewhere (x/c), and same-host cross-namespace pairs exist on every host.
 */
export const WORLD_LAYOUT: Readonly<Record<string, number>> = {
  'x/a': 0, 'x/b': 0, 'y/c': 0,
  'x/c': 1, 'y/a': 1, 'z/b': 1,
  'y/b': 2, 'z/a': 2, 'z/c': 2,
};

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
  readonly ip: string;
}

/** One probe: from a pod to a pod on (port, protocol). */
export interface WorldProbe {
  readonly src: WorldPod;
  readonly dst: WorldPod;
  readonly port: number;
  readonly protocol: WorldProtocol;
}

/** `SRC->DST PORT/PROTO`, SRC and DST as `NS/NAME`. */
export function probeKey(src: string, dst: string, port: number, protocol: string): string {
  return `${src}->${dst} ${port}/${protocol}`;
}

/** The text of Namespace documents giving each namespace of `labels` exactly those labels. */
export function namespaceDocuments(labels: Readonly<Record<string, Readonly<Record<string, string>>>>): string {
  return Object.entries(labels).map(([name, l]) => [
    'apiVersion: v1', 'kind: Namespace', 'metadata:', `  name: ${name}`, '  labels:',
    ...Object.entries(l).map(([k, v]) => `    ${JSON.stringify(k)}: ${JSON.stringify(v)}`),
  ].join('\n')).join('\n---\n') + '\n';
}

/** A long-lived prober in one pod: requests by id, answers matched to them. */
interface Prober {
  proc: ChildProcess;
  waiting: Map<number, { resolve(r: ProberResult[]): void; reject(e: Error): void }>;
}
interface ProberResult { ip: string; port: number; protocol: string; ok: boolean; answer: string }

export class PolicyWorld {
  readonly pods: WorldPod[] = [];
  private readonly probers = new Map<WorldPod, Prober>();
  private nextId = 0;

  constructor(private readonly lab: Lab, private readonly hosts: readonly LabHost[]) {
    if (hosts.length !== 3) throw new Error('world: needs exactly 3 hosts');
  }

  /** Attach the 9 pods on their hosts ({@link WORLD_LAYOUT}) and start their servers. */
  async build(): Promise<void> {
    const ports = conformancePorts({ namespaces: [], pods: [], ports: [...WORLD_PORTS], protocols: [...WORLD_PORT_PROTOCOLS] });
    for (const ns of WORLD_NAMESPACES) {
      for (const name of WORLD_PODS) {
        const key = `${ns}/${name}`;
        const host = this.hosts[WORLD_LAYOUT[key]!]!;
        const netns = this.lab.netns(`${ns}${name}`);
        const args = ['attach', '--api-socket', host.socket, '--namespace', ns, '--name', name, '--label', `pod=${name}`];
        for (const p of ports) args.push('--port', `${p.name}=${p.port}/${p.protocol}`);
        this.lab.exec(host, process.execPath, [WEFT, ...args, `/run/netns/${netns}`], { timeoutMs: 20_000 });
        this.pods.push({ namespace: ns, name, key, netns, host, ip: this.podIp(netns) });
      }
    }
    await Promise.all(this.pods.map(async (p) => {
      const proc = this.lab.track(spawn('ip', ['netns', 'exec', p.netns, process.execPath, SERVER, p.key, ...WORLD_PORTS.map(String)], { stdio: ['pipe', 'pipe', 'inherit'] }));
      let out = '';
      proc.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
      await waitFor(() => out.includes('ready'), { timeoutMs: 15_000, intervalMs: 20, what: `the servers of ${p.key}` });
      this.startProber(p);
    }));
  }

  private startProber(p: WorldPod): void {
    const proc = this.lab.track(spawn('ip', ['netns', 'exec', p.netns, process.execPath, PROBER], { stdio: ['pipe', 'pipe', 'inherit'] }));
    const prober: Prober = { proc, waiting: new Map() };
    createInterface({ input: proc.stdout! }).on('line', (line) => {
      const r = JSON.parse(line) as { id: number; results?: ProberResult[]; error?: string };
      const w = prober.waiting.get(r.id);
      if (!w) return;
      prober.waiting.delete(r.id);
      if (r.results) w.resolve(r.results);
      else w.reject(new Error(r.error ?? 'prober: no results'));
    });
    proc.on('exit', (code) => {
      for (const w of prober.waiting.values()) w.reject(new Error(`the prober in ${p.key} exited (${code})`));
      prober.waiting.clear();
    });
    this.probers.set(p, prober);
  }

  /**
   * The world as the model sees it with no policy: namespaces labelled `ns=NAME` (after
   * {@link namespaceDocuments} of {@link baseNamespaceLabels} is applied), pods with their real
   * addresses, `pod=NAME` and the named ports. `host` is the lab host's index (the digest
   * leaves it out).
   */
  model(): PolicyInput {
    const ports = conformancePorts({ namespaces: [], pods: [], ports: [...WORLD_PORTS], protocols: [...WORLD_PORT_PROTOCOLS] });
    return {
      policies: [],
      namespaces: WORLD_NAMESPACES.map((name) => ({ name, labels: { [NAMESPACE_NAME_LABEL]: name, ...this.baseNamespaceLabels()[name] } })),
      pods: this.pods.map((p) => ({ namespace: p.namespace, name: p.name, labels: { pod: p.name }, ips: [p.ip], ports, host: String(p.host.index) })),
    };
  }

  /** `ns=NAME` for every namespace. */
  baseNamespaceLabels(): Record<string, Record<string, string>> {
    return Object.fromEntries(WORLD_NAMESPACES.map((n) => [n, { ns: n }]));
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

  /** Every ordered pair of distinct pods on every port and protocol. */
  allProbes(): WorldProbe[] {
    return this.pods.flatMap((src) => this.pods.filter((d) => d !== src).flatMap((dst) =>
      WORLD_PORTS.flatMap((port) => WORLD_PROTOCOLS.map((protocol) => ({ src, dst, port, protocol })))));
  }

  /** Probe every ordered pair of distinct pods on every port and protocol, all at once: {@link probeKey} → reachable. */
  probeAll(timeoutMs = 800): Promise<Map<string, boolean>> {
    return this.probe(this.allProbes(), timeoutMs);
  }

  /** Run `probes` all at once (one prober process per source pod): {@link probeKey} → reachable. */
  async probe(probes: readonly WorldProbe[], timeoutMs = 800): Promise<Map<string, boolean>> {
    const bySrc = new Map<WorldPod, WorldProbe[]>();
    for (const p of probes) bySrc.set(p.src, [...(bySrc.get(p.src) ?? []), p]);
    const results = await Promise.all([...bySrc].map(([src, ps]) => this.probeFrom(src, ps, timeoutMs)));
    return new Map(results.flat());
  }

  private probeFrom(src: WorldPod, probes: readonly WorldProbe[], timeoutMs: number): Promise<[string, boolean][]> {
    const prober = this.probers.get(src);
    if (!prober || prober.proc.exitCode !== null) return Promise.reject(new Error(`world: no prober running in ${src.key}`));
    const id = ++this.nextId;
    return new Promise<ProberResult[]>((resolve, reject) => {
      const killer = setTimeout(() => { prober.waiting.delete(id); reject(new Error(`the prober in ${src.key} did not answer within ${timeoutMs + 10_000} ms`)); }, timeoutMs + 10_000);
      prober.waiting.set(id, {
        resolve: (r) => { clearTimeout(killer); resolve(r); },
        reject: (e) => { clearTimeout(killer); reject(e); },
      });
      prober.proc.stdin!.write(JSON.stringify({ id, timeoutMs, probes: probes.map((q) => ({ ip: q.dst.ip, port: q.port, protocol: q.protocol })) }) + '\n');
    }).then((r) => r.map((x, i): [string, boolean] => {
      const want = probes[i]!;
      // A reply must come from the pod probed (a wrong answer is a bug, not a pass).
      const ok = x.ok && x.answer === `ok ${want.dst.key} ${want.port}`;
      return [probeKey(src.key, want.dst.key, want.port, want.protocol), ok];
    }));
  }
}
