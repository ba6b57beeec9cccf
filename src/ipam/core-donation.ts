import { WeftError } from '../common/index.js';
import type { PeerName } from '../net/index.js';
import type { DenyCode } from './codec.js';
import type { CoreState } from './core-state.js';
import type { PendingHost } from './pending.js';
import { bestDonor, firstFree, pickDonation } from './space.js';
import { exhaustedMessage } from './status.js';

/**
 * Address space moving between peers: answering another peer's space request (donate or
 * deny), and the {@link PendingHost} side of our own pending allocations (take a free address,
 * claim a given one, pick a donor, ask it). Every donation is a write of our own ring entries,
 * recorded before the reply leaves.
 */
export class CoreDonations implements PendingHost {
  constructor(private readonly s: CoreState) {}

  /** Answer a space request from `src`: donate part of our free space, or say why not. */
  donate(src: PeerName, ringId: string, reqId: number, offset: number | null): void {
    const s = this.s;
    const ring = s.ring;
    if (!ring || ring.id !== ringId || !s.active || s.splits.size > 0) {
      this.deny(src, reqId, 'not-ready', `peer ${s.label(s.self)} cannot donate: ${s.notReadyReason() ?? 'different ring'}`);
      return;
    }
    if (ring.isTombstoned(src)) return this.deny(src, reqId, 'not-ready', 'you were removed with rmpeer');
    const d = pickDonation(ring, s.allocs, s.self, offset, s.label(s.self));
    if ('code' in d) return this.deny(src, reqId, d.code, d.reason);
    s.ownWrite(ring.donate(s.self, d.from, d.to, src));
    s.event('info', `gave ${d.to - d.from} addresses from ${s.universe.format(d.from)} to ${s.label(src)}`);
    s.out.replies.push({ dst: src, reqId });
  }

  private deny(dst: PeerName, reqId: number, code: DenyCode, reason: string): void {
    this.s.out.send({ kind: 'unicast', dst, msg: { kind: 'space-denied', ringId: this.s.ring?.id ?? '00'.repeat(16), reqId, code, reason } });
  }

  // ───────────────────────────── PendingHost ─────────────────────────────

  allocateAny(owner: string): number | null {
    const s = this.s;
    const o = s.active && s.ring ? firstFree(s.ring, s.allocs, s.self) : null;
    if (o !== null) s.takeAddress(owner, o);
    return o;
  }

  claim(owner: string, offset: number): number | WeftError | { ask: PeerName } {
    const s = this.s;
    const holder = s.allocs.ownerOf(offset);
    if (holder === owner) return offset;
    if (holder !== undefined) return new WeftError('WEFT_ERR_IPAM_IN_USE', `address ${s.universe.format(offset)} is in use by ${holder}`);
    const ring = s.ring;
    if (!ring) return new WeftError('WEFT_ERR_IPAM_NOT_READY', s.notReadyReason() ?? 'no ring');
    const o = ring.ownerOf(offset);
    if (o === s.self) {
      s.takeAddress(owner, offset);
      return offset;
    }
    if (o === undefined || ring.isTombstoned(o)) {
      return new WeftError('WEFT_ERR_IPAM_NOT_READY', `address ${s.universe.format(offset)} has no live owner yet (awaiting reclaim)`);
    }
    if (!s.reachable.has(o)) {
      return new WeftError('WEFT_ERR_IPAM_NOT_READY', `address ${s.universe.format(offset)} is owned by unreachable peer ${s.label(o)}; use \`weft rmpeer ${o}\` if it is dead`);
    }
    return { ask: o };
  }

  chooseDonor(exclude: ReadonlySet<PeerName>): PeerName | null {
    const s = this.s;
    return s.ring ? bestDonor(s.ring, s.reachable, s.self, exclude) : null;
  }

  request(dst: PeerName, reqId: number, offset: number | null): boolean {
    const s = this.s;
    if (!s.reachable.has(dst) || !s.ring) return false;
    s.out.send({ kind: 'unicast', dst, msg: { kind: 'space-request', ringId: s.ring.id, reqId, address: offset } });
    return true;
  }

  exhausted(tried: readonly string[]): string {
    return exhaustedMessage(this.s, tried);
  }
}
