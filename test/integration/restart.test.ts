/**
 * Daemon restarts and kernel events, end to end: real daemons (weft launch / stop / SIGKILL) in
 * namespaces on one underlay bridge, pods attached with weft attach, a 20 ms ping stream between
 * pods, and the kernel's own view (bridge fdb, ip route, nft) read back after every restart.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Lab, isRoot, sh, WEFT, type LabHost } from '../support/lab.js';
import { waitFor } from '../support/wait.js';

const skip = !isRoot() ? 'needs root (network namespaces): run the tests as root, e.g. sudo npm test'
  : sh('sh', ['-c', 'command -v nft && command -v bridge'], { allowFail: true }).split('\n').filter(Boolean).length < 2
    ? 'nft and bridge (iproute2) needed (scripts/setup-system.sh)' : false;

const podIp = (i: number) => `10.32.0.${10 + i}`;

interface Conn { peer: string; mode?: string; state: string }

async function modes(lab: Lab, h: LabHost): Promise<string[]> {
  const s = await h.client.status().catch(() => null);
  return ((s?.connections ?? []) as Conn[]).filter((c) => c.state === 'established').map((c) => c.mode ?? '?');
}

async function allIn(lab: Lab, hosts: LabHost[], mode: string, ms = 30_000): Promise<void> {
  await lab.until(`every host with its peer in mode ${mode}`, ms, async () => {
    for (const h of hosts) {
      const m = await modes(lab, h);
      if (m.length < hosts.length - 1 || m.some((x) => x !== mode)) return false;
    }
    return true;
  });
}

function attach(lab: Lab, h: LabHost, pod: string, ip: string): void {
  sh('ip', ['netns', 'add', pod]);
  lab.exec(h, process.execPath, [WEFT, 'attach', '--ip', `${ip}/12`, '--api-socket', h.socket, `/run/netns/${pod}`]);
}

/** A ping every 20 ms; `end()` stops it and returns transmitted / received. */
function pingStream(pod: string, ip: string): { replies(): number; replyTimes(): number[]; end(): Promise<{ sent: number; received: number; out: string }> } {
  const p: ChildProcess = spawn('ip', ['netns', 'exec', pod, 'ping', '-D', '-O', '-i', '0.02', '-W', '2', ip], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  p.stdout!.on('data', (d) => { out += String(d); });
  return {
    replies: () => out.split('bytes from').length - 1,
    replyTimes: () => [...out.matchAll(/^\[(\d+\.\d+)\] \d+ bytes from/gm)].map((m) => Number(m[1]) * 1000),
    end: () => new Promise((resolve) => {
      p.once('exit', () => {
        const m = /(\d+) packets transmitted, (\d+) received/.exec(out);
        if (process.env.DEBUG_PING) console.log(out.split('\n').filter((l) => l.includes('no answer')).join('\n'));
        resolve({ sent: Number(m?.[1] ?? 0), received: Number(m?.[2] ?? 0), out: out.split('\n').slice(-4).join(' | ') });
      });
      p.kill('SIGINT');
    }),
  };
}

async function daemonGone(h: LabHost): Promise<void> {
  await waitFor(async () => (await h.client.status().then(() => false, () => true)), { timeoutMs: 20_000, what: `daemon on ${h.ns} gone` });
}

/** weft stop (or SIGKILL) and relaunch host `h`; resolves with the downtime. ms */
async function restart(lab: Lab, h: LabHost, how: 'stop' | 'kill', launch: () => void): Promise<number> {
  const t0 = Date.now();
  if (process.env.DEBUG_PING) console.log(`${(t0 / 1000).toFixed(3)} ${how} ${h.ns}`);
  if (how === 'stop') lab.stop(h);
  else lab.kill(h);
  await daemonGone(h);
  if (process.env.DEBUG_PING) console.log(`${(Date.now() / 1000).toFixed(3)} gone; launching`);
  launch();
  await waitFor(async () => (await h.client.status().then(() => true, () => false)), { timeoutMs: 30_000, what: `daemon on ${h.ns} back` });
  return Date.now() - t0;
}

/** The kernel's fast-path state on a host, read with iproute2 and nft. */
function kernelView(lab: Lab, h: LabHost): { vxlan: string[]; flood: string[]; routes: string[]; nft: string[] } {
  const fdb = JSON.parse(lab.exec(h, 'bridge', ['-j', 'fdb', 'show', 'dev', 'weft-vxlan'], { allowFail: true }) || '[]') as
    { mac: string; dst?: string; flags?: string[] }[];
  const self = fdb.filter((e) => e.dst !== undefined);
  const routes = (JSON.parse(lab.exec(h, 'ip', ['-j', 'route', 'show', 'proto', '87']) || '[]') as { dst: string; gateway?: string; dev?: string }[])
    .map((r) => `${r.dst} ${r.gateway ?? r.dev ?? ''}`);
  const nft = lab.exec(h, 'nft', ['list', 'table', 'netdev', 'weft_hostgw'], { allowFail: true });
  const elems = [...nft.matchAll(/elements = \{([^}]*)\}/g)].flatMap((m) => m[1]!.split(',').map((x) => x.trim()).filter(Boolean));
  return {
    vxlan: self.filter((e) => e.mac !== '00:00:00:00:00:00').map((e) => `${e.mac} ${e.dst}`),
    flood: self.filter((e) => e.mac === '00:00:00:00:00:00').map((e) => e.dst!),
    routes, nft: elems,
  };
}

function assertNoDuplicates(label: string, v: ReturnType<typeof kernelView>): void {
  for (const [k, list] of Object.entries(v)) {
    assert.equal(new Set(list).size, list.length, `${label}: duplicate ${k} entries: ${list.join('; ')}`);
  }
  const macs = v.vxlan.map((e) => e.split(' ')[0]);
  assert.equal(new Set(macs).size, macs.length, `${label}: a MAC with two VXLAN remotes: ${v.vxlan.join('; ')}`);
}

test('host-gw and VXLAN: weft stop / relaunch and SIGKILL / relaunch lose no packet of a 20 ms ping stream; nothing duplicated after',
  { skip, timeout: 240_000 }, async () => {
    const lab = new Lab();
    const pods: string[] = [];
    try {
      const [h1, h2] = lab.addHosts(2);
      for (const [mode, args] of [['hostgw', []], ['vxlan', ['--no-hostgw']]] as const) {
        const launch = (h: LabHost) => lab.launch(h, { peers: h === h1 ? [] : [h1.ip], extraArgs: [...args] });
        launch(h1);
        launch(h2);
        if (pods.length === 0) {
          for (const h of [h1, h2]) {
            const pod = `${lab.prefix}p${h.index}`;
            attach(lab, h, pod, podIp(h.index));
            pods.push(pod);
          }
        }
        await allIn(lab, [h1, h2], mode);
        await waitFor(() => / 0% packet loss/.test(sh('ip', ['netns', 'exec', pods[0]!, 'ping', '-c', '1', '-W', '1', podIp(2)], { allowFail: true })),
          { timeoutMs: 10_000, what: `${mode}: pod 1 reaches pod 2` });
        const stream = pingStream(pods[0]!, podIp(2));
        await waitFor(() => stream.replies() >= 20, { timeoutMs: 10_000, intervalMs: 50, what: `${mode}: the ping stream running` });
        const downs: number[] = [];
        for (const [h, how] of [[h1, 'stop'], [h1, 'kill'], [h2, 'stop'], [h2, 'kill']] as const) {
          downs.push(await restart(lab, h, how, () => launch(h)));
          await allIn(lab, [h1, h2], mode);
          if (process.env.DEBUG_PING) console.log(`${(Date.now() / 1000).toFixed(3)} converged`);
        }
        // More traffic after the last reconvergence (the reconciled state carries it too).
        const before = stream.replies();
        await waitFor(() => stream.replies() >= before + 50, { timeoutMs: 10_000, intervalMs: 50, what: `${mode}: 50 more replies after the restarts` });
        const r = await stream.end();
        console.log(`# ${mode}: ${r.sent} pings at 20 ms over 4 restarts (downtimes ${downs.join(', ')} ms): ${r.sent - r.received} lost`);
        assert.ok(r.sent > 100, `${mode}: the stream ran (${r.out})`);
        assert.equal(r.sent - r.received, 0, `${mode}: pings lost across restarts: ${r.out}`);
        for (const h of [h1, h2]) {
          await lab.until(`${mode}: ${h.ns} reconciled the adopted state`, 40_000, async () =>
            ((await lab.status(h)) as { dataplane?: { fastpath?: { kernel?: { adopting?: boolean } } } }).dataplane?.fastpath?.kernel?.adopting === false);
          const v = kernelView(lab, h);
          assertNoDuplicates(`${mode} ${h.ns}`, v);
          if (mode === 'vxlan') {
            assert.deepEqual(v.routes, [], `${h.ns}: no host-gw routes left under --no-hostgw`);
            assert.deepEqual(v.nft, [], `${h.ns}: no host-gw nft elements under --no-hostgw`);
          } else {
            assert.equal(v.routes.length, 2, `${h.ns}: one route per pod (the local one and the remote one): ${v.routes.join('; ')}`);
          }
        }
        for (const h of [h1, h2]) lab.stop(h);
      }
    } finally {
      for (const p of pods) sh('ip', ['netns', 'del', p], { allowFail: true });
      lab.destroy();
    }
  });

test('restart reconciles: a pod removed while its daemon was down leaves no route, neighbour, nft element or FDB entry on either host',
  { skip, timeout: 120_000 }, async () => {
    const lab = new Lab();
    const pods: string[] = [];
    try {
      const [h1, h2] = lab.addHosts(2);
      const launch = (h: LabHost) => lab.launch(h, { peers: h === h1 ? [] : [h1.ip] });
      launch(h1);
      launch(h2);
      for (const [h, i] of [[h1, 1], [h1, 3], [h2, 2]] as const) {
        const pod = `${lab.prefix}p${i}`;
        attach(lab, h, pod, podIp(i));
        pods.push(pod);
      }
      await allIn(lab, [h1, h2], 'hostgw');
      const gone = podIp(3);
      await lab.until('host 2 forwards to both pods of host 1', 10_000, () => kernelView(lab, h2).routes.some((r) => r.startsWith(gone)));
      const goneMac = JSON.parse(sh('ip', ['-n', pods[1]!, '-j', 'link', 'show', 'ethwe']))[0].address as string;

      lab.stop(h1);
      await daemonGone(h1);
      assert.ok(kernelView(lab, h1).routes.some((r) => r.startsWith(gone)), 'a plain stop left the fast-path state in place');
      sh('ip', ['netns', 'del', pods[1]!]); // the pod goes while no daemon runs
      pods.splice(1, 1);
      launch(h1);
      await allIn(lab, [h1, h2], 'hostgw');
      for (const h of [h1, h2]) {
        await lab.until(`${h.ns}: nothing left of the removed pod`, 40_000, () => {
          const v = kernelView(lab, h);
          return !v.routes.some((r) => r.startsWith(`${gone} `)) && !v.nft.some((e) => e.includes(gone)) && !v.vxlan.some((e) => e.startsWith(goneMac));
        });
        const v = kernelView(lab, h);
        assertNoDuplicates(h.ns, v);
        assert.equal(v.routes.length, 2, `${h.ns}: routes for exactly the two pods left: ${v.routes.join('; ')}`);
      }
      const neigh = lab.exec(h1, 'ip', ['neigh', 'show', 'dev', 'weft']);
      assert.ok(!neigh.includes(gone), `host 1 keeps no neighbour for the removed pod: ${neigh}`);
      assert.match(sh('ip', ['netns', 'exec', pods[0]!, 'ping', '-c', '3', '-i', '0.2', '-W', '2', podIp(2)], { allowFail: true }), / 0% packet loss/);
      assert.match(lab.log(h1), /adopted the kernel state of the previous daemon/);

      // weft reset (unlike a stop) removes every piece of fast-path state.
      lab.exec(h1, process.execPath, [WEFT, 'reset', '--api-socket', h1.socket], { timeoutMs: 30_000 });
      await daemonGone(h1);
      const left = kernelView(lab, h1);
      assert.deepEqual(left, { vxlan: [], flood: [], routes: [], nft: [] }, 'nothing left after weft reset');
      for (const dev of ['weft-vxlan', 'weft-vxprobe', 'weft']) {
        assert.equal(lab.exec(h1, 'ip', ['link', 'show', dev], { allowFail: true }), '', `${dev} removed by weft reset`);
      }
      assert.equal(lab.exec(h1, 'nft', ['list', 'table', 'netdev', 'weft_hostgw'], { allowFail: true }), '', 'nft table removed');
    } finally {
      for (const p of pods) sh('ip', ['netns', 'del', p], { allowFail: true });
      lab.destroy();
    }
  });

test('event overflow: a flood of link events overflows the daemon\'s netlink socket; it logs a resync and finds a pod added during the flood',
  { skip, timeout: 180_000 }, async () => {
    const lab = new Lab();
    const pod = `${lab.prefix}pf`;
    const saved = process.env.WEFT_NETLINK_RCVBUF_BYTES;
    try {
      const [h1] = lab.addHosts(1);
      process.env.WEFT_NETLINK_RCVBUF_BYTES = '4096';
      try {
        lab.launch(h1, {});
      } finally {
        if (saved === undefined) delete process.env.WEFT_NETLINK_RCVBUF_BYTES;
        else process.env.WEFT_NETLINK_RCVBUF_BYTES = saved;
      }
      await waitFor(async () => (await h1.client.status().then(() => true, () => false)), { timeoutMs: 20_000, what: 'daemon up' });
      const batch = join(lab.dir, 'flood.batch');
      const lines: string[] = [];
      for (let i = 0; i < 1000; i++) lines.push(`link add ${lab.prefix}f${i % 50} type bridge`, `link del ${lab.prefix}f${i % 50}`);
      writeFileSync(batch, `${lines.join('\n')}\n`);
      const flood = spawn('ip', ['netns', 'exec', h1.ns, 'ip', '-force', '-batch', batch], { stdio: 'ignore' });
      const flooded = new Promise((r) => flood.once('exit', r));
      // A pod plugged in by hand (as a foreign plugin would) during the flood: no API call tells the daemon.
      sh('ip', ['netns', 'add', pod]);
      const host = `${lab.prefix}pv`;
      lab.exec(h1, 'ip', ['link', 'add', host, 'type', 'veth', 'peer', 'name', 'ethwe', 'netns', pod]);
      sh('ip', ['-n', pod, 'addr', 'add', '10.32.0.77/12', 'dev', 'ethwe']);
      sh('ip', ['-n', pod, 'link', 'set', 'ethwe', 'up']);
      lab.exec(h1, 'ip', ['link', 'set', host, 'master', 'weft', 'alias', `weft:ethwe:/run/netns/${pod}`, 'up']);
      await flooded;
      await lab.until('the daemon logged a resync after lost events', 20_000, () => /full resync of local pods/.test(lab.log(h1)));
      // One resync per overflow incident: every "events lost" of the monitor has exactly one rescan.
      const logLines = lab.log(h1).split('\n');
      const resyncs = logLines.filter((l) => l.includes('full resync of local pods')).length;
      const lost = logLines.filter((l) => l.includes('host: kernel events lost')).length;
      console.log(`# ${lost} overflow(s), ${resyncs} resync(s) logged for a flood of 2000 link events`);
      assert.ok(resyncs >= 1, 'at least one resync');
      assert.equal(resyncs, lost, 'one resync per overflow');
      // The model matches the kernel: the hand-made pod is a local host-gw pod (a /32 on the bridge).
      await lab.until('the pod added during the flood is programmed', 10_000, () =>
        lab.exec(h1, 'ip', ['route', 'show', 'proto', '87']).includes('10.32.0.77 dev weft'));
      // Events still arrive after the resync: the pod's removal is seen.
      lab.exec(h1, 'ip', ['link', 'del', host]);
      await lab.until('the removed pod unprogrammed', 10_000, () => !lab.exec(h1, 'ip', ['route', 'show', 'proto', '87']).includes('10.32.0.77'));
      assert.match(lab.log(h1), /kernel events lost; full resync/);
    } finally {
      sh('ip', ['netns', 'del', pod], { allowFail: true });
      lab.destroy();
    }
  });

/** Time (ms since the epoch) of the last log line of `h` containing `msg`. */
function logTime(lab: Lab, h: LabHost, msg: string): number {
  const lines = lab.log(h).split('\n').filter((l) => l.includes(msg));
  const last = lines[lines.length - 1];
  if (!last) throw new Error(`no "${msg}" in the log of ${h.ns}`);
  return (JSON.parse(last) as { time: number }).time;
}

test('sleeve with a secret: stop / relaunch and SIGKILL / relaunch interrupt a 20 ms ping stream for at most the downtime + 500 ms',
  { skip, timeout: 180_000 }, async () => {
    const lab = new Lab();
    const pods: string[] = [];
    const secret = 'restart-test-secret-0123456789';
    try {
      const [h1, h2] = lab.addHosts(2);
      // Host 1 has no configured peers: after its restart only the remembered peers.json gets it dialling.
      const launch = (h: LabHost) => lab.launch(h, { peers: h === h1 ? [] : [h1.ip], password: secret, defaultTimings: true });
      launch(h1);
      launch(h2);
      for (const h of [h1, h2]) {
        const pod = `${lab.prefix}p${h.index}`;
        attach(lab, h, pod, podIp(h.index));
        pods.push(pod);
      }
      await allIn(lab, [h1, h2], 'sleeve');
      await waitFor(() => / 0% packet loss/.test(sh('ip', ['netns', 'exec', pods[0]!, 'ping', '-c', '1', '-W', '1', podIp(2)], { allowFail: true })),
        { timeoutMs: 10_000, what: 'pod 1 reaches pod 2 over the sleeve' });
      await lab.until('host 1 remembered its peer', 10_000, () => {
        try { return JSON.parse(sh('cat', [join(h1.dataDir, 'peers.json')])).peers.includes(`${h2.ip}:6783`); } catch { return false; }
      });
      const stream = pingStream(pods[0]!, podIp(2));
      await waitFor(() => stream.replies() >= 20, { timeoutMs: 10_000, intervalMs: 50, what: 'the ping stream running' });
      const results: string[] = [];
      for (const [h, how] of [[h1, 'stop'], [h1, 'kill'], [h2, 'stop'], [h2, 'kill']] as const) {
        const before = stream.replies();
        const t0 = Date.now();
        if (how === 'stop') lab.stop(h);
        else lab.kill(h);
        await daemonGone(h);
        // The old daemon's data plane ends at "shutting down" (weft stop) or at the SIGKILL.
        const down = how === 'stop' ? logTime(lab, h, '"shutting down"') : t0;
        launch(h);
        await allIn(lab, [h1, h2], 'sleeve');
        await waitFor(() => stream.replies() >= before + 25, { timeoutMs: 20_000, intervalMs: 50, what: `replies after the ${how} of ${h.ns}` });
        const ready = logTime(lab, h, 'weft daemon ready');
        const downtime = ready - down;
        const times = stream.replyTimes().filter((t) => t >= down - 1000);
        let gap = 0;
        for (let i = 1; i < times.length; i++) gap = Math.max(gap, times[i]! - times[i - 1]!);
        results.push(`${how} ${h.ns}: downtime ${downtime} ms, gap ${Math.round(gap)} ms`);
        assert.ok(gap <= downtime + 500, `${how} of ${h.ns}: the stream stopped for ${Math.round(gap)} ms, downtime ${downtime} ms`);
      }
      console.log(`# sleeve: ${results.join('; ')}`);
      await stream.end();
    } finally {
      for (const p of pods) sh('ip', ['netns', 'del', p], { allowFail: true });
      lab.destroy();
    }
  });
