import { API_ROUTES, type StatusReport } from '../../api/index.js';
import type { Command } from '../command.js';
import { API_SOCKET_OPTION, expectPositionals, parseCommandArgs } from '../args.js';
import { formatConnections, formatPeers, formatStatusSummary, formatTargets } from '../format.js';
import { UsageError } from '../command.js';
import { SOCKET_HELP, clientFor } from './control.js';
import { formatIpam } from './ipam.js';

/** `weft status policy`. */
export function formatPolicyStatus(r: StatusReport): string {
  const p = r.policy;
  if (!p) return 'policy: not reported by this daemon';
  const rows: [string, string][] = [
    ['Source', p.source],
    ['Enforcing', p.enforcing ? 'yes' : 'no (no policy yet)'],
    ['Policies', `${p.policies} (${p.namespaces} namespaces, ${p.pods} pods known)`],
    ['Ruleset', `${p.rules} rules, ${p.isolations} isolations for ${p.localPods} local pod addresses`],
    ['Applies', `${p.applies} (${p.errors} errors)`],
  ];
  if (p.lastApply) rows.push(['Last apply', `${p.lastApply.durationMs.toFixed(1)} ms, +${p.lastApply.elementsAdded}/-${p.lastApply.elementsRemoved} elements, ${p.lastApply.rulesChanged} rules changed`]);
  if (p.inputDigest) rows.push(['Input', `${p.inputDigest}${p.pending ? ' (a change is pending)' : ''}`]);
  if (p.lastError) rows.push(['Last error', p.lastError]);
  const w = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${k.padStart(w)}: ${v}`).join('\n');
}

/**
 * `weft status [VIEW]`: each view picks its part of the report (for --json) and renders it.
 * A later subsystem adds a view (e.g. ipam) with one entry here.
 */
const STATUS_VIEWS: Record<string, { pick(r: StatusReport): unknown; format(r: StatusReport): string }> = {
  '': { pick: (r) => r, format: formatStatusSummary },
  peers: { pick: (r) => r.peers, format: formatPeers },
  connections: { pick: (r) => r.connections, format: formatConnections },
  targets: { pick: (r) => r.targets, format: formatTargets },
  ipam: { pick: (r) => r.ipam, format: formatIpam },
  policy: { pick: (r) => r.policy, format: formatPolicyStatus },
};
const VIEW_NAMES = Object.keys(STATUS_VIEWS).filter((v) => v !== '');

export const statusCommand: Command = {
  name: 'status',
  summary: `show this peer's state (views: ${VIEW_NAMES.join(', ')})`,
  help: `Usage: weft status [${VIEW_NAMES.join('|')}] [--json]\n\nWithout a view: a summary. With one: one row per item.\n\nOptions:\n  --json              print the report (or the view's part of it) as JSON\n${SOCKET_HELP}`,
  async run(args, ctx) {
    const { values, positionals } = parseCommandArgs('status', args, { ...API_SOCKET_OPTION, json: { type: 'boolean' } });
    expectPositionals('status', positionals, 0, 1, '');
    const viewName = positionals[0] ?? '';
    const view = STATUS_VIEWS[viewName];
    if (!view) throw new UsageError(`unknown status view "${viewName}" (one of: ${VIEW_NAMES.join(', ')})`);
    const report = await clientFor(ctx, values['api-socket']).status();
    const text = values.json ? JSON.stringify(view.pick(report) ?? null, null, 2) : view.format(report);
    if (text !== '') ctx.out(text);
    return 0;
  },
};

export const reportCommand: Command = {
  name: 'report',
  summary: 'print the full daemon report as JSON',
  help: `Usage: weft report [--api-socket PATH]\n\nPrint everything the daemon reports (GET /report) as indented JSON.\n\nOptions:\n${SOCKET_HELP}`,
  async run(args, ctx) {
    const { values, positionals } = parseCommandArgs('report', args, API_SOCKET_OPTION);
    expectPositionals('report', positionals, 0, 0, '');
    ctx.out(JSON.stringify(await clientFor(ctx, values['api-socket']).call(API_ROUTES.report), null, 2));
    return 0;
  },
};
