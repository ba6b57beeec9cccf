/**
 * Namespaces for the policy edge tests: "host" namespaces with a bridge, "pod" namespaces with
 * a veth on it, TCP/UDP servers and bounded probes (test/support/net-probe.ts). Every name
 * starts with the lab's random prefix; cleanup() kills the servers it started (by pid) and
 * deletes the namespaces it created.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { sh } from './lab.js';
import { waitFor } from './wait.js';

const PROBE = fileURLToPath(new URL('./net-probe.js', import.meta.url));

export interface LabPod { ns: string; hostDev: string; ip4: string; ip6: string; mac: string }

export class PolicyLab {
  readonly p = `wpe${randomBytes(2).toString('hex')}`;
  private readonly namespaces: string[] = [];
  private readonly procs: ChildProcess[] = [];
  private seq = 0;

  ns(name: string): string {
    const ns = `${this.p}-${name}`;
    sh('ip', ['netns', 'add', ns]);
    this.namespaces.push(ns);
    sh('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    return ns;
  }

  /** A host namespace with bridge `br0` (addresses `hostIp4/24`, `hostIp6/64` on it). */
  host(name: string, hostIp4: string, hostIp6: string): string {
    const ns = this.ns(name);
    sh('ip', ['-n', ns, 'link', 'add', 'br0', 'type', 'bridge']);
    sh('ip', ['-n', ns, 'addr', 'add', `${hostIp4}/24`, 'dev', 'br0']);
    sh('ip', ['-n', ns, 'addr', 'add', `${hostIp6}/64`, 'dev', 'br0', 'nodad']);
    sh('ip', ['-n', ns, 'link', 'set', 'br0', 'up']);
    sh('ip', ['netns', 'exec', ns, 'sysctl', '-qw', 'net.ipv4.ip_forward=1', 'net.ipv6.conf.all.forwarding=1']);
    return ns;
  }

  /** A pod on `host`'s bridge: eth0 with `ip4/24` and `ip6/64` (no DAD), default routes via `gw4`. */
  pod(host: string, name: string, ip4: string, ip6: string, gw4?: string): LabPod {
    const ns = this.ns(name);
    const hostDev = `${this.p}v${this.seq++}`;
    sh('ip', ['link', 'add', hostDev, 'netns', host, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
    sh('ip', ['-n', host, 'link', 'set', hostDev, 'master', 'br0', 'up']);
    sh('ip', ['-n', ns, 'addr', 'add', `${ip4}/24`, 'dev', 'eth0']);
    sh('ip', ['-n', ns, 'addr', 'add', `${ip6}/64`, 'dev', 'eth0', 'nodad']);
    sh('ip', ['-n', ns, 'link', 'set', 'eth0', 'up']);
    if (gw4) sh('ip', ['-n', ns, 'route', 'add', 'default', 'via', gw4]);
    const mac = (JSON.parse(sh('ip', ['-n', ns, '-j', 'link', 'show', 'eth0'])) as { address: string }[])[0]!.address;
    return { ns, hostDev, ip4, ip6, mac };
  }

  /** Start a server in `ns` (`tcp:80,udp:53`); resolves once it listens. */
  async serve(ns: string, spec: string): Promise<void> {
    const child = spawn('ip', ['netns', 'exec', ns, process.execPath, PROBE, 'serve', spec], { stdio: ['ignore', 'pipe', 'inherit'] });
    this.procs.push(child);
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => { out += d; });
    await waitFor(() => out.includes('ready'), { timeoutMs: 5_000, what: `server ${spec} in ${ns}` });
  }

  /** True when a TCP connect (or UDP exchange) from `ns` gets the server's "ok" within `ms`. */
  can(ns: string, proto: 'tcp' | 'udp', host: string, port: number, ms = 500): boolean {
    const r = spawnSync('ip', ['netns', 'exec', ns, process.execPath, PROBE, 'probe', proto, host, String(port), String(ms)], { timeout: ms + 5_000 });
    return r.status === 0;
  }

  /** A held TCP connection from `ns`: `echo(line)` resolves true when the line comes back within `ms`. */
  async hold(ns: string, host: string, port: number): Promise<{ echo: (line: string, ms?: number) => Promise<boolean>; close: () => void }> {
    const child = spawn('ip', ['netns', 'exec', ns, process.execPath, PROBE, 'hold', host, String(port)], { stdio: ['pipe', 'pipe', 'inherit'] });
    this.procs.push(child);
    let out = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => { out += d; });
    await waitFor(() => out.startsWith('ok\n'), { timeoutMs: 3_000, what: `connection ${ns} → ${host}:${port}` });
    return {
      echo: async (line, ms = 1_500) => {
        child.stdin!.write(`${line}\n`);
        return waitFor(() => out.includes(`${line}\n`), { timeoutMs: ms, what: `echo of ${line}` }).then(() => true, () => false);
      },
      close: () => { child.stdin!.end(); },
    };
  }

  cleanup(): void {
    for (const c of this.procs) if (c.exitCode === null && c.pid !== undefined) c.kill('SIGKILL');
    for (const ns of this.namespaces.reverse()) sh('ip', ['netns', 'del', ns], { allowFail: true });
  }
}
