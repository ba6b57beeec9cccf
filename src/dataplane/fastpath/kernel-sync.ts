/**
 * Applies a DesiredKernel to the kernel, as a diff against what it applied before. One apply
 * runs at a time; requests made meanwhile coalesce into one more run with the newest state.
 * Order: everything that takes traffic *off* a fast path first (redirects, routes, flood
 * entries, pins, VXLAN entries), then what puts traffic *on* one (VXLAN entries before the
 * pins that send frames to them, routes before the redirects that use them).
 */
import { describeError, type Logger } from '../../common/index.js';
import { emptyKernel, type DesiredKernel } from './kernel-state.js';

/** The kernel operations KernelSync needs (src/host's VxlanEdge and HostGwEdge, or fakes). */
export interface KernelOps {
  setUnicast(mac: string, ip: string, port: number): Promise<void>;
  deleteUnicast(mac: string): Promise<void>;
  pinOnBridge(mac: string): Promise<void>;
  unpinFromBridge(mac: string): Promise<void>;
  addFlood(ip: string, port: number): Promise<void>;
  deleteFlood(ip: string): Promise<void>;
  addRemote(podIp: string, via: string): Promise<void>;
  deleteRemote(podIp: string): Promise<void>;
  addRedirect(mac: string, ip: string): Promise<void>;
  deleteRedirect(mac: string, ip: string): Promise<void>;
  addLocal(podIp: string, mac: string): Promise<void>;
  deleteLocal(podIp: string): Promise<void>;
}

const split = (s: string): [string, string] => {
  const i = s.indexOf(' ');
  return [s.slice(0, i), s.slice(i + 1)];
};

export class KernelSync {
  private applied: DesiredKernel = emptyKernel();
  private running: Promise<void> | null = null;
  private again = false;
  private failures = 0;
  private stopped = false;
  /** Errors of the last apply (for status); empty when it fully succeeded. */
  lastError = '';

  constructor(private readonly ops: KernelOps, private readonly desired: () => DesiredKernel, private readonly log: Logger) {}

  /** Request an apply; resolves when the kernel matches the state at (or after) this call. */
  schedule(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      try {
        do {
          this.again = false;
          await this.applyOnce(this.desired());
        } while (this.again && !this.stopped);
      } finally {
        this.running = null;
      }
    })();
    return this.running;
  }

  /** Stop applying (an apply in flight finishes its current command). */
  stop(): Promise<void> {
    this.stopped = true;
    return this.running ?? Promise.resolve();
  }

  /** What was applied (for status and tests). */
  get current(): DesiredKernel {
    return this.applied;
  }

  private async applyOnce(want: DesiredKernel): Promise<void> {
    const have = this.applied;
    const errors: string[] = [];
    const step = async (what: string, fn: () => Promise<void>, onOk: () => void) => {
      if (this.stopped) return;
      try {
        await fn();
        onOk();
      } catch (e) {
        errors.push(`${what}: ${describeError(e)}`);
      }
    };
    // off the fast paths
    for (const r of [...have.redirects]) if (!want.redirects.has(r)) {
      const [mac, ip] = split(r);
      await step('redirect', () => this.ops.deleteRedirect(mac, ip), () => have.redirects.delete(r));
    }
    for (const [ip, via] of [...have.routes]) if (want.routes.get(ip) !== via) {
      await step('route', () => this.ops.deleteRemote(ip), () => have.routes.delete(ip));
    }
    for (const f of [...have.flood]) if (!want.flood.has(f)) {
      await step('flood entry', () => this.ops.deleteFlood(split(f)[0]), () => have.flood.delete(f));
    }
    for (const [mac, dst] of [...have.unicast]) if (want.unicast.get(mac) !== dst) {
      await step('bridge pin', () => this.ops.unpinFromBridge(mac), () => undefined);
      await step('VXLAN entry', () => this.ops.deleteUnicast(mac), () => have.unicast.delete(mac));
    }
    for (const [ip, mac] of [...have.local]) if (want.local.get(ip) !== mac) {
      await step('local pod route', () => this.ops.deleteLocal(ip), () => have.local.delete(ip));
    }
    // onto the fast paths
    for (const [ip, mac] of want.local) if (!have.local.has(ip)) {
      await step('local pod route', () => this.ops.addLocal(ip, mac), () => have.local.set(ip, mac));
    }
    for (const [mac, dst] of want.unicast) if (!have.unicast.has(mac)) {
      const [ip, port] = split(dst);
      await step('VXLAN entry', async () => {
        await this.ops.setUnicast(mac, ip, Number(port));
        await this.ops.pinOnBridge(mac);
      }, () => have.unicast.set(mac, dst));
    }
    for (const f of want.flood) if (!have.flood.has(f)) {
      const [ip, port] = split(f);
      await step('flood entry', () => this.ops.addFlood(ip, Number(port)), () => have.flood.add(f));
    }
    for (const [ip, via] of want.routes) if (!have.routes.has(ip)) {
      await step('route', () => this.ops.addRemote(ip, via), () => have.routes.set(ip, via));
    }
    for (const r of want.redirects) if (!have.redirects.has(r) && have.routes.has(split(r)[1])) {
      const [mac, ip] = split(r);
      await step('redirect', () => this.ops.addRedirect(mac, ip), () => have.redirects.add(r));
    }
    this.lastError = errors.join('; ');
    if (errors.length > 0 && this.failures++ < 20) {
      this.log.warn({ errors: errors.slice(0, 5), count: errors.length }, 'fastpath: some kernel updates failed (retried on the next change)');
    }
  }
}
