/**
 * The kernel enforcer of network policy: makes the kernel enforce a {@link PolicyRuleset} with
 * table `inet weft_policy` (layout in policy-nft.ts and docs/policy.md, "Enforcement in the
 * kernel"). Bridged pod frames reach the inet forward hook through br_netfilter (the
 * bridge's nf_call_iptables/ip6tables options, or the namespace's `net.bridge.bridge-nf-call-*`
 * sysctls when no bridge is named; switched on by start()), so conntrack sees them; host-gw packets of policed pods are kept off the netdev shortcut by the `policed`
 * set of the host-gw table, which this edge fills in the same transaction.
 */
import { POLICY_NFT_TABLE, WeftError, isWeftError, type Logger, type Startable } from '../common/index.js';
import type { PolicyDirection, PolicyRuleset } from '../policy/index.js';
import type { Kernel } from './kernel.js';
import { nftObjects } from './hostgw.js';
import { countElements, policyElementChanges } from './policy-elements.js';
import {
  HOSTGW_TABLE, POLICED_SET, POLICY_TABLE, policyNftScript, policyNftState, type NftCounter, type PolicyNftState,
} from './policy-nft.js';

/** Options of {@link PolicyEdge}. */
export interface PolicyEdgeOptions {
  kernel: Kernel;
  log: Logger;
  /**
   * The pods' bridge. Given: br_netfilter is switched on for this bridge only (its
   * nf_call_iptables/ip6tables options; other bridges and the namespace's sysctls are left
   * alone) and off again by stop(). Absent: the namespace-wide bridge-nf-call sysctls are set
   * to 1 (and back to 0 by stop() when they were 0).
   */
  bridge?: string;
}

/** Drop (enforcing) or would-drop (audit) count of one policy in one direction, from the kernel. */
export interface PolicyDropCounter {
  policy: string;
  direction: PolicyDirection;
  audit: boolean;
  packets: number;
  bytes: number;
}

/** What one {@link PolicyEdge.apply} changed. */
export interface PolicyApplyResult {
  changed: boolean;
  elementsAdded: number;
  elementsRemoved: number;
  rulesChanged: number;
}

const BRIDGE_SYSCTLS = ['net.bridge.bridge-nf-call-iptables', 'net.bridge.bridge-nf-call-ip6tables'] as const;
const EMPTY: PolicyRuleset = { localPods: [], isolations: [], rules: [] };

/**
 * Lifecycle: `start()` once (br_netfilter sysctls on; the table created, or a previous daemon's
 * table adopted: it stays in force until the first apply() replaces it in one transaction),
 * then `apply()` per compiled ruleset (serialised by the caller or queued here), `counters()`
 * any time after start, `stop()` once: the table, the `policed` elements and the sysctls this
 * edge changed are gone (traffic is unpoliced from then on).
 *
 * Guarantees: every apply is ONE transaction (all or nothing): an nf_tables netlink batch when
 * only set elements change (policy-elements.ts), else one `nft -f -`; the kernel holds exactly the
 * last successful ruleset; a failed apply leaves the previous one in force and throws a typed
 * WeftError (WEFT_ERR_POLICY_INVALID for a bad ruleset, before any kernel call; WEFT_ERR_HOST
 * when nft refused). Counters survive applies (and a rebuild after a restart) while their
 * policy exists.
 */
export class PolicyEdge implements Startable {
  private readonly kernel: Kernel;
  private state: PolicyNftState | null = null;
  private started = false;
  private restore: string[] = [];
  private seeds = new Map<string, { packets: number; bytes: number }>();
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly o: PolicyEdgeOptions) {
    this.kernel = o.kernel;
  }

  async start(): Promise<void> {
    if (this.started) return;
    for (const key of BRIDGE_SYSCTLS) {
      let value: string;
      try {
        value = await this.kernel.readSysctl(key);
      } catch (e) {
        if (isWeftError(e, 'WEFT_ERR_HOST_NOT_FOUND')) {
          throw new WeftError('WEFT_ERR_HOST_NOT_FOUND', `network policy needs br_netfilter: ${key} does not exist (modprobe br_netfilter)`);
        }
        throw e;
      }
      if (value !== '1' && this.o.bridge === undefined) {
        await this.kernel.sysctl(key, '1');
        this.restore.push(key);
      }
    }
    if (this.o.bridge !== undefined) await this.kernel.host.setBridgeNfCall(this.o.bridge, true);
    if (await this.tableExists()) {
      // A previous daemon's policy stays in force; the first apply rebuilds it atomically, with its counts.
      this.state = null;
      this.o.log.info({ table: POLICY_NFT_TABLE }, 'host: adopted the policy table of a previous run');
    } else {
      const next = policyNftState(EMPTY);
      await this.kernel.nft('creating the policy table', `${policyNftScript(null, next).script.join('\n')}\n`);
      this.state = next;
    }
    this.started = true;
  }

  async stop(): Promise<void> {
    if (!this.started) return;
    this.started = false;
    await this.queue.catch(() => undefined);
    await this.kernel.nft('removing the policy table', `add table ${POLICY_TABLE}\ndelete table ${POLICY_TABLE}\n`).catch((e: unknown) =>
      this.o.log.warn({ err: String(e) }, 'host: policy table not removed'));
    await this.clearPoliced();
    for (const key of this.restore) {
      await this.kernel.sysctl(key, '0').catch((e: unknown) => this.o.log.warn({ key, err: String(e) }, 'host: sysctl not restored'));
    }
    this.restore = [];
    if (this.o.bridge !== undefined) {
      await this.kernel.host.setBridgeNfCall(this.o.bridge, false).catch((e: unknown) =>
        this.o.log.debug({ bridge: this.o.bridge, err: String(e) }, 'host: bridge br_netfilter option not reset'));
    }
    this.state = null;
  }

  /**
   * Make the kernel enforce `ruleset`: a diff against the last applied one in ONE nft
   * transaction (no call when nothing differs). If the diff is refused (the kernel no longer
   * holds what this edge last wrote), one full rebuild is tried, also one transaction.
   */
  apply(ruleset: PolicyRuleset): Promise<PolicyApplyResult> {
    const run = this.queue.then(() => this.applyNow(ruleset));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async applyNow(ruleset: PolicyRuleset): Promise<PolicyApplyResult> {
    if (!this.started) throw new WeftError('WEFT_ERR_CLOSED', 'policy edge not started (or stopped)');
    const next = policyNftState(ruleset);
    const prev = this.state;
    if (prev === null) await this.seedFromKernel();
    const changes = prev === null ? null : policyElementChanges(prev, next);
    if (changes !== null) {
      // Elements only (a label change, a pod coming or going): one netlink batch, no nft process.
      if (changes.length === 0) {
        this.state = next;
        return { changed: false, elementsAdded: 0, elementsRemoved: 0, rulesChanged: 0 };
      }
      try {
        await this.kernel.nftElements('updating the policy sets', changes);
        this.state = next;
        const n = countElements(changes);
        return { changed: true, elementsAdded: n.added, elementsRemoved: n.removed, rulesChanged: 0 };
      } catch (e) {
        this.o.log.warn({ err: String(e) }, 'host: policy element batch refused; rebuilding the policy table');
        await this.seedFromKernel();
        const full = policyNftScript(null, next, this.seeds);
        await this.kernel.nft('rebuilding the policy table', `${full.script.join('\n')}\n`);
        this.state = next;
        this.seeds = new Map();
        return { changed: true, elementsAdded: full.elementsAdded, elementsRemoved: full.elementsRemoved, rulesChanged: full.rulesChanged };
      }
    }
    let diff = policyNftScript(prev, next, this.seeds);
    if (diff.script.length === 0) return { changed: false, elementsAdded: 0, elementsRemoved: 0, rulesChanged: 0 };
    try {
      await this.kernel.nft('applying the policy ruleset', `${diff.script.join('\n')}\n`);
    } catch (e) {
      if (prev === null) throw e;
      this.o.log.warn({ err: String(e) }, 'host: policy diff refused; rebuilding the policy table');
      await this.seedFromKernel();
      diff = policyNftScript(null, next, this.seeds);
      await this.kernel.nft('rebuilding the policy table', `${diff.script.join('\n')}\n`);
    }
    this.state = next;
    this.seeds = new Map();
    return { changed: true, elementsAdded: diff.elementsAdded, elementsRemoved: diff.elementsRemoved, rulesChanged: diff.rulesChanged };
  }

  /**
   * Drop and would-drop counts per policy and direction of the applied ruleset (one `nft -j list
   * counters`); empty after adopting a previous run's table until the first apply.
   */
  async counters(): Promise<PolicyDropCounter[]> {
    const out: PolicyDropCounter[] = [];
    const known: ReadonlyMap<string, NftCounter> = this.state?.counters ?? new Map();
    for (const c of await this.readCounters()) {
      const meta = known.get(c.name);
      if (meta) out.push({ policy: meta.policy, direction: meta.direction, audit: meta.audit, packets: c.packets, bytes: c.bytes });
    }
    return out.sort((a, b) => (a.policy < b.policy ? -1 : a.policy > b.policy ? 1 : a.direction < b.direction ? -1 : a.direction > b.direction ? 1 : 0));
  }

  /** The local pods (IPv4) host-gw must route rather than shortcut: for HostGwEdge's setup. */
  policedPods(): readonly string[] {
    return this.state?.policed ?? [];
  }

  private async tableExists(): Promise<boolean> {
    const json = await this.kernel.nftList('listing the inet tables', ['tables', 'inet']);
    const list = (json as { nftables?: unknown[] } | null)?.nftables ?? [];
    return list.some((x) => (x as { table?: { name?: unknown } }).table?.name === POLICY_NFT_TABLE);
  }

  private async readCounters(): Promise<{ name: string; packets: number; bytes: number }[]> {
    const json = await this.kernel.nftList('reading the policy counters', ['counters', 'table', ...POLICY_TABLE.split(' ')]);
    const list = (json as { nftables?: unknown[] } | null)?.nftables ?? [];
    const out: { name: string; packets: number; bytes: number }[] = [];
    for (const x of list) {
      const c = (x as { counter?: { name?: unknown; packets?: unknown; bytes?: unknown } }).counter;
      if (c && typeof c.name === 'string' && typeof c.packets === 'number' && typeof c.bytes === 'number') {
        out.push({ name: c.name, packets: c.packets, bytes: c.bytes });
      }
    }
    return out;
  }

  private async seedFromKernel(): Promise<void> {
    try {
      for (const c of await this.readCounters()) this.seeds.set(c.name, { packets: c.packets, bytes: c.bytes });
    } catch {
      // no table: nothing to carry over
    }
  }

  /**
   * Empty the host-gw `policed` set; remove the host-gw table when it holds nothing but that
   * set (this edge created it; HostGwEdge's own table has its maps and stays).
   */
  private async clearPoliced(): Promise<void> {
    try {
      const objs = nftObjects(await this.kernel.nftRuleset('netdev')).filter((o) => `netdev ${o.table}` === HOSTGW_TABLE);
      if (!objs.some((o) => o.name === POLICED_SET && o.kind === 'set')) return;
      const onlyOurs = objs.every((o) => o.kind === 'set' && o.name === POLICED_SET);
      await this.kernel.nft('clearing the policed pods', onlyOurs ? `delete table ${HOSTGW_TABLE}\n` : `flush set ${HOSTGW_TABLE} ${POLICED_SET}\n`);
    } catch (e) {
      this.o.log.warn({ err: String(e) }, 'host: host-gw policed set not cleared');
    }
  }
}
