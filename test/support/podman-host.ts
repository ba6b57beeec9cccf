/**
 * A rootful podman 4 (CNI backend, runc) per simulated host, following
 * shared/docs/podman-multihost.md: every podman call goes through `nsenter --net=<host netns>`
 * with the host's own storage, containers.conf and CNI config dir, so the CNI plugins run in
 * that host's namespace. `cleanup()` removes containers, image, storage, cgroups and the
 * machine-wide files podman creates when they did not exist before.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, rmdirSync, symlinkSync, writeFileSync, copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { run, runAsync } from './cni-run.js';

export const PODMAN_IMAGE = 'localhost/weft-busybox:latest';
const BUSYBOX = '/bin/busybox';

/** Tools the podman tests need; the missing ones by name. */
export function missingPodmanTools(): string[] {
  return ['/usr/bin/podman', '/usr/sbin/runc', '/usr/bin/conmon', BUSYBOX, '/usr/lib/cni/bridge', '/usr/lib/cni/loopback']
    .filter((p) => !existsSync(p));
}

/** Machine-wide paths podman touches regardless of --root, deepest first (removed afterwards if new). */
const MACHINE_PATHS = ['/var/lib/cni/results', '/var/lib/cni', '/var/lib/containers/cache/blob-info-cache-v1.boltdb',
  '/var/lib/containers/cache', '/var/lib/containers'];

export function machinePathsBefore(): Set<string> {
  return new Set(MACHINE_PATHS.filter((p) => existsSync(p)));
}

/** Remove what podman created: the cache file, then directories only while empty. */
export function restoreMachinePaths(before: Set<string>): void {
  for (const p of MACHINE_PATHS) {
    if (before.has(p) || !existsSync(p)) continue;
    try {
      if (p.endsWith('.boltdb')) rmSync(p, { force: true });
      else rmdirSync(p);
    } catch { /* not empty: someone else's */ }
  }
}

/** Build a busybox-static root filesystem tarball once (shared by the hosts). */
export function busyboxTarball(dir: string): string {
  const root = join(dir, 'rootfs');
  for (const d of ['bin', 'etc', 'proc', 'sys', 'dev', 'tmp', 'run']) mkdirSync(join(root, d), { recursive: true });
  copyFileSync(BUSYBOX, join(root, 'bin', 'busybox'));
  for (const a of run(BUSYBOX, ['--list']).split('\n').filter((x) => x && x !== 'busybox')) {
    try { symlinkSync('busybox', join(root, 'bin', a)); } catch { /* exists */ }
  }
  const tar = join(dir, 'busybox.tar');
  run('tar', ['-C', root, '-cf', tar, '.']);
  return tar;
}

export class PodmanHost {
  readonly dir: string;
  readonly confDir: string;
  private readonly cgroupParent: string;

  /**
   * @param netns host namespace name (under /run/netns)
   * @param dir   per-host scratch directory
   * @param pluginDirs CNI plugin directories (weft's wrappers first)
   * @param network default network name
   */
  constructor(readonly netns: string, dir: string, pluginDirs: string[], network: string) {
    this.dir = dir;
    this.confDir = join(dir, 'net.d');
    this.cgroupParent = `/${netns}`;
    mkdirSync(this.confDir, { recursive: true });
    writeFileSync(join(dir, 'containers.conf'), [
      '[containers]',
      'default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]',
      '[engine]',
      'runtime = "runc"',
      'cgroup_manager = "cgroupfs"',
      'events_logger = "file"',
      '[network]',
      'network_backend = "cni"',
      `cni_plugin_dirs = [${pluginDirs.map((d) => JSON.stringify(d)).join(', ')}]`,
      `network_config_dir = "${this.confDir}"`,
      `default_network = "${network}"`,
      '',
    ].join('\n'));
  }

  /** One podman call for this host (always through the same nsenter wrapper and flags). */
  podman(args: string[], opts: { allowFail?: boolean; timeoutMs?: number } = {}): Promise<string> {
    const d = this.dir;
    return runAsync('nsenter', [`--net=/run/netns/${this.netns}`, 'podman', '--root', join(d, 'root'), '--runroot', join(d, 'runroot'),
      '--tmpdir', join(d, 'tmp'), '--network-config-dir', this.confDir, '--cgroup-manager', 'cgroupfs',
      '--events-backend', 'file', '--runtime', 'runc', ...args],
    { allowFail: opts.allowFail, timeoutMs: opts.timeoutMs ?? 60_000, env: { ...process.env, CONTAINERS_CONF: join(d, 'containers.conf') } });
  }

  async importImage(tarball: string): Promise<void> {
    await this.podman(['import', '-q', tarball, PODMAN_IMAGE]);
  }

  /** `podman run -d` a busybox container sleeping `seconds` on `network`; returns its ID. */
  async runContainer(name: string, network: string, seconds = 600): Promise<string> {
    return (await this.podman(['run', '-d', '--pull', 'never', '--network', network, '--dns', 'none', '--cap-add', 'NET_RAW',
      '--cgroup-parent', this.cgroupParent, '--name', name, PODMAN_IMAGE, 'sleep', String(seconds)])).trim();
  }

  async ipOf(name: string, network: string): Promise<string> {
    return (await this.podman(['inspect', '-f', `{{.NetworkSettings.Networks.${network}.IPAddress}}`, name])).trim();
  }

  /** Wait (at most 10 s) for this host's conmon and cleanup processes to end; SIGKILL the rest by PID. */
  private async reapHelpers(): Promise<void> {
    for (let i = 0; i < 50 && processesUsing(this.dir).length > 0; i++) await new Promise((r) => setTimeout(r, 200));
    for (const pid of processesUsing(this.dir)) {
      try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
    }
  }

  /** Remove every container, the image and the storage; delete the host's cgroups. */
  async cleanup(): Promise<void> {
    await this.podman(['rm', '-f', '-a', '-t', '0'], { allowFail: true });
    await this.podman(['image', 'rm', '-f', PODMAN_IMAGE], { allowFail: true });
    for (const base of ['/sys/fs/cgroup', ...safeList('/sys/fs/cgroup').map((c) => join('/sys/fs/cgroup', c))]) {
      const cg = join(base, this.cgroupParent);
      if (existsSync(cg)) run('find', [cg, '-depth', '-type', 'd', '-exec', 'rmdir', '{}', ';'], { allowFail: true });
    }
    await this.reapHelpers();
    run('umount', ['-R', join(this.dir, 'root', 'overlay')], { allowFail: true });
    run('umount', ['-R', join(this.dir, 'root')], { allowFail: true });
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** PIDs of processes whose command line names `dir` (conmon, `podman container cleanup`). */
function processesUsing(dir: string): number[] {
  const out: number[] = [];
  for (const e of safeList('/proc')) {
    if (!/^\d+$/.test(e) || Number(e) === process.pid) continue;
    try {
      const cmd = readFileSync(`/proc/${e}/cmdline`, 'utf8');
      if (cmd.includes(dir) && !/^[^\0]*\(?defunct/.test(cmd)) out.push(Number(e));
    } catch { /* exited */ }
  }
  return out;
}

function safeList(dir: string): string[] {
  try {
    return readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name);
  } catch {
    return [];
  }
}
