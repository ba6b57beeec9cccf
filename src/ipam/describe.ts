import type { PeerName } from '../mesh/index.js';
import type { RingOrigin } from './ring.js';

/** Human wording shared by status reasons, errors and log lines. Pure. */

/** "8e:1f:…(host-a)" when the nickname is known. */
export function peerLabel(name: PeerName, nickname?: string): string {
  return nickname ? `${name}(${nickname})` : name;
}

/** "a, b, c" or "a, b, c, … (+7)" for long lists. */
export function listShort(items: readonly string[], max = 4): string {
  if (items.length <= max) return items.join(', ');
  return `${items.slice(0, max).join(', ')}, … (+${items.length - max})`;
}

/** "seeded by a, b" / "created by consensus=3 among a, b". */
export function describeOrigin(o: RingOrigin | undefined): string {
  if (!o) return 'created elsewhere';
  if (o.kind === 'seed') return `seeded by ${listShort(o.members)}`;
  const n = /consensus=(\d+)/.exec(o.detail)?.[1];
  return `created by consensus${n ? `=${n}` : ''} among ${listShort(o.members)}`;
}
