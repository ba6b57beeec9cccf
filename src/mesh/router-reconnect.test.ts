/**
 * An overlay that reports `failed` with `reconnect: true` (e.g. a stalled key rotation) makes
 * the router close the control connection and the connection maker re-handshake: two real
 * routers over loopback TCP, with a test overlay standing in for the data plane.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { silentLogger } from '../common/index.js';
import { ClusterKeyring, generateIdentity } from '../crypto/index.js';
import { createMeshMetrics, createRegistry, type Registry } from '../metrics/index.js';
import { MeshRouter } from './router.js';
import type { DataKeysLike, Overlay, OverlayConnection, OverlayConnectionParams } from './overlay-types.js';

/** Records every connection; `failNext` makes the next confirmed one report a fatal failure. */
class RecordingOverlay implements Overlay {
  readonly prepared: OverlayConnectionParams[] = [];
  failNext = false;
  async start(): Promise<void> { /* nothing */ }
  async stop(): Promise<void> { /* nothing */ }
  setRoutes(): void { /* nothing */ }
  peerGone(): void { /* nothing */ }
  prepareConnection(p: OverlayConnectionParams): OverlayConnection {
    this.prepared.push(p);
    return {
      confirm: () => {
        if (this.failNext) {
          this.failNext = false;
          p.onHealth({ state: 'failed', mode: 'sleeve', reason: 'key rotation stalled (test)', reconnect: true });
        } else {
          p.onHealth({ state: 'healthy', mode: 'sleeve' });
        }
      },
      onControl: () => undefined,
      stop: () => undefined,
    };
  }
}

function router(port: number, overlay: Overlay, registry: Registry, keyring: ClusterKeyring): MeshRouter {
  const r = new MeshRouter({
    identity: generateIdentity(), keyring: () => keyring, nickname: `n${port}`, host: '127.0.0.1', port, connLimit: 8,
    timing: { handshakeTimeoutMs: 2_000, heartbeatIntervalMs: 500, heartbeatTimeoutMs: 2_500, gossipIntervalMs: 1_000, backoffScale: 0.05 },
    metrics: createMeshMetrics(registry), log: silentLogger(),
  });
  r.setOverlay(overlay);
  return r;
}

async function until(what: string, cond: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('a data path that asks to reconnect gets a new handshake (new keys), with the reason in status', async () => {
  const portA = randomInt(20_000, 40_000);
  const portB = portA + 1;
  const oa = new RecordingOverlay();
  const ob = new RecordingOverlay();
  const keyring = await ClusterKeyring.derive([{ secret: Buffer.alloc(32, 5), kdf: 'raw' }]);
  const a = router(portA, oa, createRegistry(), keyring);
  const b = router(portB, ob, createRegistry(), keyring);
  await a.start();
  await b.start();
  try {
    oa.failNext = true;
    assert.deepEqual(a.connect([`127.0.0.1:${portB}`]), []);
    await until('a second handshake after the reconnect', () => oa.prepared.length >= 2 && ob.prepared.length >= 2);
    const keys = (p: OverlayConnectionParams): DataKeysLike => p.dataKeys;
    assert.notEqual(keys(oa.prepared[0]!), keys(oa.prepared[1]!), 'a new session');
    assert.notDeepEqual(keys(oa.prepared[0]!).keys(0).send, keys(oa.prepared[1]!).keys(0).send, 'with new data keys');
    await until('established again, healthy', () => a.connectionStatus().some((c) => c.state === 'established' && c.reason === undefined));
    const failed = a.connectionStatus().find((c) => c.state === 'failed');
    assert.match(failed?.reason ?? '', /data path failed: key rotation stalled \(test\)/);
    assert.equal(oa.prepared.length, 2, 'reconnected once, then stable');
  } finally {
    await a.stop();
    await b.stop();
  }
});
