/**
 * Records what a real container runtime sends to its CNI plugins, into a fixture file:
 *   sudo node dist/test/support/cni/record-runtime.js podman test/fixtures/cni/podman-<version>.jsonl
 * A scratch host namespace gets a rootful podman (CNI backend) whose network's plugin type is a
 * recording shim (spy-plugin.ts) delegating to the reference `bridge` + `host-local` plugins;
 * two containers are started and removed (VERSION, ADD, ADD, DEL, DEL as podman really calls
 * them). Scratch paths become "<scratch>" and the per-run name prefix "wftrec", so a re-record
 * differs only in IDs, MACs and times. Everything is removed afterwards.
 */
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run } from '../cni-run.js';
import { Lab } from '../lab.js';
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
    const lines = sanitized(log, lab);
    const commands = lines.split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { CNI_COMMAND: string }).CNI_COMMAND);
    if (!commands.includes('ADD') || !commands.includes('DEL')) throw new Error(`podman made no ADD/DEL calls (recorded: ${commands.join(', ') || 'nothing'})`);
    writeFileSync(out, lines);
    process.stdout.write(`record-runtime: ${commands.length} calls (${commands.join(' ')}) -> ${out}\n`);
  } finally {
    await host?.cleanup();
    lab.destroy();
    restoreMachinePaths(machine);
  }
}

const [runtime, out] = process.argv.slice(2);
if (runtime !== 'podman' || !out) {
  process.stderr.write('usage: record-runtime podman OUT.jsonl\n');
  process.exit(2);
}
if (process.getuid?.() !== 0) {
  process.stderr.write('record-runtime: must run as root (network namespaces, rootful podman)\n');
  process.exit(1);
}
await recordPodman(out).catch((e: unknown) => {
  process.stderr.write(`record-runtime: ${(e as Error).message}\n`);
  process.exitCode = 1;
});
