/**
 * A real dockerd (Debian's docker.io) for one simulated host: started with
 * `nsenter --net=/run/netns/HOST` inside its own mount namespace (`unshare --mount
 * --propagation slave`), so it has a private `/run/docker/plugins` (a tmpfs) while still seeing
 * the network namespaces the test creates later. Data root, exec root, pidfile and API socket
 * live in the caller's folder; the engine manages its own containerd there. It makes no bridge
 * and no iptables rules (`--bridge=none --iptables=false`), so it never touches the machine's
 * uplink. {@link Dockerd.stop} kills the engine and its containerd and removes what it mounted.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { waitFor } from './wait.js';

export interface DockerdOptions {
  /** Network namespace (a name under /run/netns) the engine runs in. */
  netns: string;
  /** Folder for its data root, exec root, socket and log (created). */
  dir: string;
  /** Extra dockerd arguments. */
  extraArgs?: string[];
  /** Start-up timeout (default 60 s). */
  timeoutMs?: number;
}

export interface Dockerd {
  /** The engine's API socket. */
  readonly socket: string;
  /** Environment for the docker CLI talking to this engine. */
  readonly env: NodeJS.ProcessEnv;
  /** `docker ARGS…` against this engine; throws with the first stderr line on failure. */
  docker(args: string[], opts?: { allowFail?: boolean; timeoutMs?: number; input?: string }): string;
  /** Stop the engine (SIGTERM, then SIGKILL after 10 s) and its containerd; idempotent. */
  stop(): Promise<void>;
}

/** `dockerd` on PATH (Debian's docker.io). */
export function haveDockerd(): boolean {
  return spawnSync('sh', ['-c', 'command -v dockerd && command -v docker'], { encoding: 'utf8' }).status === 0;
}

export async function startDockerd(o: DockerdOptions): Promise<Dockerd> {
  mkdirSync(o.dir, { recursive: true });
  const socket = join(o.dir, 'docker.sock');
  const log = join(o.dir, 'dockerd.log');
  const config = join(o.dir, 'daemon.json');
  writeFileSync(config, JSON.stringify({ 'log-level': 'warn' }));
  const args = [
    '--data-root', join(o.dir, 'data'), '--exec-root', join(o.dir, 'exec'), '--pidfile', join(o.dir, 'dockerd.pid'),
    '-H', `unix://${socket}`, '--config-file', config,
    '--bridge=none', '--iptables=false', '--ip6tables=false', '--ip-masq=false', '--userland-proxy=false',
    ...(o.extraArgs ?? []),
  ];
  // A private tmpfs on /run/docker/plugins: plugins of one simulated host are not seen by another.
  const script = 'mkdir -p /run/docker/plugins && mount -t tmpfs weft-plugins /run/docker/plugins && exec nsenter --net=/run/netns/"$0" dockerd "$@" >>"$WEFT_DOCKERD_LOG" 2>&1';
  const child: ChildProcess = spawn('unshare', ['--mount', '--propagation', 'slave', '--', 'sh', '-c', script, o.netns, ...args], {
    stdio: 'ignore', env: { ...process.env, WEFT_DOCKERD_LOG: log },
  });
  let exited: string | undefined;
  child.once('exit', (code, sig) => { exited = `dockerd exited (${code ?? sig})`; });
  const env = { ...process.env, DOCKER_HOST: `unix://${socket}` };
  const docker: Dockerd['docker'] = (argv, opts = {}) => {
    const r = spawnSync('docker', argv, { encoding: 'utf8', env, timeout: opts.timeoutMs ?? 120_000, input: opts.input, maxBuffer: 64 << 20 });
    if (r.status !== 0 && !opts.allowFail) {
      throw new Error(`docker ${argv.join(' ')} failed (${r.status ?? r.signal}): ${(r.stderr || r.stdout || '').trim().split('\n')[0]}`);
    }
    return r.stdout ?? '';
  };
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const gone = new Promise<void>((res) => child.once('exit', () => res()));
    child.kill('SIGTERM');
    const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await gone;
    clearTimeout(t);
    // The engine's managed containerd exits with it; kill a straggler by its pidfile.
    const pidfile = join(o.dir, 'exec', 'containerd', 'containerd.pid');
    if (existsSync(pidfile)) {
      const pid = Number(readFileSync(pidfile, 'utf8').trim());
      if (pid > 0) { try { process.kill(pid, 'SIGKILL'); } catch { /* already gone */ } }
    }
  };
  try {
    await waitFor(() => {
      if (exited) throw new Error(`${exited}; log: ${existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n').slice(-3).join(' | ') : '(none)'}`);
      return spawnSync('docker', ['version', '--format', '{{.Server.Version}}'], { env, encoding: 'utf8', timeout: 5_000 }).status === 0;
    }, { timeoutMs: o.timeoutMs ?? 60_000, intervalMs: 200, what: `dockerd in ${o.netns}` });
  } catch (e) {
    await stop();
    throw e;
  }
  return { socket, env, docker, stop };
}
