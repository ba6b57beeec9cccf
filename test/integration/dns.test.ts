/**
 * Service discovery end to end, with real parts only: three weft daemons in host namespaces, a
 * fourth namespace running dnsmasq as the upstream resolver, pods attached with `weft attach
 * --name`, and dig inside the pods asking the DNS server on their host's overlay address (what
 * `weft dns-args` prints). Names of pods on other hosts resolve (one name on two hosts: both
 * addresses); unknown names are NXDOMAIN; other names are forwarded to dnsmasq (and a reply too
 * big for UDP comes over TCP); dns-add / dns-remove and a detach propagate to every host; a
 * partition heals without resurrecting removed names; a restart of every daemon keeps the
 * manual records (and their tombstones); malformed datagrams are counted and refused.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Lab, isRoot, sh, WEFT, type LabHost } from '../support/lab.js';
import { waitFor } from '../support/wait.js';
import { FIXTURE, dig, digStatus, sendRaw, startDnsmasq } from '../support/dns-lab.js';

const skip = !isRoot() ? 'needs root (network namespaces): run the tests as root, e.g. sudo npm test'
  : sh('sh', ['-c', 'command -v dig && command -v dnsmasq'], { allowFail: true }).trim().split('\n').length < 2
    ? 'dig and dnsmasq needed (scripts/setup-system.sh: dnsutils, dnsmasq-base)' : false;

const gw = (i: number) => `10.32.0.${i}`;
const podIp = (i: number) => `10.32.0.${10 + i}`;
const sorted = (s: string) => s.split('\n').filter(Boolean).sort().join(' ');

function weft(lab: Lab, h: LabHost, args: string[], allowFail = false): string {
  return lab.exec(h, process.execPath, [WEFT, ...args, '--api-socket', h.socket], { allowFail, timeoutMs: 20_000 }).trim();
}

test('dns: pod names resolve on every host, manual records and removals propagate, forwarding, partition, restart, malformed input',
  { skip, timeout: 240_000 }, async () => {
    const lab = new Lab();
    const pods: string[] = [];
    try {
      const [h1, h2, h3, up] = lab.addHosts(4);
      await startDnsmasq(lab, up.ns, up.ip);
      const hosts = [h1, h2, h3];
      const launch = (h: LabHost) => lab.launch(h, { peers: h === h1 ? [] : [h1.ip], extraArgs: ['--dns-upstream', up.ip] });
      for (const h of hosts) launch(h);
      for (const [i, h] of hosts.entries()) weft(lab, h, ['expose', `${gw(i + 1)}/12`]);
      const pod = (h: LabHost, name: string, i: number) => {
        const ns = `${lab.prefix}p${i}`;
        sh('ip', ['netns', 'add', ns]);
        pods.push(ns);
        sh('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
        weft(lab, h, ['attach', '--ip', `${podIp(i)}/12`, '--name', name, ns]);
        return ns;
      };
      const p1 = pod(h1, 'web', 1);
      const p2 = pod(h2, 'db', 2);
      const p3 = pod(h3, 'web', 3);

      // The server listens where dns-args says, on each host.
      for (const [i, h] of hosts.entries()) {
        await lab.until(`host ${i + 1}'s DNS server listening`, 20_000, async () => (await lab.status(h)).dns?.listening === `${gw(i + 1)}:53`);
        assert.equal(weft(lab, h, ['dns-args']), `--dns ${gw(i + 1)} --dns-search weft.local`);
      }

      // Names of pods on other hosts; one name on two hosts answers both addresses.
      await waitFor(() => dig(p1, gw(1), 'db.weft.local') === podIp(2), { timeoutMs: 30_000, what: 'db (host 2) resolved from a pod on host 1' });
      await waitFor(() => sorted(dig(p2, gw(2), 'web.weft.local')) === [podIp(1), podIp(3)].sort().join(' '),
        { timeoutMs: 30_000, what: 'web (hosts 1 and 3) resolved from host 2 with both addresses' });
      const full = dig(p3, gw(3), 'DB.Weft.Local.', 'A', ['+noall', '+answer']);
      assert.match(full, /^DB\.Weft\.Local\.\s+1\s+IN\s+A\s+10\.32\.0\.12$/m, `short TTL, case kept from the question: ${full}`);
      assert.equal(digStatus(p1, gw(1), 'nope.weft.local'), 'NXDOMAIN');
      assert.equal(dig(p1, gw(1), 'db.weft.local', 'AAAA'), '', 'no IPv6 address: an empty answer, not an error');
      assert.equal(digStatus(p1, gw(1), 'db.weft.local'), 'NOERROR');
      assert.equal(sorted(weft(lab, h2, ['dns-lookup', 'web'])), [podIp(1), podIp(3)].sort().join(' '));
      assert.equal(lab.exec(h2, 'sh', ['-c', `${process.execPath} ${WEFT} dns-lookup nope --api-socket ${h2.socket} 2>&1; true`]).trim(),
        'weft: nope.weft.local is not a known name');

      // Every other name goes to the upstream (dnsmasq); a reply too big for UDP comes over TCP.
      assert.equal(dig(p1, gw(1), FIXTURE.name), FIXTURE.address);
      const big = dig(p2, gw(2), FIXTURE.bigTxt, 'TXT', ['+noedns', '+ignore']);
      assert.match(big, /flags: qr[^;]*\btc\b/, `over UDP without EDNS the reply is truncated: ${big.slice(0, 300)}`);
      const viaTcp = dig(p2, gw(2), FIXTURE.bigTxt, 'TXT', ['+noedns', '+short']);
      assert.equal(viaTcp.split('\n').filter((l) => l.includes(FIXTURE.txtMarker)).length, 12, `dig retried over TCP and got every string: ${viaTcp.slice(0, 200)}`);
      assert.equal(dig(p3, gw(3), FIXTURE.bigTxt, 'TXT', ['+tcp', '+short']).split('\n').length, 12, 'TCP to weft, forwarded');
      const direct = digStatus(up.ns, up.ip, 'nothing.test');
      assert.ok(direct !== '' && direct !== 'NOERROR', `dnsmasq has no such name (${direct})`);
      assert.equal(digStatus(p3, gw(3), 'nothing.test'), direct, 'the upstream\'s status is passed on');

      // Manual records: added on host 2, seen on host 3; one address removed on host 3, gone on host 1.
      assert.match(weft(lab, h2, ['dns-add', 'svc', '10.32.5.5', '10.32.5.6']), /^svc\.weft\.local: added 10\.32\.5\.5 10\.32\.5\.6$/);
      await waitFor(() => sorted(dig(p3, gw(3), 'svc.weft.local')) === '10.32.5.5 10.32.5.6', { timeoutMs: 10_000, what: 'svc on host 3' });
      assert.match(weft(lab, h3, ['dns-remove', 'svc.weft.local', '10.32.5.5']), /removed 10\.32\.5\.5/);
      await waitFor(() => dig(p1, gw(1), 'svc.weft.local') === '10.32.5.6', { timeoutMs: 10_000, what: 'the removal on host 1' });
      assert.match(lab.exec(h1, 'sh', ['-c', `${process.execPath} ${WEFT} dns-add 'bad name' 10.0.0.1 --api-socket ${h1.socket} 2>&1; true`]).trim(),
        /^weft: invalid name "bad name": label "bad name" must be/);

      // A detach removes the pod's name everywhere.
      weft(lab, h2, ['detach', p2]);
      await waitFor(() => digStatus(p1, gw(1), 'db.weft.local') === 'NXDOMAIN' && digStatus(p3, gw(3), 'db.weft.local') === 'NXDOMAIN',
        { timeoutMs: 10_000, what: 'db gone on hosts 1 and 3 after the detach on host 2' });

      // Partition host 3, change records on both sides, heal: both changes everywhere, nothing resurrected.
      lab.ip(h3.ns, ['link', 'set', 'eth0', 'down']);
      await lab.until('host 3 cut off', 20_000, async () => (await lab.status(h1)).connections.every((c) => c.state !== 'established' || !c.address.startsWith(`${h3.ip}:`)));
      weft(lab, h1, ['dns-remove', 'svc']);
      weft(lab, h3, ['dns-add', 'late', '10.32.6.6']);
      assert.equal(dig(p3, gw(3), 'svc.weft.local'), '10.32.5.6', 'host 3 does not know of the removal yet');
      lab.ip(h3.ns, ['link', 'set', 'eth0', 'up']);
      await waitFor(() => digStatus(p3, gw(3), 'svc.weft.local') === 'NXDOMAIN' && dig(p1, gw(1), 'late.weft.local') === '10.32.6.6',
        { timeoutMs: 60_000, intervalMs: 250, what: 'the partition healed both ways' });

      // Malformed datagrams: counted by reason, refused, the server keeps answering.
      const before = (await lab.status(h1)).dns!.queries.refused;
      const header = (flags: string, qd: string) => `1234${flags}${qd}000000000000`;
      const replies = sendRaw(p1, gw(1), [
        '0102', // shorter than a header: dropped
        header('8100', '0001'), // a response: dropped
        header('0100', '0001') + '03777777', // a question cut short: FORMERR
        header('0100', '0002') + '0161000001000101620000010001', // two questions: FORMERR
        header('0100', '0000'), // no question: FORMERR
        header('0100', '0001') + 'c00c00010001', // a name pointing at itself: FORMERR
        'ff'.repeat(4000), // noise
      ]);
      await lab.until('the malformed datagrams counted', 10_000, async () => (await lab.status(h1)).dns!.queries.refused >= before + 7);
      const st = (await lab.status(h1)).dns!;
      assert.ok(replies >= 3 && replies <= 5, `FORMERR for the readable ones only (${replies} replies)`);
      for (const r of ['short', 'not-a-query', 'undecodable', 'question-count']) assert.ok((st.refusedBy[r] ?? 0) > 0, `${r} counted: ${JSON.stringify(st.refusedBy)}`);
      assert.equal(dig(p1, gw(1), 'web.weft.local').split('\n').length, 2, 'still answering');
      assert.match(lab.log(h1), /dns: refused a malformed message/);

      // Restart every daemon: the manual records (and the tombstone of svc) come back from the data dirs.
      for (const h of hosts) lab.stop(h);
      for (const h of hosts) await waitFor(async () => h.client.status().then(() => false, () => true), { timeoutMs: 20_000, what: 'stopped' });
      for (const h of hosts) launch(h);
      for (const [i, h] of hosts.entries()) {
        await lab.until(`host ${i + 1} listening again`, 30_000, async () => (await lab.status(h).catch(() => null))?.dns?.listening === `${gw(i + 1)}:53`);
      }
      for (const [i, p] of [p1, p3].entries()) {
        const g = gw(i === 0 ? 1 : 3);
        assert.equal(dig(p, g, 'late.weft.local'), '10.32.6.6', 'a manual record kept across the restart');
        assert.equal(digStatus(p, g, 'svc.weft.local'), 'NXDOMAIN', 'a removed record stays removed');
      }
      assert.match(lab.log(h2), /dns: manual records loaded from the data dir/);
    } finally {
      for (const ns of pods) sh('ip', ['netns', 'del', ns], { allowFail: true });
      lab.destroy();
    }
  });
