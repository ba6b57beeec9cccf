/**
 * A real dockerd per simulated host. containerd and dockerd run in the host's network namespace
 * (`nsenter --net=/run/netns/HOST`) inside one private mount namespace (`unshare -m`, held by
 * containerd) where the host's own directories are bound over /run/docker (so dockerd finds
 * only this host's plugins in /run/docker/plugins) and /run/containerd; data root, exec root,
 * pidfile, sockets and cgroup parent are the host's own. dockerd runs with `--bridge=none
 * --iptables=false` and friends, so it never touches the machine's uplink, and with
 * `--live-restore`, so a dockerd restart leaves containers running. Images come from a
 * busybox-static tarball (`docker import`), never from a registry. `cleanup()` kills every
 * process it started (by PID: dockerd, containerd, the shims, the containers' processes by
 * cgroup) and removes the directories.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runAsync } from './cni-run.js';
import { waitFor } from './wait.js';
import { busyboxTarball } from './podman-host.js';

export const DOCKER_IMAGE = 'weft-busybox:test';
export { busyboxTarball };

/** Tools the Docker tests need; the missing ones by path. */
export function missingDockerTools(): string[] {
  return ['/usr/sbin/dockerd', '/usr/bin/docker', '/usr/bin/containerd', '/usr/bin/containerd-shim-runc-v2', '/usr/sbin/runc',
    '/bin/busybox', '/usr/bin/unshare', '/usr/bin/nsenter'].filter((p) => !existsSync(p));
}

export class DockerHost {
  readonly dir: string;
  /** Where this host's dockerd looks for plugins, seen from outside its mount namespace. */
  readonly pluginDir: string;
  readonly engineSocket: string;
  private readonly cgroupParent: string;
  private containerdPid = 0;
  private dockerdPid = 0;

  /** @param netns host namespace name (under /run/netns); @param dir per-host scratch directory (short: socket paths) */
  constructor(private readonly netns: string, dir: string) {
    this.dir = dir;
    this.pluginDir = join(dir, 'run-docker', 'plugins');
    this.engineSocket = join(dir, 'docker.sock');
    this.cgroupParent = `/${netns}-docker`;
    for (const d of ['run-docker/plugins', 'run-containerd', 'containerd/root', 'containerd/state', 'containerd/opt', 'data', 'exec', 'cli']) {
      mkdirSync(join(dir, d), { recursive: true, mode: 0o700 });
    }
    writeFileSync(join(dir, 'daemon.json'), '{}\n');
    writeFileSync(join(dir, 'containerd.toml'), [
      'version = 2', `root = "${dir}/containerd/root"`, `state = "${dir}/containerd/state"`,
      'disabled_plugins = ["io.containerd.grpc.v1.cri"]',
      '[grpc]', `  address = "${dir}/containerd.sock"`, '[ttrpc]', `  address = "${dir}/containerd.sock.ttrpc"`,
      '[debug]', '  address = ""', '[metrics]', '  address = ""',
      '[plugins."io.containerd.internal.v1.opt"]', `  path = "${dir}/containerd/opt"`, '',
    ].join('\n'));
  }

  /** The plugin socket path weft should serve for this host's dockerd. */
  get pluginSocket(): string {
    return join(this.pluginDir, 'weft.sock');
  }

  /** Start containerd (holding the private mount namespace), then dockerd; resolves when dockerd answers. */
  async start(): Promise<void> {
    for (const m of ['/run/docker', '/run/containerd']) mkdirSync(m, { recursive: true });
    const d = this.dir;
    const script = [
      'set -e',
      `mount --bind '${d}/run-docker' /run/docker`,
      `mount --bind '${d}/run-containerd' /run/containerd`,
      `exec nsenter --net=/run/netns/${this.netns} containerd --config '${d}/containerd.toml'`,
    ].join('\n');
    this.containerdPid = this.spawnLogged('containerd', 'unshare', ['-m', '--propagation', 'private', '--', 'sh', '-c', script]);
    await waitFor(() => existsSync(join(d, 'containerd.sock')), { what: `containerd of ${this.netns} listening`, timeoutMs: 60_000, intervalMs: 100 });
    await this.startDockerd();
  }

  /** Start dockerd in containerd's mount namespace; resolves when it answers. */
  async startDockerd(): Promise<void> {
    const d = this.dir;
    const args = [`--mount=/proc/${this.containerdPid}/ns/mnt`, `--net=/run/netns/${this.netns}`, 'dockerd',
      '--config-file', `${d}/daemon.json`, '--data-root', `${d}/data`, '--exec-root', `${d}/exec`, '--pidfile', `${d}/dockerd.pid`,
      '-H', `unix://${this.engineSocket}`, '--containerd', `${d}/containerd.sock`,
      '--bridge=none', '--iptables=false', '--ip6tables=false', '--ip-forward=false', '--ip-masq=false', '--userland-proxy=false',
      '--live-restore', '--storage-driver=vfs', '--exec-opt', 'native.cgroupdriver=cgroupfs', '--cgroup-parent', this.cgroupParent,
      '--log-level=info'];
    this.dockerdPid = this.spawnLogged('dockerd', 'nsenter', args);
    await waitFor(async () => (await this.docker(['version', '--format', '{{.Server.Version}}'], { allowFail: true })).trim() !== '',
      { what: `dockerd of ${this.netns} answering`, timeoutMs: 90_000, intervalMs: 250 });
  }

  /** Stop dockerd (SIGTERM; with --live-restore the containers keep running); resolves once it exited. */
  async stopDockerd(): Promise<void> {
    const pid = this.dockerdPid;
    if (!pid || !alive(pid)) return;
    process.kill(pid, 'SIGTERM');
    await waitFor(() => !alive(pid), { what: `dockerd ${pid} exited`, timeoutMs: 60_000, intervalMs: 100 });
    this.dockerdPid = 0;
  }

  /** Run the docker CLI against this host's dockerd. */
  docker(args: string[], opts: { allowFail?: boolean; timeoutMs?: number } = {}): Promise<string> {
    return runAsync('docker', ['-H', `unix://${this.engineSocket}`, ...args], {
      ...opts, timeoutMs: opts.timeoutMs ?? 90_000, env: { ...process.env, DOCKER_CONFIG: join(this.dir, 'cli') },
    });
  }

  /** `docker import` the busybox tarball as {@link DOCKER_IMAGE}. */
  async importImage(tarball: string): Promise<void> {
    await this.docker(['import', tarball, DOCKER_IMAGE]);
  }

  /** The container's address on `network`. */
  async ip(container: string, network: string): Promise<string> {
    return (await this.docker(['inspect', '-f', `{{(index .NetworkSettings.Networks "${network}").IPAddress}}`, container])).trim();
  }

  /** dockerd's log so far (for failure messages). */
  log(): string {
    const f = join(this.dir, 'dockerd.log');
    return existsSync(f) ? readFileSync(f, 'utf8') : '';
  }

  /** Remove every container, stop dockerd and containerd, kill what is left by PID, remove cgroups and the directory. */
  async cleanup(): Promise<void> {
    if (this.dockerdPid && alive(this.dockerdPid)) {
      const ids = (await this.docker(['ps', '-aq'], { allowFail: true, timeoutMs: 20_000 })).split(/\s+/).filter(Boolean);
      if (ids.length > 0) await this.docker(['rm', '-f', ...ids], { allowFail: true, timeoutMs: 60_000 });
      await this.docker(['network', 'prune', '-f'], { allowFail: true, timeoutMs: 20_000 });
      await this.stopDockerd().catch(() => undefined);
    }
    for (const pid of [this.dockerdPid, ...this.cgroupPids(), ...processesNaming(this.dir), this.containerdPid]) {
      if (pid > 0) try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
    }
    await waitFor(() => processesNaming(this.dir).length === 0 && !alive(this.containerdPid),
      { what: 'docker processes gone', timeoutMs: 20_000, intervalMs: 100 }).catch(() => undefined);
    for (const base of cgroupControllers()) {
      const cg = join(base, this.cgroupParent);
      if (existsSync(cg)) await runAsync('find', [cg, '-depth', '-type', 'd', '-exec', 'rmdir', '{}', ';'], { allowFail: true });
    }
    rmSync(this.dir, { recursive: true, force: true });
  }

  private spawnLogged(what: string, cmd: string, args: string[]): number {
    const log = join(this.dir, `${what}.log`);
    const out = openSync(log, 'a');
    const p = spawn(cmd, args, { stdio: ['ignore', out, out], detached: true });
    p.unref();
    if (!p.pid) throw new Error(`could not start ${what}`);
    return p.pid;
  }

  /** Processes in this host's container cgroups (the containers' processes). */
  private cgroupPids(): number[] {
    const pids = new Set<number>();
    for (const base of cgroupControllers()) {
      const cg = join(base, this.cgroupParent);
      if (!existsSync(cg)) continue;
      const walk = (dir: string): void => {
        try {
          for (const l of readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n')) if (/^\d+$/.test(l)) pids.add(Number(l));
          for (const e of readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) walk(join(dir, e.name));
        } catch { /* gone */ }
      };
      walk(cg);
    }
    return [...pids];
  }
}

function alive(pid: number): boolean {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^\d+ \(.*\) Z/.test(stat);
  } catch {
    return false;
  }
}

function cgroupControllers(): string[] {
  const root = '/sys/fs/cgroup';
  if (existsSync(join(root, 'cgroup.controllers'))) return [root];
  try {
    return readdirSync(root).map((c) => join(root, c));
  } catch {
    return [];
  }
}

/** PIDs of processes whose command line names `dir` (dockerd, containerd, the shims). */
function processesNaming(dir: string): number[] {
  const out: number[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e) || Number(e) === process.pid) continue;
    try {
      const cmd = readFileSync(`/proc/${e}/cmdline`, 'utf8');
      if (cmd.includes(dir) && alive(Number(e))) out.push(Number(e));
    } catch { /* exited */ }
  }
  return out;
}
