/**
 * weft-net against what containerd's `ctr run --cni --rm` really sends (recorded into
 * test/fixtures/cni/ctr-1.6.20.jsonl): ADD with CNI_NETNS=/proc/PID/ns/net and empty CNI_ARGS,
 * DEL with an empty CNI_NETNS once the task is gone and the ADD result as prevResult. Runs the
 * compiled plugin as a runtime does, against the stand-in daemon; needs no root.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StandInDaemon } from './support/cni/stand-in-daemon.js';
import { WEFT_NET_FRONT_ENDS, runPlugin as runPluginAs } from './support/cni/run-plugin.js';
import { ctrCalls, envOf } from './support/cni/podman-fixture.js';

const dir = mkdtempSync(join(tmpdir(), 'weft-cni-ctr-'));
const socket = join(dir, 'weft.sock');
let daemon: StandInDaemon;
const calls = ctrCalls();

before(async () => {
  daemon = new StandInDaemon({ socketPath: socket, network: { bridge: `wftnobr${process.pid % 1000}`, range: '10.99.0.0/16', gateway: '10.99.0.1' } });
  await daemon.start();
});
after(async () => {
  await daemon.stop();
  rmSync(dir, { recursive: true, force: true });
});

for (const fe of WEFT_NET_FRONT_ENDS) {
  /** weft-net as the compiled front end or the Node plugin (weft-ipam is always Node). */
  const runPlugin: typeof runPluginAs = (name, env, stdin, opts = {}) => runPluginAs(name, env, stdin, { ...opts, frontEnd: fe });

  test(`[${fe}] the ctr fixture is what ctr sends: ADD ×2 with /proc/PID/ns/net, DEL ×2 with an empty CNI_NETNS and prevResult`, () => {
    assert.deepEqual(calls.map((c) => c.CNI_COMMAND), ['ADD', 'ADD', 'DEL', 'DEL']);
    for (const c of calls.filter((x) => x.CNI_COMMAND === 'ADD')) assert.match(c.CNI_NETNS, /^\/proc\/\d+\/ns\/net$/);
    for (const c of calls.filter((x) => x.CNI_COMMAND === 'DEL')) {
      assert.equal(c.CNI_NETNS, '');
      assert.ok(c.stdin.prevResult, 'DEL carries the ADD result');
    }
  });

  test(`[${fe}] weft-net DEL with the recorded ctr DEL inputs (no netns, prevResult): releases the allocation, exit 0, no output`, async () => {
    for (const c of calls.filter((x) => x.CNI_COMMAND === 'DEL')) {
      const owner = `cni/${String(c.stdin.name)}/${c.CNI_CONTAINERID}/${c.CNI_IFNAME}`;
      daemon.allocations.set(owner, '10.99.8.8');
      const { ipam: _ipam, ...rest } = c.stdin;
      const r = await runPlugin('weft-net', envOf(c), { ...rest, type: 'weft-net', socket });
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.equal(r.stdout, '');
      assert.equal(daemon.allocations.has(owner), false, `${owner} released`);
    }
  });

  test(`[${fe}] weft-net ADD with a recorded ctr ADD whose process is gone: a CNI error naming the netns, nothing allocated`, async () => {
    const c = calls.find((x) => x.CNI_COMMAND === 'ADD')!;
    const { ipam: _ipam, ...rest } = c.stdin;
    const before = daemon.allocations.size;
    // The recorded /proc/PID/ns/net belonged to a task that ended with the recording.
    const r = await runPlugin('weft-net', envOf(c, { CNI_NETNS: '/proc/999999999/ns/net' }), { ...rest, type: 'weft-net', socket });
    assert.equal(r.code, 1, r.stdout);
    assert.equal(r.json?.cniVersion, '1.0.0');
    assert.match(String(r.json?.msg), /999999999|netns|namespace/i);
    assert.equal(daemon.allocations.size, before);
  });
}
