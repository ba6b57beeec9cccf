/**
 * The image, built and run with a real engine: scripts/build-image.sh makes the base image
 * locally (debootstrap, docker import) and builds docker/Dockerfile with Debian's docker.io
 * under a dockerd of one simulated host; then the image's daemon runs as the DaemonSet runs it
 * (host network, privileged, secret from a file, socket and data dir on host paths), meets a
 * daemon started from the checkout on a second host, and carries a ping between a pod of each.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Lab, isRoot, sh, WEFT, REPO, FAST_TIMING } from '../support/lab.js';
import { waitFor } from '../support/wait.js';
import { startDockerd, haveDockerd, type Dockerd } from '../support/dockerd.js';
import { ApiClient } from '../../src/api/index.js';

const skip = !isRoot() ? 'needs root (network namespaces, dockerd, debootstrap): run the tests as root'
  : !haveDockerd() ? 'dockerd and docker are needed (docker.io; scripts/setup-system.sh installs it)'
    : sh('sh', ['-c', 'command -v debootstrap || true']).trim() === '' ? 'debootstrap is needed (scripts/setup-system.sh installs it)' : false;

/**
 * What the daemon's container needs, named one by one instead of `--privileged` (this VM's
 * capability bounding set lacks CAP_SYS_RESOURCE, and docker 20.10's --privileged asks for every
 * capability it knows, so runc refuses it): the kernel edge (NET_ADMIN, NET_RAW), namespace moves
 * and /proc/PID/ns paths (SYS_ADMIN, SYS_PTRACE), the TAP device, and writable /proc/sys.
 */
const DAEMON_PRIVILEGES = ['--cap-add', 'NET_ADMIN', '--cap-add', 'NET_RAW', '--cap-add', 'SYS_ADMIN', '--cap-add', 'SYS_PTRACE',
  '--device', '/dev/net/tun', '--security-opt', 'seccomp=unconfined', '--security-opt', 'apparmor=unconfined',
  '--security-opt', 'systempaths=unconfined'];

const VERSION = (JSON.parse(sh('cat', [join(REPO, 'package.json')])) as { version: string }).version;

test('docker/Dockerfile builds with no registry, and the image\'s daemon joins a mesh and carries pod traffic', { skip, timeout: 900_000 }, async () => {
  const lab = new Lab({ dirPrefix: 'weft-image-' });
  let engine: Dockerd | undefined;
  try {
    const [h1, h2] = lab.addHosts(2);
    engine = await startDockerd({ netns: h1.ns, dir: join(lab.dir, 'docker1') });
    const tag = `weft-test-${lab.prefix}:latest`;
    const built = sh('bash', [join(REPO, 'scripts', 'build-image.sh'), '--tag', tag], { env: engine.env, timeoutMs: 840_000 });
    assert.match(built.trim().split('\n').pop() ?? '', /^sha256:[0-9a-f]{64}$/, 'build-image prints the image ID');

    // The CLI in the image runs (node, dist, the addon's loader).
    const version = engine.docker(['run', '--rm', '--network', 'none', tag, 'version']);
    assert.ok(version.includes(VERSION), `weft version in the image prints ${VERSION}: ${version.trim()}`);

    // The daemon in the image, as the DaemonSet runs it.
    const secretDir = join(lab.dir, 'secret');
    const runDir = join(lab.dir, 'run1');
    mkdirSync(secretDir, { mode: 0o700 });
    mkdirSync(runDir);
    const password = 'image-test-secret-' + lab.prefix;
    writeFileSync(join(secretDir, 'password'), password + '\n', { mode: 0o600 });
    engine.docker(['run', '-d', '--name', `weft-${lab.prefix}`, '--network', 'host', '--pid', 'host', ...DAEMON_PRIVILEGES,
      '-v', `${h1.dataDir}:/var/lib/weft`, '-v', `${runDir}:/run/weft`, '-v', `${secretDir}:/etc/weft-secret:ro`,
      tag, 'launch', '--foreground', '--password-file', '/etc/weft-secret/password', '--data-dir', '/var/lib/weft',
      '--api-socket', '/run/weft/weft.sock', '--nickname', 'image-host', ...FAST_TIMING]);
    const imageSocket = join(runDir, 'weft.sock');
    const imageClient = new ApiClient({ socketPath: imageSocket, timeoutMs: 5000 });
    lab.launch(h2, { peers: [h1.ip], password });

    await lab.until('the image\'s daemon and the checkout\'s daemon connected', 60_000, async () => {
      const a = await imageClient.status().catch(() => null);
      const b = await h2.client.status().catch(() => null);
      return !!a && !!b && a.connections.some((c) => c.state === 'established') && b.connections.some((c) => c.state === 'established');
    });
    const inImage = engine.docker(['exec', `weft-${lab.prefix}`, 'weft', 'status', 'peers', '--api-socket', '/run/weft/weft.sock']);
    assert.match(inImage, /image-host/, 'weft status inside the container names its own peer');

    // A pod on each host; the image's daemon plumbs its pod through its own kernel edge.
    const podA = lab.netns('pa');
    const podB = lab.netns('pb');
    const pidA = await lab.sleeper(podA);
    lab.exec(h1, process.execPath, [WEFT, 'attach', '--ip', '10.46.0.1/16', '--api-socket', imageSocket, `/proc/${pidA}/ns/net`]);
    lab.exec(h2, process.execPath, [WEFT, 'attach', '--ip', '10.46.0.2/16', '--api-socket', h2.socket, podB]);
    await waitFor(() => sh('ip', ['netns', 'exec', podB, 'ping', '-c', '1', '-W', '1', '10.46.0.1'], { allowFail: true }).includes(' 0% packet loss'),
      { timeoutMs: 30_000, intervalMs: 200, what: 'a ping from the checkout\'s pod to the image\'s pod' });
  } finally {
    if (engine) {
      engine.docker(['rm', '-f', `weft-${lab.prefix}`], { allowFail: true });
      await engine.stop();
    }
    lab.destroy();
  }
});
