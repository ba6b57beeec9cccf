/**
 * The initiator sends its topology state right behind its last handshake message; a busy
 * responder reads both in one chunk. Two real routers over loopback TCP, with a proxy that
 * coalesces the initiator's bytes into one write every 100 ms: the first connection must be
 * accepted and kept (the responder once split the chunk under the handshake frame limit and
 * refused the state as too big, so the mesh re-dialled forever).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { createServer, connect, type Socket } from 'node:net';
import { silentLogger } from '../common/index.js';
import { ClusterKeyring, generateIdentity } from '../crypto/index.js';
import { createMeshMetrics, createRegistry } from '../metrics/index.js';
import { MeshRouter } from './router.js';

function router(port: number, keyring: ClusterKeyring): MeshRouter {
  return new MeshRouter({
    identity: generateIdentity(), keyring: () => keyring, nickname: `n${port}`, host: '127.0.0.1', port, connLimit: 8,
    timing: { handshakeTimeoutMs: 3_000, heartbeatIntervalMs: 500, heartbeatTimeoutMs: 2_500, gossipIntervalMs: 1_000, backoffScale: 0.05 },
    metrics: createMeshMetrics(createRegistry()), log: silentLogger(),
  });
}

async function until(what: string, cond: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('a handshake\'s last message and the first message coalesced into one read: the connection is kept', async () => {
  const portB = randomInt(20_000, 40_000);
  const keyring = await ClusterKeyring.derive([{ secret: Buffer.alloc(32, 7), kdf: 'raw' }]);
  const a = router(portB + 1, keyring);
  const b = router(portB, keyring);
  const sockets: Socket[] = [];
  const proxy = createServer((down) => {
    const up = connect({ host: '127.0.0.1', port: portB });
    sockets.push(down, up);
    let held: Buffer[] = [];
    let timer: NodeJS.Timeout | null = null;
    down.on('data', (c: Buffer) => {
      held.push(c);
      timer ??= setTimeout(() => { timer = null; up.write(Buffer.concat(held)); held = []; }, 100);
    });
    up.on('data', (c: Buffer) => down.write(c));
    for (const s of [down, up]) s.on('error', () => undefined);
    down.on('close', () => up.destroy());
    up.on('close', () => down.destroy());
  });
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', () => r()));
  const proxyPort = (proxy.address() as { port: number }).port;
  // a channel whose state (sent down every new connection right after the handshake) is larger
  // than a handshake frame may be; b does not know the channel and ignores it
  a.newGossip('bulk', { gossip: () => Buffer.alloc(4_000, 1), onGossip: () => null, onGossipBroadcast: () => null, onGossipUnicast: () => undefined });
  await a.start();
  await b.start();
  try {
    assert.deepEqual(a.connect([`127.0.0.1:${proxyPort}`]), []);
    await until('b holds an established connection from a', () => b.connectionStatus().some((c) => c.state === 'established'));
    await until('a sees b in its topology', () => a.topology.size === 2 && b.topology.size === 2);
    const [target] = a.targets();
    assert.equal(target?.attempts, 1, `the first connection was kept (attempts ${target?.attempts}, last error ${target?.lastError})`);
  } finally {
    await a.stop();
    await b.stop();
    for (const s of sockets) s.destroy();
    proxy.close();
  }
});
