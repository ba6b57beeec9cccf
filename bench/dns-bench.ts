/**
 * Service discovery (issue 14), on 3 real daemons in namespaces with a pod on each host:
 *   - propagation: a name added (`dns-add`, through the API) on one host, timed until the DNS
 *     server of each other host answers it to a pod there (a prober in the pod asks every 5 ms);
 *     p50/p99 over every (name, host) pair. Target p99 < 1 s.
 *   - local answers: a pod on host 1 queries its host's server at 1,000 queries per second over
 *     UDP; latency p50/p99 against the same load on dnsmasq (Debian's) answering a local record on
 *     another address of the same bridge, in alternating rounds of the same run. Target p99 < 2 ms.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { API_ROUTES } from '../src/api/index.js';
import { Lab, REPO, WEFT, sh, type LabHost } from '../lab/index.js';
import { waitFor } from '../lab/wait.js';
import { percentile } from './stats.js';

const PROBE = join(REPO, 'dist', 'bench', 'dns-probe.js');
const gw = (i: number) => `10.32.0.${i}`;
const podIp = (i: number) => `10.32.0.${10 + i}`;
const DNSMASQ_ADDR = '10.32.0.100';

/** One latency series. ms */
export interface DnsLoad { sent: number; answered: number; lost: number; p50Ms: number; p99Ms: number; maxMs: number }

export interface DnsBenchResult {
  propagation: { n: number; p50Ms: number; p99Ms: number; maxMs: number };
  rate: number;
  weft: DnsLoad;
  dnsmasq: DnsLoad;
  load: string;
}

export interface DnsBenchOptions {
  names?: number;
  rounds?: number;
  roundSeconds?: number;
  rate?: number;
  say?: (line: string) => void;
}

function loadRound(pod: string, server: string, name: string, rate: number, seconds: number): DnsLoad {
  const out = sh('ip', ['netns', 'exec', pod, process.execPath, PROBE, 'load', server, name, String(rate), String(seconds)],
    { timeoutMs: (seconds + 30) * 1000 });
  return JSON.parse(out.trim()) as DnsLoad;
}

function merge(rs: DnsLoad[]): DnsLoad {
  // Percentiles of rounds are combined by their worst round (conservative: no raw samples kept).
  return {
    sent: rs.reduce((n, r) => n + r.sent, 0), answered: rs.reduce((n, r) => n + r.answered, 0), lost: rs.reduce((n, r) => n + r.lost, 0),
    p50Ms: Math.max(...rs.map((r) => r.p50Ms)), p99Ms: Math.max(...rs.map((r) => r.p99Ms)), maxMs: Math.max(...rs.map((r) => r.maxMs)),
  };
}

export async function runDnsBench(o: DnsBenchOptions = {}): Promise<DnsBenchResult> {
  const say = o.say ?? (() => undefined);
  const names = o.names ?? 20;
  const rounds = o.rounds ?? 3;
  const seconds = o.roundSeconds ?? 3;
  const rate = o.rate ?? 1000;
  const lab = new Lab();
  try {
    const hosts = lab.addHosts(3);
    const weft = (h: LabHost, args: string[]) => lab.exec(h, process.execPath, [WEFT, ...args, '--api-socket', h.socket], { timeoutMs: 20_000 });
    for (const h of hosts) lab.launch(h, { peers: h.index === 1 ? [] : [hosts[0].ip], extraArgs: ['--dns-upstream', '127.0.0.1'] });
    const pods: string[] = [];
    for (const h of hosts) {
      weft(h, ['expose', `${gw(h.index)}/12`]);
      const ns = lab.netns(`p${h.index}`);
      weft(h, ['attach', '--ip', `${podIp(h.index)}/12`, '--name', `pod${h.index}`, ns]);
      pods.push(ns);
    }
    for (const h of hosts) await lab.until(`host ${h.index}'s DNS server`, 30_000, async () => (await lab.status(h)).dns?.listening === `${gw(h.index)}:53`);

    // Propagation: probers in the pods of the hosts that did not add the name.
    const watchers = hosts.map((h, k) => {
      const p: ChildProcess = lab.track(spawn('ip', ['netns', 'exec', pods[k]!, process.execPath, PROBE, 'watch', gw(h.index)], { stdio: ['pipe', 'pipe', 'ignore'] }));
      const seen = new Map<string, number>();
      createInterface({ input: p.stdout! }).on('line', (l) => {
        const [n, t] = l.split(' ');
        if (n && t) seen.set(n, Number(t));
      });
      return { p, seen };
    });
    const samples: number[] = [];
    for (let i = 0; i < names; i++) {
      const origin = hosts[i % 3]!;
      const name = `prop${i}`;
      const others = [0, 1, 2].filter((k) => k !== i % 3);
      for (const k of others) watchers[k]!.p.stdin!.write(`${name}.weft.local\n`);
      await new Promise((r) => setTimeout(r, 50)); // the probers are asking (NXDOMAIN) before the add
      const t0 = Date.now();
      await origin.client.call(API_ROUTES.dnsAdd, { name, ips: [`10.33.0.${i + 1}`] });
      await waitFor(() => others.every((k) => watchers[k]!.seen.has(`${name}.weft.local`)), { timeoutMs: 20_000, intervalMs: 5, what: `${name} on every host` });
      for (const k of others) samples.push(watchers[k]!.seen.get(`${name}.weft.local`)! - t0);
    }
    for (const w of watchers) w.p.stdin!.end();
    const ps = [...samples].sort((a, b) => a - b);
    say(`dns: propagation p50 ${percentile(ps, 50)} ms, p99 ${percentile(ps, 99)} ms over ${ps.length} (name, host) pairs`);

    // Local answers: dnsmasq on another address of host 1's bridge, same pod, alternating rounds.
    weft(hosts[0], ['expose', `${DNSMASQ_ADDR}/12`]);
    const conf = join(lab.dir, 'dnsmasq-bench.conf');
    writeFileSync(conf, ['no-resolv', 'no-hosts', 'no-poll', 'bind-interfaces', `listen-address=${DNSMASQ_ADDR}`, 'port=53',
      `address=/pod2.bench.test/${podIp(2)}`, `pid-file=${join(lab.dir, 'dnsmasq-bench.pid')}`, ''].join('\n'));
    lab.track(spawn('ip', ['netns', 'exec', hosts[0].ns, 'dnsmasq', '--keep-in-foreground', `--conf-file=${conf}`], { stdio: 'ignore' }));
    await waitFor(() => sh('ip', ['netns', 'exec', pods[0]!, 'dig', `@${DNSMASQ_ADDR}`, '+short', '+time=1', '+tries=1', 'pod2.bench.test'],
      { allowFail: true }).trim() === podIp(2), { timeoutMs: 10_000, what: 'dnsmasq answering' });
    const w: DnsLoad[] = [];
    const d: DnsLoad[] = [];
    for (let r = 0; r < rounds; r++) {
      w.push(loadRound(pods[0]!, gw(1), 'pod2.weft.local', rate, seconds));
      d.push(loadRound(pods[0]!, DNSMASQ_ADDR, 'pod2.bench.test', rate, seconds));
      say(`dns: round ${r + 1}: weft p99 ${w[r]!.p99Ms.toFixed(2)} ms, dnsmasq p99 ${d[r]!.p99Ms.toFixed(2)} ms`);
    }
    return {
      propagation: { n: ps.length, p50Ms: percentile(ps, 50), p99Ms: percentile(ps, 99), maxMs: ps[ps.length - 1] ?? NaN },
      rate, weft: merge(w), dnsmasq: merge(d), load: sh('cat', ['/proc/loadavg']).trim(),
    };
  } finally {
    lab.destroy();
  }
}

export function formatDnsBench(r: DnsBenchResult): string {
  const f = (x: number) => x.toFixed(2);
  const row = (what: string, l: DnsLoad) => `  ${what.padEnd(8)} p50 ${f(l.p50Ms)} ms   p99 ${f(l.p99Ms)} ms   max ${f(l.maxMs)} ms   lost ${l.lost}/${l.sent}`;
  return [
    'DNS (3 daemons in namespaces, a pod on each host; issue 14)',
    `  name added on one host → answered by every other host's server: p50 ${r.propagation.p50Ms} ms   p99 ${r.propagation.p99Ms} ms   max ${r.propagation.maxMs} ms (n=${r.propagation.n}; target p99 < 1000 ms: ${r.propagation.p99Ms < 1000 ? 'met' : 'MISSED'})`,
    `  local answers at ${r.rate} queries/s over UDP from a pod (worst round of each; target p99 < 2 ms: ${r.weft.p99Ms < 2 ? 'met' : 'MISSED'}):`,
    row('weft', r.weft),
    row('dnsmasq', r.dnsmasq),
    `  weft/dnsmasq p99 ratio ${(r.weft.p99Ms / r.dnsmasq.p99Ms).toFixed(2)}   (load average during the run: ${r.load})`,
  ].join('\n');
}
