import type { PeerName } from '../net/index.js';
import type { Universe } from './address.js';
import type { RingConflict, RingOrigin } from './ring.js';

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

/** Log level and line for a resolved ring conflict (`lost`: our allocations in a lost range). */
export function describeConflict(
  c: RingConflict, u: Universe, label: (n: PeerName) => string, lost: number,
): { level: 'warn' | 'error'; msg: string } {
  const where = u.format(c.start);
  switch (c.kind) {
    case 'stale-self':
      return { level: 'warn', msg: `received a newer version of our own range at ${where}; adopted and re-announced` };
    case 'own-range-taken':
      return {
        level: lost ? 'error' : 'warn',
        msg: `range at ${where} we owned now belongs to ${label(c.winner.owner)}${lost ? `; ${lost} of our allocations there may be duplicated` : ''}`,
      };
    case 'foreign-token':
      return { level: 'warn', msg: `${label(c.winner.owner)} claims ${where} inside a range we own; resolved in its favour` };
    case 'equal-version':
      return { level: 'warn', msg: `two versions of the range at ${where} (${label(c.winner.owner)} wins over ${label(c.loser!.owner)})` };
  }
}
