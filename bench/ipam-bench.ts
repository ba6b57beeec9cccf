import { Lab, type LabHost } from '../lab/index.js';
import { percentile } from './stats.js';

/** Results of the IPAM benchmark. All times in ms. */
export interface IpamBenchResult {
  coldStartToFirstAllocationMs: number;
  sequential: { n: number; p50: number; p99: number };
  concurrent16: { n: number; p50: number; p99: number; perSecond: number };
}

async function timedAllocate(h: LabHost, owner: string): Promise<number> {
  const t = performance.now();
  await h.client.request('POST', '/ipam/allocate', { owner });
  return performance.now() - t;
}

/**
 * IPAM through the daemon API on real daemons in namespaces: time from the cold start of 3
 * peers (first launch) to the first successful allocation on the last one, then allocation
 * latency p50/p99 on a ready ring, sequential and with 16 concurrent clients.
 */
export async function runIpamBench(n = 300): Promise<IpamBenchResult> {
  const lab = new Lab();
  try {
    const hosts = lab.addHosts(3);
    const t0 = performance.now();
    lab.launch(hosts[0]);
    lab.launch(hosts[1], { peers: [hosts[0].ip] });
    lab.launch(hosts[2], { peers: [hosts[1].ip] });
    await lab.until('first allocation on the third peer', 30_000, async () => {
      await hosts[2].client.request('POST', '/ipam/allocate', { owner: 'first' });
      return true;
    });
    const coldStartToFirstAllocationMs = performance.now() - t0;
    const seq: number[] = [];
    for (let i = 0; i < n; i++) seq.push(await timedAllocate(hosts[1], `seq-${i}`));
    const conc: number[] = [];
    let next = 0;
    const tc = performance.now();
    await Promise.all(Array.from({ length: 16 }, async () => {
      while (next < n) conc.push(await timedAllocate(hosts[2], `conc-${next++}`));
    }));
    const wall = performance.now() - tc;
    const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);
    return {
      coldStartToFirstAllocationMs,
      sequential: { n, p50: percentile(sorted(seq), 50), p99: percentile(sorted(seq), 99) },
      concurrent16: { n, p50: percentile(sorted(conc), 50), p99: percentile(sorted(conc), 99), perSecond: (n / wall) * 1000 },
    };
  } finally {
    lab.destroy();
  }
}

export function formatIpamBench(r: IpamBenchResult): string {
  const f = (x: number) => x.toFixed(2);
  return [
    'IPAM (through the daemon API, unix socket, 3 peers in namespaces)',
    `  cold start of 3 peers → first allocation on the 3rd: ${r.coldStartToFirstAllocationMs.toFixed(0)} ms (includes 3 background launches)`,
    `  allocate, sequential (n=${r.sequential.n}):   p50 ${f(r.sequential.p50)} ms   p99 ${f(r.sequential.p99)} ms`,
    `  allocate, 16 clients (n=${r.concurrent16.n}): p50 ${f(r.concurrent16.p50)} ms   p99 ${f(r.concurrent16.p99)} ms   ${r.concurrent16.perSecond.toFixed(0)} allocations/s`,
  ].join('\n');
}
