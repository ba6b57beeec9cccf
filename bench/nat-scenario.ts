/**
 * Issue 16's NAT scenario (`node dist/bench/nat-scenario.js [--rounds N] [--seconds S]`, as root):
 * three sites (A and C behind their own nftables NAT routers, B public, test/support/nat-lab.ts),
 * real daemons, real pods, iperf3. Rows, all from one run:
 *
 * - time to direct: ms from "A and C know each other" (topology records) to "both report punched";
 * - A↔C pod throughput (punched) against A↔B (A's pod to B's pod through A's NAT), in interleaved
 *   rounds: ratio of medians; B's relayed frames during the A↔C runs;
 * - loss when B is cut: pings A→C every 10 ms for 3 s while B's link goes down.
 *
 * Modes: `--nat preserve,preserve` (default) or e.g. `--nat random,preserve`.
 */
import { spawn } from 'node:child_process';
import { Lab } from '../lab/index.js';
import {
  attachPods, buildNatSites, cutHost, pingRun, podIp, relayedFrames, timeToPunched, type NatKind,
} from '../test/support/nat-lab.js';
import { parseIperfJson } from './iperf.js';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(name);
  return i > 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : def;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

async function iperf(lab: Lab, clientPod: string, serverIp: string, seconds: number): Promise<number> {
  const out = lab.execIn(clientPod, 'iperf3', ['-c', serverIp, '-t', String(seconds), '-J'], { timeoutMs: (seconds + 15) * 1000, allowFail: true });
  return parseIperfJson(out).mbps;
}

async function main(): Promise<void> {
  const rounds = Number(arg('--rounds', '3'));
  const seconds = Number(arg('--seconds', '4'));
  const [ka, kc] = arg('--nat', 'preserve,preserve').split(',') as [NatKind, NatKind];
  const lab = new Lab();
  try {
    const s = buildNatSites(lab, { a: ka, c: kc });
    const b = s.publics[0]!;
    let direct = 'not punched';
    try {
      const t = await timeToPunched(s, 30_000);
      direct = `${t.punchedAfterMs} ms`;
    } catch (e) {
      direct = `not punched within 30 s (${(e as Error).message})`;
    }
    attachPods(s);
    const pod = (h: { index: number }) => s.pod.get(h.index)!;
    const servers = [b, s.c].map((h) => lab.track(spawn('ip', ['netns', 'exec', pod(h), 'iperf3', '-s'], { stdio: 'ignore' })));
    await lab.until('iperf3 servers listening', 10_000, () => [b, s.c].every((h) => lab.execIn(pod(h), 'ss', ['-Hltn', 'sport = :5201'], { allowFail: true }).trim() !== ''));
    await iperf(lab, pod(s.a), podIp(s.c), 1); // warm-up (ARP, MAC learning)
    const ab: number[] = [];
    const ac: number[] = [];
    let relayed = 0;
    for (let r = 0; r < rounds; r++) {
      ab.push(await iperf(lab, pod(s.a), podIp(b), seconds));
      const before = await relayedFrames(lab, b);
      ac.push(await iperf(lab, pod(s.a), podIp(s.c), seconds));
      relayed += (await relayedFrames(lab, b)) - before;
    }
    const run = pingRun(lab, pod(s.a), podIp(s.c), 300, 10);
    await new Promise((res) => setTimeout(res, 500));
    cutHost(lab, b, true);
    const cut = await run;
    for (const p of servers) p.kill();
    const mAb = median(ab);
    const mAc = median(ac);
    const rows = [
      ['row', 'value', 'baseline (same run)', 'ratio'],
      [`time to direct (${ka}/${kc})`, direct, '-', '-'],
      ['A↔C throughput, Mbit/s (median)', mAc.toFixed(0), `A↔B ${mAb.toFixed(0)}`, (mAc / mAb).toFixed(2)],
      ['B relayed frames during A↔C runs', String(relayed), '-', '-'],
      ['loss when B is cut (pings every 10 ms)', `${(cut.sent - cut.received) * 10} ms (${cut.sent - cut.received}/${cut.sent})`, '-', '-'],
    ];
    const w = rows[0]!.map((_c, i) => Math.max(...rows.map((r) => r[i]!.length)));
    for (const r of rows) console.log(r.map((c, i) => c.padEnd(w[i]!)).join('  '));
    console.log(`rounds: ${rounds} × ${seconds} s; A↔B ${ab.map((x) => x.toFixed(0)).join(',')}; A↔C ${ac.map((x) => x.toFixed(0)).join(',')} Mbit/s`);
  } finally {
    lab.destroy();
  }
}

main().catch((e: unknown) => {
  console.error(`nat-scenario: ${(e as Error).message}`);
  process.exitCode = 1;
});
