import type { StatusReport } from '../api/index.js';

/**
 * Human renderings of a StatusReport (pure). The summary follows the shape of `weave status`:
 * right-aligned labels, one fact per line. Sub-views print one row per item under a header,
 * or nothing when there are no items.
 */

/** Columns padded to their widest cell, two spaces apart, no trailing blanks. */
export function formatTable(rows: readonly (readonly string[])[]): string {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => { widths[i] = Math.max(widths[i] ?? 0, cell.length); });
  return rows.map((row) => row.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n');
}

function labelled(pairs: [string, string][]): string {
  const width = Math.max(...pairs.map(([label]) => label.length));
  return pairs.map(([label, value]) => `${label.padStart(width)}: ${value}`).join('\n');
}

/** "name (nickname)", or the name alone when the nickname is unknown. */
export function peerLabel(name: string, nickname: string | undefined): string {
  if (!name) return nickname ? `(${nickname})` : '-';
  return nickname ? `${name} (${nickname})` : name;
}

function countBy<T extends string>(items: readonly { state: T }[], states: readonly T[]): string {
  return states.map((s) => `${items.filter((i) => i.state === s).length} ${s}`).join(', ');
}

/** `weft status`: the header block. */
export function formatStatusSummary(r: StatusReport): string {
  const peers = r.peers ?? [];
  const connections = r.connections ?? [];
  const targets = r.targets ?? [];
  const peerLinks = peers.reduce((sum, p) => sum + p.connections.filter((c) => c.established).length, 0);
  const encryption = r.encrypted ? 'enabled' : 'DISABLED';
  const pairs: [string, string][] = [
    ['Version', `${r.version} (protocol ${r.protocol.min}..${r.protocol.max})`],
    ['Name', peerLabel(r.name, r.nickname)],
    ['Port', String(r.port)],
    ['Encryption', r.encryptionWarning ? `${encryption} (${r.encryptionWarning})` : encryption],
    ['Peers', `${peers.length} (with ${peerLinks} established connections)`],
    ['Connections', `${connections.length} (${countBy(connections, ['established', 'connecting', 'failed'])})`],
    ['Targets', `${targets.length} (${countBy(targets, ['connected', 'connecting', 'waiting', 'failed'])})`],
  ];
  if (r.collisions?.length) pairs.push(['Collisions', `${r.collisions.join(', ')} (another peer uses our name: cloned data dir?)`]);
  return labelled(pairs);
}

/** `weft status peers`: each peer, then its announced connections indented. */
export function formatPeers(r: StatusReport): string {
  const nick = new Map((r.peers ?? []).map((p) => [p.name, p.nickname]));
  const lines: string[] = [];
  for (const p of r.peers ?? []) {
    lines.push(`${peerLabel(p.name, p.nickname)}${p.name === r.name ? ' [self]' : ''}`);
    const rows = p.connections.map((c) => [
      `   ${c.outbound ? '->' : '<-'}`, c.address, peerLabel(c.name, nick.get(c.name)), c.established ? 'established' : 'pending',
    ]);
    if (rows.length) lines.push(formatTable(rows));
  }
  return lines.join('\n');
}

/** `weft status connections`: one row per local connection ('' when none). */
export function formatConnections(r: StatusReport): string {
  const connections = r.connections ?? [];
  if (connections.length === 0) return '';
  const rows = connections.map((c) => {
    const info = [
      c.mode, c.path && c.path !== 'direct' ? c.path + (c.via ? ` via ${c.via}` : '') : undefined, c.mtu !== undefined ? `mtu=${c.mtu}` : undefined, c.since ? `since ${c.since}` : undefined, c.reason,
      ...(c.paths ?? []).filter((p) => p.path !== c.mode && p.reason).map((p) => `[${p.path}: ${p.reason}]`),
    ].filter((s): s is string => !!s).join(' ');
    return [c.outbound ? '->' : '<-', c.address, c.state, c.encrypted ? 'encrypted' : 'unencrypted', peerLabel(c.peer, c.nickname), info];
  });
  return formatTable([['', 'ADDRESS', 'STATE', 'CRYPTO', 'PEER', 'INFO'], ...rows]);
}

/** `weft status targets`: one row per target ('' when none). */
export function formatTargets(r: StatusReport): string {
  const targets = r.targets ?? [];
  if (targets.length === 0) return '';
  const rows = targets.map((t) => [
    t.address, t.state, String(t.attempts), t.direct ? 'direct' : 'discovered', t.nextTryAt ?? '-', t.lastError ?? '',
  ]);
  return formatTable([['ADDRESS', 'STATE', 'ATTEMPTS', 'ORIGIN', 'NEXT TRY', 'LAST ERROR'], ...rows]);
}
