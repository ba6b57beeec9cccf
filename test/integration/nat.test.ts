/**
 * NAT traversal (issue 16) with real daemons: sites A and C behind their own nftables NAT
 * routers (outbound only), public host B, every daemon given only B's address. Checks the
 * punched path by packet counters on B, B cut and restored, symmetric NAT → relayed with the
 * reason, and forged punch datagrams refused.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Lab, isRoot, sh } from '../support/lab.js';
import { buildNatSites, connTo, cutHost, pingRun, podIp, relayedFrames, type NatKind } from '../support/nat-lab.js';

const skip = !isRoot() ? 'needs root (network namespaces)'
  : sh('sh', ['-c', 'command -v nft && command -v ping'], { allowFail: true }).split('\n').filter(Boolean).length < 2 ? 'nft and ping needed (scripts/setup-system.sh)' : false;

async function punchedWithin(lab: Lab, s: ReturnType<typeof buildNatSites>): Promise<number> {
  // "Both see each other": each has a status row for the other (reachable over the mesh via B).
  await lab.until('A and C see each other through B', 20_000, async () => !!(await connTo(lab, s.a, s.c)) && !!(await connTo(lab, s.c, s.a)));
  return lab.until('A↔C punched', 10_000, async () => {
    const [ac, ca] = [await connTo(lab, s.a, s.c), await connTo(lab, s.c, s.a)];
    return ac?.path === 'punched' && ca?.path === 'punched';
  });
}

for (const [ka, kc] of [['preserve', 'preserve']] as [NatKind, NatKind][]) {
  test(`NAT ${ka}/${kc}: A↔C punched within 5 s, traffic direct (B relays ~0), B cut → ≤ 2 s loss`, { skip, timeout: 120_000 }, async () => {
    const lab = new Lab();
    try {
      const s = buildNatSites(lab, { a: ka, c: kc });
      const [b] = s.publics as [typeof s.a];
      const waited = await punchedWithin(lab, s);
      console.log(`# ${ka}/${kc}: punched ${waited} ms after both saw each other`);
      assert.ok(waited <= 5_000, `punched after ${waited} ms`);
      const podA = s.pod.get(s.a.index)!;
      // Traffic goes direct: B relays (almost) nothing of 300 pings.
      const before = await relayedFrames(lab, b);
      const r = await pingRun(lab, podA, podIp(s.c), 300, 5);
      assert.ok(r.received >= 297, `pings A→C: ${r.out}`);
      const relayed = (await relayedFrames(lab, b)) - before;
      console.log(`# B relayed ${relayed} frames of 600 (300 pings + replies)`);
      assert.ok(relayed <= 6, `B relayed ${relayed} frames`);
      const ac = await connTo(lab, s.a, s.c);
      assert.equal(ac?.state, 'established');
      assert.match(ac?.address ?? '', new RegExp(`^${s.c.wanIp.replaceAll('.', '\\.')}:\\d+$`), 'punched to C\'s public endpoint');
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
}

test('symmetric NAT on both sides (two public peers): relayed, with the reason in status; pods still talk', { skip, timeout: 120_000 }, async () => {
  const lab = new Lab();
  try {
    const s = buildNatSites(lab, { a: 'fully-random', c: 'fully-random', publics: 2 });
    await lab.until('A and C see each other', 20_000, async () => !!(await connTo(lab, s.a, s.c)));
    const row = await lab.until('A reports why A↔C is relayed', 30_000, async () => {
      const c = await connTo(lab, s.a, s.c);
      return c?.path === 'relayed' && /symmetric NAT detected/.test(c.reason ?? '');
    }).then(() => connTo(lab, s.a, s.c));
    console.log(`# status: ${row?.state} via ${row?.via}: ${row?.reason}`);
    assert.match(row?.reason ?? '', /seen from different ports by different peers/);
    const r = await pingRun(lab, s.pod.get(s.a.index)!, podIp(s.c), 10, 100);
    assert.ok(r.received >= 9, `relayed pings: ${r.out}`);
    const out = lab.exec(s.a, process.execPath, ['bin/weft', 'status', 'connections', '--api-socket', s.a.socket]);
    assert.match(out, /relayed/, out);
  } finally {
    lab.destroy();
  }
});

test('forged datagrams claiming to be the punched peer are counted and refused; the punched path is unaffected', { skip, timeout: 90_000 }, async () => {
  const lab = new Lab();
  try {
    const s = buildNatSites(lab, { a: 'preserve', c: 'preserve' });
    await punchedWithin(lab, s);
    const cName = (await lab.status(s.c)).name;
    type Dp = { stats: { drops: Record<string, number> }; links: { peer: string; direct: boolean; udpAddress: string | null }[] };
    const dp = async () => (await lab.status(s.a)).dataplane as unknown as Dp;
    const before = await dp();
    const linkBefore = before.links.find((l) => l.peer === cName && l.direct);
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
    await lab.until('A counted the 50 forged datagrams', 5_000, async () => refused(await dp()) - refused(before) >= 50);
    const after = await dp();
    assert.equal(after.links.find((l) => l.peer === cName && l.direct)?.udpAddress, linkBefore.udpAddress, 'the punched path did not move');
    const r = await pingRun(lab, s.pod.get(s.a.index)!, podIp(s.c), 20, 50);
    assert.ok(r.received >= 19, r.out);
    assert.equal((await connTo(lab, s.a, s.c))?.path, 'punched');
  } finally {
    lab.destroy();
  }
});
