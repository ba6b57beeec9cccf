import { API_ROUTES, type FlowQuery, type FlowRecord, type FlowEndpoint } from '../../api/index.js';
import { parseFlowQuery } from '../../flows/index.js';
import type { Command } from '../command.js';
import { UsageError } from '../command.js';
import { API_SOCKET_OPTION, expectPositionals, parseCommandArgs } from '../args.js';
import { SOCKET_HELP, clientFor } from './control.js';

const OPTIONS = {
  ...API_SOCKET_OPTION,
  follow: { type: 'boolean', short: 'f' },
  last: { type: 'string' },
  since: { type: 'string' },
  verdict: { type: 'string' },
  reason: { type: 'string' },
  pod: { type: 'string' },
  'from-pod': { type: 'string' },
  'to-pod': { type: 'string' },
  namespace: { type: 'string' },
  port: { type: 'string' },
  protocol: { type: 'string' },
  json: { type: 'boolean' },
  local: { type: 'boolean' },
} as const;

const FILTERS = ['last', 'since', 'verdict', 'reason', 'pod', 'from-pod', 'to-pod', 'namespace', 'port', 'protocol'] as const;

function side(e: FlowEndpoint): string {
  const who = e.name ? `${e.namespace}/${e.name}` : e.ip || '?';
  return e.port !== undefined ? `${who}:${e.port}` : who;
}

/** One record as a table row: time, host, verdict (reason), protocol, source → destination, path, extra. */
export function formatFlowRow(r: FlowRecord): string {
  const verdict = r.verdict === 'forwarded' ? (r.event === 'end' ? 'closed' : 'forwarded') : `${r.verdict.toUpperCase()}${r.drop_reason ? ` ${r.drop_reason}` : ''}`;
  const extra: string[] = [];
  if (r.policies && r.policies.length > 0) extra.push(`policy ${r.policies.map((p) => `${p.namespace}/${p.name}(${p.direction}${p.rule !== undefined ? ` rule ${p.rule}` : ''})`).join(',')}`);
  if (r.bytes !== undefined) extra.push(`${r.bytes} B ${r.packets ?? 0} pkts`);
  if (r.tcp_flags && r.tcp_flags.length > 0) extra.push(r.tcp_flags.join('|'));
  if (r.tcp_state) extra.push(r.tcp_state);
  return [r.time.slice(11, 23), r.observed_on.padEnd(10), verdict.padEnd(22), r.protocol.padEnd(5),
    `${side(r.source)} -> ${side(r.destination)}`, r.path, extra.join(' ')].join('  ').trimEnd();
}

export const flowsCommand: Command = {
  name: 'flows',
  summary: 'show flow records (connections and drops) of every host, merged by time',
  help: `Usage: weft flows [--follow] [--last N] [--since DURATION] [--verdict V] [--reason R] [--pod NS/NAME]
                  [--from-pod NS/NAME] [--to-pod NS/NAME] [--namespace NS] [--port N] [--protocol P] [--json] [--local]

Connections through weft pods (a record when one starts and one when it ends, with bytes and
packets) and drops (policy, sleeve), from every reachable host unless --local. Hosts that do
not answer in time are named in a warning line on stderr. Fields: docs/flows.md.

Options:
  -f, --follow        keep printing new records (Ctrl-C ends)
  --last N            the newest N records (default 100; at most 100000)
  --since DURATION    only records of the last DURATION (500ms, 30s, 5m, 2h, 1d)
  --verdict V         forwarded | dropped | audit
  --reason R          policy-denied | no-route | too-big | auth | replay | bad-frame | queue-full
  --pod NS/NAME       either side is this pod (or an IP address)
  --from-pod NS/NAME  the source is this pod
  --to-pod NS/NAME    the destination is this pod
  --namespace NS      either side is in this namespace
  --port N            either side's port
  --protocol P        tcp | udp | icmp | icmpv6 | sctp
  --json              one JSON object per line (a record)
  --local             this host only
${SOCKET_HELP}`,
  async run(args, ctx) {
    const { values, positionals } = parseCommandArgs('flows', args, OPTIONS);
    expectPositionals('flows', positionals, 0, 0, '');
    const q: FlowQuery = {};
    for (const k of FILTERS) { const v = values[k]; if (v !== undefined) q[k] = v; }
    if (values.local) q.local = '1';
    try {
      parseFlowQuery(q);
    } catch (e) {
      throw new UsageError(e instanceof Error ? e.message : String(e));
    }
    const client = clientFor(ctx, values['api-socket']);
    const print = (r: FlowRecord): void => ctx.out(values.json ? JSON.stringify(r) : formatFlowRow(r));
    if (!values.follow) {
      const reply = await client.call(API_ROUTES.flows, q);
      if (reply.warning) ctx.err(`weft: warning: ${reply.warning}`);
      for (const r of reply.flows) print(r);
      return 0;
    }
    const aborter = new AbortController();
    const stop = (): void => aborter.abort();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    try {
      await client.stream(API_ROUTES.flowsStream, q, (line) => {
        if (line.type === 'flow') print(line.flow);
        else if (line.type === 'warning') ctx.err(`weft: warning: ${line.message}`);
      }, aborter.signal);
    } finally {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
    }
    return 0;
  },
};
