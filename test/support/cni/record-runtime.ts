/**
 * Records what a real container runtime sends to its CNI plugins, into a fixture file:
 *   sudo node dist/test/support/cni/record-runtime.js podman test/fixtures/cni/podman-<version>.jsonl
 *   sudo node dist/test/support/cni/record-runtime.js ctr test/fixtures/cni/ctr-<version>.jsonl
 * The network's plugin type is a recording shim (spy-plugin.ts) delegating to the reference
 * `bridge` + `host-local` plugins; two containers are started and removed, in a scratch host
 * namespace. podman: a rootful podman (CNI backend) with its own storage and config dir.
 * ctr: a private containerd (own root, state and socket in the scratch dir) and `ctr run --cni
 * --rm`; ctr reads its CNI config only from /etc/cni/net.d and plugins only from /opt/cni/bin,
 * so the recorder adds one conflist and plugin links there and removes exactly those (and the
 * directories if it made them) afterwards. Scratch paths become "<scratch>" and the per-run
 * name prefix "wftrec", so a re-record differs only in IDs, MACs and times.
 */
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run, runAsync } from '../cni-run.js';
import { Lab } from '../lab.js';
import { waitFor } from '../wait.js';
import { PodmanHost, busyboxTarball, machinePathsBefore, missingPodmanTools, restoreMachinePaths } from '../podman-host.js';

const REFERENCE = '/usr/lib/cni';
const SPY = fileURLToPath(new URL('./spy-plugin.js', import.meta.url));
const NETWORK = 'wftrecnet';

/** A plugin named `type` in `dir` that records every call into `log` and delegates to `delegate`. */
function installSpy(dir: string, type: string, log: string, delegate: string): void {
  run('mkdir', ['-p', dir]);
  const file = join(dir, type);
  writeFileSync(file, `#!/bin/sh\nexec ${process.execPath} ${SPY} ${log} ${delegate}\n`);
  chmodSync(file, 0o755);
}

/** The recorded lines with scratch paths and the run prefix replaced by stable tokens. */
function sanitized(log: string, lab: Lab): string {
  const text = existsSync(log) ? readFileSync(log, 'utf8') : '';
  return text.split(lab.dir).join('<scratch>').split(lab.prefix).join('wftrec');
}

async function recordPodman(out: string): Promise<void> {
  const missing = missingPodmanTools();
  if (missing.length > 0) throw new Error(`missing ${missing.join(', ')} (bash scripts/setup-system.sh installs them)`);
  const lab = new Lab();
  const machine = machinePathsBefore();
  let host: PodmanHost | undefined;
  try {
    const ns = lab.netns('h');
    const log = join(lab.dir, 'calls.jsonl');
    const spyDir = join(lab.dir, 'spy');
    installSpy(spyDir, 'wftrec-spy', log, join(REFERENCE, 'bridge'));
    host = new PodmanHost(ns, join(lab.dir, 'h'), [spyDir, REFERENCE], NETWORK);
    writeFileSync(join(host.confDir, `${NETWORK}.conflist`), JSON.stringify({
      cniVersion: '1.0.0', name: NETWORK,
      plugins: [{
        type: 'wftrec-spy', bridge: `${lab.prefix}br`, isGateway: false, ipMasq: false, hairpinMode: false,
        ipam: { type: 'host-local', ranges: [[{ subnet: '10.45.13.0/24' }]], dataDir: join(lab.dir, 'ipam') },
      }],
    }, null, 2));
    await host.importImage(busyboxTarball(lab.dir));
    await host.runContainer(`${lab.prefix}-pm-a`, NETWORK);
    await host.runContainer(`${lab.prefix}-pm-b`, NETWORK);
    await host.podman(['rm', '-f', '-t', '0', `${lab.prefix}-pm-a`]);
    await host.podman(['rm', '-f', '-t', '0', `${lab.prefix}-pm-b`]);
    keep(log, lab, out, 'podman');
  } finally {
    await host?.cleanup();
    lab.destroy();
    restoreMachinePaths(machine);
  }
}

/** Writes the recorded calls to `out` after checking ADD and DEL are among them. */
function keep(log: string, lab: Lab, out: string, runtime: string): void {
  const lines = sanitized(log, lab);
  const commands = lines.split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { CNI_COMMAND: string }).CNI_COMMAND);
  if (!commands.includes('ADD') || !commands.includes('DEL')) throw new Error(`${runtime} made no ADD/DEL calls (recorded: ${commands.join(', ') || 'nothing'})`);
  writeFileSync(out, lines);
  process.stdout.write(`record-runtime: ${commands.length} calls (${commands.join(' ')}) -> ${out}\n`);
}

const CTR_CONF_DIR = '/etc/cni/net.d';
const CTR_BIN_DIR = '/opt/cni/bin';

async function recordCtr(out: string): Promise<void> {
  for (const p of ['/usr/bin/containerd', '/usr/bin/ctr', '/usr/sbin/runc', '/usr/bin/podman', join(REFERENCE, 'bridge')]) {
    if (!existsSync(p)) throw new Error(`missing ${p} (bash scripts/setup-system.sh installs it)`);
  }
  const lab = new Lab();
  const made: string[] = [];
  const madeDirs: string[] = [];
  const podmanMachine = machinePathsBefore();
  const lockBefore = existsSync(join(CTR_CONF_DIR, 'cni.lock'));
  try {
    const ns = lab.netns('h');
    const log = join(lab.dir, 'calls.jsonl');
    const sock = join(lab.dir, 'containerd.sock');
    writeFileSync(join(lab.dir, 'containerd.toml'), `version = 2\nroot = "${lab.dir}/c-root"\nstate = "${lab.dir}/c-state"\n` +
      `[grpc]\n  address = "${sock}"\n[plugins."io.containerd.grpc.v1.cri"]\n  disable_tcp_service = true\n`);
    lab.track(spawn('containerd', ['--config', join(lab.dir, 'containerd.toml')], { stdio: 'ignore' }));
    lab.onDestroy(() => {
      run('umount', ['-R', join(lab.dir, 'c-root')], { allowFail: true });
      run('umount', ['-R', join(lab.dir, 'c-state')], { allowFail: true });
    });
    const ctr = (args: string[], o: { timeoutMs?: number } = {}) =>
      runAsync('nsenter', [`--net=/run/netns/${ns}`, 'ctr', '--address', sock, '-n', 'wftrec', ...args], { timeoutMs: o.timeoutMs ?? 60_000 });
    await waitFor(async () => (await ctr(['version']).then(() => true, () => false)), { timeoutMs: 20_000, intervalMs: 200, what: 'containerd answering' });
    // The image: busybox-static as a docker archive (podman with a scratch store makes it).
    const p = (args: string[]) => run('podman', ['--root', join(lab.dir, 'p-root'), '--runroot', join(lab.dir, 'p-run'), '--tmpdir', join(lab.dir, 'p-tmp'),
      '--cgroup-manager', 'cgroupfs', '--events-backend', 'file', ...args], { timeoutMs: 60_000 });
    p(['import', '-q', busyboxTarball(lab.dir), 'localhost/wftrec-busybox:latest']);
    const archive = join(lab.dir, 'busybox-docker.tar');
    p(['save', '-q', '--format', 'docker-archive', '-o', archive, 'localhost/wftrec-busybox:latest']);
    p(['image', 'rm', '-f', 'localhost/wftrec-busybox:latest']);
    run('umount', ['-R', join(lab.dir, 'p-root', 'overlay')], { allowFail: true });
    await ctr(['images', 'import', archive]);
    // ctr's fixed CNI paths: one conflist and the plugin links, removed in finally.
    for (const d of [CTR_CONF_DIR, CTR_BIN_DIR]) {
      for (const part of d.split('/').slice(1).map((_, k, a) => '/' + a.slice(0, k + 1).join('/'))) {
        if (!existsSync(part)) { mkdirSync(part); madeDirs.push(part); }
      }
    }
    const conf = join(CTR_CONF_DIR, '00-wftrec.conflist');
    if (existsSync(conf)) throw new Error(`${conf} exists (another recording running?)`);
    writeFileSync(conf, JSON.stringify({
      cniVersion: '1.0.0', name: 'wftrecnet',
      plugins: [{
        type: 'wftrec-spy', bridge: `${lab.prefix}br`, isGateway: false, ipMasq: false, hairpinMode: false,
        ipam: { type: 'host-local', ranges: [[{ subnet: '10.45.14.0/24' }]], dataDir: join(lab.dir, 'ipam') },
      }],
    }, null, 2));
    made.push(conf);
    for (const plugin of ['loopback', 'host-local']) {
      const link = join(CTR_BIN_DIR, plugin);
      if (!existsSync(link)) { symlinkSync(join(REFERENCE, plugin), link); made.push(link); }
    }
    if (existsSync(join(CTR_BIN_DIR, 'wftrec-spy'))) throw new Error(`${CTR_BIN_DIR}/wftrec-spy exists (another recording running?)`);
    installSpy(CTR_BIN_DIR, 'wftrec-spy', log, join(REFERENCE, 'bridge'));
    made.push(join(CTR_BIN_DIR, 'wftrec-spy'));
    // Two containers at once (ADD, ADD), each removed when its command ends (DEL, DEL).
    const runOne = (name: string, seconds: number) => ctr(['run', '--cni', '--rm', 'localhost/wftrec-busybox:latest', `${lab.prefix}-${name}`, 'sleep', String(seconds)]);
    const a = runOne('ctr-a', 3);
    await waitFor(() => existsSync(log) && readFileSync(log, 'utf8').includes('"ADD"'), { timeoutMs: 30_000, what: 'the first ADD' });
    const b = runOne('ctr-b', 3);
    await Promise.all([a, b]);
    await ctr(['images', 'rm', 'localhost/wftrec-busybox:latest']).catch(() => '');
    keep(log, lab, out, 'ctr');
  } finally {
    for (const f of made.reverse()) rmSync(f, { force: true });
    if (!lockBefore) rmSync(join(CTR_CONF_DIR, 'cni.lock'), { force: true }); // go-cni's lock file, made by ctr
    for (const d of madeDirs.reverse()) { try { rmdirSync(d); } catch { /* not empty: not only ours */ } }
    lab.destroy();
    restoreMachinePaths(podmanMachine);
  }
}

const [runtime, out] = process.argv.slice(2);
if ((runtime !== 'podman' && runtime !== 'ctr') || !out) {
  process.stderr.write('usage: record-runtime podman|ctr OUT.jsonl\n');
  process.exit(2);
}
if (process.getuid?.() !== 0) {
  process.stderr.write('record-runtime: must run as root (network namespaces, rootful podman)\n');
  process.exit(1);
}
await (runtime === 'ctr' ? recordCtr(out) : recordPodman(out)).catch((e: unknown) => {
  process.stderr.write(`record-runtime: ${(e as Error).message}\n`);
  process.exitCode = 1;
});
