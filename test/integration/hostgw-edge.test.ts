/**
 * The host-gw kernel edge against the real kernel: HostGwEdge programs nftables, routes and
 * neighbours in a namespace of its own; a pod in another namespace pings a "remote" address
 * that the hook forwards to a fake peer, whose capture sees the packet arrive unencapsulated.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { execRunner, HostGwEdge, type CommandRunner } from '../../src/host/index.js';
import { isWeftError, silentLogger } from '../../src/common/index.js';
import { isRoot, sh } from '../support/lab.js';
import { startCapture, waitFor } from '../support/wait.js';

const skip = !isRoot() ? 'needs root (network namespaces): run the tests as root, e.g. sudo npm test'
  : sh('sh', ['-c', 'command -v nft && command -v tcpdump'], { allowFail: true }).split('\n').filter(Boolean).length < 2
    ? 'nft and tcpdump needed (scripts/setup-system.sh)' : false;

/** A runner that runs every command inside namespace `ns`. */
function inNs(ns: string): CommandRunner {
  const run = execRunner();
  return (cmd, args) => run('ip', ['netns', 'exec', ns, cmd, ...args]);
}

const mac = (ns: string, dev: string): string =>
  (JSON.parse(sh('ip', ['-n', ns, '-j', 'link', 'show', dev])) as { address: string }[])[0]!.address;

test('HostGwEdge: pod frames to a remote (MAC, IP) leave by the underlay unencapsulated; entries and hooks come and go; reset removes everything',
  { skip, timeout: 60_000 }, async () => {
    const p = `wfe${randomBytes(2).toString('hex')}`;
    const host = `${p}-h`;
    const pod = `${p}-p`;
    const peer = `${p}-r`;
    const namespaces = [host, pod, peer];
    try {
      for (const ns of namespaces) {
        sh('ip', ['netns', 'add', ns]);
        sh('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
      }
      // host: bridge "weft" with the pod's veth; underlay veth to the fake peer.
      sh('ip', ['-n', host, 'link', 'add', 'weft', 'type', 'bridge']);
      sh('ip', ['link', 'add', `${p}v`, 'netns', host, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', pod]);
      sh('ip', ['link', 'add', `${p}u`, 'netns', host, 'type', 'veth', 'peer', 'name', `${p}u`, 'netns', peer]);
      sh('ip', ['-n', host, 'link', 'set', `${p}v`, 'master', 'weft']);
      for (const [ns, dev] of [[host, 'weft'], [host, `${p}v`], [host, `${p}u`], [pod, 'eth0'], [peer, `${p}u`]] as const) {
        sh('ip', ['-n', ns, 'link', 'set', dev, 'up']);
      }
      sh('ip', ['-n', host, 'addr', 'add', '198.18.9.1/24', 'dev', `${p}u`]);
      sh('ip', ['-n', peer, 'addr', 'add', '198.18.9.2/24', 'dev', `${p}u`]);
      sh('ip', ['-n', pod, 'addr', 'add', '10.40.0.1/16', 'dev', 'eth0']);
      const podMac = mac(pod, 'eth0');
      const remoteMac = '02:aa:bb:cc:dd:02';
      sh('ip', ['-n', pod, 'neigh', 'replace', '10.40.0.2', 'lladdr', remoteMac, 'dev', 'eth0', 'nud', 'permanent']);

      const edge = new HostGwEdge({ bridge: 'weft', log: silentLogger(), run: inNs(host) });
      await edge.setup();
      await edge.addPort(`${p}v`);
      await edge.addUnderlay(`${p}u`);
      await edge.addLocal('10.40.0.1', podMac, `${p}v`);
      await edge.addRemote('10.40.0.2', '198.18.9.2');
      await edge.addForward(remoteMac, '10.40.0.2', '198.18.9.2', `${p}u`);
      const table = sh('ip', ['netns', 'exec', host, 'nft', 'list', 'table', 'netdev', 'weft_hostgw']);
      assert.match(table, new RegExp(`${remoteMac} \\. 10\\.40\\.0\\.2 : 198\\.18\\.9\\.2`));
      assert.match(table, /10\.40\.0\.1 : "/);
      assert.match(sh('ip', ['-n', host, 'route', 'show', 'proto', '87']), /10\.40\.0\.2 via 198\.18\.9\.2/);

      // The pod's ping reaches the peer's underlay as plain IPv4 from the pod, TTL 63, sent to the peer's MAC.
      const peerMac = mac(peer, `${p}u`);
      const pcap = `/tmp/${p}-peer.pcap`;
      const cap = await startCapture({ ns: peer, dev: `${p}u`, file: pcap, filter: 'icmp and src host 10.40.0.1' });
      let out = '';
      try {
        sh('ip', ['netns', 'exec', pod, 'ping', '-c', '2', '-i', '0.2', '-W', '1', '10.40.0.2'], { allowFail: true });
        await waitFor(() => cap.count('icmp') >= 2, { timeoutMs: 5_000, what: 'the 2 echo requests at the peer' }).catch(() => undefined);
        await cap.stop();
        out = sh('tcpdump', ['-r', pcap, '-e', '-n', '-v'], { allowFail: true });
      } finally {
        await cap.stop();
        sh('rm', ['-f', pcap], { allowFail: true });
      }
      assert.equal((out.match(/10\.40\.0\.1 > 10\.40\.0\.2: ICMP echo request/g) ?? []).length, 2, out);
      assert.match(out, new RegExp(`> ${peerMac}`), 'sent to the peer host\'s MAC');
      assert.match(out, /ttl 63/, 'one host hop');

      // Deletes are idempotent; unhooking leaves frames to the bridge.
      await edge.deleteForward(remoteMac, '10.40.0.2');
      await edge.deleteForward(remoteMac, '10.40.0.2');
      await edge.deletePort(`${p}v`);
      await edge.deletePort(`${p}v`);
      await edge.deleteLocal('10.40.0.1', `${p}v`);
      await edge.deleteLocal('10.40.0.1', `${p}v`);
      assert.doesNotMatch(sh('ip', ['netns', 'exec', host, 'nft', 'list', 'table', 'netdev', 'weft_hostgw']), /10\.40\.0\./);

      // Bad input is refused before any command runs.
      await assert.rejects(edge.addForward('zz:00', '10.40.0.2', '198.18.9.2', `${p}u`), (e) => isWeftError(e, 'WEFT_ERR_BAD_ARGS'));
      await assert.rejects(edge.addPort('bad name; drop'), (e) => isWeftError(e, 'WEFT_ERR_BAD_ARGS'));
      await assert.rejects(edge.addLocal('10.40.0.300', podMac), (e) => isWeftError(e, 'WEFT_ERR_BAD_ARGS'));

      await edge.reset();
      assert.equal(sh('ip', ['netns', 'exec', host, 'nft', 'list', 'tables'], { allowFail: true }).includes('weft_hostgw'), false);
      assert.equal(sh('ip', ['-n', host, 'route', 'show', 'proto', '87']).trim(), '');
    } finally {
      for (const ns of namespaces) sh('ip', ['netns', 'del', ns], { allowFail: true });
    }
  });
