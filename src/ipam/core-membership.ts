import { WeftError, IPAM_DESIGNATED_HEIRS } from '../common/index.js';
import type { PeerName } from '../net/index.js';
import type { CoreState } from './core-state.js';
import type { Tombstone } from './ring.js';
import { autoReclaimDue, designationCandidates, leaveHeir } from './space.js';
import type { LeaveResult, RmpeerResult } from './types.js';
import { isPeerName } from './wire.js';

/**
 * Peers joining and leaving the ring: rmpeer of a dead peer (by hand or automatically after
 * `autoReclaimAfterMs`), our own graceful leave, and naming the heirs of our ranges. Each
 * change is recorded before it is announced; `settle` is the core's step after an input.
 */
export class CoreMembership {
  constructor(private readonly s: CoreState, private readonly settle: (now: number) => void) {}

  /** rmpeer: tombstone a dead peer; its ranges go to their deterministic heirs. Idempotent. */
  rmpeer(target: string, now: number, auto = false): RmpeerResult {
    const s = this.s;
    const ring = s.ring;
    if (!ring || s.removed) throw new WeftError('WEFT_ERR_IPAM_NOT_READY', s.notReadyReason() ?? 'no ring');
    const name = this.resolvePeer(target);
    const nickname = s.nicknames.get(name)?.nickname;
    if (name === s.self) throw new WeftError('WEFT_ERR_BAD_ARGS', 'cannot rmpeer this peer itself; use `weft reset` to leave');
    if (s.reachable.has(name)) {
      throw new WeftError('WEFT_ERR_BAD_ARGS', `peer ${s.label(name)} is reachable, so it is not dead; stop it (or run \`weft reset\` on it) first`);
    }
    const owned = ring.rangesOf(name).reduce((n, r) => n + r.end - r.start, 0);
    const base = { name, ...(nickname !== undefined ? { nickname } : {}), addresses: owned };
    if (ring.isTombstoned(name)) return { ...base, alreadyRemoved: true, reclaimedHere: 0 };
    if (owned === 0 && !s.nicknames.has(name)) throw new WeftError('WEFT_ERR_NOT_FOUND', `peer ${name} is unknown to this peer's IP allocation ring`);
    const t: Tombstone = { name, by: s.self, at: now };
    ring.merge({ entries: [], tombstones: [t] }, s.self);
    s.ringDirty = true;
    s.out.tombstones.push(t);
    s.record({ t: 'delta', delta: { entries: [], tombstones: [t] } }, true);
    const before = s.ownedCount();
    s.event('warn', `${auto ? 'auto-reclaim' : 'rmpeer'}: removed ${s.label(name)} (${owned} addresses)`);
    this.settle(now);
    return { ...base, alreadyRemoved: false, reclaimedHere: s.ownedCount() - before };
  }

  private resolvePeer(target: string): PeerName {
    const t = target.trim();
    if (isPeerName(t.toLowerCase())) return t.toLowerCase();
    const names = [...this.s.nicknames.values()].filter((n) => n.nickname === t).map((n) => n.name);
    const [only, ...more] = names;
    if (more.length > 0) throw new WeftError('WEFT_ERR_BAD_ARGS', `nickname ${t} is ambiguous (${names.join(', ')}); give the peer name`);
    if (only === undefined) throw new WeftError('WEFT_ERR_NOT_FOUND', `no peer named or nicknamed ${JSON.stringify(t).slice(0, 70)}`);
    return only;
  }

  /** Hand all our ranges to a live peer and stop allocating (graceful leave). */
  leave(now: number): LeaveResult {
    const s = this.s;
    if (s.left) return { heir: s.left.heir, addresses: 0, droppedAllocations: 0 };
    const ring = s.ring;
    const dropped = s.allocs.size;
    const addresses = s.ownedCount();
    let heir: PeerName | null = null;
    if (ring && s.active && addresses > 0) {
      heir = leaveHeir(ring, s.reachable);
      if (heir === null) {
        throw new WeftError('WEFT_ERR_IPAM_NOT_READY', `no reachable peer to hand ${addresses} addresses to; they stay with this peer until \`weft rmpeer ${s.self}\` runs elsewhere`);
      }
      s.ownWrite(ring.transferAll(s.self, heir));
      s.out.replies.push({ dst: heir, reqId: 0 });
    }
    for (const [, o] of s.allocs.entries()) {
      s.allocs.remove(o);
      s.record({ t: 'free', offset: o }, true);
    }
    s.left = { heir };
    s.pending.failAll(new WeftError('WEFT_ERR_IPAM_NOT_READY', 'this peer is leaving'));
    s.event('info', `left the IP allocation ring: ${addresses} addresses handed to ${heir ? s.label(heir) : 'nobody'}`);
    this.settle(now);
    return { heir, addresses, droppedAllocations: dropped };
  }

  /** rmpeer every owner unreachable for `autoReclaimAfterMs` (only while we reach a majority). */
  autoReclaim(now: number): void {
    const s = this.s;
    const ring = s.ring;
    if (!ring || !s.active || s.autoReclaimAfterMs === undefined) return;
    for (const p of autoReclaimDue({ ring, reachable: s.reachable, self: s.self, since: s.unreachableSince, now, afterMs: s.autoReclaimAfterMs })) {
      s.unreachableSince.delete(p);
      try {
        this.rmpeer(p, now, true);
      } catch (e) {
        s.event('warn', `auto-reclaim of ${s.label(p)} failed: ${(e as Error).message}`);
      }
    }
  }

  /** Name an heir for our ranges when we have none or ours was removed (rarely changes). */
  designate(): void {
    const s = this.s;
    const ring = s.ring;
    if (!ring || !ring.succession.needsDesignation(s.self)) return;
    const heirs = designationCandidates(ring, s.reachable, s.self, IPAM_DESIGNATED_HEIRS);
    if (heirs.length === 0) return;
    const d = ring.succession.designate(s.self, heirs);
    s.record({ t: 'delta', delta: { entries: [], designations: [d] } }, true);
    s.out.designations.push(d);
  }
}
