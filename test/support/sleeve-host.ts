/**
 * Integration-test harness for one simulated host: run inside a host namespace with
 * `ip netns exec NS node dist/test/support/sleeve-host.js CONFIG.json`. It starts a real
 * SleeveOverlay (bridge + TAP via src/host's HostPlumbing and the native addon's I/O, both
 * handed in as the daemon does) and stands in for the mesh:
 *
 *   - a tiny TCP control link per neighbour (length-prefixed frames: a hello naming the
 *     sender, then overlay control messages), the lower-indexed side dials;
 *   - data keys from a random secret in a file (test-only DataKeysLike, direction-separated);
 *   - routes from the static topology in the config (BFS, per-source broadcast trees), with
 *     links the overlay reports failed left out — what the real mesh is expected to do.
 *
 * The test drives it with JSON lines on stdin ({id, cmd, ...}) and reads JSON lines on
 * stdout ({id, ok, result | error}). Logs go to stderr. The real mesh replaces all this.
 */
import { createServer, connect, type Socket } from 'node:net';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import sodium from 'sodium-native';
import { createLogger, describeError } from '../../src/common/index.js';
import type { DataKeysLike, OverlayConnection, OverlayRoutes } from '../../src/mesh/index.js';
import { SleeveOverlay, loadNative, type SleeveTiming } from '../../src/dataplane/index.js';
import { HostPlumbing } from '../../src/host/index.js';

export interface SleeveHostConfig {
  name: string;
  ip: string;
  port: number;
  bridge: string;
  tap: string;
  mtu?: number;
  secretFile: string;
  encrypted: boolean;
  /** Neighbours with a control link; `dial` = we connect to them. */
  peers: { name: string; ip: string; dial: boolean }[];
  /** The whole topology (undirected edges by name), for route computation. */
  edges: [string, string][];
  timing?: Partial<SleeveTiming>;
}

const cfg = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as SleeveHostConfig;
const secret = readFileSync(cfg.secretFile);
const log = createLogger({ level: 'info', fd: 2, pretty: false }).child({ host: cfg.name });
const plumbing = new HostPlumbing({ bridge: cfg.bridge, log });
const overlay = new SleeveOverlay({
  localName: cfg.name, port: cfg.port, tapName: cfg.tap, log, io: loadNative(), plumbing,
  ...(cfg.mtu ? { mtu: cfg.mtu } : {}), ...(cfg.timing ? { timing: cfg.timing } : {}),
});
const failed = new Set<string>();
const health: Record<string, unknown> = {};

/** Test-only key schedule: BLAKE2b(secret; "weft-test-data" | epoch | from>to). */
function dataKeys(me: string, peer: string): DataKeysLike {
  const k = (epoch: number, from: string, to: string): Buffer => {
    const out = Buffer.alloc(32);
    sodium.crypto_generichash(out, Buffer.from(`weft-test-data|${epoch}|${from}>${to}`), secret);
    return out;
  };
  return { encrypted: cfg.encrypted, keys: (e) => ({ send: k(e, me, peer), recv: k(e, peer, me) }) };
}

// ─────────────── routes from the static topology ───────────────

function neighbours(n: string): string[] {
  const out: string[] = [];
  for (const [a, b] of cfg.edges) {
    const up = !(failed.has(b) && a === cfg.name) && !(failed.has(a) && b === cfg.name);
    if (!up) continue;
    if (a === n) out.push(b);
    else if (b === n) out.push(a);
  }
  return out.sort();
}

/** BFS parents from `src` (deterministic: neighbours in name order). */
function bfs(src: string): Map<string, string | null> {
  const parent = new Map<string, string | null>([[src, null]]);
  const queue = [src];
  while (queue.length > 0) {
    const v = queue.shift()!;
    for (const n of neighbours(v)) {
      if (!parent.has(n)) {
        parent.set(n, v);
        queue.push(n);
      }
    }
  }
  return parent;
}

function computeRoutes(): OverlayRoutes {
  const parent = bfs(cfg.name);
  const unicast = new Map<string, string>();
  for (const dst of parent.keys()) {
    if (dst === cfg.name) continue;
    let hop = dst;
    while (parent.get(hop) !== cfg.name) hop = parent.get(hop)!;
    unicast.set(dst, hop);
  }
  return {
    unicast,
    broadcastNextHops: (src) => {
      const tree = bfs(src);
      return neighbours(cfg.name).filter((n) => tree.get(n) === cfg.name);
    },
  };
}

// ─────────────── control links ───────────────

const conns = new Map<string, OverlayConnection>();

function frameOut(sock: Socket, kind: number, body: Buffer): void {
  const h = Buffer.alloc(5);
  h.writeUInt32BE(body.length + 1, 0);
  h[4] = kind;
  sock.write(Buffer.concat([h, body]));
}

function wire(sock: Socket, outbound: boolean): void {
  sock.setNoDelay(true);
  let buf = Buffer.alloc(0);
  let peer: string | null = null;
  frameOut(sock, 0, Buffer.from(cfg.name));
  sock.on('data', (chunk) => {
    buf = Buffer.concat([buf, chunk]);
    while (buf.length >= 4 && buf.length >= 4 + buf.readUInt32BE(0)) {
      const len = buf.readUInt32BE(0);
      const kind = buf[4]!;
      const body = buf.subarray(5, 4 + len);
      buf = buf.subarray(4 + len);
      if (kind === 0 && peer === null) {
        peer = body.toString();
        const name = peer;
        const conn = overlay.prepareConnection({
          remotePeer: name, remoteAddress: `${sock.remoteAddress}:${sock.remotePort}`,
          localAddress: `${sock.localAddress}:${sock.localPort}`, outbound, dataKeys: dataKeys(cfg.name, name),
          sendControl: (m) => frameOut(sock, 1, m),
          onHealth: (h) => {
            health[name] = h;
            const was = failed.has(name);
            if (h.state === 'failed') failed.add(name); else failed.delete(name);
            if (was !== failed.has(name)) overlay.setRoutes(computeRoutes());
          },
        });
        conns.set(name, conn);
        conn.confirm();
      } else if (kind === 1 && peer) {
        conns.get(peer)?.onControl(Buffer.from(body));
      }
    }
  });
  sock.on('error', () => {});
  sock.on('close', () => {
    if (peer) conns.get(peer)?.stop();
  });
}

const server = createServer((s) => wire(s, false));

function dial(ip: string, port: number, attempt = 0): void {
  const s = connect({ host: ip, port });
  s.once('connect', () => wire(s, true));
  s.once('error', () => {
    if (attempt < 50) setTimeout(() => dial(ip, port, attempt + 1), 100);
  });
}

// ─────────────── commands from the test ───────────────

type Cmd = { id: number; cmd: string; [k: string]: unknown };

async function handle(c: Cmd): Promise<unknown> {
  switch (c.cmd) {
    case 'attach':
      return plumbing.attach({ netns: c.netns as string, cidr: c.cidr as string, mtu: overlay.mtu });
    case 'detach':
      return plumbing.detach(c.netns as string);
    case 'list':
      return plumbing.listAttached();
    case 'expose':
      await plumbing.expose(c.cidr as string);
      return plumbing.exposed();
    case 'hide':
      return plumbing.hide(c.cidr as string);
    case 'stats':
      return overlay.stats();
    case 'links':
      return { links: overlay.links(), health };
    case 'macs':
      return overlay.macTable();
    case 'stop':
      await shutdown();
      return true;
    default:
      throw new Error(`unknown command ${c.cmd}`);
  }
}

let stopping = false;
async function shutdown(): Promise<void> {
  if (stopping) return;
  stopping = true;
  for (const c of conns.values()) c.stop();
  server.close();
  await overlay.stop();
  setTimeout(() => process.exit(0), 50).unref();
}

async function main(): Promise<void> {
  await overlay.start();
  overlay.setRoutes(computeRoutes());
  await new Promise<void>((res, rej) => server.listen(cfg.port, cfg.ip, res).once('error', rej));
  for (const p of cfg.peers) if (p.dial) dial(p.ip, cfg.port);
  const rl = createInterface({ input: process.stdin });
  rl.on('line', (line) => {
    let c: Cmd;
    try {
      c = JSON.parse(line) as Cmd;
    } catch {
      return;
    }
    handle(c).then(
      (result) => process.stdout.write(JSON.stringify({ id: c.id, ok: true, result }) + '\n'),
      (e) => process.stdout.write(JSON.stringify({ id: c.id, ok: false, error: describeError(e) }) + '\n'),
    );
  });
  rl.on('close', () => void shutdown());
  process.on('SIGTERM', () => void shutdown());
  process.stdout.write(JSON.stringify({ id: 0, ok: true, result: 'ready' }) + '\n');
}

main().catch((e) => {
  process.stderr.write(`sleeve-host: ${describeError(e)}\n`);
  process.exit(1);
});
