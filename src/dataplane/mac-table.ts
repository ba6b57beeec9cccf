/**
 * MAC address → peer table (Weave's MAC cache). Keys and peers are 48-bit numbers (see
 * wire-format `read48`), so lookups on the per-frame path allocate nothing. Pure: the caller
 * passes `now`.
 */

/** Result of {@link MacTable.learn}. */
export const enum LearnResult { Same = 0, New = 1, Moved = 2 }

interface MacEntry {
  peer: number;
  seen: number;
}

/**
 * Learned locations of MAC addresses. Lifecycle: created with the engine, emptied by
 * {@link clear}; entries live until {@link expire} finds them older than `maxAgeMs`.
 * Learning is "forced": a MAC seen at a new peer moves there at once (a container moved, or a
 * stale entry), and the move is reported so the caller can count it.
 */
export class MacTable {
  private readonly entries = new Map<number, MacEntry>();

  constructor(private readonly maxAgeMs: number) {}

  /** Record that `mac` was seen behind `peer` at `now`. */
  learn(mac: number, peer: number, now: number): LearnResult {
    const e = this.entries.get(mac);
    if (e === undefined) {
      this.entries.set(mac, { peer, seen: now });
      return LearnResult.New;
    }
    e.seen = now;
    if (e.peer === peer) return LearnResult.Same;
    e.peer = peer;
    return LearnResult.Moved;
  }

  /** Peer behind `mac`, or -1 when unknown or expired (expired entries are left to {@link expire}). */
  lookup(mac: number, now: number): number {
    const e = this.entries.get(mac);
    if (e === undefined || now - e.seen > this.maxAgeMs) return -1;
    return e.peer;
  }

  /** Drop entries not seen for `maxAgeMs`; returns how many were dropped. */
  expire(now: number): number {
    let n = 0;
    for (const [mac, e] of this.entries) {
      if (now - e.seen > this.maxAgeMs) {
        this.entries.delete(mac);
        n++;
      }
    }
    return n;
  }

  /** Forget every MAC learned behind `peer` (peer gone for good). Returns how many. */
  forgetPeer(peer: number): number {
    let n = 0;
    for (const [mac, e] of this.entries) {
      if (e.peer === peer) {
        this.entries.delete(mac);
        n++;
      }
    }
    return n;
  }

  get size(): number {
    return this.entries.size;
  }

  /** Snapshot for status output: [mac, peer, lastSeen]. */
  *dump(): IterableIterator<[number, number, number]> {
    for (const [mac, e] of this.entries) yield [mac, e.peer, e.seen];
  }

  clear(): void {
    this.entries.clear();
  }
}

/** True for group (broadcast/multicast) MAC addresses: I/G bit of the first octet. */
export function isGroupMac(firstOctet: number): boolean {
  return (firstOctet & 1) === 1;
}

/** IEEE 802.1D link-local group 01:80:c2:00:00:0X (STP, LLDP, pause): never forwarded. */
export function isLinkLocalGroup(mac: number): boolean {
  return mac >= 0x0180c2000000 && mac <= 0x0180c200000f;
}
