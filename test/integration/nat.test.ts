/**
 * NAT traversal (issue 16) with real daemons: sites A and C behind their own nftables NAT
 * routers (outbound only), public host B, every daemon given only B's address. Checks the
 * punched path by packet counters on B, B cut and restored, symmetric NAT → relayed with the
 * reason, and forged punch datagrams refused.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Lab, isRoot, sh, WEFT } from '../support/lab.js';
import { attachPods, buildNatSites, connTo, cutHost, pingRun, podIp, relayedFrames, timeToPunched, type NatSites } from '../support/nat-lab.js';

const skip = !isRoot() ? 'needs root (network namespaces)'
  : sh('sh', ['-c', 'command -v nft && command -v ping'], { allowFail: true }).split('\n').filter(Boolean).length < 2 ? 'nft and ping needed (scripts/setup-system.sh)' : false;

/** "Both see each other": each holds the other's topology record (learned through B). */
async function seeEachOther(lab: Lab, s: NatSites): Promise<void> {
  const [an, cn] = [(await lab.status(s.a)).name, (await lab.status(s.c)).name];
  await lab.until('A and C see each other through B', 20_000, async () =>
    (await lab.status(s.a)).peers.some((p) => p.name === cn) && (await lab.status(s.c)).peers.some((p) => p.name === an));
}

test('NAT preserve/preserve: A↔C punched within 5 s, traffic direct (B relays ~0), forged datagrams refused, B cut → ≤ 2 s loss', { skip, timeout: 120_000 }, async () => {
  const lab = new Lab();
  try {
    const s = buildNatSites(lab, { a: 'preserve', c: 'preserve' });
    const [b] = s.publics as [typeof s.a];
    const t = await timeToPunched(s, 30_000);
    console.log(`# preserve/preserve: saw each other ${t.seeMs} ms after launch, punched ${t.punchedAfterMs} ms later`);
    assert.ok(t.punchedAfterMs <= 5_000, `punched ${t.punchedAfterMs} ms after both saw each other`);
    attachPods(s);
    const podA = s.pod.get(s.a.index)!;
    // Traffic goes direct: B relays (almost) nothing of 300 pings.
    const before = await relayedFrames(lab, b);
    const r = await pingRun(lab, podA, podIp(s.c), 300, 5);
    assert.ok(r.received >= 297, `pings A→C: ${r.out}`);
    const relayed = (await relayedFrames(lab, b)) - before;
    console.log(`# B relayed ${relayed} frames of 600 (300 pings + replies)`);
    // (what B relays are the pods' multicast/broadcast frames: IPv6 ND/MLD, ARP; they follow the mesh's tree)
    assert.ok(relayed <= 12, `B relayed ${relayed} frames`);
    const ac = await connTo(lab, s.a, s.c);
    assert.equal(ac?.state, 'established');
    assert.match(ac?.address ?? '', new RegExp(`^${s.c.wanIp.replaceAll('.', '\\.')}:\\d+$`), 'punched to C\'s public endpoint');
    const cName = (await lab.status(s.c)).name;
    type Dp = { stats: { drops: Record<string, number> }; links: { peer: string; direct: boolean; udpAddress: string | null }[] };
    const dp = async () => (await lab.status(s.a)).dataplane as unknown as Dp;
    const dropsBefore = await dp();
    const linkBefore = dropsBefore.links.find((l) => l.peer === cName && l.direct);
    assert.ok(linkBefore?.udpAddress, 'A has a punched link to C');
    // Heartbeats claiming to be C, from another port, with a garbage sealed body: the sleeve must
    // refuse them before they move the punched path (address learning needs an authenticated datagram).
    const forged = Buffer.alloc(64, 0xab);
    forged[0] = 0x12; forged[1] = 0;
    Buffer.from(cName.replaceAll(':', ''), 'hex').copy(forged, 2);
    forged.fill(0, 8, 20);
    forged[19] = 1;
    const script = `const d=require('dgram').createSocket('udp4');const b=Buffer.from('${forged.toString('hex')}','hex');let n=0;`
      + `const t=setInterval(()=>{d.send(b,6783,'${s.a.ip}');if(++n>=50){clearInterval(t);setTimeout(()=>d.close(),200)}},5)`;
    lab.exec(s.a, process.execPath, ['-e', script]);
    const refused = (d: Dp) => (d.stats.drops.auth ?? 0) + (d.stats.drops.replay ?? 0) + (d.stats.drops.malformed ?? 0);
    await lab.until('A counted the 50 forged datagrams', 5_000, async () => refused(await dp()) - refused(dropsBefore) >= 50);
    const after = await dp();
    assert.equal(after.links.find((l) => l.peer === cName && l.direct)?.udpAddress, linkBefore.udpAddress, 'the punched path did not move');
    // B cut: pings every 20 ms for 4 s; at most 2 s of them may be lost.
    const run = pingRun(lab, podA, podIp(s.c), 200, 20);
    await new Promise((res) => setTimeout(res, 500));
    cutHost(lab, b, true);
    const cut = await run;
    const lostMs = (cut.sent - cut.received) * 20;
    console.log(`# B cut: ${cut.sent - cut.received} of ${cut.sent} pings lost (${lostMs} ms)`);
    assert.ok(cut.sent >= 190 && lostMs <= 2_000, `B cut: ${cut.out}`);
    // Still punched with B gone, and still carrying traffic after the mesh noticed B's loss.
    await lab.until('A notices B is gone', 15_000, async () => (await connTo(lab, s.a, b))?.state !== 'established');
    const later = await pingRun(lab, podA, podIp(s.c), 20, 50);
    assert.ok(later.received >= 19, `after B is gone: ${later.out}`);
    assert.equal((await connTo(lab, s.a, s.c))?.path, 'punched');
    cutHost(lab, b, false);
    await lab.until('B back', 20_000, async () => (await connTo(lab, s.a, b))?.state === 'established');
    const back = await pingRun(lab, podA, podIp(s.c), 20, 50);
    assert.ok(back.received >= 19, `after B is back: ${back.out}`);
    assert.equal((await connTo(lab, s.a, s.c))?.path, 'punched');
  } finally {
    lab.destroy();
  }
});

test('NAT random-port/preserve: relayed, with the reason (the random-port NAT rewrites ports); pods still talk', { skip, timeout: 90_000 }, async () => {
  const lab = new Lab();
  try {
    const s = buildNatSites(lab, { a: 'preserve', c: 'random' });
    await seeEachOther(lab, s);
    attachPods(s);
    await lab.until('A reports why A↔C is relayed', 30_000, async () => {
      const c = await connTo(lab, s.a, s.c);
      return c?.path === 'relayed' && /NAT rewrites ports/.test(c.reason ?? '');
    });
    const row = await connTo(lab, s.a, s.c);
    console.log(`# random/preserve: ${row?.state} via ${row?.via}: ${row?.reason}`);
    assert.match(row?.reason ?? '', /the peer's NAT rewrites ports/);
    const r = await pingRun(lab, s.pod.get(s.a.index)!, podIp(s.c), 10, 100);
    assert.ok(r.received >= 9, `relayed pings: ${r.out}`);
  } finally {
    lab.destroy();
  }
});

test('symmetric NAT on both sides (two public peers): relayed, with the reason in status; pods still talk', { skip, timeout: 120_000 }, async () => {
  const lab = new Lab();
  try {
    const s = buildNatSites(lab, { a: 'fully-random', c: 'fully-random', publics: 2 });
    await seeEachOther(lab, s);
    attachPods(s);
    const t0 = Date.now();
    const row = await lab.until('A reports why A↔C is relayed', 30_000, async () => {
      const c = await connTo(lab, s.a, s.c);
      return c?.path === 'relayed' && /symmetric NAT detected/.test(c.reason ?? '');
    }).then(() => connTo(lab, s.a, s.c));
    console.log(`# ${Date.now() - t0} ms after seeing each other, status: ${row?.state} via ${row?.via}: ${row?.reason}`);
    assert.match(row?.reason ?? '', /seen from different ports by different peers/);
    const r = await pingRun(lab, s.pod.get(s.a.index)!, podIp(s.c), 10, 100);
    assert.ok(r.received >= 9, `relayed pings: ${r.out}`);
    const out = lab.exec(s.a, process.execPath, [WEFT, 'status', 'connections', '--api-socket', s.a.socket]);
    assert.match(out, /relayed +encrypted .*relayed via .*symmetric NAT detected/, out);
    console.log(out.split('\n').map((l) => `# ${l}`).join('\n'));
  } finally {
    lab.destroy();
  }
});

