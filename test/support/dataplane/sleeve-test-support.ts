/**
 * Helpers for the engine's unit tests: test-only data keys, frame builders, a fake clock, and
 * wiring two SleeveOverlays into one overlay connection through a fake "mesh". Test-only.
 */
import sodium from 'sodium-native';
import type { Registry } from 'prom-client';
import { silentLogger } from '../../../src/common/index.js';
import type { DataKeysLike, OverlayConnection, OverlayHealth, OverlayRoutes } from '../../../src/mesh/index.js';
import { FakeNet, type FakeHostIo } from './fake-sleeve-io.js';
import { SleeveOverlay } from '../../../src/dataplane/sleeve-overlay.js';
import type { SleeveTiming } from '../../../src/dataplane/timing.js';

/** Direction-separated keys per epoch from a shared secret: a's send == b's recv. */
export function testKeyPair(encrypted = true, secret = Buffer.from('unit-test-secret')): [DataKeysLike, DataKeysLike] {
  const k = (epoch: number, dir: string): Buffer => {
    const out = Buffer.alloc(32);
    sodium.crypto_generichash(out, Buffer.from(`${dir}/${epoch}`), Buffer.concat([secret, Buffer.alloc(16)]));
    return out;
  };
  return [
    { encrypted, keys: (e) => ({ send: k(e, 'a>b'), recv: k(e, 'b>a') }) },
    { encrypted, keys: (e) => ({ send: k(e, 'b>a'), recv: k(e, 'a>b') }) },
  ];
}

/** Ethernet frame: dst, src (12 hex digits each), ethertype, payload. */
export function frame(dst: string, src: string, payload: Buffer | number = 64, type = 0x0800): Buffer {
  const p = typeof payload === 'number' ? Buffer.alloc(payload, 0x5a) : payload;
  const f = Buffer.alloc(14 + p.length);
  Buffer.from(dst + src, 'hex').copy(f, 0);
  f.writeUInt16BE(type, 12);
  p.copy(f, 14);
  return f;
}

export const BROADCAST = 'ffffffffffff';

/** A controllable clock. */
export class Clock {
  t = 1_000_000;
  now = (): number => this.t;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Poll `cond` every 5 ms for up to `ms` real milliseconds. */
export async function waitFor(cond: () => boolean, ms = 3000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

/** Advance the fake clock in steps, letting ticks run between steps. */
export async function advance(clock: Clock, ms: number, step = 250): Promise<void> {
  for (let done = 0; done < ms; done += step) {
    clock.t += Math.min(step, ms - done);
    await sleep(4);
  }
}

/** One simulated host: fake addon + engine. */
export interface TestNode {
  name: string;
  ip: string;
  io: FakeHostIo;
  overlay: SleeveOverlay;
  health: Map<string, OverlayHealth[]>;
}

export async function makeNode(net: FakeNet, clock: Clock, name: string, ip: string,
  o: { port?: number; mtu?: number; localMtu?: number; timing?: Partial<SleeveTiming>; alg?: 'chacha20-poly1305' | 'aes-256-gcm'; registry?: Registry; tapCoalesce?: boolean } = {}): Promise<TestNode> {
  const io = net.host(ip, o.localMtu ?? 1500);
  const overlay = new SleeveOverlay({
    localName: name, port: o.port ?? 6783, tapName: 'tap', log: silentLogger(), io, plumbing: null,
    now: clock.now, timing: { tickMs: 2, idleTickMs: 2, ...o.timing }, ...(o.mtu ? { mtu: o.mtu } : {}), ...(o.alg ? { alg: o.alg } : {}),
    ...(o.registry ? { registry: o.registry } : {}), ...(o.tapCoalesce !== undefined ? { tapCoalesce: o.tapCoalesce } : {}),
  });
  await overlay.start();
  return { name, ip, io, overlay, health: new Map() };
}

/** Connect a (outbound) → b through a fake mesh; control messages are delivered async. */
export function connect(a: TestNode, b: TestNode, encrypted = true,
  keys?: [DataKeysLike, DataKeysLike]): { ab: OverlayConnection; ba: OverlayConnection } {
  const [ka, kb] = keys ?? testKeyPair(encrypted, Buffer.from(`${a.name}|${b.name}`));
  const conns: { ab?: OverlayConnection; ba?: OverlayConnection } = {};
  const hist = (n: TestNode, peer: string): OverlayHealth[] => {
    let h = n.health.get(peer);
    if (!h) n.health.set(peer, (h = []));
    return h;
  };
  const bPort = b.overlay.udpPort;
  conns.ab = a.overlay.prepareConnection({
    remotePeer: b.name, remoteAddress: `${b.ip}:${bPort}`, localAddress: `${a.ip}:45000`, outbound: true, dataKeys: ka,
    sendControl: (m) => setImmediate(() => conns.ba?.onControl(m)), onHealth: (h) => hist(a, b.name).push(h),
  });
  conns.ba = b.overlay.prepareConnection({
    remotePeer: a.name, remoteAddress: `${a.ip}:45000`, localAddress: `${b.ip}:${bPort}`, outbound: false, dataKeys: kb,
    sendControl: (m) => setImmediate(() => conns.ab?.onControl(m)), onHealth: (h) => hist(b, a.name).push(h),
  });
  conns.ab.confirm();
  conns.ba.confirm();
  return conns as { ab: OverlayConnection; ba: OverlayConnection };
}

/** Routes from an explicit table: unicast dst→hop and broadcast next hops per source. */
export function routes(unicast: Record<string, string>, bcast: Record<string, string[]>): OverlayRoutes {
  return { unicast: new Map(Object.entries(unicast)), broadcastNextHops: (src) => bcast[src] ?? [] };
}

export function linkState(n: TestNode, peer: string): string | undefined {
  return n.overlay.links().find((l) => l.peer === peer)?.state;
}

export { FakeNet };
