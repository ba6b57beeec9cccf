/**
 * Issue 16's three-site lab, shared by test/integration/nat.test.ts and the NAT bench rows:
 * public hosts (B, D …) on the underlay, and sites A and C each behind their own NAT router
 * namespace (Lab.addNatHost), every daemon given only the public hosts' addresses. Pods on
 * every host (10.46.0.<host index>/16) so traffic between sites is real pod traffic.
 */
import { spawn } from 'node:child_process';
import { type Lab, WEFT, type LabHost } from './lab.js';
import type { StatusReport } from '../../src/api/index.js';

export type NatKind = 'preserve' | 'random' | 'fully-random';
export const NAT_LAB_SECRET = 'nat-lab-secret-0123456789abcdef';

export interface NatSites {
  lab: Lab;
  publics: LabHost[];
  a: LabHost & { router: string; wanIp: string };
  c: LabHost & { router: string; wanIp: string };
  /** Pod namespace per host index. */
  pod: Map<number, string>;
}

export function podIp(h: LabHost): string {
  return `10.46.0.${h.index}`;
}

/** Build the sites and launch every daemon (the public ones first). */
export function buildNatSites(lab: Lab, o: { a: NatKind; c: NatKind; publics?: number; extraArgs?: string[]; relayFlag?: boolean }): NatSites {
  const publics = lab.addHosts(o.publics ?? 1);
  const a = lab.addNatHost(o.a);
  const c = lab.addNatHost(o.c);
  const extra = ['--no-fastdp', ...(o.extraArgs ?? [])];
  publics.forEach((p, i) => lab.launch(p, {
    password: NAT_LAB_SECRET, peers: publics.slice(0, i).map((q) => q.ip), extraArgs: [...extra, ...(o.relayFlag && i === 0 ? ['--relay'] : [])],
  }));
  for (const h of [a, c]) lab.launch(h, { password: NAT_LAB_SECRET, peers: publics.map((p) => p.ip), extraArgs: extra });
  return { lab, publics, a, c, pod: new Map() };
}

/** A pod (10.46.0.<index>/16) on every host of the sites (after the timing checks: attaching takes a while). */
export function attachPods(s: NatSites): void {
  for (const h of [...s.publics, s.a, s.c]) {
    const ns = s.lab.netns(`p${h.index}`);
    s.lab.exec(h, process.execPath, [WEFT, 'attach', '--ip', `${podIp(h)}/16`, '--api-socket', h.socket, ns]);
    s.pod.set(h.index, ns);
  }
}

/**
 * Poll both ends from launch on: ms from "both hold each other's topology record" (they see
 * each other, through B) to "both report the punched path". Throws after `timeoutMs`.
 */
export async function timeToPunched(s: NatSites, timeoutMs: number): Promise<{ seeMs: number; punchedAfterMs: number }> {
  const t0 = Date.now();
  let seeAt = 0;
  const names = new Map<LabHost, string>();
  for (;;) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`A↔C not punched within ${timeoutMs} ms (saw each other: ${seeAt ? 'yes' : 'no'})`);
    try {
      for (const h of [s.a, s.c]) if (!names.has(h)) names.set(h, (await s.lab.status(h)).name);
      const [sa, sc] = [await s.lab.status(s.a), await s.lab.status(s.c)];
      if (!seeAt && sa.peers.some((p) => p.name === names.get(s.c)) && sc.peers.some((p) => p.name === names.get(s.a))) seeAt = Date.now();
      const punched = (r: StatusReport, other: string) => r.connections.some((c) => c.peer === other && c.path === 'punched');
      if (seeAt && punched(sa, names.get(s.c)!) && punched(sc, names.get(s.a)!)) {
        // The daemons' logs time it more finely than polling: from the later site's first control
        // connection (it then learns of the other within a gossip exchange) to the later "punched".
        const fromLogs = logTimes(s);
        const polled = Date.now() - seeAt;
        return { seeMs: seeAt - t0, punchedAfterMs: fromLogs !== null ? Math.max(fromLogs, 0) : polled };
      }
    } catch { /* daemon not up yet */ }
    await new Promise((r) => setTimeout(r, 50));
  }
}

type Conn = StatusReport['connections'][number];

/** `from`'s status row for `to` (a control connection or a NAT traversal row), if any. */
export async function connTo(lab: Lab, from: LabHost, to: LabHost): Promise<Conn | undefined> {
  const toName = (await lab.status(to)).name;
  return (await lab.status(from)).connections.find((c) => c.peer === toName);
}

/** Frames the host's sleeve relayed for other peers so far. */
export async function relayedFrames(lab: Lab, h: LabHost): Promise<number> {
  return ((await lab.status(h)).dataplane as { stats: { relayedFrames: number } }).stats.relayedFrames;
}

/** Ping from pod to pod at `intervalMs` for `count` packets; resolves with sent/received. */
export function pingRun(lab: Lab, fromPod: string, ip: string, count: number, intervalMs: number): Promise<{ sent: number; received: number; out: string }> {
  return new Promise((resolve) => {
    const p = lab.track(spawn('ip', ['netns', 'exec', fromPod, 'ping', '-n', '-q', '-c', String(count), '-i', String(intervalMs / 1000), '-W', '1', ip]));
    let out = '';
    p.stdout?.on('data', (d) => { out += String(d); });
    p.on('close', () => {
      const m = /(\d+) packets transmitted, (\d+) received/.exec(out);
      resolve({ sent: Number(m?.[1] ?? 0), received: Number(m?.[2] ?? 0), out });
    });
  });
}

/** Disconnect a public host from the underlay (its namespace's only link goes down): "B cut". */
export function cutHost(lab: Lab, h: LabHost, down: boolean): void {
  lab.exec(h, 'ip', ['link', 'set', 'eth0', down ? 'down' : 'up']);
}

/** ms from the later of A's and C's first established connection to the later of their "direct path punched" logs; null if missing. */
function logTimes(s: NatSites): number | null {
  const first = (h: LabHost, msg: string): number | null => {
    for (const line of s.lab.log(h).split('\n')) {
      try {
        const j = JSON.parse(line) as { msg?: string; time?: number };
        if (j.msg === msg && typeof j.time === 'number') return j.time;
      } catch { /* not JSON */ }
    }
    return null;
  };
  const up = [s.a, s.c].map((h) => first(h, 'connection established'));
  const done = [s.a, s.c].map((h) => first(h, 'nat: direct path punched'));
  if ([...up, ...done].some((t) => t === null)) return null;
  return Math.max(...(done as number[])) - Math.max(...(up as number[]));
}
