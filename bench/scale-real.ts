/**
 * Mesh at scale with real daemons (issue 17): N daemons (default timings, a cluster secret) in
 * network namespaces on one underlay, each launched with one known peer picked at random among
 * the hosts launched before it (a random tree, seeded). Measured:
 *  - each `weft launch` (wall time until the CLI returns);
 *  - convergence: from the return of the last launch until every host lists all N peers;
 *  - RSS of every daemon after convergence, and gossip bytes/s per daemon over an idle window
 *    (Δ weft_gossip_bytes_total{direction="out"} / window, every channel) that starts once the
 *    mesh's connection count held still for 3 s;
 *  - drop time: SIGKILL a quarter of the daemons at once, then until every survivor lists
 *    exactly the survivors.
 * The machine's load average (`uptime`) is sampled at the start and the end of the row, since
 * other work on a shared machine slows every real-daemon number. Everything is torn down after
 * the row (daemons stopped, namespaces deleted). Root only.
 */
import { readFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { Lab, waitFor, type LabHost } from '../lab/index.js';
import { prng } from '../test/support/ipam-sim.js';

const SECRET = 'weft scale bench secret 0123456789abcdef';
/** How often every host's status is polled while waiting for convergence / drops. ms */
const POLL_MS = 100;
/** The idle window starts when the mesh's connection count held still this long (at most SETTLE_MAX_MS after convergence). ms */
const SETTLE_MS = 3_000;
const SETTLE_MAX_MS = 60_000;

/** One real-daemon scale run. */
export interface ScaleRealResult {
  n: number;
  /** Wall time of each `weft launch`. ms */
  launchMs: number[];
  /** From the last launch's return until every host lists all N peers. ms */
  convergeMs: number;
  /** Daemons killed at once. */
  killed: number;
  /** From the kill until every survivor lists exactly the survivors. ms */
  dropMs: number;
  /** RSS of each daemon after convergence. MB */
  rssMb: number[];
  /** Topology + other gossip bytes sent per daemon per second over the idle window (mean). */
  gossipBytesPerS: number;
  idleWindowS: number;
  /** 1-minute load average at the start and at the end of the row. */
  load: [number, number];
}

async function rssMb(pid: number | undefined): Promise<number> {
  if (pid === undefined) return NaN;
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(await readFile(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : NaN;
  } catch {
    return NaN;
  }
}

async function gossipOut(h: LabHost): Promise<number> {
  const all = (await waitFor(() => h.client.request('GET', '/metrics').catch(() => null), { timeoutMs: 60_000, intervalMs: 500, what: `metrics of ${h.ns}` })) as { name: string; values: { value: number; labels: Record<string, string> }[] }[];
  const m = all.find((x) => x.name === 'weft_gossip_bytes_total');
  return (m?.values ?? []).filter((v) => v.labels.direction === 'out').reduce((a, v) => a + v.value, 0);
}

async function peerSet(h: LabHost): Promise<string> {
  try {
    return (await h.client.status()).peers.map((p) => p.name).sort().join(',');
  } catch {
    return '';
  }
}

/** Poll until every host in `hosts` lists exactly `want`; returns the ms waited (throws after timeoutMs). */
async function untilAllSee(hosts: LabHost[], want: string, timeoutMs: number, what: string): Promise<number> {
  const t0 = Date.now();
  const done = new Set<LabHost>();
  for (;;) {
    const views = await Promise.all(hosts.map(async (h) => (done.has(h) ? want : peerSet(h))));
    views.forEach((v, i) => { if (v === want) done.add(hosts[i]!); });
    if (done.size === hosts.length) return Date.now() - t0;
    if (Date.now() - t0 > timeoutMs) throw new Error(`${what}: ${hosts.length - done.size} of ${hosts.length} hosts not there after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, POLL_MS)); // poll interval of a bounded wait
  }
}

/** Run one row: N daemons. */
export async function runScaleReal(n: number, o: { seed?: number; idleWindowS?: number; extraArgs?: string[]; say?: (l: string) => void } = {}): Promise<ScaleRealResult> {
  const say = o.say ?? (() => undefined);
  const rnd = prng(o.seed ?? n);
  const load0 = loadavg()[0]!;
  const lab = new Lab();
  try {
    const hosts = lab.addHosts(n) as LabHost[];
    const launchMs: number[] = [];
    for (const [i, h] of hosts.entries()) {
      const peers = i === 0 ? [] : [hosts[Math.floor(rnd() * i)]!.ip];
      const t = Date.now();
      lab.launch(h, { peers, password: SECRET, defaultTimings: true, ...(o.extraArgs ? { extraArgs: o.extraArgs } : {}) });
      launchMs.push(Date.now() - t);
    }
    // a loaded machine may keep a daemon from answering within the client's 5 s: retry (bounded)
    const status = await Promise.all(hosts.map((h) => waitFor(() => h.client.status().catch(() => null),
      { timeoutMs: 60_000, intervalMs: 500, what: `status of ${h.ns}` })));
    const all = status.map((s) => s.name).sort();
    const convergeMs = await untilAllSee(hosts, all.join(','), 120_000, `all ${n} see all`);
    say(`scale ${n}: converged ${convergeMs} ms after the last launch`);
    // "Sees every peer" comes before the connection maker has opened every connection it will
    // (each new one exchanges full states): the idle window starts once the connection count
    // held still for SETTLE_MS (bounded).
    const settleStart = Date.now();
    let conns = -1;
    for (;;) {
      const now = (await Promise.all(hosts.map(async (h) => (await h.client.status().catch(() => null))?.connections.filter((c) => c.state === 'established').length ?? -1)))
        .reduce((a, v) => a + v, 0);
      if (now === conns || Date.now() - settleStart > SETTLE_MAX_MS) break;
      conns = now;
      await new Promise((r) => setTimeout(r, SETTLE_MS)); // the connection count must hold still this long
    }
    const rss = await Promise.all(status.map((s) => rssMb(s.pid)));
    const idleWindowS = o.idleWindowS ?? 10;
    const g0 = await Promise.all(hosts.map(gossipOut));
    await new Promise((r) => setTimeout(r, idleWindowS * 1000)); // the idle measurement window itself
    const g1 = await Promise.all(hosts.map(gossipOut));
    const gossipBytesPerS = g1.reduce((a, v, i) => a + v - g0[i]!, 0) / n / idleWindowS;
    // kill a quarter (never host 1, so the survivors keep a seed host)
    const killed = Math.max(1, Math.round(n / 4));
    const order = hosts.slice(1).map((h) => ({ h, k: rnd() })).sort((a, b) => a.k - b.k).map((x) => x.h);
    const victims = new Set(order.slice(0, killed));
    const survivors = hosts.filter((h) => !victims.has(h));
    const want = survivors.map((h) => status[hosts.indexOf(h)]!.name).sort().join(',');
    const tk = Date.now();
    for (const v of victims) lab.kill(v);
    await untilAllSee(survivors, want, 120_000, `${killed} killed dropped`);
    const dropMs = Date.now() - tk;
    say(`scale ${n}: ${killed} killed, dropped everywhere after ${dropMs} ms`);
    return { n, launchMs, convergeMs, killed, dropMs, rssMb: rss, gossipBytesPerS, idleWindowS, load: [load0, loadavg()[0]!] };
  } finally {
    for (const h of lab.hosts) lab.stop(h);
    lab.destroy();
  }
}
