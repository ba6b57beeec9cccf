import { setTimeout as sleep } from 'node:timers/promises';
import { WeftError, CLI_POLL_INTERVAL_MS, STOP_WAIT_TIMEOUT_MS } from '../../common/index.js';
import { API_ROUTES, type StatusReport } from '../../api/index.js';
import type { Command } from '../command.js';
import { API_SOCKET_OPTION, expectPositionals, parseCommandArgs } from '../args.js';
import { formatTable } from '../format.js';
import { clientFor, SOCKET_HELP } from './control.js';

/** Human view of `weft status ipam`. */
export function formatIpam(r: StatusReport): string {
  const s = r.ipam;
  if (!s) return 'IPAM: not reported by this daemon';
  const lines = [
    `     Status: ${s.status}${s.reason ? ` (${s.reason})` : ''}`,
    `      Range: ${s.range}${s.origin ? `  (${s.origin})` : ''}`,
    `      Owned: ${s.owned} addresses, ${s.free} free, ${s.allocated} allocated${s.pending ? `, ${s.pending} pending` : ''}`,
  ];
  if (s.quorum !== undefined) lines.push(`  Consensus: quorum ${s.quorum}, ${s.known ?? 0} known`);
  for (const u of s.unreachable) lines.push(`Unreachable: ${u.name}${u.nickname ? ` (${u.nickname})` : ''} holds ${u.addresses} addresses (${u.percent.toFixed(1)}%) — if it is gone for good: weft rmpeer ${u.name}`);
  if (s.entries.length > 0) {
    lines.push('', formatTable([['START', 'END', 'OWNER', 'FREE'], ...s.entries.map((e) => [e.start, e.end, e.owner, String(e.free)])]));
  }
  return lines.join('\n');
}

export const rmpeerCommand: Command = {
  name: 'rmpeer',
  summary: 'reclaim the address ranges of a dead peer',
  help: `Usage: weft rmpeer NAME\n\nHand the IPAM ranges of the dead peer NAME (name or nickname) to its designated heir.\nIdempotent, and safe to run on several hosts at once. Refused for a peer that is reachable.\n\nOptions:\n${SOCKET_HELP}`,
  async run(args, ctx) {
    const { values, positionals } = parseCommandArgs('rmpeer', args, API_SOCKET_OPTION);
    expectPositionals('rmpeer', positionals, 1, 1, 'peer name');
    const r = await clientFor(ctx, values['api-socket']).call(API_ROUTES.ipamRmpeer, { peer: positionals[0]! });
    ctx.out(r.alreadyRemoved ? `${r.name} was already removed` : `removed ${r.name}: ${r.addresses} addresses reclaimed`);
    return 0;
  },
};

export const resetCommand: Command = {
  name: 'reset',
  summary: 'leave the network: hand addresses to a live peer, stop, remove state and devices',
  help: `Usage: weft reset\n\nHand this peer's address ranges to a live peer, stop the daemon, and remove its IPAM state\nand the weft bridge and TAP. The identity key stays (the peer keeps its name).\n\nOptions:\n${SOCKET_HELP}`,
  async run(args, ctx) {
    const { values, positionals } = parseCommandArgs('reset', args, API_SOCKET_OPTION);
    expectPositionals('reset', positionals, 0, 0, '');
    const client = clientFor(ctx, values['api-socket']);
    const r = await client.call(API_ROUTES.reset);
    const deadline = Date.now() + STOP_WAIT_TIMEOUT_MS;
    while (await client.isRunning()) {
      if (Date.now() > deadline) throw new WeftError('WEFT_ERR_TIMEOUT', 'weft still running after reset');
      await sleep(CLI_POLL_INTERVAL_MS);
    }
    ctx.out(r.left.heir ? `weft: reset; ${r.left.addresses} addresses handed to ${r.left.heir}` : 'weft: reset');
    return 0;
  },
};
