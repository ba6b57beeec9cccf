import {
  BACKOFF_FACTOR, BACKOFF_INITIAL_MS, BACKOFF_MAX_MS, BACKOFF_RESET_AFTER_MS, type Logger,
} from '../common/index.js';
import type { PeerName } from './gossip-types.js';
import { Backoff } from './backoff.js';

export type TargetState = 'waiting' | 'connecting' | 'connected' | 'failed';

/** One address the maker keeps a connection to (or tries to). */
interface Target {
  address: string;
  host: string;
  port: number;
  /** Given by the operator (command line / `weft connect`), not discovered. */
  direct: boolean;
  state: TargetState;
  attempts: number;
  lastError?: string;
  backoff: Backoff;
  /** Peer last seen at this address. */
  peer?: PeerName;
  /** Self-connection or name collision: never dialled again. */
  neverRetry: boolean;
}

export interface TargetStatus {
  address: string;
  state: TargetState;
  attempts: number;
  lastError?: string;
  nextTryAt?: string;
  direct: boolean;
  peer?: string;
}

export interface ConnectionMakerOptions {
  ourPort: number;
  connLimit: number;
  /** Multiplies every backoff interval (tests use < 1). */
  backoffScale: number;
  /** Start a dial; the router reports back via dialFailed / connected / disconnected. */
  dial(target: { address: string; host: string; port: number }): void;
  /** Is this peer currently connected (by any connection, inbound or outbound)? */
  isConnected(peer: PeerName): boolean;
  /** Number of live and pending connections (for the limit on discovered targets). */
  connectionCount(): number;
  log: Logger;
  now?: () => number;
  random?: () => number;
}

/** Split "host", "host:port" or "[v6]:port" into parts; port 0/absent → ourPort. */
export function parseTargetAddress(s: string, ourPort: number): { host: string; port: number; address: string } | null {
  let host = s.trim();
  let port = ourPort;
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(host);
  const v4 = /^([^:]*):([^:]*)$/.exec(host);
  if (v6) {
    host = v6[1] ?? '';
    if (v6[2]) port = Number(v6[2]);
  } else if (v4) {
    host = v4[1] ?? '';
    port = Number(v4[2]);
  }
  if (!host || !Number.isInteger(port) || port < 0 || port > 65535) return null;
  if (port === 0) port = ourPort;
  const address = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
  return { host, port, address };
}

/**
 * Keeps connections to the operator's peers and to peers discovered by gossip.
 *
 * Backoff per target: first try immediately; after a failure the next try is at
 * now + interval/2 + rand(0, interval), interval ×1.5 up to 6 min (all × backoffScale). A
 * connection that lived longer than 1 min resets the backoff. Self-connections and name
 * collisions are never retried. Discovered targets are only dialled while fewer than
 * `connLimit` connections exist. Lifecycle: start() arms a 1 s tick (scaled); stop() disarms.
 */
export class ConnectionMaker {
  private readonly targets = new Map<string, Target>();
  private timer: NodeJS.Timeout | null = null;
  private readonly now: () => number;
  private readonly random: () => number;

  constructor(private readonly opts: ConnectionMakerOptions) {
    this.now = opts.now ?? Date.now;
    this.random = opts.random ?? Math.random;
  }

  start(): void {
    const tickMs = Math.max(50, Math.round(1000 * Math.min(1, this.opts.backoffScale)));
    this.timer = setInterval(() => this.tick(), tickMs);
    this.timer.unref();
    this.tick();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Add operator-given targets (replace=true drops other direct targets). Returns bad entries. */
  addDirect(addresses: string[], replace = false): string[] {
    const bad: string[] = [];
    const parsed = addresses.map((a) => ({ a, p: parseTargetAddress(a, this.opts.ourPort) }));
    for (const { a, p } of parsed) if (!p) bad.push(a);
    if (bad.length > 0) return bad;
    if (replace) for (const t of this.targets.values()) if (t.direct) this.targets.delete(t.address);
    for (const { p } of parsed) this.ensure(p!.address, p!.host, p!.port, true);
    this.tick();
    return [];
  }

  /** Stop maintaining these targets (existing connections stay up). Returns the ones not found. */
  forget(addresses: string[]): string[] {
    const missing: string[] = [];
    for (const a of addresses) {
      const p = parseTargetAddress(a, this.opts.ourPort);
      if (!p || !this.targets.delete(p.address)) missing.push(a);
    }
    return missing;
  }

  /** Replace the set of discovered addresses (peer → dialable addresses) from the topology. */
  setDiscovered(found: ReadonlyMap<PeerName, readonly string[]>): void {
    const keep = new Set<string>();
    for (const [peer, addrs] of found) {
      for (const a of addrs) {
        const p = parseTargetAddress(a, this.opts.ourPort);
        if (!p) continue;
        keep.add(p.address);
        const t = this.ensure(p.address, p.host, p.port, false);
        t.peer ??= peer;
      }
    }
    for (const t of this.targets.values()) {
      if (!t.direct && !keep.has(t.address) && t.state !== 'connected' && t.state !== 'connecting') {
        this.targets.delete(t.address);
      }
    }
  }

  /** The router authenticated a connection that was dialled to `address`. */
  connected(address: string, peer: PeerName): void {
    const t = this.targets.get(address);
    if (!t) return;
    t.state = 'connected';
    t.peer = peer;
    t.lastError = undefined;
    t.backoff.connected(this.now());
  }

  /** A dial or connection to `address` ended. `neverRetry` for self/collision. */
  disconnected(address: string, error: string | null, neverRetry = false): void {
    const t = this.targets.get(address);
    if (!t) return;
    t.lastError = error ?? undefined;
    t.neverRetry ||= neverRetry;
    if (t.neverRetry) {
      t.state = 'failed';
      return;
    }
    if (t.state === 'connected') t.backoff.disconnected(this.now());
    else t.backoff.failed(this.now());
    t.state = error ? 'failed' : 'waiting';
  }

  /** Status rows for `weft status targets`. */
  status(): TargetStatus[] {
    return [...this.targets.values()].map((t) => ({
      address: t.address,
      state: t.state,
      attempts: t.attempts,
      lastError: t.lastError,
      nextTryAt: t.state === 'connected' || t.neverRetry ? undefined : new Date(t.backoff.nextTryAt).toISOString(),
      direct: t.direct,
      peer: t.peer,
    }));
  }

  /** Try every due target. Called by the timer and after changes. */
  tick(): void {
    const now = this.now();
    for (const t of this.targets.values()) {
      if (t.neverRetry || t.state === 'connecting' || t.state === 'connected') continue;
      if (t.peer && this.opts.isConnected(t.peer)) {
        t.state = 'connected';
        continue;
      }
      if (!t.backoff.due(now)) continue;
      if (!t.direct && this.opts.connectionCount() >= this.opts.connLimit) continue;
      t.state = 'connecting';
      t.attempts++;
      this.opts.dial({ address: t.address, host: t.host, port: t.port });
    }
  }

  /** Mark targets whose peer just lost its connection as due (used on disconnect of inbound). */
  peerDisconnected(peer: PeerName): void {
    for (const t of this.targets.values()) {
      if (t.peer === peer && t.state === 'connected') {
        t.state = 'waiting';
        t.backoff.reset();
      }
    }
  }

  private ensure(address: string, host: string, port: number, direct: boolean): Target {
    let t = this.targets.get(address);
    if (!t) {
      const scale = this.opts.backoffScale;
      const backoff = new Backoff({
        initialMs: BACKOFF_INITIAL_MS * scale, factor: BACKOFF_FACTOR, maxMs: BACKOFF_MAX_MS * scale,
        resetAfterMs: BACKOFF_RESET_AFTER_MS * scale, random: this.random,
      });
      t = { address, host, port, direct, state: 'waiting', attempts: 0, backoff, neverRetry: false };
      this.targets.set(address, t);
    } else if (direct) {
      t.direct = true;
    }
    return t;
  }
}
