/**
 * `npm run demo`: a real 3-host weft mesh on this machine. Each host is a network namespace
 * with its own daemon; each host gets a pod (another namespace) attached with `weft attach`.
 * The pods ping each other and move data through the encrypted mesh; the demo prints what it
 * measured and removes everything (unless --keep).
 */
import { spawn } from 'node:child_process';
import { Lab, isRoot, sh, waitFor, WEFT, type LabHost } from '../lab/index.js';
import { at } from '../src/common/index.js';

const keep = process.argv.includes('--keep');
const SECRET = `weft-demo-${Date.now()}-a-long-enough-secret`;

function say(line = ''): void {
  process.stdout.write(line + '\n');
}

function weft(lab: Lab, h: LabHost, args: string[]): string {
  return lab.exec(h, process.execPath, [WEFT, ...args, '--api-socket', h.socket], { timeoutMs: 30_000 }).trimEnd();
}

function ping(pod: string, ip: string): { loss: string; avg: string } {
  const out = sh('ip', ['netns', 'exec', pod, 'ping', '-c', '5', '-i', '0.2', '-W', '2', ip], { allowFail: true });
  const loss = /(\d+(?:\.\d+)?)% packet loss/.exec(out)?.[1] ?? '100';
  const avg = /= [\d.]+\/([\d.]+)\//.exec(out)?.[1] ?? '-';
  return { loss, avg };
}

async function iperf(serverPod: string, clientPod: string, ip: string): Promise<string> {
  const server = spawn('ip', ['netns', 'exec', serverPod, 'iperf3', '-s', '-1'], { stdio: 'ignore' });
  try {
    await waitFor(() => sh('ip', ['netns', 'exec', serverPod, 'ss', '-Hltn', 'sport = :5201'], { allowFail: true }).trim() !== '',
      { timeoutMs: 10_000, what: 'the iperf3 server listening' });
    const out = sh('ip', ['netns', 'exec', clientPod, 'iperf3', '-c', ip, '-t', '3', '-J'], { timeoutMs: 20_000, allowFail: true });
    const j = JSON.parse(out) as { end?: { sum_received?: { bits_per_second: number } }; error?: string };
    if (!j.end?.sum_received) return `failed (${j.error ?? 'no result'})`;
    return `${(j.end.sum_received.bits_per_second / 1e6).toFixed(0)} Mbit/s`;
  } catch (e) {
    return `failed (${(e as Error).message})`;
  } finally {
    server.kill();
  }
}

async function main(): Promise<number> {
  if (!isRoot()) {
    say('weft demo: must run as root (it creates network namespaces)');
    return 1;
  }
  const lab = new Lab();
  const pods: string[] = [];
  let ok = true;
  try {
    say(`== weft demo (namespaces prefixed ${lab.prefix}) ==`);
    const hosts = lab.addHosts(3);
    say(`created 3 hosts on one underlay bridge: ${hosts.map((h) => `${h.ns} ${h.ip}`).join(', ')}`);
    for (const h of hosts) {
      const peers = hosts.filter((o) => o.index === h.index - 1).map((o) => o.ip);
      say(`$ weft launch ${peers.join(' ')}   # on ${h.ns}, cluster secret from a 0600 file`);
      say('  ' + lab.launch(h, { peers, password: SECRET }).trim());
    }
    const t0 = Date.now();
    await lab.until('all three peers see each other', 20_000, async () => {
      for (const h of hosts) if ((await lab.status(h)).peers.length !== 3) return false;
      return true;
    });
    say(`every host sees all 3 peers (${Date.now() - t0} ms after the last launch; each was given one peer)`);
    say('');
    say(`$ weft status   # on ${hosts[0].ns}`);
    say(weft(lab, hosts[0], ['status']));
    say('');
    const addrs: string[] = [];
    for (const h of hosts) {
      const pod = `${lab.prefix}p${h.index}`;
      sh('ip', ['netns', 'add', pod]);
      pods.push(pod);
      const cidr = weft(lab, h, ['attach', `/run/netns/${pod}`]);
      addrs.push(cidr.replace(/\/\d+$/, ''));
      say(`$ weft attach ${pod}   # on ${h.ns} → ethwe ${cidr} (address from the distributed IPAM)`);
    }
    await lab.until('sleeve links healthy', 15_000, async () => {
      for (const h of hosts) {
        const s = await lab.status(h);
        if (s.connections.filter((c) => c.state === 'established' && c.mode === 'sleeve' && !c.reason).length < 2) return false;
      }
      return true;
    });
    say('');
    say('pod-to-pod ping through the encrypted sleeve:');
    for (const [a, b] of [[0, 1], [0, 2], [1, 2]] as const) {
      const [from, to, toAddr] = [at(pods, a, 'pod'), at(pods, b, 'pod'), at(addrs, b, 'address')];
      const r = ping(from, toAddr);
      if (r.loss !== '0') ok = false;
      say(`  ${from} → ${to} (${toAddr}): ${r.loss}% loss, avg RTT ${r.avg} ms`);
    }
    say('');
    const [p1, p3, a3] = [at(pods, 0, 'pod'), at(pods, 2, 'pod'), at(addrs, 2, 'address')];
    say(`TCP throughput ${p1} → ${p3}: ${await iperf(p3, p1, a3)} (iperf3, 3 s, one stream)`);
    say('');
    say(`$ weft status connections   # on ${hosts[0].ns}`);
    say(weft(lab, hosts[0], ['status', 'connections']));
    say('');
    say(`$ weft ps   # on ${hosts[0].ns}`);
    say(weft(lab, hosts[0], ['ps']));
    say('');
    say(`$ weft status ipam   # on ${hosts[2].ns}`);
    say(weft(lab, hosts[2], ['status', 'ipam']));
    if (keep) {
      say('');
      say(`--keep: left running. Try: ip netns exec ${hosts[0].ns} ${WEFT} status --api-socket ${hosts[0].socket}`);
      say(`        ip netns exec ${pods[0]} ping ${addrs[1]}`);
      say(`Remove everything with: for n in $(ip netns list | grep -o '^${lab.prefix}[^ ]*'); do ip netns pids $n | xargs -r kill; ip netns del $n; done; ip link del ${lab.prefix}br`);
      return ok ? 0 : 1;
    }
  } catch (e) {
    ok = false;
    say(`weft demo failed: ${(e as Error).message}`);
  } finally {
    if (!keep) {
      for (const p of pods) sh('ip', ['netns', 'del', p], { allowFail: true });
      lab.destroy();
      say('');
      say('cleaned up: every namespace, link, daemon and file of the demo is gone');
    }
  }
  return ok ? 0 : 1;
}

process.exitCode = await main();
