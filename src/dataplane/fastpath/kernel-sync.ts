/**
 * Applies a DesiredKernel to the kernel, as a diff against what it applied before. One apply
 * runs at a time; requests made meanwhile coalesce into one more run with the newest state.
 * Order: everything that takes traffic *off* a fast path first (host-gw forwards, routes,
 * flood entries, pins, VXLAN entries, local pods, then unused ingress hooks), then what puts
 * traffic *on* one (hooks and local pods first, VXLAN entries before the pins that send frames
 * to them, routes before the forwards of the same pods).
 *
 * Restart: {@link KernelSync.adopt} takes what a previous daemon left in the kernel as already
 * applied (so nothing is added twice) and, until {@link KernelSync.endGrace}, keeps adopted
 * entries the desired state does not (yet) name: traffic keeps flowing on them while peers
 * reconnect. Entries whose value changed are replaced at once.
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
  addForward(mac: string, ip: string, via: string, dev: string): Promise<void>;
  deleteForward(mac: string, ip: string): Promise<void>;
  addLocal(podIp: string, mac: string, port?: string): Promise<void>;
  deleteLocal(podIp: string, port?: string): Promise<void>;
  addPort(dev: string): Promise<void>;
  deletePort(dev: string): Promise<void>;
  addUnderlay(dev: string): Promise<void>;
  deleteUnderlay(dev: string): Promise<void>;
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
  private keepUnwanted = false;
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

  /**
   * Take `state` (read back from the kernel) as applied, before the first apply; keep its entries
   * that are not wanted until {@link endGrace}.
   */
  adopt(state: DesiredKernel): void {
    this.applied = state;
    this.keepUnwanted = true;
  }

  /** True between {@link adopt} and {@link endGrace}. */
  get adopting(): boolean {
    return this.keepUnwanted;
  }

  /** Stop keeping adopted leftovers: the next apply removes whatever is not wanted. */
  endGrace(): Promise<void> {
    if (!this.keepUnwanted) return Promise.resolve();
    this.keepUnwanted = false;
    return this.schedule();
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
    // off the fast paths (adopted entries nobody wants yet stay while the grace lasts)
    const keep = this.keepUnwanted;
    const gone = <K>(m: { has(k: K): boolean }, k: K): boolean => !keep || m.has(k);
    for (const [k, v] of [...have.forwards]) if (want.forwards.get(k) !== v && gone(want.forwards, k)) {
      const [mac, ip] = split(k);
      await step('host-gw forward', () => this.ops.deleteForward(mac, ip), () => have.forwards.delete(k));
    }
    for (const [ip, via] of [...have.routes]) if (want.routes.get(ip) !== via && gone(want.routes, ip)) {
      await step('route', () => this.ops.deleteRemote(ip), () => have.routes.delete(ip));
    }
    for (const f of [...have.flood]) if (!want.flood.has(f) && !keep) {
      await step('flood entry', () => this.ops.deleteFlood(split(f)[0]), () => have.flood.delete(f));
    }
    for (const [mac, dst] of [...have.unicast]) if (want.unicast.get(mac) !== dst && gone(want.unicast, mac)) {
      await step('bridge pin', () => this.ops.unpinFromBridge(mac), () => undefined);
      await step('VXLAN entry', () => this.ops.deleteUnicast(mac), () => have.unicast.delete(mac));
    }
    for (const [ip, v] of [...have.local]) if (want.local.get(ip) !== v && gone(want.local, ip)) {
      await step('local pod', () => this.ops.deleteLocal(ip, split(v)[1] || undefined), () => have.local.delete(ip));
    }
    for (const dev of [...have.underlays]) if (!want.underlays.has(dev) && !keep) {
      await step('underlay hook', () => this.ops.deleteUnderlay(dev), () => have.underlays.delete(dev));
    }
    for (const dev of [...have.ports]) if (!want.ports.has(dev) && !keep) {
      await step('pod port hook', () => this.ops.deletePort(dev), () => have.ports.delete(dev));
    }
    // onto the fast paths
    for (const dev of want.ports) if (!have.ports.has(dev)) {
      await step('pod port hook', () => this.ops.addPort(dev), () => have.ports.add(dev));
    }
    for (const dev of want.underlays) if (!have.underlays.has(dev)) {
      await step('underlay hook', () => this.ops.addUnderlay(dev), () => have.underlays.add(dev));
    }
    for (const [ip, v] of want.local) if (!have.local.has(ip)) {
      const [mac, port] = split(v);
      await step('local pod', () => this.ops.addLocal(ip, mac, port || undefined), () => have.local.set(ip, v));
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
    for (const [k, v] of want.forwards) if (!have.forwards.has(k) && have.routes.has(split(k)[1])) {
      const [mac, ip] = split(k);
      const [via, dev] = split(v);
      await step('host-gw forward', () => this.ops.addForward(mac, ip, via, dev), () => have.forwards.set(k, v));
    }
    this.lastError = errors.join('; ');
    if (errors.length > 0 && this.failures++ < 20) {
      this.log.warn({ errors: errors.slice(0, 5), count: errors.length }, 'fastpath: some kernel updates failed (retried on the next change)');
    }
  }
}
